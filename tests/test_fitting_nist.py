"""gradscape.fit against NIST's certified values (StRD nonlinear regression, both starts).

Each problem is fitted from NIST's two starting points with default settings, through a CSV file
written with NIST's own cells (as a user would give it), and every parameter must match its
certified value to at least 6 significant digits, every standard error to at least 4 and the
residual sum of squares to 6, counting digits as ``-log10(|got − certified| / |certified|)``.
The certified values are the truth; no setting is tuned per problem.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gradscape as gs
from gradscape.fitting import nist
from gradscape.fitting.models import parse_model


@pytest.mark.parametrize("name", nist.NAMES)
def test_certified_values_from_both_starts(name: str, tmp_path: Path) -> None:
    p = nist.problem(name)
    path = p.write_csv(tmp_path / f"{name}.csv")
    for k, start in enumerate(p.starts, 1):
        # intervals=False: profiles do not change the estimates or standard errors (the
        # profile path is tested on its own in test_fitting.py)
        f = gs.fit(p.model, path, start=start, intervals=False)
        where = f"{name} start {k}"
        assert f.verdict == "converged", (where, f.warnings)
        assert f.parameters == tuple(p.certified), where
        for j, b in enumerate(f.parameters):
            got = nist.digits(f.params[b], p.certified[b])
            assert got >= 6, f"{where}: {b} = {f.params[b]!r} has {got:.1f} digits"
            got_se = nist.digits(float(f.se[j]), p.certified_se[b])
            assert got_se >= 4, f"{where}: se({b}) = {f.se[j]!r} has {got_se:.1f} digits"
        assert nist.digits(f.sse, p.certified_sse) >= 6, (where, f.sse)
        assert f.dof == p.n - len(p.certified)


def test_reader_matches_the_files() -> None:
    """The hand-written models name exactly the files' parameters and columns."""
    assert len(nist.NAMES) == 21
    for name in nist.NAMES:
        p = nist.problem(name)
        m = parse_model(p.model, list(p.data))
        assert m.parameters == tuple(p.certified) == tuple(p.starts[0]) == tuple(p.starts[1])
        assert set(m.columns) == set(p.data), name
        assert p.certified_sse > 0 and all(v > 0 for v in p.certified_se.values())
    assert nist.problem("Nelson").model.startswith("log(y) =")
    with pytest.raises(gs.InputError, match=r"No NIST problem 'Misra9'; the problems are"):
        nist.problem("Misra9")


def test_digits() -> None:
    assert nist.digits(1.0000001, 1.0) == pytest.approx(7.0, abs=1e-6)
    assert nist.digits(2.0, 2.0) == 15.0
    assert nist.digits(float("nan"), 2.0) == 0.0
