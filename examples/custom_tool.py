"""A custom tool and a custom toolset, played by a scripted agent.

* ``convert`` is a tool: a typed, documented function. ``@tool`` reads its schema (the
  OpenAI function format the model sees) from the signature and the docstring.
* ``Ledger`` is a toolset: tools that share per-episode state. The environment opens it at
  every ``reset`` and closes it when the episode ends (a real one would open a database
  connection or a sandbox there).
* ``agentgym.make`` sees that ``Bill`` has tools and adds the tool calling by itself, so
  ``agentgym eval``, ``evaluate()`` and the trainer run them as they are:

      agentgym --import examples/custom_tool.py eval --suite bill-v0 --policy oracle

Run it: ``python examples/custom_tool.py``.
"""

import json

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv
from agentgym.tools import ToolError, Toolset, tool


@tool
def convert(amount: float, rate: float) -> float:
    """Convert an amount of money at an exchange rate.

    Args:
        amount: the amount in the source currency.
        rate: units of the target currency per unit of the source currency.
    """
    return round(amount * rate, 2)


class Ledger(Toolset):
    """A ledger of prices that lives for one episode."""

    def open(self) -> None:
        self.prices: dict[str, float] = {}

    def close(self) -> None:
        self.prices = {}

    @tool
    def record(self, item: str, price: float) -> str:
        """Write an item and its price in euros in the ledger.

        Args:
            item: the item's name.
            price: its price in euros.
        """
        if price < 0:
            raise ToolError("a price cannot be negative")
        self.prices[item] = price
        return f"recorded {item}: {price} EUR ({len(self.prices)} items)"

    @tool
    def total(self) -> float:
        """The sum of the prices in the ledger, in euros."""
        return round(sum(self.prices.values()), 2)


class Bill(LLMEnv):
    """Add up a shopping bill and give the total in dollars."""

    instructions = ("Record every item of the bill with the record tool, add them up with total, convert the "
                    "sum to dollars with convert, then reply with the amount alone, e.g. 12.34.")
    tools = (convert,)
    toolsets = (Ledger,)

    def new_episode(self, options):
        goods = ["bread", "cheese", "apples", "coffee", "rice", "olive oil"]
        self.items = {name: round(self.rng.uniform(1, 9), 2) for name in self.rng.sample(goods, 3)}
        self.rate = round(self.rng.uniform(1.05, 1.2), 3)
        self.asked: set[str] = set()  # what the oracle has done this episode
        lines = ", ".join(f"{name} {price} EUR" for name, price in self.items.items())
        return f"Bill: {lines}. One euro is {self.rate} dollars."

    def play(self, action):
        try:
            answer = float(action.strip().lstrip("$"))
        except ValueError:
            raise InvalidAction("reply with the amount in dollars alone, e.g. 12.34.") from None
        expected = convert(round(sum(self.items.values()), 2), self.rate)
        won = abs(answer - expected) < 0.011
        return Feedback(f"Right: {expected}." if won else "Wrong.", {"outcome": float(won)},
                        terminated=True, success=won)

    def oracle_action(self):
        """What a careful agent does next: record, add up, convert, answer."""
        ledger = self.toolset(Ledger)
        if len(ledger.prices) < len(self.items):
            return "".join(_call("record", item=item, price=price) for item, price in self.items.items())
        total = ledger.total()  # a tool is still a function
        for step in ("total", "convert"):
            if step not in self.asked:
                self.asked.add(step)
                return _call("total") if step == "total" else _call("convert", amount=total, rate=self.rate)
        return str(convert(total, self.rate))


def _call(name: str, **arguments) -> str:
    """A call in the Hermes/Qwen format (the default one, with OpenAI messages)."""
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


agentgym.register("mine/Bill-v0", Bill, max_turns=8, override=True,
                  description="Add up a bill with a ledger toolset and convert it.")
agentgym.register_suite("bill-v0", [("mine/Bill-v0", range(5))], "The bill example.", override=True)


if __name__ == "__main__":
    print("The schema the model sees for convert:")
    print(json.dumps(convert.schema(), indent=2))

    env = agentgym.make("mine/Bill-v0")  # TurnLimit(ToolCalling(Bill)): the tool calling is automatic
    observation, info = env.reset(seed=0)
    print(f"\nTools offered: {[t['function']['name'] for t in info['tools']]}")
    print(f"Task: {observation}")
    actions = ['<tool_call>{"name": "record", "arguments": {"item": "bread", "price": "cheap"}}</tool_call>',
               "<tool_call>{not json}</tool_call>"]  # two mistakes first: both come back as error observations
    terminated = truncated = False
    while not (terminated or truncated):
        action = actions.pop(0) if actions else env.unwrapped.oracle_action()
        observation, reward, terminated, truncated, info = env.step(action)
        print(f"\n> {action}\n< {observation}")
    print(f"\nsuccess={info['success']} reward={reward}")
    print(f"tool statistics: {info['episode']['tools']}")
    print(f"ledger open after the episode: {env.unwrapped.toolset(Ledger).is_open}")
    env.close()
