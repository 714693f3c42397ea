"""`/api/0/sync/*`: the local control API of device-to-device sync (docs/sync.md §5).

Registered with every other route, so the Host check, the Origin policy and the API key
guard these too. Bodies must be `application/json` (415 otherwise), which a browser page
can only send after a CORS preflight this server never grants to foreign origins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, current_app, request

from aw_server.errors import BadRequest, StorageUnavailable, UnsupportedMediaType
from aw_server.http.routing import Route, json_body, json_response

if TYPE_CHECKING:  # the service needs `cryptography` and `spake2`; the routes do not
    from aw_server.sync.service import SyncService


def _service() -> SyncService:
    loader = current_app.extensions.get("aw_sync")
    service = loader.get() if loader is not None else None
    if service is None:
        raise StorageUnavailable("device sync is not available in this server (see its log)")
    return service


def _body(*, optional: bool = False) -> dict[str, Any]:
    """The JSON object body; `optional` allows no body at all (and then no Content-Type)."""
    if optional and not request.mimetype and not request.get_data(cache=True):
        return {}
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("sync calls take a JSON body (Content-Type: "
                                   "application/json)")
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _opt_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{name}' must be a list of addresses", param=name)
    return value


def _opt_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= 65535:
        raise BadRequest(f"'{name}' must be a port number", param=name)
    return value


def open_pairing() -> Response:
    body = _body()
    ttl = body.get("ttl")
    return json_response(_service().pairing(
        listen=_opt_list(body, "listen"), port=_opt_int(body, "port"),
        ttl=float(ttl) if isinstance(ttl, int | float) else None))


def pair() -> Response:
    body = _body()
    address, code = body.get("address"), body.get("code")
    if not isinstance(code, str):
        raise BadRequest("'code' is required", param="code")
    return json_response(_service().pair(address, code, listen=_opt_list(body, "listen"),  # type: ignore[arg-type]
                                         port=_opt_int(body, "port")))


def discover() -> Response:
    raw = request.args.get("timeout", "2")
    try:
        seconds = min(10.0, max(0.1, float(raw)))
    except ValueError:
        raise BadRequest("'timeout' must be a number of seconds", param="timeout") from None
    return json_response(_service().discover(seconds))


def list_peers() -> Response:
    return json_response(_service().peers())


def sync_now() -> Response:
    body = _body(optional=True)
    device_id = body.get("device_id")
    if device_id is not None and not isinstance(device_id, str):
        raise BadRequest("'device_id' must be a string", param="device_id")
    return json_response(_service().sync_now(device_id, wait=body.get("wait") is True))


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be true or false", param=name)
    return value


def unpair(device_id: str) -> Response:
    body = _body(optional=True)
    return json_response(_service().unpair(device_id, purge=_flag(body, "purge"),
                                           revoke=_flag(body, "revoke")))


def rename_peer(device_id: str) -> Response:
    return json_response(_service().set_label(device_id, _body().get("label")))


def get_listen() -> Response:
    return json_response(_service().listen())


def set_listen() -> Response:
    body = _body()
    return json_response(_service().listen(_opt_list(body, "listen"), _opt_int(body, "port")))


def list_devices() -> Response:
    return json_response(_service().devices())


def list_skipped() -> Response:
    return json_response(_service().skipped())


ROUTES = [
    Route("/api/0/sync/pairing", ("POST",), open_pairing,
          "Open a 5-minute pairing window with a one-time code", "sync",
          statuses={409: "the sync port asked for is in use", 415: "body is not JSON"}),
    Route("/api/0/sync/pair", ("POST",), pair,
          "Pair with the device at 'address' that shows 'code'", "sync",
          statuses={401: "wrong code", 410: "no pairing window open there",
                    415: "body is not JSON", 502: "the device could not be reached"}),
    Route("/api/0/sync/peers", ("GET",), list_peers,
          "Paired devices: state, last sync, last error, bytes", "sync"),
    Route("/api/0/sync/discover", ("GET",), discover,
          "Devices on the LAN with an open pairing window (needs the zeroconf package)", "sync",
          statuses={503: "zeroconf is not installed"}),
    Route("/api/0/sync/now", ("POST",), sync_now,
          "Sync with every paired device now ('wait': answer each one's result, failures "
          "first)", "sync", statuses={409: "a sync with that device is already running"}),
    Route("/api/0/sync/peers/<string:device_id>", ("DELETE",), unpair,
          "Unpair a device ('purge': also delete its mirrored buckets here; 'revoke': it was "
          "lost or stolen, every device of the group refuses its new data)", "sync",
          statuses={404: "no such paired device"}),
    Route("/api/0/sync/peers/<string:device_id>", ("PUT",), rename_peer,
          "Name a paired device ('label'; empty: hostname and short id)", "sync",
          statuses={404: "no such paired device", 415: "body is not JSON"}),
    Route("/api/0/sync/listen", ("GET",), get_listen,
          "Where the sync listener listens, and the interfaces it may use", "sync"),
    Route("/api/0/sync/listen", ("PUT",), set_listen,
          "Move the sync listener ('listen': addresses, 'port': null keeps it, 0 any free)",
          "sync", statuses={409: "the port is in use by another program",
                            415: "body is not JSON"}),
    Route("/api/0/sync/devices", ("GET",), list_devices,
          "Every device whose data this one holds or knows, by key, and revocations", "sync"),
    Route("/api/0/sync/skipped", ("GET",), list_skipped,
          "Items left out of sync (too large, unusable values), newest first", "sync"),
]
