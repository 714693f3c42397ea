"""What the tray shows and says about sync, driven without a screen between two real
servers paired through the real SyncService (loopback, no background schedule)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from aw_qt.background_call import Notice
from aw_qt.server import ServerHandle, ServerMode
from aw_qt.sync.control import MISSING_PACKAGES, SyncControl, ago, format_sas, window_text
from aw_qt.sync.report import outcomes, peer_name, peer_sort_key
from aw_server.datastore.sync_items import short_device_id
from tests.aw_qt.conftest import Device
from tests.aw_qt.helpers import embedded_server

EVENT = {"timestamp": "2026-11-01T10:00:00+00:00", "duration": 60, "data": {"app": "vim"}}


def pair(a: Device, b: Device) -> dict[str, Any]:
    """a types b's code, as the two halves of the pairing dialog do."""
    window = b.ctl.sync.open_pairing()
    assert window.wait(20) and window.error is None, window.error
    assert window.result is not None
    job = a.ctl.sync.pair(window.result["addresses"][0], window.result["code"].lower())
    assert job.wait(20) and job.error is None, job.error
    assert job.result is not None
    peer: dict[str, Any] = job.result["peer"]
    return peer


def label(device: Device) -> str:
    """How a peer is shown until renamed: its hostname and short device id."""
    return f"{device.name} ({short_device_id(device.device_id)})"


def add_bucket(device: Device, bucket: str) -> None:
    device.server.api.create_bucket(bucket, {"type": "currentwindow", "client": "test",
                                             "hostname": device.name})
    device.server.api.create_events(bucket, [EVENT])


def ticks(device: Device, n: int = 3) -> list[Notice]:
    notices: list[Notice] = []
    device.ctl.notify = notices.append
    for _ in range(n):
        device.ctl.tick()
    return notices


def restart(device: Device, tmp_path: Path) -> None:
    """The same database and sync port, served again (the peer comes back online)."""
    device.server = embedded_server(tmp_path / device.name, device.name)
    service = device.server.sync
    assert service is not None
    deadline = time.monotonic() + 10
    while not service.addresses() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_the_peer_line_shows_the_label_and_the_last_attempt() -> None:
    from aw_qt.sync.control import peer_view

    row = {"device_id": "d" * 36, "name": "laptop", "label": "Work laptop", "state": "active",
           "last_sync": 1000.0, "last_attempt": 1000.0 + 3600, "last_error": "cannot reach it"}
    view = peer_view(row, now=1000.0 + 3660)
    assert view.line == "Work laptop: sync failed: cannot reach it"
    assert view.details[:3] == ("Last synced 1 h ago", "Last attempt 1 min ago",
                                "Last error: cannot reach it")
    row.update(last_attempt=1000.0, last_error="refused the data of device 0f3c: revoked")
    assert peer_view(row, now=1060.0).line == "Work laptop: synced 1 min ago, with an error"
    assert peer_view({"device_id": "e" * 36, "name": "pc"}, now=0).line == "pc: never synced"


def test_ago_is_coarse_and_never_negative() -> None:
    assert [ago(s) for s in (-5, 0, 59, 60, 299, 300, 3599, 3600, 86399, 86400, 3 * 86400)] == [
        "just now", "just now", "just now", "1 min ago", "4 min ago", "5 min ago",
        "59 min ago", "1 h ago", "23 h ago", "1 day ago", "3 days ago"]
    assert format_sas("123456") == "123 456"


def test_pairing_shows_the_code_and_both_sides_get_the_same_confirmation_code(
        devices: tuple[Device, Device]) -> None:
    alpha, beta = devices
    known = beta.ctl.sync.active_ids()
    window = beta.ctl.sync.open_pairing()
    assert window.wait(20) and window.result is not None
    text = window_text(window.result)
    assert window.result["code"] in text and window.result["addresses"][0] in text
    assert "This device is beta" in text
    assert beta.ctl.sync.newly_paired(known) is None
    job = alpha.ctl.sync.pair(window.result["addresses"][0], window.result["code"])
    assert job.wait(20) and job.error is None, job.error
    assert job.result is not None
    theirs = beta.ctl.sync.newly_paired(known)
    assert theirs is not None and theirs.name == label(alpha)
    assert theirs.sas == job.result["peer"]["sas"] and len(theirs.sas) == 6
    assert [p.line for p in alpha.ctl.sync.peers()] == [f"{label(beta)}: never synced"]
    assert f"Confirmation code: {format_sas(theirs.sas)}" in alpha.ctl.sync.peers()[0].details


def test_wrong_code_and_bad_address_are_reported_not_raised(
        devices: tuple[Device, Device]) -> None:
    alpha, beta = devices
    window = beta.ctl.sync.open_pairing()
    assert window.wait(20) and window.result is not None
    wrong = alpha.ctl.sync.pair(window.result["addresses"][0], "AAAA-AAAA")
    nowhere = alpha.ctl.sync.pair("no port here", "AAAA-AAAA")
    assert wrong.wait(20) and nowhere.wait(20)
    assert wrong.result is None and wrong.error and "code" in wrong.error.lower()
    assert nowhere.error is not None and "host:port" in nowhere.error
    assert alpha.ctl.sync.peers() == [] and not alpha.ctl.sync.can_sync_now()


