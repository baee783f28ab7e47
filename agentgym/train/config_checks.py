"""The combinations of values a training configuration cannot run with.

Contract: :func:`configuration_problems` takes a :class:`~agentgym.train.config.TrainConfig`
whose every value already has the right type (:mod:`agentgym.train.config_parsing`; a value that
failed to load kept its default) and returns one sentence per problem, naming each option as
written in the file (``rollout.top_p must be in (0, 1], got 2``), or an empty list; it changes
nothing. It runs when a configuration is built (:meth:`TrainConfig.from_dict` unless
``check=False``, hence :func:`~agentgym.train.config.load_config`) and on
:meth:`TrainConfig.check`, before anything is trained; the caller raises
:class:`~agentgym.train.config.ConfigError` with them.

What it checks: ranges (positive counts, probabilities in their intervals, a dual-clip constant
above 1...), combinations that cannot work (PPO without a value head, a group-relative estimator
with groups of one, mini-batches beyond the episodes of a step, evaluation seeds inside the
training seeds, greedy evaluation with several samples, async training with vLLM or a
curriculum, replay with a critic...), the estimator's own checks
(:mod:`agentgym.train.estimators`), the environment's wrappers and runtime, a local
``model.path`` that holds no model, and the optional packages a setting needs (peft, vLLM, Ray,
tensorboard, wandb). The ``_check_*`` functions each cover one section or concern and append to
the list they are given.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import agentgym.core
from agentgym.policies.specs import training_folder_problem
from agentgym.train.config_parsing import toml_literal

if TYPE_CHECKING:  # annotations only: the config module imports this one when it loads
    from agentgym.train.config import AlgorithmSection, CurriculumSection, EnvSection, TrainConfig


def configuration_problems(config: TrainConfig) -> list[str]:
    """Everything that makes ``config`` unable to run, as sentences."""
    p: list[str] = []
    run, model, env, rollout, algo = config.run, config.model, config.env, config.rollout, config.algorithm
    loss, opt, batching, filters, band = config.loss, config.optimizer, config.batching, config.filters, \
        config.loss.entropy_band

    def positive(value: float, name: str, *, integer: bool = False) -> None:
        if value <= 0:
            p.append(f"{name} must be a positive {'integer' if integer else 'number'}, got {value}")

    def not_negative(value: float, name: str) -> None:
        if value < 0:
            p.append(f"{name} must not be negative, got {value}")

    positive(run.steps, "run.steps", integer=True)
    not_negative(run.seed, "run.seed")
    if run.seed >= 2**64:  # torch's generators take 64 bits ("Overflow when unpacking long long")
        p.append(f"run.seed must be below 2**64, got {run.seed}")
    if not run.out_dir.strip():  # Path("") is the current folder: more likely a variable left unset
        p.append('run.out_dir is empty: name the run folder (e.g. "runs/train"; "." for the current folder)')
    elif "\0" in run.out_dir:  # no file system takes one ("embedded null byte" when the run starts)
        p.append(f"run.out_dir holds a NUL character, which no path can: {toml_literal(run.out_dir)}")
    _check_model_path(model.path, p)
    if not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", run.device):  # what torch.device parses, and only that
        p.append(f'run.device must be "auto", "cpu", "cuda" or "cuda:N", got {toml_literal(run.device)}')
    if run.precision == "bf16" and run.device == "cpu":
        p.append("run.precision = 'bf16' needs a CUDA device (run.device is 'cpu'); use 'fp32' or 'auto'")
    positive(env.tasks_per_step, "env.tasks_per_step", integer=True)
    positive(rollout.group_size, "rollout.group_size", integer=True)
    positive(rollout.max_tokens, "rollout.max_tokens", integer=True)
    positive(rollout.max_concurrent_episodes, "rollout.max_concurrent_episodes", integer=True)
    positive(model.max_batch_size, "model.max_batch_size", integer=True)
    if model.lora.enabled:
        positive(model.lora.r, "model.lora.r", integer=True)
        positive(model.lora.alpha, "model.lora.alpha", integer=True)
        if not 0 <= model.lora.dropout < 1:
            p.append(f"model.lora.dropout must be in [0, 1), got {model.lora.dropout}")
        _check_lora_targets(model.lora.target_modules, p)
    if len(env.train_seeds) != 2 or not 0 <= env.train_seeds[0] < env.train_seeds[1]:
        p.append(f"env.train_seeds must be [start, stop) with 0 <= start < stop, got {env.train_seeds}")
    elif env.train_seeds[1] >= 2**63:  # the seeds are drawn as NumPy int64s
        p.append(f"env.train_seeds must lie below 2**63, got {env.train_seeds}")
    elif env.train_seeds[1] - env.train_seeds[0] < env.tasks_per_step:
        p.append(f"env.train_seeds {env.train_seeds} holds fewer seeds than env.tasks_per_step "
                 f"({env.tasks_per_step})")
    if not rollout.temperature > 0:
        p.append(f"rollout.temperature must be positive, got {rollout.temperature}: training needs the "
                 "log-probs of a sampling distribution (greedy decoding has none)")
    if not 0 < rollout.top_p <= 1:
        p.append(f"rollout.top_p must be in (0, 1], got {rollout.top_p}")
    if rollout.max_turns is not None:
        positive(rollout.max_turns, "rollout.max_turns", integer=True)
    _check_turn_schedule(rollout.turn_schedule, p)
    _check_kl_penalty_is_read(_check_algorithm(algo, rollout, p), config, p)
    _check_curriculum(config.curriculum, env, p)
    if algo.gamma is not None and not 0 <= algo.gamma <= 1:
        p.append(f"algorithm.gamma must be in [0, 1], got {algo.gamma}")
    if not 0 <= algo.lam <= 1:
        p.append(f"algorithm.lam must be in [0, 1], got {algo.lam}")
    if algo.similarity_threshold is not None and not 0 < algo.similarity_threshold <= 1:
        p.append(f"algorithm.similarity_threshold must be in (0, 1], got {algo.similarity_threshold}")
    if algo.value_clip is not None:
        positive(algo.value_clip, "algorithm.value_clip")
    if not 0 < filters.top_fraction <= 1:
        p.append(f"filters.top_fraction must be in (0, 1], got {filters.top_fraction}")
    if not 0 < filters.zero_variance_weight <= 1:
        p.append(f"filters.zero_variance_weight must be in (0, 1], got {filters.zero_variance_weight}")
    if not 0 < loss.eps_low < 1:
        p.append(f"loss.eps_low must be in (0, 1), got {loss.eps_low}")
    positive(loss.eps_high, "loss.eps_high")
    if loss.dual_clip is not None and loss.dual_clip <= 1:
        p.append(f"loss.dual_clip must be greater than 1, got {loss.dual_clip}")
    if loss.kl_coef < 0 or loss.entropy_coef < 0:
        p.append("loss.kl_coef and loss.entropy_coef must not be negative")
    if band.enabled:
        if not 0 < band.width < 1 or not 0 <= band.ema < 1 or band.factor <= 1:
            p.append("loss.entropy_band needs 0 < width < 1, 0 <= ema < 1 and factor > 1")
        if not 0 <= band.min_coef <= loss.entropy_coef <= band.max_coef or loss.entropy_coef <= 0:
            p.append(f"loss.entropy_band needs 0 <= min_coef <= loss.entropy_coef <= max_coef with a positive "
                     f"entropy_coef to scale, got {band.min_coef} <= {loss.entropy_coef} <= {band.max_coef}")
    epo = loss.epo
    if not 0 <= epo.low_ratio < epo.high_ratio:
        p.append(f"loss.epo needs 0 <= low_ratio < high_ratio, got {epo.low_ratio} and {epo.high_ratio}")
    if epo.smooth_coef < 0:
        p.append(f"loss.epo.smooth_coef must not be negative, got {epo.smooth_coef}")
    if epo.enabled and loss.entropy_coef <= 0:
        p.append("loss.epo scales the entropy term: it needs a positive loss.entropy_coef, got "
                 f"{loss.entropy_coef}")
    positive(opt.lr, "optimizer.lr")
    positive(opt.eps, "optimizer.eps")
    not_negative(opt.weight_decay, "optimizer.weight_decay")
    if len(opt.betas) != 2 or not all(0 <= b < 1 for b in opt.betas):
        p.append(f"optimizer.betas must be two numbers in [0, 1), got {opt.betas}")
    not_negative(opt.warmup_steps, "optimizer.warmup_steps")
    not_negative(opt.max_grad_norm, "optimizer.max_grad_norm")
    if not 0 <= opt.min_lr_ratio <= 1:
        p.append(f"optimizer.min_lr_ratio must be in [0, 1], got {opt.min_lr_ratio}")
    positive(batching.epochs, "batching.epochs", integer=True)
    positive(batching.mini_batches, "batching.mini_batches", integer=True)
    if batching.micro_batch_tokens != "auto" and batching.micro_batch_tokens <= 0:
        p.append(f'batching.micro_batch_tokens must be a positive integer or "auto", got {batching.micro_batch_tokens}')
    episodes = env.tasks_per_step * rollout.group_size
    if 0 < episodes < batching.mini_batches:
        p.append(f"batching.mini_batches ({batching.mini_batches}) exceeds the episodes per step "
                 f"({env.tasks_per_step} tasks x {rollout.group_size} rollouts = {episodes})")
    not_negative(config.checkpoint.every, "checkpoint.every")
    if config.checkpoint.keep_last < 1:
        p.append(f"checkpoint.keep_last must be at least 1, got {config.checkpoint.keep_last}")
    if config.eval.every < 0:
        p.append(f"eval.every must not be negative, got {config.eval.every}")
    if config.eval.every:
        positive(config.eval.tasks, "eval.tasks", integer=True)
        not_negative(config.eval.first_seed, "eval.first_seed")
        start, stop = config.eval.first_seed, config.eval.first_seed + config.eval.tasks
        if len(env.train_seeds) == 2 and start < env.train_seeds[1] and env.train_seeds[0] < stop:
            p.append(f"the evaluation seeds [{start}, {stop}) overlap env.train_seeds {env.train_seeds}: "
                     "evaluation must use held-out tasks")
        positive(config.eval.samples, "eval.samples", integer=True)
        if config.eval.temperature < 0:
            p.append(f"eval.temperature must not be negative, got {config.eval.temperature}")
        elif config.eval.temperature == 0 and config.eval.samples > 1:
            p.append(f"eval.samples = {config.eval.samples} with greedy decoding (eval.temperature = 0) "
                     "plays the same episode again: sample (eval.temperature > 0) or use one sample")
    _check_env_runtime(env, p)
    _check_async_training(config, p)
    _check_guidance(config, p)
    _check_replay(config, p)
    _check_optional_packages(config, p)
    return p


def _check_async_training(config: TrainConfig, p: list[str]) -> None:
    section = config.async_training
    if section.max_staleness < 1:
        p.append(f"async_training.max_staleness must be at least 1 (a version is one update; with no lag "
                 f"allowed nothing can overlap: use async_training.enabled = false), got {section.max_staleness}")
    if section.importance_cap < 1:
        p.append(f"async_training.importance_cap must be at least 1 (an on-policy token has weight 1), "
                 f"got {section.importance_cap}")
    if not section.enabled:
        return
    if config.rollout.backend != "hf":
        p.append(f"async_training needs rollout.backend = 'hf' (its behaviour policy is a copy of the trained "
                 f"model), got {config.rollout.backend!r}")
    if config.curriculum.name != "none":
        p.append(f"async_training is not available with a curriculum yet (curriculum.name = "
                 f"{config.curriculum.name!r}: its proposals would run ahead of what it has observed)")


def _check_guidance(config: TrainConfig, p: list[str]) -> None:
    from agentgym.core import HINT_LEVELS

    section = config.guidance
    levels = section.levels
    if not levels or any(type(level) is not int or level not in HINT_LEVELS for level in levels):
        p.append(f"guidance.levels must be some of {list(HINT_LEVELS)} (1 the rules, 2 a strategy, 3 a good "
                 f"next move), got {levels!r}")
    elif list(levels) != sorted(set(levels)):
        p.append(f"guidance.levels must rise, weakest first, without repeats, got {levels!r}")
    if section.patience < 1:
        p.append(f"guidance.patience must be at least 1, got {section.patience}")
    if section.importance_cap < 1:
        p.append(f"guidance.importance_cap must be at least 1 (a token the hint did not change has weight 1), "
                 f"got {section.importance_cap}")
    if section.enabled and config.async_training.enabled:
        p.append("guidance is not available with async_training yet (a failed group is replayed by the learner "
                 "between its rollout and its update); enable one of them")


def _check_replay(config: TrainConfig, p: list[str]) -> None:
    section = config.replay
    for name in ("capacity", "per_task", "max_replayed_per_group"):
        value = getattr(section, name)
        if type(value) is not int or value < 1:
            p.append(f"replay.{name} must be a positive integer, got {value!r}")
    if type(section.max_age) is not int or section.max_age < 0:
        p.append(f"replay.max_age must be a whole number of steps, 0 for no limit, got {section.max_age!r}")
    if section.importance_cap < 1:
        p.append(f"replay.importance_cap must be at least 1 (a token the learner still samples alike has weight "
                 f"1), got {section.importance_cap}")
    if not section.enabled:
        return
    if config.async_training.enabled:
        p.append("replay is not available with async_training yet (its rows would need the lag bookkeeping of "
                 "the rollout thread); enable one of them")
    if config.algorithm.uses_value_head:
        p.append(f"replay is not available with a critic ({config.algorithm.name!r}): a replayed trajectory has "
                 "no values of the critic at its time; use a group-relative estimator (grpo, rloo...)")
    if config.guidance.enabled and config.guidance.importance_cap != section.importance_cap:
        p.append(f"replay.importance_cap ({section.importance_cap}) and guidance.importance_cap "
                 f"({config.guidance.importance_cap}) must agree when both are on (one cap per update)")


def _check_env_runtime(env: EnvSection, p: list[str]) -> None:
    from agentgym.runtime.runtimes import as_runtime
    from agentgym.wrappers.specs import WrapperSpec

    for wrapper in env.wrappers:
        try:
            WrapperSpec.from_data(wrapper)
        except (TypeError, ValueError) as exc:
            p.append(f"env.wrappers: {exc}")
    try:
        as_runtime(env.runtime)
    except ValueError as exc:
        p.append(f"env.runtime: {exc}")
    if env.ray_workers < 1:
        p.append(f"env.ray_workers must be at least 1, got {env.ray_workers}")
    if env.runtime == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            p.append("env.runtime = 'ray' needs Ray installed: pip install 'agentgym[ray]'")


def _check_model_path(path: str, p: list[str]) -> None:
    """:func:`model_path_problem` of ``model.path``, appended to ``p``."""
    problem = model_path_problem(path)
    if problem is not None:
        p.append(problem)


def model_path_problem(path: str, name: str = "model.path") -> str | None:
    """What is wrong with a model path (``name`` is how the user gave it: ``model.path``,
    ``--model``), or ``None``. One that looks like a local path (absolute, ``./``, ``~``, or more
    than the one slash of a hub name ``org/name``) must be a folder holding a model, so that a
    typo gives one line here rather than a hub error about repository ids."""
    expected = ("expected a local model folder (written by save_pretrained), a hub name such as "
                '"HuggingFaceTB/SmolLM2-135M-Instruct", or "smollm2-135m" (the embedded model)')
    folder = Path(path).expanduser()
    looks_local = folder.is_absolute() or path.startswith((".", "~")) or path.count("/") > 1 or "\\" in path
    if not path.strip():
        return f"{name} is empty: {expected}"
    if "\0" in path:  # Path would raise "embedded null byte"
        return f"{name} holds a NUL character, which no path or hub name can: {toml_literal(path)}"
    if looks_local and not folder.exists():
        return f"{name} {toml_literal(path)} does not exist: {expected}"
    if folder.is_file():
        return f"{name} {toml_literal(path)} is a file: {expected}"
    training = training_folder_problem(folder) if folder.is_dir() else None
    if training:
        return f"{name} {toml_literal(path)} {training}"
    if folder.is_dir() and not any((folder / file).is_file() for file in ("config.json", "adapter_config.json")):
        return f"{name} {toml_literal(path)} holds no model (no config.json): {expected}"
    return None


def _check_lora_targets(modules: list[str], p: list[str]) -> None:
    """What peft would refuse only once the model is loaded: no module, an empty name, or
    ``"all-linear"`` (its keyword for every linear layer) among module names."""
    if not modules:
        p.append('model.lora.target_modules must name at least one module, e.g. ["q_proj", "v_proj"], '
                 'or be ["all-linear"]')
    elif "all-linear" in modules and len(modules) > 1:
        p.append(f'model.lora.target_modules: "all-linear" stands alone (it adapts every linear layer), '
                 f"got {toml_literal(modules)}")
    elif not all(name.strip() for name in modules):
        p.append(f"model.lora.target_modules must not hold an empty name, got {toml_literal(modules)}")


def _check_algorithm(algo: AlgorithmSection, rollout: Any, p: list[str]) -> Any:
    """What the estimator registry says of ``algorithm.name`` and its options; the name's
    :class:`~agentgym.train.estimators.EstimatorSpec` (``None`` for an unknown name)."""
    from agentgym.train.estimators import estimator_names, estimator_spec

    try:
        spec = estimator_spec(algo.name)
    except agentgym.core.ConfigError as exc:
        p.append(f"algorithm.name: {exc}")
        return None
    if spec.compares_group and rollout.group_size == 1:
        alone = ", ".join(n for n in estimator_names() if not estimator_spec(n).compares_group)
        p.append(f"algorithm {algo.name!r} compares the rollouts of a group, but rollout.group_size is "
                 f"{rollout.group_size}: every advantage would be 0 (use group_size >= 2, or {alone})")
    if spec.critic and not algo.uses_value_head:
        p.append(f"algorithm {algo.name!r} needs a value head for GAE (remove algorithm.value_head = false)")
    if not spec.critic and algo.value_head:
        critics = ", ".join(repr(n) for n in estimator_names() if estimator_spec(n).critic)
        p.append(f"algorithm.value_head = true, but {algo.name!r} does not use a critic (only {critics} do)")
    p.extend(spec.check(algo) if spec.check else [])
    return spec


def _check_kl_penalty_is_read(spec: Any, config: TrainConfig, p: list[str]) -> None:
    """``loss.kl_mode = "reward"`` writes the KL penalty as each turn's ``kl_penalty`` reward
    component: an estimator that reads components in place of the turn rewards (IGPO,
    MT-GRPO) must read that one, or the penalty would be dropped without a word."""
    loss = config.loss
    if spec is None or spec.reads_components is None or loss.kl_mode != "reward" or not loss.kl_coef > 0:
        return
    read = spec.reads_components(config.algorithm)
    if "kl_penalty" not in read:
        hint = (" or add kl_penalty = 1.0 to algorithm.channels" if spec.name == "multichannel" else "")
        p.append(f"loss.kl_mode = 'reward' writes the KL penalty as the turns' 'kl_penalty' reward component, "
                 f"which algorithm {spec.name!r} does not read (it reads {', '.join(map(repr, read)) or 'none'}): "
                 f"the penalty would be ignored; use loss.kl_mode = 'loss'{hint}")


def _check_curriculum(section: CurriculumSection, env: EnvSection, p: list[str]) -> None:
    names: dict[str, int] = {}  # an arm's name -> its index: the curriculum logs curriculum/<name>/...
    for index, arm in enumerate(section.arms):
        unknown = sorted(set(arm) - {"id", "kwargs", "label"})
        if unknown:
            p.append(f"curriculum.arms[{index}] has unknown keys {unknown}: use id, kwargs and label")
        if "id" in arm and not isinstance(arm["id"], str):
            p.append(f"curriculum.arms[{index}].id must be an environment id, got {toml_literal(arm['id'])}")
        if "kwargs" in arm and not isinstance(arm["kwargs"], dict):
            p.append(f"curriculum.arms[{index}].kwargs must be a table, got {toml_literal(arm['kwargs'])}")
        name = _arm_name(arm, env)
        if name is not None and name in names:
            p.append(f"curriculum.arms[{names[name]}] and curriculum.arms[{index}] have the same name {name!r}: "
                     "their metrics would be logged as one arm's; give them distinct labels")
        elif name is not None:
            names[name] = index
    if not 0 < section.learning_rate <= 1:
        p.append(f"curriculum.learning_rate must be in (0, 1], got {section.learning_rate}")
    for name in ("temperature", "candidates", "window", "prior_strength"):
        if not getattr(section, name) > 0:
            p.append(f"curriculum.{name} must be positive, got {getattr(section, name)}")
    if section.exploration < 0:
        p.append(f"curriculum.exploration must be >= 0, got {section.exploration}")
    if not 0 < section.target < 1:
        p.append(f"curriculum.target must be in (0, 1), got {section.target}")


def _arm_name(arm: dict[str, Any], env: EnvSection) -> str | None:
    """The name :func:`~agentgym.train.curriculum.build_curriculum` gives ``arm`` (``None`` for
    one whose id or kwargs are malformed, reported on their own)."""
    from agentgym.train.curriculum import Arm

    env_id, kwargs, label = arm.get("id", env.id), arm.get("kwargs", {}), arm.get("label", "")
    if not isinstance(env_id, str) or not isinstance(kwargs, dict):
        return None
    return str(Arm(env_id, {**env.kwargs, **kwargs}, label).name)


def _check_turn_schedule(schedule: list[list[int]], p: list[str]) -> None:
    if not schedule:
        return
    if any(len(entry) != 2 for entry in schedule):
        p.append(f"rollout.turn_schedule entries must be [step, turns] pairs, got {schedule}")
        return
    steps = [step for step, _ in schedule]
    if steps[0] != 0 or any(b <= a for a, b in zip(steps, steps[1:])):
        p.append(f"rollout.turn_schedule must start at step 0 with rising steps, got {schedule}")
    if any(turns < 1 for _, turns in schedule):
        p.append(f"rollout.turn_schedule turn budgets must be positive, got {schedule}")


def _check_optional_packages(config: TrainConfig, p: list[str]) -> None:
    def missing(module: str) -> bool:
        return importlib.util.find_spec(module) is None

    if config.model.lora.enabled and missing("peft"):
        p.append("model.lora.enabled needs the peft package: pip install peft  (or agentgym[train])")
    if config.rollout.backend == "vllm":
        if missing("vllm"):
            p.append("rollout.backend = 'vllm' needs vLLM installed (and a GPU): pip install vllm")
    if config.logging.tensorboard and missing("tensorboard"):
        p.append("logging.tensorboard needs the tensorboard package: pip install tensorboard  (or agentgym[train])")
    if config.logging.wandb and missing("wandb"):
        p.append("logging.wandb needs the wandb package: pip install wandb")
