"""Long work (training, big multistarts, landscapes) as jobs: each runs in its own thread,
streams its progress to the page as server-sent events and can be cancelled from it.

A job's function gets its :class:`Job` and passes ``job.progress`` to the library engine as its
``progress`` callback; that callback is where a cancel or the time limit stops the work (the
engines call it between compiled segments, epochs or chunks), so a stopped job never leaves a
result that looks complete: it ends as ``cancelled`` or ``failed`` with no result.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from .._files import finite_json
from ..errors import GradscapeError
from .common import JOB_SECONDS, ApiError

#: Jobs running at once over every tab; one more is refused with HTTP 429.
MAX_RUNNING = 2
#: Finished jobs kept for their results; the oldest go first.
MAX_KEPT = 32


class Cancelled(Exception):
    """Raised inside a job's progress callback when the job is cancelled or out of time."""


@dataclass
class Job:
    """One piece of long work: its events so far, and its end (result, error or cancel)."""

    id: str
    kind: str
    seconds: float = JOB_SECONDS
    started: float = field(default_factory=time.monotonic)
    events: list[dict[str, Any]] = field(default_factory=list)
    last_progress: dict[str, Any] | None = None
    state: str = "running"  # running, done, failed, cancelled
    result: Any = None
    error: str | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    def check(self) -> None:
        """Stop the work here if the job was cancelled or ran out of time."""
        if self.cancel_event.is_set():
            raise Cancelled("cancelled")
        if time.monotonic() - self.started > self.seconds:
            raise Cancelled(f"ran past the job limit of {self.seconds:g} s (JOB_SECONDS)")

    def progress(self, done: int, total: int) -> None:
        """The engines' ``progress(done, total)``: records it (with an ETA) and checks for a
        cancel. Only the latest progress is kept: a fast engine cannot flood the stream."""
        self.check()
        elapsed = time.monotonic() - self.started
        eta = elapsed * (total - done) / done if done > 0 else None
        self.last_progress = {"type": "progress", "done": int(done), "total": int(total),
                              "elapsed": elapsed, "eta": eta}  # fmt: skip

    def emit(self, event: dict[str, Any]) -> None:
        """Send an event to the page (an epoch's numbers, a snapshot ...); checks for a cancel."""
        self.check()
        with self.lock:
            self.events.append(finite_json(event))

    def status(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "error": self.error,
                "progress": self.last_progress, "result": self.result}  # fmt: skip


class Jobs:
    """The server's jobs, shared by every tab."""

    def __init__(self, max_running: int = MAX_RUNNING, seconds: float = JOB_SECONDS) -> None:
        self.max_running = max_running
        self.seconds = seconds
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, work: Callable[[Job], Any]) -> Job:
        """Run ``work(job)`` in a new thread; its return value (JSON-able) is the result.

        Raises:
            ApiError: (429) :data:`MAX_RUNNING` jobs are already running.
        """
        with self._lock:
            running = sum(j.state == "running" for j in self._jobs.values())
            if running >= self.max_running:
                raise ApiError(
                    f"{running} jobs are already running (MAX_RUNNING = {self.max_running}); "
                    "wait for one to finish or cancel it.",
                    429,
                )
            job = Job(id=secrets.token_hex(8), kind=kind, seconds=self.seconds)
            self._jobs[job.id] = job
            done = [j for j in self._jobs.values() if j.state != "running"]
            for old in done[: max(0, len(self._jobs) - MAX_KEPT)]:
                del self._jobs[old.id]
        job.thread = threading.Thread(
            target=self._run, args=(job, work), daemon=True, name=f"job-{kind}"
        )
        job.thread.start()
        return job

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancel every running job and wait for its thread (it stops at its next progress
        check); True when all have ended. A thread left inside XLA at interpreter exit can
        abort the process, so the server waits here before it exits."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.state == "running"]
        for job in running:
            job.cancel_event.set()
        end = time.monotonic() + timeout
        for job in running:
            if job.thread is not None:
                job.thread.join(max(0.0, end - time.monotonic()))
        return not any(j.thread is not None and j.thread.is_alive() for j in running)

    @staticmethod
    def _run(job: Job, work: Callable[[Job], Any]) -> None:
        try:
            result = finite_json(work(job))
        except Cancelled as e:
            job.state, job.error = "cancelled", f"The {job.kind} job was stopped: {e}."
        except GradscapeError as e:
            job.state, job.error = "failed", str(e)
        except Exception as e:  # a job's thread always ends in a state
            job.state, job.error = "failed", f"The {job.kind} job failed: {type(e).__name__}: {e}"
        else:
            job.result, job.state = result, "done"

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(f"No job {job_id[:40]!r}: it never existed or was forgotten.", 404)
        return job


def router(jobs: Jobs) -> APIRouter:
    """``/api/jobs/{id}`` (status and result), its ``/events`` stream and ``DELETE`` (cancel)."""

    r = APIRouter(prefix="/api/jobs", tags=["jobs"])

    @r.get("/{job_id}")
    def job_status(job_id: str) -> dict[str, Any]:
        """The job's state, latest progress and, once done, its result."""
        return jobs.get(job_id).status()

    @r.delete("/{job_id}")
    def cancel_job(job_id: str) -> dict[str, Any]:
        """Cancel a job; it stops at its next progress check (between epochs or chunks)."""
        job = jobs.get(job_id)
        job.cancel_event.set()
        return {"id": job.id, "state": job.state}

    @r.get("/{job_id}/events")
    async def job_events(job_id: str, request: Request) -> StreamingResponse:
        """Server-sent events: ``progress``, the job's own events, then one ``end`` event
        carrying the job's final status (and result)."""
        job = jobs.get(job_id)

        async def stream() -> AsyncIterator[str]:
            sent, shown = 0, None
            while True:
                if await request.is_disconnected():
                    return
                finished = job.state != "running"
                with job.lock:
                    new = job.events[sent:]
                sent += len(new)
                for ev in new:
                    yield f"data: {json.dumps(ev)}\n\n"
                if job.last_progress is not None and job.last_progress is not shown:
                    shown = job.last_progress
                    yield f"data: {json.dumps(finite_json(shown))}\n\n"
                if finished and sent == len(job.events):
                    yield f"data: {json.dumps({'type': 'end', **job.status()})}\n\n"
                    return
                await asyncio.sleep(0.05)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})  # fmt: skip

    return r
