"""What every benchmark part shares: timing statistics, fresh databases, a seeded engine.

Nothing here changes the product: the harness drives the engine's public services and reads the
tables directly only where it must (bulk worklist rows, the next open task of an instance).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import secrets
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select

from engine.process_engine import ProcessEngine
from engine.services.identity import Actor
from processes.demo import seed_demo
from store.db import Database
from store.models import Task
from store.schema import upgrade

BENCH_DIR = Path(__file__).parent
ROOT = BENCH_DIR.parent
PG_ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"))
BENCH_FILES = ("five_steps.bpmn", "loop_steps.bpmn", "timer_process.bpmn")
FIVE_STEPS = "bench_five_steps"
LOOP = "bench_loop"
TIMER = "bench_timer"
STEPS = 5
AGENT = "cs_agent1"


def bench_files() -> list[tuple[str, bytes]]:
    return [(name, (BENCH_DIR / name).read_bytes()) for name in BENCH_FILES]


# --- statistics ------------------------------------------------------------------------------


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Nearest-rank percentile (no interpolation): the value below which pct % of samples lie."""
    data = sorted(values)
    if not data:
        return None
    rank = max(1, min(len(data), math.ceil(pct / 100 * len(data))))
    return data[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float | None]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": rnd(percentile(ms, 50)),
        "p95_ms": rnd(percentile(ms, 95)),
        "mean_ms": rnd(statistics.fmean(ms)) if ms else None,
    }


def rate(count: int, seconds: float) -> float | None:
    return rnd(count / seconds) if seconds > 0 and count else None


