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

from ..errors import ExpressionError
from .expression import Expression, to_jax
from .language import CONSTANTS, FUNCTIONS, format_expr, latex, mathml, relu, sigmoid, softplus
from .parser import MAX_BITS, MAX_DEPTH, MAX_LENGTH, MAX_OPERATIONS, MAX_VARIABLES, constant, parse

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_BITS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_OPERATIONS",
    "MAX_VARIABLES",
    "Expression",
    "ExpressionError",
    "constant",
    "format_expr",
    "latex",
    "mathml",
    "parse",
    "relu",
    "sigmoid",
    "softplus",
    "to_jax",
]
