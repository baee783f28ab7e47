"""A hub name on a machine whose hub cannot be reached: read from the local cache at once,
never a minute of ``huggingface_hub``'s connection retries (``agentgym.policies.hub``).

The hub is pointed (``HF_ENDPOINT``) at a loopback port that is bound but not listening, so every
connection to it is refused, as on a machine without network; each load runs in a fresh
interpreter, since ``huggingface_hub`` reads its endpoint and cache folder when imported.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from agentgym.policies.hub import hub_reachable, loadable_source

from tests.policies.conftest import make_tiny_model


@pytest.fixture
def refused_endpoint():
    """``http://127.0.0.1:PORT`` where connections are refused (the port is held, not listened on)."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{held.getsockname()[1]}"
    held.close()


@pytest.fixture
def hub_cache(tmp_path, smollm2_tokenizer):
    """A hub cache folder holding ``tiny-org/tiny-llama`` (a tiny random Llama and SmolLM2's
    tokenizer) laid out as ``huggingface_hub`` stores a download."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny-org--tiny-llama"
    snapshot = repo / "snapshots" / revision
    make_tiny_model(len(smollm2_tokenizer)).save_pretrained(snapshot)
    smollm2_tokenizer.save_pretrained(snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return tmp_path / "hub"


def run_offline(code: str, endpoint: str, cache) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HF_") and k != "TRANSFORMERS_OFFLINE" and not k.lower().endswith("_proxy")}
    env.update(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache), HF_HUB_DISABLE_TELEMETRY="1")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_reachability_is_a_real_connection(refused_endpoint, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", refused_endpoint)
    assert not hub_reachable()
    with socket.create_server(("127.0.0.1", 0)) as listening:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{listening.getsockname()[1]}/")
        assert hub_reachable()
    monkeypatch.setenv("HF_ENDPOINT", "http://no-such-host.invalid")
    assert not hub_reachable()


def test_behind_a_proxy_the_decision_is_left_to_hugging_face(refused_endpoint, monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", refused_endpoint)
    with pytest.raises(OSError, match="not in the local Hugging Face cache"):
        loadable_source("tiny-org/not-downloaded", is_folder=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")  # a direct connection tells nothing
    assert loadable_source("tiny-org/not-downloaded", is_folder=False) == "tiny-org/not-downloaded"


def test_an_uncached_hub_name_fails_at_once_saying_why(refused_endpoint, tmp_path):
    result = run_offline(
        "from agentgym.policies import make_policy\n"
        "try:\n    make_policy('hf:tiny-org/not-downloaded')\n"
        "except ValueError as exc:\n    print('ERROR', exc)\n", refused_endpoint, tmp_path / "empty-cache")
    assert result.returncode == 0, result.stderr
    assert "ERROR policy 'hf:tiny-org/not-downloaded'" in result.stdout
    assert "is not in the local Hugging Face cache" in result.stdout and refused_endpoint in result.stdout
    assert "Retrying" not in result.stderr  # huggingface_hub's five retries, 1 + 2 + 4 + 8 + 8 s


def test_a_cached_hub_name_loads_without_the_hub(refused_endpoint, hub_cache):
    result = run_offline(
        "from agentgym.policies import make_policy\n"
        "policy = make_policy('hf:tiny-org/tiny-llama')\n"
        "print('LOADED', type(policy).__name__, policy.model.config.num_hidden_layers)\n",
        refused_endpoint, hub_cache)
    assert result.returncode == 0, result.stderr
    assert "LOADED HFPolicy 2" in result.stdout
    assert "Retrying" not in result.stderr


def test_training_names_the_unreachable_hub_too(refused_endpoint, tmp_path):
    result = run_offline(
        "from types import SimpleNamespace\n"
        "from agentgym.train.model_setup import load_model\n"
        "try:\n    load_model(SimpleNamespace(path='tiny-org/not-downloaded', revision=None))\n"
        "except OSError as exc:\n    print('ERROR', exc)\n", refused_endpoint, tmp_path / "empty-cache")
    assert result.returncode == 0, result.stderr
    assert "ERROR 'tiny-org/not-downloaded' is not in the local Hugging Face cache" in result.stdout
    assert "Retrying" not in result.stderr
