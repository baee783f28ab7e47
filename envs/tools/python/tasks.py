"""Seeded problems with exact answers that are far easier with code than by hand.

Four families, each with shapes per difficulty (:data:`SHAPES`):

* ``arithmetic`` — big-integer products and sums, powers, modular powers, digit sums of huge
  powers, digits of factorials, binomial coefficients modulo a prime;
* ``counting`` — a letter or the vowels in a long string, primes below a bound or in a
  range, multiples, overlapping occurrences of a pattern, integers with a given digit sum;
* ``dates`` — the weekday of a date, days between two dates, the date some days later,
  weekdays in a range, Friday-the-13ths in a span of years (proleptic Gregorian calendar);
* ``strings`` — reverse, remove digits, sort, Caesar shift, run-length encoding, and a pipeline of
  several transformations of a long string.

:func:`generate_task` draws one with a :class:`random.Random`. Every :class:`Task` carries its
answer (computed here) and ``program``, an independent Python program that prints the same
answer: the oracle runs it in the sandbox, and the tests run every program to check the
answers. Where it is natural the two use different algorithms (a sieve here, trial division
there; a weekday formula here, ``datetime`` there). :func:`answers_match` compares an agent's
answer with the expected one by the task's ``kind``.
"""

from __future__ import annotations

import math
import random
import re
import string
from dataclasses import dataclass
from typing import Callable

FAMILIES = ("arithmetic", "counting", "dates", "strings")
LEVELS = ("easy", "medium", "hard")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
KINDS = ("integer", "weekday", "date", "text")


@dataclass(frozen=True)
class Task:
    """One problem.

    Attributes:
        family: one of :data:`FAMILIES`.
        shape: the kind of problem within the family (``"power_mod"``, ``"weekday"``...).
        question: what the agent reads, including the form of the answer.
        answer: the exact answer, in its canonical form (an integer in decimal, a weekday's
            English name, a date as ``YYYY-MM-DD``, or a string).
        kind: how answers are compared (:data:`KINDS`, see :func:`answers_match`).
        program: a Python program that prints ``answer`` (the oracle's).
    """

    family: str
    shape: str
    question: str
    answer: str
    kind: str
    program: str


# ----------------------------------------------------------------------------- answers
_INTEGER = re.compile(r"[+-]?\d{1,3}(?:[,_ ]\d{3})+|[+-]?\d+")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_QUOTES = ('"', "'", "`")
_DIGIT = re.compile(r"\d")  # any script's decimal digit: full-width, Arabic-Indic...


def _ascii_number(text: str) -> str:
    """``text`` with every decimal digit written as its ASCII digit and the minus sign of
    typeset maths (U+2212) as ``-``, so that ``１２３`` and ``−5`` read as ``123`` and ``-5``."""
    return _DIGIT.sub(lambda m: str(int(m.group())), text).replace("\u2212", "-")


