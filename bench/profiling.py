"""Read-only instruments: count the SQL statements and database time of an action, and profile it.

`QueryCounter` listens to a SQLAlchemy engine's cursor events; `profile_text` runs a callable under
pyinstrument and returns the slowest call paths as text, for the report.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

_WORDS = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM)\s+(.*)$", re.IGNORECASE | re.DOTALL)
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


def statement_kind(sql: str) -> str:
    """'SELECT tasks', 'UPDATE process_instances', ...: enough to tell where the queries go."""
    match = _WORDS.match(sql)
    if not match:
        return sql.split(None, 1)[0].upper() if sql.strip() else "?"
    verb, rest = match.group(1).upper(), match.group(2)
    if verb == "SELECT":
        table = _FROM.search(rest)
        return f"SELECT {table.group(1) if table else '(expression)'}"
    table_name = rest.split(None, 1)[0].strip('"')
    return f"{verb.split()[0]} {table_name}"


class QueryCounter:
    """Counts statements (by kind, commits included) and the time spent inside the database driver."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.kinds: Counter[str] = Counter()
        self.kind_seconds: Counter[str] = Counter()
        self.seconds = 0.0
        self.waits = 0  # times the client waited for the database: statements sent alone, plus pipelines
        self._pipeline: Any = None
        self._started: list[tuple[str, float]] = []

    def _before(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        kind = statement_kind(statement)
        self.kinds[kind] += 1
        pipeline = getattr(conn.connection.dbapi_connection, "_pipeline", None)  # psycopg's, while store.writes sends
        if pipeline is None:
            self.waits += 1
        elif pipeline is not self._pipeline:
            self.waits += 1  # a pipeline's statements share one wait
        self._pipeline = pipeline
        self._started.append((kind, time.perf_counter()))

    def _after(self, *_args: Any) -> None:
        if self._started:
            kind, started = self._started.pop()
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.kind_seconds[kind] += elapsed

    def _timed_commit(self, dbapi_connection: Any) -> None:
        start = time.perf_counter()
        try:
            self._do_commit(dbapi_connection)
        finally:
            elapsed = time.perf_counter() - start
            self.kinds["COMMIT"] += 1
            self.kind_seconds["COMMIT"] += elapsed
            self.seconds += elapsed

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        dialect = self.engine.dialect
        self._do_commit = dialect.do_commit
        dialect.do_commit = self._timed_commit  # type: ignore[method-assign]  # an instance attribute, removed on exit
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        del self.engine.dialect.do_commit

    @property
    def total(self) -> int:
        """Statements sent, commits not counted."""
        return sum(n for kind, n in self.kinds.items() if kind != "COMMIT")

    def per_action(self, actions: int) -> dict[str, dict[str, float]]:
        """Statement kind -> how many per action and the ms they take (driver time, round trip included)."""
        return {
            kind: {"count": round(n / actions, 2), "ms": round(self.kind_seconds[kind] * 1000 / actions, 3)}
            for kind, n in self.kinds.most_common()
        }


def profile_text(fn: Callable[[], Any], interval: float = 0.0005) -> str:
    """Run `fn` under pyinstrument; the call tree (time-sorted, small frames folded) as text."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=interval)
    profiler.start()
    try:
        fn()
    finally:
        profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)  # type: ignore[no-any-return]


PROJECT_DIRS = ("engine/", "webui/", "store/", "app.py")
ROOT_PREFIX = str(Path(__file__).resolve().parent.parent) + "/"


def hot_functions(fn: Callable[[], Any], calls: int, limit: int = 15) -> dict[str, list[dict[str, Any]]]:
    """cProfile `fn` (which performs `calls` actions): per action, the project's functions by
    cumulative time, and all functions by own time (ms; cProfile roughly doubles Python-heavy code)."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    rows: list[tuple[str, float, float, int]] = []
    for (filename, line, name), (_cc, ncalls, own, cum, _callers) in pstats.Stats(prof).stats.items():  # type: ignore[attr-defined]
        short = filename.split("site-packages/")[-1].removeprefix(ROOT_PREFIX)
        rows.append((f"{short}:{line}({name})", cum * 1000 / calls, own * 1000 / calls, ncalls))

    def view(items: list[tuple[str, float, float, int]]) -> list[dict[str, Any]]:
        return [{"function": f, "cum_ms": round(c, 2), "own_ms": round(o, 2), "calls": round(n / calls, 1)} for f, c, o, n in items[:limit]]

    project = [r for r in rows if r[0].startswith(PROJECT_DIRS)]
    return {
        "project_by_cumulative": view(sorted(project, key=lambda r: r[1], reverse=True)),
        "all_by_own": view(sorted(rows, key=lambda r: r[2], reverse=True)),
    }
