"""In-memory MinHash LSH index over the recent window of articles.

Why not ``datasketch.MinHashLSH``: it keeps a Python object per bucket entry (measured by
``bench/dedup_scale.py --datasketch``), and it can only be rebuilt one insert at a time. Here
everything lives in a few numpy arrays:

* rows: signatures ``(n, num_perm) uint32``, article/story ids, timestamps, shingle counts;
* band entries: one ``uint64`` each — the top 40 bits are the band's bucket key, the low 24 bits
  the row — kept in a small unsorted buffer for recent inserts plus sorted runs merged like a
  binary counter (a tiny LSM tree): an insert costs amortised O(log n), a lookup two
  ``searchsorted`` calls per run, and a rebuild is one in-place ``np.sort``;
* deletions (updates, eviction) are tombstones, compacted away when they pile up.

A 40-bit bucket key makes an accidental bucket collision with some other article about one in a
million per band lookup at a million articles; such extra candidates only cost a comparison,
because every candidate comes back with its estimated similarity and the caller verifies the few
promising ones exactly (``crawler.dedup.stories``).
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

import numpy as np

from crawler.dedup.minhash import (HEADER_SIZE, NUM_PERM, SHINGLE_SIZE, Sketch, SignatureError,
                                   _constants, _fmix64, decode_signature)

__all__ = ["NearDuplicateIndex", "Match", "lsh_params", "DAY", "MAX_ROWS"]

DAY = 86400.0
ROW_BITS = 24
MAX_ROWS = 1 << ROW_BITS           # rows (live + tombstones) per index: 16.7 million
_ROW_MASK = np.uint64(MAX_ROWS - 1)
_KEY_MASK = ~_ROW_MASK
_PENDING = 1024                    # inserts buffered before they become a sorted run
_BULK = 65536                      # rows per chunk when computing band keys in bulk
_BAND_SALT = _constants("band-salt", 1024)


class Match(NamedTuple):
    """One LSH candidate: estimates only; verify before acting on it."""

    story_id: int
    article_id: int
    similarity: float     # estimated Jaccard similarity of the shingle sets
    containment: float    # estimated |A∩B| / min(|A|, |B|) (truncated copies score ~1)


def lsh_params(threshold: float, num_perm: int, recall: float = 0.95) -> tuple[int, int]:
    """``(bands, rows)``: the most selective banding that still finds a pair of Jaccard
    similarity ``threshold`` with probability ≥ ``recall`` (as many bands as fit)."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold ** rows) ** bands >= recall:
            return bands, rows
    return num_perm, 1


