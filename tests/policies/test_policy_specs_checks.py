"""make_policy: specs that end in a bare ':' and model folders whose configuration is not a
JSON object are refused with one line naming the spec."""

from __future__ import annotations

import pytest

from agentgym.policies.specs import make_policy


@pytest.mark.parametrize("spec, usage", [
    ("oracle:", "'oracle'"),
    ("random:", "'random' or 'random:SEED'"),  # --policy "random:$SEED" with SEED unset
    ("human:", "'human'"),
    ("hf:", "'hf:PATH'"),
    ("openai:", "'openai:URL#MODEL'"),
    ("nonsense:", "'hf:PATH' or 'random:0'"),
])
def test_a_spec_ending_in_a_bare_colon_is_refused(spec, usage):
    with pytest.raises(ValueError) as caught:
        make_policy(spec)
    assert str(caught.value) == f"policy {spec!r} ends in ':' with nothing after it: write {usage}"


@pytest.mark.parametrize("content, problem", [
    ("[1, 2]", "is not a JSON object (it holds a list)"),
    ('"llama"', "is not a JSON object (it holds a str)"),
    ("{not json", "cannot be read as JSON"),
    (b"\xff\xfe{}", "cannot be read as JSON"),
])
def test_a_model_folder_whose_config_is_not_a_json_object_is_named(tmp_path, content, problem):
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "config.json"
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(ValueError) as caught:
        make_policy(f"hf:{folder}")
    message = str(caught.value)
    assert message.startswith(f"policy 'hf:{folder}': '{folder}' has a config.json that ")
    assert problem in message and "\n" not in message


def test_the_plain_specs_still_build_their_policies():
    assert type(make_policy("oracle")).__name__ == "OraclePolicy"
    assert make_policy("random:7").hint_seed == 7


def test_hf_policy_takes_numpy_integers_for_its_sizes(tiny_model, smollm2_tokenizer):
    import numpy as np

    from agentgym.policies.hf import HFPolicy

    policy = HFPolicy(tiny_model, smollm2_tokenizer, max_batch_size=np.int64(2),
                      prefix_cache_bytes=np.int64(1 << 20))
    assert policy.max_batch_size == 2 and type(policy.max_batch_size) is int
    assert policy.prefix_cache.max_bytes == 1 << 20
    for bad in (True, 2.0, np.float64(2), -1):
        with pytest.raises(ValueError, match="prefix_cache_bytes must be an integer >= 0"):
            HFPolicy(tiny_model, smollm2_tokenizer, prefix_cache_bytes=bad)
