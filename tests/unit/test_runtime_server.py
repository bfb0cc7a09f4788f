"""The ``observatory-shard`` command line: flags reach the settings."""

import llama_cpp
import pytest

from observatory.runtime.engine import LlamaEngine
from observatory.runtime.placement import llama_gpu_layers
from observatory.runtime.server import parse_args, settings_from
from observatory.runtime.tinymodel import ensure_default_model


def test_gpu_layers_flag_sets_the_llama_offload():
    assert settings_from(parse_args(["--domain", "legal", "--gpu-layers", "-1"])).n_gpu_layers == -1
    assert settings_from(parse_args(["--domain", "legal", "--gpu-layers", "0"])).n_gpu_layers == 0
    assert settings_from(parse_args(["--domain", "legal"])).n_gpu_layers is None


@pytest.mark.parametrize(
    ("requested", "can_offload", "layers"),
    [(None, True, -1), (None, False, 0), (0, True, 0), (12, True, 12)],
)
def test_every_layer_goes_to_the_gpu_unless_asked_otherwise(requested, can_offload, layers):
    assert llama_gpu_layers(requested, can_offload) == layers


@pytest.mark.gpu
def test_an_offloaded_model_generates(tmp_path):
    if not llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama.cpp build cannot offload to a GPU")
    engine = LlamaEngine(ensure_default_model(tmp_path), n_ctx=256, n_threads=None, n_gpu_layers=-1, seed=1)
    engine.load()
    try:
        assert engine.complete("Hello", max_tokens=8, temperature=0.0).completion_tokens == 8
    finally:
        engine.close()