def test_sync_now_runs_in_the_background_and_the_line_says_when(
        devices: tuple[Device, Device]) -> None:
    alpha, beta = devices
    assert not alpha.ctl.sync.can_sync_now()  # nobody to sync with
    pair(alpha, beta)
    add_bucket(beta, "window_beta")
    add_bucket(alpha, "window_alpha")
    assert alpha.ctl.sync.can_sync_now()
    with alpha.server.store.db.write():  # alpha's database is busy: the sync must wait,
        job = alpha.ctl.sync.sync_now()  # and this thread must not
        assert job is not None and not job.finished
        assert alpha.ctl.sync.sync_now_text() == "Syncing…"
        assert not alpha.ctl.sync.can_sync_now() and alpha.ctl.sync.sync_now() is None
    assert job.wait(30) and job.error is None, job.error
    notices = ticks(alpha, 2)
    assert len(notices) == 1 and notices[0].title == "Sync"
    expected = rf"Synced with {re.escape(label(beta))}: [1-9]\d* changes? received, [1-9]\d* sent\."
    assert re.fullmatch(expected, notices[0].text), notices
    assert any(b.startswith("window_beta-synced-from-") for b in alpha.server.store.buckets.ids())
    assert [p.line for p in alpha.ctl.sync.peers()] == [f"{label(beta)}: last synced just now"]
    alpha.ctl.sync.clock = lambda: time.time() + 5 * 60 + 1
    assert [p.line for p in alpha.ctl.sync.peers()] == [f"{label(beta)}: last synced 5 min ago"]
    assert alpha.ctl.sync.sync_now_text() == "Sync now" and alpha.ctl.sync.can_sync_now()


def test_a_failing_sync_is_notified_once_per_error(devices: tuple[Device, Device],
                                                   tmp_path: Path) -> None:
    alpha, beta = devices
    pair(alpha, beta)
    scheduled = alpha.server.sync  # what the 5-minute schedule runs
    assert scheduled is not None
    assert ticks(alpha) == []
    beta.server.stop()
    scheduled.sync_now(wait=True)
    notices = ticks(alpha)
    assert len(notices) == 1 and notices[0].title == "Sync failed"
    assert notices[0].text.startswith(f"Sync with {label(beta)} failed: ")
    line = alpha.ctl.sync.peers()[0].line
    assert line.startswith(f"{label(beta)}: sync failed: ")
    scheduled.sync_now(wait=True)  # the same error again: no second balloon
    assert ticks(alpha) == []
    restart(beta, tmp_path)
    try:
        scheduled.sync_now(wait=True)
        assert ticks(alpha) == []
        assert alpha.ctl.sync.peers()[0].line == f"{label(beta)}: last synced just now"
    finally:
        beta.server.stop()
    scheduled.sync_now(wait=True)  # failing after a success is news again
    assert [n.title for n in ticks(alpha)] == ["Sync failed"]
    job = alpha.ctl.sync.sync_now()  # a manual sync reports its own outcome, once
    assert job is not None and job.wait(30)
    assert [n.title for n in ticks(alpha)] == ["Sync failed"]


def test_errors_from_before_the_start_are_not_announced(devices: tuple[Device, Device]) -> None:
    alpha, beta = devices
    pair(alpha, beta)
    beta.server.stop()
    scheduled = alpha.server.sync
    assert scheduled is not None
    scheduled.sync_now(wait=True)
    fresh = SyncControl.for_server(ServerHandle(ServerMode.EMBEDDED, alpha.server.port,
                                                alpha.server))
    assert fresh.check() == [] and fresh.check() == []
    assert fresh.peers()[0].line.startswith(f"{label(beta)}: sync failed: cannot reach")


def test_unpair_with_purge_removes_the_device_and_its_data(
        devices: tuple[Device, Device]) -> None:
    alpha, beta = devices
    pair(alpha, beta)
    add_bucket(beta, "window_beta")
    job = alpha.ctl.sync.sync_now()
    assert job is not None and job.wait(30)
    mirrors = [b for b in alpha.server.store.buckets.ids() if "-synced-from-" in b]
    assert mirrors
    ticks(alpha)
    unpair = alpha.ctl.sync.unpair(beta.device_id, purge=True)
    assert unpair.wait(30) and unpair.error is None, unpair.error
    assert ticks(alpha) == [
        Notice("Sync", f"Unpaired {label(beta)} and deleted its data on this device.")]
    assert alpha.ctl.sync.peers() == [] and not alpha.ctl.sync.can_sync_now()
    assert not set(mirrors) & set(alpha.server.store.buckets.ids())
    assert [p.line for p in beta.ctl.sync.peers()] == [
        f"{label(alpha)}: {label(alpha)} removed this pairing"]


