"""The least-squares solver: exact JAX Jacobians fed to SciPy's trust-region methods.

The residuals ``r(b) = √w · (y − f(b; X))`` and their Jacobian ``∂r/∂b`` are compiled once per
model (``jax.jit`` of ``jax.vmap`` over rows; ``jax.jacfwd`` for the Jacobian: a fit has few
parameters and many rows) in float64. :func:`scipy.optimize.least_squares` runs the iterations:
``method="lm"`` (MINPACK's Levenberg–Marquardt, Moré's trust-region form) without bounds, and
``method="trf"`` (trust-region reflective) with bounds. Both were measured on the NIST StRD
problems shipped with gradscape (``benchmarks/bench_fit.py``) against optimistix's
Levenberg–Marquardt: all three reach every certified value to 6 digits with exact Jacobians, and
SciPy's are several times faster from a cold start (optimistix compiles the whole solver per
model), so they are the default. Tolerances are at machine precision: certified digits matter
more than a millisecond.

Every accepted iterate is recorded (the Jacobian is evaluated exactly once per accepted step), so
the path, its SSE, gradient norm, step length and the Levenberg–Marquardt damping can be shown.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._x64 import with_x64
from ..errors import InputError, NumericalError
from .models import FitData, FitModel

#: Most residual evaluations per solve.
MAX_EVALUATIONS = 20_000
#: ``xtol``, ``ftol`` and ``gtol`` of the solver: machine precision (2.2e-16) times about 5.
TOL = 1e-15
#: A residual that is not finite at a trial point is replaced by this (its square, 1e200, is
#: still finite), so the solver sees a bad step and shrinks its trust region.
_HUGE = 1e100


@dataclass(frozen=True)
class Compiled:
    """The model's compiled pieces (float64; call them inside :func:`gradscape._x64.x64`).

    Attributes:
        residuals: ``(b, X, y, sw) -> (n,)``.
        both: ``(b, X, y, sw) -> (J, r)``: the exact Jacobian ``∂r/∂b``, shape ``(n, p)``,
            and the residuals, in one call.
        predict: ``(b, X) -> (n,)``, the right side per row.
        gradients: ``(b, X) -> (n, p)``, ``∂f/∂b`` per row (for the bands).
    """

    residuals: Callable[..., Any]
    both: Callable[..., Any]
    predict: Callable[..., Any]
    gradients: Callable[..., Any]


#: Compiled models kept, and SSE objectives (per model and data): least recently used out first.
_CACHE: OrderedDict[str, Compiled] = OrderedDict()
_CACHE_SIZE = 64
_OBJECTIVES: OrderedDict[tuple[str, bytes], Any] = OrderedDict()
_OBJECTIVES_SIZE = 8


def _kept(cache: OrderedDict[Any, Any], key: Any, size: int, make: Callable[[], Any]) -> Any:
    """``cache[key]``, made by ``make()`` the first time; at most ``size`` entries kept."""
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = make()
        if len(cache) > size:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return hit


def _model_key(model: FitModel) -> str:
    """Models with the same formula, parameters and inputs share compiled pieces."""
    return f"{model.rhs.sympy!r}|{model.parameters}|{model.inputs}"


def _compiled(model: FitModel) -> Compiled:
    import jax

    f = model.row_function()

    def predict(b: Any, X: Any) -> Any:
        return jax.vmap(lambda row: f(b, row))(X)

    def residuals(b: Any, X: Any, y: Any, sw: Any) -> Any:
        return sw * (y - predict(b, X))

    def gradients(b: Any, X: Any) -> Any:
        return jax.vmap(lambda row: jax.grad(f)(b, row))(X)

    def paired(b: Any, X: Any, y: Any, sw: Any) -> Any:
        r = residuals(b, X, y, sw)
        return r, r

    return Compiled(
        residuals=jax.jit(residuals),
        both=jax.jit(jax.jacfwd(paired, has_aux=True)),
        predict=jax.jit(predict),
        gradients=jax.jit(gradients),
    )


def compiled(model: FitModel) -> Compiled:
    """The model's compiled pieces, made once per model (the same formula, parameters and
    inputs share them; JAX's persistent cache keeps them across processes)."""
    pieces: Compiled = _kept(_CACHE, _model_key(model), _CACHE_SIZE, lambda: _compiled(model))
    return pieces


