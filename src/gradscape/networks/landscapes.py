"""Loss landscapes around trained weights: the loss along one or two directions in weight space.

Directions:

* ``random``: seeded Gaussian directions, filter-normalised (Li et al., 2018): each filter (the
  incoming weights of one unit, a column of a weight matrix) is scaled to the norm of the same
  filter of the trained weights, and biases are left out, so the plot does not depend on the
  scale of the weights;
* ``hessian``: the top eigenvectors of the Hessian (Lanczos), scaled to the norm of the weights;
* ``pca``: the plane of the training trajectory, the top principal components of the saved
  weights around the trained ones, with the trajectory projected onto it and the share of its
  variance the plane explains;
* ``between``: the straight line from this run's weights (t = 0) to another run's (t = 1).

The grid is evaluated in chunks of about 16 MB of activations (bounded memory for any grid),
spread over the CPU devices, by a function compiled once per model and data size (weights,
directions and data are its arguments). For the built-in dense models, the first layer's
pre-activations are linear in the two coordinates, ``X(W + αD + βE) = XW + α·XD + β·XE``, so the
three products are computed once per direction and each grid point starts from them instead of
multiplying the data again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..errors import InputError, printable, whole_number
from ..executors import ChunkStore, Work, check_executor, fingerprint, prepared, run, task_size
from ..objectives import Objective
from ..results import Result, finite, increasing, need, shaped, within
from .datasets import check_seed
from .models import Model, _activation, loss_fn
from .spectra import HVP, _ritz, lanczos, objective_hvp

KINDS = ("random", "hessian", "pca")
#: Largest ``span``: a thousand times the weights' own scale is far past any basin.
MAX_SPAN = 1e3


@dataclass(frozen=True, eq=False)
class Landscape(Result):
    """The loss on a line or a plane through the trained weights.

    Attributes:
        kind: ``random``, ``hessian``, ``pca`` or ``between``.
        alphas, betas: the grid coordinates (``betas`` empty for 1-D).
        values: the loss, shape ``(len(alphas),)`` or ``(len(betas), len(alphas))``.
        directions: shape ``(dims, n)``, saved so the plot is reproducible.
        center: the weights at coordinate 0; ``center_loss``: the loss there.
        end_loss: for ``between``, the loss at the other run's weights (t = 1).
        path: for ``pca``, the trajectory in plane coordinates, shape ``(k, 2)``;
            ``explained``: the share of its variance each direction explains.
        rows: training rows the loss was evaluated on; ``seed``.
        warnings: what a reader must know (grid points where the loss overflowed).
        weights_of, rows_of: the weights and the data it is of, in the words the CLI prints
            (``"the best weights of RUN_DIR"``, ``"training rows"``; empty when not said).

    ``values`` is NaN or infinite where the loss overflowed (:func:`overflow_warning`); every
    other array is finite.
    """

    kind: str
    alphas: np.ndarray
    betas: np.ndarray
    values: np.ndarray
    directions: np.ndarray
    center: np.ndarray
    center_loss: float
    end_loss: float
    path: np.ndarray
    explained: np.ndarray
    rows: int
    seed: int
    label: str
    warnings: tuple[str, ...] = ()
    weights_of: str = ""
    rows_of: str = ""

    def check(self) -> None:
        """Its fields agree (see :meth:`gradscape.results.Result.check`)."""
        need(self.kind in (*KINDS, "between"),
             f"kind is {printable(self.kind, 40)!r}, not one of {', '.join((*KINDS, 'between'))}")  # fmt: skip
        shaped("alphas", self.alphas, None)
        need(self.alphas.size >= 2, f"alphas has {self.alphas.size} points; a grid has at least 3")
        increasing("alphas", self.alphas)
        shaped("betas", self.betas, None)
        line = self.betas.size == 0
        if not line:
            increasing("betas", self.betas)
            shaped("values", self.values, self.betas.size, self.alphas.size)
        else:
            shaped("values", self.values, self.alphas.size)
        need(not (self.kind == "between" and not line), "kind is 'between' but it is a plane")
        shaped("center", self.center, None)
        finite("center", self.center)
        shaped("directions", self.directions, 1 if line else 2, self.center.size)
        finite("directions", self.directions)
        if self.path.size:
            shaped("path", self.path, None, 1 if line else 2)
            finite("path", self.path)
        if self.explained.size:
            shaped("explained", self.explained, 1 if line else 2)
            within("explained", self.explained, 0, 1)
            need(float(np.sum(self.explained)) <= 1 + 1e-6, "explained sums to more than 1")
        need(self.kind != "pca" or self.explained.size == (1 if line else 2),
             "kind is 'pca' but explained does not hold a share per direction")  # fmt: skip
        need(self.rows >= 1, f"rows is {self.rows}; a loss is evaluated on at least 1 row")

    @property
    def shape(self) -> str:
        """``"line"`` (one direction) or ``"plane"`` (two)."""
        return "line" if self.betas.size == 0 else "plane"

    def description(self) -> str:
        """What the grid lies on, in words that fit its directions and its dimension."""
        if self.kind == "between":
            return "the straight line from this run's weights (t = 0) to the other run's (t = 1)"
        line = self.shape == "line"
        return {
            "random": "a random line (one filter-normalised direction)"
            if line
            else "a random plane (two filter-normalised directions)",
            "hessian": "the line along the Hessian's top eigenvector"
            if line
            else "the plane of the Hessian's top two eigenvectors",
            "pca": "the line along the training trajectory's first principal component"
            if line
            else "the plane of the training trajectory's first two principal components",
        }[self.kind]

    def explained_text(self) -> str:
        """The share of the trajectory's variance the PCA line or plane holds ("" otherwise)."""
        if not self.explained.size:
            return ""
        shares = [f"{v:.4g}%" for v in 100 * np.asarray(self.explained)]
        total = f" = {100 * float(np.sum(self.explained)):.4g}%" if len(shares) > 1 else ""
        return f"the {self.shape} explains {' + '.join(shares)}{total} of the trajectory's variance"

    def summary(self) -> dict[str, Any]:
        finite = self.values[np.isfinite(self.values)]  # overflowed points are in the warnings
        out: dict[str, Any] = {
            "kind": self.kind,
            "dims": int(self.directions.shape[0]),
            "shape": self.shape,
            "description": self.description(),
            "grid": int(self.alphas.size),
            "alpha_range": [float(self.alphas[0]), float(self.alphas[-1])],
            "center_loss": self.center_loss,
            "min": float(finite.min()) if finite.size else math.nan,
            "max": float(finite.max()) if finite.size else math.nan,
            "rows": self.rows,
            "seed": self.seed,
        }
        if self.betas.size:
            out["beta_range"] = [float(self.betas[0]), float(self.betas[-1])]
        if self.kind == "between":
            out["end_loss"] = self.end_loss
            i = int(
                np.nanargmax(
                    np.where((self.alphas >= 0) & (self.alphas <= 1), self.values, -np.inf)
                )
            )
            ends = max(self.center_loss, self.end_loss)
            rise = float(self.values[i] - ends)
            # the ends are on the line too: a "barrier" below the float32 rounding of the loss is 0
            noise = 8 * float(np.finfo(np.float32).eps) * max(abs(ends), abs(float(self.values[i])))
            out["barrier"] = rise if rise > noise else 0.0
        if self.explained.size:
            out["explained_variance"] = self.explained.tolist()
        out["warnings"] = list(self.warnings)
        return out


