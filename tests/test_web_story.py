"""The story view: the classic line fit in weight space, its API and its page."""

from __future__ import annotations

import base64
import json
import math
import time
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from conftest import screenshot
from gradscape.descent import update_rules
from gradscape.line_model import LineStats, line_point
from gradscape.tours import descend_line
from gradscape.web.common import MAX_GRID, MAX_STEPS
from gradscape.web.story import MAX_LR, MAX_WEIGHT

JSON = {"Content-Type": "application/json"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _upload(client: Any, text: str, name: str = "d.csv") -> str:
    r = client.post("/api/uploads", json={"name": name, "content_base64": _b64(text)})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def _sse(data: gs.Dataset, m: float, c: float) -> tuple[float, float, float]:
    """SSE and both partials summed over the data directly: the independent truth."""
    r = data.y - (m * data.x + c)
    return float(r @ r), float(-2 * data.x @ r), float(-2 * r.sum())


@pytest.fixture(scope="module")
def line() -> gs.Dataset:
    return gs.synthetic_line()


# -- the library additions ---------------------------------------------------------------------
@pytest.mark.parametrize("m, c", [(0.0, 0.0), (1.0, 2.0), (-3.5, 40.0), (2.0069867, 8.0295852)])
def test_line_point_matches_the_sums(line: gs.Dataset, m: float, c: float) -> None:
    p = line_point(LineStats.of(line), m, c)
    sse, dm, dc = _sse(line, m, c)
    assert p.sse == pytest.approx(sse, rel=1e-12, abs=1e-9)
    assert p.d_m == pytest.approx(dm, rel=1e-10, abs=1e-8)
    assert p.d_c == pytest.approx(dc, rel=1e-10, abs=1e-8)
    # finite differences agree with the partials
    h = 1e-6
    assert (line_point(LineStats.of(line), m + h, c).sse - line_point(LineStats.of(line), m - h, c).sse) / (2 * h) == pytest.approx(dm, rel=1e-6, abs=1e-4)  # fmt: skip
    assert p.equations["d_m"].startswith("∂SSE/∂m = −2 Σᵢ xᵢ·(yᵢ − (m·xᵢ + c))")
    assert p.equations["d_c"].endswith(f"= {dc:.6g}")


def test_line_point_refuses_an_overflowing_point(line: gs.Dataset) -> None:
    with pytest.raises(gs.GradscapeError, match="beyond float64's range"):
        line_point(LineStats.of(line), 1e200, 0.0)


def test_update_rules_write_each_step_in_numbers(line: gs.Dataset) -> None:
    t = descend_line(
        LineStats.of(line), (0.0, 0.0), lr=1e-4, steps=20, head=5, max_records=5
    ).trajectory
    rules = update_rules(t, "SSE")
    assert len(rules) == len(t.steps) and rules[-1] is None
    first = rules[0]
    assert first is not None
    new_m = 0.0 - 1e-4 * t.gradients[0, 0]
    assert (
        first["m"] == f"m_new = m − η·∂SSE/∂m = 0 − 0.0001·({t.gradients[0, 0]:.6g}) = {new_m:.6g}"
    )
    assert t.params[1, 0] == pytest.approx(new_m, rel=1e-14)  # the rule is the step the engine took
    assert list(t.steps[:5]) == [0, 1, 2, 3, 4] and len(t.steps) < 21  # head rows, then a stride


# -- the API -------------------------------------------------------------------------------------
def test_data_gives_the_closed_form_and_the_stable_rate(client: Any, line: gs.Dataset) -> None:
    r = client.post("/api/story/data", json={})
    assert r.status_code == 200, r.text
    d = r.json()
    m, c = np.polyfit(line.x, line.y, 1)
    assert d["closed_form"]["m"] == pytest.approx(m, rel=1e-12)
    assert d["closed_form"]["c"] == pytest.approx(c, rel=1e-12)
    assert d["closed_form"]["sse"] == pytest.approx(_sse(line, m, c)[0], rel=1e-10)
    assert d["n"] == 50 and d["x"] == pytest.approx(line.x.tolist()) and d["name"] == line.name
    hess = 2 * np.array([[line.x @ line.x, line.x.sum()], [line.x.sum(), line.n]])
    lam = np.linalg.eigvalsh(hess)
    assert d["lr"]["max_stable"] == pytest.approx(2 / lam[-1], rel=1e-10)
    assert d["lr"]["suggested"] == pytest.approx(1 / lam[-1], rel=1e-10)
    lo, hi = d["ranges"]["m"]
    assert lo < m < hi


def test_point_gives_sse_and_partials_with_numbers(client: Any, line: gs.Dataset) -> None:
    r = client.post("/api/story/point", json={"m": 1.5, "c": -2.0, "profiles": 21})
    assert r.status_code == 200, r.text
    p = r.json()
    sse, dm, dc = _sse(line, 1.5, -2.0)
    assert (p["sse"], p["d_m"], p["d_c"]) == pytest.approx((sse, dm, dc), rel=1e-10)
    assert p["equations"]["sse"].endswith(f"= {sse:.6g}")
    prof = p["profiles"]["m"]
    assert len(prof["axis"]) == 21 and prof["held"] == {"c": -2.0}
    assert prof["values"][7] == pytest.approx(_sse(line, prof["axis"][7], -2.0)[0], rel=1e-10)
    # the lowest point along m with c held: ∂SSE/∂m = 0 → m = (Σxy − cΣx)/Σx²
    best = (line.x @ line.y + 2.0 * line.x.sum()) / (line.x @ line.x)
    assert prof["minimum"]["point"]["m"] == pytest.approx(best, rel=1e-9)
    q = client.post("/api/story/profiles", json={"m": 1.5, "c": -2.0}).json()
    assert len(q["c"]["axis"]) == 101 and q["c"]["held"] == {"m": 1.5}
    assert q["point"] == {"m": 1.5, "c": -2.0, "sse": pytest.approx(sse, rel=1e-12)}


def test_point_is_fast(client: Any) -> None:
    client.post("/api/story/point", json={"m": 0, "c": 0})
    times = []
    for i in range(60):
        t0 = time.perf_counter()
        r = client.post("/api/story/point", json={"m": 0.01 * i, "c": 1.0})
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200
    # the in-process round trip (server work plus the test client's own overhead)
    assert float(np.median(times)) < 0.010, f"median {np.median(times) * 1e3:.2f} ms"


def test_surface_is_the_sse_on_the_grid(client: Any, line: gs.Dataset) -> None:
    r = client.post("/api/story/surface", json={"grid": 31, "m_range": [0, 4], "c_range": [-5, 15]})
    assert r.status_code == 200, r.text
    s = r.json()
    assert len(s["m"]) == 31 and len(s["sse"]) == 31 and s["m"][0] == 0 and s["c"][-1] == 15
    assert s["sse"][4][9] == pytest.approx(_sse(line, s["m"][9], s["c"][4])[0], rel=1e-10)
    m, c = np.polyfit(line.x, line.y, 1)
    assert s["minimum"]["point"]["m"] == pytest.approx(m, rel=1e-9)
    assert s["minimum"]["point"]["c"] == pytest.approx(c, rel=1e-9)


def test_descend_reaches_the_closed_form(client: Any, line: gs.Dataset) -> None:
    r = client.post("/api/story/descend", json={"m": 0, "c": 0, "steps": 6000})
    assert r.status_code == 200, r.text
    d = r.json()
    m, c = np.polyfit(line.x, line.y, 1)
    assert d["stop_reason"] == "converged" and d["reached"] and not d["warnings"]
    assert d["final"]["m"] == pytest.approx(m, rel=1e-8)
    assert d["final"]["c"] == pytest.approx(c, rel=1e-8)
    assert d["lr_reason"].startswith("lr = 1/λmax")
    # row 1 is one step of the update rule from row 0, both weights
    lr = d["lr"]
    assert d["m"][1] == pytest.approx(0 - lr * d["d_m"][0], rel=1e-12)
    assert d["c"][1] == pytest.approx(0 - lr * d["d_c"][0], rel=1e-12)
    assert d["d_m"][0] == pytest.approx(_sse(line, 0, 0)[1], rel=1e-10)
    assert d["rules"][0]["c"].startswith("c_new = c − η·∂SSE/∂c = 0 − ")
    assert d["rules"][-1] is None and d["shown"] == len(d["steps"])
    assert len(d["steps"]) < 1000  # the history sent to the page is bounded


def test_descend_above_two_over_lambda_max_diverges(client: Any) -> None:
    stable = client.post("/api/story/data", json={}).json()["lr"]["max_stable"]
    d = client.post(
        "/api/story/descend", json={"m": 0, "c": 0, "lr": 1.1 * stable, "steps": 2000}
    ).json()
    assert d["diverged"] and d["stop_reason"] in ("grew", "diverged")
    assert "2/λmax" in d["warnings"][0] and "does not converge" in d["warnings"][0]
    assert "expect divergence" in d["lr_reason"]
    assert d["shown"] <= len(d["steps"])
    below = client.post("/api/story/descend", json={"lr": 0.9 * stable, "steps": 20000}).json()
    assert below["stop_reason"] == "converged" and not below["warnings"]


def test_uploaded_csv_is_read_as_the_tour_reads_it(client: Any, tmp_path: Any) -> None:
    text = "id,height,weight,age\n1,1.5,50,30\n2,1.6,56,31\n3,1.7,63,29\n4,1.8,71,40\n5,1.9,80,35\n"
    token = _upload(client, text)
    d = client.post("/api/story/data", json={"data": token}).json()
    path = tmp_path / "d.csv"
    path.write_text(text)
    ref = gs.load_csv(path)
    assert (d["x_label"], d["y_label"]) == (ref.x_label, ref.y_label) == ("height", "weight")
    assert d["notes"] == list(ref.notes) and "skipped 'id'" in d["notes"][0]
    m, c = np.polyfit(ref.x, ref.y, 1)
    assert (d["closed_form"]["m"], d["closed_form"]["c"]) == pytest.approx((m, c), rel=1e-10)
    e = client.post("/api/story/data", json={"data": token, "x": "age", "y": "weight"}).json()
    assert e["x_label"] == "age"
    p = client.post("/api/story/point", json={"data": token, "m": 1, "c": 2}).json()
    assert p["sse"] == pytest.approx(_sse(ref, 1, 2)[0], rel=1e-12)


@pytest.mark.parametrize(
    "text, message",
    [
        ("x,y\n1,2\n2,abc\n3,4\n", "Row 3, column 'y' of d.csv is not a number: 'abc'"),
        ("x,y\n1,2\n", "at least 2"),
        ("x,y\n1,2\n1,3\n1,4\n", "All x values are equal"),
        ("name,label\na,b\nc,d\n", "no numeric column"),
    ],
)  # fmt: skip
def test_a_bad_csv_gives_the_tours_error(
    client: Any, tmp_path: Any, text: str, message: str
) -> None:
    token = _upload(client, text)
    r = client.post("/api/story/data", json={"data": token})
    assert r.status_code == 400
    err = r.json()["error"]
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(gs.GradscapeError) as exc:
        gs.load_csv(path)
    assert err == str(exc.value)  # the very message `gradscape tour --data` prints
    assert message in err


def _post(client: Any, path: str, body: Any) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"/api/story/{path}", content=raw, headers=JSON)


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        ("data", {"data": "0123456789abcdef"}, 404, "No uploaded file '0123456789abcdef': upload it again."),
        ("data", {"data": "../../etc/passwd"}, 404, "No uploaded file '../../etc/passwd'"),
        ("data", {"data": "x" * 41}, 422, "data: String should have at most 40 characters"),
        ("point", '{"m": NaN, "c": 0}', 400, f"m must be a number from −{MAX_WEIGHT:g} to {MAX_WEIGHT:g} (MAX_WEIGHT); got nan."),
        ("point", '{"m": 0, "c": 1e999}', 400, "c must be a number from −1e+100 to 1e+100 (MAX_WEIGHT); got inf."),
        ("point", {"m": 1e101, "c": 0}, 400, "(MAX_WEIGHT); got 1e+101."),
        ("point", {"m": "abc", "c": 0}, 422, "m: Input should be a valid number"),
        ("point", {"c": 0}, 422, "m: Field required"),
        ("point", {"m": 0, "c": 0, "profiles": 1}, 400, f"profiles (points) must be a whole number from 2 to {MAX_GRID} (MAX_GRID); got 1."),
        ("profiles", {"m": 0, "c": 0, "profiles": MAX_GRID + 1}, 400, "(MAX_GRID)"),
        ("surface", {"grid": MAX_GRID + 1}, 400, f"grid must be a whole number from 2 to {MAX_GRID} (MAX_GRID); got {MAX_GRID + 1}."),
        ("surface", {"grid": 1}, 400, "grid must be a whole number from 2"),
        ("surface", {"m_range": [2, 1]}, 400, "Range of m must have low < high"),
        ("surface", {"c_range": [0, 1e300]}, 400, "c_range must be a number from −1e+100 to 1e+100 (MAX_WEIGHT)"),
        ("surface", {"m_range": [1]}, 422, "m_range"),
        ("descend", {"lr": 0}, 400, f"lr must be a number > 0 and at most {MAX_LR:g} (MAX_LR); got 0.0."),
        ("descend", {"lr": -0.1}, 400, "lr must be a number > 0"),
        ("descend", '{"lr": Infinity}', 400, "(MAX_LR); got inf."),
        ("descend", {"steps": 0}, 400, f"steps must be a whole number from 1 to {MAX_STEPS:,} (MAX_STEPS); got 0."),
        ("descend", {"steps": MAX_STEPS + 1}, 400, "(MAX_STEPS)"),
        ("descend", {"steps": 2.5}, 422, "steps: Input should be a valid integer"),
        ("descend", "not json", 422, "not valid JSON"),
    ],
)  # fmt: skip
def test_bad_input_is_a_one_line_4xx(
    client: Any, path: str, body: Any, status: int, message: str
) -> None:
    r = _post(client, path, body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert message in err and "\n" not in err


def test_huge_but_allowed_numbers_are_not_a_500(client: Any) -> None:
    r = _post(client, "descend", {"m": 1e100, "c": 0, "lr": 1e-4, "steps": 50})
    assert r.status_code == 200 and r.json()["stop_reason"] in ("max_steps", "grew", "diverged")
    r = _post(client, "descend", {"lr": 1e100, "steps": 10})
    assert r.status_code == 200 and r.json()["diverged"]
    r = _post(client, "point", {"m": 1e100, "c": -1e100})
    assert r.status_code == 200 and math.isfinite(r.json()["sse"])


# -- the page ------------------------------------------------------------------------------------
def _open(page: Any, query: str = "") -> None:
    page.goto(f"{page.base}/?view=story{query}")
    page.wait_for_function("document.querySelector('#s-point')?.dataset.sse !== undefined")
    page.wait_for_function("document.querySelector('#s-profile-c')?.data?.length > 0")


def _to_pixels(page: Any, m: float, c: float) -> tuple[float, float]:
    """Where the weights (m, c) are on the screen, by the contour plot's own axes."""
    xy = page.evaluate(
        """([m, c]) => { const d = document.getElementById('s-contours'), fl = d._fullLayout;
        const bb = d.getBoundingClientRect();
        return [bb.left + fl.xaxis._offset + fl.xaxis.l2p(m), bb.top + fl.yaxis._offset + fl.yaxis.l2p(c)]; }""",
        [m, c],
    )
    return float(xy[0]), float(xy[1])


def _shown(page: Any) -> dict[str, float]:
    return {k: float(v) for k, v in page.evaluate(
        "() => ({...document.getElementById('s-point').dataset})").items()}  # fmt: skip


def _part(page: Any, plot: str, name: str) -> dict[str, float]:
    """The numbers behind a part of a plot's overlay (the line, the point, the path)."""
    got = page.evaluate(
        "([p, n]) => ({...document.querySelector(`#${p} [data-part=${n}]`).dataset})", [plot, name]
    )
    return {k: float(v) for k, v in got.items() if k != "part"}


def test_drag_in_weight_space_moves_the_line_and_the_error(page: Any, line: gs.Dataset) -> None:
    _open(page)
    screenshot(page, "story-start")
    m_star, c_star = np.polyfit(line.x, line.y, 1)
    sse_star = _sse(line, m_star, c_star)[0]
    x0, y0 = _to_pixels(page, 0.0, 0.0)
    x1, y1 = _to_pixels(page, m_star, c_star)
    flight = {"now": 0, "most": 0, "sent": 0}

    def sent(req: Any) -> None:
        if req.url.endswith("/api/story/point"):
            flight["now"] += 1
            flight["sent"] += 1
            flight["most"] = max(flight["most"], flight["now"])

    def done(req: Any) -> None:
        if req.url.endswith("/api/story/point"):
            flight["now"] -= 1

    page.on("request", sent)
    page.on("requestfinished", done)
    page.on("requestfailed", done)
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 31):
        page.mouse.move(x0 + (x1 - x0) * k / 30, y0 + (y1 - y0) * k / 30)
    page.mouse.up()
    page.wait_for_function(
        f"Math.abs(Number(document.getElementById('s-point').dataset.sse) - {sse_star}) < 0.02 * {sse_star}"
    )
    assert flight["most"] == 1 and flight["sent"] >= 2  # one request in flight, the latest wins
    shown = _shown(page)
    sse, dm, dc = _sse(line, shown["m"], shown["c"])
    assert shown["sse"] == pytest.approx(sse, rel=1e-9)  # the error shown is the point's
    assert (shown["d_m"], shown["d_c"]) == pytest.approx((dm, dc), rel=1e-8, abs=1e-8)
    assert abs(shown["m"] - m_star) < 0.05 and abs(shown["c"] - c_star) < 0.5
    assert page.locator("#s-dm").inner_text().startswith("∂SSE/∂m = ")
    # the line drawn is y = m·x + c at the point dragged to
    drawn = _part(page, "s-data-plot", "line")
    for end in "01":
        y = shown["m"] * drawn[f"x{end}"] + shown["c"]
        assert drawn[f"y{end}"] == pytest.approx(y, rel=1e-9)
    dot = _part(page, "s-contours", "point")
    assert (dot["m"], dot["c"]) == (shown["m"], shown["c"])
    assert float(
        page.evaluate("() => new URL(location.href).searchParams.get('s_m')")
    ) == pytest.approx(shown["m"], rel=1e-6)
    screenshot(page, "story-dragged")
    # at the closed-form minimum the page shows SSE* and both partials zero
    page.click("#s-best")
    page.wait_for_function(
        f"Math.abs(Number(document.getElementById('s-point').dataset.sse) - {sse_star}) < 1e-9 * {sse_star}"
    )
    assert page.locator("#s-sse").inner_text() == f"SSE = {float(f'{sse_star:.6g}'):g}"
    for sel in ("#s-dm", "#s-dc"):
        assert abs(float(page.locator(sel).inner_text().split("= ")[1])) < 1e-6


