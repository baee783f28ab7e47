"""The search family's reward providers against hand-computed cases (ALGORITHMS.md, "Rewards of
the new families", and cases worked out by hand in the comments)."""

from __future__ import annotations

import pytest

from agentgym.rewards import CombinedReward
from agentgym.rewards.search import (
    AnswerMatchReward,
    RetrievalRedundancyPenalty,
    SearchCost,
    SearchFormatReward,
    StepInformationGain,
    answer_in_text,
    exact_match,
    final_answer,
    normalise_answer,
    search_count,
    token_f1,
)
from agentgym.trajectory import Trajectory, Turn


def turn(index, action="", observation="", **info):
    return Turn(index, observation, action, info=dict(info))


def qa(turns, **metadata):
    return Trajectory(instructions="Answer the question.", turns=turns, metadata=metadata)


# ----------------------------------------------------------------------------- EM / F1

def test_the_algorithms_md_em_f1_case():
    # tokens [eiffel, tower, paris] vs [eiffel, tower]: P = 2/3, R = 1 → F1 = 2·(2/3)/(5/3) = 0.8
    assert exact_match("The Eiffel Tower, Paris", "Eiffel Tower") == 0.0
    assert token_f1("The Eiffel Tower, Paris", "Eiffel Tower") == pytest.approx(0.8)


def test_normalisation_drops_case_punctuation_articles_and_spaces():
    assert normalise_answer("  An  Apple!  ") == "apple"
    assert normalise_answer("The Theatre") == "theatre"  # "the" only as a whole word
    assert exact_match("an APPLE.", "apple") == 1.0


def test_an_answer_spelled_decomposed_matches_its_composed_gold():
    # NFD (a decomposed u-umlaut) shows as the same word: it matched nothing.
    assert exact_match("Zu\u0308rich", ["Z\u00fcrich"]) == 1.0
    assert token_f1("cre\u0302pes in Zu\u0308rich", "cr\u00eapes") == pytest.approx(0.5)  # 1 of 3 tokens


def test_an_answer_that_normalises_to_nothing_matches_nothing():
    """'the' and '.' normalise to the empty string, as does a noisy alias such as '.': an answer
    that says nothing scored exact match 1 against it (a reward to hack)."""
    assert exact_match("the", ["Paris", "."]) == 0.0
    assert exact_match(".", "") == 0.0
    assert exact_match("Paris", ["Paris", "."]) == 1.0


def test_aliases_take_the_best_match():
    # gold "New York City" with alias "NYC": EM against the alias is 1.
    assert exact_match("NYC", ["New York City", "NYC"]) == 1.0
    # pred "new york" vs "New York City": P 2/2, R 2/3 → F1 = 2·(2/3)/(5/3) = 0.8;
    # vs alias "NYC": 0 → max 0.8
    assert token_f1("new york", ["New York City", "NYC"]) == pytest.approx(0.8)


def test_f1_counts_repeated_tokens_as_a_multiset():
    # "the the cat cat cat" → [cat, cat, cat]; gold [cat, dog]: common = min(3, 1) = 1
    # P = 1/3, R = 1/2 → F1 = 2·(1/6)/(5/6) = 0.4
    assert token_f1("the the cat cat cat", "cat dog") == pytest.approx(0.4)
    assert token_f1("", "cat") == 0.0 and token_f1("dog", "cat") == 0.0


def test_bad_gold_is_a_clear_error():
    with pytest.raises(ValueError, match="gold answers"):
        token_f1("x", [])
    with pytest.raises(ValueError, match="must be a string"):
        normalise_answer(3)


def test_answer_match_reward_scores_the_last_turn_only():
    trajectory = qa([turn(0, "<search>eiffel</search>", retrieved=["d1"]),
                     turn(1, "<think>ok</think><answer>The Eiffel Tower, Paris</answer>")],
                    reference_answer="Eiffel Tower", answer_aliases=["Tour Eiffel"])
    AnswerMatchReward("f1")([trajectory])
    assert "answer_f1" not in trajectory.turns[0].reward_components
    assert trajectory.turns[1].reward_components["answer_f1"] == pytest.approx(0.8)
    assert trajectory.turns[1].reward == pytest.approx(0.8)
    AnswerMatchReward("em")([trajectory])
    assert trajectory.turns[1].reward_components["answer_em"] == 0.0


