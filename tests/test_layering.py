"""The layers, as the package docstrings state them: webui -> engine -> store, data one way.

Read from the source (every import statement, also those inside functions), so a shortcut that
works today fails here before it becomes a habit."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLASK = ("flask", "flask_babel", "flask_login", "flask_wtf", "werkzeug")


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offending(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        bad = sorted(n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in forbidden))
        if bad:
            found[path.name if not path.is_relative_to(ROOT) else str(path.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize("package", ["engine", "store", "processes"])
def test_no_flask_below_the_web_layer(package: str) -> None:
    assert _offending(_modules(package), (*FLASK, "webui")) == {}


def test_the_bpmn_adapter_never_touches_the_database_or_the_services() -> None:
    forbidden = ("store", "sqlalchemy", "engine.services", "engine.operations", "engine.process_engine", "processes")
    assert _offending(_modules("engine/bpmn"), forbidden) == {}


def test_the_engine_finds_process_packages_only_through_their_registration() -> None:
    assert _offending(_modules("engine"), ("processes",)) == {}


def test_the_store_knows_nothing_of_the_engine() -> None:
    assert _offending(_modules("store"), ("engine", "SpiffWorkflow", "processes")) == {}


def test_spiffworkflow_is_used_only_by_the_engine() -> None:
    paths = [*_modules("webui"), *_modules("processes"), ROOT / "app.py"]
    assert _offending(paths, ("SpiffWorkflow",)) == {}


PRIVATE_SPIFF = re.compile(r"\.(_get_internal_data|_set_internal_data|_do_engine_steps|_children|_parent|_sync_children)\b")


def test_spiffworkflows_private_api_is_reached_from_one_module() -> None:
    users = {
        str(p.relative_to(ROOT))
        for package in ("engine", "webui", "processes", "store")
        for p in _modules(package)
        if PRIVATE_SPIFF.search(p.read_text())
    }
    assert users == {"engine/bpmn/internals.py"}


def test_pages_and_the_api_read_through_the_engine_services() -> None:
    """webui builds no query of its own: sessions pass through as types, database errors are
    mapped to answers, and every read is a service's method (one place to make it fast and safe)."""

    def allowed(name: str) -> bool:
        return name in ("sqlalchemy.orm", "sqlalchemy.orm.Session", "sqlalchemy.exc") or name.startswith("sqlalchemy.exc.")

    found = {
        str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] == "sqlalchemy" and not allowed(n))
        for p in _modules("webui")
    }
    assert {k: v for k, v in found.items() if v} == {}
    queries = re.compile(r"\bsession\.(execute|scalars?|query)\(")
    assert [str(p.relative_to(ROOT)) for p in _modules("webui") if queries.search(p.read_text())] == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from flask import g\n    import store.models\n")
    assert _offending([module], ("flask", "store")) == {"m.py": ["flask", "flask.g", "store.models"]}


def test_who_may_do_what_is_decided_in_the_authorization_module() -> None:
    """The facts a rule is made of (admin, superior, candidate) are read only where rules live."""
    fact = re.compile(r"\.(is_admin|is_superior_of|is_candidate|subordinates)\b")
    readers = {
        str(p.relative_to(ROOT))
        for package in ("engine/services", "webui", "processes")
        for p in _modules(package)
        if fact.search(p.read_text())
    }
    # identity defines the facts; the worklist and task services scope queries by the reporting line
    assert readers <= {"engine/services/identity.py", "engine/services/tasks.py", "engine/services/worklist.py", "webui/extensions.py"}
