"""What the trainer's vLLM rollouts are given for model.path (vLLM takes a folder or a hub name)."""

from pathlib import Path

from agentgym.policies.embedded import embedded_model_folder
from agentgym.train.model_setup import vllm_model_source


def test_the_embedded_spec_is_its_converted_folder_not_a_hub_name():
    for spelling in ("smollm2-135m", "smollm2", "embedded"):
        folder = Path(vllm_model_source(spelling))
        assert folder == embedded_model_folder() and (folder / "config.json").is_file()


def test_other_paths_pass_as_written_with_the_home_folder_expanded():
    assert vllm_model_source("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"
    assert vllm_model_source("/models/mine") == "/models/mine"
    assert vllm_model_source("~/models/mine") == str(Path.home() / "models" / "mine")
