"""The "All devices" dashboard in headless Chromium: three real servers (two called
"laptop", using the same bucket ids; one "desktop") with their own apps and overlapping
hours, paired and synced through the real sync API, then the dashboard of the first.
The expected numbers come from the raw events (tests/aw_server/dashboard/devices_fixture.py),
not from the server's query engine. Screenshots go to artifacts/dashboard/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from aw_server.config import ServerConfig
from aw_server.serve import Server
from tests.aw_server.dashboard import devices_fixture
from tests.aw_server.dashboard.conftest import CHROMIUM, Tab, new_tab, open_tab
from tests.aw_server.dashboard.test_dashboard import fmt_duration, stat

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                "(apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

DAY0 = range(0, 1)
BOTH = range(0, 2)
DATE = "2024-03-05"
SKEW_S = -95.0


@dataclass
class Group:
    servers: list[Server]
    ids: list[str]
    expected: devices_fixture.Expected

    @property
    def url(self) -> str:
        return self.servers[0].url


def start(base: Path, name: str, hostname: str) -> Server:
    server = Server(ServerConfig(testing=True, port=0, dbpath=base / f"{name}.sqlite",
                                 hostname=hostname, sync_interval_s=0))
    server.start_in_thread()
    return server


def post(server: Server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{server.url}/api/0{path}", json=body, timeout=120)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def pair_and_sync(a: Server, other: Server, other_id: str) -> None:
    """Pairing through the local sync API of both servers, then one sync started by `a`."""
    window = post(other, "/sync/pairing", {"listen": ["127.0.0.1"], "port": 0})
    post(a, "/sync/pair", {"address": window["addresses"][0], "code": window["code"],
                           "listen": ["127.0.0.1"], "port": 0})
    result = post(a, "/sync/now", {"device_id": other_id, "wait": True})["results"][other_id]
    assert "error" not in result, result


def start_group(base: Path, expected: devices_fixture.Expected) -> Group:
    """A server per device, each loaded with its data; the first paired with and synced
    from every other one."""
    servers: list[Server] = []
    try:
        for i, data in enumerate(expected.devices):
            servers.append(start(base, f"device{i}", data.spec.hostname))
            devices_fixture.load(servers[-1].url, data)
        ids = [requests.get(f"{s.url}/api/0/info", timeout=30).json()["device_id"]
               for s in servers]
        post(servers[0], "/sync/pairing", {"listen": ["127.0.0.1"], "port": 0})
        for other, other_id in zip(servers[1:], ids[1:], strict=True):
            pair_and_sync(servers[0], other, other_id)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return Group(servers, ids, expected)


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    started = start_group(tmp_path_factory.mktemp("all-devices"), devices_fixture.build())
    try:
        # What a session leaves when it measured the desktop's clock 95 s behind.
        started.servers[0].store.trust.record_peer_sync(
            started.ids[2], error=None, nbytes=0, skew=SKEW_S, completed=True)
        yield started
    finally:
        for server in started.servers:
            server.stop()


@pytest.fixture
def tab(browser: Any, group: Group) -> Iterator[Tab]:
    with open_tab(browser, group.url) as t:
        yield t


def then_complete(tab: Tab, action: Callable[[], object]) -> None:
    """Run `action` (a navigation) and wait until the view it mounts is complete. The view
    shown before is marked first: a hash change mounts the new view a moment after `goto`
    or a click returns, and the old one would otherwise still answer as complete."""
    tab.page.evaluate("document.querySelector('.view')?.setAttribute('data-old', '')")
    action()
    tab.page.wait_for_selector(".view:not([data-old])[data-state=complete]", timeout=20_000)


def show(tab: Tab, fragment: str) -> None:
    then_complete(tab, lambda: tab.open(fragment))


def device_rows(tab: Tab) -> dict[str, str]:
    rows = tab.page.locator(".device-totals li")
    return {str(rows.nth(i).get_attribute("data-device")): str(rows.nth(i).inner_text())
            for i in range(rows.count())}


def test_all_devices_is_the_default_and_counts_overlap_once(tab: Tab, group: Group) -> None:
    show(tab, f"#/activity?range=day&date={DATE}")
    assert tab.page.get_attribute("button.all-devices", "aria-pressed") == "true"
    expected = group.expected
    assert expected.overlap(DAY0) > 0  # the fixture is meant to overlap
    assert stat(tab, "active-time") == fmt_duration(expected.combined(DAY0))
    assert stat(tab, "overlap") == fmt_duration(expected.overlap(DAY0))
    assert stat(tab, "top-app") == expected.top_app(DAY0)
    rows = device_rows(tab)
    assert list(rows) == group.ids
    for device_id, data in zip(group.ids, expected.devices, strict=True):
        assert fmt_duration(data.seconds(0)) in rows[device_id]
    assert "clock off by 95 s" in rows[group.ids[2]]
    # Every device's apps are in the one list, each row split by device.
    apps = tab.page.inner_text("section[aria-label='Top applications']")
    for app in ("code", "Slack", "Blender"):
        assert app in apps
    assert tab.page.locator("section[aria-label='Top applications'] .split").count() >= 6
    tab.shot("all-devices-day")


def test_each_device_alone_shows_its_own_numbers(tab: Tab, group: Group) -> None:
    for device_id, data in zip(group.ids, group.expected.devices, strict=True):
        show(tab, f"#/activity?devices={device_id}&range=week&date={DATE}")
        assert stat(tab, "active-time") == fmt_duration(sum(data.seconds(d) for d in BOTH))
        assert stat(tab, "top-app") == data.top_app(BOTH)
        assert tab.page.locator("[data-stat=overlap]").count() == 0
        checked = tab.page.locator(".device-picker input:checked")
        values = [checked.nth(i).get_attribute("value") for i in range(checked.count())]
        assert values == [device_id]


def test_a_subset_and_the_week_add_up_by_the_overlap_rule(tab: Tab, group: Group) -> None:
    laptops = ",".join(group.ids[:2])
    show(tab, f"#/activity?devices={laptops}&range=week&date={DATE}")
    two = devices_fixture.Expected(group.expected.devices[:2])
    assert stat(tab, "active-time") == fmt_duration(two.combined(BOTH))
    assert stat(tab, "overlap") == fmt_duration(two.overlap(BOTH))
    # One stacked bar per day and device with data, a combined mark per active day.
    chart = "section[aria-label='Active time per day']"
    assert tab.page.locator(f"{chart} g.bar-stack").count() == 7
    assert tab.page.locator(f"{chart} line.combined-mark").count() == 2
    then_complete(tab, lambda: tab.page.click("button.all-devices"))
    assert "devices=all" in tab.page.url
    assert stat(tab, "active-time") == fmt_duration(group.expected.combined(BOTH))
    tab.shot("all-devices-week")


def test_open_as_query_reruns_exactly_what_the_view_ran(tab: Tab, group: Group) -> None:
    show(tab, f"#/activity?range=day&date={DATE}")
    then_complete(tab, lambda: tab.page.click("button.open-query"))
    assert "#/query" in tab.page.url
    assert "Error" not in tab.page.inner_text("section[aria-label='Result']")
    params = parse_qs(urlsplit(tab.page.url).fragment.split("?", 1)[1])
    assert params["from"] == params["to"] == [DATE]
    text = tab.page.input_value("#query-text")
    assert text == params["q"][0]
    answer = requests.post(f"{group.url}/api/0/query/", timeout=120, json={
        "query": text.split("\n"),
        "timeperiods": [f"{DATE}T04:00:00+00:00/2024-03-06T04:00:00+00:00"]}).json()
    assert answer[0]["combined"]["duration"] == group.expected.combined(DAY0)


def test_timeline_has_one_lane_per_device_even_with_equal_hostnames(
        tab: Tab, group: Group) -> None:
    show(tab, f"#/timeline?date={DATE}")
    labels = tab.page.locator(".timeline .lane-label").all_text_contents()
    listed = requests.get(f"{group.url}/api/0/devices", timeout=30).json()
    assert labels == [d["label"] for d in listed]
    subs = tab.page.locator(".timeline .lane-sub").all_text_contents()
    assert subs[:2] == ["laptop", "laptop"]
    assert subs[2].startswith("⚠ desktop")  # the skew warning, its text in a <title>
    lanes = tab.page.locator("ul[aria-label='Lanes summary'] li")
    assert [lanes.nth(i).get_attribute("data-lane") for i in range(3)] == group.ids
    assert "clock off by 95 s" in lanes.nth(2).inner_text()
    # Hover the first device's lane at 10:00 (the axis spans 04:00-04:00): its window
    # event in the lane, its AFK status in the strip underneath.
    box = tab.page.locator(".timeline").bounding_box()
    assert box is not None
    x = box["x"] + 190 + (box["width"] - 198) * (6 / 24)
    tooltip = tab.page.locator(".tooltip")
    tab.page.mouse.move(x, box["y"] + 24 + 15)
    tooltip.wait_for(state="visible")
    assert labels[0] in tooltip.inner_text() and "app: " in tooltip.inner_text()
    tab.page.mouse.move(x, box["y"] + 24 + 40 - 6)
    tab.page.wait_for_function(
        "document.querySelector('.tooltip').innerText.includes('status: not-afk')", timeout=5000)
    tab.shot("all-devices-timeline")


def test_a_renamed_host_is_one_device_with_both_histories(
        browser: Any, tmp_path: Path) -> None:
    """The watcher's buckets under the old and the new hostname both count; an imported
    window bucket of another machine does not join them."""
    server = start(tmp_path, "renamed", "newname")
    tab = new_tab(browser, server.url)
    try:
        for bucket_id, start_h in (("aw-watcher-window_oldname", 9),
                                   ("aw-watcher-window_newname", 11),
                                   ("imported-window", 9)):
            post(server, f"/buckets/{bucket_id}", {
                "client": "t", "type": "currentwindow", "hostname": bucket_id.split("_")[-1]})
            response = requests.post(
                f"{server.url}/api/0/buckets/{bucket_id}/events", timeout=30, json=[{
                    "timestamp": f"{DATE}T{start_h:02d}:00:00+00:00", "duration": 3600,
                    "data": {"app": bucket_id, "title": "t"}}])
            assert response.status_code == 200, response.text
        show(tab, f"#/activity?range=day&date={DATE}")
        assert stat(tab, "active-time") == "2h 0m"
        apps = tab.page.inner_text("section[aria-label='Top applications']")
        assert "aw-watcher-window_oldname" in apps and "imported-window" not in apps
        assert tab.errors == []
    finally:
        tab.page.context.close()
        server.stop()


def test_a_device_with_only_afk_data_counts_its_not_afk_time(
        browser: Any, tmp_path: Path) -> None:
    expected = devices_fixture.Expected([devices_fixture.build_device(spec) for spec in (
        devices_fixture.SPECS[2], devices_fixture.AFK_ONLY)])
    pair = start_group(tmp_path, expected)
    tab = new_tab(browser, pair.url)
    try:
        show(tab, f"#/activity?range=day&date={DATE}")
        assert expected.overlap(DAY0) > 0
        assert stat(tab, "active-time") == fmt_duration(expected.combined(DAY0))
        assert stat(tab, "overlap") == fmt_duration(expected.overlap(DAY0))
        assert fmt_duration(3 * 3600) in device_rows(tab)[pair.ids[1]]
        show(tab, f"#/timeline?date={DATE}")
        lanes = tab.page.locator("ul[aria-label='Lanes summary'] li")
        assert "0 events" in lanes.nth(1).inner_text()
        assert "AFK status 3 events" in lanes.nth(1).inner_text()
        assert tab.errors == []
    finally:
        tab.page.context.close()
        for server in pair.servers:
            server.stop()


def test_a_purged_device_is_listed_without_data_and_not_an_error(
        tab: Tab, group: Group) -> None:
    """Last in the module: it deletes the desktop's mirrors on the first server."""
    a, desktop = group.servers[0], group.ids[2]
    response = requests.delete(f"{a.url}/api/0/sync/peers/{desktop}", timeout=60,
                               json={"purge": True})
    assert response.status_code == 200, response.text
    show(tab, f"#/activity?range=day&date={DATE}")
    laptops = devices_fixture.Expected(group.expected.devices[:2])
    assert stat(tab, "active-time") == fmt_duration(laptops.combined(DAY0))
    choice = tab.page.locator(f".device-choice[data-device='{desktop}']")
    assert "data deleted" in choice.inner_text()
    assert choice.locator("input").is_disabled()
    assert list(device_rows(tab)) == group.ids[:2]
    show(tab, f"#/timeline?date={DATE}")
    assert tab.page.locator(".timeline .lane-label").count() == 2