@pytest.mark.parametrize(("mode", "reason"), [
    (ServerMode.EXTERNAL, "Sync is set up in the server that was already running"),
    (ServerMode.UNAVAILABLE, "Sync is unavailable: the server is not running"),
])
def test_without_our_own_server_sync_says_why(mode: ServerMode, reason: str) -> None:
    handle = ServerHandle(mode, 1)
    try:
        sync = SyncControl.for_server(handle)
    finally:
        handle.stop()
    assert not sync.available and sync.unavailable == reason
    assert sync.peers() == [] and not sync.can_sync_now() and sync.check() == []


def test_a_server_without_the_crypto_packages_says_what_to_install() -> None:
    sync = SyncControl(lambda: None, loaded=lambda: False)  # `Server.sync` when they can't load
    assert sync.unavailable == "" and not sync.loaded()
    assert not sync.available
    assert sync.unavailable == MISSING_PACKAGES == ("Sync is unavailable: install the "
                                                    "cryptography and spake2 packages")
    job = sync.sync_now()
    assert job is not None and job.wait(5) and job.error == MISSING_PACKAGES


def test_nothing_loads_sync_until_it_is_used(tmp_path: Path) -> None:
    server = embedded_server(tmp_path, "gamma")
    try:
        sync = SyncControl.for_server(ServerHandle(ServerMode.EMBEDDED, server.port, server))
        assert sync.check() == [] and not sync.loaded()
        assert sync.peers() == [] and sync.loaded()  # the Sync submenu was opened
    finally:
        server.stop()


def test_devices_are_listed_by_name_whatever_the_pairing_order(
        devices: tuple[Device, Device], gamma: Device) -> None:
    alpha, beta = devices
    pair(alpha, gamma)  # paired first, listed last
    pair(alpha, beta)
    assert [p.name for p in alpha.ctl.sync.peers()] == [label(beta), label(gamma)]


def test_sync_now_with_one_device_down_is_one_notice_with_the_failure_first(
        devices: tuple[Device, Device], gamma: Device) -> None:
    alpha, beta = devices
    pair(alpha, beta)
    pair(alpha, gamma)
    add_bucket(beta, "window_beta")
    gamma.server.stop()  # listed after beta, but its failure comes first
    job = alpha.ctl.sync.sync_now()
    assert job is not None and job.wait(60)
    notices = ticks(alpha)
    assert len(notices) == 1, notices
    assert notices[0].title == "Sync failed with 1 of 2 devices"
    failed, synced = notices[0].text.splitlines()
    assert failed.startswith(f"Sync with {label(gamma)} failed: cannot reach")
    assert re.fullmatch(rf"Synced with {re.escape(label(beta))}: [1-9]\d* changes? received, "
                        r"\d+ sent\.", synced)
    beta.server.stop()  # the schedule's next round fails for both: still one notice
    scheduled = alpha.server.sync
    assert scheduled is not None
    scheduled.sync_now(wait=True)
    later = ticks(alpha)
    assert [n.title for n in later] == ["Sync failed"]  # gamma's error was told already
    assert later[0].text.startswith(f"Sync with {label(beta)} failed: ")


def test_several_devices_failing_together_is_one_notice(
        devices: tuple[Device, Device], gamma: Device) -> None:
    alpha, beta = devices
    pair(alpha, beta)
    pair(alpha, gamma)
    assert ticks(alpha) == []
    beta.server.stop()
    gamma.server.stop()
    scheduled = alpha.server.sync
    assert scheduled is not None
    scheduled.sync_now(wait=True)
    notices = ticks(alpha)
    assert [n.title for n in notices] == ["Sync failed with 2 devices"]
    assert [line.split(" failed")[0] for line in notices[0].text.splitlines()] == [
        f"Sync with {label(beta)}", f"Sync with {label(gamma)}"]


def test_the_order_is_by_label_when_the_status_has_one() -> None:
    rows = [{"device_id": "c" * 32, "name": "zeta", "label": "Office PC"},
            {"device_id": "a" * 32, "name": "alpha"},
            {"device_id": "b" * 32, "name": "beta", "label": "laptop"}]
    assert [peer_name(r) for r in sorted(rows, key=peer_sort_key)] == [
        "alpha", "laptop", "Office PC"]
    assert peer_sort_key({"device_id": "0123456789abcdef", "name": "host"}) == (
        "host 01234567", "0123456789abcdef")
    done = outcomes({"b" * 32: {"pulled_items": 1, "pushed_items": 0},
                     "c" * 32: {"error": "timed out"}}, {r["device_id"]: r for r in rows})
    assert [(o.name, o.error) for o in done] == [("Office PC", "timed out"), ("laptop", "")]
    assert outcomes([{"device_id": "a" * 32, "error": "x"}], {})[0].name == "aaaaaaaa"
