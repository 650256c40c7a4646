"""Every page at a company's real size (#19): p50/p95 of the pages people open all day, served by
gunicorn -w 4 to 8 users at once, each logged in through the login form, timed by the server
(its Server-Timing header: what the issue's targets are about) and by the client; and the SQL statements
each page sends, counted in-process (Flask's test client) on the same database.

The data is worklist.py's bulk rows (tasks, instances and the history of every instance) and
customers.py's customers and activities; then, through the engine, what needs a real instance
state: a complaint naming the customer with the big timeline (its open task is the task page, and
it makes that customer cs_agent1's to see) and a loop instance with 200 history lines (the
instance page). A page is timed for each of the 8 users it is for: the in-process probe answers
403 or 404 to the others (they are listed in the details); any other answer than 200, in the
probe or over HTTP, is the page's error.
"""

from __future__ import annotations

import http.client
import re
import statistics
import threading
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

from bench import customers, http_bench, worklist
from bench.common import AGENT, LOOP, children_of, open_tasks, pg_dsn, rnd, rss_kib, summary_ms
from bench.profiling import QueryCounter
from engine.process_engine import ProcessEngine
from processes import demo

USERS = ("admin", "gm", "cs_sup", "cs_agent1", "cs_agent2", "sales_dir", "sales1", "qa_staff")
WORKERS = 4
ALONE = 5  # requests timed alone per user and page, in-process
WARM = 2  # requests per user before timing: each gunicorn worker has then rendered the page once
INSTANCE_HISTORY = 200
BATCH = 20_000  # instances per COPY
# page name: its path; {task}, {instance} and {customer} are the rows made for it.
PAGES = {
    "worklist_mine": "/tasks",
    "worklist_available": "/tasks?tab=available",
    "worklist_team": "/tasks?tab=team",
    "worklist_started": "/tasks?tab=started",
    "worklist_done": "/tasks?tab=done",
    "worklist_search": "/tasks?" + urlencode({"tab": "available", "q": "宁波海联"}),
    "worklist_filter": "/tasks?tab=available&process=complaint_handling&due=overdue",
    "task": "/tasks/{task}",
    "instance": "/instances/{instance}",
    "start": "/processes",
    "notifications": "/notifications",
    "monitor": "/monitor",
    "report": "/monitor/reports",
    "customers": "/customers",
    "customer": "/customers/{customer}",
}
FLAT_KEYS = tuple(f"page_{kind}_{name}" for kind in ("p95_ms", "statements") for name in PAGES)
# The team tab falls back to "mine" for whoever has nobody reporting to them: timed for superiors only.
SUPERIORS = frozenset(superior for *_rest, superior in demo.USERS.values() if superior)
NOT_THEIRS = (403, 404)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SERVER_TIMING = re.compile(r"\bapp;dur=([0-9.]+)")  # webui.timing's header: the app's own time

# path, form (a POST) or None (a GET) -> status, body
Fetch = Callable[[str, dict[str, str] | None], tuple[int, str]]


# --- the data ---------------------------------------------------------------------------------


def load(engine: ProcessEngine, url: str, task_rows: int, history_rows: int, customer_rows: tuple[int, int]) -> dict[str, Any]:
    """COPY the worklist's rows, every instance's history and the customer file in; then make the
    rows the task, instance and customer pages show. Returns what was loaded and those rows' ids."""
    dsn = pg_dsn(url)
    start = time.perf_counter()
    with engine.db.sessions() as session:
        definition_ids = {key: engine.repository.latest(session, key).id for key in worklist.PROCESSES}
    generator = worklist.Generator(definition_ids)
    instances = task_rows // worklist.TASKS_PER_INSTANCE
    for first in range(0, instances, BATCH):
        worklist.load(dsn, generator.batch(min(BATCH, instances - first)))
    scaled = worklist.scale_up(dsn, generator, instances, history_rows)
    worklist.fill_rollups(dsn)
    with engine.db.transaction() as session:  # fold the load's counter deltas, as worklist.measure does
        engine.counters.catch_up(session)
    customers.load(dsn, *customer_rows)
    with psycopg.connect(dsn, autocommit=True) as conn:  # the COPY gave the ids: the engine's next instance comes after them
        conn.execute("SELECT setval(pg_get_serial_sequence('process_instances', 'id'), (SELECT max(id) FROM process_instances))")
    ids = engine_rows(engine)
    with psycopg.connect(dsn) as conn:
        lines = conn.execute("SELECT count(*) FROM history_events WHERE instance_id = %s", (ids["instance"],)).fetchone()
    return {
        **scaled,
        "customers": customer_rows[0],
        "activities": customer_rows[1],
        "instance_history_lines": lines[0] if lines else None,
        "ids": ids,
        "load_s": rnd(time.perf_counter() - start),
    }


