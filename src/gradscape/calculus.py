"""Calculus on an Objective: value, gradient, partial derivatives, Hessian, directional derivative.

Every function takes an :class:`~gradscape.objectives.Objective` and a point (mapping, sequence or
array), computes in float64 with JAX autodiff, and returns NumPy values. :func:`gradient_check`
compares autodiff with central finite differences, the independent check users can trust.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .errors import InputError, NumericalError
from .objectives import Objective, Params
from .results import Result


def _point(obj: Objective, at: np.ndarray) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in obj.as_dict(at).items())


def _finite(obj: Objective, what: str, x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``x`` if every entry is finite; otherwise say where and, for expressions, why."""
    if np.all(np.isfinite(x)):
        return x
    state = "undefined" if np.any(np.isnan(x)) else "infinite"
    reason = None
    if obj.expression is not None:
        reason = obj.expression.explain(at, derivative=what != "value")
    detail = f": {reason}" if reason else ""
    raise NumericalError(
        f"The {what} of {obj.signature()} is {state} at {_point(obj, at)}{detail}."
    )


@with_x64
def value(obj: Objective, at: Params) -> float:
    """``f(at)`` as a Python float.

    Raises:
        NumericalError: the value is NaN or infinite there.
    """
    theta = obj.vector(at)
    v = np.asarray(obj.jit_value(theta), dtype=np.float64)
    return float(_finite(obj, "value", v, theta))


@with_x64
def value_and_gradient(obj: Objective, at: Params) -> tuple[float, np.ndarray]:
    """``(f(at), ∇f(at))``; the gradient has shape ``(n,)`` in ``obj.names`` order."""
    theta = obj.vector(at)
    v, g = obj.jit_value_and_grad(theta)
    v = _finite(obj, "value", np.asarray(v, dtype=np.float64), theta)
    g = _finite(obj, "gradient", np.asarray(g, dtype=np.float64), theta)
    return float(v), g


def gradient(obj: Objective, at: Params) -> np.ndarray:
    r"""The gradient :math:`\nabla f = (\partial f/\partial \theta_1, \dots)`, shape ``(n,)``."""
    return value_and_gradient(obj, at)[1]


def partials(obj: Objective, at: Params) -> dict[str, float]:
    """One partial derivative per named parameter: ``{name: ∂f/∂name}``."""
    return obj.as_dict(gradient(obj, at))


@with_x64
def hessian(obj: Objective, at: Params) -> np.ndarray:
    r"""The Hessian :math:`H_{ij} = \partial^2 f / \partial\theta_i \partial\theta_j`, shape ``(n, n)``."""
    theta = obj.vector(at)
    h = np.asarray(obj.jit_hessian(theta), dtype=np.float64)
    return _finite(obj, "Hessian", h, theta)


@with_x64
def directional_derivative(
    obj: Objective, at: Params, direction: Params, *, normalize: bool = True
) -> float:
    r"""The rate of change along ``direction``: :math:`D_u f = \nabla f \cdot u` (a JVP).

    Args:
        direction: a vector (or mapping) in parameter space; scaled to unit length unless
            ``normalize=False``.

    Raises:
        InputError: the direction is zero.
    """
    import jax

    theta = obj.vector(at)
    u = obj.vector(direction)
    norm = float(np.linalg.norm(u))
    if norm == 0.0:
        raise InputError("The direction of a directional derivative must not be zero.")
    if normalize:
        u = u / norm
    _, d = jax.jvp(obj.fn, (theta,), (u,))
    return float(_finite(obj, "directional derivative", np.asarray(d, np.float64), theta))


@with_x64
def hvp(obj: Objective, at: Params, vector: Params) -> np.ndarray:
    r"""Hessian-vector product :math:`H v`, forward-over-reverse, without forming :math:`H`."""
    import jax

    theta = obj.vector(at)
    v = obj.vector(vector)
    _, hv = jax.jvp(jax.grad(obj.fn), (theta,), (v,))
    return _finite(obj, "Hessian-vector product", np.asarray(hv, np.float64), theta)


