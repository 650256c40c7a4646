"""The request's language, looked up once: gettext for pages and templates.

Flask-Babel's gettext finds the domain, the locale and the catalogue again on every call (four
context lookups and a locale identifier each time); a worklist page calls it about 170 times.
Here the request's catalogue and whether it is English are kept on `g` after the first call, and
the templates' `_`/`ngettext` use the same. Outside a request, Flask-Babel's own answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.support import NullTranslations
from flask import Flask, g
from flask_babel import get_locale, get_translations


def translations() -> NullTranslations:
    return _cached("_translations", get_translations)  # type: ignore[no-any-return]


def gettext(string: str, **variables: Any) -> str:
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables  # type: ignore[no-any-return]


def english() -> bool:
    """Whether the request's language is English (the product's other language is Chinese)."""
    return bool(_cached("_english", _is_english))


def _cached(name: str, compute: Callable[[], Any]) -> Any:
    """`compute()` once per request and locale: kept on `g` with the locale Flask-Babel chose
    (its `g._flask_babel.babel_locale`), so that a `force_locale` block gets its own."""
    if not g:
        return compute()
    cached = g.get(name)
    if cached is not None and cached[0] is _locale_chosen():
        return cached[1]
    value = compute()
    setattr(g, name, (_locale_chosen(), value))
    return value


def locale_name() -> str:
    """The request's locale as text (zh_Hans_CN, en), for caches keyed by language."""
    return _cached("_locale_name", lambda: str(get_locale()))  # type: ignore[no-any-return]


def number_symbols() -> dict[int, str]:
    """The request's locale's decimal sign, grouping sign and minus sign, as a str.translate table
    from the ones Python's format() writes."""
    return _cached("_number_symbols", _number_symbols)  # type: ignore[no-any-return]


def _number_symbols() -> dict[int, str]:
    locale = get_locale()
    symbols = locale.number_symbols.get(locale.default_numbering_system, {}) if locale is not None else {}
    return str.maketrans({".": symbols.get("decimal", "."), ",": symbols.get("group", ","), "-": symbols.get("minusSign", "-")})


def _locale_chosen() -> Any:
    return getattr(g.get("_flask_babel"), "babel_locale", None)


def _is_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def init_app(app: Flask) -> None:
    """The templates' `_` and `ngettext` through the request's catalogue (after Flask-Babel's setup)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
