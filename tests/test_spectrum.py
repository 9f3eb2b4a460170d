"""Hessian spectra by Lanczos, Hutchinson and SLQ against the exact Hessian of a small MLP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main
from gradscape.networks.datasets import load
from gradscape.networks.models import model
from gradscape.networks.spectra import Spectrum, spectrum
from gradscape.networks.training import loss_objective, train


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
    assert "nothing' does not exist; give the run folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["spectrum", str(tmp_path / "empty"), "--out", str(tmp_path / "x")]) == 2
    assert "is not a training run" in capsys.readouterr().err


def test_layer_blocks_match_the_exact_principal_submatrices(small_mlp: tuple) -> None:
    import jax

    from gradscape.networks.spectra import layer_slices

    obj, w = small_mlp
    blocks = layer_slices(model("mlp:8", 13, 3).init(jax.random.PRNGKey(0)))
    assert list(blocks) == ["layer 1", "layer 2"] and blocks["layer 2"].stop == w.size
    sp = spectrum(obj, w, top=2, bottom=1, steps=40, layers=blocks)
    h = np.asarray(jax.hessian(obj.fn)(w), np.float64)
    for name, sl in blocks.items():
        ev = np.linalg.eigvalsh(h[sl, sl])
        np.testing.assert_allclose(sp.layers[name]["top"], ev[::-1][:2], rtol=0.01)


# -- issue 9: residuals at the precision of the Hessian-vector products ---------------------------
@pytest.fixture(scope="module")
def iris_run() -> tuple:
    split = load("iris", seed=0)
    run = train(split, "mlp:4", lr=2e-2, epochs=40, patience=None)
    return run, split, model("mlp:4", split.n_features, split.n_outputs)


def float64_eigenvalues(run: gs.Training, split: gs.Split, net: gs.Model) -> np.ndarray:
    """The truth: the Hessian of the mean cross-entropy, written out here, in float64."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    with jax.enable_x64(True):
        template = jax.tree_util.tree_map(
            lambda a: jnp.asarray(a, jnp.float64), net.init(jax.random.PRNGKey(0))
        )
        unravel = ravel_pytree(template)[1]
        x, y = jnp.asarray(split.x_train, jnp.float64), jnp.asarray(split.y_train)

        def loss(theta: jax.Array) -> jax.Array:
            z = net.apply(unravel(theta), x)
            return jnp.mean(jax.nn.logsumexp(z, axis=1) - z[jnp.arange(y.size), y])

        h = np.asarray(jax.hessian(loss)(jnp.asarray(run.weights, jnp.float64)))
    return np.linalg.eigvalsh(h)


def test_residual_bounds_hold_against_a_float64_hessian(iris_run: tuple) -> None:
    run, split, net = iris_run
    obj, w = loss_objective(run, split, net)
    truth = float64_eigenvalues(run, split, net)
    # all 35 steps: Lanczos spans the space, only the rounding of the products is left
    sp = spectrum(obj, w, top=5, bottom=5, steps=w.size, trace=True, trace_samples=20)
    assert sp.steps == w.size and sp.rounding > 0
    for got, bound, ref in (
        (sp.top, sp.top_residual, truth[::-1]),
        (sp.bottom, sp.bottom_residual, truth),
    ):
        assert np.all(bound > 0)
        assert np.all(np.abs(got - ref[: got.size]) <= bound)
    assert abs(sp.trace - truth.sum()) <= 3 * sp.trace_stderr
    # fewer steps: each Ritz value has a true eigenvalue within its bound
    short = spectrum(obj, w, top=2, bottom=2, steps=12)
    for got, bound in ((short.top, short.top_residual), (short.bottom, short.bottom_residual)):
        gaps = np.min(np.abs(got[:, None] - truth[None, :]), axis=1)
        assert np.all(gaps <= bound)


