"""Server time per request of ``gradscape serve`` against the same computation through the
Python API.

The server runs as its own process (``gradscape serve --port 0``, as a user starts it); this
process calls the same library functions the handlers call. Both are warmed (compiled) first;
then the HTTP request (one kept-alive connection on loopback: JSON encode, the handler, the
answer's JSON, read back) and the direct call take turns, and their medians are compared. The
overhead is what the web layer adds: (server − API) / API.

Cases: the hover/drag points (value and gradient at a point; the line's SSE and partials), a
101 × 101 surface, a 1,000-step descent of five optimizers, the line's descent.

Usage: python benchmarks/bench_web.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _timing import medians

FIVE = ["gd", "momentum", "nesterov", "rmsprop", "adam"]


def start_server() -> tuple[subprocess.Popen[str], str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradscape.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "GRADSCAPE_CACHE_DIR": ""},
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.split("http://", 1)[1].split("/", 1)[0]
    host, port = url.rsplit(":", 1)
    return proc, host, int(port)


def poster(
    conn: http.client.HTTPConnection, path: str, body: dict[str, Any], inside: list[float]
) -> Callable[[], Any]:
    """A call of ``path``; appends the server's own time (its Server-Timing header) to
    ``inside``."""
    payload = json.dumps(body).encode()

    def call() -> Any:
        for attempt in (0, 1):  # the server closes an idle kept-alive connection after 5 s
            try:
                conn.request("POST", path, payload, {"Content-Type": "application/json"})
                r = conn.getresponse()
                break
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                if attempt:
                    raise
        data = r.read()
        if r.status != 200:
            raise SystemExit(f"{path}: HTTP {r.status}: {data[:300]!r}")
        inside.append(float(r.headers["Server-Timing"].split("dur=")[1]) / 1e3)
        return orjson.loads(
            data
        )  # as fast as a browser's JSON.parse: the parse is not the server's

    return call


def cases() -> list[tuple[str, str, dict[str, Any], Callable[[], Any]]]:
    """(name, path, body, the same computation through the Python API)."""
    from gradscape.calculus import value_and_gradient
    from gradscape.descent import plan_descent, update_rules
    from gradscape.line_data import synthetic_line
    from gradscape.line_model import LineStats, default_ranges, line_point, sse_objective
    from gradscape.runs import minimize
    from gradscape.sweep import known_minima, plan_sweep, surface
    from gradscape.tours import descend_line, line_eigenvalues
    from gradscape.web.explorer import function_of
    from gradscape.web.story import STORY_HEAD

    him = function_of("himmelblau")

    def explorer_surface(obj: Any, box: dict[str, tuple[float, float]]) -> Any:
        s = plan_sweep(obj, box, points=101).run()
        return s, s.extremes(), known_minima(obj, s)

    box = {"x": (-5.0, 5.0), "y": (-5.0, 5.0)}
    start = {"x": -1.0, "y": 2.5}
    out: list[tuple[str, str, dict[str, Any], Callable[[], Any]]] = [
        ("explorer point (hover)", "/api/explorer/point",
         {"source": "himmelblau", "at": {"x": 1.0, "y": 1.0}},
         lambda: value_and_gradient(him, {"x": 1.0, "y": 1.0})),
        ("explorer 101 x 101 surface", "/api/explorer/surface",
         {"source": "himmelblau", "points": 101, "ranges": box},
         lambda: explorer_surface(him, box)),
        ("explorer 1,000 steps x 5 optimizers", "/api/explorer/run",
         {"source": "himmelblau", "starts": [start],
          "optimizers": [{"name": n, "lr": 0.01, "steps": 1000} for n in FIVE]},
         lambda: [minimize(him, start, n, lr=0.01, max_steps=1000, head=1000, max_records=2000)
                  for n in FIVE]),
    ]  # fmt: skip
    data = synthetic_line()
    stats = LineStats.of(data)
    sse = sse_objective(data)
    plan = plan_descent(sse, (0.0, 0.0), eigenvalues=line_eigenvalues(stats))
    mc = default_ranges(stats, (0.0, 0.0))
    line = {"data": "builtin"}

    def story_descent() -> Any:
        fit = descend_line(stats, (0.0, 0.0), lr=plan.lr, steps=1000, objective=sse,
                           head=STORY_HEAD, max_records=STORY_HEAD)  # fmt: skip
        return fit, update_rules(fit.trajectory, "SSE")

    out += [
        ("story point (drag)", "/api/story/point", {**line, "m": 1.0, "c": 2.0},
         lambda: line_point(stats, 1.0, 2.0)),
        ("story 101 x 101 SSE surface", "/api/story/surface", {**line, "grid": 101},
         lambda: surface(sse, "m", "c", x_range=mc["m"], y_range=mc["c"], points=101)),
        ("story 1,000-step descent", "/api/story/descend",
         {**line, "m": 0.0, "c": 0.0, "lr": plan.lr, "steps": 1000}, story_descent),
    ]  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    proc, host, port = start_server()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
              f"server at {host}:{port}; medians of {args.repeats}")  # fmt: skip
        print(f"{'request':<38} {'Python API':>11} {'server':>11} {'overhead':>9} "
              f"{'round trip':>11} {'overhead':>9}")  # fmt: skip
        for name, path, body, direct in cases():
            inside: list[float] = []
            call = poster(conn, path, body, inside)
            call(), direct(), call(), direct()  # compile and warm both
            del inside[:]
            trip, api = medians([call, direct], args.repeats)
            server = statistics.median(inside)
            print(f"{name:<38} {api * 1e3:8.2f} ms {server * 1e3:8.2f} ms "
                  f"{(server - api) / api:8.0%} {trip * 1e3:8.2f} ms {(trip - api) / api:8.0%}")  # fmt: skip
        print(
            "server: the server's own time (Server-Timing: parse, handler, JSON); round trip: "
            "as a client sees it (loopback TCP, reading and parsing the JSON with orjson)"
        )
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
