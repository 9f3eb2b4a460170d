"""Training by backpropagation, with a validation set watched to stop early.

An epoch is one compiled ``lax.scan`` over seeded mini-batches (or one full batch): the gradient
of the loss with respect to every weight comes from ``jax.grad`` (backpropagation), and any
optimizer of the family applies it. After each epoch the train and validation loss and metric are
recorded; early stopping watches ``val_loss`` (or ``val_metric``): an epoch improves when it beats
the best so far by more than ``min_delta``; after ``patience`` epochs without improvement training
stops. Whatever ends it (patience or the epoch limit), the best epoch's weights are restored and
the test set is scored with them. A checkpoint (weights, optimizer state, config, history) is
written at the end and resumes exactly.

Ctrl-C stops training between two compiled epochs: the checkpoint then holds the epochs done and
``partial.json`` beside it says where the run stopped (:func:`resume` continues it), and
:class:`TrainingInterrupted` is raised; no result that looks complete is made. Files are written
atomically (a temporary file, then a rename). A run folder is checked when it is loaded: sizes
before unpacking, the config's keys, its agreement with ``config.json``, weights that fit the
model and are finite, and a data split that is still the one the run was trained on.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._npz import check_npz
from ..errors import DataError, GradscapeError, InputError, whole_number
from ..objectives import Objective
from ..optimizers import check_lr
from ..optimizers import optimizer as choose_optimizer
from ..results import Result
from .datasets import BUILTIN, Split, _check_trainable, check_seed, load
from .models import LOSSES, Model, loss_fn, metric, metric_name
from .models import model as build_model

#: Most epochs one call trains.
MAX_EPOCHS = 1_000_000
#: Largest learning rate accepted: far past any stable step on standardised data, and far inside
#: float32 (the precision of a network's weights), where 1e308 is infinite.
MAX_LR = 1e4
#: The file beside a checkpoint that marks the run unfinished (running, or stopped by Ctrl-C).
PARTIAL = "partial.json"


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`train` between two epochs.

    Attributes:
        epoch: epochs completed; ``epochs``: the limit asked for.
        folder: the run folder holding the partial checkpoint (``None`` without a checkpoint).
    """

    def __init__(self, epoch: int, epochs: int, folder: Path | None) -> None:
        self.epoch, self.epochs, self.folder = epoch, epochs, folder
        where = (
            f"; {folder} holds the partial run: continue it with gradscape.resume({str(folder)!r})"
            if folder is not None
            else ""
        )
        super().__init__(f"training stopped after epoch {epoch} of {epochs}{where}")


