"""Verbs on neural networks: ``train``, ``landscape``, ``spectrum``."""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

from .._files import json_text
from ..errors import GradscapeError
from .common import (
    EXIT_DIVERGED,
    _add_cluster,
    _add_int,
    _add_output,
    _add_seed,
    _add_verb,
    _chunked,
    _float_in,
    _out_dir,
    _progress,
    _publish,
    _show,
)


def register(sub: Any) -> None:
    """The verbs on neural networks: ``train``, ``landscape``, ``spectrum``."""
    tr = _add_verb(
        sub, "train", _cmd_train,
        "train a model by backpropagation, stopping early on a validation set",
        "Train linear, logistic or MLP models on a built-in dataset or a CSV file; record train "
        "and validation loss per epoch, stop when the validation loss has not improved for "
        "--patience epochs, restore the best epoch's weights and score the test set.",
    )  # fmt: skip
    tr.add_argument(
        "--data", required=True, metavar="NAME|CSV",
        help="digits, breast_cancer, diabetes, iris, wine, moons, circles, spirals, line, or a data file",
    )  # fmt: skip
    tr.add_argument("--target", metavar="COL", help="the CSV column to predict")
    tr.add_argument("--model", default="mlp:64", help="linear, logistic or mlp:H1,H2,...")
    tr.add_argument("--activation", default="relu", help="relu, tanh, sigmoid, gelu, softplus")
    tr.add_argument("--loss", help="cross_entropy (classes) or mse / sse (default by task)")
    tr.add_argument("--optimizer", default="adam", metavar="NAME", help="any of the family")
    tr.add_argument("--lr", type=_float_in(0.0, 1e4), default=1e-3, help="learning rate")
    _add_int(tr, "--epochs", 1, 10**6, 300, "epoch limit")
    _add_int(tr, "--batch-size", 1, 10**7, 32, "rows per step; see --full-batch")
    tr.add_argument("--full-batch", action="store_true", help="one step per epoch on all rows")
    _add_int(tr, "--patience", 1, 10**5, 20, "epochs without improvement")
    tr.add_argument(
        "--min-delta", type=_float_in(0.0, 1e300, lo_open=False), default=0.0,
        help="the improvement that counts",
    )  # fmt: skip
    tr.add_argument(
        "--monitor", choices=("val_loss", "val_metric"), default="val_loss",
        help="what early stopping watches",
    )  # fmt: skip
    _add_seed(tr, "seeds the initial weights and batches")
    _add_seed(tr, "seeds the data split", "--split-seed")
    tr.add_argument(
        "--task", choices=("classification", "regression"),
        help="how to read the target (default: classes for labels and few whole numbers)",
    )  # fmt: skip
    _add_output(
        tr,
        "run",
        "folder for the run: checkpoint, curves, metrics.json, report.html",
        "print metrics.json",
    )

    land = _add_verb(
        sub, "landscape", _cmd_landscape,
        "the loss around a trained run along random, Hessian or trajectory directions",
        "Evaluate the training loss on a line or plane through a run's best weights: "
        "filter-normalised random directions, the top Hessian eigenvectors, or the plane of the "
        "training trajectory (PCA); or along the straight line to another run's weights.",
    )  # fmt: skip
    _add_source(land)
    land.add_argument(
        "--dims", type=int, choices=(1, 2), default=None,
        help="1 a line or 2 a plane (default 2; with --between the line joining the runs)",
    )  # fmt: skip
    _add_int(land, "--grid", 3, 1001, 51, "points per axis")
    land.add_argument("--span", type=_float_in(0.0, 1e3), default=1.0, help="the grid covers ±span")
    land.add_argument(
        "--directions", choices=("random", "hessian", "pca"), default="random",
        help="random (filter-normalised), hessian (top eigenvectors) or pca (the trajectory's "
        "principal components)",
    )  # fmt: skip
    land.add_argument(
        "--between", metavar="RUN_DIR2",
        help="the line from this run to another (with --torch: another FILE.py or a saved state_dict)",
    )  # fmt: skip
    _add_int(land, "--subsample", 1, 10**7, None, "evaluate on this many training rows")
    _add_seed(land, "seeds the directions and the subsample")
    _add_output(
        land, "landscape", "folder for landscape.npz, figures, summary.json and report.html",
        "print the summary as JSON",
    )  # fmt: skip
    _add_cluster(land)

    spec = _add_verb(
        sub, "spectrum", _cmd_spectrum,
        "Hessian eigenvalues, trace and spectral density of a trained run's loss",
        "Largest and most negative eigenvalues of the Hessian of the training loss at the run's "
        "weights by Lanczos on Hessian-vector products, the trace by Hutchinson's estimator, the "
        "spectral density by stochastic Lanczos quadrature; --exact checks them against the full "
        "Hessian of a small model.",
    )  # fmt: skip
    _add_source(spec)
    _add_int(spec, "--top", 0, 100, 5, "largest eigenvalues")
    _add_int(spec, "--bottom", 0, 100, 5, "smallest (most negative) eigenvalues")
    _add_int(spec, "--steps", 1, 1000, 80, "Lanczos iterations")
    for flag, help in (
        ("--trace", "estimate the trace (Hutchinson)"),
        ("--density", "estimate the spectral density (SLQ)"),
        ("--exact", "also form the exact Hessian (small models)"),
        ("--layers", "also each layer's Hessian block"),
    ):
        spec.add_argument(flag, action="store_true", help=help)
    _add_seed(spec, "seeds the random vectors")
    _add_output(
        spec, "spectrum", "folder for spectrum.npz, summary.json, report.html and density.png",
        "print the summary as JSON",
    )  # fmt: skip


