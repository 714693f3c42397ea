"""The web dashboard in headless Chromium against a real server holding the synthetic week.

Every test fails on console errors (see the `tab` fixture) and saves a screenshot of what
it looked at to artifacts/dashboard/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from aw_server.serve import Server
from tests.aw_server.dashboard import fixture
from tests.aw_server.dashboard.conftest import CHROMIUM, CHROMIUM_FLAGS, Loaded, Tab, new_tab

if not CHROMIUM.exists():  # CI installs it (.ci/run); a developer machine may not have it
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                "(apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

DAY = "#/activity?host=testhost&range=day&date=2024-01-03"  # a Wednesday: day index 2


def fmt_duration(seconds: float) -> str:
    """The dashboard's own format (dom.js fmtDuration)."""
    total = round(seconds)
    hours, minutes, secs = total // 3600, (total % 3600) // 60, total % 60
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def hour_labels(tab: Tab) -> list[str]:
    labels = tab.page.locator("section[aria-label='Active time by hour'] svg > text")
    return [str(t) for t in labels.all_text_contents()]


def stat(tab: Tab, name: str) -> str:
    return str(tab.page.inner_text(f"[data-stat={name}] .value")).strip()


def test_activity_day_shows_fixture_numbers(tab: Tab, loaded: Loaded) -> None:
    tab.open(DAY)
    tab.wait_complete()
    assert stat(tab, "active-time") == fmt_duration(loaded.data.active_seconds(2))
    assert stat(tab, "top-app") == loaded.data.top_app(2) == "code"
    # Every card rendered; the browser bucket brings domains and URLs.
    for title in ("Top applications", "Top window titles", "Top categories",
                  "Top browser domains", "Top URLs"):
        card = f"section.card[aria-label='{title}']"
        assert tab.page.locator(f"{card} li, {card} svg").count() > 0
    assert "github.com" in tab.page.inner_text("section[aria-label='Top browser domains']")
    assert tab.page.locator("section[aria-label='Active time by hour'] rect.bar").count() == 24
    tab.shot("activity-day")


def test_activity_week_and_month(tab: Tab, loaded: Loaded) -> None:
    tab.open("#/activity?host=testhost&range=week&date=2024-01-03")
    tab.wait_complete()
    assert stat(tab, "active-time") == fmt_duration(loaded.data.week_seconds())
    assert stat(tab, "top-app") == "code"
    assert tab.page.locator("section[aria-label='Active time per day'] rect.bar").count() == 7
    tab.shot("activity-week")
    tab.page.click("button:has-text('Month')")
    tab.page.wait_for_url("**range=month**")
    tab.wait_complete()
    # No data outside the week.
    assert stat(tab, "active-time") == fmt_duration(loaded.data.week_seconds())
    assert tab.page.locator("section[aria-label='Active time per day'] rect.bar").count() == 31
    tab.shot("activity-month")


def test_activity_respects_start_of_day_and_afk_filter(tab: Tab, loaded: Loaded) -> None:
    tab.open(DAY + "&afk=0")
    tab.wait_complete()
    assert stat(tab, "active-time") == "10h 0m"  # window events span 08:00-18:00
    tab.open(DAY)
    tab.wait_complete()
    labels = hour_labels(tab)
    assert labels[-24] == "04"  # the default day starts at 04:00


def test_phone_width_and_dark_theme(browser: Any, loaded: Loaded) -> None:
    tab = new_tab(browser, loaded.url, viewport={"width": 390, "height": 844}, color_scheme="dark")
    try:
        tab.open(DAY)
        tab.wait_complete()
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, "the page scrolls sideways on a phone"
        background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 21, 27)"  # the system asked for dark
        tab.shot("activity-phone-dark")
        assert tab.errors == []
    finally:
        tab.page.context.close()


def test_timeline_lanes_zoom_and_hover(tab: Tab) -> None:
    tab.open("#/timeline?date=2024-01-03&lanes=buckets")
    tab.wait_complete()
    labels = tab.page.locator(".timeline .lane-label").all_text_contents()
    assert len(labels) == 3 and labels[0].startswith("aw-watcher-afk")
    plot = tab.page.locator(".timeline")
    box = plot.bounding_box()
    assert box is not None
    # Hover the window lane at about 10:00 (the axis spans 04:00-04:00).
    x = box["x"] + 190 + (box["width"] - 198) * (6 / 24)
    y = box["y"] + 24 + 2.5 * 26
    tab.page.mouse.move(x, y)
    tooltip = tab.page.locator(".tooltip")
    tooltip.wait_for(state="visible")
    assert "aw-watcher-window_testhost" in tooltip.inner_text()
    assert "app:" in tooltip.inner_text()
    tab.shot("timeline")  # with the tooltip showing
    tab.page.click("button[aria-label='Zoom in']")
    tab.page.click("button[aria-label='Zoom in']")
    assert "Showing 6h" in tab.page.inner_text(".view-timeline")
    plot.focus()
    tab.page.keyboard.press("0")
    assert "Whole day" in tab.page.inner_text(".view-timeline")


