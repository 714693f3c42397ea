"""A small HTTP helper for tests: a requests session with the base URL filled in."""

from __future__ import annotations

from typing import Any

import requests


class HttpClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create_bucket(self, bucket_id: str, type_: str = "test", **extra: Any) -> None:
        body = {"client": "tests", "type": type_, "hostname": "testhost", **extra}
        response = self.post(f"/api/0/buckets/{bucket_id}", json=body)
        assert response.status_code == 200, response.text
