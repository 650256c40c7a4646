"""A loop that runs past what SpiffWorkflow can follow stops with an error; it never ends the
instance as 'completed' with work still open."""

from __future__ import annotations

import pytest

from engine.errors import ProcessError
from tests.conftest import FIXTURES
from tests.flow import Flow


def test_a_short_loop_reaches_its_task(flow: Flow) -> None:
    flow.engine.repository.deploy([("long_loop.bpmn", (FIXTURES / "long_loop.bpmn").read_bytes())], "admin")
    instance = flow.start("cs_agent1", "long_loop", {"rounds": 20})
    assert instance.status == "running" and flow.task_keys(instance.id) == ["check"]
    assert instance.data["count"] == 20


def test_a_loop_beyond_the_engines_reach_is_refused_not_completed(flow: Flow) -> None:
    flow.engine.repository.deploy([("long_loop.bpmn", (FIXTURES / "long_loop.bpmn").read_bytes())], "admin")
    with pytest.raises(ProcessError, match="a loop runs too often"):
        flow.start("cs_agent1", "long_loop", {"rounds": 400})
