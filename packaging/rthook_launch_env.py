"""PyInstaller runtime hook of the aw-qt bundle: remember the launch environment.

Custom runtime hooks run before PyInstaller's own, so this sees the environment
before the PyQt6 hook overwrites `QT_PLUGIN_PATH` (without keeping the old value).
`aw_qt.desktop.child_environment.child_environment` uses it to give children the user's values.
"""

from aw_qt.desktop.child_environment import record_launch_environment

record_launch_environment()