def test_descend_draws_the_path_to_the_best_fit_and_diverges_above_two_over_lambda(
    page: Any, client: Any, line: gs.Dataset
) -> None:
    _open(page, "&s_m=0&s_c=0&s_steps=4000")
    page.click("#s-descend")
    api = client.post("/api/story/descend", json={"m": 0, "c": 0, "steps": 4000}).json()
    page.wait_for_function(  # the animation has reached the last step
        f"document.querySelector('#s-contours [data-part=path]')?.dataset.n === '{api['shown']}'",
        timeout=30_000,
    )
    path = _part(page, "s-contours", "path")
    assert path["n"] == api["shown"] > 100  # the whole path drawn, on the contours
    assert (path["m"], path["c"]) == (api["final"]["m"], api["final"]["c"])
    m_star, c_star = np.polyfit(line.x, line.y, 1)
    assert (path["m"], path["c"]) == pytest.approx((m_star, c_star), rel=1e-6)
    path3d = page.evaluate("() => document.getElementById('s-surface3d').data[1]")
    assert len(path3d["x"]) == api["shown"]
    assert page.locator("#s-stop-reason").inner_text().startswith("converged after")
    assert (
        "m_new = m − η·∂SSE/∂m" not in page.locator("#s-rules").inner_text()
    )  # the last row: no step
    page.locator("#s-scrub").fill("1")
    rules = page.locator("#s-rules").inner_text()
    assert api["rules"][1]["m"] in rules and api["rules"][1]["c"] in rules
    screenshot(page, "story-descended")

    # a learning rate above 2/λmax: the library's stop reason and warning appear
    stable = api["max_stable_lr"]
    page.evaluate(
        "(v) => { const s = document.getElementById('s-lr'); s.value = String(Math.log10(v));"
        " s.dispatchEvent(new Event('input')); }", 1.2 * stable,
    )  # fmt: skip
    assert "above: descent diverges" in page.locator("#s-lr-value").inner_text()
    page.click("#s-descend")
    page.wait_for_function(
        "/^(grew|diverged) /.test(document.getElementById('s-stop-reason')?.textContent || '')"
    )
    assert "2/λmax" in page.locator("#s-stop .warning").first.inner_text()
    page.wait_for_function(
        "/· (grew|diverged)$/.test(document.getElementById('s-scrub-label').textContent)",
        timeout=30_000,
    )
    screenshot(page, "story-diverged")


