"""The function explorer (``/api/explorer`` and its tab): every endpoint against independent
truth (closed forms, NumPy, the library called directly, published critical points), every bad
input with its message, and the page in a real browser."""

from __future__ import annotations

import json
import math
import time
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest

from conftest import screenshot
from gradscape.functions import himmelblau
from gradscape.runs import minimize
from gradscape.sources import objective
from gradscape.web.common import MAX_EXPR_CHARS, MAX_GRID, MAX_PATHS, MAX_STARTS, MAX_STEPS
from gradscape.web.explorer import MAX_CRITICAL_STARTS, MAX_OPTIMIZERS, PATH_HEAD, PATH_RECORDS

API = "/api/explorer"


def _post(client: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"{API}/{path}", json=body)


def _himmelblau_grad(x: float, y: float) -> tuple[float, float]:
    """The gradient of Himmelblau's function, written out by hand."""
    a, b = x * x + y - 11, x + y * y - 7
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


# -- functions and describe ------------------------------------------------------------------


def test_functions_lists_the_two_variable_builtins_and_the_optimizers(client: Any) -> None:
    body = client.get(f"{API}/functions").json()
    names = [f["name"] for f in body["functions"]]
    assert "himmelblau" in names and "rosenbrock" in names and len(names) >= 10
    h = next(f for f in body["functions"] if f["name"] == "himmelblau")
    assert h["domain"] == {"x": [-5.0, 5.0], "y": [-5.0, 5.0]} and len(h["minima"]) == 4
    assert all(f["variables"] == ["x", "y"] for f in body["functions"])
    assert [o["name"] for o in body["optimizers"]][:6] == [
        "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]  # fmt: skip
    assert "two variables" in body["note"]


def test_describe_an_expression_gives_its_partials_as_mathml(client: Any) -> None:
    r = _post(client, "describe", {"source": "x^2*sin(y)"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["variables"] == ["x", "y"] and d["builtin"] is None
    assert d["ranges"] == {"x": [-5.0, 5.0], "y": [-5.0, 5.0]} and d["points"] == 101
    parts = {p["variable"]: p for p in d["partials"]}
    assert parts["x"]["text"] == "2*x*sin(y)" and parts["y"]["text"] == "x^2*cos(y)"
    math_x = ET.fromstring(parts["x"]["mathml"])  # well-formed: numeric entities only
    assert math_x.tag.endswith("math") and math_x.get("display") == "block"
    text = "".join(math_x.itertext())
    assert text.replace("\u2062", "") == "2xsin(y)"  # 2·x·sin(y), invisible times between
    assert "cos" in parts["y"]["mathml"] and parts["y"]["latex"] == "x^{2} \\cos{\\left(y \\right)}"


def test_describe_a_builtin_gives_its_domain_and_published_minima(client: Any) -> None:
    d = _post(client, "describe", {"source": "rosenbrock"}).json()
    assert d["ranges"] == {"x": [-2.0, 2.0], "y": [-1.0, 3.0]}
    assert d["builtin"]["name"] == "rosenbrock" and d["builtin"]["minima"] == [{"x": 1.0, "y": 1.0}]
    assert len(d["partials"]) == 2
    given = _post(client, "describe", {"source": "rosenbrock", "ranges": {"x": [0, 1]}}).json()
    assert given["ranges"] == {"x": [0.0, 1.0], "y": [-1.0, 3.0]}


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("x^2 + * y", 7, "found '*' at column 7"),
        ("sin(x + y", 1, "'sin(' at column 1 is never closed"),
        ("x $ y", 3, "unexpected character '$' at column 3"),
        ("x + y)", 6, "unmatched ')' at column 6"),
    ],
)
def test_a_bad_expression_answers_400_with_the_caret_column(
    client: Any, text: str, column: int, message: str
) -> None:
    r = _post(client, "describe", {"source": text})
    assert r.status_code == 400
    body = r.json()
    assert message in body["error"] and "\n" not in body["error"]
    assert body["column"] == column and body["start"] == column - 1 and body["expression"] == text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"source": "x" * (MAX_EXPR_CHARS + 1)}, "MAX_EXPR_CHARS"),
        ({"source": "himmelblu"}, "did you mean himmelblau"),
        ({"source": "rosenbrock:5"}, "two variables; rosenbrock:5(x1, x2, x3, x4, x5) has 5."),
        ({"source": "x^2 + 1"}, "two variables; f(x) has 1."),
        ({"source": "x*y", "ranges": {"x": [1, 0]}}, "x"),
        ({"source": "x*y", "ranges": {"z": [0, 1]}}, "z"),
    ],
)
def test_describe_refuses_bad_input(client: Any, body: dict[str, Any], message: str) -> None:
    r = _post(client, "describe", body)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


