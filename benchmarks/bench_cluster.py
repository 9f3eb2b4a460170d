"""Chunked work in this process against the same work on a 2-worker Dask LocalCluster.

1. A 101 × 101 loss landscape (filter-normalised random directions) of the 64-64-10 MLP on
   digits (1,437 training rows), after a few epochs of training.
2. A 10⁶-start multistart (Himmelblau, Newton's method, the default settings).

In process is gradscape's default: one XLA CPU device per core, as the CLI starts with. The
cluster is two spawned worker processes with one device each (``gradscape.executors.cluster``);
it is started before the timing (its start-up is printed apart) and each job runs once untimed
on it first, so both sides are timed compiled and warm. On a 2-core machine the cluster cannot
be faster: what it adds, (cluster − in process) / in process, is the overhead (target < 15%);
divided by the tasks it is the overhead per task. Tasks that do nothing measure a task's own
cost (scheduling, sending, gathering).

3. The scaling model those numbers imply for a 51 × 51 landscape of a ResNet-56-sized model on
   CIFAR-10's 50,000 training images: the seconds per grid point are measured here on a
   ResNet-56 in PyTorch when it is installed (a forward pass over a batch, scaled to 50,000
   images), else taken from its 125 MFLOP per image at the GFLOP/s the MLP landscape reached;
   T(W) = start-up + ⌈2601 / W⌉ · (seconds per point + overhead per task) for W workers of
   one core of this machine each, and for W GPUs at the 5-6 s per point loss-landscape's users
   report.

Usage: python benchmarks/bench_cluster.py [--grid 101] [--starts 1000000] [--workers 2]
(needs ``pip install ".[cluster]"``; PyTorch optional, ``pip install ".[bench]"``).
"""

from __future__ import annotations

import os

os.environ.setdefault(  # one XLA CPU device per core, as the CLI starts with
    "XLA_FLAGS", f"--xla_force_host_platform_device_count={min(os.cpu_count() or 1, 8)}"
)

import argparse
import contextlib
import importlib
import math
import platform
import time
from typing import Any

import numpy as np

RESNET_IMAGES = 50_000  # CIFAR-10's training set
RESNET_FLOPS = (
    2 * 125e6
)  # multiply-adds per 32 × 32 image of ResNet-56, as floating-point operations
GRID = 51 * 51
GPU_POINT = 5.5  # seconds per grid point of ResNet-56 on one GPU, as loss-landscape's users report


def timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def resnet56_seconds_per_image(batch: int = 64) -> float | None:
    """Seconds per image of a ResNet-56 (CIFAR layout: 3 stages of 9 basic blocks, 16/32/64
    channels, 0.85 M weights) forward pass in PyTorch on one core of this CPU; None without
    PyTorch."""
    try:
        import torch
        from torch import nn
    except ImportError:
        return None

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.skip = (
                nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                if stride != 1 or cin != cout
                else nn.Identity()
            )

        def forward(self, x: Any) -> Any:
            h = torch.relu(self.b1(self.c1(x)))
            return torch.relu(self.b2(self.c2(h)) + self.skip(x))

    layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(9):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    net = nn.Sequential(*layers).eval()
    torch.set_num_threads(1)  # one worker, one core
    x = torch.randn(batch, 3, 32, 32)
    with torch.no_grad():
        net(x)  # warm
        _, t = timed(lambda: net(x))
    return t / batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=101)
    ap.add_argument("--starts", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    import gradscape as gs
    from gradscape.executors import Work, cluster, task_size
    from gradscape.executors import run as run_work
    from gradscape.multistarts import multistart
    from gradscape.networks import landscapes
    from gradscape.networks.datasets import load
    from gradscape.networks.landscapes import landscape
    from gradscape.networks.models import model
    from gradscape.networks.training import train

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"cluster: LocalCluster of {args.workers} spawned workers")  # fmt: skip
    split = load("digits", seed=0)
    net = model("mlp:64,64", split.n_features, split.n_outputs)
    run = train(split, "mlp:64,64", epochs=5, seed=0)
    f = gs.objective("himmelblau")
    grid, starts = args.grid, args.starts
    rows = []

    with contextlib.ExitStack() as stack:
        t0 = time.perf_counter()
        client = stack.enter_context(cluster(f"local:{args.workers}"))
        client.wait_for_workers(args.workers)
        client.run(importlib.import_module, "gradscape.networks.landscapes")  # JAX imported
        start_s = time.perf_counter() - t0

        # 1. the landscape
        landscape(run, split, net, grid=grid, seed=1)  # compile in process
        here, t_here = timed(lambda: landscape(run, split, net, grid=grid, seed=2))
        _, t_cold = timed(lambda: landscape(run, split, net, grid=grid, seed=1, executor=client))
        there, t_there = timed(lambda: landscape(run, split, net, grid=grid, seed=2,
                                                 executor=client))  # fmt: skip
        assert np.array_equal(here.values, there.values), "cluster values differ"
        rows_ = int(split.x_train.shape[0])
        n = run.weights.size
        per_task = task_size(2.0 * rows_ * n, landscapes._device_chunk(net, rows_), grid * grid)
        tasks = -(-(grid * grid) // per_task)
        gflops = 2.0 * rows_ * n * grid * grid / t_here / 1e9
        rows.append((f"landscape {grid}×{grid}, 64-64-10 MLP", t_here, t_there, tasks, t_cold))

        # 2. the multistart
        multistart(f, starts=starts // 10)  # compile in process
        ms_here, m_here = timed(lambda: multistart(f, starts=starts))
        _, m_cold = timed(lambda: multistart(f, starts=starts // 10, executor=client))
        ms_there, m_there = timed(lambda: multistart(f, starts=starts, executor=client))
        assert np.array_equal(ms_here.labels, ms_there.labels), "cluster minima differ"
        rows.append((f"multistart {starts:,} starts, Himmelblau", m_here, m_there,
                     -(-starts // 4096), m_cold))  # fmt: skip

        # 3. the cost of a task itself: tasks that do nothing (numpy.full of one number)
        empty = Work("empty", "numpy:full", (1,), 400, "empty")
        run_work(empty, executor=client)
        _, t_empty = timed(lambda: run_work(empty, executor=client))
        per_empty = t_empty * args.workers / empty.count

    print(f"\ncluster start-up (workers spawned, gradscape and JAX imported): {start_s:.2f} s\n")
    print(f"{'job':42s} {'in process':>11s} {'cluster':>9s} {'overhead':>9s} {'tasks':>6s} "
          f"{'per task':>9s}   first run on the cluster (compiles)")  # fmt: skip
    per_task = []
    for name, a, b, k, cold in rows:
        per_task.append(max(0.0, (b - a) / k))
        print(f"{name:42s} {a:10.2f}s {b:8.2f}s {100 * (b / a - 1):8.1f}% {k:6d} "
              f"{1e3 * (b - a) / k:7.1f}ms   {cold:.2f} s")  # fmt: skip
    print(
        f"\nthe landscape reached {gflops:.1f} GFLOP/s in process "
        "(2 · rows · weights per grid point)"
    )

    # 3. the scaling model
    per_image = resnet56_seconds_per_image()
    if per_image is not None:
        per_point = per_image * RESNET_IMAGES
        how = f"measured: a ResNet-56 forward pass in PyTorch, {per_image * 1e3:.2f} ms per image"
    else:
        per_point = RESNET_FLOPS * RESNET_IMAGES / (gflops * 1e9)
        how = f"estimated: 250 MFLOP per image at the MLP's {gflops:.1f} GFLOP/s"
    overhead = max(*per_task, per_empty)
    print(
        f"a task that does nothing: {per_empty * 1e3:.1f} ms of a worker's time "
        f"({empty.count} of them on {args.workers} workers in {t_empty:.2f} s)"
    )
    print(f"\nscaling model: a 51 × 51 landscape of a ResNet-56-sized model on 50,000 images\n"
          f"seconds per grid point on one worker of this machine: {per_point:.0f} s ({how})\n"
          f"overhead per task: {overhead * 1e3:.1f} ms (the largest of the three above); "
          f"start-up {start_s:.1f} s")  # fmt: skip
    print(f"{'workers':>9s} {'CPU cores like these':>22s} {'GPUs at 5.5 s a point':>23s}")
    for w in (1, 8, 64):
        cpu = start_s + math.ceil(GRID / w) * (per_point + overhead)
        gpu = start_s + math.ceil(GRID / w) * (GPU_POINT + overhead)
        print(f"{w:9d} {cpu / 3600:20.2f} h {gpu / 60:20.1f} min")
    print(
        "loss-landscape (published): about 1 h for 51 × 51 on 4 GPUs (its users report 5-6 s "
        "per grid point)"
    )


if __name__ == "__main__":
    main()
