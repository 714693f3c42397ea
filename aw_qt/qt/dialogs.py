"""The dialogs: export (file, progress, result), import (file, the first-start offer),
unpair confirmation, crash report, the first start's welcome, the question on closing
the no-tray window, and short notices. (Pairing: `pairing_dialog.py`.)

None of them blocks the event loop: they are shown non-modally (`show()`/`open()`),
so the Supervisor's timer keeps ticking while one is on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QFontDatabase, QTextCursor
from PyQt6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from aw_qt.first_run import WELCOME_TITLE
from aw_qt.modules.supervisor import RESTART_LIMIT, RESTART_WINDOW_S
from aw_qt.transfer.export import ExportJob
from aw_qt.transfer.importing import OfferAnswer

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


class CrashDialog(QDialog):
    """Shown when a module crashed more often than the restart budget allows: why its
    last run ended, and its newest output, scrolled to the end (where the error is)."""

    def __init__(self, name: str, reason: str, log_tail: str,
                 on_restart: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName(f"crash:{name}")
        self.setWindowTitle(f"ActivityWatch: {name} stopped")
        self.setMinimumSize(620, 380)
        last = f"Its last run {reason}." if reason else "It could not be started."
        self.message = QLabel(
            f"<b>{name} stopped working.</b><br><br>{last} After {RESTART_LIMIT} automatic "
            f"restarts within {RESTART_WINDOW_S / 60:.0f} minutes ActivityWatch stopped "
            "restarting it, so it records nothing until you restart it. Its newest output "
            "is below; Open log folder in the menu has all of it.")
        self.message.setWordWrap(True)
        self.output = QPlainTextEdit(log_tail)
        self.output.setObjectName("output")
        self.output.setReadOnly(True)
        self.output.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox()
        self.restart = buttons.addButton("Restart", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(on_restart)
        buttons.accepted.connect(self.close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.output, 1)
        layout.addWidget(buttons)

    def show_newest(self) -> None:
        """Show the dialog scrolled to the end of the output. The view's size (so its
        scroll range) is only known once laid out, and changes as the window is
        resized: each new range moves it to the end again."""
        self.output.moveCursor(QTextCursor.MoveOperation.End)
        bar = self.output.verticalScrollBar()
        if bar is not None:
            bar.rangeChanged.connect(lambda _low, high: bar.setValue(high))
        self.show()


def crash_dialog(name: str, reason: str, log_tail: str,
                 on_restart: Callable[[], None]) -> CrashDialog:
    dialog = CrashDialog(name, reason, log_tail, on_restart)
    dialog.show_newest()
    return dialog


def welcome(text: str, on_dashboard: Callable[[], None]) -> QMessageBox:
    """The first start's message (`aw_qt/first_run.py`), with the dashboard one click away."""
    box = QMessageBox(QMessageBox.Icon.Information, WELCOME_TITLE, text)
    box.setObjectName("welcome")
    box.setWindowModality(Qt.WindowModality.NonModal)  # the tray's menu stays usable
    dashboard = box.addButton("Open Dashboard", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Close)
    box.buttonClicked.connect(lambda button: on_dashboard() if button is dashboard else None)
    box.show()
    return box


def close_question(title: str, text: str, on_answer: Callable[[bool], None]) -> QMessageBox:
    """Closing the no-tray window: True to keep tracking in the background, False to
    quit; Cancel (or closing the question) keeps the window."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text)
    box.setObjectName("close-question")
    keep = box.addButton("Keep tracking in the background", QMessageBox.ButtonRole.AcceptRole)
    leave = box.addButton("Quit ActivityWatch", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.buttonClicked.connect(
        lambda button: on_answer(True) if button is keep else
        on_answer(False) if button is leave else None)
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