def rnd(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


class Stopwatch:
    """Sum of timed sections plus each section's duration."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    @contextmanager
    def time(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.samples.append(time.perf_counter() - start)

    @property
    def total(self) -> float:
        return sum(self.samples)


# --- databases ----------------------------------------------------------------------------------


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect(PG_ADMIN_DSN, autocommit=True)


def pg_url(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_DSN)
    return f"postgresql+psycopg://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:{info.get('port', '5432')}/{dbname}"


def pg_dsn(url: str) -> str:
    """The psycopg DSN of a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class Databases:
    """Fresh PostgreSQL databases named crmflow_bench_<pid>_<n>, all dropped by close()."""

    def __init__(self) -> None:
        self.prefix = f"crmflow_bench_{os.getpid()}_{secrets.token_hex(2)}"
        self.created: list[str] = []

    def create(self, label: str, template: str | None = None) -> str:
        name = f"{self.prefix}_{label}"
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.created.append(name)
        return name

    def close(self) -> None:
        with _admin() as conn:
            for name in reversed(self.created):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def postgres_version() -> str | None:
    try:
        with _admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else None
    except psycopg.Error:
        return None


def prepare(url: str) -> ProcessEngine:
    """Migrate, seed the demo organisation and deploy the benchmark processes; returns the engine."""
    upgrade(url)
    engine = ProcessEngine(Database(url))
    seed_demo(engine)
    engine.repository.deploy(bench_files(), "bench")
    return engine


def actor(engine: ProcessEngine, username: str = AGENT) -> Actor:
    with engine.db.sessions() as session:
        return engine.identity.actor(session, username)


def open_tasks(engine: ProcessEngine, instance_ids: list[int]) -> dict[int, str]:
    """instance id -> its open task id (one query for all; the benchmark's bookkeeping, not timed)."""
    found: dict[int, str] = {}
    with engine.db.sessions() as session:
        for chunk in range(0, len(instance_ids), 1000):
            rows = session.execute(
                select(Task.instance_id, Task.id).where(Task.instance_id.in_(instance_ids[chunk : chunk + 1000]), Task.status == "open")
            )
            found.update({iid: tid for iid, tid in rows})
    return found


def warm(engine: ProcessEngine, process_key: str) -> None:
    """Load a process's spec into the engine's cache, as a long-running server has it."""
    with engine.db.sessions() as session:
        definition = engine.repository.latest(session, process_key)
        engine.repository.spec(session, definition.id)


def step_data(step: int) -> dict[str, Any]:
    return {"note": "checked"} if step == 0 else {}


def pg_probe(url: str, rounds: int = 300) -> dict[str, float | None]:
    """This machine's PostgreSQL floor: one round trip, and one single-row insert + durable commit."""
    with psycopg.connect(pg_dsn(url)) as conn:
        conn.execute("CREATE TABLE bench_probe (x int)")
        conn.commit()
        start = time.perf_counter()
        for _ in range(rounds):
            conn.execute("SELECT 1").fetchone()
        roundtrip = (time.perf_counter() - start) / rounds
        start = time.perf_counter()
        for _ in range(rounds):
            conn.execute("INSERT INTO bench_probe VALUES (1)")
            conn.commit()
        commit = (time.perf_counter() - start) / rounds
        conn.execute("DROP TABLE bench_probe")
        conn.commit()
    return {"roundtrip_ms": rnd(roundtrip * 1000, 3), "insert_commit_ms": rnd(commit * 1000, 3)}


# --- CPU accounting (reads /proc; Linux) --------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # utime + stime + cutime + cstime: a backend that ended during the run is counted in its parent
    return sum(int(f) for f in fields[11:15]) / _TICK


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                frontier.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


class CpuMeter:
    """CPU seconds spent between start() and stop() by the app, by PostgreSQL's processes and by the
    clients: where the machine's cores went. The app is the process tree of `app_pid` (gunicorn) or,
    without one, this process and the children it has waited for (engine clients, job workers);
    the clients are then this process."""

    def __init__(self, app_pid: int | None = None) -> None:
        self.app_pid = app_pid
        self.used: dict[str, float] = {}

    def _snapshot(self) -> dict[str, dict[int, float]]:
        groups = {"postgres": {p: _cpu_seconds(p) for p in _pids_named("postgres")}}
        times = os.times()
        if self.app_pid is not None:
            groups["app"] = {p: _cpu_seconds(p) for p in _descendants(self.app_pid)}
            groups["client"] = {os.getpid(): times.user + times.system}
        else:
            groups["app"] = {os.getpid(): times.user + times.system + times.children_user + times.children_system}
        return groups

    def start(self) -> None:
        self._before = self._snapshot()

    def stop(self) -> dict[str, float]:
        after = self._snapshot()
        self.used = {
            group: sum(max(0.0, value - self._before.get(group, {}).get(pid, 0.0)) for pid, value in pids.items())
            for group, pids in after.items()
        }
        return self.used

    def per_action_ms(self, actions: int) -> dict[str, float | None]:
        return {f"cpu_ms_{group}": rnd(seconds * 1000 / actions) for group, seconds in self.used.items()} if actions else {}


# --- concurrent clients ------------------------------------------------------------------------


def _together_entry(work: Callable[..., dict[str, Any]], args: tuple[Any, ...], barrier: Any, queue: Any) -> None:
    try:
        queue.put(work(*args, barrier=barrier))
    except BaseException as exc:  # reported by the parent
        barrier.abort()
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def run_together(work: Callable[..., dict[str, Any]], args_list: list[tuple[Any, ...]], timeout: float = 1800) -> list[dict[str, Any]]:
    """Run `work(*args, barrier=...)` in one forked OS process per args tuple (each builds its own
    engine); `work` waits on the barrier when ready, so the timed phases start together."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(args_list), timeout=120)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_together_entry, args=(work, args, barrier, queue), daemon=True) for args in args_list]
    for p in procs:
        p.start()
    results = [queue.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError("; ".join(errors))
    return results


def children_of(parent: int, among: Iterable[int] | None = None) -> list[int]:
    """The processes whose parent is `parent` (gunicorn's workers under its master), from /proc;
    `among` narrows the search (a network namespace's processes)."""
    pids = among if among is not None else (int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit())
    found = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(pid)
    return found


def rss_kib(pid: int) -> int | None:
    """A process's resident memory in KiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
