"""A parsed expression, and SymPy to JAX: the tree walked once per trace into a JAX function."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from jax import lax

from .._lazy import lazy
from .._x64 import x64
from ..errors import ExpressionError, InputError, listing
from .language import DOMAINS, format_expr, latex, relu, sigmoid, softplus


# -- SymPy to JAX ---------------------------------------------------------------------------------
def _jax_functions() -> dict[Any, Callable[..., Any]]:
    def heaviside(x: Any, h0: Any = 0.5) -> Any:
        return jnp.where(x > 0, 1.0, jnp.where(x < 0, 0.0, h0))

    def dirac(x: Any) -> Any:
        return jnp.where(x == 0, jnp.inf, 0.0)

    return {
        sp.sin: jnp.sin,
        sp.cos: jnp.cos,
        sp.tan: jnp.tan,
        sp.asin: jnp.arcsin,
        sp.acos: jnp.arccos,
        sp.atan: jnp.arctan,
        sp.sinh: jnp.sinh,
        sp.cosh: jnp.cosh,
        sp.tanh: jnp.tanh,
        sp.asinh: jnp.arcsinh,
        sp.acosh: jnp.arccosh,
        sp.atanh: jnp.arctanh,
        sp.exp: jnp.exp,
        sp.log: jnp.log,
        sp.Abs: jnp.abs,
        sp.sign: jnp.sign,
        sp.Heaviside: heaviside,
        sp.DiracDelta: dirac,
        sigmoid: jax.nn.sigmoid,
        relu: jax.nn.relu,
        softplus: jax.nn.softplus,
        sp.Min: lambda *a: reduce(jnp.minimum, a),
        sp.Max: lambda *a: reduce(jnp.maximum, a),
    }


def to_jax(
    expr: Any, symbols: tuple[Any, ...], *, memo: dict[Any, Any] | None = None
) -> Callable[[Any], Any]:
    """Compile a SymPy expression into ``fn(theta)`` with ``theta[i]`` standing for ``symbols[i]``.

    The tree is walked once per trace (shared subexpressions once), so ``jax.jit`` of the result
    costs one trace; integer powers use ``lax.integer_pow`` (exact for negative bases).

    Args:
        memo: if given, filled with the value of every subexpression (for diagnostics).
    """
    table = _jax_functions()
    index = {s: i for i, s in enumerate(symbols)}

    def fn(theta: Any) -> Any:
        memo_: dict[Any, Any] = {} if memo is None else memo

        def ev(e: Any) -> Any:
            hit = memo_.get(e)
            if hit is not None:
                return hit
            if e.is_Symbol:
                if e not in index:
                    raise ExpressionError(f"no value for variable {e.name!r}")
                r = theta[index[e]]
            elif e.is_Number or e.is_NumberSymbol:
                r = float(e)
            elif e.is_Add:
                r = reduce(operator.add, map(ev, e.args))
            elif e.is_Mul:
                r = reduce(operator.mul, map(ev, e.args))
            elif e.is_Pow:
                b, x = e.args
                if x.is_Integer and abs(int(x)) < 2**31:
                    r = lax.integer_pow(jnp.asarray(ev(b), dtype=theta.dtype), int(x))
                elif x == sp.S.Half:
                    r = jnp.sqrt(ev(b))
                else:
                    r = jnp.power(ev(b), ev(x))
            elif e.func in table:
                r = table[e.func](*map(ev, e.args))
            else:
                raise ExpressionError(f"cannot compute {format_expr(e)} numerically")
            memo_[e] = r
            return r

        return ev(expr)

    return fn


# -- the size of a formula and of its derivatives -------------------------------------------------
def formula_size(expr: Any) -> int:
    """The operations of ``expr`` as written out: the nodes of its tree (each sum, product,
    power, function, variable and number; a shared part counts each time it is written), which
    is what printing it (text, LaTeX, MathML) costs. Linear in its distinct parts."""
    return _size(expr, {})


def _size(e: Any, memo: dict[Any, int]) -> int:
    r = memo.get(e)
    if r is None:
        r = 1 + sum(_size(a, memo) for a in e.args)
        memo[e] = r
    return r


def derivative_sizes(expr: Any) -> dict[Any, int]:
    """``{symbol: about how many operations ∂expr/∂symbol would have}``, predicted from the
    product, chain and power rules without forming the derivative (the symbols ``expr`` does not
    hold are left out: their derivative is 0).

    A product of ``k`` factors that hold ``x`` has a derivative of ``k`` products of ``k - 1``
    factors: ``(x + y)*(x + 2*y)*…`` of 199 factors is written in about 1,000 operations, its
    ∂/∂x in about 200,000. The prediction follows the rules with no cancellation, so it is at
    least what SymPy writes for sums, products and integer powers; the chain rule through a
    function is counted as three copies of it. Costs the operations × the variables in each.
    """
    memo: dict[Any, tuple[int, dict[Any, int]]] = {}

    def walk(e: Any) -> tuple[int, dict[Any, int]]:
        hit = memo.get(e)
        if hit is not None:
            return hit
        if e.is_Symbol:
            r: tuple[int, dict[Any, int]] = (1, {e: 1})
        elif not e.args:
            r = (1, {})
        else:
            parts = [walk(a) for a in e.args]
            size = 1 + sum(p[0] for p in parts)
            d: dict[Any, int] = {}
            for k, (sa, da) in enumerate(parts):
                for s, ds in da.items():
                    if e.is_Add:  # the sum of the derivatives of the terms that hold s
                        extra = ds
                    elif e.is_Mul:  # a copy of the product with one factor differentiated
                        extra = size - sa + ds
                    elif e.is_Pow:  # b^c: c*b^(c - 1)*b'; c': b^c*log(b)*c'
                        extra = (2 if k == 0 else 3) * size + ds
                    else:  # f(u): f'(u)*u', f' written with about three copies of f(u)
                        extra = 3 * size + ds
                    d[s] = d.get(s, 1) + extra
            r = (size, d)
        memo[e] = r
        return r

    return walk(expr)[1]


# -- the parsed expression ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed expression: the text, its SymPy form and its variables in natural order.

    Build one with :func:`parse`. ``str(e)`` prints the formula in the expression language.
    """

    text: str
    sympy: Any
    variables: tuple[str, ...]
    symbols: tuple[Any, ...]

    def __getstate__(self) -> dict[str, Any]:
        """Its fields only: what it derives (derivatives, compiled pieces) is derived again."""
        return {f: self.__dict__[f] for f in ("text", "sympy", "variables", "symbols")}

    def __str__(self) -> str:
        return format_expr(self.sympy)

    def latex(self) -> str:
        """The formula as LaTeX."""
        return latex(self.sympy)

    def diff(self, *names: str) -> Any:
        """The (repeated) partial derivative with respect to ``names``, as SymPy."""
        syms = [self.symbol(n) for n in names]
        return sp.diff(self.sympy, *syms)

    def symbol(self, name: str) -> Any:
        if name not in self.variables:
            raise InputError(
                f"{name!r} is not a variable of {self}; the variables are "
                f"{listing(self.variables)}."
            )
        return self.symbols[self.variables.index(name)]

    @lazy
    def partials(self) -> dict[str, Any]:
        """``{name: ∂f/∂name}`` as SymPy expressions.

        Each variable differentiates only the terms of the top-level sum that hold it, so a sum
        of many small terms (``rosenbrock:50``) costs its size, not its size × its variables.
        """
        terms = sp.Add.make_args(self.sympy)
        holding: dict[Any, list[Any]] = {s: [] for s in self.symbols}
        for t in terms:
            for s in t.free_symbols:
                if s in holding:
                    holding[s].append(t)
        return {
            n: sp.Add(*(sp.diff(t, s) for t in holding[s]))
            for n, s in zip(self.variables, self.symbols, strict=True)
        }

    @lazy
    def partial_sizes(self) -> dict[str, int]:
        """``{name: about how many operations ∂f/∂name has}``, predicted without forming it
        (:func:`derivative_sizes`): cheap, so a caller can decide before differentiating."""
        d = derivative_sizes(self.sympy)
        return {n: d.get(s, 1) for n, s in zip(self.variables, self.symbols, strict=True)}

    @lazy
    def hessian_sizes(self) -> tuple[tuple[int, ...], ...]:
        """The operations each second partial derivative would have, predicted from the first
        ones (which this forms, as :attr:`partials`) without forming the second ones."""
        rows = [derivative_sizes(p) for p in self.partials.values()]
        return tuple(tuple(r.get(s, 1) for s in self.symbols) for r in rows)

    @lazy
    def hessian(self) -> tuple[tuple[Any, ...], ...]:
        """The symbolic Hessian, rows in ``variables`` order (computed once per pair)."""
        n = len(self.symbols)
        first = list(self.partials.values())
        h: list[list[Any]] = [[None] * n for _ in range(n)]
        for i in range(n):
            for j in range(i, n):
                h[i][j] = h[j][i] = sp.diff(first[i], self.symbols[j])
        return tuple(tuple(row) for row in h)

    def function(self) -> Callable[[Any], Any]:
        """The JAX function ``fn(theta)`` with ``theta`` in ``variables`` order."""
        return to_jax(self.sympy, self.symbols)

    def explain(self, theta: Any, *, derivative: bool = False) -> str | None:
        """Name the innermost part of the expression that is undefined at ``theta``, if any.

        Args:
            derivative: also look for parts that are defined but not differentiable there
                (``sqrt(u)`` where ``u = 0``, ``asin(u)`` where ``u = ±1``).

        Returns:
            A phrase such as ``"log(x) needs a positive argument (here -1)"``, or ``None``.
        """
        try:
            return self._explain(theta, derivative)
        except Exception:
            return None

    def kinks(self, theta: Any, *, within: float = 0.0) -> list[str]:
        """Every part of the expression that is not smooth at ``theta``, as phrases.

        The parts are: ``abs``, ``relu`` at 0; ``max``/``min`` where the winning arguments tie;
        ``sign``, ``heaviside`` at 0 (jumps); a power ``u^p`` with ``p`` not a whole number
        ``>= 1`` where ``u = 0`` (``sqrt``, ``x^(1/3)``); ``asin``, ``acos``, ``atanh`` at ±1 and
        ``acosh`` at 1. Whether ``f`` itself is differentiable there is decided numerically by
        :mod:`gradscape.kinks` (``x*abs(x)`` is, ``abs(x)`` is not).

        Args:
            within: also name the parts whose argument is within this distance of their
                corner (``abs(u)`` with ``|u| <= within``): a finite-difference step that
                long straddles them.

        Returns:
            Phrases such as ``"abs(x) has a corner where x = 0"``; empty where every part is smooth.
        """
        if not self._may_kink:
            return []
        try:
            values, nodes = self._values(theta)
        except Exception:
            return []
        out: list[str] = []
        for node in nodes:
            phrase = _kink(node, [_value(values, a) for a in node.args], within)
            if phrase and phrase not in out:
                out.append(phrase)
        return out

    @lazy
    def _may_corner(self) -> bool:
        """Whether any part can fail to be differentiable where it is finite (``abs``, ``max``,
        ``sqrt`` at 0, a fractional power…); a negative integer power makes only poles."""
        rough = (sp.Abs, relu, sp.Max, sp.Min, sp.sign, sp.Heaviside, sp.asin, sp.acos)
        return bool(self.sympy.has(*rough, sp.atanh, sp.acosh)) or any(
            not p.exp.is_Integer for p in self.sympy.atoms(sp.Pow)
        )

    @lazy
    def _may_kink(self) -> bool:
        """Whether any part can fail to be smooth somewhere, corners and poles alike (skips
        evaluating every part)."""
        return self._may_corner or any(
            p.exp.is_Integer and p.exp <= 0 for p in self.sympy.atoms(sp.Pow)
        )

    def _values(self, theta: Any) -> tuple[dict[Any, Any], list[Any]]:
        """The value of every subexpression at ``theta``, and the compound ones innermost first."""
        values: dict[Any, Any] = {}
        with x64():
            to_jax(self.sympy, self.symbols, memo=values)(np.asarray(theta, dtype=np.float64))
        nodes = [n for n in sp.postorder_traversal(self.sympy) if not n.is_Atom and n in values]
        return values, nodes

    def _explain(self, theta: Any, derivative: bool) -> str | None:
        values, nodes = self._values(theta)

        def val(a: Any) -> float:
            return _value(values, a)

        for node in nodes:
            if np.isfinite(values[node]):
                continue
            args = [val(a) for a in node.args]
            if not all(math.isfinite(a) for a in args):
                continue
            shown = ", ".join(f"{a:g}" for a in args)
            text = format_expr(node)
            if node.is_Pow:
                b, x = args
                if b == 0 and x < 0:
                    return f"{text} divides by zero"
                if b < 0 and x == 0.5:
                    return f"{text} needs a non-negative argument (here {b:g})"
                if b < 0 and not float(x).is_integer():
                    return f"{text} takes a fractional power of a negative number ({b:g})"
                return f"{text} overflows (beyond about 1.8e308)"
            why = DOMAINS.get(node.func)
            if why is not None:
                return f"{text} needs {why} (here {shown})"
            if np.isnan(values[node]):
                return f"{text} is undefined for argument {shown}"
            return f"{text} overflows (argument {shown})"
        if not derivative:
            return None
        for node in nodes:
            phrase = _kink(node, [val(a) for a in node.args])
            if phrase:
                return phrase
        return None


