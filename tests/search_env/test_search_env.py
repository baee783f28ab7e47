"""The search environment in Search-R1's tags format: registration, the agentgym contract under
hostile input, the per-turn info contract with hand-checked values, format errors, caps on
queries and searches, the turn budget, answer grading and the hidden reference."""

from __future__ import annotations

import gymnasium
import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.envs import search as search_family
from agentgym.envs.search.corpus import doc_id
from agentgym.envs.search.env import MAX_TURN_BUDGET, SearchEnv
from agentgym.envs.search.tasks import SearchTask
from agentgym.envs.search.world import World
from agentgym.info import ErrorKind
from agentgym.testing import check_hostile_actions, check_llm_env

TURN_FIELDS = ("queries", "retrieved", "gold_retrieved", "new_retrieved", "repeat_retrieved", "searches")


def _fields(info: dict) -> dict:
    return {key: info[key] for key in TURN_FIELDS}


# ------------------------------------------------------------------ registration and contract
def test_registered_with_a_suite(world_kwargs):
    ids = [info.id for info in agentgym.list_envs(family="search")]
    assert set(search_family.SEARCH_ENV_IDS) <= set(ids)
    assert search_family._TURN_BOUND == MAX_TURN_BUDGET
    for env_id in search_family.SEARCH_ENV_IDS:
        info = agentgym.env_info(env_id)
        assert info.family == "search" and info.max_turns == MAX_TURN_BUDGET and "hidden-answer" in info.tags
    suite = next(s for s in agentgym.list_suites() if s.name == "search-v0")
    kinds = sorted(entry.kwargs["kinds"] for entry in suite.entries)
    assert kinds == ["bridge", "comparison", "intersection", "single"]
    plain = gymnasium.make("search/MultiHop-v0", **world_kwargs)
    observation, _ = plain.reset(seed=0)
    assert observation.startswith("Question: ")
    plain.close()


def test_the_default_world_builds_in_the_cache_named_by_the_environment(search_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path))
    env = SearchEnv(size=300, seed=9)  # no cache_dir: $AGENTGYM_CACHE/search
    env.reset(seed=0)
    folders = [p.name for p in (tmp_path / "search").iterdir()]
    assert folders == ["world-v1-n300-s9-d2"]
    assert (tmp_path / "search" / folders[0] / "bm25" / "manifest.json").is_file()
    env.close()


def test_agentgym_contract_with_hostile_actions(world_kwargs):
    env = agentgym.make("search/MultiHop-v0", **world_kwargs)
    check_llm_env(env, hostile=60)
    check_hostile_actions(env, n=200, seed=3)
    env.close()


def test_difficulty_keeps_questions_by_their_hops(world_kwargs):
    hops = {}
    for level in ("mixed", "easy", "medium", "hard"):
        env = agentgym.make("search/MultiHop-v0", difficulty=level, **world_kwargs)
        hops[level] = {task.hops for task in env.unwrapped.tasks}
        env.close()
    assert hops["easy"] == {1} and hops["medium"] == {2} and hops["hard"] <= {3, 4} and hops["hard"]
    assert hops["mixed"] == hops["easy"] | hops["medium"] | hops["hard"]


def test_distractors_make_a_corpus_of_their_own(world_kwargs):
    texts = {}
    for distractors in (0, 3):
        env = agentgym.make("search/MultiHop-v0", distractors=distractors, **world_kwargs)
        env.reset(seed=0)
        texts[distractors] = env.unwrapped.retriever.document(env.unwrapped.task.gold_documents[0]).text
        env.close()
    assert "Some accounts mention" not in texts[0] and len(texts[3]) > len(texts[0])