def engine_rows(engine: ProcessEngine) -> dict[str, Any]:
    """A complaint by cs_agent1 naming customer 1 (the 600-entry timeline), and a loop instance
    whose 199 completed rounds give it 200 history lines with one task still open."""
    with engine.db.sessions() as session:
        agent = engine.identity.actor(session, AGENT)
        big = engine.customers.get(session, engine.identity.actor(session, "admin"), 1)
    complaint = engine.runtime.start(agent, "complaint_handling", {"customer": big.name, "category": "quality", "description": "外箱破损"})
    loop = engine.runtime.start(agent, LOOP, {"n": 10 * INSTANCE_HISTORY})
    for _ in range(INSTANCE_HISTORY - 1):
        engine.tasks.complete(agent, open_tasks(engine, [loop.id])[loop.id], {})
    return {"task": open_tasks(engine, [complaint.id])[complaint.id], "instance": loop.id, "customer": big.id}


# --- logging in and fetching pages ---------------------------------------------------------------


def log_in(fetch: Fetch, username: str) -> None:
    """Through the login form, as a browser does: its CSRF token, then the POST (a redirect)."""
    status, html = fetch("/login", None)
    token = CSRF.search(html)
    if status != 200 or token is None:
        raise RuntimeError(f"the login form answered {status} without a CSRF token")
    status, _ = fetch("/login", {"username": username, "password": demo.DEMO_PASSWORD, "csrf_token": token.group(1), "next": ""})
    if status != 302:
        raise RuntimeError(f"login as {username} answered {status}")


