"""Optimization runs: any optimizer of the family, from one start with its full history, or from
many starts at once.

One engine serves both. A *segment* is a compiled ``lax.scan`` of a fixed number of steps over a
carry (parameters, optimizer state, status, step count, best point); a run calls segments until it
stops. Many starts are the same segment under ``jax.vmap``, in chunks of bounded size. Settings
(learning rate, tolerance, bounds, step budget) are arguments, so one compilation per objective and
optimizer serves them all. A start stops when the gradient norm reaches ``gtol`` (converged), the
step budget is spent (max_steps), a value, gradient or parameter stops being finite or the
parameters run past 1e150 (diverged), or the parameters leave the bounds (left_bounds); stopped
starts are frozen while the others go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .errors import InputError
from .objectives import Objective, Params, check_range
from .optimizers import Optimizer, optimizer
from .results import Result

RUNNING, CONVERGED, MAX_STEPS, DIVERGED, LEFT_BOUNDS = range(5)
STATUS = ("running", "converged", "max_steps", "diverged", "left_bounds")
SEGMENT = 256  # steps per compiled segment of one start
SEGMENT_MANY = 1024  # steps per segment of many starts (between progress reports)
_UNROLL = 8  # steps per loop turn of the many-start segment
_HUGE = 1e150  # parameters beyond this count as diverged


@dataclass(frozen=True, eq=False)
class Run(Result):
    """One optimization run with its full history.

    Attributes:
        names: parameter names.
        optimizer: the optimizer's name; ``settings`` describes it with its learning rate.
        lr: the learning rate used (``None`` where the method sets its own steps).
        lr_reason: why that learning rate.
        params: parameters at every step, shape ``(k + 1, n)`` (row 0 is the start).
        values: ``f`` at every step, shape ``(k + 1,)``.
        grad_norms: ``‖∇f‖`` at every step, shape ``(k + 1,)``.
        step_sizes: ``‖θ_{t+1} − θ_t‖`` per step, shape ``(k,)``.
        n_steps: steps taken ``k``.
        stop_reason: ``converged``, ``max_steps``, ``diverged`` or ``left_bounds``.
        message: one line saying why it stopped.
        best_params, best_value: the lowest finite point seen.
        gtol, max_steps, bounds: the stop rules.
        curvature_start, curvature_end: ``λmax``, ``λmin``, condition number and the largest
            stable gradient-descent learning rate ``2/λmax`` at the start and the end.
    """

    names: tuple[str, ...]
    optimizer: str
    settings: str
    lr: float | None
    lr_reason: str
    params: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    step_sizes: np.ndarray
    n_steps: int
    stop_reason: str
    message: str
    best_params: np.ndarray
    best_value: float
    gtol: float
    max_steps: int
    bounds: dict[str, tuple[float, float]] | None = None
    curvature_start: dict[str, Any] | None = None
    curvature_end: dict[str, Any] | None = None

    @property
    def final_params(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.params[-1], strict=True)}

    @property
    def final_value(self) -> float:
        return float(self.values[-1])

    @property
    def converged(self) -> bool:
        return self.stop_reason == "converged"

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict of the outcome (no history)."""
        return {
            "optimizer": self.optimizer,
            "settings": self.settings,
            "lr": self.lr,
            "lr_reason": self.lr_reason,
            "steps": self.n_steps,
            "stop_reason": self.stop_reason,
            "message": self.message,
            "final": self.final_params,
            "final_value": self.final_value,
            "final_grad_norm": float(self.grad_norms[-1]),
            "best": dict(zip(self.names, map(float, self.best_params), strict=True)),
            "best_value": self.best_value,
            "curvature_start": self.curvature_start,
            "curvature_end": self.curvature_end,
        }


# -- curvature ---------------------------------------------------------------------------------
def curvature(obj: Objective, theta: Any) -> dict[str, Any] | None:
    """``λmax``, ``λmin``, condition number ``|λ|max/|λ|min`` and the largest stable GD learning
    rate ``2/λmax`` of the Hessian at ``theta`` (``None`` where it is not finite)."""
    from .calculus import hessian

    try:
        h = hessian(obj, theta)
    except InputError:
        return None
    lam = np.linalg.eigvalsh(0.5 * (h + h.T))
    top, low = float(lam[-1]), float(lam[0])
    absmin = float(np.min(np.abs(lam)))
    return {
        "lambda_max": top,
        "lambda_min": low,
        "condition": float(np.max(np.abs(lam)) / absmin) if absmin > 0 else math.inf,
        "stable_lr": 2.0 / top if top > 0 else None,
    }


