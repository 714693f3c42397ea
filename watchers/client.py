"""The HTTP client the watchers use: pre-merge, persist, then deliver, never drop.

The watcher thread calls `heartbeat()`, which only touches the on-disk queue (no
network, so a hung server never stalls observation). A sender thread drains the queue
in order and deletes an item only once the server acknowledged it:

| server says                      | what happens                                           |
|----------------------------------|--------------------------------------------------------|
| 2xx                              | item removed                                           |
| connection error, timeout, 5xx   | item kept, retried with backoff; buckets re-created    |
|                                  | before the next send once the server is reachable      |
| 404 (bucket gone, e.g. DB reset) | buckets re-created, item retried; a second 404 → dead  |
| 401/403 (wrong API key)          | item kept, error logged, retried at the backoff cap    |
| 408/429                          | item kept, retried with backoff                        |
| any other 4xx                    | logged loudly with the body, item → `dead_letter`      |

That fixes aw-client's RequestQueue, which drops an item on any HTTP error or
connection refusal, so a server restart loses the heartbeats sent meanwhile.
Re-sending an item whose acknowledgement was lost is harmless: a heartbeat equal to
the bucket's last event merges into it without changing it, so delivery is
exactly-once in effect.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Any

from watchers.config import ClientSettings, data_dir
from watchers.heartbeat import Clock, Event, SystemClock, backoff_delay, premerge, s_to_us
from watchers.queue import HeartbeatQueue, QueueItem
from watchers.transport import Connection, Reply, TransportError

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
UNREACHABLE_LOG_INTERVAL = 60.0


def queue_path(client_name: str, testing: bool) -> str:
    """One queue per watcher and mode, beside aw-client's own `queued/` files."""
    suffix = "-testing" if testing else ""
    return os.path.join(data_dir("aw-client"), "queued", f"{client_name}{suffix}.sqlite")


class RateLimiter:
    """True at most once per `interval` seconds: keeps a long outage to one line a minute."""

    def __init__(self, interval: float, clock: Clock) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None

    def ready(self) -> bool:
        now = self._clock.monotonic()
        if self._last is None or now - self._last >= self.interval:
            self._last = now
            return True
        return False

    def reset(self) -> None:
        self._last = None


class Outcome(Enum):
    """What the sender does with an item after one attempt."""

    DONE = "done"
    RETRY = "retry"  # server unreachable or failing: back off, keep the item
    AUTH = "auth"  # server refuses our credentials: back off at the cap, keep the item
    MISSING_BUCKET = "missing_bucket"  # re-create buckets, then retry once
    DEAD = "dead"  # the server will never accept this item


def classify(status: int) -> Outcome:
    """Map an HTTP status of a heartbeat POST to what the queue does with the item."""
    if 200 <= status < 300:
        return Outcome.DONE
    if status in (401, 403):
        return Outcome.AUTH
    if status == 404:
        return Outcome.MISSING_BUCKET
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY
    if 400 <= status < 500:
        return Outcome.DEAD
    return Outcome.RETRY  # 1xx/3xx on a POST: not an acknowledgement


class ServerUnavailableError(Exception):
    """The server could not be reached or answered with a retryable status."""


@dataclass(frozen=True)
class BucketSpec:
    id: str
    type: str