def test_a_nan_anywhere_is_refused_with_422(client: Any) -> None:
    raw = json.dumps({"source": "x*y", "at": {"x": float("nan"), "y": 1.0}})
    r = client.post(f"{API}/point", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "finite" in r.json()["error"]
    raw = json.dumps({"source": "x*y", "ranges": {"x": [0, float("inf")]}})
    r = client.post(f"{API}/surface", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "finite" in r.json()["error"]


# -- surface and point -----------------------------------------------------------------------


def test_surface_values_match_numpy(client: Any) -> None:
    r = _post(client, "surface", {"source": "x^2 - 3*y + sin(x*y)", "points": 21,
                                  "ranges": {"x": [-2, 2], "y": [0, 1]}})  # fmt: skip
    assert r.status_code == 200, r.text
    s = r.json()
    x, y, z = np.array(s["x"]), np.array(s["y"]), np.array(s["z"])
    assert x.shape == (21,) and y.shape == (21,) and z.shape == (21, 21)
    assert x[0] == -2 and x[-1] == 2 and y[0] == 0 and y[-1] == 1
    gx, gy = np.meshgrid(x, y)
    np.testing.assert_allclose(z, gx**2 - 3 * gy + np.sin(gx * gy), rtol=1e-12, atol=1e-12)
    assert s["x_name"] == "x" and s["warnings"] == []


def test_surface_of_a_builtin_marks_its_known_minima_and_nulls_undefined_points(
    client: Any,
) -> None:
    s = _post(client, "surface", {"source": "himmelblau", "points": 51}).json()
    assert len(s["known_minima"]) == 4 and s["minimum"]["value"] == pytest.approx(0, abs=1e-9)
    log = _post(client, "surface", {"source": "log(x) + y", "points": 11}).json()
    assert log["z"][0][0] is None and log["z"][0][-1] is not None  # x <= 0: undefined
    assert any("undefined" in w for w in log["warnings"])


@pytest.mark.parametrize("points", [MAX_GRID + 1, 1])
def test_surface_grid_beyond_the_cap_is_refused(client: Any, points: int) -> None:
    r = _post(client, "surface", {"source": "x*y", "points": points})
    assert r.status_code == 400
    assert ("MAX_GRID" in r.json()["error"]) == (points > MAX_GRID)


def test_point_gives_the_value_and_gradient_of_the_closed_form(client: Any) -> None:
    for x, y in [(1.0, 2.0), (-3.5, 0.25), (0.0, 0.0)]:
        p = _post(client, "point", {"source": "himmelblau", "at": {"x": x, "y": y}}).json()
        assert p["value"] == pytest.approx((x * x + y - 11) ** 2 + (x + y * y - 7) ** 2)
        gx, gy = _himmelblau_grad(x, y)
        assert p["gradient"]["x"] == pytest.approx(gx, rel=1e-12, abs=1e-12)
        assert p["gradient"]["y"] == pytest.approx(gy, rel=1e-12, abs=1e-12)


def test_point_gradient_agrees_with_finite_differences(client: Any) -> None:
    src, at, h = "exp(-x^2)*cos(3*y) + x*y^3", {"x": 0.3, "y": -0.7}, 1e-6
    g = _post(client, "point", {"source": src, "at": at}).json()["gradient"]

    def f(x: float, y: float) -> float:
        return math.exp(-(x**2)) * math.cos(3 * y) + x * y**3

    fd_x = (f(at["x"] + h, at["y"]) - f(at["x"] - h, at["y"])) / (2 * h)
    fd_y = (f(at["x"], at["y"] + h) - f(at["x"], at["y"] - h)) / (2 * h)
    assert g["x"] == pytest.approx(fd_x, rel=1e-7) and g["y"] == pytest.approx(fd_y, rel=1e-7)


@pytest.mark.parametrize(
    ("at", "message"),
    [({"x": -1.0, "y": 0.0}, "log(x) needs a positive argument"), ({"x": 1.0}, "missing y"),
     ({"x": 1.0, "y": 1.0, "w": 2.0}, "w is not a variable")],
)  # fmt: skip
def test_point_refuses_bad_points(client: Any, at: dict[str, float], message: str) -> None:
    r = _post(client, "point", {"source": "log(x) + y", "at": at})
    assert r.status_code == 400 and message in r.json()["error"]


def test_point_of_a_function_of_u_and_v_uses_its_own_names(client: Any) -> None:
    p = _post(client, "point", {"source": "u^2+3*v^2", "at": {"u": 1.5, "v": -2.0}}).json()
    assert p["value"] == pytest.approx(1.5**2 + 3 * 4.0) and p["differentiable"] is True
    assert p["gradient"] == {"u": pytest.approx(3.0), "v": pytest.approx(-12.0)}
    r = _post(client, "point", {"source": "u^2+3*v^2", "at": {"x": 1.0, "y": 1.0}})
    assert r.status_code == 400 and "each of u, v" in r.json()["error"]


@pytest.mark.parametrize(
    ("at", "sides", "reason"),
    [
        ((0.0, 0.0), {"x": (-1, 1), "y": (-1, 1)}, "abs(x) has a corner where x = 0; abs(y)"),
        ((0.0, 0.5), {"x": (-1, 1), "y": (1, 1)}, "abs(x) has a corner where x = 0"),
        ((-2.0, 0.0), {"x": (-1, -1), "y": (-1, 1)}, "abs(y) has a corner where y = 0"),
    ],
)
def test_point_at_a_kink_gives_no_gradient_but_the_one_sided_partials(
    client: Any, at: tuple[float, float], sides: dict[str, tuple[int, int]], reason: str
) -> None:
    """|x| + |y|: ∂f/∂x is -1 left of x = 0 and +1 right of it (the closed form sign(x) away
    from 0); at x = 0 there is no partial derivative, whatever autodiff returns there."""
    p = _post(client, "point", {"source": "abs(x)+abs(y)", "at": {"x": at[0], "y": at[1]}}).json()
    assert p["differentiable"] is False and p["gradient"] is None
    assert p["value"] == pytest.approx(abs(at[0]) + abs(at[1]))
    got = {n: (o["left"], o["right"]) for n, o in p["one_sided"].items()}
    assert got == {n: (pytest.approx(a), pytest.approx(b)) for n, (a, b) in sides.items()}
    assert reason in p["reason"] and p["note"].startswith("not differentiable here (")
    assert "\n" not in p["note"] and "no gradient" in p["note"]


def test_point_where_a_power_below_one_has_its_corner_is_a_kink_too(client: Any) -> None:
    """sqrt(x² + y²) = ‖(x, y)‖: at 0 each partial is -1 from the left and +1 from the right."""
    p = _post(client, "point", {"source": "sqrt(x^2+y^2)", "at": {"x": 0.0, "y": 0.0}}).json()
    assert p["differentiable"] is False and p["gradient"] is None and p["value"] == 0
    assert {n: (o["left"], o["right"]) for n, o in p["one_sided"].items()} == {
        "x": (pytest.approx(-1), pytest.approx(1)), "y": (pytest.approx(-1), pytest.approx(1))}  # fmt: skip
    p = _post(client, "point", {"source": "sqrt(x^2+y^2)", "at": {"x": 3.0, "y": 4.0}}).json()
    assert p["gradient"] == {"x": pytest.approx(0.6), "y": pytest.approx(0.8)}  # (x, y) / r


def test_point_beside_a_kink_or_at_a_smooth_one_gives_the_gradient(client: Any) -> None:
    p = _post(client, "point", {"source": "abs(x)+abs(y)", "at": {"x": 0.3, "y": -0.2}}).json()
    assert p["differentiable"] is True and p["gradient"] == {
        "x": 1.0,
        "y": -1.0,
    }  # sign(x), sign(y)
    # x·|x| has the derivative 2|x|, 0 at x = 0: differentiable although abs has a corner there
    p = _post(client, "point", {"source": "x*abs(x) + y^2", "at": {"x": 0.0, "y": 1.5}}).json()
    assert p["differentiable"] is True
    assert p["gradient"] == {"x": pytest.approx(0.0, abs=1e-12), "y": pytest.approx(3.0)}


@pytest.mark.parametrize(
    ("path", "body", "advice"),
    [
        ("surface", {"source": "himmelblau", "points": 51}, "ask for fewer points per axis"),
        ("run", {"source": "himmelblau", "starts": [{"x": 1.0, "y": 1.0}],
                 "optimizers": [{"name": "gd", "steps": 50}]}, "ask for fewer steps, starts or"),
        ("critical", {"source": "himmelblau", "starts": 50}, "ask for fewer starts"),
    ],
)  # fmt: skip
def test_the_time_limit_says_what_to_ask_for_instead(
    client: Any, monkeypatch: pytest.MonkeyPatch, path: str, body: dict[str, Any], advice: str
) -> None:
    """The page has no job for these: the message names the inputs it does have."""
    import gradscape.web.explorer as explorer

    monkeypatch.setattr(explorer, "REQUEST_SECONDS", -1.0)
    r = _post(client, path, body)
    assert r.status_code == 408, r.text
    msg = r.json()["error"]
    assert "REQUEST_SECONDS" in msg and advice in msg and "job" not in msg


# -- run ----------------------------------------------------------------------------------------

FIVE = ["gd", "momentum", "nesterov", "rmsprop", "adam"]


def test_run_paths_end_where_minimize_called_directly_ends(client: Any) -> None:
    body = {
        "source": "himmelblau",
        "starts": [{"x": -1.0, "y": -1.0}, {"x": 1.0, "y": 1.0}],
        "optimizers": [{"name": "gd", "lr": 0.01, "steps": 300},
                       {"name": "adam", "lr": 0.1, "steps": 200}],
    }  # fmt: skip
    r = _post(client, "run", body)
    assert r.status_code == 200, r.text
    runs = r.json()["runs"]
    assert [(x["start"], x["optimizer"]) for x in runs] == [
        (0, "gd"), (0, "adam"), (1, "gd"), (1, "adam")]  # fmt: skip
    obj = objective("himmelblau")
    for run in runs:
        spec = body["optimizers"][["gd", "adam"].index(run["optimizer"])]
        direct = minimize(obj, body["starts"][run["start"]], spec["name"], lr=spec["lr"],
                          max_steps=spec["steps"], head=PATH_HEAD, max_records=PATH_RECORDS)  # fmt: skip
        assert run["final"] == direct.final_params and run["n_steps"] == direct.n_steps
        assert run["stop_reason"] == direct.stop_reason
        np.testing.assert_array_equal(np.array(run["path"]), direct.params)
        np.testing.assert_array_equal(np.array(run["values"]), direct.values)
        assert run["path"][0] == [body["starts"][run["start"]]["x"],
                                  body["starts"][run["start"]]["y"]]  # fmt: skip
        assert len(run["values"]) == len(run["steps"]) == len(run["path"])


def test_run_of_a_function_of_u_and_v_takes_and_gives_its_own_names(client: Any) -> None:
    body = {"source": "u^2+3*v^2", "starts": [{"u": 2.0, "v": 1.0}],
            "optimizers": [{"name": "gd", "lr": 0.1, "steps": 100}]}  # fmt: skip
    out = _post(client, "run", body).json()
    assert out["variables"] == ["u", "v"]
    direct = minimize(objective("u^2+3*v^2"), {"u": 2.0, "v": 1.0}, "gd", lr=0.1, max_steps=100,
                      head=PATH_HEAD, max_records=PATH_RECORDS)  # fmt: skip
    assert out["runs"][0]["final"] == direct.final_params and set(direct.final_params) == {"u", "v"}


def test_run_reports_divergence_and_warnings(client: Any) -> None:
    r = _post(client, "run", {"source": "x^2 + 10*y^2", "starts": [{"x": 1, "y": 1}],
                              "optimizers": [{"name": "gd", "lr": 0.5, "steps": 500}]})  # fmt: skip
    run = r.json()["runs"][0]
    assert run["stop_reason"] in ("diverged", "grew") and run["warnings"]
    assert "2/λmax" in run["warnings"][0] or "stable" in run["warnings"][0]
    assert 1 <= run["shown"] <= len(run["path"])


def test_five_optimizers_of_a_thousand_steps_answer_within_half_a_second(client: Any) -> None:
    body = {"source": "himmelblau", "starts": [{"x": -1.0, "y": 0.5}],
            "optimizers": [{"name": n, "steps": 1000, "lr": 0.001} for n in FIVE]}  # fmt: skip
    assert _post(client, "run", body).status_code == 200  # compiles
    t0 = time.perf_counter()
    runs = _post(client, "run", body).json()["runs"]
    took = time.perf_counter() - t0
    assert [x["n_steps"] for x in runs if x["stop_reason"] == "max_steps"]
    assert took < 0.5, f"5 x 1,000 steps took {took:.3f} s"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starts": [{"x": 0.0, "y": 0.0}] * (MAX_PATHS + 1)}, "MAX_PATHS"),
        ({"starts": []}, "at least 1"),
        ({"optimizers": [{"name": "gd", "steps": MAX_STEPS + 1}]}, "MAX_STEPS"),
        ({"optimizers": [{"name": "gd"}] * (MAX_OPTIMIZERS + 1)}, "MAX_OPTIMIZERS"),
        ({"optimizers": [{"name": "adamm"}]}, "adamm"),
        ({"optimizers": [{"name": "gd", "lr": -0.1}]}, "learning rate must be a number > 0"),
        ({"starts": [{"x": -1.0, "y": 0.0}]}, "start where f is defined"),
        ({"starts": [{"x": 1.0}]}, "Start 1 needs a value for each of x, y; missing y."),
    ],
)
def test_run_refuses_bad_input(client: Any, change: dict[str, Any], message: str) -> None:
    body = {"source": "log(x) + y^2", "starts": [{"x": 1.0, "y": 1.0}],
            "optimizers": [{"name": "gd", "steps": 10}], **change}  # fmt: skip
    r = _post(client, "run", body)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


