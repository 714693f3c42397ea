"""Non-API pages: the web UI at `/` (ours, or another build via --webpath), the API
browser at `/api/`, the OpenAPI document, and custom static folders at `/pages/<name>/`.

Files are served with `send_from_directory`, which refuses any path that would leave
its folder (`..`, absolute paths), so a crafted URL cannot read other files.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, send_from_directory

from aw_server.errors import NotFound
from aw_server.http.openapi import build_spec
from aw_server.http.routing import Route, api, json_response

HERE = Path(__file__).parent
DEFAULT_WEB = HERE / "static"
API_BROWSER = HERE / "apibrowser"


def register_pages(app: Flask, routes: list[Route], webpath: Path | None,
                   custom_static: dict[str, Path]) -> None:
    web_root = webpath or DEFAULT_WEB
    spec = build_spec(routes)

    def openapi() -> Response:
        return json_response(spec)

    def api_browser() -> Response:
        return send_from_directory(API_BROWSER, "index.html")

    def api_browser_script() -> Response:
        return send_from_directory(API_BROWSER, "browser.js")

    def web_index() -> Response:
        # The page's first queries come once its modules are loaded (0.2-0.5 s): the
        # query worker starts meanwhile instead of after them.
        api().prepare_queries()
        return send_from_directory(web_root, "index.html")

    def web_file(filename: str) -> Response:
        if filename.startswith("api/"):
            raise NotFound(f"no API endpoint '/{filename}'")
        if (web_root / filename).is_file():
            return send_from_directory(web_root, filename)
        # Single-page apps route on the client: unknown paths without a dot get the app.
        if "." not in filename.rsplit("/", 1)[-1]:
            return send_from_directory(web_root, "index.html")
        raise NotFound(f"no file '{filename}'")

    def custom_pages() -> Response:
        return json_response(sorted(custom_static))

    def custom_page(name: str, filename: str = "index.html") -> Response:
        folder = custom_static.get(name)
        if folder is None:
            raise NotFound(f"no custom page named '{name}'")
        return send_from_directory(folder, filename)

    app.add_url_rule("/api/0/openapi.json", "openapi", openapi, methods=["GET"])
    app.add_url_rule("/api/", "api_browser", api_browser, methods=["GET"])
    app.add_url_rule("/api/browser.js", "api_browser_script", api_browser_script,
                     methods=["GET"])
    app.add_url_rule("/", "web_index", web_index, methods=["GET"])
    app.add_url_rule("/<path:filename>", "web_file", web_file, methods=["GET"])
    app.add_url_rule("/pages/", "custom_pages", custom_pages, methods=["GET"])
    app.add_url_rule("/pages/<string:name>/", "custom_page", custom_page, methods=["GET"])
    app.add_url_rule("/pages/<string:name>/<path:filename>", "custom_page_file", custom_page,
                     methods=["GET"])
