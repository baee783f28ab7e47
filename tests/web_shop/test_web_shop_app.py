"""The shop's web app over real sockets (httpx against 127.0.0.1): a whole visit by following
the page's own links, addresses that restore a page (the back button), 404s, 400s and 405s,
HTML escaping, isolated sessions, and a close that leaves no thread or listening port."""

from __future__ import annotations

import random
import re
import socket
import threading
from html import unescape

import httpx
import pytest

from agentgym.envs.web.shop.app import MAX_BODY_BYTES, ShopApp, shared_app, view_path
from agentgym.envs.web.shop.site import View, load_shop


@pytest.fixture(scope="module")
def shop():
    return load_shop(5_000, 0)


@pytest.fixture(scope="module")
def app(shop):
    with ShopApp(shop) as app:
        yield app


@pytest.fixture
def client(app):
    with httpx.Client(base_url=app.url, follow_redirects=False, timeout=10.0) as client:
        yield client


def goal(shop, seed=0, difficulty="hard"):
    return shop.catalogue.draw_goal(random.Random(seed), difficulty)


def links(html: str) -> dict[str, str]:
    """Each link's text -> its address, as a browser reads them."""
    return {unescape(text): unescape(href) for href, text in re.findall(r'<a [^>]*href="([^"]*)">([^<]*)</a>', html)}


def buy_action(html: str) -> str:
    return unescape(re.search(r'<form class="buy" method="post" action="([^"]*)">', html).group(1))


def test_a_whole_visit_by_following_links(app, client, shop):
    target = goal(shop)
    sid = app.open_session(target)
    base = f"/s/{sid}"
    assert app.session_url(sid) == f"{app.url}{base}/search"  # a new session: the search page
    page = client.get(f"{base}/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert f'<form method="get" action="{base}/search" role="search">' in page.text
    assert '<input type="search" name="q"' in page.text and target.text in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")  # no script at all
    assert page.headers["cache-control"] == "no-store"
    results = client.get(f"{base}/search", params={"q": target.target_title})  # what the search form sends
    assert results.status_code == 200 and app.get_session(sid).kind == "results"
    found = links(results.text)
    assert target.target_id in found and "Next >" in found and "Back to Search" in found
    item = client.get(found[target.target_id])
    assert f"<h1>{shop.catalogue[target.target_id].title}</h1>" in item.text
    for value in target.options.values():
        item = client.get(links(item.text)[value])
        assert item.status_code == 200
    for value in target.options.values():
        assert re.search(rf'aria-pressed="true" href="[^"]*">{re.escape(value)}</a>', item.text)
    features = client.get(links(item.text)["Features"])
    assert shop.catalogue[target.target_id].features[0] in unescape(features.text)
    item = client.get(links(features.text)["< Prev"])  # back to the product, options kept
    assert app.get_session(sid).chosen_options == dict(target.options)
    assert client.post(buy_action(item.text).replace("?", "/features?", 1)).status_code == 404
    assert client.get(buy_action(item.text)).status_code == 405 and not app.get_session(sid).done
    bought = client.post(buy_action(item.text))
    assert bought.status_code == 303 and bought.headers["location"] == f"{base}/"
    session = app.get_session(sid)
    assert session.done and session.purchase.reward == 1.0 and session.purchase.options == dict(target.options)
    done = client.get(f"{base}/")
    assert "Your score: 1.00" in done.text and client.head(f"{base}/").status_code == 200
    again = client.post(buy_action(item.text))  # a second purchase is refused
    assert again.status_code == 400 and "the purchase is complete" in again.text
    assert client.get(found["Next >"]).status_code == 400
    app.close_session(sid)


def test_an_address_shows_its_page_like_the_back_button(app, client, shop):
    sid = app.open_session(goal(shop, 1))
    base = f"/s/{sid}"
    first = client.get(f"{base}/search", params={"q": "yoga mat"})
    second = client.get(links(first.text)["Next >"])
    assert "page 2 of 5" in second.text and app.get_session(sid).result_ids()[0] in links(second.text)
    product = app.get_session(sid).result_ids()[0]
    client.get(links(second.text)[product])
    assert app.get_session(sid).kind == "item"
    back = client.get(f"{base}{view_path(View('results', 'yoga mat', 1))}")  # "back" twice
    assert back.status_code == 200 and "page 1 of 5" in back.text
    session = app.get_session(sid)
    assert session.kind == "results" and session.view.results_page == 1
    assert session.queries == ("yoga mat",)  # paging and going back do not search again
    app.close_session(sid)


def test_following_the_search_form_like_a_browser(app, shop):
    sid = app.open_session(goal(shop, 2))
    with httpx.Client(base_url=app.url, timeout=10.0) as client:
        page = client.get(f"/s/{sid}/search?q=coffee+mug")
        assert page.status_code == 200 and "Results 1-10 of 50 for &quot;coffee mug&quot;" in page.text
        empty = client.get(f"/s/{sid}/search?q=++")
        assert empty.status_code == 400 and "the search query is empty" in empty.text
        assert '<input type="search"' in empty.text  # the search page, with the error
    app.close_session(sid)


@pytest.mark.parametrize("address, status, message", [
    ("/results?q=hat&page=0", 400, "results pages 1 to"),
    ("/results?q=hat&page=99", 400, "results pages 1 to"),
    ("/results?q=hat&page=two", 400, "page must be a results page number"),
    ("/results?page=1", 400, "needs a search query"),
    ("/item/B0NOTHERE1?q=hat&page=1", 404, "there is no product"),
    ("/item/{pid}?q=hat&page=1&o.color=plaid", 400, "has no option color"),
    ("/item/{pid}?q=hat&page=1&o.flavour=x", 400, "has no option flavour"),
    ("/item/{pid}/manual?q=hat", 404, "no page at this address"),
])
def test_refused_addresses_show_the_error(app, client, shop, address, status, message):
    sid = app.open_session(goal(shop, 3))
    pid = next(p.id for p in shop.catalogue.products if p.type.name == "hoodie")
    response = client.get(f"/s/{sid}" + address.format(pid=pid))
    assert response.status_code == status and message in unescape(response.text)
    assert app.get_session(sid).kind == "search" and app.get_session(sid).steps == 0
    app.close_session(sid)


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/", 404),
    ("GET", "/favicon.ico", 404),
    ("GET", "/s/", 404),
    ("GET", "/s/not-a-session-id-at-all/", 404),
    ("GET", "/s/AAAAAAAAAAAAAAAAAAAAAA/", 404),
    ("GET", "/s/AAAAAAAAAAAAAAAAAAAAAA/../../etc/passwd", 404),
    ("GET", "/s/AAAAAAAAAAAAAAAAAAAAAA/admin", 404),
    ("POST", "/s/AAAAAAAAAAAAAAAAAAAAAA/buy/B0AAAAAAAA", 404),
    ("POST", "/s/AAAAAAAAAAAAAAAAAAAAAA/buy/B0AAAAAAAA/features", 404),
    ("GET", "/s/AAAAAAAAAAAAAAAAAAAAAA/buy/B0AAAAAAAA", 405),
    ("POST", "/s/AAAAAAAAAAAAAAAAAAAAAA/search", 405),
    ("PUT", "/s/AAAAAAAAAAAAAAAAAAAAAA/", 405),
    ("DELETE", "/s/AAAAAAAAAAAAAAAAAAAAAA/results", 405),
])
def test_unknown_paths_and_methods_are_refused(client, method, path, status):
    response = client.request(method, path)
    assert response.status_code == status
    if status == 405:
        assert response.headers["allow"] in ("GET, HEAD", "POST")


