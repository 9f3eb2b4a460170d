"""A model formula and the data it is fitted to.

A model is written as ``response = formula``: ``y = b1*(1 - exp(-b2*x))``. Names that are columns
of the data are inputs; every other name on the right is a parameter. The left side is a column
or an expression of columns (``log(y) = b1 - b2*x1*exp(-b3*x2)``), computed once from the data.
The residual of row ``i`` is ``√wᵢ · (lhsᵢ − f(b; xᵢ))``, written for one row and mapped over the
rows with ``jax.vmap``.

Example:
    >>> import numpy as np
    >>> m = parse_model("y = a*exp(-k*t)", ["t", "y"])
    >>> m.parameters, m.inputs, m.response
    (('a', 'k'), ('t',), 'y')
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError, ExpressionError, InputError, listing, printable
from ..expr import parse
from ..expr.expression import Expression
from ..expr.language import CONSTANTS, RESERVED

#: Most parameters a model may have (the Jacobian is dense: rows × parameters).
MAX_PARAMETERS = 50
#: Most entries of the Jacobian, rows × parameters (8 bytes each: 160 MB).
MAX_JACOBIAN = 20_000_000


@dataclass(frozen=True)
class FitModel:
    """A parsed model.

    Attributes:
        text: the model as written.
        lhs, rhs: the two sides as parsed expressions.
        response: the left side as text (``"y"`` or ``"log(y)"``).
        parameters: names fitted, in natural order (``b2`` before ``b10``).
        inputs: columns the right side uses, in natural order.
        lhs_columns: columns the left side uses.
        notes: what a user should know (a parameter named like a column).
    """

    text: str
    lhs: Expression
    rhs: Expression
    response: str
    parameters: tuple[str, ...]
    inputs: tuple[str, ...]
    lhs_columns: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def p(self) -> int:
        """Number of parameters."""
        return len(self.parameters)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the model reads, left side first."""
        return tuple(dict.fromkeys((*self.lhs_columns, *self.inputs)))

    @property
    def smooth(self) -> bool:
        """Whether the SSE is differentiable wherever it is finite: no ``abs``, ``relu``,
        ``max``, fractional power… (a negative integer power makes a pole, where the SSE is
        infinite, never a corner)."""
        return not self.rhs._may_corner

    def row_function(self) -> Callable[[Any, Any], Any]:
        """``f(b, row)``: the right side for one row, ``b`` of shape ``(p,)``, ``row`` of shape
        ``(len(inputs),)``; JAX-traceable."""
        import jax.numpy as jnp

        fn = self.rhs.function()
        return lambda b, row: fn(jnp.concatenate([b, row]))


