"""Neural-network work against PyTorch: same data, same model (64-64-10 MLP, digits).

1. A 2-D 51 × 51 loss landscape (filter-normalised random directions) over the training set:
   gradscape (sweep engine, first layer once per direction) vs the loss-landscape way in PyTorch
   (one grid point after another: the weights set, a forward pass). Also the achieved GFLOP/s.
2. The top Hessian eigenvalue of the training loss at the trained weights, to a relative change
   below 1e-4: gradscape's Lanczos vs PyHessian-style power iteration in PyTorch (double backward).
3. Training epochs per second (Adam, batch 32, lr 1e-3): gradscape vs a PyTorch loop.

gradscape runs in this process with one XLA CPU device per core, as the CLI does. Each PyTorch
baseline runs in a fresh process of its own (no XLA threads beside it), once with 1 thread and
once with one per core; the faster is reported, with its thread count. Install PyTorch for it:
``pip install ".[bench]"`` (torch 2.13 CPU from the machine's wheel).

Usage: python benchmarks/bench_networks.py [--grid 51] [--epochs 20]
"""

from __future__ import annotations

import os

os.environ.setdefault(  # one XLA CPU device per core, as the CLI starts with
    "XLA_FLAGS", f"--xla_force_host_platform_device_count={min(os.cpu_count() or 1, 8)}"
)

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _baseline import in_own_process, require

THREADS = sorted({1, os.cpu_count() or 1})


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def torch_mlp(p: dict[str, Any], prefix: str = "w") -> Any:
    """The MLP in PyTorch from arrays ``{prefix}0, b0, {prefix}1, ...`` (weights stored (in, out))."""
    import torch

    layers: list[Any] = []
    i = 0
    while f"{prefix}{i}" in p:
        w, b = p[f"{prefix}{i}"], p[f"{prefix}b{i}"]
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers += [lin, torch.nn.ReLU()]
        i += 1
    return torch.nn.Sequential(*layers[:-1])


def torch_landscape(p: dict[str, Any]) -> dict[str, Any]:
    import torch

    net, d0, d1 = torch_mlp(p, "w"), torch_mlp(p, "d"), torch_mlp(p, "e")
    x, y = torch.from_numpy(p["x"]), torch.from_numpy(p["y"])
    ce = torch.nn.CrossEntropyLoss()
    center = [q.detach().clone() for q in net.parameters()]
    dirs = [(a.detach(), b.detach()) for a, b in zip(d0.parameters(), d1.parameters(), strict=True)]
    alphas, betas = p["alphas"], p["betas"]
    out = np.empty((len(betas), len(alphas)))
    t = time.perf_counter()
    with torch.no_grad():
        for i, b in enumerate(betas):
            for j, a in enumerate(alphas):
                for q, c, (da, db) in zip(net.parameters(), center, dirs, strict=True):
                    q.copy_(c + float(a) * da + float(b) * db)
                out[i, j] = float(ce(net(x), y))
    secs = time.perf_counter() - t
    return {"seconds": secs, "max_diff": float(np.max(np.abs(out - p["values"])))}


