"""Every query function of aw-core 0.5.18 and of aw-server-rust exists here and takes the
arguments they take; our own extras (more arguments, more functions) are allowed.

aw-core's registry is read from the installed package in the reference venv, with each
parameter's annotation; aw-server-rust cannot be installed here, so its table is written
out from `fill_env` and the argument checks in aw-query/src/functions.rs (v0.14.0).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aw_server.query.functions import FUNCTIONS, QueryFunction
from tests.support.reference import run_in_reference_venv

# name: (fewest, most) arguments; None = any number.
AW_SERVER_RUST: dict[str, tuple[int, int | None]] = {
    "print": (0, None), "query_bucket": (1, 1), "query_bucket_names": (0, 0),
    "sort_by_duration": (1, 1), "sort_by_timestamp": (1, 1), "sum_durations": (1, 1),
    "limit_events": (2, 2), "contains": (2, 2), "flood": (1, 1), "find_bucket": (1, 2),
    "merge_events_by_keys": (2, 2), "chunk_events_by_key": (2, 2),
    "exclude_keyvals": (3, 3), "filter_keyvals": (3, 3), "filter_keyvals_regex": (3, 3),
    "filter_period_intersect": (2, 2), "split_url_events": (1, 1), "concat": (0, None),
    "categorize": (2, 2), "tag": (2, 2), "period_union": (2, 2), "union_no_overlap": (2, 2),
}

# Prints {name: [[parameter, has_default, annotation], ...]} of aw_query's registry,
# without the datastore and namespace its decorator injects.
_AW_CORE_SIGNATURES = """
import inspect, json
from aw_query.functions import functions
out = {}
for name, function in functions.items():
    out[name] = [
        [p.name, p.default is not inspect.Parameter.empty, str(p.annotation)]
        for p in inspect.signature(function).parameters.values()
        if p.name not in ("datastore", "namespace")
    ]
print(json.dumps(out))
"""

# A value of each annotated type (found in the annotation's text, so `Optional[str]`
# counts as str), to check that our parameter in the same place accepts it.
_SAMPLES: dict[str, Any] = {"list": [], "str": "x", "int": 1, "float": 1.5}


def _refuses(function: QueryFunction, index: int, annotation: str) -> bool:
    param = function.params[index] if index < len(function.params) else function.variadic
    samples = [value for name, value in _SAMPLES.items() if name in annotation]
    return param is None or any(not param.type.accepts(value) for value in samples)


def _arity_gaps(function: QueryFunction | None, fewest: int, most: int | None) -> list[int]:
    """Argument counts the reference accepts and ours refuses (up to 5 for 'any')."""
    if function is None:
        return [fewest]
    top = most if most is not None else fewest + 5
    return [count for count in range(fewest, top + 1) if not function.accepts(count)]


def test_every_aw_server_rust_function_takes_its_arguments_here() -> None:
    problems = {name: _arity_gaps(FUNCTIONS.get(name), *arity)
                for name, arity in AW_SERVER_RUST.items()}
    assert {name: gaps for name, gaps in problems.items() if gaps} == {}


def test_every_aw_core_function_takes_its_arguments_here(reference_venv: Path) -> None:
    output = run_in_reference_venv(_AW_CORE_SIGNATURES, check=True).stdout
    signatures: dict[str, list[list[Any]]] = json.loads(output)
    assert len(signatures) >= 23  # the registry was read
    problems = {}
    for name, params in signatures.items():
        ours = FUNCTIONS.get(name)
        required = sum(1 for _, has_default, _ in params if not has_default)
        gaps = _arity_gaps(ours, required, len(params))
        refused = [] if ours is None else [
            param for index, (param, _, annotation) in enumerate(params)
            if _refuses(ours, index, annotation)
        ]
        if gaps or refused:
            problems[name] = (gaps, refused)
    assert problems == {}
