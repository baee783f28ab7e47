"""Building a policy from a short spec string, as the command line takes it.

The embedded SmolLM2-135M-Instruct model has one canonical spec, :data:`EMBEDDED_SPEC`
(``smollm2-135m``): the name results, run directories and ``[model] path`` of a training
configuration use. ``smollm2`` and ``embedded`` are accepted aliases (:func:`canonical_spec`
maps them), so older commands keep working.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from agentgym.policies.base import Policy

#: The canonical spec of the embedded model; equal to ``policies.embedded.EMBEDDED_MODEL_NAME``,
#: the name its generations are recorded under.
EMBEDDED_SPEC = "smollm2-135m"
#: Other spellings of :data:`EMBEDDED_SPEC` that are accepted.
EMBEDDED_ALIASES = ("smollm2", "embedded")

DEFAULT_POLICY = EMBEDDED_SPEC

POLICY_SPECS = {
    EMBEDDED_SPEC: "the embedded SmolLM2-135M-Instruct model (the default; aliases: smollm2, embedded)",
    "hf:PATH": ("a Hugging Face causal LM or vision-language checkpoint (folder or hub cache name), or a "
                "LoRA run's adapter folder"),
    "openai:URL#MODEL": "an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1#my-model",
    "oracle": "the environment's own solver (an upper bound)",
    "random[:SEED]": "random legal-looking moves",
    "human": "you, at the terminal",
}


def canonical_spec(spec: str | None) -> str:
    """``spec`` with the embedded model's aliases replaced by :data:`EMBEDDED_SPEC` (``None``:
    the default policy); other specs are returned unchanged."""
    spec = spec or DEFAULT_POLICY
    return EMBEDDED_SPEC if spec in EMBEDDED_ALIASES else spec


def looks_like_local_path(name: str) -> bool:
    """``name`` is meant as a folder rather than a hub repo id: absolute, ``~``, ``./``,
    ``../``, a Windows drive, more than one ``/``, or an existing path."""
    return (name.startswith(("/", "~", "./", "../", ".\\", "..\\")) or name in (".", "..")
            or (len(name) > 1 and name[1] == ":") or "\\" in name or name.count("/") > 1
            or Path(name).expanduser().exists())


def make_policy(spec: str | None = None) -> Policy:
    """Build the policy named by ``spec`` (see :data:`POLICY_SPECS`); ``None`` means the default.

    Raises:
        ValueError: an unknown spec, an empty one (only ``None`` means the default: an empty
            string is a variable left unset, ``--policy "$POLICY"``), a malformed argument, a
            local model folder that does not exist or is a file (a checkpoint's ``config.json``
            or weights: the error names its folder) or a checkpoint that cannot be loaded (one
            line naming the spec).
    """
    if spec is not None and not isinstance(spec, str):
        raise ValueError(f"a policy spec is a string such as {DEFAULT_POLICY!r} or 'hf:PATH', got {spec!r}")
    if spec is not None and not spec.strip():
        raise ValueError(f"empty policy spec {spec!r}: name one, such as {DEFAULT_POLICY!r} (the default), "
                         f"'hf:PATH' or 'random:0'")
    spec = canonical_spec(spec)
    kind, colon, argument = spec.partition(":")
    if colon and not argument:  # 'random:$SEED' with SEED unset, 'hf:' with no path
        usage = {"oracle": "'oracle'", "human": "'human'", "random": "'random' or 'random:SEED'",
                 "hf": "'hf:PATH'", "openai": "'openai:URL#MODEL'"}.get(kind, "'hf:PATH' or 'random:0'")
        raise ValueError(f"policy {spec!r} ends in ':' with nothing after it: write {usage}")
    if kind == "oracle" and not argument:
        from agentgym.policies.scripted import OraclePolicy

        return OraclePolicy()
    if kind == "random":
        from agentgym.policies.random import RandomPolicy

        try:
            seed = int(argument) if argument else None
        except ValueError:
            raise ValueError(f"policy {spec!r}: the random policy's seed must be an integer, got {argument!r}") from None
        return RandomPolicy(seed)
    if kind == "human" and not argument:
        from agentgym.policies.human import HumanPolicy

        return HumanPolicy()
    if spec == EMBEDDED_SPEC:
        from agentgym.policies.embedded import embedded_policy

        return embedded_policy()
    if kind == "hf" and argument:
        return _hf_policy(spec, argument)
    if kind == "openai" and argument:
        from agentgym.policies.openai_compat import OpenAIPolicy

        url, _, model = argument.partition("#")
        if not model:
            raise ValueError("openai policies need a model name: openai:URL#MODEL")
        return OpenAIPolicy(url, model)
    known = "; ".join(f"{k} ({v})" for k, v in POLICY_SPECS.items())
    raise ValueError(f"unknown policy {spec!r}; choose one of: {known}")


def is_adapter_folder(folder: Path) -> bool:
    """``folder`` holds a LoRA adapter (peft's ``adapter_config.json``) and no full model, as a
    LoRA run's ``final`` and ``checkpoints/step-N`` folders do."""
    return (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file()


def training_folder_problem(folder: Path) -> str | None:
    """Why ``folder``, a training run's directory or one of its checkpoints, is no model to load
    (and what to load instead); ``None`` for any other folder. A checkpoint
    (``checkpoints/step-N``: ``state.pt`` beside the run's configuration as ``config.json``) holds
    the trainer's state for ``--resume``; a run directory (``checkpoints/`` or ``metrics.jsonl``)
    holds its model in ``final``."""
    if (folder / "state.pt").is_file() and (folder / "history.json").is_file():
        return ("is a training checkpoint (the trainer's state, for `agentgym train --resume`), not a model; "
                "the run's model is its folder 'final'")
    if not (folder / "config.json").is_file() and ((folder / "checkpoints").is_dir()
                                                   or (folder / "metrics.jsonl").is_file()):
        final = folder / "final"
        if is_checkpoint_folder(final):
            return f"is a training run's directory; its model is the folder {str(final)!r}"
        return ("is a training run's directory without a final model (the run has not finished, or "
                "checkpoint.save_final is off): continue it with `agentgym train --resume` first")
    return None


def is_checkpoint_folder(folder: Path) -> bool:
    """``folder`` holds a Hugging Face model (``config.json``) or a LoRA adapter on one."""
    return folder.is_dir() and ((folder / "config.json").is_file() or is_adapter_folder(folder))


def has_vision_tower(source: str) -> bool:
    """The checkpoint's configuration has a ``vision_config`` (an image-text-to-text model, as
    training's ``model.path`` detects it); ``False`` when it cannot be read (the causal-LM load
    then says why)."""
    from transformers import AutoConfig

    from agentgym.policies.hf import quiet_transformers

    try:
        with quiet_transformers():
            return getattr(AutoConfig.from_pretrained(source), "vision_config", None) is not None
    except Exception:  # noqa: BLE001 - unreadable or unknown: HFPolicy.from_pretrained reports it
        return False


def _hf_policy(spec: str, argument: str) -> Policy:
    """``HFPolicy.from_pretrained`` (``HFVisionPolicy`` for a checkpoint with a vision tower)
    with the failures a user can cause turned into one line.

    A LoRA adapter folder loads its base model (the adapter's ``base_model_name_or_path``)
    with the adapter applied; that needs peft (the ``train`` extra)."""
    folder = Path(argument).expanduser()
    if looks_like_local_path(argument):
        if not folder.exists():
            raise ValueError(f"policy {spec!r}: no such folder {argument!r}")
        if not folder.is_dir():  # a checkpoint's config.json or weights, a GGUF file
            where = (f"its folder: hf:{folder.parent}" if is_checkpoint_folder(folder.parent)
                     else "the folder that holds the checkpoint (its config.json and weights)")
            raise ValueError(f"policy {spec!r}: {argument!r} is a file, not a folder: give {where}")
        training = training_folder_problem(folder)
        if training:
            raise ValueError(f"policy {spec!r}: {argument!r} {training}")
        if not is_checkpoint_folder(folder):
            raise ValueError(f"policy {spec!r}: {argument!r} is not a Hugging Face checkpoint folder "
                             f"(it has no config.json, nor a LoRA adapter's adapter_config.json)")
        config_problem = _config_file_problem(folder)
        if config_problem:
            raise ValueError(f"policy {spec!r}: {argument!r} {config_problem}")
        if is_adapter_folder(folder) and importlib.util.find_spec("peft") is None:
            raise ValueError(f"policy {spec!r}: {argument!r} is a LoRA adapter, which needs peft: "
                             f"pip install 'agentgym[train]'")
    from agentgym.policies.hf import HFPolicy
    from agentgym.policies.hub import loadable_source

    is_folder = looks_like_local_path(argument)
    try:
        source = loadable_source(str(folder) if is_folder else argument, is_folder=is_folder)
        if not (is_folder and is_adapter_folder(folder)) and has_vision_tower(source):
            from agentgym.policies.hf_vision import HFVisionPolicy

            return HFVisionPolicy.from_pretrained(source)
        return HFPolicy.from_pretrained(source)
    except (OSError, ValueError, *_damaged_weights_errors()) as exc:  # not in the hub cache (no network), not a
        # model, unreadable, no tokenizer files, an architecture transformers does not know, a weights file cut short
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"policy {spec!r}: cannot load the model {argument!r}: {first_line}") from None


def _config_file_problem(folder: Path) -> str | None:
    """Why the folder's ``config.json`` (or, for a LoRA adapter, ``adapter_config.json``) is no
    model configuration -- not JSON, or JSON but not an object -- or ``None`` when it is one.
    (transformers would fail on it deep inside with a ``TypeError`` or a ``JSONDecodeError``.)"""
    name = "adapter_config.json" if is_adapter_folder(folder) else "config.json"
    try:
        config = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"has a {name} that cannot be read as JSON ({exc})"
    if not isinstance(config, dict):
        return f"has a {name} that is not a JSON object (it holds a {type(config).__name__})"
    return None


def _damaged_weights_errors() -> tuple[type[Exception], ...]:
    """What reading a damaged weights file raises beyond ``OSError``: safetensors' own
    ``SafetensorError`` (a file cut short by an interrupted save: 'invalid header length')."""
    try:
        from safetensors import SafetensorError
    except ImportError:  # safetensors absent or without the name: nothing more to catch
        return ()
    return (SafetensorError,)
