"""A stream relayed by the orchestrator names the model the client asked for, event by event as it arrives."""

import asyncio
import json

from observatory.orchestrator.model_echo import renamed_events

SERVED = "themis-tiny-0123"


def _event(text: str, model: str = SERVED) -> bytes:
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}  # fmt: skip
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _relayed(reads: list[bytes]) -> list[bytes]:
    async def source():
        for read in reads:
            yield read

    async def collect() -> list[bytes]:
        return [out async for out in renamed_events(source(), SERVED, "legal")]

    return asyncio.run(collect())


def _models(stream: bytes) -> list[str]:
    events = [line.removeprefix(b"data: ") for line in stream.split(b"\n\n") if line.startswith(b"data: {")]
    return [json.loads(event)["model"] for event in events]


def test_every_event_names_the_model_asked_for_even_split_between_reads():
    stream = _event("one") + _event("two") + _event("") + b"data: [DONE]\n\n"
    cut = stream.index(SERVED.encode()) + 4  # a read ends inside the first event's model name
    relayed = _relayed([stream[:cut], stream[cut:]])
    assert _models(b"".join(relayed)) == ["legal"] * 3
    assert b"".join(relayed).endswith(b"data: [DONE]\n\n")


def test_each_complete_event_is_passed_on_with_the_read_that_completes_it():
    first, second = _event("one"), _event("two")
    relayed = _relayed([first, second[:10], second[10:]])
    assert [_models(out) for out in relayed] == [["legal"], ["legal"]]  # nothing waits for a later read


def test_generated_text_that_quotes_the_model_member_is_left_as_it_was():
    text = f'"model": "{SERVED}"'
    relayed = b"".join(_relayed([_event(text)]))
    chunk = json.loads(relayed.removeprefix(b"data: "))
    assert chunk["model"] == "legal" and chunk["choices"][0]["delta"]["content"] == text
