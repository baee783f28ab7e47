"""The store service environment: carry out a customer-service request with the tools of a real
MCP server; success when the server's final state matches the goal.

Each environment starts its own store server (:mod:`~agentgym.envs.tools.service.server`, a
child process speaking MCP over stdio) through an :class:`~agentgym.tools.mcp.MCPToolset`
with ``scope="environment"``: the server lives as long as the environment (starting one costs
about a second, mostly importing ``mcp``), and every episode begins by loading a freshly drawn
world into it with the hidden ``admin_load`` tool, so episodes never see each other's writes.
An episode whose close finds a call still running, a call that timed out, or a dead server
gets a new server at the next ``reset`` (see :mod:`agentgym.tools.mcp`).

An episode draws a world (:func:`~agentgym.envs.tools.service.store.generate_world`) and a
task of the level (:mod:`~agentgym.envs.tools.service.tasks`); the first observation is the
request. The agent calls the store's tools (``find_customers``, ``get_customer``,
``search_products``, ``get_order``, ``place_order``, ``cancel_order``, ``transfer_credit``,
``list_delivery_days``, ``schedule_delivery``) in any format of ``tool_call_formats``;
``agentgym.make`` adds the :class:`~agentgym.wrappers.ToolCalling` that runs them. A reply
without a tool call ends the episode: the environment reads the server's state with the hidden
``admin_state`` tool and compares its fingerprint with the task's goal — reward ``outcome`` 1
and ``success`` when they match (tau-bench's criterion: the state, not the calls), else 0, with
``info["state_differences"]`` saying what differs. An empty reply is an invalid action.

For ToolRL-style rewards the environment exposes the task's gold calls as
``gold_tool_calls`` (hidden from the policy; the rollout engine puts them in a trajectory's
metadata). The oracle plays them one call per turn, then replies; the random agent plays random
calls on this world's ids, names and days, and replies after about eight.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any, ClassVar, Sequence

from agentgym.core import Feedback, InvalidAction, LLMEnv, check_number
from agentgym.envs.tools.service.api import ADMIN_TOOL_NAMES, AGENT_TOOLS
from agentgym.envs.tools.service.store import DELIVERY_DAYS, World, differences, fingerprint, generate_world
from agentgym.envs.tools.service.tasks import LEVELS, Task, draw_task
from agentgym.tools.formats import HermesFormat
from agentgym.tools.invoke import ToolOutcome

SERVER_MODULE = "agentgym.envs.tools.service.server"
#: What the oracle replies once the gold calls are done.
DONE = "Done: the request is carried out."
_HERMES = HermesFormat()


def server_command(*, latency: float = 0.0) -> list[str]:
    """The command line of a store server with the admin tools (this Python interpreter)."""
    command = [sys.executable, "-m", SERVER_MODULE, "--admin"]
    return command + (["--latency", repr(float(latency))] if latency else [])


class GoldCallsTracked:
    """For environments whose task has gold tool calls (``self.task.gold_calls``): every call the
    agent makes is noted in ``self.calls_made`` as ``(name, arguments, ok)`` (the oracle plays the
    gold calls not yet made), and ``gold_tool_calls`` reports the task's gold calls for ToolRL
    (the rollout engine reads it through :class:`~agentgym.wrappers.EnvHints`). Put it before
    :class:`~agentgym.core.LLMEnv` in the bases."""

    task: Any
    calls_made: list[tuple[str, Any, bool]]

    def call_tool(self, name: str, arguments: Any) -> ToolOutcome:
        """Run a call (see :meth:`LLMEnv.call_tool <agentgym.core.LLMEnv.call_tool>`) and note
        it for the oracle."""
        outcome = super().call_tool(name, arguments)  # type: ignore[misc]
        self.calls_made.append((name, arguments, outcome.ok))
        return outcome

    @property
    def gold_tool_calls(self) -> list[dict[str, Any]] | None:
        """The task's gold calls, ``{"name", "arguments"}`` each (``None`` before a reset)."""
        return None if self.task is None else json.loads(json.dumps(self.task.gold_calls))