def test_large_bodies_are_refused(app, client, shop):
    target = goal(shop, 4)
    sid = app.open_session(target)
    view = View("item", "hat", 1, target.target_id)
    response = client.post(f"/s/{sid}{view_path(view).replace('/item/', '/buy/')}", content=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413 and not app.get_session(sid).done
    app.close_session(sid)


def test_every_text_is_escaped(app, client, shop):
    sid = app.open_session(goal(shop, 5))
    hostile = '<script>alert("x")</script> "quoted" & <img src=x onerror=alert(1)>'
    page = client.get(f"/s/{sid}/search", params={"q": hostile}).text
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &quot;quoted&quot; &amp; &lt;img" in page
    for href in links(page).values():  # the query travels in every link, encoded
        assert "<" not in href and '"' not in href
    refused = client.get(f"/s/{sid}/results", params={"q": hostile, "page": "77"}).text
    assert "<script" not in refused and "&#x27;&lt;script&gt;alert(&quot;x&quot;)" in refused
    app.close_session(sid)


def test_sessions_are_isolated(app, client, shop):
    first, second = app.open_session(goal(shop, 6)), app.open_session(goal(shop, 7))
    assert first != second
    client.get(f"/s/{first}/search", params={"q": "coffee mug"})
    assert app.get_session(first).kind == "results" and app.get_session(second).kind == "search"
    other = client.get(f"/s/{second}/").text
    assert "coffee mug" not in other and goal(shop, 7).text in other
    app.close_session(first)
    assert client.get(f"/s/{first}/").status_code == 404
    assert client.get(f"/s/{second}/").status_code == 200
    app.close_session(second)


def test_concurrent_visits(app, shop):
    ids = [app.open_session(goal(shop, seed)) for seed in range(8)]
    failures = []

    def visit(sid):
        try:
            with httpx.Client(base_url=app.url, timeout=10.0) as client:
                for word in ("hoodie", "socks", "honey"):
                    page = client.get(f"/s/{sid}/search", params={"q": word})
                    assert f"for &quot;{word}&quot;" in page.text
                    client.get(links(page.text)["Back to Search"])
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=visit, args=(sid,)) for sid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    for sid in ids:
        assert app.get_session(sid).queries == ("hoodie", "socks", "honey") and app.get_session(sid).kind == "search"
        app.close_session(sid)


def test_the_least_recently_used_sessions_are_dropped_beyond_the_cap(shop):
    with ShopApp(shop, max_sessions=3) as app:
        ids = [app.open_session(goal(shop, seed)) for seed in range(3)]
        app.get_session(ids[0])  # recently used: kept
        newest = app.open_session(goal(shop, 9))
        assert app.open_sessions == 3 and app.get_session(ids[1]) is None
        assert all(app.get_session(sid) is not None for sid in (ids[0], ids[2], newest))


def test_close_frees_the_port_and_the_thread(shop):
    threads_before = {t.ident for t in threading.enumerate()}
    app = ShopApp(shop)
    with httpx.Client(base_url=app.url, timeout=10.0) as client:
        assert client.get("/").status_code == 404
    port = app.port
    app.close()
    app.close()  # idempotent
    assert app.closed and app.open_sessions == 0
    assert {t.ident for t in threading.enumerate()} <= threads_before
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT of closed connections
        again.bind(("127.0.0.1", port))  # and the port is free


def test_the_shared_app_is_one_per_shop():
    first = shared_app(5_000, 0)
    assert shared_app(5_000, 0) is first and first.host == "127.0.0.1"
    assert shared_app(800, 0) is not first
