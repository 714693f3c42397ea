"""The Sync and Import pages in headless Chromium against real servers.

Sync: two servers in this process, paired through the pages themselves (one shows the
code, the other enters it), synced, then unpaired with their mirrored data deleted.
Import: real uploads of a JSON export and of an aw-server-rust database, followed to the
result. Like test_dashboard.py, every test fails on console errors and saves screenshots.
"""

from __future__ import annotations

import base64
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from aw_server.config import ServerConfig
from aw_server.datastore.sync_items import short_device_id
from aw_server.serve import Server
from aw_server.transfer.csv_export import read_csv
from aw_server.transfer.finding import standard_database_paths
from tests.aw_server.dashboard.conftest import CHROMIUM, Tab, new_tab
from tests.aw_server.transfer.activitywatch_files import BUCKET, rust_db

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                "(apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def start(base: Path, hostname: str) -> Server:
    server = Server(ServerConfig(testing=True, port=0, dbpath=base / f"{hostname}.sqlite",
                                 hostname=hostname, sync_interval_s=0))
    server.start_in_thread()
    return server


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two servers with sync listeners on 127.0.0.1 (any free port) and no background
    schedule, so every sync is one a test clicked."""
    laptop, desktop = start(tmp_path, "laptop"), start(tmp_path, "desktop")
    try:
        for server in (laptop, desktop):
            # The page asks with {} and then reuses the listener already bound; without this
            # both would try the testing default 0.0.0.0:5667.
            answer = requests.post(f"{server.url}/api/0/sync/pairing", timeout=30,
                                   json={"listen": ["127.0.0.1"], "port": 0})
            assert answer.status_code == 200, answer.text
        yield laptop, desktop
    finally:
        laptop.stop()
        desktop.stop()


@pytest.fixture
def tabs(browser: Any) -> Iterator[list[Tab]]:
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        tab.page.context.close()
    errors = [e for tab in opened for e in tab.errors]
    assert errors == [], f"console errors: {errors}"


def test_sync_page_pairs_syncs_and_unpairs(browser: Any, devices: tuple[Server, Server],
                                           tabs: list[Tab]) -> None:
    laptop, desktop = devices
    on_laptop, on_desktop = new_tab(browser, laptop.url), new_tab(browser, desktop.url)
    tabs += [on_laptop, on_desktop]
    requests.post(f"{desktop.url}/api/0/buckets/aw-watcher-window_desktop", timeout=10,
                  json={"client": "t", "type": "currentwindow", "hostname": "desktop"})
    requests.post(f"{desktop.url}/api/0/buckets/aw-watcher-window_desktop/events", timeout=10,
                  json=[{"timestamp": f"2024-01-01T10:00:0{i}Z", "duration": 1,
                         "data": {"app": "vim", "title": str(i)}} for i in range(5)])

    # The desktop shows a code, reachable where it already listens (this computer only)...
    on_desktop.open("#/sync")
    on_desktop.page.get_by_text("No paired devices yet").wait_for()
    choice = on_desktop.page.locator("#pair-listen")
    choice.locator("option").first.wait_for(state="attached")
    assert choice.evaluate("s => s.options[s.selectedIndex].text") == \
        "This computer only (127.0.0.1)"
    on_desktop.page.click("#pair-show")
    code = on_desktop.page.locator("#pair-code")
    code.wait_for()
    assert "Expires in 4:" in on_desktop.page.inner_text(".countdown")
    address = on_desktop.page.locator(".addresses code").first.inner_text()
    assert address.startswith("127.0.0.1:")
    on_desktop.shot("sync-pairing-code")

    # ... and the laptop enters it.
    on_laptop.open("#/sync")
    on_laptop.page.fill("#pair-address", address)
    on_laptop.page.fill("#pair-code-input", code.inner_text())
    on_laptop.page.click("form button:has-text('Pair')")
    paired = on_laptop.page.locator(".paired h3")
    paired.wait_for()
    assert paired.inner_text() == "Paired with desktop"
    assert on_laptop.page.evaluate("document.activeElement.textContent") == "Paired with desktop"
    sas = on_laptop.page.inner_text(".paired .sas")
    # The desktop notices the new peer by itself and shows the same confirmation code.
    on_desktop.page.locator(".paired h3:has-text('Paired with laptop')").wait_for()
    assert on_desktop.page.inner_text(".paired .sas") == sas
    on_desktop.shot("sync-paired")

    row = on_laptop.page.locator("tr[data-device]")
    row.wait_for()
    short = short_device_id(desktop.store.device_id)
    assert f"desktop ({short})" in row.inner_text() and "Paired" in row.inner_text()
    assert "never" in row.inner_text()
    row.locator("button:has-text('Rename')").click()  # several devices are called alike
    on_laptop.page.fill("dialog[open] #peer-label", "Work desktop")
    on_laptop.page.click("dialog[open] button:has-text('Rename')")
    on_laptop.page.get_by_text("Renamed to Work desktop.").wait_for()
    assert row.locator(".peer-name").inner_text() == "Work desktop"
    row.locator("button:has-text('Sync now')").click()
    on_laptop.page.get_by_text("Synced with Work desktop").wait_for()
    assert "just now" in row.inner_text()
    assert "bytes" in row.locator("td.num").inner_text() or "KiB" in row.locator(
        "td.num").inner_text()
    mirrored = [b for b in requests.get(f"{laptop.url}/api/0/buckets/", timeout=10).json()
                if b.startswith("aw-watcher-window_desktop-synced-from-")]
    assert len(mirrored) == 1
    on_laptop.shot("sync-peers")

    # A peer that accepts the connection but never answers keeps a sync running: asking
    # again gets the server's 409, shown as "already running", not as a failure.
    port = int(address.rpartition(":")[2])
    on_desktop.page.goto("about:blank")  # its page would log the refused polls
    desktop.stop()
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", port))
    silent.listen(8)
    try:
        row.locator("button:has-text('Sync now')").click()
        row.locator(".badge:has-text('Syncing')").wait_for()
        on_laptop.page.click("#sync-all")
        on_laptop.page.get_by_text("A sync is already running").wait_for()
        on_laptop.shot("sync-already-running")
    finally:
        silent.close()  # resets the pending connection: the sync fails
    on_laptop.page.get_by_text("Sync with Work desktop failed").wait_for()
    assert row.locator(".sync-error").inner_text() != "—"
    assert "tried" in row.inner_text()  # the failed attempt, besides the last sync

    # Unpair, deleting what came from the desktop.
    row.locator("button:has-text('Unpair')").click()
    dialog = on_laptop.page.locator("dialog[open]")
    assert "Unpair Work desktop?" in dialog.inner_text()
    assert "was lost or stolen: revoke it on every device" in dialog.inner_text()
    dialog.get_by_label("Also delete the data mirrored from Work desktop on this device").check()
    on_laptop.shot("sync-unpair-dialog")
    dialog.locator("button:has-text('Unpair')").click()
    on_laptop.page.get_by_text("Its mirrored data was deleted").wait_for()
    row.wait_for(state="detached")
    assert on_laptop.page.evaluate("document.activeElement.id") == "peers-title"
    buckets = requests.get(f"{laptop.url}/api/0/buckets/", timeout=10).json()
    assert not [b for b in buckets if "-synced-from-" in b]
    # Chromium logs the deliberate 409 itself; nothing else may be logged.
    assert all("status of 409" in e for e in on_laptop.errors), on_laptop.errors
    on_laptop.errors.clear()


def test_sync_page_says_plainly_when_sync_is_missing(browser: Any, server: Server,
                                                     tabs: list[Tab]) -> None:
    tab = new_tab(browser, server.url)
    tabs.append(tab)
    # A server built without the sync service (its libraries missing) answers 503.
    server.app.extensions.pop("aw_sync", None)
    tab.open("#/sync")
    notice = tab.page.locator("[data-sync=unavailable]")
    notice.wait_for()
    assert "Device sync is not available in this server" in notice.inner_text()
    tab.shot("sync-unavailable")
    # ActivityWatch's own servers have no /api/0/sync at all: they answer 404, which this
    # test stands in for (neither aw-server nor aw-server-rust runs here).
    tab.page.route("**/api/0/sync/**", lambda route: route.fulfill(
        status=404, content_type="application/json", body='{"message": "Not Found"}'))
    tab.page.reload()
    missing = tab.page.locator("[data-sync=missing]")
    missing.wait_for()
    assert "This server has no device sync" in missing.inner_text()
    assert all("status of 503" in e or "status of 404" in e for e in tab.errors)
    tab.errors.clear()


# -- Import ------------------------------------------------------------------------------------
def export_file(path: Path, n: int = 1200) -> Path:
    events = [{"timestamp": f"2024-02-0{1 + i // 500}T{(i // 60) % 24:02d}:{i % 60:02d}:00Z",
               "duration": 30, "data": {"app": "code", "title": f"t{i}"}} for i in range(n)]
    path.write_text(json.dumps({"buckets": {"b1": {**BUCKET, "events": events}}}))
    return path


def drop(tab: Tab, path: Path, selector: str = ".dropzone") -> None:
    """Drop a file on the zone the way a file manager does (a DataTransfer with a File)."""
    content = base64.b64encode(path.read_bytes()).decode()
    tab.page.wait_for_selector(selector)  # the view may still be loading its module
    tab.page.evaluate("""([selector, name, content]) => {
        const bytes = Uint8Array.from(atob(content), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name));
        document.querySelector(selector).dispatchEvent(
            new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    }""", [selector, path.name, content])


def test_import_page_uploads_an_export_and_shows_the_result(browser: Any, server: Server,
                                                          tabs: list[Tab],
                                                          tmp_path: Path) -> None:
    tab = new_tab(browser, server.url)
    tabs.append(tab)
    source = export_file(tmp_path / "my export.json")
    tab.open("#/import")
    tab.page.set_input_files("#import-job-file", str(source))
    assert "my export.json" in tab.page.inner_text(".chosen")
    tab.page.click("#import-start")
    title = tab.page.locator(".import-result h3")
    title.wait_for(timeout=60_000)
    assert title.inner_text() == "Imported my export.json"
    assert "1,200 events added, 0 already present (skipped), in 1 bucket (1 new)" in \
        tab.page.inner_text(".import-result .summary")
    assert tab.page.evaluate("document.activeElement.textContent") == "Imported my export.json"
    tab.shot("import-done")
    events = requests.get(f"{server.url}/api/0/buckets/b1/events?limit=-1", timeout=10).json()
    assert len(events) == 1200

    # The same file dropped again adds nothing.
    drop(tab, source)
    tab.page.click("#import-start")
    tab.page.get_by_text("0 events added, 1,200 already present").wait_for()

    # The export links: JSON and (this server offers it) CSV, whole and per bucket.
    assert tab.page.get_attribute("a.export-all-json", "href") == "/api/0/export"
    assert tab.page.get_attribute("a.export-one-csv", "href") == \
        "/api/0/buckets/b1/export?format=csv"
    with tab.page.expect_download() as download:
        tab.page.click("a.export-all-csv")
    saved = tmp_path / "all.csv"
    download.value.save_as(saved)
    rows = list(read_csv(io.StringIO(saved.read_text(encoding="utf-8"), newline="")))
    assert len(rows) == 1200 and rows[0][0] == "b1"


def test_import_page_database_drop_bad_file_and_found_database(browser: Any, server: Server,
                                                               tabs: list[Tab],
                                                               tmp_path: Path) -> None:
    tab = new_tab(browser, server.url)
    tabs.append(tab)
    database = tmp_path / "sqlite.db"
    rust_db(database, 5)
    found = standard_database_paths(testing=True)[0]  # under the test's AW_BASE_DIR
    found.parent.mkdir(parents=True)
    rust_db(found, 2)
    tab.open("#/import")

    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    drop(tab, bad)
    tab.page.click("#import-start")
    error = tab.page.locator(".import-result .error")
    error.wait_for()
    assert "'photo.png' is not an ActivityWatch JSON export" in error.inner_text()
    assert "PNG image" in error.inner_text()
    tab.shot("import-bad-file")
    assert requests.get(f"{server.url}/api/0/buckets/", timeout=10).json() == {}

    drop(tab, database)
    assert "sqlite.db" in tab.page.inner_text(".chosen")
    tab.page.click("#import-start")
    tab.page.get_by_text("Imported sqlite.db").wait_for(timeout=60_000)
    assert "100 events added" in tab.page.inner_text(".import-result .summary")
    assert "Settings added:" in tab.page.inner_text(".import-result")

    # The database ActivityWatch left in its standard place is offered too; it has the
    # same events (schema 2), so importing it adds nothing new.
    card = tab.page.locator("section[aria-labelledby=found-title]")
    assert str(found) in card.inner_text()
    card.locator("button:has-text('Import it')").click()
    tab.page.get_by_text(f"Imported {found}").wait_for(timeout=60_000)
    assert "0 events added, 100 already present" in tab.page.inner_text(".import-result")
    tab.shot("import-found-database")
    assert all("status of 400" in e for e in tab.errors)
    tab.errors.clear()


def test_new_pages_have_labelled_controls(browser: Any, server: Server, tabs: list[Tab]) -> None:
    tab = new_tab(browser, server.url)
    tabs.append(tab)
    for fragment in ("#/sync", "#/import"):
        tab.open(fragment)
        tab.page.wait_for_selector(".view[data-state=complete]")
        unnamed = tab.page.evaluate("""() => [...document.querySelectorAll(
                'input, select, textarea, button')]
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !el.textContent.trim()).map((el) => el.outerHTML)""")
        assert unnamed == [], f"{fragment}: {unnamed}"
    # Keyboard only: reach the pairing code field and pair button by Tab.
    tab.open("#/sync")
    tab.page.wait_for_selector(".view[data-state=complete]")
    tab.page.focus("#pair-address")
    tab.page.keyboard.press("Tab")
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.id") == "pair-code-input"
    assert tab.page.get_attribute("nav a[data-view=sync]", "aria-current") == "page"
