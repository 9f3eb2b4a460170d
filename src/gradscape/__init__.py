"""gradscape: see and use the calculus that makes machine learning work.

The public API, loaded lazily so that ``import gradscape`` stays light (JAX and matplotlib are
imported only when first needed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    # core
    "Objective": "objectives",
    "objective": "sources",
    # expressions and test functions
    "parse": "expr",
    "Expression": "expr",
    "ExpressionError": "errors",
    "TestFunction": "functions",
    "GradscapeError": "errors",
    "InputError": "errors",
    "DataError": "errors",
    "ParameterError": "errors",
    "NumericalError": "errors",
    # calculus
    "value": "calculus",
    "value_and_gradient": "calculus",
    "gradient": "calculus",
    "partials": "calculus",
    "hessian": "calculus",
    "hvp": "calculus",
    "directional_derivative": "calculus",
    "gradient_check": "calculus",
    "GradientCheck": "calculus",
    "derive": "calculus",
    "Derivation": "calculus",
    "taylor": "calculus",
    "Taylor": "calculus",
    "classify": "calculus",
    # data and the line
    "Dataset": "line_data",
    "synthetic_line": "line_data",
    "load_csv": "line_data",
    "closed_form": "line_model",
    "sse_objective": "line_model",
    "mse_objective": "line_model",
    "predict": "line_model",
    # engines and results
    "profile": "sweep",
    "surface": "sweep",
    "Profile": "sweep",
    "Surface": "sweep",
    "plan_sweep": "sweep",
    "SweepPlan": "sweep",
    "descend": "descent",
    "plan_descent": "descent",
    "max_stable_lr": "descent",
    "Trajectory": "descent",
    "DescentPlan": "descent",
    "tour": "tours",
    "optimizer": "optimizers",
    "Optimizer": "optimizers",
    "minimize": "runs",
    "minimize_many": "batches",
    "Run": "runs",
    "Batch": "batches",
    "critical_points": "critical",
    "CriticalPoints": "critical",
    "multistart": "multistarts",
    "Minima": "multistarts",
    "race": "races",
    "Race": "races",
    "fit": "fitting.fits",
    "Fit": "fitting.fits",
    "pair_surface": "fitting.pairs",
    "load_dataset": "networks.datasets",
    "Split": "networks.datasets",
    "model": "networks.models",
    "Model": "networks.models",
    "train": "networks.training",
    "resume": "networks.training",
    "Training": "networks.training",
    "spectrum": "networks.spectra",
    "landscape": "networks.landscapes",
    "Landscape": "networks.landscapes",
    "Spectrum": "networks.spectra",
    "TourResult": "tours",
    "load_result": "saved",
}

_SUBMODULES = ("functions",)
_ALIASES = {"load_dataset": "load"}  # exported name -> name in its module

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])

if TYPE_CHECKING:  # pragma: no cover
    from . import functions
    from .batches import Batch, minimize_many
    from .calculus import (
        Derivation,
        GradientCheck,
        Taylor,
        classify,
        derive,
        directional_derivative,
        gradient,
        gradient_check,
        hessian,
        hvp,
        partials,
        taylor,
        value,
        value_and_gradient,
    )
    from .critical import CriticalPoints, critical_points
    from .descent import DescentPlan, Trajectory, descend, max_stable_lr, plan_descent
    from .errors import (
        DataError,
        ExpressionError,
        GradscapeError,
        InputError,
        NumericalError,
        ParameterError,
    )
    from .expr import Expression, parse
    from .fitting.fits import Fit, fit
    from .fitting.pairs import pair_surface
    from .functions import TestFunction
    from .line_data import Dataset, load_csv, synthetic_line
    from .line_model import closed_form, mse_objective, predict, sse_objective
    from .multistarts import Minima, multistart
    from .networks.datasets import Split
    from .networks.datasets import load as load_dataset
    from .networks.landscapes import Landscape, landscape
    from .networks.models import Model, model
    from .networks.spectra import Spectrum, spectrum
    from .networks.training import Training, resume, train
    from .objectives import Objective
    from .optimizers import Optimizer, optimizer
    from .races import Race, race
    from .runs import Run, minimize
    from .sources import objective
    from .sweep import Profile, Surface, SweepPlan, plan_sweep, profile, surface
    from .tours import TourResult, tour


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gradscape' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
