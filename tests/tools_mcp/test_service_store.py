"""The store behind the MCP service, in-process: seeded worlds, every business rule (a refusal
changes nothing), argument checks of the tool specs, the goal fingerprint, the local toolset,
and task validity over many seeds (gold calls replay to the goal; call counts per level)."""

from __future__ import annotations

import copy
import random

import pytest

from agentgym.envs.tools.service.api import ADMIN_TOOL_NAMES, AGENT_TOOLS, SPECS, check, validate_world
from agentgym.envs.tools.service.local import LocalStore
from agentgym.envs.tools.service.store import (
    DELIVERY_DAYS,
    SLOTS_PER_DAY,
    Refused,
    Store,
    differences,
    fingerprint,
    generate_world,
)
from agentgym.envs.tools.service.tasks import LEVELS, TEMPLATES, draw_task
from agentgym.tools import ToolError
from agentgym.tools.invoke import invoke


def world_of(seed: int = 0) -> dict:
    return generate_world(random.Random(seed))


def placed(world: dict, *, scheduled: bool | None = None) -> str:
    return next(oid for oid, o in world["orders"].items() if o["status"] == "placed"
                and (scheduled is None or bool(o["delivery_day"]) == scheduled))


# ------------------------------------------------------------------ worlds
def test_worlds_are_seeded_and_have_every_kind_of_thing():
    assert world_of(3) == world_of(3) and world_of(3) != world_of(4)
    for seed in range(30):
        world = world_of(seed)
        validate_world(world)
        names = [c["name"] for c in world["customers"].values()]
        assert len(world["customers"]) == 10 and len(set(names)) == 10 and len(world["products"]) == 14
        assert {o["status"] for o in world["orders"].values()} == {"placed", "shipped", "cancelled"}
        store = Store(world)
        assert any(store.free_slots(day) == 0 for day in DELIVERY_DAYS)
        assert all(0 <= store.free_slots(day) <= SLOTS_PER_DAY for day in DELIVERY_DAYS)
        last_names = [name.split()[-1] for name in names]
        assert len(set(last_names)) < len(last_names)  # a shared family name: partial lookups are ambiguous


# ------------------------------------------------------------------ business rules
def _refused(world: dict, operation, *arguments, match: str) -> None:
    before = copy.deepcopy(world)
    with pytest.raises(Refused, match=match):
        operation(Store(world), *arguments)
    assert world == before  # a refusal changes nothing


def test_every_rule_refuses_and_changes_nothing():
    world = world_of(1)
    sku, product = next(iter(world["products"].items()))
    poor = min(world["customers"], key=lambda cid: world["customers"][cid]["balance"])
    pricey = max(world["products"], key=lambda s: world["products"][s]["price"])
    shipped = next(oid for oid, o in world["orders"].items() if o["status"] == "shipped")
    cancelled = next(oid for oid, o in world["orders"].items() if o["status"] == "cancelled")
    full_day = next(day for day in DELIVERY_DAYS if Store(world).free_slots(day) == 0)
    world["products"][pricey]["stock"] = 50
    order = Store.place_order
    _refused(world, order, "C-999", {sku: 1}, match="no customer")
    _refused(world, order, "C-101", {"SKU-9999": 1}, match="no product")
    _refused(world, order, "C-101", {}, match="at least one item")
    _refused(world, order, "C-101", {sku: 0}, match="at least 1")
    _refused(world, order, "C-101", {sku: product["stock"] + 1}, match="not enough stock")
    _refused(world, order, poor, {pricey: 50}, match="insufficient store credit")
    _refused(world, Store.cancel_order, shipped, match="is shipped")
    _refused(world, Store.cancel_order, cancelled, match="is cancelled")
    _refused(world, Store.cancel_order, "O-1", match="no order")
    _refused(world, Store.transfer_credit, "C-101", "C-101", 5, match="must differ")
    _refused(world, Store.transfer_credit, "C-101", "C-102", 0, match="at least 1")
    _refused(world, Store.transfer_credit, poor, "C-101", 10_000, match="insufficient store credit")
    _refused(world, Store.schedule_delivery, placed(world), "2025-07-01", match="not a delivery day")
    _refused(world, Store.schedule_delivery, shipped, DELIVERY_DAYS[0], match="only placed orders")
    _refused(world, Store.schedule_delivery, placed(world, scheduled=False), full_day, match="no free delivery slot")
    booked = placed(world, scheduled=True)
    _refused(world, Store.schedule_delivery, booked, world["orders"][booked]["delivery_day"], match="already scheduled")
    _refused(world, Store.find_customers, " a ", match="two letters")