class Client:
    """Queue-backed heartbeat client for one watcher (`client_name`).

    `clock` and `sleep` are injectable so backoff and logging can be tested without
    waiting; the queue and the HTTP traffic are always real.
    """

    def __init__(
        self,
        client_name: str,
        settings: ClientSettings,
        queue: HeartbeatQueue,
        *,
        clock: Clock | None = None,
        hostname: str | None = None,
        backoff_cap: float = 5.0,
    ) -> None:
        self.client_name = client_name
        self.settings = settings
        self.queue = queue
        self.hostname = hostname or socket.gethostname()
        self.backoff_cap = backoff_cap
        self._clock: Clock = clock or SystemClock()
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        # One connection per thread that talks to the server: the sender's, and the one
        # the window watcher's privacy refresher reads settings through.
        self._sender_http = Connection(settings.host, settings.port, headers=headers,
                                       connect_timeout=CONNECT_TIMEOUT,
                                       read_timeout=READ_TIMEOUT)
        self._settings_http = Connection(settings.host, settings.port, headers=headers,
                                         connect_timeout=CONNECT_TIMEOUT,
                                         read_timeout=READ_TIMEOUT)
        self._settings_lock = threading.Lock()
        self._buckets: list[BucketSpec] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._unreachable_log = RateLimiter(UNREACHABLE_LOG_INTERVAL, self._clock)
        self._auth_log = RateLimiter(UNREACHABLE_LOG_INTERVAL, self._clock)

    # -- watcher side ------------------------------------------------------------------

    def bucket_id(self) -> str:
        """`<client>_<hostname>`, the id every ActivityWatch watcher uses."""
        return f"{self.client_name}_{self.hostname}"

    def register_bucket(self, bucket_id: str, event_type: str) -> None:
        """Create this bucket whenever the sender (re)connects."""
        self._buckets.append(BucketSpec(bucket_id, event_type))
        self._connected = False

    def heartbeat(self, bucket_id: str, event: Event, pulsetime: float) -> None:
        """Pre-merge `event` and persist the result; never blocks on the network."""
        step = premerge(
            self.queue.pending(bucket_id),
            event,
            s_to_us(pulsetime),
            s_to_us(self.settings.commit_interval),
        )
        self.queue.apply(bucket_id, pulsetime, step)
        if step.send is not None:
            self._wake.set()

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="aw-sender", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> int:
        """Queue the pre-merge cache, try to deliver for up to `timeout` s, then stop.

        Returns how many items are still queued; they stay on disk for the next run.
        """
        self.queue.flush_pending()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._abort.set()
            self._wake.set()
            self._thread.join(CONNECT_TIMEOUT + READ_TIMEOUT)
        left = len(self.queue)
        if left:
            logger.warning("Stopping with %d heartbeats queued; they are sent on next start", left)
        self._sender_http.close()
        with self._settings_lock:
            self._settings_http.close()
        self.queue.close()
        return left

    # -- sender side -------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        pending_404: int | None = None
        while not self._abort.is_set():
            item = self.queue.peek()
            if item is None:
                if self._stop.is_set():
                    return
                self._wake.wait()
                self._wake.clear()
                continue
            try:
                if not self._connected:
                    self._create_buckets()
                    if failures:
                        logger.info("Server reachable again; sending %d queued heartbeats",
                                    len(self.queue))
                    self._connected = True
                    self._unreachable_log.reset()
                outcome, status, body = self._send(item)
            except ServerUnavailableError as exc:
                self._connected = False
                failures += 1
                self._report_unreachable(exc)
                self._pause(backoff_delay(failures, cap=self.backoff_cap))
                continue
            if outcome is Outcome.DONE:
                self.queue.ack(item.id)
                failures = 0
                pending_404 = None
            elif outcome is Outcome.RETRY:
                failures += 1
                self._report_unreachable(ServerUnavailableError(f"HTTP {status}: {body[:200]}"))
                self._pause(backoff_delay(failures, cap=self.backoff_cap))
            elif outcome is Outcome.AUTH:
                failures += 1
                if self._auth_log.ready():
                    logger.error("Server refused our credentials (HTTP %d: %s); %d heartbeats "
                                 "kept in the queue. Check the API key.", status, body[:500],
                                 len(self.queue))
                self._pause(self.backoff_cap)
            elif outcome is Outcome.MISSING_BUCKET and pending_404 != item.id:
                pending_404 = item.id
                self._connected = False
            else:
                logger.error("Server refused heartbeat for %s with HTTP %d: %s — moved to the "
                             "dead-letter table of %s", item.bucket, status, body[:2000],
                             self.queue.path)
                self.queue.dead_letter(item, status, body)
                pending_404 = None

    def _pause(self, seconds: float) -> None:
        """Back off, but stop waiting at once when close() gives up."""
        if self._stop.is_set():
            # Shutting down: keep trying until close()'s deadline, just not in a hot loop.
            seconds = min(seconds, 0.2)
        self._abort.wait(seconds)

    def _report_unreachable(self, exc: Exception) -> None:
        queued = len(self.queue)
        if self._unreachable_log.ready():
            logger.warning("server unreachable, %d heartbeats queued (%s)", queued, exc)

    def _post(self, path: str, payload: Any, params: dict[str, str] | None = None
              ) -> Reply:
        try:
            return self._sender_http.request("POST", f"/api/0/{path}", payload, params)
        except TransportError as exc:
            raise ServerUnavailableError(str(exc)) from exc

    def get_setting(self, key: str) -> Any:
        """One server setting (None when unset); raises ServerUnavailableError."""
        try:
            with self._settings_lock:
                response = self._settings_http.request("GET", f"/api/0/settings/{key}")
        except TransportError as exc:
            raise ServerUnavailableError(str(exc)) from exc
        if response.status != 200:
            raise ServerUnavailableError(f"reading setting {key}: HTTP {response.status}")
        try:
            return response.json()
        except ValueError as exc:
            raise ServerUnavailableError(f"reading setting {key}: {exc}") from exc

    def _create_buckets(self) -> None:
        """POST each bucket: 200 created, 304 already there; both fine."""
        for spec in self._buckets:
            payload = {"client": self.client_name, "type": spec.type, "hostname": self.hostname}
            response = self._post(f"buckets/{spec.id}", payload)
            if response.status in (200, 201, 304):
                continue
            outcome = classify(response.status)
            if outcome in (Outcome.RETRY, Outcome.AUTH):
                raise ServerUnavailableError(
                    f"creating bucket {spec.id}: HTTP {response.status} {response.text[:200]}")
            # The server will never create it; heartbeats will reveal that loudly.
            logger.error("Server refused to create bucket %s: HTTP %d: %s",
                         spec.id, response.status, response.text[:2000])

    def _send(self, item: QueueItem) -> tuple[Outcome, int, str]:
        response = self._post(
            f"buckets/{item.bucket}/heartbeat",
            item.event.to_json(),
            params={"pulsetime": repr(float(item.pulsetime))},
        )
        status = response.status
        outcome = classify(status)
        return outcome, status, "" if outcome is Outcome.DONE else response.text


def open_client(client_name: str, testing: bool, host: str | None, port: int | None) -> Client:
    """The client a watcher's `main` uses: settings from aw-client.toml + flags, its own queue.

    Raises `QueueLockedError` when the same watcher already runs in this mode.
    """
    from watchers.config import load_client_settings

    settings = load_client_settings(testing, host, port)
    queue = HeartbeatQueue(queue_path(client_name, testing))
    return Client(client_name, settings, queue)