def test_a_bad_csv_upload_shows_the_readers_error(page: Any) -> None:
    _open(page)
    page.set_input_files("#s-file", files=[{"name": "bad.csv", "mimeType": "text/csv",
                                            "buffer": b"x,y\n1,2\n2,abc\n3,4\n"}])  # fmt: skip
    err = page.locator("#s-upload-error")
    err.wait_for(state="visible")
    assert "bad.csv: Row 3, column 'y' of bad.csv is not a number: 'abc'" in err.inner_text()
    screenshot(page, "story-bad-csv")
    # a good file replaces the data; its name is in the URL's token and the picker
    good = b"id,x,y,z\n1,0.5,3,8\n2,1.5,5,6\n3,2,7.5,4\n4,4,9,1\n"
    page.set_input_files("#s-file", files=[{"name": "good.csv", "mimeType": "text/csv",
                                            "buffer": good}])  # fmt: skip
    page.wait_for_function(
        "document.getElementById('s-data-note').textContent.startsWith('good.csv')"
    )
    assert err.is_hidden()
    assert page.evaluate("() => new URL(location.href).searchParams.get('s_data')")
    m, c = np.polyfit([0.5, 1.5, 2, 4], [3, 5, 7.5, 9], 1)
    note = page.locator("#s-data-note").inner_text()
    assert f"m* = {float(f'{m:.6g}'):g}" in note and f"c* = {float(f'{c:.6g}'):g}" in note
    assert "skipped 'id'" in note  # the tour's own column choice, in its words
    # the numbers and the profiles are the new data's: SSE(0, 0) = Σy²
    page.wait_for_function("document.getElementById('s-point').dataset.sse === '171.25'")
    page.wait_for_function("document.getElementById('s-profile-m').data[1].y[0] === 171.25")
    screenshot(page, "story-uploaded")
    # another y column, by the picker: the fit follows; the same column twice is the tour's error
    page.select_option("#s-ycol", "4")
    page.wait_for_function("document.getElementById('s-data-note').textContent.includes('(x, z)')")
    m, c = np.polyfit([0.5, 1.5, 2, 4], [8, 6, 4, 1], 1)
    assert f"m* = {float(f'{m:.6g}'):g}" in page.locator("#s-data-note").inner_text()
    assert page.evaluate("() => new URL(location.href).searchParams.get('s_y')") == "4"
    page.select_option("#s-xcol", "4")
    err.wait_for(state="visible")
    assert err.inner_text().startswith("x and y are the same column ('z')")


