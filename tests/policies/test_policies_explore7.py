"""Exploratory round 7: the non-model policies, policy specs and the hub check, met the way a
demanding user meets them (hostile configuration, odd arguments)."""

from __future__ import annotations

import pytest

from agentgym.policies.hub import hub_reachable, loadable_source


def _no_proxy(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy",
                 "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("endpoint", ["https://hub.example:abc", "https://hub.example:99999", "http://[::1"],
                         ids=["port-not-a-number", "port-out-of-range", "broken-ipv6"])
def test_a_malformed_hf_endpoint_is_an_unreachable_hub_not_a_crash(endpoint, monkeypatch, tmp_path):
    """``hub_reachable`` answers a bool; a malformed ``HF_ENDPOINT`` (a mistyped mirror) is a hub
    that cannot be reached, and an uncached name then fails saying so, naming the endpoint."""
    _no_proxy(monkeypatch)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert hub_reachable(timeout=0.5) is False
    with pytest.raises(OSError, match="not in the local Hugging Face cache") as raised:
        loadable_source("tiny-org/not-downloaded", is_folder=False)
    assert endpoint in str(raised.value)
