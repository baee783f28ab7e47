import numpy as np
import pytest
from gymnasium.vector.utils import batch_space

from agentgym.spaces import UnicodeText, text_and_image_space


@pytest.mark.parametrize("text", ["", "hello", "中文 🙂 é", "\x00\x1b[31m", "\ud800", "a\nb\tc"])
def test_contains_any_unicode(text):
    assert text in UnicodeText()


def test_rejects_non_strings_and_length_bounds():
    space = UnicodeText(5, min_length=2)
    assert 42 not in space and None not in space and b"abc" not in space
    assert "a" not in space and "abcdef" not in space and "abc" in space


def test_sample_is_seeded_diverse_and_inside_the_space():
    a, b = UnicodeText(seed=3), UnicodeText(seed=3)
    samples = [a.sample() for _ in range(200)]
    assert samples == [b.sample() for _ in range(200)]
    assert all(s in a for s in samples)
    assert len(set(samples)) > 150
    assert any(not s.isascii() for s in samples), "samples should exercise non-ASCII input"


def test_equality_and_batching():
    assert UnicodeText(10) == UnicodeText(10) != UnicodeText(11)
    batched = batch_space(UnicodeText(), 3)
    assert ("x", "中", "") in batched


def test_multimodal_space():
    space = text_and_image_space(4, 6)
    sample = {"text": "hi", "image": np.zeros((4, 6, 3), dtype=np.uint8)}
    assert sample in space
    assert {"text": "hi", "image": np.zeros((4, 5, 3), dtype=np.uint8)} not in space


@pytest.mark.parametrize("description", [
    {"kind": "text_image", "height": 4}, {"kind": "text_image", "height": 0, "width": 3},
    {"kind": "text", "max_length": "many"}, {"kind": "text", "max_length": None}, {"kind": "text", "max_length": -3},
])
def test_a_malformed_space_description_is_one_value_error_naming_it(description):
    """What a client builds from a server's answer: a known kind described wrongly is no KeyError."""
    from agentgym.spaces import describe_space, space_from_description

    with pytest.raises(ValueError, match="a malformed observation space description"):
        space_from_description(description)
    assert space_from_description({"kind": "hologram"}) == UnicodeText()  # a kind this version does not know
    space = text_and_image_space(4, 5)
    assert space_from_description(describe_space(space)) == space


def test_each_environment_has_spaces_of_its_own():
    # The class's spaces were shared by every instance: seeding one environment's action space
    # seeded all of them, and threads sampling at once shared one generator.
    from agentgym.envs.games.guess_the_number import GuessTheNumber

    first, second = GuessTheNumber(), GuessTheNumber()
    assert first.action_space is not second.action_space and first.action_space == second.action_space
    assert first.observation_space is not GuessTheNumber.observation_space
    first.action_space.seed(0)
    alone = [first.action_space.sample() for _ in range(3)]
    first.action_space.seed(0)
    second.action_space.seed(1)  # another environment's seeding and sampling leave first's draws alone
    drawn = []
    for _ in range(3):
        second.action_space.sample()
        drawn.append(first.action_space.sample())
    assert drawn == alone
    first.action_space.seed(5)
    again = GuessTheNumber()
    again.action_space.seed(5)
    assert [first.action_space.sample() for _ in range(3)] == [again.action_space.sample() for _ in range(3)]


def test_a_deep_copy_shares_the_alphabet_but_not_the_generator():
    import copy

    space = UnicodeText(50, seed=3)
    clone = copy.deepcopy(space)
    assert clone == space and clone.character_list is space.character_list
    assert [clone.sample() for _ in range(3)] == [space.sample() for _ in range(3)]  # the state was copied
    clone.seed(4)
    assert clone.np_random is not space.np_random
