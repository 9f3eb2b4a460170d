"""Where objectives come from: an :class:`~gradscape.objectives.Objective` from text, from a
parsed expression or from the name of a built-in test function.

This module sits above the Objective type, the expression language and the catalogue of test
functions, and joins them: ``objective("x^2*sin(y)")`` parses, ``objective("himmelblau")`` looks
the name up. Engines that take "anything that describes a function" call :func:`objective`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import InputError, ParameterError, listing
from .objectives import Objective

if TYPE_CHECKING:
    from .expr import Expression

# Every engine calls objective() on what it is given, so this module stays light: an Objective
# passes straight through, and the expression language (SymPy) and the catalogue are imported
# only when text, an Expression or a test function has to be turned into one.


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
            an :class:`~gradscape.expr.Expression`, a Python function of named numbers
            (``lambda x, y: x**2 + y``, JAX-traceable: ``jax.numpy`` rather than ``math``; its
            parameters are the variables) or an :class:`Objective` (returned as is).
        variables: for an expression, the variables in order (default: the names it uses, in
            natural order: ``x, y, z`` and ``w2`` before ``w10``); names it does not use become
            parameters it does not depend on.
        ranges: default ``(low, high)`` per variable for sweeps and plots (a test function brings
            its usual domain).

    Returns:
        The Objective; one made from a test function carries it as ``.function``.

    Raises:
        ExpressionError: the text cannot be read (the message marks the spot with a caret).
        ParameterError: ``source`` is none of these, or a Python function whose parameters are
            not plain names (``*args``, keyword-only, defaults).

    Example:
        >>> f = objective("x^2*sin(y)")
        >>> f({"x": 1.0, "y": 0.0})
        0.0
        >>> objective("himmelblau").function.minimum
        0.0
    """
    if isinstance(source, Objective):
        return source
    from .expr import Expression, parse
    from .functions import TestFunction, lookup

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
    if callable(source) and not isinstance(source, type):
        return _from_function(source, variables, ranges)
    raise ParameterError(
        "A function is given as an expression, a test function name, a TestFunction, an "
        f"Expression, a Python function or an Objective; got {type(source).__name__}."
    )


def _from_function(
    fn: Callable[..., Any],
    variables: Sequence[str] | None,
    ranges: Mapping[str, tuple[float, float]] | None,
) -> Objective:
    """``f(x, y, ...)`` of plain named parameters as an Objective over those names."""
    what = getattr(fn, "__name__", type(fn).__name__)
    how = (
        "wrap it as gradscape.Objective(lambda t: f(t[0], t[1]), names=('x', 'y')) "
        "or Objective.from_pytree"
    )
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        raise ParameterError(f"Cannot read the parameters of {what}; {how}.") from None
    shown = {inspect.Parameter.VAR_POSITIONAL: "*{}", inspect.Parameter.VAR_KEYWORD: "**{}",
             inspect.Parameter.KEYWORD_ONLY: "{} (keyword-only)"}  # fmt: skip
    odd = [
        shown[p.kind].format(p.name) if p.kind in shown else f"{p.name}=…"
        for p in params
        if p.kind in shown or p.default is not p.empty
    ]
    if odd or not params:
        why = f"its parameters {listing(odd)} are not plain names" if odd else "it takes nothing"
        raise ParameterError(f"{what}: {why}; {how}.")
    names = tuple(p.name for p in params)
    if variables is not None and tuple(variables) != names:
        raise InputError(
            f"{what} takes {listing(names)}; variables {listing(variables)} cannot rename them."
        )
    label = what if what.isidentifier() else "f"
    return Objective(fn=lambda t: fn(*(t[i] for i in range(len(names)))), names=names,
                     ranges=ranges or {}, label=label)  # fmt: skip
