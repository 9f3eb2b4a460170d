"""Chunked work on a Dask cluster and resumed from disk: the same numbers as in this process.

One LocalCluster of two spawned worker processes serves the module (starting it and compiling
on its workers is most of this file's time)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from gradscape import executors
from gradscape.cli import main
from gradscape.executors import CHUNKS, ChunkStore, cluster
from gradscape.multistarts import multistart
from gradscape.networks import landscapes
from gradscape.networks.datasets import load
from gradscape.networks.landscapes import landscape
from gradscape.networks.models import model
from gradscape.networks.training import train
from gradscape.races import race

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Any:
    with cluster("local:2") as c:
        yield c


@pytest.fixture(scope="module")
def run() -> tuple[Any, Any, Any]:
    split = load("iris", seed=0)
    return train(split, "mlp:8", lr=1e-2, epochs=20, seed=0), split, model("mlp:8", 4, 3)


@pytest.fixture
def small_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks of one compiled call each, so a small grid makes several."""
    monkeypatch.setattr(executors, "TASK_FLOPS", 1.0)
    monkeypatch.setattr(landscapes, "_device_chunk", lambda net, rows: 16)


def same(a: Any, b: Any, fields: tuple[str, ...]) -> None:
    for f in fields:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


def test_objectives_travel_by_what_they_are() -> None:
    for text in ("x^2*sin(y)", "himmelblau", "rosenbrock:5"):
        obj = gs.objective(text)
        obj.jit_value  # compiled pieces stay behind  # noqa: B018
        back = pickle.loads(pickle.dumps(obj))
        assert back.source() == obj.source() and back.names == obj.names
        assert back(np.full(obj.n, 0.3)) == obj(np.full(obj.n, 0.3))
    boxed = gs.objective("himmelblau", ranges={"x": (0.0, 1.0)})
    assert pickle.loads(pickle.dumps(boxed)).ranges == boxed.ranges


def test_landscape_on_the_cluster_is_the_in_process_one(
    client: Any, run: tuple, small_tasks: None
) -> None:
    result, split, net = run
    here = landscape(result, split, net, grid=9, seed=2)
    done: list[tuple[int, int]] = []
    there = landscape(result, split, net, grid=9, seed=2, executor=client,
                      progress=lambda k, n: done.append((k, n)))  # fmt: skip
    same(here, there, ("values", "directions", "alphas", "betas"))
    assert done[-1] == (6, 6) and len(done) == 7  # 81 points in tasks of 16: counted as they end
    line = landscape(result, split, net, grid=21, directions="pca", dims=1)  # directions sent
    same(line, landscape(result, split, net, grid=21, directions="pca", dims=1,
                         executor=client), ("values", "directions"))  # fmt: skip


def test_multistart_and_race_on_the_cluster_are_the_in_process_ones(client: Any) -> None:
    f = gs.objective("himmelblau")
    here = multistart(f, starts=1500, chunk=256)
    there = multistart(f, starts=1500, chunk=256, executor=client)
    same(here, there, ("points", "values", "counts", "labels", "status"))
    a = race(f, optimizers=["adam"], starts=8, budget=2, max_steps=200)
    b = race(f, optimizers=["adam"], starts=8, budget=2, max_steps=200, executor=client)
    assert a.summary() == b.summary()


def test_a_worker_killed_mid_run_changes_nothing(client: Any) -> None:
    f = gs.objective("rastrigin")
    here = multistart(f, starts=3000, chunk=128, method="gd", max_steps=300)
    pids = list(client.run(os.getpid).values())
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if done and not killed:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    there = multistart(f, starts=3000, chunk=128, method="gd", max_steps=300, executor=client,
                       progress=kill_one)  # fmt: skip
    assert killed
    same(here, there, ("points", "values", "counts", "labels", "status"))
    assert pids[0] not in client.run(os.getpid).values()  # it really died


