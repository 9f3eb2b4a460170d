"""``fit``: a model formula fitted to data, with its uncertainty and a verdict on it.

Example:
    >>> import numpy as np
    >>> x = np.arange(1.0, 9.0)
    >>> f = fit("y = a*exp(-k*x)", {"x": x, "y": 3 * np.exp(-0.5 * x)}, intervals=False)
    >>> f.verdict, round(f.params["a"], 9), round(f.params["k"], 9)
    ('converged', 3.0, 0.5)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._lazy import lazy
from .._x64 import with_x64
from ..errors import DataError, InputError, NumericalError, listing, printable, whole_number
from ..results import Result
from .diagnosis import at_bound, diagnose
from .models import FitData, FitModel, check_data, parse_model
from .solve import MAX_EVALUATIONS, Compiled, Solution, compiled, solve, sse_objective
from .uncertainty import LEVEL, Profile, bands, profile, statistics, t_quantile

#: Points of the fitted curve and its bands (one input).
BAND_POINTS = 200
#: Tolerances of a profile's re-fits (its interval's ends are wanted to about 7 digits).
PROFILE_TOL = 1e-9
#: Most restarts from a lower point a profile found (each followed by new profiles).
MAX_RESTARTS = 2
#: Most distinct minima kept from a multistart.
MAX_MINIMA = 20


@dataclass(frozen=True, eq=False)
class Fit(Result):
    """A fitted model.

    Attributes:
        model: the model as written; ``response``: its left side; ``parameters``, ``inputs``.
        source: the data's name; ``weights_name``: the weights column or ``None``.
        X: inputs ``(n, len(inputs))``; ``y``: the response per row; ``weights``: per row.
        start: where the solver started; ``start_notes``: starts not given (set to 1).
        lo, hi: bounds per parameter (``±inf`` where none).
        estimates, se, cov, corr: the estimates, their standard errors, covariance and
            correlation (``inf``/``nan`` where the data do not determine them).
        sse, s, dof, r2: residual sum of squares, residual standard deviation ``√(SSE/dof)``,
            degrees of freedom, ``1 − SSE/SST``.
        condition, rank, singular: of the column-scaled weighted Jacobian at the fit.
        fitted, residuals: per row, ``f(b̂; xᵢ)`` and ``yᵢ − f(b̂; xᵢ)`` (unweighted).
        level, t: the intervals' confidence level and Student's t for ``dof``.
        wald_lower, wald_upper: ``b̂ ± t·se``.
        profile_lower, profile_upper: profile-likelihood interval (``nan``: open on that side,
            see ``profile_notes``); ``profile_values``, ``profile_sse``: each parameter's
            profile, ``(p, k)`` padded with ``nan`` (empty when intervals were not asked for).
        path, path_sse, path_gradient, path_step, path_damping, path_evaluations: the solver's
            accepted iterates (the step table; step and damping are ``nan`` on the first row).
        method, status, nfev, njev, seconds: the solver, its stop code, evaluations, time.
        verdict, stop, warnings, suggestions, notes: the diagnosis
            (:mod:`gradscape.fitting.diagnosis`) and what else a user should know.
        minima_points, minima_sse, minima_counts, starts, seed: the distinct minima a
            multistart found (``(k, p)``; empty without ``starts``).
        band_x, band_fit, band_conf, band_pred: the fitted curve and the half-widths of its
            confidence and prediction bands at ``level``, on a grid over the one input (else at
            the rows).
        step, scatter: the Gauss–Newton step left and the residual-to-scatter ratio the verdict
            used (:mod:`gradscape.fitting.diagnosis`).
    """

    model: str
    response: str
    parameters: tuple[str, ...]
    inputs: tuple[str, ...]
    source: str
    weights_name: str | None
    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    start: np.ndarray
    start_notes: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray
    estimates: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    corr: np.ndarray
    sse: float
    s: float
    dof: int
    r2: float
    condition: float
    rank: int
    singular: np.ndarray
    fitted: np.ndarray
    residuals: np.ndarray
    level: float
    t: float
    wald_lower: np.ndarray
    wald_upper: np.ndarray
    profile_lower: np.ndarray
    profile_upper: np.ndarray
    profile_notes: tuple[str, ...]
    profile_values: np.ndarray
    profile_sse: np.ndarray
    path: np.ndarray
    path_sse: np.ndarray
    path_gradient: np.ndarray
    path_step: np.ndarray
    path_damping: np.ndarray
    path_evaluations: np.ndarray
    method: str
    status: int
    nfev: int
    njev: int
    seconds: float
    verdict: str
    stop: str
    warnings: tuple[str, ...]
    suggestions: tuple[str, ...]
    notes: tuple[str, ...]
    minima_points: np.ndarray
    minima_sse: np.ndarray
    minima_counts: np.ndarray
    starts: int
    seed: int
    band_x: np.ndarray
    band_fit: np.ndarray
    band_conf: np.ndarray
    band_pred: np.ndarray
    step: float
    scatter: float

    @property
    def params(self) -> dict[str, float]:
        """``{name: estimate}``."""
        return {n: float(v) for n, v in zip(self.parameters, self.estimates, strict=True)}

    @property
    def n(self) -> int:
        """Rows of data."""
        return len(self.y)

    @property
    def rows_used(self) -> int:
        """Rows with positive weight (those the fit and its degrees of freedom count)."""
        return int(np.count_nonzero(self.weights > 0))

    def no_confidence_band(self) -> str:
        """Why there is no confidence band to draw (``""`` when there is one)."""
        if np.all(np.isfinite(self.band_conf)):
            return ""
        return (
            "no degrees of freedom left" if self.dof == 0 else "the standard errors are not finite"
        )

    def no_prediction_band(self) -> str:
        """Why there is no prediction band to draw (``""`` when there is one)."""
        if self.no_confidence_band() or np.all(np.isfinite(self.band_pred)):
            return self.no_confidence_band()
        return "no prediction band: the rows' weights differ, and a new point's spread depends on its own"

    def bands_note(self, narrow_hint: str = "") -> str:
        """What a figure of the curve says about its bands: why one is missing, or that they are
        too narrow to see beside the data's range (then followed by ``narrow_hint``); ``""``
        when there is nothing to say."""
        if self.no_confidence_band():
            return f"no bands: {self.no_confidence_band()}"
        if self.no_prediction_band():
            return self.no_prediction_band()
        span = float(np.ptp(self.y)) or 1.0
        if float(np.max(self.band_pred)) < 0.005 * span:
            return (
                f"the {self.level:.0%} bands are narrower than the line at this scale{narrow_hint}"
            )
        return ""

    @property
    def converged(self) -> bool:
        """Whether the fit passed every check (``verdict == "converged"``)."""
        return self.verdict == "converged"

    def summary(self) -> dict[str, Any]:
        """The fit as plain data (what ``--json`` prints and the page receives): the model,
        per parameter its start, estimate, standard error and both intervals, the statistics,
        the verdict with its words, the solver's steps and the minima of a multistart."""
        has_profile = len(self.profile_lower) == len(self.parameters)
        params = []
        for j, name in enumerate(self.parameters):
            params.append(
                {
                    "name": name,
                    "start": float(self.start[j]),
                    "estimate": float(self.estimates[j]),
                    "se": float(self.se[j]),
                    "wald": [float(self.wald_lower[j]), float(self.wald_upper[j])],
                    "profile": (
                        [float(self.profile_lower[j]), float(self.profile_upper[j])]
                        if has_profile
                        else None
                    ),
                    "profile_note": self.profile_notes[j] if has_profile else "",
                    "bounds": [float(self.lo[j]), float(self.hi[j])],
                }
            )
        steps = [
            {
                "iteration": k,
                "sse": float(self.path_sse[k]),
                "gradient_norm": float(self.path_gradient[k]),
                "step": float(self.path_step[k]),
                "damping": float(self.path_damping[k]),
                "evaluations": int(self.path_evaluations[k]),
            }
            for k in range(len(self.path_sse))
        ]
        minima = [
            {
                "params": dict(zip(self.parameters, map(float, pt), strict=True)),
                "sse": float(v),
                "starts": int(c),
            }
            for pt, v, c in zip(
                self.minima_points, self.minima_sse, self.minima_counts, strict=True
            )
        ]
        return {
            "model": self.model,
            "response": self.response,
            "inputs": list(self.inputs),
            "data": self.source,
            "weights": self.weights_name,
            "n": self.n,
            "parameters": params,
            "sse": self.sse,
            "s": self.s,
            "dof": self.dof,
            "r2": self.r2,
            "level": self.level,
            "t": self.t,
            "correlation": [[float(v) for v in row] for row in self.corr],
            "condition": self.condition,
            "rank": self.rank,
            "verdict": self.verdict,
            "converged": self.converged,
            "stop": self.stop,
            "warnings": list(self.warnings),
            "suggestions": list(self.suggestions),
            "notes": list(self.notes),
            "solver": {
                "method": self.method,
                "status": self.status,
                "evaluations": self.nfev,
                "jacobians": self.njev,
                "seconds": self.seconds,
            },
            "steps": steps,
            "starts": self.starts,
            "minima": minima,
        }

    @lazy
    def _parsed(self) -> FitModel:
        return parse_model(self.model, self.inputs + tuple(c for c in _lhs_columns(self)))

    def predict(self, inputs: Mapping[str, Any] | np.ndarray) -> np.ndarray:
        """The fitted right side at new inputs: ``{name: values}`` or an array ``(m, inputs)``."""
        import jax.numpy as jnp

        from .._x64 import x64

        if isinstance(inputs, Mapping):
            missing = [c for c in self.inputs if c not in inputs]
            if missing:
                raise InputError(f"predict needs the inputs {listing(missing)}.")
            try:
                X = np.column_stack([np.asarray(inputs[c], float).reshape(-1) for c in self.inputs])
            except (TypeError, ValueError):
                raise InputError(
                    f"predict needs numbers of equal length for {listing(self.inputs)}."
                ) from None
        else:
            X = np.asarray(inputs, dtype=float)
            if X.ndim != 2 or X.shape[1] != len(self.inputs):
                raise InputError(
                    f"predict takes an array of shape (rows, {len(self.inputs)}) (one column per "
                    f"input: {listing(self.inputs)}); got shape {X.shape}."
                )
        with x64():
            out = compiled(self._parsed).predict(jnp.asarray(self.estimates), jnp.asarray(X))
        return np.asarray(out, dtype=np.float64)


