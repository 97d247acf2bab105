"""The story page's logic: the representative article's full text, every copy with its
outlet and time, and the article's earlier revisions with what changed (a word diff by
``difflib`` of each earlier text against the current one)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Mapping

from markupsafe import Markup, escape

from crawler.urls import display_url
from crawler.web.search_view import direction

#: Unchanged words kept on each side of a change; longer unchanged runs are cut to "…".
CONTEXT_WORDS = 12


def word_diff(old: str, new: str, context: int = CONTEXT_WORDS) -> Markup:
    """``old`` → ``new`` as escaped text with removed words in ``<del>`` and added words in
    ``<ins>``; long unchanged stretches shortened to their ends. Paragraph breaks count as
    words, so a paragraph added at the end shows as one insertion."""
    a, b = _words(old), _words(new)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            run = a[i1:i2]
            if len(run) > 2 * context:
                run = run[:context] + ["…"] + run[-context:] if out else ["…"] + run[-context:]
            out.append(_join(run))
            continue
        if i2 > i1:
            out.append(f"<del>{_join(a[i1:i2])}</del>")
        if j2 > j1:
            out.append(f"<ins>{_join(b[j1:j2])}</ins>")
    return Markup(" ".join(x for x in out if x))


def _words(text: str) -> list[str]:
    out: list[str] = []
    for n, para in enumerate(p for p in (text or "").split("\n") if p.strip()):
        if n:
            out.append("¶")
        out.extend(para.split())
    return out


def _join(words: list[str]) -> str:
    """Escaped words, a paragraph mark as a line break."""
    out: list[str] = []
    for word in words:
        if word == "¶":
            out.append("<br>")
            continue
        if out and out[-1] != "<br>":
            out.append(" ")
        out.append(str(escape(word)))
    return "".join(out)


@dataclass
class Copy:
    """One stored copy of the story (an outlet's article)."""

    id: int
    source: str
    source_name: str
    title: str
    url: str
    published_at: str | None
    first_seen: str | None
    language: str | None
    revision: int
    dir: str
    representative: bool


@dataclass
class Revision:
    source: str                     # the copy's outlet
    revision: int
    seen_at: str
    title: str
    title_changed: bool
    diff: Markup | None             # None: the store no longer keeps this version's text


@dataclass
class StoryPage:
    id: int
    first_seen: str
    last_seen: str
    title: str
    body: str
    language: str | None
    dir: str
    url: str
    source: str
    copies: list[Copy]
    revisions: list[Revision] = field(default_factory=list)

    @property
    def also_reported_by(self) -> list[Copy]:
        return [c for c in self.copies if c.source != self.source]

    def to_json(self) -> dict:
        return {"id": self.id, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "title": self.title, "body": self.body, "language": self.language,
                "url": self.url, "source": self.source,
                "copies": [{k: v for k, v in vars(c).items() if k != "dir"}
                           for c in self.copies],
                "revisions": [{"source": r.source, "revision": r.revision, "seen_at": r.seen_at, "title": r.title,
                               "diff_html": str(r.diff) if r.diff is not None else None}
                              for r in self.revisions]}


def story_page(store: Any, story_id: int, source_names: Mapping[str, str]) -> StoryPage | None:
    """The story ``story_id``, or None when the store has no such story."""
    story = store.story(story_id)
    if story is None or not story.get("articles"):
        return None
    rep_id = story.get("representative_id")
    rep = store.article_row_by_id(rep_id) if rep_id is not None else None
    if rep is None:
        rep = store.article_row_by_id(story["articles"][0]["id"])
    copies = [Copy(c["id"], c["source"], source_names.get(c["source"], c["source"]), c["title"],
                   display_url(c["canonical_url"]), c.get("published_at"), c.get("first_seen"),
                   c.get("language"), int(c.get("revision") or 1), direction(c.get("language")),
                   c["id"] == rep["id"]) for c in story["articles"]]
    page = StoryPage(story_id, story.get("first_seen") or "", story.get("last_seen") or "",
                     rep["title"], rep["body"], rep.get("language"),
                     direction(rep.get("language")), display_url(rep["canonical_url"]),
                     rep["source"], copies)
    for copy in copies:
        current = rep if copy.id == rep["id"] else store.article_row_by_id(copy.id)
        if current is None:
            continue
        for old in store.article_revisions(copy.id):
            if old.revision >= int(current.get("revision") or 1):
                continue                          # the current version is the text above
            page.revisions.append(Revision(
                copy.source, old.revision, old.seen_at, old.title, old.title != current["title"],
                None if old.body is None else word_diff(old.body, current["body"])))
    return page
