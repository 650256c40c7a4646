"""The worklist at size: p50/p95 of the engine's own `available` and `mine` queries on PostgreSQL.

Rows are bulk-loaded with COPY into `process_instances`, `tasks` and `task_candidates` with a
realistic spread: the three shipped processes and their task keys and roles (DOMAIN.md), five
tasks per instance, 10 % of the tasks open (the last task of every other instance), 40 % of the
open tasks claimed by a user holding the role, the completed ones by such a user. Candidate rows
are written for the open tasks only, as the product keeps them (closing a task deletes its rows;
the database triggers of migration 0006 also fill `claimed`, the candidates' copies of the order
columns and `task_assignments` during the COPY, as they do for the engine's own inserts, and
migration 0018's fill the monitor's counters and `open_steps`). Then
`engine.tasks.TaskService.query` (the count and the first page of 50) is timed per user and scope,
and the slowest query's statements are run once more under EXPLAIN ANALYZE for the report.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import event

from bench.common import percentile, pg_dsn, rnd
from engine.process_engine import ProcessEngine
from engine.services import instance_fields
from processes.demo import USERS

TASKS_PER_INSTANCE = 5
CLAIMED_SHARE = 0.4
QUERY_USERS = ("cs_agent1", "cs_sup", "qa_staff", "sales1", "gm")
SCOPES = ("available", "mine")
DEPARTMENT_ROLES = ("transport", "customs", "quality")
APPROVER_ROLES = ("ops_manager", "region_manager", "finance", "marketing_manager", "division_leader", "gm")
# process key: (share of instances, initiators, [(task key, name, role | None for the initiator, weight)])
PROCESSES: dict[str, tuple[float, tuple[str, ...], list[tuple[str, str, str | None, float]]]] = {
    "complaint_handling": (
        0.5,
        ("cs_agent1", "cs_agent2"),
        [
            ("assess", "受理评估", "cs_supervisor", 1.0),
            ("reply_invalid", "答复无效投诉", None, 0.3),
            ("assign_department", "指派责任部门", "cs_supervisor", 1.0),
            ("analyze_cause", "原因分析", "dept", 1.0),
            ("propose_resolution", "提出处理方案", "dept", 1.0),
            ("leader_approval", "分管领导批示", "division_leader", 0.8),
            ("gm_approval", "总经理批示", "gm", 0.3),
            ("implement", "实施处理", "dept", 1.0),
            ("summarize", "总结归档", "cs_supervisor", 1.0),
        ],
    ),
    "lead_qualification": (
        0.3,
        ("sales1", "sales2", "sales_asst"),
        [
            ("resolve_duplicate", "处理重复线索", "sales_director", 0.2),
            ("verify_lead", "核实线索", "sales", 1.0),
            ("follow_up", "跟进", "sales", 1.5),
            ("director_review", "总监审核", "sales_director", 0.3),
        ],
    ),
    "approval_chain": (
        0.2,
        ("store_staff", "region_mgr", "ops_mgr", "mkt_mgr"),
        [("approve", "审批", "approver", 1.0), ("revise", "修改申请", None, 0.2)],
    ),
}
CUSTOMERS = ("宁波海联", "上海远航", "杭州国际货运", "苏州精密", "义乌商贸", "温州鞋业", "嘉兴纺织", "绍兴化工")
CATEGORIES = ("transport", "customs", "quality", "service", "billing", "other")
SEVERITIES = ("low", "normal", "high")
COMPLAINT_TEXTS = ("到港货物外箱破损", "报关资料延误三天", "产品受潮发霉", "客服电话无人接听", "运费多收", "提单信息有误")
REQUEST_TYPES = ("store_expense", "department_expense", "special_expense", "discount_change", "contract")
REQUEST_TITLES = ("办公用品", "展会展位", "客户招待", "年度合同", "折扣调整")
# instances, tasks, candidates, business fields (as the engine writes them: engine.services.instance_fields)
Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def role_holders() -> dict[str, list[str]]:
    holders: dict[str, list[str]] = {}
    for username, (_name, _dept, roles, _superior) in USERS.items():
        for role in roles:
            holders.setdefault(role, []).append(username)
    return holders


class Generator:
    """Deterministic rows (seeded), continuing where the previous batch ended."""

    def __init__(self, definition_ids: dict[str, int], seed: int = 6) -> None:
        self.rng = random.Random(seed)
        self.definition_ids = definition_ids
        self.holders = role_holders()
        self.next_instance = 1
        self.now = datetime.now(UTC)
        keys = list(PROCESSES)
        self.keys, self.key_weights = keys, [PROCESSES[k][0] for k in keys]

    def batch(self, instances: int) -> Rows:
        rng, now = self.rng, self.now
        inst_rows: list[tuple[Any, ...]] = []
        task_rows: list[tuple[Any, ...]] = []
        cand_rows: list[tuple[Any, ...]] = []
        field_rows: list[tuple[Any, ...]] = []
        for _ in range(instances):
            iid = self.next_instance
            self.next_instance += 1
            key = rng.choices(self.keys, self.key_weights)[0]
            _share, initiators, steps = PROCESSES[key]
            initiator = rng.choice(initiators)
            running = iid % 2 == 0
            started = now - timedelta(days=rng.uniform(0, 30) if running else rng.uniform(30, 365))
            customer = rng.choice(CUSTOMERS)
            amount = round(rng.uniform(100, 200_000), 2) if key != "lead_qualification" else None
            data: dict[str, Any] = {"customer": customer, "amount": amount}
            if key == "complaint_handling":
                data |= {"category": rng.choice(CATEGORIES), "severity": rng.choice(SEVERITIES), "description": rng.choice(COMPLAINT_TEXTS)}
            elif key == "approval_chain":
                data |= {"request_type": rng.choice(REQUEST_TYPES), "title": f"{rng.choice(REQUEST_TITLES)} {iid}"}
            business_key = f"{key[:2].upper()}-{iid:08d}"
            fields = instance_fields.fields_of(data) | instance_fields.key_row(business_key)
            field_rows.extend((iid, name, text, number, key) for name, (text, number) in fields.items())
            inst_rows.append(
                (
                    iid,
                    self.definition_ids[key],
                    key,
                    "running" if running else "completed",
                    business_key,
                    initiator,
                    b"",
                    "bench",
                    json.dumps(data, ensure_ascii=False),
                    1,
                    started,
                    started,
                    None if running else started + timedelta(days=3),
                )
            )
            chosen = rng.choices(steps, [s[3] for s in steps], k=TASKS_PER_INSTANCE)
            for n, (task_key, name, role, _w) in enumerate(chosen):
                is_open = running and n == TASKS_PER_INSTANCE - 1
                created = started + timedelta(hours=6 * n)
                if role == "dept":
                    role = rng.choice(DEPARTMENT_ROLES)
                elif role == "approver":
                    role = rng.choice(APPROVER_ROLES)
                roles, users = ([role], []) if role else ([], [initiator])
                performer = rng.choice(self.holders[role]) if role else initiator
                assignee = performer if (not is_open or rng.random() < CLAIMED_SHARE or not role) else None
                due = created + timedelta(days=rng.choice((1, 1, 2, 3, 5))) if rng.random() < 0.7 else None
                tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                task_rows.append(
                    (
                        tid,
                        iid,
                        key,
                        task_key,
                        name,
                        "open" if is_open else "completed",
                        assignee,
                        ",".join(roles),
                        ",".join(users),
                        rng.choice((50, 50, 50, 80, 20)),
                        created,
                        created if assignee else None,
                        None if is_open else created + timedelta(hours=4),
                        None if is_open else performer,
                        due,
                        inst_rows[-1][4],
                        initiator,
                        customer,
                        f"{customer}: {name}",
                        amount,
                    )
                )
                if is_open:
                    cand_rows.extend([(tid, "role", r) for r in roles] + [(tid, "user", u) for u in users])
        return inst_rows, task_rows, cand_rows, field_rows

    def archive(self, instances: int) -> Rows:
        """Finished instances of the past three years, as the monitor meets them once a company has
        run for a while: one completed task row each (the step that ended it, by a holder of its
        role), so their starters and performers are linked as the engine's would be."""
        inst_rows, task_rows, _cands, field_rows = self.batch(instances)
        rng = self.rng
        for n, row in enumerate(inst_rows):
            started = self.now - timedelta(days=rng.uniform(30, 3 * 365))
            inst_rows[n] = (*row[:3], "completed", *row[4:10], started, started + timedelta(days=3), started + timedelta(days=3))
        done = [t for t in task_rows if t[5] == "completed"][:: TASKS_PER_INSTANCE - 1]
        by_instance = {t[1]: t for t in done}
        return inst_rows, list(by_instance.values()), [], field_rows


