"""Calculus on an Objective: value, gradient, partial derivatives, Hessian, directional derivative.

Every function takes an :class:`~gradscape.objective.Objective` and a point (mapping, sequence or
array), computes in float64 with JAX autodiff, and returns NumPy values. :func:`gradient_check`
compares autodiff with central finite differences, the independent check users can trust.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._x64 import with_x64
from .errors import InputError, NumericalError
from .objective import Objective, Params


def _finite(obj: Objective, what: str, x: np.ndarray, at: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(x)):
        point = ", ".join(f"{k}={v:g}" for k, v in obj.as_dict(at).items())
        raise NumericalError(f"The {what} of {obj.signature()} is not finite at {point}.")
    return x


@with_x64
def value(obj: Objective, at: Params) -> float:
    """``f(at)`` as a Python float.

    Raises:
        NumericalError: the value is NaN or infinite there.
    """
    theta = obj.vector(at)
    v = np.asarray(obj.jit_value(theta), dtype=np.float64)
    return float(_finite(obj, "value", v, theta))


@with_x64
def value_and_gradient(obj: Objective, at: Params) -> tuple[float, np.ndarray]:
    """``(f(at), ∇f(at))``; the gradient has shape ``(n,)`` in ``obj.names`` order."""
    theta = obj.vector(at)
    v, g = obj.jit_value_and_grad(theta)
    v = _finite(obj, "value", np.asarray(v, dtype=np.float64), theta)
    g = _finite(obj, "gradient", np.asarray(g, dtype=np.float64), theta)
    return float(v), g


def gradient(obj: Objective, at: Params) -> np.ndarray:
    r"""The gradient :math:`\nabla f = (\partial f/\partial \theta_1, \dots)`, shape ``(n,)``."""
    return value_and_gradient(obj, at)[1]


def partials(obj: Objective, at: Params) -> dict[str, float]:
    """One partial derivative per named parameter: ``{name: ∂f/∂name}``."""
    return obj.as_dict(gradient(obj, at))


@with_x64
def hessian(obj: Objective, at: Params) -> np.ndarray:
    r"""The Hessian :math:`H_{ij} = \partial^2 f / \partial\theta_i \partial\theta_j`, shape ``(n, n)``."""
    theta = obj.vector(at)
    h = np.asarray(obj.jit_hessian(theta), dtype=np.float64)
    return _finite(obj, "Hessian", h, theta)


@with_x64
def directional_derivative(
    obj: Objective, at: Params, direction: Params, *, normalize: bool = True
) -> float:
    r"""The rate of change along ``direction``: :math:`D_u f = \nabla f \cdot u` (a JVP).

    Args:
        direction: a vector (or mapping) in parameter space; scaled to unit length unless
            ``normalize=False``.

    Raises:
        InputError: the direction is zero.
    """
    import jax

    theta = obj.vector(at)
    u = obj.vector(direction)
    norm = float(np.linalg.norm(u))
    if norm == 0.0:
        raise InputError("The direction of a directional derivative must not be zero.")
    if normalize:
        u = u / norm
    _, d = jax.jvp(obj.fn, (theta,), (u,))
    return float(_finite(obj, "directional derivative", np.asarray(d, np.float64), theta))


@with_x64
def hvp(obj: Objective, at: Params, vector: Params) -> np.ndarray:
    r"""Hessian-vector product :math:`H v`, forward-over-reverse, without forming :math:`H`."""
    import jax

    theta = obj.vector(at)
    v = obj.vector(vector)
    _, hv = jax.jvp(jax.grad(obj.fn), (theta,), (v,))
    return _finite(obj, "Hessian-vector product", np.asarray(hv, np.float64), theta)


@dataclass(frozen=True)
class GradientCheck:
    """Autodiff gradient next to its central finite-difference estimate.

    Attributes:
        names: parameter names.
        autodiff: gradient from JAX, shape ``(n,)``.
        finite_difference: central-difference estimate, shape ``(n,)``.
        steps: the step ``h_i`` used per parameter, shape ``(n,)``.
        relative_error: ``‖autodiff − fd‖ / max(‖autodiff‖, ‖fd‖, tiny)``.
        componentwise_error: ``|autodiff_i − fd_i| / max(|autodiff_i|, |fd_i|, scale)``.
    """

    names: tuple[str, ...]
    autodiff: np.ndarray
    finite_difference: np.ndarray
    steps: np.ndarray
    relative_error: float
    componentwise_error: np.ndarray

    def passed(self, rtol: float = 1e-6) -> bool:
        """True when the relative error is at most ``rtol``."""
        return self.relative_error <= rtol


@with_x64
def gradient_check(obj: Objective, at: Params, *, step: float | None = None) -> GradientCheck:
    r"""Check the autodiff gradient against central finite differences.

    .. math:: \partial_i f \approx \frac{f(\theta + h_i e_i) - f(\theta - h_i e_i)}{2 h_i},
              \qquad h_i = \epsilon^{1/3} \max(1, |\theta_i|)

    The cube root of machine epsilon balances truncation (:math:`O(h^2)`) against rounding
    (:math:`O(\epsilon/h)`) error, so agreement to about 1e-8 is expected for smooth functions.

    Args:
        step: a fixed relative step instead of :math:`\epsilon^{1/3}`.
    """
    import jax.numpy as jnp

    theta = obj.vector(at)
    rel = float(np.finfo(np.float64).eps ** (1 / 3)) if step is None else float(step)
    if not (math.isfinite(rel) and rel > 0):
        raise InputError(f"The finite-difference step must be a number > 0; got {step!r}.")
    h = rel * np.maximum(1.0, np.abs(theta))
    # Exact representable steps, so (θ+h) − (θ−h) is exactly 2h.
    h = (theta + h) - theta
    eye = np.eye(obj.n) * h[:, None]
    f = obj.jit_batched_value
    plus = np.asarray(f(jnp.asarray(theta + eye)), np.float64)
    minus = np.asarray(f(jnp.asarray(theta - eye)), np.float64)
    fd = _finite(obj, "finite-difference gradient", (plus - minus) / (2 * h), theta)
    ad = gradient(obj, theta)
    tiny = np.finfo(np.float64).tiny
    denom = max(float(np.linalg.norm(ad)), float(np.linalg.norm(fd)), tiny)
    scale = max(float(np.max(np.abs(ad))), tiny) * 1e-8
    comp = np.abs(ad - fd) / np.maximum(np.maximum(np.abs(ad), np.abs(fd)), scale)
    return GradientCheck(
        names=obj.names,
        autodiff=ad,
        finite_difference=fd,
        steps=h,
        relative_error=float(np.linalg.norm(ad - fd) / denom),
        componentwise_error=comp,
    )
