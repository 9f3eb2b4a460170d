"""Standard test functions of optimisation, with their domains and published global minima.

Each is written in gradscape's expression language and built by the same parser as a typed
expression, so its derivatives are shown symbolically like any other. Use them by name wherever
an expression is accepted (``gradscape derive himmelblau --at x=3,y=2``); the families that
exist in any dimension take ``:N`` (``rosenbrock:5``, variables ``x1 … x5``).

Minimisers are stored to full double precision (refined by Newton's method where the published
values are rounded); the published statement is kept beside them.

References: Jamil & Yang, "A literature survey of benchmark functions for global optimisation
problems" (2013); Surjanovic & Bingham, Virtual Library of Simulation Experiments.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ._lazy import lazy
from .errors import InputError, whole_number

if TYPE_CHECKING:
    from .expr import Expression
    from .objectives import Objective

# The catalogue itself is plain data: `import gradscape.functions` (and `gradscape functions`,
# which lists it) stays free of SymPy and JAX, so expr and objectives are imported where a
# formula is parsed or an Objective built.

Point = tuple[float, ...]


@dataclass(frozen=True)
class TestFunction:
    """A standard test function.

    Attributes:
        name: e.g. ``"himmelblau"`` (``"rosenbrock:5"`` for a 5-D member of a family).
        formula: the function in the expression language.
        variables: its variables in order.
        domain: the usual search box, one ``(low, high)`` per variable.
        minima: every global minimiser (empty when the function is unbounded below).
        minimum: the global minimum value, or ``None`` when unbounded below.
        published: the published statement of the minima, as printed in the literature.
        critical: other known critical points as ``(point, kind)``, e.g. a saddle.
        note: what makes the function instructive.
        smooth_minimum: ``False`` where the minimum is a kink (gradient undefined there).
        family: for functions defined in any dimension, the family's name.
        vectorized: for a family, the same function written on the whole vector at once
            (``jnp.sum`` over the coordinates): it compiles in the same time for 3 or 10,000
            variables, where the formula's one operation per term does not.
    """

    __test__ = False  # not a pytest test class

    name: str
    formula: str
    variables: tuple[str, ...]
    domain: tuple[tuple[float, float], ...]
    minima: tuple[Point, ...]
    minimum: float | None
    published: str
    critical: tuple[tuple[Point, str], ...] = ()
    note: str = ""
    smooth_minimum: bool = True
    family: str | None = field(default=None, repr=False)
    vectorized: Callable[[Any], Any] | None = field(default=None, repr=False, compare=False)

    @property
    def dims(self) -> int:
        return len(self.variables)

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """``{variable: (low, high)}`` of the usual domain."""
        return dict(zip(self.variables, self.domain, strict=True))

    def minima_points(self) -> list[dict[str, float]]:
        """The global minimisers as ``{variable: value}`` mappings."""
        return [dict(zip(self.variables, p, strict=True)) for p in self.minima]

    @lazy
    def expression(self) -> Expression:
        """The parsed formula."""
        from .expr import parse  # SymPy: see the note at the top

        # A trusted formula: the size caps on typed expressions do not apply.
        return parse(self.formula, variables=self.variables, max_operations=None)

    @property
    def symbolic(self) -> bool:
        """Whether the formula is parsed for symbolic derivatives (at most
        :data:`MAX_SYMBOLIC_DIMS` variables)."""
        return self.dims <= MAX_SYMBOLIC_DIMS

    @lazy
    def objective(self) -> Objective:
        """The function as an :class:`~gradscape.objectives.Objective` with its domain.

        A family member computes with its vectorized form; above :data:`MAX_SYMBOLIC_DIMS`
        variables it carries no parsed formula (numbers only). The Objective knows it came from
        this function (``.function``), so engines find the published minima without a look-up.
        """
        from .objectives import Objective  # JAX: see the note at the top

        if self.vectorized is None:
            fn, expression, formula = self.expression.function(), self.expression, None
        elif self.symbolic:
            fn, expression, formula = self.vectorized, self.expression, self.formula
        else:
            fn, expression, formula = self.vectorized, None, _PATTERNS[str(self.family)]
        return Objective(
            fn=fn,
            names=self.variables,
            ranges=self.ranges,
            label=self.name,
            formula=str(expression) if formula is None else formula,
            expression=expression,
            function=self,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by name (a worker of a cluster looks it up again)."""
        return (lookup, (self.name,))

    def __call__(self, n: int) -> TestFunction:
        """The same family in ``n`` dimensions, e.g. ``rosenbrock(5)``."""
        if self.family is None:
            raise InputError(
                f"{self.name} is defined in {self.dims} dimensions only; "
                f"the families in any dimension are {', '.join(_FAMILIES)}."
            )
        return _FAMILIES[self.family](n)


