"""Multistart: 10,000 starts × 1,000 plain gradient-descent steps on 2-D Rastrigin.

Baselines, each in a fresh process of its own (no XLA threads beside it; one BLAS thread, the
best for 2-element vectors), on the same starts:
1. A NumPy loop per start, one start after another, doing what the engine does per step:
   the gradient, the convergence test on its norm, the update (``gtol = 0``, so every start runs
   its 1,000 steps unless its gradient is exactly zero).
2. A plain jitted ``lax.fori_loop`` doing the same updates on all starts at once (``vmap`` of
   the gradient, no stop tests, no status or bounds bookkeeping), in this process like the engine:
   the engine's overhead over the raw loop (target at most 1.3x, both precisions). Both are
   compiled first, then timed taking turns (medians of ``--repeats`` rounds); the raw loop's
   end points are fetched and compared with the engine's, and every start must have taken
   every step, so both did the same work.
3. ``scipy.optimize.minimize`` (L-BFGS-B, analytic gradient) per start, for the time to find the
   distinct minima, against gradscape's default multistart (damped Newton, all starts at once).

The process starts with one XLA CPU device per core, as the CLI does (the many-start engine runs
on one device: split over devices it did not pay on 2 cores and could deadlock in XLA's pool). Run with ``--numpy-starts 1000`` to time the NumPy loop on a subset (the total is
then extrapolated and says so).

Usage: python benchmarks/bench_multistart.py [--starts 10000] [--steps 1000] [--numpy-starts N]
       [--scipy-starts N] [--repeats 5]
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "XLA_FLAGS", f"--xla_force_host_platform_device_count={min(os.cpu_count() or 1, 8)}"
)

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import gradscape as gs

sys.path.insert(0, str(Path(__file__).parent))
from _baseline import in_own_process, require
from _timing import medians, timed

TWO_PI = 2 * np.pi
LR = 1e-3


def grad(x: np.ndarray) -> np.ndarray:
    return 2 * x + 10 * TWO_PI * np.sin(TWO_PI * x)


def value(x: np.ndarray) -> float:
    return float(10 * x.size + np.sum(x * x - 10 * np.cos(TWO_PI * x)))


def numpy_gd(x: np.ndarray, steps: int) -> np.ndarray:
    for _ in range(steps):
        g = grad(x)
        if np.sqrt(g @ g) <= 0.0:
            break
        x = x - LR * g
    return x


def numpy_loop(p: dict[str, Any]) -> dict[str, Any]:
    starts, steps = p["starts"], int(p["steps"])
    ends, secs = timed(lambda: np.array([numpy_gd(s.copy(), steps) for s in starts]))
    diffs = {k: float(np.max(np.abs(p[k][: len(ends)] - ends))) for k in ("float64", "float32")}
    return {"seconds": secs, **diffs}


def scipy_loop(p: dict[str, Any]) -> dict[str, Any]:
    from scipy.optimize import minimize

    t = time.perf_counter()
    ends = np.array([minimize(value, s, jac=grad, method="L-BFGS-B").x for s in p["starts"]])
    secs = time.perf_counter() - t
    return {"seconds": secs, "distinct": len({tuple(np.round(q, 4)) for q in ends})}


def raw_loop(obj: Any, starts: np.ndarray, steps: int, precision: str) -> Any:
    """A plain jitted fori_loop of the same GD updates on all starts at once (compiled here):
    ``run()`` returns the end points, as a NumPy array (so the work is waited for and used)."""
    import jax
    import jax.numpy as jnp

    grad = jax.vmap(jax.grad(obj.fn))

    @jax.jit
    def loop(x: Any) -> Any:
        return jax.lax.fori_loop(0, steps, lambda _, x: x - LR * grad(x), x)

    def run() -> np.ndarray:
        with jax.enable_x64(True):  # as the engine runs (float32 starts stay float32)
            x0 = jnp.asarray(starts, jnp.float64 if precision == "float64" else jnp.float32)
            return np.asarray(loop(x0), dtype=np.float64)

    run()  # compile
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--starts", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--numpy-starts", type=int, default=None, help="time NumPy on this many")
    ap.add_argument("--scipy-starts", type=int, default=None, help="time SciPy on this many")
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds of engine and raw loop")
    args = ap.parse_args()
    require("scipy", 'pip install ".[bench]" for the SciPy baseline')
    import jax

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, JAX {jax.__version__}, devices: {len(jax.devices())} CPU"
    )
    obj = gs.objective("rastrigin")
    starts = np.random.default_rng(0).uniform(-5.12, 5.12, size=(args.starts, 2))

    print(f"\n1. {args.starts:,} starts × {args.steps:,} GD steps (lr {LR:g}), Rastrigin 2-D,")
    print("   every start all its steps (gtol = 0), in gradscape's many-start engine")
    timing = {}
    for precision in ("float64", "float32"):

        def ours(p: str = precision) -> gs.Batch:
            return gs.minimize_many(obj, starts, "gd", lr=LR, max_steps=args.steps, gtol=0.0,
                                    precision=p)  # fmt: skip

        batch, cold = timed(ours)
        raw = raw_loop(obj, starts, args.steps, precision)
        # the same work: every start took every step but where its gradient was exactly zero
        # (gtol = 0: converged; a raw step there moves nothing), and both end at the same points
        early = batch.n_steps < args.steps
        from gradscape.engine import STATUS  # here: a baseline's process must not load JAX

        assert np.all(batch.status[early] == STATUS.index("converged")), "a start stopped early"
        same = float(np.max(np.abs(raw() - batch.params)))
        warm, raw_secs = medians([ours, raw], args.repeats)
        timing[precision] = (batch, warm, cold)
        print(
            f"   gradscape, {precision}: {warm:.3f} s ({cold:.2f} s on the first call, with compile)"
            f"; a raw jitted fori_loop: {raw_secs:.3f} s; engine / raw = {warm / raw_secs:.2f}x "
            f"(target <= 1.3x; medians of {args.repeats}, taking turns; end points differ by "
            f"{same:.1e}; {np.sum(early)} starts reached a zero gradient)"
        )

    k = args.numpy_starts or args.starts
    base = in_own_process(__file__, "numpy_loop", {
        "starts": starts[:k], "steps": args.steps,
        **{p: np.asarray(t[0].params) for p, t in timing.items()},
    })  # fmt: skip
    total = base["seconds"] * args.starts / k
    note = "" if k == args.starts else f" (timed on {k:,} starts, extrapolated)"
    print(f"   NumPy loop per start (float64), own process: {total:.1f} s{note}")
    for precision, (_, warm, cold) in timing.items():
        print(f"   ratio, {precision}: {total / warm:.0f}x warm, {total / cold:.0f}x with compile "
              f"(target >= 500x); end points differ from NumPy's by at most "
              f"{base[precision]:.1e}")  # fmt: skip

    ks = args.scipy_starts or args.starts
    sp = in_own_process(__file__, "scipy_loop", {"starts": starts[:ks]})
    total_sp, distinct_sp = sp["seconds"] * args.starts / ks, sp["distinct"]
    box = dict(obj.ranges)
    default, d_secs = timed(lambda: gs.multistart(obj, box, starts=starts))
    default, d_secs = timed(lambda: gs.multistart(obj, box, starts=starts))
    note = "" if ks == args.starts else f" (timed on {ks:,} starts, extrapolated)"
    print(f"\n2. time to the distinct minima from the same {args.starts:,} starts")
    print(f"   scipy.optimize.minimize (L-BFGS-B) per start: {total_sp:.1f} s{note}, "
          f"{distinct_sp} distinct minima")  # fmt: skip
    print(f"   gradscape multistart (default: newton): {d_secs:.3f} s, {len(default.values)} "
          f"distinct minima, {sum(default.failed().values())} starts failed")  # fmt: skip
    print(f"   ratio: {total_sp / d_secs:.0f}x")


if __name__ == "__main__":
    main()