# -- critical points and multistart --------------------------------------------------------------

#: Himmelblau's maximum and saddles as published (Himmelblau 1972; Wikipedia, "Himmelblau's
#: function"), to the digits printed there.
HIMMELBLAU_MAXIMUM = (-0.270845, -0.923039)
HIMMELBLAU_SADDLES = [(3.385154, 0.073852), (0.086678, 2.884255), (-3.073026, -0.081353),
                      (-0.127961, -1.953715)]  # fmt: skip


def test_critical_points_of_himmelblau_match_the_published_ones(client: Any) -> None:
    r = _post(client, "critical", {"source": "himmelblau", "starts": 400})
    assert r.status_code == 200, r.text
    found: dict[str, list[tuple[float, float]]] = {}
    for p in r.json()["points"]:
        found.setdefault(p["kind"], []).append((p["point"]["x"], p["point"]["y"]))
    assert sorted(found) == ["maximum", "minimum", "saddle"]

    def same(a: list[Any], b: list[Any], tol: float) -> None:
        assert len(a) == len(b)
        for p in b:
            assert min(math.dist(p, q) for q in a) < tol, (p, a)

    same(found["minimum"], list(himmelblau.minima), 1e-6)
    same(found["maximum"], [HIMMELBLAU_MAXIMUM], 1e-5)
    same(found["saddle"], HIMMELBLAU_SADDLES, 1e-5)
    top = next(p for p in r.json()["points"] if p["kind"] == "maximum")
    assert top["value"] == pytest.approx(181.617, abs=1e-3)


