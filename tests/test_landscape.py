"""Loss landscapes: the centre is the trained loss, an interpolation ends at each run's loss,
directions are filter-normalised and reproducible, the first-layer shortcut changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main
from gradscape.networks.datasets import load
from gradscape.networks.landscapes import Landscape, filter_normalised, landscape
from gradscape.networks.models import model
from gradscape.networks.training import Training, train


@pytest.fixture(scope="module")
def runs() -> tuple:
    split = load("iris", seed=0)
    a = train(split, "mlp:8,8", lr=1e-2, epochs=60, patience=10, seed=0)
    b = train(split, "mlp:8,8", lr=1e-2, epochs=60, patience=10, seed=7)
    return split, a, b, model("mlp:8,8", split.n_features, split.n_outputs)


def train_loss(run: gs.Training) -> float:
    return float(run.train_loss[run.best_epoch - 1])


def test_centre_is_the_trained_loss(runs: tuple, tmp_path: Path) -> None:
    split, a, _, net = runs
    land = landscape(a, split, net, dims=2, grid=11, directions="random", seed=3)
    assert land.values[5, 5] == pytest.approx(train_loss(a), rel=1e-5)
    assert land.center_loss == pytest.approx(train_loss(a), rel=1e-5)
    back = Landscape.load(land.save(tmp_path / "l"))
    np.testing.assert_array_equal(back.directions, land.directions)
    again = landscape(a, split, net, dims=2, grid=11, directions="random", seed=3)
    np.testing.assert_array_equal(again.directions, land.directions)  # seeded


def test_interpolation_ends_are_each_runs_loss(runs: tuple) -> None:
    split, a, b, net = runs
    line = landscape(a, split, net, between=b, grid=13)
    assert line.kind == "between" and line.center_loss == pytest.approx(train_loss(a), rel=1e-5)
    # the other run's best weights scored on this split
    obj_b = gs.networks.training.loss_objective(b, split, net)[0]
    assert line.end_loss == pytest.approx(float(obj_b.fn(b.weights)), rel=1e-4)


def test_filter_normalisation(runs: tuple) -> None:
    import jax

    _, a, _, net = runs
    template = net.init(jax.random.PRNGKey(0))
    d = filter_normalised(template, a.weights, jax.random.PRNGKey(1))
    from gradscape.networks.training import unravel_weights

    w_tree = unravel_weights(a, net)
    d_tree = unravel_weights(gs.Training(**{**a.__dict__, "weights": d}), net)
    for wl, dl in zip(w_tree, d_tree, strict=True):
        np.testing.assert_allclose(
            np.linalg.norm(dl["w"], axis=0), np.linalg.norm(wl["w"], axis=0), rtol=1e-5
        )
        assert not np.any(np.asarray(dl["b"]))  # biases left out


def test_first_layer_shortcut_matches_the_plain_evaluation(runs: tuple) -> None:
    split, a, _, net = runs

    class Plain:  # the same network, not recognised as a built-in Model
        def init(self, key):
            return net.init(key)

        def apply(self, params, x):
            return net.apply(params, x)

    fast = landscape(a, split, net, dims=2, grid=9, seed=2)
    plain = landscape(a, split, Plain(), dims=2, grid=9, seed=2)
    np.testing.assert_allclose(fast.values, plain.values, rtol=2e-5)


def test_pca_and_hessian_planes(runs: tuple) -> None:
    split, a, _, net = runs
    pca = landscape(a, split, net, dims=2, grid=9, directions="pca")
    assert pca.explained.sum() <= 1 + 1e-9 and pca.explained[0] >= pca.explained[1]
    assert pca.path.shape == (len(a.trajectory), 2)
    hess = landscape(a, split, net, dims=1, grid=9, directions="hessian")
    # along the top Hessian eigenvector the loss curves up on both sides of a minimum
    assert hess.values[0] > hess.center_loss and hess.values[-1] > hess.center_loss


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [(dict(dims=3), "dims must be 1 or 2"), (dict(grid=2), "grid must be a whole number from 3"),
     (dict(span=0.0), "span must be a number > 0"), (dict(directions="pcaa"), "Unknown directions"),
     (dict(span=1e308), r"span must be a number > 0 and at most 1000 \(MAX_SPAN\); got 1e\+308"),
     (dict(seed=-1), "seed must be a whole number from 0 to 4294967295; got -1"),
     (dict(seed=2**32), "seed must be a whole number from 0 to 4294967295; got 4294967296")],
)  # fmt: skip
def test_bad_input(runs: tuple, kwargs: dict, message: str) -> None:
    split, a, _, net = runs
    with pytest.raises(gs.InputError, match=message):
        landscape(a, split, net, **kwargs)


def test_landscape_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", "moons", "--model", "mlp:8", "--lr", "0.02", "--epochs",
                 "30", "--out", str(run), "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["landscape", str(run), "--grid", "7", "--subsample", "100", "--out",
                 str(tmp_path / "l"), "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "random" and out["rows"] == 100 and out["grid"] == 7
    assert (tmp_path / "l" / "contours.png").stat().st_size > 0
    assert main(["landscape", str(run), "--dims", "1", "--directions", "pca", "--grid", "9",
                 "--out", str(tmp_path / "p"), "--json"]) == 0  # fmt: skip
    assert len(json.loads(capsys.readouterr().out)["explained_variance"]) == 1


# -- issue 9: --between compares runs on the same rows only; NaN weights are refused -------------
def test_between_needs_the_same_data_split(runs: tuple) -> None:
    split, a, b, net = runs
    assert (a.config["split_seed"], b.config["split_seed"]) == (0, 0)  # seeds 0 and 7: one split
    landscape(a, split, net, between=b, grid=5)
    other = train(load("iris", seed=1), "mlp:8,8", lr=1e-2, epochs=3, seed=7)
    with pytest.raises(
        gs.InputError,
        match=r"different data splits: this one on iris with split seed 0, the other on iris "
        r"with split seed 1",
    ):
        landscape(a, split, net, between=other, grid=5)


def test_between_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(name: str, *flags: str) -> str:
        out = str(tmp_path / name)
        assert main(["train", "--data", "moons", "--model", "mlp:4", "--epochs", "3", "--out",
                     out, *flags, "--json"]) == 0  # fmt: skip
        return out

    a, b, c = run("a"), run("b", "--seed", "1"), run("c", "--split-seed", "1")
    capsys.readouterr()
    assert main(["landscape", a, "--between", b, "--grid", "5", "--out", str(tmp_path / "ab"),
                 "--json"]) == 0  # fmt: skip
    line = json.loads(capsys.readouterr().out)
    # the line is scored on run a's training rows, which are run b's training rows too
    assert line["end_loss"] == pytest.approx(
        float(Training.load(Path(b) / "training.npz").metrics()["train_loss"]), rel=1e-4
    )
    assert main(["landscape", a, "--between", c, "--out", str(tmp_path / "ac")]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "moons with split seed 0, the other on moons with split seed 1" in err
    )
    # a plane between two runs does not exist: asked for, it is refused, not drawn as a line
    assert main(["landscape", a, "--between", b, "--dims", "2", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the line joining them (dims 1); got dims 2" in err


def test_nan_weights_are_refused_not_drawn(runs: tuple) -> None:
    split, a, b, net = runs
    w = a.weights.copy()
    w[2] = np.nan
    with pytest.raises(gs.InputError, match="The run's weights hold NaN or infinite values"):
        landscape(Training(**{**a.__dict__, "weights": w}), split, net, grid=5)
    with pytest.raises(gs.InputError, match="The other run's weights hold NaN"):
        landscape(a, split, net, between=Training(**{**b.__dict__, "weights": w}), grid=5)


def test_overflowing_grid_points_are_counted_and_said(runs: tuple) -> None:
    split, a, _, net = runs
    huge = Training(**{**a.__dict__, "weights": a.weights * np.float32(1e13)})  # logits past 3e38
    land = landscape(huge, split, net, dims=1, grid=7)
    bad = int(np.count_nonzero(~np.isfinite(land.values)))
    assert bad > 0
    assert land.warnings == (
        f"the loss overflowed to NaN or infinity at {bad} of 7 grid points; shrink the span",
    )
    assert land.summary()["warnings"] == list(land.warnings)


def test_between_needs_the_same_model(runs: tuple) -> None:
    split, a, _, net = runs
    tanh = train(split, "mlp:8,8", activation="tanh", lr=1e-2, epochs=3, seed=7)
    with pytest.raises(
        gs.InputError, match=r"another model \(mlp:8,8 tanh cross_entropy, this one mlp:8,8 relu"
    ):
        landscape(a, split, net, between=tanh, grid=5)


def test_landscape_words_fit_a_line_or_a_plane(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 9: `landscape RUN --directions pca --dims 1` said "the plane explains ..."
    import re

    from gradscape import plot

    titles: list[str] = []
    save = plot.save

    def keep_titles(fig: object, path: Path) -> Path:
        titles.extend(ax.get_title() for ax in fig.axes)  # type: ignore[attr-defined]
        return save(fig, path)  # type: ignore[arg-type]

    monkeypatch.setattr(plot, "save", keep_titles)
    run = str(tmp_path / "run")
    assert main(["train", "--data", "moons", "--model", "mlp:4", "--epochs", "5", "--out", run,
                 "--json"]) == 0  # fmt: skip
    cases = [(d, k) for d in ("1", "2") for k in ("random", "hessian", "pca")]
    for dims, kind in [*cases, ("1", "between")]:
        flags = ["--between", run] if kind == "between" else ["--directions", kind]
        capsys.readouterr()
        titles.clear()
        out = str(tmp_path / f"{kind}{dims}")
        assert main(["landscape", run, "--dims", dims, *flags, "--grid", "5", "--out", out]) == 0
        story = capsys.readouterr().out
        summary = json.loads((Path(out) / "summary.json").read_text())
        shape = "line" if dims == "1" else "plane"
        words = set(re.findall(r"\b(line|plane|axis)\b", story + " ".join(titles)))
        assert words == {shape}, (kind, dims, words, story, titles)
        assert summary["shape"] == shape and summary["dims"] == int(dims)
        assert summary["description"] in story
        if kind == "pca":
            explained = summary["explained_variance"]
            assert len(explained) == int(dims)
            assert f"the {shape} explains {100 * explained[0]:.4g}%" in story
        one_axis = re.search(r"^\s+5 points, the loss", story, re.M) is not None
        assert ("5 × 5 points" in story) == (dims == "2") and one_axis == (dims == "1")


def test_the_barrier_between_runs_is_never_below_zero(runs: tuple) -> None:
    split, a, b, net = runs
    same = landscape(a, split, net, between=a, grid=9).summary()
    assert same["barrier"] == 0.0  # a run and itself: a flat line (was -1.8e-7, float32 noise)
    line = landscape(a, split, net, between=b, grid=21)
    out = line.summary()
    on = (line.alphas >= 0) & (line.alphas <= 1)
    rise = float(np.max(line.values[on]) - max(line.center_loss, line.end_loss))
    assert out["barrier"] >= 0.0 and out["barrier"] == pytest.approx(max(rise, 0.0), abs=1e-5)