def default_lr(opt: Optimizer, obj: Objective, theta: np.ndarray) -> tuple[float | None, str]:
    """The learning rate a run uses, and why."""
    if opt.custom is not None:
        return None, "set inside the custom transformation"
    if opt.lr is not None:
        from .optimizers import DEFAULT_LR

        if DEFAULT_LR.get(opt.name) == opt.lr:
            return opt.lr, f"the default for {opt.name}"
        return opt.lr, "given"
    if opt.name == "lbfgs":
        return None, "chosen at every step by the zoom line search"
    c = curvature(obj, theta)
    scale = max(abs(c["lambda_max"]), abs(c["lambda_min"])) if c else 0.0
    if scale > 0:
        return 1.0 / scale, f"1/|λ|max = 1/{scale:.4g} from the Hessian at the start"
    return 0.1, "0.1 (the Hessian at the start is zero, so curvature cannot set it)"


# -- the engine --------------------------------------------------------------------------------
#: Optimizers whose update needs only the gradient (not the value or the function).
GRADIENT_ONLY = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def _same_types(new: Any, like: Any) -> Any:
    """``new`` with every leaf cast to the dtype of the matching leaf of ``like``."""
    import jax

    return jax.tree_util.tree_map(lambda a, b: a.astype(b.dtype), new, like)


def _parts(obj: Objective, opt: Optimizer, lean: bool = False) -> tuple[Any, Any, Any]:
    """``(init, step, light)`` for this objective and optimizer: pure functions of one start.

    ``init(theta0, lr)`` makes the carry; ``step(carry, settings)`` takes one step and returns
    the new carry and the row ``(theta, value, grad norm, step size, status)`` of that step.
    ``lean`` (many starts, gradient-only optimizers, no target): the value is not computed and
    no best point is kept, which halves the work per step; divergence is then seen in the
    gradient and the parameters.
    """
    import jax
    import jax.numpy as jnp

    tx = opt.transformation()
    fn = obj.fn
    value_and_grad = jax.value_and_grad(fn)
    grad = jax.grad(fn)

    def init(theta0: Any, lr: Any) -> Any:
        state = tx.init(theta0)
        if opt.injects_lr:
            # hyperparameters in the parameters' precision, so single precision stays single
            hyper = {
                k: jnp.asarray(v, theta0.dtype)
                if jnp.issubdtype(jnp.asarray(v).dtype, jnp.floating)
                else v
                for k, v in {**state.hyperparams, "learning_rate": lr}.items()
            }
            state = state._replace(hyperparams=hyper)
        carry = {"theta": theta0, "state": state, "status": jnp.int32(RUNNING), "k": jnp.int32(0)}
        if not lean:
            carry["best_theta"] = theta0
            carry["best_value"] = jnp.asarray(jnp.inf, theta0.dtype)
            carry["hit"] = jnp.int32(-1)
        return carry

    def step(carry: Any, settings: Any) -> tuple[Any, Any]:
        max_steps, gtol, lo, hi, target = settings
        theta, state, status, k = carry["theta"], carry["state"], carry["status"], carry["k"]
        if lean:
            g = grad(theta)
            v = None
        else:
            v, g = value_and_grad(theta)
        gn = jnp.linalg.norm(g)
        huge = _HUGE if theta.dtype == jnp.float64 else 1e30
        finite = jnp.all(jnp.isfinite(g)) & jnp.all(jnp.abs(theta) < huge)
        if not lean:
            finite = finite & jnp.isfinite(v)
        outside = jnp.any(theta < lo) | jnp.any(theta > hi)
        verdict = jnp.select(
            [~finite, outside, gn <= gtol, k >= max_steps],
            [DIVERGED, LEFT_BOUNDS, CONVERGED, MAX_STEPS],
            RUNNING,
        ).astype(jnp.int32)
        running = status == RUNNING
        status = jnp.where(running, verdict, status)
        go = status == RUNNING
        updates, new_state = _same_types(
            tx.update(g, state, theta, value=v, grad=g, value_fn=fn), (theta, state)
        )
        keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(go, a, b), new, old)  # noqa: E731
        out = {
            "theta": keep(theta + updates, theta),
            "state": keep(new_state, state),
            "status": status,
            "k": k + go.astype(jnp.int32),
        }
        if lean:
            return out, None
        better = running & finite & ~outside & (v < carry["best_value"])
        out["best_theta"] = jnp.where(better, theta, carry["best_theta"])
        out["best_value"] = jnp.where(better, v, carry["best_value"])
        out["hit"] = jnp.where(running & (carry["hit"] < 0) & (v <= target), k, carry["hit"])
        return out, (theta, v, gn, jnp.where(go, jnp.linalg.norm(updates), 0.0), status)

    def light(carry: Any, settings: Any) -> Any:
        """An update without the stop checks: for the turns between checks of a lean run."""
        max_steps = settings[0]
        theta, state, k = carry["theta"], carry["state"], carry["k"]
        go = (carry["status"] == RUNNING) & (k < max_steps)
        g = grad(theta)
        updates, new_state = _same_types(
            tx.update(g, state, theta, value=None, grad=g, value_fn=fn), (theta, state)
        )
        keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(go, a, b), new, old)  # noqa: E731
        return {**carry, "theta": keep(theta + updates, theta), "state": keep(new_state, state),
                "k": k + go.astype(jnp.int32)}  # fmt: skip

    return init, step, light