def parse_model(text: str, columns: Sequence[str]) -> FitModel:
    """Read ``response = formula`` against the data's column names.

    Raises:
        ExpressionError: no ``=`` or more than one, a side that cannot be read (a caret under
            the spot in the whole model), a left side naming something that is not a column, a
            right side with no parameter.
        InputError: more than :data:`MAX_PARAMETERS` parameters.
    """
    if not isinstance(text, str):
        raise InputError(
            f"A model must be text such as 'y = b1*x + b0'; got {type(text).__name__}."
        )
    if text.count("=") != 1:
        at = text.find("=", text.find("=") + 1) if text.count("=") > 1 else len(text)
        raise ExpressionError(
            "a model is written 'response = formula', with one '=': e.g. y = b1*(1 - exp(-b2*x))",
            text,
            at,
        )
    cut = text.index("=")
    left, right = text[:cut], text[cut + 1 :]
    lhs = _side(left, text, 0)
    rhs = _side(right, text, cut + 1)
    cols = set(columns)
    usable = [c for c in columns if c not in RESERVED]
    for c in sorted(cols & set(CONSTANTS)):  # 'e' and 'pi' are constants in a formula
        if re.search(rf"(?<![\w.]){c}(?![\w(])", text):
            raise ExpressionError(
                f"the data have a column named {c!r}, but in a model {c} is the constant "
                f"{'Euler' + chr(39) + 's number' if c == 'e' else 'π'}; rename the column",
                text,
                text.index(c),
                text.index(c) + len(c),
            )
    if not lhs.variables:
        raise ExpressionError(
            "the left side must name the response column (or an expression of columns)",
            text,
            0,
            cut,
        )
    for v in lhs.variables:
        if v not in cols:
            start = left.find(v)
            raise ExpressionError(
                f"the left side must use columns only; {v!r} is not a column of the data "
                f"(its columns are {listing(columns, 12)})",
                text,
                max(start, 0),
                max(start, 0) + len(v),
            )
    params = tuple(v for v in rhs.variables if v not in cols)
    inputs = tuple(v for v in rhs.variables if v in cols)
    if not params:
        raise ExpressionError(
            "the right side has no parameter: every name in it is a column of the data; "
            "a parameter is any other name, e.g. y = b1*x + b0",
            text,
            len(text) - len(right.lstrip()),
            len(text.rstrip()),
        )
    if len(params) > MAX_PARAMETERS:
        raise InputError(
            f"The model has {len(params)} parameters; at most MAX_PARAMETERS = {MAX_PARAMETERS}."
        )
    notes = []
    if not inputs:
        notes.append(
            f"the model uses no column of the data (its columns are {listing(columns, 12)}): "
            "every name in it is a parameter, so it fits a constant"
        )
    for b in params:
        near = difflib.get_close_matches(b, usable, n=1, cutoff=0.75)
        if near:
            notes.append(
                f"{b} is taken as a parameter (it is not a column); did you mean the column "
                f"{near[0]}?"
            )
    # The right side again with the parameters first, so theta = (b..., row...).
    rhs = parse(right, variables=(*params, *inputs))
    return FitModel(
        text=text.strip(),
        lhs=lhs,
        rhs=rhs,
        response=str(lhs),
        parameters=params,
        inputs=inputs,
        lhs_columns=tuple(lhs.variables),
        notes=tuple(notes),
    )


def _side(part: str, text: str, offset: int) -> Expression:
    """Parse one side, padded with spaces to its place in the model, so every column a parser
    error names (in its words and its caret) is a column of the whole model."""
    if not part.strip():
        raise ExpressionError(
            "each side of '=' needs a formula, e.g. y = b1*x + b0",
            text,
            offset,
            offset + max(len(part), 1),
        )
    try:
        return parse(" " * offset + part)
    except ExpressionError as exc:
        if not exc.text:
            raise
        raise ExpressionError(exc.message, text, exc.start, exc.end) from None


@dataclass(frozen=True)
class FitData:
    """The numbers a fit uses.

    Attributes:
        X: the inputs, shape ``(n, len(inputs))``.
        y: the left side computed per row, shape ``(n,)``.
        weights: per row, shape ``(n,)`` (ones when none were given).
        source: where the data came from, safe to print.
        weights_name: the weights column, or ``None``.
        L: the columns of the left side, ``(n, len(lhs_columns))``.
        texts: the cells of the columns used as written in the file (``None`` for numbers
            given in Python): the exact decimals, for :mod:`gradscape.fitting.exact`.
    """

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    source: str
    weights_name: str | None
    L: np.ndarray
    texts: Mapping[str, Sequence[str]] | None = None

    @property
    def n(self) -> int:
        return len(self.y)