def test_critical_refuses_too_many_starts(client: Any) -> None:
    r = _post(client, "critical", {"source": "himmelblau", "starts": MAX_CRITICAL_STARTS + 1})
    assert r.status_code == 400 and "MAX_CRITICAL_STARTS" in r.json()["error"]


def _follow(client: Any, job: str) -> list[dict[str, Any]]:
    with client.stream("GET", f"/api/jobs/{job}/events") as r:
        return [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]


def test_multistart_job_gives_minima_shares_and_a_basin_map(client: Any) -> None:
    r = _post(client, "multistart", {"source": "himmelblau", "starts": 400})
    assert r.status_code == 200, r.text
    events = _follow(client, r.json()["job"])
    end = events[-1]
    assert end["type"] == "end" and end["state"] == "done", end
    res = end["result"]
    assert len(res["minima"]) == 4 and res["starts"] == 400
    for m in res["minima"]:
        assert m["value"] == pytest.approx(0, abs=1e-10)
        assert (
            min(math.dist((m["point"]["x"], m["point"]["y"]), p) for p in himmelblau.minima) < 1e-6
        )
    assert sum(m["share"] for m in res["minima"]) == pytest.approx(1 - res["failed_total"] / 400)
    lab = np.array(res["basins"]["labels"])
    assert lab.shape == (len(res["basins"]["y"]), len(res["basins"]["x"])) and lab.size == 400
    for i, m in enumerate(res["minima"]):
        assert int(np.sum(lab == i)) == m["count"]


