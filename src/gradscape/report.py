"""A self-contained HTML report: the story's text and every figure embedded as base64 PNG."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from . import __version__
from ._files import write_text
from .story import Section

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
pre{background:#f7f7f9;border:1px solid #e4e4e8;border-radius:6px;padding:.8em 1em;overflow-x:auto;font-size:.86em}
figure{margin:1em 0;text-align:center}img{max-width:100%;height:auto}figcaption{color:#666;font-size:.9em}
.muted{color:#777;font-size:.9em}
"""


def render(
    title: str,
    sections: list[Section],
    figures: dict[str, list[tuple[Path, str]]],
    footer: str = "",
) -> str:
    """HTML for ``sections``; ``figures`` maps a section title to ``[(png_path, caption), ...]``."""

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for heading, lines in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append("<pre>" + html.escape("\n".join(lines)) + "</pre>")
        for path, caption in figures.get(heading, []):
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            parts.append(
                f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    parts.append(f"<p class='muted'>{html.escape(footer)} Made by gradscape {__version__}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(path: str | Path, text: str) -> Path:

    return write_text(path, text)
