"""Sync ▸ Pair new device…: either side of a pairing, in one non-modal dialog.

- "Show this device's code" opens the 5-minute pairing window and shows the code and
  addresses, then, when the other device has paired, the confirmation code to compare.
- "Enter a code" offers the devices found on the LAN (or a typed address) and pairs.
  Without the zeroconf package there is no search: the tab asks for the address only,
  rather than offering a button that can only fail.

Every call runs in the background (`SyncControl`); a timer looks at the results, so the
event loop never waits on the network. Texts come from `sync_control`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aw_qt.background_call import Background
from aw_qt.sync.control import SyncControl, paired_text, window_text

logger = logging.getLogger(__name__)

POLL_MS = 200
ERROR_STYLE = "color: #b00020"


def _label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class PairingDialog(QDialog):
    def __init__(self, sync: SyncControl, changed: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pairing")
        self.setWindowTitle("Pair new device")
        self.setMinimumWidth(460)
        self.sync = sync
        self.changed = changed
        self.window_job: Background[dict[str, Any]] | None = None
        self.shown_code: dict[str, Any] | None = None
        self.known: set[str] = set()
        self.search_job: Background[list[dict[str, Any]]] | None = None
        self.searched = False
        self.pair_job: Background[dict[str, Any]] | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self._show_tab(), "Show this device's code")
        self.tabs.addTab(self._enter_tab(), "Enter a code")
        self.tabs.currentChanged.connect(self._tab_changed)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(close)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def _show_tab(self) -> QWidget:
        tab = QWidget()
        self.show_button = QPushButton("Show a pairing code")
        self.show_button.setObjectName("show-code")
        self.show_button.clicked.connect(self.open_window)
        self.window_label = _label("window")
        self.window_label.setText("Show a code here, then type it on the other device.")
        layout = QVBoxLayout(tab)
        layout.addWidget(self.window_label)
        layout.addWidget(self.show_button)
        layout.addStretch()
        return tab

    def _enter_tab(self) -> QWidget:
        tab = QWidget()
        self.address = QComboBox()
        self.address.setObjectName("address")
        self.address.setEditable(True)
        line = self.address.lineEdit()
        if line is not None:
            line.setPlaceholderText("e.g. 192.168.1.20:5601")
        self.search_button = QPushButton("Search the network")
        self.search_button.clicked.connect(self.search)
        self.search_label = _label("search")
        self.can_search = self.sync.can_discover()
        self.code = QLineEdit()
        self.code.setObjectName("code")
        self.code.setPlaceholderText("e.g. K7QM-2XPA")
        self.pair_button = QPushButton("Pair")
        self.pair_button.setObjectName("pair")
        self.pair_button.clicked.connect(self.pair)
        self.pair_label = _label("pair-result")
        form = QFormLayout()
        form.addRow("Device address", self.address)
        if self.can_search:
            form.addRow("", self.search_button)
            form.addRow("", self.search_label)
        else:
            self.search_button.hide()
            self.search_label.hide()
            self.searched = True
            if line is not None:
                line.setPlaceholderText("the address it shows, e.g. 192.168.1.20:5601")
        form.addRow("Its code", self.code)
        layout = QVBoxLayout(tab)
        layout.addLayout(form)
        layout.addWidget(self.pair_button)
        layout.addWidget(self.pair_label)
        layout.addStretch()
        return tab

    def _tab_changed(self, index: int) -> None:
        if index == 1 and not self.searched:  # the first look at this tab searches
            self.search()

    # -- the clicks ----------------------------------------------------------------------
    def open_window(self) -> None:
        self.known = self.sync.active_ids()
        self.shown_code, self.window_job = None, self.sync.open_pairing()
        self.show_button.setEnabled(False)
        self._say(self.window_label, "Opening a pairing window…")

    def search(self) -> None:
        self.searched = True
        self.search_job = self.sync.discover()
        self.search_button.setEnabled(False)
        self._say(self.search_label, "Looking for devices showing a code…")

    def address_text(self) -> str:
        """The chosen device's address, or what was typed."""
        index = self.address.currentIndex()
        if index >= 0 and self.address.currentText() == self.address.itemText(index):
            data = self.address.itemData(index)
            if isinstance(data, str):
                return data
        return self.address.currentText().strip()

    def pair(self) -> None:
        address, code = self.address_text(), self.code.text().strip()
        if not address or not code:
            self._say(self.pair_label, "Enter the other device's address and its code.",
                      error=True)
            return
        self.pair_job = self.sync.pair(address, code)
        self.pair_button.setEnabled(False)
        self._say(self.pair_label, f"Pairing with {address}…")

    # -- the results ---------------------------------------------------------------------
    def poll(self) -> None:
        self._poll_window()
        self._poll_search()
        self._poll_pair()

    def _poll_window(self) -> None:
        job = self.window_job
        if job is not None and job.finished:
            self.window_job = None
            if job.error or job.result is None:
                self.show_button.setEnabled(True)
                self._say(self.window_label, f"Could not open a pairing window: {job.error}",
                          error=True)
                return
            self.shown_code = job.result
            self._say(self.window_label, window_text(job.result))
        if self.shown_code is None:
            return
        peer = self.sync.newly_paired(self.known)
        if peer is not None:
            self.shown_code = None
            self.show_button.setEnabled(True)
            self._say(self.window_label, paired_text(peer.name, peer.sas))
            self.changed()
        elif time.time() > float(self.shown_code["expires_at"]):
            self.shown_code = None
            self.show_button.setEnabled(True)
            self._say(self.window_label, "The code has expired. Show a new one.", error=True)

    def _poll_search(self) -> None:
        job = self.search_job
        if job is None or not job.finished:
            return
        self.search_job = None
        self.search_button.setEnabled(True)
        if job.error:
            logger.warning("device search failed: %s", job.error)
            self._say(self.search_label, job.error, error=True)
            return
        found = job.result or []
        logger.info("device search found %d device(s) showing a code: %s", len(found),
                    ", ".join(f"{d['name']} ({d['address']})" for d in found))
        typed = self.address.currentText()
        self.address.clear()
        for device in found:
            self.address.addItem(f"{device['name']} ({device['address']})", device["address"])
        self.address.setEditText(typed if typed or not found else self.address.itemText(0))
        self._say(self.search_label, f"{len(found)} device(s) showing a code found."
                  if found else "No device showing a code was found; type its address.")

    def _poll_pair(self) -> None:
        job = self.pair_job
        if job is None or not job.finished:
            return
        self.pair_job = None
        self.pair_button.setEnabled(True)
        if job.error or job.result is None:
            self._say(self.pair_label, f"Pairing failed: {job.error}", error=True)
            return
        peer = job.result["peer"]
        self._say(self.pair_label, paired_text(peer["name"], peer["sas"]))
        self.code.clear()
        self.changed()

    def _say(self, label: QLabel, text: str, *, error: bool = False) -> None:
        label.setStyleSheet(ERROR_STYLE if error else "")
        label.setText(text)
        # Layouts inside tabs size a word-wrapped label by one line: reserve every line
        # it needs at its width, so a long message is not cut off (the dialog grows).
        label.setMinimumHeight(label.heightForWidth(max(label.width(), 200)))
