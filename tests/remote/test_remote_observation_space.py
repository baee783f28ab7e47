"""A remote environment declares the server environment's observation space: text, or text and
an image of a given size (a client that assumed text would reject every screenshot)."""

import asyncio

import numpy as np
import pytest

import agentgym
from agentgym.core import Feedback, LLMEnv
from agentgym.remote import AsyncRemoteEnv, running_env_server
from agentgym.spaces import UnicodeText, describe_space, space_from_description, text_and_image_space


class Picture(LLMEnv):
    """A 12 x 20 image whose red channel is the step count."""

    family = "test"
    instructions = "anything"
    example_actions = ("look",)
    observation_space = text_and_image_space(12, 20, max_length=1000)

    def new_episode(self, options):
        self.count = 0
        return self._observation()

    def play(self, action):
        self.count += 1
        return Feedback(self._observation())

    def _observation(self):
        image = np.zeros((12, 20, 3), np.uint8)
        image[..., 0] = self.count
        return {"text": f"step {self.count}", "image": image}


agentgym.register("test/RemotePicture-v0", Picture, max_turns=None)


@pytest.mark.parametrize("space", [UnicodeText(77), text_and_image_space(5, 7, max_length=9)])
def test_spaces_round_trip_as_json(space):
    assert space_from_description(describe_space(space)) == space


def test_unknown_spaces_read_as_text():
    from gymnasium import spaces

    assert describe_space(spaces.Discrete(3)) is None
    assert space_from_description(None) == UnicodeText()
    assert space_from_description({"kind": "video"}) == UnicodeText()


def test_sync_and_async_clients_declare_the_image_space():
    with running_env_server() as url:
        env = agentgym.make("test/RemotePicture-v0", server=url)
        try:
            assert env.observation_space == Picture.observation_space
            observation, _ = env.reset(seed=0)
            observation, *_ = env.step("look")
            assert observation in env.observation_space and observation["image"][0, 0, 0] == 1
        finally:
            env.close()

        async def scenario():
            async with AsyncRemoteEnv("test/RemotePicture-v0", server=url) as remote:
                observation, _ = await remote.areset(seed=0)
                assert remote.observation_space == Picture.observation_space
                assert observation in remote.observation_space

        asyncio.run(scenario())
