"""The daily check: an open lead or opportunity untouched for 30 days is flagged to its owner and
the sales director (not at 29 days, once per untouched spell, again after a touch and 30 more
days; never a won or lost one), key contacts' birthdays remind the owner on the day, and each run
schedules the next one at 09:00 in the organisation's zone."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from store.models import Job, Notification, Opportunity
from tests.data import lead
from tests.flow import Flow


@pytest.fixture
def owner(new_user: Callable[..., str]) -> str:
    return new_user("sales", ["sales"], superior="sales_dir", display_name="跟进业务员")


def _opportunity(flow: Flow, owner: str, created: datetime, stage: str = "proposal") -> Opportunity:
    customer = flow.engine.customers.create(flow.actor(owner), {"name": f"鄞州{secrets.token_hex(3)}实业有限公司"})
    with flow.engine.db.transaction() as session:
        row = Opportunity(
            customer_id=customer.id, title=f"年度运输合同{secrets.token_hex(2)}", owner=owner, stage=stage, created_at=created
        )
        session.add(row)
        session.flush()
        return row


def _sweep(flow: Flow, at: datetime) -> tuple[set[int], set[int]]:
    with flow.engine.db.transaction() as session:
        result = flow.engine.sweeps.sweep(session, at)
        return set(result.opportunities), set(result.leads)


def _notes(flow: Flow, username: str, kind: str = "untouched") -> list[Notification]:
    with flow.engine.db.sessions() as session:
        return list(session.scalars(select(Notification).where(Notification.username == username, Notification.kind == kind)))


def test_an_opportunity_is_flagged_after_30_days_untouched_once_per_spell(flow: Flow, owner: str) -> None:
    start = datetime.now(UTC)
    opportunity = _opportunity(flow, owner, start)
    won = _opportunity(flow, owner, start, stage="won")

    assert opportunity.id not in _sweep(flow, start + timedelta(days=29))[0]  # not before
    assert _notes(flow, owner) == []
    flagged, _ = _sweep(flow, start + timedelta(days=30, hours=1))
    assert opportunity.id in flagged and won.id not in flagged
    notes = _notes(flow, owner)
    assert len(notes) == 1 and opportunity.title in notes[0].message and notes[0].customer_id == opportunity.customer_id
    director = [n for n in _notes(flow, "sales_dir") if n.at.replace(tzinfo=UTC) == start + timedelta(days=30, hours=1)]
    assert len(director) == 1  # one summary, not a notice per opportunity

    assert opportunity.id not in _sweep(flow, start + timedelta(days=31, hours=1))[0]  # flagged already
    with flow.engine.db.transaction() as session:  # a call is logged on day 40
        session.get(Opportunity, opportunity.id).last_touched_at = start + timedelta(days=40)
    assert opportunity.id not in _sweep(flow, start + timedelta(days=69))[0]
    assert opportunity.id in _sweep(flow, start + timedelta(days=70, hours=1))[0]  # a new untouched spell
    assert len(_notes(flow, owner)) == 2


def test_an_open_lead_nobody_acted_on_is_flagged_to_its_owner(flow: Flow, owner: str) -> None:
    instance = flow.start(owner, "lead_qualification", lead())
    at = datetime.now(UTC) + timedelta(days=31)
    _opportunities, leads = _sweep(flow, at)
    notes = [n for n in _notes(flow, owner) if n.instance_id == instance.id]
    assert leads and len(notes) == 1  # the lead's notice opens its process


def test_a_key_contacts_birthday_reminds_the_owner_on_the_day(flow: Flow, owner: str) -> None:
    customer = flow.engine.customers.create(flow.actor(owner), {"name": f"江北{secrets.token_hex(3)}进出口有限公司"})
    at = datetime.now(UTC)
    today = at.astimezone(flow.engine.settings.timezone).date()
    born = date(1980, today.month, today.day) if (today.month, today.day) != (2, 29) else date(1980, 2, 29)
    key = flow.engine.customers.add_contact(
        flow.actor(owner), customer.id, {"name": "陈总", "birthday": born.isoformat(), "relationship": "key"}
    )
    flow.engine.customers.add_contact(
        flow.actor(owner), customer.id, {"name": "小李", "birthday": born.isoformat(), "relationship": "normal"}
    )
    with flow.engine.db.transaction() as session:
        found = flow.engine.sweeps.sweep(session, at).birthdays
        tomorrow = flow.engine.sweeps.sweep(session, at + timedelta(days=1)).birthdays
    assert key.id in found and key.id not in tomorrow
    notes = _notes(flow, owner, "birthday")
    assert len(notes) == 1 and "陈总" in notes[0].message and notes[0].customer_id == customer.id


def test_a_leap_day_birthday_is_remembered_on_28_february_in_other_years(flow: Flow, owner: str) -> None:
    customer = flow.engine.customers.create(flow.actor(owner), {"name": f"海曙{secrets.token_hex(3)}贸易有限公司"})
    key = flow.engine.customers.add_contact(
        flow.actor(owner), customer.id, {"name": "周总", "birthday": "1988-02-29", "relationship": "key"}
    )
    with flow.engine.db.sessions() as session:  # looked at, not kept
        assert key.id in flow.engine.sweeps.sweep(session, datetime(2027, 2, 28, 2, 0, tzinfo=UTC)).birthdays
        assert key.id not in flow.engine.sweeps.sweep(session, datetime(2027, 3, 1, 2, 0, tzinfo=UTC)).birthdays
        assert key.id in flow.engine.sweeps.sweep(session, datetime(2028, 2, 29, 2, 0, tzinfo=UTC)).birthdays
        assert key.id not in flow.engine.sweeps.sweep(session, datetime(2028, 2, 28, 2, 0, tzinfo=UTC)).birthdays


def test_the_next_run_is_the_next_nine_oclock_in_the_organisations_zone(flow: Flow) -> None:
    sweeps = flow.engine.sweeps
    assert sweeps.next_run(datetime(2027, 2, 27, 2, 0, tzinfo=UTC)) == datetime(2027, 2, 28, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    assert sweeps.next_run(datetime(2027, 2, 27, 0, 30, tzinfo=UTC)) == datetime(2027, 2, 27, 1, 0, tzinfo=UTC)


def test_each_run_schedules_the_next_one(flow: Flow) -> None:
    at = datetime.now(UTC) + timedelta(days=400)
    with flow.engine.db.sessions() as session:  # looked at, not kept
        job = Job(kind="daily_sweep", due_at=at, run_at=at, payload={}, created_at=at)
        session.add(job)
        session.flush()
        pending_before = session.scalars(select(Job.id).where(Job.kind == "daily_sweep", Job.status == "pending", Job.id != job.id)).all()
        for other in pending_before:  # the chain the migration started: set aside for this test
            session.get(Job, other).status = "obsolete"
        assert flow.engine.sweeps.run(session, job, at) == "fired"
        nxt = session.scalars(select(Job).where(Job.kind == "daily_sweep", Job.status == "pending", Job.id != job.id)).all()
        assert [n.run_at.replace(tzinfo=UTC) if n.run_at.tzinfo is None else n.run_at for n in nxt] == [flow.engine.sweeps.next_run(at)]
        assert flow.engine.sweeps.run(session, job, at) == "fired"  # run again (a retry): still one next run
        assert len(session.scalars(select(Job).where(Job.kind == "daily_sweep", Job.status == "pending", Job.id != job.id)).all()) == 1
