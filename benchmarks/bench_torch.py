"""A 2-D loss landscape of a PyTorch model: gradscape.torch against the loss-landscape way.

Two models on 8×8 digits (1,437 training rows of the 1,797, the same split as the MLP of
``bench_networks.py``), each trained briefly with Adam in PyTorch:

* the 64-64-10 MLP (ReLU);
* a small CNN: Conv2d(1, 8, 3) + BatchNorm2d + ReLU + Dropout + Flatten + Linear(8·8·8, 10).

On a ``--grid`` × ``--grid`` plane of two filter-normalised random directions:

* gradscape: ``gradscape.torch.landscape``, chunks of grid points evaluated at once
  (``torch.func.functional_call`` under ``torch.func.vmap``);
* the loss-landscape way (Li et al.'s code, also PyHessian-style scripts): for each point, the
  weights set in place (``copy_``), one forward pass over the data, one point after another.

Both run in this one process, with the same ``torch.set_num_threads`` (each of ``--threads``,
default 1 and one per core), in eval mode, taking turns (median of ``--repeats``), on all 1,437
rows and on a subsample of ``--rows`` (default 128, as ``--subsample`` does); the values are
checked to agree to float32 rounding. The target is at least 3x.

What the ratio measures: both ways do the same arithmetic, so chunks win where one point's work
is small next to the cost of launching it (few rows, a GPU's kernel launches, several threads
that a small product cannot keep busy), and tie where one point already fills a core (the MLP's
1437 × 64 products on one thread run near the core's peak either way). The first layer of an
``nn.Sequential`` (a ``Linear`` or a convolution) is computed once per direction, not per point.

Usage: ``pip install ".[torch]"``, then
``python benchmarks/bench_torch.py [--grid 41] [--threads 1 2] [--rows 128] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _baseline import require
from _timing import medians


def digits() -> tuple[Any, Any]:
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x, _, y, _ = train_test_split(d.images / 16.0, d.target, test_size=0.2, random_state=0)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def mlp() -> Any:
    import torch

    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
        torch.nn.ReLU(), torch.nn.Linear(64, 10),
    )  # fmt: skip


def cnn() -> Any:
    import torch

    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)), torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Flatten(),
        torch.nn.Linear(8 * 8 * 8, 10),
    )  # fmt: skip


def trained(net: Any, x: Any, y: Any, epochs: int = 30) -> Any:
    import torch

    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(epochs):  # full batch: a few steps are enough for a landscape to look at
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return net.eval()


def point_by_point(net: Any, x: Any, y: Any, dirs: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """The loss-landscape way: set the weights for each point in place, one forward pass (or,
    given a DataLoader as ``x``, one pass over its batches, the mean loss over its rows)."""
    import torch

    def loss() -> float:
        if y is not None:
            return float(torch.nn.functional.cross_entropy(net(x), y))
        total, count = 0.0, 0
        for xb, yb in x:
            total += float(torch.nn.functional.cross_entropy(net(xb), yb, reduction="sum"))
            count += len(yb)
        return total / count

    params = list(net.parameters())
    center = [p.detach().clone() for p in params]
    sizes = [p.numel() for p in params]
    d0, d1 = (
        [t.view_as(p) for t, p in zip(torch.from_numpy(d).split(sizes), params, strict=True)]
        for d in dirs
    )
    out = np.empty((len(alphas), len(alphas)))
    with torch.no_grad():
        for i, b in enumerate(alphas):
            for j, a in enumerate(alphas):
                for p, c, u, v in zip(params, center, d0, d1, strict=True):
                    p.copy_(c + float(a) * u + float(b) * v)
                out[i, j] = loss()
        for p, c in zip(params, center, strict=True):
            p.copy_(c)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=41)
    ap.add_argument("--threads", type=int, nargs="+", default=sorted({1, os.cpu_count() or 1}))
    ap.add_argument("--rows", type=int, default=128, help="the subsample's rows")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128,
                    help="also all rows through a DataLoader of this batch size (loss-landscape's "
                         "default), both ways; 0: not")  # fmt: skip
    args = ap.parse_args()
    require("torch", 'pip install ".[torch]" to run it')
    import torch

    import gradscape.torch as gt

    x, y = digits()
    x = x.reshape(len(x), -1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, PyTorch {torch.__version__}; {args.grid} × {args.grid} "
          f"grid, median of {args.repeats}")  # fmt: skip
    for name, make in (("MLP 64-64-10", mlp), ("CNN (conv + BatchNorm + dropout + linear)", cnn)):
        net = trained(make(), x, y)
        n = sum(p.numel() for p in net.parameters())
        dirs = gt.filter_normalised(net, 2, seed=0)
        print(f"\n{name}, {n:,} weights")
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x, y), batch_size=max(args.batch, 1)
        )
        cases = [
            (f"{len(x):5d} rows", x, y),
            (f"{args.rows:5d} rows", x[: args.rows], y[: args.rows]),
        ]
        if args.batch:
            cases.append((f"{len(x)} rows in batches of {args.batch}", loader, None))
        for what, xs, ys in cases:
            data = (xs, ys) if ys is not None else xs
            for threads in args.threads:
                torch.set_num_threads(threads)

                def ours(net: Any = net, data: Any = data, dirs: Any = dirs) -> Any:
                    return gt.landscape(net, data, directions=dirs, grid=args.grid)

                land = ours()
                theirs = point_by_point(net, xs, ys, dirs, land.alphas)
                rel = float(np.max(np.abs(theirs - land.values) / np.abs(theirs)))
                t_ours, t_theirs = medians([ours, lambda net=net, xs=xs, ys=ys, dirs=dirs, a=land.alphas: point_by_point(net, xs, ys, dirs, a)], args.repeats)  # fmt: skip
                print(f"   {what}, {threads} thread(s): gradscape.torch {t_ours:7.3f} s, "
                      f"point by point {t_theirs:7.3f} s, ratio {t_theirs / t_ours:5.1f}x "
                      f"(target >= 3x); largest relative difference {rel:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