def check_data(
    model: FitModel,
    columns: Mapping[str, np.ndarray],
    source: str,
    weights: str | np.ndarray | None = None,
    texts: Mapping[str, Sequence[str]] | None = None,
) -> FitData:
    """The inputs, response and weights of ``model`` from ``columns``, each checked.

    Raises:
        DataError: a column the model names is missing, not a finite number in every row, of
            another length; the left side undefined at a row; a constant response; fewer rows
            than parameters; a weight that is negative or not finite, or no positive weights.
    """
    import jax
    import jax.numpy as jnp

    from .._x64 import x64

    arrays: dict[str, np.ndarray] = {}
    lengths = {len(np.asarray(v).reshape(-1)) for v in columns.values()}
    for c in model.columns:
        arrays[c] = _column(columns, c, source)
    if len(lengths) > 1:
        raise DataError(f"The columns of {source} have different lengths ({sorted(lengths)}).")
    n = len(arrays[model.columns[0]])
    if n * model.p > MAX_JACOBIAN:
        raise DataError(
            f"{source} has {n:,} rows and the model {model.p} parameters: {n * model.p:,} "
            f"Jacobian entries, more than MAX_JACOBIAN = {MAX_JACOBIAN:,}; fit a sample of rows."
        )
    with x64():
        L = np.column_stack([arrays[c] for c in model.lhs_columns])
        fn = model.lhs.function()
        y = np.asarray(jax.vmap(fn)(jnp.asarray(L)), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        i = int(bad[0])
        why = model.lhs.explain(L[i]) or "not finite"
        values = ", ".join(f"{c} = {L[i, j]:.6g}" for j, c in enumerate(model.lhs_columns))
        raise DataError(
            f"The response {model.response} is undefined at data row {i + 1} of {source} ({values}):"
            f" {why}; remove that row or change the left side."
        )
    _check_scale(model, y, source)
    w = np.ones(n)
    weights_name: str | None = None
    if weights is not None:
        if isinstance(weights, str):
            weights_name = weights
            w = _column(columns, weights, source, role="weights")
        else:
            w = np.asarray(weights, dtype=np.float64).reshape(-1)
            if len(w) != n:
                raise DataError(f"weights has {len(w)} values but {source} has {n} rows.")
        where = np.flatnonzero(~np.isfinite(w) | (w < 0))
        if where.size:
            i = int(where[0])
            raise DataError(
                f"Weight at data row {i + 1} of {source} is {w[i]:g}; weights must be finite and"
                " ≥ 0 (1/σᵢ² for a known standard deviation σᵢ)."
            )
    used = w > 0
    if used.sum() < model.p:
        raise DataError(
            f"{source} has {int(used.sum())} row(s) with positive weight but the model has "
            f"{model.p} parameters ({listing(model.parameters)}); a fit needs at least as many"
            " rows as parameters, and more to estimate its uncertainty."
        )
    yu = y[used]
    if np.all(yu == yu[0]):
        raise DataError(
            f"The response {model.response} is constant ({yu[0]:.6g} in every row of {source});"
            " there is nothing to fit."
        )
    X = (
        np.column_stack([arrays[c] for c in model.inputs])
        if model.inputs
        else np.zeros((n, 0), dtype=np.float64)
    )
    return FitData(X=X, y=y, weights=w, source=source, weights_name=weights_name, L=L, texts=texts)


#: Largest and smallest magnitude of the response a fit takes: its squares, summed in the SSE,
#: must stay within float64 (about 1e±308).
MAX_SCALE, MIN_SCALE = 1e150, 1e-150


def _check_scale(model: FitModel, y: np.ndarray, source: str) -> None:
    top = float(np.max(np.abs(y)))
    if top > MAX_SCALE or 0 < top < MIN_SCALE:
        factor = 10.0 ** -np.round(np.log10(top))
        raise DataError(
            f"The response {model.response} of {source} reaches {top:.3g}: its squares leave "
            f"float64's range (values from {MIN_SCALE:g} to {MAX_SCALE:g} are fitted); multiply it"
            f" by {factor:.0e} and the scale parameters of the model follow."
        )


def _column(
    columns: Mapping[str, np.ndarray], name: str, source: str, role: str = ""
) -> np.ndarray:
    if name not in columns:
        what = f"Column {printable(name)!r}" + (f" for {role}" if role else "")
        raise DataError(f"{what} is not in {source}; its columns are {listing(list(columns), 12)}.")
    v = np.asarray(columns[name], dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise DataError(
            f"Column {printable(name)!r} of {source} has {v[bad[0]]} at data row {bad[0] + 1}; every"
            " value a model uses must be a finite number (remove that row)."
        )
    return v
