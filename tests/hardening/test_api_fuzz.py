"""Schema-driven fuzzing of the whole API from its own OpenAPI document (schemathesis):
no input may produce a 500 or hang the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from aw_server.serve import Server
from tests.conftest import make_server
from tests.support.client import HttpClient


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(Path(tmp_path_factory.mktemp("fuzz")))
    with HttpClient(srv.url) as http:
        http.create_bucket("b")
        http.post("/api/0/buckets/b/events", json=[
            {"timestamp": f"2024-01-01T00:00:{i:02d}Z", "duration": 1, "data": {"app": "x"}}
            for i in range(20)])
    yield srv
    srv.stop()


def operations(server: Server) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(server.url + "/api/0/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_no_input_causes_a_server_error(fuzz_server: Server) -> None:
    """Every operation of the document, with inputs generated from its schema."""
    ops = operations(fuzz_server)
    assert len(ops) >= 15
    for operation in ops:
        check_operation(operation)


def check_operation(operation: schemathesis.APIOperation) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        response = case.call(timeout=20)
        assert response.status_code < 500, (case.method, case.formatted_path,
                                             response.text[:500])
        if response.status_code >= 400 and response.content:
            assert "message" in response.json(), response.text[:200]

    run()