@pytest.mark.parametrize("kwargs", [
    {"action_format": "xml"}, {"top_k": 0}, {"top_k": "3"}, {"turn_budget": 0}, {"turn_budget": 65},
    {"split": "test"}, {"kinds": "trivia"}, {"kinds": []}, {"kinds": ["single", 3]}, {"questions": 0},
    {"size": 10}, {"size": 2.5}, {"seed": -1}, {"max_searches_per_turn": 0}, {"max_query_chars": 5},
    {"open_chars": 10}, {"tasks": []}, {"tasks": ["What?"]}, {"retriever": "http://127.0.0.1:1"},
    {"difficulty": "expert"}, {"difficulty": "hard", "kinds": "single"}, {"distractors": 4}, {"distractors": -1},
])
def test_bad_arguments_are_config_errors(world_kwargs, kwargs):
    with pytest.raises(ConfigError):
        agentgym.make("search/MultiHop-v0", **{**world_kwargs, **kwargs})


def test_bad_task_index_option_is_a_config_error(make_env):
    env = make_env()
    for index in (-1, len(env.tasks), "3", True):
        with pytest.raises(ConfigError):
            env.reset(seed=0, options={"task_index": index})


# ------------------------------------------------------------------ the info contract, hand-checked
def test_turn_fields_on_a_fixed_seed(make_env, world_kwargs):
    """Seed 0 of World(1500, 2) (the fixtures' world) draws task 148, a two-hop bridge question. Hand-checked: the
    gold documents are the articles of the hop entities (ids 199 and 473); a search of an
    article's exact title ranks it first, then the near-duplicate of the same name block (198,
    "Gefoba Mi Accord", named in 199's "should not be confused" sentence), then an article
    sharing the words "Ri" and "Accord"."""
    env = make_env()
    observation, _ = env.reset(seed=0)
    task = env.task
    assert env.tasks.index(task) == 148
    assert task.question == "What is the founding year of the organiser of Gefoba Ri Accord?"
    assert (task.answer, task.kind, task.hops) == ("1841", "bridge", 2)
    world = World(world_kwargs["size"], world_kwargs["seed"])
    assert task.gold_documents == (doc_id(199), doc_id(473)) == ("e0000199", "e0000473")
    assert task.hop_queries == (world.name(199), world.name(473)) == ("Gefoba Ri Accord", "Ligo Belo Foundation")
    assert 198 in world.near_duplicates(199) and world.name(198) == "Gefoba Mi Accord"
    assert observation.startswith(f"Question: {task.question}\n")

    action = "<think>Find the accord.</think><search>Gefoba Ri Accord</search>"
    observation, reward, terminated, truncated, info = env.step(action)
    assert (reward, terminated, truncated, info["error"]) == (0.0, False, False, None)
    assert _fields(info) == {"queries": ["Gefoba Ri Accord"], "retrieved": ["e0000199", "e0000198", "e0000055"],
                             "gold_retrieved": ["e0000199"], "new_retrieved": ["e0000199", "e0000198", "e0000055"],
                             "repeat_retrieved": [], "searches": 1}
    assert observation.startswith("<information>Doc 1(Title: Gefoba Ri Accord) ")
    assert "\nDoc 2(Title: Gefoba Mi Accord) " in observation and "\nDoc 3(Title: Repete Ri Accord) " in observation
    assert observation.endswith("</information>") and observation.count("<information>") == 1
    assert "organised by the Ligo Belo Foundation" in observation  # the snippet holds the bridge fact

    # Two searches in one action: the old accord again (all repeats) and the second hop (all new).
    _, _, _, _, info = env.step("<search>Gefoba Ri Accord</search> and <search>Ligo Belo Foundation</search>")
    assert _fields(info) == {
        "queries": ["Gefoba Ri Accord", "Ligo Belo Foundation"],
        "retrieved": ["e0000199", "e0000198", "e0000055", "e0000473", "e0000618", "e0000115"],
        "gold_retrieved": ["e0000199", "e0000473"],
        "new_retrieved": ["e0000473", "e0000618", "e0000115"],
        "repeat_retrieved": ["e0000199", "e0000198", "e0000055"], "searches": 3}

    observation, reward, terminated, _, info = env.step("<answer> 1841 </answer>")
    assert (reward, terminated, info["success"], info["reward_components"]) == (1.0, True, True, {"outcome": 1.0})
    assert (info["answer"], info["em"], info["f1"]) == ("1841", 1.0, 1.0)
    assert _fields(info) == {"queries": [], "retrieved": [], "gold_retrieved": [], "new_retrieved": [],
                             "repeat_retrieved": [], "searches": 3}
    assert info["episode"] == {"em": 1.0, "f1": 1.0, "answered": True, "searches": 3, "documents_seen": 6,
                               "gold_found": 2, "gold_recall": 1.0}


