"""Hessian spectra by Lanczos, Hutchinson and SLQ against the exact Hessian of a small MLP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main
from gradscape.datasets import load
from gradscape.networks import model
from gradscape.spectra import Spectrum, spectrum
from gradscape.training import loss_objective, train


@pytest.fixture(scope="module")
def small_mlp() -> tuple:
    split = load("wine", seed=0)
    run = train(split, "mlp:8", lr=1e-2, epochs=80, patience=15)
    obj, w = loss_objective(run, split, model("mlp:8", split.n_features, split.n_outputs))
    return obj, w


def test_lanczos_and_hutchinson_against_the_exact_hessian(small_mlp: tuple, tmp_path: Path) -> None:
    obj, w = small_mlp
    sp = spectrum(obj, w, top=3, bottom=3, steps=40, trace=True, trace_samples=50, exact=True)
    exact = np.sort(sp.exact)
    np.testing.assert_allclose(sp.top, exact[::-1][:3], rtol=0.01)
    np.testing.assert_allclose(sp.bottom, exact[:3], rtol=0.01, atol=1e-6 * exact[-1])
    assert abs(sp.trace - exact.sum()) <= 0.05 * abs(exact.sum())
    assert all(e < 0.01 for e in sp.errors()["top"])
    assert np.all(sp.top_residual >= 0)
    back = Spectrum.load(sp.save(tmp_path / "s"))
    np.testing.assert_array_equal(back.top, sp.top)


def test_lanczos_matches_numpy_on_a_known_quadratic() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 30))
    h = (a + a.T) / 2
    import jax.numpy as jnp

    obj = gs.Objective(
        lambda t: 0.5 * t @ jnp.asarray(h) @ t, names=tuple(f"t{i}" for i in range(30))
    )
    sp = spectrum(obj, np.zeros(30), top=2, bottom=2, steps=30)
    ev = np.linalg.eigvalsh(h)
    np.testing.assert_allclose(sp.top, ev[::-1][:2], rtol=1e-4)
    np.testing.assert_allclose(sp.bottom, ev[:2], rtol=1e-4)


def test_density_is_a_density(small_mlp: tuple) -> None:
    obj, w = small_mlp
    sp = spectrum(
        obj, w, top=1, bottom=1, steps=20, density=True, density_starts=4, density_steps=30
    )
    integral = float(np.sum(sp.density) * (sp.density_grid[1] - sp.density_grid[0]))
    assert integral == pytest.approx(1.0, abs=0.02) and np.all(sp.density >= 0)


def test_bad_input(small_mlp: tuple) -> None:
    obj, w = small_mlp
    with pytest.raises(gs.InputError, match="top must be a whole number from 0 to steps"):
        spectrum(obj, w, top=-1)
    with pytest.raises(gs.InputError, match="steps must be a whole number >= 1"):
        spectrum(obj, w, steps=0)


def test_spectrum_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", "iris", "--model", "mlp:4", "--lr", "0.02", "--epochs", "40",
                 "--out", str(run), "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["spectrum", str(run), "--top", "2", "--bottom", "2", "--trace", "--exact",
                 "--density", "--out", str(tmp_path / "s"), "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert len(out["top"]) == 2 and out["exact"]["top"] == pytest.approx(out["top"], rel=0.01)
    assert out["relative_errors"]["trace"] < 0.05
    assert (tmp_path / "s" / "density.png").stat().st_size > 0
    assert main(["spectrum", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2
    assert "is not a training run" in capsys.readouterr().err


def test_layer_blocks_match_the_exact_principal_submatrices(small_mlp: tuple) -> None:
    import jax

    from gradscape.spectra import layer_slices

    obj, w = small_mlp
    blocks = layer_slices(model("mlp:8", 13, 3).init(jax.random.PRNGKey(0)))
    assert list(blocks) == ["layer 1", "layer 2"] and blocks["layer 2"].stop == w.size
    sp = spectrum(obj, w, top=2, bottom=1, steps=40, layers=blocks)
    h = np.asarray(jax.hessian(obj.fn)(w), np.float64)
    for name, sl in blocks.items():
        ev = np.linalg.eigvalsh(h[sl, sl])
        np.testing.assert_allclose(sp.layers[name]["top"], ev[::-1][:2], rtol=0.01)
