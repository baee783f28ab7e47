"""Multi-tool questions: chain the store's tools and a currency exchange desk to answer (and
sometimes to carry out a request first); gold call sequences for ToolRL-style rewards.

Everything runs in-process — the store's tools through
:class:`~agentgym.envs.tools.service.local.LocalStore` (the specs the MCP server serves, without
a server) and conversions through :class:`~agentgym.envs.tools.multitool.exchange.ExchangeDesk`
— so an episode costs microseconds, not a process: the environment to train tool calling on at
scale, with the MCP-served store (``tools/Service-v0``) as its stateful, out-of-process twin.

An episode draws a world, the day's exchange rates and a task of the level
(:mod:`~agentgym.envs.tools.multitool.tasks`). The agent calls tools in any format of
``tool_call_formats`` (``agentgym.make`` adds the tool calling); a reply without a tool call
ends the episode and is graded: reward ``outcome`` 1 and ``success`` when the reply's last number
is the answer (to the cent) *and* the store is in the goal state (a question must leave it as it
was). ``info`` has ``answer_correct``, ``state_matches`` and ``state_differences``.

``gold_tool_calls`` holds the task's gold calls (hidden from the policy) for
:class:`~agentgym.rewards.ToolRLReward`; ``reference_answer`` is the answer (``"123.45"``) and
``answer_stub`` ``"The answer is "``. The oracle plays the gold calls, one per turn, then states
the answer; the random agent makes random store and exchange calls and, one time in eight,
states a random amount.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any, ClassVar

from agentgym.core import Feedback, InvalidAction, LLMEnv
from agentgym.envs.tools.multitool.exchange import CURRENCIES, ExchangeDesk, draw_rates
from agentgym.envs.tools.multitool.tasks import LEVELS, Task, draw_task
from agentgym.envs.tools.service.env import GoldCallsTracked, next_gold_action, random_call
from agentgym.envs.tools.service.local import LocalStore
from agentgym.envs.tools.service.store import differences, fingerprint, generate_world
from agentgym.tools.formats import HermesFormat

#: How far the stated amount may be from the answer (one cent, for rounding).
TOLERANCE = 0.011
_NUMBER = re.compile(r"[-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-−]?\d+(?:\.\d+)?")
_HERMES = HermesFormat()


def last_number(text: str) -> float | None:
    """The last number written in ``text`` (``1,234.50`` and a leading minus understood)."""
    found = _NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", "").replace("−", "-"))
    except ValueError:
        return None


class MultiToolEnv(GoldCallsTracked, LLMEnv):
    """Questions and requests that chain the store's tools and a currency converter (see the
    module docstring).

    Args:
        difficulty: ``easy`` (two calls), ``medium`` (three or four) or ``hard`` (five or more).
        **kwargs: :class:`~agentgym.core.LLMEnv`'s.
    """

    family: ClassVar[str] = "tools"
    difficulties: ClassVar[tuple[str, ...]] = LEVELS
    instructions: ClassVar[str] = (
        "You are an assistant with two sets of tools: a store's (customers and their store credit, products, "
        "orders, delivery days; amounts in whole US dollars) and a currency exchange desk. Use them to answer the "
        "question, and to carry out the request when there is one — only what is asked: every change stays. When "
        "you know the answer, reply without a tool call and end your reply with the number, e.g. "
        "'The answer is 123.45.'; that ends the conversation."
    )

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.store_tools = LocalStore()
        self.desk = ExchangeDesk()
        self.toolsets = (self.store_tools, self.desk)
        self.task: Task | None = None
        self.calls_made: list[tuple[str, Any, bool]] = []
        self._initial_orders: frozenset[str] = frozenset()

    def new_episode(self, options: dict[str, Any]) -> str:
        world = generate_world(self.rng)
        rates = draw_rates(self.rng)
        self.task = draw_task(world, rates, self.difficulty, self.rng)
        self.store_tools.load(world)
        self.desk.load(rates)
        self._initial_orders = frozenset(world["orders"])
        self.calls_made = []
        return f"{self.task.instruction}\n\nUse the tools; then reply without a tool call, ending with the number."

    def play(self, action: str) -> Feedback:
        if not action.strip():
            raise InvalidAction("call a tool, or reply with the answer (ending with the number) when you know it.")
        stated = last_number(action)
        correct = stated is not None and abs(stated - self.task.answer) <= TOLERANCE
        found = differences(self.task.goal, fingerprint(self.store_tools.world, self._initial_orders))
        success = correct and not found
        if success:
            text = f"Correct: {self.task.answer:.2f}."
        else:
            reasons = ([] if correct else ["the answer is wrong" if stated is not None else "no number in the reply"])
            reasons += [f"the store is not in the expected state ({'; '.join(found)})"] if found else []
            text = "Wrong: " + " and ".join(reasons) + "."
        return Feedback(text, {"outcome": float(success)}, terminated=True, success=success,
                        info={"answer_correct": correct, "state_matches": not found, "state_differences": found})

    @property
    def reference_answer(self) -> str | None:
        return None if self.task is None else f"{self.task.answer:.2f}"

    @property
    def answer_stub(self) -> str:
        return "The answer is "

    def oracle_action(self) -> str:
        """The next gold call not yet made, then the answer."""
        return next_gold_action(self.task.gold_calls, self.calls_made) or f"The answer is {self.task.answer:.2f}."

    def random_action(self, rng: random.Random) -> str:
        """A random store call or conversion, or, one time in eight, a random amount as the answer."""
        world = self.store_tools.world
        draw = rng.random()
        if world is None or draw < 0.125:
            return f"The answer is {rng.uniform(-100, 1000):.2f}."
        if draw < 0.3:
            return _HERMES.render("convert_currency", {"amount": rng.randrange(1, 500), "from_currency": "USD",
                                                       "to_currency": rng.choice(CURRENCIES)})
        return _HERMES.render(*random_call(world, rng))

    def render_text(self) -> str:
        if self.task is None:
            return "Multi-tool: no episode yet"
        made = "\n".join(f"  {'ok ' if ok else 'err'} {name} {json.dumps(arguments, default=str)[:120]}"
                         for name, arguments, ok in self.calls_made) or "  (none)"
        return f"Multi-tool ({self.difficulty}, {self.task.kind})\n{self.task.instruction}\nCalls:\n{made}"
