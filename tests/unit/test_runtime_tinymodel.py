"""The generated default model: deterministic, loadable, with a tokenizer that round-trips text."""

import llama_cpp
import pytest

from observatory.runtime.tinymodel import (
    DEFAULT_ADAPTERS,
    TinyModelSpec,
    ensure_default_adapters,
    ensure_default_model,
    write_model,
)
from support.runtime import model_cache


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return ensure_default_model(model_cache(tmp_path_factory))


@pytest.fixture(scope="module")
def llm(model_path):
    model = llama_cpp.Llama(model_path=str(model_path), n_ctx=256, verbose=False, seed=1)
    yield model
    model.close()


def test_generation_is_deterministic(tmp_path, model_path):
    again = write_model(TinyModelSpec(), tmp_path / "again.gguf")
    assert again.read_bytes() == model_path.read_bytes()


def test_a_different_spec_is_cached_under_another_name(tmp_path):
    assert ensure_default_model(tmp_path, TinyModelSpec(seed=7)).name != ensure_default_model(tmp_path).name


def test_tokenizer_round_trips_ascii_and_unicode(llm):
    for text in ("Hello, how are you?", "Analyze this M&A contract", "Zweck: Überwachung ✓"):
        tokens = llm.tokenize(text.encode(), add_bos=False)
        # SentencePiece marks the start of the text as a word start, which decodes as a space.
        assert llm.detokenize(tokens).decode().removeprefix(" ") == text


def test_known_words_are_single_tokens(llm):
    assert len(llm.tokenize(b"contract", add_bos=False)) == 1


def test_completions_fill_max_tokens_with_valid_text(llm):
    result = llm.create_completion("Hello", max_tokens=40, temperature=0.7)
    assert result["usage"]["completion_tokens"] == 40
    assert result["choices"][0]["text"].strip()


def test_adapters_are_generated_for_the_model(tmp_path, llm):
    paths = ensure_default_adapters(tmp_path)
    assert [p.stem for p in paths] == [a.name for a in DEFAULT_ADAPTERS]
    for path in paths:
        handle = llama_cpp.llama_adapter_lora_init(llm._model.model, str(path).encode())
        assert handle is not None
        llama_cpp.llama_adapter_lora_free(handle)
