"""The script engine every loaded workflow gets: sandboxed expressions, scripts and operations.

Spiff does not serialize the script engine, so it is attached on every load (engine.serializer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.bpmn import expressions
from engine.errors import EngineError

Invoke = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any] | None]
_OFFERED = expressions.OFFERED  # one registry: expressions use it when a caller names none
_INVOKERS: list[Invoke] = []


def offer(functions: dict[str, Any], invoke: Invoke) -> None:
    """Offer functions to every expression and script, and the invoker of service-task operations.

    engine.operations offers them (`manager_of` and the operations read the current action's
    context and the database): this package knows nothing of what they read."""
    _OFFERED.update(functions)
    _INVOKERS[:] = [invoke]


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
        try:
            result = _INVOKERS[0](name, task.data, values)
        except EngineError as exc:
            raise WorkflowTaskException(exc.message, task=task, exception=exc) from exc
        if result:
            task.data.update(result)


SCRIPT_ENGINE = SandboxScriptEngine()
