"""Safe expressions: our own parser from text to SymPy, and a compiler from SymPy to JAX.

User text never reaches ``eval``, ``exec``, ``sympy.sympify`` or ``parse_expr``. A regular
expression cuts the text into tokens, a recursive-descent parser with a depth limit builds the
SymPy expression node by node, and :func:`to_jax` walks the SymPy tree to build a JAX function.

Grammar, lowest precedence first (``^`` and ``**`` are the same operator)::

    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := ("+" | "-") unary | power
    power   := atom (("^" | "**") unary)?          right-associative: 2^3^2 = 2^9, -x^2 = -(x^2)
    atom    := NUMBER | NAME | NAME "(" sum ("," sum)* ")" | "(" sum ")"

Sums and products are collected into one n-ary SymPy node each, and exact constants are folded as
they are read with a bound on their size, so parsing is linear in the length of the text.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, reduce
from typing import Any

import sympy as sp

from .errors import InputError

#: Longest expression accepted, in characters.
MAX_LENGTH = 1_000_000
#: Deepest nesting of parentheses, calls, signs and powers accepted.
MAX_DEPTH = 100
#: Largest exact constant, in bits (double precision ends at 2^1024).
MAX_BITS = 1100

CONSTANTS: dict[str, Any] = {"pi": sp.pi, "e": sp.E}


def _evalf(expr: Any, prec: int) -> Any:
    """``expr`` evaluated to ``prec`` bits (for the functions below, through their rewrites)."""
    from mpmath.libmp import prec_to_dps

    v = expr.evalf(prec_to_dps(prec))
    return v if v.is_Number else None


# -- functions SymPy lacks, with their derivatives ------------------------------------------------
class sigmoid(sp.Function):
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

    def _latex(self, printer: Any) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class softplus(sp.Function):
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

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"


class relu(sp.Function):
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

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)"


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
_DOMAINS = {
    sp.log: "a positive argument",
    sp.sqrt: "a non-negative argument",
    sp.asin: "an argument in [-1, 1]",
    sp.acos: "an argument in [-1, 1]",
    sp.acosh: "an argument >= 1",
    sp.atanh: "an argument in (-1, 1)",
}


_RESERVED = frozenset(CONSTANTS) | frozenset(FUNCTIONS)


# -- errors ---------------------------------------------------------------------------------------
class ExpressionError(InputError):
    """An expression cannot be read: the message, then the text with a caret under the spot.

    Attributes:
        message: what is wrong, one line.
        text: the expression as given.
        start, end: the span of ``text`` the caret marks.
    """

    def __init__(self, message: str, text: str = "", start: int = 0, end: int | None = None):
        self.message = message
        self.text = text
        self.start = max(0, min(start, len(text)))
        self.end = max(self.start + 1, end if end is not None else self.start + 1)
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.text.strip():
            return self.message
        line = self.text.replace("\n", " ").replace("\t", " ").replace("\r", " ")
        lo, hi = 0, len(line)
        width = 70
        if hi > width:  # show a window around the spot
            lo = max(0, min(self.start - width // 2, hi - width))
            hi = min(hi, lo + width)
        shown = ("…" if lo > 0 else "") + line[lo:hi] + ("…" if hi < len(line) else "")
        pad = self.start - lo + (1 if lo > 0 else 0)
        marks = max(1, min(self.end, hi + 1) - self.start)
        return f"{self.message}\n  {shown}\n  {' ' * pad}{'^' * marks}"


# -- tokens ---------------------------------------------------------------------------------------
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    rf"|(?P<name>{_IDENT})"
    r"|(?P<op>\*\*|[-+*/^(),])",
    re.ASCII,
)
_NAME_RE = re.compile(_IDENT, re.ASCII)
# Characters our own output and typeset text use, read as their ASCII twins (same length).
_TWINS = str.maketrans({"−": "-", "·": "*", "×": "*", "⋅": "*"})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    plain = text.translate(_TWINS)
    out: list[_Token] = []
    pos, n = 0, len(plain)
    match = _TOKEN.match
    while pos < n:
        m = match(plain, pos)
        if m is None:
            ch = text[pos]
            hint = ""
            if ch == "=":
                hint = "; an expression has no '=' (write the right-hand side only, e.g. x^2 + y)"
            elif ch in "'\"":
                hint = "; expressions have no strings"
            elif ch == ".":
                hint = "; write decimals as 0.5 (there is no attribute access)"
            raise ExpressionError(
                f"unexpected character {ch!r} at column {pos + 1}{hint}", text, pos
            )
        kind = m.lastgroup
        if kind != "ws":
            out.append(_Token(kind, m.group(), pos, m.end()))  # type: ignore[arg-type]
        pos = m.end()
    out.append(_Token("end", "", n, n))
    return out


# -- parser ---------------------------------------------------------------------------------------
def _natural_key(name: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


_TOO_LARGE = "number too large: beyond double precision (about 1.8e308)"


def _log2abs(q: Any) -> float:
    """log2 of the magnitude of a nonzero exact rational (0 for zero)."""
    p, d = abs(int(q.p)), int(q.q)
    return math.log2(p) - math.log2(d) if p else 0.0


def _bits(q: Any) -> float:
    """log2 of the magnitude of an exact rational (of its numerator or denominator, larger)."""
    p, d = abs(int(q.p)), int(q.q)
    return max(math.log2(p) if p else 0.0, math.log2(d))


class _Parser:
    def __init__(self, text: str, variables: Iterable[str] | None, symbols: Mapping[str, Any]):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.allowed = None if variables is None else set(variables)
        self.symbols = dict(symbols)
        self.used: dict[str, Any] = {}

    # helpers
    @property
    def tok(self) -> _Token:
        return self.toks[self.i]

    def fail(self, message: str, tok: _Token | None = None, end: int | None = None) -> None:
        t = tok or self.tok
        raise ExpressionError(message, self.text, t.start, end if end is not None else t.end)

    def _where(self, tok: _Token) -> str:
        return "the end" if tok.kind == "end" else f"{tok.text!r} at column {tok.start + 1}"

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"expression nested too deeply (more than {MAX_DEPTH} levels); simplify it")

    def check_constant(self, value: Any, tok: _Token, end: int | None = None) -> Any:
        """Keep a folded constant within double range; long exact fractions become floats."""
        if value.is_Rational and _bits(value) > MAX_BITS:
            if _log2abs(value) > 1024:
                self.fail(_TOO_LARGE, tok, end)
            value = sp.Float(value)
        if value.is_Float and not math.isfinite(float(value)):
            self.fail(_TOO_LARGE, tok, end)
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            self.fail("undefined: this divides by zero", tok, end)
        if value.has(sp.I):
            self.fail("undefined: this is not a real number", tok, end)
        return value

    # grammar
    def parse(self) -> Any:
        if self.tok.kind == "end":
            raise ExpressionError("empty expression; write one such as x^2 + y", self.text, 0)
        node = self.sum()
        if self.tok.kind != "end":
            t = self.tok
            if t.text == ")":
                self.fail(f"unmatched ')' at column {t.start + 1}")
            self.fail(f"missing operator before {self._where(t)}")
        return node

    def sum(self) -> Any:
        terms = [self.product()]
        exact = sp.S.Zero
        while self.tok.text in ("+", "-"):
            op = self.tok
            self.i += 1
            start = self.tok
            term = self.product()
            if op.text == "-":
                term = -term
            if term.is_Rational:  # fold exact constants as read: bounded size, linear time
                exact = self.check_constant(exact + term, start)
            else:
                terms.append(term)
        if exact != 0:
            terms.append(exact)
        return terms[0] if len(terms) == 1 else sp.Add(*terms)

    def product(self) -> Any:
        first = self.tok
        factors = [self.unary()]
        exact = sp.S.One
        while self.tok.text in ("*", "/"):
            op = self.tok
            self.i += 1
            start = self.tok
            factor = self.unary()
            if op.text == "/":
                if factor.is_zero is True and factor.is_Number:
                    self.fail("division by zero", op, self.toks[self.i - 1].end)
                factor = sp.Pow(factor, -1)
            if factor.is_Rational:
                exact = self.check_constant(exact * factor, start)
            else:
                factors.append(factor)
        if exact != 1:
            factors.append(exact)
        if len(factors) == 1:
            return factors[0]
        result = sp.Mul(*factors)
        return self.check_constant(result, first) if result.is_Number else result

    def unary(self) -> Any:
        if self.tok.text in ("+", "-"):
            op = self.tok
            self.i += 1
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return -operand if op.text == "-" else operand
        return self.power()

    def power(self) -> Any:
        first = self.tok
        base = self.atom()
        if self.tok.text not in ("^", "**"):
            return base
        self.i += 1
        self.enter()
        exponent = self.unary()
        self.depth -= 1
        end = self.toks[self.i - 1].end
        if base.is_Rational and exponent.is_Rational:
            if base.is_zero and exponent.is_negative:
                self.fail("division by zero: 0 to a negative power", first, end)
            if base.is_negative and not exponent.is_Integer:
                self.fail("undefined: a negative number to a fractional power", first, end)
            if float(exponent) * _log2abs(base) > 1024:
                self.fail(_TOO_LARGE, first, end)
            if abs(float(exponent)) * _bits(base) > MAX_BITS:  # exact result too long: float
                base = sp.Float(base)
        result = sp.Pow(base, exponent)
        return self.check_constant(result, first, end) if result.is_number else result

    def atom(self) -> Any:
        t = self.tok
        if t.kind == "number":
            self.i += 1
            return self.number(t)
        if t.kind == "name":
            self.i += 1
            if self.tok.text == "(":
                return self.call(t)
            return self.name(t)
        if t.text == "(":
            self.i += 1
            self.enter()
            if self.tok.text == ")":
                self.fail("empty parentheses '()'", t, self.tok.end)
            node = self.sum()
            self.depth -= 1
            if self.tok.text != ")":
                self.fail(f"'(' at column {t.start + 1} is never closed", t)
            self.i += 1
            return node
        if t.kind == "end":
            prev = self.toks[self.i - 1] if self.i else t
            self.fail(f"expression ends after {prev.text!r}: a number, name or '(' must follow")
        self.fail(f"expected a number, name or '(' but found {self._where(t)}")
        raise AssertionError  # pragma: no cover - fail raises

    def number(self, t: _Token) -> Any:
        text = t.text
        if re.fullmatch(r"\d+", text):
            if len(text) > 330:
                self.fail(_TOO_LARGE, t)
            return sp.Integer(int(text))
        v = float(text)
        if not math.isfinite(v):
            self.fail(_TOO_LARGE, t)
        return sp.Float(v)

    def name(self, t: _Token) -> Any:
        name = t.text
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            self.fail(f"{name} is a function: write {name}(...)", t)
        if self.allowed is not None and name not in self.allowed:
            if not self.allowed:
                self.fail(f"unknown name {name!r}: only numbers and the constants pi, e here", t)
            known = sorted(self.allowed, key=_natural_key)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.fail(f"unknown variable {name!r}: the variables are {', '.join(known)}{hint}", t)
        sym = self.symbols.get(name)
        if sym is None:
            sym = self.symbols[name] = sp.Symbol(name, real=True)
        self.used[name] = sym
        return sym

    def call(self, t: _Token) -> Any:
        name = t.text
        spec = FUNCTIONS.get(name)
        if spec is None:
            if name in CONSTANTS:
                self.fail(f"{name} is a constant, not a function: write {name}*(...)", t)
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"did you mean {close[0]}?" if close else "known: " + ", ".join(FUNCTIONS)
            self.fail(f"unknown function {name!r}; {hint}", t)
        builder, lo, hi = spec  # type: ignore[misc]
        self.i += 1  # "("
        self.enter()
        args = []
        if self.tok.text == ")":
            self.fail(f"{name}() needs an argument", t, self.tok.end)
        while True:
            args.append(self.sum())
            if self.tok.text == ",":
                self.i += 1
                continue
            break
        self.depth -= 1
        if self.tok.text != ")":
            self.fail(f"'{name}(' at column {t.start + 1} is never closed", t)
        end = self.tok.end
        self.i += 1
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}"
            self.fail(
                f"{name} takes {want} argument{'s' if lo != 1 else ''}; got {len(args)}", t, end
            )
        try:
            result = builder(*args)
        except (ValueError, TypeError, ArithmeticError) as exc:
            self.fail(f"cannot compute {name}(...): {exc}", t, end)
        if result.is_number:
            if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or result.is_real is False:
                arg = ", ".join(map(format_expr, args))
                why = _DOMAINS.get(builder, "a point where it is defined")
                self.fail(f"undefined: {name}({arg}) needs {why}", t, end)
            self.check_constant(result, t)
        return result


# -- printing -------------------------------------------------------------------------------------
class _Printer(sp.printing.str.StrPrinter):  # type: ignore[misc,name-defined]
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


_PRINTER = _Printer({"full_prec": False})


def format_expr(expr: Any) -> str:
    """A SymPy expression as one line in gradscape's expression language (``^`` for powers)."""
    return str(_PRINTER.doprint(expr)).replace("**", "^")


