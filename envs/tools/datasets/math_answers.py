"""Math answers checked by equivalence, not string match.

``verify_math(response, reference)`` finds the final answer in a response
(:func:`extract_final_answer`: the last ``\\boxed{...}``, else the last ``<answer>...</answer>``,
else an ``answer is ...`` / ``Answer: ...`` line, else a one-line response) and compares it
with the reference (:func:`equivalent`):

* **numbers** exactly, as rationals: ``0.5``, ``1/2``, ``\\frac{1}{2}``, ``\\dfrac12``,
  ``2/4``, ``5e-1`` and ``50\\%`` read as ``1/2`` (a percentage also matches its number:
  ``50\\%`` matches ``50``), a mixed number ``2\\frac{1}{4}`` as ``9/4``; thousands separators
  (``1,000,000``, ``10{,}000``); signs, ``\\cdot``/``\\times``, powers, ``\\sqrt`` of perfect
  squares, ``n!``. When either side is written with a decimal point, a relative tolerance
  ``rel_tol`` (default ``1e-6``) applies, so ``0.3333333`` matches ``1/3`` and ``0.33`` does not.
* **expressions** with variables or irrational parts (``2\\sqrt{3}``, ``\\frac{\\pi}{4}``,
  ``x^2+5x+6`` against ``(x+2)(x+3)``, ``3+4i``, ``e^2``, ``\\log_2 8``) by evaluating both at
  several fixed points (variables are single letters, or ``x_1``; ``e`` is Euler's number and
  ``i`` the imaginary unit). Implicit multiplication is read (``2x``, ``3(x+1)``,
  ``(x+1)(x-1)``); a run of several letters is a word, not a product.
* ``x = 5`` is ``5`` (one variable on the left); lists: ``1, 2`` and ``\\{1, 2\\}`` compare as
  multisets (order ignored), ``(1, 2)`` and ``[1, 2)`` in order with their brackets.
* **text** otherwise (``yes``, ``\\text{(B)}``, ``no solution``): compared case-insensitively,
  spaces ignored, after the LaTeX dressing is removed (``$``, ``\\left``, ``\\text{}``,
  ``\\displaystyle``, trailing period); units after a number (``5 \\text{cm}``,
  ``25 \\text{ cm}^2``, ``12 apples``) are dropped.

The parser is this module's own (no ``eval``, no ``sympy``): it bounds the input's length, the
nesting depth, exponents and factorials, so a hostile answer costs microseconds, never a hang
or an exception (anything it cannot read compares as text).
"""

from __future__ import annotations

import cmath
import math
import numbers
import random
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Union

#: Answers longer than this are compared as text only.
MAX_ANSWER_CHARS = 1_000
MAX_DEPTH = 60
MAX_EXPONENT = 4_096
MAX_EXACT_BITS = 200_000
MAX_FACTORIAL = 500
MAX_ITEMS = 64
_PROBES = 6


# ----------------------------------------------------------------------------- extraction
def last_boxed(text: str) -> str | None:
    """The content of the last complete ``\\boxed{...}`` (or ``\\fbox{...}``) in ``text``, braces
    balanced (of nested ones, the outer); ``\\boxed 5`` (no braces) gives ``5``. ``None`` when
    there is none."""
    if not isinstance(text, str) or "box" not in text:
        return None
    best: tuple[int, int, str] | None = None  # (end, -start, content): the one ending last, outermost
    closing: dict[int, int] | None = None
    for match in _BOX.finditer(text):
        start = match.end()
        if start < len(text) and text[start] == "{":
            closing = _closing_braces(text) if closing is None else closing
            end = closing.get(start)
            if end is None:
                continue
            found = (end, -match.start(), text[start + 1:end])
        else:
            word = _BOX_WORD.match(text, start) if match.group(1) else None
            if not word:
                continue
            found = (word.end(), -match.start(), word.group())
        if best is None or found[:2] > best[:2]:
            best = found
    return None if best is None else best[2]


_BOX = re.compile(r"\\(?:boxed|fbox)(\s*)")
_BOX_WORD = re.compile(r"[^\s$]+")