def _compiled(obj: Objective, opt: Optimizer, many: bool, lean: bool = False) -> tuple[Any, Any]:
    """Compiled ``(init, segment)``, cached on the objective.

    One start: ``segment`` scans :data:`SEGMENT` steps and returns every step's row. Many starts:
    ``segment`` maps the step over the starts and loops until every start has stopped or
    :data:`SEGMENT_MANY` steps have passed, returning the carry only.
    """
    import jax
    import jax.numpy as jnp

    key = ("run", opt.name, tuple(sorted(opt.options.items())), id(opt.custom), many, lean)
    if key in obj.compiled:
        return obj.compiled[key]  # type: ignore[no-any-return]
    init, step, light = _parts(obj, opt, lean)
    if not many:

        def segment(carry: Any, settings: Any) -> Any:
            return jax.lax.scan(lambda c, _: step(c, settings), carry, None, length=SEGMENT)

        compiled = (jax.jit(init), jax.jit(segment))
    else:

        def segment_many(carry: Any, settings: Any) -> Any:
            step_all = jax.vmap(lambda c: step(c, settings)[0])

            def more(state: Any) -> Any:
                return (state[0] < SEGMENT_MANY) & jnp.any(state[1]["status"] == RUNNING)

            light_all = jax.vmap(lambda c: light(c, settings))

            def body(state: Any) -> Any:
                c = state[1]
                if lean:  # stop rules checked every _UNROLL steps: a start may take up to
                    for _ in range(_UNROLL - 1):  # _UNROLL - 1 steps past its stop
                        c = light_all(c)
                    c = step_all(c)
                else:  # every step checked
                    for _ in range(_UNROLL):
                        c = step_all(c)
                return state[0] + _UNROLL, c

            return jax.lax.while_loop(more, body, (0, carry))[1]

        compiled = (jax.jit(jax.vmap(init, in_axes=(0, None))), jax.jit(segment_many))
    obj.compiled[key] = compiled
    return compiled


def _settings(
    obj: Objective, max_steps: int, gtol: float, bounds: Any, target: float = -math.inf
) -> tuple[Any, ...]:
    import jax.numpy as jnp

    lo = np.full(obj.n, -np.inf)
    hi = np.full(obj.n, np.inf)
    for name, rng in (bounds or {}).items():
        if name not in obj.names:
            raise InputError(
                f"Bounds given for {name!r}, which is not a parameter of {obj.signature()}."
            )
        i = obj.names.index(name)
        lo[i], hi[i] = check_range(name, rng)
    return (
        jnp.int32(max_steps), jnp.float64(gtol), jnp.asarray(lo), jnp.asarray(hi),
        jnp.float64(target),
    )  # fmt: skip


