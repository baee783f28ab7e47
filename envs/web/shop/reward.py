r"""WebShop's reward for a purchase.

.. math::

    r = r_\text{type} \cdot \frac{|A_\text{match}| + |O_\text{match}| + \mathbb{1}[p \le p_\text{max}]}
                                 {|A| + |O| + 1}

where :math:`A` are the goal's attributes, :math:`O` its options, :math:`p` the price paid and
:math:`p_\text{max}` the instruction's limit.

* **Attribute matches** :math:`A_\text{match}`: a goal attribute counts when one of the bought
  product's attributes fuzzy-matches it (token-set score above 85, :mod:`.matching`), or
  when it appears verbatim (lower case) in the product's title, its features (joined) or its
  description.
* **Option matches** :math:`O_\text{match}`: a goal option value counts when one of the chosen
  option values fuzzy-matches it, both after colour normalisation (``"navy blue"`` ->
  ``"navy"``). Only the *chosen* values count: a product that offers the value but was bought
  without choosing it does not match.
* **Type** :math:`r_\text{type}`, from the goal product's title and the bought one's:
  ``title_score`` is the share of the goal title's words found among the bought title's
  words (content words: lower-case words of two letters or more that are not stop words or
  numbers; WebShop keeps the nouns a part-of-speech tagger finds, which for these generated
  titles of brands, type names and attribute phrases are nearly the same words).
  :math:`r_\text{type}` is 1 if the product is of the goal's type (WebShop's query match), or
  shares at least two levels of its category path, or ``title_score > 0.2``; else 0.5. Then
  it becomes 0.1 if ``title_score < 0.1``, and 0 if ``title_score == 0`` (these two override
  the first rule, as in WebShop).

Hand-computed cases (goal: a ``snack pack``, attributes ``gluten free`` and ``low sugar``,
options ``flavor: sea salt`` and ``size: 12 count``, price below 30.00; so the denominator
is 2 + 2 + 1 = 5), all checked in ``tests/web_shop/test_web_shop_reward.py``:

==========================================================  ===========================
purchase                                                     reward
==========================================================  ===========================
a snack pack that is gluten free and low sugar, sea salt,    (2 + 2 + 1) / 5 = 1.0
12 count, 24.50
the same with flavor barbecue                                (2 + 1 + 1) / 5 = 0.8
a gluten free (not low sugar) snack pack, barbecue,          (1 + 1 + 1) / 5 = 0.6
12 count, 24.50
the same at 31.00                                            (1 + 1 + 0) / 5 = 0.4
the first, bought without choosing any option                (2 + 0 + 1) / 5 = 0.6
a shampoo sharing no title word with the goal title          0 x ... = 0.0
a product of another type and category whose title shares    0.1 x (0 + 0 + 1) / 5 = 0.02
1 of the goal title's 11 words (title score 1/11 < 0.1)
another type and category, title score 2/11 (0.1 to 0.2)     0.5 x (1 + 0 + 1) / 5 = 0.2
with one goal attribute
==========================================================  ===========================

And with colour normalisation: a goal ``color: navy`` is matched by a chosen ``navy blue``
(both normalise to ``navy``) but not by ``blue`` alone.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from typing import Mapping

from .catalogue import Goal, Product
from .matching import fuzzy_match, normalize_color

_STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or that the this to with".split())
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class RewardBreakdown:
    """The reward of one purchase and its parts (WebShop's verbose reward information)."""

    reward: float
    r_type: float
    attribute_matches: int
    option_matches: int
    price_ok: bool
    n_attributes: int
    n_options: int
    query_match: bool
    category_match: bool
    title_score: float

    def to_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=16_384)
def title_words(title: str) -> frozenset[str]:
    """The content words of a title (see the module docstring)."""
    return frozenset(w for w in _WORD.findall(title.lower()) if len(w) >= 2 and w not in _STOP_WORDS)


def type_reward(product: Product, goal: Goal) -> tuple[float, bool, bool, float]:
    """``(r_type, query_match, category_match, title_score)`` of buying ``product`` for ``goal``."""
    query_match = product.type.name == goal.type_name
    category_match = len(set(product.category) & set(goal.category)) >= 2
    wanted = title_words(goal.target_title)
    title_score = len(wanted & title_words(product.title)) / len(wanted) if wanted else 0.2
    r_type = 1.0 if (query_match or category_match or title_score > 0.2) else 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return r_type, query_match, category_match, title_score


def attribute_matches(product: Product, goal_attributes: tuple[str, ...] | list[str]) -> int:
    """How many goal attributes the product has (fuzzily) or names in its texts."""
    return sum(_has_attribute(product, wanted) for wanted in goal_attributes)


@functools.lru_cache(maxsize=65_536)
def _has_attribute(product: Product, wanted: str) -> bool:
    """One goal attribute's match: fuzzily among the product's attributes, or verbatim in its
    title, its features (joined) or its description, each searched on its own."""
    if any(fuzzy_match(have, wanted) for have in product.attributes):
        return True
    phrase = wanted.lower()
    return any(phrase in text for text in (product.title.lower(), " ".join(product.features).lower(),
                                           product.description.lower()))


def option_matches(chosen: Mapping[str, str], goal_options: Mapping[str, str]) -> int:
    """How many goal option values are among the chosen ones (fuzzily, colours normalised)."""
    picked = [normalize_color(value) for value in chosen.values()]
    count = 0
    for wanted in goal_options.values():
        wanted = normalize_color(wanted)
        if any(fuzzy_match(value, wanted) for value in picked):
            count += 1
    return count


def shop_reward(product: Product, chosen_options: Mapping[str, str], goal: Goal,
                price: float | None = None) -> RewardBreakdown:
    """WebShop's reward for buying ``product`` with ``chosen_options`` at ``price`` (default:
    the product's price) for ``goal``; see the module docstring."""
    paid = product.price if price is None else price
    r_type, query_match, category_match, title_score = type_reward(product, goal)
    attributes = attribute_matches(product, goal.attributes)
    options = option_matches(chosen_options, goal.options)
    price_ok = paid <= goal.price_upper
    denominator = len(goal.attributes) + len(goal.options) + 1
    reward = r_type * (attributes + options + int(price_ok)) / denominator
    return RewardBreakdown(reward=reward, r_type=r_type, attribute_matches=attributes, option_matches=options,
                           price_ok=price_ok, n_attributes=len(goal.attributes), n_options=len(goal.options),
                           query_match=query_match, category_match=category_match, title_score=title_score)
