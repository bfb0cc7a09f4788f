"""Helpers for the orchestrator's tests: a PDF with text, and a real cluster on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from observatory.stack import Stack, plan_stack
from support.runtime import ADMIN_TOKEN


def pdf_with_text(lines: list[str]) -> bytes:
    """A minimal one-page PDF showing ``lines`` in Helvetica (ASCII without parentheses or backslashes)."""
    text = " ".join(f"({line}) Tj 0 -14 Td" for line in lines)
    stream = f"BT /F1 12 Tf 36 756 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@contextlib.contextmanager
def running_cluster(
    domains: tuple[str, ...],
    workdir: Path,
    model_cache: Path,
    shard_config: Callable[[str], dict[str, Any]] = lambda _domain: {},
    orchestrator_config: dict[str, Any] | None = None,
) -> Iterator[tuple[Stack, dict[str, str]]]:
    """Real shards (one thread each, the shared model cache) and a real orchestrator; the URLs by service."""

    def config(domain: str) -> dict[str, Any]:
        base = {"cache_dir": str(model_cache), "admin_token": ADMIN_TOKEN, "n_threads": 1, "recall_interval_s": 60}
        return base | shard_config(domain)

    plan = plan_stack(domains, workdir, exporters=False, shard_config=config,
                      orchestrator_config={"admin_token": ADMIN_TOKEN} | (orchestrator_config or {}))  # fmt: skip
    stack = Stack(plan.services, workdir)
    stack.start()
    try:
        yield stack, {service.name: service.url for service in plan.services}
    finally:
        stack.stop()
