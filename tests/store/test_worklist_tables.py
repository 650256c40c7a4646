"""The open-task tables behind the worklist counts (migration 0006) stay right without the app's help.

Database triggers delete a task's candidate rows when it closes, mirror its claim in
`task_candidates.claimed` and keep `task_assignments`; the counts read from them must equal what
the task rows themselves say, on SQLite and PostgreSQL, and the migration must go both ways.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, func, inspect, select, text, update

from engine.process_engine import ProcessEngine
from engine.services import task_counts
from engine.services.identity import Actor
from engine.services.worklist import TaskFilter
from store.models import Task, TaskAssignment, TaskCandidate, TaskEscalation
from store.schema import alembic_config
from tests.data import DEMO_USERS as USERS
from tests.flow import Flow


def start(flow: Flow) -> int:
    data = {"category": "quality", "description": "x", "customer": secrets.token_hex(4)}
    return flow.start("cs_agent1", "complaint_handling", data).id


def rows(engine: ProcessEngine, task_id: str) -> tuple[list[tuple[str, str, bool]], str | None]:
    with engine.db.sessions() as session:
        candidates = session.execute(
            select(TaskCandidate.kind, TaskCandidate.name, TaskCandidate.claimed).where(TaskCandidate.task_id == task_id)
        ).all()
        assignee = session.scalar(select(TaskAssignment.assignee).where(TaskAssignment.task_id == task_id))
    return sorted(tuple(r) for r in candidates), assignee  # no order in the table: compare as a set


def test_claims_are_mirrored_and_closing_deletes_the_rows(flow: Flow) -> None:
    iid = start(flow)
    task = flow.task(iid, "assess")
    assert rows(flow.engine, task.id) == ([("role", "cs_supervisor", False)], None)
    flow.engine.tasks.claim(flow.actor("cs_sup"), task.id)
    assert rows(flow.engine, task.id) == ([("role", "cs_supervisor", True)], "cs_sup")
    flow.engine.tasks.unclaim(flow.actor("cs_sup"), task.id)
    assert rows(flow.engine, task.id) == ([("role", "cs_supervisor", False)], None)
    flow.engine.tasks.assign(flow.actor("admin"), task.id, "cs_sup")
    assert rows(flow.engine, task.id) == ([("role", "cs_supervisor", True)], "cs_sup")
    flow.complete("cs_sup", iid, "assess", {"valid": True})
    assert rows(flow.engine, task.id) == ([], None)
    nxt = flow.task(iid, "assign_department")
    assert rows(flow.engine, nxt.id) == ([("role", "cs_supervisor", False)], None)


def test_completing_an_unclaimed_task_and_cancelling_delete_the_rows(flow: Flow) -> None:
    iid = start(flow)
    task = flow.task(iid, "assess")
    flow.complete("cs_sup", iid, "assess", {"valid": False})  # claims and completes in one update
    assert rows(flow.engine, task.id) == ([], None)
    reply = flow.task(iid, "reply_invalid")  # born assigned to the initiator
    assert rows(flow.engine, reply.id)[1] == "cs_agent1"
    with flow.engine.db.transaction() as session:  # how the runtime cancels tasks an instance left
        session.execute(update(Task).where(Task.id.in_([reply.id]), Task.status == "open").values(status="cancelled"))
    assert rows(flow.engine, reply.id) == ([], None)


def test_counts_equal_what_the_task_rows_say(flow: Flow, actors: Callable[[str], Actor]) -> None:
    for _ in range(3):
        start(flow)
    claimed = start(flow)
    flow.engine.tasks.claim(actors("cs_sup"), flow.task(claimed, "assess").id)
    service = flow.engine.worklist
    with flow.engine.db.sessions() as session:
        open_tasks = list(session.scalars(select(Task).where(Task.status == "open")))
        stale = session.scalar(
            select(func.count()).select_from(TaskCandidate).join(Task, Task.id == TaskCandidate.task_id).where(Task.status != "open")
        )
        assert stale == 0
        for username in USERS:
            actor = actors(username)
            reports = flow.engine.identity.subordinates(session, username)
            escalated = set(session.scalars(select(TaskEscalation.task_id).where(TaskEscalation.username == username)))
            expected = {
                "available": sum(1 for t in open_tasks if t.assignee is None and flow.engine.authorization.is_candidate(session, actor, t)),
                "mine": sum(1 for t in open_tasks if t.assignee == username),
                "team": sum(1 for t in open_tasks if t.assignee in reports or t.id in escalated),
            }
            for scope, count in expected.items():
                page, total = flow.engine.tasks.query(session, actor, scope, limit=100_000)  # all of them, whatever other tests left
                assert total == count == len(page), (username, scope)
                assert service.count(session, actor, TaskFilter(tab=scope)) == count, (username, scope)
            assert flow.engine.tasks.scope_count(session, actor, "available") == expected["available"]


def test_a_task_offered_twice_to_the_same_user_counts_once(flow: Flow, actors: Callable[[str], Actor]) -> None:
    iid = start(flow)
    task = flow.task(iid, "assess")
    with flow.engine.db.transaction() as session:
        session.add(TaskCandidate(task_id=task.id, kind="user", name="cs_sup"))
    with flow.engine.db.sessions() as session:
        page, total = flow.engine.tasks.query(session, actors("cs_sup"), "available", limit=1000)
        ids = [t.id for t in page]
        assert ids.count(task.id) == 1 and total == len(ids) == len(set(ids))
        assert rows(flow.engine, task.id)[0] == [("role", "cs_supervisor", False), ("user", "cs_sup", False)]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_migration_backfills_and_downgrades(dialect: str, tmp_path: Path, pg_database: Callable[[], str]) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}" if dialect == "sqlite" else pg_database()
    cfg = alembic_config(url)
    command.upgrade(cfg, "0005_definition_drafts")
    engine = create_engine(url)
    try:
        _seed_old_rows(engine)
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            cands = sorted(conn.execute(text("SELECT task_id, name, claimed FROM task_candidates")).all())
            assigned = sorted(conn.execute(text("SELECT task_id, assignee FROM task_assignments")).all())
        assert [(t, n, bool(c)) for t, n, c in cands] == [("t-claimed", "r", True), ("t-open", "r", False)]
        assert assigned == [("t-claimed", "u")]
        with engine.connect() as conn:  # the order columns are copied from the task
            copied = conn.execute(
                text(
                    "SELECT count(*) FROM task_candidates c JOIN tasks t ON t.id = c.task_id"
                    " WHERE c.priority = t.priority AND c.created_at = t.created_at AND c.due_at IS NULL AND t.due_at IS NULL"
                    " AND c.instance_id = t.instance_id"  # and its instance (0019)
                )
            ).scalar()
        assert copied == 2
        with engine.begin() as conn:  # the triggers are live
            conn.execute(text("UPDATE tasks SET status = 'completed' WHERE id = 't-claimed'"))
            conn.execute(text("UPDATE tasks SET assignee = 'v' WHERE id = 't-open'"))
        with engine.connect() as conn:
            assert sorted(conn.execute(text("SELECT task_id, claimed FROM task_candidates")).all()) == [("t-open", True)]
            assert conn.execute(text("SELECT task_id, assignee FROM task_assignments")).all() == [("t-open", "v")]
        command.downgrade(cfg, "0005_definition_drafts")
        inspector = inspect(engine)
        assert "task_assignments" not in inspector.get_table_names()
        assert "claimed" not in {c["name"] for c in inspector.get_columns("task_candidates")}
        with engine.begin() as conn:  # no trigger left behind
            conn.execute(text("UPDATE tasks SET status = 'completed' WHERE id = 't-open'"))
            assert conn.execute(text("SELECT count(*) FROM task_candidates")).scalar() == 1
        command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def _seed_old_rows(engine: Engine) -> None:
    """Pre-0006 data: candidate rows for a closed task too, and no claim state."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO process_definitions (id, key, version, name, bpmn_xml, dmn_xml, content_hash, spec_json,"
                " serializer_version, start_meta, deployed_at) VALUES (1, 'p', 1, 'p', '', '[]', 'h', '{}', '1', '{}', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO process_instances (id, definition_id, process_key, status, state, serializer_version, data,"
                " row_version, started_at, updated_at) VALUES (1, 1, 'p', 'running', :state, '1', '{}', 1, :now, :now)"
            ),
            {"now": now, "state": b""},
        )
        for task_id, status, assignee in (("t-open", "open", None), ("t-claimed", "open", "u"), ("t-done", "completed", "u")):
            conn.execute(
                text(
                    "INSERT INTO tasks (id, instance_id, process_key, task_key, name, status, assignee, candidate_roles,"
                    " candidate_users, priority, created_at) VALUES (:id, 1, 'p', 'k', 'n', :status, :assignee, 'r', '', 50, :now)"
                ),
                {"id": task_id, "status": status, "assignee": assignee, "now": now},
            )
            conn.execute(text("INSERT INTO task_candidates (task_id, kind, name) VALUES (:id, 'role', 'r')"), {"id": task_id})


