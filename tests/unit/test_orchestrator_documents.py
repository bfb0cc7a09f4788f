"""Text out of uploads, chunking, and the order in which an analysis reads the chunks."""

from __future__ import annotations

import pytest

from observatory.orchestrator.documents import chunks, upload_text
from observatory.orchestrator.perspectives import reading_order
from observatory.runtime.errors import ShardError
from support.orchestrator import pdf_with_text


def test_chunks_pack_paragraphs_and_never_exceed_the_size():
    text = "one two\n\nthree four five six\n\n\n" + "x" * 25
    pieces = chunks(text, 10)
    assert pieces == ["one two", "three four", "five six", "x" * 10, "x" * 10, "x" * 5]
    assert chunks("a\n\nb", 10) == ["a\n\nb"]
    assert chunks(" \n\n \t", 10) == []


def test_every_word_survives_chunking():
    text = "\n\n".join(" ".join(f"w{p}_{i}" for i in range(p * 3 + 1)) for p in range(20))
    pieces = chunks(text, 40)
    assert all(0 < len(piece) <= 40 for piece in pieces)
    assert " ".join(pieces).split() == text.split()


def test_pdf_text_and_markdown_are_read():
    assert "The seller warrants title." in upload_text("c.pdf", "application/pdf", pdf_with_text(
        ["Article 1. The buyer pays.", "Article 2. The seller warrants title."]))  # fmt: skip
    assert upload_text("notes.md", "text/markdown", b"# Title\n\nBody") == "# Title\n\nBody"
    # A PDF is known by its signature even when the client calls it text.
    assert "buyer" in upload_text("c.txt", "text/plain", pdf_with_text(["The buyer pays."]))


@pytest.mark.parametrize(
    ("name", "content_type", "data", "status"),
    [
        ("photo.png", "image/png", b"\x89PNG....", 415),
        ("broken.pdf", "application/pdf", b"%PDF-1.4 not really", 422),
        ("latin1.txt", "text/plain", "caf\u00e9".encode("latin-1"), 422),
        ("empty.txt", "text/plain", b"  \n ", 422),
    ],
)
def test_unreadable_uploads_are_refused_naming_the_file(name, content_type, data, status):
    with pytest.raises(ShardError) as caught:
        upload_text(name, content_type, data)
    assert (caught.value.status, caught.value.field) == (status, "file")


@pytest.mark.parametrize(("pieces", "depth"), [(1, 5), (3, 1), (3, 3), (4, 10), (12, 5)])
def test_an_analysis_chain_reads_every_chunk_for_at_least_depth_steps(pieces: int, depth: int) -> None:
    order = reading_order(pieces, depth)
    assert set(order) == set(range(pieces))
    assert len(order) == max(pieces, depth)
    assert order[:pieces] == list(range(pieces))[: len(order)]  # the document in order, from its start
