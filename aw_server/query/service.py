"""The query service: the one place that parses, answers from the cache, or runs.

A request is checked and parsed here first (a syntax error never reaches a worker),
then every closed past period is looked up in the result cache, and only the periods
the cache cannot answer are run: in the worker process when the service has a pool, in
the caller's thread otherwise. Their results are cached under the change markers they
were computed with, so a write during the query leaves a stale entry, never a wrong one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aw_server.models import US_PER_S, EventSource
from aw_server.query.ast import Program
from aw_server.query.cache import QueryCache
from aw_server.query.limits import DEFAULT_LIMITS, QueryLimits
from aw_server.query.program import Period, parse_request

if TYPE_CHECKING:
    from aw_server.query.execute import PeriodResult
    from aw_server.query.pool import QueryPool

CacheKey = tuple[str, int, int, str]


class QueryService:
    """Runs query2 requests over `source`, through `pool` if one is given.

    Without a pool the service computes in the calling thread (commands, tests); the
    server passes a pool so long queries never hold the interpreter lock its request
    threads need. Either way the same cache and the same checks apply. Without a cache
    nothing is kept (a one-off `run_query` would only pay for sizing its results).
    """

    def __init__(self, source: EventSource, *, pool: QueryPool | None = None,
                 cache: QueryCache | None = None,
                 limits: QueryLimits = DEFAULT_LIMITS) -> None:
        self.source = source
        self.pool = pool
        self.cache = cache
        self.limits = limits

    def query(self, program: Any, timeperiods: Any, *, name: str | None = None
              ) -> list[Any]:
        """One JSON-ready result per time period (events as their wire JSON,
        sum_durations as float seconds); raises the request's QueryError or
        QueryTooExpensive."""
        parsed = parse_request(program, timeperiods)
        if parsed is None:
            return []
        now_us = int(time.time() * US_PER_S)
        cache = self.cache
        # Only closed past periods are cached: an open one still gains events.
        cached_keys: list[CacheKey | None] = [
            (parsed.text, start, end, name or "") if cache is not None and end < now_us
            else None
            for start, end in parsed.periods]
        results: list[Any] = [None] * len(parsed.periods)
        missing: list[int] = []
        for index, key in enumerate(cached_keys):
            hit, cached = (False, None) if key is None or cache is None else cache.get(
                key, self.source)
            if hit:
                results[index] = cached
            else:
                missing.append(index)
        if missing:
            computed = self._run(parsed.tree, [parsed.periods[i] for i in missing], name)
            for index, answer in zip(missing, computed, strict=True):
                results[index] = answer.result
                key = cached_keys[index]
                if key is not None and cache is not None:
                    cache.put(key, answer.markers, answer.bucket_list, answer.result)
        return results

    def _run(self, tree: Program, periods: list[Period], name: str | None
             ) -> list[PeriodResult]:
        if self.pool is None:
            from aw_server.query.execute import execute  # see functions()

            return execute(tree, periods, self.source, name, self.limits)
        return self.pool.run(tree, periods, name, self._markers(), self.limits)

    def _markers(self) -> dict[str, int]:
        """Every bucket's change marker now: the worker reports these as what it read,
        so its results are cached against the state the query started from."""
        return {b.id: self.source.change_marker(b.id) for b in self.source.buckets()}

    def warm_up(self) -> None:
        """Have the worker running before the queries a page is about to send."""
        if self.pool is not None:
            self.pool.warm_up()

    @staticmethod
    def functions() -> list[dict[str, str]]:
        """Every query function with its signature and one-line description, by name.

        The functions (and the transforms and `regex` behind them, ~3 MiB) are imported
        here and in `_run`, not with this module: a server whose queries all run in the
        worker, or that is never asked one, does not carry them."""
        from aw_server.query.functions import FUNCTIONS

        return [
            {"name": f.name, "signature": f.signature, "description": f.description}
            for f in sorted(FUNCTIONS.values(), key=lambda f: f.name)
        ]

    def close(self) -> None:
        """Stop the worker, if any, and let the cache write out its persistent layer
        (before the datastore closes: the layer checkpoints the database's state)."""
        if self.pool is not None:
            self.pool.close()
        if self.cache is not None:
            self.cache.close()
