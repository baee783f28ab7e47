"""The replay buffer: transitions cut from real trajectories (hand-checked), seeding from JSONL,
online growth from a rollout, TF-IDF similarity (a hand-computed case and a brute-force
cross-check), filters, FIFO and reservoir capacity with a consistent index, threads, and
hostile text."""

from __future__ import annotations

import json
import math
import random
import threading
import warnings

import pytest

from agentgym.core import ConfigError
from agentgym.policies.random import RandomPolicy
from agentgym.retrieval.snippets import tokenize
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.synthetic import Context, ReplayBuffer, Transition, final_observation, transitions_from
from agentgym.synthetic.buffer import real_env_id
from agentgym.trajectory import Trajectory, Turn, read_trajectories
from tests.synthetic.conftest import EASY, GUESS_ENV_ID


def _trajectory(terminated=True, truncated=False, final="you won", success=True) -> Trajectory:
    messages = [{"role": "user", "content": "Rules\n\nfirst"}, {"role": "assistant", "content": "a1"},
                {"role": "user", "content": "o1"}, {"role": "assistant", "content": "a2"}]
    if final is not None:
        messages.append({"role": "user", "content": final})
    return Trajectory(env_id="games/X-v0", task_id="X-1", instructions="Rules",
                      turns=[Turn(0, "first", "a1", reward=0.0), Turn(1, "o1", "a2", reward=1.0)],
                      terminated=terminated, truncated=truncated, success=success, messages=messages)


def _transition(action: str, env_id: str = "e", task: str = "", source: str = "real",
                observation: str = "ok") -> Transition:
    return Transition(Context(env_id, task, (), action), observation, 0.0, False, source=source)


# ------------------------------------------------------------------ transitions
def test_a_trajectory_is_cut_into_its_steps():
    first, second = transitions_from(_trajectory())
    assert first == Transition(Context("games/X-v0", "Rules\n\nfirst", (), "a1"), "o1", 0.0, False, False,
                               "real", "X-1")
    assert second == Transition(Context("games/X-v0", "Rules\n\nfirst", (("a1", "o1"),), "a2"), "you won", 1.0,
                                True, True, "real", "X-1")
    # A truncated episode's last step did not end it; no history kept when asked for none.
    last = transitions_from(_trajectory(terminated=False, truncated=True, success=False), history_turns=0)[-1]
    assert not last.terminated and not last.success and last.context.history == ()
    # Without the observation after the last action (an episode cut short), that step is left out.
    cut_short = _trajectory(final=None, terminated=False, success=False)
    assert final_observation(cut_short) is None
    assert [t.context.action for t in transitions_from(cut_short)] == ["a1"]
    assert transitions_from(Trajectory()) == []


def test_transitions_of_recorded_real_episodes(guess_jsonl):
    trajectories = read_trajectories(guess_jsonl)
    buffer = ReplayBuffer.from_jsonl(guess_jsonl)
    assert len(buffer) == buffer.seen == sum(len(t.turns) for t in trajectories)
    assert buffer.counts() == {"source:real": len(buffer), f"env:{GUESS_ENV_ID}": len(buffer)}
    held = buffer.transitions()
    position = 0
    for trajectory in trajectories:
        steps = held[position: position + len(trajectory.turns)]
        position += len(trajectory.turns)
        assert [s.context.action for s in steps] == [turn.action for turn in trajectory.turns]
        assert [s.observation for s in steps[:-1]] == [turn.observation for turn in trajectory.turns[1:]]
        assert steps[-1].terminated == trajectory.terminated
        assert steps[-1].context.task.startswith(trajectory.instructions)
        assert all(len(s.context.history) == min(i, 3) for i, s in enumerate(steps))
        if trajectory.success:
            assert "is correct" in steps[-1].observation and steps[-1].reward == 1.0


