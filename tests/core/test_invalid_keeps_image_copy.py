"""An invalid action's observation shows the last image again, as a copy of its own: it was the
previous observation's array itself (Gymnasium's check_env and check_llm_env failed on a
screenshot environment; a caller drawing on one observation changed the other)."""

from __future__ import annotations

import numpy as np

from agentgym import Feedback, InvalidAction, LLMEnv


class Picture(LLMEnv):
    instructions = "say 'ok'"

    def new_episode(self, options):
        return {"text": "look", "image": np.full((4, 4, 3), 7, dtype=np.uint8)}

    def play(self, action):
        if action != "ok":
            raise InvalidAction("say 'ok'")
        return Feedback({"text": "done", "image": np.zeros((4, 4, 3), dtype=np.uint8)}, terminated=True)


def test_the_error_observation_holds_a_copy_of_the_last_image():
    env = Picture()
    first, _ = env.reset(seed=0)
    error, *_ = env.step("nope")
    assert error["text"].startswith("Invalid action") and error["image"] is not first["image"]
    assert np.array_equal(error["image"], first["image"])
    error["image"][:] = 0
    assert (first["image"] == 7).all()