def _value(values: dict[Any, Any], a: Any) -> float:
    return float(values[a]) if a in values else float(a) if a.is_number else math.nan


def _tie(args: list[float], best: float, within: float) -> bool:
    """Whether two or more arguments share the winning value ``best`` (a max/min corner)."""
    return sum(1 for v in args if abs(v - best) <= within) >= 2


def _kink(node: Any, args: list[float], within: float = 0.0) -> str | None:
    """The phrase for ``node`` if it is not smooth at arguments ``args`` (or within ``within``
    of such a spot), else ``None``."""
    if not args or not all(math.isfinite(v) for v in args):
        return None
    text = format_expr(node)
    inner = format_expr(node.args[0])
    at = abs(args[0]) <= within
    if node.func in (sp.Abs, relu) and at:
        return f"{text} has a corner where {inner} = 0"
    if node.func in (sp.sign, sp.Heaviside) and at:
        return f"{text} jumps where {inner} = 0"
    if node.func is sp.Max and _tie(args, max(args), within):
        return f"{text} has a corner where its largest arguments tie (at {max(args):g})"
    if node.func is sp.Min and _tie(args, min(args), within):
        return f"{text} has a corner where its smallest arguments tie (at {min(args):g})"
    if node.is_Pow and at and not (node.exp.is_Integer and node.exp > 0):
        return f"{text} is not differentiable where {format_expr(node.base)} = 0"
    if node.func in (sp.asin, sp.acos, sp.atanh) and abs(abs(args[0]) - 1) <= within:
        return f"{text} is not differentiable where its argument is ±1"
    if node.func is sp.acosh and abs(args[0] - 1) <= within:
        return f"{text} is not differentiable where its argument is 1"
    return None
