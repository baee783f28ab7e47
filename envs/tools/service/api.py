"""The service's tools, written once: name, description, JSON schema of the arguments and the
handler that runs them on a :class:`~agentgym.envs.tools.service.store.Store`.

The MCP server (:mod:`~agentgym.envs.tools.service.server`) lists and serves them; the
multi-tool environment turns the same specs into local agentgym tools. :data:`AGENT_TOOLS`
are what an agent may call; :data:`ADMIN_TOOLS` (``admin_load``, ``admin_state``) are for the
environment alone (load a world at the start of an episode, read it back to grade it) and are
never offered to the agent.

Handlers check their arguments themselves (a server must not trust its client) against the
small part of JSON Schema used here, and refuse with
:class:`~agentgym.envs.tools.service.store.Refused`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from agentgym.envs.tools.service.store import Refused, Store

#: the longest string argument a handler accepts
MAX_TEXT = 200


@dataclass(frozen=True)
class ToolSpec:
    """One tool of the service.

    Attributes:
        name: the tool's name.
        description: what it does, for the agent.
        parameters: JSON schema (an ``object`` schema, closed) of its arguments.
        handler: ``handler(store, arguments) -> JSON value``; raises ``Refused``.
        writes: the tool changes the world (the random agent and the tests care).
    """

    name: str
    description: str
    parameters: dict[str, Any]
    handler: Callable[[Store, dict[str, Any]], Any]
    writes: bool = False

    def run(self, store: Store, arguments: Any) -> Any:
        """Check ``arguments`` against :attr:`parameters` and run the handler."""
        return self.handler(store, check(self, arguments))

    def __reduce__(self) -> Any:
        """One of the service's own tools pickles by its name (their handlers are lambdas, which
        pickle cannot take), so what holds one -- a :class:`~.local.LocalStore`, an environment
        -- pickles; another spec pickles as any object does."""
        if SPECS.get(self.name) is self:
            return _spec_named, (self.name,)
        return super().__reduce__()


def _schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


_CUSTOMER_ID = {"type": "string", "description": "The customer's id, e.g. C-101."}
_ORDER_ID = {"type": "string", "description": "The order's id, e.g. O-5001."}

AGENT_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "find_customers",
        "Find customers whose name contains the given text (case-insensitive). Returns their ids and names.",
        _schema({"name": {"type": "string", "description": "The full name or a part of it, e.g. 'Mira Novak'."}},
                ("name",)),
        lambda store, a: store.find_customers(a["name"]),
    ),
    ToolSpec(
        "get_customer",
        "A customer's details: name, store-credit balance (whole dollars) and their orders with their status.",
        _schema({"customer_id": _CUSTOMER_ID}, ("customer_id",)),
        lambda store, a: store.customer_details(a["customer_id"]),
    ),
    ToolSpec(
        "search_products",
        "Search the catalogue: products whose name contains every word of the query, optionally in one "
        "category. Returns SKU, name, category, price and stock of each.",
        _schema({"query": {"type": "string", "description": "Words of the product's name, e.g. 'teal kettle'; "
                                                              "empty matches every product."},
                 "category": {"type": "string", "description": "Only this category (Kitchen, Office, Garden, Toys, "
                                                                 "Sports, Home); empty for all."}}),
        lambda store, a: store.search_products(a.get("query", ""), a.get("category", "")),
    ),
    ToolSpec(
        "get_order",
        "An order's details: customer, items (quantity by SKU), total, status and delivery day.",
        _schema({"order_id": _ORDER_ID}, ("order_id",)),
        lambda store, a: store.order_details(a["order_id"]),
    ),
    ToolSpec(
        "place_order",
        "Place an order for a customer, paid at once from their store credit. Refused when a product is "
        "unknown or short of stock, or the credit does not cover the total.",
        _schema({"customer_id": _CUSTOMER_ID,
                 "items": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                           "description": "Quantity by SKU, e.g. {\"SKU-1004\": 2}."}},
                ("customer_id", "items")),
        lambda store, a: store.place_order(a["customer_id"], a["items"]),
        writes=True,
    ),
    ToolSpec(
        "cancel_order",
        "Cancel a placed order: its total goes back to the customer's store credit and its items back to "
        "stock. Shipped or cancelled orders cannot be cancelled.",
        _schema({"order_id": _ORDER_ID}, ("order_id",)),
        lambda store, a: store.cancel_order(a["order_id"]),
        writes=True,
    ),
    ToolSpec(
        "transfer_credit",
        "Move store credit from one customer to another. Refused when the giver's balance is too small.",
        _schema({"from_customer_id": {**_CUSTOMER_ID, "description": "The giver's id."},
                 "to_customer_id": {**_CUSTOMER_ID, "description": "The receiver's id."},
                 "amount": {"type": "integer", "minimum": 1, "description": "Whole dollars."}},
                ("from_customer_id", "to_customer_id", "amount")),
        lambda store, a: store.transfer_credit(a["from_customer_id"], a["to_customer_id"], a["amount"]),
        writes=True,
    ),
    ToolSpec(
        "list_delivery_days",
        "The delivery days of the week and how many delivery slots each still has free.",
        _schema({}),
        lambda store, a: store.delivery_days(),
    ),
    ToolSpec(
        "schedule_delivery",
        "Schedule (or move) the delivery of a placed order on a delivery day (YYYY-MM-DD). Refused when "
        "that day has no free slot.",
        _schema({"order_id": _ORDER_ID, "day": {"type": "string", "description": "The day, e.g. 2025-06-03."}},
                ("order_id", "day")),
        lambda store, a: store.schedule_delivery(a["order_id"], a["day"]),
        writes=True,
    ),
)


def _load(store: Store, arguments: dict[str, Any]) -> Any:
    world = arguments["world"]
    validate_world(world)
    store.world = json.loads(json.dumps(world))  # a private copy
    return {"loaded": True, "customers": len(world["customers"]), "products": len(world["products"])}


ADMIN_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("admin_load", "Replace the whole world (for the environment: the start of an episode).",
             _schema({"world": {"type": "object"}}, ("world",)), _load, writes=True),
    ToolSpec("admin_state", "The whole world as JSON (for the environment: grading).", _schema({}),
             lambda store, a: store.world),
)

AGENT_TOOL_NAMES = tuple(spec.name for spec in AGENT_TOOLS)
ADMIN_TOOL_NAMES = tuple(spec.name for spec in ADMIN_TOOLS)
SPECS = {spec.name: spec for spec in AGENT_TOOLS + ADMIN_TOOLS}


def _spec_named(name: str) -> ToolSpec:
    """The service's tool ``name`` (what a pickled :class:`ToolSpec` is read back as)."""
    return SPECS[name]


