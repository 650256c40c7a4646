"""The soak: `make soak` (not in `make test`), 10 minutes of mixed load against two app hosts.

Two hosts as in tests/hosts (network namespaces, `gunicorn -w 2` with the job ticker each, a
PostgreSQL cluster of the run's own), nine clients starting, reading, claiming and completing
orders and correlating their payment messages, while timers fall due all through the run. No
fault: every request must succeed (no 5xx, no 503, nothing unanswered), the fault tests'
invariants must hold at the end, and the resident memory of each gunicorn worker must stay flat:
its largest sample in the last minute at most 10 % over its sample at the end of the warm-up (the
first fifth of the run, when imports, caches and pools fill). Prints the figures and writes them
as JSON (README "Faults and recovery").

    .venv/bin/python -m tests.hosts.soak [--seconds 600] [--json instance/soak.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import children_of, rss_kib
from tests.hosts.app_hosts import AppHost
from tests.hosts.clients import Client
from tests.hosts.database import PrivatePostgres, binaries
from tests.hosts.network import Network, available
from tests.hosts.scenario import Scenario

NETWORK = 250  # cf250*: apart from the test workers' networks (0..199)
PORT = 55650
HOSTS = 2
SAMPLE_EVERY = 10.0  # seconds between memory samples
GROWTH_BOUND = 1.10


class SoakClient(Client):
    """A client that also reads what a user looks at: a task's form before it, an instance, the
    instance list and its notifications."""

    MIX = ((0.15, "start_one"), (0.27, "pay_one"), (0.45, "read_one"), (1.0, "work_one"))

    def read_one(self) -> None:
        with self.ledger.lock:
            known = sorted(self.ledger.started)[-200:]
        reads = ["/api/v1/process-instances?process_key=host_orders", "/api/v1/notifications", "/api/v1/tasks?scope=mine"]
        if known:
            reads.append(f"/api/v1/process-instances/{self.random.choice(known)}")
        status, payload, _host = self.request("read", "GET", "/api/v1/tasks?scope=available&process_key=host_orders")
        items = payload.get("items", []) if status == 200 and isinstance(payload, dict) else []
        if items:
            reads.append(f"/api/v1/tasks/{self.random.choice(items[:10])['id']}")
        self.request("read", "GET", self.random.choice(reads))


def worker_pids(host: AppHost) -> list[int]:
    """The gunicorn workers of the host: the processes whose parent is its gunicorn master."""
    return children_of(host.proc.pid, among=host.pids()) if host.proc else []


class MemorySampler(threading.Thread):
    """Every SAMPLE_EVERY seconds, each worker's resident memory, by (host, pid)."""

    def __init__(self, hosts: list[AppHost], started: float) -> None:
        super().__init__(daemon=True, name="memory")
        self.hosts, self.started = hosts, started
        self.samples: dict[str, list[tuple[float, int]]] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(SAMPLE_EVERY):
            at = time.monotonic() - self.started
            for host in self.hosts:
                for pid in worker_pids(host):
                    kib = rss_kib(pid)
                    if kib is not None:
                        self.samples.setdefault(f"{host.host.namespace}:{pid}", []).append((at, kib))


def memory_figures(samples: dict[str, list[tuple[float, int]]], warm_until: float, last_from: float) -> dict[str, dict[str, Any]]:
    figures = {}
    for worker, series in sorted(samples.items()):
        warm = [kib for at, kib in series if at <= warm_until]
        last = [kib for at, kib in series if at >= last_from]
        if not warm or not last:
            raise AssertionError(f"worker {worker} was not sampled through the run (replaced by its master?)")
        figures[worker] = {
            "warm_mib": round(warm[-1] / 1024, 1),
            "end_mib": round(max(last) / 1024, 1),
            "growth": round(max(last) / warm[-1], 3),
        }
    return figures


def soak(seconds: float) -> dict[str, Any]:
    missing = available() or (None if binaries() else "PostgreSQL's server binaries are not installed")
    if missing:
        raise SystemExit(f"soak: {missing}")
    with Network(NETWORK, HOSTS) as network, PrivatePostgres(network.gateway, PORT, f"{network.subnet}.0/24") as postgres:
        run = Scenario(network, postgres, "soak", timers=int(seconds * 5))
        try:
            run.schedule_timers(first_due=30, spread=seconds - 30)
            run.start_hosts()
            begun = time.monotonic()
            sampler = MemorySampler(run.hosts, begun)
            sampler.start()
            run.clients = [
                SoakClient(u, "hosts pass", [(h.host.number, h.host.address) for h in run.hosts], run.ledger, run.stop, seed=n)
                for n, u in enumerate(run.users)
            ]
            for client in run.clients:
                client.start()
            time.sleep(seconds)
            sampler.halt.set()
            sampler.join()
            run.stop_clients()
            run.wait_for_timers(120)
            figures = run.check()
            memory = memory_figures(
                sampler.samples, warm_until=max(seconds / 5, 1.5 * SAMPLE_EVERY), last_from=max(seconds - 60, seconds * 0.8)
            )
        finally:
            run.close()
    statuses: Counter[str] = figures.statuses
    errors = {status: n for status, n in statuses.items() if status == "no answer" or int(status) >= 500}
    answered = sorted(o.elapsed for o in run.ledger.outcomes if o.status is not None)
    completions = sorted(o.elapsed for o in run.ledger.outcomes if o.op == "complete" and o.status == 200)
    result = {
        "seconds": seconds,
        "hosts": HOSTS,
        "requests": figures.requests,
        "statuses": dict(sorted(statuses.items())),
        "errors": errors,
        "completions": figures.acknowledged_completions,
        "starts": len(run.ledger.started),
        "messages": len(run.ledger.paid),
        "timers": figures.timers,
        "requests_per_second": round(figures.requests / seconds, 1),
        "answer_p50_ms": round(answered[len(answered) // 2] * 1000, 1),
        "answer_p99_ms": round(answered[int(len(answered) * 0.99)] * 1000, 1),
        "completion_p50_ms": round(completions[len(completions) // 2] * 1000, 1) if completions else None,
        "slowest_answer_s": round(figures.slowest_answer, 2),
        "workers": memory,
        "largest_growth": max(w["growth"] for w in memory.values()),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--json", type=Path, default=Path("instance/soak.json"))
    args = parser.parse_args(argv)
    if args.seconds < 60:
        parser.error("--seconds must be at least 60 (a warm-up and a last minute of memory samples)")
    result = soak(args.seconds)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for key, value in result.items():
        if key != "workers":
            print(f"{key}: {value}")
    for worker, figures in result["workers"].items():
        print(f"worker {worker}: {figures['warm_mib']} MiB after the warm-up, {figures['end_mib']} MiB at the end ({figures['growth']}x)")
    failures = []
    if result["errors"]:
        failures.append(f"errors: {result['errors']}")
    if result["largest_growth"] > GROWTH_BOUND:
        failures.append(f"a worker's memory grew {result['largest_growth']}x (bound {GROWTH_BOUND}x)")
    for failure in failures:
        print(f"soak: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
