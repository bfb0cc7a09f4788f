"""The orchestrator's scores on constructed vectors whose answers follow from geometry."""

from __future__ import annotations

import math

import pytest

from observatory.orchestrator.scores import (
    consensus_score,
    cosine,
    distance_score,
    pairwise_agreement,
    similarity_ratio,
)


def test_cosine_of_known_angles():
    assert cosine([1, 0], [1, 0]) == pytest.approx(1.0)
    assert cosine([1, 0], [0, 3]) == pytest.approx(0.0)
    assert cosine([2, 0], [-5, 0]) == pytest.approx(-1.0)
    # 60 degrees apart: cos = 1/2, whatever the lengths.
    assert cosine([4, 0], [0.5, math.sqrt(3) / 2]) == pytest.approx(0.5)


def test_cosine_refuses_zero_and_mismatched_vectors():
    with pytest.raises(ValueError, match="zero vector"):
        cosine([0, 0], [1, 0])
    with pytest.raises(ValueError, match="different lengths"):
        cosine([1, 0], [1, 0, 0])


def test_similarity_ratio_maps_opposite_orthogonal_same_to_0_half_1():
    assert similarity_ratio([1, 1], [-1, -1]) == pytest.approx(0.0)
    assert similarity_ratio([1, 0], [0, 1]) == pytest.approx(0.5)
    assert similarity_ratio([1, 2], [2, 4]) == pytest.approx(1.0)
    # 60 degrees: (1 + 0.5) / 2, neither clamped nor rounded.
    assert similarity_ratio([1, 0], [0.5, math.sqrt(3) / 2]) == pytest.approx(0.75)


def test_pairwise_agreement_covers_each_unordered_pair_once():
    vectors = {"legal": [1, 0], "finance": [0, 1], "risk": [1, 0]}
    agreement = pairwise_agreement(vectors)
    assert agreement == pytest.approx({("legal", "finance"): 0.5, ("legal", "risk"): 1.0, ("finance", "risk"): 0.5})


def test_consensus_is_the_mean_agreement_and_undefined_without_a_pair():
    assert consensus_score({("a", "b"): 0.5, ("a", "c"): 1.0, ("b", "c"): 0.0}) == pytest.approx(0.5)
    assert consensus_score(pairwise_agreement({"only": [1, 0]})) is None


def test_distance_score_falls_with_distance():
    assert distance_score(0.0) == 1.0
    assert distance_score(1.0) == pytest.approx(0.5)
    assert distance_score(3.0) == pytest.approx(0.25)
    assert distance_score(1e-3) > distance_score(2.0) > distance_score(1e6) > 0
    with pytest.raises(ValueError, match="negative"):
        distance_score(-0.1)
