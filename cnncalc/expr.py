"""Safe expressions for arguments, fields and conditions: ``planes * 4``, ``in_channels // 2``,
``make_divisible(32 * width, 8)``, ``ceil(3 * depth)``, ``stages[depth][0]``, ``t != 1``.

Allowed: integers, decimals, ``true``/``false``, names from the environment, ``+ - * / //
%``, unary minus, comparisons (``== != < <= > >=``), ``and``/``or``/``not``, ``a if c else
b``, subscripts of list and mapping arguments, and the functions in :data:`FUNCTIONS`.
Nothing is ever ``eval``-ed: the text is parsed with :mod:`ast` and walked node by node.

Integers stay exact: ``/`` of two integers must divide exactly (``//`` rounds down). A
decimal makes the arithmetic Python's floating point, as torchvision's width multipliers
are (``_make_divisible(32 * 0.75, 8)``), so a family reproduces torchvision's channel
counts; a field that needs a whole number takes a whole float (``24.0``) and refuses
``44.8`` with a hint to round it.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from . import arith


class ExpressionError(ValueError):
    """An expression that cannot be evaluated; the message says why."""


def make_divisible(value: Any, divisor: Any, min_value: Any = None) -> int:
    """torchvision's ``_make_divisible`` (from the TensorFlow MobileNet code): the nearest
    multiple of ``divisor``, at least ``min_value`` (default ``divisor``), never more than
    10% below ``value``."""
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return int(new_value)


def _number(value: Any, name: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"{name}() needs numbers, got {value!r}")
    return value


def _rounding(name: str, rule: Callable[[Any], Any]) -> Callable[..., Any]:
    def function(value: Any) -> int:
        if arith.is_symbolic(value):
            raise ExpressionError(f"{name}() of a value that depends on the input size")
        return int(rule(_number(value, name)))

    return function


def _extreme(name: str, pick: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def function(*values: Any) -> Any:
        if len(values) < 2:
            raise ExpressionError(f"{name}() needs at least two values")
        result = values[0]
        for value in values[1:]:
            result = pick(result, value)
        return result

    return function


def _pick_min(a: Any, b: Any) -> Any:
    if isinstance(a, float) or isinstance(b, float):
        return min(a, b)
    return arith.minimum(a, b)


def _pick_max(a: Any, b: Any) -> Any:
    if isinstance(a, float) or isinstance(b, float):
        return max(a, b)
    return arith.maximum(a, b)


def _make_divisible(*values: Any) -> int:
    if len(values) not in (2, 3):
        raise ExpressionError("make_divisible(value, divisor[, min_value]) takes 2 or 3 values")
    numbers = [_number(value, "make_divisible") for value in values]
    if numbers[1] <= 0:
        raise ExpressionError("make_divisible(): the divisor must be positive")
    return make_divisible(*numbers)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": _extreme("min", _pick_min),
    "max": _extreme("max", _pick_max),
    "round": _rounding("round", round),  # Python's round: halves go to the even neighbour
    "floor": _rounding("floor", math.floor),
    "ceil": _rounding("ceil", math.ceil),
    "int": _rounding("int", int),  # towards zero, as torchvision's int(...)
    "make_divisible": _make_divisible,
}
"""The functions an expression may call."""

_CONSTANTS = {"true": True, "false": False, "True": True, "False": False}

_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def names_in(text: str) -> set[str] | None:
    """The names an expression uses, or None when ``text`` is not an expression."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return names - set(FUNCTIONS) - set(_CONSTANTS)


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``text`` with the names in ``env``; raises ExpressionError."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ExpressionError(f"'{text}' is not an expression") from None
    try:
        return _Evaluator(env, text).value(tree.body)
    except (ArithmeticError, TypeError, ValueError) as error:  # inf, nan, 1 < [2], 10**400 * 0.5
        if isinstance(error, ExpressionError):
            raise
        raise ExpressionError(f"'{text}' cannot be evaluated: {error}") from None


def whole(value: Any, text: str) -> Any:
    """An expression's result where a whole number is needed: a whole float becomes an int."""
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ExpressionError(
            f"'{text}' is {value:g}, not a whole number: round it with round(), floor(), "
            "ceil() or make_divisible(..., 8)"
        )
    return value


def truth(value: Any, text: str) -> bool:
    """A condition's result: it must be true or false, not a number or a word."""
    if not isinstance(value, bool):
        raise ExpressionError(
            f"the condition '{text}' is {value!r}, not true or false: compare it, "
            "e.g. 'expand != 1'"
        )
    return value