def test_spectrum_cli_prints_the_error_beside_its_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", "iris", "--model", "mlp:4", "--lr", "0.02", "--epochs", "20",
                 "--out", str(run), "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["spectrum", str(run), "--top", "3", "--bottom", "3", "--exact",
                 "--out", str(tmp_path / "s")]) == 0  # fmt: skip
    text = capsys.readouterr().out
    header = next(line for line in text.splitlines() if "residual bound" in line)
    assert header.split()[-2:] == ["exact", "error"]
    rows = [
        line.split() for line in text.splitlines() if line.strip().startswith(("top ", "bottom "))
    ]
    assert len(rows) == 6
    for row in rows:
        bound, error = float(row[3]), float(row[5])
        assert bound > 0 and error <= bound
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["absolute_errors"]["top"][0] == pytest.approx(float(rows[0][5]), rel=0.06)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [(dict(seed=-1), "seed must be a whole number from 0 to 4294967295"),
     (dict(seed=2**32), "seed must be a whole number from 0 to 4294967295"),
     (dict(trace_samples=10**9), r"trace_samples must be a whole number from 1 to 10,000 \(MAX_SAMPLES\)"),
     (dict(top=500), r"top must be a whole number from 0 to steps \(80\)")],
)  # fmt: skip
def test_numbers_out_of_range(small_mlp: tuple, kwargs: dict, message: str) -> None:
    obj, w = small_mlp
    with pytest.raises(gs.InputError, match=message):
        spectrum(obj, w, **kwargs)


def test_nan_weights_and_a_basis_too_large_are_refused(
    small_mlp: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj, w = small_mlp
    bad = w.copy()
    bad[0] = np.nan
    with pytest.raises(gs.InputError, match="The weights hold NaN or infinite values"):
        spectrum(obj, bad)
    with pytest.raises(gs.ParameterError, match=rf"takes a vector of {w.size} real weights"):
        spectrum(obj, np.zeros(10**7, np.float32), steps=80)
    import gradscape.networks.spectra as spectra

    # a basis of 80 vectors of these weights, against a cap that holds 50 of them
    monkeypatch.setattr(spectra, "MAX_BASIS_BYTES", 8 * w.size * 50)
    with pytest.raises(gs.InputError, match=r"80 Lanczos steps on .* \(MAX_BASIS_BYTES\) for "
                       r"the basis; use at most 50\."):  # fmt: skip
        spectrum(obj, w, steps=80)


def test_stable_lr_is_two_over_lambda_max_and_gd_diverges_just_above_it() -> None:
    import jax.numpy as jnp

    h = np.diag([4.0, 1.0, 0.5])
    obj = gs.Objective(lambda t: 0.5 * t @ jnp.asarray(h) @ t, names=("a", "b", "c"))
    sp = spectrum(obj, np.zeros(3), top=1, bottom=0, steps=3)
    assert sp.stable_lr == pytest.approx(2 / 4.0, rel=1e-6)
    # gradient descent on the quadratic: x <- (1 - lr * 4) x along the top direction
    for lr, grows in ((0.99 * sp.stable_lr, False), (1.01 * sp.stable_lr, True)):
        assert (abs(1 - lr * 4.0) ** 200 > 1) == grows
    flat = gs.Objective(lambda t: -jnp.sum(t**2), names=("a", "b"))
    assert spectrum(flat, np.zeros(2), top=1, bottom=0, steps=2).stable_lr == float("inf")


def test_progress_counts_every_product_and_a_raise_stops_the_work(small_mlp: tuple) -> None:
    from gradscape.networks import spectra

    obj, w = small_mlp
    calls: list[tuple[int, int]] = []
    hvps = [0]
    real = spectra._hvp(obj)

    def counted(ww: object, v: object) -> object:
        hvps[0] += 1
        return real(ww, v)

    obj.compiled["hvp"] = counted
    try:
        layers = {"layer 1": slice(0, 10), "layer 2": slice(10, 20)}
        spectrum(obj, w, top=2, bottom=1, steps=12, trace=True, trace_samples=7, density=True,
                 density_starts=2, density_steps=5, layers=layers,
                 progress=lambda d, t: calls.append((d, t)))  # fmt: skip
        # one call per Hessian-vector product of every part, counting up to a total known at once
        total = 12 + 3 + 7 + 2 * 5 + 2 * 10
        assert calls == [(i, total) for i in range(1, total + 1)] and hvps[0] == total

        class Stop(Exception):
            pass

        def stop_at_5(done: int, total: int) -> None:
            if done == 5:
                raise Stop

        for kw in ({}, {"trace": True}, {"density": True}):
            hvps[0] = 0
            with pytest.raises(Stop):
                spectrum(obj, w, top=2, steps=40, progress=stop_at_5, **kw)  # type: ignore[arg-type]
            assert hvps[0] == 5  # stopped right after the fifth product
    finally:
        obj.compiled.pop("hvp")