def test_resume_computes_only_the_missing_chunks(tmp_path: Path) -> None:
    f = gs.objective("himmelblau")
    whole = multistart(f, starts=1000, chunk=128)  # 8 chunks

    def stop_after_three(done: int, total: int) -> None:
        if done >= 3 * 128:
            raise KeyboardInterrupt

    store = ChunkStore(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        multistart(f, starts=1000, chunk=128, store=store, progress=stop_after_three)
    assert len(list(tmp_path.glob("*.npz"))) == 3 and store.written == 3
    again = ChunkStore(tmp_path)
    resumed = multistart(f, starts=1000, chunk=128, store=again)
    assert (again.read, again.written) == (3, 5)
    same(whole, resumed, ("points", "values", "counts", "labels", "status"))
    other = ChunkStore(tmp_path)  # other settings: nothing in the folder is theirs
    multistart(f, starts=1000, chunk=128, seed=1, method="gd", store=other)
    assert other.read == 0 and other.others() == 8
    other.remove()  # done: its own chunks go, the other run's stay for its resume
    assert len(list(tmp_path.glob("*.npz"))) == 8


def test_cli_interrupted_then_resumed(tmp_path: Path) -> None:
    out = tmp_path / "ms"
    cmd = [sys.executable, "-m", "gradscape.cli", "multistart", "rastrigin", "--starts", "40000",
           "--optimizer", "gd", "--steps", "400", "--out", str(out), "--json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    chunks = out / CHUNKS
    deadline = time.monotonic() + 120
    while len(list(chunks.glob("*.npz"))) < 2 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be interrupted")
    assert proc.returncode == 130, err
    kept = len(list(chunks.glob("*.npz")))
    assert f"{kept} finished chunks are kept in" in err and "--resume" in err
    assert not (out / "summary.json").exists()  # nothing that looks complete
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"--resume: {kept} chunks were already done" in done.stderr
    assert not chunks.exists()  # the finished result holds them all
    fresh = multistart(gs.objective("rastrigin"), starts=40000, method="gd", max_steps=400)
    a, b = json.loads(done.stdout), json.loads(json.dumps(fresh.summary()))
    assert a["minima"] == b["minima"] and a["failed"] == b["failed"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cluster", "local:0"], "the number of workers must be from 1 to 64"),
        (["--cluster", "gpu:2"], "Unknown cluster 'gpu:2': use local:N"),
        (["--resume"], "holds no chunks of an interrupted run; run without --resume"),
        (["--cluster", ""], "Unknown cluster '': use local:N"),
        (["--cluster", "tcp://127.0.0.1:99999"], "a port is a number from 1 to 65535"),
    ],
)
def test_bad_cluster_and_resume(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["multistart", "himmelblau", "--starts", "100", "--out", str(tmp_path / "o"),
                 *argv])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unreachable_scheduler_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(executors, "CONNECT_SECONDS", 0.5)
    code = main(["race", "himmelblau", "--cluster", "tcp://127.0.0.1:9", "--out",
                 str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert not (tmp_path / "o").exists()


def test_a_pytorch_landscape_on_the_cluster_is_the_in_process_one(client: Any) -> None:
    torch = pytest.importorskip("torch")
    from gradscape import torch as gtorch

    class Net(torch.nn.Module):  # defined here: it travels to the workers by value
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 6), torch.nn.Linear(6, 3)

        def forward(self, x: Any) -> Any:
            return self.b(torch.tanh(self.a(x)))

    torch.manual_seed(0)
    net, x, y = Net(), torch.randn(40, 4), torch.randint(0, 3, (40,))
    here = gtorch.landscape(net, (x, y), grid=9, seed=4, chunk=8)
    there = gtorch.landscape(net, (x, y), grid=9, seed=4, chunk=8, executor=client)
    same(here, there, ("values", "directions"))
    assert there.center_loss == here.center_loss


def test_a_crash_leaves_no_staging_folder_behind(tmp_path: Path) -> None:
    out = tmp_path / "o"
    stale = out / ".gradscape-partial-99999"  # what a killed run left
    stale.mkdir(parents=True)
    (out / ".gradscape.json").write_text('{"files": []}')
    assert main(["multistart", "himmelblau", "--starts", "100", "--out", str(out)]) == 0
    assert not stale.exists() and (out / "summary.json").exists()
