"""HTTP through gunicorn (4 workers) on PostgreSQL: completions/s with N concurrent clients.

The instances are started beforehand through the engine; each client thread logs in through the
API, then completes its instances' tasks one after another (`POST /api/v1/tasks/<id>/complete`),
taking the next task id from the instance in the response, as a client program would. Traffic goes
only to 127.0.0.1; every loop is bounded and the server is stopped at the end.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import AGENT, FIVE_STEPS, ROOT, STEPS, CpuMeter, actor, open_tasks, rate, step_data, summary_ms
from engine.process_engine import ProcessEngine
from store.db import Database

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(
    url: str, workers: int, wrap: list[str] | None = None, root: Path | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A gunicorn serving the app on a free local port; `wrap` prefixes the command (e.g. py-spy);
    `root` another checkout of the product to serve (by default this one)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "SCHEDULER_ENABLED": "0",
    }
    command = [
        *(wrap or []),
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        "-w",
        str(workers),
        "-b",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        "app:create_app()",
    ]
    proc = subprocess.Popen(command, cwd=root or ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        server = proc.pid
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            try:
                status, _ = request(http.client.HTTPConnection(HOST, port, timeout=5), "GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz within 30 s")
            time.sleep(0.1)
        if wrap:  # the wrapper's child is gunicorn's master
            server = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
        yield port, proc
    finally:
        if proc.poll() is None:
            os.kill(server, signal.SIGTERM)  # gunicorn's master stops its workers (and a wrapper then ends)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the session created above: this gunicorn and its workers
                proc.wait(timeout=10)


def request(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    return response.status, json.loads(payload) if payload else None


def login(port: int, username: str) -> str:
    status, body = request(
        http.client.HTTPConnection(HOST, port, timeout=30), "POST", "/api/v1/auth/token", {"username": username, "password": "demo"}
    )
    if status != 200:
        raise RuntimeError(f"login as {username} failed: {status} {body}")
    return str(body["token"])


def start_instances(url: str, count: int) -> dict[int, str]:
    """instance id -> its first open task id."""
    engine = ProcessEngine(Database(url))
    try:
        who = actor(engine, AGENT)
        ids = [engine.runtime.start(who, FIVE_STEPS, {}).id for _ in range(count)]
        return open_tasks(engine, ids)
    finally:
        engine.db.dispose()


def measure(url: str, clients: int, instances_per_client: int, workers: int = 4, wrap: list[str] | None = None) -> dict[str, Any]:
    todo = list(start_instances(url, clients * instances_per_client).items())
    with gunicorn(url, workers, wrap) as (port, proc):
        users = ("cs_agent1", "cs_agent2")
        by_user = {u: login(port, u) for u in users}  # a token serves many connections; logins are slow by design (argon2)
        tokens = [by_user[users[i % len(users)]] for i in range(clients)]
        # One request per worker before timing, so that each has loaded the spec into its cache.
        for token in tokens[:workers]:
            request(http.client.HTTPConnection(HOST, port, timeout=30), "GET", "/api/v1/tasks?scope=available&limit=1", token=token)
        latencies: list[list[float]] = [[] for _ in range(clients)]
        errors: list[str] = []
        barrier = threading.Barrier(clients + 1)

        def run(index: int) -> None:
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
            mine = todo[index::clients]
            barrier.wait()
            try:
                for _instance_id, first in mine:
                    task_id: str | None = first
                    for step in range(STEPS):
                        assert task_id is not None
                        start = time.perf_counter()
                        status, body = request(conn, "POST", f"/api/v1/tasks/{task_id}/complete", {"data": step_data(step)}, tokens[index])
                        latencies[index].append(time.perf_counter() - start)
                        if status != 200:
                            raise RuntimeError(f"complete answered {status}: {body}")
                        tasks = body["instance"]["tasks"]
                        task_id = tasks[0]["id"] if tasks else None
            except Exception as exc:  # reported below
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                conn.close()

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        meter = CpuMeter(proc.pid)
        meter.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join(timeout=600)
        wall = time.perf_counter() - start
        meter.stop()
    if errors:
        raise RuntimeError(errors[0])
    samples = [s for per in latencies for s in per]
    return {
        "workers": workers,
        "clients": clients,
        "completions": len(samples),
        "complete_per_s": rate(len(samples), wall),
        **summary_ms(samples),
        **meter.per_action_ms(len(samples)),
    }


def anatomy(url: str, instances: int, profile: bool) -> dict[str, Any]:
    """In-process (Flask test client, no gunicorn): SQL statements, database time and wall time per
    `POST /tasks/<id>/complete`, and with `profile` the functions where a request spends its time."""
    from app import create_app
    from bench.profiling import QueryCounter, hot_functions

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SCHEDULER_ENABLED": False})
    engine = app.extensions["crmflow"]
    try:
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": AGENT, "password": "demo"}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        ids = [engine.runtime.start(actor(engine, AGENT), FIVE_STEPS, {}).id for _ in range(instances)]

        def complete_all(step: int) -> None:
            for task_id in open_tasks(engine, ids).values():
                response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": step_data(step)}, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"complete answered {response.status_code}: {response.get_json()}")

        complete_all(0)  # warm
        with QueryCounter(engine.db.engine) as counter:
            start = time.perf_counter()
            complete_all(1)
            wall = time.perf_counter() - start
        result: dict[str, Any] = {
            "queries_per_request": round(counter.total / instances, 1),
            "waits_per_request": round(counter.waits / instances, 1),
            "db_ms_per_request": round(counter.seconds * 1000 / instances, 2),
            "ms_per_request": round(wall * 1000 / instances, 2),
            "statements_per_request": counter.per_action(instances),
        }
        if profile:
            result["profile"] = hot_functions(lambda: complete_all(2), instances)
        return result
    finally:
        engine.db.dispose()


def sampled_profile(url: str, clients: int, instances_per_client: int, out: Path, workers: int = 4) -> dict[str, Any]:
    """The HTTP run again under py-spy (all gunicorn processes sampled); the hottest functions as a
    share of the busy samples: inclusive (anywhere on the stack) and own (top of the stack)."""
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    run = measure(
        url,
        clients,
        instances_per_client,
        workers,
        wrap=[spy, "record", "--subprocesses", "--format", "raw", "--rate", "200", "-o", str(out), "--"],
    )
    for _ in range(100):  # py-spy writes its file after the server has gone
        if out.exists() and out.stat().st_size:
            break
        time.sleep(0.1)
    return {"run_under_profiler": run, **collapsed_summary(out.read_text())}


def collapsed_summary(text: str, limit: int = 25) -> dict[str, Any]:
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].split("site-packages/")[-1] + ")"
            for f in stack.split(";")
            if " (" in f
        ]
        if not frames:
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count

    def top(counts: dict[str, int]) -> list[dict[str, Any]]:
        return [
            {"function": f, "share": round(n / total, 3)} for f, n in sorted(counts.items(), key=lambda kv: kv[1], reverse=True)[:limit]
        ]

    return {"samples": total, "inclusive": top(inclusive), "own": top(own)}
