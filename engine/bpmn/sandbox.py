"""Expressions and scripts that could run long, in separate processes that can be stopped.

A trace function cannot interrupt one C call (`'%0100000000d' % 0`, `sum(lists, [])`), so
checking the code is not enough: anything beyond the trivial (see `expressions.runs_in_process`)
runs in a small pool of sandbox processes, each with an address-space limit (MEMORY_MB) and a
CPU-time limit, and the app waits for the answer only until a wall-clock deadline
(EXPRESSION_SECONDS, SCRIPT_SECONDS). A process that overruns is killed and replaced; the caller
gets an ExpressionError, so the action fails as a whole and the instance lock is released in time.

The sandbox process knows nothing of the database: functions offered to expressions
(`manager_of`) are called back in the app, over the same pipe, under the same deadline.
"""

from __future__ import annotations

import atexit
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from engine.bpmn import sandbox_wire as wire
from engine.errors import EngineError, ExpressionError

EXPRESSION_SECONDS = 1.0  # wall clock for one condition, due date or other expression
SCRIPT_SECONDS = 2.0  # wall clock for one script task
MEMORY_MB = 256  # address space of one sandbox process
WORKERS = 2  # sandbox processes per app process (SANDBOX_WORKERS)
MAX_SEQUENCE = 100_000  # longest string/list an operation may build, and a stored variable may hold
MAX_RESULT_ITEMS = 1_000_000  # items and characters, all nested values of a script's changes together
START_SECONDS = 10.0  # a sandbox process that is not ready by then is a failure, not a wait

_ROOT = Path(__file__).resolve().parents[2]
_BOOT = f"import sys; sys.path.insert(0, {str(_ROOT)!r}); from engine.bpmn.sandbox_worker import main; main()"
# Errors an expression can raise that Spiff and the pages explain by their type; others become ExpressionError.
RAISABLE: dict[str, type[Exception]] = {
    e.__name__: e
    for e in (NameError, TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, AttributeError, OverflowError, ArithmeticError)
}


def limits() -> dict[str, Any]:
    """The limits as validation reports them."""
    return {
        "expression_seconds": EXPRESSION_SECONDS,
        "script_seconds": SCRIPT_SECONDS,
        "memory_mb": MEMORY_MB,
        "max_sequence": MAX_SEQUENCE,
        "workers": WORKERS,
    }


def configure(workers: int) -> None:
    """Set the pool size (engine.config's SANDBOX_WORKERS); running processes are kept."""
    global WORKERS
    WORKERS = workers
    _pool().size = workers


class _Stopped(Exception):
    """The sandbox process ended, or answered what is not an answer."""


class _Overran(_Stopped):
    """No answer by the deadline."""


class _Process:
    """One sandbox process and its pipes."""

    def __init__(self) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, str(MEMORY_MB)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            close_fds=True,
            start_new_session=True,  # a terminal's Ctrl-C reaches the app, which then closes the pipes
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.inp = self.popen.stdin.fileno()
        self.out = self.popen.stdout.fileno()
        if self.receive(time.monotonic() + START_SECONDS) != ["ready"]:
            self.kill()
            raise _Stopped("the sandbox process did not start")

    def send(self, message: Any) -> None:
        self.send_frame(wire.frame(message))

    def send_frame(self, frame: bytes) -> None:
        data = memoryview(frame)
        try:
            while data:
                data = data[os.write(self.inp, data) :]
        except OSError as exc:  # BrokenPipeError: it ended
            raise _Stopped("the sandbox process ended") from exc

    def _read(self, n: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.out], [], [], remaining)[0]:
                raise _Overran("timeout")
            chunk = os.read(self.out, min(n, 1 << 20))
            if not chunk:
                raise _Stopped("the sandbox process ended")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def receive(self, deadline: float) -> Any:
        n = wire.unframe_length(self._read(4, deadline))
        return wire.parse(self._read(n, deadline))

    def exchange(self, request: bytes, functions: Mapping[str, Callable[..., Any]], deadline: float) -> list[Any]:
        """Send a job (framed); answer its calls of offered functions; return its result message."""
        self.send_frame(request)
        while True:
            message = self.receive(deadline)
            if not isinstance(message, list) or not message:
                raise _Stopped("the sandbox process answered nonsense")
            if message[0] != "call":
                return message
            self.send(_answer_call(functions, message))

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()

    def ended_by(self) -> str:
        code = self.popen.poll()
        if code is None:
            return ""
        return f" (signal {-code})" if code < 0 else f" (exit {code})"


