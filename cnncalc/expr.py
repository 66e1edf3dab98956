"""Safe integer expressions for block arguments: ``planes * 4``, ``in_channels // 2``.

Only integers, names from the environment, ``+ - * // / %``, unary minus, parentheses and
``min``/``max`` are allowed; ``/`` must divide exactly. Nothing is ever ``eval``-ed.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from . import arith


class ExpressionError(ValueError):
    """An expression that cannot be evaluated; the message says why."""


_FUNCTIONS = {"min": arith.minimum, "max": arith.maximum}


def names_in(text: str) -> set[str] | None:
    """The names an expression uses, or None when ``text`` is not an expression."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - set(_FUNCTIONS)


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``text`` with the names in ``env``; raises ExpressionError."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ExpressionError(f"'{text}' is not an integer expression") from None
    return _evaluate(tree.body, env, text)


def _evaluate(node: ast.AST, env: Mapping[str, Any], text: str) -> Any:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            known = ", ".join(sorted(env)) or "none"
            raise ExpressionError(f"unknown name '{node.id}' in '{text}' (known names: {known})")
        value = env[node.id]
        if isinstance(value, bool) or not (
            isinstance(value, int) or hasattr(value, "free_symbols")
        ):
            raise ExpressionError(f"'{node.id}' is {value!r}, not an integer, in '{text}'")
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, env, text)
    if isinstance(node, ast.BinOp):
        return _binary(node, env, text)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and len(node.args) == 2
        and not node.keywords
    ):
        first, second = (_evaluate(arg, env, text) for arg in node.args)
        return _FUNCTIONS[node.func.id](first, second)
    raise ExpressionError(
        f"'{text}' uses something other than integers, names, + - * // / % and min/max"
    )


def _binary(node: ast.BinOp, env: Mapping[str, Any], text: str) -> Any:
    left = _evaluate(node.left, env, text)
    right = _evaluate(node.right, env, text)
    if isinstance(node.op, ast.Add):
        return arith.normalize(left + right)
    if isinstance(node.op, ast.Sub):
        return arith.normalize(left - right)
    if isinstance(node.op, ast.Mult):
        return arith.normalize(left * right)
    if isinstance(node.op, ast.FloorDiv | ast.Div | ast.Mod):
        if isinstance(right, int) and right == 0:
            raise ExpressionError(f"division by zero in '{text}'")
        if isinstance(node.op, ast.FloorDiv):
            return arith.floor_div(left, right)
        rest = arith.remainder(left, right)
        if isinstance(node.op, ast.Mod):
            if rest is None:
                raise ExpressionError(f"'{text}': the remainder of a symbolic value is unknown")
            return rest
        if rest not in (0, None):
            raise ExpressionError(
                f"'{text}': {left} / {right} is not a whole number; use // to round down"
            )
        return arith.floor_div(left, right)
    raise ExpressionError(f"operator not allowed in '{text}'")