def latex(expr: Any) -> str:
    """A SymPy expression as LaTeX."""
    return str(sp.latex(expr))


# -- SymPy to JAX ---------------------------------------------------------------------------------
def _jax_functions() -> dict[Any, Callable[..., Any]]:
    import jax
    import jax.numpy as jnp

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
    import jax.numpy as jnp
    from jax import lax

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
                f"{', '.join(self.variables)}."
            )
        return self.symbols[self.variables.index(name)]

    @cached_property
    def partials(self) -> dict[str, Any]:
        """``{name: ∂f/∂name}`` as SymPy expressions."""
        return {
            n: sp.diff(self.sympy, s) for n, s in zip(self.variables, self.symbols, strict=True)
        }

    @cached_property
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

    def _explain(self, theta: Any, derivative: bool) -> str | None:
        import numpy as np

        from ._x64 import x64

        values: dict[Any, Any] = {}
        with x64():
            to_jax(self.sympy, self.symbols, memo=values)(np.asarray(theta, dtype=np.float64))

        def val(a: Any) -> float:
            return float(values[a]) if a in values else float(a) if a.is_number else math.nan

        nodes = [n for n in sp.postorder_traversal(self.sympy) if not n.is_Atom and n in values]
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
                if b < 0:
                    return f"{text} takes a fractional power of a negative number ({b:g})"
                return f"{text} overflows"
            why = _DOMAINS.get(node.func)
            if why is not None:
                return f"{text} needs {why} (here {shown})"
            if np.isnan(values[node]):
                return f"{text} is undefined for argument {shown}"
            return f"{text} overflows (argument {shown})"
        if not derivative:
            return None
        for node in nodes:
            args = [val(a) for a in node.args]
            if node.is_Pow and args[0] == 0 and not (node.exp.is_Integer and node.exp > 0):
                return (
                    f"{format_expr(node)} is not differentiable where {format_expr(node.base)} = 0"
                )
            if node.func in (sp.asin, sp.acos, sp.atanh) and abs(args[0]) == 1:
                return f"{format_expr(node)} is not differentiable where its argument is ±1"
            if node.func is sp.acosh and args[0] == 1:
                return f"{format_expr(node)} is not differentiable where its argument is 1"
        return None


