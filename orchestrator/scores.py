"""The scores the orchestrator reports, each a computation on embeddings or distances.

Embeddings come from one shard's ``/api/v1/embeddings`` (its own model, mean pooling), so every
vector compared lies in the same space. Cosine similarity ``cos`` lies in [-1, 1]; the scores map it
affinely onto [0, 1] as ``(1 + cos) / 2`` so that 0 means opposite, 0.5 unrelated (orthogonal) and 1
the same direction. Nothing is clamped: a value is exactly what the vectors give.

- ``confidence`` of a perspective: ``(1 + cos(findings, source)) / 2``, how closely the findings
  keep to the text they were asked about (the query, or the analysed document's excerpt).
- ``agreement`` of two perspectives: ``(1 + cos(findings_a, findings_b)) / 2``.
- ``consensus_score``: the mean agreement over all pairs; undefined (None) with fewer than two
  perspectives, since one perspective agrees with nobody.
- the ``score`` of a retrieved chunk: ``1 / (1 + d)`` for the squared L2 distance ``d`` the shard's
  FAISS index reports: 1 for an exact match, falling towards 0 with distance. Shards serving the
  same embedding model give comparable scores, so federated results merge by it.

With the generated tiny model the embeddings are random projections and these numbers carry no
meaning about the text; with a real model they do. Either way they are the computation above.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors of the same length; ValueError for a zero vector."""
    if len(a) != len(b):
        raise ValueError(f"vectors of different lengths: {len(a)} and {len(b)}")
    norm_a = math.sqrt(math.fsum(x * x for x in a))
    norm_b = math.sqrt(math.fsum(y * y for y in b))
    if norm_a == 0 or norm_b == 0:
        raise ValueError("the cosine of a zero vector is undefined")
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / (norm_a * norm_b)


def similarity_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """``(1 + cos(a, b)) / 2``: 0 opposite, 0.5 orthogonal, 1 the same direction."""
    return (1.0 + cosine(a, b)) / 2.0


def pairwise_agreement(vectors: dict[str, Sequence[float]]) -> dict[tuple[str, str], float]:
    """The similarity ratio of every unordered pair of named vectors, in the names' order."""
    return {(a, b): similarity_ratio(vectors[a], vectors[b]) for a, b in itertools.combinations(vectors, 2)}


def consensus_score(agreement: dict[tuple[str, str], float]) -> float | None:
    """The mean pairwise agreement; None when there is no pair."""
    if not agreement:
        return None
    return math.fsum(agreement.values()) / len(agreement)


def distance_score(squared_l2: float) -> float:
    """A retrieval score from a squared L2 distance: ``1 / (1 + d)``."""
    if squared_l2 < 0:
        raise ValueError(f"a squared distance cannot be negative: {squared_l2}")
    return 1.0 / (1.0 + squared_l2)
