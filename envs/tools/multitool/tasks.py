"""Multi-tool tasks: a question (and sometimes a request) whose answer needs a chain of calls
across the store's tools and the exchange desk, each call's arguments taken from earlier
results — the shape ToolRL trains on.

A task is drawn like the store's (:mod:`~agentgym.envs.tools.service.tasks`): its template
plays the gold calls on a copy of the world and the episode's rates (:class:`Planner`), so
the gold calls are valid, the answer is the last conversion's result, and the goal state is
the world they leave. Success needs both: the reply's last number equals the answer (to the
cent) and the store is in the goal state (unchanged, for a pure question).

* ``easy`` — two calls: a lookup by id or product name, then a conversion;
* ``medium`` — three or four: a customer found by name, maybe a product, one computed amount
  converted; one kind places an order first;
* ``hard`` — five or more: two customers' credit pooled, or an order of the cheapest product of
  a category scheduled on the earliest free day and its total converted.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any, Callable

from agentgym.envs.tools.multitool.exchange import CURRENCIES, convert
from agentgym.envs.tools.service.api import SPECS
from agentgym.envs.tools.service.store import Refused, Store, World, fingerprint

LEVELS = ("easy", "medium", "hard")
_FOREIGN = tuple(code for code in CURRENCIES if code != "USD")


@dataclass(frozen=True)
class Task:
    """One task: ``instruction``, ``gold_calls`` (``{"name", "arguments"}`` each), the
    ``answer`` (a number, rounded to cents) and the ``goal`` fingerprint of the store."""

    level: str
    kind: str
    instruction: str
    gold_calls: tuple[dict[str, Any], ...]
    answer: float
    goal: dict[str, Any]


class Planner:
    """Plays store and exchange calls on private copies and records them as gold calls."""

    def __init__(self, world: World, rates: dict[str, float]) -> None:
        self.store = Store(copy.deepcopy(world))
        self.rates = rates
        self.calls: list[dict[str, Any]] = []

    def call(self, tool: str, /, **arguments: Any) -> Any:
        if tool == "convert_currency":
            result: Any = convert(self.rates, arguments["amount"], arguments["from_currency"], arguments["to_currency"])
        else:
            result = SPECS[tool].run(self.store, arguments)
        self.calls.append({"name": tool, "arguments": copy.deepcopy(arguments)})
        return result

    @property
    def world(self) -> World:
        return self.store.world


Template = Callable[[Planner, random.Random], tuple[str, float]]


class _NotApplicable(Exception):
    pass


def draw_task(world: World, rates: dict[str, float], level: str, rng: random.Random, *, attempts: int = 40) -> Task:
    """A task of ``level`` on ``world`` and ``rates``, drawn with ``rng``."""
    if level not in TEMPLATES:
        raise ValueError(f"unknown level {level!r}; the levels are {', '.join(LEVELS)}")
    for _ in range(attempts):
        kind, template = rng.choice(TEMPLATES[level])
        planner = Planner(world, rates)
        try:
            instruction, answer = template(planner, rng)
        except (Refused, _NotApplicable):
            continue
        return Task(level, kind, instruction, tuple(planner.calls), answer,
                    fingerprint(planner.world, set(world["orders"])))
    raise RuntimeError(f"no {level} task applies to this world after {attempts} tries")


def _pick(rng: random.Random, options: list[Any]) -> Any:
    if not options:
        raise _NotApplicable
    return rng.choice(options)


def _units(quantity: int, name: str) -> str:
    return f"{quantity} {name}" if quantity == 1 else f"{quantity} × {name}"


def _affordable(world: World, rng: random.Random, customer_id: str) -> tuple[str, int]:
    balance = world["customers"][customer_id]["balance"]
    return _pick(rng, [(sku, q) for sku, p in world["products"].items() for q in (1, 2, 3)
                       if q <= p["stock"] and q * p["price"] <= balance])


# ---------------------------------------------------------------------- easy
def easy_price_in(plan: Planner, rng: random.Random) -> tuple[str, float]:
    sku = _pick(rng, list(plan.world["products"]))
    product, price = plan.world["products"][sku]["name"], plan.world["products"][sku]["price"]
    quantity, currency = rng.randint(1, 4), rng.choice(_FOREIGN)
    plan.call("search_products", query=product)
    answer = plan.call("convert_currency", amount=quantity * price, from_currency="USD", to_currency=currency)
    return f"How much do {_units(quantity, product)} cost in {currency}?", answer


def easy_credit_in(plan: Planner, rng: random.Random) -> tuple[str, float]:
    customer_id = _pick(rng, list(plan.world["customers"]))
    currency = rng.choice(_FOREIGN)
    balance = plan.call("get_customer", customer_id=customer_id)["balance"]
    answer = plan.call("convert_currency", amount=balance, from_currency="USD", to_currency=currency)
    return f"How much store credit does customer {customer_id} have, in {currency}?", answer


# ---------------------------------------------------------------------- medium
def medium_credit_by_name_in(plan: Planner, rng: random.Random) -> tuple[str, float]:
    customer_id = _pick(rng, list(plan.world["customers"]))
    name, currency = plan.world["customers"][customer_id]["name"], rng.choice(_FOREIGN)
    plan.call("find_customers", name=name)
    balance = plan.call("get_customer", customer_id=customer_id)["balance"]
    answer = plan.call("convert_currency", amount=balance, from_currency="USD", to_currency=currency)
    return f"How much store credit does {name} have, in {currency}?", answer


def medium_left_after(plan: Planner, rng: random.Random) -> tuple[str, float]:
    customer_id = _pick(rng, list(plan.world["customers"]))
    sku, quantity = _affordable(plan.world, rng, customer_id)
    name, product = plan.world["customers"][customer_id]["name"], plan.world["products"][sku]["name"]
    currency = rng.choice(_FOREIGN)
    plan.call("find_customers", name=name)
    balance = plan.call("get_customer", customer_id=customer_id)["balance"]
    price = plan.call("search_products", query=product)[0]["price"]
    answer = plan.call("convert_currency", amount=balance - quantity * price, from_currency="USD", to_currency=currency)
    return (f"If {name} bought {_units(quantity, product)}, how much store credit would they have left, in "
            f"{currency}? Only answer; do not place the order."), answer


def medium_order_then_credit(plan: Planner, rng: random.Random) -> tuple[str, float]:
    customer_id = _pick(rng, list(plan.world["customers"]))
    sku, quantity = _affordable(plan.world, rng, customer_id)
    name, product = plan.world["customers"][customer_id]["name"], plan.world["products"][sku]["name"]
    currency = rng.choice(_FOREIGN)
    plan.call("find_customers", name=name)
    plan.call("search_products", query=product)
    placed = plan.call("place_order", customer_id=customer_id, items={sku: quantity})
    answer = plan.call("convert_currency", amount=placed["balance"], from_currency="USD", to_currency=currency)
    return (f"Place an order for {name}: {_units(quantity, product)}, paid from their store credit. Then tell me "
            f"how much credit they have left, in {currency}."), answer


# ---------------------------------------------------------------------- hard
def hard_pooled_credit(plan: Planner, rng: random.Random) -> tuple[str, float]:
    first, second = rng.sample(list(plan.world["customers"]), 2)
    names = [plan.world["customers"][cid]["name"] for cid in (first, second)]
    currency = rng.choice(_FOREIGN)
    total = 0
    for customer_id, name in zip((first, second), names):
        plan.call("find_customers", name=name)
        total += plan.call("get_customer", customer_id=customer_id)["balance"]
    answer = plan.call("convert_currency", amount=total, from_currency="USD", to_currency=currency)
    return (f"{names[0]} and {names[1]} want to pool their store credit: how much do they have together, in "
            f"{currency}?"), answer


def hard_cheapest_order_total(plan: Planner, rng: random.Random) -> tuple[str, float]:
    world = plan.world
    customer_id = _pick(rng, list(world["customers"]))
    quantity = rng.randint(1, 3)
    category = _pick(rng, sorted({p["category"] for p in world["products"].values()}))
    candidates = sorted((p["price"], sku) for sku, p in world["products"].items()
                        if p["category"] == category and p["stock"] >= quantity)
    if not candidates or (len(candidates) > 1 and candidates[0][0] == candidates[1][0]):
        raise _NotApplicable
    price, sku = candidates[0]
    if quantity * price > world["customers"][customer_id]["balance"]:
        raise _NotApplicable
    name, currency = world["customers"][customer_id]["name"], rng.choice(_FOREIGN)
    plan.call("find_customers", name=name)
    plan.call("search_products", category=category)
    placed = plan.call("place_order", customer_id=customer_id, items={sku: quantity})
    days = plan.call("list_delivery_days")
    day = _pick(rng, [d["day"] for d in days if d["free_slots"] > 0][:1])
    plan.call("schedule_delivery", order_id=placed["order_id"], day=day)
    answer = plan.call("convert_currency", amount=placed["total"], from_currency="USD", to_currency=currency)
    return (f"Order {quantity} of the cheapest product in the {category} category that has at least {quantity} in "
            f"stock for {name}, paid from their store credit, and schedule its delivery on the earliest day with a "
            f"free slot. Then tell me the order's total in {currency}."), answer


def hard_transfer_and_compare(plan: Planner, rng: random.Random) -> tuple[str, float]:
    giver, taker = rng.sample(list(plan.world["customers"]), 2)
    giver_name, taker_name = (plan.world["customers"][cid]["name"] for cid in (giver, taker))
    currency = rng.choice(_FOREIGN)
    plan.call("find_customers", name=giver_name)
    balance = plan.call("get_customer", customer_id=giver)["balance"]
    plan.call("find_customers", name=taker_name)
    moved = plan.call("transfer_credit", from_customer_id=giver, to_customer_id=taker, amount=balance // 4)
    difference = moved["to_balance"] - moved["from_balance"]
    answer = plan.call("convert_currency", amount=difference, from_currency="USD", to_currency=currency)
    return (f"Move a quarter of {giver_name}'s store credit (rounded down to whole dollars) to {taker_name}. Then "
            f"tell me, in {currency}, how much more credit {taker_name} has than {giver_name} (negative if "
            f"less)."), answer


TEMPLATES: dict[str, list[tuple[str, Template]]] = {
    "easy": [("price_in", easy_price_in), ("credit_in", easy_credit_in)],
    "medium": [("credit_by_name_in", medium_credit_by_name_in), ("left_after", medium_left_after),
               ("order_then_credit", medium_order_then_credit)],
    "hard": [("pooled_credit", hard_pooled_credit), ("cheapest_order_total", hard_cheapest_order_total),
             ("transfer_and_compare", hard_transfer_and_compare)],
}
