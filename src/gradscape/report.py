"""A self-contained HTML report: text sections and interactive plotly figures, plotly.js inlined.

The file opens offline: plotly.js is read from the ``plotly`` Python package's own copy and
written into the file once (never a CDN link). Every text a user chose (an expression, a column
name, a file name, a title) is HTML-escaped; each figure's JSON sits in a
``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as ``\\u003c``… so no text
inside it can close the tag, and is drawn by one small script at the end.
"""

from __future__ import annotations

import functools
import html
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Any

from . import __version__
from ._files import finite_json, write_text

#: A story's section: its heading and its lines of text.
Section = tuple[str, Sequence[str]]
#: The file name every verb writes its report under.
REPORT = "report.html"
#: What the report may load: nothing from anywhere (it opens offline, and no text in it can fetch
#: or send anything); its own inline script and styles (plotly.js compiles its WebGL code with
#: ``Function``, hence ``unsafe-eval``), and images plotly.js makes itself.
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'")  # fmt: skip

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:2em auto;
padding:0 1.2em;color:#1f2937;line-height:1.5;font-size:17px}
h1{font-size:1.9em;margin-bottom:.2em}
h2{font-size:1.35em;border-bottom:1px solid #d1d5db;padding-bottom:.2em;margin-top:1.8em}
pre{background:#f8fafc;border:1px solid #e2e8f0;border-radius:6px;padding:.8em 1em;overflow-x:auto;
font-size:.9em;white-space:pre-wrap}
figure{margin:1.4em 0;border:1px solid #e5e7eb;border-radius:8px;padding:.6em}
figcaption{color:#4b5563;font-size:.95em;margin-top:.3em;text-align:center}
.plot{width:100%;min-height:420px}.failed{color:#b91c1c}
.muted{color:#6b7280;font-size:.9em}ul.files{columns:3}
"""

# Draws every figure; marks <body data-drawn="N"> when all N are drawn (tests wait for it).
_DRAW = """
(function () {
  var config = {responsive: true, displaylogo: false};
  var figs = document.querySelectorAll("script.gs-figure");
  var jobs = [];
  figs.forEach(function (el) {
    var div = document.getElementById(el.getAttribute("data-target"));
    try {
      var fig = JSON.parse(el.textContent);
      jobs.push(Plotly.newPlot(div, fig.data || [], fig.layout || {}, config));
    } catch (e) {
      div.className = "failed";
      div.textContent = "This figure could not be drawn: " + e;
    }
  });
  Promise.all(jobs).then(function () { document.body.setAttribute("data-drawn", String(jobs.length)); });
})();
"""


@dataclass(frozen=True)
class Figure:
    """One interactive figure of a report.

    Attributes:
        spec: plotly figure JSON, ``{"data": [...], "layout": {...}}`` (see :mod:`gradscape.figures`).
        caption: a line under it.
        section: the heading of the section it goes under; figures that name no section (or
            one the report lacks) go at the end.
    """

    spec: Mapping[str, Any]
    caption: str = ""
    section: str | None = None


def plotly_path() -> Path:
    """The minified plotly.js inside the ``plotly`` Python package (found without importing it)."""
    spec = util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The plotly package is missing; install gradscape's dependencies.")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.js's text, safe inside a ``<script>`` element."""
    text = plotly_path().read_text(encoding="utf-8")
    return _no_close(text)


def _no_close(js: str) -> str:
    # "</script" would end the element early; "<\/script" means the same in any JS string/regex.
    low = js.lower()
    if "</script" not in low:
        return js
    out, i = [], 0
    while (j := low.find("</script", i)) >= 0:
        out += [js[i:j], "<\\/"]
        i = j + 2
    return "".join([*out, js[i:]])


def figure_json(spec: Mapping[str, Any]) -> str:
    """``spec`` as JSON that is safe inside ``<script type="application/json">``: strict JSON
    (NaN and infinities as null) with ``<``, ``>`` and ``&`` escaped, so no string can close
    the element or open a comment."""
    text = json.dumps(finite_json(spec), allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, code)
    return text


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def render(
    title: str,
    sections: Sequence[Section],
    figures: Sequence[Figure] = (),
    *,
    footer: str = "",
    files: Sequence[str] = (),
    source: str = "",
) -> str:
    """The report's HTML.

    Args:
        title: the page's title and first heading.
        sections: ``(heading, lines)`` of the story, each shown as preformatted text.
        figures: the interactive figures, each placed under the section it names.
        footer: a line at the end.
        files: names of files beside the report (linked, relative: they open offline too).
        source: where the report came from (a page's URL), shown as text, never as a link.
    """
    headings = {h for h, _ in sections}
    placed: dict[str | None, list[Figure]] = {}
    for f in figures:
        placed.setdefault(f.section if f.section in headings else None, []).append(f)
    count = 0
    scripts: list[str] = []

    def draw(items: list[Figure]) -> list[str]:
        nonlocal count
        out = []
        for f in items:
            target = f"gs-fig-{count}"
            count += 1
            cap = f"<figcaption>{_esc(f.caption)}</figcaption>" if f.caption else ""
            out.append(f"<figure><div class='plot' id='{target}'></div>{cap}</figure>")
            scripts.append(f"<script type='application/json' class='gs-figure' "
                           f"data-target='{target}'>{figure_json(f.spec)}</script>")  # fmt: skip
        return out

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
    ]
    if source:
        parts.append(f"<p class='muted'>Saved from {_esc(source)}</p>")
    for heading, lines in sections:
        parts.append(f"<h2>{_esc(heading)}</h2>")
        if lines:
            parts.append("<pre>" + _esc("\n".join(lines)) + "</pre>")
        parts += draw(placed.pop(heading, []))
    rest = placed.pop(None, [])
    if rest:
        parts += ["<h2>Figures</h2>", *draw(rest)]
    if files:
        links = "".join(
            f"<li><a href='{_esc(urllib.parse.quote(name))}'>{_esc(name)}</a></li>"
            for name in files
        )
        parts.append(f"<h2>Files beside this report</h2><ul class='files'>{links}</ul>")
    made = f"Made by gradscape {__version__}; the figures are interactive (plotly.js, inlined)."
    parts.append(f"<p class='muted'>{_esc(footer)} {made}</p>")
    parts += scripts
    if count:
        parts.append(f"<script>{plotly_js()}</script>")
        parts.append(f"<script>{_DRAW}</script>")
    parts.append("</body></html>")
    # a lone surrogate (from a file name or a client's JSON) cannot be written as UTF-8
    return "\n".join(parts).encode("utf-8", "replace").decode("utf-8")


def write(path: str | Path, text: str) -> Path:
    """Write a rendered report atomically."""
    return write_text(path, text)


def write_report(
    out: str | Path,
    title: str,
    sections: Sequence[Section],
    figures: Mapping[str, Sequence[tuple[Mapping[str, Any], str]]] | Sequence[Figure],
    files: Sequence[str] = (),
) -> str:
    """Write ``REPORT`` into folder ``out`` (what every verb with ``--out`` does) and return its
    name. ``figures`` maps a section's heading to ``[(spec, caption), ...]``, or is a list of
    :class:`Figure`; ``files`` are the other files the verb wrote, linked from the report."""
    if isinstance(figures, Mapping):
        items = [Figure(spec, caption, heading)
                 for heading, pairs in figures.items() for spec, caption in pairs]  # fmt: skip
    else:
        items = list(figures)
    others = sorted(f for f in files if f != REPORT)
    write(Path(out) / REPORT, render(title, sections, items, files=others))
    return REPORT
