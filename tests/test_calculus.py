"""Derivatives checked two ways: finite differences and hand-derived closed forms."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs


def hand_partials(data: gs.Dataset, m: float, c: float) -> np.ndarray:
    r = data.y - (m * data.x + c)
    return np.array([-2.0 * np.sum(data.x * r), -2.0 * np.sum(r)])


def hand_hessian(data: gs.Dataset) -> np.ndarray:
    return 2.0 * np.array([[np.sum(data.x**2), np.sum(data.x)], [np.sum(data.x), data.n]])


@pytest.mark.parametrize("method", ["stats", "sum"])
def test_sse_gradient_matches_hand_derived_partials(line: gs.Dataset, method: str) -> None:
    obj = gs.sse_objective(line, method=method)
    rng = np.random.default_rng(0)
    for m, c in rng.normal(0, 5, size=(5, 2)):
        np.testing.assert_allclose(gs.gradient(obj, [m, c]), hand_partials(line, m, c), rtol=1e-10)
        parts = gs.partials(obj, {"m": m, "c": c})
        assert list(parts) == ["m", "c"]
        np.testing.assert_allclose(list(parts.values()), hand_partials(line, m, c), rtol=1e-10)


def test_sse_hessian_matches_closed_form_and_fd(sse: gs.Objective, line: gs.Dataset) -> None:
    h = gs.hessian(sse, [0.3, -1.0])
    np.testing.assert_allclose(h, hand_hessian(line), rtol=1e-12)
    # Finite differences of the autodiff gradient: an independent second route.
    eps = 1e-5
    fd = np.column_stack(
        [
            (
                gs.gradient(sse, np.array([0.3, -1.0]) + eps * e)
                - gs.gradient(sse, np.array([0.3, -1.0]) - eps * e)
            )
            / (2 * eps)
            for e in np.eye(2)
        ]
    )
    np.testing.assert_allclose(h, fd, rtol=1e-7)


def test_gradient_check_reports_small_relative_error(sse: gs.Objective) -> None:
    check = gs.gradient_check(sse, {"m": 1.5, "c": 2.0})
    assert check.relative_error < 1e-8
    assert check.passed()
    np.testing.assert_allclose(check.finite_difference, check.autodiff, rtol=1e-7)


def _bowl_with_wrong_x_partial(dx: Any) -> gs.Objective:
    """x² + y² whose automatic ∂/∂x is ``dx(x)`` instead of 2x (a custom JVP that lies)."""
    import jax

    @jax.custom_jvp
    def f(t):  # type: ignore[no-untyped-def]
        return t[0] ** 2 + t[1] ** 2

    @f.defjvp
    def f_jvp(primals, tangents):  # type: ignore[no-untyped-def]
        (t,), (dt,) = primals, tangents
        return f(t), dx(t[0]) * dt[0] + 2.0 * t[1] * dt[1]

    return gs.Objective(f, names=("x", "y"))


def test_gradient_check_catches_a_wrong_gradient() -> None:
    obj = _bowl_with_wrong_x_partial(lambda x: 3.0 * x)  # wrong: should be 2x
    check = gs.gradient_check(obj, [1.0, 1.0])
    assert not check.passed()
    assert check.componentwise_error[0] > 0.1 and check.componentwise_error[1] < 1e-8


def test_directional_derivative_and_hvp() -> None:
    obj = gs.Objective(lambda t: t[0] ** 2 * t[1] + t[1] ** 3, names=("x", "y"))
    at, u = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    grad = np.array([2 * 1 * 2, 1 + 3 * 4.0])
    assert gs.directional_derivative(obj, at, u) == pytest.approx(grad @ (u / 5), rel=1e-12)
    assert gs.directional_derivative(obj, at, u, normalize=False) == pytest.approx(
        grad @ u, rel=1e-12
    )
    hess = np.array([[2 * 2.0, 2 * 1.0], [2 * 1.0, 6 * 2.0]])
    np.testing.assert_allclose(gs.hvp(obj, at, u), hess @ u, rtol=1e-12)
    with pytest.raises(gs.InputError, match="must not be zero"):
        gs.directional_derivative(obj, at, [0.0, 0.0])


def test_from_pytree_names_and_values() -> None:
    obj = gs.Objective.from_pytree(
        lambda p: (p["w"] ** 2).sum() + p["b"], {"w": np.zeros(3), "b": 0.0}
    )
    assert obj.names == ("w[0]", "w[1]", "w[2]", "b")  # the order the dict was written in
    assert obj([1.0, 2.0, 3.0, 1.0]) == pytest.approx(15.0)
    np.testing.assert_allclose(gs.gradient(obj, [1.0, 2.0, 3.0, 0.0]), [2.0, 4.0, 6.0, 1.0])


def test_from_pytree_takes_lists_and_keeps_the_written_order() -> None:
    # The README's example: list leaves arrive as arrays, names in the order written.
    nested = gs.Objective.from_pytree(
        lambda p: (p["w"] ** 2).sum() + p["b"] ** 2, {"w": [0.0, 0.0], "b": 0.0}
    )
    assert nested.names == ("w[0]", "w[1]", "b")
    theta = np.array([1.0, -2.0, 3.0])
    assert nested(theta) == pytest.approx(float(theta @ theta))
    np.testing.assert_allclose(gs.gradient(nested, theta), 2 * theta)
    # Keys not in sorted order, tuples, matrices, NamedTuples and plain scalars.
    from typing import NamedTuple

    class Line(NamedTuple):
        m: float
        c: float

    tree = {"z": (1.0, 2.0), "a": np.zeros((2, 2)), "line": Line(0.5, 1.5), "s": 3}
    obj = gs.Objective.from_pytree(
        lambda p: p["z"] @ p["z"] + p["a"][0, 1] + p["line"].m * p["line"].c + p["s"], tree
    )
    assert obj.names == (
        "z[0]", "z[1]", "a[0,0]", "a[0,1]", "a[1,0]", "a[1,1]", "line.m", "line.c", "s"
    )  # fmt: skip
    values = np.arange(1.0, 10.0)
    assert obj(values) == pytest.approx(1 + 4 + 4 + 7 * 8 + 9)
    with pytest.raises(gs.ParameterError, match=r"Parameter b must be a number.*got str"):
        gs.Objective.from_pytree(lambda p: 0.0, {"a": 1.0, "b": "x"})


def test_float64_precision_without_global_flag() -> None:
    import jax

    obj = gs.Objective(lambda t: (t[0] - 1e-9) ** 2, names=("x",))
    assert gs.gradient(obj, 0.0)[0] == pytest.approx(-2e-9, rel=1e-12)
    assert not jax.config.jax_enable_x64  # the user's global setting is left alone


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"m": 1.0}, gs.ParameterError, r"missing c"),
        ({"m": 1.0, "c": 2.0, "z": 0.0}, gs.ParameterError, r"unknown z"),
        ([1.0, 2.0, 3.0], gs.ParameterError, r"takes 2 parameter\(s\); got 3"),
        ({"m": "a", "c": 1.0}, gs.InputError, r"Parameter m must be a number; got 'a'"),
        ({"m": float("nan"), "c": 1.0}, gs.InputError, r"Parameter m must be finite"),
    ],
)
def test_bad_parameters(sse: gs.Objective, params: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        gs.value(sse, params)  # type: ignore[arg-type]


def test_undefined_value_is_reported_not_returned() -> None:
    import jax.numpy as jnp

    obj = gs.Objective(lambda t: jnp.log(t[0]), names=("x",))
    with pytest.raises(gs.NumericalError, match=r"value of f\(x\) is undefined at x=-1"):
        gs.value(obj, -1.0)
    assert isinstance(gs.NumericalError("x"), ValueError)


def test_objective_validation() -> None:
    with pytest.raises(gs.ParameterError, match="unique; repeated: a"):
        gs.Objective(lambda t: t[0], names=("a", "a"))
    with pytest.raises(gs.InputError, match="low < high; got 2:1"):
        gs.Objective(lambda t: t[0], names=("a",), ranges={"a": (2, 1)})
    with pytest.raises(gs.ParameterError, match="unknown parameter 'b'"):
        gs.Objective(lambda t: t[0], names=("a",), ranges={"b": (0, 1)})


# -- any function: derive, Taylor --------------------------------------------------------------
def test_derive_against_closed_forms() -> None:
    import sympy as sp

    d = gs.derive("x^2*sin(y)", at={"x": 1.0, "y": 2.0})
    s2, c2 = np.sin(2.0), np.cos(2.0)
    assert d.value == pytest.approx(s2, rel=1e-15)
    np.testing.assert_allclose(d.gradient, [2 * s2, c2], rtol=1e-14)
    h = np.array([[2 * s2, 2 * c2], [2 * c2, -s2]])
    np.testing.assert_allclose(d.hessian, h, rtol=1e-14)
    np.testing.assert_allclose(d.hessian_eigenvalues, np.linalg.eigvalsh(h), rtol=1e-12)
    np.testing.assert_allclose(d.fd_gradient, d.gradient, rtol=1e-8)
    assert d.fd_relative_error < 1e-8
    assert d.kind == "not critical" and not d.critical
    x, y = sp.symbols("x y", real=True)
    f = x**2 * sp.sin(y)
    assert gs.parse(d.partials["x"]).sympy == sp.diff(f, x)
    assert gs.parse(d.partials["y"]).sympy == sp.diff(f, y)
    assert gs.parse(d.hessian_formulas[0][1]).sympy == sp.diff(f, x, y)
    assert d.partials_latex == {
        "x": r"2 x \sin{\left(y \right)}",
        "y": r"x^{2} \cos{\left(y \right)}",
    }


def test_derive_without_a_point_gives_formulas_only() -> None:
    d = gs.derive("exp(-x*y)")
    assert d.partials == {"x": "-y*exp(-x*y)", "y": "-x*exp(-x*y)"}
    assert d.value is None and d.gradient is None
    assert "value" not in d.summary()


def test_derive_on_a_plain_objective_has_no_formulas(sse: gs.Objective) -> None:
    d = gs.derive(sse, {"m": 1.0, "c": 2.0})
    assert d.partials is None and d.fd_relative_error < 1e-7 and d.kind == "not critical"


def test_derivation_saves_and_loads(tmp_path: Path) -> None:
    d = gs.derive("himmelblau", {"x": 3, "y": 2})
    back = gs.Derivation.load(d.save(tmp_path / "d"))
    assert back.kind == "minimum" and back.partials == d.partials
    np.testing.assert_array_equal(back.hessian, d.hessian)
    assert back.hessian_formulas == d.hessian_formulas


@pytest.mark.parametrize(
    ("text", "at", "eigenvalues", "near"),
    [
        # off the critical point at 0 by 1e-5: not critical, but its Hessian is that of ...
        ("x^2 - y^2", (1e-5, -1e-5), (-2.0, 2.0), "saddle"),
        ("-x^2 - 3*y^2", (1e-5, 2e-5), (-6.0, -2.0), "maximum"),
        ("x^2 + 3*y^2", (1e-5, 2e-5), (2.0, 6.0), "minimum"),
        # ... and far from it, nothing is near
        ("x^2 - y^2", (0.5, 0.5), (-2.0, 2.0), None),
    ],
)
def test_the_kind_of_a_nearby_critical_point_is_decided_by_derive(
    text: str, at: tuple[float, float], eigenvalues: tuple[float, float], near: str | None
) -> None:
    d = gs.derive(text, at={"x": at[0], "y": at[1]})
    assert d.critical is False and d.kind == "not critical"
    np.testing.assert_allclose(d.hessian_eigenvalues, eigenvalues, rtol=1e-14)  # closed form
    assert d.near_critical_kind == near
    assert d.summary()["near_critical_kind"] == near


def test_a_published_minimum_is_near_a_minimum_and_says_so(tmp_path: Path) -> None:
    # Himmelblau's published minimiser, to 6 digits: within 1e-3 of the true one, not on it.
    d = gs.derive("himmelblau", {"x": -2.805118, "y": 3.131312})
    assert not d.critical and d.near_critical_kind == "minimum"
    assert gs.derive("himmelblau", {"x": 3.0, "y": 2.0}).near_critical_kind is None  # exact
    back = gs.Derivation.load(d.save(tmp_path / "d"))
    assert back.near_critical_kind == "minimum"


def test_second_order_taylor_of_a_quadratic_is_exact() -> None:
    obj = gs.objective("3*x^2 + 2*x*y - y^2 + x - 4*y + 7")
    t = gs.taylor(obj, [0.5, -1.5])
    rng = np.random.default_rng(0)
    for p in rng.uniform(-3, 3, size=(5, 2)):
        assert t(p) == pytest.approx(gs.value(obj, p), rel=1e-13, abs=1e-12)
        assert t(p, order=1) != pytest.approx(gs.value(obj, p))
    import sympy as sp

    diff = gs.parse(t.formula(2)).sympy - obj.expression.sympy
    assert all(abs(c) < 1e-12 for c in sp.Poly(diff.expand(), *obj.expression.symbols).coeffs())


def test_taylor_errors_shrink_as_predicted() -> None:
    obj = gs.objective("sin(x)*exp(y)")
    a = np.array([0.3, 0.2])
    t = gs.taylor(obj, a)
    u = np.array([0.6, 0.8])
    errs1, errs2 = [], []
    for h in (1e-1, 1e-2):
        f = gs.value(obj, a + h * u)
        errs1.append(abs(f - t(a + h * u, order=1)))
        errs2.append(abs(f - t(a + h * u, order=2)))
    assert errs1[0] / errs1[1] == pytest.approx(100, rel=0.1)  # O(h^2)
    assert errs2[0] / errs2[1] == pytest.approx(1000, rel=0.1)  # O(h^3)


@pytest.mark.parametrize(
    ("text", "at", "message"),
    [
        ("log(x)", {"x": -1}, r"value of f\(x\) is undefined at x=-1: log\(x\) needs a positive"),
        ("1/x + y", {"x": 0, "y": 1}, r"is infinite at x=0, y=1: 1/x divides by zero"),
        ("sqrt(x)", {"x": -4}, r"undefined at x=-4: sqrt\(x\) needs a non-negative argument"),
        ("acos(x)", {"x": 2}, r"acos\(x\) needs an argument in \[-1, 1\] \(here 2\)"),
        ("exp(x)", {"x": 1000}, r"infinite at x=1000: exp\(x\) overflows"),
    ],
)
def test_undefined_points_are_named(text: str, at: dict[str, float], message: str) -> None:
    with pytest.raises(gs.NumericalError, match=message):
        gs.derive(text, at)


# -- kinks: points where a part is not smooth (issue 9, item 1) --------------------------------
INF, NAN = np.inf, np.nan


@pytest.mark.parametrize(
    ("text", "at", "left", "right", "kind", "part"),
    [
        ("abs(x)", [0.0], [-1], [1], "minimum", "abs(x) has a corner where x = 0"),
        ("-abs(x)", [0.0], [1], [-1], "maximum", "abs(x) has a corner"),
        ("relu(x)", [0.0], [0], [1], "minimum", "relu(x) has a corner where x = 0"),
        ("abs(x) + 2*x", [0.0], [1], [3], "not an extremum", "abs(x) has a corner"),
        ("abs(x - 1)^0.5", [1.0], [-INF], [INF], "minimum", "is not differentiable where"),
        ("x^(1/3)", [0.0], [NAN], [INF], "minimum", "x^(1/3) is not differentiable where x = 0"),
        ("sign(x)", [0.0], [INF], [INF], "not an extremum", "sign(x) jumps where x = 0"),
        ("heaviside(x - 2)", [2.0], [INF], [INF], "not an extremum", "jumps where x - 2 = 0"),
        ("max(x, y)", [1.0, 1.0], [0, 0], [1, 1], "not an extremum", "largest arguments tie"),
        ("min(x, 2*y)", [2.0, 1.0], [1, 2], [0, 0], "not an extremum", "smallest arguments tie"),
        ("sqrt(x^2 + y^2)", [0.0, 0.0], [-1, -1], [1, 1], "minimum", "x^2 + y^2 = 0"),
        ("abs(x) + y^2", [0.0, 0.0], [-1, 0], [1, 0], "minimum", "abs(x) has a corner"),
        ("abs(x) - abs(y)", [0.0, 0.0], [-1, 1], [1, -1], "not an extremum", "abs(y)"),
    ],
)
def test_kinks_are_named_with_one_sided_derivatives(
    text: str, at: list[float], left: list[float], right: list[float], kind: str, part: str
) -> None:
    # Closed forms: |x|' = ±1 on either side; relu' = 0 | 1; max(x, y) follows the winner; a
    # jump has infinite one-sided slopes; x^(1/3) is undefined left of 0 and vertical right.
    d = gs.derive(text, at)
    assert d.differentiable is False and part in str(d.reason)
    got = np.array(list(d.one_sided.values()))  # type: ignore[union-attr]
    np.testing.assert_allclose(got[:, 0], left, atol=1e-7)
    np.testing.assert_allclose(got[:, 1], right, atol=1e-7)
    assert d.kind == kind
    # Nothing that does not exist at a kink is given.
    assert d.gradient is None and d.hessian is None and d.taylor1 is None and d.taylor2 is None
    assert d.critical is None and d.fd_relative_error is None
    out = d.summary()
    assert out["differentiable"] is False and out["reason"] == d.reason
    assert out["one_sided"][d.variables[0]]["right"] == (
        "+inf" if right[0] == INF else pytest.approx(right[0], abs=1e-7)
    )


def test_one_sided_derivatives_match_difference_quotients() -> None:
    # An independent route: (f(θ ± t e) − f(θ)) / t for a tiny t, in exact rational arithmetic.
    import sympy

    x, y = sympy.symbols("x y", real=True)
    f = sympy.Max(x + y, 2 * x - y) + sympy.Abs(y - 1)
    point = {x: sympy.Integer(2), y: sympy.Integer(1)}
    d = gs.derive("max(x + y, 2*x - y) + abs(y - 1)", {"x": 2, "y": 1})
    t = sympy.Rational(1, 10**12)
    f0 = f.subs(point)
    for name, sym in (("x", x), ("y", y)):
        up = float((f.subs({**point, sym: point[sym] + t}) - f0) / t)
        down = float((f0 - f.subs({**point, sym: point[sym] - t})) / t)
        assert d.one_sided[name] == pytest.approx((down, up), abs=1e-9)  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "kind"), [("x*abs(x)", "not an extremum"), ("abs(x)^3", "minimum")]
)
def test_differentiable_despite_a_corner(text: str, kind: str) -> None:
    # x|x| and |x|³ have derivative 0 at 0 (|h|·h / h → 0): first order holds, the corner
    # is named, the second-order results are withheld.
    d = gs.derive(text, [0.0])
    assert d.differentiable is True and "abs(x) has a corner" in str(d.reason)
    assert d.gradient is not None and abs(d.gradient[0]) < 1e-12
    assert d.critical is True and d.kind == kind
    assert d.hessian is None and d.taylor2 is None and d.taylor1 == "0"
    assert any("withheld" in n for n in d.notes)


def test_smooth_points_of_kinked_functions_are_unchanged() -> None:
    d = gs.derive("abs(x) + relu(y) + max(x, y)", {"x": 1.0, "y": 2.0})
    assert d.differentiable is True and d.one_sided is None and d.reason is None
    np.testing.assert_allclose(d.gradient, [1.0, 2.0], rtol=1e-15)  # type: ignore[arg-type]
    assert d.taylor2 is not None and d.kind == "not critical"


def test_beside_a_corner_f_is_smooth_and_the_check_says_why_it_fails() -> None:
    # |x| at 1e-10 is differentiable (slope 1); the finite-difference step straddles 0.
    d = gs.derive("abs(x) + y^2", {"x": 1e-10, "y": 1.0})
    assert d.differentiable is True and d.one_sided is None
    np.testing.assert_allclose(d.gradient, [1.0, 2.0], rtol=1e-15)  # type: ignore[arg-type]
    assert d.fd_agree is False
    assert any("straddle" in n and "abs(x) has a corner" in n for n in d.notes)


def test_kink_of_a_plain_jax_function_is_found_by_probing() -> None:
    import jax.numpy as jnp

    # No formula to name the part: the disagreement of the checks triggers the probes.
    obj = gs.Objective(lambda t: jnp.abs(t[0]) + 0.5 * t[1] ** 2, names=("a", "b"))
    d = gs.derive(obj, [0.0, 0.0])
    assert d.differentiable is False and "one-sided derivatives differ" in str(d.reason)
    assert d.one_sided == {"a": (-1.0, 1.0), "b": (0.0, 0.0)} and d.kind == "minimum"


# A corner near the point, not at it, leaves f smooth there; the probes must not straddle it.
def _jax_abs_near(t: Any) -> Any:
    import jax.numpy as jnp

    return jnp.abs(t[0]) + jnp.abs(t[1] - 1.0)


@pytest.mark.parametrize(
    ("source", "at", "gradient"),
    [  # closed forms beside the corner: d|x|/dx = sign(x), ∇√(x²+y²) = (x, y)/r, relu' = 0
        ("abs(x)", [1e-9], [1.0]),
        ("relu(x)", [-1e-12], [0.0]),
        ("max(x, y)", [1.0, 1.0 + 1e-10], [0.0, 1.0]),
        ("sqrt(x^2 + y^2)", [1e-9, 0.0], [1.0, 0.0]),
        ("abs(x - 1e-7)", [0.0], [-1.0]),
        ("jax", [1e-9, 1.0 + 1e-12], [1.0, 1.0]),  # no formula: the probes alone decide
    ],
)
def test_a_corner_near_the_point_leaves_f_differentiable(
    source: str, at: list[float], gradient: list[float]
) -> None:
    obj = gs.Objective(_jax_abs_near, names=("x", "y")) if source == "jax" else source
    d = gs.derive(obj, at)
    assert d.differentiable is True and d.one_sided is None
    np.testing.assert_allclose(d.gradient, gradient, rtol=1e-12, atol=1e-15)  # type: ignore[arg-type]
    # A nonzero gradient is no critical point, however large the curvature beside the corner.
    assert d.critical is (not any(gradient))


@pytest.mark.parametrize(
    ("text", "at", "left", "right", "kind"),
    [  # abs(y) is at its corner, abs(x) / the max only near theirs: x's slopes are one-sided equal
        ("abs(x) + abs(y)", [1e-9, 0.0], [1, -1], [1, 1], "not an extremum"),
        ("max(x, y) + abs(z)", [1.0, 1.0 + 1e-10, 0.0], [0, 1, -1], [0, 1, 1], "not an extremum"),
        ("sqrt(x^2 + y^2) + abs(y)", [1e-9, 0.0], [1, -1], [1, 1], "not an extremum"),
    ],
)
def test_probes_stay_on_the_near_side_of_a_corner_beside_the_point(
    text: str, at: list[float], left: list[float], right: list[float], kind: str
) -> None:
    d = gs.derive(text, at)
    assert d.differentiable is False
    got = np.array(list(d.one_sided.values()))  # type: ignore[union-attr]
    np.testing.assert_allclose(got[:, 0], left, atol=1e-7)
    np.testing.assert_allclose(got[:, 1], right, atol=1e-7)
    assert d.kind == kind


def test_a_corner_within_rounding_of_the_point_is_at_it_and_said_so() -> None:
    # x = 1.4142135623730951 is √2 rounded: x² − 2 = 4.4e-16 is rounding, not a distance.
    root2 = float(np.sqrt(2.0))
    d = gs.derive("abs(x^2 - 2)", [root2])
    assert d.differentiable is False and d.kind == "minimum"
    np.testing.assert_allclose(d.one_sided["x"], (-2 * root2, 2 * root2), rtol=1e-7)  # type: ignore[index]
    assert any("zero within float64 rounding" in n for n in d.notes)
    # A corner a few ulps off, with another part at its corner: too close to step beside.
    d = gs.derive("max(x, y) + abs(z)", [1.0, 1.0 + 1e-12, 0.0])
    assert d.differentiable is False
    assert any("nearer the point than the probes can step" in n for n in d.notes)


def test_kink_of_a_plain_function_says_how_close_the_probes_looked() -> None:
    import jax.numpy as jnp

    obj = gs.Objective(lambda t: jnp.abs(t[0]), names=("x",))
    d = gs.derive(obj, [0.0])
    assert d.differentiable is False and d.kind == "minimum"
    assert any("steps down to 1e-14" in n for n in d.notes)


def test_is_critical_is_not_fooled_by_curvature_beside_a_corner() -> None:
    from gradscape.calculus import is_critical

    # √(x² + y²) at (r, 0): ∇f = (1, 0), H = diag(0, 1/r): slope along the flat direction.
    for r in (1e-3, 1e-9, 1e-14):
        assert not is_critical([1.0, 0.0], [[0.0, 0.0], [0.0, 1 / r]], [r, 0.0])
    # A minimum found to 1e-12 is critical at any scale of f.
    for c in (1e-9, 1.0, 1e9):
        assert is_critical(c * np.array([2e-12, 0.0]), c * np.diag([2.0, 8.0]), [1e-12, 0.0])


def test_gradient_at_a_kink_still_refuses() -> None:
    with pytest.raises(gs.NumericalError, match=r"gradient of f\(x\) is infinite at x=0: .*"):
        gs.gradient(gs.objective("abs(x)^0.5"), [0.0])


# -- agreement where the gradient is zero (issue 9, item 2) ------------------------------------
@pytest.mark.parametrize(
    ("name", "at"),
    [
        ("himmelblau", (3.0, 2.0)),
        ("himmelblau", (-2.805118086952745, 3.131312518250573)),
        ("rosenbrock", (1.0, 1.0)),
        ("booth", (1.0, 3.0)),
        ("six_hump_camel", (0.08984201310031806, -0.7126564030207396)),
        ("beale", (3.0, 0.5)),
    ],
)
def test_gradient_check_agrees_at_a_zero_gradient(name: str, at: tuple[float, float]) -> None:
    # At a minimum autodiff gives ~0 and central differences give O(h²) truncation noise:
    # that is agreement, and the relative error says so.
    check = gs.gradient_check(gs.objective(name), at)
    assert np.linalg.norm(check.autodiff) < 1e-9
    assert check.agree and check.relative_error < 1e-6
    assert np.all(np.abs(check.finite_difference - check.autodiff) <= check.error_bound)  # type: ignore[operator]
    d = gs.derive(name, at)
    assert d.fd_agree and d.fd_relative_error is not None and d.fd_relative_error < 1e-6


def test_gradient_check_at_an_inflection_and_a_wrong_gradient_near_zero() -> None:
    # x³ at 0: autodiff 0, central differences h² exactly (truncation): agreement.
    check = gs.gradient_check(gs.objective("x^3 + y^2"), [0.0, 0.0])
    assert check.finite_difference[0] == pytest.approx(check.steps[0] ** 2, rel=1e-6)
    assert check.agree

    # Beside a zero gradient a small error is still an error.
    wrong = _bowl_with_wrong_x_partial(lambda x: 2.0 * x + 1e-5)  # off by 1e-5
    check = gs.gradient_check(wrong, [0.0, 0.0])
    assert not check.agree and check.relative_error > 0.5


# -- sizes: numbers only above the caps (issue 9, items 13 and 19) ------------------------------
def _rosenbrock_gradient(x: np.ndarray) -> np.ndarray:
    """Closed form: ∂/∂x_i of Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)²."""
    g = np.zeros_like(x)
    g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def test_derive_of_a_large_family_is_numbers_only_and_quick() -> None:
    import time

    from gradscape.calculus import MAX_HESSIAN_VARIABLES

    start = time.perf_counter()
    d = gs.derive("rosenbrock:10000")  # a 10⁴ × 10⁴ symbolic Hessian once ran past 10 minutes
    assert d.partials is None and d.hessian_formulas is None
    assert any("no symbolic derivatives" in n for n in d.notes)
    n = MAX_HESSIAN_VARIABLES + 500
    x = np.random.default_rng(0).uniform(-1, 1, n)
    d = gs.derive(f"rosenbrock:{n}", x)
    assert time.perf_counter() - start < 60
    np.testing.assert_allclose(d.gradient, _rosenbrock_gradient(x), rtol=1e-12)  # type: ignore[arg-type]
    assert d.fd_agree and d.hessian is None and d.kind is None
    assert any(f"MAX_HESSIAN_VARIABLES = {MAX_HESSIAN_VARIABLES:,}" in note for note in d.notes)


def test_symbolic_partials_of_a_long_sum_match_sympy() -> None:
    import sympy

    # Each variable differentiates only the terms that hold it: same answer as SymPy's diff.
    f = gs.functions.get("rosenbrock:30")
    d = gs.derive(f.objective)
    whole = f.expression.sympy
    for name, sym in zip(f.variables, f.expression.symbols, strict=True):
        assert sympy.simplify(f.expression.partials[name] - sympy.diff(whole, sym)) == 0
    assert d.partials is not None and len(d.partials) == 30


def test_derive_of_a_plain_function_of_many_parameters_skips_what_costs_n_squared() -> None:
    import jax.numpy as jnp

    from gradscape.calculus import MAX_FD_VARIABLES

    n = MAX_FD_VARIABLES + 1
    obj = gs.Objective(lambda t: jnp.sum(t**2), names=tuple(f"w{i}" for i in range(n)))
    x = np.linspace(-1, 1, n)
    d = gs.derive(obj, x)
    np.testing.assert_allclose(d.gradient, 2 * x, rtol=1e-15)  # type: ignore[arg-type]
    assert d.fd_gradient is None and d.hessian is None
    assert any("MAX_FD_VARIABLES = 10,000" in note for note in d.notes)
    with pytest.raises(gs.InputError, match=r"above MAX_FD_VARIABLES = 10,000"):
        gs.gradient_check(obj, x)


# -- formulas too long to write: sized before they are formed, skipped and said ------------------
def _product(k: int) -> str:
    return "*".join(f"(x+{i}*y)" for i in range(1, k + 1))


def _product_gradient(k: int, x: float, y: float) -> tuple[float, np.ndarray]:
    """The closed form: f = Π (x + i y), ∂f/∂x = f Σ 1/(x + i y), ∂f/∂y = f Σ i/(x + i y)."""
    i = np.arange(1, k + 1, dtype=np.float64)
    u = x + i * y
    f = float(np.prod(u))
    return f, f * np.array([np.sum(1 / u), np.sum(i / u)])


def test_derive_of_a_product_of_199_factors_skips_its_partials_and_says_so() -> None:
    # Its partials would have about 200,000 operations each (SymPy took seconds to form them
    # and half a minute to print them as LaTeX; its symbolic Hessian never ended).
    from gradscape.calculus import MAX_FORMULA_OPS

    d = gs.derive(_product(199))
    assert d.formula is not None and d.formula_latex is not None  # f itself is short
    assert d.partials is None and d.partials_latex is None and d.hessian_formulas is None
    for name in ("x", "y"):
        note = next(n for n in d.notes if f"∂f/∂{name} has about" in n)
        size = int(re.search(r"about ([\d,]+) operations", note)[1].replace(",", ""))  # type: ignore[index]
        assert 190_000 < size < 200_000 and size > MAX_FORMULA_OPS
        assert f"more than MAX_FORMULA_OPS = {MAX_FORMULA_OPS:,}" in note
        assert note.endswith("its value and gradient are still exact by autodiff")
    obj = gs.objective(_product(199))
    at = (1.0, 0.001)
    value, grad = gs.value_and_gradient(obj, at)
    f, closed = _product_gradient(199, *at)
    assert value == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(grad, closed, rtol=1e-11)


def test_derive_at_a_point_with_its_formulas_over_the_cap_still_gives_exact_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gradscape.calculus as calculus

    monkeypatch.setattr(calculus, "MAX_FORMULA_OPS", 200)  # a 12-factor product crosses it
    at = {"x": 0.5, "y": 0.25}
    d = gs.derive(_product(12), at)
    assert d.partials is None and d.hessian_formulas is None
    assert sum("more than MAX_FORMULA_OPS = 200" in n for n in d.notes) == 2
    f, closed = _product_gradient(12, at["x"], at["y"])
    assert d.value == pytest.approx(f, rel=1e-13)
    np.testing.assert_allclose(d.gradient, closed, rtol=1e-12)  # type: ignore[arg-type]
    assert d.fd_agree and d.hessian is not None and d.taylor1 is not None
    # The same function under the real cap: every formula written, the same numbers.
    monkeypatch.undo()
    full = gs.derive(_product(12), at)
    assert full.partials is not None and full.hessian_formulas is not None
    assert not any("MAX_FORMULA_OPS" in n for n in full.notes)
    np.testing.assert_array_equal(full.gradient, d.gradient)  # type: ignore[arg-type]


def test_the_hessian_formulas_are_skipped_alone_when_they_cross_the_caps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gradscape.calculus as calculus
    from gradscape.expr.expression import formula_size

    text = _product(6)
    e = gs.parse(text)
    first = max(e.partial_sizes.values())  # predicted, at least what is formed
    second = max(max(r) for r in e.hessian_sizes)
    assert first < second
    monkeypatch.setattr(calculus, "MAX_FORMULA_OPS", first)
    d = gs.derive(text)
    assert d.partials is not None and d.hessian_formulas is None
    note = next(n for n in d.notes if "MAX_FORMULA_OPS" in n)
    assert note.startswith("the formula of ∂²f/∂x") and "the Hessian is not written out" in note
    monkeypatch.setattr(calculus, "MAX_FORMULA_OPS", 10**9)
    monkeypatch.setattr(
        calculus, "MAX_WRITTEN_OPS", sum(formula_size(p) for p in e.partials.values())
    )
    d = gs.derive(text)
    assert d.partials is not None and d.hessian_formulas is None
    assert any("in all, more than MAX_WRITTEN_OPS" in n for n in d.notes)


def test_a_formula_over_the_cap_is_given_as_typed_not_as_latex(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gradscape.calculus as calculus

    monkeypatch.setattr(calculus, "MAX_FORMULA_OPS", 5)
    d = gs.derive("x^2*sin(y) + y")
    assert d.formula_latex is None and d.partials is None
    assert d.notes[0] == (
        "the formula of f has about 8 operations, more than MAX_FORMULA_OPS = 5, so it is not "
        "written out; its value and derivatives are exact by autodiff"
    )
    assert d.formula in (None, "x^2*sin(y) + y")  # at most as typed


def test_normal_formulas_are_written_as_before() -> None:
    d = gs.derive("x^2*sin(y)", hessian_formulas=False)
    assert d.partials == {"x": "2*x*sin(y)", "y": "x^2*cos(y)"}
    assert d.partials_latex == {
        "x": r"2 x \sin{\left(y \right)}",
        "y": r"x^{2} \cos{\left(y \right)}",
    }
    assert d.hessian_formulas is None and d.notes == ()
    d = gs.derive("x^2*sin(y)")
    assert d.hessian_formulas == (("2*sin(y)", "2*x*cos(y)"), ("2*x*cos(y)", "-x^2*sin(y)"))
    assert d.notes == ()


# -- every engine takes whatever describes a function ----------------------------------------------
_BOX = {"x": (-5.0, 5.0), "y": (-5.0, 5.0)}
_AT = {"x": 1.0, "y": 2.0}
_ENGINES: dict[str, Any] = {
    "value": lambda f: gs.value(f, _AT),
    "value_and_gradient": lambda f: gs.value_and_gradient(f, _AT),
    "gradient": lambda f: gs.gradient(f, _AT),
    "partials": lambda f: gs.partials(f, _AT),
    "hessian": lambda f: gs.hessian(f, _AT),
    "hvp": lambda f: gs.hvp(f, _AT, _AT),
    "directional_derivative": lambda f: gs.directional_derivative(f, _AT, _AT),
    "gradient_check": lambda f: gs.gradient_check(f, _AT),
    "taylor": lambda f: gs.taylor(f, _AT),
    "profile": lambda f: gs.profile(f, "x", range=_BOX["x"]),
    "surface": lambda f: gs.surface(f, "x", "y", x_range=_BOX["x"], y_range=_BOX["y"]),
    "plan_sweep": lambda f: gs.plan_sweep(f, _BOX),
    "descend": lambda f: gs.descend(f, _AT, lr=0.01),
    "plan_descent": lambda f: gs.plan_descent(f, _AT),
    "max_stable_lr": lambda f: gs.max_stable_lr(f, _AT),
    "minimize": lambda f: gs.minimize(f, _AT),
    "minimize_many": lambda f: gs.minimize_many(f, [[1.0, 2.0]]),
    "critical_points": lambda f: gs.critical_points(f, _BOX),
    "multistart": lambda f: gs.multistart(f, _BOX, starts=10),
    "race": lambda f: gs.race(f, _BOX),
    "spectrum": lambda f: gs.spectrum(f, np.zeros(2)),
}


@pytest.mark.parametrize("engine", sorted(_ENGINES))
def test_every_engine_refuses_what_is_not_a_function_in_one_line(engine: str) -> None:
    with pytest.raises(gs.ParameterError, match=r"^A function is given as .*; got int\.$"):
        _ENGINES[engine](3)
    with pytest.raises(TypeError, match=r"\*args .*not plain names; wrap it as gradscape"):
        _ENGINES[engine](lambda *args: 0.0)


def test_engines_take_a_name_text_or_a_python_function() -> None:
    import jax.numpy as jnp

    def himmelblau(x: Any, y: Any) -> Any:
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    # the gradient by hand at (1, 2): 4x(x²+y−11) + 2(x+y²−7), 2(x²+y−11) + 4y(x+y²−7)
    by_hand = [4 * 1 * (1 + 2 - 11) + 2 * (1 + 4 - 7), 2 * (1 + 2 - 11) + 4 * 2 * (1 + 4 - 7)]
    for f in ("himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", himmelblau):
        np.testing.assert_allclose(gs.gradient(f, _AT), by_hand, rtol=1e-12)
    assert gs.objective(himmelblau).signature() == "himmelblau(x, y)"
    run = gs.minimize(lambda u, v: (u - 3) ** 2 + jnp.cosh(v), {"u": 0.0, "v": 1.0})
    assert run.converged, run.message
    np.testing.assert_allclose(
        [run.final_params["u"], run.final_params["v"]], [3.0, 0.0], atol=1e-5
    )
    with pytest.raises(gs.InputError, match="cannot rename"):
        gs.objective(himmelblau, variables=("a", "b"))


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda x, y: x**2 * __import__("math").sin(y), r"f\(x, y\) cannot be followed by JAX "
         r"\(ConcretizationTypeError: .*\); write it with jax\.numpy \(jnp\.sin, not math\.sin"),
        (lambda x, y: np.sin(x) + y, r"TracerArrayConversionError"),
        (lambda x, y: x if x > 0 else y, r"TracerBoolConversionError.*jnp\.where rather than"),
        (lambda x, y: __import__("jax").numpy.stack([x, y]),
         r"must return one real \(floating-point\) number; it returns float64 of shape \(2,\)\."),
        (lambda x, y: 3, r"it returns int64 of shape \(\)\."),
        (lambda x, y: x + 1j * y, r"it returns complex128 of shape \(\)\."),
        (lambda x, y: "a", r"it returns str\.$"),
        (lambda t: t[0] ** 2 + t[1] ** 2, r"IndexError.*a function of one vector is given as "
         r"gradscape\.Objective\(f, names="),
        (np.sin, r"^NumPy's sin cannot be differentiated; write the function as text"),
        (lambda x, *, s: x, r"s \(keyword-only, no default\) are not plain names"),
        (lambda x, y: __import__("jax").pure_callback(lambda a: a, __import__("jax").ShapeDtypeStruct(
            (), np.float64), x) + y, r"cannot be differentiated by JAX \(ValueError: Pure callbacks"),
    ],
)  # fmt: skip
def test_a_python_function_jax_cannot_follow_is_refused_in_one_line(fn: Any, message: str) -> None:
    with pytest.raises(gs.ParameterError, match=message) as got:
        gs.gradient(fn, [1.0, 2.0])
    assert "\n" not in str(got.value)


def test_parameters_with_defaults_keep_them_and_partials_bind() -> None:
    import functools

    def g(x: Any, y: Any, z: Any) -> Any:
        return x * y + z * x

    scaled = gs.objective(lambda x, y, scale=3.0: scale * x * y)
    assert scaled.names == ("x", "y")
    np.testing.assert_allclose(gs.gradient(scaled, _AT), [6.0, 3.0])  # 3y, 3x at (1, 2)
    flat = gs.minimize(lambda x, y: 3.0, _AT)  # a constant, given as a Python float
    assert flat.converged and flat.final_value == 3.0
    bound = gs.objective(functools.partial(g, z=0.5))
    assert bound.names == ("x", "y")
    np.testing.assert_allclose(gs.gradient(bound, _AT), [2.5, 1.0])  # y + z, x


def test_spectrum_and_taylor_check_their_points() -> None:
    for bad in ([1.0], [1.0, 2.0, 3.0], [[1.0, 2.0]]):
        with pytest.raises(gs.ParameterError, match=r"takes a vector of 2 real weights; got"):
            gs.spectrum("x^2 + 10*y^2", np.asarray(bad), top=1, bottom=1)
    t = gs.taylor("x^2*y", _AT)  # 2 + 4(x − 1) + (y − 2) + ½(2y(x−1)² + 2·2x(x−1)(y−2))
    assert t({"x": 1.1, "y": 2.0}) == pytest.approx(2.0 + 0.4 + 0.5 * 4 * 0.01)
    assert t([1.1, 2.0]) == t({"x": 1.1, "y": 2.0})
    with pytest.raises(gs.ParameterError, match=r"T2\(x, y\) takes parameters x, y; missing y"):
        t({"x": 1.0})
