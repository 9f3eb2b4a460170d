"""gradscape.torch against the JAX path: the same MLP weights in JAX and in PyTorch give the same
landscape values and the same top Hessian eigenvalue (checked also against the exact Hessian); a
small CNN (Conv2d + BatchNorm + Dropout + Linear) on 8×8 digits runs through ``--torch``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gradscape as gs  # noqa: E402
import gradscape.torch as gt  # noqa: E402
from gradscape.cli import main  # noqa: E402

# several test workers share the cores: one thread each (PyTorch's own threads spin otherwise)
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def mlp() -> dict[str, Any]:
    """An 8-8 MLP on iris in gradscape (JAX) and the same weights in a torch nn.Sequential."""
    import jax
    from jax.flatten_util import ravel_pytree

    from gradscape.networks.datasets import load
    from gradscape.networks.models import model

    split = load("iris", seed=0)
    net = model("mlp:8,8", split.n_features, split.n_outputs)
    tree = net.init(jax.random.PRNGKey(1))
    flat, unravel = ravel_pytree(tree)
    layers: list[Any] = []
    for layer in tree:
        lin = torch.nn.Linear(*np.shape(layer["w"]))
        with torch.no_grad():  # JAX keeps (in, out), PyTorch (out, in)
            lin.weight.copy_(torch.from_numpy(np.asarray(layer["w"]).T.copy()))
            lin.bias.copy_(torch.from_numpy(np.asarray(layer["b"]).copy()))
        layers += [lin, torch.nn.ReLU()]
    tm = torch.nn.Sequential(*layers[:-1])

    def to_torch(vec: np.ndarray) -> np.ndarray:  # a JAX flat vector in parameters_to_vector order
        return np.concatenate([np.concatenate([np.asarray(t["w"]).T.ravel(), np.asarray(t["b"])])
                               for t in unravel(vec)])  # fmt: skip

    run = SimpleNamespace(weights=np.asarray(flat, np.float32), config={"loss": "cross_entropy"})
    x = torch.from_numpy(np.asarray(split.x_train, np.float32))
    y = torch.from_numpy(np.asarray(split.y_train)).long()
    return {"split": split, "net": net, "run": run, "torch": tm, "data": (x, y), "map": to_torch}


@pytest.mark.parametrize("dims", [1, 2])
def test_the_same_landscape_as_the_jax_path(mlp: dict[str, Any], dims: int) -> None:
    from gradscape.networks.landscapes import landscape

    jl = landscape(mlp["run"], mlp["split"], mlp["net"], dims=dims, grid=7, seed=3)
    dirs = np.stack([mlp["map"](d) for d in jl.directions])
    tl = gt.landscape(mlp["torch"], mlp["data"], directions=dirs, grid=7)
    assert tl.values.shape == jl.values.shape and tl.kind == "random"
    np.testing.assert_allclose(tl.values, jl.values, rtol=1e-5)
    assert tl.center_loss == pytest.approx(jl.center_loss, rel=1e-5)
    assert tl.label == "cross_entropy" and tl.rows == 90
    assert tl.summary().keys() == jl.summary().keys()
    # the same through the general path (a model inside a model: no first-layer shortcut), in
    # chunks of 3 points
    nested = torch.nn.Sequential(mlp["torch"])
    assert gt._Net(nested, None, None).first_layer() is None
    assert gt._Net(mlp["torch"], None, None).first_layer() == 0
    other = gt.landscape(nested, mlp["data"], directions=dirs, grid=7, chunk=3)
    np.testing.assert_allclose(other.values, tl.values, rtol=1e-5)


def test_the_same_top_eigenvalue_as_jax_and_the_exact_hessian(mlp: dict[str, Any]) -> None:
    from gradscape.networks.spectra import spectrum
    from gradscape.networks.training import loss_objective

    js = spectrum(*loss_objective(mlp["run"], mlp["split"], mlp["net"]), top=2, bottom=1, steps=40)
    ts = gt.spectrum(mlp["torch"], mlp["data"], top=2, bottom=1, steps=40, exact=True, trace=True,
                     trace_samples=5, layers=True)  # fmt: skip
    exact = np.sort(ts.exact)
    assert ts.n == js.n == 139 and ts.label == "cross_entropy"
    assert ts.top[0] == pytest.approx(js.top[0], rel=1e-4)
    assert ts.top[0] == pytest.approx(exact[-1], rel=1e-4)
    assert abs(ts.top[0] - exact[-1]) <= ts.top_residual[0]  # the bound holds
    assert abs(ts.trace - exact.sum()) <= 4 * ts.trace_stderr  # Hutchinson: within its error
    assert list(ts.layers) == ["0 (Linear)", "2 (Linear)", "4 (Linear)"]  # type: ignore[arg-type]
    assert [b["size"] for b in ts.layers.values()] == [40, 72, 27]  # type: ignore[union-attr]
    # Hessian directions: the top Ritz vector, along the exact Hessian's top eigenvector
    hd = gt.landscape(mlp["torch"], mlp["data"], dims=1, grid=3, directions="hessian")
    top_vec = np.linalg.eigh(gt._Net(mlp["torch"], None, None).hessian(
        gt._Data(mlp["data"], None, 0, "cpu")))[1][:, -1]  # fmt: skip
    d = hd.directions[0] / np.linalg.norm(hd.directions[0])
    assert abs(float(d @ top_vec)) > 0.999 and hd.kind == "hessian"


def test_a_mean_squared_error_loss_has_a_spectrum() -> None:
    """PyTorch's mse_loss cannot run forward over reverse: its products go reverse over
    reverse, and still match the exact Hessian."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    x, y = torch.randn(30, 3), torch.randn(30, 1)
    sp = gt.spectrum(net, (x, y), torch.nn.MSELoss(), top=1, bottom=1, steps=26, exact=True)
    exact = np.sort(sp.exact)
    assert sp.top[0] == pytest.approx(exact[-1], rel=1e-4)
    assert sp.bottom[0] == pytest.approx(exact[0], rel=1e-3, abs=1e-5)


