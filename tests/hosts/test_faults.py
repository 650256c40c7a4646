"""Three app hosts under load, one fault each: every acknowledged completion is in the history
exactly once, every timer fires exactly once, every request is answered with a success or a
retryable 503 (never a 500, never past the answer bound) except by a host the fault took away,
and instances, worklist rows and jobs agree afterwards. Each test prints its figures; the README's
"Faults and recovery" table is copied from them.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from statistics import median

import pytest

from tests.hosts.database import PrivatePostgres
from tests.hosts.latency import DelayRelay
from tests.hosts.network import Network
from tests.hosts.scenario import Scenario

# One xdist worker runs them all: they share the module's network and database server.
pytestmark = pytest.mark.xdist_group("hosts")

SETTLE = 6.0  # seconds of load before the fault


@contextmanager
def scenario(
    network: Network, postgres: PrivatePostgres, name: str, timers: int, spread: float, host_urls: dict[int, str] | None = None
) -> Iterator[Scenario]:
    run = Scenario(network, postgres, name, timers)
    try:
        for index, url in (host_urls or {}).items():
            run.hosts[index].database_url = url
        run.schedule_timers(first_due=8, spread=spread)
        run.start_hosts()
        run.start_clients()
        time.sleep(SETTLE)
        yield run
    finally:
        run.close()


def _finish(run: Scenario) -> None:
    run.stop_clients()
    run.wait_for_timers(90)


def test_every_process_of_one_host_killed_mid_load(network: Network, postgres: PrivatePostgres) -> None:
    with scenario(network, postgres, "hosts_kill", timers=2000, spread=20) as run:
        victim = run.hosts[1]
        held: list[int] = []

        def kill() -> None:
            pids = victim.kill()
            held.append(run.jobs_held_by(pids))

        run.fault(victim.host.number, kill)
        time.sleep(16)  # past the job lease (10 s): the dead host's jobs are taken over
        victim.start()  # and the host comes back
        victim.wait_ready()
        run.fault_over()
        _finish(run)
        figures = run.check()
        figures.notes["jobs leased by the killed host"] = held[0]
        print(figures.report("SIGKILL of one host"))
    assert figures.timers == 2000
    assert figures.statuses["200"] > 500
    assert figures.recovery is not None and figures.recovery < 10, "the killed host's instances went on elsewhere"


def test_one_hosts_link_cut_for_30_seconds(network: Network, postgres: PrivatePostgres) -> None:
    with scenario(network, postgres, "hosts_cut", timers=500, spread=30) as run:
        cut = run.hosts[0]
        run.fault(cut.host.number, lambda: network.cut(cut.host))
        holding = run.sessions_of(cut.host.address)
        released = None
        started = time.monotonic()
        while time.monotonic() - started < 30:
            if released is None and run.sessions_of(cut.host.address) == 0:
                released = time.monotonic() - started
            time.sleep(0.5)
        network.restore(cut.host)
        run.fault_over()
        back = _first_answer(cut.base, timeout=30)
        time.sleep(6)  # the restored host serves clients again
        _finish(run)
        figures = run.check()
        after = [
            o for o in run.ledger.outcomes if o.host == cut.host.number and o.status == 200 and run.fault_end and o.started > run.fault_end
        ]
        figures.notes.update(
            {
                "sessions in a transaction at the cut": holding,
                "server ended them after (s)": None if released is None else round(released, 1),
                "cut host answering again after (s)": round(back, 1),
            }
        )
        print(figures.report("30 s link cut of one host"))
    assert released is not None and released <= 20, "the server ended the cut host's transactions (their locks) within the limits"
    assert after, "the cut host served successfully again once its link was back"
    assert figures.recovery is None or figures.recovery < 30


def test_postgresql_restarted_under_load(network: Network, postgres: PrivatePostgres) -> None:
    with scenario(network, postgres, "hosts_restart", timers=500, spread=15) as run:
        begun = time.monotonic()
        run.fault(None, postgres.restart)
        restart_took = time.monotonic() - begun
        run.fault_over()
        time.sleep(10)
        _finish(run)
        figures = run.check()
        during = [o for o in run.ledger.outcomes if o.started >= begun]
        first_ok = min((o.started + o.elapsed - begun for o in during if o.op == "complete" and o.status == 200), default=None)
        figures.notes.update({"restart took (s)": round(restart_took, 1), "first completion after (s)": first_ok and round(first_ok, 1)})
        print(figures.report("PostgreSQL restart"))
    assert figures.statuses["503"] > 0, "requests during the restart were told to retry"
    assert first_ok is not None and first_ok < restart_took + 10


def test_latency_on_one_hosts_link(network: Network, postgres: PrivatePostgres) -> None:
    relay_port = postgres.port + 100
    with DelayRelay(network.gateway, relay_port, network.gateway, postgres.port) as relay:
        relayed = {2: postgres.url("hosts_delay").replace(f":{postgres.port}/", f":{relay_port}/")}
        with scenario(network, postgres, "hosts_delay", timers=500, spread=15, host_urls=relayed) as run:
            slow = run.hosts[2]
            run.fault(slow.host.number, lambda: relay.delay(50))
            time.sleep(12)
            relay.delay(0)
            run.fault_over()
            _finish(run)
            figures = run.check()
            window = [
                o for o in run.ledger.outcomes if run.fault_at and run.fault_end and run.fault_at + 1 <= o.started <= run.fault_end - 1
            ]
            slowed = [o.elapsed for o in window if o.host == slow.host.number and o.op == "complete" and o.status == 200]
            others = [o.elapsed for o in window if o.host != slow.host.number and o.op == "complete" and o.status == 200]
            figures.notes.update(
                {"completion median on the slow host (ms)": round(median(slowed) * 1000), "elsewhere (ms)": round(median(others) * 1000)}
            )
            print(figures.report("50 ms round trip added to one host's database link"))
    assert figures.statuses.get("no answer", 0) == 0, "a slow link is slow, not lost"
    assert median(slowed) > median(others) + 0.05, "each round trip to the database paid the added latency"


def _first_answer(base: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not answer within {timeout} s of its link coming back")
