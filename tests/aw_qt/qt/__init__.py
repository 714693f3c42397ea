"""Tests of the Qt views (tray, menus, dialogs) driven offscreen."""
