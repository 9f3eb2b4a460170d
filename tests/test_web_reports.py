"""POST /api/reports: the page's "Save as report" gives the self-contained HTML the CLI writes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gradscape import report
from gradscape.web.reports import (
    MAX_FIGURE_DEPTH,
    MAX_FIGURE_TRACES,
    MAX_HEADING_CHARS,
    MAX_REPORT_CHARS,
    MAX_REPORT_FIGURES,
    MAX_REPORT_SECTIONS,
    MAX_REPORT_VALUES,
    file_name,
)

_FIGURE = re.compile(r"<script type='application/json' class='gs-figure'[^>]*>(.*?)</script>", re.S)


def figure(heading: str = "contours", n: int = 3) -> dict[str, Any]:
    return {
        "heading": heading,
        "data": [{"type": "scatter", "x": list(range(n)), "y": [v * v for v in range(n)],
                  "name": "path"}],
        "layout": {"title": {"text": "f(x, y)"}, "xaxis": {"title": {"text": "x"}}},
    }  # fmt: skip


def good() -> dict[str, Any]:
    return {
        "title": "Function explorer: himmelblau",
        "sections": [{"heading": "Settings", "text": "lr = 0.01\nsteps = 100"}],
        "figures": [figure("contours"), figure("value per step", 5)],
        "url": "http://127.0.0.1:8765/?view=explorer&f_expr=himmelblau",
    }


def test_a_view_becomes_a_self_contained_download(client: Any) -> None:
    r = client.post("/api/reports", json=good())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"] == (
        'attachment; filename="gradscape-function-explorer-himmelblau.html"'
    )
    html = r.text
    assert html.count(report.plotly_js()[:200]) == 1  # plotly.js inlined once
    assert not re.search(r"<script[^>]*\ssrc\s*=", html)
    figs = [json.loads(t) for t in _FIGURE.findall(html)]
    sent = good()["figures"]
    assert [f["data"] for f in figs] == [f["data"] for f in sent]  # the page's arrays, as sent
    assert [f["layout"] for f in figs] == [f["layout"] for f in sent]
    assert "<pre>lr = 0.01\nsteps = 100</pre>" in html and "<h2>Settings</h2>" in html
    assert "Saved from http://127.0.0.1:8765/?view=explorer&amp;f_expr=himmelblau" in html
    assert "<figcaption>value per step</figcaption>" in html
    assert "/api/reports" in client.get("/openapi.json").json()["paths"]


def test_nothing_sent_is_reflected_unescaped(client: Any) -> None:
    evil = "</script><img src=x onerror=alert(1)><!--"
    body = {"title": evil, "sections": [{"heading": evil, "text": evil}],
            "figures": [{"heading": evil, "data": [{"type": "scatter", "name": evil,
                                                    "x": [1, float("nan")], "y": [2, 3]}],
                         "layout": {"title": {"text": evil}}}], "url": "javascript:" + evil}  # fmt: skip
    r = client.post(
        "/api/reports", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert r.status_code == 200, r.text
    page = r.text.replace(report.plotly_js(), "")
    assert "<img" not in page and "<!--" not in page and "alert(1)>" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&lt;!--" in page
    (fig,) = [json.loads(t) for t in _FIGURE.findall(r.text)]
    assert fig["data"][0]["name"] == evil and fig["layout"]["title"]["text"] == evil
    assert fig["data"][0]["x"] == [1, None]  # NaN (which Python's JSON reads) becomes null
    assert r.headers["content-disposition"] == (
        'attachment; filename="gradscape-script-img-src-x-onerror-alert-1.html"'
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"figures": [figure()] * (MAX_REPORT_FIGURES + 1)},
         f"at most {MAX_REPORT_FIGURES} figures (MAX_REPORT_FIGURES); got {MAX_REPORT_FIGURES + 1}"),
        ({"sections": [{"heading": "a", "text": "b"}] * (MAX_REPORT_SECTIONS + 1)},
         f"at most {MAX_REPORT_SECTIONS} sections (MAX_REPORT_SECTIONS)"),
        ({"sections": [{"heading": "a", "text": "b" * (MAX_REPORT_CHARS + 1)}]},
         "characters of text (MAX_REPORT_CHARS)"),
        ({"title": "t" * (MAX_HEADING_CHARS + 1)}, "(MAX_HEADING_CHARS)"),
        ({"figures": [{"data": [{"x": [0] * MAX_REPORT_VALUES}], "layout": {"a": 1}}]},
         "values in the figures (MAX_REPORT_VALUES)"),
        ({"figures": [{"data": [{}] * (MAX_FIGURE_TRACES + 1)}]}, "(MAX_FIGURE_TRACES)"),
        ({"figures": [{"data": [{"x": json.loads("[" * MAX_FIGURE_DEPTH + "]" * MAX_FIGURE_DEPTH)}]}]},
         f"nests deeper than {MAX_FIGURE_DEPTH} (MAX_FIGURE_DEPTH)"),
        ({"figures": [{"data": "not a list"}]}, "figures.0.data"),
        ({"sections": [{"heading": 3}]}, "sections.0.heading"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_with_one_line(
    client: Any, change: dict[str, Any], message: str
) -> None:
    r = client.post("/api/reports", json={**good(), **change})
    assert r.status_code == 422, r.text[:300]
    assert message in r.json()["error"]


def test_bad_json_and_a_huge_body_are_refused(client: Any) -> None:
    r = client.post(
        "/api/reports", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "not valid JSON" in r.json()["error"]
    huge = b'{"title": "' + b"x" * (13 * 2**20) + b'"}'
    r = client.post("/api/reports", content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "MAX_BODY_BYTES" in r.json()["error"]


def test_file_names_are_plain() -> None:
    assert file_name("") == "gradscape-report.html"
    assert file_name("../../etc/passwd\r\nX: y") == "gradscape-etc-passwd-x-y.html"
    assert file_name("Ünïcode ✓") == "gradscape-n-code.html"


def test_text_that_is_not_unicode_is_replaced_not_a_500(client: Any) -> None:
    body = (
        b'{"title": "a\\ud800", "figures": [{"heading": "\\udfff", "data": [{"name": "\\ud800"}]}]}'
    )
    r = client.post("/api/reports", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and "<title>a?</title>" in r.text


def test_the_saved_report_opens_offline_in_a_browser(
    client: Any, browser: Any, tmp_path: Any
) -> None:
    from conftest import screenshot

    surface = {"type": "surface", "z": [[0, 1, 4], [1, 2, 5], [4, 5, 8]]}
    # a remote image in a layout is never fetched: the report's policy loads nothing from anywhere
    remote = {
        "images": [{"source": "http://example.com/x.png", "x": 0, "y": 0, "sizex": 1, "sizey": 1}]
    }
    body = {**good(), "figures": [*good()["figures"],
                                  {"heading": "surface", "data": [surface], "layout": remote}]}  # fmt: skip
    path = tmp_path / "saved.html"
    path.write_bytes(client.post("/api/reports", json=body).content)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    requests: list[str] = []
    context.route(re.compile(r"^(https?|wss?)://"), lambda route: (requests.append(route.request.url), route.abort()))  # fmt: skip
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-drawn='3']", timeout=30_000)
    assert page.locator(".js-plotly-plot .main-svg").count() >= 3
    assert page.evaluate("document.getElementById('gs-fig-0').data[0].y") == [0, 1, 4]
    sent = "fetch('http://example.com/').then(() => 'sent', () => 'refused')"
    assert page.evaluate(sent) == "refused"
    screenshot(page, "report-saved-view")
    context.close()
    assert not errors and not requests


def test_the_pages_button_downloads_the_report(page: Any, tmp_path: Any) -> None:
    """ "Save as report" on the page: the view's registered figure goes to /api/reports and comes
    back as a download holding the same data."""
    page.goto(page.base + "/?view=story")
    page.wait_for_selector("#view-story:not([hidden])")
    page.evaluate(
        """async () => {
          const { registerReport } = await import("/static/common.js");
          const div = document.createElement("div");
          document.getElementById("view-story").append(div);
          await Plotly.newPlot(div, [{type: "scatter", x: [1, 2, 3], y: [3, 1, 2], name: "line"}],
                               {title: {text: "a figure"}});
          registerReport("story", () => ({
            title: "The story", sections: [{heading: "Numbers", text: "SSE = 1.5"}],
            figures: [{heading: "The line", div}],
          }));
        }"""
    )
    with page.expect_download() as info:
        page.click("#save-report")
    path = tmp_path / "saved.html"
    info.value.save_as(path)
    assert info.value.suggested_filename == "gradscape-story.html"
    html = path.read_text(encoding="utf-8")
    (fig,) = [json.loads(t) for t in _FIGURE.findall(html)]
    assert fig["data"][0]["x"] == [1, 2, 3] and fig["data"][0]["y"] == [3, 1, 2]
    assert "<h2>Numbers</h2>" in html and "Saved from http://127.0.0.1:" in html
