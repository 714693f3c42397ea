"""Key-value settings used by web UIs (`classes`, `startOfDay`, `theme`, ...)."""

from __future__ import annotations

from flask import Response

from aw_server.http.routing import Route, api, json_body, json_response


def all_settings() -> Response:
    return json_response(api().get_settings())


def get_setting(key: str) -> Response:
    return json_response(api().get_setting(key))


def set_setting(key: str) -> Response:
    return json_response(api().set_setting(key, json_body()))


def delete_setting(key: str) -> Response:
    api().delete_setting(key)
    return json_response({})


KEY = "/api/0/settings/<string:key>"

ROUTES = [
    Route("/api/0/settings", ("GET",), all_settings, "Every setting", "settings",
          response="Object"),
    Route(KEY, ("GET",), get_setting, "One setting's value (null if unset)", "settings",
          response="Any"),
    Route(KEY, ("POST",), set_setting, "Store any JSON value under the key", "settings",
          body="Any", response="Any"),
    Route(KEY, ("DELETE",), delete_setting, "Remove a setting", "settings"),
]
