"""The summary of ``make bench``: every gated figure of every results file, as one table and one JSON.

``python -m observatory.loadgen.bench_summary bench-results`` reads each ``*.json`` there (figures in
the common shape, or numbers whose direction their names tell), writes ``summary.json`` (the shape
``observatory-loadgen compare`` and ``make bench-check`` read; ``bench/baseline.json`` is one) and
``summary.md``, and prints the table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from observatory.loadgen.figures import UNKNOWN, ResultsError, read_figures, read_json
from observatory.loadgen.run import machine

SUMMARY = "summary"


def summarise(folder: Path) -> dict:
    """Every figure with a direction, named ``<file>.<figure>``, with the machine it was measured on."""
    figures = {}
    for path in sorted(folder.glob("*.json")):
        if path.stem == SUMMARY:
            continue
        for name, figure in read_figures(read_json(path)).items():
            if figure.better != UNKNOWN:
                figures[f"{path.stem}.{name}"] = figure.as_dict()
    return {"machine": machine(), "figures": figures}


def table(summary: dict) -> str:
    """The summary as a Markdown table."""
    rows = ["| figure | value | unit | better |", "|---|---:|---|---|"]
    rows += [f"| {name} | {f['value']:.4g} | {f['unit']} | {f['better']} |" for name, f in summary["figures"].items()]
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``summary.json`` and ``summary.md`` for a results folder and print the table."""
    folder = Path((argv if argv is not None else sys.argv[1:] or ["bench-results"])[0])
    try:
        summary = summarise(folder)
    except ResultsError as error:
        sys.stderr.write(f"bench summary: {error}\n")
        return 1
    if not summary["figures"]:
        sys.stderr.write(f"bench summary: no results under {folder}\n")
        return 1
    (folder / f"{SUMMARY}.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = f"Machine: {summary['machine']['platform']}, {summary['machine']['cpus']} CPUs\n\n" + table(summary)
    (folder / f"{SUMMARY}.md").write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
