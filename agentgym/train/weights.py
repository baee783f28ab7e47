"""The weights an inference engine needs from the model being trained.

An engine that serves the rollouts (vLLM) holds its own copy of the plain model, named as in
the checkpoint on disk. After every update it gets :func:`inference_weights`: the model's state
dict, or for a LoRA model (peft) the merged weights ``W + (alpha / r) B A`` under the base
model's names, since the engine knows nothing of adapters.
"""

from __future__ import annotations

from typing import Any

import torch


def is_peft_model(model: Any) -> bool:
    return hasattr(model, "get_base_model") and hasattr(model, "peft_config")


def inference_weights(model: Any) -> dict[str, torch.Tensor]:
    """A state dict of the plain model (keys and shapes as ``AutoModelForCausalLM`` has them)
    whose forward equals ``model``'s; detached copies, the model untouched.

    For a LoRA model each adapted weight is ``W + delta`` with peft's own ``get_delta_weight``
    (``(alpha / r) B A``, transposed where the layer stores ``W`` transposed), computed beside
    the frozen ``W``: merging in place and unmerging again would leave rounding in the base
    after every update. A module peft trains whole (``modules_to_save``) gives the weights of
    the copy its forward uses, under the module's own names.
    """
    if not is_peft_model(model):
        return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    from peft.tuners.lora import LoraLayer
    from peft.utils import ModulesToSaveWrapper

    base = model.get_base_model()
    with torch.no_grad():
        weights = {name.replace(".base_layer.", "."): tensor.detach().clone()
                   for name, tensor in base.state_dict().items() if "lora_" not in name}
        for module_name, module in base.named_modules():
            if isinstance(module, ModulesToSaveWrapper):  # trained whole: the copy its forward uses
                prefix = f"{module_name}."
                for key in [key for key in weights if key.startswith(prefix)]:
                    del weights[key]
                active = module.active_adapters
                used = (module.modules_to_save[active[0]] if active and not module.disable_adapters
                        and all(adapter in module.modules_to_save for adapter in active) else module.original_module)
                weights.update({prefix + name: tensor.detach().clone() for name, tensor in used.state_dict().items()})
        for module_name, module in base.named_modules():
            if not isinstance(module, LoraLayer) or getattr(module, "disable_adapters", False):
                continue
            key = f"{module_name}.weight"
            for adapter in module.active_adapters:
                if adapter in module.lora_A:
                    weights[key] += module.get_delta_weight(adapter).to(weights[key].dtype)
    return weights