# -- families in any dimension ---------------------------------------------------------------------
def _names(n: int) -> tuple[str, ...]:
    return {1: ("x",), 2: ("x", "y")}.get(n) or tuple(f"x{i}" for i in range(1, n + 1))


#: Most variables of a family member (see :attr:`TestFunction.vectorized`).
MAX_DIMS = 10_000


def _check_dims(family: str, n: Any, least: int = 1) -> int:
    return whole_number(n, f"The number of dimensions of {family}", least, MAX_DIMS, "MAX_DIMS")


def _member(family: str, n: int, base: TestFunction) -> TestFunction:
    return replace(
        base, name=family if n == 2 else f"{family}:{n}", family=family, vectorized=_VECTOR[family]
    )


#: Above this many variables a family member's formula is not parsed: numbers only.
MAX_SYMBOLIC_DIMS = 100


# -- the families on the whole vector (the same sums as their formulas) -----------------------------
# Each imports jax.numpy when it is first traced, not here: see the note at the top.
def _sphere(t: Any) -> Any:
    import jax.numpy as jnp

    return jnp.sum(t**2)


def _rosenbrock(t: Any) -> Any:
    import jax.numpy as jnp

    return jnp.sum(100 * (t[1:] - t[:-1] ** 2) ** 2 + (1 - t[:-1]) ** 2)


def _rastrigin(t: Any) -> Any:
    import jax.numpy as jnp

    return 10 * t.shape[0] + jnp.sum(t**2 - 10 * jnp.cos(2 * jnp.pi * t))


def _ackley(t: Any) -> Any:
    import jax.numpy as jnp

    n = t.shape[0]
    return (
        -20 * jnp.exp(-0.2 * jnp.sqrt(jnp.sum(t**2) / n))
        - jnp.exp(jnp.sum(jnp.cos(2 * jnp.pi * t)) / n)
        + 20
        + jnp.e
    )


def _styblinski_tang(t: Any) -> Any:
    import jax.numpy as jnp

    return jnp.sum(t**4 - 16 * t**2 + 5 * t) / 2


_VECTOR: dict[str, Callable[[Any], Any]] = {
    "sphere": _sphere,
    "rosenbrock": _rosenbrock,
    "rastrigin": _rastrigin,
    "ackley": _ackley,
    "styblinski_tang": _styblinski_tang,
}

#: The formulas of the families in words, shown above :data:`MAX_SYMBOLIC_DIMS` variables.
_PATTERNS = {
    "sphere": "sum of x_i^2",
    "rosenbrock": "sum over i < n of 100*(x_(i+1) - x_i^2)^2 + (1 - x_i)^2",
    "rastrigin": "10*n + sum of (x_i^2 - 10*cos(2*pi*x_i))",
    "ackley": "-20*exp(-0.2*sqrt(sum of x_i^2 / n)) - exp(sum of cos(2*pi*x_i) / n) + 20 + e",
    "styblinski_tang": "(sum of x_i^4 - 16*x_i^2 + 5*x_i)/2",
}


def sphere_nd(n: int = 2) -> TestFunction:
    v = _names(_check_dims("sphere", n))
    return _member("sphere", n, TestFunction(
        name="", formula=" + ".join(f"{x}^2" for x in v), variables=v,
        domain=((-5.12, 5.12),) * n, minima=((0.0,) * n,), minimum=0.0,
        published="f(0, …, 0) = 0",
        note="the convex bowl: one minimum, the same curvature in every direction",
    ))  # fmt: skip