def test_from_jsonl_refuses_a_missing_file_and_skips_damaged_lines(tmp_path, guess_jsonl):
    with pytest.raises(ConfigError, match="no such trajectory file"):
        ReplayBuffer.from_jsonl(tmp_path / "missing.jsonl")
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text(guess_jsonl.read_text() + '{"turns": [broken\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        buffer = ReplayBuffer.from_jsonl([damaged, guess_jsonl])
    assert any("unreadable line" in str(w.message) for w in caught)
    assert len(buffer) == 2 * len(ReplayBuffer.from_jsonl(guess_jsonl))


def test_the_buffer_grows_online_from_a_rollout():
    buffer = ReplayBuffer()
    result = rollout(RandomPolicy(seed=2), [Task(GUESS_ENV_ID, seed=s, kwargs=EASY) for s in range(3)],
                     RolloutConfig(group_size=2), progress=False, on_episode=buffer.add_trajectory)
    assert len(buffer) == sum(len(t.turns) for t in result.trajectories) > 0


def test_a_synthetic_episode_counts_for_the_environment_it_simulated():
    trajectory = _trajectory()
    trajectory.env_id = "synthetic/Experience-v0"
    trajectory.metadata["env_kwargs"] = {"env_id": GUESS_ENV_ID}
    assert real_env_id(trajectory) == GUESS_ENV_ID
    buffer = ReplayBuffer()
    buffer.add(trajectory, source="synthetic")
    assert buffer.counts() == {"source:synthetic": 2, f"env:{GUESS_ENV_ID}": 2}
    query = Context(GUESS_ENV_ID, "Rules first", (), "a1")
    assert buffer.similar(query, 3) == []  # real transitions only, by default
    assert len(buffer.similar(query, 3, sources=None)) == 2
    with pytest.raises(ConfigError, match="source"):
        buffer.add(trajectory, source="dreamt")


# ------------------------------------------------------------------ similarity
def test_tf_idf_cosine_by_hand():
    buffer = ReplayBuffer()
    buffer.add_transitions([_transition("apple banana"), _transition("apple"), _transition("cherry")])
    # action words count twice: tf = 1 + ln 2 for each; N = 3; df(apple) = 2, df(banana) = 1
    idf_apple, idf_banana = 1 + math.log(4 / 3), 1 + math.log(4 / 2)
    scored = buffer.scored(Context("e", "", (), "banana"), 3)
    assert [t.context.action for _, t in scored] == ["apple banana", "cherry", "apple"]  # ties: newest first
    assert scored[0][0] == pytest.approx(idf_banana / math.hypot(idf_apple, idf_banana))
    assert scored[1][0] == scored[2][0] == 0.0


def _brute_force(transitions: list[Transition], query: Context) -> list[float]:
    """TF-IDF cosine written out with dicts, independently of the buffer's numpy index."""
    counted = []
    for t in transitions:
        counts: dict[str, int] = {}
        for word in t.context.words():
            counts[word] = counts.get(word, 0) + 1
        counted.append(counts)
    n = len(transitions)
    df: dict[str, int] = {}
    for counts in counted:
        for word in counts:
            df[word] = df.get(word, 0) + 1
    idf = {word: 1 + math.log((1 + n) / (1 + d)) for word, d in df.items()}
    query_counts: dict[str, int] = {}
    for word in query.words():
        query_counts[word] = query_counts.get(word, 0) + 1
    q = {w: (1 + math.log(c)) * idf[w] for w, c in query_counts.items() if w in idf}
    q_norm = math.sqrt(sum(v * v for v in q.values()))
    scores = []
    for counts in counted:
        d = {w: (1 + math.log(c)) * idf[w] for w, c in counts.items()}
        d_norm = math.sqrt(sum(v * v for v in d.values()))
        dot = sum(q.get(w, 0.0) * v for w, v in d.items())
        scores.append(dot / (d_norm * q_norm) if d_norm and q_norm else 0.0)
    return scores


def test_similarity_matches_a_brute_force_tf_idf(guess_buffer):
    held = guess_buffer.transitions()
    for i in (0, 3, 7, len(held) - 1):
        query = held[i].context
        scored = guess_buffer.scored(query, len(held))
        expected = _brute_force(held, query)
        by_identity = {id(t): s for s, t in scored}
        assert sorted(by_identity.values(), reverse=True) == [s for s, _ in scored]
        for transition, score in zip(held, expected):
            assert by_identity[id(transition)] == pytest.approx(score, abs=1e-9)
        assert scored[0][0] == pytest.approx(1.0)  # a transition is most similar to itself


def test_filters_and_edge_cases():
    buffer = ReplayBuffer()
    assert buffer.similar(Context("e", "", (), "x"), 3) == []  # empty
    buffer.add_transitions([_transition("x one", env_id="e"), _transition("x two", env_id="f")])
    assert [t.context.env_id for t in buffer.similar(Context("e", "", (), "x"), 5)] == ["e"]
    assert {t.context.env_id for t in buffer.similar(Context("e", "", (), "x"), 5, env_id="*")} == {"e", "f"}
    assert buffer.similar(Context("g", "", (), "x"), 5) == []
    with pytest.raises(ConfigError, match="k must be"):
        buffer.similar(Context("e", "", (), "x"), 0)
    with pytest.raises(ConfigError, match="Context"):
        buffer.similar("x", 1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Transition"):
        buffer.add_transitions(["x"])  # type: ignore[list-item]
    for bad in ({"capacity": 0}, {"eviction": "lru"}, {"history_turns": -1}, {"capacity": True}):
        with pytest.raises(ConfigError):
            ReplayBuffer(**bad)


def test_hostile_text_is_stored_cut_and_searchable():
    buffer = ReplayBuffer(max_chars=100)
    trajectory = _trajectory()
    trajectory.turns[0].action = "\ud800 " + "🙂" * 50 + " zebra " + "a" * 10_000
    trajectory.messages[1]["content"] = trajectory.turns[0].action
    buffer.add(trajectory)
    stored = buffer.transitions()[0].context.action
    assert len(stored) <= 101 and "\ud800" not in stored
    json.dumps(buffer.transitions()[0].to_dict())  # storable
    assert Transition.from_dict(buffer.transitions()[1].to_dict()) == buffer.transitions()[1]
    assert buffer.similar(Context("games/X-v0", "", (), "zebra"), 1)[0].context.action == stored
    assert buffer.similar(Context("games/X-v0", "", (), "\x00\ud800"), 1)  # no shared word: still answers


# ------------------------------------------------------------------ capacity
def _numbered(n: int, offset: int = 0) -> list[Transition]:
    rng = random.Random(offset)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa"]
    return [_transition(f"{i} {' '.join(rng.sample(words, 3))}", task=f"task {i % 5}") for i in range(offset, offset + n)]


def _index_agrees_with_a_fresh_buffer(buffer: ReplayBuffer) -> None:
    fresh = ReplayBuffer(capacity=buffer.capacity)
    fresh.add_transitions(buffer.transitions())
    for query in [Context("e", "task 1", (), "alpha beta"), Context("e", "task 3", (), "omega 7")]:
        assert ([(round(s, 12), t) for s, t in buffer.scored(query, 10)]
                == [(round(s, 12), t) for s, t in fresh.scored(query, 10)])


def test_fifo_keeps_the_newest():
    buffer = ReplayBuffer(capacity=3)
    items = _numbered(5)
    buffer.add_transitions(items)
    assert buffer.transitions() == items[2:] and buffer.seen == 5
    _index_agrees_with_a_fresh_buffer(buffer)  # document frequencies follow evictions


def test_reservoir_keeps_a_uniform_sample_deterministically():
    items = _numbered(1000)
    kept = []
    for _ in range(2):
        buffer = ReplayBuffer(capacity=50, eviction="reservoir", seed=7)
        for start in range(0, 1000, 100):  # added in batches, as rollouts would
            buffer.add_transitions(items[start:start + 100])
        kept.append(buffer.transitions())
    assert kept[0] == kept[1] and len(kept[0]) == 50 and buffer.seen == 1000
    positions = [items.index(t) for t in kept[0]]
    assert 300 < sum(positions) / 50 < 700  # uniform: mean 500 (sd ~41); FIFO would give 975
    assert min(positions) < 200
    _index_agrees_with_a_fresh_buffer(buffer)


def test_threads_add_and_search_at_once():
    buffer = ReplayBuffer(capacity=10_000)
    errors: list[BaseException] = []
    batches = [_numbered(200, offset=1000 * i) for i in range(4)]

    def add(batch):
        try:
            for start in range(0, len(batch), 10):
                buffer.add_transitions(batch[start:start + 10])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def search():
        try:
            for i in range(100):
                buffer.similar(Context("e", "task 2", (), f"{i} alpha"), 3)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(b,)) for b in batches] + [threading.Thread(target=search)
                                                                         for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(buffer) == buffer.seen == 800
    assert {t.context.action for t in buffer.transitions()} == {t.context.action for b in batches for t in b}
    _index_agrees_with_a_fresh_buffer(buffer)
    assert set(tokenize("1 alpha")) <= set(buffer.similar(Context("e", "", (), "1 alpha"), 1)[0].context.words())
