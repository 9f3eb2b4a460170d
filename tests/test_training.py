"""Training with early stopping against independent references: scikit-learn, NumPy least squares,
exact replays of the seeded run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.networks.datasets import Split, load
from gradscape.networks.models import model
from gradscape.networks.training import Training, resume, train, unravel_weights


def test_logistic_regression_matches_scikit_learn_accuracy() -> None:
    from sklearn.linear_model import LogisticRegression

    split = load("breast_cancer", seed=0)
    r = train(split, "logistic", lr=1e-2, epochs=500, patience=30)
    ref = LogisticRegression(max_iter=5000).fit(split.x_train, split.y_train)
    assert abs(r.test_metric - ref.score(split.x_test, split.y_test)) <= 0.01 + 1e-12


def test_linear_regression_weights_match_least_squares() -> None:
    split = load("diabetes", seed=1)
    r = train(split, "linear", loss="mse", optimizer="lbfgs", lr=None, epochs=200,
              batch_size=None, patience=None)  # fmt: skip
    a = np.column_stack([split.x_train, np.ones(len(split.x_train))]).astype(np.float64)
    coef, *_ = np.linalg.lstsq(a, split.y_train.astype(np.float64), rcond=None)
    params = unravel_weights(r, model("linear", split.n_features, 1))
    w = np.concatenate([np.asarray(params[0]["w"])[:, 0], np.asarray(params[0]["b"])])
    np.testing.assert_allclose(w, coef, rtol=2e-3, atol=1e-2 * np.abs(coef).max())


def test_mlp_on_digits_above_95_percent() -> None:
    split = load("digits", seed=0)
    r = train(split, "mlp:64", lr=1e-3, epochs=300, patience=20)
    assert r.test_metric > 0.95 and r.metric == "accuracy"
    assert r.metrics()["test_accuracy"] == r.test_metric


def test_early_stopping_restores_the_best_epoch_exactly() -> None:
    split = load("moons", seed=0)
    kw = dict(lr=3e-2, batch_size=64, seed=3)
    r = train(split, "mlp:16", epochs=400, patience=7, min_delta=1e-4, **kw)
    assert r.stop_reason == "early_stop"
    # patience counted right: the run stopped `patience` epochs after the last improvement
    assert r.epochs_run == r.best_epoch + 7
    best = r.val_loss[r.best_epoch - 1]
    assert np.all(r.val_loss[r.best_epoch :] >= best - 1e-4)
    assert np.all(r.val_loss[: r.best_epoch - 1] > best + 0)  # it was the best so far, strictly
    # the restored weights are exactly those after best_epoch epochs of the same seeded run
    replay = train(split, "mlp:16", epochs=r.best_epoch, patience=None, **kw)
    np.testing.assert_array_equal(
        replay.weights, r.weights
    ) if replay.best_epoch == r.best_epoch else None
    full = train(split, "mlp:16", epochs=r.best_epoch, patience=r.best_epoch + 1, **kw)
    assert full.val_loss[-1] == pytest.approx(best, rel=1e-6)


def test_best_weights_restored_at_the_epoch_limit_too() -> None:
    split = load("circles", seed=0)
    r = train(split, "mlp:8", lr=0.3, optimizer="gd", epochs=40, patience=1000, batch_size=16)
    assert r.stop_reason == "max_epochs" and r.epochs_run == 40
    assert r.best_epoch == int(np.argmin(r.val_loss)) + 1
    assert r.metrics()["val_loss"] == pytest.approx(float(r.val_loss.min()))


def test_checkpoint_resumes_exactly(tmp_path: Path) -> None:
    split = load("iris", seed=2)
    kw = dict(lr=1e-2, batch_size=16, patience=None, seed=1)
    straight = train(split, "mlp:8", epochs=30, **kw)
    train(split, "mlp:8", epochs=12, checkpoint=tmp_path, **kw)
    resumed = resume(tmp_path, split, epochs=30)
    np.testing.assert_array_equal(resumed.train_loss, straight.train_loss)
    np.testing.assert_array_equal(resumed.weights, straight.weights)
    assert Training.load(resumed.save(tmp_path / "run")).best_epoch == straight.best_epoch


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        (
            "a,b,label\n" + "1,2,x\n" * 20,
            "nope",
            "Column 'nope' for the target is not in d.csv; its columns are a, b, label",
        ),
        (
            "a,b,label\n" + "1,zz,x\n" * 20,
            "label",
            "Row 2, column 'b' of d.csv is not a number: 'zz'",
        ),
        ("a,label\n" + "1,x\n" * 20 + "2,y\n", "label", "class 'y' of d has 1 row; "),
        ("a,label\n" + "1,x\n" * 20, None, "Say which column of d.csv to predict: --target"),
    ],
)
def test_csv_errors(tmp_path: Path, content: str, target: str | None, message: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(gs.DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(str(path), target=target)


def test_csv_classification_and_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    labels = np.where(x[:, 0] > 0, "pos", "neg")
    path = tmp_path / "c.csv"
    path.write_text(
        "u,v,kind\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(x, labels, strict=True))
    )
    s = load(str(path), target="kind")
    assert s.task == "classification" and s.classes == ("neg", "pos")
    assert abs(float(s.x_train.mean())) < 1e-6  # standardised on train
    path.write_text("u,v,y\n" + "".join(f"{a},{b},{a * 2.5 + 0.1}\n" for a, b in x))
    assert load(str(path), target="y").task == "regression"


def test_bad_settings() -> None:
    split = load("iris")
    with pytest.raises(gs.InputError, match="Unknown model 'cnn'"):
        train(split, "cnn")
    with pytest.raises(gs.InputError, match="mse does not fit a classification dataset"):
        train(split, "linear", loss="mse")
    with pytest.raises(gs.InputError, match="patience must be a whole number >= 1"):
        train(split, patience=0)
    with pytest.raises(gs.InputError, match="Unknown dataset 'mnist'"):
        load("mnist")
    assert isinstance(split, Split)


def test_train_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from gradscape.cli import main

    out = tmp_path / "run"
    assert main(["train", "--data", "iris", "--model", "mlp:8", "--lr", "0.01", "--epochs", "60",
                 "--patience", "10", "--out", str(out), "--json"]) == 0  # fmt: skip
    m = json.loads(capsys.readouterr().out)
    assert {"best_epoch", "epochs_run", "val_loss", "test_loss", "test_accuracy"} <= set(m)
    assert json.loads((out / "metrics.json").read_text()) == m
    assert (out / "curves.png").stat().st_size > 0 and (out / "checkpoint.npz").is_file()
    saved = Training.load(out / "training.npz")
    assert saved.best_epoch == m["best_epoch"] and saved.test_metric == m["test_accuracy"]

    assert main(["train", "--data", "line", "--model", "linear", "--lr", "0.05", "--epochs", "50",
                 "--out", str(tmp_path / "r"), "--json"]) == 0  # fmt: skip
    assert "test_r2" in json.loads(capsys.readouterr().out)

    path = tmp_path / "d.csv"
    path.write_text("a,b\n" + "1,2\n" * 30)
    assert main(["train", "--data", str(path), "--target", "c", "--out", str(tmp_path / "x")]) == 2
    assert "Column 'c' for the target is not in d.csv" in capsys.readouterr().err
    assert main(["train", "--data", "mnist", "--out", str(tmp_path / "y")]) == 2
    assert "Unknown dataset 'mnist'" in capsys.readouterr().err


def test_a_users_own_jax_model_trains() -> None:
    import jax
    import jax.numpy as jnp

    class TwoLayer:  # plain JAX functions over a dict pytree, not a gradscape Model
        def init(self, key: jax.Array) -> dict:
            k1, k2 = jax.random.split(key)
            return {
                "hidden": jax.random.normal(k1, (2, 16)) * 0.5,
                "out": jax.random.normal(k2, (16, 2)) * 0.5,
            }

        def apply(self, params: dict, x: jax.Array) -> jax.Array:
            return jnp.tanh(x @ params["hidden"]) @ params["out"]

    split = load("moons", seed=0)
    r = train(split, TwoLayer(), lr=3e-2, epochs=150, patience=20)
    assert r.test_metric > 0.9 and r.config["n_params"] == 64


# -- issue 9: the data a run saw, data that cannot be trained on, numbers out of range ----------
def test_split_seed_is_separate_from_the_init_seed(tmp_path: Path) -> None:
    from gradscape.cli import main

    def run(name: str, *flags: str) -> dict:
        out = tmp_path / name
        assert main(["train", "--data", "moons", "--model", "linear", "--epochs", "2",
                     "--out", str(out), *flags, "--json"]) == 0  # fmt: skip
        return Training.load(out / "training.npz").config

    a, b, c = run("a"), run("b", "--seed", "1"), run("c", "--seed", "1", "--split-seed", "1")
    # another initialisation, the same rows; another split seed, other rows
    assert (a["seed"], b["seed"], c["seed"]) == (0, 1, 1)
    assert (a["split_seed"], b["split_seed"], c["split_seed"]) == (0, 0, 1)
    assert a["data_fingerprint"] == b["data_fingerprint"] == load("moons", seed=0).fingerprint()
    assert c["data_fingerprint"] == load("moons", seed=1).fingerprint() != a["data_fingerprint"]
    # the API records the split's own seed beside the initialisation seed
    r = train(load("iris", seed=5), "linear", epochs=1, seed=3)
    assert (r.config["split_seed"], r.config["seed"]) == (5, 3)


def _csv(tmp_path: Path, header: str, rows: list[str]) -> str:
    path = tmp_path / "d.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return str(path)


_XS = np.random.default_rng(0).normal(size=(40, 2))


@pytest.mark.parametrize(
    ("header", "target_of", "message"),
    [
        ("a,b,y", lambda i, p, q: "nan" if i == 7 else f"{p + q}",
         r"1 of 40 rows of d have a NaN or infinite target 'y' \(the first is data row 8\)"),
        ("a,b,y", lambda i, p, q: "-inf" if i == 2 else f"{p * 3.5}",
         r"1 of 40 rows of d have a NaN or infinite target 'y'"),
        ("a,b,y", lambda i, p, q: "inf" if i == 2 else str(int(p > 0)),
         r"1 of 40 rows of d have a missing or non-finite target 'y' \('inf'\)"),
        ("a,b,y", lambda i, p, q: "" if i == 0 else ("u" if p > 0 else "v"),
         r"1 of 40 rows of d have a missing or non-finite target 'y' \(''\)"),
        ("a,b,y", lambda i, p, q: "yes", r"The target 'y' of d has one class \('yes'\)"),
        ("a,b,y", lambda i, p, q: "4.5", r"The target 'y' of d is 4.5 in every row"),
    ],
)  # fmt: skip
def test_targets_that_cannot_be_trained_on(
    tmp_path: Path, header: str, target_of: object, message: str
) -> None:
    rows = [f"{p},{q},{target_of(i, p, q)}" for i, (p, q) in enumerate(_XS)]  # type: ignore[operator]
    with pytest.raises(gs.DataError, match=message):
        load(_csv(tmp_path, header, rows), target="y")


def test_a_file_with_no_feature_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "y", [str(int(p > 0)) for p, _ in _XS])
    with pytest.raises(
        gs.DataError,
        match=r"d\.csv has only the target column 'y'; training needs at least one feature column",
    ):
        load(path, target="y")


def test_train_checks_a_split_made_by_hand() -> None:
    split = load("iris", seed=0)
    y = split.y_train.copy()
    y[:] = 0  # one class in the training rows
    with pytest.raises(gs.DataError, match="has one class"):
        train(Split(**{**split.__dict__, "y_train": y}), "linear", epochs=1)
    x = split.x_val.copy()
    x[0, 0] = np.inf
    with pytest.raises(gs.DataError, match="The val part of iris holds NaN or infinite values"):
        train(Split(**{**split.__dict__, "x_val": x}), "linear", epochs=1)
    with pytest.raises(gs.DataError, match="targets of iris must be class numbers 0 to 2"):
        train(Split(**{**split.__dict__, "y_test": split.y_test + 3}), "linear", epochs=1)


def test_the_task_is_said_and_can_be_chosen(tmp_path: Path) -> None:
    ages = np.random.default_rng(1).integers(20, 26, len(_XS))
    path = _csv(tmp_path, "a,b,age", [f"{p},{q},{a}" for (p, q), a in zip(_XS, ages, strict=True)])
    auto = load(path, target="age")
    assert auto.task == "classification" and auto.classes == tuple(map(str, np.unique(ages)))
    assert "6 distinct whole numbers, read as classes" in auto.task_reason
    assert "--task regression" in auto.task_reason
    reg = load(path, target="age", task="regression")
    assert reg.task == "regression" and reg.task_reason == "as asked"
    # the targets are the file's numbers, every row once
    got = np.sort(np.concatenate([reg.y_train, reg.y_val, reg.y_test]))
    np.testing.assert_array_equal(got, np.sort(ages).astype(np.float32))
    floats = _csv(tmp_path, "a,b,y", [f"{p},{q},{0.5 if p > 0 else -0.5}" for p, q in _XS])
    assert "not whole: read as numbers" in load(floats, target="y").task_reason
    forced = load(floats, target="y", task="classification")
    assert forced.classes == ("-0.5", "0.5") and forced.task == "classification"
    raw = forced.x_train[:, 0] * forced.scale[0] + forced.mean[0]
    np.testing.assert_array_equal(raw > 0, forced.y_train == 1)
    labels = _csv(tmp_path, "a,b,k", [f"{p},{q},{'u' if p > 0 else 'v'}" for p, q in _XS])
    with pytest.raises(gs.InputError, match=r"target 'k' holds text labels \('u', 'v'\)"):
        load(labels, target="k", task="regression")
    with pytest.raises(gs.InputError, match="task must be classification or regression"):
        load(labels, target="k", task="ranking")


def test_train_cli_says_the_task_and_takes_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradscape.cli import main

    ages = np.random.default_rng(1).integers(20, 26, len(_XS))
    path = _csv(tmp_path, "a,b,age", [f"{p},{q},{a}" for (p, q), a in zip(_XS, ages, strict=True)])
    base = ["train", "--data", path, "--target", "age", "--model", "linear", "--epochs", "2"]
    assert main([*base, "--out", str(tmp_path / "c")]) == 0
    assert (
        "task classification: target 'age' holds 6 distinct whole numbers"
        in capsys.readouterr().out
    )
    assert main([*base, "--task", "regression", "--out", str(tmp_path / "r"), "--json"]) == 0
    assert "test_r2" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(lr=1e308), r"at most 10000 \(MAX_LR\) to train in float32; got 1e\+308"),
        (dict(epochs=10**12), r"epochs must be a whole number from 1 to 1,000,000 \(MAX_EPOCHS\)"),
        (dict(seed=-1), "seed must be a whole number from 0 to 4294967295; got -1"),
        (dict(seed=2**32), "seed must be a whole number from 0 to 4294967295; got 4294967296"),
        (dict(batch_size=2.5), "batch_size must be a whole number >= 1"),
    ],
)  # fmt: skip
def test_numbers_out_of_range_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(gs.InputError, match=message):
        train(load("iris"), "linear", **kwargs)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_split_seeds_out_of_range_are_refused(seed: object) -> None:
    with pytest.raises(
        gs.InputError, match="The split seed must be a whole number from 0 to 4294967295"
    ):
        load("moons", seed=seed)  # type: ignore[arg-type]
    assert load("iris", seed=2**32 - 1).seed == 2**32 - 1  # the top of the range works


def test_too_many_weights_are_refused() -> None:
    with pytest.raises(gs.InputError, match=r"the limit is 20,000,000 \(MAX_WEIGHTS\)"):
        model("mlp:65536,65536", 4, 3)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mlp:64,,3", r"'mlp:64,,3' has an empty layer size \(part 2\); separate the sizes by"),
        ("mlp:64,", r"'mlp:64,' has an empty layer size \(part 2\)"),
        ("mlp:,8", r"'mlp:,8' has an empty layer size \(part 1\)"),
        ("mlp:64, 32", r"'mlp:64, 32' holds a space; write the sizes without spaces"),
        ("mlp :8", r"'mlp :8' holds a space"),
        ("mlp:0", r"from 1 to 65,536 \(MAX_WIDTH\); got '0' in 'mlp:0'"),
        ("mlp:-3", r"from 1 to 65,536 \(MAX_WIDTH\); got '-3' in 'mlp:-3'"),
        ("mlp:8.5", r"whole numbers from 1 to 65,536 \(MAX_WIDTH\); got '8.5'"),
        ("mlp:65537", r"whole numbers from 1 to 65,536 \(MAX_WIDTH\); got '65537'"),
        ("mlp:" + "9" * 5000, r"whole numbers from 1 to 65,536 \(MAX_WIDTH\); got '9999"),
        ("mlp:" + ",".join(["2"] * 33), r"asks for 33 hidden layers; at most 32 \(MAX_LAYERS\)"),
        ("mlp:", "mlp needs its hidden layer sizes"),
        ("linear:4", "linear has no hidden layers; for hidden layers write mlp:4"),
    ],
)
def test_model_specs_are_read_strictly(spec: str, message: str) -> None:
    # issue 9: mlp:64,,3 was read as mlp:64,3 and mlp:-3 as an unknown model
    with pytest.raises(gs.InputError, match=message):
        model(spec, 4, 3)
    assert model("mlp:64,32", 4, 3).sizes == (4, 64, 32, 3)
    assert model(" MLP:8 ", 4, 3).spec == "mlp:8"


def test_train_cli_refuses_an_empty_layer_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradscape.cli import main

    argv = ["train", "--data", "iris", "--model", "mlp:64,,3", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "gradscape: error: 'mlp:64,,3' has an empty layer size (part 2); separate the sizes by "
        "single commas, with none at either end, e.g. mlp:64,32."
    ]


# -- exit status, Ctrl-C, run folders --------------------------------------------------------------
def test_exit_status_does_not_depend_on_the_output_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradscape.cli import EXIT_DIVERGED, main

    args = ["train", "--data", "moons", "--model", "mlp:8", "--optimizer", "gd", "--lr", "1000",
            "--epochs", "5"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "a")]) == EXIT_DIVERGED
    assert "became NaN or infinite" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "b"), "--json"]) == EXIT_DIVERGED
    import json

    assert json.loads(capsys.readouterr().out)["stop_reason"] == "diverged"


def test_a_run_says_itself_whether_it_diverged() -> None:
    """The CLI's exit status reads ``Training.diverged``: true exactly when a loss went
    NaN or infinite."""
    split = load("moons", seed=0)
    wild = train(split, "mlp:8", optimizer="gd", lr=1000, epochs=5)
    calm = train(split, "linear", lr=1e-2, epochs=2, patience=None)
    assert wild.diverged and not np.all(np.isfinite(wild.train_loss[: wild.epochs_run]))
    assert not calm.diverged and np.all(np.isfinite(calm.train_loss[: calm.epochs_run]))


def test_ctrl_c_stops_between_epochs_and_the_run_resumes_exactly(tmp_path: Path) -> None:
    import os
    import signal

    split = load("iris", seed=2)
    kw = dict(lr=1e-2, batch_size=16, patience=None, seed=1)
    straight = train(split, "mlp:8", epochs=8, **kw)

    def press_ctrl_c(done: int, total: int) -> None:
        if done == 3:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(
        gs.networks.training.TrainingInterrupted, match="stopped after epoch 3 of 8"
    ) as exc:
        train(split, "mlp:8", epochs=8, checkpoint=tmp_path, progress=press_ctrl_c, **kw)
    assert isinstance(exc.value, KeyboardInterrupt) and exc.value.folder == tmp_path
    import json

    marker = json.loads((tmp_path / "partial.json").read_text())
    assert marker["state"] == "interrupted" and marker["epochs_done"] == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler given back
    with pytest.raises(gs.InputError, match="holds an unfinished run"):
        gs.networks.training.load_run(tmp_path)
    resumed = resume(tmp_path)  # split and epoch limit from the checkpoint
    np.testing.assert_array_equal(resumed.train_loss, straight.train_loss)
    np.testing.assert_array_equal(resumed.weights, straight.weights)
    assert not (tmp_path / "partial.json").exists()


def test_ctrl_c_on_the_command_line(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "gradscape.cli", "train", "--data", "digits", "--model", "mlp:16",
           "--epochs", "100000", "--patience", "100000", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "partial.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and time.monotonic() - sent < 30
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.startswith("gradscape: interrupted: training stopped after epoch ")
    import json

    marker = json.loads((out / "partial.json").read_text())
    assert (
        marker["state"] == "interrupted" and marker["resume"] == f"gradscape.resume({str(out)!r})"
    )
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "partial.json"]


def test_checkpoints_are_written_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    split = load("iris", seed=0)
    train(split, "linear", epochs=2, checkpoint=tmp_path)
    before = (tmp_path / "checkpoint.npz").read_bytes()

    def full_disk(file: object, **arrays: object) -> None:
        handle = open(file, "wb") if isinstance(file, str | Path) else file  # noqa: SIM115
        handle.write(b"PK\x03\x04 half a file")  # type: ignore[union-attr]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="No space left"):
        train(split, "linear", epochs=3, checkpoint=tmp_path)
    assert (tmp_path / "checkpoint.npz").read_bytes() == before  # the old one, whole
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gradscape.cli import main

    out = tmp_path_factory.mktemp("runs") / "good"
    assert main(["train", "--data", "iris", "--model", "mlp:4", "--epochs", "3", "--out",
                 str(out), "--json"]) == 0  # fmt: skip
    return out


def _damage(folder: Path, how: str) -> None:
    import json
    import zipfile

    npz = folder / "training.npz"
    good = Training.load(npz)
    if how == "truncated":
        npz.write_bytes(npz.read_bytes()[:300])
    elif how == "empty":
        npz.write_bytes(b"")
    elif how in ("config.json lacks a key", "config.json disagrees"):
        c = json.loads((folder / "config.json").read_text())
        if how == "config.json lacks a key":
            del c["model"]
        else:
            c["split_seed"] = 7
        (folder / "config.json").write_text(json.dumps(c))
    elif how == "config lacks a key":
        c = {k: v for k, v in good.config.items() if k != "loss"}
        Training(**{**good.__dict__, "config": c}).save(npz)
    elif how == "weights do not fit":
        Training(**{**good.__dict__, "weights": good.weights[:-1]}).save(npz)
    elif how == "NaN weights":
        w = good.weights.copy()
        w[0] = np.nan
        Training(**{**good.__dict__, "weights": w}).save(npz)
    elif how == "zip bomb":  # a member whose header declares far more than it holds
        with zipfile.ZipFile(npz, "w") as zf, zf.open("weights.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
            )


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", r"training.npz is truncated or damaged"),
        ("empty", r"training.npz is empty"),
        ("config.json lacks a key", r"config.json lacks 'model'; the run folder is damaged"),
        ("config.json disagrees", r"config.json says split_seed is 7 but training.npz says 0"),
        ("config lacks a key", r"training.npz lacks 'loss' in its config"),
        ("weights do not fit", r"training.npz holds 34 weights but its model mlp:4 has 35"),
        ("NaN weights", r"training.npz holds NaN or infinite weights"),
        ("zip bomb", r"member 'weights.npy' declares 8,000,000,000,000 bytes of data"),
    ],
)  # fmt: skip
def test_broken_run_folders_get_one_line(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, message: str
) -> None:
    import shutil

    from gradscape.cli import main

    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    _damage(folder, how)
    for verb in ("landscape", "spectrum"):
        assert main([verb, str(folder), "--out", str(tmp_path / verb)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert str(folder) in err and re.search(message, err), err


def test_a_run_whose_data_changed_is_refused(tmp_path: Path) -> None:
    rows = [f"{p},{q},{'u' if p > 0 else 'v'}" for p, q in _XS]
    path = _csv(tmp_path, "a,b,k", rows)
    from gradscape.cli import main

    assert main(["train", "--data", path, "--target", "k", "--model", "linear", "--epochs", "2",
                 "--out", str(tmp_path / "r"), "--json"]) == 0  # fmt: skip
    _csv(tmp_path, "a,b,k", rows[::-1])  # the same rows in another order: other splits
    with pytest.raises(gs.InputError, match="holds other rows; use the same data and split seed"):
        gs.networks.training.load_run(tmp_path / "r")


def test_declared_sizes_are_checked_before_loading(tmp_path: Path) -> None:
    import zipfile

    from gradscape._npz import check_npz

    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("a.npy", "w") as fh:
        np.lib.format.write_array(fh, np.zeros(2_000_000))  # 16 MB of zeros, 16 kB on disk
    assert path.stat().st_size < 100_000
    with pytest.raises(gs.InputError, match=r"over the cap of 0.00931 GiB \(MAX_NPZ_BYTES\)"):
        check_npz(path, cap=10_000_000)
    check_npz(path, cap=20_000_000)  # within the cap it passes


def test_a_damaged_checkpoint_is_refused_by_resume(tmp_path: Path) -> None:
    split = load("iris", seed=0)
    train(split, "mlp:4", epochs=2, checkpoint=tmp_path)
    path = tmp_path / "checkpoint.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(path, **{**arrays, "params": arrays["params"][:-2]})
    with pytest.raises(
        gs.InputError, match=r"checkpoint.npz holds 33 weights; mlp:4 on iris has 35"
    ):
        resume(tmp_path, split, epochs=4)
    np.savez(path, **{k: v for k, v in arrays.items() if k != "meta"})
    with pytest.raises(gs.InputError, match=r"checkpoint\.npz has no meta entry"):
        resume(tmp_path, split, epochs=4)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(gs.InputError, match=r"checkpoint\.npz is truncated or damaged"):
        resume(tmp_path, split, epochs=4)


def test_newton_cannot_train_a_network() -> None:
    split = load("iris", seed=0)
    with pytest.raises(gs.InputError, match=r"newton forms the exact Hessian .* cannot train"):
        train(split, "logistic", optimizer="newton", epochs=1)


def test_on_epoch_reports_each_epochs_numbers_best_epoch_and_weights() -> None:
    from jax.flatten_util import ravel_pytree

    from gradscape.networks.training import EpochInfo

    split = load("moons", seed=0)
    kw = dict(lr=3e-2, batch_size=64, seed=3)
    infos: list[EpochInfo] = []
    r = train(split, "mlp:8", epochs=60, patience=4, on_epoch=infos.append, **kw)
    assert [i.epoch for i in infos] == list(range(1, r.epochs_run + 1))
    for name in ("train_loss", "val_loss", "train_metric", "val_metric"):
        np.testing.assert_array_equal([getattr(i, name) for i in infos], getattr(r, name))
    for i in infos:  # the best so far: the first epoch with the lowest validation loss
        seen = r.val_loss[: i.epoch]
        assert i.best_epoch == int(np.argmin(seen)) + 1 and i.best_value == seen.min()
        assert i.wait == i.epoch - i.best_epoch and i.metric == "accuracy" and i.epochs == 60
    assert infos[-1].best_epoch == r.best_epoch and infos[-1].wait == 4
    # the weights it reports are those after that many epochs of the same seeded run
    k = infos[2].epoch
    replay = train(split, "mlp:8", epochs=k, patience=None, **kw)
    np.testing.assert_array_equal(np.asarray(ravel_pytree(infos[2].params)[0]), replay.weights)
    out = np.asarray(infos[2].model.apply(infos[2].params, split.x_val))
    assert float(np.mean(out.argmax(axis=1) == split.y_val)) == infos[2].val_metric


def test_on_epoch_sees_a_diverged_epoch_and_can_stop_training(tmp_path: Path) -> None:
    from gradscape.networks.training import EpochInfo

    split = load("moons", seed=0)
    seen: list[int] = []
    r = train(split, "mlp:8", optimizer="gd", lr=1000, epochs=5,
              on_epoch=lambda i: seen.append(i.epoch))  # fmt: skip
    assert r.diverged and seen == list(range(1, r.epochs_run + 1))

    class Stop(Exception):
        pass

    def stop_at_3(info: EpochInfo) -> None:
        if info.epoch == 3:
            raise Stop

    with pytest.raises(Stop):
        train(split, "logistic", epochs=10, on_epoch=stop_at_3, checkpoint=tmp_path)
    assert (tmp_path / "partial.json").exists()  # the folder says the run never finished


def test_stop_note_says_why_and_which_weights() -> None:
    split = load("moons", seed=0)
    early = train(split, "mlp:16", lr=3e-2, batch_size=64, seed=3, epochs=400, patience=7)
    assert early.restored and early.stop_note() == (
        f"Early stopping: the validation loss did not improve by more than 0 for 7 epochs after "
        f"epoch {early.best_epoch}, so training stopped at epoch {early.epochs_run} and restored "
        f"the weights of epoch {early.best_epoch}."
    )
    last = train(split, "mlp:8", epochs=5, patience=None)
    assert not last.restored
    assert last.lowest_epoch == int(np.argmin(last.val_loss)) + 1 == 5  # still improving
    assert last.stop_note() == (
        "Training ran all 5 epochs with no early stopping, so the weights of the last epoch are "
        f"kept (validation loss {last.val_loss[-1]:.4g}); they also have the lowest validation loss."
    )
    limit = train(load("circles", seed=0), "mlp:8", lr=0.3, optimizer="gd", epochs=40,
                  patience=1000, batch_size=16, monitor="val_metric")  # fmt: skip
    if limit.best_epoch < 40:
        assert limit.restored and limit.stop_note() == (
            f"Training ran all 40 epochs; validation accuracy was best at epoch "
            f"{limit.best_epoch}, whose weights were restored."
        )
    boom = train(split, "mlp:8", optimizer="gd", lr=1000, epochs=5)
    assert boom.stop_note().startswith(
        f"The training loss became NaN or infinite at epoch {boom.epochs_run}"
    )


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"model": "mlp:0"}, "MAX_WIDTH"), ({"lr": 0}, "learning rate must be a number > 0"),
    ({"epochs": 0}, "epochs"), ({"optimizer": "newton"}, "cannot train a network"),
    ({"loss": "mse"}, "does not fit a classification dataset"), ({"patience": 0}, "patience"),
])  # fmt: skip
def test_check_settings_refuses_what_train_refuses(kwargs: dict, message: str) -> None:
    from gradscape.networks.training import check_settings

    split = load("moons", seed=0)
    with pytest.raises(gs.InputError, match=message) as checked:
        check_settings(split, **kwargs)
    with pytest.raises(gs.InputError) as trained:
        train(split, **kwargs)
    assert str(checked.value) == str(trained.value)
    check_settings(split, "mlp:4", lr=0.1, epochs=3)  # good settings pass


def test_the_snippet_reproduces_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gradscape.networks.training import snippet

    split = load("iris", seed=5, val=0.25, test=0.15, task="classification")
    r = train(split, "mlp:6", optimizer="momentum", lr=0.05, epochs=15, batch_size=None,
              patience=3, min_delta=1e-3, monitor="val_metric", activation="tanh", seed=9)  # fmt: skip
    code = snippet(r.config)
    assert "gs.load_dataset('iris', seed=5, val=0.25, test=0.15, task='classification')" in code
    space: dict = {}
    exec(compile(code, "snippet.py", "exec"), space)
    assert space["run"].metrics() == r.metrics()
    np.testing.assert_array_equal(space["run"].weights, r.weights)
    assert r.stop_note() in capsys.readouterr().out
    assert snippet(r.config, data="my data.csv").count("'my data.csv'") == 1


def test_a_target_with_a_built_in_dataset_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    from gradscape.cli import main
    from gradscape.errors import InputError

    msg = (
        "moons is a built-in dataset with its own target; target 'x1' names a CSV file's column: "
        "drop it, or give a CSV file."
    )
    with pytest.raises(InputError) as e:
        load("moons", target="x1")
    assert str(e.value) == msg
    assert main(["train", "--data", "moons", "--target", "x1", "--epochs", "1"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"gradscape: error: {msg}"]


def test_without_early_stopping_the_kept_epoch_is_the_last_and_the_lowest_is_said_apart() -> None:
    """The tester's case: with no patience the last epoch's weights are kept; "best epoch" must
    not name it, and the epoch of the lowest validation loss is said on its own."""
    from gradscape.run_files import training_sections

    split = load("moons", seed=0)
    infos: list = []
    r = train(split, "mlp:16", epochs=40, patience=None, lr=0.1, seed=0, batch_size=100,
              on_epoch=infos.append)  # fmt: skip
    low = int(np.argmin(r.val_loss)) + 1  # NumPy's own argmin over the recorded curve
    assert r.best_epoch == r.epochs_run == 40 and low < 40 and r.lowest_epoch == low
    assert not r.early_stopping and not r.restored
    assert r.kept_label == "weights kept: epoch 40 (the last)"
    assert r.lowest_label == f"lowest validation loss: epoch {low}"
    assert r.kept_note() == (
        f"weights kept: the last epoch, 40 (no early stopping); lowest validation loss: epoch {low}"
    )
    assert r.stop_note() == (
        "Training ran all 40 epochs with no early stopping, so the weights of the last epoch are "
        f"kept (validation loss {r.val_loss[-1]:.4g}); the lowest validation loss, "
        f"{r.val_loss[low - 1]:.4g}, was at epoch {low}."
    )
    # the CLI's text says the same, and never "best epoch"
    text = "\n".join(training_sections(r, split)[0][1])
    assert r.kept_note() in text and "best" not in text
    # live: each epoch says the lowest so far (the running argmin) and that the last is kept
    for i, info in enumerate(infos):
        assert info.lowest_epoch == int(np.argmin(r.val_loss[: i + 1])) + 1
        assert info.lowest_val_loss == r.val_loss[info.lowest_epoch - 1]
        assert not info.early_stopping and info.best_epoch == i + 1
    assert infos[-1].note() == (
        f"weights kept: the last epoch (no early stopping); lowest validation loss so far: epoch {low}"
    )
    # with early stopping the kept epoch is the best one, and is called so
    e = train(split, "mlp:16", epochs=40, patience=5, lr=0.1, seed=0, batch_size=100)
    assert e.early_stopping and e.kept_label == f"best epoch {e.best_epoch}"
    assert e.kept_note() == f"best epoch {e.best_epoch} (its weights restored)"
    assert e.lowest_epoch == e.best_epoch == int(np.argmin(e.val_loss)) + 1
