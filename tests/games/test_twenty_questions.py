"""TwentyQuestions: the catalogue, question understanding, truthful answers, guesses, budget,
and the fair oracle."""

from __future__ import annotations

import json
from collections import Counter
from importlib.resources import files

import pytest

from agentgym.envs.games.twenty_questions import (
    QUESTIONS,
    TwentyQuestions,
    candidates_for,
    load_catalogue,
    normalize,
)

LEVEL_SIZES = {"easy": 16, "medium": 48, "hard": 136}


def _env(secret: str, difficulty: str = "hard", **kwargs) -> TwentyQuestions:
    env = TwentyQuestions(difficulty, **kwargs)
    env.reset(seed=0)
    env.secret = secret
    return env


def test_catalogue_size_and_shape():
    catalogue = load_catalogue()
    assert len(catalogue.things) >= 100 and len(catalogue.attributes) >= 15
    assert Counter(catalogue.levels.values())["easy"] == 16
    for thing in catalogue.things:
        assert catalogue.yes[thing] <= set(catalogue.attributes)
        assert catalogue.thing_named(normalize(thing)) == thing


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_every_candidate_has_its_own_attributes(difficulty):
    catalogue = load_catalogue()
    candidates = candidates_for(difficulty)
    assert len(candidates) == LEVEL_SIZES[difficulty]
    profiles = Counter(catalogue.yes[thing] for thing in candidates)
    assert [t for t in candidates if profiles[catalogue.yes[t]] > 1] == []


def test_levels_are_nested():
    assert set(candidates_for("easy")) < set(candidates_for("medium")) < set(candidates_for("hard"))


def test_each_keyword_and_name_belongs_to_one_entry():
    raw = json.loads((files("agentgym.envs.games") / "data" / "twenty_questions.json").read_text())
    keywords = Counter(normalize(keyword)
                       for spec in raw["attributes"].values() for keyword in spec["keywords"])
    assert [k for k, n in keywords.items() if n > 1] == []
    names = Counter(normalize(name)
                    for thing in raw["objects"] for name in (thing["name"], *thing["aliases"]))
    assert [n for n, count in names.items() if count > 1] == []


def test_each_canonical_question_is_understood_as_itself():
    env = _env("penguin")
    for attribute, question in env.catalogue.questions.items():
        assert env._interpret(question) == ("ask", attribute), question


@pytest.mark.parametrize("question, attribute", [
    ("Does it live in the sea?", "found_in_water"),
    ("Is it man-made?", "is_man_made"),
    ("Is it natural?", "is_man_made"),
    ("Does it eat other animals?", "eats_meat"),
    ("Can you eat it?", "is_edible"),
    ("Is it smaller than a car?", "bigger_than_a_car"),
    ("Is it bigger than a car?", "bigger_than_a_car"),
    ("Does it have fur?", "is_mammal"),
    ("Is it a farm animal?", "found_on_farm"),
    ("Hmm, it's not an animal then. Does it use electricity? I wonder.", "uses_electricity"),
    ("IS IT MADE OF METAL", "made_of_metal"),
])
def test_free_form_questions_map_to_attributes(question, attribute):
    assert _env("penguin")._interpret(question) == ("ask", attribute)


@pytest.mark.parametrize("action, thing", [
    ("Is it a penguin?", "penguin"), ("guess: ice cream", "ice cream"),
    ("Could it be a fridge?", "refrigerator"), ("My final answer is the motorbike.", "motorcycle"),
    ("penguins", "penguin"), ("Is it an orange?", "orange"),
    ("guess: island", "island"), ("My guess is island", "island"),
])
def test_guesses_are_recognised(action, thing):
    assert _env("penguin")._interpret(action) == ("guess", thing)


@pytest.mark.parametrize("action, message", [
    ("Is it a living animal?", "one property at a time"),
    ("What colour is it", "I can only answer"),
    ("guess: unicorn", "names nothing I know"),
    ("", "I can only answer"),
])
def test_unclear_questions_are_invalid_and_free(action, message):
    env = _env("penguin")
    _, _, terminated, _, info = env.step(action)
    assert message in info["error"] and env.asked == 0 and not terminated


def test_answers_are_truthful_and_restate_the_question():
    env = _env("penguin")
    observation, reward, terminated, _, info = env.step("Can it swim?")
    assert observation == f"Is it found in or on water? Yes. {QUESTIONS - 1} questions left."
    assert (reward, terminated, info["error"]) == (0.0, False, None)
    for attribute, question in env.catalogue.questions.items():
        expected = "Yes" if attribute in env.catalogue.yes["penguin"] else "No"
        assert env.step(question)[0].startswith(f"{question} {expected}.")
        if env.asked == QUESTIONS - 1:
            break


def test_wrong_guess_costs_a_question_and_right_guess_wins():
    env = _env("penguin")
    observation, *_ = env.step("Is it a duck?")
    assert observation.startswith("No, it is not a duck.") and env.asked == 1
    observation, *_ = env.step("Is it some rice?")
    assert observation.startswith("No, it is not rice.") and env.asked == 2
    _, reward, terminated, _, info = env.step("guess: penguin")
    assert terminated and info["success"] and reward == 1.0


def test_twenty_questions_without_the_answer_lose():
    env = _env("penguin")
    for _ in range(QUESTIONS - 1):
        assert not env.step("Can it fly?")[2]
    observation, reward, terminated, _, info = env.step("Is it a duck?")
    assert terminated and not info["success"] and "penguin" in observation
    assert info["reward_components"] == {"outcome": 0.0}


def test_easy_and_medium_list_their_candidates_hard_does_not():
    assert "tennis racket" not in TwentyQuestions("hard").instructions
    for difficulty in ("easy", "medium"):
        instructions = TwentyQuestions(difficulty).instructions
        assert all(thing in instructions for thing in candidates_for(difficulty))


def test_dense_progress_is_the_share_of_candidates_ruled_out():
    env = _env("penguin", dense_reward=True)
    _, _, _, _, info = env.step("Is it an animal?")
    animals = sum("is_animal" in env.catalogue.yes[t] for t in env.candidates)
    assert env.remaining.bit_count() == animals
    assert info["reward_components"]["progress"] == pytest.approx(1 - animals / 136)


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_oracle_finds_every_candidate(difficulty):
    """The oracle asks from the answers alone and finds each thing within the budget."""
    for secret in candidates_for(difficulty):
        env = _env(secret, difficulty)
        terminated = False
        while not terminated:
            _, _, terminated, _, info = env.step(env.oracle_action())
            assert info["error"] is None
        assert info["success"] and env.asked <= 13, f"oracle failed on {secret}"