def _answer_call(functions: Mapping[str, Callable[..., Any]], message: list[Any]) -> list[Any]:
    try:
        _, name, args, kwargs = message
        fn = functions.get(name)
        if fn is None or not isinstance(args, list) or not isinstance(kwargs, dict):
            return ["error", f"function '{name}' is not available"]
        value = fn(*args, **kwargs)
        wire.encode(value)
        return ["ok", value]
    except EngineError as exc:
        return ["error", exc.message]
    except (TypeError, ValueError) as exc:
        return ["error", f"{exc}"]


class _Pool:
    """At most `size` sandbox processes of this app process, started when first needed."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: list[_Process] = []
        self.count = 0
        self.cond = threading.Condition()
        self.pid = os.getpid()

    def acquire(self, wait: float) -> _Process:
        deadline = time.monotonic() + wait
        with self.cond:
            while not self.idle and self.count >= self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ExpressionError("the expression sandbox is busy: try again in a moment")
                self.cond.wait(remaining)
            if self.idle:
                return self.idle.pop()
            self.count += 1
        try:
            return _Process()
        except (OSError, _Stopped, wire.WireError) as exc:
            self.release(None)
            raise ExpressionError("the expression sandbox could not be started") from exc

    def release(self, process: _Process | None) -> None:
        with self.cond:
            if process is not None and process.popen.poll() is None:
                self.idle.append(process)
            else:
                self.count -= 1
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            idle, self.idle = self.idle, []
            self.count -= len(idle)
        for process in idle:
            process.kill()


_pools: dict[int, _Pool] = {}
_pools_lock = threading.Lock()


def _pool() -> _Pool:
    """This process's pool: after a fork (gunicorn's workers) the parent's pipes are not ours."""
    pid = os.getpid()
    with _pools_lock:
        pool = _pools.get(pid)
        if pool is None:
            _pools.clear()
            pool = _pools[pid] = _Pool(WORKERS)
        return pool


@atexit.register
def _close() -> None:
    pool = _pools.get(os.getpid())
    if pool is not None:
        pool.close()


def run(kind: str, text: str, context: dict[str, Any], extra: Mapping[str, Any] | None, seconds: float) -> Any:
    """Evaluate (`kind` "evaluate") or execute ("execute") `text` in a sandbox process.

    `extra` holds the offered functions (called back here) and any other outside values. An
    executed script's variables replace `context`'s; an evaluation's value is returned."""
    functions = {k: v for k, v in (extra or {}).items() if callable(v)}
    values = {k: v for k, v in (extra or {}).items() if not callable(v)}
    request = {"kind": kind, "text": text, "context": context, "values": values, "functions": sorted(functions), "seconds": seconds}
    try:
        framed = wire.frame(request)  # once: the task data is encoded here and sent as it is
    except wire.WireError as exc:
        raise ExpressionError(str(exc)) from exc
    what = "script" if kind == "execute" else "expression"
    pool = _pool()
    process = pool.acquire(seconds)
    try:
        answer = process.exchange(framed, functions, time.monotonic() + seconds)
    except (_Stopped, wire.WireError) as exc:
        ended = process.ended_by()
        process.kill()
        pool.release(None)
        if isinstance(exc, _Overran):
            raise ExpressionError(f"{what} stopped: it ran longer than {seconds:g} s") from None
        raise ExpressionError(f"{what} stopped: its sandbox process ended{ended} (limits {MEMORY_MB} MB, {seconds:g} s)") from None
    if answer[0] == "error" and answer[2:3] == [True]:
        process.kill()  # it asked to be replaced (out of memory)
        pool.release(None)
    else:
        pool.release(process)
    return _result(answer, kind, context)


def _result(answer: list[Any], kind: str, context: dict[str, Any]) -> Any:
    if answer[0] == "ok":
        if kind == "execute":
            context.clear()
            context.update(answer[1])
            return None
        return answer[1]
    if answer[0] == "raise":  # ["raise", type name, message]
        if answer[1] in RAISABLE:
            raise RAISABLE[answer[1]](answer[2])
        raise ExpressionError(f"{answer[1]}: {answer[2]}")
    raise ExpressionError(str(answer[1]))  # ["error", message, replace the process]
