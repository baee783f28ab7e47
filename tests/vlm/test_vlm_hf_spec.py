"""``--policy hf:FOLDER`` on a vision-language checkpoint (a configuration with a vision tower,
as training's ``model.path`` saves one) gives an ``HFVisionPolicy``, as the trainer loads it."""

from __future__ import annotations

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf_vision import HFVisionPolicy
from agentgym.policies.specs import make_policy
from tests.vlm.test_vlm_policy import conversation, images
from tests.vlm.vlm_models import saved_vlm


def test_a_vision_language_folder_is_a_vision_policy(tmp_path):
    proc, model = saved_vlm("idefics3", tmp_path)
    policy = make_policy(f"hf:{tmp_path}")
    assert isinstance(policy, HFVisionPolicy)
    request, sampling = Request(conversation(images(2))), SamplingParams(max_tokens=4, temperature=0)
    (direct,), (loaded,) = HFVisionPolicy(model, proc).generate([request], sampling), policy.generate([request], sampling)
    assert loaded.token_ids == direct.token_ids and loaded.prompt_token_ids == direct.prompt_token_ids