@dataclass(frozen=True, eq=False)
class Training(Result):
    """A finished training run.

    Attributes:
        config: how it was run: the data (dataset, source, target, task and why, split_seed,
            val and test shares, standardize, data_fingerprint) and the training (model, loss,
            optimizer, lr, epochs, batch size, patience, min_delta, monitor, and ``seed``, the
            seed of the initial weights and batches).
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
    def diverged(self) -> bool:
        """The training loss became NaN or infinite (``stop_reason == "diverged"``)."""
        return self.stop_reason == "diverged"

    @property
    def metric(self) -> str:
        return str(self.config["metric"])

    @property
    def restored(self) -> bool:
        """Early stopping's rule put back the weights of an epoch before the last one."""
        return self.config.get("patience") is not None and self.best_epoch < self.epochs_run

    def stop_note(self) -> str:
        """Why training ended and which epoch's weights the run holds, in one sentence."""
        c, b, k = self.config, self.best_epoch, self.epochs_run
        watched = (
            "the validation loss" if c.get("monitor") == "val_loss" else f"validation {self.metric}"
        )
        if self.stop_reason == "diverged":
            return (
                f"The training loss became NaN or infinite at epoch {k}; lower the learning rate. "
                f"The weights of epoch {b} are kept."
            )
        if self.stop_reason == "early_stop":
            return (
                f"Early stopping: {watched} did not improve by more than {c.get('min_delta', 0):g} "
                f"for {c.get('patience')} epochs after epoch {b}, so training stopped at epoch {k} "
                f"and restored the weights of epoch {b}."
            )
        if self.restored:
            return (
                f"Training ran all {k} epochs; {watched} was best at epoch {b}, whose weights were "
                "restored."
            )
        if c.get("patience") is None:
            low = self.lowest_epoch
            lowest = (
                "; they also have the lowest validation loss."
                if low in (0, b)
                else f"; the lowest validation loss, {self.val_loss[low - 1]:.4g}, was at epoch "
                f"{low}."
            )
            return (
                f"Training ran all {k} epochs with no early stopping, so the weights of the last "
                f"epoch are kept (validation loss {self.val_loss[b - 1]:.4g}){lowest}"
            )
        return f"Training ran all {k} epochs; the weights of the last epoch are kept."

    @property
    def early_stopping(self) -> bool:
        """The run had a patience: its kept epoch is the best one by the monitored number."""
        return self.config.get("patience") is not None

    @property
    def lowest_epoch(self) -> int:
        """The 1-based epoch of the lowest validation loss (0 if none was finite). It differs from
        :attr:`best_epoch` (the epoch whose weights are kept) without early stopping, or when
        early stopping watched the validation metric."""
        v = np.asarray(self.val_loss, dtype=np.float64)
        ok = np.isfinite(v)
        return int(np.argmin(np.where(ok, v, np.inf))) + 1 if ok.any() else 0

    @property
    def kept_label(self) -> str:
        """A short name for the kept epoch (a legend's): ``best epoch 28`` with early stopping,
        ``weights kept: epoch 400 (the last)`` without."""
        b = self.best_epoch
        if self.early_stopping:
            return f"best epoch {b}"
        return f"weights kept: epoch {b}" + (" (the last)" if b == self.epochs_run else "")

    @property
    def lowest_label(self) -> str:
        """``lowest validation loss: epoch 28`` (see :attr:`lowest_epoch`)."""
        return f"lowest validation loss: epoch {self.lowest_epoch}"

    def kept_note(self) -> str:
        """Which epoch's weights the run holds, in a line of a summary (the CLI's and the page's)."""
        b = self.best_epoch
        if self.early_stopping:
            return f"best epoch {b} " + (
                "(its weights restored)" if self.restored else "(the last; its weights kept)"
            )
        last = "the last epoch" if b == self.epochs_run else "the last finite epoch"
        return f"weights kept: {last}, {b} (no early stopping); {self.lowest_label}"

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


@dataclass(frozen=True)
class EpochInfo:
    """What :func:`train` reports to its ``on_epoch`` callback after each epoch.

    Attributes:
        epoch: epochs done (1-based); ``epochs``: the limit.
        train_loss, val_loss, train_metric, val_metric: this epoch's numbers (the metric is
            accuracy or R², named by ``metric``).
        best_epoch: the best epoch so far (the one whose weights would be restored), and
            ``best_value``: its monitored number (``val_loss``, or ``val_metric``); without
            early stopping (``early_stopping`` False) it is always this epoch, the last.
        wait: epochs since the last improvement (training stops when it reaches ``patience``).
        lowest_epoch, lowest_val_loss: the epoch of the lowest validation loss so far, and it.
        model: the model being trained; ``params``: its weights after this epoch (a pytree,
            ``model.apply(params, x)`` predicts with them).
    """

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    train_metric: float
    val_metric: float
    metric: str
    best_epoch: int
    best_value: float
    wait: int
    model: Any
    params: Any
    lowest_epoch: int = 0
    lowest_val_loss: float = math.nan
    early_stopping: bool = True

    def note(self) -> str:
        """The kept epoch so far, in one line (the page shows it while training)."""
        if self.early_stopping:
            return f"best epoch so far {self.best_epoch}" + (
                f" ({self.wait} without improvement)" if self.wait else ""
            )
        return (
            "weights kept: the last epoch (no early stopping); lowest validation loss so far: "
            f"epoch {self.lowest_epoch}"
        )


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
        key: tuple[Any, ...] = (net, loss, opt.name, tuple(sorted(opt.options.items())), batch, n)
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


