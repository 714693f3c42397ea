"""Random queries through the real HTTP endpoint: a result, a 400 (bad query) or a 503
(budget exceeded), never a 500 and never a hang.

tests/aw_server/query already fuzzes `parse` and `run_query` directly; this goes through
what a hostile web page or a buggy client reaches: JSON body, program split over lines,
error mapping, JSON serialisation of whatever the program returns. Two generators:
token soup (mostly syntax errors) and random well-formed ASTs calling every registered
function with random arguments (mostly type errors, some real results).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aw_server.query import describe_functions
from aw_server.serve import Server
from tests.conftest import make_server
from tests.support.client import HttpClient

PERIOD = "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"
FUNCTIONS = sorted(d["name"] for d in describe_functions())
NAMES = ["events", "x", "y", "RETURN", "TIMEINTERVAL", "NAME", "STARTTIME", "nope"]
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(Path(tmp_path_factory.mktemp("query-fuzz")))
    with HttpClient(srv.url) as client:
        client.create_bucket("w")
        response = client.post("/api/0/buckets/w/events", json=[
            {"timestamp": f"2024-01-01T00:{i:02d}:00Z", "duration": 30,
             "data": {"app": f"app{i % 3}", "title": f"t{i}", "url": "https://a.b/c"}}
            for i in range(20)])
        assert response.status_code == 200
    yield srv
    srv.stop()


def check(server: Server, body: object) -> None:
    """The one property: an answer, a client error or a budget refusal, all in JSON."""
    response = requests.post(f"{server.url}/api/0/query/", json=body, timeout=30)
    assert response.status_code in {200, 400, 503}, (body, response.text[:500])
    payload = response.json()
    if response.status_code == 503:
        assert payload["type"] == "QueryTooExpensive", payload
    elif response.status_code == 400:
        assert isinstance(payload["message"], str) and payload["message"]


# --------------------------------------------------------------------------- token soup

TOKENS = st.sampled_from(
    ["x", "events", "RETURN", "=", ";", "(", ")", "[", "]", "{", "}", ",", ":", '"s"',
     '"w"', "'t'", "1", "-1", "2.5", "1e400", "99999999999999999999", "+", "-", "*", "/",
     "%", "==", "<", "if", "elif", "else", "return", "true", "False", "null", "#", "\n",
     '"\\u0000"', '"\\ud800"', "\\", *FUNCTIONS]
)


def test_token_soup_over_http(fuzz_server: Server) -> None:
    @FUZZ
    @given(st.lists(st.lists(TOKENS, max_size=25), min_size=1, max_size=4))
    def run(lines: list[list[str]]) -> None:
        check(fuzz_server, {"timeperiods": [PERIOD], "query": [" ".join(t) for t in lines]})

    run()


# --------------------------------------------------------------------------- random ASTs

LITERALS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).map(repr),
    st.sampled_from(['"w"', '"app"', '"title"', '"status"', '"$category"', '"not-afk"',
                     '"^t1"', '"(?i)APP"', '"["', '""', "true", "false", "True", "None"]),
    st.text(max_size=8).map(json.dumps),
    st.sampled_from(NAMES),
)


def _call(args: list[str], name: str) -> str:
    return f"{name}({', '.join(args)})"


EXPRESSIONS = st.recursive(
    LITERALS,
    lambda inner: st.one_of(
        st.builds(_call, st.lists(inner, max_size=4), st.sampled_from(FUNCTIONS)),
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from(['"a"', '"data"', '"regex"', '"type"']), inner),
                 max_size=3).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%", "==", "<", ">="]), inner)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    ),
    max_leaves=12,
)

STATEMENTS = st.tuples(st.sampled_from(NAMES[:4]), EXPRESSIONS).map(lambda s: f"{s[0]} = {s[1]};")


def test_random_well_formed_programs_over_http(fuzz_server: Server) -> None:
    @FUZZ
    @given(st.booleans(), st.lists(STATEMENTS, max_size=4), EXPRESSIONS)
    def run(load: bool, statements: list[str], result: str) -> None:
        program = (['events = query_bucket("w");'] if load else []) + statements
        check(fuzz_server, {"timeperiods": [PERIOD], "query": [*program, f"RETURN = {result};"]})

    run()


# --------------------------------------------------------------------------- body shapes

BODY_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
              st.just(PERIOD), st.just("RETURN = 1;")),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


def test_random_body_shapes_over_http(fuzz_server: Server) -> None:
    @FUZZ
    @given(st.fixed_dictionaries({}, optional={"timeperiods": BODY_VALUES,
                                               "query": BODY_VALUES}))
    def run(body: dict[str, object]) -> None:
        check(fuzz_server, body)

    run()
