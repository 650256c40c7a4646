"""Sandboxed expressions and scripts.

Anyone who can edit a diagram writes code that runs on the server, so nothing here reaches
Python's `eval` unchecked:
- conditions, DMN entries, due dates and timer expressions go through a whitelist of AST nodes
  (no attribute access to private names, no comprehensions, no lambdas, only listed functions);
- script tasks are compiled by RestrictedPython and run under a line budget;
- in both, `**`, `*`, `+` and `<<` go through guards that refuse results too large to compute;
- only trivial code (`runs_in_process`: names, constants, comparisons, boolean logic, `+`/`-`,
  a few linear functions and methods, at most a few calls) runs in the app's own process; anything
  else runs in a sandbox process (engine.bpmn.sandbox) with a memory limit and a wall-clock
  deadline, because one C call cannot be interrupted from inside the process that makes it.
Camunda's JUEL subset (`${approved}`, `${!approved}`, `&&`, `||`, `eq` ...) is translated, and
unquoted ISO-8601 timer literals (`PT24H`, `R3/PT1H`, `2026-01-01T09:00`) are taken as strings.
"""

from __future__ import annotations

import ast
import math
import re
import sys
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.bpmn import sandbox
from engine.bpmn.sandbox import MAX_SEQUENCE, SCRIPT_SECONDS
from engine.errors import ExpressionError

MAX_EXPRESSION_LENGTH = 4000
MAX_SCRIPT_LENGTH = 20000
MAX_INT_BITS = 4096  # largest integer a guarded power/shift may build
SCRIPT_LINE_BUDGET = 200_000

_ISO_DURATION = r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
_ISO_DATETIME = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
ISO_LITERAL = re.compile(rf"^(?:{_ISO_DURATION}|{_ISO_DATETIME}|R\d*/(?:{_ISO_DATETIME}/)?{_ISO_DURATION}(?:/{_ISO_DATETIME})?)$")
_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
_TOKEN = re.compile(
    r"""(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<op>&&|\|\||!=|==|<=|>=|!)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"""
    r"""|(?P<num>\d+(?:\.\d+)?)|(?P<space>\s+)|(?P<other>.)""",
    re.S,
)
_JUEL_WORDS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "true": "True",
    "false": "False",
    "null": "None",
}
_JUEL_OPS = {"&&": " and ", "||": " or "}

SAFE_METHODS = frozenset(
    [
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "replace",
        "get",
        "keys",
        "values",
        "items",
        "count",
        "index",
        "isdigit",
        "isalpha",
        "isalnum",
        "isspace",
        "title",
        "capitalize",
        "casefold",
    ]
)
# str methods that can build huge strings or reach attributes through format fields.
_DENIED_ATTRIBUTES = frozenset(["format", "format_map", "ljust", "rjust", "center", "zfill", "expandtabs", "mro"])


def is_iso_literal(text: str) -> bool:
    return bool(ISO_LITERAL.match(text.strip()))


def translate(expression: str) -> str:
    """Camunda JUEL `${...}` to Python; other text is returned as it is (already Python).

    JUEL's `!` and `not` bind tighter than comparisons while Python's `not` binds looser, so a
    negation is wrapped around exactly its operand: `${a == !b}` becomes `a == (not b)`.
    """
    m = _JUEL.match(expression)
    if not m:
        return expression.strip()
    tokens = [(t.lastgroup or "other", t.group()) for t in _TOKEN.finditer(m.group(1))]
    return _emit(tokens, 0, len(tokens)).strip()


Token = tuple[str, str]


def _is_negation(token: Token) -> bool:
    return token == ("op", "!") or token == ("word", "not")


def _emit(tokens: list[Token], start: int, end: int) -> str:
    out: list[str] = []
    i = start
    while i < end:
        kind, text = tokens[i]
        if _is_negation(tokens[i]):
            j = _operand_end(tokens, i + 1, end)
            out.append(" (not " + _emit(tokens, i + 1, j).strip() + ") ")
            i = j
            continue
        if kind == "op":
            out.append(_JUEL_OPS.get(text, text))
        elif kind == "word":
            out.append(_JUEL_WORDS.get(text, text))
        else:
            out.append(text)
        i += 1
    return "".join(out)