def _worklist_key(task: Task) -> tuple[bool, float, int, float, str]:
    """The worklist order, computed in Python from the task row."""
    due = task.due_at.timestamp() if task.due_at is not None else 0.0
    return (task.due_at is None, due, -task.priority, task.created_at.timestamp(), task.id)


def test_available_pages_follow_the_task_rows_order(flow: Flow, actors: Callable[[str], Actor]) -> None:
    """The 'available' page comes from the candidate rows' copies of the order columns: ties on
    the due date are broken by priority, then age, then id; a task offered twice shows once."""
    tasks = [flow.task(start(flow), "assess").id for _ in range(7)]
    early = datetime(2000, 1, 1, tzinfo=UTC)
    created = datetime(2001, 1, 1, tzinfo=UTC)
    settings = [  # (due_at, priority, created_at): ties on due date, priority and age
        (early, 50, created),
        (early, 80, created.replace(month=3)),
        (early, 50, created),
        (early, 50, created.replace(month=2)),
        (None, 90, created),
        (early.replace(day=2), 20, created),
        (early, 50, created),
    ]
    with flow.engine.db.transaction() as session:  # as a definition migration would change them
        for task_id, (due, priority, at) in zip(tasks, settings, strict=True):
            session.execute(update(Task).where(Task.id == task_id).values(due_at=due, priority=priority, created_at=at))
        session.add(TaskCandidate(task_id=tasks[2], kind="user", name="cs_sup"))  # offered by role and by name
    flow.engine.tasks.claim(actors("cs_sup"), tasks[6])  # claimed: no longer available
    service = flow.engine.worklist
    actor = actors("cs_sup")
    with flow.engine.db.sessions() as session:
        open_tasks = session.scalars(select(Task).where(Task.status == "open", Task.assignee.is_(None)))
        expected = [t.id for t in sorted(open_tasks, key=_worklist_key) if flow.engine.authorization.is_candidate(session, actor, t)]
        assert expected[:5] == [tasks[1], *sorted([tasks[0], tasks[2]]), tasks[3], tasks[5]]
        assert tasks[4] in expected and tasks[6] not in expected
        whole, total = flow.engine.tasks.query(session, actor, "available", limit=1000)
        assert [t.id for t in whole] == expected and total == len(expected)
        for size in (1, 2, 3):
            for offset in range(0, 8):
                page, _ = flow.engine.tasks.query(session, actor, "available", limit=size, offset=offset)
                assert [t.id for t in page] == expected[offset : offset + size], (size, offset)
        for number in (1, 2, 3):
            ui = service.tasks(session, actor, TaskFilter(tab="available"), page=number, per_page=2)
            assert [t.id for t in ui.items] == expected[(number - 1) * 2 : number * 2] and ui.total == len(expected)