def _settings_text(opt: Optimizer, lr_used: float | None) -> str:
    """``"adam (lr 0.01, b1 0.9, ...)"``, with the learning rate the run chose where it chose one."""
    if opt.lr is not None or lr_used is None:
        return opt.describe()
    return f"{opt.name} (lr {lr_used:.4g})"


def _check_budget(max_steps: Any, gtol: Any) -> tuple[int, float]:
    if isinstance(max_steps, bool) or not isinstance(max_steps, int | np.integer) or max_steps < 1:
        raise InputError(f"The step budget must be a whole number >= 1; got {max_steps!r}.")
    if max_steps > 2**31 - 1:
        raise InputError(f"The step budget must be below 2^31; got {max_steps}.")
    try:
        g = float(gtol)
    except (TypeError, ValueError):
        raise InputError(f"gtol must be a number >= 0; got {gtol!r}.") from None
    if not (math.isfinite(g) and g >= 0):
        raise InputError(f"gtol must be a number >= 0; got {gtol!r}.")
    return int(max_steps), g


def _message(reason: str, k: int, gn: float, gtol: float, curv: Any, lr: Any) -> str:
    if reason == "converged":
        return f"converged: |∇f| = {gn:.3g} <= {gtol:.3g} after {k} steps"
    if reason == "max_steps":
        return f"stopped at the step budget of {k} steps with |∇f| = {gn:.3g} (> {gtol:.3g})"
    if reason == "left_bounds":
        return f"left the bounds after {k} steps"
    text = f"diverged after {k} steps: the values stopped being finite"
    if lr is not None and curv and curv.get("stable_lr"):
        text += f" (lr {lr:.3g}; plain gradient descent is stable below 2/λmax = {curv['stable_lr']:.3g} at the start)"
    return text


@with_x64
def minimize(
    obj: Objective,
    start: Params,
    method: Any = "gd",
    *,
    lr: float | None = None,
    max_steps: int = 1000,
    gtol: float = 1e-8,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: float,
) -> Run:
    """Minimise ``obj`` from ``start`` with one optimizer, recording every step.

    Args:
        method: an optimizer's name (``gd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``,
            ``adam``, ``adamw``, ``newton``, ``lbfgs``), an :class:`~gradscape.optimizers.Optimizer`
            or any optax transformation.
        lr: learning rate (default per optimizer; gd, momentum and nesterov take ``1/|λ|max`` of
            the Hessian at the start).
        max_steps: step budget.
        gtol: converged when ``‖∇f‖ <= gtol``.
        bounds: ``{name: (low, high)}``; leaving them stops the run (``left_bounds``).
        options: the optimizer's hyperparameters (``momentum=0.8``...).

    Example:
        >>> r = minimize(gs.objective("rosenbrock"), {"x": -1, "y": 1}, "newton", max_steps=100)
        >>> r.stop_reason, round(r.final_value, 12)
        ('converged', 0.0)
    """
    import jax.numpy as jnp

    opt = optimizer(method, lr=lr, **options)
    max_steps, gtol = _check_budget(max_steps, gtol)
    theta0 = obj.vector(start)
    lr_used, lr_reason = default_lr(opt, obj, theta0)
    settings = _settings(obj, max_steps, gtol, bounds)
    init, segment = _compiled(obj, opt, many=False)
    carry = init(jnp.asarray(theta0), jnp.float64(lr_used if lr_used is not None else 1.0))
    rows: list[Any] = []
    while True:
        carry, rec = segment(carry, settings)
        rows.append([np.asarray(r) for r in rec])
        done = int(carry["k"])
        if progress is not None:
            progress(min(done, max_steps), max_steps)
        if int(carry["status"]) != RUNNING:
            break
    theta, values, gnorms, steps, _ = (np.concatenate([r[i] for r in rows]) for i in range(5))
    k = int(carry["k"])
    keep = k + 1
    reason = STATUS[int(carry["status"])]
    curv_start = curvature(obj, theta0) if obj.n <= 500 else None
    end_theta = theta[k]
    curv_end = (
        curvature(obj, end_theta) if obj.n <= 500 and np.all(np.isfinite(end_theta)) else None
    )
    best_value = float(carry["best_value"])
    return Run(
        names=obj.names,
        optimizer=opt.name,
        settings=_settings_text(opt, lr_used),
        lr=lr_used,
        lr_reason=lr_reason,
        params=theta[:keep],
        values=values[:keep],
        grad_norms=gnorms[:keep],
        step_sizes=steps[:k],
        n_steps=k,
        stop_reason=reason,
        message=_message(reason, k, float(gnorms[k]), gtol, curv_start, lr_used),
        best_params=np.asarray(carry["best_theta"]),
        best_value=best_value if math.isfinite(best_value) else float("nan"),
        gtol=gtol,
        max_steps=max_steps,
        bounds=dict(bounds) if bounds else None,
        curvature_start=curv_start,
        curvature_end=curv_end,
    )


