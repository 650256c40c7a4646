"""The request's catalogue, looked up once per request, still follows the locale Flask-Babel chose
for the moment (a forced locale gets its own)."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from webui import i18n


def test_the_request_catalogue_follows_a_forced_locale(app: Flask) -> None:
    with app.test_request_context("/"):
        with force_locale("en"):
            assert i18n.english()
            assert i18n.gettext("Worklist") == "Worklist"
        with force_locale("zh_Hans_CN"):
            assert not i18n.english()
            assert i18n.gettext("Worklist") == "待办事项"
        with force_locale("en"):
            assert i18n.ngettext("%(num)d item", "%(num)d items", 3) == "3 items"
