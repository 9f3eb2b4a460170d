"""The words of the expression language: constants, functions (with the three SymPy lacks), and
how SymPy expressions are printed back in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from mpmath.libmp import prec_to_dps
from sympy.printing.latex import LatexPrinter

CONSTANTS: dict[str, Any] = {"pi": sp.pi, "e": sp.E}


def _evalf(expr: Any, prec: int) -> Any:
    """``expr`` evaluated to ``prec`` bits (for the functions below, through their rewrites)."""
    v = expr.evalf(prec_to_dps(prec))
    return v if v.is_Number else None


def _power(latex: str, exp: Any) -> str:
    """``f(x)`` raised to ``exp`` in LaTeX, as SymPy's printer asks for ``f(x)^n``."""
    return latex if exp is None else rf"{latex}^{{{exp}}}"


# -- functions SymPy lacks, with their derivatives ------------------------------------------------
class sigmoid(sp.Function):  # type: ignore[misc]
    r"""The logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`."""

    def fdiff(self, argindex: int = 1) -> Any:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    # SymPy's hook for automatic evaluation: sigmoid(0) = 1/2.
    eval = classmethod(lambda cls, arg: sp.Rational(1, 2) if arg.is_zero else None)

    def _eval_rewrite_as_exp(self, arg: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sp.exp(-arg))

    def _eval_evalf(self, prec: int) -> Any:
        return _evalf(1 / (1 + sp.exp(-self.args[0])), prec)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return _power(rf"\sigma\left({printer._print(self.args[0])}\right)", exp)


class softplus(sp.Function):  # type: ignore[misc]
    r"""The smooth ReLU :math:`\log(1 + e^{x})`; its derivative is the sigmoid."""

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0])

    # SymPy's hook for automatic evaluation: softplus(0) = log(2).
    eval = classmethod(lambda cls, arg: sp.log(2) if arg.is_zero else None)

    def _eval_rewrite_as_exp(self, arg: Any, **kwargs: Any) -> Any:
        return sp.log(1 + sp.exp(arg))

    def _eval_evalf(self, prec: int) -> Any:
        return _evalf(sp.log(1 + sp.exp(self.args[0])), prec)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return _power(rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)", exp)


class relu(sp.Function):  # type: ignore[misc]
    r"""The rectifier :math:`\max(0, x)`; its derivative is the step :math:`H(x)` with
    :math:`H(0) = 0`, as in JAX."""

    def fdiff(self, argindex: int = 1) -> Any:
        return sp.Heaviside(self.args[0], 0)

    # SymPy's hook for automatic evaluation: relu(u) = u where u >= 0 is known, 0 where u <= 0.
    eval = classmethod(
        lambda cls, arg: arg if arg.is_nonnegative else sp.S.Zero if arg.is_nonpositive else None
    )

    def _eval_rewrite_as_Max(self, arg: Any, **kwargs: Any) -> Any:
        return sp.Max(0, arg)

    def _eval_evalf(self, prec: int) -> Any:
        return _evalf(sp.Max(0, self.args[0]), prec)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return _power(rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)", exp)


def _log10(x: Any) -> Any:
    return sp.log(x) / sp.log(10)


#: Functions of the language: name -> (SymPy builder, fewest arguments, most arguments).
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "sin": (sp.sin, 1, 1),
    "cos": (sp.cos, 1, 1),
    "tan": (sp.tan, 1, 1),
    "asin": (sp.asin, 1, 1),
    "acos": (sp.acos, 1, 1),
    "atan": (sp.atan, 1, 1),
    "sinh": (sp.sinh, 1, 1),
    "cosh": (sp.cosh, 1, 1),
    "tanh": (sp.tanh, 1, 1),
    "asinh": (sp.asinh, 1, 1),
    "acosh": (sp.acosh, 1, 1),
    "atanh": (sp.atanh, 1, 1),
    "exp": (sp.exp, 1, 1),
    "log": (sp.log, 1, 1),
    "ln": (sp.log, 1, 1),
    "log10": (_log10, 1, 1),
    "sqrt": (sp.sqrt, 1, 1),
    "abs": (sp.Abs, 1, 1),
    "sign": (sp.sign, 1, 1),
    "heaviside": (sp.Heaviside, 1, 2),
    "delta": (sp.DiracDelta, 1, 1),  # the derivative of a step: 0 away from 0
    "sigmoid": (sigmoid, 1, 1),
    "relu": (relu, 1, 1),
    "softplus": (softplus, 1, 1),
    "min": (sp.Min, 2, None),
    "max": (sp.Max, 2, None),
}

