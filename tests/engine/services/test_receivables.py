"""The receivables board: each open installment in the bucket its due date falls in (overdue,
today, this week, this month, in the organisation's zone), how many and how much per bucket, and
who sees which (as customers: the owner and superiors, the sales assistants, director, gm)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from engine.errors import Forbidden
from tests.flow import Flow

OFFSETS = (-3, 0, 1, 6, 20, 40)


@pytest.fixture
def owner(new_user: Callable[..., str]) -> str:
    return new_user("sales", ["sales"], superior="sales_dir", display_name="收款业务员")


def _expected(today: date, due: date) -> set[str]:
    """The buckets a due date belongs to: this week and this month include today."""
    week_end = today + timedelta(days=7 - today.weekday())
    month_end = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    if due < today:
        return {"overdue", "all"}
    found = {"all"}
    for bucket, inside in (("today", due == today), ("week", due < week_end), ("month", due < month_end)):
        if inside:
            found.add(bucket)
    return found


def test_each_receivable_falls_in_its_buckets_with_the_amounts(flow: Flow, owner: str) -> None:
    today = flow.engine.identity.today()
    dues = {}
    for i, days in enumerate(OFFSETS):
        due = today + timedelta(days=days)
        data = {"customer": f"余姚{secrets.token_hex(3)}", "contract_no": f"HT-{i}", "amount": 100 * (i + 1), "due_date": due.isoformat()}
        instance = flow.start("sales_asst", "receivable_collection", {**data, "owner": owner})
        dues[instance.id] = (due, 100 * (i + 1))

    with flow.engine.db.sessions() as session:
        boards = {
            b: flow.engine.receivables.board(session, flow.actor("sales_asst"), b, owner)
            for b in ("overdue", "today", "week", "month", "all")
        }
    for bucket, board in boards.items():
        expected = {i for i, (due, _amount) in dues.items() if bucket in _expected(today, due)}
        assert {r.task.instance_id for r in board.items} == expected, bucket
        assert board.counts[bucket] == len(expected)
        assert board.outstanding[bucket] == sum(dues[i][1] for i in expected)
        assert all(r.owner == owner for r in board.items)
    listed = [r.task.due_at for r in boards["all"].items]
    assert listed == sorted(listed)  # soonest first
    rows = {r.task.instance_id: r.bucket for r in boards["all"].items}
    overdue_id = next(i for i, (due, _a) in dues.items() if due < today)
    assert rows[overdue_id] == "overdue"

    # A partial payment leaves the rest outstanding on the board.
    first = boards["overdue"].items[0].task
    flow.engine.tasks.complete(flow.actor("sales_asst"), first.id, {"paid_amount": 30})
    with flow.engine.db.sessions() as session:
        after = flow.engine.receivables.board(session, flow.actor("sales_asst"), "overdue", owner)
    assert [float(r.task.amount) for r in after.items] == [dues[first.instance_id][1] - 30]


def test_who_sees_which_receivables(flow: Flow, owner: str) -> None:
    due = flow.engine.identity.today().isoformat()
    data = {"customer": f"象山{secrets.token_hex(3)}", "contract_no": "HT-V", "amount": 50, "due_date": due, "owner": owner}
    instance = flow.start("sales_asst", "receivable_collection", data)

    def sees(username: str) -> bool:
        with flow.engine.db.sessions() as session:
            board = flow.engine.receivables.board(session, flow.actor(username), "all", owner)
        return instance.id in {r.task.instance_id for r in board.items}

    assert sees(owner) and sees("sales_dir") and sees("sales_asst") and sees("gm")  # the owner's superior, the wide roles
    assert not sees("sales2")  # a colleague
    with flow.engine.db.sessions() as session, pytest.raises(Forbidden):
        flow.engine.receivables.board(session, flow.actor("cs_agent1"), "all")
