"""Optimization runs: any optimizer of the family, from one start with its full history, or from
many starts at once.

One engine serves both. A *segment* is a compiled loop over a carry (parameters, optimizer state,
status, step count, best point) that takes steps until every start has stopped or the segment's
step limit is reached; a run calls segments until it stops. The limit is an argument, set from
the measured time per step so that each segment lasts about :data:`SEGMENT_SECONDS`: Ctrl-C
(``KeyboardInterrupt``) and progress reports come between segments, within a second or so,
however large the work. Many starts are the same segment under ``jax.vmap``, in chunks of bounded
memory and time, all on one device (see :func:`minimize_many` for why not spread over several).
Settings (learning rate, tolerance, bounds, step budget) are arguments, so one compilation per
objective and optimizer serves them all. A start stops when the gradient norm reaches ``gtol``
(converged), the step budget is spent (max_steps), a value, gradient or parameter stops being
finite or the parameters run past 1e150 (diverged), or the parameters leave the bounds
(left_bounds); stopped starts are frozen while the others go on.

Work is priced before it runs: Newton's method is capped at :data:`MAX_NEWTON_DIM` variables (an
``n × n`` Hessian and its eigendecomposition per step), a many-start search at
:data:`MEMORY_LIMIT` bytes of results, and at :data:`TIME_LIMIT` seconds of projected time
(measured on its first segments, refused at once when the projection passes the cap).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .errors import InputError, NumericalError, listing, whole_number
from .objectives import Objective, Params, check_range
from .optimizers import GD_FAMILY, Optimizer, check_lr, optimizer
from .results import Result

RUNNING, CONVERGED, MAX_STEPS, DIVERGED, LEFT_BOUNDS, GREW = range(6)
#: Stop codes of many starts (:class:`Batch`); a single run may also stop on ``grew``.
STATUS = ("running", "converged", "max_steps", "diverged", "left_bounds")
STOPS = (*STATUS, "grew")
GROWTH = 1e6  # a value this many times its start's magnitude above the start: the run blew up
SEGMENT = 1024  # most rows recorded per compiled segment of one start
TAIL = 8  # the last steps of a run are always recorded, one by one, whatever the stride
HEAD = 1000  # every step of the first HEAD is recorded
MAX_RECORDS = 100_000  # about how many rows a run keeps after its first HEAD steps
HISTORY_BYTES = 256 * 1024**2  # most memory the history of one run may take
SEGMENT_SECONDS = 0.5  # target wall time of one compiled segment (Ctrl-C is seen between them)
_UNROLL = 32  # steps per loop turn of a lean many-start segment
_HUGE = 1e150  # parameters beyond this count as diverged

#: Most variables for Newton's method: each step forms the n x n Hessian (n Hessian-vector
#: products) and its eigendecomposition (about 10 n^3 operations, a second at n = 1000).
MAX_NEWTON_DIM = 500
#: Methods that form the full Hessian at every step.
HESSIAN_METHODS = ("newton", "newton_roots")
#: Cap on the results a many-start search holds in memory (bytes).
MEMORY_LIMIT = 2 * 1024**3
#: Default cap on the projected wall time of a many-start search (seconds).
TIME_LIMIT = 300.0
CHUNK = 4096  # most starts per compiled chunk
_CHUNK_BYTES = 256 * 1024**2  # working memory of one chunk
_CHUNK_FLOPS = 2e8  # work of one step over one chunk (about SEGMENT_SECONDS on a slow core)


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
GTOL = 1e-8


def safe_norm(v: np.ndarray, axis: int | None = None) -> np.ndarray:
    """The Euclidean norm without underflow or overflow: ``max|v| · ‖v / max|v|‖``."""
    v = np.asarray(v, dtype=np.float64)
    top = np.max(np.abs(v), axis=axis, keepdims=True)
    scale = np.where(top > 0, top, 1.0)
    out = np.squeeze(top, axis=axis) * np.linalg.norm(v / scale, axis=axis)
    return np.asarray(out)


# -- curvature ---------------------------------------------------------------------------------
def curvature(obj: Objective, theta: Any) -> dict[str, Any] | None:
    """``λmax``, ``λmin``, condition number ``|λ|max/|λ|min`` and the largest stable GD learning
    rate ``2/λmax`` of the Hessian at ``theta`` (``None`` where it is not finite)."""
    from .calculus import hessian

    try:
        h = hessian(obj, theta)
    except (InputError, NumericalError):  # a kink or a pole there: no curvature to report
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


#: Above this many variables curvature comes from Hessian-vector products (power iteration)
#: instead of the full Hessian.
_FULL_HESSIAN_DIM = 500


def spectral_radius(obj: Objective, points: np.ndarray, iters: int = 100) -> np.ndarray:
    """``|λ|max`` of the Hessian at each row of ``points`` by power iteration on Hessian-vector
    products (``n`` numbers per iterate, never the ``n × n`` matrix); shape ``(k,)``.

    ``‖Hv‖`` for a unit ``v`` never exceeds ``|λ|max`` and climbs to it as the iteration
    converges; the largest iterate seen is returned."""
    import jax
    import jax.numpy as jnp

    grad = jax.grad(obj.fn)
    draw = np.random.default_rng(0).normal(size=obj.n)  # fixed: not orthogonal to the top one
    v0 = jnp.asarray(draw / np.linalg.norm(draw))

    def one(x: Any) -> Any:
        def body(_: int, state: Any) -> Any:
            v, top = state
            w = jax.jvp(grad, (x,), (v,))[1]
            size = jnp.linalg.norm(w)
            return jnp.where(size > 0, w / jnp.where(size > 0, size, 1.0), v), jnp.maximum(
                top, size
            )

        return jax.lax.fori_loop(0, iters, body, (v0, jnp.zeros((), x.dtype)))[1]

    key = ("spectral radius", iters)
    if key not in obj.compiled:
        obj.compiled[key] = jax.jit(jax.vmap(one))
    return np.asarray(obj.compiled[key](jnp.asarray(points, dtype=jnp.float64)))


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
    if obj.n > _FULL_HESSIAN_DIM:
        scale = float(spectral_radius(obj, theta[None, :])[0])
        how = "by power iteration on Hessian-vector products at the start"
    else:
        c = curvature(obj, theta)
        scale = max(abs(c["lambda_max"]), abs(c["lambda_min"])) if c else 0.0
        how = "from the Hessian at the start"
    if math.isfinite(scale) and scale > 0:
        return 1.0 / scale, f"1/|λ|max = 1/{scale:.4g} {how}"
    return 0.1, "0.1 (the Hessian at the start is zero, so curvature cannot set it)"


def check_newton_size(opt: Optimizer, obj: Objective) -> None:
    """Refuse a method that forms the full Hessian at every step on more than
    :data:`MAX_NEWTON_DIM` variables."""
    check_newton_dims(opt.name, obj.n, obj.label)


def check_newton_dims(method: str, n: int, label: str) -> None:
    """:func:`check_newton_size` from a method's name, a dimension and a function's name (so a
    caller can refuse before building a large objective)."""
    if method in HESSIAN_METHODS and n > MAX_NEWTON_DIM:
        gib = 8 * n**2 / 2**30
        raise InputError(
            f"{method} forms the {n:,} × {n:,} Hessian ({gib:.2g} GiB) and its "
            f"eigendecomposition (about {10 * n**3:.0e} operations) at every step; it is "
            f"capped at {MAX_NEWTON_DIM} variables (gradscape.runs.MAX_NEWTON_DIM). Use a "
            f"first-order method (lbfgs, adam, gd) for {label} in {n:,} variables."
        )


#: Standard starts from the literature: the pattern (repeated over the variables) and its source.
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


# -- the engine --------------------------------------------------------------------------------
#: Optimizers whose update needs only the gradient (not the value or the function).
GRADIENT_ONLY = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def _keeper(go: Any) -> Any:
    """``keep(new, old)``: the new pytree where ``go``, else the old one."""
    import jax
    import jax.numpy as jnp

    def keep(new: Any, old: Any) -> Any:
        return jax.tree_util.tree_map(lambda a, b: jnp.where(go, a, b), new, old)

    return keep


def _scaled_norm(v: Any) -> Any:
    """``‖v‖`` as ``max|v| · ‖v / max|v|‖``: no underflow or overflow of the squares."""
    import jax.numpy as jnp

    top = jnp.max(jnp.abs(v))
    return top * jnp.linalg.norm(v / jnp.where(top > 0, top, 1.0))


def _same_types(new: Any, like: Any) -> Any:
    """``new`` with every leaf cast to the dtype of the matching leaf of ``like``."""
    import jax

    return jax.tree_util.tree_map(lambda a, b: a.astype(b.dtype), new, like)


def _parts(
    obj: Objective, opt: Optimizer, lean: bool = False, grow: bool = True
) -> tuple[Any, Any, Any, Any]:
    """``(init, step, light, free)`` for this objective and optimizer: pure functions of one start.

    ``init(theta0, lr)`` makes the carry (``lr`` one number, or one per parameter);
    ``step(carry, settings)`` checks the stop rules at the current point, takes one step and
    returns the new carry and the row ``(k, theta, value, gradient, grad norm, step size)`` of
    the point it stepped from. A step that leads where the value or the gradient is not
    finite is not taken (``diverged``); with ``grow``, one that takes the value
    :data:`GROWTH` times its start's magnitude above the start is taken and ends the run
    (``grew``). ``lean`` (many starts, gradient-only optimizers, no target): the value is not
    computed and no best point is kept, which halves the work per step; divergence is then
    seen in the gradient and the parameters at the next check.
    """
    import jax
    import jax.numpy as jnp

    tx = opt.transformation()
    fn = obj.fn
    value_and_grad: Any = jax.value_and_grad(fn)
    grad: Any = jax.grad(fn)

    def huge_of(theta: Any) -> float:
        return _HUGE if theta.dtype == jnp.float64 else 1e30

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
            v, g = value_and_grad(theta0)
            tiny = float(np.finfo(theta0.dtype).tiny)
            carry["value"], carry["grad"] = v, g
            carry["limit"] = (
                v + GROWTH * jnp.maximum(jnp.abs(v), tiny)
                if grow
                else jnp.asarray(jnp.inf, v.dtype)
            )
            carry["best_theta"] = theta0
            carry["best_value"] = jnp.where(jnp.isfinite(v), v, jnp.inf)
            carry["best_k"] = jnp.int32(0)
            carry["hit"] = jnp.int32(-1)
        return carry

    def verdict(theta: Any, g: Any, v: Any, k: Any, settings: Any) -> tuple[Any, Any, Any]:
        """The stop code at the current point (``RUNNING``: go on), its gradient norm and
        whether it is outside the bounds."""
        max_steps, gtol, lo, hi, _ = settings
        gn = _scaled_norm(g)  # |∇f| of 1e-200·f is 1e-199: its squares would underflow to 0
        finite = jnp.all(jnp.isfinite(g)) & jnp.all(jnp.abs(theta) < huge_of(theta))
        if v is not None:
            finite = finite & jnp.isfinite(v)
        outside = jnp.any(theta < lo) | jnp.any(theta > hi)
        # the first rule that holds wins; nested wheres, not jnp.select (which XLA makes an
        # argmax over the stacked rules: twice the cost of the whole checked step)
        code = jnp.int32(RUNNING)
        for rule, stop in ((k >= max_steps, MAX_STEPS), (gn <= gtol, CONVERGED),
                           (outside, LEFT_BOUNDS), (~finite, DIVERGED)):  # fmt: skip
            code = jnp.where(rule, jnp.int32(stop), code)
        return code, gn, outside

    def lean_step(carry: Any, settings: Any) -> tuple[Any, Any]:
        theta, state, status, k = carry["theta"], carry["state"], carry["status"], carry["k"]
        g = grad(theta)
        code, _, _ = verdict(theta, g, None, k, settings)
        status = jnp.where(status == RUNNING, code, status)
        go = status == RUNNING
        updates, new_state = _same_types(
            tx.update(g, state, theta, value=None, grad=g, value_fn=fn), (theta, state)
        )
        keep = _keeper(go)
        out = {"theta": keep(theta + updates, theta), "state": keep(new_state, state),
               "status": status, "k": k + go.astype(jnp.int32)}  # fmt: skip
        return out, None

    def step(carry: Any, settings: Any) -> tuple[Any, Any]:
        if lean:
            return lean_step(carry, settings)
        theta, state, status, k = carry["theta"], carry["state"], carry["status"], carry["k"]
        v, g = carry["value"], carry["grad"]
        code, gn, _ = verdict(theta, g, v, k, settings)
        running = status == RUNNING
        status = jnp.where(running, code, status)
        hit = jnp.where(running & (carry["hit"] < 0) & (v <= settings[4]), k, carry["hit"])
        go = status == RUNNING
        updates, new_state = _same_types(
            tx.update(g, state, theta, value=v, grad=g, value_fn=fn), (theta, state)
        )
        new_theta = theta + updates
        new_v, new_g = value_and_grad(new_theta)
        bad = (
            ~jnp.isfinite(new_v)
            | ~jnp.all(jnp.isfinite(new_g))
            | ~jnp.all(jnp.abs(new_theta) < huge_of(theta))
        )
        take = go & ~bad
        status = jnp.where(go & bad, DIVERGED, status)
        status = jnp.where(take & (new_v > carry["limit"]), GREW, status)
        keep = _keeper(take)
        better = take & (new_v < carry["best_value"])
        out = {
            **carry,
            "theta": keep(new_theta, theta),
            "state": keep(new_state, state),
            "value": jnp.where(take, new_v, v),
            "grad": keep(new_g, g),
            "status": status,
            "k": k + take.astype(jnp.int32),
            "best_theta": jnp.where(better, new_theta, carry["best_theta"]),
            "best_value": jnp.where(better, new_v, carry["best_value"]),
            "best_k": jnp.where(better, k + 1, carry["best_k"]),
            "hit": hit,
        }
        size = jnp.where(take, _scaled_norm(updates), jnp.zeros((), theta.dtype))
        return out, (k, theta, v, g, gn, size)

    def free(carry: Any) -> Any:
        """An update with no checks and no mask, for a turn of a lean run that fits its budget
        (the caller restores the starts that had stopped)."""
        theta, state = carry["theta"], carry["state"]
        g = grad(theta)
        updates, new_state = _same_types(
            tx.update(g, state, theta, value=None, grad=g, value_fn=fn), (theta, state)
        )
        return {**carry, "theta": theta + updates, "state": new_state}

    def light(carry: Any, settings: Any) -> Any:
        """An update without the stop checks: for the turns between checks of a lean run."""
        max_steps = settings[0]
        theta, state, k = carry["theta"], carry["state"], carry["k"]
        go = (carry["status"] == RUNNING) & (k < max_steps)
        g = grad(theta)
        updates, new_state = _same_types(
            tx.update(g, state, theta, value=None, grad=g, value_fn=fn), (theta, state)
        )
        keep = _keeper(go)
        return {**carry, "theta": keep(theta + updates, theta), "state": keep(new_state, state),
                "k": k + go.astype(jnp.int32)}  # fmt: skip

    return init, step, light, free


def _segment_rows(n: int) -> int:
    """Rows of one compiled segment of one start: :data:`SEGMENT`, fewer where ``n`` is large
    (the segment's buffer stays under 32 MiB)."""
    return int(min(SEGMENT, max(16, 32 * 1024**2 // (8 * (2 * n + 4)))))


def _compiled(obj: Objective, opt: Optimizer, many: bool, lean: bool = False) -> tuple[Any, Any]:
    """Compiled ``(init, segment)``, cached on the objective.

    One start: ``segment(carry, settings, rows, stride)`` records up to ``rows`` rows (at most
    :func:`_segment_rows`), taking ``stride`` steps after each, until the run stops; it returns
    ``(carry, rows buffer, rows recorded)``. The carry keeps a ring of the last :data:`TAIL`
    rows, recorded one by one whatever the stride. Many starts: ``segment(carry, settings,
    limit)`` takes steps until every start has stopped or ``limit`` steps have passed, and
    returns ``(carry, steps taken)``: the step mapped over the starts (``vmap``); lean segments
    check the stop rules every :data:`_UNROLL` steps. ``rows``, ``stride`` and ``limit`` are
    traced, so one compilation serves every segment.
    """
    import jax
    import jax.numpy as jnp

    key = ("run", opt.name, tuple(sorted(opt.options.items())), id(opt.custom), many, lean)
    if key in obj.compiled:
        return obj.compiled[key]  # type: ignore[no-any-return]
    first, step, light, free = _parts(obj, opt, lean, grow=not many)

    def init(theta0: Any, lr: Any) -> Any:
        # no weakly typed leaves (optax's states have some): the carry a segment returns must
        # have the types of the one it took, or every segment after the first compiles again
        strong = lambda x: jax.lax.convert_element_type(x, x.dtype)  # noqa: E731
        carry = first(theta0, lr)
        if not many:  # the ring of the last rows: step -1 marks an empty slot
            shapes = jax.eval_shape(lambda c: step(c, _shape_settings(obj.n))[1], carry)
            carry["ring"] = jax.tree_util.tree_map(
                lambda s: jnp.full((TAIL, *s.shape), -1 if s.dtype == jnp.int32 else 0, s.dtype),
                shapes,
            )
        return jax.tree_util.tree_map(strong, carry)

    if not many:
        size = _segment_rows(obj.n)

        def ringed(c: Any, settings: Any) -> tuple[Any, Any]:
            ring = c.pop("ring")
            c, row = step(c, settings)
            slot = row[0] % TAIL
            c["ring"] = jax.tree_util.tree_map(lambda b, r: b.at[slot].set(r), ring, row)
            return c, row

        def segment(carry: Any, settings: Any, rows: Any, stride: Any) -> Any:
            shapes = jax.eval_shape(lambda c: ringed(dict(c), settings)[1], carry)
            buf = jax.tree_util.tree_map(lambda s: jnp.zeros((size, *s.shape), s.dtype), shapes)

            def more(state: Any) -> Any:
                return (state[0] < jnp.minimum(rows, size)) & (state[1]["status"] == RUNNING)

            def skip_more(state: Any) -> Any:
                return (state[0] < stride) & (state[1]["status"] == RUNNING)

            def skip(state: Any) -> Any:
                return state[0] + 1, ringed(dict(state[1]), settings)[0]

            def body(state: Any) -> Any:
                i, c, buf = state
                c, row = ringed(dict(c), settings)
                buf = jax.tree_util.tree_map(lambda b, r: b.at[i].set(r), buf, row)
                _, c = jax.lax.while_loop(skip_more, skip, (jnp.int32(1), c))
                return i + 1, c, buf

            i, carry, buf = jax.lax.while_loop(more, body, (jnp.int32(0), carry, buf))
            return carry, buf, i

        compiled = (jax.jit(init), jax.jit(segment))
    else:

        def segment_many(carry: Any, settings: Any, limit: Any) -> Any:
            step_all = jax.vmap(lambda c: step(c, settings)[0])
            light_all = jax.vmap(lambda c: light(c, settings))
            free_all = jax.vmap(free)

            def masked_turn(c: Any) -> Any:
                return jax.lax.fori_loop(0, _UNROLL - 1, lambda _, c: light_all(c), c)  # type: ignore[no-untyped-call]

            def turn_all(c: Any, running: Any) -> Any:
                moved = jax.lax.fori_loop(0, _UNROLL - 1, lambda _, c: free_all(c), c)
                moved["k"] = c["k"] + (_UNROLL - 1) * running.astype(jnp.int32)

                def pick(new: Any, old: Any) -> Any:
                    return jnp.where(
                        running.reshape(running.shape + (1,) * (new.ndim - 1)), new, old
                    )

                return jax.tree_util.tree_map(pick, moved, c)

            def more(state: Any) -> Any:
                return (state[0] < limit) & jnp.any(state[1]["status"] == RUNNING)

            def body(state: Any) -> Any:
                c = state[1]
                if lean:  # stop rules checked every _UNROLL steps: a start may take up to
                    # _UNROLL - 1 steps past its stop. Running starts have all taken the same
                    # steps, so whether the turn fits the budget is one question for them all:
                    # when it does, the turn's steps run unmasked (a rolled loop: XLA runs it
                    # faster than the same steps unrolled) and stopped starts are restored once
                    running = c["status"] == RUNNING
                    fits = jnp.max(jnp.where(running, c["k"], 0)) + _UNROLL - 1 <= settings[0]
                    c = jax.lax.cond(fits, lambda c: turn_all(c, running), masked_turn, c)
                    return state[0] + _UNROLL, step_all(c)  # type: ignore[no-untyped-call]
                return state[0] + 1, step_all(c)  # type: ignore[no-untyped-call]

            i, carry = jax.lax.while_loop(more, body, (jnp.int32(0), carry))
            return carry, i

        compiled = (jax.jit(jax.vmap(init, in_axes=(0, 0))), jax.jit(segment_many))
    obj.compiled[key] = compiled
    return compiled


def _shape_settings(n: int) -> tuple[Any, ...]:
    """Settings of the right shapes, to trace a step's row shapes."""
    import jax.numpy as jnp

    return (jnp.int32(1), jnp.float64(0), jnp.zeros(n), jnp.zeros(n), jnp.float64(0))


class _Pace:
    """The step limit of the next segment, so that each lasts about :data:`SEGMENT_SECONDS`.

    The first call of a compiled shape includes its compilation and is not timed; after that
    each segment's seconds per step set the next limit (growing at most 8-fold at a time, so
    one fast segment cannot commit the next to minutes)."""

    def __init__(self, multiple: int, most: int):
        self.multiple = multiple
        self.most = max(multiple, most)
        self.limit = multiple
        self.per_step: float | None = None

    def record(self, seconds: float, steps: int, compiling: bool) -> None:
        if compiling or steps <= 0:
            return
        self.per_step = seconds / steps
        want = min(SEGMENT_SECONDS / max(self.per_step, 1e-9), 8.0 * self.limit, self.most)
        self.limit = max(self.multiple, int(want) // self.multiple * self.multiple)


def _first_call(obj: Objective, key: Any) -> bool:
    """True the first time ``key`` (a compiled function and its shapes) is seen on ``obj``."""
    seen: set[Any] = obj.compiled.setdefault("calls seen", set())
    if key in seen:
        return False
    seen.add(key)
    return True


@contextmanager
def settled(pending: Callable[[], Any]) -> Iterator[None]:
    """On Ctrl-C, wait for the computation in flight (at most one segment) before unwinding, so
    the process never exits while XLA threads still write into its buffers."""
    try:
        yield
    except KeyboardInterrupt:
        import contextlib

        import jax

        # a second Ctrl-C or a failed computation: just go
        with contextlib.suppress(BaseException):
            jax.block_until_ready(pending())  # type: ignore[no-untyped-call]
        raise


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


def _settings_text(opt: Optimizer, lr_used: float | tuple[float, ...] | None) -> str:
    """``"adam (lr 0.01, b1 0.9, ...)"``, with the learning rate the run chose where it chose one."""
    if opt.lr is not None or lr_used is None:
        return opt.describe()
    return f"{opt.name} (lr {_fmt_lr(lr_used)})"


@with_x64
def batch_value_and_grad(obj: Objective, points: Any) -> tuple[np.ndarray, np.ndarray]:
    """``f`` and ``∇f`` at every row of ``points`` (one compilation per objective)."""
    import jax
    import jax.numpy as jnp

    vg = obj.compiled.get("batched value_and_grad")
    if vg is None:
        vg = obj.compiled["batched value_and_grad"] = jax.jit(jax.vmap(jax.value_and_grad(obj.fn)))
    v, g = vg(jnp.asarray(points, dtype=jnp.float64))
    return np.asarray(v), np.asarray(g)


@with_x64
def typical_gradient(obj: Objective, starts: Any) -> float:
    """The median gradient norm over (up to 512 of) the starts, leaving out starts where it is
    zero or not finite; 0 when none is left."""
    x = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    if x.ndim != 2 or x.shape[1] != obj.n or not len(x):
        return 1.0  # the caller's own check names the bad shape
    _, g = batch_value_and_grad(obj, x[:: max(1, len(x) // 512)])
    with np.errstate(over="ignore", invalid="ignore"):
        norms = safe_norm(g, axis=1)
    norms = norms[np.isfinite(norms) & (norms > 0)]
    return float(np.median(norms)) if norms.size else 0.0


def default_gtol(obj: Objective, starts: Any) -> float:
    """``GTOL`` times the typical ``‖∇f‖`` at the starts (:func:`typical_gradient`): a relative
    tolerance, so that ``c·f`` descends like ``f`` for any scale ``c`` (with an absolute one,
    ``1e-9·(x² + y²)`` was "converged" before its first step and ``1e9·himmelblau`` never
    converged)."""
    return GTOL * typical_gradient(obj, starts)


def _check_budget(max_steps: Any, gtol: Any) -> tuple[int, float | None]:
    if isinstance(max_steps, bool) or not isinstance(max_steps, int | np.integer) or max_steps < 1:
        raise InputError(f"The step budget must be a whole number >= 1; got {max_steps!r}.")
    if max_steps > 2**31 - 1:
        raise InputError(f"The step budget must be below 2^31; got {max_steps}.")
    if gtol is None:
        return int(max_steps), None
    try:
        g = float(gtol)
    except (TypeError, ValueError):
        raise InputError(f"gtol must be a number >= 0; got {gtol!r}.") from None
    if not (math.isfinite(g) and g >= 0):
        raise InputError(f"gtol must be a number >= 0; got {gtol!r}.")
    return int(max_steps), g


def budget_for(
    obj: Objective, starts: Any, max_steps: Any, gtol: Any
) -> tuple[np.ndarray, int, float]:
    """The starts as float64, the checked step budget and the gradient tolerance (given, or
    :func:`default_gtol` over the starts)."""
    max_steps, given = _check_budget(max_steps, gtol)
    starts = np.asarray(starts, dtype=np.float64)
    return starts, max_steps, default_gtol(obj, starts) if given is None else given


def _fmt_lr(lr: float | tuple[float, ...]) -> str:
    """``"0.01"``, or ``"[0.001, 0.01]"`` for one rate per parameter."""
    if isinstance(lr, tuple):
        return (
            f"{lr[0]:.4g}" if len(set(lr)) == 1 else "[" + ", ".join(f"{v:.4g}" for v in lr) + "]"
        )
    return f"{lr:.4g}"


def _message(
    reason: str, k: int, gn: float, gtol: float, max_steps: int, stable: float | None,
    lr: float | tuple[float, ...] | None, value: float,
) -> str:  # fmt: skip
    """The stop of a run explained in one sentence."""
    if reason == "converged":
        return f"converged after {k} steps: gradient norm {gn:.3g} ≤ gtol {gtol:.3g}"
    if reason == "max_steps":
        return (
            f"stopped at the step budget ({max_steps}) before converging: gradient norm "
            f"{gn:.3g} > gtol {gtol:.3g}; raise the step budget or the learning rate"
        )
    if reason == "left_bounds":
        return f"left the bounds after {k} steps"
    if reason == "diverged" and not math.isfinite(value + gn):
        return (
            "stopped at the start: the value or the gradient is not finite there (f is undefined "
            "or not differentiable at the start); start elsewhere"
        )
    hint = "use a smaller lr" if lr is not None else "start elsewhere"
    if lr is not None and stable is not None:
        hint = f"the largest stable learning rate here is 2/λmax = {stable:.4g}; use a smaller lr"
    rate = f" (lr {_fmt_lr(lr)})" if lr is not None else ""
    if reason == "grew":
        return (
            f"diverged at step {k}{rate}: the value grew to {value:.3g}, a millionfold above "
            f"its start; {hint}"
        )
    return (
        f"diverged at step {k + 1}{rate}: that step led where the value or the gradient is not "
        f"finite, so it was not taken; {hint}"
    )


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


def _stability_warnings(
    opt: Optimizer, lr: float | tuple[float, ...] | None, given: bool, curv: Any
) -> tuple[str, ...]:
    """A warning when a learning rate the user gave a gradient-descent method is above the
    largest stable one, ``2/λmax`` at the start."""
    stable = (curv or {}).get("stable_lr")
    if opt.name not in GD_FAMILY or not given or lr is None or stable is None:
        return ()
    top = max(lr) if isinstance(lr, tuple) else lr
    if top <= stable:
        return ()
    return (
        f"{opt.name}: lr {_fmt_lr(lr)} is above 2/λmax = {stable:.4g} at the start; "
        "plain gradient descent is unstable there",
    )


@with_x64
def minimize(
    obj: Objective,
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
    import jax.numpy as jnp

    weights = per_weight_lr(obj, lr) if isinstance(lr, Mapping) else None
    opt = optimizer(method, lr=None if isinstance(lr, Mapping) else lr, **options)
    if weights is not None and (opt.custom is not None or opt.name not in GRADIENT_ONLY):
        raise InputError(
            f"One learning rate per parameter works with {listing(GRADIENT_ONLY)}; "
            f"{opt.name} sets its own steps: give one lr or none."
        )
    max_steps, given = _check_budget(max_steps, gtol)
    check_newton_size(opt, obj)
    head, stride = history_policy(obj.n, max_steps, head, max_records)
    theta0 = obj.vector(start)
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
    settings = _settings(obj, max_steps, gtol, bounds)
    init, segment = _compiled(obj, opt, many=False)
    carry = init(jnp.asarray(theta0), rate)
    rows: list[list[np.ndarray]] = []
    pace, now = _Pace(1, SEGMENT), 1
    with settled(lambda: carry):
        while True:
            k = int(carry["k"])
            if k >= head and now != stride:  # each row now takes `stride` steps: measure afresh
                pace, now = _Pace(1, SEGMENT), stride
            want = pace.limit if k >= head else min(pace.limit, head - k)
            compiling = _first_call(obj, ("run one", id(segment), obj.n))
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
    curv_start = curvature(obj, theta0) if obj.n <= 500 else None
    end_theta = params[-1]
    curv_end = (
        curvature(obj, end_theta) if obj.n <= 500 and np.all(np.isfinite(end_theta)) else None
    )
    best_value = float(carry["best_value"])
    stable = (curv_start or {}).get("stable_lr")
    return Run(
        names=obj.names,
        optimizer=opt.name,
        settings=_settings_text(opt, lr_used),
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
        message=_message(
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
        warnings=_stability_warnings(opt, lr_used, lr_reason.startswith("given"), curv_start),
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


# -- many starts at once -----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Batch(Result):
    """Where many starts ended (no histories).

    Attributes:
        names: parameter names.
        optimizer, settings, lr, lr_reason: as in :class:`Run` (``lr`` is ``None`` when each
            start had its own, given in ``lrs``).
        starts: shape ``(m, n)``.
        params: final parameters, shape ``(m, n)``.
        values: final values, shape ``(m,)``.
        grad_norms: final gradient norms, shape ``(m,)``.
        n_steps: steps each start took, shape ``(m,)``.
        status: stop reason code per start (index into :data:`STATUS`), shape ``(m,)``.
        hit: per start, the first step at which ``f <= target`` (-1: never; see
            :func:`minimize_many`).
        lrs: per start, its learning rate, when they were given per start.
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
    lrs: np.ndarray | None = None

    def counts(self) -> dict[str, int]:
        """How many starts stopped for each reason."""
        return {s: int(np.sum(self.status == i)) for i, s in enumerate(STATUS) if i != RUNNING}


def _batch_lr(opt: Optimizer, obj: Objective, starts: np.ndarray) -> tuple[float | None, str]:
    """One learning rate for every start: for gd, momentum and nesterov without one, ``1/|λ|max``
    over (up to 1,024 of) the starts, so the steepest place sampled sets a step that is stable
    everywhere sampled (above 50 variables: by power iteration at up to 64 of them)."""
    if opt.custom is not None or opt.lr is not None or opt.name == "lbfgs":
        return default_lr(opt, obj, starts[0])
    import jax
    import jax.numpy as jnp

    if obj.n > 50:  # n x n Hessians of many starts would not fit: Hessian-vector products
        sample = starts[:: max(1, len(starts) // 64)]
        lam = spectral_radius(obj, sample)
    else:
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


def result_bytes(rows: int, n: int) -> int:
    """Memory a many-start search holds per its results: starts, end points, values, gradient
    norms, steps, stop codes, and the merge of the end points (bytes)."""
    return int(rows) * 8 * (6 * int(n) + 8)


def check_memory(what: str, rows: int, n: int) -> None:
    """Refuse ``rows`` starts in ``n`` variables whose results pass :data:`MEMORY_LIMIT`."""
    need = result_bytes(rows, n)
    if need > MEMORY_LIMIT:
        raise InputError(
            f"{what} of {rows:,} starts in {n:,} variables would hold about "
            f"{need / 2**30:.3g} GiB of results; the cap is {MEMORY_LIMIT / 2**30:g} GiB "
            f"(gradscape.runs.MEMORY_LIMIT): use at most {MEMORY_LIMIT // result_bytes(1, n):,} "
            "starts."
        )


def check_time_limit(time_limit: Any) -> float:
    """The cap on projected seconds: :data:`TIME_LIMIT` when ``None``, else a number > 0."""
    if time_limit is None:
        return TIME_LIMIT
    try:
        t = float(time_limit)
    except (TypeError, ValueError):
        raise InputError(
            f"time_limit must be a number of seconds > 0; got {time_limit!r}."
        ) from None
    if not t > 0:
        raise InputError(f"time_limit must be a number of seconds > 0; got {time_limit!r}.")
    return t


def duration(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"3.4 h"``, ``"2.1 days"``."""
    if seconds < 90:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.2g} h"
    return f"{seconds / 86400:.3g} days"


def _chunk_rows(obj: Objective, opt: Optimizer, most: int | None) -> int:
    """Starts per compiled chunk: bounded by :data:`CHUNK`, by the chunk's working memory and by
    the work of one step over it (so one step over a chunk stays well under a second)."""
    n = obj.n
    row_bytes = 8 * (24 * n + 64)
    row_flops = 50.0 * n
    if opt.name in HESSIAN_METHODS:  # the Hessian, its eigenvectors, the line search's trials
        row_bytes += 8 * (4 * n * n + 40 * n)
        row_flops += 10.0 * n**3 + 40.0 * n * n
    size = min(CHUNK, _CHUNK_BYTES // row_bytes, int(_CHUNK_FLOPS // row_flops))
    return max(1, min(size, most) if most is not None else size)


def _per_start_rates(lr: Any, m: int) -> np.ndarray | None:
    """Learning rates given one per start (an array of shape ``(m,)``), checked; else ``None``."""
    if lr is None or np.ndim(lr) == 0:
        return None
    rates = np.asarray(lr, dtype=np.float64)
    if rates.shape != (m,):
        raise InputError(f"Per-start learning rates need shape ({m},); got {rates.shape}.")
    if not np.all(np.isfinite(rates) & (rates > 0)):
        raise InputError("Every per-start learning rate must be a finite number > 0.")
    return rates


class _Projection:
    """The wall time a many-start search will take, projected from its segments so far; raises
    when the projection passes the cap."""

    def __init__(self, m: int, limit: float, max_steps: int, fixed_steps: bool):
        self.m, self.limit, self.max_steps, self.fixed = m, limit, max_steps, fixed_steps
        self.start = time.perf_counter()
        self.chunk_steps: list[int] = []  # loop steps each finished chunk took

    def check(self, rows_left: int, rows: int, steps_now: int, per_step: float) -> None:
        """``rows_left`` starts not yet begun, chunks of ``rows``; the current chunk has taken
        ``steps_now`` steps at ``per_step`` seconds each."""
        done = self.chunk_steps
        typical = max(float(np.mean(done)) if done else 0.0, steps_now)
        if self.fixed:  # every start runs to the budget unless it diverges
            typical = self.max_steps
        now = max(0.0, typical - steps_now) * per_step
        later = -(-rows_left // max(1, rows)) * typical * per_step
        projected = time.perf_counter() - self.start + now + later
        if projected > self.limit:
            per_row = per_step / max(1, rows)
            raise InputError(
                f"This search of {self.m:,} starts would take about {duration(projected)} "
                f"({per_row * 1e6:.3g} µs per start and step, about {typical:,.0f} steps per "
                f"start, measured on its first segments); the cap is {duration(self.limit)} "
                "(time_limit, default gradscape.runs.TIME_LIMIT): use fewer starts or fewer "
                "steps per start."
            )


@dataclass(frozen=True)
class _Plan:
    """How a many-start search runs: its optimizer, per-start rates, compiled pieces, chunks."""

    opt: Optimizer
    per_start: bool
    rates: np.ndarray
    lr_used: float | None
    lr_reason: str
    settings: tuple[Any, ...]
    lean: bool
    init: Any
    segment: Any
    size: int
    unroll: int
    order: np.ndarray


def _plan(
    obj: Objective, starts: np.ndarray, method: Any, lr: Any, max_steps: int, gtol: float,
    bounds: Any, chunk: Any, target: float | None, precision: str, options: Mapping[str, float],
) -> _Plan:  # fmt: skip
    """Check the settings of a many-start search (shape, caps) and lay out its work."""
    if starts.ndim != 2 or starts.shape[1] != obj.n or starts.shape[0] < 1:
        raise InputError(
            f"starts must have shape (m, {obj.n}) for {obj.signature()}; got {starts.shape}."
        )
    m = starts.shape[0]
    rates = _per_start_rates(lr, m)
    per_start = rates is not None
    opt = optimizer(method, lr=None if per_start else lr, **options)
    check_newton_size(opt, obj)
    if not np.all(np.isfinite(starts)):
        raise InputError("Every start must be finite.")
    if precision not in ("float64", "float32"):
        raise InputError(f"precision must be float64 or float32; got {precision!r}.")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise InputError(f"chunk must be a whole number >= 1; got {chunk!r}.")
    check_memory("A search", m, obj.n)
    if rates is None:
        lr_used, lr_reason = _batch_lr(opt, obj, starts)
        rates = np.full(m, lr_used if lr_used is not None else 1.0)
    else:
        lr_used, lr_reason = None, "given per start"
    settings = _settings(obj, max_steps, gtol, bounds, -math.inf if target is None else target)
    lean = target is None and opt.custom is None and opt.name in GRADIENT_ONLY
    init, segment = _compiled(obj, opt, many=True, lean=lean)
    size = _chunk_rows(obj, opt, chunk)
    order = np.random.default_rng(0).permutation(m) if m > size else np.arange(m)
    return _Plan(opt, per_start, rates, lr_used, lr_reason, settings, lean, init, segment, size,
                 _UNROLL if lean else 1, order)  # fmt: skip


def _chunk(plan: _Plan, starts: np.ndarray, pos: int, size: int, precision: str) -> tuple[Any, ...]:
    """The next chunk from row ``pos`` of the shuffled order: ``(rows, idx, shape, carry)``, the
    rows left split into equal chunks of at most ``size``, padded to a multiple of 8 by
    repeating the last start (few compiled shapes, little padding)."""
    left = len(starts) - pos
    rows = -(-left // -(-left // size))
    idx = plan.order[pos : pos + rows]
    shape = -(-rows // 8) * 8
    block = np.concatenate([starts[idx], np.repeat(starts[idx[-1:]], shape - rows, 0)])
    lr_block = np.concatenate([plan.rates[idx], np.repeat(plan.rates[idx[-1:]], shape - rows)])
    carry = plan.init(block.astype(precision), lr_block)  # NumPy in: no eager device_put
    return rows, idx, shape, carry


def _end_points(obj: Objective) -> Any:
    """Compiled ``finish(carry)``: a chunk's end points in float64, ``f`` and ``∇f`` there (the
    steps may have run in float32, and a lean run never computes ``f``), step counts, stop codes
    and target hits, all on the device, so the host need not wait for them before the next
    chunk starts."""
    import jax
    import jax.numpy as jnp

    finish = obj.compiled.get("many-start end points")
    if finish is None:
        vg = jax.vmap(jax.value_and_grad(obj.fn))

        def end(carry: Any) -> tuple[Any, ...]:
            theta = carry["theta"].astype(jnp.float64)
            v, g = vg(theta)
            return theta, v, g, carry["k"], carry["status"], carry.get("hit")

        finish = obj.compiled["many-start end points"] = jax.jit(end)
    return finish


@with_x64
def seconds_per_step(
    obj: Objective,
    starts: Any,
    method: Any = "gd",
    *,
    lr: Any = None,
    max_steps: int = 1000,
    gtol: float | None = None,
    target: float | None = None,
    **options: float,
) -> float:
    """Measured seconds per start and step of :func:`minimize_many` with these settings: its
    first chunk is compiled (shared with the run that follows) and timed over a few steps.
    A price for work before it starts (:func:`gradscape.races.race` sums these)."""
    starts, max_steps, gtol = budget_for(obj, starts, max_steps, gtol)
    plan = _plan(obj, starts, method, lr, max_steps, gtol, None, None, target, "float64", options)
    rows, _, _, carry = _chunk(plan, starts, 0, plan.size, "float64")
    steps = np.int32(plan.unroll)
    carry, _ = plan.segment(carry, plan.settings, steps)  # compiles
    int(carry["k"][0])
    t0 = time.perf_counter()
    carry, taken = plan.segment(carry, plan.settings, np.int32(4 * plan.unroll))
    taken = max(1, int(taken))
    return (time.perf_counter() - t0) / (taken * int(rows))


@with_x64
def minimize_many(
    obj: Objective,
    starts: Any,
    method: Any = "gd",
    *,
    lr: Any = None,
    max_steps: int = 1000,
    gtol: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    chunk: int | None = None,
    target: float | None = None,
    precision: str = "float64",
    progress: Callable[[int, int], None] | None = None,
    time_limit: float | None = None,
    **options: float,
) -> Batch:
    """Minimise ``obj`` from every row of ``starts`` at once (``vmap``, in chunks), keeping
    where each one ended.

    Arguments are those of :func:`minimize` (``gtol`` by default :func:`default_gtol` over the
    starts); ``starts`` has shape ``(m, n)``; ``lr`` may also be
    an array of shape ``(m,)``, one learning rate per start. With ``target``, the first step at
    which each start's value reaches ``f <= target`` is kept (``Batch.hit``).
    ``precision="float32"`` runs the steps in single precision (about four times faster on a
    CPU; gradients carry about 7 digits, so ``gtol`` must be set accordingly); the returned
    values and gradients are evaluated in float64 at the end points.

    The starts run in chunks of at most ``chunk`` (default: set by the memory and work of one
    step), in a fixed shuffled order so that the first chunk is a fair sample, on one device.
    Spreading them over several XLA CPU devices does not pay (measured on two cores: Newton
    0.29 s on one device against 0.51 s on two; gradient descent 1.6 s against 1.9 to 2.3 s)
    and it deadlocks: a batched eigendecomposition (Newton's step) splits its batch over XLA's
    intra-op thread pool and waits for the parts, and with one device per core every pool
    thread ends up waiting so no part ever runs.

    Raises:
        InputError: bad settings; Newton beyond :data:`MAX_NEWTON_DIM` variables; results
            beyond :data:`MEMORY_LIMIT`; a projected time beyond ``time_limit`` seconds
            (default :data:`TIME_LIMIT`), checked from the first segments on.
    """
    import jax

    starts, max_steps, gtol = budget_for(obj, starts, max_steps, gtol)
    plan = _plan(obj, starts, method, lr, max_steps, gtol, bounds, chunk, target, precision,
                 options)  # fmt: skip
    m = len(starts)
    clock = _Projection(m, check_time_limit(time_limit), max_steps, gtol == 0)
    opt, segment_many, settings, size, unroll = (plan.opt, plan.segment, plan.settings,
                                                 plan.size, plan.unroll)  # fmt: skip
    per_start, lr_used, lr_reason = plan.per_start, plan.lr_used, plan.lr_reason
    finish = _end_points(obj)
    pending: list[tuple[np.ndarray, int, Any]] = []  # per chunk: rows, count, end points (device)
    pos, carry, pace, shape = 0, None, _Pace(unroll, 1 << 20), 0
    with settled(lambda: (carry, [p[2] for p in pending])):
        while pos < m:
            rows, idx, new_shape, carry = _chunk(plan, starts, pos, size, precision)
            if new_shape != shape:  # a new compiled shape: measure its pace afresh
                shape, pace = new_shape, _Pace(unroll, 1 << 20)
            steps_now = 0
            while True:
                compiling = _first_call(obj, ("run many", id(segment_many), shape, precision))
                t0 = time.perf_counter()
                carry, taken = segment_many(carry, settings, np.int32(pace.limit))
                # one transfer, not three eager ops (slice, compare, sum) on the device
                running = int(np.count_nonzero(np.asarray(carry["status"])[:rows] == RUNNING))
                seconds, taken = time.perf_counter() - t0, int(taken)
                steps_now += taken
                pace.record(seconds, taken, compiling)
                if pace.per_step is not None:
                    clock.check(m - pos - rows, rows, steps_now, pace.per_step)
                if progress is not None:
                    progress(pos + rows - running, m)
                if running == 0:
                    break
            clock.chunk_steps.append(steps_now)
            if pace.per_step is not None and pace.per_step * unroll > 2 * SEGMENT_SECONDS:
                size = max(1, int(rows * SEGMENT_SECONDS / (pace.per_step * unroll)))
            pending.append((idx, rows, finish(carry)))  # dispatched; read once all have run
            pos += rows
    theta_out, k_out = np.empty((m, obj.n)), np.empty(m, np.int64)
    status_out, hit_out = np.empty(m, np.int64), np.full(m, -1, np.int64)
    value_out, gn_out = np.empty(m), np.empty(m)
    for idx, rows, ends in pending:
        theta, v, g, k, status, hit = jax.device_get(ends)
        theta_out[idx], value_out[idx] = theta[:rows], v[:rows]
        with np.errstate(over="ignore", invalid="ignore"):  # diverged starts may overflow
            gn_out[idx] = safe_norm(g[:rows], axis=1)
        k_out[idx], status_out[idx] = k[:rows], status[:rows]
        if hit is not None:
            hit_out[idx] = hit[:rows]
    return Batch(
        names=obj.names,
        optimizer=opt.name,
        settings=f"{opt.name} (lr per start)" if per_start else _settings_text(opt, lr_used),
        lr=lr_used,
        lr_reason=lr_reason,
        starts=starts,
        params=theta_out,
        values=value_out,
        grad_norms=gn_out,
        n_steps=k_out,
        status=status_out,
        gtol=gtol,
        max_steps=max_steps,
        hit=hit_out if target is not None else None,
        lrs=plan.rates if per_start else None,
    )
