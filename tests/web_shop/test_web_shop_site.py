"""One shopper's visit (``ShopSession``): every transition, refusals that change nothing, the
purchase's reward, and the text rendering of the pages."""

from __future__ import annotations

import random

import pytest

from agentgym.envs.web.shop.pages import BACK_TO_SEARCH, BUY, NEXT, PREV, render_text
from agentgym.envs.web.shop.reward import shop_reward
from agentgym.envs.web.shop.site import (
    MAX_QUERY_CHARS,
    RESULTS_PER_PAGE,
    ShopActionError,
    ShopSession,
    View,
    load_shop,
)


@pytest.fixture(scope="module")
def shop():
    return load_shop(5_000, 0)


@pytest.fixture
def session(shop):
    goal = shop.catalogue.draw_goal(random.Random(11), "hard")
    return ShopSession(shop, goal)


def test_search_results_and_paging(session, shop):
    page = session.page()
    assert page.kind == "search" and page.search_box and page.labels() == []
    session.search("  Bath   towel\tplush ")
    assert session.query == "Bath towel plush" and session.queries == ("Bath towel plush",)
    page = session.page()
    expected = [p.id for p in shop.search("bath towel plush")]
    assert len(expected) == 50
    assert page.kind == "results" and [row.product_id for row in page.results] == expected[:RESULTS_PER_PAGE]
    assert page.labels()[:2] == [BACK_TO_SEARCH, NEXT] and PREV not in page.labels()
    for number in range(2, 6):
        session.click("next >")  # labels compare without regard to case
        assert session.result_ids() == expected[(number - 1) * 10:number * 10]
    assert NEXT not in session.page().labels() and PREV in session.page().labels()
    session.click(PREV)
    assert session.result_ids() == expected[30:40]
    session.click(BACK_TO_SEARCH)
    assert session.kind == "search" and session.query is None and session.queries == ("Bath towel plush",)


def test_product_page_options_sub_pages_and_buying(session, shop):
    goal = session.goal
    session.search(goal.target_title)
    session.click(goal.target_id.lower())  # ids too
    product = shop.catalogue[goal.target_id]
    page = session.page()
    assert page.kind == "item" and page.heading == product.title and page.product_id == product.id
    assert [name for name, _ in page.option_groups] == [name for name, _ in product.options]
    assert page.labels()[-4:] == ["Description", "Features", "Reviews", BUY]
    (first_group, values), *_ = product.options
    session.click(values[0])
    session.click(values[1])  # a second value of a group replaces the first
    assert session.chosen_options == {first_group: values[1]}
    selected = [c.label for _, group in session.page().option_groups for c in group if c.selected]
    assert selected == [values[1]]
    for sub_page, text in (("Description", product.description), ("Features", product.features[0]),
                           ("Reviews", product.reviews[0].text)):
        session.click(sub_page)
        assert session.kind == sub_page.lower() and text in render_text(session.page())
        session.click(PREV)
        assert session.kind == "item" and session.chosen_options == {first_group: values[1]}  # kept
    for name, value in goal.options.items():
        session.click(value)
    session.click("  buy   NOW ")
    purchase = session.purchase
    assert session.done and session.kind == "done"
    assert purchase.product_id == product.id and purchase.options == goal.options
    assert purchase.breakdown == shop_reward(product, goal.options, goal) and purchase.reward == 1.0
    assert "Your score: 1.00" in render_text(session.page())
    for act in (lambda: session.click(BACK_TO_SEARCH), lambda: session.search("more")):
        with pytest.raises(ShopActionError, match="purchase is complete"):
            act()


def test_prev_on_a_product_page_returns_to_the_same_results_page(session):
    session.search(session.goal.type_name)
    session.click(NEXT)
    listed = session.result_ids()
    session.click(listed[3])
    session.click(PREV)
    assert session.kind == "results" and session.result_ids() == listed and session.chosen_options == {}


def test_refused_actions_change_nothing(session):
    with pytest.raises(ShopActionError, match="nothing to click"):
        session.click(BUY)
    for empty in ("", "   ", "\x00\x01"):
        with pytest.raises(ShopActionError, match="empty"):
            session.search(empty)
    session.search("yoga mat")
    before = (session.kind, session.result_ids(), session.steps)
    with pytest.raises(ShopActionError, match="no search box"):
        session.search("hoodie")
    with pytest.raises(ShopActionError) as refused:
        session.click("B0NOTHERE1")
    assert "you can click: Back to Search, Next >," in str(refused.value)
    with pytest.raises(ShopActionError):
        session.click(BUY)  # not on a product page
    assert (session.kind, session.result_ids(), session.steps) == before


def test_hostile_queries_are_cleaned(session):
    session.search("a\x00b\u2028c" + "\ud800" + "x" * 2000)
    assert session.query.startswith("a b c?x") and len(session.query) == MAX_QUERY_CHARS
    text = render_text(session.page())
    text.encode("utf-8")  # no lone surrogate survives


def test_text_rendering_lists_every_clickable(session):
    session.search(session.goal.target_title)
    text = render_text(session.page())
    assert text.startswith(f"Instruction: {session.goal.text}\n")
    for product_id in session.result_ids():
        assert f"[product] {product_id}" in text
    assert "[button] Back to Search" in text and "[button] Next >" in text
    assert text.rstrip().endswith("(e.g. click[Back to Search]).")
    session.click(session.result_ids()[0])
    text = render_text(session.page())
    for _, group in session.page().option_groups:
        for option in group:
            assert f"  [option] {option.label}" in text
    assert "[button] Buy Now" in text and "Price: $" in text


def test_a_link_leads_where_the_click_goes(shop):
    """``view_after`` (what the web app writes into each link) is exactly the click's outcome."""
    rng = random.Random(5)
    checked = 0
    for seed in range(20):
        session = ShopSession(shop, shop.catalogue.draw_goal(random.Random(seed), "mixed"))
        session.search(session.goal.type_name)
        for _ in range(15):
            choices = [c for c in session.page().clickables() if c.label != BUY]
            target = rng.choice(choices)
            expected = session.view_after(target)
            session.click(target.label)
            assert session.view == expected
            checked += 1
            if session.kind == "search":
                session.search(session.goal.type_name)
    assert checked == 300


def test_restoring_a_view_checks_and_normalises_it(session, shop):
    product = next(p for p in shop.catalogue.products if len(p.options) == 2)
    (first, first_values), (second, second_values) = product.options
    session.restore(View("item", " bath  towel ", 1, product.id, ((second, second_values[0]), (first, first_values[0]))))
    assert session.view == View("item", "bath towel", 1, product.id, ((first, first_values[0]), (second, second_values[0])))
    assert session.kind == "item" and session.product is product
    before = session.view
    for bad, message in ((View("item", "bath towel", 1, "B0NOTHERE1"), "no product"),
                         (View("item", "bath towel", 1, product.id, ((first, "plaid"),)), "has no option"),
                         (View("item", "bath towel", 1, product.id, ((first, first_values[0]), (first, first_values[1]))),
                          "chosen twice"),
                         (View("results", "bath towel", 6), "results pages 1 to 5"),
                         (View("results", "", 1), "needs a search query"),
                         (View("checkout"), "no page of kind")):
        with pytest.raises(ShopActionError, match=message):
            session.restore(bad)
        assert session.view == before
    session.restore(View("search", "ignored", 3))
    assert session.view == View()
    session.restore(View("item", "bath towel", 1, product.id))
    session.click(BUY)
    with pytest.raises(ShopActionError, match="purchase is complete"):
        session.restore(View())
