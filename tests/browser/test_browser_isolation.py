"""Every session is a fresh browser context: nothing one episode stored is seen by the next,
although both run in the same browser process."""

from __future__ import annotations

STORE = """async () => {
  document.cookie = "script_cookie=js; path=/; max-age=3600";
  localStorage.setItem("local", "kept?");
  sessionStorage.setItem("session", "kept?");
  await new Promise((done, fail) => {
    const request = indexedDB.open("agentgym-test", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("things");
    request.onsuccess = () => {
      const tx = request.result.transaction("things", "readwrite");
      tx.objectStore("things").put("remembered", "key");
      tx.oncomplete = () => { request.result.close(); done(); };
      tx.onerror = () => fail(tx.error);
    };
    request.onerror = () => fail(request.error);
  });
  return true;
}"""

READ = """async (cookieUrl) => {
  const databases = await indexedDB.databases();
  const script = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/cached.js"));
  return {
    cookie: document.cookie,
    serverCookie: await fetch(cookieUrl).then((r) => r.text()),
    local: localStorage.getItem("local"),
    session: sessionStorage.getItem("session"),
    databases: databases.map((d) => d.name),
    scriptLoads: window.cachedLoads || 0,
    scriptFromNetwork: script ? script.transferSize > 0 : null,
  };
}"""


def test_storage_and_cache_do_not_outlive_the_session(pool, site):
    page_url = site.page("/iso/page.html", "<title>iso</title><script src='/cached.js'></script><p>iso</p>")
    first = pool.open_session()
    try:
        first.run(lambda page: page.goto(site.url("/set-cookie")))
        first.run(lambda page: page.goto(page_url))
        assert first.run(lambda page: page.evaluate(STORE))
        first.run(lambda page: page.goto(page_url))  # a second visit within the session
        seen = first.run(lambda page: page.evaluate(READ, site.url("/echo-cookie")))
        # Everything is really stored, within the session:
        assert "visit=first" in seen["cookie"] and "script_cookie=js" in seen["cookie"]
        assert "visit=first" in seen["serverCookie"]
        assert seen["local"] == "kept?" and seen["session"] == "kept?"
        assert seen["databases"] == ["agentgym-test"]
        worker, generation = first.worker, first.generation
    finally:
        first.close()
    script_fetches = site.hits["/cached.js"]

    second = pool.open_session()
    try:
        assert second.worker is worker and second.generation == generation  # the same browser
        second.run(lambda page: page.goto(page_url))
        fresh = second.run(lambda page: page.evaluate(READ, site.url("/echo-cookie")))
    finally:
        second.close()
    assert fresh == {"cookie": "", "serverCookie": "", "local": None, "session": None, "databases": [],
                     "scriptLoads": 1, "scriptFromNetwork": True}
    assert site.hits["/cached.js"] == script_fetches + 1  # fetched again: no HTTP cache carried over


def test_sessions_open_at_once_do_not_share_either(pool, site):
    page_url = site.page("/iso/side.html", "<p>side by side</p>")
    one, two = pool.open_session(), pool.open_session()
    try:
        for session in (one, two):
            session.run(lambda page: page.goto(page_url))
        one.run(lambda page: page.evaluate("() => { localStorage.setItem('who', 'one'); document.cookie = 'who=one'; }"))
        assert two.run(lambda page: page.evaluate("() => [localStorage.getItem('who'), document.cookie]")) == [None, ""]
        assert one.run(lambda page: page.evaluate("() => [localStorage.getItem('who'), document.cookie]")) == ["one", "who=one"]
    finally:
        one.close()
        two.close()
