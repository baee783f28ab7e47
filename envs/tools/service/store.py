"""The store behind the service: customers with store credit, a product catalogue with stock,
orders and a delivery calendar, the business rules that refuse what cannot be done, and a
seeded generator of whole worlds.

A world is plain JSON data (so it crosses the MCP boundary as it is)::

    {"customers": {"C-101": {"name": "Mira Novak", "balance": 140}, ...},
     "products": {"SKU-1001": {"name": "Teal Kettle", "category": "Kitchen", "price": 34, "stock": 6}, ...},
     "orders": {"O-5001": {"customer_id": "C-101", "items": {"SKU-1001": 1}, "total": 34,
                           "status": "placed", "delivery_day": "2025-06-03"}, ...},
     "delivery_days": {"2025-06-02": 2, ...},      # delivery slots per day
     "next_order": 5007}

Money is in whole dollars. An order is paid from the customer's store credit when it is placed
and refunded when it is cancelled; only ``placed`` orders can be cancelled or scheduled; a day
has ``delivery_days[day]`` slots, taken by the placed orders scheduled on it.

:class:`Store` carries out the operations (each refuses with :class:`Refused` and changes
nothing); :func:`generate_world` draws a world from a :class:`random.Random`;
:func:`fingerprint` is the part of a world a task's goal is judged on. It needs nothing but the
standard library.
"""

from __future__ import annotations

import copy
import random
from typing import Any

#: Money, counts: whole numbers; names as in the JSON world.
World = dict[str, Any]

FIRST_NAMES = (
    "Aiko", "Alba", "Amir", "Anika", "Arjun", "Astrid", "Bruno", "Camila", "Chen", "Dalia",
    "Diego", "Elena", "Elif", "Emil", "Farah", "Felix", "Greta", "Hana", "Hugo", "Ines",
    "Jonas", "Kenji", "Lara", "Leila", "Luca", "Maya", "Mateo", "Mira", "Nadia", "Noah",
    "Omar", "Paula", "Priya", "Rafael", "Rosa", "Sofia", "Tariq", "Theo", "Vera", "Yusuf",
)
LAST_NAMES = (
    "Adler", "Alvarez", "Bakker", "Becker", "Castro", "Costa", "Dubois", "Fischer", "Garcia",
    "Haddad", "Hansen", "Jensen", "Kato", "Keller", "Kowalski", "Larsen", "Lopez", "Marino",
    "Meyer", "Nakamura", "Novak", "Okafor", "Ortiz", "Patel", "Petrov", "Ramos", "Rossi",
    "Sato", "Silva", "Singh", "Tanaka", "Torres", "Vogel", "Wagner", "Weber", "Yilmaz",
)
#: base product names by category, with the price range of the category
CATALOGUE = {
    "Kitchen": (("Kettle", "Teapot", "Skillet", "Cutting Board", "Mug", "Salad Bowl"), (8, 60)),
    "Office": (("Desk Lamp", "Notebook", "Fountain Pen", "Stapler", "Monitor Stand"), (4, 80)),
    "Garden": (("Watering Can", "Planter", "Pruner", "Bird Feeder", "Garden Gloves"), (6, 45)),
    "Toys": (("Puzzle", "Kite", "Board Game", "Robot Kit", "Plush Bear"), (7, 70)),
    "Sports": (("Yoga Mat", "Jump Rope", "Water Bottle", "Tennis Racket", "Dumbbell"), (5, 90)),
    "Home": (("Cushion", "Vase", "Wall Clock", "Blanket", "Candle"), (6, 65)),
}
COLOURS = ("Amber", "Black", "Blue", "Coral", "Green", "Grey", "Ivory", "Navy", "Olive", "Red",
           "Teal", "White")
#: the delivery calendar of every world: one working week, two slots a day
DELIVERY_DAYS = ("2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06")
SLOTS_PER_DAY = 2
ORDER_STATUSES = ("placed", "shipped", "cancelled")


class Refused(Exception):
    """A business rule or a bad argument refused the operation; the message says why, for the
    agent. The world is unchanged."""