def test_the_url_reproduces_the_view(page: Any, line: gs.Dataset) -> None:
    _open(page, "&s_m=1.25&s_c=3.5&s_lr=0.0001&s_steps=300")
    shown = _shown(page)
    assert (shown["m"], shown["c"]) == (1.25, 3.5)
    assert shown["sse"] == pytest.approx(_sse(line, 1.25, 3.5)[0], rel=1e-9)
    assert page.locator("#s-steps").input_value() == "300"
    assert page.locator("#s-lr-value").inner_text().startswith("η = 0.0001 ")
    # "Save as report" reads the figures: the current line and point are in their traces
    rep = page.evaluate(
        """async () => { const m = await import('/static/common.js');
        const r = m.reporterFor('story')();
        return {title: r.title, headings: r.figures.map((f) => f.heading),
                line: r.figures[0].div.data[3], point: r.figures[1].div.data[3],
                text: r.sections.map((s) => s.text).join(' ')}; }"""
    )
    assert rep["title"] == "The classic story in weight space" and len(rep["headings"]) == 6
    assert rep["line"]["y"][0] == pytest.approx(1.25 * rep["line"]["x"][0] + 3.5, rel=1e-12)
    assert (rep["point"]["x"], rep["point"]["y"]) == ([1.25], [3.5])
    assert "∂SSE/∂m" in rep["text"]
    # an upload token the server does not know: the error beside the upload, the built-in data
    _open(page, "&s_data=0123456789abcdef")
    assert "No uploaded file" in page.locator("#s-upload-error").inner_text()
    assert page.locator("#s-data-note").inner_text().startswith("synthetic line")