def history_rows(instance_ids: range, per_instance: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """`per_instance` lines per instance: its start, claims and completions of its steps, its end."""
    for iid in instance_ids:
        at = now - timedelta(days=iid % 900, hours=iid % 24)
        yield (at, "bench", "start", iid, None, "{}")
        for k in range(per_instance - 2):
            yield (at + timedelta(hours=k + 1), "bench", ("claim", "complete")[k % 2], iid, "step", "{}")
        yield (at + timedelta(hours=per_instance), None, "end", iid, None, "{}")


VACUUMED = ("process_instances", "instance_fields", "instance_people", "tasks", "task_candidates", "history_events")


def scale_up(dsn: str, generator: Generator, instances: int, history: int) -> dict[str, Any]:
    """Grow the loaded database to the monitor's size (#14: 1M instances, 10M history rows) with
    finished instances and the history of every instance; returns what was loaded and how fast."""
    start = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        have = int(conn.execute("SELECT count(*) FROM process_instances").fetchone()[0])  # type: ignore[index]
    while have < instances:
        n = min(50_000, instances - have)
        load(dsn, generator.archive(n))
        have += n
    per_instance = max(2, history // instances)
    with psycopg.connect(dsn) as conn:
        first, last = conn.execute("SELECT min(id), max(id) FROM process_instances").fetchone()  # type: ignore[misc]
        with conn.cursor() as cur, cur.copy('COPY history_events (at, "user", action, instance_id, task_key, data) FROM STDIN') as copy:
            for row in history_rows(range(first, last + 1), per_instance, generator.now):
                copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE history_events")
        rows = int(conn.execute("SELECT count(*) FROM history_events").fetchone()[0])  # type: ignore[index]
        tasks = int(conn.execute("SELECT count(*) FROM tasks").fetchone()[0])  # type: ignore[index]
        loaded = rnd(time.perf_counter() - start)
        # A database that grew to this size over years has been vacuumed by autovacuum (its insert
        # threshold, PostgreSQL 13+): the visibility map set, index-only scans read no heap. A bulk
        # load minutes old has not; the queries are timed on the database as it would be.
        started = time.perf_counter()
        for table in VACUUMED:
            conn.execute(f"VACUUM (ANALYZE) {table}")
        vacuumed = rnd(time.perf_counter() - started)
    return {"instances": have, "history_rows": rows, "task_rows": tasks, "load_s": loaded, "vacuum_s": vacuumed}


INSTANCE_COLUMNS = (
    "id, definition_id, process_key, status, business_key, started_by, state, serializer_version, data, row_version, started_at,"
    " updated_at, ended_at"
)
TASK_COLUMNS = (
    "id, instance_id, process_key, task_key, name, status, assignee, candidate_roles, candidate_users, priority, created_at,"
    " claimed_at, completed_at, completed_by, due_at, business_key, started_by, customer, title, amount"
)


def load(dsn: str, rows: Rows) -> float:
    """COPY one batch in; ANALYZE (as autovacuum would after a bulk change). Returns seconds."""
    start = time.perf_counter()
    instances, tasks, candidates, fields = rows
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            for table, columns, data in (
                ("process_instances", INSTANCE_COLUMNS, instances),
                ("tasks", TASK_COLUMNS, tasks),
                ("task_candidates", "task_id, kind, name", candidates),
                ("instance_fields", "instance_id, name, text, number, process_key", fields),
            ):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE process_instances")
        conn.execute("ANALYZE tasks")
        conn.execute("ANALYZE task_candidates")
        conn.execute("ANALYZE task_assignments")
        conn.execute("ANALYZE instance_fields")
    return time.perf_counter() - start


ROLLUPS = """
INSERT INTO step_rollups (process_key, task_key, day, completed_by, bucket, completed, late, seconds)
SELECT process_key, task_key, (completed_at AT TIME ZONE 'Asia/Shanghai')::date, completed_by,
       CASE WHEN extract(epoch FROM completed_at - created_at) < 1 THEN 0
            ELSE floor(4 * log(2, extract(epoch FROM completed_at - created_at)))::int END,
       count(*), count(*) FILTER (WHERE due_at IS NOT NULL AND completed_at > due_at),
       sum(greatest(0, extract(epoch FROM completed_at - created_at)))
FROM tasks WHERE status = 'completed' AND completed_at IS NOT NULL AND completed_by IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
"""


def fill_rollups(dsn: str) -> None:
    """The monitor's daily roll-ups of the loaded completed tasks, as the engine would have written
    them with each completion (engine.services.step_rollups; the same bucket rule)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE step_rollups")
        conn.execute(ROLLUPS)
        conn.execute("ANALYZE step_rollups")
        for table in ("instance_counts", "instance_trend", "open_steps", "instance_people"):  # as autovacuum would after a load
            conn.execute(f"ANALYZE {table}")


def time_queries(engine: ProcessEngine, repeat: int) -> dict[str, Any]:
    """p50/p95 per (user, scope), the counts, and which one was slowest."""
    results: dict[str, Any] = {}
    with engine.db.sessions() as session:
        actors = {u: engine.identity.actor(session, u) for u in QUERY_USERS}
    for scope in SCOPES:
        for username, who in actors.items():
            samples: list[float] = []
            total = 0
            for i in range(repeat + 2):
                with engine.db.sessions() as session:
                    start = time.perf_counter()
                    _rows, total = engine.tasks.query(session, who, scope)
                    elapsed = time.perf_counter() - start
                if i >= 2:  # the first two warm the connection and the plan cache
                    samples.append(elapsed * 1000)
            results[f"{scope}:{username}"] = {
                "count": total,
                "p50_ms": rnd(percentile(samples, 50)),
                "p95_ms": rnd(percentile(samples, 95)),
            }
    return results


def time_monitor(engine: ProcessEngine, repeat: int) -> dict[str, Any]:
    """The monitor's queries on the same rows (engine.services.statistics): every process's figures,
    one process step by step for an admin and for a supervisor (their scope), a step's waiting list."""
    with engine.db.sessions() as session:
        admin, supervisor = engine.identity.actor(session, "admin"), engine.identity.actor(session, "cs_sup")
    stats = engine.statistics
    period = engine.reports.period(None, None)

    def reports(session: Any, who: Any) -> None:
        engine.reports.sla(session, who, period)
        engine.reports.approvals(session, who, period)
        engine.reports.lead_conversion(session, who, period)
        for field in ("category", "department"):
            engine.reports.counts_by_field(session, who, "complaint_handling", field, period)

    cases: dict[str, Any] = {
        "processes:admin": lambda s: stats.processes(s, admin),
        "processes:cs_sup": lambda s: stats.processes(s, supervisor),
        "process:admin": lambda s: stats.process(s, admin, "complaint_handling", 30),
        "process:cs_sup": lambda s: stats.process(s, supervisor, "complaint_handling", 30),
        "waiting:admin": lambda s: stats.waiting(s, admin, "complaint_handling", "assess"),
        # the reports page's queries (engine.services.reports) for the last 30 days
        "reports:admin": lambda s: reports(s, admin),
        "reports:cs_sup": lambda s: reports(s, supervisor),
    }
    results: dict[str, Any] = {}
    for name, case in cases.items():
        samples: list[float] = []
        for i in range(min(repeat, 10) + 2):
            with engine.db.sessions() as session:
                start = time.perf_counter()
                case(session)
                elapsed = time.perf_counter() - start
            if i >= 2:
                samples.append(elapsed * 1000)
        results[name] = {"p50_ms": rnd(percentile(samples, 50)), "p95_ms": rnd(percentile(samples, 95))}
    return results


# The instance list unfiltered and the instance search (engine.services.instance_search over
# instance_fields): the API's first page and count, by query kind; and the export of a narrow
# search as XLSX over HTTP.
SEARCHES = {
    "list:admin": ("admin", ""),  # the first page of the unfiltered list, with its total
    "list:cs_sup": ("cs_sup", ""),
    "fields:admin": ("admin", "process_key=complaint_handling&data.category=quality&data.severity=high"),
    "fields:cs_sup": ("cs_sup", "process_key=complaint_handling&data.category=quality&data.severity=high"),
    "range:admin": ("admin", "process_key=approval_chain&data.amount.gte=150000&started_from=2000-01-01"),
    "text:admin": ("admin", "q=外箱破损"),
    "like:admin": ("admin", "process_key=approval_chain&data.title.like=展会展位 12"),
}
EXPORT = "process_key=complaint_handling&data.customer=上海远航&data.category=quality&data.severity=high"


def time_search(url: str, repeat: int) -> dict[str, Any]:
    """Through the app (Flask test client, API tokens): each search's p50/p95 and total, then the
    export's p95 and rows."""
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SCHEDULER_ENABLED": False})
    engine = app.extensions["crmflow"]
    client = app.test_client()
    tokens = {
        u: client.post("/api/v1/auth/token", json={"username": u, "password": "demo"}).get_json()["token"] for u in ("admin", "cs_sup")
    }
    results: dict[str, Any] = {}
    try:
        for name, (user, query) in {**SEARCHES, "export.xlsx:admin": ("admin", EXPORT)}.items():
            path = f"/api/v1/process-instances/export.xlsx?{query}" if name.startswith("export") else f"/api/v1/process-instances?{query}"
            samples: list[float] = []
            total = 0
            for i in range(min(repeat, 10) + 2):
                start = time.perf_counter()
                answer = client.get(path, headers={"Authorization": f"Bearer {tokens[user]}"})
                elapsed = time.perf_counter() - start
                if answer.status_code != 200:
                    raise RuntimeError(f"{path} answered {answer.status_code}: {answer.get_data(as_text=True)[:200]}")
                total = int(answer.headers.get("X-Total-Count") or answer.get_json()["total"])
                if i >= 2:
                    samples.append(elapsed * 1000)
            results[name] = {"total": total, "p50_ms": rnd(percentile(samples, 50)), "p95_ms": rnd(percentile(samples, 95))}
    finally:
        engine.db.dispose()
    return results


def explain(engine: ProcessEngine, username: str, scope: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement the engine's query runs for this user and scope."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    with engine.db.sessions() as session:
        who = engine.identity.actor(session, username)
    event.listen(engine.db.engine, "before_cursor_execute", capture)
    try:
        with engine.db.sessions() as session:
            engine.tasks.query(session, who, scope)
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", capture)
    lines: list[str] = []
    with engine.db.engine.connect() as conn:
        for statement, parameters in captured:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            lines.append(" ".join(statement.split())[:300])
            lines.extend(f"    {line}" for line in plan)
    return lines


def measure(engine: ProcessEngine, url: str, sizes: tuple[int, ...], repeat: int, monitor_scale: tuple[int, int]) -> dict[str, Any]:
    """`sizes`: total task rows after each load, ascending; the worklist is timed at each size.
    Then the database grows to `monitor_scale` (instances, history rows) and the monitor, the
    searches and the lists are timed, with the worklist once more."""
    with engine.db.sessions() as session:
        definition_ids = {key: engine.repository.latest(session, key).id for key in PROCESSES}
    generator = Generator(definition_ids)
    dsn = pg_dsn(url)
    out: dict[str, Any] = {}
    loaded = 0
    for size in sizes:
        seconds = 0.0
        while loaded < size:
            instances = min(20_000, (size - loaded) // TASKS_PER_INSTANCE)
            seconds += load(dsn, generator.batch(instances))
            loaded += instances * TASKS_PER_INSTANCE
        fill_rollups(dsn)
        with engine.db.transaction() as session:  # fold the load's counter deltas, count the report fields
            engine.counters.catch_up(session)
        queries = time_queries(engine, repeat)
        slowest = max(queries, key=lambda k: queries[k]["p95_ms"] or 0)
        open_rows = size // (2 * TASKS_PER_INSTANCE)
        out[str(size)] = {
            "task_rows": size,
            "open_rows": open_rows,
            "load_s": rnd(seconds),
            "queries": queries,
            "p95_ms": max(q["p95_ms"] or 0 for q in queries.values()),
            "p50_ms": max(q["p50_ms"] or 0 for q in queries.values()),
            "slowest": slowest,
        }
    largest = out[str(sizes[-1])]
    scope, username = largest["slowest"].split(":")
    largest["explain"] = explain(engine, username, scope)
    largest["scaled"] = scale_up(dsn, generator, *monitor_scale)
    fill_rollups(dsn)
    with engine.db.transaction() as session:
        engine.counters.catch_up(session)
    queries = time_queries(engine, repeat)
    largest["scaled"]["worklist_p95_ms"] = max(q["p95_ms"] or 0 for q in queries.values())
    largest["monitor"] = time_monitor(engine, repeat)
    largest["search"] = time_search(url, repeat)
    return out
