"""Choice labels inside sentences: `{task}` in a rule's text reads "tabular classification".

A label is written for a list or a heading ("Tabular classification", "Cloud Storage",
"TensorFlow"). Inside a sentence a sentence-case label loses its capital; a name (a capital
inside a word, or several capitalised words) keeps it; at the start of a sentence the first
letter is a capital.
"""

from __future__ import annotations

import re

_TITLE_WORD = re.compile(r"^[A-Z][a-z]+(?:-[a-z]+)*$")
_SENTENCE_END = re.compile(r"(?:^|[.!?]\s+)$")


def in_sentence(label: str, text_before: str) -> str:
    """`label` as it reads after `text_before` (the sentence so far)."""
    if not label:
        return label
    if _SENTENCE_END.search(text_before):
        return label[0].upper() + label[1:]
    words = label.split()
    later_names = any(re.match(r"^[A-Z][a-z]", word) for word in words[1:])
    if _TITLE_WORD.match(words[0]) and not later_names:
        return label[0].lower() + label[1:]
    return label