def _lhs_columns(f: Fit) -> tuple[str, ...]:
    from ..expr import parse

    return tuple(parse(f.model.split("=")[0]).variables)


def read_data(
    data: str | Path | Mapping[str, Any],
) -> tuple[dict[str, np.ndarray] | None, tuple[str, ...], str, Any]:
    """The column names of ``data`` and a way to read columns (through the one file reader)."""
    from ..tables import Table, read_table

    if isinstance(data, str | Path):
        table = read_table(data)
        return None, table.header, table.name, table
    if isinstance(data, Table):
        return None, data.header, data.name, data
    from ..line_data import Dataset

    if isinstance(data, Dataset):  # the tour's data: its two columns by their names
        return {data.x_label: data.x, data.y_label: data.y}, (data.x_label, data.y_label), \
            data.name, None  # fmt: skip
    if isinstance(data, Mapping):
        cols = {}
        for k, v in data.items():
            try:
                cols[str(k)] = np.asarray(v, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise DataError(
                    f"Column {printable(str(k))!r} of the data must hold numbers; it holds "
                    f"{printable(repr(v), 60)}."
                ) from None
        return cols, tuple(cols), "the data", None
    raise InputError(
        f"data must be a file path or a mapping of column name to values; got {type(data).__name__}."
    )


@dataclass(frozen=True)
class Problem:
    """A fit's inputs, read and checked (:func:`prepare`), before anything is compiled.

    Attributes:
        model: the parsed model; ``data``: its checked numbers.
        start, start_notes: where the solver starts, and the starts not given (said).
        lo, hi: bounds per parameter (``±inf`` where none).
        starts: how many multistart starts (``None``: one solve from ``start``).
    """

    model: FitModel
    data: FitData
    start: np.ndarray
    start_notes: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray
    starts: int | None


def prepare(
    model: str,
    data: str | Path | Mapping[str, Any],
    *,
    start: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    weights: str | Any | None = None,
    starts: int | None = None,
) -> Problem:
    """Read and check everything :func:`fit` is given, without compiling anything: a view can
    refuse bad input at once, before long work starts. Arguments and errors as :func:`fit`."""
    cols, header, source, table = read_data(data)
    fm = parse_model(model, header)
    if table is not None:
        names = dict.fromkeys(fm.columns)
        if isinstance(weights, str):
            names[weights] = None
        index = {
            c: table.column(c, "weights" if c == weights and c not in fm.columns else "the model")
            for c in names
        }
        cols = {c: table.numbers(j) for c, j in index.items()}
        texts: dict[str, list[str]] | None = {c: table.texts(j) for c, j in index.items()}
    else:
        texts = None
    assert cols is not None
    fd = check_data(fm, cols, source, weights, texts)
    lo, hi = _bounds(fm, bounds)
    x0, start_notes = _start(fm, start, lo, hi)
    if starts is not None:
        from ..box_search import MAX_STARTS

        starts = whole_number(starts, "starts", 1, MAX_STARTS, "MAX_STARTS")
        open_ = [b for b, a, c in zip(fm.parameters, lo, hi, strict=True)
                 if not (np.isfinite(a) and np.isfinite(c))]  # fmt: skip
        if open_:
            raise InputError(
                f"starts are drawn within the bounds: give bounds for {listing(open_)} too."
            )
    else:  # the solver starts at x0: the model must be defined there (said now, not later)
        _check_start(fm, compiled(fm), fd, x0)
    return Problem(fm, fd, x0, tuple(start_notes), lo, hi, starts)


@with_x64
def fit(
    model: str | Problem,
    data: str | Path | Mapping[str, Any] | None = None,
    *,
    start: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    weights: str | Any | None = None,
    starts: int | None = None,
    seed: int = 0,
    intervals: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> Fit:
    """Fit ``model`` to ``data`` by least squares with exact derivatives.

    Args:
        model: ``response = formula`` in the expression language, e.g.
            ``"y = b1*(1 - exp(-b2*x))"``; names that are columns of the data are inputs, every
            other name a parameter. Or a :class:`Problem` from :func:`prepare` (then ``data``,
            ``start``, ``bounds``, ``weights`` and ``starts`` were given there).
        data: a data file (read by :func:`gradscape.tables.read_table`) or ``{column: values}``.
        start: starting values by parameter (default 1; said in ``start_notes``).
        bounds: ``{name: (low, high)}`` (``±inf`` for an open side); the solver is then SciPy's
            trust-region reflective method, else MINPACK's Levenberg–Marquardt.
        weights: a column name or per-row values ``wᵢ ≥ 0`` multiplying the squared residuals
            (``1/σᵢ²`` for known standard deviations σᵢ).
        starts: run this many starts in the box ``bounds`` (every parameter bounded) on the
            vectorised engine (:func:`gradscape.multistarts.multistart`), polish each distinct
            minimum and keep them all (``minima_*``); the best is the fit.
        seed: of the multistart's starts.
        intervals: compute the profile-likelihood intervals and profiles (a few re-fits per
            parameter); the Wald intervals are always there.
        progress: ``progress(phase, done, total)`` for ``"fit"``, ``"starts"`` and
            ``"profiles"``; it may raise to stop.

    Raises:
        ExpressionError: the model cannot be read (caret at the spot).
        DataError: a column missing or not a finite number, fewer rows than parameters, a
            constant response, the response undefined at a row, bad weights.
        InputError: a start or bound for a name that is not a parameter, a start outside its
            bounds, a model undefined at the start, ``starts`` without a bound on every
            parameter or beyond :data:`gradscape.batches.MAX_STARTS`.
    """
    t0 = time.perf_counter()
    seed = whole_number(seed, "seed", 0, 2**32 - 1)
    if not isinstance(intervals, bool):
        raise InputError(f"intervals must be True or False; got {intervals!r}.")
    if not isinstance(model, Problem):
        if data is None:
            raise InputError("fit needs data: a file or {column: values}.")
        model = prepare(model, data, start=start, bounds=bounds, weights=weights, starts=starts)
    fm, fd, x0, lo, hi = model.model, model.data, model.start, model.lo, model.hi
    start_notes, starts = list(model.start_notes), model.starts
    if starts is not None:  # the solver starts from the minima the starts found, not from x0
        start_notes = [f"{starts:,} starts drawn in the bounds (seed {seed}); each distinct "
                       "minimum they reached polished by the solver"]  # fmt: skip
    pieces = compiled(fm)

    def report(phase: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, total: progress(phase, done, total)

    minima = (np.zeros((0, fm.p)), np.zeros(0), np.zeros(0, dtype=np.int64))
    if starts is not None:
        sol, minima = _multistart(fm, pieces, fd, lo, hi, starts, seed, report("starts"))
    else:
        sol = solve(pieces, fd, x0, lo, hi, progress=report("fit"))
    notes = list(fm.notes) + start_notes
    restarts = 0
    while True:
        state = _state(fm, pieces, fd, sol, lo, hi)
        profiles: list[Profile] = []
        if not (intervals and state["stats"].dof > 0 and state["stats"].s > 0):
            break
        # a profile compares float64 SSEs: meaningless where the residuals are rounding noise
        scale = float(np.sqrt(np.mean(fd.weights * fd.y**2)))
        if state["stats"].s < 1e3 * np.finfo(float).eps * scale:
            notes.append(
                "no profile intervals: the residuals are at float64's rounding level, where "
                "the SSE cannot rise measurably; the Wald intervals are shown"
            )
            break
        profiles = _profiles(fm, pieces, fd, state["x"], state, lo, hi, report("profiles"))
        better = [j for j, pr in enumerate(profiles) if np.isfinite(pr.better)]
        if not better or restarts == MAX_RESTARTS:
            if better:
                d = state["diag"]
                state["diag"] = dataclasses.replace(
                    d,
                    verdict="suspect" if d.verdict == "converged" else d.verdict,
                    warnings=(*d.warnings, f"the profiles still find lower SSEs after "
                              f"{MAX_RESTARTS} restarts from them: this is not a minimum"),
                    suggestions=(*d.suggestions, "try other starts (starts with bounds)"),
                )  # fmt: skip
            break
        j = min(better, key=lambda k: float(profiles[k].sse.min()))
        name = fm.parameters[j]
        notes.append(
            f"the profile of {name} found a lower SSE at {name} = {profiles[j].better:.6g}: the "
            "solver had stopped short of the minimum; it was restarted from there"
        )
        sol = solve(pieces, fd, profiles[j].better_point, lo, hi, progress=report("fit"))
        restarts += 1
    return _result(
        fm,
        pieces,
        fd,
        sol,
        state,
        profiles,
        x0,
        start_notes,
        lo,
        hi,
        notes,
        minima,
        starts or 0,
        seed,
        time.perf_counter() - t0,
    )


def _by_parameter(
    fm: FitModel, given: Mapping[str, Any] | None, what: str, verb: str, values: str
) -> dict[str, Any]:
    """``given`` (a start or bounds) as a dict, checked to be a mapping of the model's
    parameter names."""
    if given is not None and not isinstance(given, Mapping):
        raise InputError(
            f"{what} must map parameter names to {values}; got {type(given).__name__}."
        )
    out = dict(given or {})
    unknown = [k for k in out if k not in fm.parameters]
    if unknown:
        raise InputError(
            f"{what} {verb} {listing(map(str, unknown))}, not a parameter of the model; its "
            f"parameters are {listing(fm.parameters)}."
        )
    return out


def _start(
    fm: FitModel, start: Mapping[str, float] | None, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    start = _by_parameter(fm, start, "start", "names", "numbers, like {'b1': 1.0}")
    x0 = np.ones(fm.p)
    defaulted = []
    for i, b in enumerate(fm.parameters):
        if b in start:
            v = start[b]
            if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer):
                raise InputError(f"start for {b} must be a number; got {v!r}.")
            if not np.isfinite(v):
                raise InputError(f"start for {b} must be finite; got {v!r}.")
            x0[i] = float(v)
            if not lo[i] <= x0[i] <= hi[i]:
                raise InputError(
                    f"the start {b} = {x0[i]:g} is outside its bounds {lo[i]:g}:{hi[i]:g}."
                )
        else:
            if not lo[i] <= 1.0 <= hi[i]:
                x0[i] = (
                    (lo[i] + hi[i]) / 2
                    if np.isfinite(lo[i]) and np.isfinite(hi[i])
                    else (lo[i] + 1 if np.isfinite(lo[i]) else hi[i] - 1)
                )
            defaulted.append(f"{b} = {x0[i]:g}")
    notes = [f"no start given for {listing(defaulted)}: started there"] if defaulted else []
    return x0, notes


def _bounds(
    fm: FitModel, bounds: Mapping[str, tuple[float, float]] | None
) -> tuple[np.ndarray, np.ndarray]:
    bounds = _by_parameter(fm, bounds, "bounds", "name", "(low, high) pairs, like {'b1': (0, 10)}")
    lo = np.full(fm.p, -np.inf)
    hi = np.full(fm.p, np.inf)
    for i, b in enumerate(fm.parameters):
        if b not in bounds:
            continue
        pair = bounds[b]
        try:
            a, c = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise InputError(f"bounds for {b} must be a pair (low, high); got {pair!r}.") from None
        if np.isnan(a) or np.isnan(c) or not a < c:
            raise InputError(f"bounds for {b} must have low < high; got {a:g}:{c:g}.")
        lo[i], hi[i] = a, c
    return lo, hi


def _check_start(fm: FitModel, pieces: Compiled, fd: FitData, x0: np.ndarray) -> None:
    import jax.numpy as jnp

    from .._x64 import x64

    with x64():
        f = np.asarray(pieces.predict(jnp.asarray(x0), jnp.asarray(fd.X)))
    bad = np.flatnonzero(~np.isfinite(f) & (fd.weights > 0))
    if bad.size:
        i = int(bad[0])
        why = fm.rhs.explain(np.concatenate([x0, fd.X[i]])) or "the value is not finite"
        at = ", ".join(f"{b} = {v:g}" for b, v in zip(fm.parameters, x0, strict=True))
        raise InputError(
            f"The model is not defined at the start ({at}) for data row {i + 1} of {fd.source}: "
            f"{why}; give starting values where it is."
        )


def _state(
    fm: FitModel, pieces: Compiled, fd: FitData, sol: Solution, lo: np.ndarray, hi: np.ndarray
) -> dict[str, Any]:
    """Residuals, Jacobian, statistics and diagnosis where the solve stopped (refined in
    extended precision first where float64 residuals are at the rounding level)."""
    import jax.numpy as jnp

    from . import exact

    args = (jnp.asarray(fd.X), jnp.asarray(fd.y), jnp.asarray(np.sqrt(fd.weights)))

    def jacobian(b: np.ndarray) -> np.ndarray:
        return np.asarray(pieces.both(jnp.asarray(b), *args)[0])

    x = sol.x
    r = np.asarray(pieces.residuals(jnp.asarray(x), *args))
    J = jacobian(x)
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(J))):
        bad = ~np.isfinite(r) | ~np.all(np.isfinite(J), axis=1)
        i = int(np.flatnonzero(bad)[0])
        at = ", ".join(f"{b} = {v:.6g}" for b, v in zip(fm.parameters, x, strict=True))
        what = "the model" if not np.isfinite(r[i]) else "its derivatives"
        why = fm.rhs.explain(np.concatenate([x, fd.X[i]]), derivative=True)
        raise NumericalError(
            f"The fit ended at {at}, where {what} at data row {i + 1} of {fd.source} "
            f"{'are' if what != 'the model' else 'is'} not finite"
            + (f" ({why})" if why else "")
            + "; give other starting values or bounds."
        )
    refined: bool | None = False
    free = ~at_bound(x, lo, hi)
    if sol.status != 0:
        x, r = exact.refine(lambda b: _residuals(pieces, fd, b), jacobian, x, free, lo, hi)
        limited = exact.rounding_limited(r, fd)
        if limited and fd.n <= exact.MAX_EXACT_ROWS:
            exact_r = lambda b: exact.residuals(fm, fd, b)  # noqa: E731
            x, r = exact.refine(exact_r, jacobian, x, free, lo, hi)
            refined = True
        elif limited:
            refined = None  # said: the standard errors carry few correct digits
        else:
            r = _residuals(pieces, fd, x)
        J = jacobian(x)
    stats = statistics(J, r, fd.y, fd.weights)
    one = fd.X[:, 0] if fd.X.shape[1] == 1 else None
    diag = diagnose(
        sol.status,
        stats,
        J,
        r,
        fm.parameters,
        x,
        lo,
        hi,
        one,
        fd.y,
        fd.weights,
        MAX_EVALUATIONS,
    )
    return {"x": x, "r": r, "J": J, "stats": stats, "diag": diag, "refined": refined}


def _profiles(
    fm: FitModel,
    pieces: Compiled,
    fd: FitData,
    x: np.ndarray,
    state: dict[str, Any],
    lo: np.ndarray,
    hi: np.ndarray,
    progress: Callable[[int, int], None] | None,
) -> list[Profile]:
    stats = state["stats"]
    sse_min = float(state["r"] @ state["r"])
    t = t_quantile(stats.dof)
    # float64 rounding of an SSE: about n·(ε·|y|)² (residuals near rounding differ by that much)
    noise = 100 * fd.n * float(np.finfo(float).eps * np.sqrt(np.mean(fd.weights * fd.y**2))) ** 2

    def refit(j: int, v: float, warm: np.ndarray) -> tuple[float, np.ndarray] | None:
        b = np.clip(warm, lo, hi)  # a continued line may cross a bound
        b[j] = v
        free = np.ones(fm.p, dtype=bool)
        free[j] = False
        try:
            if fm.p == 1:
                s = _sse(pieces, fd, b)
                return (s, b) if np.isfinite(s) else None
            sol = solve(
                pieces,
                fd,
                b,
                lo,
                hi,
                free=free,
                max_evaluations=2000,
                tol=PROFILE_TOL,
                record=False,
            )
        except NumericalError:
            return None
        return (sol.sse, sol.x) if np.isfinite(sol.sse) else None

    out = []
    for j in range(fm.p):
        if progress is not None:
            progress(j, fm.p)
        out.append(
            profile(
                refit,
                x,
                j,
                float(stats.se[j]),
                sse_min,
                stats.s,
                t,
                lo[j],
                hi[j],
                fm.parameters[j],
                noise,
            )
        )
    if progress is not None:
        progress(fm.p, fm.p)
    return out


def _residuals(pieces: Compiled, fd: FitData, b: np.ndarray) -> np.ndarray:
    import jax.numpy as jnp

    from .._x64 import x64

    with x64():
        r = pieces.residuals(
            jnp.asarray(b), jnp.asarray(fd.X), jnp.asarray(fd.y), jnp.asarray(np.sqrt(fd.weights))
        )
    return np.asarray(r, dtype=np.float64)


def _sse(pieces: Compiled, fd: FitData, b: np.ndarray) -> float:
    r = _residuals(pieces, fd, b)
    return float(r @ r)


def _multistart(
    fm: FitModel,
    pieces: Compiled,
    fd: FitData,
    lo: np.ndarray,
    hi: np.ndarray,
    starts: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[Solution, tuple[np.ndarray, np.ndarray, np.ndarray]]:

    from ..multistarts import multistart

    # searched in the unit box (b = lo + u·(hi − lo)): the engine's steps, merging radius and
    # probes are relative to the box, so parameters of very different sizes are treated alike
    obj = sse_objective(fm, fd, (lo, hi))
    found = multistart(obj, dict.fromkeys(fm.parameters, (0.0, 1.0)), starts=starts, seed=seed,
                       progress=progress)  # fmt: skip
    if len(found.points) == 0:
        raise NumericalError(
            f"None of the {starts:,} starts converged to a minimum inside the bounds; widen "
            "the bounds."
        )
    sols: list[Solution] = []
    counts: list[int] = []
    for point, count in zip(found.points[:MAX_MINIMA], found.counts[:MAX_MINIMA], strict=True):
        s = solve(pieces, fd, np.clip(lo + point * (hi - lo), lo, hi), lo, hi)
        same = [
            k
            for k, o in enumerate(sols)
            if np.allclose(o.x, s.x, rtol=1e-6, atol=1e-12 * (1 + np.abs(s.x).max()))
        ]
        if same:
            counts[same[0]] += int(count)
        else:
            sols.append(s)
            counts.append(int(count))
    order = np.argsort([s.sse for s in sols], kind="stable")
    sols = [sols[k] for k in order]
    points = np.array([s.x for s in sols])
    values = np.array([s.sse for s in sols])
    return sols[0], (points, values, np.array([counts[k] for k in order], dtype=np.int64))


def _result(
    fm: FitModel,
    pieces: Compiled,
    fd: FitData,
    sol: Solution,
    state: dict[str, Any],
    profiles: list[Profile],
    x0: np.ndarray,
    start_notes: list[str],
    lo: np.ndarray,
    hi: np.ndarray,
    notes: list[str],
    minima: tuple[np.ndarray, np.ndarray, np.ndarray],
    starts: int,
    seed: int,
    seconds: float,
) -> Fit:
    import jax.numpy as jnp

    from . import exact

    stats, diag = state["stats"], state["diag"]
    t = t_quantile(stats.dof)
    x_hat = state["x"]
    b = jnp.asarray(x_hat)
    if state["refined"] is None:
        notes.append(
            "the model fits the data to float64's rounding: the SSE and the standard errors "
            "carry few correct digits (extended precision is used for at most "
            f"MAX_EXACT_ROWS = {exact.MAX_EXACT_ROWS} rows)"
        )
    elif state["refined"]:
        notes.append(
            "the model fits the data to float64's rounding: the residuals, SSE and standard "
            f"errors were computed with {exact.DIGITS} digits and the estimates refined with them"
        )
    if fd.X.shape[1] == 1:
        x = fd.X[:, 0]
        grid = np.linspace(x.min(), x.max(), BAND_POINTS)[:, None]
    else:
        grid = fd.X
    fitted = np.asarray(pieces.predict(b, jnp.asarray(fd.X)))
    band_fit = np.asarray(pieces.predict(b, jnp.asarray(grid)))
    G = np.asarray(pieces.gradients(b, jnp.asarray(grid)))
    used = fd.weights[fd.weights > 0]
    # a new observation's variance is s²/w: known where every row has the same weight
    same = bool(np.all(used == used[0]))
    conf, pred = bands(band_fit, G, stats.cov, stats.s, t, float(used[0]) if same else np.nan)
    if not same:
        notes.append(
            "no prediction band: the rows have different weights, and a new observation's "
            "spread depends on its own (s²/w); the confidence band of the curve is shown"
        )
    path = sol.path
    k = max((len(p.values) for p in profiles), default=0)
    pv = np.full((len(profiles), k), np.nan)
    ps = np.full((len(profiles), k), np.nan)
    for j, pr in enumerate(profiles):
        pv[j, : len(pr.values)] = pr.values
        ps[j, : len(pr.sse)] = pr.sse
    pnotes = tuple(
        "; ".join(
            f"{side}: {note}"
            for side, note in (("lower", pr.lower_note), ("upper", pr.upper_note))
            if note
        )
        for pr in profiles
    )
    return Fit(
        model=fm.text,
        response=fm.response,
        parameters=fm.parameters,
        inputs=fm.inputs,
        source=fd.source,
        weights_name=fd.weights_name,
        X=fd.X,
        y=fd.y,
        weights=fd.weights,
        start=x0,
        start_notes=tuple(start_notes),
        lo=lo,
        hi=hi,
        estimates=x_hat,
        se=stats.se,
        cov=stats.cov,
        corr=stats.corr,
        sse=float(state["r"] @ state["r"]),
        s=stats.s,
        dof=stats.dof,
        r2=stats.r2,
        condition=stats.condition,
        rank=stats.rank,
        singular=stats.singular,
        fitted=fitted,
        residuals=fd.y - fitted,
        level=LEVEL,
        t=t,
        wald_lower=x_hat - t * stats.se,
        wald_upper=x_hat + t * stats.se,
        profile_lower=np.array([p.lower for p in profiles]) if profiles else np.zeros(0),
        profile_upper=np.array([p.upper for p in profiles]) if profiles else np.zeros(0),
        profile_notes=pnotes,
        profile_values=pv,
        profile_sse=ps,
        path=np.array(path.points),
        path_sse=np.array(path.sse),
        path_gradient=np.array(path.gradient_norm),
        path_step=_nan_first(path.step),
        path_damping=_nan_first(path.damping),
        path_evaluations=np.array(path.evaluations, dtype=np.int64),
        method=sol.method,
        status=sol.status,
        nfev=sol.nfev,
        njev=sol.njev,
        seconds=seconds,
        verdict=diag.verdict,
        stop=diag.stop,
        warnings=diag.warnings,
        suggestions=diag.suggestions,
        notes=tuple(notes),
        minima_points=minima[0],
        minima_sse=minima[1],
        minima_counts=minima[2],
        starts=starts,
        seed=seed,
        band_x=grid,
        band_fit=band_fit,
        band_conf=conf,
        band_pred=pred,
        step=diag.step,
        scatter=diag.scatter,
    )


def _nan_first(values: list[float]) -> np.ndarray:
    """A per-step column of the step table: no step led to the first row."""
    return np.array([np.nan, *values], dtype=np.float64)
