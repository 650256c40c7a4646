"""The BPMN MIWG reference models (tests/fixtures/miwg): deploying each ends in a new
version or a per-element list of problems, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidDefinition
from engine.process_engine import ProcessEngine
from tests.conftest import MIWG

FILES = sorted(MIWG.glob("*.bpmn"))


def test_the_corpus_is_there() -> None:
    assert len(FILES) == 21, MIWG


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_reference_model_deploys_or_names_its_problems(engine: ProcessEngine, path: Path) -> None:
    try:
        deployed = engine.repository.deploy([(path.name, path.read_bytes())], "admin")
    except InvalidDefinition as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem["message"] and problem["severity"] in ("error", "warning")
        assert any(p["severity"] == "error" for p in exc.problems)
        return
    assert deployed and all(d.version >= 1 for d in deployed)
