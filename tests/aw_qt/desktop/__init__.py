"""Tests of aw-qt's place on the desktop: start at login, one instance, summoning, presence,
the GNOME extension, the environment of child programs."""
