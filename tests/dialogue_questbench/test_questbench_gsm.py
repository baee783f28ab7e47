"""GSM-Q: templates, the one-missing-quantity property checked with formulas written here
(independently of the templates'), the statement's numbers, the responder's understanding of
questions, and number answers."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from agentgym.core import InvalidAction
from agentgym.envs.dialogue.questbench.gsm import TEMPLATES, GsmQ, GsmQGenerator, template_named
from agentgym.responders import RuleResponder

# The answer of each template, and when its numbers make sense, as this test reads the stories.
FORMULAS = {
    "shopping": (lambda v: v["paid"] - v["notebooks"] * v["notebook_price"] - v["pens"] * v["pen_price"],
                 lambda v, a: a > 0),
    "travel": (lambda v: v["speed"] * v["hours"] + v["extra"], lambda v, a: True),
    "factory": (lambda v: v["days"] * v["hours_per_day"] * v["rate"], lambda v, a: True),
    "ages": (lambda v: v["times"] * (v["gap"] + v["age"]), lambda v, a: 20 <= a <= 60),
    "baking": (lambda v: v["batches"] * v["per_batch"] - v["have"], lambda v, a: a > 0),
    "savings": (lambda v: (v["price"] - v["start"]) / v["weekly"], lambda v, a: a > 0 and a == int(a)),
    "garden": (lambda v: (v["length"] * 2 + v["width"] * 2) * v["fence_price"], lambda v, a: True),
    "pencils": (lambda v: v["per_box"] * v["boxes"] / v["students"], lambda v, a: a >= 1 and a == int(a)),
    "bus": (lambda v: v["fuel_price"] * v["trips"] * v["per_trip"], lambda v, a: True),
    "bakery": (lambda v: v["muffins"] * v["muffin_price"] + v["cakes"] * v["cake_price"] - v["costs"],
               lambda v, a: a > 0),
    "reading": (lambda v: (v["pages"] - v["read"]) / v["per_day"], lambda v, a: a > 0 and a == int(a)),
}
LEVELS = ("easy", "medium", "hard")


def _answers(name, known):
    """Every answer the story allows given ``known``, the other quantities over all their values."""
    template = template_named(name)
    formula, sensible = FORMULAS[name]
    unknown = [q for q in template.quantities if q.key not in known]
    found = set()
    for combination in itertools.product(*(q.values for q in unknown)):
        values = {**known, **{q.key: x for q, x in zip(unknown, combination)}}
        answer = formula(values)
        if sensible(values, answer):
            found.add(round(answer, 6))
    return found


def test_at_least_eight_templates_of_several_steps_each_with_distractors():
    assert len(TEMPLATES) >= 8 and set(FORMULAS) == {t.name for t in TEMPLATES}
    for template in TEMPLATES:
        assert len(template.needed) >= 3, template.name
        assert len(template.quantities) - len(template.needed) >= 2, template.name


def test_every_template_and_missing_quantity_is_drawn():
    seen = set()
    generator = GsmQGenerator()
    for seed in range(150):
        problem = generator.generate(random.Random(seed), LEVELS[seed % 3])
        seen.add(problem.visible.template)
    assert seen == set(FORMULAS)


@pytest.mark.parametrize("level", LEVELS)
def test_exactly_one_quantity_is_missing(level):
    generator = GsmQGenerator()
    for seed in range(30):
        problem = generator.generate(random.Random(seed), level)
        name = problem.visible.template
        values = {v.key: v.value for v in problem.variables}
        formula, _ = FORMULAS[name]
        assert formula(values) == pytest.approx(problem.answer)
        stated = dict(problem.visible.stated)
        # what the statement says is what the story's numbers are
        for key, value in stated.items():
            assert problem.variable(key).statement in problem.statement
        assert problem.missing not in stated
        assert problem.variable(problem.missing).statement not in problem.statement
        assert len(_answers(name, stated)) > 1, "the answer is determined without asking"
        deciders = []
        for variable in problem.variables:
            if variable.key in stated:
                continue
            quantity = template_named(name).quantity(variable.key)
            outcomes = [_answers(name, {**stated, variable.key: x}) for x in quantity.values]
            if all(len(found) <= 1 for found in outcomes):
                deciders.append(variable.key)
        assert deciders == [problem.missing], (seed, name, deciders)
        assert _answers(name, {**stated, problem.missing: values[problem.missing]}) == {round(problem.answer, 6)}
        # the answer cannot be read off the story
        assert not re.search(rf"(?<![\w.]){re.escape(problem.answer_text)}(?!\w|\.\d)", problem.statement)


@pytest.mark.parametrize("level, listed", [("easy", 3), ("medium", 5)])
def test_the_choice_list_grows_with_the_level(level, listed):
    problem = GsmQGenerator().generate(random.Random(1), level)
    assert len(problem.choices) == listed and problem.missing in problem.choices
    hard = GsmQGenerator().generate(random.Random(1), "hard")
    assert set(hard.choices) == {v.key for v in hard.variables}


def test_each_canonical_question_asks_about_its_own_quantity():
    responder = RuleResponder()
    generator = GsmQGenerator()
    for seed in range(60):
        problem = generator.generate(random.Random(seed), "hard")
        knowledge = problem.knowledge()
        for variable in problem.variables:
            answer = responder.answer(variable.question, knowledge)
            assert answer.facts == (variable.key,), (variable.question, answer.text)
            assert answer.text == variable.statement


@pytest.mark.parametrize("template, question, key", [
    ("shopping", "How much is a notebook?", "notebook_price"),
    ("shopping", "what does each pen cost", "pen_price"),
    ("shopping", "How many pens did they buy?", "pens"),
    ("shopping", "Which bill does she pay with?", "paid"),
    ("travel", "How fast was the car going on the motorway?", "speed"),
    ("travel", "How long did the drive on the motorway take?", "hours"),
    ("factory", "How many hours per day does it run?", "hours_per_day"),
    ("baking", "How many eggs are in the fridge already?", "have"),
    ("savings", "What is the price of the bike?", "price"),
    ("garden", "What is the width of the garden?", "width"),
    ("pencils", "How many pupils are there?", "students"),
    ("bus", "What is the price of fuel?", "fuel_price"),
    ("bakery", "What did the ingredients cost?", "costs"),
    ("reading", "How many pages a day does she read?", "per_day"),
])
def test_questions_in_other_words_are_understood(template, question, key):
    generator = GsmQGenerator()
    problem = next(p for p in (generator.generate(random.Random(s), "hard") for s in range(200))
                   if p.visible.template == template)
    assert RuleResponder().answer(question, problem.knowledge()).facts == (key,)


@pytest.mark.parametrize("text, right", [
    ("{a}", True), ("${a}", True), ("{a} dollars", True), ("It is {a}.", True), ("{a}.0", True),
    ("{b}", False), ("-{a}", False),
])
def test_number_answers_are_read_with_a_tolerance(text, right):
    env = GsmQ("easy")
    env.reset(seed=2)
    answer = env.problem.answer
    assert env.generator.judge(env.problem, text.format(a=env.problem.answer_text, b=answer + 1)) is right


def test_thousands_separators_and_unreadable_numbers():
    env = GsmQ("easy")
    env.reset(seed=0)
    big = dict(env.problem.__dict__)
    big["answer"], big["answer_text"] = 1250.5, "1250.5"
    problem = type(env.problem)(**big)
    assert env.generator.judge(problem, "$1,250.50") and env.generator.judge(problem, "1250.5")
    for text in ("lots", "twelve", "", "\U0001f642", "$"):
        with pytest.raises(InvalidAction):
            env.generator.judge(env.problem, text)
    assert not env.generator.judge(env.problem, "9" * 400)  # too big to be a float: not right, no crash
