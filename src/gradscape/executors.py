"""Chunked work, run in this process or on a Dask cluster, each finished chunk kept on disk.

The big jobs (the grid of a landscape, the starts of a multistart, the descents of a race) are
cut into chunks, each a pure function of the job's ``spec`` and the chunk's number. A
:class:`Work` names that function (by module and name, so a worker imports it instead of
receiving code), the spec (shipped once to each worker: weights, data, settings and seeds, from
which workers rebuild directions and starts) and a fingerprint of everything the results depend
on. :func:`run` computes the chunks:

* in this process (``executor=None``), one after another;
* on a Dask cluster (``executor=`` a ``distributed.Client``): one task per chunk, sized by its
  engine for about a second of work (a vmapped block of points or starts, never one), retried
  elsewhere when a worker dies; the results are the same numbers as in process, because a
  chunk is computed by the same compiled program whoever runs it;
* with a :class:`ChunkStore`, every finished chunk is written to its folder as it arrives (one
  ``.npz`` per chunk, atomically) and a chunk already there is read instead of computed, so an
  interrupted run continues where it stopped.

:func:`cluster` opens the cluster the command line names: ``local:N`` starts N worker processes
on this machine for the run (spawned, never forked: JAX and fork do not mix; one CPU thread
each when the cores are shared out; a GPU's memory is never preallocated), ``tcp://HOST:PORT``
joins a running scheduler. ``dask.distributed`` is an optional dependency
(``pip install "gradscape[cluster]"``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import re
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_path
from .errors import InputError, printable

#: Most worker processes ``local:N`` starts.
MAX_LOCAL_WORKERS = 64
#: Seconds to wait for a scheduler named by ``tcp://`` to answer.
CONNECT_SECONDS = 20.0
#: Times a chunk is retried after an error on a worker (a worker that dies is not an error of
#: its chunks: the scheduler moves them to another worker by itself).
RETRIES = 2
#: The folder a :class:`ChunkStore` keeps inside a run's output folder.
CHUNKS = ".gradscape-chunks"
#: Work of one task (floating-point operations): about a second on one CPU core (see
#: :func:`task_size`).
TASK_FLOPS = 2e10
_INSTALL = 'pip install "gradscape[cluster]"'


@dataclass(frozen=True)
class Work:
    """A job cut into ``count`` chunks: chunk ``i`` is ``function(spec, i)``, a dict of NumPy
    arrays. ``function`` is ``"module:name"``; ``fingerprint`` (hex) changes with anything the
    results depend on; ``label`` names the job in progress and errors."""

    label: str
    function: str
    spec: Any
    count: int
    fingerprint: str


def task_size(per_item: float, chunk: int, total: int) -> int:
    """Items (grid points, starts) per task of a job of ``total`` items costing ``per_item``
    floating-point operations each: whole compiled calls of ``chunk`` items, about
    :data:`TASK_FLOPS` of work, never more than the whole job."""
    calls = max(1, round(TASK_FLOPS / (max(per_item, 1.0) * chunk)))
    return min(chunk * calls, -(-total // chunk) * chunk)


def fingerprint(*parts: Any) -> str:
    """A hex digest of ``parts``: arrays by dtype, shape and bytes, everything else by ``repr``
    (settings: numbers, strings, tuples)."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(f"{p.dtype}{p.shape}".encode())
            h.update(np.ascontiguousarray(p).tobytes())
        else:
            h.update(repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()


class ChunkStore:
    """Finished chunks in a folder, one ``.npz`` per chunk named by its job's fingerprint and its
    number, each written atomically (a chunk file is whole or absent).

    Attributes:
        folder: where the chunks are.
        read, written: chunks taken from the folder and chunks written to it so far (what a
            resumed run did not have to compute, and what it did).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.read = 0
        self.written = 0
        self.jobs: set[str] = set()  # fingerprints of the jobs run with this store

    def others(self) -> int:
        """Chunk files in the folder of jobs not run with this store (an interrupted run with
        other settings)."""
        mine = {f[:20] for f in self.jobs}
        return sum(p.name[:20] not in mine for p in self.folder.glob("*.npz"))

    def _path(self, work: Work, index: int) -> Path:
        return self.folder / f"{work.fingerprint[:20]}-{index:06d}.npz"

    def get(self, work: Work, index: int) -> dict[str, np.ndarray] | None:
        """Chunk ``index`` of ``work`` if it is in the folder (and whole), else ``None``."""
        path = self._path(work, index)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError):
            return None  # unreadable: computed again
        if str(arrays.pop("__work__", "")) != work.fingerprint:
            return None
        self.read += 1
        return arrays

    def put(self, work: Work, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Write chunk ``index`` of ``work`` (atomically)."""
        with atomic_path(self._path(work, index)) as tmp, tmp.open("wb") as f:
            np.savez(f, __work__=np.array(work.fingerprint), **arrays)  # type: ignore[arg-type]
        self.written += 1

    def clear(self) -> None:
        """Remove every chunk (a run that starts afresh)."""
        if self.folder.is_dir():
            for p in self.folder.glob("*.npz"):
                with contextlib.suppress(OSError):
                    p.unlink()

    def remove(self) -> None:
        """Remove the chunks of the jobs run with this store (the run finished: its result
        holds them), and the folder when nothing else is in it (chunks of a run with other
        settings stay, for its own resume)."""
        mine = {f[:20] for f in self.jobs}
        for p in self.folder.glob("*.npz"):
            if p.name[:20] in mine:
                with contextlib.suppress(OSError):
                    p.unlink()
        if not any(self.folder.glob("*.npz")):
            with contextlib.suppress(OSError):
                (self.folder / "work.json").unlink()
            with contextlib.suppress(OSError):
                self.folder.rmdir()

    def note(self, work: Work) -> None:
        """Record in the folder what the chunks are of (for a person looking at it)."""
        from ._files import write_text

        self.folder.mkdir(parents=True, exist_ok=True)
        self.jobs.add(work.fingerprint)
        info = {"job": work.label, "chunks": work.count, "fingerprint": work.fingerprint}
        write_text(self.folder / "work.json", json.dumps(info, indent=2) + "\n")


# -- computing one chunk (in this process or on a worker) --------------------------------------
_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def named(name: str) -> Callable[..., Any]:
    """The function ``"module:name"`` names (its module imported on first use)."""
    fn = _FUNCTIONS.get(name)
    if fn is None:
        module, attr = name.split(":")
        fn = _FUNCTIONS[name] = getattr(importlib.import_module(module), attr)
    return fn


_MALLOC = [False]


def _large_buffers_from_the_heap() -> None:
    """Undo, once per process, what Dask's nanny does to every worker it starts:
    ``MALLOC_TRIM_THRESHOLD_=65536`` turns off glibc's adaptive thresholds, so each of XLA's
    buffers of a few megabytes is mapped and unmapped afresh (page faults on every chunk): a
    landscape's chunk took 2.7 times as long (0.51 s against 0.19 s, measured). Setting the
    thresholds back above those buffers restores the speed; the numbers do not change."""
    if _MALLOC[0] or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _MALLOC[0] = True
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 256 * 1024**2)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 * 1024**2)  # M_MMAP_THRESHOLD (glibc's largest)