# -- issue 11, the tester's second pass --------------------------------------------------------
PERFECT = b"id,x,y,z\n1,0.5,2,5\n2,1,3,2\n3,2,5,7\n4,3,7,1\n5,4,9,3\n6,5.5,12,4\n"  # y = 2x + 1


def test_a_grown_descents_frames_include_the_step_its_stop_names(client: Any) -> None:
    r = _post(client, "descend", {"m": 0, "c": 0, "lr": 0.00056, "steps": 5000}).json()
    assert r["stop_reason"] == "grew" and r["n_steps"] == 99
    # the figure's path leaves the blown-up step out; the page's frames do not
    assert r["shown"] == r["frames"] - 1 == len(r["steps"]) - 1
    last = r["frames"] - 1
    assert r["steps"][last] == r["n_steps"]
    assert f"grew at step {r['steps'][last]} " in r["message"]
    assert f"reached {r['sse'][last]:.3g}" in r["message"]
    ok = _post(client, "descend", {"m": 0, "c": 0, "steps": 4000}).json()
    assert ok["converged"] and ok["frames"] == ok["shown"] == len(ok["steps"])


def test_the_column_note_names_no_cli_flag_but_the_cli_still_does(client: Any) -> None:
    from gradscape.story import tour_story

    token = _upload(client, PERFECT.decode())
    d = _post(client, "data", {"data": token}).json()
    assert d["columns_guessed"] and (d["x_label"], d["y_label"]) == ("x", "y")
    note = " ".join(d["notes"])
    assert "took 'x' as x and 'y' as y" in note and "--x" not in note and "--y" not in note
    plain = _post(client, "data", {"data": _upload(client, "a,b\n1,2\n2,3\n3,5\n")}).json()
    assert not plain["columns_guessed"] and plain["notes"] == []
    # the CLI's tour still says how to choose on the command line
    data = gs.Dataset(x=[0, 1, 2], y=[1, 2, 4], notes=("took 'x' as x",), columns_guessed=True)
    text = "\n".join(line for _, lines in tour_story(gs.tour(data, grid=11)) for line in lines)
    assert "took 'x' as x\nChoose other columns with --x and --y." in text


