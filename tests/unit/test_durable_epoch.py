"""The epoch order that fences stale task owners: (global, regional) compared lexicographically."""

from __future__ import annotations

import itertools

import pytest

from observatory.orchestrator.durable import Epoch


def test_an_equal_pair_is_not_newer() -> None:
    assert not Epoch(3, 2) > Epoch(3, 2)
    assert not Epoch(3, 2) < Epoch(3, 2)
    assert Epoch(3, 2) == Epoch(3, 2)


@pytest.mark.parametrize(
    ("newer", "older"),
    [
        pytest.param(Epoch(3, 3), Epoch(3, 2), id="same global, next regional"),
        pytest.param(Epoch(4, 0), Epoch(3, 9), id="newer global, lower regional (a takeover resets it)"),
        pytest.param(Epoch(4, 5), Epoch(3, 5), id="newer global, equal regional"),
        pytest.param(Epoch(1, 0), Epoch(0, 0), id="first claim of a queued task"),
    ],
)
def test_newer_pairs(newer: Epoch, older: Epoch) -> None:
    assert newer > older
    assert older < newer


def test_an_older_global_with_a_newer_regional_is_older() -> None:
    # The seed's rule with its typo fixed (regional > regional) would call neither newer here.
    assert Epoch(2, 7) < Epoch(3, 0)
    assert not Epoch(2, 7) > Epoch(3, 0)


def test_every_next_claim_is_newer_and_a_takeover_beats_any_incarnation() -> None:
    for global_epoch, regional_epoch in itertools.product(range(4), range(4)):
        epoch = Epoch(global_epoch, regional_epoch)
        assert epoch.next_owner() == Epoch(global_epoch + 1, 0)
        assert epoch.next_incarnation() == Epoch(global_epoch, regional_epoch + 1)
        assert epoch < epoch.next_incarnation() < epoch.next_owner()
        assert epoch.next_incarnation().next_incarnation() < epoch.next_owner()