class ServiceEnv(GoldCallsTracked, LLMEnv):
    """Customer-service requests on a store served over MCP (see the module docstring).

    Args:
        difficulty: ``easy`` (one or two calls, ids given), ``medium`` (three to five, a lookup
            first) or ``hard`` (six or more, with conditions).
        latency: seconds the server waits before each agent call (a slow back end).
        call_timeout: seconds one tool call may take.
        startup_timeout: seconds the server may take to start.
        **kwargs: :class:`~agentgym.core.LLMEnv`'s.
    """

    family: ClassVar[str] = "tools"
    difficulties: ClassVar[tuple[str, ...]] = LEVELS
    instructions: ClassVar[str] = (
        "You are a customer-service agent of a small store. Carry out the request with the store's tools: "
        "look customers, products, orders and delivery days up, then act (place or cancel orders, move store "
        "credit, schedule deliveries). Amounts are whole dollars and orders are paid from the customer's store "
        "credit. Only do what the request asks: every change you make stays. When you are done, reply with a "
        "short message and no tool call; that ends the conversation."
    )

    def __init__(self, difficulty: str | None = None, *, latency: float = 0.0, call_timeout: float = 10.0,
                 startup_timeout: float = 60.0, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        self.latency = check_number(owner, "latency", latency, minimum=0.0)
        call_timeout = check_number(owner, "call_timeout", call_timeout, minimum=0.001)
        startup_timeout = check_number(owner, "startup_timeout", startup_timeout, minimum=0.001)
        from agentgym.tools.mcp import MCPToolset

        self.server = MCPToolset(server_command(latency=self.latency), scope="environment",
                                 hidden=ADMIN_TOOL_NAMES, call_timeout=call_timeout, startup_timeout=startup_timeout)
        self.toolsets = (self.server,)
        self.world: World | None = None
        self.task: Task | None = None
        self.calls_made: list[tuple[str, Any, bool]] = []
        self._initial_orders: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ episode
    def new_episode(self, options: dict[str, Any]) -> str:
        self.world = generate_world(self.rng)
        self.task = draw_task(self.world, self.difficulty, self.rng)
        self._initial_orders = frozenset(self.world["orders"])
        self.calls_made = []
        self.server.call_hidden("admin_load", {"world": self.world})
        return (f"Request: {self.task.instruction}\n\nUse the store's tools to carry it out, then reply without a "
                f"tool call to finish.")

    def play(self, action: str) -> Feedback:
        if not action.strip():
            raise InvalidAction("call one of the store's tools, or reply with a short message when the request is "
                                "carried out.")
        final = fingerprint(self.final_world(), self._initial_orders)
        found = differences(self.task.goal, final)
        success = not found
        text = ("The request is carried out: the store is in the expected state." if success else
                "The store is not in the expected state: " + "; ".join(found) + ".")
        return Feedback(text, {"outcome": float(success)}, terminated=True, success=success,
                        info={"state_matches": success, "state_differences": found})

    def final_world(self) -> World:
        """The world as the server holds it now (read with the hidden ``admin_state`` tool)."""
        return json.loads(self.server.call_hidden("admin_state"))

    # ------------------------------------------------------------------ references and baselines
    def oracle_action(self) -> str:
        """The next gold call not yet made (in order, counting successful calls), then :data:`DONE`."""
        return next_gold_action(self.task.gold_calls, self.calls_made) or DONE

    def random_action(self, rng: random.Random) -> str:
        """A random call with this world's ids, names, SKUs and days (an unknown id now and then),
        or, one time in eight, a reply that ends the episode."""
        if self.world is None or rng.random() < 0.125:
            return "Done."
        return _HERMES.render(*random_call(self.world, rng))

    def render_text(self) -> str:
        if self.task is None:
            return "Store service: no episode yet"
        made = "\n".join(f"  {'ok ' if ok else 'err'} {name} {json.dumps(arguments, default=str)[:120]}"
                         for name, arguments, ok in self.calls_made) or "  (none)"
        return f"Store service ({self.difficulty}, {self.task.kind})\nRequest: {self.task.instruction}\nCalls:\n{made}"

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        super().close()
        self.server.shutdown()


def next_gold_action(gold: Sequence[dict[str, Any]], calls_made: Sequence[tuple[str, Any, bool]]) -> str | None:
    """The first gold call the successful ``calls_made`` have not yet matched (in order), as a
    Hermes ``<tool_call>``; ``None`` when every gold call is made."""
    done = 0
    for name, arguments, ok in calls_made:
        if done < len(gold) and ok and name == gold[done]["name"] and arguments == gold[done]["arguments"]:
            done += 1
    return _HERMES.render(gold[done]["name"], gold[done]["arguments"]) if done < len(gold) else None


def random_call(world: World, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A random but well-formed call of one of the store's tools on ``world``."""
    customers, products, orders = list(world["customers"]), list(world["products"]), list(world["orders"])
    spec = rng.choice(AGENT_TOOLS)
    customer = rng.choice(customers) if rng.random() > 0.1 else "C-999"
    order = rng.choice(orders) if rng.random() > 0.1 else "O-9999"
    if spec.name == "find_customers":
        name = world["customers"][rng.choice(customers)]["name"]
        return spec.name, {"name": rng.choice((name, name.split()[0], name.split()[-1]))}
    if spec.name == "get_customer":
        return spec.name, {"customer_id": customer}
    if spec.name == "search_products":
        product = world["products"][rng.choice(products)]
        return spec.name, rng.choice(({"query": rng.choice(product["name"].split())}, {"category": product["category"]},
                                      {}))
    if spec.name in ("get_order", "cancel_order"):
        return spec.name, {"order_id": order}
    if spec.name == "place_order":
        return spec.name, {"customer_id": customer,
                           "items": {sku: rng.randint(1, 3) for sku in rng.sample(products, rng.randint(1, 2))}}
    if spec.name == "transfer_credit":
        return spec.name, {"from_customer_id": customer, "to_customer_id": rng.choice(customers),
                           "amount": rng.randrange(5, 150, 5)}
    if spec.name == "schedule_delivery":
        return spec.name, {"order_id": order, "day": rng.choice(DELIVERY_DAYS)}
    return spec.name, {}
