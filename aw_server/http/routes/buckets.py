"""`/api/0/info` and bucket metadata: list, get, create, update, delete."""

from __future__ import annotations

from flask import Response

from aw_server.http.routing import Param, Route, api, flag_arg, json_object_body, json_response


def info() -> Response:
    return json_response(api().get_info())


def list_buckets() -> Response:
    return json_response(api().get_buckets())


def get_bucket(bucket_id: str) -> Response:
    return json_response(api().get_bucket(bucket_id))


def create_bucket(bucket_id: str) -> Response:
    api().create_bucket(bucket_id, json_object_body())
    return json_response({})


def update_bucket(bucket_id: str) -> Response:
    api().update_bucket(bucket_id, json_object_body())
    return json_response({})


def delete_bucket(bucket_id: str) -> Response:
    api().delete_bucket(bucket_id, force=flag_arg("force"))
    return json_response({})


BUCKET = "/api/0/buckets/<string:bucket_id>"

ROUTES = [
    Route("/api/0/info", ("GET",), info, "Server name, version, testing mode and device id",
          "info", response="Info"),
    Route("/api/0/buckets/", ("GET",), list_buckets, "Every bucket, keyed by id", "buckets",
          response="BucketMap"),
    Route(BUCKET, ("GET",), get_bucket, "One bucket's metadata", "buckets", response="Bucket",
          statuses={404: "no such bucket"}),
    Route(BUCKET, ("POST",), create_bucket,
          "Create a bucket ('hostname': '!local' means this server's hostname)", "buckets",
          body="BucketCreate", statuses={304: "the bucket already exists",
                                         409: "the id is a sync mirror's (live or deleted)",
                                         413: "its data is above max_event_kb"}),
    Route(BUCKET, ("PUT",), update_bucket, "Change a bucket's type, client, hostname, name or data",
          "buckets", body="BucketUpdate", statuses={404: "no such bucket",
                                                    413: "its data is above max_event_kb"}),
    Route(BUCKET, ("DELETE",), delete_bucket, "Delete a bucket and all its events", "buckets",
          params=(Param("force", "integer", "must be 1 outside testing mode"),),
          statuses={401: "force=1 missing", 404: "no such bucket"}),
]
