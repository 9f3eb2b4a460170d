"""Neural-network work against PyTorch, same process, same data, same model (64-64-10 MLP, digits).

1. A 2-D 51 × 51 loss landscape (filter-normalised random directions) over the training set:
   gradscape (sweep engine, first layer once per direction) vs the loss-landscape way in PyTorch
   (one grid point after another: the weights set, a forward pass). Also the achieved GFLOP/s.
2. The top Hessian eigenvalue of the training loss at the trained weights, to a relative change
   below 1e-4: gradscape's Lanczos vs PyHessian-style power iteration in PyTorch (double backward).
3. Training epochs per second (Adam, batch 32, lr 1e-3): gradscape vs a PyTorch loop.

The process starts with one XLA CPU device per core, as the CLI does. Install PyTorch for it: ``pip install ".[bench]"`` (torch 2.13 CPU from the machine's wheel).

Usage: python benchmarks/bench_networks.py [--grid 51] [--epochs 20]
"""

from __future__ import annotations

import os

os.environ.setdefault(  # one XLA CPU device per core, as the CLI starts with
    "XLA_FLAGS", f"--xla_force_host_platform_device_count={min(os.cpu_count() or 1, 8)}"
)

import argparse
import platform
import time

import numpy as np

import gradscape as gs
from gradscape.landscapes import landscape
from gradscape.networks import model
from gradscape.spectra import spectrum
from gradscape.training import loss_objective


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def torch_mlp(net, weights):  # type: ignore[no-untyped-def]
    import torch

    params = gs.training.unravel_weights(weights, net)
    layers = []
    for i, layer in enumerate(params):
        lin = torch.nn.Linear(*np.asarray(layer["w"]).shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.asarray(layer["w"]).T.copy()))
            lin.bias.copy_(torch.from_numpy(np.asarray(layer["b"]).copy()))
        layers.append(lin)
        if i < len(params) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=51)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    import jax
    import torch

    torch.manual_seed(0)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, JAX {jax.__version__}, "
          f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)")  # fmt: skip
    split = gs.load_dataset("digits", seed=0)
    run = gs.train(split, "mlp:64,64", lr=1e-3, epochs=60, patience=10)
    net = model("mlp:64,64", split.n_features, split.n_outputs)
    x = torch.from_numpy(split.x_train)
    y = torch.from_numpy(split.y_train.astype(np.int64))
    ce = torch.nn.CrossEntropyLoss()

    # 1. landscape ---------------------------------------------------------------------------
    g = args.grid
    landscape(run, split, net, dims=2, grid=g, seed=0)  # compile
    land, ours = timed(lambda: landscape(run, split, net, dims=2, grid=g, seed=0))
    tnet = torch_mlp(net, run)
    center = [p.detach().clone() for p in tnet.parameters()]
    d0, d1 = (
        torch_mlp(net, gs.Training(**{**run.__dict__, "weights": d})) for d in land.directions
    )
    dirs = [(a.detach(), b.detach()) for a, b in zip(d0.parameters(), d1.parameters(), strict=True)]

    def torch_landscape() -> np.ndarray:
        out = np.empty((g, g))
        with torch.no_grad():
            for i, b in enumerate(land.betas):
                for j, a in enumerate(land.alphas):
                    for p, c, (da, db) in zip(tnet.parameters(), center, dirs, strict=True):
                        p.copy_(c + float(a) * da + float(b) * db)
                    out[i, j] = float(ce(tnet(x), y))
        return out

    ref, theirs = timed(torch_landscape)
    n = len(split.x_train)
    flops = 2 * n * (64 * 64 + 64 * 64 + 64 * 10) * g * g
    print(f"\n1. {g} × {g} loss landscape, MLP 64-64-10 on digits ({n} training rows)")
    print(f"   gradscape: {ours:.3f} s ({flops / ours / 1e9:.1f} GFLOP/s of plain forward passes)")
    print(f"   PyTorch, point by point: {theirs:.3f} s ({flops / theirs / 1e9:.1f} GFLOP/s)")
    print(
        f"   ratio: {theirs / ours:.1f}x (target >= 3x); max |difference| {np.max(np.abs(ref - land.values)):.1e}"
    )

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
    for p, c in zip(tnet.parameters(), center, strict=True):
        p.data.copy_(c)
    params = list(tnet.parameters())

    def power() -> tuple[float, int]:
        loss = ce(tnet(x), y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        v = [torch.randn_like(p) for p in params]
        norm = torch.sqrt(sum((a * a).sum() for a in v))
        v = [a / norm for a in v]
        prev = None
        for it in range(1, 1000):
            hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
            eig = float(sum((a * b).sum() for a, b in zip(hv, v, strict=True)))
            norm = torch.sqrt(sum((a * a).sum() for a in hv))
            v = [a / norm for a in hv]
            if prev is not None and abs(eig - prev) <= 1e-4 * abs(eig):
                return eig, it
            prev = eig
        return eig, it

    (top_torch, iters), t_torch = timed(power)
    print("\n2. top Hessian eigenvalue, to a relative change below 1e-4")
    print(f"   gradscape Lanczos: {t_ours:.3f} s, λmax = {top_ours:.6g} ({steps_ours} steps)")
    print(f"   PyTorch power iteration (double backward): {t_torch:.3f} s, λmax = {top_torch:.6g} "
          f"({iters} iterations)")  # fmt: skip
    print(f"   ratio: {t_torch / t_ours:.1f}x (target >= 3x)")

    # 3. training epochs per second ----------------------------------------------------------
    e = args.epochs
    gs.train(split, "mlp:64,64", lr=1e-3, epochs=2, patience=None)  # compile
    _, t_train = timed(lambda: gs.train(split, "mlp:64,64", lr=1e-3, epochs=e, patience=None))
    tmodel = torch_mlp(net, run)
    opt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    xv, yv = torch.from_numpy(split.x_val), torch.from_numpy(split.y_val.astype(np.int64))

    def torch_train() -> None:
        for _ in range(e):
            perm = torch.randperm(n)
            for i in range(0, n, 32):
                idx = perm[i : i + 32]
                opt.zero_grad()
                loss = ce(tmodel(x[idx]), y[idx])
                loss.backward()
                opt.step()
            with torch.no_grad():  # the same per-epoch evaluation gradscape records
                ce(tmodel(x), y), ce(tmodel(xv), yv)

    _, t_torch_train = timed(torch_train)
    print(f"\n3. training, Adam, batch 32, {e} epochs with train/validation evaluation each epoch")
    print(f"   gradscape: {e / t_train:.1f} epochs/s; PyTorch: {e / t_torch_train:.1f} epochs/s")
    print(f"   ratio: {t_torch_train / t_train:.1f}x (target >= 1.5x)")


if __name__ == "__main__":
    main()
