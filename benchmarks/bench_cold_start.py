"""Cold start: each CLI verb as a whole process, without and with the persistent compilation
cache (XLA's compiled programs kept in gradscape's cache folder between commands).

Baseline: the same command with the cache turned off (``GRADSCAPE_CACHE_DIR=off``), so every
call compiles again. Cached: the same command after one priming run into a fresh cache folder.
Each is the median of ``--repeats`` runs, alternated so that load on the machine falls on both.

Usage: python benchmarks/bench_cold_start.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERBS = [
    ["tour"],
    ["derive", "x^2*sin(y)", "--at", "x=1,y=2"],
    ["sweep", "rosenbrock"],
    ["descend", "himmelblau", "--from", "x=0,y=0", "--compare", "gd,adam,newton"],
    ["critical", "himmelblau"],
    ["multistart", "rastrigin", "--starts", "2500"],
]


def once(argv: list[str], cache: str, folder: Path) -> float:
    env = {**os.environ, "GRADSCAPE_CACHE_DIR": cache, "MPLBACKEND": "Agg"}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gradscape.cli", *argv, "--out", str(folder / argv[0]), "--json"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'command':58s} {'no cache':>9s} {'cached':>9s} {'gain':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for argv in VERBS:
            cache = str(folder / "cache" / argv[0])
            once(argv, cache, folder)  # prime
            off, on = [], []
            for _ in range(args.repeats):
                off.append(once(argv, "off", folder))
                on.append(once(argv, cache, folder))
            a, b = statistics.median(off), statistics.median(on)
            label = "gradscape " + " ".join(argv)
            print(f"{label[:58]:58s} {a:8.2f}s {b:8.2f}s {a / b:5.2f}x")


if __name__ == "__main__":
    main()
