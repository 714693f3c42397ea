"""The Qt views: tray icon, menus, dialogs and windows. They show what the plain-Python
logic around them decides and forward the user's clicks to it; nothing else imports PyQt6.

Importing this package is what loads Qt, so a bundle points Qt at its own plugins here,
before any view imports PyQt6 (aw_qt/desktop/bundled_qt.py says why not earlier).
"""

from aw_qt.desktop.bundled_qt import use_bundled_qt_plugins

use_bundled_qt_plugins()
