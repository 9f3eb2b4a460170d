"""The folder of a trained run as ``gradscape train --out`` leaves it, written by one function
so the command line and the page's export hold the same files: ``checkpoint.npz`` (written by
training), ``training.npz``, ``curves.png``, ``config.json``, ``metrics.json`` and
``report.html``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import figures, plot, report
from ._files import write_json
from .networks.datasets import Split
from .networks.training import Training
from .story import Section

#: The files of a finished run's folder.
TRAINING_FILES = ("checkpoint.npz", "training.npz", "curves.png", "metrics.json", "config.json",
                  "report.html")  # fmt: skip


def training_sections(result: Training, split: Split) -> list[Section]:
    """The story of a training run: the data, the model, where and why it stopped, its scores."""
    c = result.config
    m = result.metric
    b = result.best_epoch - 1
    lines = [
        split.describe(),
        f"task {split.task}: {split.task_reason}",
        f"model {c['model']} ({c['n_params']:,} weights), loss {c['loss']}, {c['settings']}, "
        f"batch {c['batch_size'] or 'full'}",
        "",
        f"stopped: {result.stop_reason} after {result.epochs_run} epochs; {result.kept_note()}",
        f"train loss {result.train_loss[b]:.4g}, validation loss {result.val_loss[b]:.4g}, "
        f"validation {m} {result.val_metric[b]:.4g}",
        f"test loss {result.test_loss:.4g}, test {m} {result.test_metric:.4g}",
    ]
    if result.diverged:
        lines.append(
            f"the training loss became NaN or infinite at epoch {result.epochs_run}: lower --lr"
        )
    return [("Training", lines)]


def write_training(folder: str | Path, result: Training, split: Split) -> dict[str, Any]:
    """Write a finished run's files into ``folder`` (its checkpoint is already there) and return
    ``metrics.json``'s content (the metrics and the files)."""
    out = Path(folder)
    result.save(out / "training.npz")
    plot.save(plot.training_curves(result), out / "curves.png")
    metrics = {**result.metrics(), "files": sorted(TRAINING_FILES)}
    write_json(out / "config.json", result.config)
    write_json(out / "metrics.json", metrics)
    cap = "Loss and metric per epoch on the training and validation sets; the best epoch marked"
    report.write_report(
        out, "gradscape train", training_sections(result, split),
        {"Training": [(f, cap) for f in figures.train(result).values()]}, TRAINING_FILES,
    )  # fmt: skip
    return metrics