@dataclass(frozen=True)
class GradientCheck:
    """Autodiff gradient next to its central finite-difference estimate.

    Attributes:
        names: parameter names.
        autodiff: gradient from JAX, shape ``(n,)``.
        finite_difference: central-difference estimate, shape ``(n,)``.
        steps: the step ``h_i`` used per parameter, shape ``(n,)``.
        relative_error: ``‖autodiff − fd‖ / max(‖autodiff‖, ‖fd‖, tiny)``.
        componentwise_error: ``|autodiff_i − fd_i| / max(|autodiff_i|, |fd_i|, scale)``.
    """

    names: tuple[str, ...]
    autodiff: np.ndarray
    finite_difference: np.ndarray
    steps: np.ndarray
    relative_error: float
    componentwise_error: np.ndarray

    def passed(self, rtol: float = 1e-6) -> bool:
        """True when the relative error is at most ``rtol``."""
        return self.relative_error <= rtol


def _fd_steps(theta: np.ndarray, step: float | None) -> np.ndarray:
    rel = float(np.finfo(np.float64).eps ** (1 / 3)) if step is None else float(step)
    if not (math.isfinite(rel) and rel > 0):
        raise InputError(f"The finite-difference step must be a number > 0; got {step!r}.")
    h = rel * np.maximum(1.0, np.abs(theta))
    return (theta + h) - theta  # exactly representable, so (θ+h) − (θ−h) is exactly 2h


