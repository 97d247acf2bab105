"""Story decisions: is a fetched article an update, a copy, part of a known story, or new?

Order of the checks (first that applies wins):

1. same URL key, same content            → ``unchanged`` (nothing to store but the fetch time)
2. same URL key, changed content         → ``update`` in place (an edit is never a new article)
3. same body fingerprint, other URL      → ``duplicate``: joins that article's story
4. verified near-duplicate in the window → ``join`` that story
5. otherwise                             → ``new`` story

The resolver holds no articles itself. It asks a ``StoryLookup`` (the store) for what is
persisted — the article under a URL key, an article with a fingerprint, a body for verification
— and keeps only the in-memory LSH index of the window. Two phases, because the store allocates
ids: ``resolve`` decides, the store persists, ``commit`` indexes the result.

Concurrent writers (two crawls, a crawl and the service, later several workers) must agree on
stories, so ``assign`` decides *inside* the store's write transaction (``story_transaction``:
SQLite's ``BEGIN IMMEDIATE`` admits one writer at a time, across processes): first it folds in
the signatures other processes stored since this one last looked (``story_changes``, by change
number), then decides, then the store writes — nothing can slip in between. The expensive part
(normalising and sketching the body, ``prepare``) runs before the lock is taken.

Near-duplicate candidates from the index are *estimates*; before joining, the resolver verifies
the best few exactly on shingle sets (``verify``): Jaccard ≥ ``jaccard_min`` (copies with other
furniture, a reworded lead, an edit) or containment ≥ ``containment_min`` of a text that is not
tiny (a truncated copy: the first half of an article has Jaccard ≈ 0.5 but containment ≈ 1).
"""
from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal, TypeVar

import numpy as np

from crawler.dedup.fingerprint import fingerprint_words, words
from crawler.dedup.index import Match, NearDuplicateIndex
from crawler.dedup.minhash import (NUM_PERM, SHINGLE_SIZE, SignatureError, Sketch,
                                   decode_signature, shingle_hashes, similarity, sketch_words)
from crawler.store.roles import StoryLookup

_NO_MINHASH = np.empty(0, dtype=np.uint32)   # verification reads the shingles only

__all__ = ["Candidate", "Decision", "StoryResolver", "Prepared", "DedupConfig", "Verdict",
           "verify", "DecisionKind"]

DecisionKind = Literal["unchanged", "update", "duplicate", "join", "new"]


@dataclass(frozen=True)
class DedupConfig:
    """Thresholds (chosen with ``bench/dedup_eval.py --sweep``; see bench/data/dedup/README)."""

    k: int = SHINGLE_SIZE             # words per shingle
    num_perm: int = NUM_PERM          # MinHash permutations
    lsh_threshold: float = 0.3        # Jaccard found by LSH with ≥ 95 % probability
    jaccard_min: float = 0.3          # verified Jaccard that makes two texts one story
    containment_min: float = 0.4      # … or containment of the shorter text in the longer
    containment_min_size: int = 25    # shingles the shorter text needs for containment to count
    min_shingles: int = 8             # shorter texts (captions, "watch the video") never join
    min_exact_words: int = 12         # same for exact-fingerprint duplicates
    prefilter: float = 0.5            # fraction of the thresholds an estimate must reach
    verify_top: int = 8               # candidates verified exactly per article
    window_days: float = 30.0         # older stories are no longer candidates


@dataclass(frozen=True)
class Candidate:
    """A freshly extracted article, before it is stored.

    ``published_ts``: POSIX seconds of publication (the fetch time when the page has no date).
    ``content_hash``: the extractor's hash of everything stored (title, body, metadata); when
    given, a title-only edit under the same URL is an ``update`` too."""

    url_key: str
    body: str
    lang: str | None
    published_ts: float
    source: str = ""
    content_hash: str | None = None


@dataclass(frozen=True)
class Prepared:
    """A candidate with its sketch and fingerprint computed (no store access needed)."""

    candidate: Candidate
    sketch: Sketch
    words: int
    fingerprint: str
    signature: bytes


R = TypeVar("R")


@dataclass(frozen=True)
class Decision:
    """What to do with a candidate. ``story_id``/``article_id``: for ``unchanged``/``update``
    the stored article itself; for ``duplicate``/``join`` the story joined and the article it
    matched; for ``new`` both None (the store allocates). ``fingerprint`` and ``signature``
    are to be persisted with the article (``signature`` is what ``from_rows`` rebuilds from)."""

    kind: DecisionKind
    story_id: int | None
    article_id: int | None
    fingerprint: str
    signature: bytes
    similarity: float = 0.0          # verified Jaccard (1.0 for exact copies)
    containment: float = 0.0
    sketch: Sketch | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Verdict:
    same_story: bool
    jaccard: float
    containment: float