def _closing(tokens: list[Token], i: int, end: int) -> int:
    """Index after the bracket that closes the one at `i`."""
    depth = 0
    while i < end:
        text = tokens[i][1]
        if tokens[i][0] == "other" and text in "([":
            depth += 1
        elif tokens[i][0] == "other" and text in ")]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return end


def _operand_end(tokens: list[Token], i: int, end: int) -> int:
    """Index after the unary operand that starts at `i` (with its calls, indexes and attributes)."""
    while i < end and tokens[i][0] == "space":
        i += 1
    if i >= end:
        return end
    if _is_negation(tokens[i]):
        return _operand_end(tokens, i + 1, end)
    i = _closing(tokens, i, end) if tokens[i][1] == "(" else i + 1
    while i < end:
        if tokens[i][1] == "." and i + 1 < end and tokens[i + 1][0] == "word":
            i += 2
        elif tokens[i][0] == "other" and tokens[i][1] in "([":
            i = _closing(tokens, i, end)
        else:
            break
    return i


# --- guarded operations -------------------------------------------------------------------


def _too_long(value: Any, times: Any) -> bool:
    return isinstance(times, int) and isinstance(value, (str, bytes, list, tuple)) and (len(value) * max(times, 0) > MAX_SEQUENCE)


def guarded_mul(a: Any, b: Any) -> Any:
    if _too_long(a, b) or _too_long(b, a):
        raise ExpressionError("result too large: sequence repetition is limited")
    return a * b


def guarded_add(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes, list, tuple)) and isinstance(b, (str, bytes, list, tuple)) and len(a) + len(b) > MAX_SEQUENCE:
        raise ExpressionError("result too large: concatenation is limited")
    return a + b


def guarded_pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        if b < 0:
            return a**b
        if abs(a) > 1 and b * math.log2(abs(a)) > MAX_INT_BITS:
            raise ExpressionError("result too large: exponent is limited")
    return a**b


def guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > MAX_INT_BITS:
        raise ExpressionError("result too large: shift is limited")
    return a << b


_GUARDS: dict[type[ast.operator], str] = {
    ast.Pow: "_crm_pow",
    ast.Mult: "_crm_mul",
    ast.LShift: "_crm_lshift",
    ast.Add: "_crm_add",
}
_GUARD_FUNCS: dict[str, Callable[[Any, Any], Any]] = {
    "_crm_pow": guarded_pow,
    "_crm_mul": guarded_mul,
    "_crm_lshift": guarded_lshift,
    "_crm_add": guarded_add,
}


def _guard_binop(node: ast.BinOp) -> ast.AST:
    name = _GUARDS.get(type(node.op))
    if name is None:
        return node
    call = ast.Call(func=ast.Name(name, ast.Load()), args=[node.left, node.right], keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, node))


# --- expressions ----------------------------------------------------------------------------

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.IfExp,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
    ast.Call,
    ast.keyword,
    ast.JoinedStr,
    ast.FormattedValue,
)

EXPRESSION_FUNCTIONS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sum": sum,
    "any": any,
    "all": all,
    "sorted": sorted,
    "list": list,
    "True": True,
    "False": False,
    "None": None,
}


class _ExpressionChecker(ast.NodeTransformer):
    def __init__(self, allowed_calls: frozenset[str]) -> None:
        self.allowed_calls = allowed_calls

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"'{type(node).__name__}' is not allowed in an expression")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"name '{node.id}' is not allowed")
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr not in SAFE_METHODS):
            raise ExpressionError(f"attribute '{node.attr}' is not allowed")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id not in self.allowed_calls:
                raise ExpressionError(f"function '{func.id}' is not available")
            if not isinstance(func, (ast.Name, ast.Attribute)):
                raise ExpressionError("only named functions can be called")
            if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
                raise ExpressionError("argument unpacking is not allowed")
        node = super().generic_visit(node)
        return _guard_binop(node) if isinstance(node, ast.BinOp) else node