def _add_source(parser: argparse.ArgumentParser) -> None:
    """``RUN_DIR`` or ``--torch FILE.py``: a gradscape run, or the user's own PyTorch model."""
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", nargs="?",
        help="a folder written by gradscape train (or give --torch instead)",
    )  # fmt: skip
    parser.add_argument(
        "--torch", metavar="FILE.py",
        help="your own PyTorch model instead of RUN_DIR: a Python file (it runs as Python) "
        "defining model(), data() and optionally loss(); needs gradscape[torch]",
    )  # fmt: skip


def _source(args: argparse.Namespace) -> Any:
    """The user's PyTorch file for ``--torch`` (None for a RUN_DIR); exactly one is given."""
    if (args.run_dir is None) == (args.torch is None):
        raise GradscapeError(
            "Give exactly one of RUN_DIR (a folder written by gradscape train) or --torch "
            "FILE.py (your own PyTorch model)."
        )
    if args.torch is None:
        return None
    from .torch_file import load_torch_file

    return load_torch_file(args.torch)


def _cmd_train(args: argparse.Namespace) -> int:
    from ..networks.datasets import load
    from ..networks.training import train
    from ..run_files import TRAINING_FILES, training_sections, write_training

    split = load(args.data, target=args.target, seed=args.split_seed, task=args.task)
    if not (math.isfinite(args.min_delta) and args.min_delta >= 0):
        raise GradscapeError(f"--min-delta must be a number >= 0; got {args.min_delta}.")
    out = _out_dir(args, staged=False)  # checkpoints land as training goes, for resume
    # Ctrl-C raises TrainingInterrupted (a KeyboardInterrupt) after marking the folder partial
    with _progress("training") as progress:
        result = train(
            split, args.model, loss=args.loss, optimizer=args.optimizer, lr=args.lr,
            epochs=args.epochs, batch_size=None if args.full_batch else args.batch_size,
            patience=args.patience, min_delta=args.min_delta, monitor=args.monitor,
            activation=args.activation, seed=args.seed, progress=progress, checkpoint=out,
        )  # fmt: skip
    # the status depends on the run, never on the output format
    status = EXIT_DIVERGED if result.diverged else 0
    metrics = write_training(out, result, split)
    if args.json:
        print(json_text(metrics))
        return status
    _show(out, "gradscape train", training_sections(result, split), sorted(TRAINING_FILES))
    return status


