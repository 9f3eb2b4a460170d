"""gradscape.fit on the NIST StRD nonlinear regression problems shipped with gradscape, against
``scipy.optimize.least_squares(method="lm")`` with its default finite-difference Jacobian and
tolerances (what ``curve_fit`` does), both in this process, from both of NIST's starts.

For each problem and start it prints the correct digits of the worst parameter
(``-log10(|got − certified| / |certified|)``) each way, gradscape's verdict and SciPy's success
flag; then how many fits reach 4 and 6 digits, the silent wrong answers (a fit reported as
converged / successful with fewer than 4 digits for SciPy, fewer than 6 for gradscape) and the
total time. The baseline's model is the same formula turned into a NumPy function by SymPy (no
JAX in its loop; XLA's threads are idle while it runs). gradscape's time includes its
profile-likelihood intervals (default settings) and, shown apart, compilation (first fit of each
model).

``--solvers`` also measures the solvers gradscape could use with exact Jacobians (SciPy's ``lm``
and ``trf``, and optimistix's Levenberg–Marquardt when it is installed), which decided the
default. ``--cli`` times ``gradscape fit`` as a whole command (a fresh process: imports,
compilation or the persistent compilation cache, the fit, its intervals and output).

Usage: python benchmarks/bench_fit.py [--solvers] [--cli]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
from scipy.optimize import least_squares

import gradscape as gs
from gradscape.fitting import nist
from gradscape.fitting.models import check_data, parse_model


def numpy_residuals(p: nist.Problem) -> tuple[Any, list[str]]:
    """The problem's residual function in NumPy (SymPy's lambdify of the model's right side;
    the text is the project's own, not a user's) and its parameter names."""
    m = parse_model(p.model, list(p.data))
    fd = check_data(m, p.data, p.name)
    f = sp.lambdify(m.rhs.symbols, m.rhs.sympy, "numpy")
    cols = [fd.X[:, j] for j in range(fd.X.shape[1])]
    y = fd.y
    return (lambda b: y - f(*b, *cols)), list(m.parameters)


def worst_digits(values: dict[str, float] | np.ndarray, p: nist.Problem) -> float:
    names = list(p.certified)
    got = values if isinstance(values, dict) else dict(zip(names, values, strict=True))
    return min(nist.digits(float(got[b]), p.certified[b]) for b in names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--solvers", action="store_true", help="also compare the exact-Jacobian solvers"
    )
    ap.add_argument("--cli", action="store_true", help="also time `gradscape fit` as a command")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, gradscape {gs.__version__}")  # fmt: skip
    print(f"\n{'problem':9s} {'start':>5s} | {'gradscape':>9s} {'se':>5s} {'verdict':9s} "
          f"{'s':>6s} | {'scipy lm':>8s} {'success':7s} {'s':>6s}")  # fmt: skip
    rows = []
    compile_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in nist.NAMES:
            p = nist.problem(name)
            path = p.write_csv(Path(tmp) / f"{name}.csv")
            res, names = numpy_residuals(p)
            t = time.perf_counter()  # first fit of the model: compiles
            gs.fit(p.model, path, start=p.starts[0], intervals=False)
            compile_s += time.perf_counter() - t
            for k, start in enumerate(p.starts, 1):
                t = time.perf_counter()
                f = gs.fit(p.model, path, start=start)
                g_s = time.perf_counter() - t
                g_d = worst_digits(f.params, p)
                se_d = min(nist.digits(float(f.se[j]), p.certified_se[b])
                           for j, b in enumerate(f.parameters))  # fmt: skip
                b0 = np.array([start[b] for b in names])
                t = time.perf_counter()
                with np.errstate(all="ignore"):  # its trial points overflow exp on MGH17
                    out = least_squares(res, b0, method="lm")
                s_s = time.perf_counter() - t
                s_d = worst_digits(out.x, p)
                rows.append((name, k, g_d, f.verdict, g_s, s_d, bool(out.success), s_s))
                flag = "  <- silent" if out.success and s_d < 4 else ""
                print(f"{name:9s} {k:5d} | {g_d:9.1f} {se_d:5.1f} {f.verdict:9s} {g_s:6.3f} | "
                      f"{s_d:8.1f} {out.success!s:7s} {s_s:6.3f}{flag}")  # fmt: skip
    g = np.array([r[2] for r in rows])
    s = np.array([r[5] for r in rows])
    g_silent = sum(1 for r in rows if r[3] == "converged" and r[2] < 6)
    s_silent = sum(1 for r in rows if r[6] and r[5] < 4)
    g_time, s_time = sum(r[4] for r in rows), sum(r[7] for r in rows)
    n = len(rows)
    print(f"\n{'':28s} {'gradscape':>12s} {'scipy lm (FD)':>14s}")
    print(
        f"{'fits at >= 4 digits':28s} {int((g >= 4).sum()):>9d}/{n} {int((s >= 4).sum()):>11d}/{n}"
    )
    print(
        f"{'fits at >= 6 digits':28s} {int((g >= 6).sum()):>9d}/{n} {int((s >= 6).sum()):>11d}/{n}"
    )
    print(f"{'silent wrong answers':28s} {g_silent:>12d} {s_silent:>14d}")
    print(f"{'total time (s)':28s} {g_time:>12.2f} {s_time:>14.2f}")
    print(
        f"gradscape's time includes profile intervals; compiling the 21 models took "
        f"{compile_s:.1f} s more (once per model per process, or from the persistent cache)"
    )
    if args.solvers:
        solvers()
    if args.cli:
        cli()


def solvers() -> None:
    """Exact JAX Jacobians fed to each candidate solver, tolerances at machine precision."""
    import jax
    import jax.numpy as jnp

    from gradscape._x64 import x64
    from gradscape.fitting.solve import compiled

    print(
        "\nexact-Jacobian solvers, no polish (worst digits over parameters, all 42 fits; SciPy's"
        " time with the models compiled above, optimistix's with its solver compiled per model):"
    )
    try:
        import optimistix as optx
    except ImportError:
        optx = None
        print("  (optimistix is not installed: pip install optimistix to include it)")
    results: dict[str, list[float]] = {"scipy lm": [], "scipy trf": []}
    times = dict.fromkeys(results, 0.0)
    if optx is not None:
        results["optimistix LM"], times["optimistix LM"] = [], 0.0
    with x64():
        for name in nist.NAMES:
            p = nist.problem(name)
            m = parse_model(p.model, list(p.data))
            fd = check_data(m, p.data, name)
            pieces = compiled(m)
            X, y, sw = jnp.asarray(fd.X), jnp.asarray(fd.y), jnp.ones(fd.n)
            args = (X, y, sw)
            r = lambda b, c=pieces, a=args: np.asarray(c.residuals(b, *a))  # noqa: E731
            J = lambda b, c=pieces, a=args: np.asarray(c.both(b, *a)[0])  # noqa: E731
            for start in p.starts:
                b0 = np.array([start[b] for b in m.parameters])
                for method in ("lm", "trf"):
                    t = time.perf_counter()
                    with np.errstate(all="ignore"):  # rejected trial steps overflow
                        out = least_squares(r, b0, jac=J, method=method, xtol=1e-15, ftol=1e-15,
                                            gtol=1e-15, max_nfev=20000, x_scale="jac")  # fmt: skip
                    times[f"scipy {method}"] += time.perf_counter() - t
                    results[f"scipy {method}"].append(worst_digits(out.x, p))
                if optx is not None:
                    t = time.perf_counter()
                    sol = optx.least_squares(
                        lambda b, _, c=pieces, a=args: c.residuals(b, *a),
                        optx.LevenbergMarquardt(rtol=1e-12, atol=1e-12),
                        jnp.asarray(b0), max_steps=20000, throw=False,
                    )  # fmt: skip
                    jax.block_until_ready(sol.value)
                    times["optimistix LM"] += time.perf_counter() - t
                    results["optimistix LM"].append(worst_digits(np.asarray(sol.value), p))
    for key, d in results.items():
        a = np.array(d)
        print(f"  {key:14s} >=4: {int((a >= 4).sum())}/42  >=6: {int((a >= 6).sum())}/42  "
              f"worst {a.min():4.1f}  time {times[key]:6.2f} s")  # fmt: skip


def cli() -> None:
    """``gradscape fit`` as a command, a fresh process each time: without the persistent
    compilation cache, and with it primed."""
    print("\n`gradscape fit ... --json` as a whole command (median of 3):")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("Misra1a", "ENSO"):
            p = nist.problem(name)
            path = p.write_csv(Path(tmp) / f"{name}.csv")
            start = ",".join(f"{b}={v!r}" for b, v in p.starts[0].items())
            argv = [sys.executable, "-m", "gradscape.cli", "fit", p.model, "--data", str(path),
                    "--start", start, "--json"]  # fmt: skip
            cache = Path(tmp) / "cache"
            for label, env_cache in (("no cache", "off"), ("cached", str(cache))):
                env = {**os.environ, "GRADSCAPE_CACHE_DIR": env_cache, "MPLBACKEND": "Agg"}
                if label == "cached":
                    subprocess.run(argv, env=env, check=True, capture_output=True)
                runs = []
                for _ in range(3):
                    t = time.perf_counter()
                    subprocess.run(argv, env=env, check=True, capture_output=True)
                    runs.append(time.perf_counter() - t)
                print(f"  {name:8s} ({p.n} rows, {len(p.certified)} parameters) {label:8s} "
                      f"{sorted(runs)[1]:5.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
