"""What the expression sandbox costs: a trivial condition in the app's process against the same
kind of work sent to a sandbox process, a sandboxed script, and replacing a killed process."""

from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any

from engine.bpmn import expressions, sandbox
from engine.errors import ExpressionError

TRIVIAL = "step_index < len(approvers) and decision == 'approve'"
SANDBOXED = "sum([step_index, 1]) < len(approvers) and decision == 'approve'"
SCRIPT = "total = sum([len(a) * 2 for a in approvers])\nstep_index = step_index + 1"
RUNAWAY = "len(sum([[1]*100000]*100000, [])) > 0"


def _timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def measure(n: int) -> dict[str, Any]:
    data = {"step_index": 1, "approvers": ["a", "b", "c"], "decision": "approve"}
    assert expressions.runs_in_process(TRIVIAL) and not expressions.runs_in_process(SANDBOXED)
    expressions.evaluate(SANDBOXED, data)  # start the sandbox process outside the timing
    trivial = _timed(lambda: expressions.evaluate(TRIVIAL, data), n * 10)
    sandboxed = _timed(lambda: expressions.evaluate(SANDBOXED, data), n)
    script = _timed(lambda: expressions.execute_script(SCRIPT, dict(data)), n)
    started = time.perf_counter()
    with contextlib.suppress(ExpressionError):  # stopped, as it must be
        expressions.evaluate(RUNAWAY, data)
    stopped_ms = (time.perf_counter() - started) * 1000
    replaced = _timed(lambda: expressions.evaluate(SANDBOXED, data), 1)[0]  # includes starting a new process
    return {
        "trivial_eval_us_p50": round(statistics.median(trivial) * 1000, 1),
        "sandbox_eval_ms_p50": round(statistics.median(sandboxed), 3),
        "sandbox_eval_ms_p95": round(_p95(sandboxed), 3),
        "sandbox_script_ms_p50": round(statistics.median(script), 3),
        "sandbox_vs_trivial": round(statistics.median(sandboxed) / statistics.median(trivial), 1),
        "runaway_stopped_ms": round(stopped_ms, 1),
        "expression_limit_ms": sandbox.EXPRESSION_SECONDS * 1000,
        "first_after_kill_ms": round(replaced, 1),
        "samples": n,
    }
