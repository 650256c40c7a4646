"""Every label of the UI is translated: the Chinese catalogue covers every message in the code and
templates, keeps their placeholders, and the compiled catalogue is the one the .po describes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "webui" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
METHODS = [("webui/templates/**.html", "jinja2"), ("webui/**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_in_code_and_templates_has_a_chinese_translation() -> None:
    with (CATALOGUE / "messages.po").open("rb") as f:
        catalogue = read_po(f)
    translated = {}
    for m in catalogue:
        if not m.id:
            continue
        key = m.id[0] if isinstance(m.id, tuple) else m.id
        text = m.string[0] if isinstance(m.string, tuple) else m.string
        assert "fuzzy" not in m.flags, key
        translated[key] = text
    missing = sorted(m for m in _source_messages() if not translated.get(m))
    assert missing == [], "run `make translations` and translate these in the zh_Hans_CN catalogue"
    for msgid, text in translated.items():
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), msgid
    assert len(translated) > 200


def _plain(catalogue: Any) -> dict[str, tuple[str, ...]]:
    """msgid -> translations, whatever shape (str, tuple, list) the reader gives them."""
    flat = {}
    for m in catalogue:
        if m.id:
            key = m.id[0] if isinstance(m.id, (tuple, list)) else m.id
            flat[key] = tuple(m.string) if isinstance(m.string, (tuple, list)) else (m.string,)
    return flat


def test_the_compiled_catalogue_matches_its_source() -> None:
    with (CATALOGUE / "messages.po").open("rb") as f:
        source = _plain(read_po(f))
    with (CATALOGUE / "messages.mo").open("rb") as f:
        compiled = _plain(read_mo(f))
    assert compiled == source, "run `make translations` (pybabel compile) after editing the .po file"