def test_multistart_can_be_cancelled(client: Any) -> None:
    r = _post(client, "multistart", {"source": "rastrigin", "starts": MAX_STARTS,
                                     "optimizer": "gd", "lr": 1e-4, "steps": MAX_STEPS})  # fmt: skip
    job = r.json()["job"]
    time.sleep(0.3)
    assert client.delete(f"/api/jobs/{job}").status_code == 200
    end = _follow(client, job)[-1]
    assert end["state"] == "cancelled" and end["result"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [({"starts": MAX_STARTS + 1}, "MAX_STARTS"), ({"steps": MAX_STEPS + 1}, "MAX_STEPS"),
     ({"optimizer": "sgdd"}, "sgdd"), ({"source": "x +"}, "column"), ({"seed": -1}, "seed")],
)  # fmt: skip
def test_multistart_refuses_bad_input_before_starting(
    client: Any, change: dict[str, Any], message: str
) -> None:
    r = _post(client, "multistart", {"source": "himmelblau", **change})
    assert r.status_code in (400, 422) and message in r.text


# -- the page in a real browser ---------------------------------------------------------------


def _open(page: Any, query: str = "") -> None:
    page.goto(f"{page.base}/?view=explorer{query}")
    page.wait_for_selector("#f-contour .contour", timeout=60_000)


def _screen(page: Any, x: float, y: float) -> list[float]:
    """Where the data point (x, y) of the contours is on the screen."""
    return page.evaluate(  # type: ignore[no-any-return]
        """([x, y]) => { const d = document.getElementById('f-contour'), fl = d._fullLayout;
             d.scrollIntoView({ block: 'center' });
             const r = d.getBoundingClientRect();
             return [r.left + fl.xaxis._offset + fl.xaxis.c2p(x),
                     r.top + fl.yaxis._offset + fl.yaxis.c2p(y)]; }""",
        [x, y],
    )


def _click_data(page: Any, x: float, y: float) -> None:
    """Click the contours at data coordinates (x, y)."""
    page.mouse.click(*_screen(page, x, y))


def _drawn_paths(page: Any) -> dict[str, list[float]]:
    """The end point of every path drawn on the contours (not its white outline), by name."""
    return page.evaluate(
        """() => Object.fromEntries(document.getElementById('f-contour').data
             .filter((t) => t.meta !== undefined && !t.outline)
             .map((t) => [t.name, [t.x.length, t.x[t.x.length - 1], t.y[t.y.length - 1]]]))"""
    )