def verify(a: Sketch, b: Sketch, config: DedupConfig = DedupConfig()) -> Verdict:
    """Exact same-story test on two shingle sets (see the module docstring)."""
    jac, con = similarity(a.shingles, b.shingles)
    smaller = min(a.size, b.size)
    same = smaller >= config.min_shingles and (
        jac >= config.jaccard_min
        or (con >= config.containment_min and smaller >= config.containment_min_size))
    return Verdict(same, jac, con)


class StoryResolver:
    """Decides ``unchanged | update | duplicate | join | new`` for candidates (see module doc).

    ``clock`` gives "now" for the window (injectable for tests); the index is expired at most
    once a minute of clock time. ``seen_seq``: the store's change number the index was built
    at (``story_seq`` taken before ``signature_rows``). Not thread-safe: call it from one
    thread (the reactor's)."""

    def __init__(self, lookup: StoryLookup, config: DedupConfig = DedupConfig(), *,
                 index: NearDuplicateIndex | None = None,
                 clock: Callable[[], float] = time.time, seen_seq: int = 0):
        self.lookup = lookup
        #: the store's change number up to which ``index`` holds what was stored (``sync``)
        self.seen_seq = seen_seq
        self.config = config
        self.index = index or NearDuplicateIndex(
            config.lsh_threshold, config.num_perm, config.window_days, k=config.k)
        if self.index.k != config.k or self.index.num_perm != config.num_perm:
            raise ValueError("index and config disagree on k / num_perm")
        self.clock = clock
        self._expired_at = float("-inf")
        # Shingle sets of recently stored or verified articles: candidates recur (a story's
        # copies all verify against the same few articles), and re-reading and re-shingling
        # their bodies was a fifth of a crawl's time. Bounded: ~8 KB per entry.
        self._shingles: OrderedDict[int, np.ndarray] = OrderedDict()
        self.shingle_cache_size = 2048

    def sketch(self, body: str, lang: str | None) -> tuple[Sketch, list[str]]:
        """Sketch of a body with this resolver's parameters, and its normalised words."""
        tokens = words(body, lang)
        return sketch_words(tokens, k=self.config.k, num_perm=self.config.num_perm), tokens

    def resolve(self, candidate: Candidate) -> Decision:
        """Decide what ``candidate`` is; changes nothing (``commit`` after the store wrote).
        With other writers on the store, use ``assign``."""
        return self.decide(self.prepare(candidate))

    def prepare(self, candidate: Candidate) -> Prepared:
        """The CPU-heavy half of a decision (normalise, shingle, sketch): no store access, so
        it runs outside the write transaction."""
        sk, tokens = self.sketch(candidate.body, candidate.lang)
        return Prepared(candidate, sk, len(tokens), fingerprint_words(tokens), sk.to_bytes())

    def decide(self, prepared: Prepared) -> Decision:
        """The store-facing half: look up the URL, the fingerprint, the near duplicates."""
        self._expire()
        return self._decide(prepared)

    def _decide(self, prepared: Prepared) -> Decision:
        cfg = self.config
        candidate, sk, fingerprint, sig = (prepared.candidate, prepared.sketch,
                                           prepared.fingerprint, prepared.signature)

        def decide(kind: DecisionKind, story: int | None = None, article: int | None = None,
                   jac: float = 0.0, con: float = 0.0) -> Decision:
            return Decision(kind, story, article, fingerprint, sig, jac, con, sk)

        stored = self.lookup.by_url_key(candidate.url_key)
        if stored is not None:
            same_hash = (candidate.content_hash is None or stored.content_hash is None
                         or candidate.content_hash == stored.content_hash)
            if stored.fingerprint == fingerprint and same_hash:
                return decide("unchanged", stored.story_id, stored.article_id, 1.0, 1.0)
            return decide("update", stored.story_id, stored.article_id)

        since = candidate.published_ts - self.index.window
        if prepared.words >= cfg.min_exact_words:
            copy = self.lookup.by_fingerprint(fingerprint, since)
            if copy is not None:
                return decide("duplicate", copy.story_id, copy.article_id, 1.0, 1.0)

        if sk.size >= cfg.min_shingles:
            best = self._near(sk, candidate.published_ts)
            if best is not None:
                match, verdict = best
                return decide("join", match.story_id, match.article_id,
                              verdict.jaccard, verdict.containment)
        return decide("new")

    def assign(self, candidate: Candidate, write: Callable[[Decision], R],
               stored_as: Callable[[R], tuple[int, int, int | None]],
               prepared: Prepared | None = None) -> tuple[Decision, R]:
        """Decide ``candidate``'s story and store it with ``write(decision)``, atomically with
        respect to every other writer of the store; then index it.

        ``stored_as(result)`` → ``(article_id, story_id, change_seq)`` of what was written;
        ``prepared``: ``prepare(candidate)``, when the caller did it before taking the lock."""
        prepared = prepared if prepared is not None else self.prepare(candidate)
        transaction = getattr(self.lookup, "story_transaction", None)
        with (transaction() if transaction is not None else contextlib.nullcontext()):
            self._expire()     # before catching up: rows caught up are kept like our own
            self.sync()
            decision = self._decide(prepared)
            result = write(decision)
        article_id, story_id, seq = stored_as(result)
        self.commit(decision, article_id, story_id, candidate.published_ts)
        if seq is not None:   # committed: our own write needs no catching up
            self.seen_seq = max(self.seen_seq, seq)
        return decision, result

    def sync(self) -> int:
        """Index what other processes stored since this resolver last looked; returns how
        many rows that was. (A no-op for a lookup only this process writes.)"""
        changes = getattr(self.lookup, "story_changes", None)
        if changes is None:
            return 0
        rows, latest = changes(self.seen_seq)
        self.absorb(rows)
        self.seen_seq = max(self.seen_seq, latest)
        return len(rows)

    def absorb(self, rows: Iterable[tuple[int, int, bytes | None, float]]) -> None:
        """Index stored ``(article_id, story_id, signature, published_ts)`` rows written
        elsewhere (new articles, edits: an article's previous signature is replaced)."""
        for article_id, story_id, signature, published_ts in rows:
            self._shingles.pop(article_id, None)       # its body may have changed
            try:
                size = decode_signature(signature, k=self.config.k,
                                        num_perm=self.config.num_perm)[1] if signature else 0
            except SignatureError:                     # other parameters: not comparable
                size = 0
            if size < self.config.min_shingles or published_ts is None:
                self.index.remove(article_id)
            else:
                self.index.add(article_id, story_id, signature, published_ts)

    def commit(self, decision: Decision, article_id: int, story_id: int,
               published_ts: float) -> None:
        """Index a stored article (after ``resolve`` and the store's write)."""
        if decision.kind == "unchanged" and article_id in self.index:
            return
        payload: Sketch | bytes
        if decision.sketch is not None:
            payload, size = decision.sketch, decision.sketch.size
            self._remember(article_id, decision.sketch.shingles)
        else:
            self._shingles.pop(article_id, None)
            payload, size = decision.signature, decode_signature(decision.signature)[1]
        if size < self.config.min_shingles:
            self.index.remove(article_id)   # e.g. an edit emptied the body
            return
        self.index.add(article_id, story_id, payload, published_ts)

    # ------------------------------------------------------------------ internals
    def _near(self, sk: Sketch, ts: float) -> tuple[Match, Verdict] | None:
        cfg = self.config
        matches = [m for m in self.index.query(sk, at=ts)
                   if m.similarity >= cfg.prefilter * cfg.jaccard_min
                   or m.containment >= cfg.prefilter * cfg.containment_min]
        best: tuple[Match, Verdict] | None = None
        for match in matches[:cfg.verify_top]:
            verdict = self._verify(sk, match)
            if verdict.same_story and (best is None or _score(verdict) > _score(best[1])):
                best = (match, verdict)
        return best

    def _remember(self, article_id: int, shingles: np.ndarray) -> None:
        self._shingles[article_id] = shingles
        self._shingles.move_to_end(article_id)
        while len(self._shingles) > self.shingle_cache_size:
            self._shingles.popitem(last=False)

    def _verify(self, sk: Sketch, match: Match) -> Verdict:
        cfg = self.config
        shingles = self._shingles.get(match.article_id)
        if shingles is None:
            stored = self.lookup.body_of(match.article_id)
            if stored is not None:
                shingles = shingle_hashes(*stored, k=cfg.k)
                self._remember(match.article_id, shingles)
        else:
            self._shingles.move_to_end(match.article_id)
        if shingles is not None:
            return verify(sk, Sketch(shingles, _NO_MINHASH, cfg.k), cfg)
        # body gone (purged): fall back to the estimates, with a safety margin
        jac, con = match.similarity, match.containment
        same = jac >= cfg.jaccard_min + 0.1 or con >= min(1.0, cfg.containment_min + 0.1)
        return Verdict(same and sk.size >= cfg.containment_min_size, jac, con)

    def _expire(self) -> None:
        now = self.clock()
        if now - self._expired_at >= 60.0:
            self.index.expire(now)
            self._expired_at = now


def _score(v: Verdict) -> float:
    return max(v.jaccard, v.containment)