def check_settings(
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
) -> None:
    """The checks :func:`train` makes before its first epoch, with the same arguments and errors,
    without training (for a caller that must refuse bad settings before it starts a run).

    Raises:
        InputError, DataError: as :func:`train`.
    """
    _checked(split, model, loss, optimizer, lr, epochs, batch_size, patience, min_delta, monitor,
             activation, seed)  # fmt: skip


def _checked(
    split: Split, model: Any, loss: str | None, optimizer: Any, lr: float | None, epochs: int,
    batch_size: int | None, patience: int | None, min_delta: float, monitor: str,
    activation: str, seed: int,
) -> tuple[int, int | None, int, int | None, int, Any, str, Any]:  # fmt: skip
    """The settings of :func:`train`, checked: ``(epochs, patience, seed, batch_size, batch,
    net, loss, optimizer)``."""
    epochs = whole_number(epochs, "epochs", 1, MAX_EPOCHS, "MAX_EPOCHS")
    if patience is not None:
        patience = whole_number(patience, "patience", none_ok=True)
    if not (isinstance(min_delta, int | float) and math.isfinite(min_delta) and min_delta >= 0):
        raise InputError(f"min_delta must be a number >= 0; got {min_delta!r}.")
    if monitor not in ("val_loss", "val_metric"):
        raise InputError(f"monitor must be val_loss or val_metric; got {monitor!r}.")
    seed = check_seed(seed, "seed")
    if lr is not None and check_lr(lr) > MAX_LR:
        raise InputError(
            f"The learning rate must be a number > 0 and at most {MAX_LR:g} (MAX_LR) to train "
            f"in float32; got {float(lr):g}."
        )
    check_split(split)
    n = len(split.x_train)
    if batch_size is not None:
        batch_size = whole_number(batch_size, "batch_size", none_ok=True)
    batch = min(n if batch_size is None else int(batch_size), n)
    net, loss = _setup(split, model, loss, activation)
    opt = choose_optimizer(optimizer, lr=lr)
    if opt.name == "newton":  # it forms the full Hessian of a flat vector, not of a network
        raise InputError(
            "newton forms the exact Hessian of a flat parameter vector and cannot train a "
            "network; use adam, adamw, gd, momentum, nesterov, adagrad, rmsprop or lbfgs."
        )
    if opt.lr is None and opt.injects_lr:  # no curvature rule for a network: a common default
        opt = choose_optimizer(optimizer, lr=1e-2)
    return epochs, patience, seed, batch_size, batch, net, loss, opt


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
    on_epoch: Callable[[EpochInfo], None] | None = None,
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
        seed: seeds the initial weights and the order of the batches, a whole number in
            ``[0, 2**32)``; the data split has its own seed (``load_dataset(seed=...)``).
        checkpoint: a folder to write ``checkpoint.npz`` into at the end (see :func:`resume`);
            while training, ``partial.json`` there marks the run unfinished.
        progress: called as ``progress(epoch, epochs)`` after each epoch.
        on_epoch: called after each epoch (before ``progress``) with an :class:`EpochInfo`:
            the epoch's losses and metrics, the best epoch so far and the current weights, for
            live curves and pictures. An exception it raises stops training (nothing is saved
            as finished).

    Raises:
        InputError: bad settings (epochs beyond :data:`MAX_EPOCHS`, a learning rate beyond
            :data:`MAX_LR`, a seed outside ``[0, 2**32)``, ...).
        DataError: a split that cannot be trained on (NaN or infinite values, one class, no
            feature column).
        TrainingInterrupted: Ctrl-C; the epochs done are in the checkpoint, marked partial.
    """

    epochs, patience, seed, batch_size, batch, net, loss, opt = _checked(
        split, model, loss, optimizer, lr, epochs, batch_size, patience, min_delta, monitor,
        activation, seed,
    )  # fmt: skip
    n = len(split.x_train)
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
    config = {
        "dataset": split.name, "source": split.source, "target": split.target,
        "split_seed": split.seed, "val": split.val, "test": split.test,
        "standardize": split.standardize, "data_fingerprint": split.fingerprint(),
        "task": split.task, "task_reason": split.task_reason, "seed": seed,
        "model": getattr(net, "spec", type(net).__name__), "activation": activation,
        "n_params": int(flat.size), "loss": loss, "metric": metric_name(split.task),
        "optimizer": opt.name, "settings": opt.describe(), "lr": opt.lr, "epochs": epochs,
        "batch_size": batch_size, "patience": patience, "min_delta": min_delta, "monitor": monitor,
    }  # fmt: skip
    folder = None if checkpoint is None else Path(checkpoint)
    stop = "max_epochs"
    start = state.epoch
    with _stop_between_epochs() as interrupted:
        if folder is not None:
            _write_partial(folder, config, state.epoch, "running")
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
                if on_epoch is not None:
                    on_epoch(_epoch_info(e + 1, epochs, row, config, state, sign, net))
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
            if on_epoch is not None:
                on_epoch(_epoch_info(e + 1, epochs, row, config, state, sign, net))
            if progress is not None:
                progress(e + 1, epochs)
            if patience is not None and state.best["wait"] >= patience:
                stop = "early_stop"
                break
            if interrupted() and e + 1 < epochs:
                stop = "interrupted"
                break
    if stop == "interrupted":
        if folder is not None:
            save_checkpoint(folder, config, state, tx)
            _write_partial(folder, config, state.epoch, "interrupted")
        raise TrainingInterrupted(state.epoch, epochs, folder)
    if state.best["params"] is None:  # not one finite epoch
        state.best.update(epoch=max(1, state.epoch), params=np.asarray(flat))
    best = unravel(jnp.asarray(state.best["params"]))
    test_loss, test_out = evaluate(best, jnp.asarray(split.x_test), jnp.asarray(split.y_test))
    if folder is not None:
        save_checkpoint(folder, config, state, tx)
        (folder / PARTIAL).unlink(missing_ok=True)
    h = {k: np.asarray(v, dtype=np.float64) for k, v in state.history.items()}
    return Training(
        config=config, **h, best_epoch=int(state.best["epoch"]), epochs_run=state.epoch,
        stop_reason=stop, weights=np.asarray(state.best["params"], dtype=np.float32),
        test_loss=float(test_loss), test_metric=metric(split.task, np.asarray(test_out), split.y_test),
        trajectory=np.asarray(state.trajectory, dtype=np.float32),
        trajectory_epochs=np.asarray(state.trajectory_epochs, dtype=np.int64),
    )  # fmt: skip


def _epoch_info(
    epoch: int, epochs: int, row: dict[str, float], config: dict[str, Any], state: _State,
    sign: float, net: Any,
) -> EpochInfo:  # fmt: skip
    has_best = state.best["params"] is not None
    v = np.asarray(state.history["val_loss"], dtype=np.float64)
    ok = np.isfinite(v)
    low = int(np.argmin(np.where(ok, v, np.inf))) if ok.any() else -1
    return EpochInfo(
        epoch=epoch, epochs=epochs, train_loss=row["train_loss"], val_loss=row["val_loss"],
        train_metric=row["train_metric"], val_metric=row["val_metric"], metric=config["metric"],
        best_epoch=int(state.best["epoch"]),
        best_value=float(sign * state.best["value"]) if has_best else math.nan,
        wait=int(state.best.get("wait", 0)), model=net, params=state.params,
        lowest_epoch=low + 1, lowest_val_loss=float(v[low]) if low >= 0 else math.nan,
        early_stopping=config["patience"] is not None,
    )  # fmt: skip


def snippet(config: dict[str, Any], data: str | None = None) -> str:
    """Python that reproduces a run from its ``config`` (:attr:`Training.config`): the same data
    split, model, loss, optimizer, learning rate, batches, early stopping and seeds, so running it
    gives the same numbers.

    Args:
        data: the data as the reader of the code should name it (default: the config's source,
            a built-in name or the path of the data file).
    """
    source = data if data is not None else (config.get("source") or config["dataset"])
    load_args = [repr(str(source))]
    if config.get("target") is not None:
        load_args.append(f"target={config['target']!r}")
    load_args.append(f"seed={config['split_seed']!r}")
    for key, default in (("val", 0.2), ("test", 0.2), ("standardize", True)):
        if config.get(key, default) != default:
            load_args.append(f"{key}={config[key]!r}")
    if config.get("task_reason") == "as asked":
        load_args.append(f"task={config['task']!r}")
    train_args = [
        f"{config['model']!r}", f"loss={config['loss']!r}", f"activation={config['activation']!r}",
        f"optimizer={config['optimizer']!r}", f"lr={config['lr']!r}", f"epochs={config['epochs']!r}",
        f"batch_size={config['batch_size']!r}", f"patience={config['patience']!r}",
        f"min_delta={config['min_delta']!r}", f"monitor={config['monitor']!r}",
        f"seed={config['seed']!r}",
    ]  # fmt: skip
    lines = [
        "import gradscape as gs",
        "",
        f"split = gs.load_dataset({', '.join(load_args)})",
        "run = gs.train(",
        "    split,",
        *(f"    {a}," for a in train_args),
        ")",
        "print(run.stop_note())",
        "print(run.metrics())",
    ]
    return "\n".join(lines) + "\n"


# -- checks -----------------------------------------------------------------------------------------
def check_split(split: Split) -> None:
    """Refuse a split no model can be trained on: parts of mismatched shapes, NaN or infinite
    values (after the cast to float32), labels outside the classes, one class, no feature."""

    n_feat = split.x_train.shape[1] if split.x_train.ndim == 2 else 0
    for part in ("train", "val", "test"):
        x, y = getattr(split, f"x_{part}"), getattr(split, f"y_{part}")
        if x.ndim != 2 or x.shape[1] != n_feat or y.shape != (x.shape[0],) or not len(y):
            raise DataError(
                f"The {part} part of {split.name} has features of shape {x.shape} and targets of "
                f"shape {y.shape}; every part needs rows × {n_feat} features and one target a row."
            )
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise DataError(
                f"The {part} part of {split.name} holds NaN or infinite values (after the cast to "
                "float32, whose largest number is 3.4e38); clean or rescale the data."
            )
        if split.task == "classification" and not np.all((y >= 0) & (y < len(split.classes))):
            raise DataError(
                f"The {part} targets of {split.name} must be class numbers 0 to "
                f"{len(split.classes) - 1}; got {y.min()} to {y.max()}."
            )
    what = f"target {split.target!r}" if split.target is not None else "target"
    _check_trainable(split.x_train, split.y_train, split.task, split.classes, split.name, what)


@contextmanager
def _stop_between_epochs() -> Iterator[Callable[[], bool]]:
    """Ctrl-C sets a flag the loop reads after each epoch (a compiled epoch cannot stop midway);
    a second Ctrl-C interrupts at once. Outside the main thread, or where the program has its
    own SIGINT handler, nothing changes (a handler that only interrupts, as Python's default and
    the command line's, marked ``interrupts_at_once``, is no handler of the program's own)."""

    hits: list[int] = []
    current = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not (
        current is signal.default_int_handler or getattr(current, "interrupts_at_once", False)
    ):
        yield lambda: False
        return

    def handler(signum: int, frame: Any) -> None:
        if hits:
            raise KeyboardInterrupt
        hits.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, previous)


# -- files -----------------------------------------------------------------------------------------
def _replace(path: Path, write: Callable[[Any], None]) -> Path:
    """Write ``path`` atomically: into a temporary file beside it, then rename over it, so an
    interrupted or failed write never leaves a file that looks complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _resume_hint(folder: Path) -> str:
    return f"gradscape.resume({str(folder)!r})"


