"""Synthetic experience with the embedded model: how well it predicts a real game, and what a
policy trained only on its predictions does in the real game.

**Agreement** (``games/GuessTheNumber-v0``, easy: 1..20, 8 guesses). Real episodes are played
with a seeded mix of the oracle's moves (binary search), random guesses and invalid replies;
a replay buffer is seeded with other real episodes of the random policy. Then, for every step
of the held-out episodes, the experience model predicts the step from the real history before
it (teacher forcing: one-step predictions, all on the same actions the real game answered),
and each prediction is compared with the real answer:

* ``format``: the reply parsed (it has an ``Observation`` field);
* ``observation exact``: the predicted observation equals the real one (whitespace aside);
* ``observation F1``: token F1 of the two observations (SQuAD normalisation);
* ``kind``: both say the same thing: correct / higher / lower / invalid / out of guesses;
* ``reward`` and ``done``: equal to the real ones.

Configurations: the embedded model (SmolLM2-135M-Instruct) told the hidden number
(``reveal``) or not, with ``k = 3`` retrieved real transitions or none; and, as a check of the
measurement itself, the scripted rules of the test suite (which must agree on everything).

**Training** (``testworld/FindTheWord-v0``, the trainer tests' world: find the hidden one of
three colours in three turns). The trainer tests' tiny random Llama is trained with GRPO only in
``synthetic/Experience-v0`` (every step predicted, the real game only deals tasks) and
evaluated greedily on 30 held-out seeds of the REAL game before and after. Two experience
models: the embedded model (told the secret, 3 real examples per step), and the scripted rules
(the reference, as in ``tests/synthetic/test_synthetic_learning.py``). During training the real
game is stepped beside the simulation (``compare_real``), so the table also gives how often the
embedded model's predictions agreed with it.

Everything runs on the CPU here (the embedded model in float32, its predictions batched across
concurrent episodes by a ``BatchingPolicy``); the defaults are a small configuration for a
shared 2-core machine.

    python benchmarks/bench_synthetic.py [--episodes 4] [--train-steps 12] [--tasks-per-step 4]
        [--group-size 4] [--skip-training] [--threads 2] [--quick] [--out benchmarks/results]

``--quick`` replaces the embedded model by the scripted rules everywhere (a smoke test of the
script in seconds).

Measured with the defaults on the shared 2-core development machine (load 3-6, 40 minutes):
SmolLM2-135M always wrote the reply format when shown 3 real examples (84% with none), but it
copies the examples rather than the rules: one-step agreement on the kind of answer (higher /
lower / correct / invalid) 44%, reward 84% (mostly the zeros), exact observations 24%, and the
hidden number changed none of its predictions. Trained only on its FindTheWord predictions
(12 steps of 4 tasks x 4), the tiny policy stayed at 0% on the real game (its predictions
matched the real rewards on 26% of the steps); with the scripted rules as the experience model
the same run reached 70%.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from bench_cli import ShowDefaults, cpus_and_load, output_folder, positive_int

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:  # the tests folder holds the FindTheWord world and the scripted rules
    sys.path.insert(0, str(REPOSITORY))
if str(Path(__file__).parent) not in sys.path:  # "bench_synthetic:embedded_experience" is importable
    sys.path.insert(0, str(Path(__file__).parent))

import agentgym  # noqa: E402
import agentgym.envs.games  # noqa: E402,F401
import agentgym.envs.synthetic  # noqa: E402,F401
from agentgym.policies.base import SamplingParams  # noqa: E402
from agentgym.rewards.search import token_f1  # noqa: E402
from agentgym.synthetic import (BatchingPolicy, Context, EpisodeContext, ExperienceModel,  # noqa: E402
                                ReplayBuffer, close_shared, parse_reply)

GUESS = "games/GuessTheNumber-v0"
EASY = {"difficulty": "easy"}
SAMPLING = SamplingParams(max_tokens=40, temperature=0.0, logprobs=False,
                          stop=("Done: yes", "Done: no", "Done: Yes", "Done: No"))
HELD_OUT = range(100_000, 100_030)


# ------------------------------------------------------------------ experience models
def embedded_experience() -> BatchingPolicy:
    """The embedded model behind a BatchingPolicy (the factory a configuration names)."""
    from agentgym.policies.embedded import embedded_policy

    return BatchingPolicy(embedded_policy(max_batch_size=8), window=0.05, max_batch=8)


def rules_guess() -> Any:
    from tests.synthetic.world_models import GuessTheNumberRules

    return GuessTheNumberRules()


# ------------------------------------------------------------------ agreement
def kind_of(observation: str) -> str:
    """What a GuessTheNumber observation says."""
    text = observation.lower()
    for kind, pattern in (("invalid", r"invalid"), ("correct", r"correct"), ("lost", r"no guesses left|you lose"),
                          ("higher", r"higher"), ("lower", r"lower")):
        if re.search(pattern, text):
            return kind
    return "other"


def real_episodes(count: int, seed: int) -> list[dict[str, Any]]:
    """Real episodes (actions and what the game answered), played by a seeded mix of the oracle,
    random guesses and invalid replies."""
    rng = random.Random(seed)
    env = agentgym.make(GUESS, **EASY)
    episodes = []
    for index in range(count):
        observation, info = env.reset(seed=seed + index)
        episode = {"task_id": info["task_id"], "instructions": info["instructions"], "first": observation,
                   "reference": env.unwrapped.reference_answer, "steps": []}
        for _ in range(12):
            draw = rng.random()
            action = (env.unwrapped.oracle_action() if draw < 0.45 else env.unwrapped.random_action(rng)
                      if draw < 0.85 else rng.choice(["", "my guess", "42", "0", "seven"]))
            observation, reward, terminated, truncated, _ = env.step(action)
            episode["steps"].append((action, observation, float(reward), bool(terminated)))
            if terminated or truncated:
                break
        episodes.append(episode)
    env.close()
    return episodes


def agreement(model: ExperienceModel, buffer: ReplayBuffer, episodes: list[dict[str, Any]], *, reveal: bool,
              k: int) -> dict[str, Any]:
    steps, truths = [], []
    for episode in episodes:
        history: list[tuple[str, str, float]] = []
        for action, observation, reward, done in episode["steps"]:
            context = EpisodeContext(GUESS, episode["task_id"], episode["instructions"], episode["first"],
                                     tuple(history), action, episode["reference"] if reveal else None)
            query = Context(GUESS, f"{episode['instructions']}\n\n{episode['first']}",
                            tuple((a, o) for a, o, _ in history[-buffer.history_turns:]), action)
            steps.append((context, buffer.similar(query, k) if k else []))
            truths.append((observation, reward, done))
            history.append((action, observation, reward))
    started = time.perf_counter()
    predictions = []
    for start in range(0, len(steps), 8):
        predictions += model.predict_many(steps[start:start + 8])
    seconds = time.perf_counter() - started
    rows = []
    for prediction, (observation, reward, done) in zip(predictions, truths):
        ok = prediction.error is None
        rows.append({
            "format": ok,
            "exact": ok and " ".join(prediction.observation.split()) == " ".join(observation.split()),
            "f1": token_f1(prediction.observation, [observation]) if ok else 0.0,
            "kind": ok and kind_of(prediction.observation) == kind_of(observation),
            "reward": ok and abs(prediction.reward - reward) < 1e-6,
            "done": ok and prediction.done == done,
        })
    mean = lambda key: round(statistics.fmean(float(r[key]) for r in rows), 3)  # noqa: E731
    samples = [{"action": s[0].action, "real": t[0], "predicted": p.observation or f"({p.error})",
                "raw": p.text[:200]} for s, t, p in list(zip(steps, truths, predictions))[:4]]
    return {"steps": len(rows), "format": mean("format"), "observation_exact": mean("exact"),
            "observation_f1": mean("f1"), "kind": mean("kind"), "reward": mean("reward"), "done": mean("done"),
            "seconds_per_prediction": round(seconds / max(1, len(rows)), 3), "samples": samples}


# ------------------------------------------------------------------ training
def train_on_synthetic(experience: str, args: argparse.Namespace, real_jsonl: Path, out_dir: Path) -> dict[str, Any]:
    """GRPO on synthetic FindTheWord, evaluated on the real game before and after."""
    import torch

    from agentgym.rollout import RolloutConfig, Task, rollout
    from agentgym.train.trainer import Trainer
    from tests.train.conftest import learner, world_config
    from tests.train.word_world import ENV_ID

    torch.set_num_threads(args.threads)
    # A prediction waits for its batch: on a CPU a batch of 8 takes tens of seconds, so the model's
    # timeout is long, and at most 8 episodes run at once (the rollout engine's step timeout is 60 s).
    kwargs = {"env_id": ENV_ID, "experience_model": experience, "buffer": str(real_jsonl), "k": 3,
              "reveal_answer": True, "compare_real": True, "timeout": 600.0,
              "sampling": {"max_tokens": SAMPLING.max_tokens, "temperature": 0.0, "logprobs": False,
                           "stop": list(SAMPLING.stop)}}
    config = world_config(out_dir, run={"steps": args.train_steps, "seed": 0}, algorithm={"name": "grpo"},
                          env={"id": "synthetic/Experience-v0", "kwargs": kwargs, "tasks_per_step": args.tasks_per_step},
                          rollout={"group_size": args.group_size, "max_concurrent_episodes": 8},
                          batching={"mini_batches": 2})
    def real_success() -> float:
        trainer.model.eval()
        result = rollout(trainer.policy, [Task(ENV_ID, seed=s) for s in HELD_OUT],
                         RolloutConfig(sampling=SamplingParams(max_tokens=2, temperature=0.0), system_prompt=None),
                         progress=False)
        return sum(t.success for t in result.trajectories) / len(result.trajectories)

    agreed = {"steps": 0, "observation": 0, "reward": 0, "done": 0, "failed": 0}

    class RecordingTrainer(Trainer):
        """Counts, on every training episode, how often the prediction matched the real game
        (``compare_real`` puts the real answer in each turn's info)."""

        def _rollout(self, tasks, rollout_config, label):
            result = super()._rollout(tasks, rollout_config, label)
            for trajectory in result.trajectories:
                for turn in trajectory.turns:
                    if turn.info.get("experience_error"):
                        agreed["failed"] += 1
                    real = turn.info.get("real")
                    if real is None or turn.info.get("experience_error"):
                        continue
                    predicted = parse_reply(turn.info["experience_model"]["text"])
                    agreed["steps"] += 1
                    agreed["observation"] += " ".join(predicted.observation.split()) == " ".join(real["observation"].split())
                    agreed["reward"] += abs(real["reward"] - turn.reward) < 1e-6
                    agreed["done"] += predicted.done == real["terminated"]
            return result

    trainer = RecordingTrainer(config, **learner())
    started = time.perf_counter()
    start = real_success()
    history = trainer.train()
    final = real_success()
    seconds = time.perf_counter() - started
    steps = max(1, agreed["steps"])
    return {"real_success_before": start, "real_success_after": final,
            "synthetic_success_by_step": [round(r["success/train"], 3) for r in history],
            "agreement_with_real_during_training": {key: round(agreed[key] / steps, 3)
                                                    for key in ("observation", "reward", "done")},
            "predicted_steps": agreed["steps"],
            "failed_predictions": agreed["failed"], "seconds": round(seconds, 1)}


# ------------------------------------------------------------------ report
def markdown(report: dict[str, Any]) -> str:
    lines = ["### Synthetic experience: one-step agreement with the real game (GuessTheNumber, easy)", "",
             "| experience model | hidden number | k | steps | format | observation exact | observation F1 | kind "
             "| reward | done | s / prediction |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in report["agreement"]:
        r = row["result"]
        lines.append(f"| {row['model']} | {'told' if row['reveal'] else 'not told'} | {row['k']} | {r['steps']} "
                     f"| {r['format']:.0%} | {r['observation_exact']:.0%} | {r['observation_f1']:.2f} | {r['kind']:.0%} "
                     f"| {r['reward']:.0%} | {r['done']:.0%} | {r['seconds_per_prediction']:.2f} |")
    if report.get("training"):
        lines += ["", "### A policy trained only on synthetic FindTheWord, evaluated on the real game", "",
                  "| experience model | steps | real success before | real success after | synthetic success "
                  "(first → last step) | agreement with the real game (observation / reward / done) "
                  "| failed predictions | seconds |",
                  "|---|---:|---:|---:|---|---|---:|---:|"]
        for row in report["training"]:
            r = row["result"]
            a = r["agreement_with_real_during_training"]
            by_step = r["synthetic_success_by_step"]
            lines.append(f"| {row['model']} | {len(by_step)} | {r['real_success_before']:.0%} "
                         f"| **{r['real_success_after']:.0%}** | {by_step[0]:.0%} → {by_step[-1]:.0%} "
                         f"| {a['observation']:.0%} / {a['reward']:.0%} / {a['done']:.0%} "
                         f"| {r['failed_predictions']} / {r['predicted_steps'] + r['failed_predictions']} | {r['seconds']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--episodes", type=positive_int, default=4, help="held-out real episodes for the agreement")
    parser.add_argument("--buffer-episodes", type=positive_int, default=16, help="real episodes seeding the buffer")
    parser.add_argument("--train-steps", type=positive_int, default=12)
    parser.add_argument("--tasks-per-step", type=positive_int, default=4)
    parser.add_argument("--group-size", type=positive_int, default=4)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--threads", type=positive_int, default=2, help="torch threads")
    parser.add_argument("--quick", action="store_true", help="scripted rules instead of the embedded model")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    import torch

    from agentgym.policies.random import RandomPolicy
    from agentgym.rollout import RolloutConfig, Task, rollout
    from tests.synthetic.world_models import RandomWords
    from tests.train.word_world import ENV_ID, register

    torch.set_num_threads(args.threads)
    register()
    with tempfile.TemporaryDirectory(prefix="bench-synthetic-") as folder:  # trajectories and runs
        work = Path(folder)
        guess_jsonl, words_jsonl = work / "guess.jsonl", work / "words.jsonl"
        rollout(RandomPolicy(seed=1), [Task(GUESS, seed=s, kwargs=EASY) for s in range(args.buffer_episodes)],
                RolloutConfig(group_size=1), trajectories_path=guess_jsonl, progress=False)
        rollout(RandomWords(), [Task(ENV_ID, seed=s) for s in range(20)],
                RolloutConfig(group_size=2, system_prompt=None, sampling=SamplingParams(seed=5)),
                trajectories_path=words_jsonl, progress=False)
        buffer = ReplayBuffer.from_jsonl(guess_jsonl)
        episodes = real_episodes(args.episodes, seed=5_000)

        embedded_spec = "bench_synthetic:rules_guess" if args.quick else "bench_synthetic:embedded_experience"
        from agentgym.synthetic.env import experience_model_from

        embedded = experience_model_from(embedded_spec, sampling=SAMPLING, timeout=3600.0)
        rules = ExperienceModel(rules_guess(), max_history_turns=64)
        name = "scripted rules (--quick)" if args.quick else "smollm2-135m"
        agreement_rows = []
        for model_name, model, reveal, k in [(name, embedded, True, 3), (name, embedded, True, 0),
                                             (name, embedded, False, 3), ("scripted rules (reference)", rules, True, 3)]:
            started = time.perf_counter()
            result = agreement(model, buffer, episodes, reveal=reveal, k=k)
            print(f"agreement {model_name} reveal={reveal} k={k}: {json.dumps({x: y for x, y in result.items() if x != 'samples'})} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            agreement_rows.append({"model": model_name, "reveal": reveal, "k": k, "result": result})

        training_rows = []
        if not args.skip_training:
            for model_name, spec in [(name, "bench_synthetic:rules_words" if args.quick else embedded_spec),
                                     ("scripted rules (reference)", "bench_synthetic:rules_words")]:
                result = train_on_synthetic(spec, args, words_jsonl, work / f"run-{len(training_rows)}")
                print(f"training {model_name}: {json.dumps(result)}", flush=True)
                training_rows.append({"model": model_name, "result": result})
        close_shared()

    report = {
        "agreement": agreement_rows, "training": training_rows,
        "config": {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()},
        "sampling": {"max_tokens": SAMPLING.max_tokens, "temperature": SAMPLING.temperature},
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    **cpus_and_load(), "torch": torch.__version__, "threads": args.threads},
    }
    table = markdown(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "bench_synthetic_quick" if args.quick else "bench_synthetic"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2))
    (args.out / f"{stem}.md").write_text(table + "\n")


def rules_words() -> Any:
    from tests.synthetic.world_models import FindTheWordRules

    return FindTheWordRules()


if __name__ == "__main__":
    main()
