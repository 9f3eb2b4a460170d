"""The tour's gradient descent on the one engine against a plain jitted loop doing the same steps.

1. ``gs.descend`` (gradient descent, one learning rate per weight, its default relative
   tolerance, its thinned history: every step of the first thousand, then a stride, and the exact
   last steps) on the SSE of a line fitted to x = years (badly conditioned: it converges after
   about 470,000 steps), and to x = 10 × years (it spends the tour's largest budget, 20,000,000
   steps), against a plain jitted ``lax.fori_loop`` doing as many of the same per-weight updates
   in float64 and keeping only its end point. Both are JAX in one process (no baseline beside
   foreign threads), both compiled first; the two alternate and medians are compared. The end
   points must agree.
2. The whole tour (``gs.tour``) on the years data, warm: profiles, surface, descent, story.

Usage: python benchmarks/bench_tour.py [--repeats 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("JAX_ENABLE_X64", "1")  # the raw loop runs in float64, like the engine

import argparse
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import gradscape as gs

sys.path.insert(0, str(Path(__file__).parent))
from _timing import medians


def years_data(first: float = 1960.0) -> Any:
    """A noisy line over 61 years from ``first``: x far from 0 makes m and c nearly collinear."""
    rng = np.random.default_rng(0)
    x = np.linspace(first, first + 60.0, 61)
    y = 0.3 * x - 500.0 + rng.normal(0.0, 2.0, x.size)
    return gs.Dataset(x=x, y=y, name=f"years from {first:g}")


def per_weight_lr(x: np.ndarray) -> tuple[float, float]:
    """1 / the Hessian's diagonal of SSE(m, c): a stable rate per weight (the iteration matrix
    I - D⁻¹H has eigenvalues ±ρ, |ρ| < 1)."""
    return 1.0 / (2.0 * float(np.sum(x * x))), 1.0 / (2.0 * x.size)


def raw_loop(obj: Any, lr: tuple[float, float], steps: int) -> Callable[[], Any]:
    """``steps`` updates ``θ ← θ − η ⊙ ∇f(θ)`` of the same objective function, nothing else."""
    rates = jnp.asarray(lr)
    grad = jax.grad(obj.fn)

    @jax.jit
    def run(theta: Any) -> Any:
        return jax.lax.fori_loop(0, steps, lambda _, t: t - rates * grad(t), theta)

    theta0 = jnp.zeros(2)
    return lambda: np.asarray(run(theta0))


def descent_case(data: Any, repeats: int) -> None:
    obj = gs.sse_objective(data)
    lr = per_weight_lr(data.x)
    rates = {"m": lr[0], "c": lr[1]}

    def ours() -> Any:
        return gs.descend(obj, {"m": 0.0, "c": 0.0}, lr=rates, max_steps=20_000_000)

    run = ours()  # compiles
    raw = raw_loop(obj, lr, run.n_steps)
    end_raw = raw()  # compiles
    ends = np.array([run.final_params["m"], run.final_params["c"]])
    gap = float(np.max(np.abs(ends - end_raw) / np.maximum(1.0, np.abs(end_raw))))
    engine_s, raw_s = medians([ours, raw], repeats)
    n = run.n_steps
    print(f"\n   x = {data.name}: {n:,} steps ({run.stop_reason}), {len(run.values):,} rows kept")
    print(f"   gradscape descend   {engine_s:7.3f} s  ({n / engine_s / 1e6:6.2f} M steps/s)")
    print(
        f"   raw fori_loop       {raw_s:7.3f} s  ({n / raw_s / 1e6:6.2f} M steps/s, end point only)"
    )
    print(f"   ratio {engine_s / raw_s:.2f}x (end points agree to {gap:.1e})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"jax {jax.__version__}, gradscape {gs.__version__}")  # fmt: skip
    print(f"\n1. gradient descent, one rate per weight, on SSE(m, c) of 61 points, float64, "
          f"medians of {args.repeats}:")  # fmt: skip
    descent_case(years_data(1960.0), args.repeats)
    descent_case(years_data(19600.0), args.repeats)

    data = years_data()
    gs.tour(data)  # compiles
    (tour_s,) = medians([lambda: gs.tour(data)], args.repeats)
    result = gs.tour(data)
    print(f"\n2. the whole tour on x = {data.name}, warm: {tour_s:.2f} s "
          f"({result.trajectory.n_steps:,} descent steps, stopped: "
          f"{result.trajectory.stop_reason})")  # fmt: skip


if __name__ == "__main__":
    main()
