"""The generated catalogue and its goals: determinism, field sanity, the vocabulary's separation
under WebShop's fuzzy matching, and goals whose ``goal_ids`` are exactly the perfect purchases."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from agentgym.envs.web.shop.catalogue import DIFFICULTIES, generate_catalogue
from agentgym.envs.web.shop.matching import fuzzy_match, normalize_color
from agentgym.envs.web.shop.reward import attribute_matches, shop_reward
from agentgym.envs.web.shop.vocabulary import BRANDS, PRODUCT_TYPES, QUALIFIERS

SIZE = 1500


@pytest.fixture(scope="module")
def catalogue():
    return generate_catalogue(SIZE, 7)


def test_same_size_and_seed_give_the_same_catalogue(catalogue):
    again = generate_catalogue(SIZE, 7)
    assert again.products == catalogue.products


def test_a_smaller_catalogue_is_a_prefix_and_another_seed_differs(catalogue):
    small = generate_catalogue(200, 7)
    assert small.products == catalogue.products[:200]
    other = generate_catalogue(200, 8)
    assert sum(a.id == b.id for a, b in zip(other.products, small.products)) == 0


def test_products_are_well_formed(catalogue):
    ids = [p.id for p in catalogue.products]
    assert len(set(ids)) == len(ids) == SIZE
    assert len({p.type.name for p in catalogue.products}) == len(PRODUCT_TYPES)  # every type is used
    for product in catalogue.products:
        kind = product.type
        assert re.fullmatch(r"B0[A-Z2-9]{8}", product.id)
        assert 3 <= len(product.attributes) <= 5 and set(product.attributes) <= set(kind.attributes)
        assert len(set(product.attributes)) == len(product.attributes)
        assert [name for name, _ in product.options] == [name for name, _ in kind.options]
        for (name, values), (_, pool) in zip(product.options, kind.options):
            assert len(values) >= 2 and set(values) <= set(pool), (product.id, name)
        low, high = kind.price_range
        assert low <= product.price <= high and round(product.price, 2) == product.price
        assert 3.0 <= product.rating <= 5.0
        assert product.brand in BRANDS and product.title.startswith(product.brand + " ")
        assert product.title.split(" ", len(product.brand.split()) + 1)[len(product.brand.split())] in QUALIFIERS
        assert kind.name in product.title.lower() and kind.name in product.description
        assert product.features and product.reviews
        assert all(1 <= review.rating <= 5 for review in product.reviews)
        assert catalogue[product.id] is product and product in catalogue.by_type[kind.name]


def test_texts_credit_only_the_products_own_attributes(catalogue):
    """The reward's text check finds every attribute a product has and none it lacks."""
    for product in catalogue.products:
        for attribute in product.type.attributes:
            assert attribute_matches(product, [attribute]) == int(attribute in product.attributes), \
                (product.id, attribute)


def test_vocabulary_values_never_match_each_other():
    """No two attributes of a type, and no two option values of a type (across its groups,
    colours normalised), match under WebShop's rule; so choosing the wrong value never scores."""
    for kind in PRODUCT_TYPES:
        for a, b in itertools.combinations(kind.attributes, 2):
            assert not fuzzy_match(a, b), (kind.name, a, b)
        values = [value for _, group in kind.options for value in group]
        assert len(values) == len(set(values)), kind.name
        for a, b in itertools.combinations(values, 2):
            assert not fuzzy_match(normalize_color(a), normalize_color(b)), (kind.name, a, b)
    names = [kind.name for kind in PRODUCT_TYPES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_goals_describe_their_target(catalogue, difficulty):
    rng = random.Random(difficulty)
    levels = set()
    for _ in range(60):
        goal = catalogue.draw_goal(rng, difficulty)
        target = catalogue[goal.target_id]
        assert goal.type_name == target.type.name and goal.target_title == target.title
        assert set(goal.attributes) <= set(target.attributes)
        for name, value in goal.options.items():
            assert value in target.option_values(name)
            assert f"{name}: {value}" in goal.text
        for attribute in goal.attributes:
            assert attribute in goal.text
        assert goal.type_name in goal.text
        assert goal.price_upper % 10 == 0 and target.price < goal.price_upper
        assert 10 < goal.price_upper - target.price // 10 * 10 <= 40  # the 2nd to 4th multiple of ten above
        assert f"price lower than {goal.price_upper:.2f} dollars" in goal.text
        assert goal.target_id not in goal.text and target.brand not in goal.text
        easy = len(goal.attributes) == 1 and len(goal.options) == 1
        hard = len(goal.attributes) >= 2 and len(goal.options) == len(target.options)
        assert easy or hard
        levels.add("easy" if easy and not hard else "hard")
        if difficulty != "mixed":
            assert {"easy": easy, "hard": hard}[difficulty]
    if difficulty == "mixed":
        assert levels == {"easy", "hard"}


def test_goal_ids_are_exactly_the_perfect_purchases(catalogue):
    rng = random.Random(3)
    for _ in range(25):
        goal = catalogue.draw_goal(rng, "mixed")
        assert goal.target_id in goal.goal_ids
        perfect = {p.id for p in catalogue.products
                   if all(value in p.option_values(name) for name, value in goal.options.items())
                   and shop_reward(p, goal.options, goal).reward == 1.0}
        assert perfect == set(goal.goal_ids)


def test_bad_arguments_are_refused(catalogue):
    for size in (0, -1, 1.5, True, 10**7):
        with pytest.raises(ValueError, match="size"):
            generate_catalogue(size, 0)
    for seed in (-1, "0", 1.0):
        with pytest.raises(ValueError, match="seed"):
            generate_catalogue(10, seed)
    with pytest.raises(ValueError, match="difficulty"):
        catalogue.draw_goal(random.Random(0), "medium")