# ---------------------------------------------------------------------- argument checks
def check(spec: ToolSpec, arguments: Any) -> dict[str, Any]:
    """``arguments`` if they fit ``spec.parameters`` (the subset used above: strings of at most
    :data:`MAX_TEXT` characters, integers with a minimum, objects of integers, plain objects);
    :class:`Refused` saying what is wrong otherwise."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise Refused(f"the arguments of {spec.name} must be a JSON object")
    properties = spec.parameters["properties"]
    unknown = [name for name in arguments if name not in properties]
    if unknown:
        raise Refused(f"{spec.name} got unknown argument(s) {', '.join(map(_short, unknown))}; it takes: "
                      f"{', '.join(properties) or 'no arguments'}")
    missing = [name for name in spec.parameters["required"] if name not in arguments]
    if missing:
        raise Refused(f"{spec.name} is missing the argument(s) {', '.join(missing)}")
    for name, value in arguments.items():
        _check_value(f"argument {name!r} of {spec.name}", properties[name], value)
    return arguments


def _check_value(where: str, schema: dict[str, Any], value: Any) -> None:
    kind = schema.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise Refused(f"{where} must be a string")
        if len(value) > MAX_TEXT:
            raise Refused(f"{where} is {len(value)} characters long; at most {MAX_TEXT}")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                raise Refused(f"{where} must be a whole number written without a decimal point")
            raise Refused(f"{where} must be an integer")
        if "minimum" in schema and value < schema["minimum"]:
            raise Refused(f"{where} must be at least {schema['minimum']}, got {value}")
    elif kind == "object":
        if not isinstance(value, dict):
            raise Refused(f"{where} must be a JSON object")
        inner = schema.get("additionalProperties")
        if isinstance(inner, dict):
            if len(value) > 50:
                raise Refused(f"{where} has {len(value)} entries; at most 50")
            for key, item in value.items():
                if len(key) > MAX_TEXT:
                    raise Refused(f"a key of {where} is {len(key)} characters long; at most {MAX_TEXT}")
                _check_value(f"the value of {_short(key)} in {where}", inner, item)


def validate_world(world: Any) -> None:
    """:class:`Refused` unless ``world`` has the shape :mod:`.store` describes (checked enough
    that every operation on it works)."""
    try:
        assert isinstance(world, dict) and set(world) >= {"customers", "products", "orders", "delivery_days",
                                                          "next_order"}
        assert isinstance(world["next_order"], int)
        for customer in world["customers"].values():
            assert isinstance(customer["name"], str) and isinstance(customer["balance"], int)
        for product in world["products"].values():
            assert isinstance(product["name"], str) and isinstance(product["category"], str)
            assert isinstance(product["price"], int) and isinstance(product["stock"], int)
        for order in world["orders"].values():
            assert order["customer_id"] in world["customers"] and order["status"] in ("placed", "shipped", "cancelled")
            assert all(sku in world["products"] and isinstance(q, int) for sku, q in order["items"].items())
            assert isinstance(order["total"], int)
            assert order["delivery_day"] is None or order["delivery_day"] in world["delivery_days"]
        assert all(isinstance(slots, int) for slots in world["delivery_days"].values())
    except (AssertionError, AttributeError, KeyError, TypeError) as exc:
        raise Refused(f"not a valid world ({type(exc).__name__} {exc})") from None


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
