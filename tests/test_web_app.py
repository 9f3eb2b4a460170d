"""The web app's shared parts: the page and its files, plotly.js, uploads, jobs, errors."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from gradscape.web.common import MAX_BODY_BYTES, MAX_UPLOAD_BYTES, MAX_UPLOAD_NAME
from gradscape.web.jobs import Job


def _b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def test_page_and_plotly_are_served_locally(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/vendor/plotly.min.js">' in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and "plotly" in js.text[:2000].lower()
    assert client.get("/static/main.js").status_code == 200
    assert client.get("/api/health").json()["ok"] is True
    assert "/api/uploads" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 404  # its page would load from a CDN


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py",
                                  "/vendor/../app.py", "/etc/passwd"])  # fmt: skip
def test_only_its_own_files_are_served(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "import" not in r.text


def test_upload_is_read_by_the_clis_reader(client: Any) -> None:
    r = client.post(
        "/api/uploads", json={"name": "d.csv", "content_base64": _b64("\ufeffx;y\n1;2\n3;4\n")}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["x", "y"] and body["rows"] == 2 and len(body["token"]) == 16


@pytest.mark.parametrize(
    "name", ["../d.csv", "a/b.csv", "..", "a\\b.csv", "C:x.csv", "x\x00.csv", "", " ",
             "x" * (MAX_UPLOAD_NAME + 1)],
)  # fmt: skip
def test_upload_names_that_escape_are_refused(client: Any, name: str) -> None:
    r = client.post("/api/uploads", json={"name": name, "content_base64": _b64("x,y\n1,2\n")})
    assert 400 <= r.status_code < 500
    assert r.json()["error"]


@pytest.mark.parametrize("name", ["Übung 1.csv", "naïve.csv", "_data.csv", ".hidden.csv"])
def test_ordinary_names_are_taken_and_errors_name_the_users_file(client: Any, name: str) -> None:
    good = client.post("/api/uploads", json={"name": name, "content_base64": _b64("x,y\n1,2\n")})
    assert good.status_code == 200 and good.json()["name"] == name
    bad = client.post("/api/uploads", json={"name": name, "content_base64": _b64("")})
    assert bad.status_code == 400 and repr(name) in bad.json()["error"]
    assert "gradscape-serve" not in bad.text and "uploads" not in bad.text


def test_old_uploads_are_removed_beyond_the_cap(web_app: Any) -> None:
    from gradscape.web.common import ApiError
    from gradscape.web.uploads import MAX_UPLOADS

    uploads = web_app.state.uploads
    first = uploads.add("a.csv", b"x,y\n1,2\n")
    for _ in range(MAX_UPLOADS):
        uploads.add("b.csv", b"x,y\n1,2\n")
    with pytest.raises(ApiError, match="upload it again"):
        uploads.path(first)
    assert len(list(uploads.root.iterdir())) == MAX_UPLOADS


def test_upload_errors_are_one_json_line(client: Any) -> None:
    bad = client.post("/api/uploads", json={"name": "d.csv", "content_base64": "%%%"})
    assert bad.status_code == 400 and "base64" in bad.json()["error"]
    empty = client.post("/api/uploads", json={"name": "d.csv", "content_base64": ""})
    assert empty.status_code == 400 and "empty" in empty.json()["error"].lower()
    binary = client.post(
        "/api/uploads", json={"name": "d.csv", "content_base64": _b64(bytes(range(256)) * 4)}
    )
    assert binary.status_code == 400 and "\n" not in binary.json()["error"]
    big = client.post(
        "/api/uploads",
        json={"name": "d.csv", "content_base64": _b64(b"1," * (MAX_UPLOAD_BYTES // 2 + 1))},
    )
    assert big.status_code == 413 and "MAX_UPLOAD_BYTES" in big.json()["error"]
    missing = client.post("/api/uploads", json={"name": "d.csv"})
    assert missing.status_code == 422 and "content_base64" in missing.json()["error"]
    not_json = client.post(
        "/api/uploads", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["error"]


def test_a_body_beyond_the_cap_is_refused_before_it_is_read(client: Any) -> None:
    r = client.post("/api/uploads", content=b"x", headers={"content-length": str(MAX_BODY_BYTES + 1),
                                                          "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and "MAX_BODY_BYTES" in r.json()["error"]


def _events(client: Any, job_id: str) -> list[dict[str, Any]]:
    with client.stream("GET", f"/api/jobs/{job_id}/events") as r:
        return [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]


def test_a_job_streams_progress_and_its_result(client: Any, web_app: Any) -> None:
    def work(job: Job) -> dict[str, Any]:
        for k in range(1, 4):
            job.emit({"type": "row", "k": k, "value": float("nan")})
            job.progress(k, 3)
        return {"answer": 42}

    job = web_app.state.jobs.start("test", work)
    events = _events(client, job.id)
    assert [e["k"] for e in events if e["type"] == "row"] == [1, 2, 3]
    assert events[0]["value"] is None  # NaN is sent as null: JSON has no NaN
    end = events[-1]
    assert end["type"] == "end" and end["state"] == "done" and end["result"] == {"answer": 42}
    assert client.get(f"/api/jobs/{job.id}").json()["result"] == {"answer": 42}


def test_a_job_is_cancelled_and_leaves_no_result(client: Any, web_app: Any) -> None:
    def work(job: Job) -> dict[str, Any]:
        for k in range(1000):
            time.sleep(0.01)
            job.progress(k + 1, 1000)
        return {"finished": True}

    job = web_app.state.jobs.start("slow", work)
    time.sleep(0.1)
    assert client.delete(f"/api/jobs/{job.id}").status_code == 200
    end = _events(client, job.id)[-1]
    assert end["state"] == "cancelled" and end["result"] is None and "stopped" in end["error"]
    assert client.delete("/api/jobs/nope").status_code == 404


def test_jobs_beyond_the_cap_are_refused(web_app: Any) -> None:
    from gradscape.web.common import ApiError

    jobs = web_app.state.jobs
    hold: list[Job] = []

    def wait(job: Job) -> None:
        hold.append(job)
        while not job.cancel_event.is_set():
            time.sleep(0.01)

    started = [jobs.start("wait", wait) for _ in range(jobs.max_running - jobs_running(jobs))]
    with pytest.raises(ApiError, match="MAX_RUNNING") as e:
        jobs.start("wait", wait)
    assert e.value.status == 429
    for j in started:
        j.cancel_event.set()


def jobs_running(jobs: Any) -> int:
    return sum(j.state == "running" for j in jobs._jobs.values())


def test_serve_refuses_a_busy_port_in_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "gradscape.cli", "serve", "--port", str(port)],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in r.stderr and "--port" in r.stderr


def test_the_page_loads_in_a_real_browser(page: Any) -> None:
    page.goto(page.base + "/")
    page.wait_for_function("typeof Plotly !== 'undefined'")
    assert page.locator("#tabs a").count() == 5
    page.click("#tabs a[data-view=training]")
    page.wait_for_selector("#view-training", state="visible")  # its module mounts it
    assert "view=training" in page.url
    assert page.locator("#view-story").is_hidden()


def test_a_long_job_does_not_block_small_requests(client: Any) -> None:
    """One tab trains (a job in its own thread); another tab's small requests are answered
    while that job is still running."""
    body = {"dataset": "moons", "epochs": 5000, "patience": None, "batch_size": 8}
    job = client.post("/api/training/train", json=body).json()["job"]
    try:
        for _ in range(3):
            assert (
                client.post(
                    "/api/story/point", json={"data": "builtin", "m": 1.0, "c": 2.0}
                ).status_code
                == 200
            )
            at = {"source": "x^2 + y^2", "at": {"x": 1.0, "y": 2.0}}
            assert client.post("/api/explorer/point", json=at).json()["gradient"] == {
                "x": 2.0,
                "y": 4.0,
            }
        assert client.get(f"/api/jobs/{job}").json()["state"] == "running"
    finally:
        client.delete(f"/api/jobs/{job}")


def test_a_body_beyond_the_cap_without_a_length_is_refused(client: Any) -> None:
    """A chunked body (no Content-Length) is counted as it arrives."""

    def chunks() -> Any:
        for _ in range(MAX_BODY_BYTES // 2**20 + 2):
            yield b" " * 2**20

    r = client.post("/api/uploads", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "MAX_BODY_BYTES" in r.json()["error"]


def test_every_answer_says_the_servers_time(client: Any) -> None:
    took = client.get("/api/health").headers["server-timing"]
    assert took.startswith("app;dur=") and float(took.split("=")[1]) >= 0


def test_ctrl_c_stops_the_server_cleanly_while_a_job_runs(tmp_path: Any) -> None:
    """SIGINT while training: the job is cancelled, the process ends at once with status 0,
    no traceback and no abort, and its temporary folder is gone."""
    import os
    import signal
    import urllib.request

    env = {**os.environ, "TMPDIR": str(tmp_path), "GRADSCAPE_CACHE_DIR": ""}
    proc = subprocess.Popen([sys.executable, "-m", "gradscape.cli", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        url = "http://" + proc.stdout.readline().split("http://", 1)[1].split("/", 1)[0]
        req = urllib.request.Request(
            url + "/api/training/train", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"dataset": "moons", "epochs": 5000, "patience": None}).encode(),
        )  # fmt: skip
        job = json.load(urllib.request.urlopen(req, timeout=60))["job"]
        for _ in range(600):  # until it is training (its first epochs are done)
            status = json.load(urllib.request.urlopen(f"{url}/api/jobs/{job}", timeout=60))
            if status["progress"] is not None:
                break
            time.sleep(0.1)
        assert status["state"] == "running"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err and "terminate" not in err
    assert not list(tmp_path.glob("gradscape-serve-*"))