def normalize_answer(kind: str, text: str) -> str | None:
    """``text`` in the canonical form of ``kind``, or ``None`` when it is not an answer of that
    kind. Integers may have ``,``/``_``/space thousands separators and a sign; weekdays may be
    abbreviated to three letters, in any case; dates are ``YYYY-MM-DD`` (leading zeros
    optional); integers and dates may be written in any script's decimal digits (``１２３``) and
    with the minus sign U+2212 (``−5``), and these three may be dressed as math or markdown
    (``$42$``, ``**42**``);
    strings are taken as written, without surrounding whitespace or one pair of enclosing quotes
    or backticks (case and inner spaces count)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in _QUOTES:
        text = text[1:-1]
    if kind == "text":
        return text
    while True:  # "$42$", "**42**.", "*Monday*"
        plain = text.strip().rstrip(".").strip().strip("$*_`")
        if plain == text:
            break
        text = plain
    if kind in ("integer", "date"):
        text = _ascii_number(text)
    if kind == "integer":
        if not _INTEGER.fullmatch(text):
            return None
        digits = re.sub(r"[,_ +-]", "", text).lstrip("0") or "0"  # no int(): any length is fine
        return "-" + digits if text.startswith("-") and digits != "0" else digits
    if kind == "weekday":
        lowered = text.lower()
        return next((day for day in WEEKDAYS if lowered in (day.lower(), day[:3].lower())), None)
    if kind == "date":
        match = _DATE.fullmatch(text)
        if not match:
            return None
        year, month, day = map(int, match.groups())
        if not (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)):
            return None
        return f"{year:04d}-{month:02d}-{day:02d}"
    raise ValueError(f"unknown answer kind {kind!r}; kinds: {', '.join(KINDS)}")


def answers_match(kind: str, given: str, expected: str) -> bool:
    """Whether ``given`` (an agent's answer) is ``expected`` under ``kind``'s comparison."""
    normalized = normalize_answer(kind, given)
    return normalized is not None and normalized == expected


# ----------------------------------------------------------------------------- calendar
# Our own calendar arithmetic (the programs use ``datetime``): days since 1970-01-01 in the
# proleptic Gregorian calendar, and back.
def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def days_from_civil(year: int, month: int, day: int) -> int:
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


def weekday_index(year: int, month: int, day: int) -> int:
    """0 for Monday ... 6 for Sunday (1970-01-01 was a Thursday)."""
    return (days_from_civil(year, month, day) + 3) % 7


def _iso(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


def _random_date(rng: random.Random, first_year: int, last_year: int) -> tuple[int, int, int]:
    start, end = days_from_civil(first_year, 1, 1), days_from_civil(last_year, 12, 31)
    return civil_from_days(rng.randint(start, end))


def _spoken(date: tuple[int, int, int]) -> str:
    year, month, day = date
    return f"{MONTHS[month - 1]} {day}, {year}"


# ----------------------------------------------------------------------------- numbers
def _primes_flags(limit: int) -> bytearray:
    """``flags[n] == 1`` iff ``n`` is prime, for ``n < limit`` (sieve of Eratosthenes)."""
    flags = bytearray([1]) * max(limit, 2)
    flags[0] = flags[1] = 0
    for n in range(2, math.isqrt(limit - 1) + 1 if limit > 1 else 0):
        if flags[n]:
            flags[n * n::n] = bytes(len(range(n * n, limit, n)))
    return flags


def _digits(rng: random.Random, low: int, high: int) -> int:
    """A random integer with ``low``..``high`` decimal digits."""
    count = rng.randint(low, high)
    return rng.randint(10 ** (count - 1), 10 ** count - 1)


def count_digit_sums(limit: int, target: int) -> int:
    """How many of 1..limit have digit sum ``target`` (digit dynamic programming)."""
    digits = list(map(int, str(limit)))
    # ways[s]: numbers of the remaining length with digit sum s (free digits)
    count, prefix_sum = 0, 0
    for position, digit in enumerate(digits):
        free = len(digits) - position - 1
        for smaller in range(digit):
            need = target - prefix_sum - smaller
            count += _free_digit_ways(free, need)
        prefix_sum += digit
    if prefix_sum == target:
        count += 1
    return count - (target == 0)  # 0 itself is not in 1..limit


def _free_digit_ways(length: int, total: int) -> int:
    if total < 0:
        return 0
    ways = [1] + [0] * total
    for _ in range(length):
        ways = [sum(ways[max(0, s - 9):s + 1]) for s in range(total + 1)]
    return ways[total]


# ----------------------------------------------------------------------------- arithmetic
def _product(rng: random.Random, level: str) -> Task:
    a, b = _digits(rng, 7, 10), _digits(rng, 7, 10)
    return Task("arithmetic", "product", f"Compute {a} × {b}. Answer with the exact integer.",
                str(a * b), "integer", f"print({a} * {b})")


def _sum(rng: random.Random, level: str) -> Task:
    terms = [_digits(rng, 9, 12) * rng.choice((1, 1, -1)) for _ in range(rng.randint(6, 9))]
    terms[0] = abs(terms[0])
    shown = str(terms[0]) + "".join(f" {'-' if t < 0 else '+'} {abs(t)}" for t in terms[1:])
    total = 0
    for term in terms:
        total += term
    return Task("arithmetic", "sum", f"Compute {shown}. Answer with the exact integer.", str(total),
                "integer", f"print(sum({terms!r}))")


def _power(rng: random.Random, level: str) -> Task:
    base, exponent = rng.randint(12, 999), rng.randint(20, 45)
    return Task("arithmetic", "power", f"Compute {base}^{exponent} exactly. Answer with the exact integer.",
                str(pow(base, exponent)), "integer", f"print({base} ** {exponent})")


def _power_mod(rng: random.Random, level: str) -> Task:
    base, exponent, modulus = rng.randint(2, 10**6), rng.randint(10**11, 10**13), rng.randint(10**8, 10**9)
    program = (f"result, base, exponent = 1, {base} % {modulus}, {exponent}\n"
               "while exponent:\n"
               "    if exponent & 1:\n"
               f"        result = result * base % {modulus}\n"
               f"    base = base * base % {modulus}\n"
               "    exponent >>= 1\n"
               "print(result)")
    return Task("arithmetic", "power_mod",
                f"What is the remainder when {base}^{exponent} is divided by {modulus}? Answer with the integer.",
                str(pow(base, exponent, modulus)), "integer", program)


def _digit_sum_of_power(rng: random.Random, level: str) -> Task:
    base, exponent = rng.randint(2, 99), rng.randint(300, 1500)
    answer = sum(map(int, str(base ** exponent)))
    program = (f"n, total = {base} ** {exponent}, 0\n"
               "while n:\n"
               "    n, digit = divmod(n, 10)\n"
               "    total += digit\n"
               "print(total)")
    return Task("arithmetic", "digit_sum_of_power",
                f"What is the sum of the decimal digits of {base}^{exponent}? Answer with the integer.",
                str(answer), "integer", program)


def _factorial_digits(rng: random.Random, level: str) -> Task:
    n = rng.randint(200, 1400)  # n! stays under Python's 4300-digit limit of int-to-str conversion
    answer = len(str(math.factorial(n)))
    program = f"import math\nprint(len(str(math.prod(range(1, {n} + 1)))))"
    return Task("arithmetic", "factorial_digits",
                f"How many decimal digits does {n}! ({n} factorial) have? Answer with the integer.",
                str(answer), "integer", program)


def _binomial_mod(rng: random.Random, level: str) -> Task:
    n = rng.randint(10_000, 60_000)
    k = rng.randint(n // 5, n // 2)
    prime = 1_000_000_007
    program = (f"p, n, k = {prime}, {n}, {k}\n"
               "numerator = denominator = 1\n"
               "for i in range(k):\n"
               "    numerator = numerator * (n - i) % p\n"
               "    denominator = denominator * (i + 1) % p\n"
               "print(numerator * pow(denominator, p - 2, p) % p)")
    return Task("arithmetic", "binomial_mod",
                f"What is the binomial coefficient C({n}, {k}) modulo {prime}? Answer with the integer.",
                str(math.comb(n, k) % prime), "integer", program)


# ----------------------------------------------------------------------------- counting
def _letter_count(rng: random.Random, level: str) -> Task:
    length = rng.randint(120, 200) if level == "easy" else rng.randint(1500, 2500)
    text = "".join(rng.choice(string.ascii_lowercase) for _ in range(length))
    letter = rng.choice(text)
    answer = sum(1 for c in text if c == letter)
    return Task("counting", "letter_count",
                f"How many times does the letter '{letter}' occur in the following string of {length} "
                f"lowercase letters? Answer with the integer.\n\n{text}",
                str(answer), "integer", f"print({text!r}.count({letter!r}))")


def _vowel_count(rng: random.Random, level: str) -> Task:
    length = rng.randint(1500, 2500)
    text = "".join(rng.choice(string.ascii_letters + "     ") for _ in range(length))
    answer = len(re.findall("[aeiouAEIOU]", text))
    return Task("counting", "vowel_count",
                "How many characters of the following text are vowels (a, e, i, o or u, in either case)? "
                f"Answer with the integer.\n\n{text}",
                str(answer), "integer", f"print(sum(c in 'aeiouAEIOU' for c in {text!r}))")


def _primes_below(rng: random.Random, level: str) -> Task:
    limit = rng.randint(200, 3000)
    answer = sum(_primes_flags(limit))
    program = (f"def is_prime(n):\n"
               "    if n < 2:\n"
               "        return False\n"
               "    d = 2\n"
               "    while d * d <= n:\n"
               "        if n % d == 0:\n"
               "            return False\n"
               "        d += 1\n"
               "    return True\n"
               f"print(sum(is_prime(n) for n in range({limit})))")
    return Task("counting", "primes_below", f"How many prime numbers are less than {limit}? Answer with the integer.",
                str(answer), "integer", program)


def _primes_between(rng: random.Random, level: str) -> Task:
    if level == "medium":
        low = rng.randint(10_000, 100_000)
        high = low + rng.randint(5_000, 50_000)
    else:
        high = rng.randint(1_000_000, 2_000_000)
        low = high - rng.randint(200_000, 600_000)
    answer = sum(_primes_flags(high + 1)[low:])
    program = ("import math\n"
               f"low, high = {low}, {high}\n"
               "small = [p for p in range(2, math.isqrt(high) + 1)\n"
               "         if all(p % q for q in range(2, math.isqrt(p) + 1))]\n"
               "segment = bytearray([1]) * (high - low + 1)\n"
               "for p in small:\n"
               "    start = max(p * p, (low + p - 1) // p * p)\n"
               "    segment[start - low::p] = bytes(len(range(start, high + 1, p)))\n"
               "for n in range(low, min(2, high + 1)):\n"
               "    segment[n - low] = 0\n"
               "print(sum(segment))")
    return Task("counting", "primes_between",
                f"How many prime numbers are there between {low} and {high}, both included? Answer with the integer.",
                str(answer), "integer", program)


def _multiples(rng: random.Random, level: str) -> Task:
    limit = rng.randint(100_000, 1_000_000)
    a, b = rng.sample(range(3, 41), 2)
    answer = limit // a + limit // b - limit // math.lcm(a, b)
    program = f"print(len(set(range({a}, {limit} + 1, {a})) | set(range({b}, {limit} + 1, {b}))))"
    return Task("counting", "multiples",
                f"How many integers from 1 to {limit} (inclusive) are divisible by {a} or by {b}? "
                "Answer with the integer.", str(answer), "integer", program)


def _pattern_count(rng: random.Random, level: str) -> Task:
    length = rng.randint(3000, 5000)
    alphabet = rng.choice(("ab", "abc"))
    text = "".join(rng.choice(alphabet) for _ in range(length))
    pattern = "".join(rng.choice(alphabet) for _ in range(3))
    answer = sum(1 for i in range(len(text) - 2) if text[i:i + 3] == pattern)
    program = f"import re\nprint(len(re.findall('(?={pattern})', {text!r})))"
    return Task("counting", "pattern_count",
                f"How many times does '{pattern}' occur in the following string, counting overlapping "
                f"occurrences (in 'aaaa', 'aa' occurs 3 times)? Answer with the integer.\n\n{text}",
                str(answer), "integer", program)


def _digit_sum_count(rng: random.Random, level: str) -> Task:
    limit = rng.randint(100_000, 300_000)
    target = rng.randint(8, 30)
    program = f"print(sum(1 for n in range(1, {limit} + 1) if sum(map(int, str(n))) == {target}))"
    return Task("counting", "digit_sum_count",
                f"How many integers from 1 to {limit} (inclusive) have a sum of decimal digits equal to "
                f"{target}? Answer with the integer.", str(count_digit_sums(limit, target)), "integer", program)


# ----------------------------------------------------------------------------- dates
_DATE_NOTE = "Use the Gregorian calendar."


def _weekday(rng: random.Random, level: str) -> Task:
    date = _random_date(rng, 1800, 2200)
    program = f"import datetime\nprint(datetime.date{date!r}.strftime('%A'))"
    return Task("dates", "weekday",
                f"On which day of the week is {_spoken(date)}? {_DATE_NOTE} Answer with the English name of the day.",
                WEEKDAYS[weekday_index(*date)], "weekday", program)


def _days_between(rng: random.Random, level: str) -> Task:
    if level == "easy":
        year = rng.randint(1950, 2050)
        first, second = sorted(rng.sample(range(days_from_civil(year, 1, 1), days_from_civil(year, 12, 31) + 1), 2))
        first, second = civil_from_days(first), civil_from_days(second)
    else:
        first, second = sorted((_random_date(rng, 1600, 2400), _random_date(rng, 1600, 2400)))
    answer = days_from_civil(*second) - days_from_civil(*first)
    program = f"import datetime\nprint((datetime.date{second!r} - datetime.date{first!r}).days)"
    return Task("dates", "days_between",
                f"How many days are there from {_iso(*first)} to {_iso(*second)} (the number of days to add to the "
                f"first date to reach the second)? {_DATE_NOTE} Answer with the integer.",
                str(answer), "integer", program)


def _add_days(rng: random.Random, level: str) -> Task:
    start = _random_date(rng, 1700, 2300)
    offset = rng.randint(1_000, 60_000) * rng.choice((1, 1, -1))
    answer = civil_from_days(days_from_civil(*start) + offset)
    direction = "after" if offset > 0 else "before"
    program = (f"import datetime\nprint((datetime.date{start!r} + datetime.timedelta(days={offset})).isoformat())")
    return Task("dates", "add_days",
                f"What is the date {abs(offset)} days {direction} {_iso(*start)}? {_DATE_NOTE} Answer as YYYY-MM-DD.",
                _iso(*answer), "date", program)


def _weekdays_between(rng: random.Random, level: str) -> Task:
    first, second = sorted((_random_date(rng, 1900, 2100), _random_date(rng, 1900, 2100)))
    start, end = days_from_civil(*first), days_from_civil(*second)
    total = end - start + 1
    full_weeks, rest = divmod(total, 7)
    first_weekday = (start + 3) % 7
    answer = full_weeks * 5 + sum(1 for i in range(rest) if (first_weekday + i) % 7 < 5)
    program = ("import datetime\n"
               f"day, last = datetime.date{first!r}, datetime.date{second!r}\n"
               "count = 0\n"
               "while day <= last:\n"
               "    count += day.weekday() < 5\n"
               "    day += datetime.timedelta(days=1)\n"
               "print(count)")
    return Task("dates", "weekdays_between",
                f"How many days from {_iso(*first)} to {_iso(*second)}, both included, are weekdays (Monday to "
                f"Friday)? {_DATE_NOTE} Answer with the integer.", str(answer), "integer", program)


def _friday_13ths(rng: random.Random, level: str) -> Task:
    first = rng.randint(1600, 2300)
    last = first + rng.randint(50, 300)
    answer = sum(1 for year in range(first, last + 1) for month in range(1, 13) if weekday_index(year, month, 13) == 4)
    program = ("import datetime\n"
               f"print(sum(datetime.date(y, m, 13).weekday() == 4 for y in range({first}, {last} + 1) "
               "for m in range(1, 13)))")
    return Task("dates", "friday_13ths",
                f"How many months from January {first} to December {last} have a Friday the 13th? {_DATE_NOTE} "
                "Answer with the integer.", str(answer), "integer", program)


# ----------------------------------------------------------------------------- strings
def _word(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _reverse(rng: random.Random, level: str) -> Task:
    text = _word(rng, rng.randint(30, 60))
    reversed_text = "".join(text[i] for i in range(len(text) - 1, -1, -1))
    return Task("strings", "reverse",
                f'Reverse the string "{text}". Answer with the reversed string alone, without quotes.',
                reversed_text, "text", f"print({text!r}[::-1])")


def _remove_digits(rng: random.Random, level: str) -> Task:
    text = list(_word(rng, rng.randint(40, 70)))
    text[rng.randrange(len(text))] = rng.choice(string.digits)  # at least one digit to remove
    text = "".join(text)
    return Task("strings", "remove_digits",
                f'Remove every digit from "{text}" and keep the other characters in order. Answer with the '
                "resulting string alone, without quotes.",
                "".join(c for c in text if c not in string.digits), "text",
                f"print(''.join(c for c in {text!r} if not c.isdigit()))")


def _sort_characters(rng: random.Random, level: str) -> Task:
    text = _word(rng, rng.randint(60, 120))
    counts = {c: text.count(c) for c in set(text)}
    answer = "".join(c * counts[c] for c in sorted(counts))
    return Task("strings", "sort_characters",
                f'Sort the characters of "{text}" by their Unicode code point (digits, then upper-case letters, '
                "then lower-case letters, like Python's sorted) and join them. Answer with the resulting string "
                "alone, without quotes.", answer, "text", f"print(''.join(sorted({text!r})))")


def _caesar(rng: random.Random, level: str) -> Task:
    text = _word(rng, rng.randint(50, 100))
    shift = rng.randint(1, 25)

    def shifted(c: str) -> str:
        for alphabet in (string.ascii_lowercase, string.ascii_uppercase):
            if c in alphabet:
                return alphabet[(alphabet.index(c) + shift) % 26]
        return c

    program = ("import string\n"
               f"table = str.maketrans(string.ascii_lowercase + string.ascii_uppercase, "
               f"string.ascii_lowercase[{shift}:] + string.ascii_lowercase[:{shift}] + "
               f"string.ascii_uppercase[{shift}:] + string.ascii_uppercase[:{shift}])\n"
               f"print({text!r}.translate(table))")
    return Task("strings", "caesar",
                f'Shift every letter of "{text}" {shift} places forward in the alphabet, wrapping around from z to '
                "a and keeping its case (with a shift of 2, 'y' becomes 'a' and 'B' becomes 'D'); digits stay. "
                "Answer with the resulting string alone, without quotes.",
                "".join(shifted(c) for c in text), "text", program)


def _run_length(rng: random.Random, level: str) -> Task:
    runs = [(rng.choice("abc"), rng.randint(1, 12)) for _ in range(rng.randint(15, 30))]
    text = "".join(c * n for c, n in runs)
    merged: list[list] = []
    for c in text:
        if merged and merged[-1][0] == c:
            merged[-1][1] += 1
        else:
            merged.append([c, 1])
    answer = "".join(f"{c}{n}" for c, n in merged)
    program = f"import itertools\nprint(''.join(f'{{c}}{{len(list(g))}}' for c, g in itertools.groupby({text!r})))"
    return Task("strings", "run_length",
                f'Run-length encode "{text}": write each maximal run of equal characters as the character followed '
                "by the length of the run (\"aaab\" becomes \"a3b1\"). Answer with the encoding alone, without quotes.",
                answer, "text", program)


# A pipeline's steps: (description, our implementation, the program's line).
_Step = tuple[str, Callable[[str], str], str]


def _pipeline_steps(rng: random.Random) -> list[_Step]:
    k = rng.randint(2, 30)
    old, new = rng.choice(string.ascii_lowercase), _word(rng, 2, string.ascii_lowercase)
    options: list[_Step] = [
        ("reverse it", lambda s: "".join(reversed(s)), "s = s[::-1]"),
        (f"rotate it left by {k} characters (move its first {k} characters to the end)",
         lambda s: (s[k % len(s):] + s[:k % len(s)]) if s else s,
         f"s = s[{k} % len(s):] + s[:{k} % len(s)] if s else s"),
        ("swap the case of every letter", lambda s: "".join(c.lower() if c.isupper() else c.upper() for c in s),
         "s = s.swapcase()"),
        ("remove the characters at odd positions (keep the 1st, 3rd, 5th... character)",
         lambda s: "".join(c for i, c in enumerate(s) if i % 2 == 0), "s = s[::2]"),
        (f"replace every '{old}' with '{new}'", lambda s: "".join(new if c == old else c for c in s),
         f"s = s.replace({old!r}, {new!r})"),
        ("remove every digit", lambda s: "".join(c for c in s if not c.isdigit()),
         "s = ''.join(c for c in s if not c.isdigit())"),
        ("remove every vowel (a, e, i, o, u in either case)", lambda s: "".join(c for c in s if c not in "aeiouAEIOU"),
         "s = ''.join(c for c in s if c.lower() not in 'aeiou')"),
    ]
    return rng.sample(options, rng.randint(3, 5))


def _pipeline(rng: random.Random, level: str) -> Task:
    text = _word(rng, rng.randint(150, 300))
    steps = _pipeline_steps(rng)
    result = text
    for _, apply, _line in steps:
        result = apply(result)
    if not result:  # every character removed: a poor puzzle, draw the string again
        return _pipeline(rng, level)
    listed = "\n".join(f"{i}. {description}" for i, (description, _, _) in enumerate(steps, start=1))
    program = f"s = {text!r}\n" + "\n".join(line for _, _, line in steps) + "\nprint(s)"
    return Task("strings", "pipeline",
                f'Start from the string "{text}" and apply these steps in order:\n{listed}\n'
                "Answer with the final string alone, without quotes.", result, "text", program)


# ----------------------------------------------------------------------------- the table
_Generator = Callable[[random.Random, str], Task]

#: The shapes each family draws from at each level.
SHAPES: dict[str, dict[str, tuple[_Generator, ...]]] = {
    "arithmetic": {"easy": (_product, _sum), "medium": (_power, _power_mod),
                   "hard": (_digit_sum_of_power, _factorial_digits, _binomial_mod)},
    "counting": {"easy": (_letter_count, _primes_below), "medium": (_letter_count, _vowel_count, _primes_between,
                                                                    _multiples),
                 "hard": (_pattern_count, _primes_between, _digit_sum_count)},
    "dates": {"easy": (_weekday, _days_between), "medium": (_days_between, _add_days),
              "hard": (_weekdays_between, _friday_13ths)},
    "strings": {"easy": (_reverse, _remove_digits), "medium": (_sort_characters, _caesar, _run_length),
                "hard": (_pipeline,)},
}


def generate_task(rng: random.Random, level: str, family: str) -> Task:
    """A task of ``family`` at ``level``, drawn with ``rng`` alone (same state, same task)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    if family not in SHAPES:
        raise ValueError(f"unknown family {family!r}; families: {', '.join(FAMILIES)}")
    return rng.choice(SHAPES[family][level])(rng, level)
