"""GSM-Q: grade-school word problems with one needed quantity left out.

Eleven templates (shopping, travel, a factory's rate, ages, baking, savings, a garden fence,
sharing pencils, a bus's fuel, a bakery's profit, reading a book) each tell a short story, one
sentence per quantity, and ask for a number that takes two to four steps to compute. Numbers
are drawn from the seed (kept only when the story makes sense: change is positive, shares come
out whole...). One quantity the answer needs is removed from the story; the others are
stated, and each template also has quantities the answer does not depend on (a notebook's
pages, the oven's temperature), stated as noise at medium and hard or left unstated.

Every quantity of the template can be asked about (free format: the responder knows their
names and synonyms; choice format: a list of questions -- the missing quantity and two
distractors at easy, four at medium, all at hard). The generator checks by brute force over
each quantity's range that without the missing quantity the answer is not determined, that
with it (whatever its value) it is, and that no other quantity determines it. The answer is a
number, compared with a small tolerance (``1,250``, ``$12.50`` and ``12.5 dollars`` read as
numbers); the answer never appears in the statement.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from agentgym.core import InvalidAction
from agentgym.envs.dialogue.questbench.base import (
    GenerationFailed,
    Problem,
    QuestEnv,
    QuestGenerator,
    Variable,
)

NAMES = ("Maria", "Omar", "Lena", "Ravi", "Sofia", "Kenji", "Amara", "Lucas", "Priya", "Tomas", "Nadia", "Felix")
# level -> (distractors in the choice list (None: all), irrelevant quantities stated as noise)
_LEVELS: dict[str, tuple[int | None, int]] = {"easy": (2, 0), "medium": (4, 1), "hard": (None, 2)}
_ATTEMPTS = 2_000
_SAMPLES = 12  # at most this many values per quantity in the brute-force check (evenly spread)
_NUMBER = re.compile(r"-?\$?\s*\d[\d,]*(?:\.\d+)?|-?\$?\s*\.\d+")


@dataclass(frozen=True)
class Quantity:
    """One number of a story: its sentence (``{v}`` is the value, ``{name}`` the person), the
    question asking for it, the phrases a question about it contains, its possible values
    (``singular``: the sentence for a value of 1, when it differs)."""

    key: str
    sentence: str
    question: str
    phrases: tuple[str, ...]
    values: tuple[float, ...]
    money: bool = False
    singular: str = ""


@dataclass(frozen=True)
class Template:
    """A story: its opening, quantities in story order, the question, and the answer as a
    function of the quantities (``needed`` are the ones it reads); ``valid`` says which
    combinations make sense."""

    name: str
    intro: str
    quantities: tuple[Quantity, ...]
    question: str
    needed: tuple[str, ...]
    answer: Callable[[Mapping[str, float]], float]
    valid: Callable[[Mapping[str, float]], bool] = lambda v: True

    def quantity(self, key: str) -> Quantity:
        return next(q for q in self.quantities if q.key == key)


def _span(low: float, high: float, step: float = 1) -> tuple[float, ...]:
    count = int(round((high - low) / step)) + 1
    return tuple(round(low + i * step, 2) for i in range(count))


def _q(key: str, sentence: str, question: str, phrases: str, values: tuple[float, ...],
       money: bool = False, singular: str = "") -> Quantity:
    return Quantity(key, sentence, question, tuple(p.strip() for p in phrases.split("|")), values, money, singular)


TEMPLATES: tuple[Template, ...] = (
    Template(
        "shopping", "{name} goes to the stationery shop.",
        (_q("notebooks", "{name} buys {v} notebooks.", "How many notebooks does {name} buy?",
            "how many notebook|number of notebook|notebooks bought|notebooks did|notebooks does", _span(2, 8)),
         _q("notebook_price", "Each notebook costs {v}.", "How much does one notebook cost?",
            "notebook cost|price of a notebook|price of one notebook|price of each notebook|notebook price|"
            "price per notebook|cost of a notebook|cost of one notebook|much is a notebook|much is one notebook|"
            "much is each notebook|one notebook cost|each notebook cost|per notebook", _span(1.5, 5, 0.5), True),
         _q("pens", "{name} also buys {v} pens.", "How many pens does {name} buy?",
            "how many pen|number of pen|pens bought|pens did|pens does", _span(2, 6)),
         _q("pen_price", "Each pen costs {v}.", "How much does one pen cost?",
            "pen cost|price of a pen|price of one pen|price of each pen|pen price|price per pen|cost of a pen|"
            "cost of one pen|much is a pen|much is one pen|much is each pen|one pen cost|each pen cost|per pen",
            _span(0.5, 2.5, 0.5), True),
         _q("paid", "{name} pays with a {v} bill.", "How much money does {name} pay with?",
            "pay with|pays with|paid with|bill|banknote|note|how much money|hand over|hands over|paying with",
            (20, 50, 100), True),
         _q("pages", "Each notebook has {v} pages.", "How many pages does each notebook have?",
            "pages|page count|how thick", _span(60, 200, 20)),
         _q("walk", "The shop is a {v}-minute walk from home.", "How far is the shop from home, in minutes?",
            "walk|how far|distance|far from home|shop from home|minutes from home", _span(5, 20))),
        "How much change, in dollars, does {name} get?",
        ("notebooks", "notebook_price", "pens", "pen_price", "paid"),
        lambda v: v["paid"] - (v["notebooks"] * v["notebook_price"] + v["pens"] * v["pen_price"]),
        lambda v: v["paid"] - (v["notebooks"] * v["notebook_price"] + v["pens"] * v["pen_price"]) > 0,
    ),
    Template(
        "travel", "{name} drives to the coast.",
        (_q("hours", "{name} drives for {v} hours on the motorway.",
            "How many hours does {name} drive on the motorway?",
            "how many hours|number of hours|hours driving|driving time|hours on the motorway|how long|for how long|"
            "hours did|hours does|duration", _span(2, 6)),
         _q("speed", "The average speed on the motorway is {v} km per hour.",
            "What is the average speed on the motorway?",
            "speed|how fast|km per hour|kilometres per hour|kilometers per hour|kmh|km h", _span(50, 90, 5)),
         _q("extra", "After the motorway, {name} drives another {v} km to the village.",
            "How far is it from the motorway to the village?",
            "another|to the village|village|extra distance|after the motorway|last part|rest of the way|further",
            _span(5, 60, 5)),
         _q("friends", "{v} friends ride along.", "How many friends ride along?",
            "friends|passengers|how many people|ride along", _span(2, 4)),
         _q("fuel_price", "Fuel costs {v} per litre.", "How much does fuel cost?",
            "fuel|petrol|gas price|litre|liter", _span(1, 2.5, 0.5), True)),
        "How many kilometres does {name} drive in total?",
        ("hours", "speed", "extra"),
        lambda v: v["hours"] * v["speed"] + v["extra"],
    ),
    Template(
        "factory", "{name} runs a small toy factory.",
        (_q("rate", "A machine makes {v} toys per hour.", "How many toys does the machine make per hour?",
            "toys per hour|toys an hour|toys each hour|per hour|an hour|each hour|hourly|rate|how fast|speed",
            _span(12, 40, 2)),
         _q("hours_per_day", "It runs {v} hours a day.", "How many hours a day does the machine run?",
            "hours a day|hours per day|hours each day|how many hours|how long each day|daily hours|per day|a day|"
            "each day", _span(4, 10)),
         _q("days", "It runs for {v} days.", "For how many days does the machine run?",
            "how many days|number of days|for how many days|days", _span(3, 7)),
         _q("weight", "Each toy weighs {v} grams.", "How much does each toy weigh?",
            "weigh|weight|grams|how heavy", _span(100, 500, 50)),
         _q("floors", "The factory has {v} floors.", "How many floors does the factory have?",
            "floors|storeys|stories|how big is the factory|building", _span(2, 5))),
        "How many toys does the machine make in all?",
        ("rate", "hours_per_day", "days"),
        lambda v: v["rate"] * v["hours_per_day"] * v["days"],
    ),
    Template(
        "ages", "{name} has an older brother.",
        (_q("age", "{name} is {v} years old.", "How old is {name}?",
            "how old is {name}|{name}s age|age of {name}|{name} old|{name} age", _span(5, 14)),
         _q("gap", "The brother is {v} years older than {name}.", "How much older than {name} is the brother?",
            "how much older|age difference|age gap|years older|older than {name}|how old is the brother|"
            "brothers age|brother older|age of the brother", _span(2, 8)),
         _q("times", "Their mother is {v} times as old as the brother.",
            "How many times as old as the brother is their mother?",
            "times|mother|mothers age|how many times", (2, 3)),
         _q("height", "{name} is {v} cm tall.", "How tall is {name}?", "tall|height|cm", _span(110, 160, 5)),
         _q("cats", "The family has {v} cats.", "How many cats does the family have?", "cats|pets|cat", _span(1, 4),
            singular="The family has {v} cat.")),
        "How old is their mother?",
        ("age", "gap", "times"),
        lambda v: (v["age"] + v["gap"]) * v["times"],
        lambda v: 20 <= (v["age"] + v["gap"]) * v["times"] <= 60,
    ),
    Template(
        "baking", "{name} is baking cakes for a party.",
        (_q("per_batch", "Each batch of cake needs {v} eggs.", "How many eggs does each batch need?",
            "eggs per batch|eggs each batch|eggs for each batch|eggs for a batch|eggs in a batch|eggs in each batch|"
            "per batch|batch need|each batch needs|eggs does each batch|eggs does a batch|batch use", _span(2, 6)),
         _q("batches", "{name} bakes {v} batches.", "How many batches does {name} bake?",
            "how many batches|number of batches|batches does|batches will|batches", _span(3, 8)),
         _q("have", "{name} already has {v} eggs.", "How many eggs does {name} already have?",
            "already|eggs at home|eggs in the fridge|eggs does {name} have|eggs {name} has|{name} have|{name} has",
            _span(2, 12)),
         _q("oven", "The oven is set to {v} degrees.", "How hot is the oven?",
            "oven|temperature|degrees|how hot", _span(160, 220, 10)),
         _q("minutes", "Each batch bakes for {v} minutes.", "How long does each batch bake?",
            "minutes|how long|baking time|bake for|bakes for", _span(20, 45, 5))),
        "How many more eggs does {name} need to buy?",
        ("per_batch", "batches", "have"),
        lambda v: v["per_batch"] * v["batches"] - v["have"],
        lambda v: v["per_batch"] * v["batches"] - v["have"] > 0,
    ),
    Template(
        "savings", "{name} is saving up for a bike.",
        (_q("weekly", "{name} saves {v} every week.", "How much does {name} save every week?",
            "every week|per week|each week|a week|save|saving|weekly", _span(5, 25, 5), True),
         _q("start", "{name} has already saved {v}.", "How much has {name} already saved?",
            "already|saved|so far|savings|start|starting|to begin with", _span(10, 60, 10), True),
         _q("price", "The bike costs {v}.", "How much does the bike cost?",
            "bike cost|cost of the bike|price|how much is the bike|bike price|costs|cost", _span(80, 200, 10), True),
         _q("gears", "The bike has {v} gears.", "How many gears does the bike have?", "gears|gear", (3, 7, 18, 21)),
         _q("open_days", "The bike shop is open {v} days a week.", "How many days a week is the bike shop open?",
            "days a week|open|opening|shop open", (5, 6, 7))),
        "How many weeks will it take {name} to have enough for the bike?",
        ("weekly", "start", "price"),
        lambda v: (v["price"] - v["start"]) / v["weekly"],
        lambda v: v["price"] > v["start"] and (v["price"] - v["start"]) % v["weekly"] == 0,
    ),
    Template(
        "garden", "{name} wants to put a fence all around a rectangular garden.",
        (_q("length", "The garden is {v} metres long.", "How long is the garden?",
            "long|length|how long", _span(5, 20)),
         _q("width", "The garden is {v} metres wide.", "How wide is the garden?", "wide|width|how wide|breadth",
            _span(3, 12)),
         _q("fence_price", "Fencing costs {v} per metre.", "How much does fencing cost per metre?",
            "fencing cost|fence cost|price of fencing|price of the fence|cost per metre|per metre|per meter|fencing|"
            "fence price|fencing price|fence", _span(2, 9), True),
         _q("plants", "{name} grows {v} tomato plants in it.", "How many tomato plants does {name} grow?",
            "tomato|plants|plant|grow", _span(4, 15)),
         _q("sun", "The garden gets {v} hours of sun a day.", "How many hours of sun does the garden get?",
            "sun|sunlight|sunshine|hours of sun", _span(3, 9))),
        "How much, in dollars, does the fence around the whole garden cost?",
        ("length", "width", "fence_price"),
        lambda v: 2 * (v["length"] + v["width"]) * v["fence_price"],
    ),
    Template(
        "pencils", "{name} is a teacher.",
        (_q("boxes", "{name} has {v} boxes of pencils.", "How many boxes of pencils does {name} have?",
            "how many boxes|number of boxes|boxes of pencils|boxes", _span(3, 12)),
         _q("per_box", "Each box holds {v} pencils.", "How many pencils does each box hold?",
            "per box|each box|in a box|box hold|box holds|box contain|pencils in each box|in one box|a box hold",
            (6, 8, 10, 12, 24)),
         _q("students", "The pencils are shared equally among {v} students.", "How many students share the pencils?",
            "students|how many students|pupils|children|class size|kids", _span(8, 30)),
         _q("windows", "The classroom has {v} windows.", "How many windows does the classroom have?",
            "windows|window", _span(2, 8)),
         _q("lesson", "A lesson lasts {v} minutes.", "How long does a lesson last?",
            "lesson|minutes|how long", (40, 45, 50, 60))),
        "How many pencils does each student get?",
        ("boxes", "per_box", "students"),
        lambda v: v["boxes"] * v["per_box"] / v["students"],
        lambda v: (v["boxes"] * v["per_box"]) % v["students"] == 0 and v["boxes"] * v["per_box"] > v["students"],
    ),
    Template(
        "bus", "A city bus runs the same route all day.",
        (_q("per_trip", "The bus uses {v} litres of fuel per trip.",
            "How many litres of fuel does the bus use per trip?",
            "fuel per trip|litres per trip|liters per trip|fuel each trip|fuel does the bus use|how much fuel|"
            "consumption|uses|use per trip|litres of fuel", _span(8, 20)),
         _q("trips", "It makes {v} trips a day.", "How many trips does the bus make a day?",
            "how many trips|trips a day|trips per day|trips each day|number of trips|trips does", _span(4, 10)),
         _q("fuel_price", "Fuel costs {v} per litre.", "How much does fuel cost per litre?",
            "fuel cost|price of fuel|fuel price|per litre|per liter|litre cost|cost of fuel|costs per litre",
            _span(1, 2, 0.5), True),
         _q("seats", "The bus has {v} seats.", "How many seats does the bus have?", "seats|seat|passengers",
            _span(30, 60, 5)),
         _q("trip_km", "Each trip is {v} km long.", "How long is each trip?",
            "km|kilometres|kilometers|how long|trip length|distance|long is each trip", _span(10, 30))),
        "How much, in dollars, does the bus's fuel cost per day?",
        ("per_trip", "trips", "fuel_price"),
        lambda v: v["per_trip"] * v["trips"] * v["fuel_price"],
    ),
    Template(
        "bakery", "{name} runs a bakery stall at the market.",
        (_q("muffins", "{name} sells {v} muffins.", "How many muffins does {name} sell?",
            "how many muffin|number of muffin|muffins sold|muffins did|muffins does", _span(10, 40, 2)),
         _q("muffin_price", "Each muffin sells for {v}.", "How much does one muffin sell for?",
            "muffin price|price of a muffin|price of one muffin|price of each muffin|price per muffin|muffin cost|"
            "each muffin|per muffin|one muffin|a muffin", _span(1.5, 3, 0.5), True),
         _q("cakes", "{name} also sells {v} cakes.", "How many cakes does {name} sell?",
            "how many cake|number of cake|cakes sold|cakes did|cakes does", _span(2, 8)),
         _q("cake_price", "Each cake sells for {v}.", "How much does one cake sell for?",
            "cake price|price of a cake|price of one cake|price of each cake|price per cake|cake cost|each cake|"
            "per cake|one cake|a cake", _span(12, 25), True),
         _q("costs", "The ingredients cost {v} in all.", "How much do the ingredients cost?",
            "ingredients|ingredient|expenses|costs in all|cost in all|supplies", _span(20, 80, 5), True),
         _q("opens", "The market opens at {v} o'clock.", "When does the market open?",
            "open|opens|opening|oclock|what time", (6, 7, 8, 9)),
         _q("helpers", "{v} friends help at the stall.", "How many friends help at the stall?",
            "friends|help|helpers|staff|workers", _span(1, 4), singular="{v} friend helps at the stall.")),
        "What is {name}'s profit, in dollars?",
        ("muffins", "muffin_price", "cakes", "cake_price", "costs"),
        lambda v: v["muffins"] * v["muffin_price"] + v["cakes"] * v["cake_price"] - v["costs"],
        lambda v: v["muffins"] * v["muffin_price"] + v["cakes"] * v["cake_price"] - v["costs"] > 0,
    ),
    Template(
        "reading", "{name} is reading a novel.",
        (_q("pages", "The book has {v} pages.", "How many pages does the book have?",
            "pages does the book have|pages in the book|pages in total|total pages|book length|length of the book|"
            "long is the book|pages does the book|pages long", _span(120, 400, 20)),
         _q("per_day", "{name} reads {v} pages a day.", "How many pages does {name} read a day?",
            "pages a day|pages per day|pages each day|pages every day|{name} read a day|{name} read per day|"
            "{name} read each day|{name} read every day|read a day|reads a day|read per day|reading speed|a day|"
            "per day|each day|every day", _span(10, 40, 5)),
         _q("read", "{name} has already read {v} pages.", "How many pages has {name} already read?",
            "already|so far|pages read|has read|have read|read so far|{name} read|been read", _span(20, 100, 10)),
         _q("book_price", "The book cost {v}.", "How much did the book cost?",
            "cost|price|how much did the book", _span(8, 20), True),
         _q("chapters", "The book has {v} chapters.", "How many chapters does the book have?",
            "chapters|chapter", _span(10, 30))),
        "How many more days does {name} need to finish the book?",
        ("pages", "per_day", "read"),
        lambda v: (v["pages"] - v["read"]) / v["per_day"],
        lambda v: v["pages"] > v["read"] and (v["pages"] - v["read"]) % v["per_day"] == 0,
    ),
)


def _money(value: float) -> str:
    return f"${value:.0f}" if value == int(value) else f"${value:.2f}"


def number_text(value: float) -> str:
    """A number as a right answer is written: ``12``, ``12.5``."""
    value = round(value, 2)
    return str(int(value)) if value == int(value) else f"{value:g}"


def _render(quantity: Quantity, value: float, name: str) -> str:
    shown = _money(value) if quantity.money else number_text(value)
    sentence = quantity.singular if quantity.singular and value == 1 else quantity.sentence
    text = sentence.replace("{name}", name).replace("{v}", shown)
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class GsmVisible:
    """What the statement says: the template, the person, the stated values."""

    template: str
    name: str
    stated: tuple[tuple[str, float], ...]


def template_named(name: str) -> Template:
    return next(t for t in TEMPLATES if t.name == name)


def _spread(values: tuple[float, ...]) -> tuple[float, ...]:
    """At most ``_SAMPLES`` of ``values``, evenly spread, both ends included."""
    if len(values) <= _SAMPLES:
        return values
    return tuple(values[round(i * (len(values) - 1) / (_SAMPLES - 1))] for i in range(_SAMPLES))


def _answers(template: Template, known: Mapping[str, float]) -> set[float]:
    """Every answer the story allows when ``known`` holds: the unknown quantities run over their
    values (:func:`_spread`), combinations that make no sense left out."""
    unknown = [q for q in template.quantities if q.key not in known]
    ranges = [_spread(quantity.values) for quantity in unknown]
    found = set()
    for combination in itertools.product(*ranges):
        values = {**known, **{q.key: v for q, v in zip(unknown, combination)}}
        if template.valid(values):
            found.add(round(template.answer(values), 6))
    return found


def _determined_by(template: Template, stated: Mapping[str, float], key: str, value: float) -> bool:
    """The answer is one number once ``key`` is known to be ``value`` (beside what is stated)."""
    return len(_answers(template, {**stated, key: value})) == 1


class GsmQGenerator(QuestGenerator):
    """Draws a template, its numbers and the quantity to remove; keeps the problem when the
    brute-force check over the quantities' values holds."""

    answer_format = "'answer: <number>'"
    task = "Solve a short word problem; the answer is a number."

    def generate(self, rng: random.Random, difficulty: str) -> Problem:
        listed, noise = _LEVELS[difficulty]
        template = rng.choice(TEMPLATES)  # first, so that every template is as likely
        for _ in range(_ATTEMPTS):
            problem = self._attempt(rng, template, listed, noise)
            if problem is not None:
                return problem
        raise GenerationFailed(f"no GSM-Q problem from {template.name!r} at {difficulty} in {_ATTEMPTS} attempts")

    def _attempt(self, rng: random.Random, template: Template, listed: int | None, noise: int) -> Problem | None:
        name = rng.choice(NAMES)
        values = {q.key: rng.choice(q.values) for q in template.quantities}
        if not template.valid(values):
            return None
        answer = round(template.answer(values), 2)
        missing = rng.choice(template.needed)
        irrelevant = [q.key for q in template.quantities if q.key not in template.needed]
        noisy = set(rng.sample(irrelevant, min(noise, len(irrelevant))))
        stated = {key: values[key] for key in template.needed if key != missing}
        stated.update({key: values[key] for key in noisy})
        # the property, by brute force over the unknown quantities' values
        if len(_answers(template, stated)) < 2:
            return None
        for quantity in template.quantities:
            key = quantity.key
            if key == missing:
                if not all(_determined_by(template, stated, key, v) for v in quantity.values
                           if _answers(template, {**stated, key: v})):
                    return None
            elif key not in stated and _determined_by(template, stated, key, values[key]):
                return None
        sentences = [template.intro.replace("{name}", name)]
        sentences += [_render(q, values[q.key], name) for q in template.quantities if q.key in stated]
        statement = " ".join(sentences) + " " + template.question.replace("{name}", name)
        if re.search(rf"(?<![\w.]){re.escape(number_text(answer))}(?![\w]|\.\d)", statement):
            return None  # the answer would be readable in the story
        variables = tuple(
            Variable(q.key, q.question.replace("{name}", name),
                     tuple(p.replace("{name}", name) for p in q.phrases), values[q.key],
                     _render(q, values[q.key], name))
            for q in template.quantities)
        others = [q.key for q in template.quantities if q.key != missing]
        shown = others if listed is None else rng.sample(others, min(listed, len(others)))
        choices = [missing, *shown]
        rng.shuffle(choices)
        return Problem(
            statement=statement, variables=variables, missing=missing, answer=answer,
            answer_text=number_text(answer),
            visible=GsmVisible(template.name, name, tuple(sorted(stated.items()))),
            choices=tuple(choices),
            persona=f"You know everything about the story of {name}.",
            unknown_reply="I don't know that; ask about one number of the story.",
        )

    def necessary(self, problem: Problem) -> str:
        visible: GsmVisible = problem.visible
        template, stated = template_named(visible.template), dict(visible.stated)
        found = []
        for variable in problem.variables:
            quantity = template.quantity(variable.key)
            if variable.key in stated:
                continue
            possible = [v for v in quantity.values if _answers(template, {**stated, variable.key: v})]
            if possible and all(_determined_by(template, stated, variable.key, v) for v in possible):
                found.append(variable.key)
        [key] = found
        return key

    def solve(self, problem: Problem, revealed: Mapping[str, Any]) -> str:
        visible: GsmVisible = problem.visible
        answers = _answers(template_named(visible.template), {**dict(visible.stated), **revealed})
        if len(answers) != 1:
            raise ValueError("the revealed quantities do not determine the answer")
        return number_text(answers.pop())

    def judge(self, problem: Problem, answer: str) -> bool:
        found = _NUMBER.search(answer)
        if not found:
            raise InvalidAction("write the answer as a number, e.g. 'answer: 42'.")
        text = found.group(0).replace("$", "").replace(",", "").replace(" ", "")
        try:
            value = float(text)
        except ValueError:
            raise InvalidAction("write the answer as a number, e.g. 'answer: 42'.") from None
        return math.isfinite(value) and math.isclose(value, problem.answer, rel_tol=1e-6, abs_tol=1e-6)

    def random_answer(self, problem: Problem, rng: random.Random) -> str:
        return str(rng.randint(0, 200))


class GsmQ(QuestEnv):
    """GSM-Q (see the module docstring): ask for the one quantity the story leaves out, then
    give the number asked for."""

    generator = GsmQGenerator()
