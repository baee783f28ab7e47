"""WebShop's reward on hand-built purchases; every expected value is computed by hand in the
comments (and in the table of ``reward.py``'s docstring).

The goal: a snack pack, attributes "gluten free" and "low sugar", options flavor "sea salt" and
size "12 count", price below 30.00, so the denominator is 2 + 2 + 1 = 5. Its title has 11
content words: harbor lane classic snack pack gluten free low sugar sea salt.
"""

from __future__ import annotations

import pytest

from agentgym.envs.web.shop.catalogue import Goal, Product, Review
from agentgym.envs.web.shop.reward import shop_reward, title_words, type_reward
from agentgym.envs.web.shop.vocabulary import PRODUCT_TYPES

TYPES = {kind.name: kind for kind in PRODUCT_TYPES}
SNACKS, SHAMPOO = TYPES["snack pack"], TYPES["shampoo"]

GOAL = Goal(
    text="i need a gluten free and low sugar snack pack with flavor: sea salt, and size: 12 count, and price "
         "lower than 30.00 dollars",
    target_id="B0TARGET00", type_name="snack pack", category=SNACKS.category,
    target_title="Harbor Lane Classic Snack Pack, Gluten Free, Low Sugar, Sea Salt",
    attributes=("gluten free", "low sugar"), options={"flavor": "sea salt", "size": "12 count"}, price_upper=30.0)
PERFECT_OPTIONS = {"flavor": "sea salt", "size": "12 count"}


def product(title: str, attributes: tuple[str, ...], *, kind=SNACKS, price: float = 24.50,
            description: str = "A product.", features: tuple[str, ...] = ("Made with care.",)) -> Product:
    return Product(id="B0TEST0000", type=kind, brand=title.split()[0], title=title, attributes=attributes,
                   options=kind.options, price=price, rating=4.0, description=description, features=features,
                   reviews=(Review(5, "Good."),))


SNACK = product("Northbrook Prime Snack Pack, Gluten Free, Low Sugar", ("gluten free", "low sugar", "vegan"))
GLUTEN_FREE_SNACK = product("Northbrook Prime Snack Pack, Gluten Free", ("gluten free", "dairy free"))


def test_title_words_drop_stop_words_numbers_and_single_letters():
    assert title_words(GOAL.target_title) == {"harbor", "lane", "classic", "snack", "pack", "gluten", "free", "low",
                                              "sugar", "sea", "salt"}
    assert title_words("A 12 x Pack of the Best") == {"pack", "best"}


def test_a_perfect_purchase_scores_one():
    result = shop_reward(SNACK, PERFECT_OPTIONS, GOAL)
    assert result.reward == 1.0                                      # 1 x (2 + 2 + 1) / 5
    assert (result.attribute_matches, result.option_matches, result.price_ok) == (2, 2, True)
    assert result.query_match and result.category_match and result.r_type == 1.0
    assert result.title_score == pytest.approx(6 / 11)  # snack pack gluten free low sugar


@pytest.mark.parametrize("bought, options, price, expected", [
    (SNACK, {"flavor": "barbecue", "size": "12 count"}, None, 4 / 5),         # a wrong option: (2 + 1 + 1) / 5
    (GLUTEN_FREE_SNACK, {"flavor": "barbecue", "size": "12 count"}, None, 3 / 5),  # one attribute: (1 + 1 + 1) / 5
    (GLUTEN_FREE_SNACK, {"flavor": "barbecue", "size": "12 count"}, 31.0, 2 / 5),  # over the price: (1 + 1 + 0) / 5
    (SNACK, {}, None, 3 / 5),                                                   # no option chosen: (2 + 0 + 1) / 5
    (SNACK, PERFECT_OPTIONS, 30.0, 1.0),                                         # the limit itself is allowed
])
def test_partial_purchases(bought, options, price, expected):
    assert shop_reward(bought, options, GOAL, price=price).reward == pytest.approx(expected)


def test_an_attribute_named_in_the_texts_counts():
    # "low sugar" is not among the attributes, but the description says it verbatim: 2 attributes.
    said = product("Northbrook Prime Snack Pack, Gluten Free", ("gluten free",), description="Tasty and low sugar.")
    assert shop_reward(said, PERFECT_OPTIONS, GOAL).attribute_matches == 2
    # a phrase split between the title and the features does not count
    split = product("Northbrook Prime Snack Pack Low", ("gluten free",), features=("sugar rush",))
    assert shop_reward(split, PERFECT_OPTIONS, GOAL).attribute_matches == 1


def test_wrong_types():
    # No title word in common: r_type = 0, whatever else matches.
    nothing = product("Westbay Signature Shampoo, Volumizing", ("vegan",), kind=SHAMPOO)
    result = shop_reward(nothing, {}, GOAL)
    assert (result.title_score, result.r_type, result.reward) == (0.0, 0.0, 0.0)
    # One word of 11 ("classic", 0.09 < 0.1): r_type = 0.1; only the price matches: 0.1 x 1 / 5.
    one = product("Westbay Classic Shampoo, Volumizing", ("vegan",), kind=SHAMPOO)
    result = shop_reward(one, {}, GOAL)
    assert result.r_type == 0.1 and result.reward == pytest.approx(0.02)
    assert not result.query_match and not result.category_match
    # Two words of 11 (0.18, from 0.1 to 0.2), another category: r_type = 0.5; one attribute and
    # the price: 0.5 x (1 + 0 + 1) / 5.
    two = product("Westbay Classic Shampoo, Gluten Wash", ("gluten free",), kind=SHAMPOO)
    result = shop_reward(two, {}, GOAL)
    assert result.title_score == pytest.approx(2 / 11)
    assert result.r_type == 0.5 and result.reward == pytest.approx(0.2)


def test_type_match_by_query_or_category_or_title():
    # Same type, few shared title words (2 of 11): the query match keeps r_type at 1.
    assert type_reward(product("Westbay Prime Snack Pack", ()), GOAL)[:2] == (1.0, True)
    # Three of 11 words (0.27 > 0.2): r_type 1 even for another type and category.
    assert type_reward(product("Westbay Classic Shampoo, Sea Salt", (), kind=SHAMPOO), GOAL)[0] == 1.0
    # Two shared category levels (grocery > snacks) count as the same kind.
    bars = TYPES["protein bar"]
    r_type, query_match, category_match, _ = type_reward(product("Westbay Classic Protein Bar, Sea Bites", (),
                                                                  kind=bars), GOAL)
    assert (r_type, query_match, category_match) == (1.0, False, True)


def test_colour_options_are_normalised():
    kind = TYPES["t-shirt"]
    goal = Goal(text="a navy t-shirt", target_id="B0TARGET00", type_name="t-shirt", category=kind.category,
                target_title="Westbay Classic T-Shirt", attributes=(), options={"color": "navy"}, price_upper=40.0)
    shirt = product("Westbay Classic T-Shirt", ("soft cotton",), kind=kind, price=20.0)
    assert shop_reward(shirt, {"color": "navy blue"}, goal).reward == 1.0   # (0 + 1 + 1) / 2
    assert shop_reward(shirt, {"color": "blue"}, goal).reward == 0.5        # (0 + 0 + 1) / 2
    breakdown = shop_reward(shirt, {"color": "navy"}, goal).to_dict()
    assert breakdown["n_options"] == 1 and breakdown["n_attributes"] == 0 and breakdown["option_matches"] == 1
