"""Baselines run in a process of their own: no XLA threads beside them, and the thread count
they are best at.

A benchmark script defines its baseline as a module-level function ``name(payload) -> dict``
that imports only what the baseline needs (NumPy, SciPy, PyTorch; never JAX), then calls
``in_own_process(__file__, "name", payload, threads=(1, 2))``: the payload (NumPy arrays and
numbers) is written to a temporary ``.npz``, a fresh Python runs the function once per thread
count with ``OMP_NUM_THREADS`` and friends set (and ``torch.set_num_threads`` when PyTorch is
loaded), and the result of the fastest count comes back with that count in ``"threads"``. The
function reports its own time in ``"seconds"``, measured around the work only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def in_own_process(
    script: str, name: str, payload: dict[str, Any], threads: Iterable[int] = (1,)
) -> dict[str, Any]:
    """Run ``name(payload)`` from ``script`` in a fresh process per thread count; the fastest."""
    best: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payload.npz"
        np.savez(path, **{k: np.asarray(v) for k, v in payload.items()})
        for n in threads:
            env = {**os.environ, **dict.fromkeys(_THREAD_VARS, str(n))}
            env.pop("XLA_FLAGS", None)
            proc = subprocess.run(
                [sys.executable, __file__, script, name, str(path), str(n)],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                raise SystemExit(f"baseline {name} failed:\n{proc.stderr[-3000:]}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["threads"] = n
            if best is None or result["seconds"] < best["seconds"]:
                best = result
    assert best is not None
    return best


def require(module: str, hint: str) -> None:
    """Exit with one line (status 2) when ``module`` is not installed."""
    if importlib.util.find_spec(module) is None:
        print(f"{Path(sys.argv[0]).name}: needs {module}: {hint}", file=sys.stderr)
        raise SystemExit(2)


def _child() -> None:
    script, name, path, threads = sys.argv[1:5]
    spec = importlib.util.spec_from_file_location("bench", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with np.load(path) as z:
        payload = {k: z[k] for k in z.files}
    if "import torch" in Path(script).read_text(encoding="utf-8"):
        import torch

        torch.set_num_threads(int(threads))
    result = getattr(module, name)(payload)
    assert "jax" not in sys.modules, "a baseline must not load JAX"
    print(json.dumps(result))


if __name__ == "__main__":
    _child()