def test_activity_picks_the_watchers_own_buckets_in_any_listing_order(tab: Tab) -> None:
    tab.open("#/buckets")
    picked = tab.page.evaluate("""async () => {
      const { bucketsByKind } = await import("/js/devices.js");
      const bucket = (id, type) => [id, { id, type, hostname: "h" }];
      const listed = (...entries) =>
        bucketsByKind(entries.map(([id]) => id), Object.fromEntries(entries));
      return [
        listed(bucket("imported-window", "currentwindow"),
               bucket("aw-watcher-window_h", "currentwindow"),
               bucket("aw-watcher-afk_h", "afkstatus")),
        listed(bucket("aw-watcher-window_h", "currentwindow"),
               bucket("imported-window", "currentwindow")),
        listed(bucket("only-window", "currentwindow"), bucket("second-window", "currentwindow")),
        listed(bucket("aw-watcher-window_old", "currentwindow"),
               bucket("aw-watcher-window_new-synced-from-abcdefg", "currentwindow")),
      ].map((b) => [b.window, b.afk]);
    }""")
    assert picked == [[["aw-watcher-window_h"], ["aw-watcher-afk_h"]],
                      [["aw-watcher-window_h"], []], [["only-window"], []],
                      [["aw-watcher-window_old", "aw-watcher-window_new-synced-from-abcdefg"], []]]


def test_buckets_list_and_events_paging(tab: Tab, loaded: Loaded) -> None:
    tab.open("#/buckets")
    row = tab.page.locator(f"tr[data-bucket='{fixture.WINDOW}']")
    count = len(loaded.data.events[fixture.WINDOW])
    row.locator("td.num").filter(has_text=f"{count:,}").wait_for()
    assert "2024-01-07 18:00:00" in row.inner_text()
    tab.shot("buckets")
    row.locator("a").first.click()
    # The bucket list's own rows match "table tbody tr" too until the events page replaces
    # them: wait for the events page's heading instead.
    tab.page.get_by_text(f"Events 1–50 of {count:,}").wait_for()
    first_page = tab.page.locator("tbody tr").all_inner_texts()
    assert len(first_page) == 50 and first_page[0].startswith("2024-01-07 17:")
    assert f"Events 1–50 of {count:,}" in tab.page.inner_text(".view")
    tab.shot("bucket-events")
    tab.page.click("button:has-text('Older')")
    tab.page.get_by_text("Events 51–100").wait_for()
    second_page = tab.page.locator("tbody tr").all_inner_texts()
    assert not set(first_page) & set(second_page)
    # Page 2 continues exactly where page 1 ended, newest first.
    events = requests.get(f"{loaded.url}/api/0/buckets/{fixture.WINDOW}/events?limit=100",
                          timeout=10).json()
    assert second_page[0].startswith(events[50]["timestamp"][:19].replace("T", " "))


def test_export_json_reimports_identical_and_csv(tab: Tab, loaded: Loaded, tmp_path: Path) -> None:
    api = f"{loaded.url}/api/0"
    bucket = fixture.WEB
    before = requests.get(f"{api}/buckets/{bucket}/events", timeout=10).json()
    tab.open("#/buckets")
    row = tab.page.locator(f"tr[data-bucket='{bucket}']")
    with tab.page.expect_download() as download_info:
        row.locator("a.export-json").click()
    exported = tmp_path / "export.json"
    download_info.value.save_as(exported)
    with tab.page.expect_download() as csv_info:
        row.locator("button:has-text('CSV')").click()
    csv_path = tmp_path / "export.csv"
    csv_info.value.save_as(csv_path)
    csv_lines = csv_path.read_text().splitlines()
    assert csv_lines[0] == "timestamp,duration,audible,incognito,title,url"
    assert len(csv_lines) == len(before) + 1

    row.locator("button:has-text('Delete')").click()
    dialog = tab.page.locator("dialog[open]")
    assert bucket in dialog.inner_text()
    tab.shot("bucket-delete-confirm")
    dialog.locator("button:has-text('Delete')").click()
    row.wait_for(state="detached")
    assert requests.get(f"{api}/buckets/{bucket}", timeout=10).status_code == 404

    tab.page.set_input_files("#import-file", str(exported))
    tab.page.click("button:has-text('Import')")
    tab.page.get_by_text(f"{bucket}: {len(before)} inserted").wait_for()
    row.wait_for()
    after = requests.get(f"{api}/buckets/{bucket}/events", timeout=10).json()
    strip = [{k: e[k] for k in ("timestamp", "duration", "data")} for e in before]
    assert [{k: e[k] for k in ("timestamp", "duration", "data")} for e in after] == strip
    assert json.loads(exported.read_text())["buckets"][bucket]["type"] == "web.tab.current"


