"""Training by backpropagation, with a validation set watched to stop early.

An epoch is one compiled ``lax.scan`` over seeded mini-batches (or one full batch): the gradient
of the loss with respect to every weight comes from ``jax.grad`` (backpropagation), and any
optimizer of the family applies it. After each epoch the train and validation loss and metric are
recorded; early stopping watches ``val_loss`` (or ``val_metric``): an epoch improves when it beats
the best so far by more than ``min_delta``; after ``patience`` epochs without improvement training
stops. Whatever ends it (patience or the epoch limit), the best epoch's weights are restored and
the test set is scored with them. A checkpoint (weights, optimizer state, config, history) is
written at the end and resumes exactly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import Split
from .errors import InputError
from .networks import LOSSES, Model, loss_fn, metric, metric_name
from .networks import model as build_model
from .optimizers import optimizer as choose_optimizer
from .results import Result


@dataclass(frozen=True, eq=False)
class Training(Result):
    """A finished training run.

    Attributes:
        config: how it was run (dataset, model, loss, optimizer, lr, epochs, batch size,
            patience, min_delta, monitor, seed).
        train_loss, val_loss, train_metric, val_metric: per epoch, shape ``(epochs_run,)``.
        best_epoch: 1-based epoch whose weights were kept; ``epochs_run``: epochs trained.
        stop_reason: ``early_stop`` (patience ran out), ``max_epochs`` or ``diverged``.
        weights: the best weights, flattened (``unravel`` them with the model).
        test_loss, test_metric: the test set scored with the best weights.
        trajectory: the weights after each recorded epoch, shape ``(k, n)``, with
            ``trajectory_epochs`` (0 is the initial weights); every epoch is recorded while
            that stays under 20 million numbers, else every few (the PCA plane of
            :func:`gradscape.landscape` uses them).
    """

    config: dict[str, Any]
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_metric: np.ndarray
    val_metric: np.ndarray
    best_epoch: int
    epochs_run: int
    stop_reason: str
    weights: np.ndarray
    test_loss: float
    test_metric: float
    trajectory: np.ndarray | None = None
    trajectory_epochs: np.ndarray | None = None

    @property
    def metric(self) -> str:
        return str(self.config["metric"])

    def metrics(self) -> dict[str, Any]:
        """What ``metrics.json`` holds."""
        b = self.best_epoch - 1
        out = {
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "stop_reason": self.stop_reason,
            "train_loss": float(self.train_loss[b]),
            "val_loss": float(self.val_loss[b]),
            f"val_{self.metric}": float(self.val_metric[b]),
            "test_loss": self.test_loss,
            f"test_{self.metric}": self.test_metric,
        }
        return out


@dataclass
class _State:
    """What a checkpoint holds besides the config."""

    params: Any
    opt_state: Any
    epoch: int
    best: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)
    trajectory: list[np.ndarray] = field(default_factory=list)
    trajectory_epochs: list[int] = field(default_factory=list)


def _setup(split: Split, spec: Any, loss: str | None, activation: str) -> tuple[Any, str]:
    if loss is None:
        loss = "cross_entropy" if split.task == "classification" else "mse"
    if loss not in LOSSES:
        raise InputError(f"Unknown loss {loss!r}; choose one of {', '.join(LOSSES)}.")
    if (loss == "cross_entropy") != (split.task == "classification"):
        raise InputError(
            f"{loss} does not fit a {split.task} dataset; use "
            f"{'cross_entropy' if split.task == 'classification' else 'mse or sse'}."
        )
    if isinstance(spec, str):
        if spec.strip().lower() in ("logistic", "softmax") and split.task != "classification":
            raise InputError(
                "logistic regression needs classes; for a regression dataset use linear."
            )
        net = build_model(spec, split.n_features, split.n_outputs, activation=activation)
    elif hasattr(spec, "init") and hasattr(spec, "apply"):
        net = spec
    else:
        raise InputError("model must be a spec such as mlp:64,32 or an object with init and apply.")
    return net, loss


_COMPILED: dict[Any, tuple[Any, Any]] = {}


def _compiled_functions(net: Any, loss: str, opt: Any, batch: int, n: int) -> tuple[Any, Any]:
    """:func:`_functions`, kept per (model, loss, optimizer, batch, rows) so that a second run
    of the same setup (another seed, learning rate, resumed checkpoint) compiles nothing. The
    learning rate lives in the optimizer state, so it is not part of the key."""
    try:
        key = (net, loss, opt.name, tuple(sorted(opt.options.items())), batch, n)
        hash(key)
    except TypeError:  # a user's model that cannot be a key
        return _functions(net, loss, opt.transformation(), batch, n)
    if opt.custom is not None or not opt.injects_lr:
        key = (*key, opt.lr, id(opt.custom))
    if key not in _COMPILED:
        if len(_COMPILED) > 32:
            _COMPILED.clear()
        _COMPILED[key] = _functions(net, loss, opt.transformation(), batch, n)
    return _COMPILED[key]


def _functions(net: Any, loss: str, tx: Any, batch: int, n: int) -> tuple[Any, Any]:
    """Compiled ``(epoch, evaluate)`` for this model, loss, optimizer and batch size."""
    import jax
    import jax.numpy as jnp

    lossf = loss_fn(loss)

    def objective(params: Any, x: Any, y: Any, w: Any) -> Any:
        return lossf(net.apply(params, x), y, w)

    grad = jax.value_and_grad(objective)
    n_batches = -(-n // batch)

    def epoch(params: Any, opt_state: Any, key: Any, x: Any, y: Any) -> Any:
        order = jax.random.permutation(key, n)
        pad = n_batches * batch - n
        idx = jnp.concatenate([order, order[:pad]]).reshape(n_batches, batch)
        weight = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(n_batches, batch)

        def one(carry: Any, b: Any) -> Any:
            p, s = carry
            i, w = b
            v, g = grad(p, x[i], y[i], w)
            updates, s = tx.update(g, s, p, value=v, grad=g,
                                   value_fn=lambda q: objective(q, x[i], y[i], w))  # fmt: skip
            return (jax.tree_util.tree_map(lambda a, u: a + u, p, updates), s), v

        (params, opt_state), _ = jax.lax.scan(one, (params, opt_state), (idx, weight))
        return params, opt_state

    def evaluate(params: Any, x: Any, y: Any) -> Any:
        out = net.apply(params, x)
        return lossf(out, y, jnp.ones(x.shape[0])), out

    return jax.jit(epoch), jax.jit(evaluate)


def train(
    split: Split,
    model: Any = "mlp:64",
    *,
    loss: str | None = None,
    optimizer: Any = "adam",
    lr: float | None = 1e-3,
    epochs: int = 300,
    batch_size: int | None = 32,
    patience: int | None = 20,
    min_delta: float = 0.0,
    monitor: str = "val_loss",
    activation: str = "relu",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    checkpoint: str | Path | None = None,
    _resume: _State | None = None,
) -> Training:
    """Train ``model`` on ``split`` with early stopping on the validation set.

    Args:
        model: ``linear``, ``logistic``, ``mlp:64,32`` or an object with ``init(key)`` and
            ``apply(params, x)`` (a user's own JAX model).
        loss: ``cross_entropy`` (classes) or ``mse``/``sse`` (regression); default by task.
        optimizer, lr: any optimizer of the family and its learning rate (``None``: its default).
        batch_size: rows per step; ``None`` for full batch.
        patience: epochs without improvement before stopping; ``None``: no early stopping (the
            last weights are kept). With a patience, the best epoch's weights are restored
            however training ends, at the patience or at the epoch limit.
        min_delta: the improvement that counts.
        monitor: ``val_loss`` (lower is better) or ``val_metric`` (accuracy or R², higher).
        checkpoint: a folder to write ``checkpoint.npz`` into at the end (see :func:`resume`).
    """
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise InputError(f"epochs must be a whole number >= 1; got {epochs!r}.")
    if patience is not None and (
        isinstance(patience, bool) or not isinstance(patience, int) or patience < 1
    ):
        raise InputError(f"patience must be a whole number >= 1 (or None); got {patience!r}.")
    if not (isinstance(min_delta, int | float) and math.isfinite(min_delta) and min_delta >= 0):
        raise InputError(f"min_delta must be a number >= 0; got {min_delta!r}.")
    if monitor not in ("val_loss", "val_metric"):
        raise InputError(f"monitor must be val_loss or val_metric; got {monitor!r}.")
    n = len(split.x_train)
    batch = n if batch_size is None else int(batch_size)
    if batch < 1:
        raise InputError(f"batch_size must be a whole number >= 1; got {batch_size!r}.")
    batch = min(batch, n)
    net, loss = _setup(split, model, loss, activation)
    opt = choose_optimizer(optimizer, lr=lr)
    if opt.lr is None and opt.injects_lr:  # no curvature rule for a network: a common default
        opt = choose_optimizer(optimizer, lr=1e-2)
    tx = opt.transformation()
    epoch_fn, evaluate = _compiled_functions(net, loss, opt, batch, n)
    x_tr, y_tr = jnp.asarray(split.x_train), jnp.asarray(split.y_train)
    parts = {
        "train": (x_tr, y_tr, split.y_train),
        "val": (jnp.asarray(split.x_val), jnp.asarray(split.y_val), split.y_val),
    }
    key = jax.random.PRNGKey(seed)
    init_key, data_key = jax.random.split(key)
    if _resume is None:
        params = net.init(init_key)
        opt_state = tx.init(params)
        state = _State(params, opt_state, 0, {"value": math.inf, "epoch": 0, "params": None, "wait": 0},
                       {k: [] for k in ("train_loss", "val_loss", "train_metric", "val_metric")})  # fmt: skip
    else:
        state = _resume
    sign = 1.0 if monitor == "val_loss" else -1.0
    flat, unravel = ravel_pytree(state.params)
    every = max(1, math.ceil(flat.size * (epochs + 1) / 20_000_000))  # trajectory thinning
    if not state.trajectory:
        state.trajectory.append(np.asarray(flat))
        state.trajectory_epochs.append(0)
    stop = "max_epochs"
    start = state.epoch
    for e in range(start, epochs):
        params, opt_state = epoch_fn(
            state.params, state.opt_state, jax.random.fold_in(data_key, e), x_tr, y_tr
        )
        row = {}
        for part, (x, y, y_np) in parts.items():
            lv, out = evaluate(params, x, y)
            row[f"{part}_loss"] = float(lv)
            row[f"{part}_metric"] = metric(split.task, np.asarray(out), y_np)
        for k, v in row.items():
            state.history[k].append(v)
        state.params, state.opt_state, state.epoch = params, opt_state, e + 1
        if (e + 1) % every == 0:
            state.trajectory.append(np.asarray(ravel_pytree(params)[0]))
            state.trajectory_epochs.append(e + 1)
        if not math.isfinite(row["train_loss"]):
            stop = "diverged"
            break
        watched = sign * row[monitor]
        if patience is None:  # no early stopping: the weights are the last ones
            state.best.update(
                value=watched, epoch=e + 1, params=np.asarray(ravel_pytree(params)[0])
            )
        elif watched < state.best["value"] - min_delta:
            state.best.update(
                value=watched, epoch=e + 1, params=np.asarray(ravel_pytree(params)[0]), wait=0
            )
        else:
            state.best["wait"] += 1
        if progress is not None:
            progress(e + 1, epochs)
        if patience is not None and state.best["wait"] >= patience:
            stop = "early_stop"
            break
    if state.best["params"] is None:  # not one finite epoch
        state.best.update(epoch=max(1, state.epoch), params=np.asarray(flat))
    best = unravel(jnp.asarray(state.best["params"]))
    test_loss, test_out = evaluate(best, jnp.asarray(split.x_test), jnp.asarray(split.y_test))
    config = {
        "dataset": split.name, "source": split.source, "target": split.target,
        "split_seed": split.seed, "task": split.task, "seed": seed,
        "model": getattr(net, "spec", type(net).__name__), "activation": activation,
        "n_params": int(flat.size), "loss": loss, "metric": metric_name(split.task),
        "optimizer": opt.name, "settings": opt.describe(), "lr": opt.lr, "epochs": epochs,
        "batch_size": batch_size, "patience": patience, "min_delta": min_delta, "monitor": monitor,
    }  # fmt: skip
    if checkpoint is not None:
        save_checkpoint(checkpoint, config, state, tx)
    h = {k: np.asarray(v, dtype=np.float64) for k, v in state.history.items()}
    return Training(
        config=config, **h, best_epoch=int(state.best["epoch"]), epochs_run=state.epoch,
        stop_reason=stop, weights=np.asarray(state.best["params"], dtype=np.float32),
        test_loss=float(test_loss), test_metric=metric(split.task, np.asarray(test_out), split.y_test),
        trajectory=np.asarray(state.trajectory, dtype=np.float32),
        trajectory_epochs=np.asarray(state.trajectory_epochs, dtype=np.int64),
    )  # fmt: skip


# -- checkpoints -----------------------------------------------------------------------------------
def save_checkpoint(folder: str | Path, config: dict[str, Any], state: _State, tx: Any) -> Path:
    """Write weights, optimizer state, config and history to ``folder/checkpoint.npz``."""
    import jax
    from jax.flatten_util import ravel_pytree

    path = Path(folder) / "checkpoint.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    leaves = jax.tree_util.tree_leaves(state.opt_state)
    arrays = {f"opt_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
    arrays["params"] = np.asarray(ravel_pytree(state.params)[0])
    arrays["best_params"] = np.asarray(state.best["params"])
    arrays["trajectory"] = np.asarray(state.trajectory)
    arrays["trajectory_epochs"] = np.asarray(state.trajectory_epochs)
    meta = {
        "config": config, "epoch": state.epoch, "history": state.history,
        "best": {k: v for k, v in state.best.items() if k != "params"}, "opt_leaves": len(leaves),
    }  # fmt: skip
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def resume(
    folder: str | Path,
    split: Split,
    *,
    epochs: int,
    progress: Callable[[int, int], None] | None = None,
) -> Training:
    """Continue a run from ``folder/checkpoint.npz`` up to ``epochs`` in all, exactly as if it had
    not stopped (same batches, same optimizer state)."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    path = Path(folder) / "checkpoint.npz"
    if not path.is_file():
        raise InputError(f"No checkpoint in {str(folder)!r} (expected checkpoint.npz).")
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        params_flat, best_flat = z["params"], z["best_params"]
        traj = list(z["trajectory"]) if "trajectory" in z.files else []
        traj_epochs = (
            [int(v) for v in z["trajectory_epochs"]] if "trajectory_epochs" in z.files else []
        )
        leaves = [z[f"opt_{i}"] for i in range(meta["opt_leaves"])]
    c = meta["config"]
    if (c["dataset"], c["split_seed"]) != (split.name, split.seed):
        raise InputError(
            f"The checkpoint was trained on {c['dataset']} split with seed {c['split_seed']}; "
            "resume it on the same split."
        )
    net, _ = _setup(split, c["model"], c["loss"], c["activation"])
    opt = choose_optimizer(c["optimizer"], lr=c["lr"])
    tx = opt.transformation()
    template = net.init(jax.random.PRNGKey(0))
    _, unravel = ravel_pytree(template)
    params = unravel(jnp.asarray(params_flat))
    treedef = jax.tree_util.tree_structure(tx.init(template))
    opt_state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a) for a in leaves])
    best = {**meta["best"], "params": best_flat}
    state = _State(params, opt_state, int(meta["epoch"]), best, meta["history"], traj, traj_epochs)
    return train(
        split, c["model"], loss=c["loss"], optimizer=c["optimizer"], lr=c["lr"], epochs=epochs,
        batch_size=c["batch_size"], patience=c["patience"], min_delta=c["min_delta"],
        monitor=c["monitor"], activation=c["activation"], seed=c["seed"], progress=progress,
        checkpoint=folder, _resume=state,
    )  # fmt: skip