def test_the_first_block_decides_and_searches_per_turn_are_capped(make_env):
    env = make_env(max_searches_per_turn=2)
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step("<answer>1841</answer><search>Gefoba Ri Accord</search>")
    assert terminated and info["answer"] == "1841" and info["queries"] == []
    env.reset(seed=0)
    action = "".join(f"<search>query {n}</search>" for n in range(100)) + "<answer>1841</answer>"
    observation, _, terminated, _, info = env.step(action)
    assert not terminated and "answer" not in info
    assert info["queries"] == ["query 0", "query 1"] and info["searches"] == 2
    assert observation.count("<information>") == 2
    assert "98 more searches were not run: at most 2 per turn." in observation
    assert "The <answer> after your search was not read" in observation


def test_queries_are_cleaned_and_cut(make_env):
    env = make_env(max_query_chars=40)
    env.reset(seed=0)
    observation, _, _, _, info = env.step("<search>Gefoba\x00Ri\x1b[31m\ud800Accord\n\u2028x</search>")
    assert info["queries"] == ["Gefoba Ri [31m?Accord x"] and info["error"] is None
    long_query = "Ligo Belo Foundation " * 50
    observation, _, _, _, info = env.step(f"<search>{long_query}</search>")
    assert info["queries"] == [long_query[:40]] and info["retrieved"][0] == "e0000473"
    assert "(The query was cut to its first 40 characters.)" in observation
    observation, _, _, _, info = env.step("<search>!!! ???</search>")  # no indexed word: nothing matches
    assert info["queries"] == ["!!! ???"] and info["retrieved"] == [] and info["searches"] == 3
    assert observation == "<information>No document matched the query.</information>"


FORMAT_ERRORS = [
    ("", "it has no <search> or <answer> block"),
    ("I think the answer is 1841.", "it has no <search> or <answer> block"),
    ("<search></search>", "empty <search> block"),
    ("<search> \n\t </search>", "empty <search> block"),
    ("<answer></answer>", "empty <answer> block"),
    ("<search>Gefoba", "unclosed <search>"),
    ("Gefoba</search>", "</search> without an opening <search>"),
    ("<search>a<search>b</search></search>", "a <search> opens before the previous <search> is closed"),
    ("<answer><answer>1841</answer>", "a <answer> opens before the previous <answer> is closed"),
    ("</answer>1841<answer>", "</answer> without an opening <answer>"),
    ("<search>Gefoba Ri Accord</search><answer>", "unclosed <answer>"),
    ("<Search>Gefoba Ri Accord</Search>", "it has no <search> or <answer> block"),
    ('<tool_call>{"name": "search", "arguments": {"query": "x"}}</tool_call>', "it has no <search> or <answer> block"),
    ("\ud800", "it has no <search> or <answer> block"),
]