def test_page_type_an_expression_click_a_start_and_run(page: Any, client: Any) -> None:
    _open(page)
    page.fill("#f-expr", "x^2 + 3*y^2 + x*y")
    page.press("#f-expr", "Enter")
    page.wait_for_function(
        "new URLSearchParams(location.search).get('f_fn') === 'x^2 + 3*y^2 + x*y'"
        " && document.querySelector('#f-formulas [data-var=x] math') !== null"
    )
    assert page.inner_text("#f-formulas [data-var=y] .math").split() == [
        "𝑥",
        "+",
        "6",
        "\u2062",
        "𝑦",
    ]
    page.uncheck("[data-opt=momentum][type=checkbox]")
    page.fill(".lr[data-opt=gd]", "0.1")
    page.dispatch_event(".lr[data-opt=gd]", "change")
    page.fill(".steps[data-opt=adam]", "300")
    page.dispatch_event(".steps[data-opt=adam]", "change")
    page.fill(".lr[data-opt=adam]", "0.2")
    page.dispatch_event(".lr[data-opt=adam]", "change")
    # hovering shows the value and the gradient arrow, uphill: ∇f = (2x + y, x + 6y)
    page.mouse.move(*_screen(page, -1.0, 2.0))
    page.wait_for_function("document.getElementById('f-readout').textContent.includes('∇f')")
    readout = page.inner_text("#f-readout")
    hx, hy = (float(v) for v in readout.split("(x, y) = (")[1].split(")")[0].split(","))
    assert (hx, hy) == pytest.approx((-1.0, 2.0), abs=0.05)
    shown_f = float(readout.split("f = ")[1].split()[0])
    assert shown_f == pytest.approx(hx * hx + 3 * hy * hy + hx * hy, rel=1e-3)
    page.wait_for_function(
        "(document.getElementById('f-contour').layout.annotations || []).length === 1"
    )
    arrow = page.evaluate("document.getElementById('f-contour').layout.annotations[0]")
    assert (arrow["ax"], arrow["ay"]) == pytest.approx((hx, hy), abs=1e-3)
    direction = np.array([arrow["x"] - arrow["ax"], arrow["y"] - arrow["ay"]])
    grad = np.array([2 * hx + hy, hx + 6 * hy])
    assert direction @ grad / (np.linalg.norm(direction) * np.linalg.norm(grad)) > 0.9999
    _click_data(page, 3.0, -2.0)
    page.wait_for_function("new URLSearchParams(location.search).get('f_starts') !== null")
    start = [
        float(v)
        for v in page.evaluate("new URLSearchParams(location.search).get('f_starts')").split(",")
    ]
    assert start == pytest.approx([3.0, -2.0], abs=0.08)
    page.click("#f-run")
    page.wait_for_function(
        "document.getElementById('f-results').textContent.includes('adam')"
        " && !document.getElementById('f-contour').dataset.animating", timeout=30_000
    )  # fmt: skip
    drawn = _drawn_paths(page)
    assert set(drawn) == {"gd", "adam"}
    api = client.post(f"{API}/run", json={
        "source": "x^2 + 3*y^2 + x*y", "starts": [{"x": start[0], "y": start[1]}],
        "optimizers": [{"name": "gd", "lr": 0.1, "steps": 1000}, {"name": "adam", "lr": 0.2, "steps": 300}],
    }).json()["runs"]  # fmt: skip
    for run in api:
        n, x, y = drawn[run["optimizer"]]
        assert n == run["shown"]
        assert (x, y) == pytest.approx(
            (run["path"][run["shown"] - 1][0], run["path"][run["shown"] - 1][1])
        )
        assert (x, y) == pytest.approx((run["final"]["x"], run["final"]["y"]))
    assert page.evaluate("document.getElementById('f-values').data.length") == 2
    page.mouse.move(0, 0)
    screenshot(page, "explorer-run")


def test_page_shows_a_bad_expression_with_a_caret(page: Any) -> None:
    _open(page)
    page.fill("#f-expr", "x^2 + * y")
    page.click("#f-show")
    page.wait_for_selector("#f-error:not([hidden]) pre.caret")
    assert "column 7" in page.inner_text("#f-error .msg")
    caret = page.inner_text("#f-error pre.caret").split("\n")
    assert caret[0] == "x^2 + * y" and caret[1] == " " * 6 + "^"
    assert "invalid" in page.get_attribute("#f-expr", "class")
    screenshot(page, "explorer-bad-expression")


def test_page_a_link_with_f_state_reproduces_the_view(page: Any) -> None:
    query = "&f_fn=himmelblau&f_box=-5,5,-5,5&f_starts=-1,-1;1,4&f_opt=gd:0.01:200,rmsprop:0.05:200&f_run=1"
    _open(page, query)
    page.wait_for_function(
        "document.getElementById('f-results').textContent.includes('rmsprop')"
        " && !document.getElementById('f-contour').dataset.animating", timeout=30_000
    )  # fmt: skip
    assert (
        page.input_value("#f-expr") == "himmelblau"
        and page.input_value("#f-builtin") == "himmelblau"
    )
    assert page.is_checked("[data-opt=gd][type=checkbox]") and not page.is_checked(
        "[data-opt=adam][type=checkbox]"
    )
    assert page.input_value(".lr[data-opt=rmsprop]") == "0.05"
    starts = page.evaluate(
        "document.getElementById('f-contour').data.find((t) => t.name === 'starts').x"
    )
    assert starts == [-1, 1]
    assert len(_drawn_paths(page)) == 2  # one legend entry per optimizer, a path per start
    assert (
        page.evaluate(
            "document.getElementById('f-contour').data.filter((t) => t.meta !== undefined).length"
        )
        == 8  # each path and its outline
    )
    page.click("#f-critical")
    page.wait_for_function(
        "document.getElementById('f-contour').data.some((t) => (t.name || '').startsWith('saddle'))"
    )
    names = page.evaluate("document.getElementById('f-contour').data.map((t) => t.name)")
    assert {"minimum (4)", "maximum (1)", "saddle (4)"} <= set(names)
    screenshot(page, "explorer-link-critical")


def test_page_multistart_shows_progress_minima_and_basins(page: Any) -> None:
    _open(page, "&f_fn=himmelblau")
    page.fill("#f-ms-starts", "900")
    page.click("#f-multistart")
    page.wait_for_selector("#f-ms-panel:not([hidden]) .f-table tbody tr", timeout=60_000)
    assert page.locator("#f-minima tbody tr").count() == 4
    assert page.evaluate("document.getElementById('f-basins').data[0].z.flat().length") == 900
    page.locator("#f-ms-panel").scroll_into_view_if_needed()
    screenshot(page, "explorer-multistart")