def compute(function: str, spec: Any, index: int) -> dict[str, np.ndarray]:
    """Chunk ``index``: what a worker runs (the engine's module is imported on first use)."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # before JAX's backend starts
    _large_buffers_from_the_heap()
    return named(function)(spec, index)  # type: ignore[no-any-return]


_PREPARED: dict[str, Any] = {}
_PREPARING = threading.Lock()  # a worker may run several threads


def prepared(work: str, build: Callable[[], Any]) -> Any:
    """What every chunk of one job needs (compiled functions, arrays on the device), built once
    per process: ``work`` is the job's fingerprint. The last few jobs are kept."""
    with _PREPARING:
        if work not in _PREPARED:
            while len(_PREPARED) >= 4:
                _PREPARED.pop(next(iter(_PREPARED)))
            _PREPARED[work] = build()
        return _PREPARED[work]


# -- running a job ---------------------------------------------------------------------------------
def _is_client(executor: Any) -> bool:
    return type(executor).__name__ == "Client" and hasattr(executor, "submit")


def check_executor(executor: Any) -> None:
    """Refuse an ``executor`` that is neither ``None`` nor a ``distributed.Client``."""
    if executor is not None and not _is_client(executor):
        raise InputError(
            "executor must be None (this process) or a dask distributed.Client; got "
            f"{type(executor).__name__}."
        )


def run(
    work: Work,
    *,
    executor: Any = None,
    store: ChunkStore | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, np.ndarray]]:
    """Every chunk of ``work``, in order (see the module docstring). ``progress(done, count)``
    is called as chunks finish (on any worker) and may raise to stop the job: the chunks
    already finished stay in ``store``.

    Raises:
        InputError: a bad executor.
    """
    check_executor(executor)
    out: list[dict[str, np.ndarray] | None] = [None] * work.count
    if store is not None:
        store.note(work)
        for i in range(work.count):
            out[i] = store.get(work, i)
    missing = [i for i, o in enumerate(out) if o is None]
    done = work.count - len(missing)
    if progress is not None:
        progress(done, work.count)

    def finished(i: int, arrays: dict[str, np.ndarray]) -> None:
        nonlocal done
        out[i] = arrays
        if store is not None:
            store.put(work, i, arrays)
        done += 1
        if progress is not None:
            progress(done, work.count)

    if missing and executor is None:
        chunk = named(work.function)
        for i in missing:
            finished(i, chunk(work.spec, i))
    elif missing:
        _on_cluster(executor, work, missing, finished)
    return [o for o in out if o is not None]


def _the_spec(spec: Any) -> Any:
    return spec