# Trivial code runs in the app's process: its cost is linear in the data it reads, so it cannot
# hang a worker. Everything else goes to a sandbox process (engine.bpmn.sandbox).
# What makes an expression non-trivial: operators that multiply, divide or format (`*`, `/`, `//`,
# `%`, `**`), slices and f-strings; every other allowed node is linear in the data it reads.
_NOT_TRIVIAL: frozenset[type[ast.AST]] = frozenset(
    [ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.Slice, ast.JoinedStr, ast.FormattedValue]
)
_TRIVIAL_NODES: tuple[type[ast.AST], ...] = tuple(n for n in _ALLOWED_NODES if n not in _NOT_TRIVIAL)
TRIVIAL_FUNCTIONS = frozenset(["len", "abs", "bool", "int", "float", "round", "min", "max", "list"])
TRIVIAL_METHODS = SAFE_METHODS - {"replace", "split"}  # the others never build more than they read
MAX_TRIVIAL_CALLS = 3
MAX_TRIVIAL_NODES = 120


def _is_trivial(tree: ast.AST, offered: frozenset[str]) -> bool:
    calls = nodes = 0
    for node in ast.walk(tree):
        nodes += 1
        if not isinstance(node, _TRIVIAL_NODES):
            return False
        if isinstance(node, ast.BinOp) and not isinstance(node.op, (ast.Add, ast.Sub)):
            return False
        if isinstance(node, ast.Attribute) and node.attr not in TRIVIAL_METHODS:
            return False
        if isinstance(node, ast.Call):
            calls += 1
            if isinstance(node.func, ast.Name) and node.func.id not in TRIVIAL_FUNCTIONS and node.func.id not in offered:
                return False
    return calls <= MAX_TRIVIAL_CALLS and nodes <= MAX_TRIVIAL_NODES


@lru_cache(maxsize=4096)
def _compile_expression(text: str, allowed_calls: frozenset[str]) -> tuple[CodeType, bool]:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError("expression too long")
    tree = ast.parse(translate(text), "<expression>", "eval")  # SyntaxError propagates
    trivial = _is_trivial(tree, allowed_calls - frozenset(EXPRESSION_FUNCTIONS))
    tree = _ExpressionChecker(allowed_calls).visit(tree)
    ast.fix_missing_locations(tree)
    return compile(tree, "<expression>", "eval"), trivial


# The functions the application offers every expression (`manager_of`, `completed_by`), filled in
# by engine.bpmn.scripting.offer; used wherever a caller names no functions of its own, so a form's
# default, a condition and deploy validation all know the same names.
OFFERED: dict[str, Any] = {}


def _offered(functions: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return OFFERED if functions is None else functions


def _names(functions: Mapping[str, Any] | None) -> frozenset[str]:
    return frozenset(EXPRESSION_FUNCTIONS) | frozenset(_offered(functions))


def compile_expression(text: str, functions: Mapping[str, Any] | None = None) -> CodeType:
    """Check and compile; raises SyntaxError or ExpressionError."""
    return _compile_expression(text, _names(functions))[0]


def runs_in_process(text: str, functions: Mapping[str, Any] | None = None) -> bool:
    """True when the expression is trivial enough to run in the app's own process."""
    return is_iso_literal(text) or _compile_expression(text, _names(functions))[1]


def evaluate(text: str, context: Mapping[str, Any], functions: Mapping[str, Any] | None = None) -> Any:
    """Evaluate a sandboxed expression over task data; ISO-8601 literals evaluate to themselves.

    Trivial expressions run here; the others in a sandbox process under sandbox's limits."""
    if is_iso_literal(text):
        return text.strip()
    if _compile_expression(text, _names(functions))[1]:
        return evaluate_here(text, context, functions)
    return sandbox.run("evaluate", text, dict(context), _offered(functions), sandbox.EXPRESSION_SECONDS)


def evaluate_here(text: str, context: Mapping[str, Any], functions: Mapping[str, Any] | None = None) -> Any:
    """Evaluate in this process (trivial expressions, and everything inside a sandbox process)."""
    if is_iso_literal(text):
        return text.strip()
    code = compile_expression(text, functions)
    scope: dict[str, Any] = {"__builtins__": {}, **_GUARD_FUNCS, **EXPRESSION_FUNCTIONS, **_offered(functions)}
    scope.update(context)
    try:
        return eval(code, scope)
    except ExpressionError:
        raise
    except RecursionError as exc:
        raise ExpressionError("expression too deeply nested") from exc


def check_expression(text: str, functions: Mapping[str, Any] | None = None) -> str | None:
    """The problem with an expression, or None when it compiles in the sandbox."""
    if is_iso_literal(text):
        return None
    try:
        compile_expression(text, functions)
    except SyntaxError as exc:
        return f"syntax error in expression '{short(text)}': {exc.msg}"
    except ExpressionError as exc:
        return f"expression '{short(text)}' refused: {exc.message}"
    except (ValueError, RecursionError, MemoryError):
        return f"expression '{short(text)}' cannot be compiled"
    return None


def short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


# --- scripts --------------------------------------------------------------------------------


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus size guards on `**`, `*` and `<<`."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        return _guard_binop(node)

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "imports are not allowed")
        return node

    visit_ImportFrom = visit_Import