def test_query_explorer_runs_and_shows_errors(tab: Tab, loaded: Loaded) -> None:
    tab.open("#/query")
    tab.page.select_option("#query-period", "custom")
    tab.page.fill("#query-from", "2024-01-03")
    tab.page.fill("#query-to", "2024-01-03")
    tab.page.click("button:has-text('Run')")
    table = tab.page.locator("section[aria-label='Result'] table")
    table.wait_for()
    first_row = table.locator("tbody tr").first.inner_text()
    assert "code" in first_row and fmt_duration(loaded.data.active_by_day[2]["code"]) in first_row
    tab.shot("query")
    tab.page.select_option("#query-view", "json")
    assert '"app": "code"' in tab.page.inner_text("pre.json")
    # A broken program: the server's message (with its position) appears in place.
    tab.page.fill("#query-text", "RETURN = query_bucket(;")
    tab.page.focus("#query-text")
    tab.page.keyboard.press("Control+Enter")
    error = tab.page.locator("section[aria-label='Result'] .error")
    error.wait_for()
    assert "line 1" in error.inner_text().lower()
    tab.shot("query-error")
    # Chromium logs the deliberate 400 itself; that is the only console error allowed here.
    assert all("status of 400" in e for e in tab.errors)
    tab.errors.clear()


def test_category_rule_edited_in_settings_changes_activity(tab: Tab, loaded: Loaded) -> None:
    tab.open(DAY)
    tab.wait_complete()
    assert "Comms › Chat" not in tab.page.inner_text("section[aria-label='Categories']")
    tab.open("#/settings")
    tab.page.click("button[aria-label='Add a subcategory to Comms']")
    tab.page.fill("#cat-name", "Chat")
    tab.page.fill("#cat-regex", "Slack")
    tab.page.click("button:has-text('Test rule')")
    tab.page.locator(".test-result").wait_for()
    assert "Matches 2 of" in tab.page.inner_text(".test-result")  # the two Slack titles
    tab.shot("settings-rule-test")
    tab.page.click("form button:has-text('Apply')")
    tab.page.click("#save-rules")
    tab.page.get_by_text("Rules saved").wait_for()
    tab.shot("settings")
    classes = requests.get(f"{loaded.url}/api/0/settings/classes", timeout=10).json()
    assert any(c["name"] == ["Comms", "Chat"] and c["rule"]["regex"] == "Slack" for c in classes)
    try:
        tab.page.click("nav a:has-text('Activity')")
        tab.open(DAY)
        tab.wait_complete()
        text = tab.page.inner_text("section[aria-label='Categories']")
        slack = loaded.data.active_by_day[2]["Slack"]
        assert f"Comms › Chat\n{fmt_duration(slack)}" in text
        tab.shot("activity-after-rule")
    finally:
        requests.delete(f"{loaded.url}/api/0/settings/classes", timeout=10)


def test_settings_start_of_day_and_theme_are_stored(tab: Tab, loaded: Loaded) -> None:
    api = f"{loaded.url}/api/0/settings"
    try:
        tab.open("#/settings")
        tab.page.fill("#set-start-of-day", "06:00")
        tab.page.locator("#set-start-of-day").dispatch_event("change")
        tab.page.select_option("#set-theme", "dark")
        tab.page.get_by_text("Saved").nth(1).wait_for()
        assert requests.get(f"{api}/startOfDay", timeout=10).json() == "06:00"
        assert requests.get(f"{api}/theme", timeout=10).json() == "dark"
        assert tab.page.evaluate("document.documentElement.dataset.theme") == "dark"
        tab.shot("settings-dark")
        tab.open(DAY)
        tab.wait_complete()
        labels = hour_labels(tab)
        assert labels[-24] == "06"
    finally:
        for key in ("startOfDay", "theme"):
            requests.delete(f"{api}/{key}", timeout=10)


