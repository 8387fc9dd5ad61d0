"""The arithmetic the retail desk's `calculate` tool does: numbers, + - * /, parentheses and
unary minus, parsed and evaluated without eval and rounded to cents.
"""

from __future__ import annotations

import ast
import math
import operator
import threading
from collections.abc import Callable

from tether.domains.retail.orders import cents, invalid_arguments

_PARSING = threading.Lock()
MAX_EXPRESSION_CHARS = 500

_CALC_CHARS = frozenset("0123456789+-*/(). ")
_BINARY_OPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate_expression(expression: str) -> float:
    """Evaluate arithmetic (numbers, + - * /, parentheses, unary minus) without eval."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise invalid_arguments(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    bad = sorted(set(expression) - _CALC_CHARS)
    if bad:
        raise invalid_arguments(
            f"the expression may hold only digits, + - * / ( ) . and spaces; found {bad}"
        )
    try:
        with _PARSING:  # CPython 3.11's parser is not safe in two threads at once
            tree = ast.parse(expression.strip(), mode="eval")
        value = _evaluate(tree.body)
    except ZeroDivisionError:
        raise invalid_arguments("the expression divides by zero") from None
    except (SyntaxError, RecursionError, MemoryError, OverflowError, ValueError):
        raise invalid_arguments(f"the expression {expression!r} is not valid arithmetic") from None
    if not math.isfinite(value):
        raise invalid_arguments("the expression's value is too large")
    return cents(value)


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
        return _BINARY_OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    raise invalid_arguments(f"the expression uses an unsupported construct ({type(node).__name__})")
