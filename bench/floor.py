"""The floor: SpiffWorkflow alone, no database, starting and completing the five-step process.

Three variants do the same work per completion (find the task by id, set its data, run it, run
engine steps to the next wait state, find the next ready user task):
- in memory: the workflow objects stay alive between steps;
- serialized (instance only): the state is serialized before and deserialized after every step
  with the instance-only converter the engine stores (the spec is parsed once and cached), the
  least any database-backed server must do; this is the floor the engine target is measured against;
- serialized (stock): the same with SpiffWorkflow's stock serializer, which writes the whole spec
  into every state (what a server gets without the spec cache).
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench.common import BENCH_DIR, FIVE_STEPS, LOOP, STEPS, Stopwatch, rate, rnd, step_data, summary_ms
from engine.bpmn import serializer


def parse(process_id: str, filename: str) -> tuple[Any, dict[str, Any]]:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(BENCH_DIR / filename))
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def next_ready(workflow: BpmnWorkflow) -> UUID | None:
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    return ready[0].id if ready else None


def complete(workflow: BpmnWorkflow, task_id: UUID, data: dict[str, Any]) -> UUID | None:
    task = workflow.get_task_from_id(task_id)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()
    return next_ready(workflow)


class Codec:
    """How state crosses a step: kept in memory, or serialized and restored around every step."""

    name = "memory"

    def __init__(self, spec: Any, subs: dict[str, Any]) -> None:
        self.spec, self.subs = spec, subs

    def dump(self, workflow: BpmnWorkflow) -> Any:
        return workflow

    def load(self, state: Any) -> BpmnWorkflow:
        return state  # type: ignore[no-any-return]


class InstanceOnlyCodec(Codec):
    name = "instance_only"

    def dump(self, workflow: BpmnWorkflow) -> bytes:
        return serializer.dump_instance(workflow)

    def load(self, state: Any) -> BpmnWorkflow:
        return serializer.load_instance(state, self.spec, self.subs)


class StockCodec(Codec):
    name = "stock"

    def __init__(self, spec: Any, subs: dict[str, Any]) -> None:
        super().__init__(spec, subs)
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def dump(self, workflow: BpmnWorkflow) -> str:
        return self.serializer.serialize_json(workflow)  # type: ignore[no-any-return]

    def load(self, state: Any) -> BpmnWorkflow:
        return self.serializer.deserialize_json(state)  # type: ignore[no-any-return]


def run_five_steps(codec: Codec, instances: int) -> dict[str, Any]:
    """Start `instances` workflows, then complete their steps breadth-first, as the engine bench does."""
    starts, completions = Stopwatch(), Stopwatch()
    states: list[Any] = []
    current: list[UUID | None] = []
    for _ in range(instances):
        with starts.time():
            workflow = BpmnWorkflow(codec.spec, codec.subs)
            workflow.do_engine_steps()
            current.append(next_ready(workflow))
            states.append(codec.dump(workflow))
    for step in range(STEPS):
        for i in range(instances):
            task_id = current[i]
            assert task_id is not None, "the five-step process ended early"
            with completions.time():
                workflow = codec.load(states[i])
                current[i] = complete(workflow, task_id, step_data(step))
                states[i] = codec.dump(workflow)
    size = len(states[0]) if isinstance(states[0], (bytes, str)) else None
    return {
        "start_per_s": rate(instances, starts.total),
        "complete_per_s": rate(len(completions.samples), completions.total),
        **summary_ms(completions.samples),
        "state_bytes": size,
    }


def loop_step_cost(rounds: int, window: int = 10) -> dict[str, Any]:
    """The loop process with serialize-per-step: mean cost of a completion near the start and after
    `rounds` completions, and the state size then (does the library itself grow per step?)."""
    spec, subs = parse(LOOP, "loop_steps.bpmn")
    codec = InstanceOnlyCodec(spec, subs)
    workflow = serializer.new_workflow(spec, subs)
    workflow.task_tree.data.update({"n": rounds + window + 1})
    workflow.do_engine_steps()
    task_id, state = next_ready(workflow), codec.dump(workflow)
    costs: list[float] = []
    sizes: list[int] = []
    for _ in range(rounds + window):
        assert task_id is not None
        start = time.perf_counter()
        workflow = codec.load(state)
        task_id = complete(workflow, task_id, {})
        state = codec.dump(workflow)
        costs.append(time.perf_counter() - start)
        sizes.append(len(state))
    early = costs[window : 2 * window]
    late = costs[rounds - window // 2 : rounds + window // 2]
    return {
        "early_ms": rnd(sum(early) / len(early) * 1000, 3),
        "late_ms": rnd(sum(late) / len(late) * 1000, 3),
        "ratio": rnd(sum(late) / len(late) / (sum(early) / len(early))),
        "state_bytes_early": sizes[window],
        "state_bytes_late": sizes[rounds - 1],
    }


def measure(instances: int) -> dict[str, Any]:
    spec, subs = parse(FIVE_STEPS, "five_steps.bpmn")
    run_five_steps(InstanceOnlyCodec(spec, subs), 5)  # warm imports and caches
    return {
        "memory": run_five_steps(Codec(spec, subs), instances),
        "instance_only": run_five_steps(InstanceOnlyCodec(spec, subs), instances),
        "stock": run_five_steps(StockCodec(spec, subs), instances),
    }