@pytest.mark.parametrize("action, problem", FORMAT_ERRORS)
def test_format_errors_say_what_to_write_and_use_a_turn(make_env, action, problem):
    env = make_env(turn_budget=2)
    env.reset(seed=0)
    observation, reward, terminated, _, info = env.step(action)
    assert info["error_kind"] == ErrorKind.FORMAT and info["error"] == observation
    assert observation.startswith(f"Your previous action is invalid: {problem}")
    assert "between <search> and </search>" in observation and "between <answer> and </answer>" in observation
    assert (reward, terminated) == (0.0, False) and env.turns_used == 1
    assert _fields(info) == {"queries": [], "retrieved": [], "gold_retrieved": [], "new_retrieved": [],
                             "repeat_retrieved": [], "searches": 0}


def test_an_action_the_core_refuses_still_uses_a_turn(make_env):
    env = make_env(turn_budget=2, max_action_chars=100, invalid_penalty=0.5)
    env.reset(seed=0)
    observation, reward, terminated, _, info = env.step("<search>" + "x" * 200 + "</search>")
    assert observation.startswith("Invalid action: the action is 217 characters long")
    assert (reward, terminated, info["error_kind"], info["searches"]) == (-0.5, False, ErrorKind.INVALID_ACTION, 0)
    observation, reward, terminated, _, info = env.step(["not", "text"])
    assert terminated and info["out_of_turns"] and reward == -0.5
    assert info["reward_components"] == {"invalid": -0.5, "outcome": 0.0}


# ------------------------------------------------------------------ turn budget and grading
def test_the_turn_budget_ends_the_episode_with_a_summary(make_env):
    env = make_env(turn_budget=3)
    env.reset(seed=0)
    for n in range(2):
        _, _, terminated, _, info = env.step("<search>Gefoba Ri Accord</search>")
        assert not terminated and "episode" not in info
    observation, reward, terminated, truncated, info = env.step("<search>Ligo Belo Foundation</search>")
    assert (reward, terminated, truncated, info["success"]) == (0.0, True, False, False)
    assert info["out_of_turns"] and observation.endswith("You are out of turns without an answer.")
    assert info["episode"] == {"em": 0.0, "f1": 0.0, "answered": False, "searches": 3, "documents_seen": 6,
                               "gold_found": 2, "gold_recall": 1.0}
    assert not env.episode_active


def test_answers_are_graded_by_exact_match_with_aliases(make_env):
    env = make_env(kinds="single")
    env.reset(seed=1)
    task = next(t for t in env.tasks if t.aliases)
    env.reset(seed=1, options={"task_index": env.tasks.index(task)})
    _, reward, _, _, info = env.step(f"<answer>the {task.aliases[0].upper()}.</answer>")
    assert reward == 1.0 and info["success"] and info["em"] == 1.0
    env.reset(seed=1, options={"task_index": env.tasks.index(task)})
    _, reward, terminated, _, info = env.step(f"<answer>{task.answer} and more words</answer>")
    assert terminated and reward == 0.0 and not info["success"] and info["em"] == 0.0 and 0.0 < info["f1"] < 1.0


def test_hidden_reference_and_user_tasks(make_env):
    tasks = [SearchTask("mine-1", "Who organised the Gefoba Ri Accord?", "Ligo Belo Foundation",
                        aliases=("LBF-0001",), gold_documents=("e0000199",), hop_queries=("Gefoba Ri Accord",)),
             SearchTask("mine-2", "Name any accord.", "Gefoba Ri Accord")]
    env = make_env(tasks=tasks)
    observation, info = env.reset(seed=0, options={"task_index": 0})
    assert env.reference_answer == "Ligo Belo Foundation" and env.answer_aliases == ["LBF-0001"]
    assert env.gold_documents == ["e0000199"] and env.answer_stub == "<answer>"
    assert "Ligo Belo" not in observation + info["instructions"]
    env.reset(seed=0, options={"task_index": 1})
    assert env.gold_documents is None and env.answer_aliases == []
    assert env.oracle_action() == "<answer>Gefoba Ri Accord</answer>"  # no hop queries: it answers at once
    env.reset(seed=0, options={"task_index": 0})
    assert env.oracle_action() == "<search>Gefoba Ri Accord</search>"
