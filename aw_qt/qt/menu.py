"""The tray menu, built from sections: each section adds its actions and refreshes them.

A section only shows the Controller's state and forwards clicks to it (or, for things
that need a dialog or the desktop, to `MenuHooks`). New features add a section: the
import item (`menu_import.py`) and the Sync submenu (`menu_sync.py`) are two more
classes in `DEFAULT_SECTIONS`, after `ExportSection`. The no-tray window builds the
same menu, so it offers exactly the same actions.
"""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import QObject
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QMenu

from aw_qt.controller import Controller
from aw_qt.modules.supervisor import ModuleState
from aw_qt.pause import PauseChoice
from aw_qt.qt.menu_import import ImportSection
from aw_qt.qt.menu_section import MenuHooks, Section
from aw_qt.qt.menu_sync import SyncSection

__all__ = ["DEFAULT_SECTIONS", "AppMenu", "MenuHooks", "Section"]

SOURCE_LABELS = {"bundled": "Bundled", "system": "System", "builtin": "Built in"}


class StatusSection(Section):
    def build(self, menu: QMenu) -> None:
        self.add(menu, "status", "").setEnabled(False)

    def refresh(self) -> None:
        self.actions["status"].setText(self.ctl.status_line())


class OpenSection(Section):
    def build(self, menu: QMenu) -> None:
        self.add(menu, "dashboard", "Open Dashboard",
                 lambda: self.hooks.open_url(self.ctl.dashboard_url))
        self.add(menu, "api-browser", "Open API Browser",
                 lambda: self.hooks.open_url(self.ctl.api_browser_url))


class ModulesSection(Section):
    def build(self, menu: QMenu) -> None:
        self.menu = menu.addMenu("Modules")
        assert self.menu is not None
        self.menu.setObjectName("modules-menu")
        source = ""
        for status in self.ctl.modules():
            if status.source != source:
                source = status.source
                self.menu.addAction(SOURCE_LABELS.get(source, source)).setEnabled(False)  # type: ignore[union-attr]
            name = status.name
            self.add(self.menu, f"module:{name}", name,
                     lambda name=name: self.ctl.toggle_module(name),  # type: ignore[misc]
                     checkable=True)

    def refresh(self) -> None:
        for status in self.ctl.modules():
            action = self.actions[f"module:{status.name}"]
            action.setChecked(status.state in (ModuleState.RUNNING, ModuleState.PAUSED))
            action.setText(f"{status.name} ({status.state.value})")


class PauseSection(Section):
    def build(self, menu: QMenu) -> None:
        sub = menu.addMenu("Pause tracking")
        assert sub is not None
        sub.setObjectName("pause-menu")
        self.pause_menu = sub
        for choice in PauseChoice:
            self.add(sub, f"pause:{choice.name}", choice.value,
                     lambda choice=choice: self.ctl.pause(choice))  # type: ignore[misc]
        self.add(menu, "resume", "Resume tracking", self.ctl.resume)

    def refresh(self) -> None:
        self.actions["resume"].setEnabled(self.ctl.is_paused())


class ExportSection(Section):
    def build(self, menu: QMenu) -> None:
        self.add(menu, "export", "Export data…", self.hooks.export)


class SettingsSection(Section):
    def build(self, menu: QMenu) -> None:
        self.add(menu, "autostart", "Start at login", self._toggle_autostart, checkable=True)
        self.add(menu, "log-folder", "Open log folder",
                 lambda: self.hooks.open_folder(self.ctl.folder("log")))
        self.add(menu, "config-folder", "Open config folder",
                 lambda: self.hooks.open_folder(self.ctl.folder("config")))

    def _toggle_autostart(self) -> None:
        error = self.ctl.set_autostart(self.actions["autostart"].isChecked())
        if error:
            self.hooks.show_error(error)

    def refresh(self) -> None:
        self.actions["autostart"].setChecked(self.ctl.autostart_enabled())


class QuitSection(Section):
    def build(self, menu: QMenu) -> None:
        self.add(menu, "quit", "Quit ActivityWatch", self.hooks.quit)


DEFAULT_SECTIONS: tuple[type[Section], ...] = (
    StatusSection, OpenSection, ModulesSection, PauseSection, ExportSection, ImportSection,
    SyncSection, SettingsSection, QuitSection,
)


class AppMenu(QObject):
    """The menu plus its sections; `refresh()` re-reads every state it shows."""

    def __init__(self, ctl: Controller, hooks: MenuHooks,
                 sections: Sequence[type[Section]] = DEFAULT_SECTIONS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu = QMenu()
        self.actions: dict[str, QAction] = {}
        self.sections = [cls(ctl, hooks, self.actions) for cls in sections]
        for n, section in enumerate(self.sections):
            if n and section.separated:
                self.menu.addSeparator()
            section.build(self.menu)
        self.menu.aboutToShow.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        for section in self.sections:
            section.refresh()
