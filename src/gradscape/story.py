"""The tour told in words: sections of plain text lines, shared by the CLI and the HTML report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import listing, printable

if TYPE_CHECKING:
    from .calculus import Derivation
    from .functions import TestFunction
    from .sweep import Profile, Surface
    from .tours import TourResult

Section = tuple[str, list[str]]


def _g(v: float, digits: int = 6) -> str:
    return f"{v:.{digits}g}"


def _signed(v: float) -> str:
    return f"− {_g(abs(v))}" if v < 0 else f"+ {_g(v)}"


def table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """Text table; ``align`` has one ``l`` or ``r`` per column (default: all right)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    align = align or "r" * len(header)

    def fmt(cells: list[str]) -> str:
        parts = [
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [fmt(header), fmt(["─" * w for w in widths]), *(fmt(r) for r in rows)]


def descent_rows(result: TourResult, head: int = 6, tail: int = 3) -> list[list[str]]:
    """The first ``head`` recorded steps and the true last ``tail`` steps (descent records
    its last steps one by one), with a ``⋮`` row wherever steps are left out."""
    t = result.trajectory
    k = t.steps.size
    shown = sorted(set(range(min(head, k))) | set(range(max(0, k - tail), k)))
    rows = []
    for prev, i in zip([None, *shown], shown, strict=False):
        if prev is not None and t.steps[i] != t.steps[prev] + 1:
            rows.append(["⋮"] * 7)
        m, c = t.params[i]
        gm, gc = t.gradients[i]
        rows.append(
            [
                str(t.steps[i]),
                _g(m),
                _g(c),
                _g(t.values[i]),
                _g(gm, 4),
                _g(gc, 4),
                _g(t.step_sizes[i], 3),
            ]
        )
    return rows


def _clean(v: float, noise: float) -> float:
    """``v``, or 0 when it is within rounding ``noise`` of 0 (see :meth:`TourResult.rounding`)."""
    return 0.0 if abs(v) <= noise else float(v)


def _lowest(p: Profile | Surface, noise: dict[str, float] | None = None, digits: int = 6) -> str:
    """Where a profile or surface is lowest: the refined minimum, or the grid value so named
    (``noise``: per parameter, the size below which a value is rounding noise, shown as 0)."""
    low = p.minimum
    if low is None:
        return "undefined everywhere on its grid"
    noise = noise or {}
    at = ", ".join(
        f"{k} = {_g(_clean(v, noise.get(k, 0.0)), digits)}" for k, v in low["point"].items()
    )
    if low["refined"]:
        return f"lowest at {at} (Newton's method from the best grid cell)"
    return f"{low['note']}: {at}"


def tour_story(result: TourResult) -> list[Section]:
    """The classic story as titled sections of text lines."""
    d, s, t, p = result.data, result.stats, result.trajectory, result.plan
    x, y = d.x, d.y
    sx, sy, sxx, sxy = float(x.sum()), float(y.sum()), float(x @ x), float(x @ y)
    noise = result.rounding()
    m_star, c_star = _clean(s.m, noise["m"]), _clean(s.c, noise["c"])
    sse_star = _clean(s.sse_min, noise["sse"])
    sections: list[Section] = []

    rows = [[str(i + 1), _g(x[i]), _g(y[i])] for i in range(min(5, d.n))]
    sections.append(
        (
            "1. The data",
            [
                f"{d.name}: {d.n} points, {d.x_label} in [{_g(x.min(), 4)}, {_g(x.max(), 4)}], "
                f"{d.y_label} in [{_g(y.min(), 4)}, {_g(y.max(), 4)}]",
                *d.notes,
                *(["Choose other columns with --x and --y."] if d.columns_guessed else []),
                "",
                *table(["row", d.x_label, d.y_label], rows),
                *(["  ⋮"] if d.n > 5 else []),
            ],
        )
    )

    sections.append(
        (
            "2. The model, its error, and one update rule per weight",
            [
                "model:   y = m·x + c",
                "error:   SSE(m, c) = Σᵢ (yᵢ − (m·xᵢ + c))²      (the sum of squared errors)",
                "",
                "partial derivatives (chain rule: d(u²) = 2u·du, and ∂u/∂m = −xᵢ, ∂u/∂c = −1):",
                "  ∂SSE/∂m = −2 Σᵢ xᵢ·(yᵢ − (m·xᵢ + c))  =  2(Σx²)·m + 2(Σx)·c − 2(Σxy)",
                f"          = {_g(2 * sxx)}·m {_signed(2 * sx)}·c {_signed(-2 * sxy)}",
                "  ∂SSE/∂c = −2 Σᵢ (yᵢ − (m·xᵢ + c))     =  2(Σx)·m + 2N·c − 2(Σy)",
                f"          = {_g(2 * sx)}·m {_signed(2 * d.n)}·c {_signed(-2 * sy)}",
                "",
                "gradient descent moves each weight against its own partial derivative (η = learning rate):",
                "  m ← m − η·∂SSE/∂m",
                "  c ← c − η·∂SSE/∂c",
                "",
                f"setting both partials to zero gives the closed form: m* = {_g(m_star)}, "
                f"c* = {_g(c_star)}, SSE* = {_g(sse_star)}",
            ],
        )
    )

    pm, pc = result.profiles
    sections.append(
        (
            "3. One weight at a time: 1-D error profiles",
            [
                f"SSE along m with c held at {_g(pc_fixed(pm, 'c', noise))}: a parabola, {_lowest(pm, noise)}",
                f"SSE along c with m held at {_g(pc_fixed(pc, 'm', noise))}: a parabola, {_lowest(pc, noise)}",
                "each partial derivative is the slope of its profile; both slopes are zero at the bottom.",
            ],
        )
    )

    surf = result.surface
    gmin = surf.argmin()
    lam_min, lam_max = result.eigenvalues
    sections.append(
        (
            "4. Both weights at once: the error surface",
            [
                f"SSE over m in [{_g(surf.x[0], 4)}, {_g(surf.x[-1], 4)}] × c in "
                f"[{_g(surf.y[0], 4)}, {_g(surf.y[-1], 4)}] on a {surf.x.size}×{surf.y.size} grid",
                f"Hessian = [[2Σx², 2Σx], [2Σx, 2N]] = [[{_g(2 * sxx)}, {_g(2 * sx)}], [{_g(2 * sx)}, {2 * d.n}]]",
                f"eigenvalues λ = {_g(lam_min, 4)} and {_g(lam_max, 4)}: both > 0, so the surface is a convex bowl",
                f"condition number κ = λmax/λmin = {_g(result.condition, 4)}"
                + ("  (a long, narrow valley)" if result.condition > 100 else ""),
                f"lowest grid cell: m = {_g(_clean(gmin['m'], noise['m']), 5)}, "
                f"c = {_g(_clean(gmin['c'], noise['c']), 5)}; " + _lowest(surf, noise),
                f"closed form: m* = {_g(m_star)}, c* = {_g(c_star)}",
            ],
        )
    )

    sections.append(
        (
            "5. Gradient descent",
            [
                f"start: m = {_g(result.start['m'])}, c = {_g(result.start['c'])}",
                *([f"coordinates: {result.coordinates}"] if result.coordinates else []),
                f"learning rate: {p.lr_reason}",
                f"step budget: {p.steps_reason}",
                f"stop rule: gradient norm ≤ {_g(p.gtol, 3)}"
                + (f" (of SSE({', '.join(result.descent_names)}))" if result.coordinates else ""),
                "",
                *table(
                    ["step", "m", "c", "SSE", "∂SSE/∂m", "∂SSE/∂c", "step size"],
                    descent_rows(result),
                ),
                "",
                t.message,
            ],
        )
    )

    fm, fc = t.final_params["m"], t.final_params["c"]
    rows = [
        ["m", _g(fm, 10), _g(m_star, 10), _g(_clean(fm - s.m, noise["m"]), 3)],
        ["c", _g(fc, 10), _g(c_star, 10), _g(_clean(fc - s.c, noise["c"]), 3)],
        [
            "SSE",
            _g(_clean(t.final_value, noise["sse"]), 10),
            _g(sse_star, 10),
            _g(_clean(t.final_value - s.sse_min, noise["sse"]), 3),
        ],
    ]
    how_far = (
        f"it ended {result.distance:.2g} from it in standardised units (slope in sd(y)/sd(x), "
        f"intercept in sd(y); up to {result.tolerance:.2g} counts as reached)"
    )
    verdict = (
        f"gradient descent reached the closed-form least-squares line: {how_far}."
        if result.reached and t.converged
        else f"gradient descent did not reach the closed form: {how_far}. {t.message}."
    )
    sections.append(
        (
            "6. Result",
            [*table(["", "gradient descent", "closed form", "difference"], rows), "", verdict],
        )
    )
    return sections


def pc_fixed(p: Profile, name: str, noise: dict[str, float]) -> float:
    """The value a profile holds ``name`` at, with rounding noise shown as 0."""
    return _clean(p.fixed[name], noise[name])


# -- derive -----------------------------------------------------------------------------------
_KIND_TEXT = {
    "minimum": "a local minimum: every Hessian eigenvalue is positive, f curves up in every "
    "direction",
    "maximum": "a local maximum: every Hessian eigenvalue is negative, f curves down in every "
    "direction",
    "saddle": "a saddle point: the Hessian has eigenvalues of both signs, f goes up along some "
    "directions and down along {index}",
    "degenerate": "degenerate: a Hessian eigenvalue is zero, so the second-derivative test cannot "
    "decide (look at higher derivatives or nearby values)",
}


_A_KIND = {
    "minimum": "a minimum",
    "maximum": "a maximum",
    "saddle": "a saddle point",
    "degenerate": "a degenerate point",
}


def _d(var: str, name: str = "f") -> str:
    return f"∂{name}/∂{var}"


def _chop(v: np.ndarray, scale: float, rel: float = 1e-12) -> np.ndarray:
    """Entries at rounding level against ``scale`` shown as 0 (``1.29e-26`` beside ``2``)."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(np.abs(v) <= rel * scale, 0.0, v) + 0.0  # + 0.0 turns -0 into 0


def _one_sided(v: float) -> str:
    if np.isnan(v):
        return "undefined"
    return _g(v, 12) if np.isfinite(v) else ("+∞" if v > 0 else "−∞")


_KINK_KIND = {
    "minimum": "a minimum",
    "maximum": "a maximum",
    "not an extremum": "neither a minimum nor a maximum",
    "undecided": "undecided",
}


_CONVENTION = "autodiff returns"  # the note shown beside the numbers, not with the others


def derive_story(d: Derivation) -> list[Section]:
    """What ``gradscape derive`` prints: formulas, numbers, checks, Taylor and the kind of point."""
    sections: list[Section] = []
    names = d.variables
    lines = [f"{d.label} = {d.formula}" if d.formula else d.label]
    if d.partials:
        lines += ["", "partial derivatives (symbolic):"]
        lines += [f"  {_d(n)} = {d.partials[n]}" for n in names]
    if d.hessian_formulas is not None:
        lines += ["", "second partial derivatives (the Hessian):"]
        for i, a in enumerate(names):
            for j in range(i, len(names)):
                b = names[j]
                lhs = f"∂²f/∂{a}²" if i == j else f"∂²f/∂{a}∂{b}"
                lines.append(f"  {lhs} = {d.hessian_formulas[i][j]}")
    elif d.partials:
        lines += ["", f"(the {len(names)}×{len(names)} symbolic Hessian is not written out)"]
    sections.append(("The function and its derivatives", lines))
    notes = [f"{n}." for n in d.notes if not n.startswith(_CONVENTION)]
    if d.point is None:
        return sections + [("Notes", notes)] * bool(notes)

    point = ", ".join(f"{k} = {v:.15g}" for k, v in d.point.items())  # as typed, every digit
    lines = [f"f = {_g(d.value or 0.0, 12)}", ""]
    if d.one_sided is not None:
        verdict = "is differentiable here all the same" if d.differentiable else "is NOT"
        lines += [
            f"not smooth here: {d.reason}.",
            f"f {verdict} differentiable here; its one-sided partial derivatives:"
            if not d.differentiable
            else f"f {verdict}: its one-sided partial derivatives agree:",
            "",
        ]
        rows = [[_d(n), _one_sided(a), _one_sided(b)] for n, (a, b) in d.one_sided.items()]
        lines += table(["", "from the left", "from the right"], rows, "lrr")
    elif d.differentiable is False:
        lines += [f"not differentiable here: {d.reason}."]
    if d.gradient is not None and d.fd_gradient is not None:
        g, fd = np.asarray(d.gradient), np.asarray(d.fd_gradient)
        size = float(np.max(np.abs(np.concatenate([g, fd]))))
        g, fd = _chop(g, size), _chop(fd, size)
        rows = [
            [_d(n), _g(float(a), 12), _g(float(b), 12), f"{abs(a - b):.1e}" if a != b else "0"]
            for n, a, b in zip(names, g, fd, strict=True)
        ]
        lines += [""] * bool(d.one_sided) + table(
            ["", "autodiff", "finite differences", "difference"], rows, "lrrr"
        )
        lines += ["", *_check_lines(d, np.asarray(d.gradient), np.asarray(d.fd_gradient))]
    lines += [f"note: {n}." for n in d.notes if n.startswith(_CONVENTION)]
    sections.append((f"At {point}", lines))

    h = d.hessian
    if h is not None:
        n = len(names)
        lines = []
        scale = float(np.max(np.abs(h))) if h.size else 0.0
        shown_h = _chop(h, scale)
        if n <= 8:
            width = max(len(_g(v)) for v in shown_h.ravel())
            lines += ["H = "] + [
                "  [ " + "  ".join(_g(v).rjust(width) for v in row) + " ]" for row in shown_h
            ]
        else:
            from .calculus import MAX_JSON_HESSIAN

            where = "--json or derivation.npz" if n <= MAX_JSON_HESSIAN else "derivation.npz"
            lines.append(f"H is {n}×{n} (see {where})")
        eig = _chop(np.asarray(d.hessian_eigenvalues), scale)
        shown = ", ".join(_g(v) for v in eig[:8]) + (", …" if eig.size > 8 else "")
        lines += ["", f"eigenvalues: {shown}"]
        sections.append(("The Hessian at the point", lines))

    if d.taylor1 is not None:
        second = (
            f"second order: f ≈ {d.taylor2}"
            if d.taylor2 is not None
            else "second order: not given (see the notes)"
        )
        sections.append(
            ("Taylor approximations around the point", [f"first order:  f ≈ {d.taylor1}", second])
        )
    sections.append(("What kind of point", _kind_lines(d)))
    return sections + [("Notes", notes)] * bool(notes)


def _check_lines(d: Derivation, g: np.ndarray, fd: np.ndarray) -> list[str]:
    """The verdict of the gradient check in words, with the numbers behind it."""
    from .calculus import AGREEMENT
    from .descent import safe_norm

    rel = f"relative error {d.fd_relative_error:.1e}; {AGREEMENT:.0e} or less is agreement"
    big = float(np.max(np.abs(np.concatenate([g, fd]))))
    size = big * float(np.linalg.norm(np.concatenate([g, fd]) / big)) if big else 0.0
    diff = float(np.max(np.abs(g - fd)))
    bound = d.fd_error_bound or 0.0
    if not d.fd_agree:
        why = any(n.startswith("finite differences straddle") for n in d.notes)
        verdict = f"autodiff and finite differences DISAGREE ({rel})" + " (see the notes)" * why
    elif diff <= AGREEMENT * size:
        verdict = f"autodiff and finite differences agree ({rel})"
    else:  # within what central differences resolve: the case of a zero gradient
        verdict = (
            f"autodiff and finite differences agree: they differ by {diff:.1e}, within central "
            f"differences' own error here (about {bound:.1e}; {rel})"
        )
    return [f"gradient check: {verdict}", f"|∇f| = {_g(float(safe_norm(g)))}"]


def _kind_lines(d: Derivation) -> list[str]:
    """The kind of point, in words: from the one-sided probes at a kink, else the Hessian."""
    from .descent import safe_norm

    if d.one_sided is not None and (not d.differentiable or d.critical):
        what = _KINK_KIND.get(str(d.kind), str(d.kind))
        head = "the gradient vanishes here, and" if d.differentiable else "here"
        return [f"{head} the point is {what}: {d.kind_basis}."]
    if d.differentiable is False:
        return ["not differentiable here; its kind was not probed (see the notes)."]
    if d.critical is None:
        return [
            "the kind of point needs the Hessian, which is not formed at this size "
            f"(|∇f| = {_g(float(safe_norm(np.asarray(d.gradient))), 3)})."
        ]
    if d.critical:
        text = _KIND_TEXT[str(d.kind)].format(
            index=f"{d.index} direction{'s' if d.index != 1 else ''} (index {d.index})"
        )
        return [f"the gradient vanishes here: a critical point, {text}."]
    kind = [
        "not a critical point: the gradient is not zero, so f changes here; it rises "
        "fastest along ∇f and gradient descent steps along −∇f."
    ]
    near = d.near_critical_kind
    if near is not None:
        kind.append(
            f"The gradient is small, though (|∇f| = {_g(float(safe_norm(np.asarray(d.gradient))), 3)}):"
            f" this is close to a critical point, and the Hessian here is that of {_A_KIND[near]}"
            " (give the point to more digits to decide)."
        )
    return kind


# -- sweep ------------------------------------------------------------------------------------
def sweep_story(result: Profile | Surface, formula: str | None) -> list[Section]:
    """What ``gradscape sweep`` prints: the grid, the extremes found on it and any undefined part."""
    from .sweep import Profile

    lines = [f"{result.label} = {formula}" if formula else result.label]
    if isinstance(result, Profile):
        lines.append(
            f"{result.name} from {_g(result.axis[0])} to {_g(result.axis[-1])}, "
            f"{result.axis.size} points"
        )
    else:
        lines.append(
            f"{result.x_name} from {_g(result.x[0])} to {_g(result.x[-1])} and {result.y_name} "
            f"from {_g(result.y[0])} to {_g(result.y[-1])}: {result.x.size} × {result.y.size} grid"
        )
    if result.fixed:
        held = (f"{k} = {_g(v)}" for k, v in result.fixed.items())
        lines.append("held at " + listing(held, what="variables"))
    ext = result.extremes()
    lines.append("")
    for key, word in (("min", "lowest"), ("max", "highest")):
        e = ext[key]
        if e is not None:
            at = ", ".join(f"{k} = {_g(v)}" for k, v in e["point"].items())
            lines.append(f"{word} on the grid: f = {_g(e['value'])} at {at}")
    low = result.minimum
    if low is not None and low["refined"]:
        at = ", ".join(f"{k} = {_g(v, 10)}" for k, v in low["point"].items())
        lines.append(
            f"minimum near the lowest grid cell (Newton's method from it): f = "
            f"{_g(low['value'], 10)} at {at}"
        )
    elif low is not None and "edge" in low["note"]:
        lines.append(
            "the lowest grid value lies at the edge of the range: the minimum may lie outside it"
        )
    undefined = result.undefined_fraction()
    if undefined:
        lines.append(f"f is undefined (or infinite) on {undefined:.1%} of the grid: left blank.")
    if isinstance(result, Profile) and result.derivative is not None:
        crit = result.critical_points()
        slope = f"d{result.label.split('(')[0]}/d{result.name}"
        span = float(np.max(np.abs(result.axis)))
        if result.critical:  # refined from the grid to float precision
            lines += ["", f"where {slope} changes sign (found by bisection on {slope} between "
                      "grid points, to float precision):"]  # fmt: skip
            shown = 24  # the rest are in summary.json
            for p in result.critical[:shown]:
                at = _g(float(_chop(np.array(p["x"]), span)), 12)
                exact = "=" if p["refined"] else "≈"
                lines.append(f"  {result.name} {exact} {at}  {p['kind']}, f = {_g(p['value'], 10)}")
                if p["kind"].startswith(("kink", "singular")) or not p["refined"]:
                    lines.append(f"      ({p['how']})")
            if len(result.critical) > shown:
                lines.append(f"  … {len(result.critical):,} in all (every one in summary.json)")
        elif crit:  # a profile made by hand: the grid's interpolation, said so
            lines += ["", f"where {slope} changes sign (linear interpolation between grid points):"]
            lines += [
                f"  {result.name} ≈ {_g(float(_chop(np.array(x), span)))}  ({kind})"
                for x, kind in crit
            ]
        else:
            lines += [
                "",
                "the derivative keeps its sign: no critical point inside the range."
                if not undefined
                else "the derivative keeps its sign on each stretch where f is defined: no "
                "critical point there.",
            ]
    return [("Sweep", lines)]


# -- functions --------------------------------------------------------------------------------
def functions_story(items: list[TestFunction]) -> list[str]:
    """The built-in test functions, one block each."""
    lines = []
    for f in items:
        dims = "any dimension (name:N)" if f.family else f"{f.dims}-D"
        if len(set(f.domain)) == 1:
            domain = f"[{_g(f.domain[0][0])}, {_g(f.domain[0][1])}] per variable"
        else:
            domain = " × ".join(f"[{_g(lo)}, {_g(hi)}]" for lo, hi in f.domain)
        lines += [
            f"{f.name}  ({dims})",
            f"  f({', '.join(f.variables)}) = {f.formula}",
            f"  domain: {domain}",
            f"  minima: {f.published}",
            f"  {f.note}",
            "",
        ]
    return lines[:-1]


# -- descend ----------------------------------------------------------------------------------
def _curv(c: dict[str, Any] | None) -> str:
    if not c:
        return "n/a"
    stable = f"{_g(c['stable_lr'], 4)}" if c.get("stable_lr") else "none (λmax <= 0)"
    return f"λmax {_g(c['lambda_max'], 4)}, κ {_g(c['condition'], 4)}, 2/λmax {stable}"


def descend_story(obj: Any, start: dict[str, float], runs: list[Any]) -> list[Section]:
    """What ``gradscape descend`` prints: each run's settings, outcome and curvature."""
    at = ", ".join(f"{k} = {_g(v)}" for k, v in start.items())
    head = [f"{obj.signature()} = {obj.formula}" if obj.formula else obj.signature(), f"from {at}"]
    rows = []
    for r in runs:
        end = ", ".join(_g(v, 6) for v in r.params[-1])
        rows.append([r.settings, str(r.n_steps), r.stop_reason, end, _g(r.final_value, 8),
                     _g(float(r.grad_norms[-1]), 3)])  # fmt: skip
    table_lines = table(["optimizer", "steps", "stopped", "end", "f", "|∇f|"], rows, "lrllrr")
    lines = [*head, "", *table_lines, ""]
    for r in runs:
        lines.append(f"{r.optimizer}: {r.message}; lr: {r.lr_reason}")
    curv = [f"at the start: {_curv(runs[0].curvature_start)}"]
    for r in runs:
        curv.append(f"at the end of {r.optimizer}: {_curv(r.curvature_end)}")
    return [("Descent", lines), ("Curvature (Hessian)", curv)]


# -- fit --------------------------------------------------------------------------------------
#: Rows of a step table shown before and after the ``⋮`` of a long one.
FIT_STEPS_HEAD, FIT_STEPS_TAIL = 8, 4
#: Most parameters whose correlation matrix is printed (all in --json).
FIT_CORRELATION_MAX = 8


def _est(v: float) -> str:
    """An estimate with 10 significant digits (what the certified values carry)."""
    return f"{v:.10g}" if np.isfinite(v) else ("—" if np.isnan(v) else _one_sided(v))


def _cell(v: float, digits: int = 4) -> str:
    return "—" if not np.isfinite(v) else _g(v + 0.0, digits)  # + 0.0: no -0


def _correlation(r: float, diagonal: bool) -> str:
    """A correlation with the digits that tell it from ±1 (``-0.999996``, not ``-1``)."""
    if not np.isfinite(r):
        return "—"
    if diagonal:
        return "1"
    gap = 1.0 - abs(r)
    digits = max(3, min(12, int(np.ceil(-np.log10(max(gap, 1e-16)))) + 1))
    return f"{r:.{digits}f}"


def _interval(lo: float, hi: float, nan: str = "open") -> str:
    def side(v: float, inf: str) -> str:
        return nan if np.isnan(v) else (inf if np.isinf(v) else f"{v:.8g}")

    return f"[{side(lo, '−∞')}, {side(hi, '+∞')}]"


def open_sides(note: str) -> str:
    """A profile note (``"upper: b reaches its bound 4 first"``) in words: ``"open above (b
    reaches its bound 4 first)"``; both sides joined by ``;``."""
    parts = []
    for part in note.split("; "):
        side, _, why = part.partition(": ")
        where = {"lower": "open below", "upper": "open above"}.get(side)
        parts.append(f"{where} ({why})" if where and why else part)
    return "; ".join(parts)


def fit_story(fit: Any) -> list[Section]:
    """What ``gradscape fit`` prints: the verdict first, then the parameters with their
    uncertainty, the statistics, the solver's steps, the correlations and the minima of a
    multistart (``fit``: a :class:`gradscape.fitting.fits.Fit`)."""
    p = len(fit.parameters)
    weights = f", weighted by {fit.weights_name}" if fit.weights_name else ""
    head = [
        f"model: {fit.model}",
        f"data: {fit.source}, {fit.n:,} rows; response {fit.response}; "
        f"{'input' if len(fit.inputs) == 1 else 'inputs'} {listing(fit.inputs) or 'none'}"
        f"{weights}",
        f"parameters: {listing(fit.parameters)}",
        "",
        f"verdict: {fit.verdict.upper()}",
        f"stopped because {fit.stop}",
    ]
    if fit.verdict == "converged":
        from .fitting.diagnosis import CONDITION

        passed = ["no Gauss–Newton step left", "the Jacobian of full rank"]
        if fit.condition <= CONDITION:
            passed[-1] += " and well conditioned"
        if np.isfinite(fit.scatter):
            passed.append("the residuals no larger than the data's scatter")
        head.append(f"the checks passed: {', '.join(passed)}"
                    + (" (see the warnings)" if fit.warnings else ""))  # fmt: skip
    head += [f"warning: {w}" for w in fit.warnings]
    head += [f"suggestion: {s}" for s in fit.suggestions]
    sections: list[Section] = [("Verdict", head)]
    if fit.notes:
        sections.append(("Notes", list(fit.notes)))

    has_profile = len(fit.profile_lower) == p
    level = f"{fit.level:.0%}"
    rows = []
    for j, name in enumerate(fit.parameters):
        row = [name, _g(float(fit.start[j])), _est(float(fit.estimates[j])),
               _cell(float(fit.se[j]), 6),
               _interval(float(fit.wald_lower[j]), float(fit.wald_upper[j]), "—")]  # fmt: skip
        if has_profile:
            row.append(_interval(float(fit.profile_lower[j]), float(fit.profile_upper[j])))
        rows.append(row)
    header = ["", "start", "estimate", "std. error", f"Wald {level}"]
    header += [f"profile {level}"] if has_profile else []
    lines = table(header, rows, "lrrrll"[: len(header)])
    bounded = [
        f"{name} bounded to {_interval(float(lo), float(hi))}"
        for name, lo, hi in zip(fit.parameters, fit.lo, fit.hi, strict=True)
        if np.isfinite(lo) or np.isfinite(hi)
    ]
    lines += [""] * bool(bounded) + bounded
    if has_profile:
        lines += [f"{name}: profile interval {open_sides(note)}"
                  for name, note in zip(fit.parameters, fit.profile_notes, strict=True) if note]  # fmt: skip
        lines += ["", f"Wald: estimate ± t·se, t = {fit.t:.6g} ({fit.dof} dof); profile: where "
                  "the SSE with the others re-optimised reaches SSE·(1 + t²/dof)"]  # fmt: skip
    else:
        why = ("no degrees of freedom left: the data fix the estimates but not their "
               "uncertainty" if fit.dof == 0 else "the model fits exactly (SSE = 0)"
               if fit.s == 0 else "--no-intervals")  # fmt: skip
        lines += ["", f"Wald: estimate ± t·se, t = {fit.t:.6g} ({fit.dof} dof); profile "
                  f"intervals not computed ({why})"]  # fmt: skip
    sections.append(("Parameters", lines))

    stats = [
        f"SSE (residual sum of squares): {fit.sse:.10g}",
        f"residual standard deviation s = √(SSE/dof): {fit.s:.10g}",
        f"degrees of freedom: {fit.dof} ({fit.rows_used} rows"
        + (" of positive weight" if fit.rows_used < fit.n else "")
        + (
            f" − {p} parameter{'s' * (p != 1)})"
            if fit.rank == p
            else f" − {fit.rank} directions the data determine, of {p} parameters)"
        ),
        f"R² = 1 − SSE/SST: {0.0 if abs(fit.r2) < 1e-12 else fit.r2:.10g}",  # no -2e-16
        f"condition number of the scaled Jacobian: {fit.condition:.4g} (rank {fit.rank} of {p})",
        f"solver: {fit.method}, {fit.nfev} evaluations, {fit.njev} Jacobians, "
        f"{fit.seconds:.2f} s in all",
    ]
    sections.append(("Statistics", stats))

    k = len(fit.path_sse)
    shown = sorted(set(range(min(FIT_STEPS_HEAD, k))) | set(range(max(0, k - FIT_STEPS_TAIL), k)))
    steps = []
    for prev, i in zip([None, *shown], shown, strict=False):
        if prev is not None and i != prev + 1:
            steps.append(["⋮"] * 5)
        steps.append([str(i), f"{fit.path_sse[i]:.10g}", _cell(float(fit.path_gradient[i]), 4),
                      _cell(float(fit.path_damping[i]), 4), _cell(float(fit.path_step[i]), 4)])  # fmt: skip
    step_lines = table(["iteration", "SSE", "|gradient|", "damping", "step"], steps)
    if k > len(shown):
        step_lines.append(f"{k} iterations ({k - len(shown)} not shown; all in --json)")
    step_lines.append("—: no step led to the first row; elsewhere, not known from the solver")
    if fit.starts:
        step_lines.append("(the last solve: from the best minimum the starts found, polished)")
    sections.append(("Steps of the solver", step_lines))

    if 2 <= p <= FIT_CORRELATION_MAX:
        corr = [[name, *(_correlation(float(v), j == k) for k, v in enumerate(fit.corr[j]))]
                for j, name in enumerate(fit.parameters)]  # fmt: skip
        sections.append(
            ("Correlation of the estimates", table(["", *fit.parameters], corr, "l" + "r" * p))
        )
    elif p > FIT_CORRELATION_MAX:
        sections.append(("Correlation of the estimates",
                         [f"{p} parameters: the matrix is in --json (correlation)"]))  # fmt: skip

    if len(fit.minima_sse):
        rows = [[str(i + 1), *(_est(float(v)) for v in pt), f"{sse:.10g}", str(int(c))]
                for i, (pt, sse, c) in enumerate(zip(fit.minima_points, fit.minima_sse,
                                                      fit.minima_counts, strict=True))]  # fmt: skip
        lines = [f"{fit.starts:,} starts in the bounds (seed {fit.seed}); "
                 f"{len(rows)} distinct {'minimum' if len(rows) == 1 else 'minima'}, lowest SSE "
                 "first (the fit is the first)", ""]  # fmt: skip
        lines += table(["", *fit.parameters, "SSE", "starts"], rows)
        sections.append(("Distinct minima", lines))
    return sections


# -- multistart, race, landscape, spectrum --------------------------------------------------------
# What the CLI prints for these verbs and the page shows for a saved result of each: built from the
# result alone (and, where the file cannot know it, where the weights came from).

#: Said once below a table that lists a point where f is not differentiable.
NON_SMOOTH_NOTE = (
    "(non-smooth): f is not differentiable at that point (a corner), so it has no Hessian; "
    "its kind comes from probing f from every side"
)

_PLURAL = {
    "minimum": "minima",
    "maximum": "maxima",
    "saddle": "saddles",
    "degenerate": "degenerate",
}


def count(n: int, one: str, many: str | None = None) -> str:
    """``"1 critical point"``, ``"3 critical points"``, ``"2 minima"``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def dust(v: float, scale: float) -> float:
    """``v``, or 0 where it is rounding dust (below 1e-12 of the box's size)."""
    return 0.0 if abs(v) < 1e-12 * scale else float(v)


def coords(p: Any, scale: float = 1.0) -> str:
    """A point for a table; rounding dust (below 1e-12 of the box) shows as 0."""
    return ", ".join(f"{dust(v, scale):.6g}" for v in p)


def kind_count(kinds: tuple[str, ...]) -> str:
    """``"120 minima, 1 minimum (non-smooth), 100 maxima"``, in the order first seen."""
    from .point_sets import base_kind

    out = []
    for kind in dict.fromkeys(kinds):
        base = base_kind(kind)
        out.append(count(kinds.count(kind), kind, _PLURAL.get(base, base) + kind[len(base) :]))
    return ", ".join(out)


def kind_cell(kind: str, index: int | None, found: Any) -> str:
    """The kind column: ``"saddle (index 1)"``, ``"minimum (a line)"``."""
    from .flat_sets import article

    text = kind + (f" (index {index})" if kind == "saddle" else "")
    return text + (f" ({article(found['shape'])} {found['shape']})" if found else "")


def set_lines(sets: Any, counts: Any = None) -> list[str]:
    """One line per set of points that are not isolated, with the library's phrase."""
    lines = []
    for i, found in enumerate(sets):
        if found:
            reached = (
                f", reached from {count(int(counts[i]), 'start')}" if counts is not None else ""
            )
            lines.append(
                f"   {found['phrase']} ({count(found['points_found'], 'point')} found{reached}; one entry)"
            )
    return (["", "not isolated points, each listed once:", *lines]) if lines else []


def sets_said(sets: Any) -> str:
    """``" (1 of them a set of points, listed once)"``, or nothing."""
    k = sum(1 for st in sets if st)
    return (
        f" ({k} of them {'a set' if k == 1 else 'sets'} of points, each listed once)" if k else ""
    )


def function_signature(result: Any) -> str:
    """``"f(x, y)"``: the function a multistart or race ran on (a result saved before it kept
    its function is named ``f`` of its variables)."""
    from .objectives import signature

    return str(result.function) or signature("f", result.names)


def function_line(result: Any) -> str:
    """``"f(x, y) = x^2 + y^2"``: the function a multistart or race ran on, as its verb heads
    its text."""
    sig = function_signature(result)
    return f"{sig} = {result.formula}" if result.formula else sig


#: Most minima a multistart's table lists (all in --json).
MINIMA_SHOWN = 20


def multistart_story(m: Any) -> list[Section]:
    """What ``gradscape multistart`` prints for :class:`~gradscape.multistarts.Minima` ``m``:
    the function, the starts and settings, a table of the lowest minima, what did not converge."""
    from .point_sets import NON_SMOOTH

    shown = min(len(m.values), MINIMA_SHOWN)
    found, scale, value = m.point_sets, m.scale, m.shown_values
    rows = [
        [coords(m.points[i], scale), f"{value[i]:.8g}", kind_cell(m.kinds[i], None, found[i]),
         str(m.counts[i]), f"{m.shares[i]:.1%}"]
        for i in range(shown)
    ]  # fmt: skip
    failed = m.failed()
    away = len(m.outside_points) if m.outside_points is not None else 0
    steps = f", up to {count(m.max_steps, 'step')} each" if m.max_steps is not None else ""
    lines = [
        function_line(m),
        f"{count(m.labels.size, 'start')}, {m.settings} (lr: {m.lr_reason}){steps}",
        f"{count(len(m.values), 'distinct minimum', 'distinct minima')} in the box"
        + sets_said(found)
        + (f" (the {shown} lowest shown; all in --json)" if shown < len(m.values) else ""),
        "",
        *(table([", ".join(m.names), "f", "kind", "starts", "basin share"], rows, "rrlrr") if rows else ["no start converged in the box"]),
        *set_lines(found[:shown], m.counts),
        *(["", NON_SMOOTH_NOTE] if any(k.endswith(NON_SMOOTH) for k in m.kinds[:shown]) else []),
        "",
        (f"best: f = {m.values[0]:.10g} at " + ", ".join(f"{n} = {dust(v, scale):.10g}" for n, v in zip(m.names, m.points[0], strict=True))) if rows else "",
        "did not converge: " + (", ".join(f"{c} {k}" for k, c in failed.items()) if failed else "none"),
    ]  # fmt: skip
    if m.starts_note:
        lines.insert(2, m.starts_note)
    if m.walked:
        lines.append(
            f"stalled at a corner: {count(m.walked, 'start')} (the gradient never shrinks there), "
            "walked on to it by gradient sampling"
        )
    if m.outside:
        lines.append(
            f"ended outside the box: {count(m.outside, 'start')}, at "
            f"{count(away, 'point')} beyond it (not listed; all in --json)"
        )
    lines += ["", *(f"warning: {w}" for w in m.warnings)] if m.warnings else []
    return [("Minima", lines)]


def race_story(r: Any) -> list[Section]:
    """What ``gradscape race`` prints for :class:`~gradscape.races.Race` ``r``: the rules and a
    row per optimizer."""
    import math

    rows = []
    diverged = r.diverged if r.diverged is not None else [0] * len(r.optimizers)
    search = r.search or ("",) * len(r.optimizers)
    for name, lr, how, s, m, d, g in zip(
        r.optimizers, r.lr, search, r.success, r.median_steps, diverged, r.median_gap, strict=True
    ):
        rows.append([name, "line search" if lr is None else f"{lr:.3g}",
                     "—" if how == "line search" else how, f"{s:.0%}",
                     "—" if math.isnan(m) else f"{m:g}", f"{d}/{r.starts}",
                     "— (all diverged)" if math.isnan(g) else f"{g:.3g}"])  # fmt: skip
    lines = [
        function_line(r),
        f"global minimum f* = {r.minimum:.10g} ({r.minimum_source})",
        f"{r.tuning_rule()}; up to {count(r.max_steps, 'step')}; success = f − f* "
        f"≤ {r.success_gap:.3g} ({r.tol:g} × its median at the starts)",
        "",
        *table(
            ["optimizer", "lr chosen", "rates", "success", "median steps", "diverged",
             "median final gap"],
            rows, "lrlrrrr",
        ),
        "",
        "median final gap: f − f* at the end, over the test starts that did not diverge",
    ]  # fmt: skip
    return [("Race", lines)]


def landscape_story(land: Any) -> list[Section]:
    """What ``gradscape landscape`` prints for :class:`~gradscape.networks.landscapes.Landscape`
    ``land``: what the grid lies on (through the weights it records, ``weights_of``), its size,
    the data the loss is of (``rows_of``; a file saved before it was recorded says ``rows``),
    the loss at the weights and over the grid, and at how many points the loss is not finite
    (said even where the file's warnings do not say it)."""
    from .networks.landscapes import overflow_warning

    where = printable(land.weights_of)
    rows = printable(land.rows_of or "rows")
    summary = land.summary()
    size = land.alphas.size
    points = f"{size} points" if land.shape == "line" else f"{size} × {size} points"
    grid = (
        f"on the grid from {summary['min']:.6g} to {summary['max']:.6g}"
        if np.isfinite(land.values).any()
        else "not finite anywhere on the grid"
    )
    lines = [
        f"{land.description()}, through {where}" if where else land.description(),
        f"{points}, the loss on {land.rows} {rows}",
        f"loss at the trained weights: {land.center_loss:.6g}; {grid}",
    ]
    if land.kind == "between":
        lines.append(f"loss at the other run: {land.end_loss:.6g}; barrier on the way: "
                     f"{summary['barrier']:.4g}")  # fmt: skip
    if land.explained.size:
        lines.append(land.explained_text())
    said = overflow_warning(land.values)
    warnings = [*land.warnings, *([said] if said and said not in land.warnings else [])]
    lines += [f"warning: {w}" for w in warnings]
    return [("Loss landscape", lines)]


def spectrum_story(sp: Any) -> list[Section]:
    """What ``gradscape spectrum`` prints for :class:`~gradscape.networks.spectra.Spectrum`
    ``sp``: the extreme eigenvalues with their residual bounds (and the exact ones where
    formed), the trace, each layer's block, at the weights it records (``weights_of``)."""
    where = printable(sp.weights_of)
    at = f" at {where}" if where else ""
    lines = [f"Hessian of the {sp.label}{at} ({sp.n:,} weights), {sp.steps} Lanczos steps", ""]
    exact = np.sort(sp.exact) if sp.exact.size else None
    gaps = sp.exact_gaps()
    rows = []
    parts = (("top", sp.top, sp.top_residual, None if exact is None else exact[::-1]),
             ("bottom", sp.bottom, sp.bottom_residual, exact))  # fmt: skip
    for name, values, residuals, ref in parts:
        for i, (v, r) in enumerate(zip(values, residuals, strict=True)):
            row = [f"{name} {i + 1}", f"{v:.6g}", f"{r:.1e}"]
            if ref is not None:
                row += [f"{ref[i]:.6g}", f"{gaps[name][i]:.1e}"]
            rows.append(row)
    head = ["", "Lanczos", "residual bound"] + (["exact", "error"] if exact is not None else [])
    lines += table(head, rows, "l" + "r" * (len(head) - 1))
    lines.append(
        f"each bound includes the rounding of the Hessian-vector products, {sp.rounding:.1e}"
    )
    if sp.trace_samples:  # a trace was asked for
        lines += ["", f"trace ≈ {sp.trace:.6g} ± {sp.trace_stderr:.2g} (Hutchinson, {sp.trace_samples} "
                  "vectors, deflated)" + (f"; exact {exact.sum():.6g}" if exact is not None else "")]  # fmt: skip
    for name, block in (sp.layers or {}).items():
        lines.append(f"{name} ({block['size']:,} weights): top "
                     + ", ".join(f"{v:.4g}" for v in block["top"]) + "; bottom "
                     + ", ".join(f"{v:.4g}" for v in block["bottom"]))  # fmt: skip
    return [("Hessian spectrum", lines)]