def test_between_ends_are_each_models_loss(mlp: dict[str, Any]) -> None:
    x, y = mlp["data"]
    other = torch.nn.Sequential(*[type(m)() if isinstance(m, torch.nn.ReLU) else
                                  torch.nn.Linear(m.in_features, m.out_features)
                                  for m in mlp["torch"]])  # fmt: skip
    line = gt.landscape(mlp["torch"], mlp["data"], between=other.state_dict(), grid=4, span=4.0)
    np.testing.assert_allclose(line.alphas, [-1, 0, 1, 2])
    with torch.no_grad():
        ends = [float(torch.nn.functional.cross_entropy(m(x), y)) for m in (mlp["torch"], other)]
    assert line.kind == "between" and line.values[1] == pytest.approx(ends[0], rel=1e-5)
    assert line.values[2] == pytest.approx(ends[1], rel=1e-5)
    assert (line.center_loss, line.end_loss) == pytest.approx(ends, rel=1e-5)
    # a DataLoader in batches of 32 rows gives the row-weighted mean over all of them
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    batched = gt.landscape(mlp["torch"], loader, between=other, grid=4, span=4.0)
    np.testing.assert_allclose(batched.values, line.values, rtol=1e-5)
    assert batched.rows == 90
    # a trajectory of saved state_dicts gives the PCA plane (kind "pca", as for a gradscape run)
    traj = [mlp["torch"].state_dict(), other.state_dict(), other.state_dict()]
    traj[2] = {k: 0.5 * v for k, v in traj[2].items()}
    plane = gt.landscape(mlp["torch"], mlp["data"], directions="trajectory", trajectory=traj,
                         grid=3)  # fmt: skip
    assert plane.kind == "pca" and plane.path.shape == (3, 2)


def _cnn() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Dropout(0.25), torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 10),
    )  # fmt: skip