class Store:
    """Operations on a world (kept in ``self.world``, changed in place).

    Every operation checks everything before it changes anything, so a :class:`Refused`
    operation leaves the world as it was.
    """

    def __init__(self, world: World) -> None:
        self.world = world

    # ------------------------------------------------------------------ reading
    def customer(self, customer_id: str) -> dict[str, Any]:
        found = self.world["customers"].get(customer_id)
        if found is None:
            raise Refused(f"there is no customer with id {_show(customer_id)} (ids look like C-101; "
                          f"find_customers looks them up by name)")
        return found

    def product(self, sku: str) -> dict[str, Any]:
        found = self.world["products"].get(sku)
        if found is None:
            raise Refused(f"there is no product with SKU {_show(sku)} (SKUs look like SKU-1001; "
                          f"search_products finds them)")
        return found

    def order(self, order_id: str) -> dict[str, Any]:
        found = self.world["orders"].get(order_id)
        if found is None:
            raise Refused(f"there is no order with id {_show(order_id)} (ids look like O-5001)")
        return found

    def find_customers(self, name: str) -> list[dict[str, Any]]:
        needle = " ".join(name.split()).lower()
        if len(needle) < 2:
            raise Refused("give at least two letters of the customer's name")
        return [{"customer_id": cid, "name": c["name"]} for cid, c in self.world["customers"].items()
                if needle in c["name"].lower()]

    def customer_details(self, customer_id: str) -> dict[str, Any]:
        customer = self.customer(customer_id)
        orders = [{"order_id": oid, "status": o["status"]} for oid, o in self.world["orders"].items()
                  if o["customer_id"] == customer_id]
        return {"customer_id": customer_id, "name": customer["name"], "balance": customer["balance"],
                "orders": orders}

    def search_products(self, query: str = "", category: str = "") -> list[dict[str, Any]]:
        words = query.lower().split()
        wanted = category.strip().lower()
        return [{"sku": sku, **p} for sku, p in self.world["products"].items()
                if all(word in p["name"].lower() for word in words)
                and (not wanted or p["category"].lower() == wanted)]

    def order_details(self, order_id: str) -> dict[str, Any]:
        return {"order_id": order_id, **copy.deepcopy(self.order(order_id))}

    def free_slots(self, day: str) -> int:
        taken = sum(1 for o in self.world["orders"].values() if o["status"] == "placed" and o["delivery_day"] == day)
        return self.world["delivery_days"][day] - taken

    def delivery_days(self) -> list[dict[str, Any]]:
        return [{"day": day, "free_slots": self.free_slots(day)} for day in self.world["delivery_days"]]

    # ------------------------------------------------------------------ changing
    def place_order(self, customer_id: str, items: dict[str, int]) -> dict[str, Any]:
        customer = self.customer(customer_id)
        if not items:
            raise Refused("an order needs at least one item: items maps SKUs to quantities, e.g. {\"SKU-1001\": 2}")
        total = 0
        for sku, quantity in items.items():
            product = self.product(sku)
            if quantity < 1:
                raise Refused(f"the quantity of {sku} must be at least 1, got {quantity}")
            if quantity > product["stock"]:
                raise Refused(f"not enough stock of {sku} ({product['name']}): {product['stock']} left, "
                              f"{quantity} asked")
            total += quantity * product["price"]
        if total > customer["balance"]:
            raise Refused(f"insufficient store credit: the order costs {total}, {customer['name']} has "
                          f"{customer['balance']}")
        for sku, quantity in items.items():
            self.world["products"][sku]["stock"] -= quantity
        customer["balance"] -= total
        order_id = f"O-{self.world['next_order']}"
        self.world["next_order"] += 1
        self.world["orders"][order_id] = {"customer_id": customer_id, "items": dict(items), "total": total,
                                          "status": "placed", "delivery_day": None}
        return {"order_id": order_id, "total": total, "balance": customer["balance"]}

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        order = self.order(order_id)
        if order["status"] != "placed":
            raise Refused(f"order {order_id} is {order['status']} and cannot be cancelled (only placed orders can)")
        customer = self.customer(order["customer_id"])
        for sku, quantity in order["items"].items():
            self.world["products"][sku]["stock"] += quantity
        customer["balance"] += order["total"]
        order["status"], order["delivery_day"] = "cancelled", None
        return {"order_id": order_id, "status": "cancelled", "refunded": order["total"],
                "balance": customer["balance"]}

    def transfer_credit(self, from_customer_id: str, to_customer_id: str, amount: int) -> dict[str, Any]:
        giver, taker = self.customer(from_customer_id), self.customer(to_customer_id)
        if from_customer_id == to_customer_id:
            raise Refused("the two customers of a transfer must differ")
        if amount < 1:
            raise Refused(f"the amount must be at least 1, got {amount}")
        if amount > giver["balance"]:
            raise Refused(f"insufficient store credit: {giver['name']} has {giver['balance']}, {amount} asked")
        giver["balance"] -= amount
        taker["balance"] += amount
        return {"from_balance": giver["balance"], "to_balance": taker["balance"]}

    def schedule_delivery(self, order_id: str, day: str) -> dict[str, Any]:
        order = self.order(order_id)
        if day not in self.world["delivery_days"]:
            raise Refused(f"{_show(day)} is not a delivery day; the days are {', '.join(self.world['delivery_days'])}")
        if order["status"] != "placed":
            raise Refused(f"order {order_id} is {order['status']}; only placed orders can be scheduled")
        if order["delivery_day"] == day:
            raise Refused(f"order {order_id} is already scheduled on {day}")
        if self.free_slots(day) < 1:
            raise Refused(f"no free delivery slot on {day}")
        order["delivery_day"] = day
        return {"order_id": order_id, "delivery_day": day}