def test_recorded_answer_wins_and_missing_answer_scores_zero():
    recorded = qa([turn(0, "<answer>wrong</answer>", answer="Eiffel Tower")], reference_answer="eiffel tower")
    assert final_answer(recorded) == "Eiffel Tower"
    assert AnswerMatchReward("em").score([recorded]) == [[1.0]]
    silent = qa([turn(0, "I do not know")], reference_answer="x")
    assert final_answer(silent) is None
    assert AnswerMatchReward().score([silent]) == [[0.0]]
    # the last <answer> block counts
    assert final_answer(qa([turn(0, "<answer>a</answer> <answer> b </answer>")])) == "b"


def test_no_reference_means_no_component():
    assert AnswerMatchReward().score([qa([turn(0, "<answer>x</answer>")])]) == [[None]]
    with pytest.raises(ValueError, match="metric"):
        AnswerMatchReward("bleu")


# ----------------------------------------------------------------------------- format (R1-Searcher)

def test_stage_one_rewards_a_well_formed_episode_that_searched():
    searched = qa([turn(0, "<think>look</think><search>q</search>", retrieved=["d1"]),
                   turn(1, "<think>done</think><answer>Paris</answer>")])
    unsearched = qa([turn(0, "<think>known</think><answer>Paris</answer>")])
    broken = qa([turn(0, "<search>q</search>", retrieved=["d1"]), turn(1, "<think>oops<answer>P</answer>")])
    assert SearchFormatReward(stage=1).score([searched, unsearched, broken]) == [[None, 0.5], [0.0], [None, 0.0]]


def test_stage_two_penalises_bad_format():
    ok = qa([turn(0, "<think>known</think><answer>Paris</answer>")])
    format_error = qa([turn(0, "<search", error_kind="format"), turn(1, "<answer>Paris</answer>")])
    no_answer = qa([turn(0, "<think>hmm</think>")])
    empty_answer = qa([turn(0, "<answer>  </answer>")])
    values = SearchFormatReward(stage=2).score([ok, format_error, no_answer, empty_answer])
    assert values == [[0.0], [None, -2.0], [-2.0], [-2.0]]
    with pytest.raises(ValueError, match="stage"):
        SearchFormatReward(stage=3)


# ----------------------------------------------------------------------------- StepSearch

def test_the_algorithms_md_step_case():
    # D* = {d1, d2}, R_1 = {d1, d5}, R_2 = {d1, d2, d7}, λ = 0.5
    trajectory = qa([turn(0, retrieved=["d1", "d5"]), turn(1, retrieved=["d1", "d2", "d7"])],
                    gold_documents=["d1", "d2"])
    assert StepInformationGain().score([trajectory]) == [[pytest.approx(0.5), pytest.approx(0.5)]]
    penalties = RetrievalRedundancyPenalty(0.5).score([trajectory])[0]
    assert penalties[0] == 0.0
    assert penalties[1] == pytest.approx(-0.1667, abs=1e-4)


def test_step_rewards_skip_turns_without_search_and_ignore_duplicates():
    # D* = {d1, d2, d3}; R_1 = {d1, d1(dup), d4}; turn 2 no search; R_3 = {d1, d2}; R_4 = {d4}
    #   gain_1 = |{d1}| / 3 = 1/3; gain_3 = |{d2}| / 3 = 1/3 (d1 already seen); gain_4 = 0
    #   penalty_1 = 0 (duplicates within a turn are one document); penalty_3 = -0.5 · 1/2 = -0.25;
    #   penalty_4 = -0.5 · 1/1 = -0.5
    trajectory = qa([turn(0, retrieved=["d1", "d1", "d4"]), turn(1), turn(2, retrieved=["d1", "d2"]),
                     turn(3, retrieved=["d4"])], gold_documents=["d1", "d2", "d3"])
    gains = StepInformationGain().score([trajectory])[0]
    assert gains == [pytest.approx(1 / 3), None, pytest.approx(1 / 3), 0.0]
    penalties = RetrievalRedundancyPenalty(0.5).score([trajectory])[0]
    assert penalties == [0.0, None, pytest.approx(-0.25), pytest.approx(-0.5)]


