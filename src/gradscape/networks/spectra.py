"""Hessian spectra from Hessian-vector products, never forming the Hessian.

* Lanczos (with full reorthogonalisation) gives the largest and most negative eigenvalues; each
  Ritz value ``θ`` with its Ritz vector ``y`` comes with a residual bound: the larger of Lanczos'
  ``β_m |s_m|`` and the measured ``‖H y − θ y‖``, plus the rounding level of the Hessian-vector
  products, ``ε·‖H‖·√n`` (``ε`` of their dtype: float32 for networks). For a symmetric ``H`` a
  true eigenvalue lies within it; where Lanczos has spanned the whole space ``β_m`` is zero, and
  the rounding of the products is all that is left, so that is what is reported.
* Hutchinson's estimator gives the trace: the mean of ``vᵀHv`` over Rademacher vectors ``v``,
  with its standard error; the dominant directions found by Lanczos are taken exactly and only
  the rest is sampled (deflation, as in Hutch++ by Meyer et al. 2021), which cuts the variance.
* Stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; Ghorbani et al. 2019) gives the spectral
  density: Ritz values weighted by the squared first components of their eigenvectors, averaged
  over random starts and smoothed by a Gaussian.
* For small models, the exact Hessian checks every estimate.

The algorithms see the Hessian only through ``hvp(v)`` (float64 NumPy in and out, at fixed
weights): :func:`hessian_spectrum` runs them on any such product, a JAX objective's
(:func:`spectrum`: forward-over-reverse, ``jax.jvp`` of ``jax.grad``, compiled once) or a PyTorch
model's (:mod:`gradscape.torch`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import InputError, NumericalError, ParameterError, printable, whole_number
from ..objectives import Objective
from ..results import Result, finite, increasing, need, shaped
from ..sources import objective
from .datasets import check_seed

#: ``hvp(v)``: the Hessian times ``v`` at fixed weights, float64 NumPy vectors in and out.
HVP = Callable[[np.ndarray], np.ndarray]

#: Largest model (weights) whose exact Hessian is formed on request.
MAX_EXACT = 6000
#: Largest Lanczos basis kept in memory (steps × weights × 8 bytes).
MAX_BASIS_BYTES = 2 * 1024**3
#: Most random vectors for the trace, starts and steps for the density.
MAX_SAMPLES = 10_000
MAX_DENSITY_STARTS = 1000
MAX_DENSITY_STEPS = 1000


def _hvp(obj: Objective) -> Any:

    key = "hvp"
    if key not in obj.compiled:
        grad = jax.grad(obj.fn)
        obj.compiled[key] = jax.jit(lambda w, v: jax.jvp(grad, (w,), (v,))[1])
    return obj.compiled[key]


def objective_hvp(obj: Objective, weights: np.ndarray) -> HVP:
    """``v ↦ H v`` of ``obj`` at ``weights`` (products in the weights' dtype)."""
    hvp = _hvp(obj)
    w = jnp.asarray(weights)
    return lambda v: np.asarray(hvp(w, jnp.asarray(v, dtype=w.dtype)), np.float64)


def lanczos(
    hvp: HVP,
    steps: int,
    start: np.ndarray,
    block: slice | None = None,
    progress: Callable[[], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``steps`` Lanczos iterations on the Hessian ``hvp`` acts by, from ``start``, with full
    reorthogonalisation (in float64 on the host). Returns the tridiagonal ``(alpha, beta)`` and
    the Lanczos basis ``Q`` of shape ``(k, n)`` (``k <= steps``: it ends early on an invariant
    subspace). With ``block``, the iteration stays in those coordinates: the Hessian block of
    one layer (a principal submatrix). ``progress()`` is called after each iteration (one
    Hessian-vector product): an exception it raises stops the iteration there."""

    n = start.size
    mask = np.zeros(n)
    mask[block if block is not None else slice(None)] = 1.0
    steps = min(steps, int(mask.sum()))
    q = np.asarray(start, np.float64) * mask
    q /= np.linalg.norm(q)
    basis = np.zeros((steps, n))
    alpha: list[float] = []
    beta: list[float] = []
    for j in range(steps):
        basis[j] = q
        z = hvp(q) * mask
        if not np.all(np.isfinite(z)):
            raise NumericalError(
                "The Hessian-vector product is NaN or infinite at these weights; their loss is "
                "not finite or overflows, so it has no spectrum."
            )
        a = float(q @ z)
        z -= a * q + (beta[-1] * basis[j - 1] if j else 0.0)
        z -= basis[: j + 1].T @ (basis[: j + 1] @ z)  # full reorthogonalisation, twice
        z -= basis[: j + 1].T @ (basis[: j + 1] @ z)
        alpha.append(a)
        if progress is not None:
            progress()
        b = float(np.linalg.norm(z))
        if j == steps - 1 or b <= 1e-10 * max(1.0, abs(a)):
            beta.append(b)
            break
        beta.append(b)
        q = z / b
    k = len(alpha)
    return np.array(alpha), np.array(beta[:k]), basis[:k]


def _ritz(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values (ascending) and the eigenvectors of the tridiagonal matrix."""
    k = alpha.size
    t = np.diag(alpha) + np.diag(beta[: k - 1], 1) + np.diag(beta[: k - 1], -1)
    return np.linalg.eigh(t)


@dataclass(frozen=True, eq=False)
class Spectrum(Result):
    """Eigenvalue estimates of the Hessian of a loss at given weights.

    Attributes:
        n: number of weights; ``steps``: Lanczos iterations.
        top, bottom: the largest and the smallest (most negative) Ritz values; ``top_residual``,
            ``bottom_residual``: their residual bounds, never below the rounding level
            ``rounding`` of the Hessian-vector products (``ε·‖H‖·√n``).
        trace, trace_stderr, trace_samples: Hutchinson's estimate (NaN when not asked); the
            standard error is at least the rounding level of a sum of ``n`` diagonal entries,
            ``ε·‖H‖·n``.
        density_grid, density: the smoothed spectral density (empty when not asked).
        exact: the exact eigenvalues (empty unless asked and the model is small enough).
        layers: per layer (on request), the top and bottom eigenvalues of its Hessian block.
        weights_of: the weights it is at, in the words the CLI prints (``"the best weights of
            RUN_DIR"``; empty when not said).

    Every number is finite (a Hessian-vector product that is not stops the work), but the trace
    and its error where no trace was asked for (NaN).
    """

    label: str
    n: int
    steps: int
    top: np.ndarray
    top_residual: np.ndarray
    bottom: np.ndarray
    bottom_residual: np.ndarray
    trace: float
    trace_stderr: float
    trace_samples: int
    density_grid: np.ndarray
    density: np.ndarray
    exact: np.ndarray
    seed: int
    layers: dict[str, dict[str, list[float]]] | None = None
    rounding: float = 0.0
    weights_of: str = ""

    def check(self) -> None:
        """Its fields agree (see :meth:`gradscape.results.Result.check`)."""
        need(self.n >= 1, f"n is {self.n}; a Hessian is of at least 1 weight")
        need(self.steps >= 0, f"steps is {self.steps}, below 0")
        for name, vals, resid in (("top", self.top, self.top_residual),
                                  ("bottom", self.bottom, self.bottom_residual)):  # fmt: skip
            shaped(name, vals, None)
            shaped(f"{name}_residual", resid, vals.size)
            finite(name, vals)
            finite(f"{name}_residual", resid)
            need(np.all(resid >= 0), f"{name}_residual holds negative bounds")
        need(np.all(np.diff(self.top) <= 0), "top is not in decreasing order")
        need(np.all(np.diff(self.bottom) >= 0), "bottom is not in increasing order")
        need(not (self.top.size and self.bottom.size) or self.top[0] >= self.bottom[0],
             "top's largest value is below bottom's smallest")  # fmt: skip
        need(self.trace_samples >= 0, f"trace_samples is {self.trace_samples}, below 0")
        if self.trace_samples:
            finite("trace", [self.trace, self.trace_stderr])
            need(self.trace_stderr >= 0, f"trace_stderr is {self.trace_stderr}, below 0")
        else:
            need(math.isnan(self.trace), "trace is given but trace_samples is 0")
        need(self.n >= max(self.top.size, self.bottom.size),
             f"n is {self.n}, fewer than the eigenvalues given")  # fmt: skip
        need(self.steps >= 1 or not (self.top.size or self.bottom.size),
             f"steps is {self.steps}, but Lanczos eigenvalues are given")  # fmt: skip
        shaped("density_grid", self.density_grid, None)
        shaped("density", self.density, self.density_grid.size)
        if self.density.size:
            increasing("density_grid", self.density_grid)
            finite("density", self.density)
            need(np.all(self.density >= 0), "density holds negative values")
        if self.exact.size:
            shaped("exact", self.exact, self.n)
            finite("exact", self.exact)
        need(math.isfinite(self.rounding) and self.rounding >= 0,
             f"rounding is {self.rounding}, not a number >= 0")  # fmt: skip
        for name, block in (self.layers or {}).items():
            need(isinstance(block, dict) and isinstance(block.get("size"), int)
                 and all(isinstance(block.get(k), tuple | list) for k in ("top", "bottom")),
                 f"layers[{printable(name, 40)!r}] is not a layer's block")  # fmt: skip
            finite(
                f"layers[{printable(name, 40)!r}]",
                np.asarray([*block["top"], *block["bottom"]], np.float64),
            )

    @property
    def stable_lr(self) -> float:
        """``2 / λmax``: the largest learning rate at which plain gradient descent is stable
        near these weights (where the loss is close to its quadratic model); ``inf`` when no
        eigenvalue was estimated or the largest is not positive."""
        lmax = float(self.top[0]) if self.top.size else math.nan
        return 2.0 / lmax if lmax > 0 else math.inf

    def exact_gaps(self) -> dict[str, list[float]]:
        """``|estimate − exact|`` for the top and bottom values (if the exact ones were computed)."""
        if not self.exact.size:
            return {}
        ex = np.sort(self.exact)
        return {
            "top": [float(abs(a - b)) for a, b in zip(self.top, ex[::-1], strict=False)],
            "bottom": [float(abs(a - b)) for a, b in zip(self.bottom, ex, strict=False)],
        }

    def errors(self) -> dict[str, Any]:
        """Relative errors of the estimates against the exact eigenvalues (if computed)."""
        if not self.exact.size:
            return {}
        ex = np.sort(self.exact)
        scale = max(abs(ex[-1]), abs(ex[0]), np.finfo(float).tiny)
        out: dict[str, Any] = {
            "top": [
                float(abs(a - b) / max(abs(b), 1e-12 * scale))
                for a, b in zip(self.top, ex[::-1], strict=False)
            ],
            "bottom": [
                float(abs(a - b) / max(abs(b), 1e-12 * scale))
                for a, b in zip(self.bottom, ex, strict=False)
            ],
        }
        if math.isfinite(self.trace):
            out["trace"] = float(abs(self.trace - ex.sum()) / max(abs(ex.sum()), 1e-12 * scale))
        return out

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "loss": self.label,
            "weights": self.n,
            "lanczos_steps": self.steps,
            "top": self.top.tolist(),
            "top_residual": self.top_residual.tolist(),
            "bottom": self.bottom.tolist(),
            "bottom_residual": self.bottom_residual.tolist(),
            "hvp_rounding": self.rounding,
        }
        if math.isfinite(self.trace):
            out.update(
                trace=self.trace, trace_stderr=self.trace_stderr, trace_samples=self.trace_samples
            )
        if self.exact.size:
            ex = np.sort(self.exact)
            out["exact"] = {"top": ex[::-1][: self.top.size].tolist(), "bottom": ex[: self.bottom.size].tolist(),
                            "trace": float(ex.sum())}  # fmt: skip
            out["relative_errors"] = self.errors()
            out["absolute_errors"] = self.exact_gaps()
        if self.density.size:
            out["density"] = {"grid": self.density_grid.tolist(), "values": self.density.tolist()}
        if self.layers:
            out["layers"] = self.layers
        return out


def spectrum(
    obj: Objective | str | Callable[..., Any],
    weights: np.ndarray,
    *,
    top: int = 5,
    bottom: int = 5,
    steps: int = 80,
    trace: bool = False,
    trace_samples: int = 100,
    density: bool = False,
    density_starts: int = 8,
    density_steps: int = 60,
    exact: bool = False,
    layers: dict[str, slice] | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Spectrum:
    """Largest and most negative Hessian eigenvalues (Lanczos), the trace (Hutchinson), the
    spectral density (stochastic Lanczos quadrature), and optionally the exact eigenvalues
    (``jax.hessian``) of the objective at ``weights``.

    Args:
        layers: ``{name: slice of the flat weights}``: also the top and bottom eigenvalues of
            each layer's Hessian block (see :func:`layer_slices`).
        progress: called as ``progress(done, total)`` after each Hessian-vector product (of
            every part: Lanczos, the residuals, the trace's samples, the density's starts, the
            layers); an exception it raises (a cancel) stops the work there, with no result.

    Raises:
        InputError: bad counts, or ``exact`` for a model above :data:`MAX_EXACT` weights.
        ParameterError: ``weights`` is not a real vector of the objective's length.
    """
    obj = objective(obj)
    weights = np.asarray(weights)
    if weights.shape != (obj.n,) or weights.dtype.kind not in "iuf":
        raise ParameterError(
            f"{obj.signature()} takes a vector of {obj.n:,} real weights; got "
            f"{weights.dtype.name} of shape {weights.shape}."
        )
    if weights.dtype.kind != "f":
        weights = weights.astype(np.float64)
    check_finite(weights)

    def dense() -> np.ndarray:
        return np.asarray(jax.hessian(obj.fn)(jnp.asarray(weights)), np.float64)

    return hessian_spectrum(
        objective_hvp(obj, weights), weights.size, float(np.finfo(jnp.asarray(weights).dtype).eps),
        obj.label, top=top, bottom=bottom, steps=steps, trace=trace, trace_samples=trace_samples,
        density=density, density_starts=density_starts, density_steps=density_steps,
        hessian=dense if exact else None, layers=layers, seed=seed, progress=progress,
    )  # fmt: skip


def check_finite(weights: np.ndarray) -> None:
    """Refuse weights holding NaN or infinity: they have no Hessian."""
    if not np.all(np.isfinite(weights)):
        raise InputError("The weights hold NaN or infinite values; there is no Hessian there.")


def hessian_spectrum(
    hvp: HVP,
    n: int,
    eps: float,
    label: str,
    *,
    top: int = 5,
    bottom: int = 5,
    steps: int = 80,
    trace: bool = False,
    trace_samples: int = 100,
    density: bool = False,
    density_starts: int = 8,
    density_steps: int = 60,
    hessian: Callable[[], np.ndarray] | None = None,
    layers: dict[str, slice] | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Spectrum:
    """:func:`spectrum` on any Hessian-vector product ``hvp`` of ``n`` weights at fixed
    weights, computed in a dtype of machine epsilon ``eps`` (for the rounding bounds);
    ``label`` names the loss. ``hessian()``, when given, forms the dense Hessian: its exact
    eigenvalues are then computed too (at most :data:`MAX_EXACT` weights)."""

    steps = whole_number(steps, "steps")
    for what, v, cap, cap_name in (
        ("trace_samples", trace_samples, MAX_SAMPLES, "MAX_SAMPLES"),
        ("density_starts", density_starts, MAX_DENSITY_STARTS, "MAX_DENSITY_STARTS"),
        ("density_steps", density_steps, MAX_DENSITY_STEPS, "MAX_DENSITY_STEPS"),
    ):
        whole_number(v, what, 1, cap, cap_name)
    for what, v in (("top", top), ("bottom", bottom)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= max(steps, 1):
            raise InputError(f"{what} must be a whole number from 0 to steps ({steps}); got {v!r}.")
    seed = check_seed(seed, "seed")
    most = max(1, MAX_BASIS_BYTES // (8 * max(n, 1)))
    if min(max(steps, density_steps), n) > most:
        raise InputError(
            f"{max(steps, density_steps):,} Lanczos steps on {n:,} weights need more than "
            f"{MAX_BASIS_BYTES / 2**30:g} GiB (MAX_BASIS_BYTES) for the basis; use at most {most:,}."
        )
    if hessian is not None and n > MAX_EXACT:
        raise InputError(
            f"The exact Hessian of {n:,} weights is too large to form (at most {MAX_EXACT:,}); "
            "drop --exact."
        )
    rng = np.random.default_rng(seed)
    lz = min(max(steps, top + bottom), n)
    total = (lz + top + bottom + (trace_samples if trace else 0)
             + (density_starts * min(density_steps, n) if density else 0)
             + sum(min(lz, len(range(n)[sl])) for sl in (layers or {}).values()))  # fmt: skip
    count = [0]

    def tick() -> None:
        count[0] += 1
        if progress is not None:
            progress(min(count[0], total), total)

    alpha, beta, basis = lanczos(
        hvp, max(steps, top + bottom), rng.standard_normal(n), progress=tick
    )
    vals, vecs = _ritz(alpha, beta)
    # the rounding level of one product H v (unit v), in the dtype the products are computed in
    norm_h = float(np.max(np.abs(vals)))
    rounding = eps * norm_h * math.sqrt(n)
    bound = np.abs(beta[-1] * vecs[-1, :])
    k = vals.size
    picked = sorted({*range(max(0, k - top), k), *range(min(bottom, k))})
    resid = np.full(k, np.nan)
    for i in picked:
        y = basis.T @ vecs[:, i]
        hy = hvp(y)
        resid[i] = max(bound[i], float(np.linalg.norm(hy - vals[i] * y))) + rounding
        tick()
    top_v, top_r = vals[::-1][:top], resid[::-1][:top]
    bot_v, bot_r = vals[:bottom], resid[:bottom]

    tr = se = math.nan
    if trace:
        # Deflated Hutchinson (as in Hutch++): the Lanczos basis Q holds the dominant directions,
        # whose part of the trace is exact, tr(QᵀHQ) = Σ alpha; Rademacher vectors estimate only
        # the rest, tr((I − QQᵀ) H (I − QQᵀ)), which has far smaller variance.
        samples = []
        for _ in range(trace_samples):
            z = rng.choice([-1.0, 1.0], size=n)
            z -= basis.T @ (basis @ z)
            samples.append(float(z @ hvp(z)))
            tick()
        tr = float(alpha.sum() + np.mean(samples))
        se = (
            float(np.std(samples, ddof=1) / math.sqrt(len(samples)))
            if len(samples) > 1
            else math.nan
        )
        se = max(se, eps * norm_h * n)  # a sum of n diagonal entries, each rounded

    grid: np.ndarray = np.empty(0)
    dens: np.ndarray = np.empty(0)
    if density:
        nodes, weights_q = [], []
        for _ in range(density_starts):
            a, b, _ = lanczos(hvp, density_steps, rng.standard_normal(n), progress=tick)
            theta, s = _ritz(a, b)
            nodes.append(theta)
            weights_q.append(s[0, :] ** 2)
        nodes_all = np.concatenate(nodes)
        wq = np.concatenate(weights_q) / density_starts
        lo, hi = float(nodes_all.min()), float(nodes_all.max())
        pad = 0.05 * (hi - lo or 1.0)
        grid = np.linspace(lo - pad, hi + pad, 400)
        sigma = 0.01 * (hi - lo or 1.0)
        dens = (
            wq[None, :] * np.exp(-((grid[:, None] - nodes_all[None, :]) ** 2) / (2 * sigma**2))
        ).sum(1)
        dens /= sigma * math.sqrt(2 * math.pi)

    ex: np.ndarray = np.empty(0)
    if hessian is not None:
        h = hessian()
        ex = np.linalg.eigvalsh(0.5 * (h + h.T))
    per_layer = None
    if layers:
        per_layer = {}
        for name, sl in layers.items():
            a, b, _ = lanczos(hvp, max(steps, top + bottom), rng.standard_normal(n), sl,
                              progress=tick)  # fmt: skip
            ritz, _ = _ritz(a, b)
            per_layer[name] = {"top": ritz[::-1][:top].tolist(), "bottom": ritz[:bottom].tolist(),
                               "size": int(np.arange(n)[sl].size)}  # fmt: skip
    return Spectrum(
        layers=per_layer,
        label=label, n=n, steps=alpha.size, top=top_v, top_residual=top_r, bottom=bot_v,
        bottom_residual=bot_r, trace=tr, trace_stderr=se, trace_samples=trace_samples if trace else 0,
        density_grid=grid, density=dens, exact=ex, seed=seed, rounding=rounding,
    )  # fmt: skip


def layer_slices(template: Any) -> dict[str, slice]:
    """``{layer: slice}`` of the flat weights (``ravel_pytree`` order), grouping the leaves by
    the first key of their path: ``layer 1``, ``layer 2``... for the built-in networks."""

    out: dict[str, slice] = {}
    pos = 0
    for path, leaf in jax.tree_util.tree_flatten_with_path(template)[0]:
        first = path[0]
        key = getattr(first, "idx", getattr(first, "key", getattr(first, "name", str(first))))
        name = f"layer {key + 1}" if isinstance(key, int) else str(key)
        size = int(np.size(leaf))
        start = out[name].start if name in out else pos
        out[name] = slice(start, pos + size)
        pos += size
    return out
