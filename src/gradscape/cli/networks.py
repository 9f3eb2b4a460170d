"""Verbs on neural networks: ``train``, ``landscape``, ``spectrum``."""

from __future__ import annotations

import argparse
import math

from ..errors import GradscapeError
from .common import (
    EXIT_DIVERGED,
    _out_dir,
    _progress,
    _publish,
    _show,
    _write_json,
)


def _cmd_train(args: argparse.Namespace) -> int:
    from .. import plot
    from ..datasets import load
    from ..training import train

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
    status = EXIT_DIVERGED if result.stop_reason == "diverged" else 0
    result.save(out / "training.npz")
    fig = plot.training_curves(result)
    files = ["checkpoint.npz", "training.npz", plot.save(fig, out / "curves.png").name,
             "metrics.json", "config.json"]  # fmt: skip
    metrics = {**result.metrics(), "files": sorted(files)}
    _write_json(out / "config.json", result.config)
    if _publish(args, out / "metrics.json", metrics):
        return status
    c = result.config
    m = result.metric
    b = result.best_epoch - 1
    lines = [
        split.describe(),
        f"task {split.task}: {split.task_reason}",
        f"model {c['model']} ({c['n_params']:,} weights), loss {c['loss']}, {c['settings']}, "
        f"batch {c['batch_size'] or 'full'}",
        "",
        f"stopped: {result.stop_reason} after {result.epochs_run} epochs; best epoch "
        f"{result.best_epoch} (its weights restored)",
        f"train loss {result.train_loss[b]:.4g}, validation loss {result.val_loss[b]:.4g}, "
        f"validation {m} {result.val_metric[b]:.4g}",
        f"test loss {result.test_loss:.4g}, test {m} {result.test_metric:.4g}",
    ]
    if status:
        lines.append(
            f"the training loss became NaN or infinite at epoch {result.epochs_run}: lower --lr"
        )
    _show(out, "gradscape train", [("Training", lines)], sorted(files))
    return status


def _cmd_landscape(args: argparse.Namespace) -> int:
    from .. import plot
    from ..landscapes import landscape
    from ..training import load_run

    result, split, net = load_run(args.run_dir)
    other = load_run(args.between)[0] if args.between else None
    with _progress("landscape") as progress:
        land = landscape(result, split, net, dims=args.dims, grid=args.grid, span=args.span,
                         directions=args.directions, between=other, subsample=args.subsample,
                         seed=args.seed, progress=progress)  # fmt: skip
    out = _out_dir(args)
    land.save(out / "landscape.npz")
    files = ["landscape.npz", "summary.json"] + [p.name for p in plot.landscape_figures(land, out)]
    summary = {"run": str(args.run_dir), **land.summary(), "files": sorted(files)}
    if _publish(args, out / "summary.json", summary):
        return 0
    size = land.alphas.size
    points = f"{size} points" if land.shape == "line" else f"{size} × {size} points"
    lines = [
        f"{land.description()}, through the best weights of {args.run_dir}",
        f"{points}, the loss on {land.rows} training rows",
        f"loss at the trained weights: {land.center_loss:.6g}; on the grid from "
        f"{summary['min']:.6g} to {summary['max']:.6g}",
    ]
    if land.kind == "between":
        lines.append(f"loss at the other run: {land.end_loss:.6g}; barrier on the way: "
                     f"{summary['barrier']:.4g}")  # fmt: skip
    if land.explained.size:
        lines.append(land.explained_text())
    lines += [f"warning: {w}" for w in land.warnings]
    _show(out, "gradscape landscape", [("Loss landscape", lines)], sorted(files))
    return 0


def _cmd_spectrum(args: argparse.Namespace) -> int:
    import numpy as np

    from .. import plot
    from ..spectra import spectrum
    from ..story import table
    from ..training import load_run, loss_objective

    result, split, net = load_run(args.run_dir)
    obj, weights = loss_objective(result, split, net)
    blocks = None
    if args.layers:
        import jax

        from ..spectra import layer_slices

        blocks = layer_slices(net.init(jax.random.PRNGKey(0)))
    with _progress("spectrum"):
        sp = spectrum(obj, weights, top=args.top, bottom=args.bottom, steps=args.steps,
                      trace=args.trace, density=args.density, exact=args.exact, layers=blocks,
                      seed=args.seed)  # fmt: skip
    out = _out_dir(args)
    sp.save(out / "spectrum.npz")
    files = ["spectrum.npz", "summary.json"]
    if args.density:
        files.append(plot.save(plot.spectral_density(sp), out / "density.png").name)
    summary = {"run": str(args.run_dir), **sp.summary(), "files": sorted(files)}
    if _publish(args, out / "summary.json", summary):
        return 0
    lines = [f"Hessian of the {sp.label} at the best weights of {args.run_dir} ({sp.n:,} weights), "
             f"{sp.steps} Lanczos steps", ""]  # fmt: skip
    exact = np.sort(sp.exact) if sp.exact.size else None
    gaps = sp.exact_gaps()
    rows = []
    parts = (("top", sp.top, sp.top_residual, None if exact is None else exact[::-1]),
             ("bottom", sp.bottom, sp.bottom_residual, exact))  # fmt: skip
    for name, values, residuals, ref in parts:
        for i, (v, r) in enumerate(zip(values, residuals, strict=True)):
            row = [f"{name} {i + 1}", f"{v:.6g}", f"{r:.1e}"]
            if ref is not None:
                row += [f"{ref[i]:.6g}", f"{gaps[name][i]:.1e}"]
            rows.append(row)
    head = ["", "Lanczos", "residual bound"] + (["exact", "error"] if exact is not None else [])
    lines += table(head, rows, "l" + "r" * (len(head) - 1))
    lines.append(
        f"each bound includes the rounding of the Hessian-vector products, {sp.rounding:.1e}"
    )
    if args.trace:
        lines += ["", f"trace ≈ {sp.trace:.6g} ± {sp.trace_stderr:.2g} (Hutchinson, {sp.trace_samples} "
                  "vectors, deflated)" + (f"; exact {exact.sum():.6g}" if exact is not None else "")]  # fmt: skip
    for name, block in (sp.layers or {}).items():
        lines.append(f"{name} ({block['size']:,} weights): top "
                     + ", ".join(f"{v:.4g}" for v in block["top"]) + "; bottom "
                     + ", ".join(f"{v:.4g}" for v in block["bottom"]))  # fmt: skip
    _show(out, "gradscape spectrum", [("Hessian spectrum", lines)], sorted(files))
    return 0