def unravel_weights(result: Training, model: Model) -> Any:
    """The weights of a finished run as the model's pytree."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    _, unravel = ravel_pytree(model.init(jax.random.PRNGKey(0)))
    return unravel(jnp.asarray(result.weights))


# -- a finished run as an objective ------------------------------------------------------------
def load_run(folder: str | Path) -> tuple[Training, Split, Any]:
    """A run written by ``gradscape train``: its result, its split (made again from the recorded
    source and seed) and its model."""
    from .datasets import load

    folder = Path(folder)
    path = folder / "training.npz"
    if not path.is_file():
        raise InputError(
            f"{str(folder)!r} is not a training run (no training.npz); make one with gradscape train."
        )
    result = Training.load(path)
    c = result.config
    split = load(
        c.get("source") or c["dataset"], target=c.get("target"), seed=c.get("split_seed", c["seed"])
    )
    net, _ = _setup(split, c["model"], c["loss"], c["activation"])
    return result, split, net


def loss_objective(result: Training, split: Split, net: Any, part: str = "train") -> Any:
    """The loss on a part of the split (``train``, ``val`` or ``test``) as an
    :class:`~gradscape.objectives.Objective` of the flat weights, and the best weights."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    from .objectives import Objective

    x = jnp.asarray(getattr(split, f"x_{part}"))
    y = jnp.asarray(getattr(split, f"y_{part}"))
    _, unravel = ravel_pytree(net.init(jax.random.PRNGKey(0)))
    lossf = loss_fn(result.config["loss"])
    w = jnp.ones(x.shape[0])

    def f(theta: Any) -> Any:
        return lossf(net.apply(unravel(theta), x), y, w)

    names = tuple(f"w{i}" for i in range(result.weights.size))
    return Objective(f, names=names, label=f"{part} loss"), result.weights
