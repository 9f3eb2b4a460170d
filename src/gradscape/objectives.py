"""The Objective: a scalar function of named parameters, the spine of gradscape.

Contract: an :class:`Objective` wraps ``fn``, a JAX-traceable function from a flat float vector of
shape ``(n,)`` to a scalar, together with one name per vector entry and, where known, a default
range per name. Every engine (calculus, sweep, descent) works on this one form; parameters may be
given as a mapping ``{name: value}``, a sequence or an array in ``names`` order, and
:meth:`Objective.from_pytree` wraps functions of nested parameters (dicts, lists, arrays).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Protocol

import jax
import numpy as np

from ._lazy import lazy
from ._x64 import x64
from .errors import InputError, NumericalError, ParameterError, listing

if TYPE_CHECKING:
    from .expr import Expression


class Published(Protocol):
    """What an objective knows of the built-in test function it came from: a
    :class:`gradscape.functions.TestFunction`, which builds Objectives and so sits above this
    module (named here by what engines read of it, not imported)."""

    @property
    def name(self) -> str: ...
    @property
    def family(self) -> str | None: ...
    @property
    def variables(self) -> tuple[str, ...]: ...
    @property
    def domain(self) -> tuple[tuple[float, float], ...]: ...
    @property
    def minimum(self) -> float | None: ...
    @property
    def objective(self) -> Objective: ...
    def minima_points(self) -> list[dict[str, float]]: ...


Params = Mapping[str, float] | Sequence[float] | np.ndarray | float


def signature(label: str, names: Sequence[str]) -> str:
    """``"SSE(m, c)"``: a label with the parameter names (``f(x1, x2, …, x500)`` for many)."""
    shown = names if len(names) <= 8 else (*names[:2], "…", names[-1])
    return f"{label}({', '.join(shown)})"


@dataclass(frozen=True, eq=False)
class Objective:
    """A scalar function ``f(params)`` of named parameters.

    Args:
        fn: JAX-traceable ``fn(theta) -> scalar`` with ``theta`` of shape ``(n,)``.
        names: one name per entry of ``theta``, e.g. ``("m", "c")``.
        ranges: default ``(low, high)`` per name, used by sweeps and plots where none is given.
        label: short name used in printed formulas, e.g. ``"SSE"``.
        formula: human-readable formula, e.g. ``"Σᵢ (yᵢ − (m·xᵢ + c))²"``.
        unravel: for objectives made by :meth:`from_pytree`, maps ``theta`` back to the pytree.
        expression: the parsed :class:`~gradscape.expr.Expression` for objectives made from
            text, which gives symbolic derivatives and names undefined spots.
        function: the built-in :class:`~gradscape.functions.TestFunction` this objective is
            (its published minima, domain and notes), or ``None``.
        smooth: its maker knows it is differentiable everywhere it is defined (the SSE of a
            model whose formula has no ``abs``, ``relu``, ``sqrt``…), so engines need not look
            for corners; objectives from text decide this from their formula.

    Example:
        >>> import jax.numpy as jnp
        >>> bowl = Objective(lambda t: t[0] ** 2 + 3 * t[1] ** 2, names=("x", "y"))
        >>> bowl({"x": 1.0, "y": 2.0})
        13.0
    """

    fn: Callable[[Any], Any]
    names: tuple[str, ...]
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    label: str = "f"
    formula: str | None = None
    unravel: Callable[[Any], Any] | None = None
    expression: Expression | None = None
    function: Published | None = None
    smooth: bool = False

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise ParameterError(f"Objective needs a callable fn; got {type(self.fn).__name__}.")
        names = tuple(self.names)
        if not names:
            raise ParameterError("Objective needs at least one parameter name.")
        if not all(isinstance(n, str) and n for n in names):
            bad = [n for n in names if not (isinstance(n, str) and n)]
            raise ParameterError(
                f"Parameter names must be non-empty strings; got {listing(map(repr, bad))}."
            )
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ParameterError(f"Parameter names must be unique; repeated: {listing(dup)}.")
        object.__setattr__(self, "names", names)
        clean: dict[str, tuple[float, float]] = {}
        for name, rng in dict(self.ranges).items():
            if name not in names:
                raise ParameterError(
                    f"Range given for unknown parameter {name!r}; parameters are {listing(names)}."
                )
            clean[name] = check_range(name, rng)
        object.__setattr__(self, "ranges", clean)

    @property
    def n(self) -> int:
        """Number of parameters."""
        return len(self.names)

    def signature(self) -> str:
        """``"SSE(m, c)"``: the label with the parameter names (``f(x1, x2, …, x500)`` for many)."""
        return signature(self.label, self.names)

    # -- parameters --------------------------------------------------------------------------
    def vector(self, params: Params) -> np.ndarray:
        """Parameters as a float64 vector of shape ``(n,)`` in ``names`` order.

        Raises:
            ParameterError: names or length do not match.
            InputError: a value is not a finite number.
        """
        return as_vector(self.names, params, self.signature())

    def as_dict(self, theta: Any) -> dict[str, float]:
        """``{name: value}`` for a vector in ``names`` order."""
        return {n: float(v) for n, v in zip(self.names, np.asarray(theta).reshape(-1), strict=True)}

    def __call__(self, params: Params) -> float:
        """The value at ``params``, in float64.

        Raises:
            NumericalError: the value is NaN or infinite there (the message says why, for an
                expression).
        """
        theta = self.vector(params)
        with x64():
            v = np.asarray(self.jit_value(theta), dtype=np.float64)
        return float(self.finite("value", v, theta))

    def finite(self, what: str, x: np.ndarray, at: np.ndarray) -> np.ndarray:
        """``x`` (the ``what`` of f at ``at``) if every entry is finite; otherwise a
        :class:`NumericalError` that says where and, for an expression, why."""
        if np.all(np.isfinite(x)):
            return x
        state = "undefined" if np.any(np.isnan(x)) else "infinite"
        reason = None
        if self.expression is not None:
            reason = self.expression.explain(at, derivative=what != "value")
        detail = f": {reason}" if reason else ""
        where = ", ".join(f"{k}={v:g}" for k, v in self.as_dict(at).items())
        raise NumericalError(f"The {what} of {self.signature()} is {state} at {where}{detail}.")

    # -- identity across processes ----------------------------------------------------------
    def _made_from(self) -> str | None:
        """``"function"`` when this is a built-in test function's objective as it is made,
        ``"expression"`` when it computes its parsed formula, ``None`` otherwise (Python
        code, or a function changed after it was made)."""
        if self.function is not None and self.fn is self.function.objective.fn:
            return "function"
        if self.expression is not None and self.formula == str(self.expression):
            return "expression"
        return None

    def source(self) -> str | None:
        """What this function is, as text that means the same in any process: the built-in
        test function's name, or the formula it was parsed from with its variables; ``None``
        for one made from Python code (its code has no such name)."""
        made = self._made_from()
        if made == "function":
            return f"function {self.function.name}"  # type: ignore[union-attr]
        if made == "expression":
            return f"expression {self.expression.text!r} in {self.names}"  # type: ignore[union-attr]
        return None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by what it is, not by its compiled pieces (a worker of a cluster compiles
        its own): a built-in function by name, an expression by its parsed form, anything else
        by its fields (the function itself then needs cloudpickle, as Dask uses)."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        made = self._made_from()
        if made == "function":
            return (_of_function, (self.function, dict(self.ranges)))
        if made == "expression":
            del state["fn"]
            return (_of_expression, (state,))
        return (_restore, (state,))

    # -- compiled pieces, built once per objective -------------------------------------------
    @lazy
    def compiled(self) -> dict[Any, Any]:
        """Compiled engine pieces keyed by their settings (sweep blocks, the descent loop)."""
        return {}

    @lazy
    def jit_value(self) -> Callable[[Any], Any]:
        return jax.jit(self.fn)

    @lazy
    def jit_value_and_grad(self) -> Callable[[Any], Any]:
        return jax.jit(jax.value_and_grad(self.fn))

    @lazy
    def jit_batched_value(self) -> Callable[[Any], Any]:
        """``f`` over a batch of points, shape ``(k, n) -> (k,)``."""
        return jax.jit(jax.vmap(self.fn))

    @lazy
    def jit_hessian(self) -> Callable[[Any], Any]:
        return jax.jit(jax.hessian(self.fn))

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def from_pytree(
        cls,
        fn: Callable[[Any], Any],
        example: Any,
        *,
        ranges: Mapping[str, tuple[float, float]] | None = None,
        label: str = "f",
        formula: str | None = None,
    ) -> Objective:
        """Wrap ``fn(params)`` whose ``params`` is any pytree shaped like ``example``.

        Names come from the tree paths, in the order the example is written (dict keys as
        inserted, not sorted): ``{"m": 1.0, "c": 0.0}`` gives ``m, c``; an array leaf ``w`` of
        size 3 gives ``w[0], w[1], w[2]`` (``W[0,1]`` for a matrix). A list or tuple of numbers
        is one array leaf, so ``{"w": [0.0, 0.0]}`` hands ``fn`` a JAX array ``p["w"]``.

        Example:
            >>> obj = Objective.from_pytree(lambda p: (p["m"] - 1) ** 2 + p["c"] ** 2,
            ...                             {"m": 0.0, "c": 0.0})
            >>> obj.names
            ('m', 'c')
        """
        names: list[str] = []
        spec = _spec(example, (), names)
        if not names:
            raise ParameterError("The example pytree holds no numbers to use as parameters.")

        def unravel(theta: Any) -> Any:
            return _build(spec, theta)

        return cls(
            fn=lambda theta: fn(unravel(theta)),
            names=tuple(names),
            ranges=ranges or {},
            label=label,
            formula=formula,
            unravel=unravel,
        )


def as_vector(names: Sequence[str], params: Params, signature: str) -> np.ndarray:
    """``params`` (a mapping by name, a sequence or array in ``names`` order, or one number) as
    a float64 vector in ``names`` order; ``signature`` names the function in errors.

    Raises:
        ParameterError: names or length do not match.
        InputError: a value is not a finite number.
    """
    n = len(names)
    if isinstance(params, Mapping):
        missing = [k for k in names if k not in params]
        extra = [k for k in params if k not in names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {listing(missing)}")
            if extra:
                parts.append(f"unknown {listing(extra)}")
            raise ParameterError(
                f"{signature} takes parameters {listing(names)}; {' and '.join(parts)}."
            )
        values = [params[k] for k in names]
    elif np.isscalar(params):
        values = [params]  # type: ignore[list-item]
    else:
        values = list(np.asarray(params, dtype=object).reshape(-1))
    if len(values) != n:
        hint = (
            f" (a function of one vector? wrap it as gradscape.Objective(f, names=(...)) with "
            f"{len(values)} names)"
            if n == 1 and len(values) > 1
            else ""
        )
        raise ParameterError(
            f"{signature} takes {n} parameter(s); got {len(values)} value(s){hint}."
        )
    out = np.empty(n, dtype=np.float64)
    for i, (name, v) in enumerate(zip(names, values, strict=True)):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise InputError(f"Parameter {name} must be a number; got {v!r}.") from None
        if not math.isfinite(out[i]):
            raise InputError(f"Parameter {name} must be finite; got {out[i]}.")
    return out


# -- pytrees in the user's order --------------------------------------------------------------
# JAX sorts dict keys when it flattens; a user reads names in the order they wrote them.
def _numeric(x: Any) -> np.ndarray | None:
    """``x`` as a float array if it is a number, an array or a (nested) list/tuple of numbers."""
    if isinstance(x, bool | Mapping):
        return None
    if not (np.isscalar(x) or hasattr(x, "__array__") or type(x) in (list, tuple)):
        return None
    try:
        a = np.asarray(x)
    except (ValueError, TypeError):  # ragged or mixed: a node, not a leaf
        return None
    return a.astype(np.float64) if a.dtype.kind in "iuf" else None


def _spec(node: Any, path: tuple[str, ...], names: list[str]) -> Any:
    """A description of ``node`` that :func:`_build` turns back into the same shape, appending
    one name per number to ``names``."""
    leaf = _numeric(node)
    if leaf is not None:
        base = ".".join(path) or "x"
        start = len(names)
        if leaf.ndim == 0:
            names.append(base)
        else:
            names.extend(f"{base}[{','.join(map(str, ix))}]" for ix in np.ndindex(*leaf.shape))
        return ("leaf", start, leaf.shape)
    if isinstance(node, Mapping):
        items = [(k, _spec(v, (*path, str(k)), names)) for k, v in node.items()]
        return ("dict", type(node), items)
    if isinstance(node, list | tuple):
        fields = getattr(node, "_fields", None)  # a NamedTuple: name its entries
        keys = list(fields) if fields else [str(i) for i in range(len(node))]
        kids = [_spec(v, (*path, k), names) for k, v in zip(keys, node, strict=True)]
        return ("seq", type(node), kids)
    raise ParameterError(
        f"Parameter {'.'.join(path) or 'tree'} must be a number, an array or a dict/list of "
        f"them; got {type(node).__name__}."
    )


def _build(spec: Any, theta: Any) -> Any:
    kind, a, b = spec
    if kind == "leaf":
        size = int(np.prod(b, dtype=np.int64))
        return theta[a] if b == () else theta[a : a + size].reshape(b)
    if kind == "dict":
        return a({k: _build(s, theta) for k, s in b})
    kids = [_build(s, theta) for s in b]
    return a(*kids) if hasattr(a, "_fields") else a(kids)


def _of_function(function: Published, ranges: dict[str, tuple[float, float]]) -> Objective:
    base = function.objective
    return base if dict(base.ranges) == ranges else replace(base, ranges=ranges)


def _of_expression(state: dict[str, Any]) -> Objective:
    return Objective(fn=state["expression"].function(), **state)


def _restore(state: dict[str, Any]) -> Objective:
    return Objective(**state)


def check_range(name: str, rng: Any) -> tuple[float, float]:
    """Validate a ``(low, high)`` range: two finite numbers with ``low < high``."""
    try:
        lo, hi = (float(v) for v in rng)
    except (TypeError, ValueError):
        raise InputError(f"Range of {name} must be two numbers (low, high); got {rng!r}.") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"Range of {name} must be finite; got {lo}:{hi}.")
    if not lo < hi:
        raise InputError(
            f"Range of {name} must have low < high; got {lo:g}:{hi:g}. Write it as {name}=low:high."
        )
    if not math.isfinite(hi - lo):
        raise InputError(
            f"Range of {name} is too wide: its width {hi:g} - ({lo:g}) overflows float64 (largest "
            f"about {np.finfo(np.float64).max:.4g}); narrow it."
        )
    return lo, hi