def test_page_a_wide_range_of_values_is_coloured_on_a_log_scale(page: Any) -> None:
    _open(page, "&f_fn=rosenbrock&f_starts=-1.2,1&f_opt=newton::50,lbfgs::200&f_run=1")
    page.wait_for_function(
        "document.getElementById('f-results').textContent.includes('lbfgs')"
        " && !document.getElementById('f-contour').dataset.animating", timeout=30_000
    )  # fmt: skip
    assert page.is_checked("#f-log")
    title = page.evaluate("document.getElementById('f-contour').data[0].colorbar.title.text")
    assert title.startswith("log10")
    assert "converged" in page.inner_text("#f-results")
    screenshot(page, "explorer-rosenbrock")


def test_page_a_multistart_shows_its_progress_and_can_be_cancelled(page: Any) -> None:
    _open(page, "&f_fn=rastrigin")
    page.fill("#f-ms-starts", str(MAX_STARTS))
    page.click("#f-multistart")
    page.wait_for_selector(".progress:not([hidden])")
    page.wait_for_function(
        "document.querySelector('.progress-label').textContent.includes('ETA')", timeout=60_000
    )
    page.locator(".progress").scroll_into_view_if_needed()
    screenshot(page, "explorer-multistart-progress")
    page.click(".progress .cancel")
    page.wait_for_selector("#f-run-error:not([hidden])", timeout=60_000)
    assert "cancelled" in page.inner_text("#f-run-error")
    assert page.is_hidden("#f-ms-panel")


def _wait_run(page: Any, name: str) -> None:
    page.wait_for_function(
        f"document.getElementById('f-results').textContent.includes('{name}')"
        " && !document.getElementById('f-contour').dataset.animating", timeout=30_000
    )  # fmt: skip


def test_page_a_function_of_u_and_v_runs_in_its_own_variables(page: Any, client: Any) -> None:
    _open(page)
    page.fill("#f-expr", "u^2+3*v^2")
    page.click("#f-show")
    page.wait_for_function("new URLSearchParams(location.search).get('f_fn') === 'u^2+3*v^2'")
    assert page.inner_text("#f-label") == "f(u, v) ="
    assert [page.get_attribute(f".box[data-i='{i}']", "aria-label") for i in range(4)] == [
        "u from", "u to", "v from", "v to"]  # fmt: skip
    titles = page.evaluate("""() => { const l = document.getElementById('f-contour').layout,
        s = document.getElementById('f-surface').layout.scene;
        return [l.xaxis.title.text, l.yaxis.title.text, s.xaxis.title.text, s.yaxis.title.text]; }""")
    assert titles == ["u", "v", "u", "v"]
    assert page.is_hidden("#f-error")
    page.mouse.move(*_screen(page, 1.0, -2.0))
    page.wait_for_function("document.getElementById('f-readout').textContent.includes('∇f')")
    assert "at (u, v) = (" in page.inner_text("#f-readout")
    page.uncheck("[data-opt=momentum][type=checkbox]")
    page.fill(".lr[data-opt=gd]", "0.1")
    page.dispatch_event(".lr[data-opt=gd]", "change")
    _click_data(page, 3.0, 2.0)
    page.wait_for_function("new URLSearchParams(location.search).get('f_starts') !== null")
    start = [float(v) for v in page.evaluate(
        "new URLSearchParams(location.search).get('f_starts')").split(",")]  # fmt: skip
    page.click("#f-run")
    _wait_run(page, "adam")
    assert page.is_hidden("#f-run-error")
    drawn = _drawn_paths(page)
    api = client.post(f"{API}/run", json={
        "source": "u^2+3*v^2", "starts": [{"u": start[0], "v": start[1]}],
        "optimizers": [{"name": "gd", "lr": 0.1, "steps": 1000}, {"name": "adam", "steps": 1000}],
    }).json()["runs"]  # fmt: skip
    for run in api:
        n, x, y = drawn[run["optimizer"]]
        assert n == run["shown"] and (x, y) == pytest.approx((run["final"]["u"], run["final"]["v"]))
    assert "at (u, v) = (" in page.inner_text("#f-results")
    page.mouse.move(0, 0)
    screenshot(page, "explorer-u-v")


#: Holds the answers of the explorer's requests (fetch) while ``window.__holding`` is true,
#: until the test releases them: an answer that arrives after another function is shown.
HOLD = """
window.__hold = []; window.__holding = false;
const realFetch = window.fetch;
window.fetch = (url, init) => {
  const answer = realFetch(url, init);
  if (!window.__holding || !/explorer\\/(point|run|critical|multistart)/.test(String(url))) return answer;
  return new Promise((resolve) => window.__hold.push(() => resolve(answer)));
};
"""


