"""Text to SymPy: a tokenizer (one regular expression) and a recursive-descent parser with a
depth limit. Sums and products become one n-ary SymPy node each and exact constants are folded as
they are read, with a bound on their size, so parsing is linear in the length of the text."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import ExpressionError, InputError, listing
from .expression import Expression
from .language import CONSTANTS, DOMAINS, FUNCTIONS, RESERVED, format_expr

#: Most variables a typed expression may have. Each adds a slice of the parameter vector to the
#: compiled function and a row to every derivative; compile time grows faster than their number
#: (1,000 take seconds; 18,000 took minutes and gigabytes). The built-in families
#: (``rosenbrock:N``) are computed on the whole vector and go to 10,000.
MAX_VARIABLES = 1_000
#: Most operations a typed expression may have (after constants are folded): XLA's compile
#: time grows faster than linearly with them. On 2 busy cores, 2,000 operations cost about 25 s
#: to sweep and 50 s to derive (the Hessian); 5,000 cost 2 and 4 minutes and 8 GB.
MAX_OPERATIONS = 2_000

#: Longest expression accepted, in characters.
MAX_LENGTH = 1_000_000
#: Deepest nesting of parentheses, calls, signs and powers accepted.
MAX_DEPTH = 100
#: Largest exact constant, in bits (double precision ends at 2^1024).
MAX_BITS = 1100


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


def _too_large(cap: int) -> str:
    return (
        f"expression too large: more than MAX_OPERATIONS = {cap:,} operations (compiling it "
        "and its derivatives takes time that grows faster than its size); split the work, or "
        "use a built-in family such as rosenbrock:N"
    )


def operations(node: Any) -> int:
    """The operations of the compiled function: distinct subexpressions that are not constants."""
    return len({n for n in sp.preorder_traversal(node) if not n.is_number})


def _fits_double(value: Any) -> bool:
    """Whether a constant (``2^1023``, ``exp(800)``, ``1e308 + 1e308``) is finite in float64."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):  # not a real number: the callers say why
        return True


def _bits(q: Any) -> float:
    """log2 of the magnitude of an exact rational (of its numerator or denominator, larger)."""
    p, d = abs(int(q.p)), int(q.q)
    return max(math.log2(p) if p else 0.0, math.log2(d))


class _Parser:
    def __init__(
        self,
        text: str,
        variables: Iterable[str] | None,
        symbols: Mapping[str, Any],
        max_operations: int | None,
    ):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.allowed = None if variables is None else set(variables)
        self.symbols = dict(symbols)
        self.used: dict[str, Any] = {}
        self.ops = 0
        self.max_ops = max_operations

    def count(self, node: Any, tok: _Token) -> Any:
        """Count one operation (or variable use) as read, constants free, so text far beyond
        the cap stops early; the cap itself is checked on the finished tree (``x+x+…+x`` is
        one product)."""
        if self.max_ops is not None and not node.is_number:
            self.ops += 1
            if self.ops > 2 * self.max_ops:
                self.fail(_too_large(self.max_ops), tok)
        return node

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
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            self.fail("undefined: this divides by zero", tok, end)
        if value.has(sp.I):
            self.fail("undefined: this is not a real number", tok, end)
        if not _fits_double(value):
            self.fail(_TOO_LARGE, tok, end)
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
        first = self.product()
        terms, exact = ([], first) if first.is_Number else ([first], sp.S.Zero)
        while self.tok.text in ("+", "-"):
            op = self.tok
            self.i += 1
            start = self.tok
            term = self.product()
            if op.text == "-":
                term = -term
            if term.is_Number:  # fold constants as read: bounded size, linear time
                exact = self.check_constant(exact + term, start)
            else:
                terms.append(self.count(term, op))
        if exact != 0 or not terms:
            terms.append(exact)
        return terms[0] if len(terms) == 1 else sp.Add(*terms)

    def product(self) -> Any:
        first = self.tok
        head = self.unary()
        factors, exact = ([], head) if head.is_Number else ([head], sp.S.One)
        while self.tok.text in ("*", "/"):
            op = self.tok
            self.i += 1
            start = self.tok
            factor = self.unary()
            if op.text == "/":
                if factor.is_zero is True and factor.is_Number:
                    self.fail("division by zero", op, self.toks[self.i - 1].end)
                factor = sp.Pow(factor, -1)
            if factor.is_Number:
                exact = self.check_constant(exact * factor, start)
            else:
                factors.append(self.count(factor, op))
        if exact != 1 or not factors:
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
            if float(exponent) * _log2abs(base) >= 1024:
                self.fail(_TOO_LARGE, first, end)
            if abs(float(exponent)) * _bits(base) > MAX_BITS:  # exact result too long: float
                base = sp.Float(base)
        result = sp.Pow(base, exponent)
        return (
            self.check_constant(result, first, end)
            if result.is_number
            else self.count(result, first)
        )

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
            self.fail(f"unknown variable {name!r}: the variables are {listing(known)}{hint}", t)
        sym = self.symbols.get(name)
        if sym is None:
            sym = self.symbols[name] = sp.Symbol(name, real=True)
        if name not in self.used and self.max_ops is not None and len(self.used) >= MAX_VARIABLES:
            self.fail(
                f"too many variables: more than MAX_VARIABLES = {MAX_VARIABLES:,} (each adds to "
                "the cost of compiling every derivative); for more, use a built-in family such "
                "as rosenbrock:N (up to 10,000) or an Objective of a vector",
                t,
            )
        self.used[name] = sym
        return self.count(sym, t)

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
        self.count(result, t)
        if result.is_number:
            if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or result.is_real is False:
                arg = ", ".join(map(format_expr, args))
                why = DOMAINS.get(builder, "a point where it is defined")
                self.fail(f"undefined: {name}({arg}) needs {why}", t, end)
            self.check_constant(result, t)
        return result


def parse(
    text: str,
    *,
    variables: Iterable[str] | None = None,
    symbols: Mapping[str, Any] | None = None,
    max_operations: int | None = MAX_OPERATIONS,
) -> Expression:
    """Read ``text`` in the expression language into an :class:`Expression`.

    Args:
        text: e.g. ``"x^2*sin(y)"``.
        variables: if given, the only names allowed (others raise); an empty list allows numbers
            and constants only.
        symbols: SymPy symbols to reuse by name (so expressions parsed apart can be compared).
        max_operations: most operations (and, with it, :data:`MAX_VARIABLES` variables);
            ``None`` lifts both caps, for trusted formulas such as the built-in functions.

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
        if bad or len(set(variables)) != len(variables) or set(variables) & RESERVED:
            raise InputError(
                f"Variables must be distinct names like x, w0 (not {', '.join(sorted(RESERVED))});"
                f" got {listing(map(repr, variables))}."
            )
    p = _Parser(text, variables, symbols or {}, max_operations)
    try:
        node = p.parse()
    except ExpressionError:
        raise
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:  # SymPy refused
        raise ExpressionError(f"cannot build this expression: {exc}", text, 0, len(text)) from None
    if node.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("undefined: the expression divides by zero", text, 0, len(text))
    # SymPy folds numbers as it builds sums and products ((x + 1e308) + 1e308): check them all.
    if not all(_fits_double(a) for a in node.atoms(sp.Number)):
        raise ExpressionError(_TOO_LARGE + " once its constants are combined", text, 0, len(text))
    if max_operations is not None and operations(node) > max_operations:
        raise ExpressionError(_too_large(max_operations), text, 0, len(text))
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
