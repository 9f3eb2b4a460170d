"""Fitting a model formula to data: exact Jacobians, a trust-region solver, honest uncertainty."""