def _write_partial(folder: Path, config: dict[str, Any], done: int, state: str) -> None:
    """``partial.json``: the run is unfinished (``running``, or ``interrupted`` after ``done``
    epochs, resumable from the checkpoint)."""
    info = {
        "partial": True, "state": state, "epochs_done": done, "epochs": config["epochs"],
        "dataset": config["dataset"], "split_seed": config["split_seed"], "seed": config["seed"],
        "resume": _resume_hint(folder) if state == "interrupted" else None,
    }  # fmt: skip
    text = json.dumps(info, indent=2) + "\n"
    _replace(folder / PARTIAL, lambda fh: fh.write(text.encode()))


def _read_partial(folder: Path) -> dict[str, Any] | None:
    """What ``partial.json`` says (empty when it cannot be read), or ``None`` without one."""
    path = folder / PARTIAL
    if not path.exists():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


# -- checkpoints -----------------------------------------------------------------------------------
def save_checkpoint(folder: str | Path, config: dict[str, Any], state: _State, tx: Any) -> Path:
    """Write weights, optimizer state, config and history to ``folder/checkpoint.npz``
    (atomically)."""

    leaves = jax.tree_util.tree_leaves(state.opt_state)
    arrays = {f"opt_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
    arrays["params"] = np.asarray(ravel_pytree(state.params)[0])
    best = state.best["params"]
    arrays["best_params"] = np.asarray(best) if best is not None else np.empty(0, np.float32)
    arrays["trajectory"] = np.asarray(state.trajectory)
    arrays["trajectory_epochs"] = np.asarray(state.trajectory_epochs)
    meta = {
        "config": config, "epoch": state.epoch, "history": state.history,
        "best": {k: v for k, v in state.best.items() if k != "params"}, "opt_leaves": len(leaves),
    }  # fmt: skip
    arrays["meta"] = np.array(json.dumps(meta))

    def write(fh: Any) -> None:
        np.savez(fh, **arrays)  # type: ignore[arg-type]

    return _replace(Path(folder) / "checkpoint.npz", write)


def _damaged(path: Path, what: str) -> InputError:
    return InputError(f"{path} {what}; the run folder is damaged: train the run again.")


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checkpoint's meta and arrays, after its sizes are checked."""

    check_npz(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
    except KeyError:
        raise _damaged(path, "has no meta entry") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise _damaged(path, f"cannot be read ({exc})") from None
    keys = ("config", "epoch", "history", "best", "opt_leaves")
    missing = [k for k in keys if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise _damaged(path, f"lacks {', '.join(map(repr, missing))}")
    need = ["params", "best_params"] + [f"opt_{i}" for i in range(int(meta["opt_leaves"]))]
    absent = [k for k in need if k not in arrays]
    if absent:
        raise _damaged(path, f"lacks the arrays {', '.join(absent)}")
    return meta, arrays


def resume(
    folder: str | Path,
    split: Split | None = None,
    *,
    epochs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Training:
    """Continue a run from ``folder/checkpoint.npz`` up to ``epochs`` in all (default: the limit it
    was started with), exactly as if it had not stopped (same batches, same optimizer state). A
    run stopped by Ctrl-C continues from its last complete epoch.

    Args:
        split: the data split (default: made again from the checkpoint's config); it must be the
            one the run was trained on.

    Raises:
        InputError: no checkpoint, a damaged one, or another split.
    """

    folder = Path(folder)
    path = folder / "checkpoint.npz"
    if not path.is_file():
        raise InputError(f"No checkpoint in {str(folder)!r} (expected checkpoint.npz).")
    meta, arrays = _read_checkpoint(path)
    c = meta["config"]
    _check_config(c, path)
    if split is None:
        split = _remake_split(c, path)
    _check_same_split(c, split, path)
    net, _ = _setup(split, c["model"], c["loss"], c["activation"])
    opt = choose_optimizer(c["optimizer"], lr=c["lr"])
    tx = opt.transformation()
    template = net.init(jax.random.PRNGKey(0))
    flat, unravel = ravel_pytree(template)
    params_flat, best_flat = arrays["params"], arrays["best_params"]
    if params_flat.shape != flat.shape or best_flat.shape not in (flat.shape, (0,)):
        raise _damaged(
            path,
            f"holds {params_flat.size:,} weights; {c['model']} on {split.name} has {flat.size:,}",
        )
    if not np.all(np.isfinite(params_flat)):
        raise _damaged(path, "holds NaN or infinite weights")
    leaves, treedef = jax.tree_util.tree_flatten(tx.init(template))
    saved = [arrays[f"opt_{i}"] for i in range(int(meta["opt_leaves"]))]
    if [np.shape(a) for a in leaves] != [a.shape for a in saved]:
        raise _damaged(path, f"holds an optimizer state that does not fit {c['optimizer']}")
    params = unravel(jnp.asarray(params_flat))
    opt_state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a) for a in saved])
    best = {**meta["best"], "params": best_flat if best_flat.size else None}
    traj = list(arrays.get("trajectory", []))
    traj_epochs = [int(v) for v in arrays.get("trajectory_epochs", [])]
    state = _State(params, opt_state, int(meta["epoch"]), best, meta["history"], traj, traj_epochs)
    return train(
        split, c["model"], loss=c["loss"], optimizer=c["optimizer"], lr=c["lr"],
        epochs=int(c["epochs"]) if epochs is None else epochs,
        batch_size=c["batch_size"], patience=c["patience"], min_delta=c["min_delta"],
        monitor=c["monitor"], activation=c["activation"], seed=c["seed"], progress=progress,
        checkpoint=folder, _resume=state,
    )  # fmt: skip


def unravel_weights(result: Training, model: Model) -> Any:
    """The weights of a finished run as the model's pytree."""

    _, unravel = ravel_pytree(model.init(jax.random.PRNGKey(0)))
    return unravel(jnp.asarray(result.weights))


# -- a finished run as an objective ------------------------------------------------------------
_REQUIRED = ("dataset", "source", "model", "loss", "activation", "task", "split_seed", "seed")
_IDENTITY = (*_REQUIRED, "target", "n_params", "val", "test", "standardize", "data_fingerprint")


def _check_config(config: Any, where: Path) -> None:
    if not isinstance(config, dict):
        raise _damaged(where, "holds no config")
    missing = [k for k in _REQUIRED if k not in config]
    if missing:
        raise _damaged(where, f"lacks {', '.join(map(repr, missing))} in its config")


def _check_config_json(folder: Path, config: dict[str, Any]) -> None:
    """``config.json`` (the readable copy) must agree with the config inside ``training.npz``."""
    path = folder / "config.json"
    if not path.exists():
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _damaged(path, f"cannot be read ({exc})") from None
    if not isinstance(saved, dict):
        raise _damaged(path, "is not a JSON object")
    missing = [k for k in _REQUIRED if k not in saved]
    if missing:
        raise _damaged(path, f"lacks {', '.join(map(repr, missing))}")
    for k in _IDENTITY:
        if k in saved and k in config and saved[k] != config[k]:
            raise _damaged(path, f"says {k} is {saved[k]!r} but training.npz says {config[k]!r}")


def _remake_split(c: dict[str, Any], where: Path) -> Split:
    """The run's split made again from its config (the source, target, seed and shares)."""

    try:
        source = c.get("source") or c["dataset"]
        # a built-in has its own target (older runs may have recorded an ignored one)
        target = None if source in BUILTIN else c.get("target")
        return load(
            source, target=target, seed=c["split_seed"],
            val=c.get("val", 0.2), test=c.get("test", 0.2),
            standardize=c.get("standardize", True), task=c.get("task"),
        )  # fmt: skip
    except GradscapeError as exc:
        raise InputError(f"The data of {where} cannot be loaded again: {exc}") from None


def _check_same_split(c: dict[str, Any], split: Split, where: Path) -> None:
    """The split must hold the rows the run was trained on."""
    fp = c.get("data_fingerprint")
    same = (
        split.fingerprint() == fp
        if fp
        else (c["dataset"], c["split_seed"]) == (split.name, split.seed)
    )
    if not same:
        raise InputError(
            f"{where} was trained on {c['dataset']} split with seed {c['split_seed']}, and this "
            f"split ({split.name}, split seed {split.seed}) holds other rows; use the same data "
            "and split seed (the data file may have changed since)."
        )


def _read_training(path: Path) -> Training:

    check_npz(path)
    try:
        return Training.load(path)
    except GradscapeError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, TypeError,
            AttributeError) as exc:  # fmt: skip
        raise _damaged(path, f"cannot be read ({type(exc).__name__}: {exc})") from None


