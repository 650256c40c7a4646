"""One racing client in its own OS process (tests/engine/test_races.py).

    python -m tests.engine.services.race_client URL USERNAME GATE_DIR PLAN_JSON

PLAN_JSON is a list of [action, target, data]: action is claim_complete, complete, message or
run_due. Each client, once loaded, writes GATE_DIR/ready-<pid> and waits for GATE_DIR/go, so
all clients start at the same moment; then it prints a JSON list with the outcome of each
step: ok, or the engine error's code.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import EngineError
from engine.process_engine import ProcessEngine
from store.db import Database


def run(engine: ProcessEngine, username: str, action: str, target: Any, data: Any) -> str:
    with engine.db.sessions() as session:
        actor = engine.identity.actor(session, username)
    try:
        if action == "claim_complete":
            engine.tasks.claim(actor, target)
            engine.tasks.complete(actor, target, data)
        elif action == "complete":
            engine.tasks.complete(actor, target, data)
        elif action == "message":
            engine.runtime.correlate_message(actor, data["name"], instance_id=target, data=data.get("payload"))
        elif action == "run_due":
            engine.jobs.run_due(datetime.fromisoformat(target))
        else:
            return f"unknown action {action}"
    except EngineError as exc:
        return exc.code
    return "ok"


def main(url: str, username: str, gate: str, plan: str) -> None:
    engine = ProcessEngine(Database(url))
    with engine.db.sessions() as session:
        engine.identity.actor(session, username)  # connect and warm up before the start
    steps = json.loads(plan)
    (Path(gate) / f"ready-{os.getpid()}").write_text("ready")
    deadline = time.monotonic() + 120
    while not (Path(gate) / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    print(json.dumps([run(engine, username, *step) for step in steps]), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
