"""Conversations rendered with a model's chat template, and with the documented default for a model without one."""

import pytest

from observatory.runtime.chat import DEFAULT_TEMPLATE, ChatMessage, ChatTemplate
from observatory.runtime.engine import LlamaEngine
from observatory.runtime.errors import ShardError
from observatory.runtime.tinymodel import TinyModelSpec, write_model

CONVERSATION = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hello")]


def test_the_default_template_marks_each_role_and_opens_the_answer():
    rendered = ChatTemplate(DEFAULT_TEMPLATE, "<s>", "</s>").render(CONVERSATION)
    assert rendered.prompt == "<s><|system|>\nBe brief.</s>\n<|user|>\nHello</s>\n<|assistant|>\n"
    assert rendered.stop == ("</s>",)


# The shape of a ChatML template as GGUF files carry them.
CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
          " + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
          "{% endif %}")  # fmt: skip


def test_the_template_a_gguf_carries_is_the_one_its_conversations_are_rendered_with(tmp_path):
    model = write_model(TinyModelSpec(), tmp_path / "chatml.gguf", chat_template=CHATML)
    engine = LlamaEngine(model, n_ctx=256, n_threads=1, n_gpu_layers=0, seed=1)
    engine.load()
    try:
        rendered = engine.chat.render(CONVERSATION)
    finally:
        engine.close()
    assert rendered.prompt == ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                               "<|im_start|>assistant\n")  # fmt: skip
    assert rendered.stop == ("</s>",)  # the model's end-of-sequence token, as llama-cpp-python stops on it


def test_a_conversation_the_template_refuses_is_a_422_naming_messages():
    strict = ("{% for message in messages %}{% if message['role'] == 'system' %}"
              "{{ raise_exception('System role not supported') }}{% endif %}{{ message['content'] }}{% endfor %}")
    with pytest.raises(ShardError) as refused:
        ChatTemplate(strict, "", "").render(CONVERSATION)
    assert (refused.value.status, refused.value.field) == (422, "messages")
    assert "System role not supported" in refused.value.message