def test_the_numbers_follow_the_animation_frame_by_frame(page: Any, client: Any) -> None:
    page.clock.install()  # the animation's time is the test's: it moves only when told
    _open(page, "&s_m=0&s_c=0&s_steps=4000")
    api = client.post("/api/story/descend", json={"m": 0, "c": 0, "steps": 4000}).json()
    page.clock.pause_at(time.time() * 1000 + 1000)
    page.click("#s-descend")
    page.wait_for_function("!document.getElementById('s-scrub').disabled", polling=100)
    seen = set()
    for how in ("playing", "playing", "playing", "scrubbed"):
        if how == "playing":
            page.clock.run_for(500)  # an eighth of the animation
        else:
            page.locator("#s-scrub").fill("7")
        i = int(page.locator("#s-scrub").input_value())
        m, c = api["m"][i], api["c"][i]
        # everything shown describes the frame shown: the panel, both profiles, the sliders
        page.wait_for_function(
            """([m, c]) => { const d = document.getElementById('s-point').dataset;
            const p = document.getElementById('s-profile-m').data[1], q = document.getElementById('s-profile-c').data[1];
            return Number(d.m) === m && Number(d.c) === c && p.x[0] === m && q.x[0] === c; }""",
            arg=[m, c], polling=100, timeout=10_000,
        )  # fmt: skip
        playing = page.locator("#s-play").inner_text() == "Pause"
        assert playing == (how == "playing"), (how, i)
        seen.add(i)
        shown = _shown(page)
        assert shown["sse"] == pytest.approx(api["sse"][i], rel=1e-9)
        assert (shown["d_m"], shown["d_c"]) == pytest.approx(
            (api["d_m"][i], api["d_c"][i]), rel=1e-6, abs=1e-6
        )
        assert page.locator("#s-rules").get_attribute("data-step") == str(api["steps"][i])
        assert f"m = {float(f'{m:.5g}'):g}" in page.locator("#s-m-value").inner_text()
    assert len(seen) == 4 and 0 < min(seen - {7}) < max(seen) < api["frames"] - 1