class _Evaluator:
    def __init__(self, env: Mapping[str, Any], text: str) -> None:
        self.env = env
        self.text = text

    def fail(self, message: str) -> ExpressionError:
        return ExpressionError(f"{message} in '{self.text}'")

    def value(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(
                f"'{self.text}' uses something other than numbers, names, + - * / // %, "
                "comparisons, and/or/not, subscripts and the functions "
                f"{', '.join(FUNCTIONS)}"
            )
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bool | int | float):
            return node.value
        raise self.fail(f"{node.value!r} is not a number")

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            value = self.env[node.id]
        elif node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        else:
            known = ", ".join(sorted(self.env)) or "none"
            raise ExpressionError(
                f"unknown name '{node.id}' in '{self.text}' (known names: {known})"
            )
        if not (
            isinstance(value, int | float | list | tuple | dict) or hasattr(value, "free_symbols")
        ):
            raise self.fail(f"'{node.id}' is {value!r}, not a number")
        return value

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return not truth(operand, self.text)
        if isinstance(node.op, ast.USub):
            return arith.normalize(-self.number(operand))
        if isinstance(node.op, ast.UAdd):
            return self.number(operand)
        raise self.fail("operator not allowed")

    def number(self, value: Any) -> Any:
        if isinstance(value, bool | list | tuple | dict):
            raise self.fail(f"{value!r} is not a number")
        return value

    def _BinOp(self, node: ast.BinOp) -> Any:
        left = self.number(self.value(node.left))
        right = self.number(self.value(node.right))
        if isinstance(left, float) or isinstance(right, float):
            return self.floating(node.op, left, right)
        if isinstance(node.op, ast.Add):
            return arith.normalize(left + right)
        if isinstance(node.op, ast.Sub):
            return arith.normalize(left - right)
        if isinstance(node.op, ast.Mult):
            return arith.normalize(left * right)
        if isinstance(node.op, ast.FloorDiv | ast.Div | ast.Mod):
            return self.division(node.op, left, right)
        raise self.fail("operator not allowed")

    def floating(self, op: ast.operator, left: Any, right: Any) -> Any:
        if arith.is_symbolic(left) or arith.is_symbolic(right):
            raise self.fail("a decimal with a value that depends on the input size")
        if isinstance(op, ast.Div | ast.FloorDiv | ast.Mod) and right == 0:
            raise self.fail("division by zero")
        operations: dict[type, Callable[[Any, Any], Any]] = {
            ast.Add: operator.add,
            ast.Sub: operator.sub,
            ast.Mult: operator.mul,
            ast.Div: operator.truediv,
            ast.FloorDiv: operator.floordiv,
            ast.Mod: operator.mod,
        }
        if type(op) not in operations:
            raise self.fail("operator not allowed")
        return operations[type(op)](left, right)

    def division(self, op: ast.operator, left: Any, right: Any) -> Any:
        if isinstance(right, int) and right == 0:
            raise self.fail("division by zero")
        if isinstance(op, ast.FloorDiv):
            return arith.floor_div(left, right)
        rest = arith.remainder(left, right)
        if isinstance(op, ast.Mod):
            if rest is None:
                raise ExpressionError(
                    f"'{self.text}': the remainder of a symbolic value is unknown"
                )
            return rest
        if rest not in (0, None):
            raise ExpressionError(
                f"'{self.text}': {left} / {right} is not a whole number; use // to round down"
            )
        return arith.floor_div(left, right)

    def _Compare(self, node: ast.Compare) -> bool:
        left = self.value(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.value(comparator)
            if type(op) not in _COMPARISONS:
                raise self.fail("comparison not allowed")
            if arith.is_symbolic(left) or arith.is_symbolic(right):
                raise self.fail("a comparison with a value that depends on the input size")
            if not _COMPARISONS[type(op)](left, right):
                return False
            left = right
        return True

    def _BoolOp(self, node: ast.BoolOp) -> bool:
        is_and = isinstance(node.op, ast.And)
        for item in node.values:
            if truth(self.value(item), self.text) != is_and:
                return not is_and
        return is_and

    def _IfExp(self, node: ast.IfExp) -> Any:
        if truth(self.value(node.test), self.text):
            return self.value(node.body)
        return self.value(node.orelse)

    def _Subscript(self, node: ast.Subscript) -> Any:
        container = self.value(node.value)
        key = self.value(node.slice)
        if isinstance(container, dict):
            if key not in container and str(key) in container:
                key = str(key)  # YAML mapping keys are read as text
            if key not in container:
                keys = ", ".join(str(item) for item in container)
                raise self.fail(f"{key!r} is not one of {keys}")
            return container[key]
        if isinstance(container, list | tuple):
            size = len(container)
            if isinstance(key, bool) or not isinstance(key, int) or not -size <= key < size:
                raise self.fail(f"index {key!r} is outside the list of {len(container)}")
            return container[key]
        raise self.fail(f"{container!r} is not a list or mapping")

    def _List(self, node: ast.List) -> list[Any]:
        return [self.value(item) for item in node.elts]

    _Tuple = _List

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise self.fail(f"only these functions may be called: {', '.join(FUNCTIONS)}")
        values = [self.value(argument) for argument in node.args]
        if node.func.id in ("min", "max"):
            values = [self.number(value) for value in values]
        elif len(values) != 1 and node.func.id != "make_divisible":
            raise self.fail(f"{node.func.id}() takes one value")
        return FUNCTIONS[node.func.id](*values)
