"""Calculus on an Objective: value, gradient, partial derivatives, Hessian, directional derivative.

Every function takes an :class:`~gradscape.objectives.Objective` and a point (mapping, sequence or
array), computes in float64 with JAX autodiff, and returns NumPy values. :func:`gradient_check`
compares autodiff with central finite differences, the independent check users can trust.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from ._x64 import with_x64
from .errors import InputError, listing
from .objectives import Objective, Params, as_vector
from .results import Result
from .sources import objective

if TYPE_CHECKING:
    from .kinks import Corner

# SymPy (through expr, kinks and sources) is imported where a formula is read or written: the
# numeric calculus (value, gradient, Hessian) that the tour and the engines use stays free of it.


def value(obj: Objective | str | Callable[..., Any], at: Params) -> float:
    """``f(at)`` as a Python float, in float64.

    Raises:
        NumericalError: the value is NaN or infinite there.
    """
    obj = objective(obj)
    return obj(at)


@with_x64
def value_and_gradient(
    obj: Objective | str | Callable[..., Any], at: Params
) -> tuple[float, np.ndarray]:
    """``(f(at), ∇f(at))``; the gradient has shape ``(n,)`` in ``obj.names`` order."""
    obj = objective(obj)
    theta = obj.vector(at)
    v, g = obj.jit_value_and_grad(theta)
    v = obj.finite("value", np.asarray(v, dtype=np.float64), theta)
    g = obj.finite("gradient", np.asarray(g, dtype=np.float64), theta)
    return float(v), g


def gradient(obj: Objective | str | Callable[..., Any], at: Params) -> np.ndarray:
    r"""The gradient :math:`\nabla f = (\partial f/\partial \theta_1, \dots)`, shape ``(n,)``."""
    obj = objective(obj)
    return value_and_gradient(obj, at)[1]


def partials(obj: Objective | str | Callable[..., Any], at: Params) -> dict[str, float]:
    """One partial derivative per named parameter: ``{name: ∂f/∂name}``."""
    obj = objective(obj)
    return obj.as_dict(gradient(obj, at))


@with_x64
def hessian(obj: Objective | str | Callable[..., Any], at: Params) -> np.ndarray:
    r"""The Hessian :math:`H_{ij} = \partial^2 f / \partial\theta_i \partial\theta_j`, shape ``(n, n)``."""
    obj = objective(obj)
    theta = obj.vector(at)
    h = np.asarray(obj.jit_hessian(theta), dtype=np.float64)
    return obj.finite("Hessian", h, theta)


@with_x64
def directional_derivative(
    obj: Objective | str | Callable[..., Any],
    at: Params,
    direction: Params,
    *,
    normalize: bool = True,
) -> float:
    r"""The rate of change along ``direction``: :math:`D_u f = \nabla f \cdot u` (a JVP).

    Args:
        direction: a vector (or mapping) in parameter space; scaled to unit length unless
            ``normalize=False``.

    Raises:
        InputError: the direction is zero.
    """
    obj = objective(obj)
    theta = obj.vector(at)
    u = obj.vector(direction)
    norm = float(np.linalg.norm(u))
    if norm == 0.0:
        raise InputError("The direction of a directional derivative must not be zero.")
    if normalize:
        u = u / norm
    _, d = jax.jvp(obj.fn, (theta,), (u,))
    return float(obj.finite("directional derivative", np.asarray(d, np.float64), theta))


@with_x64
def hvp(obj: Objective | str | Callable[..., Any], at: Params, vector: Params) -> np.ndarray:
    r"""Hessian-vector product :math:`H v`, forward-over-reverse, without forming :math:`H`."""
    obj = objective(obj)
    theta = obj.vector(at)
    v = obj.vector(vector)
    _, hv = jax.jvp(jax.grad(obj.fn), (theta,), (v,))
    return obj.finite("Hessian-vector product", np.asarray(hv, np.float64), theta)


#: Autodiff and finite differences agree when their relative error is at most this.
AGREEMENT = 1e-6


@dataclass(frozen=True)
class GradientCheck:
    r"""Autodiff gradient next to its central finite-difference estimate.

    A relative error means nothing where the gradient is zero (at every minimum), so the
    difference is measured against the larger of the gradient and what finite differences can
    resolve: their own error estimate ``bound`` (truncation, from a second step ``2h``, and
    rounding, :math:`\epsilon |f| / h`) divided by :data:`AGREEMENT`. A difference within that
    estimate is agreement, and its relative error is at most :data:`AGREEMENT`.

    Attributes:
        names: parameter names.
        autodiff: gradient from JAX, shape ``(n,)``.
        finite_difference: central-difference estimate, shape ``(n,)``.
        steps: the step ``h_i`` used per parameter, shape ``(n,)``.
        error_bound: finite differences' own error estimate per parameter, shape ``(n,)``.
        relative_error: ``‖autodiff − fd‖ / max(‖autodiff‖, ‖fd‖, ‖bound‖ / AGREEMENT)``.
        componentwise_error: the same per parameter, shape ``(n,)``.
    """

    names: tuple[str, ...]
    autodiff: np.ndarray
    finite_difference: np.ndarray
    steps: np.ndarray
    relative_error: float
    componentwise_error: np.ndarray
    error_bound: np.ndarray | None = None

    @property
    def agree(self) -> bool:
        """Whether autodiff and finite differences agree (relative error <= AGREEMENT)."""
        return self.passed(AGREEMENT)

    def passed(self, rtol: float = AGREEMENT) -> bool:
        """True when the relative error is at most ``rtol``."""
        return self.relative_error <= rtol


def _fd_steps(theta: np.ndarray, step: float | None) -> np.ndarray:
    rel = float(np.finfo(np.float64).eps ** (1 / 3)) if step is None else float(step)
    if not (math.isfinite(rel) and rel > 0):
        raise InputError(f"The finite-difference step must be a number > 0; got {step!r}.")
    h = rel * np.maximum(1.0, np.abs(theta))
    return np.asarray((theta + h) - theta)  # exactly representable: θ + h is the point used


def _fd_shifts(theta: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The exact shifts of the ``4n`` stencil points ``θ ± h_i e_i``, ``θ ± 2h_i e_i``, in that
    order (``(θ − h) − θ`` is not always ``−h`` in float64: use what was represented)."""
    return np.concatenate(
        [(theta + h) - theta, (theta - h) - theta, (theta + 2 * h) - theta, (theta - 2 * h) - theta]
    )


