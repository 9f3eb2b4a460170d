"""Where objectives come from: an :class:`~gradscape.objectives.Objective` from text, from a
parsed expression or from the name of a built-in test function.

This module sits above the Objective type, the expression language and the catalogue of test
functions, and joins them: ``objective("x^2*sin(y)")`` parses, ``objective("himmelblau")`` looks
the name up. Engines that take "anything that describes a function" call :func:`objective`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InputError, ParameterError, listing
from .expr import Expression, parse
from .functions import TestFunction, lookup
from .objectives import Objective


def from_expression(
    expression: Expression,
    *,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    label: str = "f",
) -> Objective:
    """An :class:`Objective` from a parsed :class:`~gradscape.expr.Expression`.

    Raises:
        InputError: the expression has no variables (a constant has no derivatives to show).
    """
    if not expression.variables:
        raise InputError(
            f"{expression} has no variables; derivatives need at least one (e.g. x^2 + {expression})."
        )
    return Objective(
        fn=expression.function(),
        names=expression.variables,
        ranges=ranges or {},
        label=label,
        formula=str(expression),
        expression=expression,
    )


def objective(
    source: Any,
    *,
    variables: Sequence[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> Objective:
    """An :class:`Objective` from whatever describes a function.

    Args:
        source: an expression (``"x^2*sin(y)"``), the name of a built-in test function
            (``"himmelblau"``, ``"rosenbrock:5"``), a :class:`~gradscape.functions.TestFunction`,
            an :class:`~gradscape.expr.Expression` or an :class:`Objective` (returned as is).
        variables: for an expression, the variables in order (default: the names it uses, in
            natural order: ``x, y, z`` and ``w2`` before ``w10``); names it does not use become
            parameters it does not depend on.
        ranges: default ``(low, high)`` per variable for sweeps and plots (a test function brings
            its usual domain).

    Returns:
        The Objective; one made from a test function carries it as ``.function``.

    Raises:
        ExpressionError: the text cannot be read (the message marks the spot with a caret).

    Example:
        >>> f = objective("x^2*sin(y)")
        >>> f({"x": 1.0, "y": 0.0})
        0.0
        >>> objective("himmelblau").function.minimum
        0.0
    """
    if isinstance(source, Objective):
        return source
    if isinstance(source, str):
        found = lookup(source)
        source = found if found is not None else parse(source, variables=variables)
    if isinstance(source, TestFunction):
        if variables is not None and tuple(variables) != source.variables:
            raise InputError(
                f"{source.name} has the variables {listing(source.variables)}; "
                "it cannot be renamed."
            )
        if ranges:
            return dataclasses.replace(source.objective, ranges={**source.ranges, **ranges})
        return source.objective
    if isinstance(source, Expression):
        return from_expression(source, ranges=ranges)
    raise ParameterError(
        "objective() takes an expression, a test function name, a TestFunction, an Expression "
        f"or an Objective; got {type(source).__name__}."
    )