def _closing_braces(text: str) -> dict[int, int]:
    """The index of the ``}`` that closes each ``{`` of ``text`` that is closed, in one pass
    (scanning on from each box's brace is quadratic in a response that repeats ``\\boxed{``)."""
    closing: dict[int, int] = {}
    opened: list[int] = []
    for match in re.finditer(r"[{}]", text):
        if match.group() == "{":
            opened.append(match.start())
        elif opened:
            closing[opened.pop()] = match.start()
    return closing


_ANSWER_TAG = re.compile(r"<answer>((?:(?!<answer>).)*?)</answer>", re.IGNORECASE | re.DOTALL)
_ANSWER_MARK = re.compile(r"answer[*_]*\s*(?:is|:|=)\s*:?[ \t]*", re.IGNORECASE)
_HOPE = re.compile(r"\.?\s*I hope it is correct\.?\s*$", re.IGNORECASE)


def extract_final_answer(response: str) -> str | None:
    """The final answer of ``response`` (see the module docstring for the order), stripped (but
    for a ``\\boxed{}``'s, of the markdown emphasis around it too: ``**Answer:** **42**`` and
    ``<answer>**42**</answer>`` give ``42``); ``None`` when it has none."""
    if not isinstance(response, str) or not response.strip():
        return None
    boxed = last_boxed(response)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    tagged = [t for t in _ANSWER_TAG.findall(response) if _without_emphasis(t)]
    if tagged:
        return _without_emphasis(tagged[-1])
    marks = list(_ANSWER_MARK.finditer(response))
    if marks:
        line = response[marks[-1].end():].split("\n", 1)[0]
        return _without_emphasis(_HOPE.sub("", line.strip())) or None
    stripped = response.strip()
    if "\n" not in stripped and len(stripped) <= 200 and not re.search(r"\\boxed|\\fbox|</?answer>", stripped):
        return _without_emphasis(stripped) or None
    return None


def _without_emphasis(text: str) -> str:
    """``text`` without the markdown around it (``**42**``, ``__42__``, ```42```: a chat
    model's "**Answer:** 42" leaves ``** 42``) and without a trailing period."""
    while True:
        plain = text.strip().rstrip(".").strip().strip("*_`")
        if plain == text:
            return text
        text = plain


def reference_answer(text: Any) -> str:
    """A dataset's answer field as the answer to compare with: a number (``int``, ``float``,
    ``Fraction``, ``Decimal``, a numpy scalar) as text; GSM8K's ``... #### 72`` gives ``72``; a
    worked solution with a ``\\boxed{}`` gives its content."""
    if isinstance(text, bool) or type(text).__name__ == "bool_":  # numpy's bool is no Integral
        raise TypeError(f"an answer must be text or a number, not {text!r}")
    if isinstance(text, numbers.Integral):
        return str(int(text))
    if isinstance(text, (numbers.Real, Decimal)):  # str: numpy's repr is np.float64(2.5)
        return str(text)
    if not isinstance(text, str):
        raise TypeError(f"an answer must be text or a number, not {type(text).__name__}")
    if "####" in text:
        return text.rsplit("####", 1)[1].strip()
    boxed = last_boxed(text)
    return boxed.strip() if boxed is not None and boxed.strip() else text.strip()


# ----------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Number:
    value: Fraction
    approximate: bool = False  # written with a decimal point
    percent: bool = False


@dataclass(frozen=True)
class Expression:
    tree: tuple
    approximate: bool = False


@dataclass(frozen=True)
class Items:
    values: tuple
    ordered: bool
    brackets: str = ""  # "()", "[)", ... when ordered and written with brackets


@dataclass(frozen=True)
class Text:
    text: str


Value = Union[Number, Expression, Items, Text]


class _Unreadable(Exception):
    """The text is not mathematics this module reads (compared as text instead)."""


class _NotExact(Exception):
    """The expression has no exact rational value (a variable, pi, an irrational root...)."""


