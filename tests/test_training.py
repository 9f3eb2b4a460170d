"""Training with early stopping against independent references: scikit-learn, NumPy least squares,
exact replays of the seeded run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.datasets import Split, load
from gradscape.networks import model
from gradscape.training import Training, resume, train, unravel_weights


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
        ("a,label\n" + "1,x\n" * 20 + "2,y\n", "label", "class 'y' of d has 1 rows"),
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