def parse(
    text: str, *, variables: Iterable[str] | None = None, symbols: Mapping[str, Any] | None = None
) -> Expression:
    """Read ``text`` in the expression language into an :class:`Expression`.

    Args:
        text: e.g. ``"x^2*sin(y)"``.
        variables: if given, the only names allowed (others raise); an empty list allows numbers
            and constants only.
        symbols: SymPy symbols to reuse by name (so expressions parsed apart can be compared).

    Raises:
        ExpressionError: with the message, the text and a caret under the spot.

    Example:
        >>> str(parse("x^2*sin(y)").partials["x"])
        '2*x*sin(y)'
    """
    if not isinstance(text, str):
        raise InputError(f"An expression must be text; got {type(text).__name__}.")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression too long: {len(text):,} characters (at most {MAX_LENGTH:,})"
        )
    if variables is not None:
        variables = tuple(variables)
        bad = [v for v in variables if not (isinstance(v, str) and _NAME_RE.fullmatch(v))]
        if bad or len(set(variables)) != len(variables) or set(variables) & _RESERVED:
            raise InputError(
                f"Variables must be distinct names like x, w0 (not {', '.join(sorted(_RESERVED))});"
                f" got {', '.join(map(repr, variables))}."
            )
    p = _Parser(text, variables, symbols or {})
    try:
        node = p.parse()
    except ExpressionError:
        raise
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:  # SymPy refused
        raise ExpressionError(f"cannot build this expression: {exc}", text, 0, len(text)) from None
    if node.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("undefined: the expression divides by zero", text, 0, len(text))
    if variables is None:
        names = tuple(sorted(p.used, key=_natural_key))
    else:
        names = variables
        for n in names:
            if n not in p.used:
                p.used[n] = p.symbols.get(n) or sp.Symbol(n, real=True)
    return Expression(
        text=text, sympy=node, variables=names, symbols=tuple(p.used[n] for n in names)
    )


def constant(text: str) -> float:
    """A constant expression such as ``"pi/2"`` or ``"-1e-3"`` as a float (no variables)."""
    e = parse(text, variables=())
    v = float(e.sympy)
    if not math.isfinite(v):
        raise ExpressionError("number too large: beyond double precision", text, 0, len(text))
    return v
