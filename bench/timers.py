"""Timers: N due timer jobs fired by 2 and by 4 OS processes, jobs/s.

The jobs are made the way production makes them: instances of bench/timer_process.bpmn (start ->
a PT1M timer -> end) started through the engine, each leaving one pending timer job. That database
then serves as a template, so every run fires the same N jobs in its own copy. Each worker process
calls `engine.jobs.run_due_jobs(engine, at)` with `at` two minutes ahead (the `jobs run-due --now`
path); jobs/s is the instances the run completed over the wall time of the slowest worker.
"""

from __future__ import annotations

import inspect
import multiprocessing
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bench.common import AGENT, TIMER, CpuMeter, Databases, actor, percentile, pg_url, prepare, rate, rnd, run_together, warm
from bench.profiling import QueryCounter
from engine.clock import utcnow
from engine.process_engine import ProcessEngine
from store.db import Database
from store.models import ProcessInstance


def _start_some(url: str, count: int) -> int:
    engine = ProcessEngine(Database(url))
    try:
        who = actor(engine, AGENT)
        for _ in range(count):
            engine.runtime.start(who, TIMER, {})
        return count
    finally:
        engine.db.dispose()


def make_jobs(url: str, jobs: int, processes: int = 2) -> float:
    """Start `jobs` timer instances with `processes` processes; returns starts/s."""
    ctx = multiprocessing.get_context("fork")
    shares = [jobs // processes + (1 if i < jobs % processes else 0) for i in range(processes)]
    start = time.perf_counter()
    with ctx.Pool(processes) as pool:
        started = sum(pool.starmap(_start_some, [(url, n) for n in shares]))
    return started / (time.perf_counter() - start)


def _fire(url: str, at_iso: str, worker: str, barrier: Any) -> dict[str, Any]:
    from datetime import datetime

    from engine.services import management as jobs_module

    engine = ProcessEngine(Database(url))
    try:
        warm(engine, TIMER)
        params = inspect.signature(jobs_module.run_due_jobs).parameters
        kwargs = {name: worker for name in ("worker", "worker_id") if name in params}
        barrier.wait()
        start = time.perf_counter()
        fired = jobs_module.run_due_jobs(engine, datetime.fromisoformat(at_iso), **kwargs)
        return {"fired": fired, "span": (start, time.perf_counter())}
    finally:
        engine.db.dispose()


def fire(url: str, processes: int) -> dict[str, Any]:
    at = (utcnow() + timedelta(minutes=2)).isoformat()
    meter = CpuMeter()
    meter.start()
    results = run_together(_fire, [(url, at, f"bench-{i}") for i in range(processes)])
    meter.stop()
    wall = max(r["span"][1] for r in results) - min(r["span"][0] for r in results)
    engine = ProcessEngine(Database(url))
    try:
        with engine.db.sessions() as session:
            done = session.scalar(select(func.count()).where(ProcessInstance.process_key == TIMER, ProcessInstance.status == "completed"))
            waiting = session.scalar(select(func.count()).where(ProcessInstance.process_key == TIMER, ProcessInstance.status == "running"))
    finally:
        engine.db.dispose()
    return {
        "processes": processes,
        "fired_reported": sum(r["fired"] for r in results),
        "completed_instances": done,
        "still_waiting": waiting,
        "seconds": round(wall, 2),
        "jobs_per_s": rate(done or 0, wall),
        **meter.per_action_ms(done or 0),
    }


def anatomy(url: str, jobs: int) -> dict[str, Any]:
    """One process firing `jobs` due timers: SQL statements, database time and wall time per job."""
    from engine.services import management as jobs_module

    engine = ProcessEngine(Database(url))
    try:
        warm(engine, TIMER)
        at = utcnow() + timedelta(minutes=2)
        service = getattr(engine, "jobs", None)
        with QueryCounter(engine.db.engine) as counter:
            start = time.perf_counter()
            if service is not None and "limit" in inspect.signature(service.run_due).parameters:
                fired = service.run_due(at, limit=jobs)
            else:
                fired = jobs_module.run_due_jobs(engine, at)
            wall = time.perf_counter() - start
        return {
            "fired": fired,
            "jobs_per_s": rate(fired, wall),
            "queries_per_job": round(counter.total / fired, 1) if fired else None,
            "waits_per_job": round(counter.waits / fired, 1) if fired else None,
            "db_ms_per_job": round(counter.seconds * 1000 / fired, 2) if fired else None,
            "ms_per_job": round(wall * 1000 / fired, 2) if fired else None,
            "statements_per_job": counter.per_action(fired) if fired else {},
        }
    finally:
        engine.db.dispose()


def jobs_page(url: str, repeat: int = 20) -> dict[str, Any]:
    """The monitor's due-jobs list (the 100 soonest and the count per kind) with every timer waiting."""
    engine = ProcessEngine(Database(url))
    try:
        with engine.db.sessions() as session:
            admin = engine.identity.actor(session, "admin")
        samples = []
        for i in range(repeat + 2):
            with engine.db.sessions() as session:
                start = time.perf_counter()
                engine.jobs.upcoming(session, admin)
                engine.jobs.incidents(session, admin)
                if i >= 2:
                    samples.append((time.perf_counter() - start) * 1000)
        return {"p50_ms": rnd(percentile(samples, 50)), "p95_ms": rnd(percentile(samples, 95))}
    finally:
        engine.db.dispose()


def measure(databases: Databases, jobs: int, process_counts: tuple[int, ...]) -> dict[str, Any]:
    template = databases.create("timers")
    url = pg_url(template)
    prepare(url).db.dispose()
    out: dict[str, Any] = {"jobs": jobs, "start_per_s": round(make_jobs(url, jobs), 2)}
    out["jobs_page"] = jobs_page(url)
    for processes in process_counts:
        copy = databases.create(f"timers_{processes}p", template=template)
        out[f"{processes}proc"] = fire(pg_url(copy), processes)
    copy = databases.create("timers_anatomy", template=template)
    out["anatomy_1proc"] = anatomy(pg_url(copy), min(jobs, 200))
    return out