class NearDuplicateIndex:
    """Signatures of the articles of the last ``window_days``, searchable by LSH.

    ``threshold`` is the Jaccard similarity found with ≥ 95 % probability; lower similarities
    are found less often. ``bands``/``rows`` override the derived banding."""

    def __init__(self, threshold: float = 0.3, num_perm: int = NUM_PERM,
                 window_days: float = 30.0, *, k: int = SHINGLE_SIZE,
                 bands: int | None = None, rows: int | None = None):
        if bands is None or rows is None:
            bands, rows = lsh_params(threshold, num_perm)
        if bands * rows > num_perm:
            raise ValueError("bands * rows must not exceed num_perm")
        self.threshold = threshold
        self.num_perm = num_perm
        self.window = window_days * DAY
        self.k = k
        self.bands, self.rows = bands, rows
        self._salt = _BAND_SALT[:bands]
        self._n = 0
        self._dead = 0
        self._alloc(1024)
        self._runs: list[np.ndarray] = []
        self._pend_keys = np.empty((_PENDING, bands), dtype=np.uint64)
        self._pend_rows = np.empty(_PENDING, dtype=np.uint64)
        self._np = 0
        self._row_of: dict[int, int] = {}

    # ------------------------------------------------------------------ public API
    def __len__(self) -> int:
        return self._n - self._dead

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._row_of

    def add(self, article_id: int, story_id: int, signature: bytes | Sketch,
            published_ts: float) -> bool:
        """Index one article (replacing its previous signature, e.g. after an edit).

        Returns False, indexing nothing, for an empty text (no shingles)."""
        minhash, size = self._decode(signature)
        self.remove(article_id)
        if size == 0:
            return False
        if self._n == MAX_ROWS:
            self._compact()
            if self._n == MAX_ROWS:
                raise OverflowError(f"more than {MAX_ROWS} live articles in one index")
        row = self._append(minhash, size, article_id, story_id, published_ts)
        if self._np == _PENDING:
            self._flush()
        self._pend_keys[self._np] = self._band_keys(minhash[None, :])[0] & _KEY_MASK
        self._pend_rows[self._np] = row
        self._np += 1
        return True

    def remove(self, article_id: int) -> bool:
        row = self._row_of.pop(article_id, None)
        if row is None:
            return False
        self._alive[row] = False
        self._dead += 1
        self._maybe_compact()
        return True

    def set_story(self, article_id: int, story_id: int) -> None:
        """Follow a story merge done by the store."""
        row = self._row_of.get(article_id)
        if row is not None:
            self._story[row] = story_id

    def query(self, signature: bytes | Sketch, *, at: float | None = None,
              limit: int = 50) -> list[Match]:
        """Candidates sharing at least one LSH band with ``signature``, best first.

        With ``at`` (the new article's timestamp) only articles within ``window_days`` of it
        are returned, so an archive backfill does not join stories of another year."""
        minhash, size = self._decode(signature)
        if size == 0 or len(self) == 0:
            return []
        rows = self._candidate_rows(self._band_keys(minhash[None, :])[0] & _KEY_MASK)
        if rows.size:
            rows = rows[self._alive[rows]]
        if at is not None and rows.size:
            rows = rows[np.abs(self._ts[rows] - at) <= self.window]
        if rows.size == 0:
            return []
        agreement = (self._sig[rows] == minhash).mean(axis=1)
        sizes = self._size[rows].astype(np.float64)
        inter = agreement * (size + sizes) / (1.0 + agreement)
        containment = np.minimum(1.0, inter / np.minimum(size, sizes))
        order = np.argsort(-np.maximum(agreement, containment), kind="stable")[:limit]
        return [Match(int(self._story[r]), int(self._article[r]), float(agreement[i]),
                      float(containment[i]))
                for i, r in zip(order.tolist(), rows[order].tolist())]

    def evict_older_than(self, ts: float) -> int:
        """Drop articles published before ``ts``; returns how many were dropped."""
        n = self._n
        old = self._alive[:n] & (self._ts[:n] < ts)
        count = int(old.sum())
        if count:
            self._alive[:n][old] = False
            for article_id in self._article[:n][old].tolist():
                self._row_of.pop(article_id, None)
            self._dead += count
            self._maybe_compact()
        return count

    def expire(self, now: float) -> int:
        """Apply the window: drop what is older than ``now - window_days``."""
        return self.evict_older_than(now - self.window)

    def rows_for_storage(self) -> Iterable[tuple[int, int, bytes, float]]:
        """Live ``(article_id, story_id, signature, ts)`` rows (what ``from_rows`` takes)."""
        for row in np.flatnonzero(self._alive[:self._n]).tolist():
            yield (int(self._article[row]), int(self._story[row]),
                   Sketch(np.empty(int(self._size[row]), np.uint64), self._sig[row],
                          self.k).to_bytes(), float(self._ts[row]))

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, int, bytes, float]], **params) -> \
            "NearDuplicateIndex":
        """Rebuild from stored ``(article_id, story_id, signature, ts)`` rows in bulk (one sort
        instead of an insert per row). Rows whose signature does not fit these parameters (other
        version, ``k`` or ``num_perm``) are skipped: recompute them from the body. Of several
        rows for one article the last wins."""
        index = cls(**params)
        expected = index._header_prefix()
        length = HEADER_SIZE + 4 * index.num_perm
        articles: list[int] = []
        stories: list[int] = []
        stamps: list[float] = []
        blob = bytearray()
        for article_id, story_id, sig, ts in rows:
            if len(sig) != length or sig[:6] != expected:
                continue
            articles.append(article_id)
            stories.append(story_id)
            stamps.append(ts)
            blob += sig
        count = len(articles)
        if not count:
            return index
        raw = np.frombuffer(blob, dtype=np.uint8).reshape(count, length)
        sizes = raw[:, 6:10].copy().view("<u4").ravel()
        article_arr = np.asarray(articles, dtype=np.int64)
        del articles
        _, last = np.unique(article_arr[::-1], return_index=True)
        keep = np.zeros(count, dtype=bool)
        keep[count - 1 - last] = True
        keep &= sizes > 0
        n = int(keep.sum())
        if n > MAX_ROWS:
            raise OverflowError(f"more than {MAX_ROWS} articles in one index")
        index._alloc(max(1024, n))
        index._sig[:n] = raw[keep, HEADER_SIZE:].view("<u4")
        del raw, blob
        index._size[:n] = sizes[keep]
        index._article[:n] = article_arr[keep]
        index._story[:n] = np.asarray(stories, dtype=np.int64)[keep]
        index._ts[:n] = np.asarray(stamps, dtype=np.float64)[keep]
        index._alive[:n] = True
        index._n = n
        index._row_of = dict(zip(index._article[:n].tolist(), range(n)))
        index._runs = [index._bulk_run(n)] if n else []
        return index

    def stats(self) -> dict[str, int]:
        """Sizes, for monitoring and the benchmark."""
        arrays = (self._sig, self._size, self._article, self._story, self._ts, self._alive,
                  self._pend_keys, self._pend_rows, *self._runs)
        return {"live": len(self), "rows": self._n, "capacity": self._cap,
                "runs": len(self._runs), "pending": self._np,
                "band_entries": sum(r.size for r in self._runs) + self._np * self.bands,
                "array_bytes": sum(a.nbytes for a in arrays)}

    # ------------------------------------------------------------------ internals
    def _header_prefix(self) -> bytes:
        return Sketch(np.empty(0, np.uint64), np.zeros(self.num_perm, np.uint32),
                      self.k).to_bytes()[:6]

    def _decode(self, signature: bytes | Sketch) -> tuple[np.ndarray, int]:
        if isinstance(signature, Sketch):
            if signature.k != self.k or signature.minhash.size != self.num_perm:
                raise SignatureError("sketch parameters differ from the index's")
            return signature.minhash, signature.size
        return decode_signature(signature, k=self.k, num_perm=self.num_perm)

    def _alloc(self, capacity: int) -> None:
        self._cap = capacity
        self._sig = np.zeros((capacity, self.num_perm), dtype=np.uint32)
        self._size = np.zeros(capacity, dtype=np.uint32)
        self._article = np.zeros(capacity, dtype=np.int64)
        self._story = np.zeros(capacity, dtype=np.int64)
        self._ts = np.zeros(capacity, dtype=np.float64)
        self._alive = np.zeros(capacity, dtype=bool)

    def _grow(self) -> None:
        old = (self._sig, self._size, self._article, self._story, self._ts, self._alive)
        n = self._n
        self._alloc(min(MAX_ROWS, max(1024, self._cap + self._cap // 2)))
        for new, prev in zip((self._sig, self._size, self._article, self._story, self._ts,
                              self._alive), old):
            new[:n] = prev[:n]

    def _append(self, minhash: np.ndarray, size: int, article_id: int, story_id: int,
                ts: float) -> int:
        if self._n == self._cap:
            self._grow()
        row = self._n
        self._sig[row] = minhash
        self._size[row] = size
        self._article[row] = article_id
        self._story[row] = story_id
        self._ts[row] = ts
        self._alive[row] = True
        self._row_of[article_id] = row
        self._n += 1
        return row

    def _band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """``(n, bands)`` uint64 bucket hashes (their top 40 bits are used)."""
        n = sigs.shape[0]
        values = sigs[:, :self.bands * self.rows].astype(np.uint64).reshape(
            n, self.bands, self.rows)
        with np.errstate(over="ignore"):
            if self.rows == 2:
                packed = (values[:, :, 0] << np.uint64(32)) | values[:, :, 1]
                return _fmix64(packed ^ self._salt)
            acc = np.broadcast_to(self._salt, (n, self.bands)).copy()
            for j in range(self.rows):
                acc = _fmix64(acc ^ values[:, :, j]) + np.uint64(j + 1)
            return acc

    def _bulk_run(self, n: int) -> np.ndarray:
        entries = np.empty((n, self.bands), dtype=np.uint64)
        for start in range(0, n, _BULK):
            stop = min(n, start + _BULK)
            rows = np.arange(start, stop, dtype=np.uint64)[:, None]
            entries[start:stop] = (self._band_keys(self._sig[start:stop]) & _KEY_MASK) | rows
        run = entries.ravel()
        run.sort()
        return run

    def _flush(self) -> None:
        if self._np == 0:
            return
        run = ((self._pend_keys[:self._np] | self._pend_rows[:self._np, None])).ravel()
        run.sort()
        self._np = 0
        self._runs.append(run)
        while len(self._runs) >= 2 and self._runs[-2].size <= self._runs[-1].size:
            newer, older = self._runs.pop(), self._runs.pop()
            merged = np.concatenate((older, newer))
            merged.sort(kind="stable")   # timsort: a linear merge of two sorted runs
            self._runs.append(merged)

    def _candidate_rows(self, qkeys: np.ndarray) -> np.ndarray:
        found: list[np.ndarray] = []
        upper = qkeys | _ROW_MASK
        for run in self._runs:
            lo = np.searchsorted(run, qkeys, side="left")
            hi = np.searchsorted(run, upper, side="right")
            hit = hi > lo
            if hit.any():
                for a, b in zip(lo[hit].tolist(), hi[hit].tolist()):
                    found.append(run[a:b] & _ROW_MASK)
        if self._np:
            hit = (self._pend_keys[:self._np] == qkeys).any(axis=1)
            if hit.any():
                found.append(self._pend_rows[:self._np][hit])
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(found)).astype(np.int64)

    def _maybe_compact(self) -> None:
        if self._dead >= 4096 and self._dead * 4 >= self._n:
            self._compact()

    def _compact(self) -> None:
        """Drop tombstoned rows and their band entries (row numbers shift down, order kept)."""
        n = self._n
        keep = self._alive[:n].copy()
        live = int(keep.sum())
        new_row = (np.cumsum(keep) - 1).astype(np.uint64)
        for attr in ("_sig", "_size", "_article", "_story", "_ts", "_alive"):
            arr = getattr(self, attr)
            arr[:live] = arr[:n][keep]
            arr[live:n] = 0
        runs = []
        for run in self._runs:
            rows = (run & _ROW_MASK).astype(np.int64)
            mask = keep[rows]
            runs.append((run[mask] & _KEY_MASK) | new_row[rows[mask]])
        self._runs = [run for run in runs if run.size]
        prow = self._pend_rows[:self._np].astype(np.int64)
        pmask = keep[prow]
        count = int(pmask.sum())
        self._pend_keys[:count] = self._pend_keys[:self._np][pmask]
        self._pend_rows[:count] = new_row[prow[pmask]]
        self._np = count
        self._n = live
        self._dead = 0
        self._row_of = dict(zip(self._article[:live].tolist(), range(live)))