def _set_lr(page: Any, lr: float) -> None:
    page.evaluate(
        "(v) => { const s = document.getElementById('s-lr'); s.value = String(Math.log10(v));"
        " s.dispatchEvent(new Event('input')); }", lr,
    )  # fmt: skip


def test_descend_starts_from_the_placed_point_and_shows_the_step_its_stop_names(
    page: Any, client: Any
) -> None:
    _open(page, "&s_m=0&s_c=0&s_steps=4000")
    page.click("#s-descend")
    page.wait_for_function(
        "/· converged$/.test(document.getElementById('s-scrub-label').textContent)",
        timeout=30_000,
    )
    # a second descent with another rate starts where the user put the point, not at the end
    _set_lr(page, 0.00056)
    lr = float(page.evaluate("() => new URL(location.href).searchParams.get('s_lr')"))
    assert 0.00055 < lr < 0.00057
    page.click("#s-descend")
    page.wait_for_function(
        "/· grew$/.test(document.getElementById('s-scrub-label').textContent)", timeout=30_000
    )
    api = client.post("/api/story/descend", json={"m": 0, "c": 0, "lr": lr}).json()
    assert page.locator("#s-stop-reason").inner_text() == api["message"]
    assert "from the point you placed: m = 0, c = 0" in page.locator("#s-stop").inner_text()
    # the last frame is the step the stop names, with the value it names
    n = api["n_steps"]
    assert f"grew at step {n} " in api["message"] and api["steps"][-1] == n
    assert page.locator("#s-scrub-label").inner_text() == f"step {n} of {n} · grew"
    rules = page.locator("#s-rules").inner_text()
    assert rules.startswith(f"step {n}:  m = ") and "no step from here" in rules
    assert f"SSE = {api['sse'][-1]:.5e}" in rules
    assert f"reached {api['sse'][-1]:.3g}" in api["message"]
    assert page.evaluate("() => new URL(location.href).searchParams.get('s_m')") == "0"
    screenshot(page, "story-grew-last-step")
    # from the minimum itself no step is taken: the page says why next to the rate's warning
    page.click("#s-best")
    page.click("#s-descend")
    page.wait_for_function(
        "(document.getElementById('s-stop-reason')?.textContent || '').startsWith('converged after 0 steps')"
    )
    assert "does not converge" in page.locator("#s-stop .warning").first.inner_text()
    assert "start is already the minimum" in page.locator("#s-no-step").inner_text()
    screenshot(page, "story-zero-steps")


