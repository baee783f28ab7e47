"""The two small datasets shipped with agentgym, and the generator that writes them.

``data/math.jsonl`` (:func:`math_problems`): 36 seeded problems, 12 per level, whose answers
take the forms the verifier must recognize — integers, reduced fractions written as
``\\frac``, decimals, percentages, solutions of equations, pairs of coordinates, sets of roots,
multiples of ``\\pi``, surds, polynomials. ``data/code.jsonl`` (:func:`code_problems`): 12
function-writing problems, 4 per level, each with a reference ``solution`` and tests, some as
a list of asserts, some as ``test_*`` functions.

Regenerate the files with ``python -m agentgym.envs.tools.datasets.sample_data``; a test
checks that the shipped files are exactly what the generator writes.
"""

from __future__ import annotations

import json
import math
import random
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

DATA = Path(__file__).resolve().parent / "data"
MATH_FILE = DATA / "math.jsonl"
CODE_FILE = DATA / "code.jsonl"
SEED = 2024
PER_LEVEL = 12


def latex(value: Fraction) -> str:
    """A rational as the answer a solution would print: ``7``, ``-\\frac{3}{4}``."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def _term(coefficient: int, power: str) -> str:
    if coefficient == 0:
        return ""
    sign = " - " if coefficient < 0 else " + "
    magnitude = abs(coefficient)
    body = f"{'' if magnitude == 1 and power else magnitude}{power}"
    return sign + body


def _polynomial(*coefficients: int) -> str:
    """``a x^2 + b x + c`` written out, e.g. ``x^2 - 5x + 6``."""
    powers = ["x^2", "x", ""][-len(coefficients):]
    text = "".join(_term(c, p) for c, p in zip(coefficients, powers)).strip()
    if text.startswith("+ "):
        text = text[2:]
    elif text.startswith("- "):
        text = "-" + text[2:]
    return text or "0"


# ----------------------------------------------------------------------------- math
def _easy(rng: random.Random) -> tuple[str, str]:
    shape = rng.randrange(4)
    if shape == 0:
        a, b, c = rng.randint(2, 40), rng.randint(2, 12), rng.randint(2, 12)
        return f"Compute {a} + {b} \\times {c}.", str(a + b * c)
    if shape == 1:
        factor = rng.randint(2, 9)
        p, q = rng.randint(1, 11), rng.randint(2, 13)
        while math.gcd(p, q) != 1 or p == q:
            p, q = rng.randint(1, 11), rng.randint(2, 13)
        return f"Simplify the fraction \\frac{{{p * factor}}}{{{q * factor}}}.", latex(Fraction(p, q))
    if shape == 2:
        percent, whole = rng.choice((5, 12, 15, 25, 35, 45, 60, 75)), rng.randint(4, 60) * 10
        value = Fraction(percent * whole, 100)
        return f"What is {percent}% of {whole}?", latex(value) if value.denominator == 1 else str(float(value))
    b = rng.choice((4, 8, 16, 20, 25, 40))
    a = rng.randint(1, b - 1)
    while math.gcd(a, b) != 1:
        a = rng.randint(1, b - 1)
    return f"Write \\frac{{{a}}}{{{b}}} as a decimal.", str(a / b)


def _medium(rng: random.Random) -> tuple[str, str]:
    shape = rng.randrange(4)
    if shape == 0:
        a, b, c = rng.randint(2, 9), rng.randint(-20, 20), rng.randint(-30, 30)
        return f"Solve for $x$: {a}x {'+' if b >= 0 else '-'} {abs(b)} = {c}.", f"x = {latex(Fraction(c - b, a))}"
    if shape == 1:
        a, b, c, d = rng.randint(1, 9), rng.randint(2, 12), rng.randint(1, 9), rng.randint(2, 12)
        return (f"Compute \\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{d}}} and give the result as a fraction in lowest "
                "terms.",
                latex(Fraction(a, b) + Fraction(c, d)))
    if shape == 2:
        r1, r2 = sorted(rng.sample(range(-9, 10), 2))
        return (f"Find all real solutions of {_polynomial(1, -(r1 + r2), r1 * r2)} = 0.",
                f"{r1}, {r2}")
    values = [rng.randint(1, 30) for _ in range(rng.randint(4, 7))]
    mean = Fraction(sum(values), len(values))
    return f"What is the mean of the numbers {', '.join(map(str, values))}?", latex(mean)


def _hard(rng: random.Random) -> tuple[str, str]:
    shape = rng.randrange(5)
    if shape == 0:
        a, b = rng.sample([n for n in range(-9, 10) if n], 2)
        return f"Expand $(x {'+' if a > 0 else '-'} {abs(a)})(x {'+' if b > 0 else '-'} {abs(b)})$.", \
            _polynomial(1, a + b, a * b)
    if shape == 1:
        k, m = rng.randint(2, 9), rng.choice((2, 3, 5, 6, 7))
        return f"Simplify $\\sqrt{{{k * k * m}}}$.", f"{k}\\sqrt{{{m}}}"
    if shape == 2:
        r = rng.randint(2, 15)
        return f"A circle has radius {r}. What is its area? Give the exact value.", f"{r * r}\\pi"
    if shape == 3:
        a, c = rng.sample(range(-5, 6), 2)
        b, d = rng.randint(-10, 10), rng.randint(-10, 10)
        x = Fraction(d - b, a - c)
        y = a * x + b
        return (f"At which point $(x, y)$ do the lines $y = {a}x {'+' if b >= 0 else '-'} {abs(b)}$ and "
                f"$y = {c}x {'+' if d >= 0 else '-'} {abs(d)}$ intersect?", f"({latex(x)}, {latex(y)})")
    total = rng.randint(3, 11)
    ways = sum(1 for i in range(1, 7) for j in range(1, 7) if i + j == total)
    return (f"Two fair six-sided dice are rolled. What is the probability that the sum of the faces is {total}?",
            latex(Fraction(ways, 36)))


def _leaks(question: str, answer: str) -> bool:
    """The answer shows in its own question as a whole word (a test of the environment checks
    that no reference answer reaches the agent's prompt)."""
    return re.search(rf"(?<![\w.]){re.escape(answer)}(?![\w.])", question) is not None or any(
        re.search(rf"(?<![\w.\\]){re.escape(part.strip())}(?![\w.])", question)
        for part in re.split(r"[,()]|x = ", answer) if part.strip() and len(part.strip()) > 1 and part.strip() != "x")


def math_problems() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    records, seen = [], set()
    makers: dict[str, Callable[[random.Random], tuple[str, str]]] = {"easy": _easy, "medium": _medium, "hard": _hard}
    for level, make in makers.items():
        count = 0
        while count < PER_LEVEL:
            question, answer = make(rng)
            if question in seen or _leaks(question, answer):
                continue
            seen.add(question)
            count += 1
            records.append({"id": f"math-{len(records) + 1:03d}", "difficulty": level, "question": question,
                            "answer": answer})
    return records


# ----------------------------------------------------------------------------- code
def _code(pid: str, level: str, question: str, solution: str, tests: Any) -> dict[str, Any]:
    return {"id": pid, "difficulty": level, "question": question, "solution": solution, "tests": tests}


def code_problems() -> list[dict[str, Any]]:
    return [
        _code("code-001", "easy", "Write a function `add(a, b)` that returns the sum of two numbers.",
              "def add(a, b):\n    return a + b\n",
              ["assert add(1, 2) == 3", "assert add(-5, 5) == 0", "assert add(2.5, 0.5) == 3.0"]),
        _code("code-002", "easy", "Write a function `count_vowels(text)` that returns how many characters of `text` "
              "are vowels (a, e, i, o, u, in either case).",
              "def count_vowels(text):\n    return sum(c in 'aeiouAEIOU' for c in text)\n",
              ["assert count_vowels('hello') == 2", "assert count_vowels('') == 0",
               "assert count_vowels('AEIOU xyz') == 5", "assert count_vowels('rhythm') == 0"]),
        _code("code-003", "easy", "Write a function `reverse_words(sentence)` that returns the words of `sentence` "
              "(separated by single spaces) in reverse order, joined by single spaces.",
              "def reverse_words(sentence):\n    return ' '.join(reversed(sentence.split(' ')))\n",
              ["assert reverse_words('the quick brown fox') == 'fox brown quick the'",
               "assert reverse_words('one') == 'one'", "assert reverse_words('a b') == 'b a'"]),
        _code("code-004", "easy", "Write a function `is_even(n)` that returns True when the integer `n` is even and "
              "False otherwise.",
              "def is_even(n):\n    return n % 2 == 0\n",
              "def test_small():\n    assert is_even(0) and is_even(2) and not is_even(3)\n\n"
              "def test_negative():\n    assert is_even(-4) and not is_even(-7)\n\n"
              "def test_returns_bools():\n    assert is_even(10) is True and is_even(11) is False\n"),
        _code("code-005", "medium", "Write a function `fizzbuzz(n)` that returns a list of the strings for 1 to `n`: "
              "'Fizz' for multiples of 3, 'Buzz' for multiples of 5, 'FizzBuzz' for multiples of both, and the number "
              "itself (as a string) otherwise.",
              "def fizzbuzz(n):\n    out = []\n    for i in range(1, n + 1):\n"
              "        out.append('Fizz' * (i % 3 == 0) + 'Buzz' * (i % 5 == 0) or str(i))\n    return out\n",
              ["assert fizzbuzz(5) == ['1', '2', 'Fizz', '4', 'Buzz']", "assert fizzbuzz(15)[-1] == 'FizzBuzz'",
               "assert fizzbuzz(0) == []", "assert len(fizzbuzz(100)) == 100"]),
        _code("code-006", "medium", "Write a function `is_palindrome(text)` that returns True when `text` reads the "
              "same backwards as forwards, ignoring case and every character that is not a letter or a digit.",
              "def is_palindrome(text):\n    kept = [c.lower() for c in text if c.isalnum()]\n"
              "    return kept == kept[::-1]\n",
              ["assert is_palindrome('A man, a plan, a canal: Panama')", "assert not is_palindrome('hello')",
               "assert is_palindrome('')", "assert is_palindrome('No lemon, no melon')",
               "assert not is_palindrome('ab')"]),
        _code("code-007", "medium", "Write a function `run_length(text)` that encodes every maximal run of equal "
              "characters as the character followed by the run's length: 'aaab' becomes 'a3b1'.",
              "def run_length(text):\n    out, i = [], 0\n    while i < len(text):\n        j = i\n"
              "        while j < len(text) and text[j] == text[i]:\n            j += 1\n"
              "        out.append(f'{text[i]}{j - i}')\n        i = j\n    return ''.join(out)\n",
              "def test_examples():\n    assert run_length('aaab') == 'a3b1'\n"
              "    assert run_length('abc') == 'a1b1c1'\n\n"
              "def test_empty():\n    assert run_length('') == ''\n\n"
              "def test_long_runs():\n    assert run_length('z' * 12 + 'y') == 'z12y1'\n"),
        _code("code-008", "medium", "Write a function `second_largest(numbers)` that returns the second largest "
              "distinct value of a list of integers, or None when there is no such value.",
              "def second_largest(numbers):\n    distinct = sorted(set(numbers))\n"
              "    return distinct[-2] if len(distinct) >= 2 else None\n",
              ["assert second_largest([3, 1, 4, 1, 5]) == 4", "assert second_largest([7, 7, 7]) is None",
               "assert second_largest([]) is None", "assert second_largest([-2, -1]) == -2"]),
        _code("code-009", "hard", "Write a function `primes_up_to(n)` that returns the list of the prime numbers "
              "less than or equal to `n`, in increasing order, fast enough for n = 1,000,000.",
              "def primes_up_to(n):\n    if n < 2:\n        return []\n    sieve = bytearray([1]) * (n + 1)\n"
              "    sieve[0] = sieve[1] = 0\n    for p in range(2, int(n ** 0.5) + 1):\n        if sieve[p]:\n"
              "            sieve[p * p::p] = bytes(len(range(p * p, n + 1, p)))\n"
              "    return [i for i, flag in enumerate(sieve) if flag]\n",
              ["assert primes_up_to(10) == [2, 3, 5, 7]", "assert primes_up_to(1) == []",
               "assert primes_up_to(2) == [2]", "assert len(primes_up_to(1_000_000)) == 78498"]),
        _code("code-010", "hard", "Write a function `balanced(text)` that returns True when the brackets (), [] and "
              "{} in `text` are balanced and properly nested (other characters are ignored), else False.",
              "def balanced(text):\n    pairs, stack = {')': '(', ']': '[', '}': '{'}, []\n    for c in text:\n"
              "        if c in '([{':\n            stack.append(c)\n        elif c in pairs:\n"
              "            if not stack or stack.pop() != pairs[c]:\n                return False\n"
              "    return not stack\n",
              "def test_balanced():\n    assert balanced('([]{})') and balanced('') and balanced('a(b)c')\n\n"
              "def test_unbalanced():\n    assert not balanced('(]') and not balanced('((') and not balanced(')(')\n\n"
              "def test_nesting():\n    assert not balanced('([)]') and balanced('{[()()]}')\n"),
        _code("code-011", "hard", "Write a function `to_roman(n)` that returns the Roman numeral of an integer from 1 "
              "to 3999 (subtractive notation: 4 is IV, 9 is IX, 40 is XL, 90 is XC, 400 is CD, 900 is CM).",
              "def to_roman(n):\n"
              "    table = [(1000, 'M'), (900, 'CM'), (500, 'D'), (400, 'CD'), (100, 'C'), (90, 'XC'),\n"
              "             (50, 'L'), (40, 'XL'), (10, 'X'), (9, 'IX'), (5, 'V'), (4, 'IV'), (1, 'I')]\n"
              "    out = ''\n    for value, symbol in table:\n        while n >= value:\n"
              "            out += symbol\n            n -= value\n    return out\n",
              ["assert to_roman(1) == 'I'", "assert to_roman(4) == 'IV'", "assert to_roman(1994) == 'MCMXCIV'",
               "assert to_roman(3999) == 'MMMCMXCIX'", "assert to_roman(58) == 'LVIII'"]),
        _code("code-012", "hard", "Write a function `merge_intervals(intervals)` that takes a list of [start, end] "
              "pairs and returns the list of merged intervals (overlapping or touching ones combined), sorted by "
              "start.",
              "def merge_intervals(intervals):\n    merged = []\n    for start, end in sorted(intervals):\n"
              "        if merged and start <= merged[-1][1]:\n            merged[-1][1] = max(merged[-1][1], end)\n"
              "        else:\n            merged.append([start, end])\n    return merged\n",
              ["assert merge_intervals([[1, 3], [2, 6], [8, 10]]) == [[1, 6], [8, 10]]",
               "assert merge_intervals([[5, 6], [1, 5]]) == [[1, 6]]", "assert merge_intervals([]) == []",
               "assert merge_intervals([[1, 2], [3, 4]]) == [[1, 2], [3, 4]]"]),
    ]


def render_jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def write() -> None:
    """Write both files (what ``python -m agentgym.envs.tools.datasets.sample_data`` runs)."""
    DATA.mkdir(exist_ok=True)
    MATH_FILE.write_text(render_jsonl(math_problems()), encoding="utf-8")
    CODE_FILE.write_text(render_jsonl(code_problems()), encoding="utf-8")


if __name__ == "__main__":
    write()
    print(f"wrote {MATH_FILE} and {CODE_FILE}")
