"""The page's "Save as report": ``POST /api/reports`` freezes a view into the same self-contained
HTML file the CLI verbs write (:func:`gradscape.report.render`: text sections, interactive plotly
figures, plotly.js inlined), returned as a download.

The page sends its plotly divs' ``data`` and ``layout`` as they are; they are embedded as JSON
that cannot close its ``<script>`` element, and every text is HTML-escaped. The request is
capped: figures, sections, text, values in the figures and how deeply they nest.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator, model_validator

from .. import report

#: Most figures in one report.
MAX_REPORT_FIGURES = 24
#: Most text sections in one report.
MAX_REPORT_SECTIONS = 40
#: Most characters of text in all (title, headings, sections, the page's address).
MAX_REPORT_CHARS = 200_000
#: Most values (numbers and strings) in all the figures' data and layouts together.
MAX_REPORT_VALUES = 2_000_000
#: Deepest nesting of a figure's JSON.
MAX_FIGURE_DEPTH = 24
#: Most traces in one figure.
MAX_FIGURE_TRACES = 100
#: Longest title or heading.
MAX_HEADING_CHARS = 300
#: Longest page address.
MAX_URL_CHARS = 4_000


def _too_many(v: Any, cap: int, name: str, what: str) -> Any:
    if isinstance(v, list) and len(v) > cap:
        raise ValueError(f"at most {cap} {what} ({name}); got {len(v)}")
    return v


def _short(v: Any, cap: int, name: str) -> Any:
    if isinstance(v, str) and len(v) > cap:
        raise ValueError(f"at most {cap:,} characters ({name}); got {len(v):,}")
    return v


class SectionIn(BaseModel):
    """A text section: a heading and its text (lines separated by newlines)."""

    heading: str = ""
    text: str = ""

    @field_validator("heading", mode="before")
    @classmethod
    def _heading(cls, v: Any) -> Any:
        return _short(v, MAX_HEADING_CHARS, "MAX_HEADING_CHARS")


class FigureIn(BaseModel):
    """A plotly figure of the page: its heading, and the div's ``data`` and ``layout``."""

    heading: str = ""
    data: list[dict[str, Any]] = Field(default_factory=list)
    layout: dict[str, Any] = Field(default_factory=dict)

    @field_validator("heading", mode="before")
    @classmethod
    def _heading(cls, v: Any) -> Any:
        return _short(v, MAX_HEADING_CHARS, "MAX_HEADING_CHARS")

    @field_validator("data", mode="before")
    @classmethod
    def _traces(cls, v: Any) -> Any:
        return _too_many(v, MAX_FIGURE_TRACES, "MAX_FIGURE_TRACES", "traces in a figure")


class ReportIn(BaseModel):
    """What "Save as report" sends."""

    title: str = "gradscape"
    sections: list[SectionIn] = Field(default_factory=list)
    figures: list[FigureIn] = Field(default_factory=list)
    url: str = ""

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, v: Any) -> Any:
        return _short(v, MAX_HEADING_CHARS, "MAX_HEADING_CHARS")

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, v: Any) -> Any:
        return _short(v, MAX_URL_CHARS, "MAX_URL_CHARS")

    @field_validator("sections", mode="before")
    @classmethod
    def _sections(cls, v: Any) -> Any:
        return _too_many(v, MAX_REPORT_SECTIONS, "MAX_REPORT_SECTIONS", "sections")

    @field_validator("figures", mode="before")
    @classmethod
    def _figures(cls, v: Any) -> Any:
        return _too_many(v, MAX_REPORT_FIGURES, "MAX_REPORT_FIGURES", "figures")

    @model_validator(mode="after")
    def _sizes(self) -> ReportIn:
        chars = len(self.title) + len(self.url)
        chars += sum(len(s.heading) + len(s.text) for s in self.sections)
        chars += sum(len(f.heading) for f in self.figures)
        if chars > MAX_REPORT_CHARS:
            raise ValueError(
                f"at most {MAX_REPORT_CHARS:,} characters of text (MAX_REPORT_CHARS); got {chars:,}"
            )
        count = 0
        for f in self.figures:
            count += _values(f.data, 1) + _values(f.layout, 1)
            if count > MAX_REPORT_VALUES:
                raise ValueError(
                    f"at most {MAX_REPORT_VALUES:,} values in the figures (MAX_REPORT_VALUES)"
                )
        return self


def _values(v: Any, depth: int) -> int:
    """How many leaf values ``v`` holds; refuses nesting deeper than :data:`MAX_FIGURE_DEPTH`."""
    if depth > MAX_FIGURE_DEPTH:
        raise ValueError(f"a figure nests deeper than {MAX_FIGURE_DEPTH} (MAX_FIGURE_DEPTH)")
    if isinstance(v, dict):
        return sum(_values(x, depth + 1) for x in v.values())
    if isinstance(v, list):
        return sum(_values(x, depth + 1) for x in v)
    return 1


def file_name(title: str) -> str:
    """``gradscape-<title in plain letters>.html``: safe in a header and on any file system."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-")
    return f"gradscape-{slug or 'report'}.html"


def build(req: ReportIn) -> str:
    """The report's HTML for a request (the same renderer as the CLI verbs' report.html)."""
    sections = [(s.heading, s.text.splitlines()) for s in req.sections]
    figures = [
        report.Figure({"data": f.data, "layout": f.layout}, f.heading, f.heading)
        for f in req.figures
    ]
    return report.render(req.title or "gradscape", sections, figures, source=req.url,
                         footer="Saved from gradscape's interactive page.")  # fmt: skip


def router(app: FastAPI) -> APIRouter:
    r = APIRouter(prefix="/api/reports", tags=["reports"])

    @r.post(
        "",
        response_class=Response,
        responses={200: {"content": {"text/html": {}}, "description": "the report, a download"}},
    )
    def save(req: ReportIn) -> Response:
        """Freeze a view: its text and plotly figures as one self-contained HTML file (plotly.js
        inlined, opens offline), sent as a download."""
        return Response(
            build(req),
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{file_name(req.title)}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    return r
