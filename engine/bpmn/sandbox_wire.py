"""What passes between the app and a sandbox process: length-prefixed JSON frames.

JSON, not pickle: the app reads what the sandbox process writes, and unpickling lets the writer
run code in the reader. The values of task data (JSON types plus the dates, decimals, tuples and
sets that scripts and operations make) are tagged so that they come back as what they were.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

TAG = "$crm"
MAX_FRAME = 64 * 1024 * 1024  # the most either side reads: a task's data and a script's result


class WireError(ValueError):
    """A value that cannot cross to the sandbox, or a frame that is not one."""


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode(v) for k, v in value.items()}
        return {TAG: "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {TAG: "set", "v": [encode(v) for v in value]}
    if isinstance(value, datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {TAG: "timedelta", "v": value.total_seconds()}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    raise WireError(f"a {type(value).__name__} cannot be passed to the sandbox")


_DECODERS = {
    "tuple": lambda v: tuple(decode(x) for x in v),
    "set": lambda v: {decode(x) for x in v},
    "dict": lambda v: {decode(k): decode(x) for k, x in v},
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "timedelta": lambda v: timedelta(seconds=v),
    "decimal": Decimal,
}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        tag = value.get(TAG)
        if tag is None:
            return {k: decode(v) for k, v in value.items()}
        if tag not in _DECODERS:
            raise WireError(f"unknown value tag '{tag}'")
        return _DECODERS[tag](value["v"])
    return value


def frame(message: Any) -> bytes:
    body = json.dumps(encode(message), ensure_ascii=False, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME:
        raise WireError("the data is too large to pass to the sandbox")
    return len(body).to_bytes(4, "big") + body


def read_exactly(fd: int, n: int) -> bytes:
    """Blocking read of n bytes (the sandbox side; the app side reads under a deadline)."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def unframe_length(header: bytes) -> int:
    n = int.from_bytes(header, "big")
    if n > MAX_FRAME:
        raise WireError("frame too large")
    return n


def parse(body: bytes) -> Any:
    try:
        return decode(json.loads(body))
    except (ValueError, TypeError, KeyError) as exc:
        raise WireError(f"not a sandbox frame: {exc}") from exc
