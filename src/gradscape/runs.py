"""One descent from one start: :func:`minimize` → :class:`Run`, the one path type of every descent.

Any optimizer of the family (:mod:`gradscape.optimizers`), including gradient descent with one
learning rate per weight (the tour's, :func:`gradscape.descent.descend`), runs through the compiled
segments of :mod:`gradscape.engine`. The history is bounded for any step count: every step of the
first :data:`~gradscape.engine.HEAD`, then a stride, and always the exact last steps. A run carries
what every view shows: its stop in words, its warnings (a learning rate above ``2/λmax``), the part
of its path worth drawing and the window to draw it in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from ._x64 import with_x64
from .calculus import value
from .curvature import (
    FULL_HESSIAN_DIM,
    check_newton_size,
    curvature,
    curvature_of,
    default_lr,
    hessian_at,
)
from .engine import (
    GRADIENT_ONLY,
    HEAD,
    HISTORY_BYTES,
    MAX_RECORDS,
    RUNNING,
    SEGMENT,
    STOPS,
    TAIL,
    Pace,
    check_budget,
    compiled_loop,
    default_gtol,
    first_call,
    format_lr,
    loop_settings,
    safe_norm,
    settings_text,
    settled,
    stop_message,
)
from .errors import InputError, NumericalError, listing, whole_number
from .objectives import Objective, Params
from .optimizers import GD_FAMILY, Optimizer, check_lr, optimizer
from .results import Result
from .sources import objective


@dataclass(frozen=True, eq=False)
class Run(Result):
    r"""One optimization run and its recorded path: the one path type of every descent.

    The history is bounded for any step budget (see :func:`history_policy`): every step of the
    first ``head`` is recorded, later ones every ``record_every`` steps, and the last
    :data:`TAIL` steps one by one, so the path's end is exact. Row ``i`` is the state at step
    ``steps[i]`` and the step taken from there.

    Attributes:
        names: parameter names.
        optimizer: the optimizer's name; ``settings`` describes it with its learning rate.
        lr: the learning rate used: one number, one per parameter (a tuple), or ``None`` where
            the method sets its own steps.
        lr_reason: why that learning rate.
        steps: step number of each recorded row, shape ``(r,)``; row 0 is the start.
        params: parameters there, shape ``(r, n)``.
        values: ``f`` there, shape ``(r,)``.
        gradients: ``∇f`` there, shape ``(r, n)``.
        grad_norms: ``‖∇f‖`` there, shape ``(r,)``.
        step_sizes: ``‖θ_{t+1} − θ_t‖`` of the step taken from there, shape ``(r,)`` (0 at the end).
        n_steps: steps taken ``k``.
        stop_reason: one of :data:`STATUS` past ``running``: ``converged``, ``max_steps``,
            ``diverged`` (a step led where the value or gradient is not finite: it was not
            taken), ``left_bounds``, ``grew`` (the value grew a millionfold above its start's
            magnitude while still finite: that last step was taken and is the last row), or
            ``imprecise`` (set by a caller that checks the end against a closed form).
        message: one line saying why it stopped.
        best_params, best_value, best_step: the lowest finite point seen and its step.
        gtol, max_steps, bounds: the stop rules.
        curvature_start, curvature_end: ``λmax``, ``λmin``, condition number and the largest
            stable gradient-descent learning rate ``2/λmax`` at the start and the end.
        record_every: the recording stride after the first ``head`` steps.
        warnings: one-line warnings about the run's settings (an ``lr`` above ``2/λmax``).
    """

    names: tuple[str, ...]
    optimizer: str
    settings: str
    lr: float | tuple[float, ...] | None
    lr_reason: str
    steps: np.ndarray
    params: np.ndarray
    values: np.ndarray
    gradients: np.ndarray
    grad_norms: np.ndarray
    step_sizes: np.ndarray
    n_steps: int
    stop_reason: str
    message: str
    best_params: np.ndarray
    best_value: float
    best_step: int
    gtol: float
    max_steps: int
    bounds: dict[str, tuple[float, float]] | None = None
    curvature_start: dict[str, Any] | None = None
    curvature_end: dict[str, Any] | None = None
    record_every: int = 1
    warnings: tuple[str, ...] = ()

    @property
    def final_params(self) -> dict[str, float]:
        """The parameters where the run stopped, as ``{name: value}``."""
        return {n: float(v) for n, v in zip(self.names, self.params[-1], strict=True)}

    @property
    def final_value(self) -> float:
        return float(self.values[-1])

    @property
    def converged(self) -> bool:
        return self.stop_reason == "converged"

    @property
    def diverged(self) -> bool:
        """Whether the run blew up: a non-finite step, or a value grown a millionfold."""
        return self.stop_reason in ("diverged", "grew")

    @property
    def max_stable_lr(self) -> float | None:
        r""":math:`2/\lambda_{max}` of the Hessian at the start (``None`` where not positive)."""
        return (self.curvature_start or {}).get("stable_lr")

    def shown_path(self) -> np.ndarray:
        """The rows of ``params`` worth drawing: all but a last step that blew up (``grew``: a
        millionfold rise would stretch a figure's window over it), and none past a point that
        is not finite; at least the start."""
        ok = np.all(np.isfinite(self.params), axis=1) & np.isfinite(self.values)
        stop = int(np.argmin(ok)) if not ok.all() else ok.size
        if self.stop_reason == "grew":
            stop = min(stop, ok.size - 1)
        return self.params[: max(stop, 1)]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict of the outcome (no history)."""
        return {
            "optimizer": self.optimizer,
            "settings": self.settings,
            "lr": list(self.lr) if isinstance(self.lr, tuple) else self.lr,
            "lr_reason": self.lr_reason,
            "steps": self.n_steps,
            "stop_reason": self.stop_reason,
            "gtol": self.gtol,
            "message": self.message,
            "final": self.final_params,
            "final_value": self.final_value,
            "final_grad_norm": float(self.grad_norms[-1]),
            "best": dict(zip(self.names, map(float, self.best_params), strict=True)),
            "best_value": self.best_value,
            "best_step": self.best_step,
            "curvature_start": self.curvature_start,
            "curvature_end": self.curvature_end,
            "warnings": list(self.warnings),
        }


#: The default gradient tolerance, relative to the gradient at the start(s)
#: (see :func:`default_gtol`).

_CLASSIC_STARTS = {
    "rosenbrock": ((-1.2, 1.0), "Rosenbrock's classic start, as in Moré, Garbow & Hillstrom 1981"),
    "beale": ((1.0, 1.0), "Beale's standard start, as in Moré, Garbow & Hillstrom 1981"),
}  # fmt: skip


@with_x64
def standard_start(obj: Objective) -> tuple[dict[str, float], str]:
    """A standard start for a built-in test function, and where it comes from: the literature's
    where there is one (Rosenbrock's ``(−1.2, 1, −1.2, 1, …)``, Beale's ``(1, 1)``), else the
    point three quarters across the usual domain in every variable (two thirds where that is
    a critical point).

    Raises:
        InputError: ``obj`` is not a built-in function, so it has no standard start.
    """
    f = obj.function
    if f is None or f.variables != obj.names:
        raise InputError(
            f"{obj.signature()} is not a built-in function, so it has no standard start; give one "
            f"(e.g. --from {','.join(f'{n}=1' for n in obj.names[:3])}"
            f"{',...' if obj.n > 3 else ''})."
        )
    family = f.family or f.name
    if family in _CLASSIC_STARTS:
        pattern, source = _CLASSIC_STARTS[family]
        return obj.as_dict(np.resize(np.asarray(pattern), obj.n)), source
    lo, hi = (np.array(side) for side in zip(*f.domain, strict=True))
    share, words = 0.75, "three quarters"
    _, g = obj.jit_value_and_grad(lo + share * (hi - lo))
    if not float(np.linalg.norm(np.asarray(g))) > 1e-6:  # a critical point: no start at all
        share, words = 2 / 3, "two thirds"
    theta = lo + share * (hi - lo)
    return obj.as_dict(theta), f"{words} across the usual domain of {f.name} in every variable"


def history_policy(n: int, max_steps: int, head: int, max_records: int) -> tuple[int, int]:
    """``(head, stride)``: every step of the first ``head`` is recorded, then every
    ``stride``-th, so that a run keeps at most about ``head + max_records`` rows (plus the
    last :data:`TAIL`) whatever its step budget, and its history stays within
    :data:`HISTORY_BYTES` (both are lowered for a large ``n``)."""
    head = whole_number(head, "head")
    max_records = whole_number(max_records, "max_records")
    budget = max(2, HISTORY_BYTES // (8 * (2 * n + 4)) - TAIL - 2)
    head = min(head, budget // 2)
    records = min(max_records, budget - head)
    return head, max(1, math.ceil(max(max_steps - head, 0) / records))


def per_weight_lr(obj: Objective, lr: Mapping[str, Any]) -> tuple[float, ...]:
    """One learning rate per parameter from ``{name: lr}``, naming exactly the parameters."""
    unknown = [k for k in lr if k not in obj.names]
    missing = [n for n in obj.names if n not in lr]
    if unknown or missing:
        raise InputError(
            f"Per-parameter learning rates need exactly {listing(obj.names)}; "
            + (f"missing {listing(missing)}" if missing else f"unknown {listing(unknown)}")
            + "."
        )
    out = []
    for n in obj.names:
        try:
            out.append(check_lr(lr[n]))
        except InputError:
            raise InputError(
                f"The learning rate of {n} must be a number > 0; got {lr[n]!r}."
            ) from None
    return tuple(out)


def stable_limit(opt: Optimizer) -> tuple[float, str]:
    """``(c, words)``: a gradient-descent method with momentum β on a quadratic converges only
    where ``lr·λ < c`` for every Hessian eigenvalue λ: 2 for plain gd, ``2(1 + β)`` for heavy-ball
    momentum, ``2(1 + β)/(1 + 2β)`` for Nesterov's (the edges of the iteration's spectral radius
    1; at the edge it oscillates without converging)."""
    beta = float(opt.options.get("momentum", 0.0))
    if opt.name == "momentum":
        return 2 * (1 + beta), f"2(1 + β)/λmax (β = {beta:g})"
    if opt.name == "nesterov":
        return 2 * (1 + beta) / (1 + 2 * beta), f"2(1 + β)/((1 + 2β)λmax) (β = {beta:g})"
    return 2.0, "2/λmax"


def _stability_warnings(
    opt: Optimizer, lr: float | tuple[float, ...] | None, given: bool, h: np.ndarray | None,
    curv: Any,
) -> tuple[str, ...]:  # fmt: skip
    """A warning when a learning rate the user gave a gradient-descent method is at or beyond the
    largest stable one at the start (see :func:`stable_limit`), from the Hessian ``h`` there
    and its :func:`curvature_of`; one rate per weight is judged by the largest eigenvalue of
    ``diag(lr)^½ H diag(lr)^½``."""
    if opt.name not in GD_FAMILY or not given or lr is None or h is None or curv is None:
        return ()
    c, words = stable_limit(opt)
    top = float(curv["lambda_max"])
    if isinstance(lr, tuple):
        d = np.sqrt(np.asarray(lr, dtype=np.float64))
        scaled = float(np.linalg.eigvalsh(d[:, None] * (0.5 * (h + h.T)) * d[None, :])[-1])
        if scaled < c * (1 - 1e-12):  # at the limit (to rounding) it oscillates for ever
            return ()
        return (
            f"{opt.name}: the rates {format_lr(lr)} are at or beyond the stable limit at the "
            f"start: λmax(diag(lr)·H) = {scaled:.4g} ≥ {c:.4g}; {opt.name} does not converge there",
        )
    if top <= 0 or lr * top < c * (1 - 1e-12):
        return ()
    return (
        f"{opt.name}: lr {format_lr(lr)} is at or above {words} = {c / top:.4g} at the start; "
        f"{opt.name} does not converge there (it oscillates at the limit and blows up beyond)",
    )


@with_x64
def minimize(
    obj: Objective | str | Callable[..., Any],
    start: Params,
    method: Any = "gd",
    *,
    lr: float | Mapping[str, float] | None = None,
    max_steps: int = 1000,
    gtol: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    head: int = HEAD,
    max_records: int = MAX_RECORDS,
    **options: float,
) -> Run:
    r"""Minimise ``obj`` from ``start`` with one optimizer, recording its path.

    Args:
        method: an optimizer's name (``gd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``,
            ``adam``, ``adamw``, ``newton``, ``lbfgs``), an :class:`~gradscape.optimizers.Optimizer`
            or any optax transformation.
        lr: learning rate (default per optimizer; gd, momentum and nesterov take ``1/|λ|max`` of
            the Hessian at the start), or ``{name: lr}``, one per parameter, for the first-order
            methods (gd: :math:`\theta_i \leftarrow \theta_i - \eta_i\,\partial f/\partial\theta_i`).
        max_steps: step budget (at most ``2**31 - 1``).
        gtol: converged when ``‖∇f‖ <= gtol`` (default :func:`default_gtol` at the start).
        bounds: ``{name: (low, high)}``; leaving them stops the run (``left_bounds``).
        progress: called as ``progress(steps_done, max_steps)`` between compiled segments.
        head, max_records: the history policy (see :func:`history_policy`): memory stays
            bounded for any step budget.
        options: the optimizer's hyperparameters (``momentum=0.8``...).

    Raises:
        InputError: bad settings; Newton beyond :data:`MAX_NEWTON_DIM` variables; a
            per-parameter ``lr`` for a method that sets its own steps.

    Example:
        >>> r = minimize(gs.objective("rosenbrock"), {"x": -1, "y": 1}, "newton", max_steps=100)
        >>> r.stop_reason, round(r.final_value, 12)
        ('converged', 0.0)
    """
    obj = objective(obj)

    weights = per_weight_lr(obj, lr) if isinstance(lr, Mapping) else None
    opt = optimizer(method, lr=None if isinstance(lr, Mapping) else lr, **options)
    if weights is not None and (opt.custom is not None or opt.name not in GRADIENT_ONLY):
        raise InputError(
            f"One learning rate per parameter works with {listing(GRADIENT_ONLY)}; "
            f"{opt.name} sets its own steps: give one lr or none."
        )
    max_steps, given = check_budget(max_steps, gtol)
    check_newton_size(opt, obj)
    head, stride = history_policy(obj.n, max_steps, head, max_records)
    theta0 = obj.vector(start)
    try:  # a start outside f's domain is bad input, not a run that diverged
        value(obj, theta0)
    except NumericalError as exc:
        raise InputError(f"{str(exc).rstrip('.')}; start where f is defined.") from None
    gtol = default_gtol(obj, theta0) if given is None else given
    lr_used: float | tuple[float, ...] | None
    if weights is not None:
        lr_used, lr_reason = weights, "given per parameter"
        rate: Any = jnp.asarray(weights)
    else:
        lr_used, lr_reason = default_lr(opt, obj, theta0)
        rate = jnp.float64(lr_used if lr_used is not None else 1.0)
    if opt.name in GRADIENT_ONLY and opt.custom is None:  # one rate per weight, one compilation
        rate = jnp.broadcast_to(rate, (obj.n,))
    settings = loop_settings(obj, max_steps, gtol, bounds)
    init, segment = compiled_loop(obj, opt, many=False)
    carry = init(jnp.asarray(theta0), rate)
    rows: list[list[np.ndarray]] = []
    pace, now = Pace(1, SEGMENT), 1
    with settled(lambda: carry):
        while True:
            k = int(carry["k"])
            if k >= head and now != stride:  # each row now takes `stride` steps: measure afresh
                pace, now = Pace(1, SEGMENT), stride
            want = pace.limit if k >= head else min(pace.limit, head - k)
            compiling = first_call(obj, ("run one", id(segment), obj.n, now == 1))
            t0 = time.perf_counter()
            carry, rec, taken = segment(carry, settings, jnp.int32(want), jnp.int32(now))
            taken = int(taken)
            rows.append([np.asarray(r)[:taken] for r in rec])
            pace.record(time.perf_counter() - t0, taken, compiling)
            if progress is not None:
                progress(min(int(carry["k"]), max_steps), max_steps)
            if int(carry["status"]) != RUNNING:
                break
    steps, params, values, grads, gnorms, sizes = _history(rows, carry)
    k = int(carry["k"])
    reason = STOPS[int(carry["status"])]
    h_start = hessian_at(obj, theta0) if obj.n <= FULL_HESSIAN_DIM else None
    curv_start = curvature_of(h_start)
    end_theta = params[-1]
    curv_end = (
        curvature(obj, end_theta)
        if obj.n <= FULL_HESSIAN_DIM and np.all(np.isfinite(end_theta))
        else None
    )
    best_value = float(carry["best_value"])
    stable = (curv_start or {}).get("stable_lr")
    return Run(
        names=obj.names,
        optimizer=opt.name,
        settings=settings_text(opt, lr_used),
        lr=lr_used,
        lr_reason=lr_reason,
        steps=steps,
        params=params,
        values=values,
        gradients=grads,
        grad_norms=gnorms,
        step_sizes=sizes,
        n_steps=k,
        stop_reason=reason,
        message=stop_message(
            reason, k, float(gnorms[-1]), gtol, max_steps, stable, lr_used, float(values[-1])
        ),
        best_params=np.asarray(carry["best_theta"]),
        best_value=best_value if math.isfinite(best_value) else float("nan"),
        best_step=int(carry["best_k"]),
        gtol=gtol,
        max_steps=max_steps,
        bounds=dict(bounds) if bounds else None,
        curvature_start=curv_start,
        curvature_end=curv_end,
        record_every=stride,
        warnings=_stability_warnings(
            opt, lr_used, lr_reason.startswith("given"), h_start, curv_start
        ),
    )


def plot_window(
    runs: Sequence[Run],
    box: Mapping[str, tuple[float, float]] | None = None,
    usual: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, tuple[float, float]]:
    """Per parameter, the range a figure of these runs shows: ``box`` where it names the
    parameter; else the span of every drawn path (:meth:`Run.shown_path`), widened to the
    ``usual`` range where there is one and padded by a tenth on each side."""
    box, usual = box or {}, usual or {}
    pts = np.concatenate([r.shown_path() for r in runs])
    window = {}
    for i, name in enumerate(runs[0].names):
        if name in box:
            window[name] = (float(box[name][0]), float(box[name][1]))
            continue
        lo, hi = float(pts[:, i].min()), float(pts[:, i].max())
        if name in usual:
            lo, hi = min(lo, usual[name][0]), max(hi, usual[name][1])
        pad = 0.1 * (hi - lo) or 1.0
        window[name] = (lo - pad, hi + pad)
    return window


def _history(rows: list[list[np.ndarray]], carry: Any) -> tuple[np.ndarray, ...]:
    """The recorded rows of a run in step order: the segments' rows, the ring of the last
    :data:`TAIL` and the point where it stopped, each step once; the last step size is 0."""
    ring = [np.asarray(r) for r in carry["ring"]]
    filled = ring[0] >= 0
    theta, v, g = (np.asarray(carry[key]) for key in ("theta", "value", "grad"))
    end = [np.asarray([carry["k"]]), theta[None], np.asarray([v]), g[None],
           np.asarray([safe_norm(g)]), np.zeros(1)]  # fmt: skip
    parts = [
        np.concatenate([seg[i] for seg in rows] + [ring[i][filled], end[i]])
        for i in range(len(end))
    ]
    _, first = np.unique(parts[0], return_index=True)  # a step recorded twice holds one row
    steps, params, values, grads, gnorms, sizes = (p[first] for p in parts)
    sizes = sizes.astype(np.float64)
    sizes[-1] = 0.0
    return steps.astype(np.int64), params, values, grads, gnorms, sizes