def _guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    if name.startswith("_") or name in _DENIED_ATTRIBUTES:
        raise ExpressionError(f"attribute '{name}' is not allowed")
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "__self__")):
        raise ExpressionError(f"attribute '{name}' of {type(obj).__name__} is not allowed")
    return getattr(obj, name, default)


def _guarded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_SEQUENCE:
        raise ExpressionError("range too large")
    return r


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "+=": guarded_add,
        "-=": lambda a, b: a - b,
        "*=": guarded_mul,
        "/=": lambda a, b: a / b,
        "//=": lambda a, b: a // b,
        "%=": lambda a, b: a % b,
        "**=": guarded_pow,
        "<<=": guarded_lshift,
    }
    if op not in ops:
        raise ExpressionError(f"operator {op} is not allowed")
    return ops[op](x, y)


def _write_guard(obj: Any) -> Any:
    if isinstance(obj, (dict, list)):
        return obj
    raise ExpressionError(f"cannot modify a {type(obj).__name__}")


_SCRIPT_BUILTINS: dict[str, Any] = {
    **{k: v for k, v in safe_builtins.items() if k not in {"setattr", "delattr", "_getattr_", "__build_class__", "id", "hash"}},
    "range": _guarded_range,
    "pow": lambda a, b, mod=None: guarded_pow(a, b) if mod is None else pow(a, b, mod),
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "any": any,
    "all": all,
    "sorted": sorted,
    "list": list,
    "dict": dict,
    "enumerate": enumerate,
    "zip": zip,
    "reversed": reversed,
}

SCRIPT_RUNTIME: dict[str, Any] = {
    "_getattr_": _guarded_getattr,
    "_getitem_": lambda obj, key: obj[key],
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _write_guard,
    "_inplacevar_": _inplacevar,
    **_GUARD_FUNCS,
}
JSON_TYPES = (str, int, float, bool, type(None), list, dict, datetime, date)


def _dedent_xml_indentation(script: str) -> str:
    """Scripts in pretty-printed XML carry the element's indentation on every line after the first."""
    lines = script.strip("\n").splitlines()
    rest = [line for line in lines[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in rest), default=0)
    return "\n".join([lines[0].strip(), *(line[indent:] for line in lines[1:])]) if lines else script


@lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    if len(script) > MAX_SCRIPT_LENGTH:
        raise ExpressionError("script too long")
    result = compile_restricted_exec(script, "<script>", policy=_ScriptPolicy)
    if any("IndentationError" in e for e in result.errors):
        result = compile_restricted_exec(_dedent_xml_indentation(script), "<script>", policy=_ScriptPolicy)
    if result.errors or result.code is None:
        raise ExpressionError("; ".join(result.errors) or "script cannot be compiled")
    return result.code


def check_script(script: str) -> str | None:
    try:
        compile_script(script)
    except ExpressionError as exc:
        return f"script refused: {exc.message}"
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return f"script cannot be compiled: {exc}"
    return None


