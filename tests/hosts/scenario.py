"""One fault scenario: a fresh database, three app hosts, clients on all of them, timers falling
due; a fault at a set moment; then the figures the tests assert and print.

The sequence: seed the database from the test process (the demo organisation, the two test
processes, a user per client, the timer instances due across the run), start every host, start
the clients, let the load settle, apply the fault, let the load run on, stop the clients, wait
until every timer has fired, then read the ledger against the database.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from engine.clock import utcnow
from engine.process_engine import ProcessEngine
from processes.demo import seed_demo
from store.db import Database
from store.models import HistoryEvent, Job, ProcessInstance
from store.schema import upgrade
from tests.conftest import FIXTURES
from tests.flow import Flow
from tests.hosts.app_hosts import AppHost
from tests.hosts.clients import Client, Ledger
from tests.hosts.database import PrivatePostgres
from tests.hosts.network import Network

CLIENTS = 9
PASSWORD = "hosts pass"
# Any answered request takes at most this long (README "Faults and recovery"): the lock timeout,
# the connect timeout and the request's own work, well inside gunicorn's worker timeout.
ANSWER_BOUND = 15.0


@dataclass
class Figures:
    requests: int
    statuses: Counter[str]
    acknowledged_completions: int
    timers: int
    slowest_answer: float
    recovery: float | None  # fault start -> first acknowledged completion on an affected instance
    recovery_all: float | None  # ... the median over the affected instances
    notes: dict[str, Any] = field(default_factory=dict)

    def report(self, name: str) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.statuses.items())]
        recovery = "-" if self.recovery is None else f"{self.recovery:.1f} s (median of the affected {self.recovery_all:.1f} s)"
        return (
            f"[hosts] {name}: {self.requests} requests ({', '.join(parts)}), {self.acknowledged_completions} completions "
            f"acknowledged, {self.timers} timers fired once, slowest answer {self.slowest_answer:.1f} s, "
            f"fault to first completion on an affected instance {recovery} {self.notes}"
        )


class Scenario:
    def __init__(self, network: Network, postgres: PrivatePostgres, name: str, timers: int) -> None:
        self.network, self.postgres = network, postgres
        self.url = postgres.create_database(name)
        upgrade(self.url)
        self.engine = ProcessEngine(Database(self.url))
        self.engine.identity.max_failures_per_address = 1_000_000
        seed_demo(self.engine)
        admin = self._actor("admin")
        for fixture in ("host_orders.bpmn", "host_timers.bpmn"):
            self.engine.repository.deploy([(fixture, (FIXTURES / fixture).read_bytes())], "admin")
        self.users = [f"host_client{n}" for n in range(1, CLIENTS + 1)]
        for username in self.users:
            self.engine.admin.create_user(admin, {"username": username, "password": PASSWORD, "display_name": username, "roles": ["sales"]})
        self.timers = timers
        self.hosts = [AppHost(network, host, self.url) for host in network.hosts]
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.clients: list[Client] = []
        self.fault_at: float | None = None
        self.fault_host: int | None = None
        self.fault_end: float | None = None

    def _actor(self, username: str) -> Any:
        with self.engine.db.sessions() as session:
            return self.engine.identity.actor(session, username)

    def schedule_timers(self, first_due: float, spread: float) -> None:
        """`self.timers` instances waiting for a timer due between `first_due` and
        `first_due + spread` seconds from now, in one transaction."""
        admin = self._actor("admin")
        now = utcnow()
        with self.engine.db.transaction() as session:
            for n in range(self.timers):
                due = now + timedelta(seconds=first_due + spread * n / max(1, self.timers))
                self.engine.runtime.start_in(session, admin, "host_timers", {"due": due.isoformat()})

    # --- running -------------------------------------------------------------------------------

    def start_hosts(self) -> None:
        for host in self.hosts:
            host.start()
        for host in self.hosts:
            host.wait_ready()

    def start_clients(self) -> None:
        addresses = [(h.host.number, h.host.address) for h in self.hosts]
        self.clients = [Client(u, PASSWORD, addresses, self.ledger, self.stop, seed=n) for n, u in enumerate(self.users)]
        for client in self.clients:
            client.start()

    def fault(self, host: int | None, apply: Callable[[], None]) -> None:
        self.fault_at, self.fault_host = time.monotonic(), host
        apply()

    def fault_over(self) -> None:
        self.fault_end = time.monotonic()

    def stop_clients(self) -> None:
        self.stop.set()
        for client in self.clients:
            client.join(timeout=60)
            assert not client.is_alive(), f"{client.name} still running 60 s after the stop"
            assert client.failure is None, f"{client.name} failed: {client.failure!r}"

    def wait_for_timers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.engine.db.sessions() as session:
                left = session.scalar(
                    select(func.count()).select_from(Job).where(Job.kind == "timer", Job.status.in_(("pending", "running")))
                )
            if not left:
                return
            time.sleep(1)
        raise AssertionError(f"{left} timer jobs still waiting {timeout:.0f} s after the load")

    def close(self) -> None:
        self.stop.set()
        for host in self.hosts:
            host.stop()
        self.engine.db.dispose()

    def jobs_held_by(self, pids: list[int]) -> int:
        """Jobs claimed (leased) right now by workers among `pids` (worker ids end in `:<pid>:<run>`)."""
        with self.engine.db.sessions() as session:
            owners = session.scalars(select(Job.lock_owner).where(Job.status == "running"))
            return sum(1 for owner in owners if owner and int(owner.split(":")[-2]) in pids)

    def sessions_of(self, address: str, in_transaction: bool = True) -> int:
        """The host's server sessions (those inside a transaction: the ones that can hold locks)."""
        import psycopg

        with psycopg.connect(self.postgres.url("postgres").replace("+psycopg", ""), autocommit=True) as admin:
            query = "SELECT count(*) FROM pg_stat_activity WHERE client_addr = %s::inet"
            if in_transaction:
                query += " AND xact_start IS NOT NULL"
            row = admin.execute(query, (address,)).fetchone()
        return int(row[0]) if row else 0

    # --- the figures -----------------------------------------------------------------------------

    def check(self) -> Figures:
        """Assert the invariants; return the figures."""
        outcomes = self.ledger.outcomes
        statuses: Counter[str] = Counter("no answer" if o.status is None else str(o.status) for o in outcomes)
        bad = [o for o in outcomes if o.status is not None and (o.status >= 500 and not (o.status == 503 and o.retry_after))]
        assert not bad, f"answers that were neither success nor retryable: {[(o.op, o.status, o.detail) for o in bad[:5]]}"
        unexpected = [o for o in outcomes if o.status in (400, 401, 403, 422)]
        assert not unexpected, f"unexpected refusals: {[(o.op, o.status) for o in unexpected[:5]]}"
        answered = [o for o in outcomes if o.status is not None]
        slowest = max((o.elapsed for o in answered), default=0.0)
        assert slowest <= ANSWER_BOUND, f"an answer took {slowest:.1f} s, past the {ANSWER_BOUND} s bound"
        for o in outcomes:
            if o.status is None:  # only the host the fault took away, only while it was away
                in_fault = self.fault_at is not None and o.started + o.elapsed >= self.fault_at - 1
                in_fault = in_fault and (self.fault_end is None or o.started <= self.fault_end + 1)
                assert in_fault and o.host == self.fault_host, f"no answer from host {o.host} outside the fault ({o.op}: {o.detail})"
        with self.engine.db.sessions() as session:
            completions = Counter(
                session.scalars(select(HistoryEvent.task_id).where(HistoryEvent.action == "complete", HistoryEvent.task_id.is_not(None)))
            )
            messages = Counter(session.scalars(select(HistoryEvent.instance_id).where(HistoryEvent.action == "message")))
            fired = Counter(session.scalars(select(HistoryEvent.instance_id).where(HistoryEvent.action == "timer")))
            timer_instances = list(
                session.execute(select(ProcessInstance.id, ProcessInstance.status).where(ProcessInstance.process_key == "host_timers"))
            )
            order_instances = list(session.scalars(select(ProcessInstance.id).where(ProcessInstance.process_key == "host_orders")))
        lost = [t for t in self.ledger.completed if completions[t] != 1]
        assert not lost, f"acknowledged completions not in the history exactly once: {[(t, completions[t]) for t in lost[:5]]}"
        doubled = [t for t, n in completions.items() if n > 1]
        assert not doubled, f"tasks completed twice: {doubled[:5]}"
        assert all(messages[i] == 1 for i in self.ledger.paid), "an acknowledged message not delivered exactly once"
        assert all(n == 1 for n in messages.values()), "a message delivered twice to one instance"
        assert self.ledger.started <= set(order_instances), "an acknowledged start left no instance"
        assert len(timer_instances) == self.timers
        assert all(status == "completed" and fired[i] == 1 for i, status in timer_instances), (
            f"timers not fired exactly once: {[(i, s, fired[i]) for i, s in timer_instances if s != 'completed' or fired[i] != 1][:5]}"
        )
        flow = Flow(self.engine, self._actor)
        for instance_id in order_instances:
            flow.assert_rows_mirror_workflow(instance_id)
        recovery, recovery_all = self._recovery()
        return Figures(len(outcomes), statuses, len(self.ledger.completed), sum(fired.values()), slowest, recovery, recovery_all)

    def _recovery(self) -> tuple[float | None, float | None]:
        """From the fault to the first acknowledged completion of each affected instance: one
        whose request got no answer or a 503 during the fault (its lock or its host was caught)."""
        if self.fault_at is None:
            return None, None
        affected = {
            o.instance_id
            for o in self.ledger.outcomes
            if o.instance_id is not None and (o.status is None or o.status == 503) and o.started + o.elapsed >= self.fault_at
        }
        firsts = []
        for instance in affected:
            done = [
                o.started + o.elapsed - self.fault_at
                for o in self.ledger.outcomes
                if o.instance_id == instance and o.op == "complete" and o.status == 200 and o.started >= self.fault_at
            ]
            if done:
                firsts.append(min(done))
        if not firsts:
            return None, None
        return min(firsts), statistics.median(firsts)