class Browser:
    """One user's cookie session against the server over one HTTP connection (reopened whenever
    gunicorn's sync workers close it)."""

    def __init__(self, port: int, username: str) -> None:
        self.username = username
        self.conn = http.client.HTTPConnection(http_bench.HOST, port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.server_s: float | None = None  # the last answer's Server-Timing
        log_in(self.fetch, username)

    def fetch(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request("GET" if form is None else "POST", path, body=None if form is None else urlencode(form), headers=headers)
        response = self.conn.getresponse()
        body = response.read().decode(errors="replace")
        timing = SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
        self.server_s = float(timing.group(1)) / 1000 if timing else None
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
        return response.status, body

    def get(self, path: str) -> None:
        status, _ = self.fetch(path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status} to {self.username}")


def users_of(page: str) -> tuple[str, ...]:
    return tuple(u for u in USERS if page != "worklist_team" or u in SUPERIORS)


# --- statements, in-process ------------------------------------------------------------------------


def probe(url: str, paths: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per page and user, in-process: the answer's status, then on a second request (the first
    warms the caches, as a running server has them) the statements the page sends, its time alone
    and the database's share of it."""
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SCHEDULER_ENABLED": False})
    engine = app.extensions["crmflow"]
    found: dict[str, dict[str, Any]] = {page: {} for page in paths}
    try:
        for username in USERS:
            client = app.test_client()

            def fetch(path: str, form: dict[str, str] | None = None, client: Any = client) -> tuple[int, str]:
                answer = client.get(path) if form is None else client.post(path, data=form)
                return answer.status_code, answer.get_data(as_text=True)

            log_in(fetch, username)
            for page, path in paths.items():
                if username not in users_of(page):
                    continue
                status, _ = fetch(path)
                found[page][username] = {"status": status, "statements": None}
                if status == 200:
                    with QueryCounter(engine.db.engine) as counter:
                        status, _ = fetch(path)
                    found[page][username] = {
                        "status": status,
                        "statements": counter.total,
                        # requests alone, nothing else running (what queueing adds to over HTTP):
                        # the median of a few, as single samples jump (GC, a first use)
                        "alone_ms": rnd(statistics.median(_timed(fetch, path) for _ in range(ALONE)) * 1000),
                        "db_ms": rnd(counter.seconds * 1000),
                    }
    finally:
        engine.db.dispose()
    return found


def _timed(fetch: Fetch, path: str) -> float:
    start = time.perf_counter()
    fetch(path, None)
    return time.perf_counter() - start


# --- time over HTTP --------------------------------------------------------------------------------


def concurrently(browsers: list[Browser], path: str, repeat: int) -> tuple[list[list[float]], list[list[float]], list[str]]:
    """Every browser warms up, then all request the page `repeat` times at once; seconds per
    request as the server timed it (Server-Timing) and as the client waited for it."""
    samples: list[list[float]] = [[] for _ in browsers]
    server: list[list[float]] = [[] for _ in browsers]
    errors: list[str] = []
    barrier = threading.Barrier(len(browsers))

    def run(index: int) -> None:
        browser = browsers[index]
        try:
            for _ in range(WARM):
                browser.get(path)
            barrier.wait()
            for _ in range(repeat):
                start = time.perf_counter()
                browser.get(path)
                samples[index].append(time.perf_counter() - start)
                if browser.server_s is not None:  # a checkout from before webui.timing sends none
                    server[index].append(browser.server_s)
        except threading.BrokenBarrierError:
            pass  # another browser failed first: its error is reported
        except Exception as exc:  # reported by the caller
            errors.append(f"{type(exc).__name__}: {exc}")
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(browsers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return samples, server, errors


def measure(
    engine: ProcessEngine,
    url: str,
    task_rows: int,
    history_rows: int,
    customer_rows: tuple[int, int],
    repeat: int,
    before: Path | None = None,
) -> dict[str, Any]:
    """The pages served by this checkout; with `before` (another checkout of the product, e.g. the
    commit before a change) also by that one, on the same data, first: the README's before column."""
    data = load(engine, url, task_rows, history_rows, customer_rows)
    paths = {page: path.format(**data["ids"]) for page, path in PAGES.items()}
    probed = probe(url, paths)
    result: dict[str, Any] = {"data": data, "workers": WORKERS, "clients": len(USERS), "repeat": repeat}
    if before is not None:
        earlier, _memory = serve(url, paths, probed, repeat, before)
        result["before"] = {"root": str(before), "pages": earlier}
    result["pages"], memory = serve(url, paths, probed, repeat)
    result["worker_rss_mib"] = memory  # each worker's, after every page
    return result


def serve(
    url: str, paths: dict[str, str], probed: dict[str, Any], repeat: int, root: Path | None = None
) -> tuple[dict[str, Any], list[float]]:
    """Every page timed over HTTP from gunicorn -w 4 (serving the checkout at `root`, by default
    this one); and each worker's resident memory after them, MiB."""
    pages: dict[str, Any] = {}
    with http_bench.gunicorn(url, WORKERS, root=root) as (port, proc):
        browsers = {u: Browser(port, u) for u in USERS}  # one after another: logins are slow by design (argon2)
        for page, path in paths.items():
            pages[page] = time_page(path, probed[page], browsers, repeat)
        memory = [kib for pid in children_of(proc.pid) if (kib := rss_kib(pid)) is not None]
    return pages, sorted(round(kib / 1024, 1) for kib in memory)


def time_page(path: str, probed: dict[str, Any], browsers: dict[str, Browser], repeat: int) -> dict[str, Any]:
    """One page for the users it is for: p50/p95 of the server's time (Server-Timing) overall and
    per user, and of the time the clients waited; its statements and its time alone in-process
    (the most of any of its users)."""
    users = [u for u, r in probed.items() if r["status"] == 200]
    failed = [f"{u} answered {r['status']} in-process" for u, r in probed.items() if r["status"] not in (200, *NOT_THEIRS)]
    result: dict[str, Any] = {
        "path": path,
        "not_for": [u for u, r in probed.items() if r["status"] in NOT_THEIRS],
        "statements": max((probed[u]["statements"] for u in users), default=None),
        "alone_ms": max((probed[u]["alone_ms"] for u in users), default=None),
        "p50_ms": None,
        "p95_ms": None,
        "client_p95_ms": None,
        "error": "; ".join(failed) or (None if users else "no user may open it"),
    }
    if result["error"]:
        return result
    waited, server, errors = concurrently([browsers[u] for u in users], path, repeat)
    if errors:
        return {**result, "error": errors[0]}
    client = summary_ms([s for per in waited for s in per])
    result.update(client_p50_ms=client["p50_ms"], client_p95_ms=client["p95_ms"])
    timed = server if all(len(s) == len(w) for s, w in zip(server, waited, strict=True)) else waited
    result.update(summary_ms([s for per in server for s in per]) if timed is server else {})
    result["users"] = {u: {**summary_ms(per), **probed[u]} for u, per in zip(users, timed, strict=True)}
    return result
