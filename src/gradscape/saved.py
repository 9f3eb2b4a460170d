"""A saved result, shown: the one dispatch from a result file to its class, and what each kind
shows (its text sections from :mod:`gradscape.story`, its interactive figures from
:mod:`gradscape.figures` with their captions), the same for a verb's ``report.html`` and for the
page's "Open a result".

A file is dispatched by the type its header names (:func:`gradscape.results.read_header`), then
read by that class's :meth:`~gradscape.results.Result.load`: no pickle, nothing evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, listing, printable
from .figures import Spec
from .results import Result, read_header
from .story import Section

#: The kinds a saved result is shown from: the type its file names → the verb that writes it.
SHOWN = {
    "Landscape": "landscape",
    "Spectrum": "spectrum",
    "Minima": "multistart",
    "Race": "race",
}
#: The other saved results and the verbs that write each (their ``report.html`` shows it).
WRITTEN_BY = {
    "Run": "descend or tour",
    "Batch": "multistart",
    "CriticalPoints": "critical",
    "Derivation": "derive",
    "Profile": "sweep",
    "Surface": "sweep or tour",
    "Fit": "fit",
    "Training": "train",
    "Split": "train",
}


@dataclass(frozen=True)
class Shown:
    """What a view shows of a result: a title, text sections, figures with their captions
    (all under the first section, as in the verb's ``report.html``)."""

    title: str
    sections: list[Section]
    figures: list[tuple[Spec, str]] = field(default_factory=list)

    def write_report(self, out: str | Path, files: list[str]) -> str:
        """Write it as the ``report.html`` in folder ``out`` (``files``: the others written
        there, linked from it); returns the report's name."""
        from .report import write_report

        return write_report(out, self.title, self.sections,
                            {self.sections[0][0]: self.figures}, files)  # fmt: skip


def result_class(kind: str) -> type[Result]:
    """The class of a saved result's type (the name its file's header gives).

    Raises:
        InputError: a type gradscape does not write.
    """
    from .batches import Batch
    from .calculus import Derivation
    from .critical import CriticalPoints
    from .fitting.fits import Fit
    from .multistarts import Minima
    from .networks.datasets import Split
    from .networks.landscapes import Landscape
    from .networks.spectra import Spectrum
    from .networks.training import Training
    from .races import Race
    from .runs import Run
    from .sweep import Profile, Surface

    classes: dict[str, type[Result]] = {
        c.__name__: c
        for c in (Landscape, Spectrum, Minima, Race, Run, Batch, CriticalPoints, Derivation,
                  Profile, Surface, Fit, Training, Split)
    }  # fmt: skip
    if kind not in classes:
        raise InputError(
            f"{printable(kind, 40)!r} is not a kind of result gradscape writes "
            f"({listing(sorted(classes))})."
        )
    return classes[kind]


def not_shown(kind: str) -> str:
    """One line for a result type that this view cannot show: the kinds it can, and the verb
    whose ``report.html`` shows this one."""
    verb = WRITTEN_BY.get(kind)
    where = (
        f"; a {kind} is shown by the report.html that `gradscape {verb}` wrote beside it"
        if verb
        else ""
    )
    return (
        f"A saved {printable(kind, 40)} cannot be opened here: {listing(SHOWN)} results can{where}."
    )


def load_result(path: str | Path) -> Result:
    """Read any saved result (``.npz``) as the class its file names.

    Raises:
        InputError: missing, not a saved gradscape result, damaged (the message names the
            field), or holding fields this version does not know.
    """
    _, header = read_header(path)
    return result_class(header["type"]).load(path)


def basins_title(m: Any) -> str:
    """The title of a multistart's basin map (the PNG and the interactive figure)."""
    from .story import count, function_signature

    return (
        f"{function_signature(m)}: basins of {count(len(m.values), 'minimum', 'minima')} "
        f"from {count(m.labels.size, 'start')}"
    )


def shown(result: Any) -> Shown:
    """The title, text and figures of ``result`` (a Landscape, Spectrum, Minima or Race), as
    its verb's ``report.html`` shows them; a landscape or a spectrum names the weights and the
    data it is of as it records them (``weights_of``, ``rows_of``: see
    :func:`gradscape.story.landscape_story`)."""
    from . import figures, story

    kind = type(result).__name__
    if kind == "Landscape":
        captions = {"landscape": "The loss along the line", "contours": "Contours of the loss",
                    "surface": "The loss surface (drag to turn it)"}  # fmt: skip
        figs = figures.landscape(result)
        return Shown("gradscape landscape", story.landscape_story(result),
                     [(figs[n], captions[n]) for n in figs])  # fmt: skip
    if kind == "Spectrum":
        captions = {"eigenvalues": "The extreme eigenvalues (Lanczos; exact ones ringed where formed)",
                    "density": "The spectral density (stochastic Lanczos quadrature)"}  # fmt: skip
        figs = figures.spectrum(result)
        return Shown("gradscape spectrum", story.spectrum_story(result),
                     [(figs[n], captions[n]) for n in figs])  # fmt: skip
    if kind == "Minima":
        figs = figures.multistart(result, basins_title(result)) if result.grid is not None else {}
        cap = "Each start coloured by the minimum it reached (hover for each)"
        return Shown(f"gradscape multistart: {story.function_signature(result)}",
                     story.multistart_story(result),
                     [(f, cap) for f in figs.values()])  # fmt: skip
    if kind == "Race":
        cap = "Success per optimizer (left) and against the learning rate tried (right)"
        return Shown(f"gradscape race: {story.function_signature(result)}",
                     story.race_story(result), [(f, cap) for f in figures.race(result).values()])  # fmt: skip
    raise InputError(not_shown(kind))
