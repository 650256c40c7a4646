"""Seeding the demo (every `make run`) deploys a shipped file once, never over an admin's version."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.process_engine import ProcessEngine
from processes.complaint_handling import PARTS as COMPLAINT
from processes.demo import seed_demo
from store.db import Database
from store.schema import upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path, pg_database: Callable[[], str]) -> Iterator[ProcessEngine]:
    url = f"sqlite:///{tmp_path / 'seed.db'}" if request.param == "sqlite" else pg_database()
    upgrade(url)
    engine = ProcessEngine(Database(url))
    yield engine
    engine.db.dispose()


def _latest(engine: ProcessEngine, key: str) -> tuple[int, str]:
    """The latest version's number and the name of its first step."""
    with engine.db.sessions() as session:
        definition = engine.repository.latest(session, key)
        return definition.version, definition.bpmn_xml.split('<bpmn:userTask id="assess" name="', 1)[1].split('"', 1)[0]


def test_a_restart_keeps_the_version_an_admin_deployed(fresh_engine: ProcessEngine) -> None:
    created, deployed = seed_demo(fresh_engine)
    assert created > 0 and all(d.new for d in deployed)
    shipped = COMPLAINT.files[0].read_text(encoding="utf-8")
    edited = shipped.replace('name="判断投诉是否成立"', 'name="判断投诉是否成立（管理员改）"', 1)
    assert edited != shipped
    [mine] = fresh_engine.repository.deploy([("complaint_handling.bpmn", edited.encode())], "admin")
    assert mine.new and mine.version == 2

    created, deployed = seed_demo(fresh_engine)  # the next `make run`
    assert created == 0 and not any(d.new for d in deployed)
    assert _latest(fresh_engine, "complaint_handling") == (2, "判断投诉是否成立（管理员改）")


def test_a_shipped_file_that_changed_since_it_was_seeded_is_deployed(fresh_engine: ProcessEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_demo(fresh_engine)
    shipped = COMPLAINT.files[0].read_text(encoding="utf-8")
    release = shipped.replace('name="判断投诉是否成立"', 'name="判断投诉是否成立（新版）"', 1)
    monkeypatch.setattr("processes.demo.shipped_files", lambda: [("complaint_handling.bpmn", release.encode())])
    _created, deployed = seed_demo(fresh_engine)
    assert [(d.key, d.version, d.new) for d in deployed] == [("complaint_handling", 2, True)]
    assert _latest(fresh_engine, "complaint_handling") == (2, "判断投诉是否成立（新版）")
