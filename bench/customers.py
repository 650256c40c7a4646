"""The customer file at size: p50/p95 of the customer list (first page, default order and a text
search), of one customer's page (the customer, contacts and a 500-entry timeline) and of the
receivables board (its buckets' counts and amounts, and the week's rows) on PostgreSQL.

Rows are COPYed in: customers owned by the salespeople (sales1 and sales2 hold most, the rest by
other sales staff of a synthetic team), activities spread over them, and one customer with more
than 500 timeline entries (activities and complaints naming it). Timed through the engine's own
service calls, as the pages make them, per user: the sales director (sees all), sales1 (their
own and nothing else) and cs_agent1 (the customers of their complaints only).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.common import percentile, pg_dsn, rnd
from engine import matching
from engine.process_engine import ProcessEngine
from engine.services.customers import CustomerFilter

USERS = ("sales_dir", "sales1", "cs_agent1")
OWNERS = ("sales1", "sales2", "sales_asst")
PREFIXES = ("宁波", "上海", "杭州", "苏州", "义乌", "温州", "嘉兴", "绍兴", "台州", "舟山")
TRADES = ("海联贸易", "远航物流", "国际货运", "精密机械", "小商品", "鞋业", "纺织", "化工", "电器", "水产")
BIG_TIMELINE = 600
RECEIVABLES = 200  # open installments started through the engine, due over the coming 60 days
CUSTOMER_COLUMNS = "id, name, name_norm, status, owner, industry, grade, created_at, last_touched_at"
ACTIVITY_COLUMNS = "customer_id, kind, summary, at, created_by, assignee, created_at, next_step, next_at, done_at"
NEXT_STEPS = 0.2  # the share of activities with a next step; past ones are done but for one in a hundred


def _rows(customers: int, activities: int, seed: int = 7) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    people: list[tuple[Any, ...]] = []
    for i in range(1, customers + 1):
        name = f"{rng.choice(PREFIXES)}{rng.choice(TRADES)}{i:06d}有限公司"
        created = now - timedelta(days=rng.randint(0, 1500))
        touched = created + timedelta(days=rng.randint(0, 60)) if rng.random() < 0.7 else None
        owner = rng.choice(OWNERS)
        people.append(
            (
                i,
                name,
                matching.company(name),
                rng.choice(("potential", "trading", "dormant")),
                owner,
                rng.choice(TRADES),
                "ABC"[i % 3],
                created,
                touched,
            )
        )
    acts: list[tuple[Any, ...]] = []
    for n in range(activities):
        customer = 1 if n < BIG_TIMELINE else rng.randint(1, customers)
        at = now - timedelta(minutes=rng.randint(0, 2_000_000))
        owner = people[customer - 1][4]
        step, next_at, done_at = None, None, None
        if rng.random() < NEXT_STEPS:
            step, next_at = f"下一步 {n}", at + timedelta(days=rng.randint(1, 14))
            done_at = next_at if next_at < now and rng.random() < 0.99 else None
        kind = rng.choice(("call", "visit", "email", "meeting", "note"))
        acts.append((customer, kind, f"跟进记录 {n}", at, owner, owner, at, step, next_at, done_at))
    return people, acts


def load(dsn: str, customers: int, activities: int) -> float:
    start = time.perf_counter()
    people, acts = _rows(customers, activities)
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY customers ({CUSTOMER_COLUMNS}) FROM STDIN") as copy:
                for row in people:
                    copy.write_row(row)
            with cur.copy(f"COPY activities ({ACTIVITY_COLUMNS}) FROM STDIN") as copy:
                for row in acts:
                    copy.write_row(row)
            cur.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers))")
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE customers")
        conn.execute("ANALYZE activities")
    return time.perf_counter() - start


def _time(fn: Any, repeat: int) -> dict[str, Any]:
    samples = []
    for i in range(repeat + 2):
        start = time.perf_counter()
        fn()
        if i >= 2:  # the first two warm the connection and the plan cache
            samples.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": rnd(percentile(samples, 50)), "p95_ms": rnd(percentile(samples, 95))}


def measure(engine: ProcessEngine, url: str, customers: int, activities: int, repeat: int) -> dict[str, Any]:
    seconds = load(pg_dsn(url), customers, activities)
    # A complaint by cs_agent1 naming the big customer: what makes it theirs to see.
    with engine.db.sessions() as session:
        agent = engine.identity.actor(session, "cs_agent1")
        big_name = engine.customers.get(session, engine.identity.actor(session, "admin"), 1).name
    engine.runtime.start(agent, "complaint_handling", {"customer": big_name, "category": "quality", "description": "外箱破损"})
    queries: dict[str, Any] = {}
    with engine.db.sessions() as session:
        actors = {u: engine.identity.actor(session, u) for u in USERS}
    for username, who in actors.items():

        def listing(who: Any = who, f: CustomerFilter | None = None) -> None:
            with engine.db.sessions() as session:
                engine.customers.query(session, who, f or CustomerFilter())

        queries[f"list:{username}"] = _time(listing, repeat)
        queries[f"search:{username}"] = _time(lambda who=who: listing(who, CustomerFilter(q="海联贸易0001")), repeat)
        queries[f"untouched:{username}"] = _time(lambda who=who: listing(who, CustomerFilter(untouched_days=30, sort="touched")), repeat)

    def page(username: str = "sales_dir") -> None:
        with engine.db.sessions() as session:
            customer = engine.customers.get(session, actors[username], 1)
            engine.customers.contacts(session, customer.id)
            entries = engine.customers.timeline(session, customer)
            assert len(entries) >= 500, len(entries)

    queries["page:sales_dir"] = _time(page, repeat)
    queries["page:cs_agent1"] = _time(lambda: page("cs_agent1"), repeat)

    with engine.db.sessions() as session:
        assistant = engine.identity.actor(session, "sales_asst")
    today = engine.identity.today()
    for i in range(RECEIVABLES):
        due = (today + timedelta(days=i % 60 - 5)).isoformat()
        data = {"customer": f"应收{i:04d}有限公司", "contract_no": f"HT-{i}", "amount": 1000 + i, "due_date": due, "owner": OWNERS[i % 2]}
        engine.runtime.start(assistant, "receivable_collection", data)

    def board(username: str, due: str) -> None:
        with engine.db.sessions() as session:
            engine.receivables.board(session, actors[username], due)

    actors["sales_asst"] = assistant
    queries["receivables:sales_asst:week"] = _time(lambda: board("sales_asst", "week"), repeat)
    queries["receivables:sales_asst:all"] = _time(lambda: board("sales_asst", "all"), repeat)
    queries["receivables:sales1:all"] = _time(lambda: board("sales1", "all"), repeat)

    def follow_ups(username: str) -> None:
        with engine.db.sessions() as session:
            engine.activities.follow_ups(session, actors[username])

    for username in ("sales1", "sales_dir"):  # a salesperson's hundreds of open next steps; none
        queries[f"follow_ups:{username}"] = _time(lambda username=username: follow_ups(username), repeat)
    list_keys = [k for k in queries if not k.startswith(("page:", "receivables:", "follow_ups:"))]
    return {
        "customers": customers,
        "activities": activities,
        "load_s": rnd(seconds),
        "queries": queries,
        "list_p95_ms": max(queries[k]["p95_ms"] or 0 for k in list_keys),
        "page_p95_ms": max(queries[k]["p95_ms"] or 0 for k in ("page:sales_dir", "page:cs_agent1")),
        "receivables_p95_ms": max(queries[k]["p95_ms"] or 0 for k in queries if k.startswith("receivables:")),
        "follow_ups_p95_ms": max(queries[k]["p95_ms"] or 0 for k in queries if k.startswith("follow_ups:")),
        "slowest": max(queries, key=lambda k: queries[k]["p95_ms"] or 0),
    }
