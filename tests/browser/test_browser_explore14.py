"""Round-14 probe of what the agent sees: the DOM text keeps passwords as the tree does."""

from __future__ import annotations

from agentgym.browser.observe import observe


def test_dom_text_never_shows_a_password_fields_value(form):
    """The tree shows a password field's value as bullets; the DOM text (dom_text=True) gave
    the field's value attribute as it was, 'secret' in clear."""
    dom = observe(form, dom_text=True)["dom"]
    assert 'id="pw"' in dom and "secret" not in dom and 'value="••••••"' in dom
    # The page itself is untouched: the field keeps its value.
    assert form.run(lambda page: page.evaluate("() => document.getElementById('pw').value")) == "secret"
