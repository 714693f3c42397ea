"""What every menu section is built on: `MenuHooks` (what the menu asks of the Qt layer)
and `Section` (adds its actions, then keeps them in line with the Controller).

Separate from `menu.py` so sections living in their own modules (`menu_sync.py`,
`menu_import.py`) can be listed in `menu.DEFAULT_SECTIONS` without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QMenu

from aw_qt.controller import Controller


@dataclass
class MenuHooks:
    """What the menu asks of the Qt layer: the desktop, dialogs, and quitting."""

    open_url: Callable[[str], None]
    open_folder: Callable[[Path], None]
    export: Callable[[], None]
    show_error: Callable[[str], None]
    quit: Callable[[], None]
    changed: Callable[[], None]  # after any action: icon and other views refresh
    import_data: Callable[[], None]  # file chooser, then the import
    pair_device: Callable[[], None]  # the pairing dialog
    unpair: Callable[[str], None]  # confirm (and whether to purge), then unpair


class Section:
    separated = True  # a separator above it; False joins it to the section before

    def __init__(self, ctl: Controller, hooks: MenuHooks, actions: dict[str, QAction]) -> None:
        self.ctl = ctl
        self.hooks = hooks
        self.actions = actions

    def add(self, menu: QMenu, key: str, text: str, slot: Callable[[], None] | None = None,
            *, checkable: bool = False) -> QAction:
        action = menu.addAction(text)
        assert action is not None
        action.setObjectName(key)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: self._run(slot))
        self.actions[key] = action
        return action

    def _run(self, slot: Callable[[], None]) -> None:
        slot()
        self.hooks.changed()

    def build(self, menu: QMenu) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        """Bring the section's actions in line with the current state."""