def rosenbrock_nd(n: int = 2) -> TestFunction:
    v = _names(_check_dims("rosenbrock", n, least=2))
    terms = [f"100*({b} - {a}^2)^2 + (1 - {a})^2" for a, b in itertools.pairwise(v)]
    domain = ((-2.0, 2.0), (-1.0, 3.0)) if n == 2 else ((-2.0, 2.0),) * n
    return _member("rosenbrock", n, TestFunction(
        name="", formula=" + ".join(terms), variables=v, domain=domain,
        minima=((1.0,) * n,), minimum=0.0, published="f(1, …, 1) = 0",
        note="a long curved valley: easy to reach, slow to follow (ill-conditioned)",
    ))  # fmt: skip


def rastrigin_nd(n: int = 2) -> TestFunction:
    v = _names(_check_dims("rastrigin", n))
    terms = " + ".join(f"{x}^2 - 10*cos(2*pi*{x})" for x in v)
    return _member("rastrigin", n, TestFunction(
        name="", formula=f"{10 * n} + {terms}", variables=v, domain=((-5.12, 5.12),) * n,
        minima=((0.0,) * n,), minimum=0.0, published="f(0, …, 0) = 0",
        note="a bowl covered in a regular grid of local minima",
    ))  # fmt: skip


def ackley_nd(n: int = 2) -> TestFunction:
    v = _names(_check_dims("ackley", n))
    squares = " + ".join(f"{x}^2" for x in v)
    cosines = " + ".join(f"cos(2*pi*{x})" for x in v)
    formula = f"-20*exp(-0.2*sqrt(({squares})/{n})) - exp(({cosines})/{n}) + 20 + e"
    return _member("ackley", n, TestFunction(
        name="", formula=formula, variables=v, domain=((-5.0, 5.0),) * n,
        minima=((0.0,) * n,), minimum=0.0, published="f(0, …, 0) = 0",
        note="a nearly flat outer region full of local minima around one deep funnel; the "
        "minimum is a kink (a cone), so the gradient is undefined exactly there",
        smooth_minimum=False,
    ))  # fmt: skip


_ST_X = -2.903534027771177  # root of 4x^3 - 32x + 5 = 0, published as -2.903534
_ST_F = -39.16616570377142  # per dimension, published as -39.16617


def styblinski_tang_nd(n: int = 2) -> TestFunction:
    v = _names(_check_dims("styblinski_tang", n))
    terms = " + ".join(f"{x}^4 - 16*{x}^2 + 5*{x}" for x in v)
    return _member("styblinski_tang", n, TestFunction(
        name="", formula=f"({terms})/2", variables=v, domain=((-5.0, 5.0),) * n,
        minima=((_ST_X,) * n,), minimum=_ST_F * n,
        published="f(−2.903534, …, −2.903534) = −39.16617·n",
        note="2^n local minima in the corners; the global one is off-centre",
    ))  # fmt: skip


_FAMILIES: dict[str, Callable[[int], TestFunction]] = {
    "sphere": sphere_nd,
    "rosenbrock": rosenbrock_nd,
    "rastrigin": rastrigin_nd,
    "ackley": ackley_nd,
    "styblinski_tang": styblinski_tang_nd,
}

# -- the functions ---------------------------------------------------------------------------------
XY = ("x", "y")

sphere = sphere_nd(2)
rosenbrock = rosenbrock_nd(2)
rastrigin = rastrigin_nd(2)
ackley = ackley_nd(2)
styblinski_tang = styblinski_tang_nd(2)

booth = TestFunction(
    name="booth", formula="(x + 2*y - 7)^2 + (2*x + y - 5)^2", variables=XY,
    domain=((-10.0, 10.0),) * 2, minima=((1.0, 3.0),), minimum=0.0, published="f(1, 3) = 0",
    note="a tilted convex quadratic bowl",
)  # fmt: skip

matyas = TestFunction(
    name="matyas", formula="0.26*(x^2 + y^2) - 0.48*x*y", variables=XY,
    domain=((-10.0, 10.0),) * 2, minima=((0.0, 0.0),), minimum=0.0, published="f(0, 0) = 0",
    note="a convex bowl that is nearly flat along the diagonal",
)  # fmt: skip

beale = TestFunction(
    name="beale",
    formula="(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2",
    variables=XY, domain=((-4.5, 4.5),) * 2, minima=((3.0, 0.5),), minimum=0.0,
    published="f(3, 0.5) = 0", note="sharp peaks at the corners and a flat valley",
)  # fmt: skip

