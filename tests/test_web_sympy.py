"""The explorer's description of a function whose derivatives are too long to write: the library
sizes each formula before SymPy forms it, skips it and says so (``MAX_FORMULA_OPS``), and the
numbers stay exact by autodiff. Independent truth: the closed form of a product's gradient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

PRODUCT = "*".join(f"(x+{k}*y)" for k in range(1, 200))  # 199 factors, 1,881 characters


def _post(client: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/explorer/{path}", json=body)


def _closed_gradient(k: int, x: float, y: float) -> tuple[float, np.ndarray]:
    """f = Π (x + i y): ∂f/∂x = f Σ 1/(x + i y), ∂f/∂y = f Σ i/(x + i y)."""
    i = np.arange(1, k + 1, dtype=np.float64)
    u = x + i * y
    f = float(np.prod(u))
    return f, f * np.array([np.sum(1 / u), np.sum(i / u)])


def test_describe_a_product_of_199_factors_answers_with_the_skipped_formulas(client: Any) -> None:
    # Its partials would have about 200,000 operations each: the server once spent minutes on
    # them (and, holding cached_property's class-wide lock, stalled every other expression).
    from gradscape.calculus import MAX_FORMULA_OPS
    from gradscape.web.common import MAX_EXPR_CHARS

    assert len(PRODUCT) <= MAX_EXPR_CHARS
    r = _post(client, "describe", {"source": PRODUCT})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["variables"] == ["x", "y"] and d["partials"] == []
    assert d["formula_latex"] and d["formula_mathml"].startswith("<math")  # f itself is short
    for name in ("x", "y"):
        (note,) = [n for n in d["notes"] if n.startswith(f"the formula of ∂f/∂{name} has about")]
        assert f"more than MAX_FORMULA_OPS = {MAX_FORMULA_OPS:,}, so it is not written out" in note
        assert note.endswith("its value and gradient are still exact by autodiff")
    at = {"x": 1.0, "y": 0.001}
    p = _post(client, "point", {"source": PRODUCT, "at": at}).json()
    f, grad = _closed_gradient(199, at["x"], at["y"])
    assert p["value"] == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose([p["gradient"]["x"], p["gradient"]["y"]], grad, rtol=1e-11)


def test_after_it_a_new_expression_is_described_as_before(client: Any) -> None:
    _post(client, "describe", {"source": PRODUCT})
    d = _post(client, "describe", {"source": "x^3+2*y"}).json()
    parts = {p["variable"]: p for p in d["partials"]}
    assert parts["x"]["text"] == "3*x^2" and parts["y"]["text"] == "2"
    assert parts["x"]["latex"] == "3 x^{2}" and "<mn>3</mn>" in parts["x"]["mathml"]
    assert d["notes"] == []


def test_describe_skips_partials_over_a_small_cap(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gradscape.calculus as calculus

    monkeypatch.setattr(calculus, "MAX_FORMULA_OPS", 5)  # x^2*sin(y) has 6 operations
    d = _post(client, "describe", {"source": "x^2*sin(y)"}).json()
    assert d["partials"] == [] and d["formula_latex"] is None and d["formula_mathml"] is None
    assert d["notes"][0].startswith("the formula of f has about 6 operations, more than MAX_FORM")
    assert any("∂f/∂y has about" in n and "MAX_FORMULA_OPS = 5" in n for n in d["notes"])
