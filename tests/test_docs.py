"""The documents a newcomer reads stay true to the tree: every repository path they name exists,
and none points outside the repository (a clone has nothing beside it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "SECURITY.md", "docs/domain.md", "docs/api.md", "tests/fixtures/miwg/README.md"]
TOP = ("engine", "store", "webui", "processes", "tests", "bench", "docs", ".ci")
PATH = re.compile(r"(?<![\w/.-])((?:" + "|".join(re.escape(t) for t in TOP) + r")/[\w./*<>-]*[\w/*>])")


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_path_a_document_names_exists(document: str) -> None:
    text = (ROOT / document).read_text()
    named = {m.group(1).rstrip("/.") for m in PATH.finditer(text)}
    missing = sorted(p for p in named if "<" not in p and "*" not in p and not (ROOT / p).exists())
    assert missing == [], f"{document} names paths that do not exist"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_no_document_points_outside_the_repository(document: str) -> None:
    assert "../" not in (ROOT / document).read_text()
