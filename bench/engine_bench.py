"""The engine services on a database: starts/s, completions/s with 1 and N clients, latency, growth.

A client is an OS process with its own ProcessEngine (as an app process is): it starts its
instances of the five-step process, then completes their steps breadth-first (one bulk lookup of
the open task ids per round, then one `engine.tasks.complete` per instance). Clients start each
phase together behind a barrier; throughput is all completions over the wall time from the first
client's start to the last client's end.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import (
    AGENT,
    FIVE_STEPS,
    LOOP,
    STEPS,
    CpuMeter,
    actor,
    open_tasks,
    rate,
    rnd,
    run_together,
    step_data,
    summary_ms,
    warm,
)
from bench.profiling import QueryCounter, hot_functions, profile_text
from engine.process_engine import ProcessEngine
from store.db import Database

CLIENT_USERS = ("cs_agent1", "cs_agent2")


def client(url: str, instances: int, username: str, barrier: Any = None) -> dict[str, Any]:
    engine = ProcessEngine(Database(url))
    try:
        who = actor(engine, username)
        warm(engine, FIVE_STEPS)
        if barrier is not None:
            barrier.wait()
        started: list[float] = []
        t0 = time.perf_counter()
        ids = []
        for _ in range(instances):
            s = time.perf_counter()
            ids.append(engine.runtime.start(who, FIVE_STEPS, {}).id)
            started.append(time.perf_counter() - s)
        t1 = time.perf_counter()
        if barrier is not None:
            barrier.wait()
        completed: list[float] = []
        t2 = time.perf_counter()
        for step in range(STEPS):
            for _instance_id, task_id in open_tasks(engine, ids).items():
                s = time.perf_counter()
                engine.tasks.complete(who, task_id, step_data(step))
                completed.append(time.perf_counter() - s)
        t3 = time.perf_counter()
        assert not open_tasks(engine, ids), "instances left with open tasks"
        return {"start": started, "start_span": (t0, t1), "complete": completed, "complete_span": (t2, t3)}
    finally:
        engine.db.dispose()


def run_clients(url: str, clients: int, instances: int) -> dict[str, Any]:
    """`clients` concurrent clients, each starting and completing `instances` instances."""
    meter = CpuMeter()
    meter.start()
    if clients == 1:
        results = [client(url, instances, AGENT)]
    else:
        results = run_together(client, [(url, instances, CLIENT_USERS[i % len(CLIENT_USERS)]) for i in range(clients)], timeout=600)
    meter.stop()  # starts and completions together: per action, not per completion
    start_samples = [s for r in results for s in r["start"]]
    complete_samples = [s for r in results for s in r["complete"]]
    start_wall = max(r["start_span"][1] for r in results) - min(r["start_span"][0] for r in results)
    complete_wall = max(r["complete_span"][1] for r in results) - min(r["complete_span"][0] for r in results)
    start_stats = summary_ms(start_samples)
    return {
        "clients": clients,
        "instances": clients * instances,
        "start_per_s": rate(len(start_samples), start_wall),
        "start_p50_ms": start_stats["p50_ms"],
        "start_p95_ms": start_stats["p95_ms"],
        "complete_per_s": rate(len(complete_samples), complete_wall),
        **summary_ms(complete_samples),
        **meter.per_action_ms(len(start_samples) + len(complete_samples)),
    }


def anatomy(url: str, instances: int, profile: bool) -> dict[str, Any]:
    """One client: SQL statements and database time per completion; optionally where the rest goes."""
    engine = ProcessEngine(Database(url))
    try:
        who = actor(engine)
        warm(engine, FIVE_STEPS)
        ids = [engine.runtime.start(who, FIVE_STEPS, {}).id for _ in range(instances)]
        todo = open_tasks(engine, ids)
        first = list(todo.values())

        def complete_first_steps() -> None:
            for task_id in first:
                engine.tasks.complete(who, task_id, step_data(0))

        with QueryCounter(engine.db.engine) as counter:
            start = time.perf_counter()
            complete_first_steps()
            wall = time.perf_counter() - start
        result: dict[str, Any] = {
            "queries_per_complete": rnd(counter.total / len(first), 1),
            "waits_per_complete": rnd(counter.waits / len(first), 1),
            "db_ms_per_complete": rnd(counter.seconds * 1000 / len(first)),
            "ms_per_complete": rnd(wall * 1000 / len(first)),
            "statements_per_complete": counter.per_action(len(first)),
        }
        if profile:
            second = list(open_tasks(engine, ids).values())
            result["profile"] = hot_functions(lambda: [engine.tasks.complete(who, t, {}) for t in second], len(second))
            third = list(open_tasks(engine, ids).values())
            result["pyinstrument"] = profile_text(lambda: [engine.tasks.complete(who, t, {}) for t in third])
        return result
    finally:
        engine.db.dispose()


def growth(url: str, rounds: int, window: int = 10) -> dict[str, Any]:
    """Complete the loop process's user task `rounds` times in one instance; compare the mean cost
    of completions around round `window` and around round `rounds`."""
    engine = ProcessEngine(Database(url))
    try:
        who = actor(engine)
        warm(engine, LOOP)
        instance = engine.runtime.start(who, LOOP, {"n": rounds})
        costs: list[float] = []
        sizes: dict[int, int] = {}
        while True:
            task_id = open_tasks(engine, [instance.id]).get(instance.id)
            if task_id is None:
                break
            start = time.perf_counter()
            instance = engine.tasks.complete(who, task_id, {})
            costs.append(time.perf_counter() - start)
            if len(costs) in (window, rounds // 2, rounds):
                sizes[len(costs)] = len(instance.state)
        done = len(costs)
        sizes[done] = len(instance.state)
        result: dict[str, Any] = {
            "rounds": rounds,
            "completed_rounds": done,
            "final_status": instance.status,
            "final_count": (instance.data or {}).get("count"),
            "state_bytes": sizes,
        }
        half = max(1, window // 2)
        early = costs[window - half : window + half]
        result["early_ms"] = rnd(sum(early) / len(early) * 1000) if early else None
        if done < rounds or (instance.data or {}).get("count") != rounds:
            result["error"] = (
                f"the loop ended after {done} of {rounds} rounds with status '{instance.status}' and count="
                f"{(instance.data or {}).get('count')} (expected {rounds})"
            )
            late = costs[max(0, done - 2 * half - 1) : done - 1]  # the last completion ends the process
            result["last_reached_ms"] = rnd(sum(late) / len(late) * 1000) if late else None
            result["ratio_at_last_reached"] = rnd(sum(late) / sum(early) * len(early) / len(late)) if late and early else None
            result["ratio"] = None
            return result
        late = costs[rounds - 2 * half - 1 : rounds - 1]
        result["late_ms"] = rnd(sum(late) / len(late) * 1000)
        result["ratio"] = rnd(result["late_ms"] / result["early_ms"])
        return result
    finally:
        engine.db.dispose()