# -- directions ------------------------------------------------------------------------------------
def filter_normalised(template: Any, weights: np.ndarray, key: Any) -> np.ndarray:
    """A seeded Gaussian direction, each filter scaled to the norm of the weights' filter;
    one-dimensional leaves (biases) get zero."""

    _, unravel = ravel_pytree(template)
    tree = unravel(jnp.asarray(weights))
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    keys = jax.random.split(key, len(leaves))
    out = []
    for k, w in zip(keys, leaves, strict=True):
        if w.ndim < 2:
            out.append(jnp.zeros_like(w))
            continue
        d = jax.random.normal(k, w.shape, w.dtype)
        norm_w = jnp.linalg.norm(w.reshape(-1, w.shape[-1]), axis=0)
        norm_d = jnp.linalg.norm(d.reshape(-1, w.shape[-1]), axis=0)
        out.append(d * (norm_w / jnp.maximum(norm_d, 1e-12)))
    return np.asarray(ravel_pytree(jax.tree_util.tree_unflatten(treedef, out))[0], dtype=np.float32)


def _hessian_directions(
    obj: Objective | HVP, weights: np.ndarray, dims: int, seed: int, progress: Any = None
) -> np.ndarray:
    """The top ``dims`` Ritz vectors of 60 Lanczos steps; ``progress(done, 60)`` after each."""

    rng = np.random.default_rng(seed)
    steps = min(60, weights.size)
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], steps)

    hvp = obj if not isinstance(obj, Objective) else objective_hvp(obj, weights)
    alpha, beta, basis = lanczos(hvp, steps, rng.standard_normal(weights.size), progress=tick)
    _, s = _ritz(alpha, beta)
    vecs = (basis.T @ s[:, ::-1][:, :dims]).T  # top Ritz vectors, largest first
    scale = float(np.linalg.norm(weights))
    return np.asarray(vecs / np.linalg.norm(vecs, axis=1, keepdims=True) * scale, np.float32)


