"""The training view's API (``/api/training``): datasets, a training run as a job with its
numbers streamed per epoch (and, for one or two input features, pictures of what the model
predicts as it learns), then the run's loss landscape and Hessian eigenvalues, its files as
``gradscape train --out`` writes them, and the Python that reproduces it.

Every number comes from the library (:func:`gradscape.networks.training.train`,
:func:`~gradscape.networks.landscapes.landscape`, :func:`~gradscape.networks.spectra.spectrum`,
:func:`~gradscape.networks.predictions.prediction_grid`); this module parses, caps and passes on.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, Field

from .. import __version__
from .._files import finite_json, write_text
from ..errors import whole_number
from ..run_files import TRAINING_FILES, write_training
from .common import MAX_EPOCHS, ApiError
from .jobs import Job

#: Most pictures of the predictions one run sends while it trains (one every few epochs).
MAX_SNAPSHOTS = 50
#: Points along each side of those pictures.
GRID_SIDE = 61
#: Most points along each axis of a loss landscape from the page.
MAX_LANDSCAPE_GRID = 41
#: Most eigenvalues at either end of the spectrum, and most Lanczos steps, from the page.
MAX_EIGENVALUES = 10
MAX_LANCZOS_STEPS = 200
#: Finished runs kept for their landscape, spectrum and export; the oldest go first.
MAX_RUNS = 8
#: The manifest ``gradscape train --out`` writes beside its files (cli.common.MANIFEST).
MANIFEST = ".gradscape.json"
#: Rows of each part sent to draw the data points.
MAX_DRAWN_POINTS = 2_000


class Data(BaseModel):
    """Which data: a built-in dataset by name, or an uploaded file by its token."""

    dataset: str | None = Field(
        "moons", max_length=40, description="a built-in dataset (ignored with upload)"
    )
    upload: str | None = Field(None, max_length=40, description="the token of an uploaded file")
    target: str | None = Field(None, max_length=200, description="the file's column to predict")
    task: Literal["classification", "regression"] | None = None
    split_seed: int = Field(0, description="seeds the split (and generated data)")


class TrainRequest(Data):
    model: str = Field("mlp:16,16", max_length=200, description="linear, logistic or mlp:H1,H2")
    activation: str = Field("relu", max_length=20)
    loss: str | None = Field(None, max_length=20, description="default by task")
    optimizer: str = Field("adam", max_length=20)
    lr: float = Field(0.01, description="learning rate, > 0")
    epochs: int = Field(100, description=f"epoch limit, at most {MAX_EPOCHS} (MAX_EPOCHS)")
    batch_size: int | None = Field(32, description="rows per step; null for full batch")
    patience: int | None = Field(20, description="null: no early stopping")
    min_delta: float = 0.0
    monitor: Literal["val_loss", "val_metric"] = "val_loss"
    seed: int = Field(0, description="seeds the initial weights and batches")


class LandscapeRequest(BaseModel):
    run: str = Field(max_length=40)
    dims: Literal[1, 2] = 2
    grid: int = Field(21, description=f"points per axis, 3 to {MAX_LANDSCAPE_GRID}")
    span: float = Field(1.0, description="the grid covers ±span")
    directions: Literal["random", "hessian", "pca"] = "random"
    seed: int = 0


class SpectrumRequest(BaseModel):
    run: str = Field(max_length=40)
    top: int = Field(5, description=f"largest eigenvalues, 1 to {MAX_EIGENVALUES}")
    bottom: int = Field(0, description=f"smallest eigenvalues, 0 to {MAX_EIGENVALUES}")
    steps: int = Field(80, description=f"Lanczos iterations, at most {MAX_LANCZOS_STEPS}")
    seed: int = 0


@dataclass
class Run:
    """A finished run the page may ask more of."""

    id: str
    result: Any
    split: Any
    net: Any
    folder: Path
    data_name: str
    files: list[str] | None = None


class Runs:
    """The finished runs of every tab, each with its folder in the server's temporary space."""

    def __init__(self, root: Path) -> None:
        self.root = root / "training"
        self.root.mkdir(parents=True, exist_ok=True)
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def folder(self, run_id: str) -> Path:
        return self.root / run_id

    def add(self, run: Run) -> None:
        with self._lock:
            self._runs[run.id] = run
            while len(self._runs) > MAX_RUNS:
                old = self._runs.pop(next(iter(self._runs)))
                shutil.rmtree(old.folder, ignore_errors=True)

    def get(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            raise ApiError(
                f"No training run {run_id[:40]!r}: it never finished or was forgotten "
                f"(the server keeps the last {MAX_RUNS}, MAX_RUNS); train it again.",
                404,
            )
        return run


# -- data ------------------------------------------------------------------------------------------
def _load(app: FastAPI, data: Data) -> tuple[Any, str]:
    """The split the request names (read by the CLI's loader), and the data's name for code."""
    from ..networks.datasets import BUILTIN, load

    if data.upload:
        path = app.state.uploads.path(data.upload)
        split = load(str(path), target=data.target, seed=data.split_seed, task=data.task)
        return split, path.name
    name = data.dataset or ""
    if name not in BUILTIN:  # a name only: never a path on the server
        raise ApiError(
            f"Unknown dataset {name[:40]!r}; the built-in ones are {', '.join(BUILTIN)}, or "
            "upload a CSV file."
        )
    return load(name, target=data.target, seed=data.split_seed, task=data.task), name


def _facts(split: Any) -> dict[str, Any]:
    from ..networks.predictions import box, data_points

    out: dict[str, Any] = {
        "name": split.name, "task": split.task, "task_reason": split.task_reason,
        "features": list(split.features), "classes": list(split.classes),
        "n_features": split.n_features, "description": split.describe(),
        "rows": {p: len(getattr(split, f"y_{p}")) for p in ("train", "val", "test")},
        "picture": split.n_features in (1, 2),
    }  # fmt: skip
    if out["picture"]:
        out["points"] = data_points(split, limit=MAX_DRAWN_POINTS)
        out["box"] = box(split)
    return out


@lru_cache(maxsize=1)
def _builtin_facts() -> list[dict[str, Any]]:
    from ..networks.datasets import BUILTIN, load

    rows = []
    for name in BUILTIN:
        s = load(name)
        n = sum(len(getattr(s, f"y_{p}")) for p in ("train", "val", "test"))
        rows.append({"name": name, "task": s.task, "n_features": s.n_features, "rows": n,
                     "classes": len(s.classes), "picture": s.n_features in (1, 2)})  # fmt: skip
    return rows


# -- the run ---------------------------------------------------------------------------------------
def _settings(req: TrainRequest) -> dict[str, Any]:
    return {
        "loss": req.loss, "optimizer": req.optimizer, "lr": req.lr, "epochs": req.epochs,
        "batch_size": req.batch_size, "patience": req.patience, "min_delta": req.min_delta,
        "monitor": req.monitor, "activation": req.activation, "seed": req.seed,
    }  # fmt: skip


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _summary(run: Run) -> dict[str, Any]:
    """What the page shows of a finished run."""
    from ..networks.predictions import prediction_grid
    from ..networks.training import snippet, unravel_weights

    r = run.result
    out: dict[str, Any] = {
        "run": run.id, "metrics": r.metrics(), "metric": r.metric, "config": r.config,
        "best_epoch": r.best_epoch, "epochs_run": r.epochs_run, "stop_reason": r.stop_reason,
        "stop_note": r.stop_note(), "restored": r.restored, "diverged": r.diverged,
        "early_stopping": r.early_stopping, "kept_label": r.kept_label,
        "kept_note": r.kept_note(), "lowest_epoch": r.lowest_epoch, "lowest_label": r.lowest_label,
        "history": {k: getattr(r, k) for k in ("train_loss", "val_loss", "train_metric",
                                                "val_metric")},
        "test_loss": r.test_loss, "test_metric": r.test_metric,
        "snippet": snippet(r.config, data=run.data_name),
    }  # fmt: skip
    if run.split.n_features in (1, 2) and not r.diverged:
        params = unravel_weights(r, run.net)
        out["grid"] = prediction_grid(run.net, params, run.split, GRID_SIDE).to_dict()
    return out


def _shown(grid: Any) -> dict[str, Any]:
    """A live picture's grid with its values to 5 significant digits (of the largest): what a
    picture can show, and a third of the bytes on the stream (the final picture keeps them all)."""
    out: dict[str, Any] = grid.to_dict()
    v = np.asarray(grid.values, dtype=np.float64)
    top = float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0))
    digits = 4 - math.floor(math.log10(top)) if top > 0 else 5
    out["values"] = np.round(v, max(0, min(digits, 12)))
    return out


