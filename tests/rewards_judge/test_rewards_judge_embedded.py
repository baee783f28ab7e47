"""The rubric judge with a real model: the embedded SmolLM2-135M-Instruct on CPU.

A 135M model is a weak judge: the test asserts only what any reply guarantees, that each
judgement is recorded with the model's text and ends as a score in [0, 1] (then the turn's
component) or as a recorded parse error (then no component), never as an exception.
"""

from __future__ import annotations

import pytest
import torch

from agentgym.policies.base import SamplingParams
from agentgym.policies.embedded import embedded_policy
from agentgym.rewards import Criterion, RubricJudge
from agentgym.trajectory import Trajectory, Turn


@pytest.fixture(scope="module")
def smollm2():
    # One torch thread: on a busy two-core CI machine, two threads of a 135M model mostly wait
    # for each other (measured here: 95 s with two threads against 9 s with one).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    policy = embedded_policy()
    try:
        yield policy
    finally:
        policy.close()
        torch.set_num_threads(threads)


@pytest.mark.slow  # loads the embedded model: a few seconds on an idle CPU
def test_the_embedded_model_judges_two_episodes(smollm2):
    batch = [
        Trajectory(task_id=f"capital-{i}", instructions="What is the capital of France? Answer in one word.",
                   turns=[Turn(0, "What is the capital of France?", answer)],
                   metadata={"reference_answer": "Paris"})
        for i, answer in enumerate(["Paris", "Berlin"])
    ]
    judge = RubricJudge(smollm2, [Criterion("correctness", "The answer is the reference answer.")],
                        sampling=SamplingParams(max_tokens=32, temperature=0.0, logprobs=False))
    judge(batch)
    for trajectory in batch:
        turn = trajectory.turns[0]
        record = turn.info["judge"]
        assert record["judge"] == "smollm2-135m" and record["scope"] == "episode"
        assert isinstance(record["text"], str) and record["text"].strip()  # the model's reply is kept
        if record["score"] is None:
            assert record["error"].startswith("unparsable judgement: ") and "judge" not in turn.reward_components
        else:
            assert 0.0 <= record["score"] <= 1.0 and record["error"] is None
            assert turn.reward_components["judge"] == record["score"]
