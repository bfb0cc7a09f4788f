"""Documents: text out of an upload (plain text, Markdown, PDF), cut into chunks a shard can embed."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from observatory.runtime.errors import ShardError, input_error

TEXT_TYPES = {"text/plain", "text/markdown", "text/x-markdown"}
PDF_TYPES = {"application/pdf"}
TEXT_SUFFIXES = (".txt", ".text", ".md", ".markdown")


def unsupported(kind: str) -> ShardError:
    """415 naming the ``file`` field."""
    return ShardError(415, f"file: unsupported type {kind!r}; send plain text, Markdown or PDF", "file")


def is_pdf(filename: str, content_type: str | None, data: bytes) -> bool:
    """Whether an upload is a PDF, by its signature, type or name."""
    return data.startswith(b"%PDF-") or content_type in PDF_TYPES or filename.lower().endswith(".pdf")


def upload_text(filename: str, content_type: str | None, data: bytes) -> str:
    """The text of an uploaded file; 415 for a type that is not text, Markdown or PDF, 422 for no text."""
    if is_pdf(filename, content_type, data):
        text = pdf_text(data)
    elif content_type in TEXT_TYPES or filename.lower().endswith(TEXT_SUFFIXES) or content_type is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise input_error("file", f"file: not UTF-8 text ({error.reason} at byte {error.start})") from None
    else:
        raise unsupported(content_type)
    if not text.strip():
        raise input_error("file", "file: holds no text")
    return text


def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF, pages separated by blank lines; 422 for a broken PDF."""
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise input_error("file", f"file: not a readable PDF ({type(error).__name__})") from None
    return "\n\n".join(pages)


def _words(paragraph: str, size: int) -> list[str]:
    """A paragraph longer than ``size`` cut between words (inside a word longer than ``size``)."""
    pieces, current = [], ""
    for word in paragraph.split():
        while len(word) > size:
            pieces += [current] if current else []
            current = ""
            pieces.append(word[:size])
            word = word[size:]
        if current and len(current) + 1 + len(word) > size:
            pieces.append(current)
            current = ""
        current = f"{current} {word}" if current else word
    return pieces + ([current] if current else [])


def chunks(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of at most ``size`` characters, at paragraph, then word boundaries.

    Whole paragraphs are packed together (a blank line between) while they fit; a paragraph longer
    than ``size`` is cut between words. Whitespace inside a paragraph collapses to one space.
    """
    pieces: list[str] = []
    current = ""
    for raw in re.split(r"\n\s*\n", text):
        paragraph = " ".join(raw.split())
        if not paragraph:
            continue
        if current and len(current) + 2 + len(paragraph) <= size:
            current = f"{current}\n\n{paragraph}"
            continue
        if current:
            pieces.append(current)
        *whole, current = _words(paragraph, size)
        pieces += whole
    return pieces + ([current] if current else [])
