"""The Sync submenu: pair, sync now, and one submenu per paired device.

    Sync ▸  Pair new device…
            Sync now
            ─────────
            laptop: last synced 5 min ago ▸  Last synced 5 min ago
                                             Address: 192.168.1.20:5601
                                             Confirmation code: 123 456
                                             ─────────
                                             Unpair…

Everything shown comes from `Controller.sync` (`aw_qt/sync/control.py`); a click either calls
it (Sync now runs in the background) or asks `MenuHooks` for a dialog. Without sync
(missing packages, a server aw-qt did not start) the submenu holds one line saying why.
The server loads sync on first use, so the submenu fills in when first opened (or once
something else, such as the dashboard, has loaded it), not whenever the tray menu opens.
"""

from __future__ import annotations

from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QMenu

from aw_qt.qt.menu_section import Section
from aw_qt.sync.control import PeerView


class SyncSection(Section):
    def build(self, menu: QMenu) -> None:
        sub = menu.addMenu("Sync")
        assert sub is not None
        sub.setObjectName("sync-menu")
        self.menu = sub
        self.opened = False
        self._peer_menus: list[QMenu] = []
        self._layout: tuple[tuple[str, int], ...] = ()
        unavailable = self.add(sub, "sync-unavailable", "")
        unavailable.setEnabled(False)
        unavailable.setVisible(False)
        self.add(sub, "sync-pair", "Pair new device…", self.hooks.pair_device)
        self.add(sub, "sync-now", "Sync now", self._sync_now).setEnabled(False)
        self._separator = sub.addSeparator()
        self.add(sub, "sync-none", "No paired devices").setEnabled(False)
        sub.aboutToShow.connect(self._opening)

    def _opening(self) -> None:
        self.opened = True
        self.refresh()

    def _sync_now(self) -> None:
        self.ctl.sync.sync_now()

    def refresh(self) -> None:
        sync = self.ctl.sync
        if not (self.opened or sync.loaded() or sync.unavailable):
            return  # not loaded, and nobody asked to see it yet
        available = sync.available
        self.actions["sync-unavailable"].setText(sync.unavailable)
        self.actions["sync-unavailable"].setVisible(not available)
        for key in ("sync-pair", "sync-now"):
            self.actions[key].setVisible(available)
        if self._separator is not None:
            self._separator.setVisible(available)
        if not available:
            self.actions["sync-none"].setVisible(False)
            return
        peers = sync.peers()
        now = self.actions["sync-now"]
        now.setText(sync.sync_now_text())
        now.setEnabled(sync.can_sync_now())
        self.actions["sync-none"].setVisible(not peers)
        layout = tuple((p.device_id, len(p.details)) for p in peers)
        if layout != self._layout:  # rebuilt only when devices come, go or gain a line,
            self._layout = layout   # so an open submenu is not pulled from under the mouse
            self._rebuild(peers)
        for peer in peers:
            self.actions[f"sync-peer:{peer.device_id}"].setText(peer.line)
            for n, detail in enumerate(peer.details):
                self.actions[f"sync-detail:{peer.device_id}:{n}"].setText(detail)

    def _rebuild(self, peers: list[PeerView]) -> None:
        for sub in self._peer_menus:
            self.menu.removeAction(sub.menuAction())
            sub.deleteLater()
        self._peer_menus = []
        for key in [k for k in self.actions if k.startswith(("sync-peer:", "sync-detail:",
                                                             "sync-unpair:"))]:
            del self.actions[key]
        for peer in peers:
            sub = QMenu(peer.line, self.menu)
            sub.setObjectName(f"sync-peer-menu:{peer.device_id}")
            self.menu.addMenu(sub)
            self._peer_menus.append(sub)
            action: QAction | None = sub.menuAction()
            assert action is not None
            action.setObjectName(f"sync-peer:{peer.device_id}")
            self.actions[f"sync-peer:{peer.device_id}"] = action
            for n, detail in enumerate(peer.details):
                self.add(sub, f"sync-detail:{peer.device_id}:{n}", detail).setEnabled(False)
            sub.addSeparator()
            self.add(sub, f"sync-unpair:{peer.device_id}", "Unpair…",
                     lambda device_id=peer.device_id: self.hooks.unpair(device_id))  # type: ignore[misc]
