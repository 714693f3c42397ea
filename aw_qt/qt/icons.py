"""The tray's three looks: tracking, paused (grey with bars) and failed (a red badge).

The failed look is drawn over the tracking icon at run time rather than shipped as
more files: it must read as "the same app, with a problem" at 16 px as at 256 px.
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QIcon, QPainter, QPixmap

from aw_qt.controller import TrayLook
from watchers.resources import resources_dir

logger = logging.getLogger(__name__)

BADGE_RED = "#d32f2f"
FALLBACK_SIZES = (16, 22, 32, 48, 64)


def load_icon(paused: bool = False) -> QIcon:
    name = "aw-qt-paused" if paused else "aw-qt"
    icon = QIcon()
    folder = resources_dir()
    for png in sorted((folder / "icons").glob(f"{name}-*.png")):
        if png.stem.removeprefix(name + "-").isdigit():
            icon.addFile(str(png))
    if icon.isNull():
        icon = QIcon(str(folder / f"{name}.svg"))
    if icon.isNull():  # resources missing from this install: a plain disc still works
        logger.warning("tray icons not found in %s", folder)
        pixmap = QPixmap(32, 32)
        pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pixmap)
        painter.setBrush(QColor("#5a6169" if paused else "#f29d38"))
        painter.drawEllipse(2, 2, 28, 28)
        painter.end()
        icon = QIcon(pixmap)
    return icon


def _badged(pixmap: QPixmap) -> QPixmap:
    """A red disc with a white "!" over the lower right of `pixmap`. The "!" is drawn as
    a bar and a dot, not as text: text would load the font machinery (about 5 MB of
    memory) at start, for one glyph."""
    out = QPixmap(pixmap)
    side = min(out.width(), out.height()) * 0.58
    left = top = min(out.width(), out.height()) - side
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("white"))
    painter.setBrush(QColor(BADGE_RED))
    painter.drawEllipse(QRectF(left, top, side, side))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("white"))
    bar = side * 0.16
    middle = left + side / 2
    painter.drawRoundedRect(QRectF(middle - bar / 2, top + side * 0.2, bar, side * 0.38),
                            bar / 2, bar / 2)
    painter.drawEllipse(QRectF(middle - bar / 2, top + side * 0.66, bar, bar))
    painter.end()
    return out


def failed_icon(base: QIcon) -> QIcon:
    icon = QIcon()
    for size in base.availableSizes() or [QSize(s, s) for s in FALLBACK_SIZES]:
        icon.addPixmap(_badged(base.pixmap(size)))
    return icon


class TrayIcons:
    """The icon for each look; the failed one is drawn when first asked for, since most
    runs never need it (its pixmaps, up to 256 px, are not worth holding otherwise)."""

    def __init__(self) -> None:
        self._icons = {TrayLook.TRACKING: load_icon(False), TrayLook.PAUSED: load_icon(True)}

    def __getitem__(self, look: TrayLook) -> QIcon:
        if look not in self._icons:
            self._icons[look] = failed_icon(self._icons[TrayLook.TRACKING])
        return self._icons[look]