# ----------------------------------------------------------------------------- normalizing
# (LaTeX's line break, two backslashes, is matched first and kept: its second backslash followed by a
# space is not the spacing command "\ ")
_REMOVE = re.compile(r"(\\\\)|\\(?:displaystyle|textstyle|left|right|bigl|bigr|Bigl|Bigr|big|Big|quad|qquad|limits)"
                     r"(?![A-Za-z])|\\[!,;: $]|~|\$")
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mathit|operatorname|mbox|textnormal)\s*\{([^{}]*)\}")
_REPLACE = [
    (re.compile(r"\\[dt]frac(?![A-Za-z])"), r"\\frac"),
    (re.compile(r"\\(?:cdot|times|ast)(?![A-Za-z])|[×·⋅∗]"), "*"),
    (re.compile(r"\\div(?![A-Za-z])|÷"), "/"),
    (re.compile(r"[−–—]"), "-"),
    (re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![A-Za-z])"), ""),
    (re.compile(r"\\%"), "%"),
    (re.compile(r"\\\{"), "⦃"),
    (re.compile(r"\\\}"), "⦄"),
    (re.compile(r"π"), r"\\pi "),
    (re.compile(r"∞"), r"\\infty "),
    (re.compile(r"√"), r"\\sqrt"),
    (re.compile(r"\\(?:le|leq|ge|geq|neq|ne|approx|pm|mp|in|cup|cap|to)(?![A-Za-z])|[≤≥≠±∪∩]"), " \x00 "),
]
_FRAC_DIGITS = [
    (re.compile(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\frac\s*([0-9A-Za-z])\s*\{"), r"\\frac{\1}{"),
    (re.compile(r"\\frac\s*(\{[^{}]*\})\s*([0-9A-Za-z])"), r"\\frac\1{\2}"),
    (re.compile(r"\\sqrt\s*([0-9A-Za-z])"), r"\\sqrt{\1}"),
]
_MIXED = re.compile(r"(?<![0-9A-Za-z.}\\])([0-9]+)\s*\\frac\{([0-9]+)\}\{([0-9]+)\}")
_TEXT_UNITS = re.compile(r"(?:\s*" + _TEXT_COMMAND.pattern + r"(?:\s*\^\s*\{?\s*[0-9]\s*\}?)?)+\s*$")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SPACED_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_LHS = re.compile(r"^\s*[A-Za-z](?:_\{?[0-9A-Za-z]+\}?)?\s*=(?!=)")


def clean_latex(text: str) -> str:
    """``text`` without the LaTeX dressing that never changes a value (``$``, ``\\left``,
    spacing, ``\\displaystyle``), ``{,}`` as ``,``, ``\\dfrac`` as ``\\frac``, ``\\cdot`` as
    ``*``, degrees dropped, a trailing period removed."""
    text = text.strip()
    text = re.sub(r"^\\[(\[]|\\[)\]]$", "", text).strip()
    text = text.replace("{,}", ",")  # LaTeX's thousands separator: 10{,}000
    for pattern, replacement in _REPLACE[:5]:
        text = pattern.sub(replacement, text)
    text = _REMOVE.sub(lambda match: match.group(1) or "", text).strip()
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1].rstrip()
    return text


def normalize_text(text: str) -> str:
    """The text comparison's form: LaTeX dressing removed, ``\\text{}`` unwrapped, lower case,
    no whitespace, one pair of enclosing parentheses around a lone word or letter dropped."""
    text = clean_latex(text)
    while True:
        unwrapped = _TEXT_COMMAND.sub(r"\1", text)
        if unwrapped == text:
            break
        text = unwrapped
    text = re.sub(r"\s+", "", text).lower().rstrip(".")
    match = re.fullmatch(r"\(([a-z]+)\)", text)
    return match.group(1) if match else text


def parse_answer(text: str) -> Value:
    """``text`` as a :class:`Number`, :class:`Expression`, :class:`Items` or, when it is not
    mathematics this module reads, :class:`Text`. Never raises for any string."""
    if not isinstance(text, str):
        raise TypeError(f"parse_answer takes a str, not {type(text).__name__}")
    if len(text) > MAX_ANSWER_CHARS:
        return Text(normalize_text(text[:MAX_ANSWER_CHARS]) + f"…{len(text)}")
    try:
        return _parse_value(_prepare(text), 0)
    except (_Unreadable, RecursionError, ValueError, OverflowError, ZeroDivisionError):
        return Text(normalize_text(text))


def _prepare(text: str) -> str:
    text = clean_latex(text)
    # \text{...} at the end, after a number, is a unit (with its power: \text{ cm}^2), dropped;
    # anywhere else its words are part of the answer
    units = _TEXT_UNITS.search(text)
    if units and re.search(r"[0-9]", text[:units.start()]):
        text = text[:units.start()]
    text = _TEXT_COMMAND.sub(r"\1", text)
    for pattern, replacement in _REPLACE[5:]:
        text = pattern.sub(replacement, text)
    if "\x00" in text:
        raise _Unreadable("an inequality or a relation")
    for pattern, replacement in _FRAC_DIGITS:
        text = pattern.sub(replacement, text)
    text = _MIXED.sub(_mixed_number, text).strip()
    # trailing words after a number are units: "12 apples", "5 cm", "25 cm^2" (not "2 pi")
    units = re.fullmatch(r"(.*[0-9)}])\s+((?:[A-Za-z]{2,}(?:\^\{?[0-9]\}?)?\.?\s*)+)", text)
    if units and re.search(r"[0-9]", units.group(1)) and not set(re.findall(r"[A-Za-z]+", units.group(2))) & _NAMES:
        text = units.group(1).strip()
    return _without_separators(text)


def _without_separators(text: str) -> str:
    """``text`` without the thousands separators of its number when the number, once its unit is
    dropped, is the whole answer -- with an ``x =`` before it or a ``%`` after it: ``1,000``,
    ``1 000 000``, ``x = 1,000``, ``12,500%`` (a number anywhere else, ``1,000 + 1``, is left:
    its commas may separate the items of a list)."""
    lhs = _LHS.match(text)
    head = text[:lhs.end()] if lhs else ""
    number = text[len(head):].strip()
    percent = "%" if number.endswith("%") else ""
    number = number[:len(number) - len(percent)].rstrip()
    if _THOUSANDS.fullmatch(number) or _SPACED_THOUSANDS.fullmatch(number):
        return head + number.replace(",", "").replace(" ", "") + percent
    return text


def _mixed_number(match: re.Match) -> str:
    """``2\\frac{1}{4}`` as ``(2+1/4)``: a whole number written before a proper fraction is a
    mixed number, not a product -- unless it is itself a factor (``3 \\cdot 2\\frac{1}{2}``)."""
    whole, numerator, denominator = match.groups()
    before = match.string[:match.start()].rstrip()
    if int(numerator) >= int(denominator) or (before and before[-1] in "*/^_"):
        return match.group()
    return f"({whole}+{numerator}/{denominator})"


def _parse_value(text: str, depth: int) -> Value:
    if depth > 3:
        raise _Unreadable("lists nested too deeply")
    text = text.strip()
    if not text:
        raise _Unreadable("empty")
    if text.startswith("⦃") and text.endswith("⦄") and _closing(text, 0) == len(text) - 1:
        return Items(tuple(_parse_value(part, depth + 1) for part in _split_top(text[1:-1])), ordered=False)
    if text[0] in "([" and text[-1] in ")]":
        parts = _split_top(text[1:-1])
        if len(parts) > 1 and _closing(text, 0) in (len(text) - 1, None):
            return Items(tuple(_parse_value(part, depth + 1) for part in parts), ordered=True,
                         brackets=text[0] + text[-1])
    parts = _split_top(text)
    if len(parts) > MAX_ITEMS:
        raise _Unreadable("too many items")
    if len(parts) > 1:
        return Items(tuple(_parse_value(part, depth + 1) for part in parts), ordered=False)
    lhs = _LHS.match(text)
    if lhs and "=" not in text[lhs.end():]:
        text = text[lhs.end():]
    if "=" in text:
        raise _Unreadable("an equation")
    percent = text.rstrip().endswith("%")
    if percent:
        text = text.rstrip()[:-1]
    parser = _Parser(text)
    tree = parser.parse()
    approximate = parser.approximate
    try:
        value = _exact(tree)
    except _NotExact:
        if percent:
            tree = ("mul", tree, ("num", Fraction(1, 100)))
        return Expression(tree, approximate)
    return Number(value / 100 if percent else value, approximate, percent)


def _closing(text: str, start: int) -> int | None:
    """Index of the bracket closing the one at ``start`` (any bracket kind), or None."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] in "([{⦃":
            depth += 1
        elif text[index] in ")]}⦄":
            depth -= 1
            if depth == 0:
                return index
    return None


def _split_top(text: str) -> list[str]:
    """``text`` split at the commas (and ``;``) outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{⦃":
            depth += 1
        elif char in ")]}⦄":
            depth -= 1
        elif char in ",;" and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    if len(parts) > 1 and any(not part.strip() for part in parts):
        raise _Unreadable("an empty list item")
    return parts


# ----------------------------------------------------------------------------- parsing
_NAMES = {"sqrt", "sin", "cos", "tan", "ln", "log", "exp", "pi", "oo", "inf", "infty", "infinity", "arcsin",
          "arccos", "arctan", "sec", "csc", "cot"}
_FUNCTIONS = {"sqrt", "sin", "cos", "tan", "ln", "log", "exp", "arcsin", "arccos", "arctan", "sec", "csc", "cot"}
_SUBSCRIPT = re.compile(r"_\{?([0-9A-Za-z]+)\}?")
_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+(?![A-Za-z]))?)"
    r"|\\(?P<command>[A-Za-z]+)"
    r"|(?P<name>[A-Za-z]+)"
    r"|(?P<op>\*\*|[-+*/^()\[\]{}!%_]))")


def _number(text: str) -> Fraction:
    """A number token's exact value; :class:`_Unreadable` past :data:`MAX_EXPONENT` in its
    decimal exponent (``1e999999999`` would be a billion-digit integer), as for a power."""
    exponent = text.lower().partition("e")[2]
    if exponent and abs(int(exponent)) > MAX_EXPONENT:
        raise _Unreadable("an exponent too large")
    return Fraction(text)


class _Parser:
    """Recursive descent over: sums, products (``*``, ``/``, juxtaposition), unary signs,
    right-associative powers (``^``/``**``), postfix ``!``/``%``, numbers, single-letter
    variables, constants, functions, ``\\frac``, ``\\sqrt[n]{}``, ``\\log_b``, brackets."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any]] = []
        self.approximate = False
        position = 0
        text = text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise _Unreadable(f"unexpected {text[position:position + 10]!r}")
            position = match.end()
            kind = match.lastgroup
            value = match.group(kind)
            if kind == "number":
                self.approximate |= "." in value or "e" in value.lower()
                self.tokens.append(("num", _number(value)))
            elif kind == "command":
                self.tokens.append(("cmd", value))
            elif kind == "name":
                if len(value) > 1 and value not in _NAMES:
                    raise _Unreadable(f"the word {value!r}")
                subscript = _SUBSCRIPT.match(text, position) if value not in _NAMES else None
                if subscript:  # x_1, x_{12}: one variable
                    position = subscript.end()
                    value += "_" + subscript.group(1)
                self.tokens.append(("name", value))
            else:
                self.tokens.append(("op", value))
        self.index = 0
        self.depth = 0

    def parse(self) -> tuple:
        if not self.tokens:
            raise _Unreadable("empty")
        tree = self.sum()
        if self.index != len(self.tokens):
            raise _Unreadable(f"unexpected {self.tokens[self.index][1]!r}")
        return tree

    # -- helpers
    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise _Unreadable("the expression ends too early")
        self.index += 1
        return token

    def expect(self, op: str) -> None:
        token = self.take()
        if token != ("op", op):
            raise _Unreadable(f"expected {op!r}")

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "op" and token[1] in ops

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Unreadable("nested too deeply")

    # -- grammar
    def sum(self) -> tuple:
        self.enter()
        tree = self.product()
        while self.at_op("+", "-"):
            op = self.take()[1]
            tree = ("add" if op == "+" else "sub", tree, self.product())
        self.depth -= 1
        return tree

    def product(self) -> tuple:
        tree = self.unary()
        while True:
            if self.at_op("*", "/"):
                op = self.take()[1]
                tree = ("mul" if op == "*" else "div", tree, self.unary())
            elif self.starts_primary():
                tree = ("mul", tree, self.power())
            else:
                return tree

    def starts_primary(self) -> bool:
        token = self.peek()
        if token is None:
            return False
        kind, value = token
        return kind in ("num", "name", "cmd") or (kind == "op" and value in ("(", "[", "{"))

    def unary(self) -> tuple:
        if self.at_op("-"):
            self.take()
            self.enter()
            tree = ("neg", self.unary())
            self.depth -= 1
            return tree
        if self.at_op("+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> tuple:
        base = self.postfix()
        if self.at_op("^", "**"):
            self.take()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return ("pow", base, exponent)
        return base

    def postfix(self) -> tuple:
        tree = self.primary()
        while self.at_op("!", "%"):
            op = self.take()[1]
            tree = ("fact", tree) if op == "!" else ("mul", tree, ("num", Fraction(1, 100)))
        return tree

    def group(self) -> tuple:
        """A ``{...}`` or ``(...)`` group, or one primary."""
        if self.at_op("{", "(", "["):
            opening = self.take()[1]
            self.enter()
            tree = self.sum()
            self.depth -= 1
            self.expect({"{": "}", "(": ")", "[": "]"}[opening])
            return tree
        return self.power()

    def primary(self) -> tuple:
        kind, value = self.take()
        if kind == "num":
            return ("num", value)
        if kind == "op" and value in ("(", "[", "{"):
            self.index -= 1
            return self.group()
        if kind == "cmd":
            return self.command(value)
        if kind == "name":
            return self.named(value)
        raise _Unreadable(f"unexpected {value!r}")

    def command(self, name: str) -> tuple:
        if name == "frac":
            return ("div", self.group(), self.group())
        if name == "sqrt":
            if self.at_op("["):
                self.take()
                index = self.sum()
                self.expect("]")
                return ("root", index, self.group())
            return ("root", ("num", Fraction(2)), self.group())
        if name in ("pi",):
            return ("const", "pi")
        if name in ("infty", "infin"):
            return ("const", "oo")
        if name in _FUNCTIONS:
            return self.function(name)
        raise _Unreadable(f"the command \\{name}")

    def named(self, name: str) -> tuple:
        if name in ("pi",):
            return ("const", "pi")
        if name in ("oo", "inf", "infty", "infinity"):
            return ("const", "oo")
        if name in _FUNCTIONS:
            return self.function(name)
        if name == "e":
            return ("const", "e")
        if name == "i":
            return ("const", "i")
        return ("var", name)

    def function(self, name: str) -> tuple:
        if name == "log" and self.at_op("_"):
            self.take()
            base = self.group()
            return ("log", base, self.group())
        if name == "sqrt":
            return ("root", ("num", Fraction(2)), self.group())
        return ("func", name, self.group())


# ----------------------------------------------------------------------------- exact values
def _exact(tree: tuple) -> Fraction:
    """The exact rational value of ``tree``; :class:`_NotExact` when it has none we can find."""
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "neg":
        return -_exact(tree[1])
    if kind in ("add", "sub", "mul", "div"):
        left, right = _exact(tree[1]), _exact(tree[2])
        if kind == "add":
            return left + right
        if kind == "sub":
            return left - right
        if kind == "mul":
            return left * right
        if right == 0:
            raise _NotExact("division by zero")
        return left / right
    if kind == "pow":
        return _exact_power(_exact(tree[1]), _exact(tree[2]))
    if kind == "root":
        index = _exact(tree[1])
        if index == 0:
            raise _NotExact("a zeroth root")
        return _exact_power(_exact(tree[2]), 1 / index)
    if kind == "fact":
        value = _exact(tree[1])
        if value.denominator != 1 or not 0 <= value <= MAX_FACTORIAL:
            raise _NotExact("a factorial out of range")
        return Fraction(math.factorial(int(value)))
    raise _NotExact(kind)


def _exact_power(base: Fraction, exponent: Fraction) -> Fraction:
    if abs(exponent.numerator) > MAX_EXPONENT or exponent.denominator > 64:
        raise _NotExact("an exponent too large")
    if base == 0 and exponent < 0:
        raise _NotExact("division by zero")
    size = max(base.numerator.bit_length() + base.denominator.bit_length(), 1)
    if size * abs(exponent.numerator) > MAX_EXACT_BITS:
        raise _NotExact("too large to compute exactly")
    if exponent.denominator == 1:
        return base ** exponent.numerator
    root = exponent.denominator
    if base < 0:
        if root % 2 == 0:
            raise _NotExact("an even root of a negative number")
        return -_exact_power(-base, exponent)
    numerator, denominator = _integer_root(base.numerator, root), _integer_root(base.denominator, root)
    if numerator is None or denominator is None:
        raise _NotExact("an irrational root")
    return Fraction(numerator, denominator) ** exponent.numerator


def _integer_root(value: int, root: int) -> int | None:
    """The integer ``r`` with ``r ** root == value``, or None."""
    if value < 2:
        return value
    guess = round(value ** (1 / root)) if value.bit_length() < 1000 else _newton_root(value, root)
    for candidate in (guess - 1, guess, guess + 1):
        if candidate >= 0 and candidate ** root == value:
            return candidate
    return None


def _newton_root(value: int, root: int) -> int:
    guess = 1 << (value.bit_length() // root + 1)
    while True:
        better = ((root - 1) * guess + value // guess ** (root - 1)) // root
        if better >= guess:
            return guess
        guess = better


# ----------------------------------------------------------------------------- numeric values
_CONSTANTS = {"pi": complex(math.pi), "e": complex(math.e), "i": 1j}
_CALLS = {"sin": cmath.sin, "cos": cmath.cos, "tan": cmath.tan, "ln": cmath.log, "log": cmath.log,
          "exp": cmath.exp, "arcsin": cmath.asin, "arccos": cmath.acos, "arctan": cmath.atan,
          "sec": lambda z: 1 / cmath.cos(z), "csc": lambda z: 1 / cmath.sin(z), "cot": lambda z: 1 / cmath.tan(z)}


def _numeric(tree: tuple, point: dict[str, complex]) -> complex:
    kind = tree[0]
    if kind == "num":
        return complex(tree[1])
    if kind == "var":
        return point[tree[1]]
    if kind == "const":
        if tree[1] == "oo":
            raise ValueError("infinity inside an expression")
        return _CONSTANTS[tree[1]]
    if kind == "neg":
        return -_numeric(tree[1], point)
    if kind in ("add", "sub", "mul", "div", "pow"):
        left, right = _numeric(tree[1], point), _numeric(tree[2], point)
        if kind == "add":
            return left + right
        if kind == "sub":
            return left - right
        if kind == "mul":
            return left * right
        if kind == "div":
            return left / right
        if abs(right) > MAX_EXPONENT:
            raise OverflowError("exponent too large")
        return _real_power(left, right)
    if kind == "root":
        index = _numeric(tree[1], point)
        return _real_power(_numeric(tree[2], point), 1 / index)
    if kind == "func":
        return _CALLS[tree[1]](_numeric(tree[2], point))
    if kind == "log":
        return cmath.log(_numeric(tree[2], point)) / cmath.log(_numeric(tree[1], point))
    if kind == "fact":
        value = _numeric(tree[1], point)
        if value.imag or value.real != int(value.real) or not 0 <= value.real <= MAX_FACTORIAL:
            raise ValueError("factorial of a non-integer")
        return complex(math.factorial(int(value.real)))
    raise ValueError(kind)


def _real_power(base: complex, exponent: complex) -> complex:
    """``base ** exponent``, the real root for odd roots of negative reals (``(-8)^(1/3) = -2``)."""
    if base.imag == 0 and exponent.imag == 0 and base.real < 0:
        inverse = 1 / exponent.real if exponent.real else 0
        if abs(inverse - round(inverse)) < 1e-12 and round(inverse) % 2 == 1:
            return complex(-((-base.real) ** exponent.real))
    result = base ** exponent
    if not (math.isfinite(result.real) and math.isfinite(result.imag)):
        raise OverflowError("not finite")
    return result


def _variables(tree: tuple, found: set[str]) -> set[str]:
    if tree[0] == "var":
        found.add(tree[1])
    for child in tree[1:]:
        if isinstance(child, tuple):
            _variables(child, found)
    return found


def _close(a: complex, b: complex, tolerance: float) -> bool:
    return abs(a - b) <= max(1e-12, tolerance * max(abs(a), abs(b)))


def _infinity_sign(tree: tuple) -> int:
    if tree == ("const", "oo"):
        return 1
    if tree[0] == "neg" and tree[1] == ("const", "oo"):
        return -1
    return 0


def _same_expression(a: tuple, b: tuple, tolerance: float) -> bool:
    signs = _infinity_sign(a), _infinity_sign(b)
    if signs != (0, 0):
        return signs[0] == signs[1]
    names = sorted(_variables(a, set()) | _variables(b, set()))
    rng = random.Random(20240601)  # fixed: the same answer always gets the same verdict
    compared = 0
    for _ in range(_PROBES):
        point = {name: complex(rng.uniform(0.5, 2.5), 0) for name in names}
        try:
            left = _numeric(a, point)
        except (ArithmeticError, ValueError):
            left = None
        try:
            right = _numeric(b, point)
        except (ArithmeticError, ValueError):
            right = None
        if (left is None) != (right is None):
            return False
        if left is None:
            continue
        if not _close(left, right, tolerance):
            return False
        compared += 1
    return compared >= 3 or (compared >= 1 and not names)


# ----------------------------------------------------------------------------- equivalence
def values_equal(given: Value, expected: Value, *, rel_tol: float = 1e-6) -> bool:
    """Whether two parsed answers are the same (see the module docstring)."""
    if isinstance(expected, Items) or isinstance(given, Items):
        return _items_equal(given, expected, rel_tol)
    if isinstance(given, Text) or isinstance(expected, Text):
        return False
    approximate = given.approximate or expected.approximate
    if isinstance(given, Number) and isinstance(expected, Number):
        for left in _readings(given):
            for right in _readings(expected):
                if left == right:
                    return True
                if approximate and abs(left - right) <= Fraction(rel_tol) * max(abs(left), abs(right)):
                    return True
        return False
    tree_a = given.tree if isinstance(given, Expression) else ("num", given.value)
    tree_b = expected.tree if isinstance(expected, Expression) else ("num", expected.value)
    try:
        return _same_expression(tree_a, tree_b, rel_tol if approximate else 1e-9)
    except (ArithmeticError, ValueError):
        return False


def _readings(number: Number) -> tuple[Fraction, ...]:
    """A percentage also reads as its number (``50%`` is 1/2 or 50)."""
    return (number.value, number.value * 100) if number.percent else (number.value,)


def _items_equal(given: Value, expected: Value, rel_tol: float) -> bool:
    if not (isinstance(given, Items) and isinstance(expected, Items)):
        return False
    if len(given.values) != len(expected.values):
        return False
    if expected.ordered:  # the reference decides: a point or an interval in order, a set or a list of roots not
        if given.brackets and expected.brackets and given.brackets != expected.brackets:
            return False
        return all(values_equal(g, e, rel_tol=rel_tol) for g, e in zip(given.values, expected.values))
    unmatched = list(expected.values)
    for value in given.values:
        match = next((k for k, other in enumerate(unmatched) if values_equal(value, other, rel_tol=rel_tol)), None)
        if match is None:
            return False
        unmatched.pop(match)
    return True


def equivalent(given: str, expected: str, *, rel_tol: float = 1e-6) -> bool:
    """Whether the answer ``given`` is the same as ``expected`` (both text): equal values, or,
    when either is not mathematics, equal normalized text. Never raises for any strings."""
    if not isinstance(given, str) or not isinstance(expected, str):
        raise TypeError("equivalent compares two strings")
    if normalize_text(given) == normalize_text(expected):
        return True
    return values_equal(parse_answer(given), parse_answer(expected), rel_tol=rel_tol)


@dataclass(frozen=True)
class MathVerdict:
    """The check of one response: ``correct``; ``answer``, the final answer found (``None``:
    none); ``reason``, one sentence for the agent."""

    correct: bool
    answer: str | None
    reason: str


def verify_math(response: str, reference: str, *, rel_tol: float = 1e-6) -> MathVerdict:
    """Find the final answer in ``response`` and compare it with ``reference`` (see the module
    docstring). Never raises for any response."""
    answer = extract_final_answer(response) if isinstance(response, str) else None
    if answer is None:
        return MathVerdict(False, None, "no final answer found: write it as \\boxed{...}")
    if equivalent(answer, reference, rel_tol=rel_tol):
        return MathVerdict(True, answer, "the answer is correct")
    return MathVerdict(False, answer, "the answer is not equal to the expected one")
