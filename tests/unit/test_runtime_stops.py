"""Stop strings found across the pieces text arrives in, and nothing of one shown before it is settled."""

from observatory.runtime.stops import StopMatcher


def _run(stops: list[str], pieces: list[str]) -> tuple[list[str], bool]:
    matcher = StopMatcher(stops)
    shown = []
    for piece in pieces:
        shown.append(matcher.feed(piece))
        if matcher.stopped:
            return shown, True
    return [*shown, matcher.flush()], False


def test_a_stop_string_split_over_pieces_ends_the_text_before_it():
    shown, stopped = _run(["END"], ["the cl", "ause E", "N", "D and more"])
    assert stopped and "".join(shown) == "the clause "
    assert shown[1] == "ause "  # "E" could begin the stop string: held back, never shown


def test_text_held_back_is_shown_once_it_turns_out_no_stop_string():
    shown, stopped = _run(["END"], ["an E", "dge", " case E"])
    assert not stopped
    assert shown == ["an ", "Edge", " case ", "E"]  # the last "E" comes with the flush


def test_the_earliest_of_several_stop_strings_wins():
    shown, stopped = _run(["clause", "the"], ["in the clause"])
    assert stopped and shown == ["in "]


def test_without_stop_strings_every_piece_passes_at_once():
    assert _run([], ["a", "b"]) == (["a", "b", ""], False)
