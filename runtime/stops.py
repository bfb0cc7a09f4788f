"""Stop strings: text generation ends before the first occurrence of any of them.

Generated text arrives piece by piece, and a stop string may span pieces. Text that could still be
the start of a stop string is held back until the next piece settles it, so that a stream never
shows a part of a stop string the whole answer leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    """Feeds generated pieces through and says when a stop string appeared."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stop for stop in stops if stop)
        self._held = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """The text of ``piece`` (with what was held back) that is safe to emit now.

        Once a stop string is found, :attr:`stopped` is true and the text before it is returned.
        """
        if not self._stops:
            return piece
        text = self._held + piece
        found = [position for stop in self._stops if (position := text.find(stop)) >= 0]
        if found:
            self.stopped = True
            self._held = ""
            return text[: min(found)]
        keep = self._longest_partial(text)
        self._held = text[len(text) - keep :]
        return text[: len(text) - keep]

    def flush(self) -> str:
        """What is still held back once generation ended without a stop string."""
        held, self._held = self._held, ""
        return held

    def _longest_partial(self, text: str) -> int:
        # The longest end of ``text`` that begins some stop string.
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if stop.startswith(text[len(text) - size :]):
                    longest = size
                    break
        return longest