def test_keyboard_navigation_and_labels(tab: Tab) -> None:
    tab.open(DAY)
    tab.wait_complete()
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab.page.focus("nav a[data-view=buckets]")
    tab.page.keyboard.press("Enter")
    # The URL changes before the hashchange handler marks the link: wait for the mark.
    tab.page.wait_for_selector("nav a[data-view=buckets][aria-current=page]")
    assert tab.page.get_attribute("nav a[data-view=activity]", "aria-current") is None
    # Every form control of every view has an accessible name.
    for fragment in (DAY, "#/timeline?date=2024-01-03", "#/query", "#/settings", "#/buckets"):
        tab.open(fragment)
        tab.page.wait_for_selector(".view h1")
        unnamed = tab.page.evaluate("""() => [...document.querySelectorAll(
                'input, select, textarea, button')]
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !el.textContent.trim()).map((el) => el.outerHTML)""")
        assert unnamed == [], f"{fragment}: {unnamed}"


def test_forged_host_name_is_rejected(playwright: Any, loaded: Loaded) -> None:
    """A page reached through a rebound DNS name (evil.example → 127.0.0.1) gets nothing."""
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_FLAGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"])
    try:
        page = chromium.new_page()
        response = page.goto(f"http://evil.example:{loaded.server.port}/")
        assert response is not None and response.status == 400
        assert "host header is invalid" in page.inner_text("body")
        # What a rebinding page would try next: same-origin requests to the API.
        for path in ("/js/main.js", "/api/0/buckets/"):
            assert page.evaluate(f"fetch('{path}').then((r) => r.status)") == 400
        ok = page.goto(f"{loaded.url}/")
        assert ok is not None and ok.status == 200
    finally:
        chromium.close()


def test_server_error_is_shown_in_place(tab: Tab, loaded: Loaded) -> None:
    """A rule the server cannot compile: Activity says why, the other views still work."""
    api = f"{loaded.url}/api/0/settings/classes"
    bad = [{"id": 1, "name": ["Broken"], "rule": {"type": "regex", "regex": "(unclosed"}}]
    assert requests.post(api, json=bad, timeout=10).status_code == 200
    try:
        tab.open(DAY)
        error = tab.page.locator("section[aria-label='Summary'] .error")
        error.wait_for()
        assert "1 of 1 days failed" in error.inner_text()
        message = error.inner_text().lower()
        assert "regex" in message or "regular expression" in message
        tab.shot("activity-error")
        tab.page.click("nav a[data-view=buckets]")
        tab.page.locator(f"tr[data-bucket='{fixture.WINDOW}']").wait_for()
    finally:
        requests.delete(api, timeout=10)
    # Chromium logs each failed request itself; no other console error is allowed.
    assert all("status of 400" in e for e in tab.errors)
    tab.errors.clear()


def test_rules_export_and_import(tab: Tab, tmp_path: Path) -> None:
    tab.open("#/settings")
    with tab.page.expect_download() as download_info:
        tab.page.click("button:has-text('Export rules')")
    exported = tmp_path / "rules.json"
    download_info.value.save_as(exported)
    rules = json.loads(exported.read_text())["classes"]
    assert ["Work", "Programming"] in [c["name"] for c in rules]
    # ActivityWatch's own export shape: {"categories": [...]}.
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"categories": [
        {"name": ["Deep work"], "rule": {"type": "regex", "regex": "code|vim"}},
        {"name": ["Deep work", "Reading"], "rule": {"type": "regex", "regex": "Wikipedia"}}]}))
    tab.page.set_input_files("#rules-file", str(mine))
    tab.page.get_by_text("Loaded 2 categories from mine.json").wait_for()
    rows = tab.page.locator(".cat-row .cat-name").all_inner_texts()
    assert rows == ["Deep work", "Reading"]
    assert tab.page.is_enabled("#save-rules")


def test_empty_server_explains_what_to_do(browser: Any, server: Server) -> None:
    tab = new_tab(browser, server.url)
    try:
        tab.open("")
        tab.page.get_by_text("No window-watcher data yet").wait_for()
        assert tab.page.title() == "Activity · ActivityWatch"
        tab.page.click("a:has-text('Buckets page')")
        tab.page.get_by_text("No buckets yet.").wait_for()
        tab.shot("empty-server")
        assert tab.errors == []
    finally:
        tab.page.context.close()
