"""The fencing token of a task's owner: a (global, regional) epoch pair ordered lexicographically."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Epoch:
    """Which claim of a task a writer holds; a later claim always carries a greater epoch.

    ``global_epoch`` counts hand-overs of the task between owners: the first claim of a queued
    task and every takeover of an expired lease by another owner raise it by one and reset
    ``regional_epoch`` to 0. ``regional_epoch`` counts incarnations of one owner: an owner that
    restarts and resumes the task it still holds raises it by one, which fences its own previous
    process.

    Order: the pair compared lexicographically, ``global_epoch`` first. ``new`` is newer than
    ``old`` exactly when ``new.global_epoch > old.global_epoch``, or both global epochs are equal
    and ``new.regional_epoch > old.regional_epoch``. An equal pair is not newer, and a newer global
    epoch wins whatever the regional epochs are: (2, 0) is newer than (1, 7), because a takeover
    resets the regional count. Seed 003 writes the rule as "p2.global >= p1.global and
    p2.regional > p1.global"; read literally it compares a regional epoch with a global one, and
    read as "p2.regional > p1.regional" it would let no takeover ever pass the fence, so the
    lexicographic order replaces it.
    """

    global_epoch: int
    regional_epoch: int

    def next_owner(self) -> Epoch:
        """The epoch of a claim by a new owner (first claim, or takeover of an expired lease)."""
        return Epoch(self.global_epoch + 1, 0)

    def next_incarnation(self) -> Epoch:
        """The epoch of the same owner resuming its task after a restart."""
        return Epoch(self.global_epoch, self.regional_epoch + 1)


UNCLAIMED = Epoch(0, 0)