def test_orders_move_credit_and_stock_both_ways_and_slots_follow_them():
    world = world_of(2)
    store = Store(world)
    customer = max(world["customers"], key=lambda cid: world["customers"][cid]["balance"])
    balance = world["customers"][customer]["balance"]
    sku = next(s for s, p in world["products"].items() if p["stock"] >= 2 and 2 * p["price"] <= balance)
    stock = world["products"][sku]["stock"]
    made = store.place_order(customer, {sku: 2})
    assert made["total"] == 2 * world["products"][sku]["price"] and made["order_id"] == "O-5009"
    assert world["customers"][customer]["balance"] == balance - made["total"]
    assert world["products"][sku]["stock"] == stock - 2
    day = next(d for d in DELIVERY_DAYS if store.free_slots(d) > 0)
    free = store.free_slots(day)
    store.schedule_delivery(made["order_id"], day)
    assert store.free_slots(day) == free - 1
    assert store.cancel_order(made["order_id"])["refunded"] == made["total"]
    assert (world["customers"][customer]["balance"], world["products"][sku]["stock"]) == (balance, stock)
    assert store.free_slots(day) == free and world["orders"][made["order_id"]]["delivery_day"] is None


def test_the_fingerprint_ignores_new_order_ids_but_not_extra_orders():
    world = world_of(5)
    initial = set(world["orders"])
    customers = sorted(world["customers"], key=lambda cid: -world["customers"][cid]["balance"])[:2]
    skus = [s for s, p in world["products"].items() if p["stock"] >= 2 and p["price"] <= 40][:2]
    one, two = Store(copy.deepcopy(world)), Store(copy.deepcopy(world))
    one.place_order(customers[0], {skus[0]: 1})
    one.place_order(customers[1], {skus[1]: 1})
    two.place_order(customers[1], {skus[1]: 1})  # the same orders the other way round: other ids
    two.place_order(customers[0], {skus[0]: 1})
    assert fingerprint(one.world, initial) == fingerprint(two.world, initial)
    extra = Store(copy.deepcopy(one.world))
    made = extra.place_order(customers[0], {skus[0]: 1})
    extra.cancel_order(made["order_id"])  # balances and stock are back, the cancelled order is not nothing
    goal, final = fingerprint(one.world, initial), fingerprint(extra.world, initial)
    assert goal != final and differences(goal, final) == [
        f"new orders: expected 2 ({_listed(goal)}), got 3 ({_listed(final)})"]


def _listed(fingerprint_: dict) -> str:
    return "; ".join(f"{c} {dict(items)} {status}" + (f" on {day}" if day else "")
                     for c, items, _, status, day in fingerprint_["new_orders"])


