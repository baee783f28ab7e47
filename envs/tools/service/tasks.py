"""Tasks on the store: an instruction, the gold call sequence that carries it out, and the goal
state it leads to.

A task is drawn from a world (:func:`~agentgym.envs.tools.service.store.generate_world`) by a
template of its level. The template *plays* its gold calls on a copy of the world through the
same tool specs the server runs (:class:`Planner`), so every gold call is valid by
construction and the goal is the world they leave (its
:func:`~agentgym.envs.tools.service.store.fingerprint`) — success is judged on that state, as
tau-bench judges its database, never on the calls themselves. A template whose calls would be
refused in this world (no placed order to cancel, nothing affordable) is not applicable and
another is drawn.

Levels:

* ``easy`` — one or two calls; the instruction gives the ids (``Cancel order O-5003.``);
* ``medium`` — three to five calls, names instead of ids, so a lookup comes first
  (``find_customers``, ``search_products``, ``get_customer``, ``list_delivery_days``);
* ``hard`` — six calls or more, with a condition the agent can only settle by looking
  (top up the credit when it falls short, pick the cheapest product in stock, fall back to the
  earliest free delivery day).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any, Callable

from agentgym.envs.tools.service.api import SPECS
from agentgym.envs.tools.service.store import Refused, Store, World, fingerprint

LEVELS = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Task:
    """One task.

    Attributes:
        level: its difficulty.
        kind: the template it came from.
        instruction: what the agent is asked (names, ids and amounts of this world).
        gold_calls: the calls that carry it out, ``{"name", "arguments"}`` each, in order.
        goal: the fingerprint of the world after the gold calls.
    """

    level: str
    kind: str
    instruction: str
    gold_calls: tuple[dict[str, Any], ...]
    goal: dict[str, Any]


class Planner:
    """Plays calls on a private copy of a world and records them as gold calls."""

    def __init__(self, world: World) -> None:
        self.store = Store(copy.deepcopy(world))
        self.calls: list[dict[str, Any]] = []

    def call(self, tool: str, /, **arguments: Any) -> Any:
        """Run ``tool`` (:class:`Refused` propagates: the template does not apply)."""
        result = SPECS[tool].run(self.store, arguments)
        self.calls.append({"name": tool, "arguments": copy.deepcopy(arguments)})
        return result

    @property
    def world(self) -> World:
        return self.store.world


Template = Callable[[Planner, random.Random], str]


def draw_task(world: World, level: str, rng: random.Random, *, attempts: int = 40) -> Task:
    """A task of ``level`` on ``world``, drawn with ``rng`` (same world and generator state:
    same task). Raises :class:`ValueError` for an unknown level, :class:`RuntimeError` when no
    template applies in ``attempts`` tries (never seen with generated worlds)."""
    if level not in TEMPLATES:
        raise ValueError(f"unknown level {level!r}; the levels are {', '.join(LEVELS)}")
    initial = fingerprint(world, set(world["orders"]))
    for _ in range(attempts):
        kind, template = rng.choice(TEMPLATES[level])
        planner = Planner(world)
        try:
            instruction = template(planner, rng)
        except (Refused, _NotApplicable):
            continue
        goal = fingerprint(planner.world, set(world["orders"]))
        if goal != initial:
            return Task(level, kind, instruction, tuple(planner.calls), goal)
    raise RuntimeError(f"no {level} task applies to this world after {attempts} tries")


class _NotApplicable(Exception):
    """The template needs something this world lacks."""


# ---------------------------------------------------------------------- picking things
def _pick(rng: random.Random, options: list[Any]) -> Any:
    if not options:
        raise _NotApplicable
    return rng.choice(options)


def _placed(world: World, *, unscheduled: bool = False) -> list[str]:
    return [oid for oid, o in world["orders"].items()
            if o["status"] == "placed" and not (unscheduled and o["delivery_day"])]


def _free_days(store: Store) -> list[str]:
    return [day for day in store.world["delivery_days"] if store.free_slots(day) > 0]


def _purchase(world: World, rng: random.Random, customer_id: str, *, most: int = 3) -> tuple[str, int]:
    """A product in stock and a quantity the customer can afford."""
    balance = world["customers"][customer_id]["balance"]
    options = [(sku, q) for sku, p in world["products"].items() for q in range(1, most + 1)
               if q <= p["stock"] and q * p["price"] <= balance]
    return _pick(rng, options)


def _customer(world: World, rng: random.Random, *, other_than: str | None = None) -> str:
    return _pick(rng, [cid for cid in world["customers"] if cid != other_than])


def _name(world: World, customer_id: str) -> str:
    return world["customers"][customer_id]["name"]


def _product(world: World, sku: str) -> str:
    return world["products"][sku]["name"]


def _units(quantity: int, name: str) -> str:
    return f"{quantity} {name}" if quantity == 1 else f"{quantity} × {name}"


# ---------------------------------------------------------------------- easy: ids given
def easy_cancel(plan: Planner, rng: random.Random) -> str:
    order_id = _pick(rng, _placed(plan.world))
    plan.call("cancel_order", order_id=order_id)
    return f"Cancel order {order_id}."


def easy_transfer(plan: Planner, rng: random.Random) -> str:
    giver = _pick(rng, [cid for cid, c in plan.world["customers"].items() if c["balance"] >= 10])
    taker = _customer(plan.world, rng, other_than=giver)
    amount = rng.randrange(5, min(plan.world["customers"][giver]["balance"], 120) + 1, 5)
    plan.call("transfer_credit", from_customer_id=giver, to_customer_id=taker, amount=amount)
    return f"Move {amount} dollars of store credit from customer {giver} to customer {taker}."


def easy_order(plan: Planner, rng: random.Random) -> str:
    customer_id = _customer(plan.world, rng)
    sku, quantity = _purchase(plan.world, rng, customer_id)
    plan.call("place_order", customer_id=customer_id, items={sku: quantity})
    return (f"Customer {customer_id} wants {_units(quantity, sku)}. Place the order (it is paid from their "
            f"store credit).")


def easy_schedule(plan: Planner, rng: random.Random) -> str:
    order_id = _pick(rng, _placed(plan.world, unscheduled=True))
    day = _pick(rng, _free_days(plan.store))
    plan.call("schedule_delivery", order_id=order_id, day=day)
    return f"Schedule the delivery of order {order_id} on {day}."


def easy_order_and_schedule(plan: Planner, rng: random.Random) -> str:
    customer_id = _customer(plan.world, rng)
    sku, quantity = _purchase(plan.world, rng, customer_id)
    day = _pick(rng, _free_days(plan.store))
    placed = plan.call("place_order", customer_id=customer_id, items={sku: quantity})
    plan.call("schedule_delivery", order_id=placed["order_id"], day=day)
    return (f"Place an order for customer {customer_id}: {_units(quantity, sku)}, paid from their store credit. "
            f"Then schedule its delivery on {day}.")


# ---------------------------------------------------------------------- medium: a lookup first
def medium_order_by_name(plan: Planner, rng: random.Random) -> str:
    customer_id = _customer(plan.world, rng)
    sku, quantity = _purchase(plan.world, rng, customer_id)
    name, product = _name(plan.world, customer_id), _product(plan.world, sku)
    plan.call("find_customers", name=name)
    plan.call("search_products", query=product)
    plan.call("place_order", customer_id=customer_id, items={sku: quantity})
    return f"{name} wants to buy {_units(quantity, product)}. Place the order, paid from their store credit."


def medium_cancel_by_name(plan: Planner, rng: random.Random) -> str:
    owners = [plan.world["orders"][oid]["customer_id"] for oid in _placed(plan.world)]
    customer_id = _pick(rng, sorted({cid for cid in owners if owners.count(cid) == 1}))
    order_id = next(oid for oid in _placed(plan.world) if plan.world["orders"][oid]["customer_id"] == customer_id)
    name = _name(plan.world, customer_id)
    plan.call("find_customers", name=name)
    plan.call("get_customer", customer_id=customer_id)
    plan.call("cancel_order", order_id=order_id)
    return f"{name} asks us to cancel their order that has not shipped yet."


def medium_transfer_by_name(plan: Planner, rng: random.Random) -> str:
    giver = _pick(rng, [cid for cid, c in plan.world["customers"].items() if c["balance"] >= 10])
    taker = _customer(plan.world, rng, other_than=giver)
    amount = rng.randrange(5, min(plan.world["customers"][giver]["balance"], 120) + 1, 5)
    giver_name, taker_name = _name(plan.world, giver), _name(plan.world, taker)
    plan.call("find_customers", name=giver_name)
    plan.call("find_customers", name=taker_name)
    plan.call("transfer_credit", from_customer_id=giver, to_customer_id=taker, amount=amount)
    return f"Transfer {amount} dollars of store credit from {giver_name} to {taker_name}."


def medium_half_credit(plan: Planner, rng: random.Random) -> str:
    giver = _pick(rng, [cid for cid, c in plan.world["customers"].items() if c["balance"] >= 2])
    taker = _customer(plan.world, rng, other_than=giver)
    giver_name, taker_name = _name(plan.world, giver), _name(plan.world, taker)
    plan.call("find_customers", name=giver_name)
    balance = plan.call("get_customer", customer_id=giver)["balance"]
    plan.call("find_customers", name=taker_name)
    plan.call("transfer_credit", from_customer_id=giver, to_customer_id=taker, amount=balance // 2)
    return (f"{giver_name} wants to give {taker_name} half of their store credit (rounded down to whole "
            f"dollars). Make the transfer.")


def medium_order_earliest_day(plan: Planner, rng: random.Random) -> str:
    customer_id = _customer(plan.world, rng)
    sku, quantity = _purchase(plan.world, rng, customer_id)
    name, product = _name(plan.world, customer_id), _product(plan.world, sku)
    plan.call("find_customers", name=name)
    plan.call("search_products", query=product)
    placed = plan.call("place_order", customer_id=customer_id, items={sku: quantity})
    days = plan.call("list_delivery_days")
    day = _pick(rng, [d["day"] for d in days if d["free_slots"] > 0][:1])
    plan.call("schedule_delivery", order_id=placed["order_id"], day=day)
    return (f"{name} wants {_units(quantity, product)}, paid from their store credit, delivered on the earliest "
            f"day that still has a free delivery slot. Place the order and schedule the delivery.")


# ---------------------------------------------------------------------- hard: conditions
def hard_top_up_and_order(plan: Planner, rng: random.Random) -> str:
    world = plan.world
    in_stock = [sku for sku, p in world["products"].items() if p["stock"] >= 1]
    if len(in_stock) < 2:
        raise _NotApplicable
    first, second = rng.sample(in_stock, 2)
    quantities = {first: rng.randint(1, min(3, world["products"][first]["stock"])),
                  second: rng.randint(1, min(2, world["products"][second]["stock"]))}
    total = sum(q * world["products"][sku]["price"] for sku, q in quantities.items())
    short = rng.random() < 0.5  # half the tasks need the top-up
    buyer = _pick(rng, [cid for cid, c in world["customers"].items() if (c["balance"] < total) == short])
    shortfall = total - world["customers"][buyer]["balance"]
    helper = _pick(rng, [cid for cid, c in world["customers"].items() if cid != buyer and c["balance"] >= shortfall])
    buyer_name, helper_name = _name(world, buyer), _name(world, helper)
    products = [_product(world, sku) for sku in quantities]
    plan.call("find_customers", name=buyer_name)
    plan.call("get_customer", customer_id=buyer)
    for product in products:
        plan.call("search_products", query=product)
    if shortfall > 0:
        plan.call("find_customers", name=helper_name)
        plan.call("transfer_credit", from_customer_id=helper, to_customer_id=buyer, amount=shortfall)
    placed = plan.call("place_order", customer_id=buyer, items=quantities)
    days = plan.call("list_delivery_days")
    day = _pick(rng, [d["day"] for d in days if d["free_slots"] > 0][:1])
    plan.call("schedule_delivery", order_id=placed["order_id"], day=day)
    wanted = " and ".join(_units(q, name) for q, name in zip(quantities.values(), products))
    return (f"{buyer_name} wants {wanted} in one order, paid from their store credit. If their credit does not "
            f"cover the total, first have {helper_name} transfer them exactly the missing amount (and nothing "
            f"if it does). Then schedule the delivery on the earliest day that has a free slot.")


def hard_replace_orders(plan: Planner, rng: random.Random) -> str:
    world = plan.world
    customer_id = _pick(rng, sorted({world["orders"][oid]["customer_id"] for oid in _placed(world)}))
    name = _name(world, customer_id)
    asked_day = rng.choice(list(world["delivery_days"]))
    plan.call("find_customers", name=name)
    plan.call("get_customer", customer_id=customer_id)
    for order_id in [oid for oid in _placed(world) if world["orders"][oid]["customer_id"] == customer_id]:
        plan.call("cancel_order", order_id=order_id)
    sku, quantity = _purchase(world, rng, customer_id, most=2)
    product = _product(world, sku)
    plan.call("search_products", query=product)
    placed = plan.call("place_order", customer_id=customer_id, items={sku: quantity})
    days = plan.call("list_delivery_days")
    free = [d["day"] for d in days if d["free_slots"] > 0]
    day = asked_day if asked_day in free else _pick(rng, free[:1])
    plan.call("schedule_delivery", order_id=placed["order_id"], day=day)
    return (f"{name} changed their mind: cancel every order of theirs that has not shipped yet. Then order "
            f"{_units(quantity, product)} for them with their store credit (refunds included) and schedule its "
            f"delivery on {asked_day} if that day has a free slot, otherwise on the earliest day that has one.")


def hard_cheapest_in_category(plan: Planner, rng: random.Random) -> str:
    world = plan.world
    customer_id = _customer(world, rng)
    wanted = rng.randint(2, 4)
    category = _pick(rng, sorted({p["category"] for p in world["products"].values()}))
    candidates = sorted((p["price"], sku) for sku, p in world["products"].items()
                        if p["category"] == category and p["stock"] >= wanted)
    if not candidates or (len(candidates) > 1 and candidates[0][0] == candidates[1][0]):
        raise _NotApplicable  # none, or a tie for the cheapest
    price, sku = candidates[0]
    balance = world["customers"][customer_id]["balance"]
    quantity = min(wanted, balance // price)
    if quantity < 1:
        raise _NotApplicable
    name = _name(world, customer_id)
    plan.call("find_customers", name=name)
    plan.call("get_customer", customer_id=customer_id)
    plan.call("search_products", category=category)
    placed = plan.call("place_order", customer_id=customer_id, items={sku: quantity})
    days = plan.call("list_delivery_days")
    day = _pick(rng, [d["day"] for d in days if d["free_slots"] > 0][:1])
    plan.call("schedule_delivery", order_id=placed["order_id"], day=day)
    return (f"{name} wants {wanted} of the cheapest product in the {category} category among those with at least "
            f"{wanted} in stock. If their store credit cannot pay for {wanted}, order as many as it can pay for "
            f"instead. Then schedule the delivery on the earliest day that has a free slot.")


TEMPLATES: dict[str, list[tuple[str, Template]]] = {
    "easy": [("cancel", easy_cancel), ("transfer", easy_transfer), ("order", easy_order),
             ("schedule", easy_schedule), ("order_and_schedule", easy_order_and_schedule)],
    "medium": [("order_by_name", medium_order_by_name), ("cancel_by_name", medium_cancel_by_name),
               ("transfer_by_name", medium_transfer_by_name), ("half_credit", medium_half_credit),
               ("order_earliest_day", medium_order_earliest_day)],
    "hard": [("top_up_and_order", hard_top_up_and_order), ("replace_orders", hard_replace_orders),
             ("cheapest_in_category", hard_cheapest_in_category)],
}