def sse_objective(
    model: FitModel, data: FitData, box: tuple[np.ndarray, np.ndarray] | None = None
) -> Any:
    """``SSE(b) = Σ wᵢ (yᵢ − f(b; xᵢ))²`` as an :class:`~gradscape.objectives.Objective` over
    the model's parameters, kept per model and data (an engine compiles it once: the multistart
    of a fit and the surfaces of its figures share it).

    Args:
        box: ``(lo, hi)``: the SSE over the unit box instead, ``b = lo + u·(hi − lo)`` with
            ``u`` in ``[0, 1]`` per parameter, so a search treats parameters of very different
            sizes (``b1`` in hundreds, ``b2`` in ten-thousandths) alike.
    """
    import hashlib

    import jax.numpy as jnp

    from .._x64 import x64
    from ..objectives import Objective

    arrays = (data.X, data.y, data.weights, *(box or ()))
    digest = hashlib.sha1(b"".join(np.asarray(a).tobytes() for a in arrays)).digest()
    key = (f"{_model_key(model)}|{box is not None}", digest)

    def make() -> Objective:
        pieces = compiled(model)
        with x64():  # the data stay float64 wherever the objective is called from
            X, y, sw = (jnp.asarray(a) for a in (data.X, data.y, np.sqrt(data.weights)))
            lo, width = (
                (jnp.asarray(box[0]), jnp.asarray(box[1] - box[0])) if box is not None else (0, 1)
            )

        def sse(b: Any) -> Any:
            r = pieces.residuals(lo + width * b, X, y, sw)
            return r @ r

        return Objective(
            sse, names=model.parameters, label="SSE", formula=f"Σ w·({model.response} − f)²",
            smooth=model.smooth,
        )  # fmt: skip

    return _kept(_OBJECTIVES, key, _OBJECTIVES_SIZE, make)


@dataclass
class Path:
    """The accepted iterates of one solve, and the quantities the step table shows."""

    points: list[np.ndarray] = field(default_factory=list)
    sse: list[float] = field(default_factory=list)
    gradient_norm: list[float] = field(default_factory=list)
    step: list[float] = field(default_factory=list)
    damping: list[float] = field(default_factory=list)
    evaluations: list[int] = field(default_factory=list)
    _scale: np.ndarray | None = None
    _last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, b: np.ndarray, z: np.ndarray, r: np.ndarray, J: np.ndarray, nfev: int) -> None:
        """Record the iterate ``b`` (its moving part ``z``) with its residuals and Jacobian
        (columns of ``z``); recover the damping of the step that led here from the previous
        iterate's ``J`` and ``r``."""
        if self.points and np.array_equal(b, self.points[-1]):
            return  # the solver asks again for the Jacobian where it stopped
        norms = np.linalg.norm(J, axis=0)
        norms = np.where(norms > 0, norms, 1.0)
        if self._last is not None:
            J0, r0, z0 = self._last
            delta = z - z0
            self.step.append(float(np.linalg.norm(delta)))
            self.damping.append(_damping(J0, r0, delta, self._scale))
        self._scale = norms if self._scale is None else np.maximum(self._scale, norms)
        self.points.append(b.copy())
        self.sse.append(float(r @ r))
        self.gradient_norm.append(float(2 * np.linalg.norm(J.T @ r)))
        self.evaluations.append(nfev)
        self._last = (J, r, z.copy())


def _damping(J: np.ndarray, r: np.ndarray, delta: np.ndarray, scale: np.ndarray | None) -> float:
    """The Levenberg–Marquardt parameter λ of a step δ taken from the point where the Jacobian
    was ``J`` and the residuals ``r``: the step solves ``(JᵀJ + λD²)δ = −Jᵀr`` with ``D`` the
    running maximum of the column norms (the scaling of MINPACK and of SciPy's ``trf`` with
    ``x_scale="jac"``). ``nan`` where no λ ≥ 0 reproduces the step (a bounded step)."""
    if scale is None or not np.any(delta):
        return float("nan")
    # Our r is y − f, so the Jacobian of r is −∂f/∂b and the normal equations read JᵀJδ = −Jᵀr.
    a = J.T @ (J @ delta) + J.T @ r
    d = scale**2 * delta
    lam = -float(a @ d) / float(d @ d)
    lam = max(lam, 0.0)
    miss = np.linalg.norm(a + lam * d)
    if miss > 1e-6 * max(np.linalg.norm(J.T @ r), np.finfo(float).tiny):
        return float("nan")
    return lam


