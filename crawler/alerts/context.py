"""Whether a listed common word, found where a rule's name would be, reads as the name.

Some spellings of a name are also a common word: Sorani ڕەقە is Raqqa written with one ق, and
also ڕەق "hard" with the copula ("زۆر ڕەقە", "it is very hard"). crawler/alerts/collisions.txt
lists such words; a word without *cues* there is always the common word (الجنة is paradise,
never اللجنة), a word with cues is decided by the words around it, from the grammar of the two
readings rather than from the cases:

* ``name after``: the word before it makes it a place or a name (a preposition or locative:
  لە بۆ بە بەرەو, a place noun in the ezafe: شاری پارێزگای), or it stands in quotes — the name;
* ``word after``: the word before it is a degree adverb (زۆر هێندە) — the common word;
* ``word before``: the word after it coordinates a predicate (ڕەقە و …, ڕەقە بەڵام …) —
  the common word;
* ``word at end``: it ends its sentence, where the copula of a predicate stands — the common
  word;
* otherwise the name (a subject or object before its verb: "ڕەقە بووەتە …").

A neighbour matches a cue through any of its keys, so a cue word also covers its clitic forms
(الحنان covers والحنان). The same cues decide a rule term spelled exactly like a listed word
with cues: Arabic الرقة is also "delicacy" (بمنتهى الرقة, الرقة والحنان), so a rule's الرقة
is checked too — with name as the default, since most uses in news are the city. The cues are
in collisions.txt as indented lines under their word; the labelled case set
(tests/data/alerts_cases) holds the negatives and positives they are checked against.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from crawler.text import query_terms

__all__ = ["Context", "contexts", "parse_cues", "CUES"]

CUES = ("name after", "word after", "word before", "word at end")
_OPEN_QUOTES = "«\"“‹'‘"
_CLOSE_QUOTES = "»\"”›'’"
_SENTENCE_END = ".!?؟…:؛"


@dataclass(frozen=True)
class Context:
    """The cues of one listed word (normalised keys)."""

    name_after: frozenset[str] = frozenset()
    word_after: frozenset[str] = frozenset()
    word_before: frozenset[str] = frozenset()
    word_at_end: bool = False

    def is_name(self, field: Any, i: int) -> bool:
        """Whether the token at stream position ``i`` of ``field`` (the matcher's field:
        ``stream``, ``text``, ``span``) reads as the name (see the module docstring)."""
        return self.decide(field, i)[0]

    def decide(self, field: Any, i: int) -> tuple[bool, str]:
        """:meth:`is_name` and the cue that decided it (for ``chavder alerts test``)."""
        stream = field.stream
        before = stream[i - 1] if i > 0 else ()         # a neighbour's keys: () at a break
        if not self.name_after.isdisjoint(before):
            return True, "the word before it is a 'name after' cue"
        after = stream[i + 1] if i + 1 < len(stream) else ()
        # offsets only when a cue says "common word" (quotes overrule it): most hits need none
        cue = ("the word before it is a 'word after' cue" if not self.word_after.isdisjoint(before)
               else "the word after it is a 'word before' cue" if not self.word_before.isdisjoint(after)
               else "it ends its sentence ('word at end')" if self.word_at_end and self._ends_sentence(field, i)
               else None)
        if cue is None:
            return True, "no cue of the common word"
        if self._quoted(field, i):
            return True, "in quotes"
        return False, cue

    @staticmethod
    def _quoted(field: Any, i: int) -> bool:
        start, end = field.span(i)
        text = field.text
        return (start > 0 and text[start - 1] in _OPEN_QUOTES
                and end < len(text) and text[end] in _CLOSE_QUOTES)

    @staticmethod
    def _ends_sentence(field: Any, i: int) -> bool:
        rest = field.text[field.span(i)[1]:]
        stripped = rest.lstrip()
        return (not stripped or stripped[0] in _SENTENCE_END
                or "\n" in rest[:len(rest) - len(stripped)])


def parse_cues(lines: list[tuple[int, str]], where: str) -> Context:
    """The :class:`Context` of one word from its indented cue lines ``(line number, text)``;
    ``where`` names the file in errors."""
    sets: dict[str, set[str]] = {c: set() for c in CUES}
    at_end = False
    for number, line in lines:
        cue, _, words = line.partition(":")
        cue = " ".join(cue.split())
        if cue not in CUES:
            raise ValueError(f"{where}:{number}: unknown cue {cue!r} — use one of "
                             + ", ".join(CUES))
        if cue == "word at end":
            at_end = True
        elif not words.strip():
            raise ValueError(f"{where}:{number}: cue {cue!r} lists no words — add them "
                             "after the colon")
        else:
            sets[cue].update(query_terms(words))
    return Context(frozenset(sets["name after"]), frozenset(sets["word after"]),
                   frozenset(sets["word before"]), at_end)


@lru_cache(maxsize=4)
def contexts(path: Path) -> dict[str, Context]:
    """Normalised listed word → its :class:`Context`, for the words of ``path`` with cues."""
    out: dict[str, Context] = {}
    word: str | None = None
    cue_lines: list[tuple[int, str]] = []

    def close() -> None:
        if word is not None and cue_lines:
            out[word] = parse_cues(cue_lines, str(path))

    for number, raw in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        if raw[:1].isspace():
            if word is None:
                raise ValueError(f"{path}:{number}: a cue line must follow its word — "
                                 "indent cues under a listed word")
            cue_lines.append((number, line.strip()))
            continue
        close()
        word, cue_lines = " ".join(query_terms(line)), []
    close()
    return out
