"""The dialogs: export (file, progress, result), import (file, the first-start offer),
unpair confirmation, crash report, and short notices. (Pairing: `pairing_dialog.py`.)

None of them blocks the event loop: they are shown non-modally (`show()`/`open()`),
so the Supervisor's timer keeps ticking while one is on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QFileDialog, QMessageBox, QProgressDialog, QWidget

from aw_qt.export import ExportJob
from aw_qt.importing import OfferAnswer

FILTERS = {"JSON (ActivityWatch export) (*.json)": "json", "CSV (*.csv)": "csv"}


def choose_export_path(parent: QWidget | None = None) -> tuple[Path, str] | None:
    """Ask where to export; the format follows the file's suffix, else the filter."""
    default = str(Path.home() / f"aw-export-{date.today().isoformat()}.json")
    path, chosen = QFileDialog.getSaveFileName(parent, "Export data", default,
                                               ";;".join(FILTERS))
    if not path:
        return None
    suffix = Path(path).suffix.lower()
    fmt = {".csv": "csv", ".json": "json"}.get(suffix) or FILTERS.get(chosen, "json")
    return Path(path), fmt


IMPORT_FILTERS = ("ActivityWatch data (*.db *.sqlite *.json)", "All files (*)")


def choose_import_path(default: Path, parent: QWidget | None = None) -> Path | None:
    """Ask which database or JSON export to import (the kind is read from the content)."""
    path, _chosen = QFileDialog.getOpenFileName(parent, "Import from ActivityWatch",
                                                str(default), ";;".join(IMPORT_FILTERS))
    return Path(path) if path else None


def import_offer(text: str, on_answer: Callable[[OfferAnswer], None]) -> QMessageBox:
    """The first-start question; closing it counts as "Not now"."""
    box = QMessageBox(QMessageBox.Icon.Question, "Import ActivityWatch data", text)
    box.setObjectName("import-offer")
    buttons = {box.addButton(OfferAnswer.IMPORT.value, QMessageBox.ButtonRole.AcceptRole):
               OfferAnswer.IMPORT,
               box.addButton(OfferAnswer.LATER.value, QMessageBox.ButtonRole.RejectRole):
               OfferAnswer.LATER,
               box.addButton(OfferAnswer.NEVER.value, QMessageBox.ButtonRole.DestructiveRole):
               OfferAnswer.NEVER}
    box.buttonClicked.connect(lambda button: on_answer(buttons.get(button, OfferAnswer.LATER)))
    box.show()
    return box


def unpair_box(name: str, on_unpair: Callable[[bool], None]) -> QMessageBox:
    """Confirm an unpair; the checkbox decides whether that device's data goes too."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unpair device",
                      f"Unpair {name}? The two devices stop syncing with each other. "
                      f"The data already copied stays where it is unless you tick the box.")
    box.setObjectName("unpair")
    purge = QCheckBox(f"Also delete the data of {name} on this device")
    box.setCheckBox(purge)
    unpair = box.addButton("Unpair", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.buttonClicked.connect(
        lambda button: on_unpair(purge.isChecked()) if button is unpair else None)
    box.show()
    return box


class ExportProgress(QObject):
    """Shows a running ExportJob: a cancellable progress dialog, then the outcome."""

    finished = pyqtSignal(str)  # "done", "cancelled" or "failed"

    def __init__(self, job: ExportJob, notify: Callable[[str, str], None],
                 show_error: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.notify = notify
        self.show_error = show_error
        self.dialog = QProgressDialog(f"Exporting to {job.path.name}…", "Cancel", 0, 1000)
        self.dialog.setWindowTitle("ActivityWatch export")
        self.dialog.setMinimumDuration(500)  # small exports finish before it appears
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(job.cancel)
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._poll)

    def start(self) -> None:
        self.job.start()
        self.timer.start()

    def _poll(self) -> None:
        job = self.job
        if job.total:
            self.dialog.setValue(int(1000 * job.done / job.total))
        if not job.finished.is_set():
            return
        self.timer.stop()
        self.dialog.close()
        if job.error:
            self.show_error(job.error)
            self.finished.emit("failed")
        elif job.cancelled:
            self.finished.emit("cancelled")
        else:
            self.notify("Export finished", f"{job.total} events written to {job.path}")
            self.finished.emit("done")


def crash_dialog(name: str, log_tail: str, on_restart: Callable[[], None]) -> QMessageBox:
    """Shown when a module crashed more often than the restart budget allows."""
    box = QMessageBox(QMessageBox.Icon.Warning, "ActivityWatch",
                      f"{name} quit unexpectedly and was restarted too often, so it is "
                      "stopped now. Its last output is below.")
    box.setObjectName(f"crash:{name}")
    box.setDetailedText(log_tail)
    restart = box.addButton("Restart", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Close)
    box.buttonClicked.connect(lambda button: on_restart() if button is restart else None)
    box.show()
    return box


def notice(text: str, *, title: str = "ActivityWatch", error: bool = True,
           auto_close_ms: int = 0) -> QMessageBox:
    icon = QMessageBox.Icon.Critical if error else QMessageBox.Icon.Information
    box = QMessageBox(icon, title, text)
    box.setObjectName("notice")
    if auto_close_ms:
        QTimer.singleShot(auto_close_ms, box.close)
    box.show()
    return box
