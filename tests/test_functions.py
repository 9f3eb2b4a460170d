"""Built-in test functions against the literature: published minima, values and formulas.

The published numbers below are typed from the literature (Jamil & Yang 2013; Surjanovic &
Bingham's Virtual Library), and every formula is checked against an independent NumPy version.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradscape as gs
from gradscape import functions as F

# name: (published minimisers, published value, tolerance of the published digits)
PUBLISHED = {
    "sphere": ([(0, 0)], 0.0, 0.0),
    "booth": ([(1, 3)], 0.0, 0.0),
    "matyas": ([(0, 0)], 0.0, 0.0),
    "beale": ([(3, 0.5)], 0.0, 0.0),
    "rosenbrock": ([(1, 1)], 0.0, 0.0),
    "himmelblau": (
        [(3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
        0.0,
        5e-7,
    ),
    "rastrigin": ([(0, 0)], 0.0, 0.0),
    "ackley": ([(0, 0)], 0.0, 0.0),
    "goldstein_price": ([(0, -1)], 3.0, 0.0),
    "six_hump_camel": ([(0.0898, -0.7126), (-0.0898, 0.7126)], -1.0316, 1e-4),  # truncated digits
    "styblinski_tang": ([(-2.903534, -2.903534)], -39.16617 * 2, 1e-5),
}


def reference(name: str, p: np.ndarray) -> float:
    """The functions written out in NumPy, independently of the expression language."""
    x, y = p[0], p[1] if p.size > 1 else 0.0
    n = p.size
    if name == "sphere":
        return float(np.sum(p**2))
    if name == "booth":
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2
    if name == "matyas":
        return 0.26 * (x**2 + y**2) - 0.48 * x * y
    if name == "beale":
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
    if name == "rosenbrock":
        return float(np.sum(100 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2))
    if name == "himmelblau":
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
    if name == "rastrigin":
        return float(10 * n + np.sum(p**2 - 10 * np.cos(2 * np.pi * p)))
    if name == "ackley":
        return float(
            -20 * np.exp(-0.2 * np.sqrt(np.mean(p**2)))
            - np.exp(np.mean(np.cos(2 * np.pi * p)))
            + 20
            + np.e
        )
    if name == "goldstein_price":
        a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
        b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
        return a * b
    if name == "six_hump_camel":
        return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2
    if name == "styblinski_tang":
        return float(np.sum(p**4 - 16 * p**2 + 5 * p) / 2)
    if name == "saddle":
        return x**2 - y**2
    if name == "monkey_saddle":
        return x**3 - 3 * x * y**2
    raise AssertionError(name)


def test_every_listed_function_is_there() -> None:
    assert set(F.ALL) == {*PUBLISHED, "saddle", "monkey_saddle"}


@pytest.mark.parametrize("name", list(F.ALL))
def test_formula_matches_numpy(name: str) -> None:
    f = F.ALL[name]
    rng = np.random.default_rng(1)
    lo, hi = np.array(f.domain).T
    for p in rng.uniform(lo, hi, size=(5, f.dims)):
        assert gs.value(f.objective, p) == pytest.approx(reference(name, p), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_minima(name: str) -> None:
    f = F.ALL[name]
    points, value, tol = PUBLISHED[name]
    assert f.minimum == pytest.approx(value, abs=tol)
    assert len(f.minima) == len(points)
    for stored, published in zip(f.minima, points, strict=True):
        np.testing.assert_allclose(stored, published, atol=tol)
        assert gs.value(f.objective, stored) == pytest.approx(value, abs=max(tol, 1e-12))
        lo, hi = np.array(f.domain).T
        assert np.all((lo <= stored) & (stored <= hi))
        if not f.smooth_minimum:
            continue
        d = gs.derive(f.objective, stored)
        assert d.critical, f"gradient {d.gradient} at the minimum of {name}"
        assert d.kind == "minimum"


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_nothing_lower_on_a_fine_grid(name: str) -> None:
    f = F.ALL[name]
    s = gs.surface(f.objective, "x", "y", points=401)
    assert s.values.min() >= f.minimum - 1e-9


def test_ackley_minimum_is_a_kink() -> None:
    f = F.ackley
    assert not f.smooth_minimum
    with pytest.raises(
        gs.NumericalError, match=r"gradient of ackley\(x, y\) is undefined at x=0, y=0: sqrt"
    ):
        gs.gradient(f.objective, [0.0, 0.0])
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    for eps in (1e-3, 1e-6):
        around = [gs.value(f.objective, eps * np.array([np.cos(a), np.sin(a)])) for a in angles]
        # a cone: the value grows linearly with the distance, in every direction
        assert min(around) > 0 and np.allclose(np.array(around) / eps, around[0] / eps, rtol=1e-2)


@pytest.mark.parametrize(
    ("family", "n"), [("sphere", 4), ("rosenbrock", 5), ("rastrigin", 3), ("ackley", 3),
                      ("styblinski_tang", 3), ("sphere", 1)],
)  # fmt: skip
def test_families_in_any_dimension(family: str, n: int) -> None:
    f = F.get(f"{family}:{n}")
    assert f.dims == n and f == F.ALL[family](n)
    assert f.variables == (("x",) if n == 1 else tuple(f"x{i}" for i in range(1, n + 1)))
    rng = np.random.default_rng(n)
    p = rng.uniform(-1, 1, n)
    assert gs.value(f.objective, p) == pytest.approx(reference(family, p), rel=1e-12, abs=1e-12)
    (minimiser,) = f.minima
    assert gs.value(f.objective, minimiser) == pytest.approx(f.minimum, abs=1e-9)
    if f.smooth_minimum:
        assert np.abs(gs.gradient(f.objective, minimiser)).max() < 1e-9
    if family == "styblinski_tang":
        assert f.minimum == pytest.approx(-39.16617 * n, abs=1e-5 * n)


def test_two_dimensional_member_is_the_named_function() -> None:
    assert F.rosenbrock(2) == F.rosenbrock and F.get("rosenbrock:2").variables == ("x", "y")


def test_classification_of_the_saddles_and_bowls() -> None:
    for f in (F.saddle, F.monkey_saddle):
        (point, kind), = f.critical  # fmt: skip
        d = gs.derive(f.objective, point)
        assert d.critical and d.kind == kind
    assert gs.derive("saddle", {"x": 0, "y": 0}).index == 1
    assert gs.derive("sphere", {"x": 0, "y": 0}).kind == "minimum"
    assert gs.derive("-x^2 - y^2", {"x": 0, "y": 0}).kind == "maximum"
    assert gs.derive("-x^2 - y^2", {"x": 0.5, "y": 0}).kind == "not critical"
    assert gs.derive("x^2 + y^4", {"x": 0, "y": 0}).kind == "degenerate"
    assert gs.derive("x^2 - y^2 + z^4", {"x": 0, "y": 0, "z": 0}).kind == "saddle"


def test_classify_from_eigenvalues() -> None:
    assert gs.classify([1.0, 2.0]) == ("minimum", 0)
    assert gs.classify([-1.0, -2.0]) == ("maximum", 2)
    assert gs.classify([-1.0, 0.0, 2.0]) == ("saddle", 1)
    assert gs.classify([0.0, 2.0]) == ("degenerate", 0)
    assert gs.classify([1e-12, 1.0]) == ("degenerate", 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("himmelblau", "himmelblau"), ("Six-Hump-Camel", "six_hump_camel"),
     (" rosenbrock:3 ", "rosenbrock:3"), ("styblinski_tang", "styblinski_tang")],
)  # fmt: skip
def test_lookup_by_name(text: str, expected: str) -> None:
    f = F.lookup(text)
    assert f is not None and f.name == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("rosenbrok", "did you mean rosenbrock?"), ("booth:3", "2 dimensions only"),
     ("sphere:0", r"^The number of dimensions of sphere must be a whole number from 1 to "
      r"10,000 \(MAX_DIMS\); got 0\.$"),
     ("rosenbrock:1", "from 2 to 10,000"), ("rastrigin:10001", r"\(MAX_DIMS\); got 10001"),
     ("nosuch:3", "unknown function 'nosuch'")],
)  # fmt: skip
def test_lookup_errors(text: str, message: str) -> None:
    with pytest.raises(gs.InputError, match=message):
        gs.objective(text)


def test_plain_names_stay_variables() -> None:
    assert F.lookup("x") is None and F.lookup("x^2") is None
    assert gs.objective("w").names == ("w",)


def test_an_objective_knows_its_test_function() -> None:
    # Engines read the published minima from the Objective itself, not by looking up its label.
    assert gs.objective("himmelblau").function is F.himmelblau
    wide = gs.objective("himmelblau", ranges={"x": (-9.0, 9.0)})
    assert wide.function is F.himmelblau and wide.ranges["x"] == (-9.0, 9.0)
    member = gs.objective("rosenbrock:5").function
    assert member is not None and member.minima == ((1.0,) * 5,)
    big = gs.objective("sphere:200")  # numbers only, above MAX_SYMBOLIC_DIMS
    assert big.expression is None and big.function is not None and big.function.dims == 200
    assert gs.objective("x^2 + y^2").function is None
    # a TestFunction given as itself
    assert gs.objective(F.booth).function is F.booth


@pytest.mark.parametrize("n", [True, 3.0, "3", -1])
def test_family_dimensions_are_whole_numbers(n: object) -> None:
    with pytest.raises(gs.InputError, match=r"dimensions of rastrigin must be a whole number"):
        F.rastrigin(n)  # type: ignore[arg-type]