# ------------------------------------------------------------------ the specs' argument checks
@pytest.mark.parametrize("name, arguments, message", [
    ("get_customer", None, "missing the argument"),
    ("get_customer", [1], "must be a JSON object"),
    ("get_customer", {"customer_id": "C-101", "x": 1}, "unknown argument"),
    ("get_customer", {"customer_id": 7}, "must be a string"),
    ("find_customers", {"name": "n" * 201}, "at most 200"),
    ("transfer_credit", {"from_customer_id": "C-101", "to_customer_id": "C-102", "amount": True}, "must be an integer"),
    ("transfer_credit", {"from_customer_id": "C-101", "to_customer_id": "C-102", "amount": 5.0}, "without a decimal"),
    ("transfer_credit", {"from_customer_id": "C-101", "to_customer_id": "C-102", "amount": 0}, "at least 1"),
    ("place_order", {"customer_id": "C-101", "items": {f"SKU-{i}": 1 for i in range(51)}}, "at most 50"),
    ("place_order", {"customer_id": "C-101", "items": {"k" * 300: 1}}, "a key of"),
    ("place_order", {"customer_id": "C-101", "items": {"SKU-1001": "2"}}, "must be an integer"),
    ("admin_load", {"world": {"customers": {}}}, "not a valid world"),
    ("admin_load", {"world": {**world_of(0), "next_order": "5001"}}, "not a valid world"),
])
def test_the_specs_check_their_arguments(name, arguments, message):
    with pytest.raises(Refused, match=message):
        check(SPECS[name], arguments) if name != "admin_load" else SPECS[name].run(Store(world_of(0)), arguments)


def test_every_agent_tool_has_a_closed_schema_and_the_admin_tools_are_apart():
    assert set(ADMIN_TOOL_NAMES) == {"admin_load", "admin_state"}
    assert not set(ADMIN_TOOL_NAMES) & {spec.name for spec in AGENT_TOOLS}
    assert 6 <= len(AGENT_TOOLS) <= 10
    for spec in AGENT_TOOLS:
        assert spec.parameters["additionalProperties"] is False and spec.description
        assert set(spec.parameters["required"]) <= set(spec.parameters["properties"])


# ------------------------------------------------------------------ the local toolset
def test_the_local_toolset_serves_the_same_tools_and_messages():
    toolset = LocalStore()
    tools = {tool.name: tool for tool in toolset.tools()}
    assert [spec.name for spec in AGENT_TOOLS] == list(tools)
    assert "closed" in invoke(tools["list_delivery_days"], {}).content
    toolset.open()
    toolset.load(world_of(0))
    assert invoke(tools["get_customer"], {"customer_id": "C-101"}).ok
    refused = invoke(tools["get_customer"], {"customer_id": "C-999"})
    assert refused.failure == "error" and "there is no customer with id 'C-999'" in refused.content
    with pytest.raises(ValueError, match="no store tools named"):
        LocalStore(only=["get_customer", "launch_rocket"])
    assert [t.name for t in LocalStore(only=["get_order"]).tools()] == ["get_order"]
    toolset.close()
    with pytest.raises(ToolError):
        tools["get_customer"].fn(customer_id="C-101")


# ------------------------------------------------------------------ tasks
@pytest.mark.parametrize("level", LEVELS)
def test_tasks_are_valid_on_many_seeds(level):
    counts = {"easy": range(1, 3), "medium": range(3, 6), "hard": range(6, 20)}[level]
    kinds = set()
    for seed in range(150):
        rng = random.Random(seed)
        world = generate_world(rng)
        task = draw_task(world, level, rng)
        kinds.add(task.kind)
        assert len(task.gold_calls) in counts and task.instruction
        replay = Store(copy.deepcopy(world))
        for gold in task.gold_calls:  # the gold calls replay without a refusal...
            SPECS[gold["name"]].run(replay, gold["arguments"])
        assert fingerprint(replay.world, set(world["orders"])) == task.goal  # ...to the goal,
        assert task.goal != fingerprint(world, set(world["orders"]))  # which is not where the world starts
        again = random.Random(seed)
        assert draw_task(generate_world(again), level, again) == task  # and the seed fixes the task
    assert kinds == {kind for kind, _ in TEMPLATES[level]}


def test_an_unknown_level_is_refused():
    with pytest.raises(ValueError, match="unknown level"):
        draw_task(world_of(0), "expert", random.Random(0))
