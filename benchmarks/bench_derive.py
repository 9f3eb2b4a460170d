"""`gradscape derive` as a whole process vs the bare imports it needs, and parse time vs length.

1. Baseline: ``python -c "import jax, sympy"`` (the floor any tool built on JAX and SymPy pays).
   Measured: ``gradscape derive "x^2*sin(y)" --at x=1,y=2`` as a whole process (start-up, parse,
   symbolic derivatives, one XLA compile, compute, print). Runs alternate; medians are compared.
   Target: at most 0.5 s over the baseline.
2. Parsing expressions of 10 to 10,000 terms (text -> SymPy): time per term should stay flat
   (linear in length); the log-log slope of time against length is printed (1.0 = linear).

Usage: python benchmarks/bench_derive.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

BASELINE = [sys.executable, "-c", "import jax, sympy"]
EXPR, AT = "x^2*sin(y)", "x=1,y=2"


def derive_command() -> list[str]:
    exe = shutil.which("gradscape")
    head = [exe] if exe else [sys.executable, "-m", "gradscape.cli"]
    return [*head, "derive", EXPR, "--at", AT]


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def terms(n: int) -> str:
    funcs = ("sin", "cos", "exp", "tanh", "sqrt")
    parts = [
        f"{(k % 9) + 1}*x{k % 97}^{k % 5 + 1}*{funcs[k % 5]}(x{(k * 7 + 3) % 97})" for k in range(n)
    ]
    return " + ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )

    cmd = derive_command()
    wall(BASELINE), wall(cmd)  # warm the file cache
    base, mine = [], []
    for _ in range(args.repeats):
        base.append(wall(BASELINE))
        mine.append(wall(cmd))
    b, m = statistics.median(base), statistics.median(mine)
    print("\n1. whole process, median of", args.repeats)
    print(f"   baseline  python -c 'import jax, sympy'     {b:6.3f} s")
    print(f"   gradscape derive '{EXPR}' --at {AT}  {m:6.3f} s")
    extra = m - b
    print(
        f"   extra over the baseline: {extra:.3f} s (target <= 0.5 s: {'met' if extra <= 0.5 else 'MISSED'})"
    )
    print(f"   ratio derive / baseline: {m / b:.2f}x")

    from gradscape.expr import parse

    parse(terms(10))  # imports
    print("\n2. parse time against length (best of 3, SymPy's cache cleared before each)")
    print(f"   {'terms':>6} {'chars':>9} {'seconds':>9} {'µs/term':>8}")
    sizes, secs = [10, 100, 1000, 10000], []
    for n in sizes:
        text = terms(n)
        best = min(_timed(parse, text) for _ in range(3))
        secs.append(best)
        print(f"   {n:>6} {len(text):>9,} {best:>9.4f} {best / n * 1e6:>8.1f}")
    slope = float(np.polyfit(np.log(sizes[1:]), np.log(secs[1:]), 1)[0])
    print(f"   log-log slope from 100 to 10,000 terms: {slope:.2f} (1.00 = linear)")
    print(f"   per-term time at 10,000 vs 100 terms: {secs[3] / 10000 / (secs[1] / 100):.2f}x")


def _timed(fn, *a):  # type: ignore[no-untyped-def]
    from sympy.core.cache import clear_cache

    clear_cache()  # a repeated parse would otherwise hit SymPy's construction cache
    t = time.perf_counter()
    fn(*a)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