@dataclass(frozen=True)
class Solution:
    """What one solve returned.

    Attributes:
        x: the parameters where it stopped.
        status: SciPy's code: 0 evaluation cap, 1 gradient, 2 SSE change, 3 step, 4 both 2
            and 3, 5 no further reduction possible in float64 (MINPACK's tolerance codes).
        method: ``"lm"`` or ``"trf"``.
        nfev, njev: residual and Jacobian evaluations.
        path: the accepted iterates.
        bad_evaluations: trial points where a residual was not finite (rejected steps).
        sse: ``Σ rᵢ²`` at ``x`` (from its last Jacobian evaluation: not computed again).
    """

    x: np.ndarray
    status: int
    method: str
    nfev: int
    njev: int
    path: Path
    bad_evaluations: int
    sse: float


@with_x64
def solve(
    pieces: Compiled,
    data: FitData,
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    free: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_evaluations: int = MAX_EVALUATIONS,
    tol: float = TOL,
    record: bool = True,
) -> Solution:
    """Minimise ``Σ rᵢ(b)²`` from ``x0`` within ``[lo, hi]``.

    Args:
        free: boolean mask of the parameters that move (the others stay at their ``x0``
            values: a profile); default all.
        progress: called as ``progress(iterations, max_evaluations)`` at every accepted step;
            it may raise to stop the solve.
        tol: ``xtol``, ``ftol`` and ``gtol`` (looser for the re-fits of a profile).
        record: keep the step table's numbers (SSE, gradient norm, damping) for every accepted
            step; without it only the iterates are kept (a profile's re-fits, many and unseen).

    Raises:
        NumericalError: the residuals are not finite at ``x0`` (the caller says why).
    """
    import jax.numpy as jnp
    from scipy.optimize import least_squares

    free = np.ones(len(x0), dtype=bool) if free is None else free
    X, y, sw = (jnp.asarray(a) for a in (data.X, data.y, np.sqrt(data.weights)))
    full = np.array(x0, dtype=np.float64)
    path = Path()
    counts = {"nfev": 0, "bad": 0}
    last: dict[str, np.ndarray] = {}  # the residuals where the Jacobian was last evaluated

    def expand(z: np.ndarray) -> np.ndarray:
        b = full.copy()
        b[free] = z
        return b

    def fun(z: np.ndarray) -> np.ndarray:
        counts["nfev"] += 1
        r = np.asarray(pieces.residuals(expand(z), X, y, sw))
        if not np.all(np.isfinite(r)):
            counts["bad"] += 1
            r = np.where(np.isfinite(r), r, _HUGE)
        return r

    def jac(z: np.ndarray) -> np.ndarray:
        b = expand(z)
        J, r = pieces.both(b, X, y, sw)
        J, r = np.asarray(J)[:, free], np.asarray(r)
        last["r"] = r
        if not np.all(np.isfinite(J)):
            J = np.where(np.isfinite(J), J, 0.0)
        if record:
            path.add(b, np.asarray(z), np.where(np.isfinite(r), r, _HUGE), J, counts["nfev"])
        elif not path.points or not np.array_equal(b, path.points[-1]):
            path.points.append(b.copy())
        if progress is not None:
            progress(len(path.points), max_evaluations)
        return J

    z0 = full[free]
    r0 = fun(z0)
    if counts["bad"]:
        raise NumericalError("the residuals are not finite at the start")
    counts["nfev"] = 0
    bounded = bool(np.any(np.isfinite(lo[free])) or np.any(np.isfinite(hi[free])))
    method = "trf" if bounded else "lm"
    if not bounded and len(r0) < int(free.sum()):
        raise InputError("fewer residuals than free parameters")  # checked earlier for users
    kwargs: dict[str, Any] = {
        "jac": jac,
        "method": method,
        "xtol": tol,
        "ftol": tol,
        "gtol": tol,
        "max_nfev": max_evaluations,
        "x_scale": "jac",
    }
    if bounded:
        kwargs["bounds"] = (lo[free], hi[free])
    try:
        # a trial step may overflow the SSE: the solver rejects it; NumPy's warning is noise
        with np.errstate(over="ignore", invalid="ignore"):
            out = least_squares(fun, z0, **kwargs)
        z, status, nfev = np.asarray(out.x), int(out.status), int(out.nfev)
    except KeyError:  # MINPACK's codes 6-8: no further reduction possible in float64
        z, status, nfev = path.points[-1][free], 5, counts["nfev"]
    if not path.points or not np.array_equal(path.points[-1], expand(z)):
        jac(z)
    return Solution(
        x=expand(z),
        status=status,
        method=method,
        nfev=nfev,
        njev=len(path.points),
        path=path,
        bad_evaluations=counts["bad"],
        sse=float(last["r"] @ last["r"]),  # the last Jacobian was evaluated at x (see above)
    )
