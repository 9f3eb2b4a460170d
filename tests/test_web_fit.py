"""The fit view: its API against ``gs.fit`` called directly and NIST's certified values, an
uploaded file, every bad input (one line each), cancel, and the page in a real browser."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from conftest import screenshot
from gradscape.fitting import nist
from gradscape.web.fitting import MAX_FIT_STARTS, MAX_SURFACE_POINTS

MISRA = nist.problem("Misra1a")


def _events(client: Any, job_id: str) -> list[dict[str, Any]]:
    with client.stream("GET", f"/api/jobs/{job_id}/events") as r:
        return [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]


def _fit(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/fit/fit", json=body)
    assert r.status_code == 200, r.text
    end = _events(client, r.json()["job"])[-1]
    assert end["state"] == "done", end
    return end["result"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def misra(client: Any) -> dict[str, Any]:
    return _fit(client, {"example": "Misra1a", "model": MISRA.model, "start": MISRA.starts[0]})


@pytest.fixture(scope="module")
def direct() -> Any:
    return gs.fit(MISRA.model, MISRA.data, start=MISRA.starts[0])


# -- the API ---------------------------------------------------------------------------------------
def test_examples_are_the_nist_problems_with_their_certified_values(client: Any) -> None:
    body = client.get("/api/fit/examples").json()
    got = {x["name"]: x for x in body["examples"]}
    assert list(got) == list(nist.NAMES)
    m = got["Misra1a"]
    assert m["model"] == MISRA.model and m["n"] == 14 and m["starts"] == list(MISRA.starts)
    assert m["certified"] == MISRA.certified and m["certified_sse"] == MISRA.certified_sse
    assert body["caps"]["starts"] == MAX_FIT_STARTS


def test_misra1a_through_the_api_is_gs_fit_and_the_certified_values(
    misra: dict[str, Any], direct: Any
) -> None:
    s = misra["summary"]
    assert s["verdict"] == direct.verdict == "converged" and s["data"] == "NIST Misra1a"
    est = {p["name"]: p["estimate"] for p in s["parameters"]}
    se = {p["name"]: p["se"] for p in s["parameters"]}
    for j, b in enumerate(direct.parameters):
        assert est[b] == pytest.approx(direct.estimates[j], rel=1e-12)
        assert se[b] == pytest.approx(direct.se[j], rel=1e-12)
        assert nist.digits(est[b], MISRA.certified[b]) >= 6
        assert nist.digits(se[b], MISRA.certified_se[b]) >= 4
        assert misra["certified"]["parameters"][b]["digits"] >= 6
    assert s["sse"] == pytest.approx(MISRA.certified_sse, rel=1e-6)
    np.testing.assert_allclose(misra["path"], direct.path, rtol=1e-12)
    np.testing.assert_allclose(misra["fitted"], direct.fitted, rtol=1e-12)
    np.testing.assert_allclose(misra["band_conf"], direct.band_conf, rtol=1e-9)
    assert [st["sse"] for st in s["steps"]] == pytest.approx(list(direct.path_sse), rel=1e-12)
    surf = misra["surface"]
    assert (surf["x_name"], surf["y_name"]) == ("b1", "b2")
    np.testing.assert_allclose(surf["path_x"], direct.path[:, 0], rtol=1e-12)
    # the surface's values are the SSE itself (checked at one grid point with NumPy)
    i, k = 7, 11
    b1, b2 = surf["x"][k], surf["y"][i]
    x, y = MISRA.data["x"], MISRA.data["y"]
    assert surf["sse"][i][k] == pytest.approx(
        np.sum((y - b1 * (1 - np.exp(-b2 * x))) ** 2), rel=1e-9
    )


def test_an_uploaded_csv_fits_as_the_file_itself(client: Any, tmp_path: Path) -> None:
    path = MISRA.write_csv(tmp_path / "misra.csv")
    up = client.post("/api/uploads", json={"name": "my misra.csv",
                                           "content_base64": base64.b64encode(path.read_bytes()).decode()})  # fmt: skip
    assert up.status_code == 200, up.text
    res = _fit(client, {"upload": up.json()["token"], "model": MISRA.model,
                        "start": MISRA.starts[1], "intervals": False, "pair": ["b2", "b1"]})  # fmt: skip
    want = gs.fit(MISRA.model, path, start=MISRA.starts[1], intervals=False)
    s = res["summary"]
    assert s["data"] == "my misra.csv" and res["certified"] is None
    assert [p["estimate"] for p in s["parameters"]] == pytest.approx(
        list(want.estimates), rel=1e-12
    )
    assert res["surface"]["x_name"] == "b2" and res["profile_values"] == []


def test_one_parameter_and_another_model_on_nist_data(client: Any) -> None:
    """No surface with one parameter; NIST's certified values only beside NIST's own model."""
    res = _fit(client, {"example": "Misra1a", "model": "y = b1*x", "intervals": False})
    want = gs.fit("y = b1*x", MISRA.data, intervals=False)
    assert res["surface"] is None and res["certified"] is None
    assert res["summary"]["parameters"][0]["estimate"] == pytest.approx(
        want.estimates[0], rel=1e-12
    )
    assert res["summary"]["notes"] == list(want.notes)


def test_another_pair_of_a_finished_fit(client: Any, misra: dict[str, Any]) -> None:
    r = client.post("/api/fit/surface", json={"fit": misra["fit"], "x": "b2", "y": "b1",
                                              "points": 11})  # fmt: skip
    assert r.status_code == 200, r.text
    s = r.json()
    assert len(s["x"]) == 11 and len(s["sse"]) == 11 and s["path_x"] == misra["surface"]["path_y"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"model": "y = b1*(1 - exp(-b2*x)"}, 400, r"is never closed"),
        ({"model": "z = b1*x"}, 400, r"^the left side must use columns only; 'z' is not a column"),
        ({"model": "y = b1*x", "weights": "w"}, 400, r"^Column 'w' for weights is not in Misra1a.dat"),
        ({"model": "y = b1*x", "start": {"q": 1}}, 400, r"^start names q, not a parameter of the model"),
        ({"model": "y = b1*x", "bounds": {"b1": [2, 1]}}, 400, r"^bounds for b1 must have low < high"),
        ({"model": "y = b1*x", "starts": MAX_FIT_STARTS + 1}, 400,
         rf"^starts must be a whole number from 1 to 20,000 \(MAX_FIT_STARTS\); got {MAX_FIT_STARTS + 1}"),
        ({"model": "y = b1*x", "points": MAX_SURFACE_POINTS + 1}, 400,
         r"^points must be a whole number from 2 to 101 \(MAX_SURFACE_POINTS\)"),
        ({"model": "y = b1*x + b2", "pair": ["b1", "c"]}, 400, r"^'c' is not a parameter of the model"),
        ({"model": "y = " + "x*" * 1100 + "b1"}, 400, r"^The model is 2,206 characters; the page takes at most 2,000 \(MAX_MODEL_CHARS\)"),
        ({"model": "y = b1*x", "example": "../etc/passwd"}, 400, r"^Unknown example '\.\./etc/passwd'; the NIST problems are Misra1a"),
        ({"model": "y = b1*x", "upload": "0123456789abcdef"}, 404, r"^No uploaded file '0123456789abcdef': upload it again"),
    ],
)  # fmt: skip
def test_bad_requests_are_answered_in_one_line(
    client: Any, body: dict[str, Any], status: int, message: str
) -> None:
    r = client.post("/api/fit/fit", json={"example": "Misra1a", **body})
    assert r.status_code == status, r.text
    e = r.json()
    assert re.search(message, e["error"]) and "\n" not in e["error"]


def test_an_unreadable_model_says_its_column(client: Any) -> None:
    e = client.post(
        "/api/fit/fit", json={"example": "Misra1a", "model": "y = b1*(1 - exp(-b2*x)"}
    ).json()
    assert e["expression"] == "y = b1*(1 - exp(-b2*x)" and e["column"] == 8


def test_an_unknown_fit_or_a_surface_cap(client: Any, misra: dict[str, Any]) -> None:
    r = client.post("/api/fit/surface", json={"fit": "nope", "x": "b1", "y": "b2"})
    assert r.status_code == 404 and r.json()["error"].startswith("No fit 'nope': it never finished")
    r = client.post("/api/fit/surface", json={"fit": misra["fit"], "x": "b1", "y": "b1"})
    assert r.json()["error"] == "A pair needs two different parameters; got 'b1' twice."
    r = client.post(
        "/api/fit/surface", json={"fit": misra["fit"], "x": "b1", "y": "b2", "points": 500}
    )
    assert r.status_code == 400 and "(MAX_SURFACE_POINTS); got 500" in r.json()["error"]


def test_a_cancelled_fit_leaves_no_result(client: Any) -> None:
    body = {"example": "Misra1a", "model": MISRA.model, "bounds": {"b1": [0, 1000], "b2": [0, 0.01]},
            "starts": MAX_FIT_STARTS, "start": {"b1": 500, "b2": 1e-3}}  # fmt: skip
    r = client.post("/api/fit/fit", json=body)
    assert r.status_code == 200, r.text
    job = r.json()["job"]
    assert client.delete(f"/api/jobs/{job}").status_code == 200
    end = _events(client, job)[-1]
    assert end["state"] == "cancelled" and end["result"] is None
    assert end["error"] == "The fit job was stopped: cancelled."
    r = client.post("/api/fit/surface", json={"fit": job, "x": "b1", "y": "b2"})
    assert r.status_code == 404


# -- the page --------------------------------------------------------------------------------------
def _open(page: Any, query: str = "view=fit") -> None:
    page.goto(f"{page.base}/?{query}")
    page.wait_for_selector("#g-model")


def _fit_on_page(page: Any) -> None:
    page.click("#g-fit")
    page.wait_for_selector("#g-params tbody tr", timeout=60_000)


def test_page_fits_misra1a_and_shows_the_apis_numbers(page: Any, misra: dict[str, Any]) -> None:
    _open(page)
    page.select_option("#g-data", "Misra1a")
    assert page.input_value("#g-model") == MISRA.model
    _fit_on_page(page)
    assert page.text_content("#g-verdict .g-word") == "✔ converged"
    shown = page.eval_on_selector_all(
        "#g-params .g-est", "els => els.map(e => Number(e.dataset.value))"
    )
    assert shown == [p["estimate"] for p in misra["summary"]["parameters"]]
    assert "238.942129" in page.inner_text("#g-params")  # the estimate to 9 digits, as NIST
    # the path plays to its end on the contour: the drawn path grows by one point a frame
    n = len(misra["path"])
    script = "() => document.getElementById('g-contour').data.slice(1, 3).map(t => t.x.length)"

    def lengths() -> Any:
        return page.evaluate(script)

    assert lengths() == [n, 1]
    page.fill("#g-frame", str(n - 4))
    page.dispatch_event("#g-frame", "input")
    assert lengths() == [n - 3, 1]
    assert page.inner_text("#g-steps tr.current td") == str(n - 4)
    page.click("#g-play")  # three frames to the end
    page.wait_for_function(
        f"() => document.getElementById('g-contour').data[1].x.length === {n}", timeout=20_000
    )
    assert page.inner_text("#g-frame-label") == f"step {n - 1} of {n - 1}"
    screenshot(page, "fit-misra1a")
    # the URL reproduces the view: the same model, the fit done again, the pair kept
    page.select_option("#g-x", "b2")
    page.wait_for_function(
        "() => document.getElementById('g-contour').layout.xaxis.title.text === 'b2'"
    )
    url = page.url
    assert "g_fit=1" in url and "g_x=b2" in url
    page.goto(url)
    page.wait_for_selector("#g-params tbody tr", timeout=60_000)
    assert page.input_value("#g-model") == MISRA.model
    assert page.input_value("#g-x") == "b2" and page.input_value("#g-y") == "b1"
    again = page.eval_on_selector_all(
        "#g-params .g-est", "els => els.map(e => Number(e.dataset.value))"
    )
    assert again == shown


def test_page_shows_the_caret_under_an_unreadable_model(page: Any, tmp_path: Path) -> None:
    _open(page, "view=fit&g_data=Misra1a")
    page.select_option("#g-data", "upload")  # an uploaded file, read by the CLI's reader
    page.set_input_files("#g-file", str(MISRA.write_csv(tmp_path / "mine.csv")))
    page.wait_for_function(
        "() => document.getElementById('g-facts').textContent.startsWith('mine.csv: 14 rows')"
    )
    assert "g_upload=" in page.url
    page.fill("#g-model", "y = b1*(1 - exp(-b2*x)")
    page.click("#g-fit")
    caret = page.wait_for_selector("#g-error pre.caret")
    text = caret.inner_text().split("\n")
    assert text[0] == "y = b1*(1 - exp(-b2*x)" and text[1] == " " * 7 + "^"
    assert "never closed" in page.inner_text("#g-error .msg")
    screenshot(page, "fit-caret")


def test_page_at_1024_wide_cuts_nothing_off(page: Any, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1024, "height": 800})
    _open(page, "view=fit&g_data=Chwirut2&g_fit=1")
    page.wait_for_selector("#g-params tbody tr", timeout=60_000)
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 1024
    box = page.eval_on_selector(".g-table-box", "e => [e.scrollWidth, e.clientWidth]")
    assert box[0] <= box[1]  # every column of the parameter table in view
    assert page.eval_on_selector_all("#g-profiles .g-profile", "els => els.length") == 3
    screenshot(page, "fit-chwirut2-1024")
    # "Save as report" freezes the view: its words and its figures
    with page.expect_download() as info:
        page.click("#save-report")
    saved = tmp_path / "fit.html"
    info.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert info.value.suggested_filename == "gradscape-fit.html"
    assert "Profile of b3" in html and "NIST Chwirut2" in html and "0.166576665" in html
