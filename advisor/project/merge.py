"""A line-based three-way merge (the diff3 algorithm) in pure Python.

`advisor update` merges the user's version of a file ("yours") with the newly generated one
("theirs") against the last generated version ("base"). Regions changed on one side only take
that side; regions changed identically on both sides take either; regions changed differently
become a conflict, written inline with git-style markers (diff3 style, with the base section,
so the user sees what each side changed). It needs no git: the tool works on machines and in
folders where git is absent, and the merge is testable in process.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

YOURS = "yours"
BASE = "last generated"
THEIRS = "regenerated"


@dataclass(frozen=True)
class MergeResult:
    text: str
    conflicts: int  # number of conflict regions marked in `text`


def _matches(base: list[str], other: list[str]) -> list[tuple[int, int, int]]:
    # autojunk off: blank lines and common boilerplate must still anchor the alignment.
    blocks = SequenceMatcher(None, base, other, autojunk=False).get_matching_blocks()
    return [(block.a, block.b, block.size) for block in blocks]


def _sync_regions(
    base: list[str], ours: list[str], theirs: list[str]
) -> list[tuple[int, int, int, int, int, int]]:
    """Stretches of base unchanged on both sides: (base, ours, theirs) start/end triples.

    The intersections of the matching blocks base<->ours and base<->theirs, ending with an
    empty sentinel region at the three ends.
    """
    a_blocks = _matches(base, ours)
    b_blocks = _matches(base, theirs)
    regions = []
    ia = ib = 0
    while ia < len(a_blocks) and ib < len(b_blocks):
        a_base, a_ours, a_len = a_blocks[ia]
        b_base, b_theirs, b_len = b_blocks[ib]
        start = max(a_base, b_base)
        end = min(a_base + a_len, b_base + b_len)
        if start < end:
            ours_start = a_ours + (start - a_base)
            theirs_start = b_theirs + (start - b_base)
            length = end - start
            regions.append(
                (start, end, ours_start, ours_start + length, theirs_start, theirs_start + length)
            )
        if a_base + a_len < b_base + b_len:
            ia += 1
        else:
            ib += 1
    n_base, n_ours, n_theirs = len(base), len(ours), len(theirs)
    regions.append((n_base, n_base, n_ours, n_ours, n_theirs, n_theirs))
    return regions


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _ensure_newline(lines: list[str]) -> list[str]:
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + "\n"]
    return lines


def merge3(base: str, yours: str, theirs: str) -> MergeResult:
    """Merge `yours` and `theirs`, both derived from `base`."""
    if yours == theirs or theirs == base:
        return MergeResult(yours, 0)
    if yours == base:
        return MergeResult(theirs, 0)
    b, a, t = _lines(base), _lines(yours), _lines(theirs)
    out: list[str] = []
    conflicts = 0
    ib = ia = it = 0
    for b_start, b_end, a_start, a_end, t_start, t_end in _sync_regions(b, a, t):
        base_chunk, ours_chunk, theirs_chunk = b[ib:b_start], a[ia:a_start], t[it:t_start]
        if base_chunk or ours_chunk or theirs_chunk:
            if ours_chunk == theirs_chunk or theirs_chunk == base_chunk:
                out.extend(ours_chunk)
            elif ours_chunk == base_chunk:
                out.extend(theirs_chunk)
            else:
                conflicts += 1
                out.append(f"<<<<<<< {YOURS}\n")
                out.extend(_ensure_newline(ours_chunk))
                out.append(f"||||||| {BASE}\n")
                out.extend(_ensure_newline(base_chunk))
                out.append("=======\n")
                out.extend(_ensure_newline(theirs_chunk))
                out.append(f">>>>>>> {THEIRS}\n")
        out.extend(a[a_start:a_end])
        ib, ia, it = b_end, a_end, t_end
    return MergeResult("".join(out), conflicts)
