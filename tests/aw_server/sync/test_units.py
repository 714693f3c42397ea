"""Pieces in isolation: sealing, pairing windows on an injected clock, the session lock
behind `sync_now` (409), and the schedule."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from aw_server.datastore.store import Datastore
from aw_server.errors import BadRequest, Conflict, Unauthorized
from aw_server.sync import crypto
from aw_server.sync.pairing import (
    PairingClosed,
    Responder,
    b64,
    finish_initiator,
    normalize_code,
    start_initiator,
)
from aw_server.sync.scheduler import Scheduler
from aw_server.sync.service import SyncService


def test_seal_round_trip_and_every_aad_field_matters() -> None:
    keys_a = crypto.PeerKeys.derive(b"k" * 32, "A", "B")
    keys_b = crypto.PeerKeys.derive(b"k" * 32, "B", "A")
    nonce = crypto.new_nonce()
    fields: tuple[Any, ...] = ("POST", "/sync/v1/pull", "h:1", 5, nonce, "A", "B")
    body = crypto.seal(keys_a.send, nonce, crypto.request_aad(*fields), '{"x": 1}' * 500)
    plain = crypto.open_sealed(keys_b.receive, nonce, crypto.request_aad(*fields), body)
    assert crypto.unpack(plain, 1 << 20) == '{"x": 1}' * 500
    variants = [("GET", *fields[1:]), (fields[0], "/sync/v1/push", *fields[2:]),
                (*fields[:2], "h:2", *fields[3:]), (*fields[:3], 6, *fields[4:]),
                (*fields[:4], crypto.new_nonce(), *fields[5:]), (*fields[:5], "C", "B"),
                (*fields[:6], "C")]
    for changed in variants:
        with pytest.raises(crypto.BadSeal):
            crypto.open_sealed(keys_b.receive, nonce, crypto.request_aad(*changed), body)
    with pytest.raises(crypto.BadSeal):  # the reverse direction's key
        crypto.open_sealed(keys_a.receive, nonce, crypto.request_aad(*fields), body)


def test_a_deflate_bomb_is_refused() -> None:
    import zlib

    bomb = b"\x01" + zlib.compress(b"0" * (10 << 20))
    with pytest.raises(crypto.BadSeal):
        crypto.unpack(bomb, 1 << 20)


KEY_I, KEY_R = b"i" * 32, b"r" * 32


def pair_once(responder: Responder, code: str, device: str = "dev-i") -> Any:
    spake, msg = start_initiator(code)
    answer = responder.handle_pair({"proto": 2, "device_id": device, "name": "i",
                                    "addresses": [], "msg": b64(msg), "key": b64(KEY_I)})
    peer, confirm = finish_initiator(spake, device, "i", msg, KEY_I, answer)
    mine = responder.handle_confirm({"device_id": device, "confirm": b64(confirm)})
    return peer, mine


def test_pairing_agrees_on_key_and_sas() -> None:
    responder = Responder("dev-r", "r", KEY_R)
    window = responder.open()
    peer, mine = pair_once(responder, window.code.lower().replace("-", " "))
    assert peer.key == mine.key and peer.sas == mine.sas and len(peer.sas) == 6
    assert (peer.sign_key, mine.sign_key) == (KEY_R, KEY_I)  # inside the confirmed transcript
    assert peer.device_id == "dev-r" and mine.device_id == "dev-i"
    with pytest.raises(PairingClosed):  # used once: the window is gone
        pair_once(responder, window.code)


def test_expired_window_refuses_the_right_code() -> None:
    now = [1000.0]
    responder = Responder("dev-r", "r", KEY_R, clock=lambda: now[0])
    window = responder.open()
    now[0] += 301
    with pytest.raises(PairingClosed):
        pair_once(responder, window.code)


def test_three_wrong_codes_close_the_window() -> None:
    responder = Responder("dev-r", "r", KEY_R)
    window = responder.open()
    wrong = "AAAAAAAA" if normalize_code(window.code) != "AAAAAAAA" else "BBBBBBBB"
    for _ in range(3):
        with pytest.raises(Unauthorized):
            pair_once(responder, wrong)
    with pytest.raises(PairingClosed):
        pair_once(responder, window.code)


def test_malformed_codes_are_rejected() -> None:
    for code in ("", "abc", "ABCD-EFG!", "ABCDEFGHI"):
        with pytest.raises(BadRequest):
            normalize_code(code)


def test_sync_now_is_409_while_a_session_with_that_peer_runs(tmp_path: Path) -> None:
    store = Datastore(tmp_path / "s.sqlite")
    try:
        store.trust.save_peer("peer-1", "p", b"k" * 32, "127.0.0.1:9", "123456", KEY_I)
        service = SyncService(store, hostname="h", testing=True)
        release, entered = threading.Event(), threading.Event()

        def blocked(device_id: str) -> dict[str, Any]:
            entered.set()
            release.wait(30)
            return {}

        service._run = blocked  # type: ignore[method-assign]
        assert service.sync_now("peer-1") == {"started": ["peer-1"]}
        assert entered.wait(30)
        with pytest.raises(Conflict):
            service.sync_now("peer-1")
        assert service.peers()[0]["running"] is True
        release.set()
        service.stop()
        assert service.sync_now("peer-1", wait=True)["started"] == ["peer-1"]
    finally:
        store.close()


def test_scheduler_syncs_each_peer_and_backs_off_when_unreachable() -> None:
    calls: list[str] = []
    done = threading.Event()

    def sync(device_id: str) -> str:
        calls.append(device_id)
        if len(calls) >= 3:
            done.set()
        return "ok" if device_id == "up" else "unreachable"

    scheduler = Scheduler(lambda: ["up", "down"], sync, interval=0.01)
    scheduler.start()
    try:
        assert done.wait(30)
    finally:
        scheduler.stop()
    assert {"up", "down"} <= set(calls)


def test_backoff_doubles_with_jitter_up_to_its_cap_and_a_success_resets_it() -> None:
    import random

    from aw_server.sync.scheduler import (
        MAX_BACKOFF_S,
        MAX_STUCK_BACKOFF_S,
        OK,
        STUCK,
        UNREACHABLE,
        outcome_of,
    )

    scheduler = Scheduler(lambda: [], lambda _: OK, interval=300, rng=random.Random(7))
    waits = [scheduler.note("p", STUCK) for _ in range(12)]
    bases = [min(MAX_STUCK_BACKOFF_S, 300 * 2**i) for i in range(12)]
    assert all(base / 2 <= wait <= base for wait, base in zip(waits, bases, strict=True))
    assert len({round(w / b, 3) for w, b in zip(waits, bases, strict=True)}) > 6  # jittered
    assert scheduler.note("p", OK) == 300
    assert max(scheduler.note("q", UNREACHABLE) for _ in range(12)) <= MAX_BACKOFF_S
    assert outcome_of(None) == OK and outcome_of("unreachable") == UNREACHABLE
    assert outcome_of("bad_signature") == STUCK and outcome_of("too_large") == STUCK


def test_the_schedule_comes_from_the_constructor(tmp_path: Path) -> None:
    """No interval: only the syncs asked for run (tests, "sync_interval = 0"); an
    interval: a scheduler with it."""
    store = Datastore(tmp_path / "s.sqlite")
    try:
        manual = SyncService(store, hostname="h", interval=None)
        manual.start()
        assert manual._scheduler is None
        manual.stop()
        scheduled = SyncService(store, hostname="h", interval=42.0)
        scheduled.start()
        assert scheduled._scheduler is not None and scheduled._scheduler.interval == 42.0
        scheduled.stop()
    finally:
        store.close()