def test_filter_normalisation_in_pytorchs_layout() -> None:
    cnn = _cnn()
    d = gt.filter_normalised(cnn, 2, seed=5)
    assert d.shape == (2, sum(p.numel() for p in cnn.parameters()))
    np.testing.assert_array_equal(d, gt.filter_normalised(cnn, 2, seed=5))  # seeded
    assert not np.array_equal(d, gt.filter_normalised(cnn, 2, seed=6))
    pos = 0
    for p in cnn.parameters():
        part = d[0, pos : pos + p.numel()].reshape(p.shape)
        pos += p.numel()
        if p.ndim == 1:  # biases and BatchNorm's scale and shift
            assert not part.any()
            continue
        w = p.detach().numpy().reshape(p.shape[0], -1)  # a row of a Linear, a Conv's out channel
        np.testing.assert_allclose(np.linalg.norm(part.reshape(p.shape[0], -1), axis=1),
                                   np.linalg.norm(w, axis=1), rtol=1e-5)  # fmt: skip


def test_bad_inputs_are_one_line_errors(mlp: dict[str, Any]) -> None:
    tm, (x, y) = mlp["torch"], mlp["data"]
    with pytest.raises(gs.InputError, match=r"model must be a torch\.nn\.Module; got list"):
        gt.landscape([tm], (x, y))
    with pytest.raises(gs.InputError, match="data must be an \\(inputs, targets\\) pair"):
        gt.landscape(tm, x)
    with pytest.raises(gs.DataError, match="give one target per input row"):
        gt.landscape(tm, (x, y[:-1]))
    with pytest.raises(gs.InputError, match=r"one number.*shape \(8,\) for a batch of 8 rows"):
        gt.spectrum(
            tm, (x, y), lambda o, t: torch.nn.functional.cross_entropy(o, t, reduction="none")
        )
    with pytest.raises(gs.InputError, match="could not run on the data's first rows"):
        gt.landscape(tm, (x[:, :3], y))
    with pytest.raises(gs.InputError, match=r"another architecture: its '4\.weight' has shape"):
        gt.landscape(tm, (x, y), between=torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                     torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)))  # fmt: skip
    with pytest.raises(gs.InputError, match="Unknown directions 'pca2'; choose random, hessian"):
        gt.landscape(tm, (x, y), directions="pca2")
    with pytest.raises(gs.InputError, match="grid must be a whole number from 3"):
        gt.landscape(tm, (x, y), grid=2)
    with pytest.raises(gs.InputError, match="Unknown device 'gpu'; use 'cpu', 'cuda'"):
        gt.landscape(tm, (x, y), device="gpu")
    bad = torch.nn.Linear(4, 3)
    with torch.no_grad():
        bad.weight[0, 0] = float("nan")
    with pytest.raises(gs.InputError, match="The model's weights hold NaN"):
        gt.spectrum(bad, (x, y))


CNN_FILE = """
import atexit, json, os
import torch
from sklearn.datasets import load_digits

_made = []


def model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Dropout(0.25), torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 10),
    )
    x, y = data()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(5):  # a little training in train mode: BatchNorm's statistics move
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    _made.append((net, {k: v.clone() for k, v in net.state_dict().items()}))
    return net


def data():
    d = load_digits()
    return torch.tensor(d.images[:96] / 16, dtype=torch.float32).unsqueeze(1), torch.tensor(d.target[:96])


def _record():  # the model's modes and weights after gradscape is done with it
    net, before = _made[0]
    with open(os.environ["CNN_RECORD"], "w") as f:
        json.dump({"modes": [m.training for m in net.modules()],
                   "unchanged": all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())}, f)


atexit.register(_record)
"""