def _on_cluster(
    client: Any, work: Work, missing: list[int], finished: Callable[[int, Any], None]
) -> None:
    """One task per missing chunk, each depending on one task that holds the spec (sent once;
    not scattered: scattered data lost with a worker is lost for good, a task's result is
    computed again elsewhere); results are taken as they arrive, whichever worker ran them. An
    interrupt cancels what has not finished."""
    from distributed import as_completed

    tag = f"gradscape-{work.label}-{work.fingerprint[:12]}-{uuid.uuid4().hex[:8]}"
    try:
        with warnings.catch_warnings():  # a model and its data are a large graph, on purpose
            warnings.filterwarnings("ignore", "Sending large graph")
            spec = client.submit(_the_spec, work.spec, key=f"{tag}-spec", pure=False)
            futures = client.map(compute, [work.function] * len(missing), [spec] * len(missing),
                                 missing, key=[f"{tag}-{i}" for i in missing], retries=RETRIES,
                                 pure=False)  # fmt: skip
    except RuntimeError as exc:  # a closed client
        raise InputError(
            f"The Dask client cannot take work ({printable(str(exc))[:200]}); open a new one."
        ) from None
    index = {f.key: i for f, i in zip(futures, missing, strict=True)}
    try:
        for future, arrays in as_completed(futures, with_results=True):  # type: ignore[no-untyped-call]
            if future.status != "finished" or isinstance(arrays, BaseException):
                raise InputError(
                    f"The cluster lost chunk {index[future.key]} of the {work.label} "
                    f"({future.status}); the finished chunks are kept: run it again (with "
                    "--resume on the command line)."
                )
            finished(index[future.key], arrays)
    except ModuleNotFoundError as exc:  # raised on a worker, re-raised here
        raise InputError(
            f"A worker of the cluster cannot import {exc.name}: install gradscape (the same "
            "version) on every worker."
        ) from None
    except OSError as exc:  # the connection to the scheduler closed
        raise InputError(
            f"The connection to the Dask cluster was lost ({printable(str(exc))[:200]}); the "
            "finished chunks are kept: run it again (with --resume on the command line)."
        ) from None
    finally:
        with contextlib.suppress(Exception):
            client.cancel([*futures, spec])


# -- opening a cluster ---------------------------------------------------------------------------
_ADDRESS = re.compile(r"tcp://[A-Za-z0-9.\-\[\]:]+:(\d{1,5})")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError(f"A Dask cluster needs dask.distributed: {_INSTALL}.") from None
    return distributed


def worker_env() -> dict[str, str]:
    """The environment of local worker processes: one XLA device each (a task is one chunk;
    the cluster spreads the chunks) and no preallocation of a GPU's memory. XLA's CPU thread
    pool is left as in this process: its size decides how a matrix product is split, and so
    the last bit of a sum, and a chunk must come out the same wherever it runs."""
    return {"XLA_PYTHON_CLIENT_PREALLOCATE": "false",
            "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}  # fmt: skip


@contextlib.contextmanager
def cluster(spec: str) -> Iterator[Any]:
    """A ``distributed.Client`` for the cluster ``spec`` names, closed afterwards:
    ``local:N`` (N worker processes on this machine, 1 to :data:`MAX_LOCAL_WORKERS`, started
    for the run and stopped after it) or ``tcp://HOST:PORT`` (a running scheduler).

    Raises:
        InputError: a spec of another form, a bad N, an unreachable scheduler, or
            ``dask.distributed`` not installed.
    """
    text = spec.strip() if isinstance(spec, str) else ""
    shown = printable(str(spec))
    local = re.fullmatch(r"local:(\d{1,6})", text)
    if not local and not _ADDRESS.fullmatch(text):
        raise InputError(
            f"Unknown cluster {shown!r}: use local:N (N worker processes on this machine) or "
            "tcp://HOST:PORT (the address of a running Dask scheduler)."
        )
    address = _ADDRESS.fullmatch(text)
    if address and not 1 <= int(address.group(1)) <= 65535:
        raise InputError(f"{shown}: a port is a number from 1 to 65535.")
    if local:
        workers = int(local.group(1))
        if not 1 <= workers <= MAX_LOCAL_WORKERS:
            raise InputError(
                f"local:{workers}: the number of workers must be from 1 to {MAX_LOCAL_WORKERS} "
                "(gradscape.executors.MAX_LOCAL_WORKERS)."
            )
    distributed = _distributed()
    import dask

    quiet = {
        "distributed.worker.multiprocessing-method": "spawn",
        "logging.distributed": "error",
        "distributed.worker.profile.enabled": False,
    }
    with dask.config.set(quiet), warnings.catch_warnings():
        # the scheduler's dashboard is off; its port warning would only alarm
        warnings.filterwarnings("ignore", "Port .* is already in use")
        if local:
            with (
                distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR,
                    env=worker_env(),
                ) as lc,
                distributed.Client(lc) as client,
            ):  # fmt: skip
                yield client
            return
        try:
            client = distributed.Client(text, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"Cannot reach the Dask scheduler at {shown} ({printable(str(exc))[:200]}); start "
                "one (dask scheduler, then dask worker on each machine) or use local:N."
            ) from None
        with client:
            try:
                client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except TimeoutError:
                raise InputError(
                    f"The Dask scheduler at {shown} has no workers; start some (dask worker "
                    f"{shown}) or use local:N."
                ) from None
            yield client
