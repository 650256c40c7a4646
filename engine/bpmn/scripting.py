"""The script engine every loaded workflow gets: sandboxed expressions, scripts and operations.

Spiff does not serialize the script engine, so it is attached on every load (engine.serializer).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import expressions
from engine.errors import EngineError

Invoke = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any] | None]
_OFFERED = expressions.OFFERED  # one registry: expressions use it when a caller names none
_INVOKERS: list[Invoke] = []
_CALLER: ContextVar[Any] = ContextVar("crmflow_operation_caller", default=None)


def offer(functions: dict[str, Any], invoke: Invoke) -> None:
    """Offer functions to every expression and script, and the invoker of service-task operations.

    engine.operations offers them (`manager_of` and the operations read the current action's
    context and the database): this package knows nothing of what they read."""
    _OFFERED.update(functions)
    _INVOKERS[:] = [invoke]


def boundary_origin() -> tuple[list[str], str] | None:
    """For the operation running now: (ids of the tasks, boundary event id) when it runs on a
    boundary event's path (a deadline's escalation or reminder), so it can say which task it is
    about: the activity's, or a multi-instance activity's unfinished instances (a countersign's
    signers still to decide). None otherwise: the walk back stops at any person's task or join
    before it."""
    node, steps = _CALLER.get(), 0
    while node is not None and steps < 50:
        if node.task_spec.manual or isinstance(node.task_spec, BoundaryEventJoin):
            return None
        if isinstance(node.task_spec, BoundaryEvent):
            split = node.parent
            main = next((c for c in split.children if not isinstance(c.task_spec, BoundaryEvent)), None) if split else None
            if main is None:
                return None
            if isinstance(main.task_spec, MultiInstanceTask):
                return [str(c.id) for c in main.children if not c.has_state(TaskState.FINISHED_MASK)], node.task_spec.bpmn_id
            return [str(main.id)], node.task_spec.bpmn_id
        node, steps = node.parent, steps + 1
    return None


def expression_functions() -> dict[str, Any]:
    """Functions offered to expressions and scripts."""
    return _OFFERED


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        scope = {**context, **external_context} if external_context else context
        return expressions.evaluate(expression, scope, expression_functions())

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        functions = expression_functions()
        if external_context:
            functions = {**functions, **external_context}
        expressions.execute_script(script, context, functions)
        return True


class SandboxScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=SandboxEnvironment())

    def validate(self, expression: str) -> None:
        # Used by the DMN engine to decide whether an entry needs '=='; SyntaxError must escape.
        try:
            expressions.compile_expression(expression, expression_functions())
        except EngineError as exc:
            raise SyntaxError(exc.message) from exc

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException:
            raise
        except EngineError as exc:
            raise WorkflowTaskException(exc.message, task=task, exception=exc) from exc

    def call_operation(self, task: Any, name: str, params: dict[str, dict[str, Any]]) -> None:
        if not _INVOKERS:
            raise WorkflowTaskException(f"no operations are offered; '{name}' cannot run", task=task)
        values = {}
        for key, param in params.items():
            text = param.get("value") or ""
            values[key] = self.evaluate(task, text) if expressions.is_expression(text) else text
        token = _CALLER.set(task)
        try:
            result = _INVOKERS[0](name, task.data, values)
        except EngineError as exc:
            raise WorkflowTaskException(exc.message, task=task, exception=exc) from exc
        finally:
            _CALLER.reset(token)
        if result:
            task.data.update(result)


SCRIPT_ENGINE = SandboxScriptEngine()