def _fd_points(theta: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The ``2n`` points of central differences: ``θ + h_i e_i`` then ``θ − h_i e_i``."""
    eye = np.eye(theta.size) * h[:, None]
    return np.concatenate([theta + eye, theta - eye])


def _check(
    obj: Objective, theta: np.ndarray, ad: np.ndarray, fvals: Any, h: np.ndarray
) -> GradientCheck:
    n = theta.size
    fvals = np.asarray(fvals, np.float64)
    fd = _finite(obj, "finite-difference gradient", (fvals[:n] - fvals[n:]) / (2 * h), theta)
    tiny = np.finfo(np.float64).tiny
    denom = max(float(np.linalg.norm(ad)), float(np.linalg.norm(fd)), tiny)
    scale = max(float(np.max(np.abs(ad))), tiny) * 1e-8
    comp = np.abs(ad - fd) / np.maximum(np.maximum(np.abs(ad), np.abs(fd)), scale)
    return GradientCheck(
        names=obj.names,
        autodiff=ad,
        finite_difference=fd,
        steps=h,
        relative_error=float(np.linalg.norm(ad - fd) / denom),
        componentwise_error=comp,
    )


@with_x64
def gradient_check(obj: Objective, at: Params, *, step: float | None = None) -> GradientCheck:
    r"""Check the autodiff gradient against central finite differences.

    .. math:: \partial_i f \approx \frac{f(\theta + h_i e_i) - f(\theta - h_i e_i)}{2 h_i},
              \qquad h_i = \epsilon^{1/3} \max(1, |\theta_i|)

    The cube root of machine epsilon balances truncation (:math:`O(h^2)`) against rounding
    (:math:`O(\epsilon/h)`) error, so agreement to about 1e-8 is expected for smooth functions.

    Args:
        step: a fixed relative step instead of :math:`\epsilon^{1/3}`.
    """
    import jax.numpy as jnp

    theta = obj.vector(at)
    h = _fd_steps(theta, step)
    fvals = obj.jit_batched_value(jnp.asarray(_fd_points(theta, h)))
    return _check(obj, theta, gradient(obj, theta), fvals, h)


# -- the kind of a point -----------------------------------------------------------------------
def classify(eigenvalues: Any, *, tol: float | None = None) -> tuple[str, int]:
    """The second-derivative test at a critical point, from the Hessian's eigenvalues.

    Returns:
        ``(kind, index)``: kind is ``"minimum"`` (all > 0), ``"maximum"`` (all < 0),
        ``"saddle"`` (some > 0 and some < 0, whatever the rest) or ``"degenerate"`` (none of
        opposite signs but some ≈ 0: the test cannot decide); index is the number of negative
        eigenvalues (the directions that go down).

    Args:
        tol: eigenvalues with ``|λ| <= tol`` count as zero (default ``1e-8 · max(1, max|λ|)``).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    if tol is None:
        tol = 1e-8 * max(1.0, float(np.max(np.abs(lam))) if lam.size else 1.0)
    neg = int(np.sum(lam < -tol))
    pos = int(np.sum(lam > tol))
    if pos and neg:
        return "saddle", neg
    if pos + neg < lam.size:
        return "degenerate", neg
    return ("minimum", 0) if pos else ("maximum", neg)


def is_critical(grad: Any, hess: Any, at: Any, *, rtol: float = 1e-8) -> bool:
    """Whether the gradient vanishes, relative to the curvature and the size of the point.

    ``‖∇f‖∞ <= rtol · max(1, ‖H‖₂) · max(1, ‖x‖∞)``: a point known to about ``rtol`` relative
    precision passes, a point off by more than that does not.
    """
    g = np.asarray(grad, np.float64)
    h = np.asarray(hess, np.float64)
    x = np.asarray(at, np.float64)
    scale = max(1.0, float(np.linalg.norm(h, 2)) if h.size else 0.0)
    return float(np.max(np.abs(g))) <= rtol * scale * max(1.0, float(np.max(np.abs(x))))


# -- Taylor approximations ------------------------------------------------------------------------
def _num(c: float) -> str:
    return f"{c:.6g}"


def _shift(name: str, a: float, tex: bool) -> str:
    var = _tex_name(name) if tex else name
    if a == 0:
        return var
    sign = "-" if a > 0 else "+"
    return rf"\left({var} {sign} {_num(abs(a))}\right)" if tex else f"({var} {sign} {_num(abs(a))})"


def _tex_name(name: str) -> str:
    import sympy

    from .expr import latex

    return latex(sympy.Symbol(name))


@dataclass(frozen=True)
class Taylor:
    r"""Taylor approximations of ``f`` around a point ``a``.

    .. math:: T_1(x) = f(a) + \nabla f(a)^\top (x - a), \qquad
              T_2(x) = T_1(x) + \tfrac12 (x - a)^\top H(a) (x - a)
    """

    names: tuple[str, ...]
    center: np.ndarray
    value: float
    gradient: np.ndarray
    hessian: np.ndarray

    def __call__(self, at: Any, order: int = 2) -> float:
        """``T_order`` at ``at`` (a vector in ``names`` order)."""
        d = np.asarray(at, np.float64) - self.center
        t = self.value + float(self.gradient @ d)
        return t + 0.5 * float(d @ self.hessian @ d) if order >= 2 else t

    def formula(self, order: int = 2, *, tex: bool = False) -> str:
        """``T_order`` written out, e.g. ``0.909297 + 1.81859*(x - 1) - 0.416147*(y - 2)``."""
        if order not in (1, 2):
            raise InputError(f"Taylor order must be 1 or 2; got {order!r}.")
        mul = r" \cdot " if tex else "*"
        sh = [_shift(n, a, tex) for n, a in zip(self.names, self.center, strict=True)]
        terms: list[tuple[float, str]] = [(self.value, "")]
        terms += [(g, s) for g, s in zip(self.gradient, sh, strict=True)]
        if order == 2:
            n = len(self.names)
            for i in range(n):
                sq = f"{sh[i]}^{{2}}" if tex else f"{sh[i]}^2"
                terms.append((0.5 * self.hessian[i, i], sq))
                for j in range(i + 1, n):
                    terms.append((self.hessian[i, j], f"{sh[i]}{mul}{sh[j]}"))
        big = max(abs(c) for c, _ in terms)
        out = ""
        for c, var in terms:
            if abs(c) <= 1e-14 * big or c == 0:
                continue
            body = var if var and abs(c) == 1 else _num(abs(c)) + (mul + var if var else "")
            if not out:
                out = ("-" if c < 0 else "") + body
            else:
                out += (" - " if c < 0 else " + ") + body
        return out or "0"


@with_x64
def taylor(obj: Objective, at: Params) -> Taylor:
    """First- and second-order Taylor approximations of ``obj`` around ``at``."""
    theta = obj.vector(at)
    v, g = value_and_gradient(obj, theta)
    return Taylor(obj.names, theta, v, g, hessian(obj, theta))


# -- everything about one function at one point ---------------------------------------------------
@dataclass(frozen=True, eq=False)
class Derivation(Result):
    """Derivatives of a function, symbolic and numeric, with their checks.

    Symbolic fields are ``None`` for objectives without an expression; numeric fields are
    ``None`` when no point was given.

    Attributes:
        label: the function's signature, e.g. ``"f(x, y)"``.
        formula, formula_latex: the function written out.
        variables: its variables in order.
        partials, partials_latex: ``{name: ∂f/∂name}`` as formulas.
        hessian_formulas, hessian_latex: rows of second partial derivatives (``None`` above
            :data:`MAX_SYMBOLIC_HESSIAN` variables).
        point: the point, ``{name: value}``.
        value: ``f`` there.
        gradient: autodiff gradient, shape ``(n,)``.
        fd_gradient: central finite-difference gradient, shape ``(n,)``.
        fd_relative_error: ``‖autodiff − fd‖ / ‖autodiff‖``.
        hessian: autodiff Hessian, shape ``(n, n)``; hessian_eigenvalues ascending.
        critical: whether the gradient vanishes (see :func:`is_critical`).
        kind: ``"minimum"``, ``"maximum"``, ``"saddle"``, ``"degenerate"`` or ``"not critical"``.
        index: number of negative Hessian eigenvalues.
        taylor1, taylor2: first- and second-order Taylor approximations, as formulas.
    """

    label: str
    formula: str | None
    formula_latex: str | None
    variables: tuple[str, ...]
    partials: dict[str, str] | None
    partials_latex: dict[str, str] | None
    hessian_formulas: tuple[tuple[str, ...], ...] | None
    hessian_latex: tuple[tuple[str, ...], ...] | None
    point: dict[str, float] | None = None
    value: float | None = None
    gradient: np.ndarray | None = None
    fd_gradient: np.ndarray | None = None
    fd_relative_error: float | None = None
    hessian: np.ndarray | None = None
    hessian_eigenvalues: np.ndarray | None = None
    critical: bool | None = None
    kind: str | None = None
    index: int | None = None
    taylor1: str | None = None
    taylor2: str | None = None
    taylor1_latex: str | None = None
    taylor2_latex: str | None = None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict (numbers as floats, vectors as ``{name: number}``)."""
        out: dict[str, Any] = {
            "function": self.label,
            "expression": self.formula,
            "latex": self.formula_latex,
            "variables": list(self.variables),
            "partials": self.partials,
            "partials_latex": self.partials_latex,
            "hessian_formulas": _rows(self.hessian_formulas),
            "hessian_latex": _rows(self.hessian_latex),
        }
        if self.point is None:
            return out
        names = self.variables
        named = lambda v: {n: float(x) for n, x in zip(names, v, strict=True)}  # noqa: E731
        out.update(
            point=self.point,
            value=self.value,
            gradient=named(self.gradient),
            fd_gradient=named(self.fd_gradient),
            fd_relative_error=self.fd_relative_error,
            hessian=np.asarray(self.hessian).tolist(),
            hessian_eigenvalues=np.asarray(self.hessian_eigenvalues).tolist(),
            critical=self.critical,
            kind=self.kind,
            index=self.index,
            taylor={
                "first": self.taylor1,
                "second": self.taylor2,
                "first_latex": self.taylor1_latex,
                "second_latex": self.taylor2_latex,
            },
        )
        return out


def _rows(rows: Any) -> list[list[str]] | None:
    return None if rows is None else [list(r) for r in rows]


#: Above this many variables the symbolic Hessian is not written out.
MAX_SYMBOLIC_HESSIAN = 12


def _derive_kernel(obj: Objective) -> Any:
    """One compiled function for value, gradient, Hessian and the finite-difference points."""
    import jax

    key = "derive"
    if key not in obj.compiled:

        def kernel(theta: Any, fd_points: Any) -> Any:
            v, g = jax.value_and_grad(obj.fn)(theta)
            return v, g, jax.hessian(obj.fn)(theta), jax.vmap(obj.fn)(fd_points)

        # One evaluation at one point: compile time is all that counts, so skip XLA's
        # backend optimisations (3x faster to compile for large expressions).
        obj.compiled[key] = jax.jit(kernel, compiler_options={"xla_backend_optimization_level": 0})
    return obj.compiled[key]


@with_x64
def derive(source: Any, at: Params | None = None) -> Derivation:
    """Value, partial derivatives (symbolic and autodiff), finite-difference check, Hessian with
    its eigenvalues, Taylor approximations and the kind of point, in one go.

    Args:
        source: anything :func:`gradscape.objective` accepts (``"x^2*sin(y)"``, ``"himmelblau"``,
            an Objective...).
        at: the point; without it only the formulas are derived.

    Raises:
        NumericalError: the function or its derivatives are undefined at ``at`` (the message
            names the part that fails, e.g. ``log(x) needs a positive argument``).

    Example:
        >>> d = derive("x^2*sin(y)", at={"x": 1, "y": 2})
        >>> d.partials["x"], round(d.gradient[0], 6)
        ('2*x*sin(y)', 1.818595)
    """
    import jax.numpy as jnp

    from .objectives import objective

    obj = objective(source)
    expr = obj.expression
    sym: dict[str, Any] = dict.fromkeys(
        (
            "formula",
            "formula_latex",
            "partials",
            "partials_latex",
            "hessian_formulas",
            "hessian_latex",
        )
    )
    if expr is not None:
        from .expr import format_expr, latex

        sym["formula"] = str(expr)
        sym["formula_latex"] = expr.latex()
        sym["partials"] = {n: format_expr(d) for n, d in expr.partials.items()}
        sym["partials_latex"] = {n: latex(d) for n, d in expr.partials.items()}
        if obj.n <= MAX_SYMBOLIC_HESSIAN:
            sym["hessian_formulas"] = tuple(tuple(map(format_expr, r)) for r in expr.hessian)
            sym["hessian_latex"] = tuple(tuple(map(latex, r)) for r in expr.hessian)
    if at is None:
        return Derivation(label=obj.signature(), variables=obj.names, **sym)

    theta = obj.vector(at)
    h = _fd_steps(theta, None)
    v, g, hess, fvals = _derive_kernel(obj)(jnp.asarray(theta), jnp.asarray(_fd_points(theta, h)))
    v = float(_finite(obj, "value", np.asarray(v, np.float64), theta))
    g = _finite(obj, "gradient", np.asarray(g, np.float64), theta)
    hess = _finite(obj, "Hessian", np.asarray(hess, np.float64), theta)
    check = _check(obj, theta, g, fvals, h)
    eig = np.linalg.eigvalsh(0.5 * (hess + hess.T))
    critical = is_critical(g, hess, theta)
    kind, index = classify(eig) if critical else ("not critical", int(np.sum(eig < 0)))
    t = Taylor(obj.names, theta, v, g, hess)
    return Derivation(
        label=obj.signature(),
        variables=obj.names,
        **sym,
        point=obj.as_dict(theta),
        value=v,
        gradient=g,
        fd_gradient=check.finite_difference,
        fd_relative_error=check.relative_error,
        hessian=hess,
        hessian_eigenvalues=eig,
        critical=critical,
        kind=kind,
        index=index,
        taylor1=t.formula(1),
        taylor2=t.formula(2),
        taylor1_latex=t.formula(1, tex=True),
        taylor2_latex=t.formula(2, tex=True),
    )
