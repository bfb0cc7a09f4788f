"""Chat messages rendered into one prompt with the model's chat template.

A GGUF model may carry its template (``tokenizer.chat_template``, a Jinja template as Hugging Face
writes them); llama-cpp-python's :class:`Jinja2ChatFormatter` renders it as Transformers does. A
model without one (the generated tiny model) gets :data:`DEFAULT_TEMPLATE`: each message as
``<|role|>`` on a line of its own, its text, and the end-of-sequence token, then ``<|assistant|>``
for the answer. The rendered prompt holds its special tokens, so it is tokenized with them parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jinja2
import llama_cpp
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from observatory.runtime.errors import input_error

DEFAULT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
TEMPLATE_KEY = "tokenizer.chat_template"


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation: its role and its text."""

    role: str
    content: str


@dataclass(frozen=True)
class RenderedChat:
    """A conversation as one prompt, and the strings that end the answer (the template's end of turn)."""

    prompt: str
    stop: tuple[str, ...]


class ChatTemplate:
    """Renders conversations for one model."""

    def __init__(self, template: str, bos_token: str, eos_token: str) -> None:
        self.template = template
        self._formatter = Jinja2ChatFormatter(template, eos_token=eos_token, bos_token=bos_token)

    @classmethod
    def of_model(cls, llm: llama_cpp.Llama) -> ChatTemplate:
        """The template the model carries, else :data:`DEFAULT_TEMPLATE`, with its own BOS and EOS text."""

        def text_of(token: int) -> str:
            return llm._model.token_get_text(token) if token >= 0 else ""

        template = llm.metadata.get(TEMPLATE_KEY) or DEFAULT_TEMPLATE
        return cls(template, text_of(llm.token_bos()), text_of(llm.token_eos()))

    def render(self, messages: Sequence[ChatMessage]) -> RenderedChat:
        """The prompt for ``messages`` with the assistant's turn opened; a 422 naming ``messages`` when
        the template refuses them (many templates insist on alternating roles)."""
        try:
            rendered = self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages])
        except (ValueError, jinja2.TemplateError) as error:
            raise input_error("messages", f"messages: the model's chat template refused them: {error}") from None
        return RenderedChat(rendered.prompt, tuple(stop for stop in rendered.stop if stop))
