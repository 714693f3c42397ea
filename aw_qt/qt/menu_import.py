"""The "Import from ActivityWatch…" menu item; its text shows a running import's progress.

Joined to the Export item above it (no separator): both move data in or out.
"""

from __future__ import annotations

from PyQt6.QtWidgets import QMenu

from aw_qt.qt.menu_section import Section


class ImportSection(Section):
    separated = False

    def build(self, menu: QMenu) -> None:
        menu.setToolTipsVisible(True)  # a disabled item says why in its tooltip
        self.add(menu, "import", self.ctl.imports.menu_text(), self.hooks.import_data)

    def refresh(self) -> None:
        imports = self.ctl.imports
        action = self.actions["import"]
        action.setText(imports.menu_text())
        action.setEnabled(imports.can_start())
        action.setToolTip(imports.unavailable or "Import an ActivityWatch database (.db) or "
                                                 "JSON export into this server")
