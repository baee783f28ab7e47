"""Scripted experience models for the synthetic-experience tests: policies that read the
conversation an :class:`~agentgym.synthetic.ExperienceModel` sends and answer by a game's rules.

They parse only what the prompt shows (the ``Episode:`` line, the revealed ``Hidden answer``
line, the agent's action) and reply in the documented ``Observation / Reward / Done`` format,
so a test that passes through them checks the prompt and the parser as well.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Sequence

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from tests.train.word_world import WORDS

_ACTION = re.compile(r"^Action: (.*)\Z", re.MULTILINE | re.DOTALL)
_EPISODE = re.compile(r"^Episode: (.*)$", re.MULTILINE)
_HIDDEN = re.compile(r"^Hidden answer of this episode[^:]*: (.*)$", re.MULTILINE)


def prompt_parts(request: Request) -> tuple[str, str, str | None]:
    """``(episode id, action, revealed hidden answer or None)`` of an experience-model prompt:
    the task is in the system message, the action in the last user message."""
    system, last = request.messages[0]["content"], request.messages[-1]["content"]
    action, episode, hidden = _ACTION.search(last), _EPISODE.search(system), _HIDDEN.search(system)
    assert request.messages[0]["role"] == "system" and request.messages[-1]["role"] == "user"
    assert action is not None and episode is not None, last[-500:]
    return episode.group(1), action.group(1), hidden.group(1) if hidden else None


def episode_replies(request: Request) -> list[str]:
    """The replies of this episode's earlier turns (the examples' replies left out)."""
    messages = request.messages
    return [reply["content"] for asked, reply in zip(messages[1:-1], messages[2:-1])
            if asked["role"] == "user" and reply["role"] == "assistant"
            and not asked["content"].startswith("Example from a real episode")]


def secret_word(episode_id: str) -> str:
    """The hidden word a FindTheWord simulation keeps for an episode: drawn from its id."""
    return WORDS[int(hashlib.sha256(episode_id.encode()).hexdigest(), 16) % len(WORDS)]


def reply(observation: str, reward: float, done: bool) -> str:
    return f"Observation: {observation}\nReward: {reward:g}\nDone: {'yes' if done else 'no'}"


class FindTheWordRules(Policy):
    """Simulates ``testworld/FindTheWord-v0``: one hidden word per episode (the revealed one when
    the prompt shows it, else drawn from the episode's id), "yes" and reward 1 when the first colour named is it, "<word> no"
    otherwise, the real environment's invalid-action message when no colour is named."""

    name = "find-the-word-rules"

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        with self._lock:
            self.calls += len(requests)
        out = []
        for request in requests:
            episode, action, hidden = prompt_parts(request)
            named = [word for word in action.split() if word in WORDS]
            if not named:
                out.append(Generation(reply("Invalid action: say one of red green or blue", 0, False)))
            elif named[0] == (hidden or secret_word(episode)):
                out.append(Generation(reply("yes", 1, True)))
            else:
                out.append(Generation(reply(f"{named[0]} no", 0, False)))
        return out


class GuessTheNumberRules(Policy):
    """Simulates ``games/GuessTheNumber-v0`` (easy: 1..20, 8 guesses) from the revealed secret,
    word for word as the real game answers."""

    name = "guess-the-number-rules"
    high, guesses = 20, 8

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        out = []
        for request in requests:
            _, action, hidden = prompt_parts(request)
            assert hidden is not None, "the rules need the revealed secret"
            secret = int(hidden)
            used = sum(not r.startswith("Observation: Invalid action")  # invalid moves are no guesses
                       for r in episode_replies(request))
            found = re.findall(r"-?\d+", action)
            guess = int(found[-1]) if found and len(found[-1]) < 12 else None
            if guess is None or not 1 <= guess <= self.high:
                problem = (f"reply with a number between 1 and {self.high}." if not found
                           else f"{found[-1][:20]} is not between 1 and {self.high}.")
                out.append(Generation(reply(f"Invalid action: {problem}", 0, False)))
                continue
            guesses = used + 1
            if guess == secret:
                out.append(Generation(reply(f"{guess} is correct! You found it in {guesses} guesses.", 1, True)))
            elif guesses >= self.guesses:
                out.append(Generation(reply(f"{guess} is wrong and you have no guesses left. You lose.", 0, True)))
            else:
                hint = "higher" if guess < secret else "lower"
                out.append(Generation(reply(f"The secret number is {hint} than {guess}. "
                                            f"{self.guesses - guesses} guesses left.", 0, False)))
        return out


def find_the_word_rules() -> FindTheWordRules:
    """The factory a training configuration names (``"tests.synthetic.world_models:find_the_word_rules"``)."""
    return FindTheWordRules()


class RandomWords(Policy):
    """Names a random colour, or writes a word that is none (one in four), drawn from each
    request's seed: the behaviour policy that records real FindTheWord transitions."""

    name = "random-words"

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        import random

        out = []
        for request in requests:
            rng = random.Random(request.seed)
            out.append(Generation(rng.choice([*WORDS, *WORDS, *WORDS, "guess"])))
        return out


_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_SEARCH = re.compile(r"<search>(.*?)</search>", re.DOTALL)


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class SearchRules(Policy):
    """Simulates ``search/MultiHop-v0`` in its tags format from the revealed answer: a search
    shows one made-up document, an answer ends the episode with reward 1 when it matches."""

    name = "search-rules"

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        out = []
        for request in requests:
            _, action, hidden = prompt_parts(request)
            answer, search = _ANSWER.search(action), _SEARCH.search(action)
            if answer and (not search or answer.start() < search.start()):
                right = hidden is not None and _norm(answer.group(1)) == _norm(hidden)
                out.append(Generation(reply("Your answer is recorded.", 1 if right else 0, True)))
            elif search:
                query = search.group(1).strip()
                out.append(Generation(reply(f"<information>Doc 1 (Title: {query}) Facts about {query}."
                                            f"</information>", 0, False)))
            else:
                out.append(Generation(reply("Your reply has a format error: it has no <search> or <answer> "
                                            "block. Write <search>query</search> or <answer>text</answer>.",
                                            0, False)))
        return out


def guess_rules() -> GuessTheNumberRules:
    """The factory of :class:`GuessTheNumberRules` (``"tests.synthetic.world_models:guess_rules"``)."""
    return GuessTheNumberRules()
