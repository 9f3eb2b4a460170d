"""SSE error surface: gradscape vs the tutorial loop, same data.

Baseline ("tutorial"): a Python loop over grid points, NumPy over the data at each point, as
tutorials write it, in a fresh process of its own (no XLA threads beside it; one BLAS thread,
the best for vectors of this size). gradscape: ``gs.surface`` on the SSE objective, first call (compile
included) and a second call; also the literal per-point sum through the same engine
(``method="sum"``), to show what the vmapped engine alone gives and what the exact O(1) centred
form of the SSE adds. With ``--big``, also a 4,001 × 4,001 grid over N = 10,000 points in a
fresh process, reporting its peak resident memory.

Usage: python benchmarks/bench_surface.py [--n 1000] [--grid 501] [--big [--big-n 10000] [--big-grid 4001]]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import gradscape as gs

sys.path.insert(0, str(Path(__file__).parent))
from _baseline import in_own_process


def tutorial_surface(x: np.ndarray, y: np.ndarray, ms: np.ndarray, cs: np.ndarray) -> np.ndarray:
    out = np.empty((cs.size, ms.size))
    for i, m in enumerate(ms):
        for j, c in enumerate(cs):
            out[j, i] = np.sum((y - (m * x + c)) ** 2)
    return out


def tutorial(p: dict[str, Any]) -> dict[str, Any]:
    """The baseline, in its own process: its time and its largest relative difference from
    gradscape's surfaces."""
    ref, secs = timed(lambda: tutorial_surface(p["x"], p["y"], p["ms"], p["cs"]))
    errs = [float(np.max(np.abs(p[k] - ref) / np.abs(ref))) for k in ("s1", "s2", "s3")]
    return {"seconds": secs, "max_rel_diff": max(errs)}


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t


def big_child(n: int, grid: int) -> None:
    data = gs.synthetic_line(n=n, seed=1)
    obj = gs.sse_objective(data)
    surf, secs = timed(
        lambda: gs.surface(obj, "m", "c", x_range=(-2.0, 6.0), y_range=(-10.0, 20.0), points=grid)
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    best = surf.argmin()
    print(
        json.dumps(
            {
                "seconds": secs,
                "peak_mb": peak_mb,
                "block_rows": surf.block_rows,
                "best": best,
                "cells": surf.values.size,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--grid", type=int, default=501)
    ap.add_argument("--big", action="store_true", help="also the 4,001 x 4,001 grid")
    ap.add_argument("--big-n", type=int, default=10_000)
    ap.add_argument("--big-grid", type=int, default=4001)
    ap.add_argument("--big-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.big_child:
        big_child(args.big_n, args.big_grid)
        return

    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.system()}, python {platform.python_version()}"
    )
    data = gs.synthetic_line(n=args.n, seed=1)
    ms, cs = np.linspace(-2.0, 6.0, args.grid), np.linspace(-10.0, 20.0, args.grid)
    kw = dict(x_range=(ms[0], ms[-1]), y_range=(cs[0], cs[-1]), points=args.grid)
    print(f"SSE surface, N = {args.n} points, {args.grid} x {args.grid} grid")

    import jax.numpy as jnp

    jnp.zeros(1).block_until_ready()  # start JAX's CPU backend: process start-up, not the sweep
    fast = gs.sse_objective(data)
    s1, t_cold = timed(lambda: gs.surface(fast, "m", "c", **kw))
    s2, t_warm = timed(lambda: gs.surface(fast, "m", "c", **kw))
    literal = gs.sse_objective(data, method="sum")
    s3, t_literal = timed(lambda: gs.surface(literal, "m", "c", **kw))
    base = in_own_process(__file__, "tutorial", {
        "x": data.x, "y": data.y, "ms": ms, "cs": cs, "s1": s1.values, "s2": s2.values,
        "s3": s3.values,
    })  # fmt: skip
    t_loop = base["seconds"]
    assert base["max_rel_diff"] < 1e-9, f"surface differs from the loop by {base['max_rel_diff']}"
    print(
        f"  tutorial loop (Python over grid points, NumPy per point), own process: {t_loop:8.3f} s"
    )
    print(
        f"  gradscape surface, first call (compile included):        {t_cold:8.3f} s   ratio {t_loop / t_cold:8.0f}x"
    )
    print(
        f"  gradscape surface, second call:                          {t_warm:8.3f} s   ratio {t_loop / t_warm:8.0f}x"
    )
    print(
        f"  gradscape engine on the literal per-point sum:           {t_literal:8.3f} s   ratio {t_loop / t_literal:8.1f}x"
    )
    print("  (all agree with the tutorial loop to 1e-9 relative)")
    if not args.big:
        return

    print(
        f"SSE surface, N = {args.big_n} points, {args.big_grid} x {args.big_grid} grid, fresh process"
    )
    child = subprocess.run(
        [sys.executable, __file__, "--big-child", "--big-n", str(args.big_n), "--big-grid", str(args.big_grid)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    big = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"  {big['cells']:,} cells in {big['seconds']:.2f} s, blocks of {big['block_rows']} rows, "
        f"peak resident memory {big['peak_mb']:.0f} MB (target < 2048 MB)"
    )


if __name__ == "__main__":
    main()
