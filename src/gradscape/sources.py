"""Where objectives come from: an :class:`~gradscape.objectives.Objective` from text, from a
parsed expression or from the name of a built-in test function.

This module sits above the Objective type, the expression language and the catalogue of test
functions, and joins them: ``objective("x^2*sin(y)")`` parses, ``objective("himmelblau")`` looks
the name up. Engines that take "anything that describes a function" call :func:`objective`.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import InputError, ParameterError, listing, printable
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
    """``f(x, y, ...)`` as an Objective over its positional parameters without defaults (those
    with defaults keep them), checked once by tracing it abstractly (nothing is computed)."""
    what = printable(getattr(fn, "__name__", type(fn).__name__), 60)
    how = (
        "wrap it as gradscape.Objective(lambda t: f(t[0], t[1]), names=('x', 'y')) "
        "or Objective.from_pytree"
    )
    if type(fn).__name__ == "ufunc":
        raise ParameterError(
            f"NumPy's {what} cannot be differentiated; write the function as text "
            f"('{what}(x)') or with jax.numpy (lambda x: jnp.{what}(x))."
        )
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        raise ParameterError(f"Cannot read the parameters of {what}; {how}.") from None
    kind = inspect.Parameter
    odd = [f"*{p.name}" for p in params if p.kind is kind.VAR_POSITIONAL]
    odd += [f"{p.name} (keyword-only, no default)" for p in params
            if p.kind is kind.KEYWORD_ONLY and p.default is p.empty]  # fmt: skip
    names = tuple(
        p.name
        for p in params
        if p.kind in (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )
    if odd or not names:
        why = (
            f"its parameters {listing(odd)} are not plain names" if odd else "it takes no variable"
        )
        raise ParameterError(f"{what}: {why}; {how}.")
    if variables is not None and tuple(variables) != names:
        raise InputError(
            f"{what} takes {listing(names)}; variables {listing(variables)} cannot rename them."
        )
    label = what if what.isidentifier() and what != "<lambda>" else "f"
    size = len(names)

    def flat(t: Any) -> Any:
        import jax.numpy as jnp

        out = fn(*(t[i] for i in range(size)))
        return jnp.asarray(out) if type(out) in (int, float) else out  # a constant 3.0 too

    _check_traceable(flat, size, f"{label}({', '.join(names)})")
    return Objective(fn=flat, names=names, ranges=ranges or {}, label=label)


def _check_traceable(fn: Callable[[Any], Any], n: int, shown: str) -> None:
    """Trace ``fn`` abstractly once (``jax.eval_shape``: no number is computed) so a function JAX
    cannot follow, or one that does not return one real number, is refused here in one line
    rather than deep inside an engine."""
    import jax
    import numpy as np

    from ._x64 import x64

    try:
        with x64():
            point = jax.ShapeDtypeStruct((n,), np.float64)  # type: ignore[no-untyped-call]
            out = jax.eval_shape(fn, point)
    except Exception as exc:  # the user's code: whatever it raises is said in one line
        text = str(exc).strip()
        returned = re.search(r"returned a value of type <class '(\w+)'>", text)
        if returned:
            raise ParameterError(
                f"{shown} must return one real (floating-point) number; it returns "
                f"{returned.group(1)}."
            ) from None
        first = printable(text.splitlines()[0] if text else "", 120)
        vector = (
            "; a function of one vector is given as gradscape.Objective(f, names=('x', 'y', ...))"
            if n == 1 and isinstance(exc, IndexError | TypeError)
            else ""
        )
        raise ParameterError(
            f"{shown} cannot be followed by JAX ({type(exc).__name__}: {first}); write it with "
            "jax.numpy (jnp.sin, not math.sin or np.sin), and jnp.where rather than Python's "
            f"if or float() on its inputs{vector}."
        ) from None
    shape, dtype = getattr(out, "shape", None), getattr(out, "dtype", None)
    if shape != () or dtype is None or not jax.numpy.issubdtype(dtype, jax.numpy.floating):
        got = (
            f"{np.dtype(dtype).name} of shape {shape}" if dtype is not None else type(out).__name__
        )
        raise ParameterError(
            f"{shown} must return one real (floating-point) number; it returns {got}."
        )
    try:
        with x64():
            jax.eval_shape(jax.grad(fn), point)
    except Exception as exc:  # e.g. a callback into Python, which JAX cannot differentiate
        text = printable(str(exc).strip().splitlines()[0] if str(exc).strip() else "", 120)
        raise ParameterError(
            f"{shown} cannot be differentiated by JAX ({type(exc).__name__}: {text}); write it "
            "with jax.numpy throughout."
        ) from None
