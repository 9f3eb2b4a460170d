"""Many descents at once: :func:`minimize_many` → :class:`Batch`.

The compiled segment of :mod:`gradscape.engine` under ``jax.vmap``, in chunks of bounded memory
and time, all on one device (see :func:`minimize_many` for why not spread over several). Work is
priced before it runs: a search is capped at :data:`MEMORY_LIMIT` bytes of results and at
:data:`TIME_LIMIT` seconds of projected time (measured on its first segments, refused at once when
the projection passes the cap); Newton's method at
:data:`~gradscape.curvature.MAX_NEWTON_DIM` variables.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._x64 import with_x64
from .curvature import (
    HESSIAN_METHODS,
    check_newton_size,
    default_lr,
    spectral_radius,
)
from .engine import (
    GRADIENT_ONLY,
    RUNNING,
    SEGMENT_SECONDS,
    STATUS,
    UNROLL,
    Pace,
    budget_for,
    compiled_loop,
    first_call,
    loop_settings,
    safe_norm,
    settings_text,
    settled,
)
from .errors import InputError, whole_number
from .executors import ChunkStore, Work, check_executor, fingerprint, named, prepared, run
from .objectives import Objective
from .optimizers import Optimizer, optimizer
from .results import Result
from .sources import objective

#: Cap on the results a many-start search holds in memory (bytes).
MEMORY_LIMIT = 2 * 1024**3
#: Default cap on the projected wall time of a many-start search (seconds).
TIME_LIMIT = 300.0
CHUNK = 4096  # most starts per compiled chunk
_CHUNK_BYTES = 256 * 1024**2  # working memory of one chunk
_CHUNK_FLOPS = 2e8  # work of one step over one chunk (about SEGMENT_SECONDS on a slow core)


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
        per_row = per_step / max(1, rows)
        self.refuse(projected, f"{per_row * 1e6:.3g} µs per start and step, about "
                    f"{typical:,.0f} steps per start, measured on its first segments")  # fmt: skip

    def refuse(self, projected: float, how: str) -> None:
        """Raise when ``projected`` seconds (measured ``how``) pass the cap."""
        if projected > self.limit:
            raise InputError(
                f"This search of {self.m:,} starts would take about {duration(projected)} "
                f"({how}); the cap is {duration(self.limit)} (time_limit, default "
                "gradscape.batches.TIME_LIMIT): use fewer starts or fewer steps per start."
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
    if chunk is not None:
        whole_number(chunk, "chunk")
    check_memory("A search", m, obj.n)
    if rates is None:
        lr_used, lr_reason = _batch_lr(opt, obj, starts)
        rates = np.full(m, lr_used if lr_used is not None else 1.0)
    else:
        lr_used, lr_reason = None, "given per start"
    settings = loop_settings(obj, max_steps, gtol, bounds, -math.inf if target is None else target)
    lean = target is None and opt.custom is None and opt.name in GRADIENT_ONLY
    init, segment = compiled_loop(obj, opt, many=True, lean=lean)
    size = _chunk_rows(obj, opt, chunk)
    order = np.random.default_rng(0).permutation(m) if m > size else np.arange(m)
    return _Plan(opt, per_start, rates, lr_used, lr_reason, settings, lean, init, segment, size,
                 UNROLL if lean else 1, order)  # fmt: skip


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
    obj: Objective | str | Callable[..., Any], starts: Any, method: Any = "gd", **settings: Any
) -> float:
    """Measured seconds per start and step of :func:`minimize_many` with these settings (``lr``,
    ``max_steps``, ``gtol``, ``target`` and the optimizer's options, as there): its first chunk is
    compiled (shared with the run that follows) and timed over a few steps. A price for work
    before it starts (:func:`gradscape.races.race` sums these)."""
    obj = objective(obj)
    starts, max_steps, gtol = budget_for(
        obj, starts, settings.pop("max_steps", 1000), settings.pop("gtol", None)
    )
    lr, target = settings.pop("lr", None), settings.pop("target", None)
    plan = _plan(obj, starts, method, lr, max_steps, gtol, None, None, target, "float64", settings)
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
    obj: Objective | str | Callable[..., Any],
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
    executor: Any = None,
    store: ChunkStore | None = None,
    rebuild: tuple[str, tuple[Any, ...]] | None = None,
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

    With ``executor`` (a ``distributed.Client``) or ``store`` (a
    :class:`~gradscape.executors.ChunkStore`), the starts run as tasks of one chunk each (see
    :func:`_many_work`): on the cluster, or here with each finished chunk kept in the store (a
    resumed run computes only the chunks missing there). Each start ends where it ends in this
    process. The time cap is projected from the finished chunks in this process, and on a
    cluster only when ``time_limit`` is given (the work was asked of a cluster).
    ``rebuild = ("module:function", args)`` is how a worker makes ``starts`` itself (a seeded
    grid or draw) instead of receiving them.

    Raises:
        InputError: bad settings; Newton beyond :data:`MAX_NEWTON_DIM` variables; results
            beyond :data:`MEMORY_LIMIT`; a projected time beyond ``time_limit`` seconds
            (default :data:`TIME_LIMIT`), checked from the first segments on.
    """
    obj = objective(obj)

    check_executor(executor)
    starts, max_steps, gtol = budget_for(obj, starts, max_steps, gtol)
    plan = _plan(obj, starts, method, lr, max_steps, gtol, bounds, chunk, target, precision,
                 options)  # fmt: skip
    m = len(starts)
    if executor is not None or store is not None:
        work = _many_work(obj, starts, plan, method, max_steps, gtol, bounds, target, precision,
                          options, rebuild)  # fmt: skip
        per = work.spec["per_task"]
        # in this process the time cap holds as ever, projected from the chunks that finished
        # after the first (which compiled); a cluster is capped only when asked
        limit = check_time_limit(time_limit) if executor is None or time_limit else math.inf
        clock = _Projection(m, limit, max_steps, gtol == 0)
        stamps: list[float] = []  # at the start, then as each chunk finishes

        def tasks_done(k: int, count: int) -> None:
            stamps.append(time.perf_counter())
            if len(stamps) > 2:  # two chunks computed: the first one also compiled
                rate = (stamps[-1] - stamps[1]) / (len(stamps) - 2)
                clock.refuse(stamps[-1] - stamps[0] + rate * (count - k),
                             f"measured on its first {len(stamps) - 1} chunks")  # fmt: skip
            if progress is not None:
                progress(min(m, k * per), m)

        ends = run(work, executor=executor, store=store, progress=tasks_done)
        return _batch(obj, plan, starts, max_steps, gtol, target,
                      [(plan.order[i * per : (i + 1) * per], e) for i, e in enumerate(ends)])  # fmt: skip
    clock = _Projection(m, check_time_limit(time_limit), max_steps, gtol == 0)
    segment_many, settings, size, unroll = plan.segment, plan.settings, plan.size, plan.unroll
    finish = _end_points(obj)
    pending: list[tuple[np.ndarray, int, Any]] = []  # per chunk: rows, count, end points (device)
    pos, carry, pace, shape = 0, None, Pace(unroll, 1 << 20), 0
    with settled(lambda: (carry, [p[2] for p in pending])):
        while pos < m:
            rows, idx, new_shape, carry = _chunk(plan, starts, pos, size, precision)
            if new_shape != shape:  # a new compiled shape: measure its pace afresh
                shape, pace = new_shape, Pace(unroll, 1 << 20)
            steps_now = 0
            while True:
                compiling = first_call(obj, ("run many", id(segment_many), shape, precision))
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
    parts = []
    for idx, rows, ends in pending:
        theta, v, g, k, status, hit = jax.device_get(ends)
        with np.errstate(over="ignore", invalid="ignore"):  # diverged starts may overflow
            gn = safe_norm(g[:rows], axis=1)
        parts.append((idx, {"params": theta[:rows], "values": v[:rows], "grad_norms": gn,
                            "n_steps": k[:rows], "status": status[:rows],
                            "hit": np.full(rows, -1) if hit is None else hit[:rows]}))  # fmt: skip
    return _batch(obj, plan, starts, max_steps, gtol, target, parts)


def _batch(
    obj: Objective, plan: _Plan, starts: np.ndarray, max_steps: int, gtol: float,
    target: float | None, parts: list[tuple[np.ndarray, dict[str, np.ndarray]]],
) -> Batch:  # fmt: skip
    """The :class:`Batch` from the end points of every chunk (``(rows of starts, ends)``)."""
    m = len(starts)
    out = {"params": np.empty((m, obj.n)), "values": np.empty(m), "grad_norms": np.empty(m),
           "n_steps": np.empty(m, np.int64), "status": np.empty(m, np.int64),
           "hit": np.full(m, -1, np.int64)}  # fmt: skip
    for idx, ends in parts:
        for k, a in out.items():
            a[idx] = ends[k]
    opt = plan.opt
    return Batch(
        names=obj.names,
        optimizer=opt.name,
        settings=f"{opt.name} (lr per start)"
        if plan.per_start
        else settings_text(opt, plan.lr_used),
        lr=plan.lr_used,
        lr_reason=plan.lr_reason,
        starts=starts,
        params=out["params"],
        values=out["values"],
        grad_norms=out["grad_norms"],
        n_steps=out["n_steps"],
        status=out["status"],
        gtol=gtol,
        max_steps=max_steps,
        hit=out["hit"] if target is not None else None,
        lrs=plan.rates if plan.per_start else None,
    )


def _many_chunk(spec: dict[str, Any], index: int) -> dict[str, np.ndarray]:
    """Task ``index`` of a many-start search (see :func:`_many_work`): where its starts end."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        starts = spec["starts"]
        if isinstance(starts, tuple):  # ("module:function", args): made here, not sent
            made = named(starts[0])(*starts[1])
            starts = np.asarray(made[0] if isinstance(made, tuple) else made, np.float64)
        m, size = len(starts), spec["size"]
        order = np.random.default_rng(0).permutation(m) if m > size else np.arange(m)
        return starts[order], spec["rates"][order] if spec["rates"].size > 1 else spec["rates"]

    starts, rates = prepared(spec["work"], build)
    per = spec["per_task"]
    rows = slice(index * per, (index + 1) * per)
    lr = rates[rows] if rates.size > 1 else np.full(len(starts[rows]), rates[0])
    b = minimize_many(spec["objective"], starts[rows], spec["method"], lr=lr,
                      max_steps=spec["max_steps"], gtol=spec["gtol"], bounds=spec["bounds"],
                      chunk=spec["size"], target=spec["target"], precision=spec["precision"],
                      time_limit=math.inf, **spec["options"])  # fmt: skip
    return {"params": b.params, "values": b.values, "grad_norms": b.grad_norms,
            "n_steps": b.n_steps, "status": b.status,
            "hit": b.hit if b.hit is not None else np.full(len(b.values), -1)}  # fmt: skip


def _many_work(
    obj: Objective, starts: np.ndarray, plan: _Plan, method: Any, max_steps: int, gtol: float,
    bounds: Any, target: float | None, precision: str, options: Mapping[str, float],
    rebuild: tuple[str, tuple[Any, ...]] | None,
) -> Work:  # fmt: skip
    """A many-start search as chunked work: the starts in the search's shuffled order, one
    compiled chunk's worth per task (the chunk is sized for well under a second per step)."""
    if plan.opt.custom is not None:
        raise InputError(
            "A custom optimizer cannot run on a cluster or be resumed (its code has no name to "
            "send or to check); use an optimizer of the family by name."
        )
    source = obj.source()
    if source is None:
        raise InputError(
            f"{obj.signature()} was made from Python code, which cannot be sent to a cluster or "
            "checked on resume; give the function as text or a built-in name."
        )
    rates = plan.rates if plan.per_start or len(set(plan.rates.tolist())) > 1 else plan.rates[:1]
    name = getattr(method, "name", method)
    made = fingerprint("many starts", source, name, sorted(options.items()), precision, max_steps,
                       gtol, sorted((bounds or {}).items()), target, starts, rates,
                       plan.size)  # fmt: skip
    spec = {"objective": obj, "starts": rebuild or starts, "rates": rates, "method": name,
            "max_steps": max_steps, "gtol": gtol, "bounds": bounds, "target": target,
            "precision": precision, "options": dict(options), "size": plan.size,
            "per_task": plan.size, "work": made}  # fmt: skip
    return Work("starts", f"{__name__}:_many_chunk", spec, -(-len(starts) // plan.size), made)