def _cmd_landscape(args: argparse.Namespace) -> int:
    user = _source(args)
    if user is None:
        from ..networks.landscapes import landscape
        from ..networks.training import load_run

        result, split, net = load_run(args.run_dir)
        other = load_run(args.between)[0] if args.between else None
    else:
        from .. import torch as gtorch
        from .torch_file import load_other

        other = load_other(args.between) if args.between else None
        traj = user.trajectory() if args.directions == "pca" and other is None else None
    out = _out_dir(args)
    with _chunked(args) as chunks, _progress("landscape") as progress:
        if user is None:
            land = landscape(result, split, net, dims=args.dims, grid=args.grid, span=args.span,
                             directions=args.directions, between=other, subsample=args.subsample,
                             seed=args.seed, progress=progress, **chunks)  # fmt: skip
        else:
            land = gtorch.landscape(
                user.model, user.data, user.loss, dims=args.dims, grid=args.grid, span=args.span,
                directions="trajectory" if traj is not None else args.directions,
                trajectory=traj, between=other, subsample=args.subsample, seed=args.seed,
                progress=progress, **chunks,
            )  # fmt: skip
    where = (
        f"the best weights of {args.run_dir}"
        if user is None
        else f"the weights of {args.torch}'s model()"
    )
    return _publish_landscape(args, land, where, out)


def _publish_landscape(args: argparse.Namespace, land: Any, where: str, out: Any) -> int:
    """Write and show a landscape (of a gradscape run or of a PyTorch model) into ``out``."""
    from .. import plot
    from ..saved import shown

    land = dataclasses.replace(
        land, weights_of=where, rows_of="rows of data()" if args.torch else "training rows"
    )
    land.save(out / "landscape.npz")
    pngs = [p.name for p in plot.landscape_figures(land, out)]
    files = ["landscape.npz", "report.html", "summary.json", *pngs]
    summary = {"run": str(args.run_dir or args.torch), **land.summary(), "files": sorted(files)}
    view = shown(land)
    sections = view.sections
    view.write_report(out, files)
    if _publish(args, out / "summary.json", summary):
        return 0
    _show(out, "gradscape landscape", sections, sorted(files))
    return 0


def _cmd_spectrum(args: argparse.Namespace) -> int:
    user = _source(args)
    if user is not None:
        from .. import torch as gtorch

        with _progress("spectrum") as progress:
            sp = gtorch.spectrum(user.model, user.data, user.loss, top=args.top,
                                 bottom=args.bottom, steps=args.steps, trace=args.trace,
                                 density=args.density, exact=args.exact, layers=args.layers,
                                 seed=args.seed, progress=progress)  # fmt: skip
        return _publish_spectrum(args, sp, f"the weights of {args.torch}'s model()")
    from ..networks.spectra import spectrum
    from ..networks.training import load_run, loss_objective

    result, split, net = load_run(args.run_dir)
    obj, weights = loss_objective(result, split, net)
    blocks = None
    if args.layers:
        import jax

        from ..networks.spectra import layer_slices

        blocks = layer_slices(net.init(jax.random.PRNGKey(0)))
    with _progress("spectrum"):
        sp = spectrum(obj, weights, top=args.top, bottom=args.bottom, steps=args.steps,
                      trace=args.trace, density=args.density, exact=args.exact, layers=blocks,
                      seed=args.seed)  # fmt: skip
    return _publish_spectrum(args, sp, f"the best weights of {args.run_dir}")


def _publish_spectrum(args: argparse.Namespace, sp: Any, where: str) -> int:
    """Write and show a spectrum (of a gradscape run or of a PyTorch model)."""
    from .. import plot
    from ..saved import shown

    out = _out_dir(args)
    sp = dataclasses.replace(sp, weights_of=where)
    sp.save(out / "spectrum.npz")
    files = ["spectrum.npz", "report.html", "summary.json"]
    if args.density:
        files.append(plot.save(plot.spectral_density(sp), out / "density.png").name)
    summary = {"run": str(args.run_dir or args.torch), **sp.summary(), "files": sorted(files)}
    view = shown(sp)
    sections = view.sections
    view.write_report(out, files)
    if _publish(args, out / "summary.json", summary):
        return 0
    _show(out, "gradscape spectrum", sections, sorted(files))
    return 0
