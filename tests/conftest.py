"""Shared reference problems for the tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Compiling is most of this suite's time: XLA compiles about a quarter faster with most of its
# optimisations off, and the tests check the maths, not XLA's speed (the benchmarks run it fully
# optimised). Set JAX_DISABLE_MOST_OPTIMIZATIONS=0 to run the tests on optimised programs.
# Set before JAX is imported; the CLI's subprocesses inherit it.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import numpy as np
import pytest
from hypothesis import settings

import gradscape as gs


def pytest_xdist_auto_num_workers(config: Any) -> int:
    """``-n auto``: one worker per core, but three on a 2-core machine. A fifth of the suite
    waits on subprocesses (the README's commands) and the browser; a third worker fills that
    time (measured: 10 min 20 s with two workers, 9 min 40 s with three or four)."""
    return max(3, min(4, os.cpu_count() or 1))


# Deterministic property tests: the same examples on every run and machine, no example database.
settings.register_profile("gradscape", derandomize=True, database=None, print_blob=True)
settings.load_profile("gradscape")


def unscaled_line(n: int = 200, seed: int = 3, low: float = 100.0) -> gs.Dataset:
    """x in the hundreds (from ``low`` to ``2·low``): a badly conditioned SSE bowl (κ ~ 8e5;
    from 20 to 40, κ ~ 3e4)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, 2 * low, n)
    return gs.Dataset(x=x, y=3.0 * x - 40.0 + rng.normal(0.0, 15.0, n), name="unscaled")


def year_line(seed: int = 4) -> gs.Dataset:
    """x = calendar years: κ ~ 1e11, beyond plain GD on (m, c)."""
    rng = np.random.default_rng(seed)
    x = np.arange(1980.0, 2021.0)
    return gs.Dataset(x=x, y=0.02 * (x - 1980) + 14.0 + rng.normal(0, 0.1, x.size), name="years")


@pytest.fixture
def line() -> gs.Dataset:
    return gs.synthetic_line(n=40, seed=7)


@pytest.fixture
def sse(line: gs.Dataset) -> gs.Objective:
    return gs.sse_objective(line)


def polyfit(data: gs.Dataset) -> tuple[float, float]:
    """NumPy's least-squares line: the independent reference for (m, c)."""
    m, c = np.polyfit(data.x, data.y, 1)
    return float(m), float(c)


# -- the web page: the app in process, a live server, a real browser --------------------------

#: Where the browser tests save their screenshots (look at them before calling a view done).
SCREENSHOTS = os.environ.get("GRADSCAPE_SCREENSHOTS")


@pytest.fixture(scope="session")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from gradscape.web.app import create_app

    return create_app(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="session")
def client(web_app: Any) -> Iterator[Any]:
    """The API in process (FastAPI's TestClient)."""
    from fastapi.testclient import TestClient

    with TestClient(web_app) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(web_app: Any) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    # log_config=None as `gradscape serve` does: uvicorn's logging setup would close absl's
    # handler, and with it the sys.stderr it was created with (pytest's capture file)
    server = uvicorn.Server(uvicorn.Config(web_app, log_level="warning", log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def _chromium() -> str | None:
    path = os.environ.get("GRADSCAPE_CHROMIUM") or shutil.which("chromium")
    return path if path and Path(path).exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's ``chromium``) driven by Playwright. Skipped where either is
    missing, unless ``GRADSCAPE_REQUIRE_BROWSER=1`` (as CI sets): then a failure."""
    path = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if path is None or sync_playwright is None:
        why = "no chromium (apt-get install chromium)" if path is None else "no playwright"
        if os.environ.get("GRADSCAPE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests need {why}")
        pytest.skip(f"browser tests need {why}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh page on the live server; any JavaScript error on it fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.base = live_server  # type: ignore[attr-defined]
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()
    # a refused request (HTTP 4xx) the test asked for is logged by the browser, not an error
    real = [e for e in errors if "Failed to load resource" not in e]
    assert not real, f"JavaScript errors on the page: {real}"


def screenshot(page: Any, name: str) -> None:
    """Save a screenshot of ``page`` as ``NAME.png`` in ``$GRADSCAPE_SCREENSHOTS`` (if set)."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
