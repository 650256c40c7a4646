"""Form field patterns, which admins write and every user's submission runs: bounded in time.

A backtracking matcher takes exponential time on patterns such as `(a+)+` (4.8 s at 27 characters,
doubling per character, while the request holds its instance's lock). Two defences: a pattern with
a quantified group that itself contains a quantifier is refused at deploy, and every match runs
under a time limit (the `regex` package's timeout), so a pattern that slips through the check, like
`(a|aa)+`, costs at most that long and gives the user a clear field message.
"""

from __future__ import annotations

import regex

MATCH_SECONDS = 0.05
MAX_PATTERN = 500


class PatternTimeout(Exception):
    """A match ran out of time: the value is neither accepted nor refused by the pattern."""


def problem(pattern: str) -> str | None:
    """Why a pattern cannot be used, or None."""
    if len(pattern) > MAX_PATTERN:
        return f"pattern is longer than {MAX_PATTERN} characters"
    try:
        regex.compile(pattern)
    except (regex.error, ValueError, TypeError):
        return "pattern is not a valid regular expression"
    nested = _nested_quantifier(pattern)
    if nested:
        return (
            f"pattern repeats a group that repeats inside ('{nested}'): it can take exponential time; rewrite it without the outer repeat"
        )
    return None


def fullmatch(pattern: str, value: str) -> bool:
    try:
        return regex.fullmatch(pattern, value, timeout=MATCH_SECONDS) is not None
    except TimeoutError as exc:
        raise PatternTimeout(pattern) from exc


_BOUNDS = regex.compile(r"\{(\d*)(,?)(\d*)\}")


def _variable_quantifier(pattern: str, i: int) -> int:
    """Length of a quantifier at i that repeats a variable number of times (`*`, `+`, `{n,}`,
    `{n,m}` with m > n), else 0. A fixed count such as `{3}` cannot backtrack."""
    if i >= len(pattern):
        return 0
    if pattern[i] in "*+":
        return 1
    bounds = _BOUNDS.match(pattern, i)
    if bounds is None or not (bounds.group(1) or bounds.group(3)):
        return 0
    low, comma, high = bounds.groups()
    variable = bool(comma) and (not high or int(high) > int(low or 0))
    return bounds.end() - i if variable else 0


def _nested_quantifier(pattern: str) -> str | None:
    """The first group that repeats a variable number of times and contains such a repeat itself
    (`(a+)+`, `(\\d*,)*`), as text; None if there is none."""
    groups: list[list[int]] = []  # open groups: [start, contains a variable repeat]
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":  # a leading ']' is a literal
                i += 1
        elif char == "(":
            groups.append([i, 0])
        elif char == ")" and groups:
            start, inner = groups.pop()
            outer = _variable_quantifier(pattern, i + 1)
            if inner and outer:
                return pattern[start : i + 1 + outer]
            if (inner or outer) and groups:
                groups[-1][1] = 1
        elif _variable_quantifier(pattern, i) and groups:
            groups[-1][1] = 1
        i += 1
    return None
