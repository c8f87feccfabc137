"""The pure-Python three-way merge behind `advisor update`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.project.merge import merge3

BASE = "".join(f"line {i}\n" for i in range(1, 11))


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_one_sided_changes_take_that_side() -> None:
    yours = edit(BASE, "line 2\n", "line 2 (yours)\n")
    assert merge3(BASE, yours, BASE).text == yours
    assert merge3(BASE, BASE, yours).text == yours


def test_changes_in_different_places_both_survive() -> None:
    yours = edit(BASE, "line 2\n", "line 2 (yours)\n")
    theirs = edit(BASE, "line 9\n", "line 9 (theirs)\nline 9b (theirs)\n")
    result = merge3(BASE, yours, theirs)
    assert result.conflicts == 0
    assert result.text == edit(theirs, "line 2\n", "line 2 (yours)\n")


def test_same_change_on_both_sides_is_not_a_conflict() -> None:
    both = edit(BASE, "line 5\n", "line five\n")
    assert merge3(BASE, both, both) == merge3(BASE, both, both)
    assert merge3(BASE, both, both).conflicts == 0
    assert merge3(BASE, both, both).text == both


def test_deletion_on_one_side_and_addition_elsewhere() -> None:
    yours = edit(BASE, "line 3\n", "")
    theirs = BASE + "line 11\n"
    result = merge3(BASE, yours, theirs)
    assert result.conflicts == 0
    assert result.text == yours + "line 11\n"


def test_overlapping_changes_get_diff3_conflict_markers() -> None:
    yours = edit(BASE, "line 4\n", "line 4 (yours)\n")
    theirs = edit(BASE, "line 4\n", "line 4 (theirs)\n")
    result = merge3(BASE, yours, theirs)
    assert result.conflicts == 1
    expected = BASE.replace(
        "line 4\n",
        "<<<<<<< yours\nline 4 (yours)\n||||||| last generated\nline 4\n=======\n"
        "line 4 (theirs)\n>>>>>>> regenerated\n",
    )
    assert result.text == expected


def test_a_missing_final_newline_does_not_glue_a_marker_to_the_text() -> None:
    result = merge3("a\n", "a\nyours", "a\ntheirs")
    assert result.conflicts == 1
    assert "yours\n||||||| last generated\n" in result.text
    assert "theirs\n>>>>>>> regenerated\n" in result.text


def test_blank_lines_anchor_the_alignment() -> None:
    # Many identical lines (blank lines) must not confuse the matcher (autojunk is off).
    base = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(80))
    yours = base.replace("return 3\n", "return 3  # tuned\n")
    theirs = base.replace("return 70\n", "return 700\n")
    result = merge3(base, yours, theirs)
    assert result.conflicts == 0
    assert "return 3  # tuned" in result.text and "return 700" in result.text


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d\n", "\n"]), max_size=12)


@settings(max_examples=200, deadline=None)
@given(base=lines, yours=lines, theirs=lines)
def test_merge_laws(base: list[str], yours: list[str], theirs: list[str]) -> None:
    b, y, t = "".join(base), "".join(yours), "".join(theirs)
    assert merge3(b, y, b).text == y  # no change on their side keeps yours
    assert merge3(b, b, t).text == t  # no change on your side takes theirs
    assert merge3(b, y, y).text == y
    result = merge3(b, y, t)
    markers = ["<<<<<<< yours\n", "||||||| last generated\n", "=======\n", ">>>>>>> regenerated\n"]
    positions = [i for i, line in enumerate(result.text.splitlines(True)) if line in markers]
    assert len(positions) == 4 * result.conflicts
    # Every conflict block has its four markers, in order.
    found = [result.text.splitlines(True)[i] for i in positions]
    assert found == markers * result.conflicts
