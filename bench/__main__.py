"""`python -m bench [--quick] [--json]`: measure CRMFlow's speed against its targets.

The report goes to stdout; with --json its last line is one JSON object of the headline numbers
(every key present: a number, or null with the reason under "errors"). Progress goes to stderr.
The full details (profiles, plans, per-query numbers) are written to --details.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import customers, engine_bench, floor, http_bench, pages, sandbox, timers, worklist
from bench.common import ROOT, Databases, pg_probe, pg_url, postgres_version, prepare, rnd

PARTS = ("floor", "engine", "http", "worklist", "customers", "pages", "growth", "timers", "sandbox")
KEYS = (
    "floor_complete_per_s",
    "floor_serialized_complete_per_s",
    "engine_complete_per_s_sqlite",
    "engine_complete_per_s_pg",
    "engine_complete_per_s_pg_4clients",
    "http_complete_per_s",
    "http_p95_ms",
    "worklist_p95_ms_1m",
    "monitor_p95_ms_1m",
    "search_p95_ms_1m",
    "instance_list_p95_ms_1m",
    "export_p95_ms",
    "jobs_page_p95_ms",
    "customers_list_p95_ms",
    "customers_page_p95_ms",
    "receivables_board_p95_ms",
    "follow_ups_p95_ms",
    "step_cost_ratio_1000_vs_10",
    "engine_pg_vs_floor_plus_commit",
    "timer_jobs_per_s_4proc",
    *pages.FLAT_KEYS,
    "pages_worker_rss_mib_max",
)


@dataclass
class Sizes:
    floor_instances: int
    engine_instances: int  # per run of one client
    engine_instances_4: int  # per client of the 4-client run
    anatomy_instances: int
    http_instances: int  # per client
    worklist_sizes: tuple[int, ...]
    worklist_repeat: int
    growth_rounds: int
    timer_jobs: int
    customers: tuple[int, int] = (100_000, 1_000_000)  # customers, activities (timeline entries)
    monitor_scale: tuple[int, int] = (1_000_000, 10_000_000)  # instances, history rows (#14)
    pages_rows: tuple[int, int] = (1_000_000, 10_000_000)  # task rows (a tenth open), history rows (#19)
    pages_repeat: int = 50  # requests per user and page

    def scaled(self, factor: float) -> Sizes:
        def s(n: int, low: int = 2) -> int:
            return max(low, int(n * factor))

        return Sizes(
            s(self.floor_instances),
            s(self.engine_instances),
            s(self.engine_instances_4),
            s(self.anatomy_instances),
            s(self.http_instances),
            tuple(max(1000, int(n * factor)) for n in self.worklist_sizes),
            s(self.worklist_repeat, 5),
            s(self.growth_rounds, 30),
            s(self.timer_jobs, 20),
            (max(2000, int(self.customers[0] * factor)), max(5000, int(self.customers[1] * factor))),
            (max(5000, int(self.monitor_scale[0] * factor)), max(20_000, int(self.monitor_scale[1] * factor))),
            (max(5000, int(self.pages_rows[0] * factor)), max(10_000, int(self.pages_rows[1] * factor))),
            s(self.pages_repeat, 5),
        )


FULL = Sizes(1000, 200, 100, 50, 50, (10_000, 1_000_000), 50, 1000, 10_000)
QUICK = Sizes(200, 30, 10, 15, 4, (10_000, 50_000), 10, 60, 150, (10_000, 50_000), (20_000, 200_000), (50_000, 100_000), 5)

TARGETS = {
    "engine_pg_vs_floor >= 0.5": ("engine_pg_vs_serialized_floor", lambda v: v >= 0.5),
    "engine_pg_vs_floor_plus_commit >= 0.5": ("engine_pg_vs_floor_plus_commit", lambda v: v >= 0.5),
    "http_complete_per_s >= 300": ("http_complete_per_s", lambda v: v >= 300),
    "http_p95_ms <= 50": ("http_p95_ms", lambda v: v <= 50),
    "worklist_p95_ms_1m <= 20": ("worklist_p95_ms_1m", lambda v: v <= 20),
    "monitor_p95_ms_1m <= 100": ("monitor_p95_ms_1m", lambda v: v <= 100),
    "search_p95_ms_1m <= 100": ("search_p95_ms_1m", lambda v: v <= 100),
    "instance_list_p95_ms_1m <= 100": ("instance_list_p95_ms_1m", lambda v: v <= 100),
    "jobs_page_p95_ms <= 100": ("jobs_page_p95_ms", lambda v: v <= 100),
    "customers_list_p95_ms <= 50": ("customers_list_p95_ms", lambda v: v <= 50),
    "customers_page_p95_ms <= 50": ("customers_page_p95_ms", lambda v: v <= 50),
    "receivables_board_p95_ms <= 50": ("receivables_board_p95_ms", lambda v: v <= 50),
    "follow_ups_p95_ms <= 10": ("follow_ups_p95_ms", lambda v: v <= 10),
    "step_cost_ratio_1000_vs_10 <= 1.5": ("step_cost_ratio_1000_vs_10", lambda v: v <= 1.5),
    "timer_jobs_per_s_4proc >= 500": ("timer_jobs_per_s_4proc", lambda v: v >= 500),
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), None)
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), None
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(int(mem) / 1024 / 1024, 1) if mem else None,
        "python": platform.python_version(),
        "postgresql": postgres_version(),
        "spiffworkflow": version("SpiffWorkflow"),
        "sqlalchemy": version("SQLAlchemy"),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = (QUICK if args.quick else FULL).scaled(args.scale)
        self.parts = set(args.only.split(",")) if args.only else set(PARTS)
        self.postgres = not args.no_postgres
        self.flat: dict[str, Any] = dict.fromkeys(KEYS)
        self.details: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.databases = Databases()
        self.tmp = Path(tempfile.mkdtemp(prefix="crmflow-bench-"))
        self._pg_engine_url: str | None = None

    def part(self, name: str, fn: Callable[[], None]) -> None:
        if name.split(".")[0] not in self.parts:
            return
        log(f"{name} ...")
        start = time.perf_counter()
        try:
            fn()
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            self.details.setdefault("tracebacks", {})[name] = traceback.format_exc()
            log(f"{name} failed: {exc}")
        log(f"{name} done in {time.perf_counter() - start:.1f} s")

    def pg_engine_url(self) -> str:
        """One PostgreSQL database for the engine measurements (engine, growth)."""
        if self._pg_engine_url is None:
            self._pg_engine_url = pg_url(self.databases.create("engine"))
            prepare(self._pg_engine_url).db.dispose()
        return self._pg_engine_url

    # --- parts ------------------------------------------------------------------------------

    def floor(self) -> None:
        result = floor.measure(self.sizes.floor_instances)
        self.details["floor"] = result
        self.flat["floor_start_per_s"] = result["memory"]["start_per_s"]
        self.flat["floor_complete_per_s"] = result["memory"]["complete_per_s"]
        self.flat["floor_serialized_complete_per_s"] = result["instance_only"]["complete_per_s"]
        self.flat["floor_serialized_p50_ms"] = result["instance_only"]["p50_ms"]
        self.flat["floor_serialized_stock_complete_per_s"] = result["stock"]["complete_per_s"]

    def engine(self, database: str) -> None:
        if database == "sqlite":
            url = f"sqlite:///{self.tmp / 'engine.db'}"
            prepare(url).db.dispose()
            suffix = "sqlite"
        else:
            url = self.pg_engine_url()
            suffix = "pg"
            self.details["pg_probe"] = probe = pg_probe(url)
            self.flat["pg_roundtrip_ms"] = probe["roundtrip_ms"]
            self.flat["pg_insert_commit_ms"] = probe["insert_commit_ms"]
        one = engine_bench.run_clients(url, 1, self.sizes.engine_instances)
        four = engine_bench.run_clients(url, 4, self.sizes.engine_instances_4)
        anatomy = engine_bench.anatomy(url, self.sizes.anatomy_instances, self.args.profile)
        self.details[f"engine_{suffix}"] = {"1client": one, "4clients": four, "anatomy": anatomy}
        self.flat[f"engine_start_per_s_{suffix}"] = one["start_per_s"]
        self.flat[f"engine_complete_per_s_{suffix}"] = one["complete_per_s"]
        self.flat[f"engine_p50_ms_{suffix}"] = one["p50_ms"]
        self.flat[f"engine_p95_ms_{suffix}"] = one["p95_ms"]
        self.flat[f"engine_start_per_s_{suffix}_4clients"] = four["start_per_s"]
        self.flat[f"engine_complete_per_s_{suffix}_4clients"] = four["complete_per_s"]
        self.flat[f"engine_p50_ms_{suffix}_4clients"] = four["p50_ms"]
        self.flat[f"engine_p95_ms_{suffix}_4clients"] = four["p95_ms"]
        for key in ("cpu_ms_app", "cpu_ms_postgres"):
            self.flat[f"engine_{key}_per_action_{suffix}_4clients"] = four.get(key)
        self.flat[f"engine_queries_per_complete_{suffix}"] = anatomy["queries_per_complete"]
        self.flat[f"engine_waits_per_complete_{suffix}"] = anatomy["waits_per_complete"]
        self.flat[f"engine_db_ms_per_complete_{suffix}"] = anatomy["db_ms_per_complete"]

    def http(self) -> None:
        url = pg_url(self.databases.create("http"))
        prepare(url).db.dispose()
        result = http_bench.measure(url, 8, self.sizes.http_instances)
        anatomy = http_bench.anatomy(url, self.sizes.anatomy_instances, self.args.profile)
        self.details["http"] = {"8clients": result, "anatomy": anatomy}
        if self.args.profile:
            self.details["http"]["py-spy"] = http_bench.sampled_profile(url, 8, self.sizes.http_instances, self.tmp / "http-py-spy.txt")
        self.flat["http_complete_per_s"] = result["complete_per_s"]
        self.flat["http_p50_ms"] = result["p50_ms"]
        self.flat["http_p95_ms"] = result["p95_ms"]
        self.flat["http_queries_per_complete"] = anatomy["queries_per_request"]
        self.flat["http_waits_per_complete"] = anatomy["waits_per_request"]
        for key in ("cpu_ms_app", "cpu_ms_postgres"):
            self.flat[f"http_{key}_per_complete"] = result.get(key)

    def worklist(self) -> None:
        url = pg_url(self.databases.create("worklist"))
        engine = prepare(url)
        try:
            result = worklist.measure(engine, url, self.sizes.worklist_sizes, self.sizes.worklist_repeat, self.sizes.monitor_scale)
        finally:
            engine.db.dispose()
        self.details["worklist"] = result
        small, large = result[str(self.sizes.worklist_sizes[0])], result[str(self.sizes.worklist_sizes[-1])]
        self.flat["worklist_p50_ms_10k"] = small["p50_ms"]
        self.flat["worklist_p95_ms_10k"] = small["p95_ms"]
        self.flat["worklist_p50_ms_1m"] = large["p50_ms"]
        self.flat["worklist_p95_ms_1m"] = large["p95_ms"]
        self.flat["worklist_large_rows"] = large["task_rows"]
        self.flat["monitor_instances"] = large["scaled"]["instances"]
        self.flat["monitor_history_rows"] = large["scaled"]["history_rows"]
        self.flat["monitor_task_rows"] = large["scaled"]["task_rows"]
        self.flat["worklist_p95_ms_at_monitor_scale"] = large["scaled"]["worklist_p95_ms"]
        self.flat["monitor_p95_ms_1m"] = max(q["p95_ms"] or 0 for q in large["monitor"].values())
        self.flat["monitor_slowest"] = max(large["monitor"], key=lambda k: large["monitor"][k]["p95_ms"] or 0)
        lists = {k: v for k, v in large["search"].items() if k.startswith("list")}
        self.flat["instance_list_p95_ms_1m"] = max(q["p95_ms"] or 0 for q in lists.values())
        self.flat["instance_list_slowest"] = max(lists, key=lambda k: lists[k]["p95_ms"] or 0)
        searches = {k: v for k, v in large["search"].items() if not k.startswith(("export", "list"))}
        self.flat["search_p95_ms_1m"] = max(q["p95_ms"] or 0 for q in searches.values())
        self.flat["search_slowest"] = max(searches, key=lambda k: searches[k]["p95_ms"] or 0)
        self.flat["export_p95_ms"] = large["search"]["export.xlsx:admin"]["p95_ms"]
        self.flat["export_rows"] = large["search"]["export.xlsx:admin"]["total"]

    def customers(self) -> None:
        url = pg_url(self.databases.create("customers"))
        engine = prepare(url)
        try:
            count, activities = self.sizes.customers
            result = customers.measure(engine, url, count, activities, self.sizes.worklist_repeat)
        finally:
            engine.db.dispose()
        self.details["customers"] = result
        self.flat["customers_rows"] = result["customers"]
        self.flat["customers_activities"] = result["activities"]
        self.flat["customers_list_p95_ms"] = result["list_p95_ms"]
        self.flat["customers_page_p95_ms"] = result["page_p95_ms"]
        self.flat["receivables_board_p95_ms"] = result["receivables_p95_ms"]
        self.flat["follow_ups_p95_ms"] = result["follow_ups_p95_ms"]

    def pages(self) -> None:
        url = pg_url(self.databases.create("pages"))
        engine = prepare(url)
        try:
            result = pages.measure(engine, url, *self.sizes.pages_rows, self.sizes.customers, self.sizes.pages_repeat, self.args.before)
        finally:
            engine.db.dispose()
        self.details["pages"] = result
        for name, page in result["pages"].items():
            self.flat[f"page_p95_ms_{name}"] = page["p95_ms"]
            self.flat[f"page_statements_{name}"] = page["statements"]
            if page["error"]:
                self.errors[f"pages.{name}"] = page["error"]
        timed = {name: page["p95_ms"] for name, page in result["pages"].items() if page["p95_ms"] is not None}
        self.flat["pages_slowest"] = max(timed, key=lambda name: timed[name]) if timed else None
        self.flat["pages_worker_rss_mib_max"] = max(result["worker_rss_mib"], default=None)

    def growth(self) -> None:
        url = self.pg_engine_url()
        result = engine_bench.growth(url, self.sizes.growth_rounds)
        library = floor.loop_step_cost(min(self.sizes.growth_rounds, 240))
        self.details["growth"] = {"engine_pg": result, "spiffworkflow_alone_serialized": library}
        self.flat["growth_rounds"] = result["rounds"]
        self.flat["growth_completed_rounds"] = result["completed_rounds"]
        self.flat["step_cost_ratio_1000_vs_10"] = result["ratio"]
        self.flat["step_cost_ratio_at_last_reached"] = result.get("ratio_at_last_reached", result["ratio"])
        self.flat["floor_step_cost_ratio_loop"] = library["ratio"]
        if result.get("error"):
            self.errors["growth"] = result["error"]

    def sandbox(self) -> None:
        result = sandbox.measure(200 if self.args.quick else 1000)
        self.details["sandbox"] = result
        for key in ("trivial_eval_us_p50", "sandbox_eval_ms_p50", "sandbox_eval_ms_p95", "sandbox_vs_trivial", "runaway_stopped_ms"):
            self.flat[key] = result[key]

    def timers(self) -> None:
        result = timers.measure(self.databases, self.sizes.timer_jobs, (2, 4))
        self.details["timers"] = result
        self.flat["timer_jobs"] = result["jobs"]
        self.flat["timer_jobs_per_s_2proc"] = result["2proc"]["jobs_per_s"]
        self.flat["timer_jobs_per_s_4proc"] = result["4proc"]["jobs_per_s"]
        self.flat["jobs_page_p95_ms"] = result["jobs_page"]["p95_ms"]
        for key in ("cpu_ms_app", "cpu_ms_postgres"):
            self.flat[f"timer_{key}_per_job"] = result["4proc"].get(key)
        for n in (2, 4):
            r = result[f"{n}proc"]
            if r["still_waiting"] or r["completed_instances"] != result["jobs"]:
                self.errors[f"timers.{n}proc"] = f"{r['still_waiting']} of {result['jobs']} timers did not fire"

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.details["machine"] = machine()
        try:
            self.part("floor", self.floor)
            self.part("engine.sqlite", lambda: self.engine("sqlite"))
            self.part("sandbox", self.sandbox)
            if self.postgres:
                self.part("engine.pg", lambda: self.engine("pg"))
                self.part("http", self.http)
                self.part("worklist", self.worklist)
                self.part("customers", self.customers)
                self.part("pages", self.pages)
                self.part("growth", self.growth)
                self.part("timers", self.timers)
        finally:
            self.databases.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
        floor_rate = self.flat.get("floor_serialized_complete_per_s")
        engine_rate = self.flat.get("engine_complete_per_s_pg")
        self.flat["engine_pg_vs_serialized_floor"] = rnd(engine_rate / floor_rate, 3) if engine_rate and floor_rate else None
        # #19's restatement: the serialized floor cannot store anything, so the physical floor of a
        # durable completion is that floor's time per completion plus one durable commit.
        commit_ms = self.flat.get("pg_insert_commit_ms")
        if engine_rate and floor_rate and commit_ms:
            floor_plus_commit = 1 / (1 / floor_rate + commit_ms / 1000)
            self.flat["floor_plus_commit_per_s"] = rnd(floor_plus_commit)
            self.flat["engine_pg_vs_floor_plus_commit"] = rnd(engine_rate / floor_plus_commit, 3)
        else:
            self.flat["floor_plus_commit_per_s"] = self.flat["engine_pg_vs_floor_plus_commit"] = None
        sqlite_rate = self.flat.get("engine_complete_per_s_sqlite")
        self.flat["engine_sqlite_vs_serialized_floor"] = rnd(sqlite_rate / floor_rate, 3) if sqlite_rate and floor_rate else None
        self.flat["targets"] = {
            name: (check(self.flat[key]) if self.flat.get(key) is not None else None) for name, (key, check) in TARGETS.items()
        }
        self.flat["quick"] = bool(self.args.quick)
        self.flat["seconds"] = round(time.perf_counter() - started, 1)
        self.details["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        self.flat["machine"] = self.details["machine"]
        self.flat["errors"] = self.errors
        self.details["flat"] = self.flat
        return self.flat


def report(flat: dict[str, Any], details: dict[str, Any]) -> str:
    m = flat["machine"]
    rows = [
        ("Floor: SpiffWorkflow in memory, completions/s", flat.get("floor_complete_per_s")),
        ("Floor: serialize/deserialize per step (instance only), completions/s", flat.get("floor_serialized_complete_per_s")),
        ("Floor: serialize/deserialize per step (stock serializer), completions/s", flat.get("floor_serialized_stock_complete_per_s")),
        ("Engine SQLite: starts/s", flat.get("engine_start_per_s_sqlite")),
        ("Engine SQLite: completions/s, 1 client (p50/p95 ms)", _rate_lat(flat, "engine", "_sqlite")),
        ("Engine SQLite: completions/s, 4 clients (p50/p95 ms)", _rate_lat(flat, "engine", "_sqlite_4clients")),
        ("Engine PostgreSQL: starts/s", flat.get("engine_start_per_s_pg")),
        ("Engine PostgreSQL: completions/s, 1 client (p50/p95 ms)", _rate_lat(flat, "engine", "_pg")),
        ("Engine PostgreSQL: completions/s, 4 clients (p50/p95 ms)", _rate_lat(flat, "engine", "_pg_4clients")),
        ("Engine PostgreSQL / serialized floor", flat.get("engine_pg_vs_serialized_floor")),
        ("Engine PostgreSQL / (serialized floor + one durable commit)", flat.get("engine_pg_vs_floor_plus_commit")),
        ("SQL statements per completion (engine, PostgreSQL)", flat.get("engine_queries_per_complete_pg")),
        ("Waits for the database per completion (engine, PostgreSQL; BEGIN, COMMIT aside)", flat.get("engine_waits_per_complete_pg")),
        ("HTTP gunicorn -w 4, 8 clients: completions/s (p50/p95 ms)", _rate_lat(flat, "http", "")),
        ("SQL statements per HTTP completion", flat.get("http_queries_per_complete")),
        ("Waits for the database per HTTP completion", flat.get("http_waits_per_complete")),
        (
            f"Customer list p95 ms at {flat.get('customers_rows')} customers (first page, search, untouched)",
            flat.get("customers_list_p95_ms"),
        ),
        (
            f"Customer page p95 ms with a 500-entry timeline ({flat.get('customers_activities')} activities)",
            flat.get("customers_page_p95_ms"),
        ),
        ("Receivables board p95 ms (buckets and rows, beside the customer file)", flat.get("receivables_board_p95_ms")),
        ("Follow-ups on the worklist p95 ms (a salesperson's open next steps among 1M activities)", flat.get("follow_ups_p95_ms")),
        ("Worklist p50/p95 ms at 10k task rows", f"{flat.get('worklist_p50_ms_10k')} / {flat.get('worklist_p95_ms_10k')}"),
        (
            f"Worklist p50/p95 ms at {flat.get('worklist_large_rows')} task rows",
            f"{flat.get('worklist_p50_ms_1m')} / {flat.get('worklist_p95_ms_1m')}",
        ),
        (
            f"Monitor p95 ms at {flat.get('monitor_instances')} instances, {flat.get('monitor_history_rows')} history rows"
            f" (slowest: {flat.get('monitor_slowest')})",
            flat.get("monitor_p95_ms_1m"),
        ),
        (
            f"Instance search p95 ms over the API at {flat.get('monitor_instances')} instances (slowest: {flat.get('search_slowest')})",
            flat.get("search_p95_ms_1m"),
        ),
        (
            f"Instance list, first page and total, p95 ms over the API (slowest: {flat.get('instance_list_slowest')})",
            flat.get("instance_list_p95_ms_1m"),
        ),
        (f"Export of a search to XLSX p95 ms ({flat.get('export_rows')} rows)", flat.get("export_p95_ms")),
        (f"Due jobs and incidents page p95 ms ({flat.get('timer_jobs')} timers waiting)", flat.get("jobs_page_p95_ms")),
        (f"Growth: completion cost at round {flat.get('growth_rounds')} / at round 10", flat.get("step_cost_ratio_1000_vs_10")),
        (
            "Growth: rounds reached, cost ratio there (engine; SpiffWorkflow alone)",
            f"{flat.get('growth_completed_rounds')}: {flat.get('step_cost_ratio_at_last_reached')}; {flat.get('floor_step_cost_ratio_loop')}",
        ),
        (
            "Expressions: trivial in the app (µs, p50); sandboxed round trip (ms, p50/p95)",
            f"{flat.get('trivial_eval_us_p50')}; {flat.get('sandbox_eval_ms_p50')} / {flat.get('sandbox_eval_ms_p95')}",
        ),
        ("Expressions: a runaway condition stopped after (ms; the limit is 1000)", flat.get("runaway_stopped_ms")),
        ("Timers: jobs/s with 2 processes", flat.get("timer_jobs_per_s_2proc")),
        ("Timers: jobs/s with 4 processes", flat.get("timer_jobs_per_s_4proc")),
    ]
    lines = [
        f"CRMFlow benchmark ({'quick' if flat['quick'] else 'full'}) — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, PostgreSQL {m['postgresql']}, "
        f"SpiffWorkflow {m['spiffworkflow']}; load average at start {m['load_avg_at_start']}, at end {m.get('load_avg_at_end')}",
        "",
    ]
    width = max(len(r[0]) for r in rows)
    lines += [f"  {label:<{width}}  {'-' if value is None else value}" for label, value in rows]
    lines += _pages_table(flat, details.get("pages"))
    lines += ["", "targets:"]
    lines += [f"  {name:<40} {'met' if ok else ('MISSED' if ok is False else 'not measured')}" for name, ok in flat["targets"].items()]
    if flat["errors"]:
        lines += ["", "errors:"] + [f"  {part}: {message}" for part, message in flat["errors"].items()]
    explain = details.get("worklist", {}).get(str(flat.get("worklist_large_rows")), {}).get("explain")
    if explain:
        slowest = details["worklist"][str(flat.get("worklist_large_rows"))]["slowest"]
        summary = [line[:160] for line in explain if not line.strip().startswith(("Buffers:", "Planning:", "Heap Blocks:", "Buckets:"))]
        lines += ["", f"EXPLAIN ANALYZE of the slowest worklist query ({slowest}; the full plans are in --details):"]
        lines += [f"  {line}" for line in summary]
    return "\n".join(lines)


def _pages_table(flat: dict[str, Any], result: dict[str, Any] | None) -> list[str]:
    """One line a page: p50 / p95 ms as the server timed it, the clients' p95, the same page's
    clients' p95 from the --before checkout, one request alone, and the SQL statements it sends."""
    if not result:
        return []
    data = result["data"]
    before = (result.get("before") or {}).get("pages", {})
    lines = [
        "",
        f"Pages, gunicorn -w {result['workers']}, {result['clients']} users at once, {result['repeat']} requests each "
        f"({data['task_rows']} task rows, {data['instances']} instances, {data['history_rows']} history rows, "
        f"{data['customers']} customers; slowest: {flat.get('pages_slowest')}): server p50 / p95 ms; clients' p95"
        + (" (before)" if before else "")
        + "; one request alone in-process, ms; SQL statements",
    ]
    width = max(len(name) for name in result["pages"])
    for name, page in result["pages"].items():
        timing = f"{page['p50_ms']} / {page['p95_ms']}" if page["p95_ms"] is not None else f"error: {page['error']}"
        client = f"{page['client_p95_ms']}" + (f" ({before[name]['client_p95_ms']})" if name in before else "")
        lines.append(f"  {name:<{width}}  {timing:<16} {client:<16} {page['alone_ms']!s:<8} {page['statements']}")
    lines.append(f"  each worker's resident memory after the pages: {result['worker_rss_mib']} MiB")
    return lines


def _rate_lat(flat: dict[str, Any], prefix: str, suffix: str) -> str:
    return (
        f"{flat.get(f'{prefix}_complete_per_s{suffix}')} ({flat.get(f'{prefix}_p50_ms{suffix}')} / {flat.get(f'{prefix}_p95_ms{suffix}')})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON (the headline numbers)")
    parser.add_argument("--only", help=f"comma-separated parts: {','.join(PARTS)}")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only (floor and engine)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size (e.g. 0.2 for a smoke run)")
    parser.add_argument("--profile", action="store_true", help="also profile completions (cProfile, py-spy on gunicorn)")
    parser.add_argument("--details", type=Path, help="write every number, profile and plan here as JSON")
    parser.add_argument(
        "--before", type=Path, help="pages part: also serve the pages from this checkout (e.g. the commit before), same data"
    )
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(PARTS) if args.only else set()
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    os.chdir(ROOT)
    run = Run(args)
    flat = run.run()
    if args.details:
        args.details.parent.mkdir(parents=True, exist_ok=True)
        args.details.write_text(json.dumps(run.details, indent=1, ensure_ascii=False, default=str))
        log(f"details written to {args.details}")
    print(report(flat, run.details))
    if args.json:
        print(json.dumps(flat, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