class _Budget:
    """A trace function that stops a script after a line budget or a wall-clock limit."""

    def __init__(self) -> None:
        self.lines = 0
        self.deadline = time.monotonic() + SCRIPT_SECONDS

    def __call__(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            self.lines += 1
            if self.lines > SCRIPT_LINE_BUDGET or (self.lines % 1000 == 0 and time.monotonic() > self.deadline):
                raise ExpressionError("script stopped: it ran too long")
        return self


@lru_cache(maxsize=1024)
def _script_is_trivial(script: str, offered: frozenset[str]) -> bool:
    """Assignments of trivial expressions to names (`outcome = 'approved'`, `i = i + 1`)."""
    try:
        tree = ast.parse(_dedent_xml_indentation(script))
    except SyntaxError:
        return False
    if len(tree.body) > 30:
        return False
    for stmt in tree.body:
        assigns = isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets)
        adds = isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and isinstance(stmt.op, (ast.Add, ast.Sub))
        if not (assigns or adds):
            return False
        if not _is_trivial(ast.Expression(stmt.value), offered):  # type: ignore[attr-defined]
            return False
    return True


def script_runs_in_process(script: str, functions: Mapping[str, Any] | None = None) -> bool:
    return _script_is_trivial(script, frozenset(_offered(functions)))


def execute_script(script: str, context: dict[str, Any], functions: Mapping[str, Any] | None = None) -> None:
    """Run a script over task data in place: new and changed top-level names are written back.

    Trivial scripts run here; the others in a sandbox process under sandbox's limits."""
    compile_script(script)
    offered = frozenset(k for k, v in (functions or {}).items() if callable(v))
    if _script_is_trivial(script, offered):
        execute_here(script, context, functions)
    else:
        sandbox.run("execute", script, context, functions, SCRIPT_SECONDS)


def check_size(name: str, value: Any, budget: list[int]) -> None:
    """Refuse a value holding a string or collection over MAX_SEQUENCE, or too much in all
    (`a = [x, x]; b = [a, a]; ...` is small in memory and huge once stored)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes, list, tuple, set, frozenset, dict)):
            if len(item) > MAX_SEQUENCE:
                raise ExpressionError(f"'{name}' is too large: more than {MAX_SEQUENCE:,} items or characters")
            budget[0] -= len(item) + 1
            if budget[0] < 0:
                raise ExpressionError(f"the result is too large: more than {sandbox.MAX_RESULT_ITEMS:,} items and characters in all")
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif not isinstance(item, (str, bytes)):
                stack.extend(item)


def execute_here(script: str, context: dict[str, Any], functions: Mapping[str, Any] | None = None) -> None:
    """Execute in this process (trivial scripts, and everything inside a sandbox process)."""
    code = compile_script(script)
    scope: dict[str, Any] = {"__builtins__": _SCRIPT_BUILTINS, **SCRIPT_RUNTIME}
    if functions:
        scope.update(functions)
    reserved = set(scope)
    scope.update(context)
    previous = sys.gettrace()
    sys.settrace(_Budget())
    try:
        exec(code, scope)
    except ExpressionError:
        raise
    except RecursionError as exc:
        raise ExpressionError("script recursed too deeply") from exc
    finally:
        sys.settrace(previous)
    before = set(context)
    changes: dict[str, Any] = {}
    budget = [sandbox.MAX_RESULT_ITEMS]
    for key, value in scope.items():
        if key.startswith("_") or (key in reserved and key not in before) or callable(value):
            continue
        if not isinstance(value, JSON_TYPES):
            raise ExpressionError(f"variable '{key}' holds a {type(value).__name__}, which cannot be stored")
        if key not in before or context[key] is not value or isinstance(value, (list, dict)):  # lists grow in place
            check_size(key, value, budget)
        changes[key] = value
    for key in before - set(scope):
        del context[key]
    context.update(changes)


def is_expression(text: str) -> bool:
    """True for `${...}` / `#{...}`: text that must be evaluated rather than taken literally."""
    return bool(_JUEL.match(text))