# ---------------------------------------------------------------------- worlds
def generate_world(rng: random.Random, *, customers: int = 10, products: int = 14, orders: int = 8) -> World:
    """A world drawn with ``rng``: ``customers`` customers with distinct names (a few share a
    first or last name, so a partial name can match several), ``products`` products (some in
    two colours, a few out of stock), ``orders`` past orders in every status, and a delivery
    calendar with some days already full."""
    firsts = rng.sample(FIRST_NAMES, customers)
    lasts = rng.sample(LAST_NAMES, customers)
    lasts[-1] = lasts[0]  # a shared family name: looking up by last name alone is ambiguous
    world: World = {"customers": {}, "products": {}, "orders": {}, "next_order": 5001,
                    "delivery_days": {day: SLOTS_PER_DAY for day in DELIVERY_DAYS}}
    for index, (first, last) in enumerate(zip(firsts, lasts)):
        world["customers"][f"C-{101 + index}"] = {"name": f"{first} {last}", "balance": rng.randrange(40, 401, 5)}
    names: set[str] = set()
    while len(names) < products:
        category = rng.choice(sorted(CATALOGUE))
        bases, (low, high) = CATALOGUE[category]
        base = rng.choice(bases)
        twin = rng.random() < 0.3  # the same product in another colour
        for _ in range(2 if twin else 1):
            name = f"{rng.choice(COLOURS)} {base}"
            if name not in names and len(names) < products:
                names.add(name)
                world["products"][name] = {"name": name, "category": category, "price": rng.randint(low, high),
                                           "stock": rng.choice((0, 1, 2, 3, 4, 5, 6, 8, 10, 12))}
    # SKUs in a shuffled order, so a SKU says nothing of the name
    shuffled = list(world["products"].values())
    rng.shuffle(shuffled)
    world["products"] = {f"SKU-{1001 + i}": product for i, product in enumerate(shuffled)}
    skus, ids = list(world["products"]), list(world["customers"])
    shipped, cancelled = orders // 4, orders // 8
    statuses = ["placed"] * (orders - shipped - cancelled) + ["shipped"] * shipped + ["cancelled"] * cancelled
    rng.shuffle(statuses)
    full_days = rng.sample(DELIVERY_DAYS[:3], rng.randint(1, 2))  # the earliest free day is not always the first
    bookable = [day for day in full_days for _ in range(SLOTS_PER_DAY)]
    for status in statuses:
        lines = rng.sample(skus, rng.randint(1, 2))
        items = {sku: rng.randint(1, 3) for sku in lines}
        total = sum(q * world["products"][sku]["price"] for sku, q in items.items())
        day = bookable.pop() if status == "placed" and bookable else None
        world["orders"][f"O-{world['next_order']}"] = {"customer_id": rng.choice(ids), "items": items, "total": total,
                                                       "status": status, "delivery_day": day}
        world["next_order"] += 1
    return world


def fingerprint(world: World, initial_orders: frozenset[str] | set[str]) -> dict[str, Any]:
    """What a task's goal is judged on: every balance and stock level, the status and delivery
    day of each order that existed at the start (``initial_orders``), and the new orders as a
    sorted list of their content — so two runs that place the same orders in another sequence
    (and so under other ids) have the same fingerprint, while an extra order, even cancelled
    later, changes it."""
    new_orders = sorted(
        [o["customer_id"], sorted([sku, q] for sku, q in o["items"].items()), o["total"], o["status"],
         o["delivery_day"] or ""]
        for oid, o in world["orders"].items() if oid not in initial_orders)
    return {
        "balances": {cid: c["balance"] for cid, c in world["customers"].items()},
        "stock": {sku: p["stock"] for sku, p in world["products"].items()},
        "orders": {oid: [o["status"], o["delivery_day"]] for oid, o in world["orders"].items()
                   if oid in initial_orders},
        "new_orders": new_orders,
    }


def differences(goal: dict[str, Any], final: dict[str, Any], limit: int = 6) -> list[str]:
    """How ``final`` differs from ``goal`` (two :func:`fingerprint`\\ s), in short sentences."""
    found: list[str] = []
    for key, word in (("balances", "balance of"), ("stock", "stock of"), ("orders", "order")):
        for name in sorted(set(goal[key]) | set(final[key])):
            want, got = goal[key].get(name), final[key].get(name)
            if want != got:
                found.append(f"{word} {name}: expected {_plain(want)}, got {_plain(got)}")
    if goal["new_orders"] != final["new_orders"]:
        want, got = goal["new_orders"], final["new_orders"]
        found.append(f"new orders: expected {len(want)} ({_orders(want)}), got {len(got)} ({_orders(got)})")
    return found[:limit] + ([f"and {len(found) - limit} more"] if len(found) > limit else [])


def _orders(entries: list[Any]) -> str:
    return "; ".join(f"{c} {dict(items)} {status}" + (f" on {day}" if day else "")
                     for c, items, _total, status, day in entries) or "none"


def _plain(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "/".join("none" if v is None else str(v) for v in value)
    return "none" if value is None else str(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"