def test_a_perfect_fit_reads_on_a_projector_at_1024(page: Any) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    _open(page)
    # the placeholder stays inside its plot; the formulas are at least 15 px
    inside = page.evaluate(
        """() => { const p = document.getElementById('s-loss').getBoundingClientRect();
        const a = document.querySelector('#s-loss .annotation').getBoundingClientRect();
        return a.left >= p.left && a.right <= p.right; }"""
    )
    assert inside
    size = page.evaluate("() => getComputedStyle(document.querySelector('#s-point pre')).fontSize")
    assert float(size.removesuffix("px")) >= 15
    screenshot(page, "story-1024")
    page.set_input_files("#s-file", files=[{"name": "perfect.csv", "mimeType": "text/csv",
                                            "buffer": PERFECT}])  # fmt: skip
    page.wait_for_function(
        "document.getElementById('s-data-note').textContent.startsWith('perfect.csv')"
    )
    note = page.locator("#s-data-note").inner_text()
    assert "skipped 'id'" in note and "--x" not in note
    assert "Choose other columns with the x column and y column menus." in note
    page.click("#s-descend")
    page.wait_for_function(
        "/· converged$/.test(document.getElementById('s-scrub-label').textContent)",
        timeout=30_000,
    )
    ticks = page.evaluate(
        "() => [...document.querySelectorAll('#s-loss .ytick text')].map((t) => t.textContent)"
    )
    assert 2 <= len(ticks) <= 7, ticks
    lo = page.evaluate("() => document.getElementById('s-loss')._fullLayout.yaxis.range[0]")
    assert lo >= -12  # floored: not down to 1e-18
    screenshot(page, "story-perfect-fit-1024")
