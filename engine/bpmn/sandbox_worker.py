"""The sandbox process: reads one job at a time from stdin, answers on stdout, under rlimits.

Started by engine.bpmn.sandbox as `python -I -c ... <memory MB>`. Before the first job it limits
its own address space, core dumps and file writes, and gives up root if it has it; for each job it sets the CPU-time limit to what
it has used plus the job's seconds, so a C call that ignores the trace budget is still ended by
SIGXCPU even if the app's wall-clock kill were late.
"""

from __future__ import annotations

import math
import os
import resource
import sys
from collections.abc import Callable
from typing import Any

from engine.bpmn import expressions, sandbox_wire
from engine.bpmn.sandbox import MAX_RESULT_ITEMS
from engine.errors import ExpressionError

_IN, _OUT = 0, 1
NOBODY = 65534


def _send(message: Any) -> None:
    data = sandbox_wire.frame(message)
    while data:
        data = data[os.write(_OUT, data) :]


def _receive() -> Any:
    n = sandbox_wire.unframe_length(sandbox_wire.read_exactly(_IN, 4))
    return sandbox_wire.parse(sandbox_wire.read_exactly(_IN, n))


def _proxy(name: str) -> Callable[..., Any]:
    """An offered function: the call is made by the app, which has the database."""

    def call(*args: Any, **kwargs: Any) -> Any:
        _send(["call", name, list(args), kwargs])
        answer = _receive()
        if answer[0] == "ok":
            return answer[1]
        raise ExpressionError(str(answer[1]))

    call.__name__ = name
    return call


def _run(job: dict[str, Any]) -> Any:
    functions: dict[str, Any] = {name: _proxy(name) for name in job["functions"]}
    values = job["values"]
    context = job["context"]
    if job["kind"] == "evaluate":
        value = expressions.evaluate_here(job["text"], {**context, **values}, functions)
        expressions.check_size("the value", value, [MAX_RESULT_ITEMS])
        return value
    expressions.execute_here(job["text"], context, {**functions, **values})
    return context


def _limit_cpu(seconds: float) -> None:
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(spent + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main() -> None:
    memory = int(sys.argv[1]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    if os.getuid() == 0:  # run as nobody when the app runs as root (CI, containers)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    _send(["ready"])
    while True:
        try:
            job = _receive()
        except EOFError:
            return  # the app closed the pipe: it is gone or done with us
        _limit_cpu(float(job["seconds"]))
        try:
            _send(["ok", _run(job)])
        except ExpressionError as exc:
            _send(["error", exc.message, False])
        except MemoryError:
            _send(["error", f"stopped: it needed more than {sys.argv[1]} MB", True])
            return
        except RecursionError:
            _send(["error", "too deeply nested", False])
        except sandbox_wire.WireError as exc:
            _send(["error", str(exc), False])
        except Exception as exc:  # the expression's own error (NameError, TypeError ...), reported by type
            _send(["raise", type(exc).__name__, str(exc)])