def _check_weights(result: Training, n: int, model: str, path: Path) -> None:
    """The saved weights fit the model, are finite, and the history agrees with itself."""
    w = result.weights
    if w.ndim != 1 or w.size != n:
        raise _damaged(path, f"holds {w.size:,} weights but its model {model} has {n:,}")
    if not np.all(np.isfinite(w)):
        raise InputError(
            f"{path} holds NaN or infinite weights (a run that diverged, or an edited file); "
            "landscapes and spectra need finite weights."
        )
    k = result.epochs_run
    lengths = {len(a) for a in (result.train_loss, result.val_loss, result.train_metric,
                                result.val_metric)}  # fmt: skip
    if lengths != {k} or not 1 <= result.best_epoch <= max(k, 1):
        raise _damaged(path, f"has a history that does not match its {k} epochs")
    t = result.trajectory
    if t is not None and t.size and (t.ndim != 2 or t.shape[1] != n):
        raise _damaged(path, f"has a trajectory of shape {t.shape}, not (k, {n})")


def load_run(folder: str | Path) -> tuple[Training, Split, Any]:
    """A run written by ``gradscape train``: its result, its split (made again from the recorded
    source and split seed, and checked to hold the same rows) and its model.

    Raises:
        InputError: not a run folder, an unfinished run, or damaged files (each named): a
            truncated or oversized ``training.npz``, a config that lacks a key or disagrees with
            ``config.json``, weights that do not fit the model or are not finite, a data file
            that changed since training.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise InputError(f"{str(folder)!r} {what}; give the run folder that gradscape train wrote.")
    path = folder / "training.npz"
    info = _read_partial(folder)
    if info is not None or not path.is_file():
        if info is not None:  # a finished run's files may lie beside it: the folder is not one run
            done = f"{info.get('epochs_done', '?')} of {info.get('epochs', '?')} epochs done"
            if (folder / "checkpoint.npz").is_file():
                raise InputError(
                    f"{folder} holds an unfinished run ({info.get('state', '?')}, {done}); finish it "
                    f"with {_resume_hint(folder)} or train it again."
                )
            raise InputError(
                f"{folder} holds a run that never finished and left no checkpoint ({done}; "
                "killed, or still running); train it again."
            )
        raise InputError(
            f"{str(folder)!r} is not a training run (no training.npz); make one with gradscape train."
        )
    result = _read_training(path)
    c = result.config
    _check_config(c, path)
    _check_config_json(folder, c)
    split = _remake_split(c, path)
    _check_same_split(c, split, path)
    try:
        net, _ = _setup(split, c["model"], c["loss"], c["activation"])
    except InputError as exc:
        raise _damaged(path, f"has a config that names no model ({exc})") from None

    n = int(ravel_pytree(net.init(jax.random.PRNGKey(0)))[0].size)
    _check_weights(result, n, str(c["model"]), path)
    return result, split, net


def loss_objective(result: Training, split: Split, net: Any, part: str = "train") -> Any:
    """The loss on a part of the split (``train``, ``val`` or ``test``) as an
    :class:`~gradscape.objectives.Objective` of the flat weights, and the best weights."""

    x = jnp.asarray(getattr(split, f"x_{part}"))
    y = jnp.asarray(getattr(split, f"y_{part}"))
    _, unravel = ravel_pytree(net.init(jax.random.PRNGKey(0)))
    lossf = loss_fn(result.config["loss"])
    w = jnp.ones(x.shape[0])

    def f(theta: Any) -> Any:
        return lossf(net.apply(unravel(theta), x), y, w)

    names = tuple(f"w{i}" for i in range(result.weights.size))
    return Objective(f, names=names, label=f"{part} loss"), result.weights
