"""A model's predictions on a grid over its inputs, against NumPy with the weights written out."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradscape.errors import InputError
from gradscape.networks.datasets import load
from gradscape.networks.models import model
from gradscape.networks.predictions import MAX_SIDE, box, data_points, prediction_grid


def test_two_classes_give_the_probability_of_class_one() -> None:
    split = load("moons", seed=1)
    net = model("logistic", 2, 2)
    w = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    b = np.array([0.1, -0.3], np.float32)
    params = [{"w": jnp.asarray(w), "b": jnp.asarray(b)}]
    g = prediction_grid(net, params, split, side=7)
    assert g.kind == "probability" and g.values.shape == (7, 7) and g.features == ("x1", "x2")
    raw = np.concatenate([split.x_train, split.x_val, split.x_test]) * split.scale + split.mean
    lo, hi = raw.min(axis=0), raw.max(axis=0)
    np.testing.assert_allclose(
        [g.xs[0], g.xs[-1]], [lo[0] - 0.1 * (hi[0] - lo[0]), hi[0] + 0.1 * (hi[0] - lo[0])]
    )
    gx, gy = np.meshgrid(g.xs, g.ys)
    z = (np.column_stack([gx.ravel(), gy.ravel()]) - split.mean) / split.scale
    logits = z @ w.astype(np.float64) + b
    p1 = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
    np.testing.assert_allclose(g.values, p1.reshape(7, 7), rtol=1e-5, atol=1e-6)


def test_one_feature_regression_gives_the_fitted_line() -> None:
    split = load("line", seed=0)
    net = model("linear", 1, 1)
    params = [{"w": jnp.asarray([[3.0]], jnp.float32), "b": jnp.asarray([-1.0], jnp.float32)}]
    g = prediction_grid(net, params, split, side=11)
    assert g.kind == "value" and g.values.shape == (11,) and g.ys.size == 0
    np.testing.assert_allclose(g.values, 3.0 * (g.xs - split.mean[0]) / split.scale[0] - 1.0,
                               rtol=1e-5, atol=1e-5)  # fmt: skip


def test_more_classes_give_the_class(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = "".join(f"{a:.3f},{b:.3f},{k}\n" for k in range(3) for a, b in rng.normal(k, 1, (20, 2)))
    (tmp_path / "three.csv").write_text("u,v,k\n" + rows)
    split = load(str(tmp_path / "three.csv"), target="k")
    net = model("logistic", 2, 3)
    w = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.5]], np.float32)
    params = [{"w": jnp.asarray(w), "b": jnp.zeros(3, jnp.float32)}]
    g = prediction_grid(net, params, split, side=9)
    assert g.kind == "class" and g.features == ("u", "v")
    gx, gy = np.meshgrid(g.xs, g.ys)
    z = (np.column_stack([gx.ravel(), gy.ravel()]) - split.mean) / split.scale
    np.testing.assert_array_equal(g.values, np.argmax(z @ w, axis=1).reshape(9, 9))


def test_refusals() -> None:
    with pytest.raises(
        InputError, match="iris has 4 features; a picture of the predictions needs one or two"
    ):
        box(load("iris"))
    split = load("moons")
    net = model("logistic", 2, 2)
    with pytest.raises(InputError, match="MAX_SIDE"):
        prediction_grid(net, net.init(jax.random.PRNGKey(0)), split, side=MAX_SIDE + 1)


def test_data_points_are_the_rows_in_their_own_units() -> None:
    split = load("line", seed=4)
    rng = np.random.default_rng(4)  # the generator of the line dataset
    x = rng.uniform(0, 10, (200, 1))
    pts = data_points(split, ("train", "val", "test"))
    got = np.concatenate([pts[p]["x"] for p in ("train", "val", "test")])[:, 0]
    np.testing.assert_allclose(np.sort(got), np.sort(x[:, 0]), rtol=1e-5, atol=1e-5)
    assert len(data_points(split, ("train",), limit=5)["train"]["y"]) == 5
