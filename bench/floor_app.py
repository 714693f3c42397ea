"""The smallest program built from the stack aw-qt is made of: the memory floor.

    python bench/floor_app.py tray PORT         # the tray process and its two watchers
    python bench/floor_app.py watcher PORT      # one watcher (the tray starts two)

`tray` is what any aw-qt must hold: a QApplication with a tray icon and its menu, a
Flask app served by waitress on a thread, a peewee SQLite database that its one route
writes to. It starts two `watcher` processes, as aw-qt does; each opens the X display
with python-xlib (asking the screensaver extension for the idle time, as an AFK
watcher does) and sends a heartbeat a second over h11. Nothing else: no query
language, no sync, no dashboard, no supervision, no logging set-up. What the real
processes use beyond this is what the product itself costs (bench/floor_bench.py
measures both the same way).

It runs from a venv or as a PyInstaller bundle (bench/floor_bench.py --bundle builds
one like aw-qt's: one folder, one executable for all three processes, without
PyInstaller's PyQt6 runtime hook).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


def heartbeat_loop(port: int) -> None:
    import h11
    from Xlib import display

    screen = display.Display().screen()
    while True:
        idle_ms = screen.root.screensaver_query_info().idle
        body = json.dumps({"idle_ms": idle_ms, "at": time.time()}).encode()
        conn = h11.Connection(h11.CLIENT)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(conn.send(h11.Request(
                method="POST", target="/heartbeat",
                headers=[("Host", "127.0.0.1"), ("Content-Type", "application/json"),
                         ("Content-Length", str(len(body)))])))
            sock.sendall(conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
            sock.recv(65536)
        time.sleep(1.0)


def watcher_command(port: int) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "watcher", str(port)]
    return [sys.executable, str(Path(__file__).resolve()), "watcher", str(port)]


def tray(port: int, data_dir: Path) -> int:
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:  # what PyInstaller's PyQt6 hook would do, in this process only
        os.environ["QT_PLUGIN_PATH"] = os.path.join(meipass, "PyQt6", "Qt6", "plugins")
    import flask
    import peewee
    from PyQt6.QtCore import QTimer
    from PyQt6.QtGui import QColor, QIcon, QPixmap
    from PyQt6.QtWidgets import QApplication, QMenu, QSystemTrayIcon
    from waitress.server import create_server

    database = peewee.SqliteDatabase(str(data_dir / "floor.db"),
                                     pragmas={"journal_mode": "wal"})

    class Beat(peewee.Model):
        data = peewee.TextField()

        class Meta:
            database = None

    Beat._meta.database = database
    database.create_tables([Beat])
    app = flask.Flask("floor")

    @app.post("/heartbeat")
    def heartbeat() -> flask.Response:
        with database.connection_context():
            Beat.create(data=flask.request.get_data(as_text=True))
        return flask.jsonify({})

    @app.get("/count")
    def count() -> flask.Response:
        with database.connection_context():
            return flask.jsonify({"beats": Beat.select().count()})

    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    qt = QApplication(sys.argv[:1])
    qt.setApplicationName("ActivityWatch")  # the window class the benchmark looks for
    # SIGTERM (how the benchmark ends it) quits through Qt, so the watchers are ended;
    # the timer lets Python run its signal handler while Qt waits for events.
    signal.signal(signal.SIGTERM, lambda *_: qt.quit())
    ticker = QTimer()
    ticker.start(200)
    ticker.timeout.connect(lambda: None)
    pixmap = QPixmap(32, 32)
    pixmap.fill(QColor("seagreen"))
    icon = QSystemTrayIcon(QIcon(pixmap))
    menu = QMenu()
    menu.addAction("Quit", qt.quit)
    icon.setContextMenu(menu)
    icon.show()
    env = {k: v for k, v in os.environ.items() if k != "QT_PLUGIN_PATH"}
    watchers = [subprocess.Popen(watcher_command(port), env=env) for _ in range(2)]
    try:
        return qt.exec()
    finally:
        for child in watchers:
            child.terminate()
            child.wait(10)
        server.close()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("tray", "watcher"):
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    port = int(argv[2])
    if argv[1] == "watcher":
        heartbeat_loop(port)
        return 0
    return tray(port, Path(os.environ.get("FLOOR_DATA_DIR", ".")))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
