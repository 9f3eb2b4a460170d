"""The training view: its API against the library called directly (the same seeded run, the
same landscape and spectrum, the same files as ``gradscape train --out``, a snippet that
reproduces the run), every bad input, cancel, and the page in a real browser."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import screenshot
from gradscape.networks.datasets import BUILTIN, load
from gradscape.networks.predictions import prediction_grid
from gradscape.networks.training import load_run, train, unravel_weights
from gradscape.web.common import MAX_EPOCHS

SMALL = {"dataset": "moons", "model": "mlp:8", "lr": 0.05, "epochs": 12, "batch_size": 100,
         "patience": 4, "seed": 1, "split_seed": 2}  # fmt: skip


def _events(client: Any, job_id: str) -> list[dict[str, Any]]:
    with client.stream("GET", f"/api/jobs/{job_id}/events") as r:
        return [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]


def _run(client: Any, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post(path, json=body)
    assert r.status_code == 200, r.text
    return _events(client, r.json()["job"])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def small_run(client: Any) -> dict[str, Any]:
    """One small run through the API: its events and its end."""
    events = _run(client, "/api/training/train", SMALL)
    assert events[-1]["state"] == "done", events[-1]
    return {"events": events, "result": events[-1]["result"]}


def _direct() -> Any:
    split = load("moons", seed=SMALL["split_seed"])
    return split, train(split, "mlp:8", lr=0.05, epochs=12, batch_size=100, patience=4, seed=1)


# -- datasets and data -----------------------------------------------------------------------------
def test_datasets_lists_the_builtin_ones_with_their_facts(client: Any) -> None:
    body = client.get("/api/training/datasets").json()
    assert [d["name"] for d in body["datasets"]] == list(BUILTIN)
    facts = {d["name"]: d for d in body["datasets"]}
    assert facts["moons"] == {"name": "moons", "task": "classification", "n_features": 2,
                              "rows": 1000, "classes": 2, "picture": True}  # fmt: skip
    assert facts["diabetes"]["task"] == "regression" and not facts["diabetes"]["picture"]
    assert facts["line"]["picture"] and body["max_epochs"] == MAX_EPOCHS
    assert "newton" not in body["optimizers"] and "adam" in body["optimizers"]


def test_data_points_are_the_rows_in_their_own_units(client: Any) -> None:
    from sklearn.datasets import make_moons

    r = client.post("/api/training/data", json={"dataset": "moons", "split_seed": 3})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["task"] == "classification" and d["features"] == ["x1", "x2"] and d["picture"]
    assert d["rows"] == {"train": 600, "val": 200, "test": 200}
    x, y = make_moons(n_samples=1000, noise=0.2, random_state=3)  # the generator itself
    pts = np.asarray(d["points"]["train"]["x"])
    # every drawn point is a generated row (standardisation undone), with its class
    dist = np.abs(pts[:, None, :] - x[None, :, :]).max(axis=2)
    nearest = dist.argmin(axis=1)
    assert dist.min(axis=1).max() < 1e-5
    assert np.array_equal(y[nearest], d["points"]["train"]["y"])
    lo, hi = np.asarray(d["box"]).T
    assert np.all(lo < x.min(axis=0)) and np.all(hi > x.max(axis=0))


BAD = [
    ({"dataset": "nope"}, 400, "Unknown dataset 'nope'"),
    ({"dataset": "/etc/passwd.csv"}, 400, "Unknown dataset"),
    ({"dataset": "../training.py"}, 400, "Unknown dataset"),
    ({"model": "mlp:0"}, 400, "MAX_WIDTH"),
    ({"model": "mlp:8,,4"}, 400, "empty layer size"),
    ({"model": "resnet"}, 400, "Unknown model 'resnet'"),
    ({"epochs": MAX_EPOCHS + 1}, 400, "MAX_EPOCHS"),
    ({"epochs": 0}, 400, "epochs must be a whole number from 1"),
    ({"lr": 0}, 400, "learning rate must be a number > 0"),
    ({"lr": -0.1}, 400, "learning rate must be a number > 0"),
    ({"lr": 1e9}, 400, "MAX_LR"),
    ({"optimizer": "sgdx"}, 400, "sgdx"),
    ({"optimizer": "newton"}, 400, "cannot train a network"),
    ({"loss": "mse"}, 400, "mse does not fit a classification dataset"),
    ({"activation": "swish"}, 400, "Unknown activation 'swish'"),
    ({"min_delta": -1}, 400, "min_delta must be a number >= 0"),
    ({"batch_size": 0}, 400, "batch_size"),
    ({"patience": 0}, 400, "patience"),
    ({"seed": -1}, 400, "seed must be a whole number from 0"),
    ({"split_seed": 2**32}, 400, "split seed must be a whole number"),
    ({"upload": "0123456789abcdef"}, 404, "No uploaded file"),
    ({"upload": "../../etc"}, 404, "No uploaded file"),
    ({"target": "x1"}, 400, "moons is a built-in dataset with its own target; target 'x1'"),
    ({"monitor": "loss"}, 422, "monitor"),
    ({"model": "m" * 201}, 422, "model"),
]


@pytest.mark.parametrize(("patch", "status", "message"), BAD)
def test_bad_training_requests_get_one_line(client: Any, patch: dict, status: int,
                                             message: str) -> None:  # fmt: skip
    r = client.post("/api/training/train", json={**SMALL, **patch})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert message in err and "\n" not in err


def test_an_upload_is_read_by_the_clis_loader(client: Any, tmp_path: Path) -> None:
    text = "a,b,label\n" + "".join(f"{i},{i % 7},{'yes' if i % 3 else 'no'}\n" for i in range(60))
    up = client.post("/api/uploads", json={"name": "pts.csv", "content_base64": _b64(text)}).json()
    d = client.post("/api/training/data", json={"upload": up["token"], "target": "label"}).json()
    ref = load(_write(tmp_path / "pts.csv", text), target="label")
    assert d["classes"] == ["no", "yes"] and d["task_reason"] == ref.task_reason
    assert d["rows"]["train"] == len(ref.y_train) and d["features"] == ["a", "b"]
    # a bad file or target: the message the command line gives for the same file
    for body, content in (({"target": "c"}, text), ({"target": "label"}, "a,label\nx,1\n" * 12),
                          ({}, text)):  # fmt: skip
        up = client.post("/api/uploads", json={"name": "bad.csv", "content_base64": _b64(content)})
        r = client.post("/api/training/data", json={"upload": up.json()["token"], **body})
        assert r.status_code == 400
        with pytest.raises(Exception) as e:
            load(_write(tmp_path / "bad.csv", content), target=body.get("target"))
        assert r.json()["error"] == str(e.value)
        t = client.post("/api/training/train", json={**SMALL, "upload": up.json()["token"], **body})
        assert t.status_code == 400 and t.json()["error"] == str(e.value)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- the run ---------------------------------------------------------------------------------------
def test_the_jobs_numbers_are_trains_with_the_same_settings(small_run: dict[str, Any]) -> None:
    split, ref = _direct()
    res = small_run["result"]
    for k in ("train_loss", "val_loss", "train_metric", "val_metric"):
        np.testing.assert_array_equal(res["history"][k], getattr(ref, k))
    assert res["metrics"] == ref.metrics() and res["stop_note"] == ref.stop_note()
    assert (res["best_epoch"], res["epochs_run"]) == (ref.best_epoch, ref.epochs_run)
    epochs = [e for e in small_run["events"] if e["type"] == "epoch"]
    assert [e["epoch"] for e in epochs] == list(range(1, ref.epochs_run + 1))
    np.testing.assert_array_equal([e["val_loss"] for e in epochs], ref.val_loss)
    # the best epoch so far, as early stopping saw it: the first epoch with the lowest val loss
    for e in epochs:
        seen = ref.val_loss[: e["epoch"]]
        assert e["best_epoch"] == int(np.argmin(seen)) + 1
    assert epochs[-1]["best_epoch"] == ref.best_epoch
    # the final picture: the library's predictions with the restored weights
    from gradscape.networks.models import model

    net = model("mlp:8", 2, 2)
    grid = prediction_grid(net, unravel_weights(ref, net), split, 61)
    np.testing.assert_allclose(res["grid"]["values"], grid.values, rtol=1e-6, atol=1e-7)
    assert res["grid"]["kind"] == "probability"


def test_without_early_stopping_the_page_gets_the_kept_and_the_lowest_epoch_apart(
    client: Any,
) -> None:
    events = _run(client, "/api/training/train", {**SMALL, "patience": None, "lr": 0.3})
    res = events[-1]["result"]
    val = np.asarray(res["history"]["val_loss"])
    low = int(np.argmin(val)) + 1
    assert res["best_epoch"] == res["epochs_run"] == 12 and low < 12 and not res["early_stopping"]
    assert (
        res["lowest_epoch"] == low and res["lowest_label"] == f"lowest validation loss: epoch {low}"
    )
    assert res["kept_label"] == "weights kept: epoch 12 (the last)"
    assert res["kept_note"] == (
        f"weights kept: the last epoch, 12 (no early stopping); lowest validation loss: epoch {low}"
    )
    assert (
        f"the lowest validation loss, {val[low - 1]:.4g}, was at epoch {low}." in res["stop_note"]
    )
    epochs = [e for e in events if e.get("type") == "epoch"]
    for i, e in enumerate(epochs):
        assert e["lowest_epoch"] == int(np.argmin(val[: i + 1])) + 1 and not e["early_stopping"]
        assert e["note"] == ("weights kept: the last epoch (no early stopping); lowest validation "
                             f"loss so far: epoch {e['lowest_epoch']}")  # fmt: skip


def test_snapshots_are_bounded_and_start_at_epoch_one(client: Any) -> None:
    from gradscape.web.training import MAX_SNAPSHOTS

    events = _run(client, "/api/training/train",
                  {**SMALL, "epochs": 120, "patience": None, "batch_size": None})  # fmt: skip
    snaps = [e["epoch"] for e in events if e["type"] == "snapshot"]
    last = [e for e in events if e["type"] == "snapshot"][-1]["grid"]
    final = events[-1]["result"]["grid"]  # the last epoch's weights are the run's (no patience)
    np.testing.assert_allclose(last["values"], final["values"], rtol=0, atol=1e-4)
    assert last["xs"] == final["xs"]
    assert snaps[0] == 1 and len(snaps) <= MAX_SNAPSHOTS + 1 and snaps[-1] == 120
    val = np.asarray(events[-1]["result"]["history"]["val_loss"])
    low = int(np.argmin(val)) + 1
    assert events[-1]["result"]["stop_note"] == (
        "Training ran all 120 epochs with no early stopping, so the weights of the last epoch are "
        f"kept (validation loss {val[-1]:.4g}); the lowest validation loss, {val[low - 1]:.4g}, "
        f"was at epoch {low}."
    )


def test_a_regression_file_gets_its_fitted_surface(client: Any) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (80, 2))
    rows = "".join(f"{a:.4f},{b:.4f},{a * a - b:.4f}\n" for a, b in x)
    up = client.post(
        "/api/uploads", json={"name": "bowl.csv", "content_base64": _b64("u,v,z\n" + rows)}
    )
    events = _run(client, "/api/training/train", {**SMALL, "dataset": None, "upload": up.json()["token"],
                  "target": "z", "epochs": 4, "patience": None})  # fmt: skip
    res = events[-1]["result"]
    assert res["grid"]["kind"] == "value" and np.shape(res["grid"]["values"]) == (61, 61)
    assert (
        res["metric"] == "r2"
        and "gs.load_dataset('bowl.csv', target='z', seed=2)" in res["snippet"]
    )


def test_cancel_stops_the_run_and_leaves_no_result(client: Any, web_app: Any) -> None:
    r = client.post("/api/training/train", json={**SMALL, "epochs": MAX_EPOCHS, "patience": None,
                                                   "batch_size": 8})  # fmt: skip
    job = r.json()["job"]
    deadline = time.monotonic() + 60
    while not any(e.get("type") == "epoch" for e in web_app.state.jobs.get(job).events):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert client.delete(f"/api/jobs/{job}").status_code == 200
    end = _events(client, job)[-1]
    assert end["state"] == "cancelled" and end["result"] is None and "stopped" in end["error"]
    assert client.get(f"/api/training/runs/{job}/snippet").status_code == 404
    assert client.post("/api/training/landscape", json={"run": job}).status_code == 404
    assert not (web_app.state.root / "training" / job).exists()


# -- after training --------------------------------------------------------------------------------
def test_landscape_and_spectrum_are_the_librarys(client: Any, small_run: dict[str, Any]) -> None:
    from gradscape.networks.landscapes import landscape
    from gradscape.networks.models import model
    from gradscape.networks.spectra import spectrum
    from gradscape.networks.training import loss_objective

    split, ref = _direct()
    net = model("mlp:8", 2, 2)
    run = small_run["result"]["run"]
    end = _run(client, "/api/training/landscape", {"run": run, "dims": 1, "grid": 9, "span": 0.5})[
        -1
    ]
    land = landscape(ref, split, net, dims=1, grid=9, span=0.5, seed=0)
    np.testing.assert_allclose(end["result"]["values"], land.values, rtol=1e-6)
    assert end["result"]["summary"]["center_loss"] == pytest.approx(land.center_loss, rel=1e-6)
    two = _run(client, "/api/training/landscape", {"run": run, "grid": 5, "directions": "pca"})[-1]
    assert np.shape(two["result"]["values"]) == (5, 5) and two["result"]["path"]
    sp = _run(client, "/api/training/spectrum", {"run": run, "top": 3, "steps": 30})[-1]["result"]
    obj, w = loss_objective(ref, split, net)
    ref_sp = spectrum(obj, w, top=3, bottom=0, steps=30, seed=0)
    np.testing.assert_allclose(sp["top"], ref_sp.top, rtol=1e-5)
    assert sp["top"][0] >= sp["top"][1] >= sp["top"][2]
    assert sp["stable_lr"] == pytest.approx(ref_sp.stable_lr, rel=1e-5)


@pytest.mark.parametrize(("path", "body"), [
    ("spectrum", {"top": 3, "steps": 40}),
    ("landscape", {"dims": 1, "grid": 3, "directions": "hessian"}),
])  # fmt: skip
def test_cancel_stops_a_spectrum_or_a_hessian_landscape_within_one_product(
    client: Any, web_app: Any, small_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
    path: str, body: dict[str, Any],
) -> None:  # fmt: skip
    """The tester's case: DELETE on a spectrum job answered "running" and it ran to "done".
    Here the job is cancelled from inside its 5th Hessian-vector product; it must stop right
    after that product (each costs well under a second), end "cancelled" with no result."""
    from gradscape.networks import spectra

    calls = {"n": 0, "at_cancel": None}
    real = spectra._hvp

    def cancelling(obj: Any) -> Any:
        hvp = real(obj)

        def wrapped(w: Any, v: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 5:
                for job in list(web_app.state.jobs._jobs.values()):
                    if job.kind == path and job.state == "running":
                        assert client.delete(f"/api/jobs/{job.id}").json()["state"] == "running"
                calls["at_cancel"] = calls["n"]
            return hvp(w, v)

        return wrapped

    monkeypatch.setattr(spectra, "_hvp", cancelling)
    end = _run(client, f"/api/training/{path}", {"run": small_run["result"]["run"], **body})[-1]
    assert end["state"] == "cancelled" and end["result"] is None, end
    assert end["error"] == f"The {path} job was stopped: cancelled."
    assert calls["at_cancel"] == 5 and calls["n"] == 5  # not one product after the cancel


@pytest.mark.parametrize(("path", "patch", "status", "message"), [
    ("landscape", {"run": "nope"}, 404, "No training run 'nope'"),
    ("landscape", {"grid": 42}, 400, "MAX_LANDSCAPE_GRID"),
    ("landscape", {"grid": 2}, 400, "grid must be a whole number from 3"),
    ("landscape", {"span": 0}, 400, "span must be a number > 0"),
    ("landscape", {"span": 1e4}, 400, "MAX_SPAN"),
    ("landscape", {"dims": 3}, 422, "dims"),
    ("spectrum", {"top": 11}, 400, "MAX_EIGENVALUES"),
    ("spectrum", {"top": 0}, 400, "top must be a whole number from 1"),
    ("spectrum", {"steps": 201}, 400, "MAX_LANCZOS_STEPS"),
    ("spectrum", {"run": "x" * 41}, 422, "run"),
    ("spectrum", {"seed": -1}, 400, "seed must be a whole number from 0"),
    ("landscape", {"seed": 2**40}, 400, "seed must be a whole number from 0"),
])  # fmt: skip
def test_bad_after_training_requests(client: Any, small_run: dict[str, Any], path: str,
                                     patch: dict, status: int, message: str) -> None:  # fmt: skip
    r = client.post(f"/api/training/{path}", json={"run": small_run["result"]["run"], **patch})
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_export_holds_the_files_of_train_out(client: Any, small_run: dict[str, Any],
                                              tmp_path: Path) -> None:  # fmt: skip
    from gradscape.cli import main

    run = small_run["result"]["run"]
    r = client.get(f"/api/training/runs/{run}/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    folder = tmp_path / "export"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(folder)
    cli = tmp_path / "cli"
    argv = ["train", "--data", "moons", "--split-seed", "2", "--model", "mlp:8", "--lr", "0.05",
            "--epochs", "12", "--batch-size", "100", "--patience", "4", "--seed", "1",
            "--out", str(cli), "--json"]  # fmt: skip
    assert main(argv) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in cli.iterdir())
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(
        (cli / "metrics.json").read_text()
    )
    assert json.loads((folder / "config.json").read_text()) == json.loads(
        (cli / "config.json").read_text()
    )
    manifest = json.loads((folder / ".gradscape.json").read_text())
    assert manifest == json.loads((cli / ".gradscape.json").read_text())
    result, _, _ = load_run(folder)  # the library's own loader takes it
    np.testing.assert_array_equal(result.weights, load_run(cli)[0].weights)
    assert client.get("/api/training/runs/nope/export").status_code == 404


def test_the_snippet_runs_and_reproduces_the_run(client: Any, small_run: dict[str, Any],
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    run = small_run["result"]["run"]
    code = client.get(f"/api/training/runs/{run}/snippet").json()["code"]
    assert code == small_run["result"]["snippet"]
    space: dict[str, Any] = {}
    exec(compile(code, "snippet.py", "exec"), space)  # the test runs it; the server never does
    got = space["run"]
    assert got.metrics() == small_run["result"]["metrics"]
    np.testing.assert_array_equal(got.val_loss, small_run["result"]["history"]["val_loss"])
    assert small_run["result"]["stop_note"] in capsys.readouterr().out


# -- the page --------------------------------------------------------------------------------------
def test_training_in_the_browser_grows_the_curves(
    page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process: each epoch's event is held 10 ms, so the curve has time to
    # be seen part-way however fast training runs (under load it once finished between two polls).
    from gradscape.web.jobs import Job

    emit = Job.emit

    def slow_emit(self: Job, event: dict[str, Any]) -> None:
        emit(self, event)
        if event.get("type") == "epoch":
            time.sleep(0.01)

    monkeypatch.setattr(Job, "emit", slow_emit)
    page.goto(page.base + "/?view=training&t_data=moons&t_model=mlp:16,16&t_lr=0.01&t_epochs=150"
              "&t_batch=16&t_patience=0&t_seed=0")  # fmt: skip
    page.wait_for_selector("#t-train")
    page.wait_for_function("document.getElementById('t-facts')?.textContent.includes('moons')")
    assert page.input_value("#t-model") == "mlp:16,16" and page.input_value("#t-epochs") == "150"
    screenshot(page, "training-start")
    page.evaluate("""() => { window.__counts = []; window.__timer = setInterval(() => {
        const d = document.getElementById('t-loss-plot').data;
        window.__counts.push(d && d[0] ? d[0].x.length : 0); }, 15); }""")
    page.click("#t-train")
    page.wait_for_function("!document.getElementById('t-stop-note').hidden", timeout=120_000)
    counts = page.evaluate("() => { clearInterval(window.__timer); return window.__counts; }")
    final = page.evaluate("document.getElementById('t-loss-plot').data[0].x.length")
    assert final == 150  # one point per epoch run
    growing = sorted({c for c in counts if 0 < c < final})
    assert len(growing) >= 2, counts  # seen part-way, more than once: the curve grew while it ran
    note = page.text_content("#t-stop-note")
    assert "Training ran all 150 epochs with no early stopping" in note
    # no early stopping: the star marks the lowest validation loss (not a "best epoch" that is
    # just the last one), no dashed line, and the numbers say the last epoch's weights are kept
    star = page.evaluate("document.getElementById('t-loss-plot').data[2]")
    val = page.evaluate("document.getElementById('t-loss-plot').data[1].y")
    low = int(np.nanargmin(np.asarray(val, dtype=float))) + 1
    assert star["name"] == f"lowest validation loss: epoch {low}" and star["x"] == [low]
    assert not page.evaluate("document.getElementById('t-loss-plot').layout.shapes || []")
    numbers = page.text_content("#t-numbers")
    assert "weights kept: the last epoch, 150 (no early stopping)" in numbers
    assert "best epoch" not in numbers and f"epoch {low}" in note
    picture = page.evaluate(
        "document.getElementById('t-picture').data.map(t => t.type || 'scatter')"
    )
    assert "heatmap" in picture and "contour" in picture
    assert "gs.train(" in page.input_value("#t-snippet")
    assert page.get_attribute("#t-export", "href").endswith("/export")
    screenshot(page, "training-trained")
    page.click("#t-landscape")
    page.wait_for_function("document.getElementById('t-land-plot').data", timeout=60_000)
    page.click("#t-spectrum")
    page.wait_for_function("document.getElementById('t-spec-plot').data", timeout=60_000)
    assert "2/λmax" in page.text_content("#t-spec-note")
    screenshot(page, "training-after")
    report = page.evaluate("""async () => {
        const r = (await import('/static/common.js')).reporterFor('training')();
        return {title: r.title, headings: r.sections.map(s => s.heading),
                figures: r.figures.filter(f => f.div.data).length}; }""")
    assert report == {
        "title": "Training mlp:16,16 on moons",
        "figures": 5,
        "headings": ["Data", "The run", "Stop", "Python", "Loss landscape", "Hessian eigenvalues"],
    }


def test_early_stopping_note_and_a_bad_csv_in_the_browser(page: Any, tmp_path: Path) -> None:
    page.goto(page.base + "/?view=training&t_data=circles&t_model=mlp:16,16&t_lr=0.03"
              "&t_epochs=300&t_batch=64&t_patience=5&t_opt=adam")  # fmt: skip
    page.wait_for_function("document.getElementById('t-facts')?.textContent.includes('circles')")
    page.click("#t-train")
    page.wait_for_function("!document.getElementById('t-stop-note').hidden", timeout=120_000)
    note = page.text_content("#t-stop-note")
    assert "restored the weights of epoch" in note
    best = page.evaluate("document.getElementById('t-loss-plot').layout.shapes[0].x0")
    assert f"epoch {best}." in note
    screenshot(page, "training-early-stop")
    # a long run, cancelled from the page: the bar goes, the page says so, nothing is kept
    page.fill("#t-epochs", "5000")
    page.fill("#t-patience", "0")
    page.fill("#t-batch", "8")
    page.click("#t-train")
    page.wait_for_function("document.getElementById('t-loss-plot').data[0].x.length > 2")
    assert "ETA" in page.text_content(".t-controls .progress-label")
    screenshot(page, "training-running")
    page.click(".t-controls button.cancel")
    page.wait_for_selector("#t-train-error:not([hidden])")
    assert "stopped: cancelled" in page.text_content("#t-train-error")
    assert page.locator(".t-controls .progress").is_hidden()
    assert page.is_disabled("#t-landscape") and page.locator("#t-stop-note").is_hidden()
    page.select_option("#t-data", "upload")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n" + "1,x,0\n" * 12)
    page.set_input_files("#t-file", str(bad))
    page.wait_for_selector("#t-data-error:not([hidden])")
    assert "column 'b' of bad.csv is not a number" in page.text_content("#t-data-error")
    assert page.locator("#t-stop-note").is_hidden() and page.input_value("#t-snippet") == ""
    assert "t_data=" not in page.url
    screenshot(page, "training-bad-csv")