#: Where each function is defined, for messages about points outside it.
DOMAINS = {
    sp.log: "a positive argument",
    sp.sqrt: "a non-negative argument",
    sp.asin: "an argument in [-1, 1]",
    sp.acos: "an argument in [-1, 1]",
    sp.acosh: "an argument >= 1",
    sp.atanh: "an argument in (-1, 1)",
}


RESERVED = frozenset(CONSTANTS) | frozenset(FUNCTIONS)


# -- printing -------------------------------------------------------------------------------------
class _Printer(sp.printing.str.StrPrinter):  # type: ignore[misc]
    """SymPy's one-line printer, speaking our expression language where it can."""

    def _print_Exp1(self, expr: Any) -> str:
        return "e"

    def _print_Abs(self, expr: Any) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_Min(self, expr: Any) -> str:
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_Max(self, expr: Any) -> str:
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Heaviside(self, expr: Any) -> str:
        x = self._print(expr.args[0])
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return f"heaviside({x})" if h0 == sp.S.Half else f"heaviside({x}, {self._print(h0)})"

    def _print_DiracDelta(self, expr: Any) -> str:
        return f"delta({self._print(expr.args[0])})"

    def _print_Add(self, expr: Any, order: str | None = None) -> str:
        return str(super()._print_Add(expr, order=_order(expr, order)))


#: Sums with more terms than this print in SymPy's stored order: sorting them costs O(terms²).
MAX_SORTED_TERMS = 64


def _order(expr: Any, order: str | None) -> str | None:
    return "none" if len(expr.args) > MAX_SORTED_TERMS else order


class _Latex(LatexPrinter):  # type: ignore[misc]
    """SymPy's LaTeX printer, without the quadratic sort of long sums."""

    def _print_Add(self, expr: Any, order: str | None = None) -> str:
        return str(super()._print_Add(expr, order=_order(expr, order)))


_PRINTER = _Printer({"full_prec": False})


#: Exact integers and fractions longer than this many digits are printed as 15-digit floats.
MAX_EXACT_DIGITS = 20


def _compact(expr: Any) -> Any:
    """``expr`` with exact constants of more than :data:`MAX_EXACT_DIGITS` digits as floats,
    so ``2^1023`` prints as ``8.98846567431158e+307``, not its 308 digits."""
    if not isinstance(expr, sp.Basic):
        return expr
    limit = 10**MAX_EXACT_DIGITS
    long = {
        a: sp.Float(a, 15) for a in expr.atoms(sp.Rational) if abs(a.p) >= limit or a.q >= limit
    }
    return expr.xreplace(long) if long else expr


def format_expr(expr: Any) -> str:
    """A SymPy expression as one line in gradscape's expression language (``^`` for powers)."""
    return str(_PRINTER.doprint(_compact(expr))).replace("**", "^")


def latex(expr: Any) -> str:
    """A SymPy expression as LaTeX."""
    return str(_Latex().doprint(_compact(expr)))


#: Named entities of SymPy's presentation MathML, as characters any XML or HTML parser reads.
_MATHML_ENTITIES = {
    "<mi>&ExponentialE;</mi>": "<mi>e</mi>",
    "<mi>&ImaginaryI;</mi>": "<mi>i</mi>",
    "&InvisibleTimes;": "&#x2062;",
    "&pi;": "&#x3C0;",
    "&infin;": "&#x221E;",
    "<mi>diracdelta</mi>": "<mi>&#x3B4;</mi>",
}


def mathml(expr: Any, display: str = "inline") -> str:
    """A SymPy expression as presentation MathML (``<math>…</math>``), which browsers render
    natively: formulas show offline with no script. Entities are numeric, so the text is
    well-formed XML as well as HTML.

    >>> mathml(sp.Symbol("x") ** 2)
    '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><msup><mi>x</mi><mn>2</mn></msup></math>'
    """
    body = str(sp.mathml(_compact(expr), printer="presentation"))
    for entity, char in _MATHML_ENTITIES.items():
        body = body.replace(entity, char)
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="{display}">{body}</math>'