def test_team_pages_follow_the_held_tasks_order(flow: Flow, new_user: Callable[..., str]) -> None:
    """A supervisor's team tab merges each report's first tasks from the assignee index: the same
    rows, in the same worklist order, as sorting every task the team holds, on every page."""
    boss = new_user("team_boss", ["cs_supervisor"])
    reports = [new_user("team_report", ["cs_supervisor"], superior=boss) for _ in range(2)]
    tasks = [flow.task(start(flow), "assess").id for _ in range(6)]
    early = datetime(2000, 1, 1, tzinfo=UTC)
    created = datetime(2001, 1, 1, tzinfo=UTC)
    settings = [
        (early, 50, created),
        (early, 80, created),
        (None, 90, created),
        (early, 50, created),
        (early.replace(day=2), 20, created),
        (early, 50, created.replace(month=2)),
    ]
    for i, task_id in enumerate(tasks):
        flow.engine.tasks.claim(flow.actor(reports[i % 2]), task_id)
    with flow.engine.db.transaction() as session:
        for task_id, (due, priority, at) in zip(tasks, settings, strict=True):
            session.execute(update(Task).where(Task.id == task_id).values(due_at=due, priority=priority, created_at=at))
    actor = flow.actor(boss)
    with flow.engine.db.sessions() as session:
        held = session.scalars(select(Task).where(Task.status == "open", Task.assignee.in_(reports)))
        expected = [t.id for t in sorted(held, key=_worklist_key)]
        assert sorted(expected) == sorted(tasks)
        for size in (1, 2, 4):
            for number in range(1, -(-len(expected) // size) + 1):
                page = flow.engine.worklist.tasks(session, actor, TaskFilter(tab="team"), page=number, per_page=size)
                assert [t.id for t in page.items] == expected[(number - 1) * size : number * size], (size, number)
                assert page.total == len(expected)
        one = [t.id for t in task_counts.held_page(session, [reports[0]], 10)]  # one person: no merge
        assert one == [t for t in expected if t in tasks[0::2]]
        assert task_counts.held_page(session, [], 10) == []
