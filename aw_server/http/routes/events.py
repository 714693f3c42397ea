"""Events of a bucket: range reads, inserts, heartbeats, single-event get and delete."""

from __future__ import annotations

from flask import Response

from aw_server.http.routing import (
    Param,
    Route,
    api,
    float_arg,
    int_arg,
    json_body,
    json_list_response,
    json_response,
    time_arg,
)

BUCKET = "/api/0/buckets/<string:bucket_id>"
RANGE = (
    Param("start", "string", "only events that end at or after this time", format="date-time"),
    Param("end", "string", "only events that start at or before this time", format="date-time"),
)


def get_events(bucket_id: str) -> Response:
    limit = int_arg("limit")
    texts = api().events_json(bucket_id, limit, time_arg("start"), time_arg("end"))
    return json_list_response(texts)


def post_events(bucket_id: str) -> Response:
    inserted = api().create_events(bucket_id, json_body())
    if isinstance(inserted, list):
        return json_response([e.to_json() for e in inserted])
    return json_response(inserted.to_json())


def count_events(bucket_id: str) -> Response:
    return json_response(api().count_events(bucket_id, time_arg("start"), time_arg("end")))


def get_event(bucket_id: str, event_id: int) -> Response:
    return json_response(api().get_event(bucket_id, event_id).to_json())


def delete_event(bucket_id: str, event_id: int) -> Response:
    return json_response({"success": api().delete_event(bucket_id, event_id)})


def heartbeat(bucket_id: str) -> Response:
    pulsetime = float_arg("pulsetime", required=True)
    assert pulsetime is not None
    return json_response(api().heartbeat(bucket_id, json_body(), pulsetime).to_json())


ROUTES = [
    Route(f"{BUCKET}/events", ("GET",), get_events,
          "Events overlapping [start, end], clipped to it, newest first", "events",
          params=(Param("limit", "integer", "at most this many (negative: all)"), *RANGE),
          response="EventList", statuses={404: "no such bucket"}),
    Route(f"{BUCKET}/events", ("POST",), post_events,
          "Insert one event or a list (an event with the id of a stored one replaces it)",
          "events", body="EventOrList",
          statuses={404: "no such bucket", 413: "an event is above max_event_kb"}),
    Route(f"{BUCKET}/events/count", ("GET",), count_events, "How many events overlap the range",
          "events", params=RANGE, response="Integer", statuses={404: "no such bucket"}),
    Route(f"{BUCKET}/events/<int:event_id>", ("GET",), get_event, "One event by id", "events",
          response="Event", statuses={404: "no such bucket or event"}),
    Route(f"{BUCKET}/events/<int:event_id>", ("DELETE",), delete_event, "Delete one event",
          "events", statuses={404: "no such bucket"}),
    Route(f"{BUCKET}/heartbeat", ("POST",), heartbeat,
          "Merge into the newest event if the data match and it is within pulsetime, "
          "else insert", "events",
          params=(Param("pulsetime", "number", "seconds the last event may be extended by",
                        required=True),),
          body="Event", response="Event",
          statuses={404: "no such bucket", 413: "the event is above max_event_kb"}),
]