def _shifted_values(fn: Any, theta: Any, shifts: Any) -> Any:
    """``f(θ + shifts[k] e_{k mod n})`` for every ``k``, a bounded batch at a time (traced)."""
    n = theta.shape[0]
    index = jnp.arange(shifts.shape[0]) % n
    batch = max(1, min(int(shifts.shape[0]), 2**22 // max(n, 1)))  # ≤ 32 MB of points at once
    return jax.lax.map(lambda a: fn(theta.at[a[0]].add(a[1])), (index, shifts), batch_size=batch)


def _fd_kernel(obj: Objective) -> Any:
    if "fd" not in obj.compiled:
        obj.compiled["fd"] = jax.jit(lambda theta, shifts: _shifted_values(obj.fn, theta, shifts))
    return obj.compiled["fd"]


def _norm(v: np.ndarray) -> float:
    """The 2-norm without overflow for entries near 1e308 (scaled by the largest)."""
    big = float(np.max(np.abs(v), initial=0.0))
    return big * float(np.linalg.norm(v / big)) if 0.0 < big < np.inf else big


@np.errstate(over="ignore", invalid="ignore", divide="ignore")  # overflow is judged, not warned
def _check(
    obj: Objective, theta: np.ndarray, ad: np.ndarray, f0: float, fvals: Any, shifts: np.ndarray
) -> GradientCheck:
    n = theta.size
    fp, fm, fp2, fm2 = np.asarray(fvals, np.float64).reshape(4, n)
    sp, sm, sp2, sm2 = shifts.reshape(4, n)
    fd = obj.finite("finite-difference gradient", (fp - fm) / (sp - sm), theta)
    fd2 = (fp2 - fm2) / (sp2 - sm2)
    eps = float(np.finfo(np.float64).eps)
    # fd(h) = g + c h² + …, fd(2h) = g + 4c h² + …: their difference is three times fd(h)'s error.
    truncation = np.where(np.isfinite(fd2), np.abs(fd2 - fd) / 3, 0.0)
    rounding = 8 * eps * np.maximum(np.maximum(np.abs(fp), np.abs(fm)), abs(f0)) / (sp - sm)
    bound = 3 * truncation + rounding
    tiny = float(np.finfo(np.float64).tiny)
    diff = np.abs(ad - fd)
    scale = max(_norm(ad), _norm(fd), _norm(bound) / AGREEMENT)
    floor = max(float(np.max(np.abs(ad))) * 1e-8, tiny)
    comp = diff / np.maximum(
        np.maximum(np.abs(ad), np.abs(fd)), np.maximum(bound / AGREEMENT, floor)
    )
    return GradientCheck(
        names=obj.names,
        autodiff=ad,
        finite_difference=fd,
        steps=sp,
        relative_error=_norm(diff) / max(scale, tiny),
        componentwise_error=comp,
        error_bound=bound,
    )


@with_x64
def gradient_check(
    obj: Objective | str | Callable[..., Any], at: Params, *, step: float | None = None
) -> GradientCheck:
    r"""Check the autodiff gradient against central finite differences.

    .. math:: \partial_i f \approx \frac{f(\theta + h_i e_i) - f(\theta - h_i e_i)}{2 h_i},
              \qquad h_i = \epsilon^{1/3} \max(1, |\theta_i|)

    The cube root of machine epsilon balances truncation (:math:`O(h^2)`) against rounding
    (:math:`O(\epsilon/h)`) error. The same difference with step ``2h`` estimates the
    truncation error, so agreement is judged against what finite differences can resolve at
    this point, also where the gradient is zero (see :class:`GradientCheck`).

    Args:
        step: a fixed relative step instead of :math:`\epsilon^{1/3}`.

    Example:
        >>> from gradscape import objective
        >>> check = gradient_check(objective("himmelblau"), {"x": 3.0, "y": 2.0})
        >>> check.agree, check.relative_error < 1e-6
        (True, True)
    """
    obj = objective(obj)
    theta = obj.vector(at)
    if theta.size > MAX_FD_VARIABLES:
        raise InputError(
            f"A finite-difference check takes 4n evaluations of f; {obj.signature()} has "
            f"{theta.size:,} parameters, above MAX_FD_VARIABLES = {MAX_FD_VARIABLES:,}."
        )
    h = _fd_steps(theta, step)
    shifts = _fd_shifts(theta, h)
    f0, ad = value_and_gradient(obj, theta)
    fvals = _fd_kernel(obj)(jnp.asarray(theta), jnp.asarray(shifts))
    return _check(obj, theta, ad, f0, fvals, shifts)


# -- the kind of a point -----------------------------------------------------------------------
def classify(eigenvalues: Any, *, tol: float | None = None) -> tuple[str, int]:
    """The second-derivative test at a critical point, from the Hessian's eigenvalues.

    Returns:
        ``(kind, index)``: kind is ``"minimum"`` (all > 0), ``"maximum"`` (all < 0),
        ``"saddle"`` (some > 0 and some < 0, whatever the rest) or ``"degenerate"`` (none of
        opposite signs but some ≈ 0: the test cannot decide); index is the number of negative
        eigenvalues (the directions that go down).

    Args:
        tol: eigenvalues with ``|λ| <= tol`` count as zero (default ``1e-8 · max|λ|``: relative,
            so that ``1e-9·(x² + y²)`` has a minimum like ``x² + y²``).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    if tol is None:
        tol = 1e-8 * (float(np.max(np.abs(lam))) if lam.size else 0.0)
    neg = int(np.sum(lam < -tol))
    pos = int(np.sum(lam > tol))
    if pos and neg:
        return "saddle", neg
    if pos + neg < lam.size:
        return "degenerate", neg
    return ("minimum", 0) if pos else ("maximum", neg)


#: A point that is not critical, but would pass :func:`is_critical` at this relative precision,
#: is near a critical one (typically a critical point given to a few digits): its Hessian then
#: tells what kind of point is close by.
NEAR_CRITICAL = 1e-3


def is_critical(grad: Any, hess: Any, at: Any, *, rtol: float = 1e-10) -> bool:
    """Whether the gradient vanishes, relative to the curvature and the size of the point.

    Along each eigenvector ``q_k`` of the Hessian (eigenvalue ``λ_k``) the gradient's component
    must be what a point off by ``rtol · max(1, ‖x‖∞)`` would show, plus rounding:
    ``|q_k · ∇f| <= |λ_k| · rtol · max(1, ‖x‖∞) + 64 ε ‖H‖₂ ‖x‖∞``. A point known to about
    ``rtol`` relative precision passes, a point off by more than that does not, whatever the
    scale of ``f`` (``1e-9·(x² + y²)`` at ``x = 1e-3`` is not critical). A gradient along a
    direction of no curvature is not explained by any error in the point: ``sqrt(x² + y²)`` at
    ``(1e-9, 0)`` has slope 1 along ``x``, where its Hessian is 0, and is not critical however
    large its curvature along ``y``. Where the Hessian vanishes only a zero gradient passes.
    """
    g = np.asarray(grad, np.float64).reshape(-1)
    h = np.asarray(hess, np.float64)
    x = np.asarray(at, np.float64)
    if not g.size:
        return True
    lam, q = np.linalg.eigh(0.5 * (h + h.T))
    size = float(np.max(np.abs(x))) if x.size else 0.0
    rounding = 64 * float(np.finfo(np.float64).eps) * float(np.max(np.abs(lam))) * size
    allowed = np.abs(lam) * rtol * max(1.0, size) + rounding
    return bool(np.all(np.abs(q.T @ g) <= allowed))


# -- Taylor approximations ------------------------------------------------------------------------
def _num(c: float) -> str:
    return f"{c:.6g}"


def _shift(name: str, a: float, tex: bool) -> str:
    var = _tex_name(name) if tex else name
    if a == 0:
        return var
    sign = "-" if a > 0 else "+"
    a_text = f"{abs(a):.15g}"  # the point to every digit: (x - 1e+08) is not (x - 100000001)
    return rf"\left({var} {sign} {a_text}\right)" if tex else f"({var} {sign} {a_text})"


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

    def __call__(self, at: Params, order: int = 2) -> float:
        """``T_order`` at ``at`` (``{name: value}``, or a vector in ``names`` order)."""
        d = as_vector(self.names, at, f"T{order}({', '.join(self.names)})") - self.center
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
def taylor(obj: Objective | str | Callable[..., Any], at: Params) -> Taylor:
    """First- and second-order Taylor approximations of ``obj`` around ``at``."""
    obj = objective(obj)
    theta = obj.vector(at)
    v, g = value_and_gradient(obj, theta)
    return Taylor(obj.names, theta, v, g, hessian(obj, theta))


# -- everything about one function at one point ---------------------------------------------------
@dataclass(frozen=True, eq=False)
class Derivation(Result):
    """Derivatives of a function, symbolic and numeric, with their checks.

    Symbolic fields are ``None`` for objectives without an expression (and above the sizes
    named in ``notes``); numeric fields are ``None`` when no point was given, or when they do
    not exist there (at a kink: see ``differentiable``).

    Attributes:
        label: the function's signature, e.g. ``"f(x, y)"``.
        formula, formula_latex: the function written out.
        variables: its variables in order.
        partials, partials_latex: ``{name: ∂f/∂name}`` as formulas.
        hessian_formulas, hessian_latex: rows of second partial derivatives (``None`` above
            :data:`MAX_SYMBOLIC_HESSIAN` variables).
        point: the point, ``{name: value}``.
        value: ``f`` there.
        gradient: autodiff gradient, shape ``(n,)`` (``None`` where f is not differentiable).
        fd_gradient: central finite-difference gradient, shape ``(n,)``.
        fd_relative_error: see :class:`GradientCheck`: small whenever they agree.
        fd_agree: whether autodiff and finite differences agree.
        fd_error_bound: the size of finite differences' own error estimate, ``‖bound‖``.
        hessian: autodiff Hessian, shape ``(n, n)``; hessian_eigenvalues ascending (``None``
            where f is not smooth at the point, or above :data:`MAX_HESSIAN_VARIABLES`).
        critical: whether the gradient vanishes (see :func:`is_critical`).
        kind: ``"minimum"``, ``"maximum"``, ``"saddle"``, ``"degenerate"``, ``"not critical"``;
            at a kink ``"not an extremum"`` or ``"undecided"`` too; ``None`` if undecidable.
        index: number of negative Hessian eigenvalues.
        near_critical_kind: at a point that is not critical but would be if it were off by
            :data:`NEAR_CRITICAL` relative (a critical point given to few digits), the kind the
            Hessian here gives it (``"minimum"``, ``"saddle"``…); ``None`` otherwise.
        taylor1, taylor2: first- and second-order Taylor approximations, as formulas.
        differentiable: whether f is differentiable at the point.
        reason: the parts that are not smooth there (``"abs(x) has a corner where x = 0"``).
        one_sided: ``{name: (from the left, from the right)}`` partial derivatives where some
            part is not smooth (``±inf`` for infinite slopes and jumps, ``nan`` where f is
            undefined on that side).
        kind_basis: how the kind of a non-smooth point was decided.
        notes: what was left out and why (sizes above the caps, withheld second derivatives).
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
    differentiable: bool | None = None
    reason: str | None = None
    one_sided: dict[str, tuple[float, float]] | None = None
    kind_basis: str | None = None
    fd_agree: bool | None = None
    fd_error_bound: float | None = None
    notes: tuple[str, ...] = ()
    near_critical_kind: str | None = None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict (numbers as floats, vectors as ``{name: number}``; one-sided
        derivatives that are not finite as ``"+inf"``, ``"-inf"`` or ``"undefined"``)."""
        out: dict[str, Any] = {
            "function": self.label,
            "expression": self.formula,
            "latex": self.formula_latex,
            "variables": list(self.variables),
            "partials": self.partials,
            "partials_latex": self.partials_latex,
            "hessian_formulas": _rows(self.hessian_formulas),
            "hessian_latex": _rows(self.hessian_latex),
            "notes": list(self.notes),
        }
        if self.point is None:
            return out
        names = self.variables

        def named(v: Any) -> dict[str, float] | None:
            return None if v is None else {n: float(x) for n, x in zip(names, v, strict=True)}

        hess = self.hessian
        out.update(
            point=self.point,
            value=self.value,
            differentiable=self.differentiable,
            reason=self.reason,
            one_sided=None
            if self.one_sided is None
            else {n: {"left": _side(a), "right": _side(b)} for n, (a, b) in self.one_sided.items()},
            gradient=named(self.gradient),
            fd_gradient=named(self.fd_gradient),
            fd_relative_error=self.fd_relative_error,
            fd_agree=self.fd_agree,
            fd_error_bound=self.fd_error_bound,
            hessian=None if hess is None or hess.shape[0] > MAX_JSON_HESSIAN else hess.tolist(),
            hessian_eigenvalues=None
            if self.hessian_eigenvalues is None
            else np.asarray(self.hessian_eigenvalues).tolist(),
            critical=self.critical,
            kind=self.kind,
            kind_basis=self.kind_basis,
            index=self.index,
            near_critical_kind=self.near_critical_kind,
            taylor={
                "first": self.taylor1,
                "second": self.taylor2,
                "first_latex": self.taylor1_latex,
                "second_latex": self.taylor2_latex,
            },
        )
        return out


def _side(v: float) -> float | str:
    if math.isnan(v):
        return "undefined"
    return v if math.isfinite(v) else ("+inf" if v > 0 else "-inf")


def _rows(rows: Any) -> list[list[str]] | None:
    return None if rows is None else [list(r) for r in rows]


#: Above this many variables the symbolic Hessian and the second-order Taylor formula are not
#: written out.
MAX_SYMBOLIC_HESSIAN = 12
#: Above this many variables the first-order Taylor formula is not written out.
MAX_TAYLOR_VARIABLES = 100
#: Above this many variables the Hessian is not formed (n² numbers, n Hessian-vector products).
MAX_HESSIAN_VARIABLES = 2000
#: Above this many variables derive skips the finite-difference check (4n evaluations of f)
#: and :func:`gradient_check` refuses.
MAX_FD_VARIABLES = 10_000
#: Above this many variables the Hessian is left out of the JSON summary (it stays in the .npz).
MAX_JSON_HESSIAN = 100
#: Most symbolic work for the partial derivatives: Σ over the terms of a sum of (operations in
#: the term × variables in it). SymPy takes about 50 µs per unit.
MAX_SYMBOLIC_WORK = 200_000
#: Most operations (nodes of its tree, :func:`~gradscape.expr.expression.formula_size`) in one
#: formula written out: the function, one partial derivative or one second partial derivative.
#: Each derivative's size is predicted before SymPy forms it (a product of k factors has a
#: derivative k times its size); printing costs about 50 µs per operation and per form (text,
#: LaTeX, MathML), and nobody reads a longer formula. Above it the formula is skipped and said;
#: the numbers (value, gradient, Hessian) are exact by autodiff all the same.
MAX_FORMULA_OPS = 10_000
#: Most operations in all the formulas of one derivation together (the partial derivatives, then
#: the Hessian's), so that printing them stays within seconds.
MAX_WRITTEN_OPS = 50_000


def _derive_kernel(obj: Objective, with_hessian: bool) -> Any:
    """One compiled function for value, gradient, Hessian and the finite-difference stencil."""
    key = ("derive", with_hessian)
    if key not in obj.compiled:

        def kernel(theta: Any, shifts: Any) -> Any:
            v, g = jax.value_and_grad(obj.fn)(theta)
            h = jax.hessian(obj.fn)(theta) if with_hessian else None
            return v, g, h, _shifted_values(obj.fn, theta, shifts)

        # One evaluation at one point: compile time is all that counts, so skip XLA's
        # backend optimisations (3x faster to compile for large expressions).
        obj.compiled[key] = jax.jit(kernel, compiler_options={"xla_backend_optimization_level": 0})
    return obj.compiled[key]


def symbolic_work(expr: Any) -> int:
    """The cost of the symbolic partial derivatives of an :class:`~gradscape.expr.Expression`:
    over the terms of its top-level sum, operations × variables (see :data:`MAX_SYMBOLIC_WORK`)."""
    import sympy

    return sum(_size(t) * max(1, len(t.free_symbols)) for t in sympy.Add.make_args(expr.sympy))


def _size(e: Any) -> int:
    import sympy

    return sum(1 for _ in sympy.preorder_traversal(e))


def _symbolic(obj: Objective, notes: list[str], hessian: bool = True) -> dict[str, Any]:
    """The formula, its partial derivatives and (for few variables) its Hessian, as text: each
    within :data:`MAX_FORMULA_OPS` and all within :data:`MAX_WRITTEN_OPS`, sized before SymPy
    forms them (a skipped formula is said in ``notes``)."""
    from .expr import format_expr, latex
    from .expr.expression import formula_size

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
    expr = obj.expression
    if expr is None:
        if obj.formula is not None and len(obj.formula) <= 2000:
            sym["formula"] = obj.formula
        notes.append(
            f"no symbolic derivatives: {obj.label} is computed numerically only (a function "
            "without a parsed formula, or a built-in family above MAX_SYMBOLIC_DIMS variables); "
            "the numbers are by autodiff"
        )
        return sym
    size = formula_size(expr.sympy)
    if size > MAX_FORMULA_OPS:
        if obj.formula is not None and len(obj.formula) <= 2000:
            sym["formula"] = obj.formula
        notes.append(_too_long("f", size, "its value and derivatives are exact by autodiff"))
    else:
        sym["formula"] = str(expr)
        sym["formula_latex"] = expr.latex()
    work = symbolic_work(expr)
    if work > MAX_SYMBOLIC_WORK:
        notes.append(
            f"symbolic partial derivatives not written out: {obj.n:,} variables in "
            f"{_size(expr.sympy):,} operations cost {work:,} units, above MAX_SYMBOLIC_WORK "
            f"({MAX_SYMBOLIC_WORK:,}); the numbers are by autodiff"
        )
        return sym
    exact = "its value and gradient are still exact by autodiff"
    sizes = expr.partial_sizes  # predicted: a partial too long to write is never formed
    if all(k <= MAX_FORMULA_OPS for k in sizes.values()):
        sizes = {n: formula_size(d) for n, d in expr.partials.items()}  # formed: measured
    big = {n: k for n, k in sizes.items() if k > MAX_FORMULA_OPS}
    if big:
        notes += [_too_long(f"∂f/∂{n}", k, exact) for n, k in big.items()]
        return sym
    total = sum(sizes.values())
    if total > MAX_WRITTEN_OPS:
        notes.append(_too_many("the partial derivatives", total, exact))
        return sym
    sym["partials"] = {n: format_expr(d) for n, d in expr.partials.items()}
    sym["partials_latex"] = {n: latex(d) for n, d in expr.partials.items()}
    if not hessian or obj.n > MAX_SYMBOLIC_HESSIAN:
        return sym
    names = expr.variables
    rows = expr.hessian_sizes  # predicted from the first partials, before forming the second
    pairs = [(i, j) for i in range(obj.n) for j in range(i, obj.n)]
    exact = "the Hessian is not written out; its numbers are still exact by autodiff"
    for i, j in pairs:
        if rows[i][j] > MAX_FORMULA_OPS:
            which = f"∂²f/∂{names[i]}²" if i == j else f"∂²f/∂{names[i]}∂{names[j]}"
            notes.append(_too_long(which, rows[i][j], exact))
            return sym
    second = sum(rows[i][j] for i, j in pairs)
    if total + second > MAX_WRITTEN_OPS:
        notes.append(_too_many("the first and second partial derivatives", total + second, exact))
        return sym
    sym["hessian_formulas"] = tuple(tuple(map(format_expr, r)) for r in expr.hessian)
    sym["hessian_latex"] = tuple(tuple(map(latex, r)) for r in expr.hessian)
    return sym


def _too_long(what: str, size: int, then: str) -> str:
    return (
        f"the formula of {what} has about {size:,} operations, more than MAX_FORMULA_OPS = "
        f"{MAX_FORMULA_OPS:,}, so it is not written out; {then}"
    )


def _too_many(what: str, size: int, then: str) -> str:
    return (
        f"the formulas of {what} have about {size:,} operations in all, more than "
        f"MAX_WRITTEN_OPS = {MAX_WRITTEN_OPS:,}, so they are not written out; {then}"
    )


@with_x64
def derive(source: Any, at: Params | None = None, *, hessian_formulas: bool = True) -> Derivation:
    """Value, partial derivatives (symbolic and autodiff), finite-difference check, Hessian with
    its eigenvalues, Taylor approximations and the kind of point, in one go.

    Where a part of the function is not smooth at the point (``abs``, ``relu``, ``max``/``min``
    ties, ``sign``, ``heaviside``, a power below 1 of zero), or autodiff and finite differences
    disagree, the point is probed from every side (:func:`gradscape.kinks.one_sided`): the
    result says whether f is differentiable, names the parts, gives the one-sided partial
    derivatives, withholds the Hessian and the Taylor polynomials that do not exist, and says
    what kind of point it is when that can be decided (``|x|`` at 0 is a minimum).

    A part is at its corner when its own argument is zero there, or within float64 rounding of
    zero (:func:`gradscape.kinks.corners`; said in a note). A corner near the point but not at
    it (``|x|`` at ``1e-9``) leaves f smooth there: the probes stay closer than it, and say so
    where float64 does not let them.

    Args:
        source: anything :func:`gradscape.objective` accepts (``"x^2*sin(y)"``, ``"himmelblau"``,
            an Objective...).
        at: the point; without it only the formulas are derived.
        hessian_formulas: also write the second partial derivatives as formulas (for at most
            :data:`MAX_SYMBOLIC_HESSIAN` variables); a view that shows only the first ones
            (the explorer's description) skips them. The numeric Hessian is computed either way.

    Raises:
        NumericalError: the function is undefined at ``at`` (the message names the part that
            fails, e.g. ``log(x) needs a positive argument``).

    Example:
        >>> d = derive("x^2*sin(y)", at={"x": 1, "y": 2})
        >>> d.partials["x"], round(float(d.gradient[0]), 6)
        ('2*x*sin(y)', 1.818595)
    """
    from .kinks import corners

    obj = objective(source)
    notes: list[str] = []
    sym = _symbolic(obj, notes, hessian_formulas)
    if at is None:
        return Derivation(label=obj.signature(), variables=obj.names, notes=tuple(notes), **sym)

    theta = obj.vector(at)
    n = obj.n
    with_hessian = n <= MAX_HESSIAN_VARIABLES
    if not with_hessian:
        notes.append(
            f"the Hessian is not formed: {n:,} variables (at most MAX_HESSIAN_VARIABLES = "
            f"{MAX_HESSIAN_VARIABLES:,}; it would hold {n * n:,} numbers); numbers only"
        )
    with_fd = n <= MAX_FD_VARIABLES
    if not with_fd:
        notes.append(
            f"no finite-difference check: {n:,} variables (at most MAX_FD_VARIABLES = "
            f"{MAX_FD_VARIABLES:,}; it costs 4n evaluations of f)"
        )
    shifts = _fd_shifts(theta, _fd_steps(theta, None)) if with_fd else np.zeros(0)
    v, g, hess, fvals = _derive_kernel(obj, with_hessian)(jnp.asarray(theta), jnp.asarray(shifts))
    v = float(obj.finite("value", np.asarray(v, np.float64), theta))
    g = np.asarray(g, np.float64)
    hess = None if hess is None else np.asarray(hess, np.float64)
    smooth = bool(np.all(np.isfinite(g))) and (hess is None or bool(np.all(np.isfinite(hess))))
    finite = with_fd and bool(np.all(np.isfinite(g)))
    check = _check(obj, theta, g, v, fvals, shifts) if finite else None
    found = corners(obj.expression, theta) if obj.expression is not None else []
    at_point = [c for c in found if c.at]
    parts = [c.phrase for c in at_point]
    common = {"label": obj.signature(), "variables": obj.names, "point": obj.as_dict(theta)}
    # With a formula, every part smooth at the point means f is smooth there (a corner near
    # it, not at it, changes nothing): a disagreement then comes from a corner within the
    # finite-difference step, said as such. Without one, the probes decide.
    disagree = check is not None and not check.agree
    if parts or not smooth or (disagree and obj.expression is None):
        notes += [_on_the_corner(c) for c in at_point if c.u != 0]
        near = [c for c in found if not c.at]
        kinked = _at_a_kink(obj, theta, v, g, check, parts, near, notes, sym, common)
        if kinked is not None:
            return kinked
    if disagree and obj.expression is not None:
        step = float(np.max(np.abs(shifts)))
        spots = obj.expression.kinks(theta, within=2 * step)
        if spots:
            notes.append(
                f"finite differences straddle a nearby spot where a part is not smooth "
                f"({listing(spots, 4, sep='; ', what='spots')}; the step reaches {2 * step:.1e}), so they cannot check "
                "the gradient here; f is smooth at the point itself and autodiff is exact"
            )
    g = obj.finite("gradient", g, theta)
    if hess is not None:
        hess = obj.finite("Hessian", hess, theta)
    return _smooth(obj, theta, v, g, hess, check, notes, sym, common)


def _taylor_formulas(t: Taylor, n: int, second: bool) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(("taylor1", "taylor2", "taylor1_latex", "taylor2_latex"))
    if n <= MAX_TAYLOR_VARIABLES:
        out["taylor1"], out["taylor1_latex"] = t.formula(1), t.formula(1, tex=True)
    if second and n <= MAX_SYMBOLIC_HESSIAN:
        out["taylor2"], out["taylor2_latex"] = t.formula(2), t.formula(2, tex=True)
    return out


def _smooth(
    obj: Objective,
    theta: np.ndarray,
    v: float,
    g: np.ndarray,
    hess: np.ndarray | None,
    check: GradientCheck | None,
    notes: list[str],
    sym: dict[str, Any],
    common: dict[str, Any],
) -> Derivation:
    """The usual case: f is smooth at the point."""
    n = obj.n
    if hess is None:
        eig, critical, kind, index, near_kind = None, None, None, None, None
        hess_t = np.zeros((n, n))
    else:
        eig = np.linalg.eigvalsh(0.5 * (hess + hess.T))
        critical = is_critical(g, hess, theta)
        kind, index = classify(eig) if critical else ("not critical", int(np.sum(eig < 0)))
        near = not critical and is_critical(g, hess, theta, rtol=NEAR_CRITICAL)
        near_kind = classify(eig)[0] if near else None
        hess_t = hess
    if n > MAX_TAYLOR_VARIABLES:
        notes.append(
            f"the Taylor formulas are not written out above {MAX_TAYLOR_VARIABLES} variables"
        )
    elif n > MAX_SYMBOLIC_HESSIAN:
        notes.append(
            f"the second-order Taylor formula is not written out above {MAX_SYMBOLIC_HESSIAN} "
            "variables"
        )
    t = Taylor(obj.names, theta, v, g, hess_t)
    return Derivation(
        **common,
        **sym,
        value=v,
        gradient=g,
        fd_gradient=None if check is None else check.finite_difference,
        fd_relative_error=None if check is None else check.relative_error,
        fd_agree=None if check is None else check.agree,
        fd_error_bound=None if check is None else _norm(np.asarray(check.error_bound)),
        hessian=hess,
        hessian_eigenvalues=eig,
        critical=critical,
        kind=kind,
        index=index,
        near_critical_kind=near_kind,
        differentiable=True,
        notes=tuple(notes),
        **_taylor_formulas(t, n, hess is not None),
    )


def _on_the_corner(c: Corner) -> str:
    """Why a part whose argument is not exactly zero counts as at its corner."""
    return (
        f"{c.phrase}; here it is {abs(c.u):.1e} from that corner in its own argument, zero "
        "within float64 rounding at this point, so the point is taken to be on the corner"
    )


def _at_a_kink(
    obj: Objective,
    theta: np.ndarray,
    v: float,
    g: np.ndarray,
    check: GradientCheck | None,
    parts: list[str],
    near: list[Corner],
    notes: list[str],
    sym: dict[str, Any],
    common: dict[str, Any],
) -> Derivation | None:
    """A point where some part is not smooth (or the checks disagree): probe it from every
    side, staying closer than the ``near`` corners. ``None`` when the probes find f smooth
    after all and no part was named."""
    from .kinks import MAX_PROBE_VARIABLES, one_sided

    n = obj.n
    if n > MAX_PROBE_VARIABLES:
        if not parts:
            return None
        notes.append(
            f"one-sided derivatives are not probed above MAX_PROBE_VARIABLES = "
            f"{MAX_PROBE_VARIABLES:,} variables"
        )
        return Derivation(
            **common, **sym, value=v, differentiable=False, reason="; ".join(parts),
            notes=tuple(notes),
        )  # fmt: skip
    probe = one_sided(obj, theta, near=near)
    if probe.differentiable and not parts:
        return None  # smooth after all: the usual report (with its disagreement, if any)
    if probe.crowded:
        closest = min(near, key=lambda c: abs(c.u) / max(float(np.linalg.norm(c.grad_u)), 1e-300))
        notes.append(
            f"{closest.phrase}, and that corner lies nearer the point than the probes can step "
            f"beside it along {probe.crowded} of the {probe.directions} directions probed: "
            "their one-sided slopes may mix both sides of it"
        )
    if obj.expression is None and not probe.differentiable:
        notes.append(
            f"found by probing at steps down to {probe.smallest:.0e}: a corner nearer the point "
            "than that would look the same as one at it"
        )
    reason = "; ".join(parts) if parts else "the one-sided derivatives differ (found by probing)"
    sides = {
        name: (float(a), float(b))
        for name, a, b in zip(obj.names, probe.left, probe.right, strict=True)
    }
    if not probe.differentiable:
        if np.all(np.isfinite(g)):
            shown = ", ".join(f"∂f/∂{k} = {x:.6g}" for k, x in zip(obj.names, g, strict=True))
            notes.append(
                f"autodiff returns {shown} here: JAX's convention at such a point, not a derivative"
            )
        notes.append(
            "not differentiable here, so no gradient, Hessian, Taylor polynomial or "
            "second-derivative test"
        )
        return Derivation(
            **common, **sym, value=v, differentiable=False, reason=reason, one_sided=sides,
            kind=probe.kind, kind_basis=probe.kind_basis, notes=tuple(notes),
        )  # fmt: skip
    # Differentiable, but a part is not smooth: first order holds, second order may not exist.
    grad = np.asarray(probe.gradient)
    notes.append(
        "f is differentiable here (its one-sided derivatives agree), but a part is not smooth, "
        "so the Hessian, the second-order Taylor polynomial and the second-derivative test are "
        "withheld"
    )
    t = Taylor(obj.names, theta, v, grad, np.zeros((n, n)))
    critical = bool(np.max(np.abs(grad)) <= 1e-8 * max(1.0, float(np.max(np.abs(theta)))))
    taylor = _taylor_formulas(t, n, second=False)
    return Derivation(
        **common, **sym, value=v, gradient=grad,
        fd_gradient=None if check is None else check.finite_difference,
        fd_relative_error=None if check is None else check.relative_error,
        fd_agree=None if check is None else check.agree,
        fd_error_bound=None if check is None else _norm(np.asarray(check.error_bound)),
        critical=critical, kind=probe.kind if critical else "not critical",
        kind_basis=probe.kind_basis if critical else None, differentiable=True, reason=reason,
        one_sided=sides, notes=tuple(notes), **taylor,
    )  # fmt: skip
