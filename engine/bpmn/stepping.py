"""Engine steps: SpiffWorkflow's `do_engine_steps` with the task tree pruned as it goes, and two
guards (an endless loop, a tree too deep for the library's iterator)."""

from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from engine.bpmn import internals, pruning
from engine.errors import ProcessError

MAX_ENGINE_ROUNDS = 10_000  # engine steps one action may run before it is taken for an endless loop
PRUNE_EVERY = 25  # engine rounds between prunings inside one action


def run_engine_steps(workflow: BpmnWorkflow) -> None:
    """SpiffWorkflow's `do_engine_steps`, with the task tree pruned as it goes and two guards.

    A loop of script tasks runs entirely inside one call; pruning every few rounds keeps its tree
    shallow, a loop that never reaches a wait state is stopped, and a tree that cannot be pruned
    (a loop beside a branch that stays open) is refused before the library loses sight of tasks.
    Any of these errors rolls the action back.
    """
    rounds = 0
    while internals.engine_round(workflow):
        rounds += 1
        if rounds % PRUNE_EVERY == 0:
            pruning.prune(workflow)
            _check_reach(workflow)
        if rounds >= MAX_ENGINE_ROUNDS:
            raise ProcessError(f"the process ran {rounds} steps without reaching a wait state; a loop does not end")
    workflow.refresh_timers()
    pruning.prune(workflow)
    _check_reach(workflow)


def _check_reach(workflow: BpmnWorkflow) -> None:
    deepest = pruning.deepest_level(workflow, beyond=pruning.ITERATOR_REACH)
    if deepest > pruning.ITERATOR_REACH:
        raise ProcessError(
            f"the instance has run {deepest} steps deep beside a branch that is still open, more than the engine can follow "
            f"({pruning.ITERATOR_REACH}); a loop runs too often"
        )