def test_step_providers_write_components_and_keep_reward_the_sum():
    trajectory = qa([turn(0, retrieved=["d1", "d5"]), turn(1, retrieved=["d1", "d2", "d7"])],
                    gold_documents=["d1", "d2"])
    CombinedReward([StepInformationGain(), (RetrievalRedundancyPenalty(0.5), 1.0)])([trajectory])
    second = trajectory.turns[1]
    assert second.reward_components == {"info_gain": pytest.approx(0.5), "retrieval_redundancy": pytest.approx(-1 / 6)}
    assert second.reward == pytest.approx(0.5 - 1 / 6)


def test_step_contract_violations_are_clear_errors():
    no_gold = qa([turn(0, retrieved=["d1"])])
    assert StepInformationGain().score([no_gold]) == [[None]]
    with pytest.raises(ValueError, match="gold_documents"):
        StepInformationGain().score([qa([turn(0, retrieved=["d1"])], gold_documents=[])])
    with pytest.raises(ValueError, match="retrieved"):
        RetrievalRedundancyPenalty().score([qa([turn(0, retrieved="d1")])])
    with pytest.raises(ValueError, match="retrieved"):
        StepInformationGain().score([qa([turn(0, retrieved=[1, 2])], gold_documents=["d1"])])
    with pytest.raises(ValueError, match="λ"):
        RetrievalRedundancyPenalty(-0.1)


# ----------------------------------------------------------------------------- SEM-style cost

def test_search_cost_and_the_unnecessary_search_penalty():
    # instructions: no answer in them. cost 0.05, penalty 0.2.
    #   turn 0 searches once; context = instructions + "Q: capital of France?" → no "paris": -0.05
    #   turn 1 searches with two queries; its observation (the turn-0 results) names Paris, so the
    #   answer was in context before the search: -0.05·2 - 0.2 = -0.3
    #   turn 2 answers without searching: 0
    trajectory = qa([turn(0, "<search>capital france</search>", "Q: capital of France?", retrieved=["d1"]),
                     turn(1, "<search>more</search>", "d1: Paris is the capital of France.",
                          retrieved=["d2"], queries=["a", "b"]),
                     turn(2, "<answer>Paris</answer>", "d2: France is in Europe.")],
                    reference_answer="Paris")
    assert SearchCost(0.05, unnecessary_penalty=0.2).score([trajectory]) == [
        [pytest.approx(-0.05), pytest.approx(-0.3), 0.0]]


def test_answer_in_context_needs_whole_tokens_and_counts_aliases_and_instructions():
    assert answer_in_text(["Paris"], "The capital is PARIS.")
    assert not answer_in_text(["Paris"], "a Parisian cafe")
    assert answer_in_text(["New York City", "NYC"], "flights to nyc today")
    assert not answer_in_text([""], "anything")
    # the answer is in the instructions: every search is unnecessary (cost 0.1 + penalty 0.5)
    given = Trajectory(instructions="Context: Paris is the capital of France.",
                       turns=[turn(0, "<search>q</search>", "Q?", retrieved=["d1"])],
                       metadata={"reference_answer": "paris"})
    assert SearchCost(0.1, unnecessary_penalty=0.5).score([given]) == [[pytest.approx(-0.6)]]
    # without a reference only the per-search cost applies
    unknown = Trajectory(instructions="Paris", turns=[turn(0, retrieved=["d1"])])
    assert SearchCost(0.1, unnecessary_penalty=0.5).score([unknown]) == [[pytest.approx(-0.1)]]


def test_search_count_contract():
    assert search_count(turn(0)) == 0
    assert search_count(turn(0, retrieved=[])) == 0
    assert search_count(turn(0, retrieved=["d1", "d2"])) == 1
    assert search_count(turn(0, retrieved=[], queries=["q"])) == 1  # a search that found nothing
    with pytest.raises(ValueError, match="queries"):
        search_count(turn(0, queries="q"))
    with pytest.raises(ValueError, match=">= 0"):
        SearchCost(-1.0)