himmelblau = TestFunction(
    name="himmelblau", formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2", variables=XY,
    domain=((-5.0, 5.0),) * 2,
    minima=(
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.2831859912861696),
        (3.5844283403304917, -1.8481265269644036),
    ),
    minimum=0.0,
    published="f(3, 2) = f(−2.805118, 3.131312) = f(−3.779310, −3.283186) "
    "= f(3.584428, −1.848126) = 0",
    note="four equal minima, one local maximum and four saddles: which start ends where?",
)  # fmt: skip

goldstein_price = TestFunction(
    name="goldstein_price",
    formula="(1 + (x + y + 1)^2*(19 - 14*x + 3*x^2 - 14*y + 6*x*y + 3*y^2))"
    "*(30 + (2*x - 3*y)^2*(18 - 32*x + 12*x^2 + 48*y - 36*x*y + 27*y^2))",
    variables=XY, domain=((-2.0, 2.0),) * 2, minima=((0.0, -1.0),), minimum=3.0,
    published="f(0, −1) = 3",
    note="values spanning six orders of magnitude over the square, with local minima",
)  # fmt: skip

six_hump_camel = TestFunction(
    name="six_hump_camel", formula="(4 - 2.1*x^2 + x^4/3)*x^2 + x*y + (-4 + 4*y^2)*y^2",
    variables=XY, domain=((-3.0, 3.0), (-2.0, 2.0)),
    minima=((0.08984201310031806, -0.7126564030207396),
            (-0.08984201310031806, 0.7126564030207396)),
    minimum=-1.0316284534898774,
    published="f(0.0898, −0.7126) = f(−0.0898, 0.7126) = −1.0316",
    note="six local minima, two of them global and symmetric",
)  # fmt: skip

saddle = TestFunction(
    name="saddle", formula="x^2 - y^2", variables=XY, domain=((-2.0, 2.0),) * 2,
    minima=(), minimum=None, published="no minimum (unbounded below); a saddle at (0, 0)",
    critical=(((0.0, 0.0), "saddle"),),
    note="the gradient vanishes at the origin, yet it is neither a minimum nor a maximum",
)  # fmt: skip

monkey_saddle = TestFunction(
    name="monkey_saddle", formula="x^3 - 3*x*y^2", variables=XY, domain=((-2.0, 2.0),) * 2,
    minima=(), minimum=None,
    published="no minimum (unbounded below); a degenerate saddle at (0, 0)",
    critical=(((0.0, 0.0), "degenerate"),),
    note="three valleys meet at the origin, where the Hessian is zero: the second-derivative "
    "test cannot decide",
)  # fmt: skip

#: Every built-in function by name, in the order they are listed.
ALL: dict[str, TestFunction] = {
    f.name: f
    for f in (
        sphere, booth, matyas, beale, rosenbrock, himmelblau, rastrigin, ackley,
        goldstein_price, six_hump_camel, styblinski_tang, saddle, monkey_saddle,
    )
}  # fmt: skip

_NAME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_\-]*)\s*(?::\s*(\d+))?\s*", re.ASCII)


def lookup(text: str) -> TestFunction | None:
    """The built-in function named by ``text`` (``"rosenbrock"``, ``"rosenbrock:5"``,
    ``"six-hump-camel"``), or ``None`` when ``text`` names none and should be read as an expression.

    Raises:
        InputError: ``text`` has a dimension suffix but the name is unknown or fixed in dimension,
            or it is a near-miss of a known name (a likely typo).
    """
    m = _NAME.fullmatch(text)
    if m is None:
        return None
    key = m.group(1).lower().replace("-", "_")
    dims = m.group(2)
    f = ALL.get(key)
    if f is None:
        close = difflib.get_close_matches(key, ALL, n=1, cutoff=0.75)
        if dims is not None or close:
            hint = f"; did you mean {close[0]}?" if close else ""
            raise InputError(
                f"unknown function {m.group(1)!r}{hint} (run `gradscape functions` to list them)"
            )
        return None
    if dims is None:
        return f
    return f(int(dims))


def get(name: str) -> TestFunction:
    """The built-in function called ``name``; raises :class:`InputError` listing them if none."""
    f = lookup(name)
    if f is None:
        raise InputError(f"unknown function {name!r}; the built-in functions are {', '.join(ALL)}.")
    return f
