"""The Python-task generators: the same seed gives the same task, seeds vary the tasks, every
shape of every family is reached, and every answer is right — checked by running each task's
own program in the sandbox (one shared interpreter) for many seeds."""

from __future__ import annotations

import datetime
import random

import pytest

from agentgym.envs.tools.python import tasks
from agentgym.envs.tools.python.tasks import FAMILIES, LEVELS, SHAPES, answers_match, generate_task, normalize_answer

SEEDS_CHECKED = 40  # per level and family: 480 programs


def test_the_same_seed_gives_the_same_task_and_seeds_vary():
    for level in LEVELS:
        for family in FAMILIES:
            first = [generate_task(random.Random(seed), level, family) for seed in range(12)]
            again = [generate_task(random.Random(seed), level, family) for seed in range(12)]
            assert first == again
            assert len({task.question for task in first}) >= 10, (level, family)


def test_every_shape_is_drawn():
    for level in LEVELS:
        for family in FAMILIES:
            drawn = {generate_task(random.Random(seed), level, family).shape for seed in range(60)}
            assert drawn == {make.__name__.lstrip("_") for make in SHAPES[family][level]}, (level, family)


def test_every_answer_is_what_its_program_prints_in_the_sandbox(sandbox):
    checked = 0
    with sandbox.session() as session:
        for level in LEVELS:
            for family in FAMILIES:
                for seed in range(SEEDS_CHECKED):
                    task = generate_task(random.Random(seed * 7919 + 13), level, family)
                    result = session.run(task.program)
                    assert result.ok, f"{level}/{family} seed {seed}: {result.for_agent()[:300]}"
                    printed = result.stdout.strip()
                    assert printed == task.answer, f"{level}/{family}/{task.shape} seed {seed}: {printed[:80]!r} != {task.answer[:80]!r}"
                    assert answers_match(task.kind, printed, task.answer)
                    checked += 1
    assert checked == len(LEVELS) * len(FAMILIES) * SEEDS_CHECKED


def test_answers_are_never_in_their_questions():
    for level in LEVELS:
        for family in FAMILIES:
            for seed in range(30):
                task = generate_task(random.Random(seed), level, family)
                if task.kind == "text":
                    assert task.answer.lower() not in task.question.lower(), (level, family, seed)


def test_our_calendar_agrees_with_datetime():
    rng = random.Random(5)
    for _ in range(2_000):
        day = rng.randint(-200_000, 200_000)
        year, month, date = tasks.civil_from_days(day)
        reference = datetime.date(1970, 1, 1) + datetime.timedelta(days=day)
        assert (year, month, date) == (reference.year, reference.month, reference.day)
        assert tasks.days_from_civil(year, month, date) == day
        assert tasks.weekday_index(year, month, date) == reference.weekday()


def test_digit_sum_counting_agrees_with_brute_force():
    for limit in (1, 9, 10, 99, 100, 1234, 20_000):
        for target in range(0, 40, 3):
            brute = sum(1 for n in range(1, limit + 1) if sum(map(int, str(n))) == target)
            assert tasks.count_digit_sums(limit, target) == brute, (limit, target)


@pytest.mark.parametrize("kind, given, expected", [
    ("integer", "1234567", "1234567"), ("integer", "1,234,567", "1234567"), ("integer", "1_234_567", "1234567"),
    ("integer", " -42 ", "-42"), ("integer", "+7", "7"), ("integer", "007", "7"), ("integer", "42.", "42"),
    ("integer", "9" * 5000, "9" * 5000),
    ("weekday", "monday", "Monday"), ("weekday", "Mon", "Monday"), ("weekday", "SUNDAY.", "Sunday"),
    ("date", "2024-02-29", "2024-02-29"), ("date", "2024-2-9", "2024-02-09"),
    ("text", " abc ", "abc"), ("text", '"abc"', "abc"), ("text", "`aBc`", "aBc"),
])
def test_answers_that_match(kind, given, expected):
    assert normalize_answer(kind, given) == expected and answers_match(kind, given, expected)


@pytest.mark.parametrize("kind, given, expected", [
    ("integer", "1234568", "1234567"), ("integer", "12.5", "12"), ("integer", "1,23,4", "1234"), ("integer", "", "0"),
    ("integer", "forty-two", "42"), ("integer", "1e3", "1000"), ("weekday", "Mond", "Monday"),
    ("weekday", "Tuesday", "Monday"), ("date", "2023-02-29", "2023-02-29"), ("date", "29/02/2024", "2024-02-29"),
    ("text", "ABC", "abc"), ("text", "a b c", "abc"),
])
def test_answers_that_do_not(kind, given, expected):
    assert not answers_match(kind, given, expected)


def test_bad_levels_and_families_are_refused():
    with pytest.raises(ValueError, match="unknown level"):
        generate_task(random.Random(0), "extreme", "dates")
    with pytest.raises(ValueError, match="unknown family"):
        generate_task(random.Random(0), "easy", "poetry")
    with pytest.raises(ValueError, match="unknown answer kind"):
        normalize_answer("colour", "red")