def torch_power(p: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.manual_seed(0)
    net = torch_mlp(p, "w")
    x, y = torch.from_numpy(p["x"]), torch.from_numpy(p["y"])
    ce = torch.nn.CrossEntropyLoss()
    params = list(net.parameters())
    t = time.perf_counter()
    loss = ce(net(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    v = [torch.randn_like(q) for q in params]
    norm = torch.sqrt(sum((a * a).sum() for a in v))
    v = [a / norm for a in v]
    prev, eig, it = None, 0.0, 0
    while it < 1000:
        it += 1
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        eig = float(sum((a * b).sum() for a, b in zip(hv, v, strict=True)))
        norm = torch.sqrt(sum((a * a).sum() for a in hv))
        v = [a / norm for a in hv]
        if prev is not None and abs(eig - prev) <= 1e-4 * abs(eig):
            break
        prev = eig
    return {"seconds": time.perf_counter() - t, "eig": eig, "iterations": it}


def torch_train(p: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.manual_seed(0)
    net = torch_mlp(p, "w")
    x, y = torch.from_numpy(p["x"]), torch.from_numpy(p["y"])
    xv, yv = torch.from_numpy(p["xv"]), torch.from_numpy(p["yv"])
    ce = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n, epochs = len(x), int(p["epochs"])
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 32):
            idx = perm[i : i + 32]
            opt.zero_grad()
            loss = ce(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():  # the same per-epoch evaluation gradscape records
            ce(net(x), y), ce(net(xv), yv)
    return {"seconds": time.perf_counter() - t}


def _layers(tree: Any, prefix: str) -> dict[str, np.ndarray]:
    out = {}
    for i, layer in enumerate(tree):
        out[f"{prefix}{i}"] = np.asarray(layer["w"], dtype=np.float32)
        out[f"{prefix}b{i}"] = np.asarray(layer["b"], dtype=np.float32)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=51)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    require("torch", 'pip install ".[bench]" (PyTorch CPU) to run the PyTorch baselines')
    import jax

    import gradscape as gs
    from gradscape.networks.landscapes import landscape
    from gradscape.networks.models import model
    from gradscape.networks.spectra import spectrum
    from gradscape.networks.training import loss_objective, unravel_weights

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, JAX {jax.__version__}; PyTorch baselines in their own "
          f"process, best of {THREADS} threads")  # fmt: skip
    split = gs.load_dataset("digits", seed=0)
    run = gs.train(split, "mlp:64,64", lr=1e-3, epochs=60, patience=10)
    net = model("mlp:64,64", split.n_features, split.n_outputs)
    data = {
        "x": split.x_train.astype(np.float32), "y": split.y_train.astype(np.int64),
        "xv": split.x_val.astype(np.float32), "yv": split.y_val.astype(np.int64),
        **_layers(unravel_weights(run, net), "w"),
    }  # fmt: skip

    # 1. landscape ---------------------------------------------------------------------------
    g = args.grid
    landscape(run, split, net, dims=2, grid=g, seed=0)  # compile
    land, ours = timed(lambda: landscape(run, split, net, dims=2, grid=g, seed=0))
    d0, d1 = (unravel_weights(gs.Training(**{**run.__dict__, "weights": d}), net)
              for d in land.directions)  # fmt: skip
    theirs = in_own_process(__file__, "torch_landscape", {
        **data, **_layers(d0, "d"), **_layers(d1, "e"),
        "alphas": land.alphas, "betas": land.betas, "values": land.values,
    }, THREADS)  # fmt: skip
    n = len(split.x_train)
    flops = 2 * n * (64 * 64 + 64 * 64 + 64 * 10) * g * g
    t_theirs = theirs["seconds"]
    print(f"\n1. {g} × {g} loss landscape, MLP 64-64-10 on digits ({n} training rows)")
    print(f"   gradscape: {ours:.3f} s ({flops / ours / 1e9:.1f} GFLOP/s of plain forward passes)")
    print(f"   PyTorch, point by point, {theirs['threads']} thread(s): {t_theirs:.3f} s "
          f"({flops / t_theirs / 1e9:.1f} GFLOP/s)")  # fmt: skip
    print(f"   ratio: {t_theirs / ours:.1f}x (target >= 3x); max |difference| "
          f"{theirs['max_diff']:.1e}")  # fmt: skip

    # 2. top Hessian eigenvalue --------------------------------------------------------------
    obj, w = loss_objective(run, split, net)
    spectrum(obj, w, top=1, bottom=0, steps=5)  # compile the HVP

    def ours_top() -> tuple[float, int]:
        steps = 4
        prev = None
        while True:  # Lanczos steps until the top Ritz value changes by < 1e-4 relative
            sp = spectrum(obj, w, top=1, bottom=0, steps=steps)
            v = float(sp.top[0])
            if prev is not None and abs(v - prev) <= 1e-4 * abs(v):
                return v, steps
            prev, steps = v, steps + 4

    (top_ours, steps_ours), t_ours = timed(ours_top)
    power = in_own_process(__file__, "torch_power", data, THREADS)
    print("\n2. top Hessian eigenvalue, to a relative change below 1e-4")
    print(f"   gradscape Lanczos: {t_ours:.3f} s, λmax = {top_ours:.6g} ({steps_ours} steps)")
    print(f"   PyTorch power iteration (double backward), {power['threads']} thread(s): "
          f"{power['seconds']:.3f} s, λmax = {power['eig']:.6g} ({power['iterations']} "
          "iterations)")  # fmt: skip
    print(f"   ratio: {power['seconds'] / t_ours:.1f}x (target >= 3x)")

    # 3. training epochs per second ----------------------------------------------------------
    e = args.epochs
    gs.train(split, "mlp:64,64", lr=1e-3, epochs=2, patience=None)  # compile
    _, t_train = timed(lambda: gs.train(split, "mlp:64,64", lr=1e-3, epochs=e, patience=None))
    tt = in_own_process(__file__, "torch_train", {**data, "epochs": e}, THREADS)
    print(f"\n3. training, Adam, batch 32, {e} epochs with train/validation evaluation each epoch")
    print(f"   gradscape: {e / t_train:.1f} epochs/s; PyTorch, {tt['threads']} thread(s): "
          f"{e / tt['seconds']:.1f} epochs/s")  # fmt: skip
    print(f"   ratio: {tt['seconds'] / t_train:.1f}x (target >= 1.5x)")


if __name__ == "__main__":
    main()
