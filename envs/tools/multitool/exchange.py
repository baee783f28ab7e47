"""A currency exchange desk: per-episode exchange rates and a ``convert_currency`` tool.

Rates are units of a currency per US dollar, drawn for each episode around typical values
(:func:`draw_rates`); a conversion goes through the dollar and is rounded to cents
(:func:`convert`), so the gold answer of a task and the tool's result are the same number.
"""

from __future__ import annotations

import random
from typing import Literal

from agentgym.tools import ToolError, Toolset, tool

#: Typical units per US dollar; each episode's rates are these within ±3 %.
TYPICAL_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CHF": 0.88, "CAD": 1.36, "AUD": 1.52, "JPY": 155.0}
CURRENCIES = tuple(TYPICAL_RATES)
Currency = Literal["USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY"]


def draw_rates(rng: random.Random) -> dict[str, float]:
    """This episode's rates (the dollar stays 1)."""
    return {code: 1.0 if code == "USD" else round(typical * rng.uniform(0.97, 1.03), 4)
            for code, typical in TYPICAL_RATES.items()}


def convert(rates: dict[str, float], amount: float, from_currency: str, to_currency: str) -> float:
    """``amount`` of ``from_currency`` in ``to_currency``, rounded to cents."""
    return round(amount / rates[from_currency] * rates[to_currency], 2)


class ExchangeDesk(Toolset):
    """Currency conversion at the episode's rates (loaded by the environment with :meth:`load`)."""

    def open(self) -> None:
        self.rates: dict[str, float] | None = None

    def close(self) -> None:
        self.rates = None

    def load(self, rates: dict[str, float]) -> None:
        self.rates = dict(rates)

    @tool
    def convert_currency(self, amount: float, from_currency: Currency, to_currency: Currency) -> float:
        """Convert an amount of money from one currency to another at today's rate; the result is
        rounded to cents. Store prices and credit are in USD.

        Args:
            amount: the amount in from_currency.
            from_currency: the currency of the amount (ISO code).
            to_currency: the currency to convert to (ISO code).
        """
        rates = getattr(self, "rates", None)
        if rates is None:
            raise ToolError("the exchange desk is closed (no episode is running)")
        if abs(amount) > 1e12:
            raise ToolError("the amount is too large: at most a trillion")
        return convert(rates, amount, from_currency, to_currency)
