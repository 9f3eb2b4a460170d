"""The compiled step every descent shares: an optimizer and an objective become one loop.

A *segment* is a compiled loop over a carry (parameters, optimizer state, status, step count,
best point) that takes steps until every start has stopped or the segment's step limit is reached;
a run calls segments until it stops. The limit is an argument, set from the measured time per step
so that each segment lasts about :data:`SEGMENT_SECONDS`: Ctrl-C (``KeyboardInterrupt``) and
progress reports come between segments, within a second or so, however large the work. Many starts
are the same segment under ``jax.vmap`` (:mod:`gradscape.batches`); one start records its path
(:mod:`gradscape.runs`). Settings (learning rate, tolerance, bounds, step budget) are arguments, so
one compilation per objective and optimizer serves them all.

One stop vocabulary for every descent: a start stops when the gradient norm reaches ``gtol``
(converged), the step budget is spent (max_steps), a value, gradient or parameter stops being
finite or the parameters run past 1e150 (diverged), or the parameters leave the bounds
(left_bounds); a single run also stops when its value grew a millionfold while finite (grew).
Tolerances are relative: the default ``gtol`` is :data:`GTOL` times the typical gradient at the
starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._x64 import with_x64
from .errors import InputError, whole_number
from .objectives import Objective, check_range
from .optimizers import Optimizer

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
UNROLL = 32  # steps per loop turn of a lean many-start segment
HUGE = 1e150  # parameters beyond this count as diverged


GTOL = 1e-8


def safe_norm(v: np.ndarray, axis: int | None = None) -> np.ndarray:
    """The Euclidean norm without underflow or overflow: ``max|v| · ‖v / max|v|‖``."""
    v = np.asarray(v, dtype=np.float64)
    top = np.max(np.abs(v), axis=axis, keepdims=True)
    scale = np.where(top > 0, top, 1.0)
    out = np.squeeze(top, axis=axis) * np.linalg.norm(v / scale, axis=axis)
    return np.asarray(out)


#: Optimizers whose update needs only the gradient (not the value or the function).
GRADIENT_ONLY = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def keeper(go: Any) -> Any:
    """``keep(new, old)``: the new pytree where ``go``, else the old one."""

    def keep(new: Any, old: Any) -> Any:
        return jax.tree_util.tree_map(lambda a, b: jnp.where(go, a, b), new, old)

    return keep


def scaled_norm(v: Any) -> Any:
    """``‖v‖`` as ``max|v| · ‖v / max|v|‖``: no underflow or overflow of the squares."""

    top = jnp.max(jnp.abs(v))
    return top * jnp.linalg.norm(v / jnp.where(top > 0, top, 1.0))


def same_types(new: Any, like: Any) -> Any:
    """``new`` with every leaf cast to the dtype of the matching leaf of ``like``."""

    return jax.tree_util.tree_map(lambda a, b: a.astype(b.dtype), new, like)


def step_parts(
    obj: Objective, opt: Optimizer, lean: bool = False, grow: bool = True
) -> tuple[Any, Any, Any, Any, Any]:
    """``(init, step, light, free, plain)`` for this objective and optimizer: pure functions of
    one start.

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

    tx = opt.transformation()
    fn = obj.fn
    value_and_grad: Any = jax.value_and_grad(fn)
    grad: Any = jax.grad(fn)

    def huge_of(theta: Any) -> float:
        return HUGE if theta.dtype == jnp.float64 else 1e30

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
        gn = scaled_norm(g)  # |∇f| of 1e-200·f is 1e-199: its squares would underflow to 0
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
        updates, new_state = same_types(
            tx.update(g, state, theta, value=None, grad=g, value_fn=fn), (theta, state)
        )
        keep = keeper(go)
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
        updates, new_state = same_types(
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
        keep = keeper(take)
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
        size = jnp.where(take, scaled_norm(updates), jnp.zeros((), theta.dtype))
        return out, (k, theta, v, g, gn, size)

    def plain(carry: Any, settings: Any) -> Any:
        """A step that may be taken without a row: it changes only the point, the optimizer's
        state, the value, the gradient and the step count, and only while every step so far was
        plain (``carry["plain"]``): no stop rule holds (the budget, ``gtol``, the bounds, the
        target), the new point is finite and in range, and the value fell (strictly) and stayed
        below the growth limit. Then the lowest point of these steps is the last, and a stretch
        of plain steps equals the same full steps (:func:`step`); the first step that is not
        plain is not taken, and the caller replays the stretch with full steps."""
        max_steps, gtol, lo, hi, target = settings
        theta, state, v, g, k = (carry[key] for key in ("theta", "state", "value", "grad", "k"))
        updates, new_state = same_types(
            tx.update(g, state, theta, value=v, grad=g, value_fn=fn), (theta, state)
        )
        new_theta = theta + updates
        new_v, new_g = value_and_grad(new_theta)
        ok = (
            carry["plain"] & (k < max_steps) & (scaled_norm(g) > gtol) & (v > target)
            & jnp.all(theta >= lo) & jnp.all(theta <= hi)
            & jnp.isfinite(new_v) & jnp.all(jnp.isfinite(new_g))
            & jnp.all(jnp.abs(new_theta) < huge_of(theta))
            & (new_v < v) & (new_v <= carry["limit"])
        )  # fmt: skip
        keep = keeper(ok)
        return {**carry, "theta": keep(new_theta, theta), "state": keep(new_state, state),
                "value": jnp.where(ok, new_v, v), "grad": keep(new_g, g),
                "k": k + ok.astype(jnp.int32), "plain": ok}  # fmt: skip

    def free(carry: Any) -> Any:
        """An update with no checks and no mask, for a turn of a lean run that fits its budget
        (the caller restores the starts that had stopped)."""
        theta, state = carry["theta"], carry["state"]
        g = grad(theta)
        updates, new_state = same_types(
            tx.update(g, state, theta, value=None, grad=g, value_fn=fn), (theta, state)
        )
        return {**carry, "theta": theta + updates, "state": new_state}

    def light(carry: Any, settings: Any) -> Any:
        """An update without the stop checks: for the turns between checks of a lean run."""
        max_steps = settings[0]
        theta, state, k = carry["theta"], carry["state"], carry["k"]
        go = (carry["status"] == RUNNING) & (k < max_steps)
        g = grad(theta)
        updates, new_state = same_types(
            tx.update(g, state, theta, value=None, grad=g, value_fn=fn), (theta, state)
        )
        keep = keeper(go)
        return {**carry, "theta": keep(theta + updates, theta), "state": keep(new_state, state),
                "k": k + go.astype(jnp.int32)}  # fmt: skip

    return init, step, light, free, plain


def segment_rows(n: int) -> int:
    """Rows of one compiled segment of one start: :data:`SEGMENT`, fewer where ``n`` is large
    (the segment's buffer stays under 32 MiB)."""
    return int(min(SEGMENT, max(16, 32 * 1024**2 // (8 * (2 * n + 4)))))


@dataclass(frozen=True)
class Segments:
    """The compiled segments of one start: ``each`` records every step, ``strided`` one row
    every ``stride`` steps. Each compiles on its first call, so a run that stays within its
    head never compiles ``strided``."""

    each: Any
    strided: Any

    def __call__(self, carry: Any, settings: Any, rows: Any, stride: Any) -> Any:
        return (self.each if int(stride) == 1 else self.strided)(carry, settings, rows, stride)


def compiled_loop(
    obj: Objective, opt: Optimizer, many: bool, lean: bool = False
) -> tuple[Any, Any]:
    """Compiled ``(init, segment)``, cached on the objective.

    One start: ``segment(carry, settings, rows, stride)`` records up to ``rows`` rows (at most
    :func:`segment_rows`), taking ``stride`` steps after each, until the run stops; it returns
    ``(carry, rows buffer, rows recorded)``. The carry keeps a ring of the last :data:`TAIL`
    rows, recorded one by one whatever the stride. Many starts: ``segment(carry, settings,
    limit)`` takes steps until every start has stopped or ``limit`` steps have passed, and
    returns ``(carry, steps taken)``: the step mapped over the starts (``vmap``); lean segments
    check the stop rules every :data:`UNROLL` steps. ``rows``, ``stride`` and ``limit`` are
    traced, so one compilation serves every segment.
    """

    key = ("run", opt.name, tuple(sorted(opt.options.items())), id(opt.custom), many, lean)
    if key in obj.compiled:
        return obj.compiled[key]  # type: ignore[no-any-return]
    first, step, light, free, plain = step_parts(obj, opt, lean, grow=not many)

    def init(theta0: Any, lr: Any) -> Any:
        # no weakly typed leaves (optax's states have some): the carry a segment returns must
        # have the types of the one it took, or every segment after the first compiles again
        strong = lambda x: jax.lax.convert_element_type(x, x.dtype)  # noqa: E731
        carry = first(theta0, lr)
        if not many:  # the ring of the last rows: step -1 marks an empty slot
            shapes = jax.eval_shape(lambda c: step(c, shape_settings(obj.n))[1], carry)
            carry["ring"] = jax.tree_util.tree_map(
                lambda s: jnp.full((TAIL, *s.shape), -1 if s.dtype == jnp.int32 else 0, s.dtype),
                shapes,
            )
        return jax.tree_util.tree_map(strong, carry)

    if not many:
        size = segment_rows(obj.n)

        def ringed(c: Any, settings: Any) -> tuple[Any, Any]:
            ring = c.pop("ring")
            c, row = step(c, settings)
            slot = row[0] % TAIL
            c["ring"] = jax.tree_util.tree_map(lambda b, r: b.at[slot].set(r), ring, row)
            return c, row

        def unrecorded(c: Any, settings: Any, stride: Any) -> Any:
            """The ``stride - 1`` steps after a row. All but the last :data:`TAIL` may run as
            plain steps (the same arithmetic at a tenth of the work: no row, no ring, no best
            point), kept if every one was plain, else dropped and taken again as full steps."""
            lead = jnp.maximum(stride - 1 - TAIL, 0)
            fast = jax.lax.fori_loop(0, lead, lambda _, q: plain(q, settings),
                                     {**c, "plain": jnp.bool_(True)})  # fmt: skip
            kept = fast.pop("plain")
            better = fast["value"] < c["best_value"]  # the values fell: the last is lowest
            fast["best_theta"] = jnp.where(better, fast["theta"], c["best_theta"])
            fast["best_value"] = jnp.where(better, fast["value"], c["best_value"])
            fast["best_k"] = jnp.where(better, fast["k"], c["best_k"])
            c = jax.tree_util.tree_map(lambda a, b: jnp.where(kept, a, b), fast, c)

            def more(s: Any) -> Any:
                return (s[0] > 0) & (s[1]["status"] == RUNNING)

            def full(s: Any) -> Any:
                return s[0] - 1, ringed(dict(s[1]), settings)[0]

            left = jnp.where(kept, stride - 1 - lead, stride - 1)
            return jax.lax.while_loop(more, full, (left, c))[1]

        def recording(between: Callable[[Any, Any, Any], Any] | None) -> Callable[..., Any]:
            """A segment: up to ``rows`` rows, each a full step, with ``between(carry, settings,
            stride)`` after each (``None``: a row for every step, the head of every run, and a
            loop of one step to compile)."""

            def segment(carry: Any, settings: Any, rows: Any, stride: Any) -> Any:
                shapes = jax.eval_shape(lambda c: ringed(dict(c), settings)[1], carry)
                buf = jax.tree_util.tree_map(lambda s: jnp.zeros((size, *s.shape), s.dtype), shapes)

                def more(state: Any) -> Any:
                    return (state[0] < jnp.minimum(rows, size)) & (state[1]["status"] == RUNNING)

                def body(state: Any) -> Any:
                    i, c, buf = state
                    c, row = ringed(dict(c), settings)
                    buf = jax.tree_util.tree_map(lambda b, r: b.at[i].set(r), buf, row)
                    return i + 1, c if between is None else between(c, settings, stride), buf

                i, carry, buf = jax.lax.while_loop(more, body, (jnp.int32(0), carry, buf))
                return carry, buf, i

            return segment

        each, strided = jax.jit(recording(None)), jax.jit(recording(unrecorded))
        compiled: tuple[Any, Any] = (jax.jit(init), Segments(each, strided))
    else:

        def segment_many(carry: Any, settings: Any, limit: Any) -> Any:
            step_all = jax.vmap(lambda c: step(c, settings)[0])
            light_all = jax.vmap(lambda c: light(c, settings))
            free_all = jax.vmap(free)

            def masked_turn(c: Any) -> Any:
                return jax.lax.fori_loop(0, UNROLL - 1, lambda _, c: light_all(c), c)  # type: ignore[no-untyped-call]

            def turn_all(c: Any, running: Any) -> Any:
                moved = jax.lax.fori_loop(0, UNROLL - 1, lambda _, c: free_all(c), c)
                moved["k"] = c["k"] + (UNROLL - 1) * running.astype(jnp.int32)

                def pick(new: Any, old: Any) -> Any:
                    return jnp.where(
                        running.reshape(running.shape + (1,) * (new.ndim - 1)), new, old
                    )

                return jax.tree_util.tree_map(pick, moved, c)

            def more(state: Any) -> Any:
                return (state[0] < limit) & jnp.any(state[1]["status"] == RUNNING)

            def body(state: Any) -> Any:
                c = state[1]
                if lean:  # stop rules checked every UNROLL steps: a start may take up to
                    # UNROLL - 1 steps past its stop. Running starts have all taken the same
                    # steps, so whether the turn fits the budget is one question for them all:
                    # when it does, the turn's steps run unmasked (a rolled loop: XLA runs it
                    # faster than the same steps unrolled) and stopped starts are restored once
                    running = c["status"] == RUNNING
                    fits = jnp.max(jnp.where(running, c["k"], 0)) + UNROLL - 1 <= settings[0]
                    c = jax.lax.cond(fits, lambda c: turn_all(c, running), masked_turn, c)
                    return state[0] + UNROLL, step_all(c)  # type: ignore[no-untyped-call]
                return state[0] + 1, step_all(c)  # type: ignore[no-untyped-call]

            i, carry = jax.lax.while_loop(more, body, (jnp.int32(0), carry))
            return carry, i

        compiled = (jax.jit(jax.vmap(init, in_axes=(0, 0))), jax.jit(segment_many))
    obj.compiled[key] = compiled
    return compiled


def shape_settings(n: int) -> tuple[Any, ...]:
    """Settings of the right shapes, to trace a step's row shapes."""

    return (jnp.int32(1), jnp.float64(0), jnp.zeros(n), jnp.zeros(n), jnp.float64(0))


class Pace:
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


def first_call(obj: Objective, key: Any) -> bool:
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
        # a second Ctrl-C or a failed computation: just go
        with suppress(BaseException):
            jax.block_until_ready(pending())  # type: ignore[no-untyped-call]
        raise


def loop_settings(
    obj: Objective, max_steps: int, gtol: float, bounds: Any, target: float = -math.inf
) -> tuple[Any, ...]:

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


def settings_text(opt: Optimizer, lr_used: float | tuple[float, ...] | None) -> str:
    """``"adam (lr 0.01, b1 0.9, ...)"``, with the learning rate the run chose where it chose one."""
    if opt.lr is not None or lr_used is None:
        return opt.describe()
    return f"{opt.name} (lr {format_lr(lr_used)})"


@with_x64
def batch_value_and_grad(obj: Objective, points: Any) -> tuple[np.ndarray, np.ndarray]:
    """``f`` and ``∇f`` at every row of ``points`` (one compilation per objective)."""

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


def check_budget(max_steps: Any, gtol: Any) -> tuple[int, float | None]:
    """The step budget (a count below 2^31: steps are counted in int32) and ``gtol`` (a number
    >= 0, or ``None`` for the default)."""
    max_steps = whole_number(max_steps, "The step budget", 1, 2**31 - 1, "2^31 - 1")
    if gtol is None:
        return max_steps, None
    try:
        g = float(gtol)
    except (TypeError, ValueError):
        raise InputError(f"gtol must be a number >= 0; got {gtol!r}.") from None
    if not (math.isfinite(g) and g >= 0):
        raise InputError(f"gtol must be a number >= 0; got {gtol!r}.")
    return max_steps, g


def budget_for(
    obj: Objective, starts: Any, max_steps: Any, gtol: Any
) -> tuple[np.ndarray, int, float]:
    """The starts as float64, the checked step budget and the gradient tolerance (given, or
    :func:`default_gtol` over the starts)."""
    max_steps, given = check_budget(max_steps, gtol)
    starts = np.asarray(starts, dtype=np.float64)
    return starts, max_steps, default_gtol(obj, starts) if given is None else given


def format_lr(lr: float | tuple[float, ...]) -> str:
    """``"0.01"``, or ``"[0.001, 0.01]"`` for one rate per parameter."""
    if isinstance(lr, tuple):
        return (
            f"{lr[0]:.4g}" if len(set(lr)) == 1 else "[" + ", ".join(f"{v:.4g}" for v in lr) + "]"
        )
    return f"{lr:.4g}"


def stop_message(
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
    rate = f" (lr {format_lr(lr)})" if lr is not None else ""
    if reason == "grew":
        return (
            f"grew at step {k}{rate}: the value reached {value:.3g}, a millionfold above its "
            f"start, so the run was stopped there; {hint}"
        )
    return (
        f"diverged at step {k + 1}{rate}: that step led where the value or the gradient is not "
        f"finite, so it was not taken; {hint}"
    )
