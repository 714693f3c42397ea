"""`/api/0/devices`: this server and every device whose data sync brought here, by device
id (an addition: ActivityWatch has no such endpoint; docs/api.md, "Devices").

Outside `/api/0/sync/`, so tools and browser extensions that may read buckets may read
this too: it shows what bucket metadata already shows (device ids, hostnames), plus
labels and sync times, and no addresses, keys or pairing codes.
"""

from __future__ import annotations

from flask import Response

from aw_server.devices import list_devices
from aw_server.http.routing import Route, api, json_response


def get_devices() -> Response:
    server = api()
    return json_response(list_devices(server.store, server.info.hostname))


ROUTES = [
    Route("/api/0/devices", ("GET",), get_devices,
          "This device first, then every device known through sync, by device id: label, "
          "hostname, buckets, state, last sync, clock skew", "devices", response="DeviceList"),
]
