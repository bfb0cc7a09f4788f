"""The engine's own generation loop against llama-cpp-python's create_completion on the same model."""

import threading

import llama_cpp
import pytest

from observatory.runtime.engine import LlamaEngine, Piece, Sampling
from observatory.runtime.tinymodel import ensure_default_model
from support.runtime import model_cache

PROMPT = "Analyze this contract clause"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return ensure_default_model(model_cache(tmp_path_factory))


@pytest.fixture(scope="module")
def engine(model):
    engine = LlamaEngine(model, n_ctx=512, n_threads=None, n_gpu_layers=0, seed=1234)
    engine.load()
    yield engine
    engine.close()


def test_greedy_text_and_counts_equal_create_completion(engine, model):
    reference = llama_cpp.Llama(model_path=str(model), n_ctx=512, seed=1234, verbose=False)
    expected = reference.create_completion(PROMPT, max_tokens=48, temperature=0.0)
    reference.close()
    completion = engine.complete(PROMPT, 48, 0.0)
    assert completion.text == expected["choices"][0]["text"]
    assert (completion.prompt_tokens, completion.completion_tokens) == (
        expected["usage"]["prompt_tokens"], expected["usage"]["completion_tokens"],
    )  # fmt: skip
    assert completion.finish_reason == expected["choices"][0]["finish_reason"] == "length"


def test_pieces_arrive_as_generated_and_join_into_the_text(engine):
    pieces = []
    completion = engine.complete(PROMPT, 32, 0.7, on_text=pieces.append)
    assert len(pieces) > 1 and "".join(piece.text for piece in pieces) == completion.text
    assert completion.first_token_at < completion.last_token_at
    assert completion.seconds_per_output_token > 0
    assert engine.complete(PROMPT, 32, 0.7).text == completion.text  # seeded per request


def test_a_cancelled_generation_stops_after_the_current_token(engine):
    cancelled = threading.Event()
    pieces = []

    def cancel_after_three(piece: Piece) -> None:
        pieces.append(piece)
        if len(pieces) == 3:
            cancelled.set()

    completion = engine.complete(PROMPT, 200, 0.7, on_text=cancel_after_three, cancelled=cancelled)
    assert completion.finish_reason == "cancelled"
    assert completion.completion_tokens < 10


def test_a_stop_string_completed_by_the_last_token_allowed_reports_stop(engine):
    whole = engine.complete(PROMPT, 12, 0.0)
    assert whole.finish_reason == "length"
    # The longest end of the text that appears nowhere earlier: it is completed by the twelfth token only.
    stop = next(whole.text[-size:] for size in range(4, 0, -1) if whole.text.find(whole.text[-size:]) ==
                len(whole.text) - size)  # fmt: skip
    stopped = engine.complete(PROMPT, 12, 0.0, sampling=Sampling(stop=(stop,)))
    assert (stopped.text, stopped.finish_reason) == (whole.text[: -len(stop)], "stop")


def test_pieces_count_the_tokens_generated_so_far(engine):
    free: list[Piece] = []
    engine.complete(PROMPT, 20, 0.7, on_text=free.append)
    # A stop string that begins with the first two tokens' text and never completes holds that text back:
    # the third piece carries three tokens' text, and pieces and tokens are no longer one to one.
    held = Sampling(stop=(free[0].text + free[1].text + "\x01",))
    pieces: list[Piece] = []
    completion = engine.complete(PROMPT, 20, 0.7, on_text=pieces.append, sampling=held)
    assert len(pieces) < completion.completion_tokens
    counted = [piece.completion_tokens for piece in pieces]
    assert counted == sorted(counted) and counted[0] >= 1 and counted[-1] == completion.completion_tokens == 20
    assert {piece.prompt_tokens for piece in pieces} == {completion.prompt_tokens}