def _write_files(run: Run) -> list[str]:
    """The files ``gradscape train --out`` writes (the same function writes them), beside the
    checkpoint training wrote, and the manifest the command line leaves in an --out folder."""
    if run.files is None:
        write_training(run.folder, run.result, run.split)
        manifest = {"gradscape": __version__, "verb": "train", "complete": True,
                    "files": sorted(TRAINING_FILES)}  # fmt: skip
        write_text(run.folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        run.files = sorted([*TRAINING_FILES, MANIFEST])
    return run.files


# -- the API ---------------------------------------------------------------------------------------
def router(app: FastAPI) -> APIRouter:
    r = APIRouter(prefix="/api/training", tags=["training"])
    runs = Runs(app.state.root)
    app.state.training_runs = runs

    @r.get("/datasets")
    def datasets() -> dict[str, Any]:
        """The built-in datasets and their facts (task, features, rows, classes)."""
        from ..networks.models import ACTIVATIONS, LOSSES
        from ..optimizers import NAMES

        return {"datasets": _builtin_facts(), "activations": list(ACTIVATIONS),
                "losses": list(LOSSES), "optimizers": [n for n in NAMES if n != "newton"],
                "max_epochs": MAX_EPOCHS}  # fmt: skip

    @r.post("/data")
    def data(body: Data) -> dict[str, Any]:
        """A dataset (built-in, or an uploaded file read by the CLI's loader): its facts and,
        for one or two features, its points in the data's own units."""
        split, _ = _load(app, body)
        return finite_json(_facts(split))  # type: ignore[no-any-return]

    @r.post("/train")
    def train_job(body: TrainRequest) -> dict[str, Any]:
        """Start training (a job). Each epoch sends an ``epoch`` event with its numbers, the
        best epoch so far (the kept one: the last without early stopping), the epoch of the
        lowest validation loss so far and a line saying which is which (``note``); for one or two features, a ``snapshot`` event every few epochs (at
        most MAX_SNAPSHOTS) holds the predictions on a grid. The result is the run's summary."""
        from ..networks.predictions import prediction_grid
        from ..networks.training import check_settings, train

        whole_number(body.epochs, "epochs", 1, MAX_EPOCHS, "MAX_EPOCHS")
        split, data_name = _load(app, body)
        settings = _settings(body)
        check_settings(split, body.model, **settings)
        every = max(1, math.ceil(body.epochs / MAX_SNAPSHOTS))
        picture = split.n_features in (1, 2)

        def work(job: Job) -> dict[str, Any]:
            seen: dict[str, Any] = {}

            def on_epoch(info: Any) -> None:
                seen["net"] = info.model
                job.emit({"type": "epoch", "epoch": info.epoch, "epochs": info.epochs,
                          "train_loss": info.train_loss, "val_loss": info.val_loss,
                          "train_metric": info.train_metric, "val_metric": info.val_metric,
                          "best_epoch": info.best_epoch, "best_value": info.best_value,
                          "wait": info.wait, "lowest_epoch": info.lowest_epoch,
                          "early_stopping": info.early_stopping,
                          "note": info.note()})  # fmt: skip
                if picture and (info.epoch == 1 or info.epoch % every == 0):
                    grid = prediction_grid(info.model, info.params, split, GRID_SIDE)
                    job.emit({"type": "snapshot", "epoch": info.epoch, "grid": _shown(grid)})

            folder = runs.folder(job.id)
            try:
                result = train(split, body.model, **settings, progress=job.progress,
                               on_epoch=on_epoch, checkpoint=folder)  # fmt: skip
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)  # a stopped run leaves nothing
                raise
            run = Run(job.id, result, split, seen["net"], folder, data_name)
            summary = _summary(run)
            runs.add(run)
            return summary

        job = app.state.jobs.start("training", work)
        return {"job": job.id, "run": job.id}

    @r.post("/landscape")
    def landscape_job(body: LandscapeRequest) -> dict[str, Any]:
        """The run's training loss on a line or plane through its best weights (a job), as
        ``gradscape landscape`` computes it."""
        from ..networks.datasets import check_seed
        from ..networks.landscapes import MAX_SPAN, landscape

        run = runs.get(body.run)
        check_seed(body.seed, "seed")
        grid = whole_number(body.grid, "grid", 3, MAX_LANDSCAPE_GRID, "MAX_LANDSCAPE_GRID")
        if not (math.isfinite(body.span) and 0 < body.span <= MAX_SPAN):
            raise ApiError(f"span must be a number > 0 and at most {MAX_SPAN:g} (MAX_SPAN); "
                           f"got {body.span:g}.")  # fmt: skip

        def work(j: Job) -> dict[str, Any]:
            land = landscape(run.result, run.split, run.net, dims=body.dims, grid=grid,
                             span=body.span, directions=body.directions, seed=body.seed,
                             progress=j.progress)  # fmt: skip
            return {"summary": land.summary(), "alphas": land.alphas, "betas": land.betas,
                    "values": land.values, "path": land.path,
                    "explained": land.explained_text()}  # fmt: skip

        return {"job": app.state.jobs.start("landscape", work).id}

    @r.post("/spectrum")
    def spectrum_job(body: SpectrumRequest) -> dict[str, Any]:
        """The largest (and smallest) Hessian eigenvalues of the run's training loss at its best
        weights (a job), by Lanczos as ``gradscape spectrum`` computes them."""
        from ..networks.datasets import check_seed
        from ..networks.spectra import spectrum
        from ..networks.training import loss_objective

        run = runs.get(body.run)
        check_seed(body.seed, "seed")
        top = whole_number(body.top, "top", 1, MAX_EIGENVALUES, "MAX_EIGENVALUES")
        bottom = whole_number(body.bottom, "bottom", 0, MAX_EIGENVALUES, "MAX_EIGENVALUES")
        steps = whole_number(body.steps, "steps", 1, MAX_LANCZOS_STEPS, "MAX_LANCZOS_STEPS")

        def work(j: Job) -> dict[str, Any]:
            obj, weights = loss_objective(run.result, run.split, run.net)
            j.check()
            sp = spectrum(obj, weights, top=top, bottom=bottom, steps=steps, seed=body.seed,
                          progress=j.progress)  # fmt: skip
            return {**sp.summary(), "stable_lr": sp.stable_lr}

        return {"job": app.state.jobs.start("spectrum", work).id}

    @r.get("/runs/{run_id}/snippet")
    def run_snippet(run_id: str) -> dict[str, Any]:
        """Python that reproduces the run (the same data split, settings and seeds)."""
        from ..networks.training import snippet

        run = runs.get(run_id)
        return {"code": snippet(run.result.config, data=run.data_name)}

    @r.get("/runs/{run_id}/export", response_class=Response)
    def run_export(run_id: str) -> Response:
        """The run's folder as ``gradscape train --out`` writes it (checkpoint.npz, training.npz,
        curves.png, metrics.json, config.json), zipped."""
        run = runs.get(run_id)
        files = _write_files(run)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name in files:
                z.write(run.folder / name, name)
        return Response(buf.getvalue(), media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="gradscape-run-{run.id}.zip"'})  # fmt: skip

    return r