def test_a_cnn_on_digits_through_the_command_line(tmp_path: Path) -> None:
    from gradscape.networks.landscapes import Landscape

    user = tmp_path / "cnn.py"
    user.write_text(CNN_FILE, encoding="utf-8")
    record = tmp_path / "record.json"
    env = {**os.environ, "CNN_RECORD": str(record), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    cli = [sys.executable, "-m", "gradscape.cli"]
    land = subprocess.run([*cli, "landscape", "--torch", str(user), "--grid", "5", "--subsample",
                           "64", "--json", "--out", str(tmp_path / "land")], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert land.returncode == 0, land.stderr
    summary = json.loads(land.stdout)
    keys = {"run", "kind", "dims", "shape", "grid", "center_loss", "min", "max", "rows", "files"}
    assert keys <= summary.keys() and summary["run"] == str(user) and summary["rows"] == 64
    assert summary["min"] <= summary["center_loss"] <= summary["max"]
    saved = Landscape.load(tmp_path / "land" / "landscape.npz")
    assert saved.values.shape == (5, 5) and saved.values[2, 2] == pytest.approx(
        summary["center_loss"]
    )
    # gradscape ran it in eval mode and left the model as it was: train mode, same buffers
    assert json.loads(record.read_text()) == {"modes": [True] * 7, "unchanged": True}
    spec = subprocess.run([*cli, "spectrum", "--torch", str(user), "--steps", "10", "--top", "2",
                           "--bottom", "1", "--json", "--out", str(tmp_path / "spec")], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert spec.returncode == 0, spec.stderr
    sp = json.loads(spec.stdout)
    assert {"run", "loss", "weights", "top", "top_residual", "bottom"} <= sp.keys()
    assert sp["weights"] == 40 + 8 + 2570 and sp["top"][0] > 0 and sp["loss"] == "cross_entropy"


@pytest.mark.parametrize(("text", "args", "message"), [
    ("import torch\ndef data():\n    return torch.zeros(3, 2), torch.zeros(3)\n", [],
     "defines no model\\(\\) function: define model\\(\\) returning your torch.nn.Module"),
    ("import torch\ndef model():\n    return torch.nn.Linear(2, 2)\ndef data():\n    return 3\n",
     [], "data\\(\\) must return an \\(inputs, targets\\) pair of tensors or a DataLoader; it "
     "returned int"),
    ("import torch\ndef model():\n    return torch.nn.Linear(2, 2)\ndef data():\n    1 / 0\n", [],
     "data\\(\\) raised ZeroDivisionError: division by zero$"),
    ("import torch\nmodel = torch.nn.Linear(2, 2)\n", [],
     "model is a Linear, not a function"),
    ("raise RuntimeError('no GPU here')\n", [],
     "raised RuntimeError: no GPU here while it ran as Python$"),
    ("import sys\nsys.exit(0)\n", [], "called exit\\(0\\) while it ran as Python"),
    ("", ["RUN_DIR"], "Give exactly one of RUN_DIR \\(a folder written by gradscape train\\) or "
     "--torch FILE.py"),
])  # fmt: skip
def test_a_bad_user_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, args: list[str], message: str
) -> None:  # fmt: skip
    user = tmp_path / "mine.py"
    user.write_text(text, encoding="utf-8")
    for verb in ("landscape", "spectrum"):
        code = main([verb, *[str(tmp_path) for _ in args], "--torch", str(user), "--out",
                     str(tmp_path / "o")])  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1, err
        assert err.startswith("gradscape: error: ")
        import re

        assert re.search(message, err), err
    assert main(["spectrum", "--out", str(tmp_path / "o")]) == 2
    assert "Give exactly one of RUN_DIR" in capsys.readouterr().err


def test_without_pytorch_the_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(gs.GradscapeError, match=r'pip install "gradscape\[torch\]"'):
        gt.landscape(object(), None)


def test_the_loss_is_named_in_gradscape_words() -> None:
    def f(out: Any, y: Any) -> Any:
        return out.sum()

    def squared_hinge(out: Any, y: Any) -> Any:
        return out.sum()

    named = {None: "cross_entropy", torch.nn.CrossEntropyLoss(): "cross_entropy",
             torch.nn.functional.cross_entropy: "cross_entropy", torch.nn.MSELoss(): "mse",
             torch.nn.SmoothL1Loss(): "smooth_l1", squared_hinge: "squared_hinge",
             f: "loss", lambda out, y: out.sum(): "loss"}  # fmt: skip
    assert [gt.loss_label(k) for k in named] == list(named.values())