def test_page_drops_answers_for_a_function_no_longer_shown(page: Any) -> None:
    page.add_init_script(HOLD)
    _open(page, "&f_fn=himmelblau&f_opt=gd:0.01:100")
    _click_data(page, -1.0, -1.0)
    page.fill("#f-ms-starts", "400")
    page.evaluate("window.__holding = true")
    page.mouse.move(*_screen(page, 1.0, 2.0))  # hover
    page.click("#f-run")
    page.click("#f-critical")
    page.click("#f-multistart")
    page.wait_for_function("window.__hold.length === 4")
    page.evaluate("window.__holding = false")
    page.fill("#f-expr", "abs(x)+abs(y)")
    page.press("#f-expr", "Enter")
    page.wait_for_function("new URLSearchParams(location.search).get('f_fn') === 'abs(x)+abs(y)'")
    page.evaluate("window.__hold.forEach((release) => release())")  # Himmelblau's answers arrive
    page.wait_for_function(
        "['f-run', 'f-critical', 'f-multistart'].every((id) => !document.getElementById(id).disabled)",
        timeout=60_000,
    )
    page.wait_for_timeout(300)
    names = page.evaluate("document.getElementById('f-contour').data.map((t) => t.name)")
    assert names == ["f"], names  # no path, start, critical point of Himmelblau's on |x| + |y|
    assert page.inner_text("#f-readout") == "Move the pointer over the contours."
    assert (
        page.evaluate("(document.getElementById('f-contour').layout.annotations || []).length") == 0
    )
    assert page.is_hidden("#f-ms-panel") and page.is_hidden("#f-run-error")
    assert "critical points" not in page.inner_text("#f-starts-note")
    assert page.evaluate("document.getElementById('f-values').data.length") == 0


def test_page_hover_at_a_kink_shows_the_note_and_no_arrow(page: Any) -> None:
    _open(page, "&f_fn=abs(x)%2Babs(y)")
    page.mouse.move(*_screen(page, 1.0, 2.0))
    page.wait_for_function(
        "(document.getElementById('f-contour').layout.annotations || []).length === 1"
    )
    # the pointer cannot land on x = 0 exactly: the next hover asks for (0, 0) itself
    page.route(f"**{API}/point", lambda route: route.continue_(post_data=json.dumps(
        {"source": "abs(x)+abs(y)", "at": {"x": 0.0, "y": 0.0}})))  # fmt: skip
    page.mouse.move(*_screen(page, 0.5, 0.5))
    page.wait_for_function(
        "document.getElementById('f-readout').textContent.includes('not differentiable')"
    )
    text = page.inner_text("#f-readout")
    assert "at (x, y) = (0, 0)" in text and "∇f" not in text
    assert "∂f/∂x: -1 from the left, 1 from the right" in text  # the closed form: sign(x) each side
    assert "∂f/∂y: -1 from the left, 1 from the right" in text
    assert (
        page.evaluate("(document.getElementById('f-contour').layout.annotations || []).length") == 0
    )
    screenshot(page, "explorer-kink")


@pytest.mark.parametrize("fn", ["himmelblau", "rastrigin"])
def test_page_is_readable_on_a_projector(page: Any, fn: str) -> None:
    _open(page, f"&f_fn={fn}&f_starts=-2.5,-3;2,-4&f_opt=gd:0.005:300,adam:0.1:300&f_run=1")
    _wait_run(page, "adam")
    look = page.evaluate("""() => { const c = document.getElementById('f-contour'),
        s = document.getElementById('f-surface')._fullLayout.scene;
        const paths = c.data.filter((t) => t.meta !== undefined);
        return { scale: c._fullData[0].colorscale, paths: paths.map((t) => [t.outline === true, t.line.width]),
                 ticks: [s.xaxis.tickvals, s.yaxis.tickvals], ranges: [s.xaxis.range, s.yaxis.range],
                 tickfont: [s.xaxis.tickfont.size, s.yaxis.tickfont.size, s.zaxis.tickfont.size] }; }""")
    assert look["scale"][0][1].lower() in ("#440154", "rgb(68,1,84)")  # viridis: dark to yellow
    assert look["paths"].count([True, 6.5]) == 4 and len(look["paths"]) == 8  # each path outlined
    for ticks, (lo, hi) in zip(look["ticks"], look["ranges"], strict=True):
        assert len(ticks) >= 2 and all(lo + (hi - lo) / 7 < t < hi - (hi - lo) / 7 for t in ticks)
    assert min(look["tickfont"]) >= 14
    small = page.evaluate("""() => [...document.querySelectorAll('#view-explorer *')]
        .filter((e) => e.offsetParent !== null || e instanceof SVGElement)
        .filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
        .filter((e) => parseFloat(getComputedStyle(e).fontSize) < 14)
        .map((e) => `${e.tagName}.${e.getAttribute('class')}: ${e.textContent.slice(0, 30)}`)""")
    assert small == []
    page.mouse.move(0, 0)
    screenshot(page, f"explorer-readable-{fn}")


def test_page_the_time_limit_says_what_to_change_on_the_page(
    page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gradscape.web.explorer as explorer

    _open(page, "&f_fn=himmelblau&f_starts=1,1&f_opt=gd::100")
    monkeypatch.setattr(explorer, "REQUEST_SECONDS", -1.0)
    page.click("#f-run")
    page.wait_for_selector("#f-run-error:not([hidden])")
    msg = page.inner_text("#f-run-error")
    assert "ask for fewer steps, starts or optimizers" in msg and "job" not in msg
    page.click("#f-critical")
    page.wait_for_function(
        "document.getElementById('f-run-error').textContent.includes('fewer starts')"
    )
    assert page.is_visible("#f-crit-starts") and page.is_visible("#f-grid")
    page.fill("#f-grid", "51")
    page.dispatch_event("#f-grid", "change")
    page.wait_for_selector("#f-error:not([hidden])")
    assert "fewer points per axis (a smaller grid)" in page.inner_text("#f-error")