def _pca_directions(
    trajectory: np.ndarray, center: np.ndarray, dims: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directions (unit), explained variance shares, and the trajectory in their coordinates."""
    m = trajectory.astype(np.float64) - center.astype(np.float64)
    _, sv, vt = np.linalg.svd(m, full_matrices=False)
    var = sv**2
    explained = var[:dims] / var.sum() if var.sum() > 0 else np.zeros(dims)
    dirs = vt[:dims]
    return dirs.astype(np.float32), explained, (m @ dirs.T)


# -- evaluation -------------------------------------------------------------------------------------
_EVALUATORS: dict[Any, Any] = {}


def _evaluator(net: Any, loss: str, rows: int, dims: int, chunk: int) -> Any:
    """Compiled ``loss_at(consts, t)`` for a chunk of points ``t`` of shape ``(chunk, dims)``.

    The weights, directions and data are arguments, not constants, so one compilation serves
    every run, seed and direction of the same model and data size.
    """

    key = (net, loss, rows, dims, chunk)
    try:
        hash(key)
    except TypeError:
        key = (id(net), loss, rows, dims, chunk)
    if key in _EVALUATORS:
        return _EVALUATORS[key]
    lossf = loss_fn(loss)
    _, unravel = ravel_pytree(net.init(jax.random.PRNGKey(0)))

    if isinstance(net, Model):  # the first layer once per direction, not once per grid point
        act = _activation(net.activation)

        def at(consts: Any, t: Any) -> Any:
            c_tree, d_trees, base, moves, y = consts
            h = base + sum(t[i] * moves[i] for i in range(dims))
            for layer in range(1, len(c_tree)):
                h = act(h)
                w = c_tree[layer]["w"] + sum(t[i] * d_trees[i][layer]["w"] for i in range(dims))
                b = c_tree[layer]["b"] + sum(t[i] * d_trees[i][layer]["b"] for i in range(dims))
                h = h @ w + b
            return lossf(h, y, jnp.ones(h.shape[0], h.dtype))

    else:

        def at(consts: Any, t: Any) -> Any:
            c, d, x, y = consts
            return lossf(net.apply(unravel(c + t @ d), x), y, jnp.ones(x.shape[0], x.dtype))

    fn = jax.jit(jax.vmap(at, in_axes=(None, 0)))
    _EVALUATORS[key] = fn
    return fn


def _consts(net: Any, x: Any, y: Any, center: np.ndarray, dirs: np.ndarray) -> Any:

    _, unravel = ravel_pytree(net.init(jax.random.PRNGKey(0)))
    c = jnp.asarray(center, jnp.float32)
    d = jnp.asarray(dirs, jnp.float32)
    if isinstance(net, Model):
        c_tree, d_trees = unravel(c), [unravel(v) for v in d]
        base = x @ c_tree[0]["w"] + c_tree[0]["b"]
        moves = [x @ t[0]["w"] + t[0]["b"] for t in d_trees]
        return (c_tree, d_trees, base, moves, y)
    return (c, d, x, y)


def _device_chunk(net: Any, rows: int) -> int:
    """Grid points per compiled call: about 16 MB of activations, at most 1,024."""
    width = max(getattr(net, "sizes", (64,)))
    return int(max(1, min(1024, 16_000_000 // (rows * width * 4))))


def _ready(net: Any, loss: str, x: Any, y: Any, center: np.ndarray, dirs: np.ndarray,
           chunk: int | None = None) -> tuple[Any, list[Any], int]:  # fmt: skip
    """What evaluating a grid needs, made once: the compiled function for chunks of ``chunk``
    points (default by memory), and the weights, directions and data on every local device."""
    chunk = chunk or _device_chunk(net, int(x.shape[0]))
    fn = _evaluator(net, loss, int(x.shape[0]), dirs.shape[0], chunk)
    consts = [jax.device_put(_consts(net, x, y, center, dirs), d) for d in jax.local_devices()]
    return fn, consts, chunk


def _evaluate(ready: tuple[Any, list[Any], int], points: np.ndarray, progress: Any = None
              ) -> np.ndarray:  # fmt: skip
    """The loss at ``center + points @ dirs`` for every row of ``points`` (:func:`_ready`): in
    chunks of about 16 MB of activations each, spread over the local CPU devices (one per core
    when the process starts with them, as the CLI does). A point's value does not depend on
    the other points nor on which device or process computes it, but its last bit may depend
    on the chunk's size, which the compiled program is for."""

    fn, consts, chunk = ready
    devices = jax.local_devices()
    n = len(points)
    padded = np.concatenate([points, np.repeat(points[-1:], (-n) % chunk, axis=0)]).astype(
        np.float32
    )
    out = []
    for k, start in enumerate(range(0, len(padded), chunk)):
        i = k % len(devices)
        block = jax.device_put(jnp.asarray(padded[start : start + chunk]), devices[i])
        out.append(fn(consts[i], block))  # dispatched asynchronously, device after device
        if k >= len(devices):  # at most one chunk in flight per device: progress is real work,
            out[k - len(devices)].block_until_ready()  # so a cancel stops within a chunk
        if progress is not None:
            progress(min(start + chunk, n), n)
    return np.concatenate([np.asarray(o) for o in out])[:n].astype(np.float64)


def _grid_chunk(spec: dict[str, Any], index: int) -> dict[str, np.ndarray]:
    """Task ``index`` of a landscape's grid (see :func:`_grid_work`): the loss at its points.
    Random directions are rebuilt here from their seed, the grid from its axes, once per
    process and job."""

    def build() -> tuple[Any, np.ndarray]:
        dirs = spec["dirs"]
        if dirs is None:
            template = spec["net"].init(jax.random.PRNGKey(0))
            keys = jax.random.split(jax.random.PRNGKey(spec["seed"]), spec["dims"])
            dirs = np.stack([filter_normalised(template, spec["center"], k) for k in keys])
        ready = _ready(spec["net"], spec["loss"], spec["x"], spec["y"], spec["center"], dirs,
                       spec["chunk"])  # fmt: skip
        return ready, grid_points(spec["lo"], spec["hi"], spec["grid"], spec["dims"])[2]

    ready, points = prepared(spec["work"], build)
    t = spec["per_task"]
    return {"values": _evaluate(ready, points[index * t : (index + 1) * t])}


def _grid_work(net: Any, loss: str, x: Any, y: Any, center: np.ndarray, dirs: np.ndarray | None,
               seed: int, lo: float, hi: float, grid: int, dims: int) -> Work:  # fmt: skip
    """A landscape's grid as chunked work: tasks of whole compiled calls, sized by
    :func:`~gradscape.executors.task_size` (a multiply-add per weight and row at each point).
    ``dirs`` is ``None`` for random directions (each worker rebuilds them from ``seed``)."""
    x, y = np.asarray(x), np.asarray(y)
    total, rows = grid**dims, int(x.shape[0])
    chunk = _device_chunk(net, rows)
    per_task = task_size(2.0 * rows * center.size, chunk, total)
    made = fingerprint("landscape", repr(net), loss, x, y, center,
                       dirs if dirs is not None else seed, lo, hi, grid, dims, per_task,
                       chunk)  # fmt: skip
    spec = {"net": net, "loss": loss, "x": x, "y": y, "center": center, "dirs": dirs,
            "seed": seed, "lo": lo, "hi": hi, "grid": grid, "dims": dims, "per_task": per_task,
            "chunk": chunk, "work": made}  # fmt: skip
    return Work("landscape", f"{__name__}:_grid_chunk", spec, -(-total // per_task), made)


def check_request(
    dims: int | None, grid: Any, span: Any, directions: str, between: bool, seed: Any
) -> tuple[int, int, float, int]:
    """The checked ``(dims, grid, span, seed)`` of a landscape request (any model, any
    framework): dims 1 or 2 (1 with ``between``), grid 3 to 1001 points per axis, span in
    ``(0, MAX_SPAN]``, directions one of :data:`KINDS`."""
    if between and dims not in (None, 1):
        raise InputError(
            f"A landscape between two runs is the line joining them (dims 1); got dims {dims!r}: "
            "drop dims, or leave out the other run for a plane."
        )
    dims = (1 if between else 2) if dims is None else dims
    if dims not in (1, 2):
        raise InputError(f"dims must be 1 or 2; got {dims!r}.")
    grid = whole_number(grid, "grid", 3, 1001)
    if isinstance(span, bool) or not (
        isinstance(span, int | float) and math.isfinite(span) and 0 < span <= MAX_SPAN
    ):
        raise InputError(
            f"span must be a number > 0 and at most {MAX_SPAN:g} (MAX_SPAN); got {span!r}."
        )
    if directions not in KINDS:
        raise InputError(f"Unknown directions {directions!r}; choose one of {', '.join(KINDS)}.")
    return dims, grid, float(span), check_seed(seed, "seed")


def grid_points(
    lo: float, hi: float, grid: int, dims: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(alphas, betas, points)``: the axes of the grid and its points as rows of shape
    ``(grid**dims, dims)``, ``alpha`` varying fastest (``values.reshape(grid, grid)`` is
    indexed ``[beta, alpha]``)."""
    alphas = np.linspace(lo, hi, grid)
    if dims == 1:
        return alphas, np.empty(0), alphas[:, None]
    ma, mb = np.meshgrid(alphas, alphas)
    return alphas, alphas.copy(), np.column_stack([ma.ravel(), mb.ravel()])


def overflow_warning(values: np.ndarray) -> str:
    """The warning for grid points where the loss overflowed ("" when none did)."""
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if not bad:
        return ""
    return (
        f"the loss overflowed to NaN or infinity at {bad} of {values.size} grid points; "
        "shrink the span"
    )


def assemble(values: np.ndarray, alphas: np.ndarray, betas: np.ndarray, **fields: Any) -> Landscape:
    """The :class:`Landscape` from the loss at every grid point (in :func:`grid_points`'s
    order), with the warning for points where it overflowed; ``fields`` are its other
    attributes."""
    if betas.size:
        values = values.reshape(betas.size, alphas.size)
    said = overflow_warning(values)
    warnings = (said,) if said else ()
    return Landscape(alphas=alphas, betas=betas, values=values, warnings=warnings, **fields)


def landscape(
    result: Any,
    split: Any,
    net: Any,
    *,
    dims: int | None = None,
    grid: int = 51,
    span: float = 1.0,
    directions: str = "random",
    between: Any = None,
    subsample: int | None = None,
    seed: int = 0,
    progress: Any = None,
    executor: Any = None,
    store: ChunkStore | None = None,
) -> Landscape:
    """The training loss around a run's best weights (see the module docstring).

    Args:
        result, split, net: a finished run, its split and its model (:func:`gradscape.networks.training.load_run`).
        dims: 1 (a line) or 2 (a plane); default 2, and 1 with ``between`` (the only choice).
        grid: points per axis; ``span``: the grid covers ``[-span, span]`` in units of the
            direction (for ``pca``, the trajectory's extent with a margin instead).
        directions: ``random``, ``hessian`` or ``pca``.
        between: another run (``Training``) of the same model: the 1-D line from this run
            (t = 0) to it (t = 1), over ``[-span/4, 1 + span/4]``.
        subsample: evaluate on this many training rows (seeded) instead of all.
        progress: called as ``progress(done, total)`` after each Lanczos step (``hessian``
            directions) and each chunk of grid points; an exception it raises stops the work.
        executor: a ``distributed.Client``: the grid's tasks run on its cluster (the same
            values as in this process; see :mod:`gradscape.executors`).
        store: a :class:`~gradscape.executors.ChunkStore`: each finished task is kept there,
            and tasks already there are not computed again (a resumed run).
    """

    check_executor(executor)
    dims, grid, span, seed = check_request(dims, grid, span, directions, between is not None, seed)
    center = np.asarray(result.weights, np.float32)
    if not np.all(np.isfinite(center)):
        raise InputError(
            "The run's weights hold NaN or infinite values; there is no landscape around them."
        )
    x, y = split.x_train, split.y_train
    if subsample is not None:
        subsample = whole_number(subsample, "subsample")
        if subsample < len(x):
            pick = np.random.default_rng(seed).choice(len(x), subsample, replace=False)
            x, y = x[pick], y[pick]
    x, y = jnp.asarray(x), jnp.asarray(y)
    lossf = loss_fn(result.config["loss"])
    template = net.init(jax.random.PRNGKey(0))
    path = explained = np.empty(0)
    end_loss = math.nan

    if between is not None:
        _check_same_data(result, split, between)
        other = np.asarray(getattr(between, "weights", between), np.float32)
        if other.shape != center.shape:
            raise InputError(
                f"The other run has {other.size:,} weights, this one {center.size:,}: "
                "interpolate between runs of the same model."
            )
        if not np.all(np.isfinite(other)):
            raise InputError("The other run's weights hold NaN or infinite values.")
        kind = "between"
        dirs = (other - center)[None, :]
        lo, hi = -span / 4, 1 + span / 4
    elif directions == "pca":
        traj = getattr(result, "trajectory", None)
        if traj is not None and not np.all(np.isfinite(traj)):
            raise InputError(
                "This run's trajectory holds NaN or infinite weights (it diverged); use random "
                "or hessian directions."
            )
        if traj is None or len(traj) < dims + 1:
            raise InputError("This run saved too few weights for a PCA plane; train it again.")
        dirs, explained, coords = _pca_directions(np.asarray(traj), center, dims)
        path = coords
        reach = float(np.max(np.abs(coords))) if coords.size else 1.0
        lo, hi = -1.2 * reach * span, 1.2 * reach * span
        kind = "pca"
    else:
        if directions == "hessian":
            from .training import loss_objective

            obj, _ = loss_objective(result, split, net)
            dirs = _hessian_directions(obj, center, dims, seed, progress)
        else:
            keys = jax.random.split(jax.random.PRNGKey(seed), dims)
            dirs = np.stack([filter_normalised(template, center, k) for k in keys])
        lo, hi = -span, span
        kind = directions

    loss = result.config["loss"]
    alphas, betas, pts = grid_points(lo, hi, grid, dims)
    if executor is None and store is None:
        values = _evaluate(_ready(net, loss, x, y, center, dirs), pts, progress)
    else:
        work = _grid_work(net, loss, x, y, center, None if kind == "random" else dirs, seed,
                          lo, hi, grid, dims)  # fmt: skip
        values = np.concatenate([c["values"] for c in run(work, executor=executor, store=store,
                                                          progress=progress)])  # fmt: skip
    unravel = _unravel(template)
    ones = jnp.ones(x.shape[0], jnp.float32)
    center_loss = float(lossf(net.apply(unravel(jnp.asarray(center)), x), y, ones))
    if kind == "between":
        other = center + dirs[0]
        end_loss = float(lossf(net.apply(unravel(jnp.asarray(other)), x), y, ones))
    return assemble(
        values, alphas, betas, kind=kind, directions=np.asarray(dirs), center=center,
        center_loss=center_loss, end_loss=end_loss, path=np.asarray(path),
        explained=np.asarray(explained), rows=int(x.shape[0]), seed=seed, label=loss,
    )  # fmt: skip


def _check_same_data(result: Any, split: Any, other: Any) -> None:
    """Refuse a line between runs that saw different data: the loss along it is scored on this
    run's training rows, which would hold the other run's validation and test rows."""
    mine, theirs = getattr(result, "config", None), getattr(other, "config", None)
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        return  # bare weights: nothing recorded to compare
    spec = ("model", "activation", "loss")
    if any(mine.get(k) != theirs.get(k) for k in spec):
        a, b = (" ".join(str(c.get(k)) for k in spec) for c in (mine, theirs))
        raise InputError(
            f"The other run is another model ({b}, this one {a}); interpolate between runs of "
            "the same model."
        )
    fp_mine = split.fingerprint() if hasattr(split, "fingerprint") else mine.get("data_fingerprint")
    fp_theirs = theirs.get("data_fingerprint")
    keys = ("dataset", "source", "target", "split_seed", "val", "test", "standardize")
    if fp_mine and fp_theirs:
        same = fp_mine == fp_theirs
    else:
        same = all(mine.get(k) == theirs.get(k) for k in keys)
    if not same:
        a, b = (f"{c.get('dataset')} with split seed {c.get('split_seed')}" for c in (mine, theirs))
        why = "" if a != b else " (the same names, but other rows: a data file changed?)"
        raise InputError(
            f"The runs were trained on different data splits: this one on {a}, the other on "
            f"{b}{why}; the line between them would be scored on rows one run held out. Train "
            "both on the same data with the same --split-seed."
        )


def _unravel(template: Any) -> Any:

    return ravel_pytree(template)[1]
