"""The benchmark harness runs and reports every headline key (numbers or null); no timed assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.__main__ import KEYS, TARGETS

ROOT = Path(__file__).resolve().parents[2]


def test_quick_harness_reports_every_key() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", "--only", "floor,engine", "--no-postgres", "--scale", "0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    flat = json.loads(result.stdout.strip().splitlines()[-1])
    for key in KEYS:
        assert key in flat, key
        assert flat[key] is None or isinstance(flat[key], (int, float)), (key, flat[key])
    assert flat["errors"] == {}, flat["errors"]
    # What this run measured is there; what it skipped (PostgreSQL, HTTP, ...) is null, not invented.
    for key in ("floor_complete_per_s", "floor_serialized_complete_per_s", "engine_complete_per_s_sqlite"):
        assert flat[key] > 0, key
    for key in ("engine_complete_per_s_pg", "http_complete_per_s", "worklist_p95_ms_1m", "timer_jobs_per_s_4proc"):
        assert flat[key] is None, key
    assert set(flat["targets"]) == set(TARGETS)