# -- many starts at once -----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Batch(Result):
    """Where many starts ended (no histories).

    Attributes:
        names: parameter names.
        optimizer, settings, lr, lr_reason: as in :class:`Run`.
        starts: shape ``(m, n)``.
        params: final parameters, shape ``(m, n)``.
        values: final values, shape ``(m,)``.
        grad_norms: final gradient norms, shape ``(m,)``.
        n_steps: steps each start took, shape ``(m,)``.
        status: stop reason code per start (index into :data:`STATUS`), shape ``(m,)``.
        hit: per start, the first step at which ``f <= target`` (-1: never; see
            :func:`minimize_many`).
    """

    names: tuple[str, ...]
    optimizer: str
    settings: str
    lr: float | None
    lr_reason: str
    starts: np.ndarray
    params: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    n_steps: np.ndarray
    status: np.ndarray
    gtol: float
    max_steps: int
    hit: np.ndarray | None = None

    def counts(self) -> dict[str, int]:
        """How many starts stopped for each reason."""
        return {s: int(np.sum(self.status == i)) for i, s in enumerate(STATUS) if i != RUNNING}


def _batch_lr(opt: Optimizer, obj: Objective, starts: np.ndarray) -> tuple[float | None, str]:
    """One learning rate for every start: for gd, momentum and nesterov without one, ``1/|λ|max``
    over (up to 1,024 of) the starts, so the steepest place sampled sets a step that is stable
    everywhere sampled."""
    if opt.custom is not None or opt.lr is not None or opt.name == "lbfgs":
        return default_lr(opt, obj, starts[0])
    import jax
    import jax.numpy as jnp

    sample = starts[:: max(1, len(starts) // 1024)]
    h = jax.jit(jax.vmap(jax.hessian(obj.fn)))(jnp.asarray(sample))
    lam = np.abs(np.linalg.eigvalsh(np.asarray(h)))
    top = float(np.nanmax(lam)) if np.isfinite(lam).any() else 0.0
    if top > 0:
        return (
            1.0 / top,
            f"1/|λ|max = 1/{top:.4g}, the steepest curvature over {len(sample)} starts",
        )
    return 0.1, "0.1 (the Hessian is zero at every start sampled)"


@dataclass(frozen=True)
class _Placement:
    """Where a chunk of starts lives: one device, or split along the starts over every local CPU
    device (one per core when the process starts with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``, as the CLI does)."""

    n: int
    sharding: Any

    def __call__(self, block: np.ndarray) -> Any:
        import jax
        import jax.numpy as jnp

        return jnp.asarray(block) if self.sharding is None else jax.device_put(block, self.sharding)


def _spread(size: int) -> _Placement:
    import jax

    devices = [d for d in jax.local_devices() if d.platform == "cpu"]
    if len(devices) < 2 or size < 256 * len(devices) or jax.default_backend() != "cpu":
        return _Placement(1, None)
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(devices), ("starts",))
    return _Placement(len(devices), NamedSharding(mesh, PartitionSpec("starts")))


@with_x64
def minimize_many(
    obj: Objective,
    starts: Any,
    method: Any = "gd",
    *,
    lr: float | None = None,
    max_steps: int = 1000,
    gtol: float = 1e-8,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    chunk: int = 65536,
    target: float | None = None,
    precision: str = "float64",
    progress: Callable[[int, int], None] | None = None,
    **options: float,
) -> Batch:
    """Minimise ``obj`` from every row of ``starts`` at once (``vmap``, in chunks of ``chunk``
    starts), keeping where each one ended.

    Arguments are those of :func:`minimize`; ``starts`` has shape ``(m, n)``. With ``target``,
    the first step at which each start's value reaches ``f <= target`` is kept (``Batch.hit``).
    ``precision="float32"`` runs the steps in single precision (about four times faster on a
    CPU; gradients carry about 7 digits, so ``gtol`` must be set accordingly); the returned
    values and gradients are evaluated in float64 at the end points.
    """
    import jax
    import jax.numpy as jnp

    opt = optimizer(method, lr=lr, **options)
    max_steps, gtol = _check_budget(max_steps, gtol)
    starts = np.asarray(starts, dtype=np.float64)
    if starts.ndim != 2 or starts.shape[1] != obj.n or starts.shape[0] < 1:
        raise InputError(
            f"starts must have shape (m, {obj.n}) for {obj.signature()}; got {starts.shape}."
        )
    if not np.all(np.isfinite(starts)):
        raise InputError("Every start must be finite.")
    if precision not in ("float64", "float32"):
        raise InputError(f"precision must be float64 or float32; got {precision!r}.")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise InputError(f"chunk must be a whole number >= 1; got {chunk!r}.")
    lr_used, lr_reason = _batch_lr(opt, obj, starts)
    settings = _settings(obj, max_steps, gtol, bounds, -math.inf if target is None else target)
    lean = target is None and opt.custom is None and opt.name in GRADIENT_ONLY
    init_many, segment_many = _compiled(obj, opt, many=True, lean=lean)
    m = starts.shape[0]
    size = -(-m // -(-m // chunk))  # equal chunks of at most `chunk` starts: little padding
    place = _spread(size)
    size = -(-size // place.n) * place.n  # divisible by the number of devices
    out: dict[str, list[Any]] = {k: [] for k in ("theta", "value", "gn", "k", "status", "hit")}
    vg = obj.compiled.get("batched value_and_grad")
    if vg is None:
        vg = obj.compiled["batched value_and_grad"] = jax.jit(jax.vmap(jax.value_and_grad(obj.fn)))
    for lo in range(0, m, size):
        block = starts[lo : lo + size]
        pad = size - len(block)
        if pad:  # keep one compiled shape: repeat the last start, drop it afterwards
            block = np.concatenate([block, np.repeat(block[-1:], pad, axis=0)])
        carry = init_many(
            place(block.astype(precision)), jnp.float64(lr_used if lr_used is not None else 1.0)
        )
        while True:
            carry = segment_many(carry, settings)
            if not bool(jnp.any(carry["status"] == RUNNING)):
                break
        theta = np.asarray(carry["theta"], dtype=np.float64)[: size - pad]
        v, g = vg(jnp.asarray(theta))
        out["theta"].append(theta)
        out["value"].append(np.asarray(v))
        with np.errstate(over="ignore", invalid="ignore"):  # diverged starts may overflow
            out["gn"].append(np.linalg.norm(np.asarray(g), axis=1))
        out["k"].append(np.asarray(carry["k"])[: size - pad])
        out["status"].append(np.asarray(carry["status"])[: size - pad])
        if "hit" in carry:
            out["hit"].append(np.asarray(carry["hit"])[: size - pad])
        if progress is not None:
            progress(min(lo + size, m), m)
    return Batch(
        names=obj.names,
        optimizer=opt.name,
        settings=_settings_text(opt, lr_used),
        lr=lr_used,
        lr_reason=lr_reason,
        starts=starts,
        params=np.concatenate(out["theta"]),
        values=np.concatenate(out["value"]),
        grad_norms=np.concatenate(out["gn"]),
        n_steps=np.concatenate(out["k"]).astype(np.int64),
        status=np.concatenate(out["status"]).astype(np.int64),
        gtol=gtol,
        max_steps=max_steps,
        hit=np.concatenate(out["hit"]).astype(np.int64) if target is not None else None,
    )
