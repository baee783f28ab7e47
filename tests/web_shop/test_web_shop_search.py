"""The shop's BM25 search: the formula on a tiny corpus (computed by hand), ranking rules, and
relevance on the generated catalogue (a product ranks in the top 10 for its own title)."""

from __future__ import annotations

import math
import random

import pytest

from agentgym.envs.web.shop.search import ProductSearch
from agentgym.envs.web.shop.site import load_shop


def test_bm25_scores_computed_by_hand():
    engine = ProductSearch(["red shirt", "red red hat", "blue shirt cotton"])
    # N = 3, "red" in 2 documents: idf = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln(1.6);
    # lengths 2, 3, 3 (mean 8/3): doc 0 tf 1, norm 1.2 (0.25 + 0.75 * 2 / (8/3)) = 0.975;
    # doc 1 tf 2, norm 1.2 (0.25 + 0.75 * 3 / (8/3)) = 1.3125.
    scores = engine.scores("red")
    idf = math.log(1.6)
    assert scores[0] == pytest.approx(idf * 2.2 / (1 + 0.975))
    assert scores[1] == pytest.approx(idf * 2 * 2.2 / (2 + 1.3125))
    assert scores[2] == 0.0
    assert engine.search("red", 10) == [1, 0]
    # A repeated query word counts once; unknown words add nothing.
    assert engine.scores("red RED zebra") == pytest.approx(scores)
    assert engine.search("zebra", 5) == [] and engine.search("", 5) == []


def test_ties_keep_catalogue_order_and_k_is_respected():
    engine = ProductSearch(["blue hat", "blue hat", "blue hat", "green hat"])
    assert engine.search("blue hat", 10) == [0, 1, 2, 3]
    assert engine.search("blue", 2) == [0, 1]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            engine.search("blue", bad)


def test_a_product_ranks_in_the_top_ten_for_its_own_title():
    shop = load_shop(5_000, 0)
    rng = random.Random(0)
    for _ in range(100):
        goal = shop.catalogue.draw_goal(rng, "mixed")
        ranked = [p.id for p in shop.search(goal.target_title, 10)]
        assert goal.target_id in ranked, goal.target_title


def test_searching_the_goal_words_finds_products_of_the_goal_type():
    shop = load_shop(5_000, 0)
    rng = random.Random(1)
    for _ in range(50):
        goal = shop.catalogue.draw_goal(rng, "easy")
        top = shop.search(" ".join((goal.type_name, *goal.attributes)), 10)
        assert sum(p.type.name == goal.type_name for p in top) >= 8
