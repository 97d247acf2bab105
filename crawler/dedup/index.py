"""In-memory MinHash LSH index over the recent window of articles.

Why not ``datasketch.MinHashLSH``: it keeps one Python set per bucket and one Python object per
key — several GB for a million articles — and it cannot be rebuilt from stored signatures faster
than one insert at a time. Here everything lives in numpy arrays:

* rows: signatures ``(n, num_perm) uint32``, article/story ids, timestamps, shingle counts;
* band keys: a small unsorted buffer for recent inserts plus a few sorted runs (a tiny LSM tree:
  equal-sized runs are merged like a binary counter, so an insert costs amortised O(log n) and
  a lookup is two ``searchsorted`` calls per run, with O(log n) runs);
* deletions (updates, eviction) are tombstones, compacted away when they pile up.

A lookup returns every live candidate with its *estimated* Jaccard similarity and containment;
the caller verifies the few promising ones exactly (``crawler.dedup.stories``).
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

import numpy as np

from crawler.dedup.minhash import (HEADER_SIZE, NUM_PERM, SHINGLE_SIZE, Sketch, SignatureError,
                                   _constants, _fmix64, decode_signature)

__all__ = ["NearDuplicateIndex", "Match", "lsh_params", "DAY"]

DAY = 86400.0
_PENDING = 2048          # inserts buffered before they become a sorted run
_BAND_SALT = _constants("band-salt", 1024)


class Match(NamedTuple):
    """One LSH candidate: estimates only; verify before acting on it."""

    story_id: int
    article_id: int
    similarity: float     # estimated Jaccard similarity of the shingle sets
    containment: float    # estimated |A∩B| / min(|A|, |B|) (truncated copies score ~1)


def lsh_params(threshold: float, num_perm: int, recall: float = 0.95) -> tuple[int, int]:
    """``(bands, rows)``: the most selective banding that still finds a pair of Jaccard
    similarity ``threshold`` with probability ≥ ``recall`` (all ``num_perm`` values used)."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold ** rows) ** bands >= recall:
            return bands, rows
    return num_perm, 1


class NearDuplicateIndex:
    """Signatures of the articles of the last ``window_days``, searchable by LSH.

    ``threshold`` is the Jaccard similarity found with ≥ 95 % probability; lower similarities
    are found less often (truncated copies are the low end of what must be found: a first half
    is J ≈ 0.5). ``bands``/``rows`` override the derived banding."""

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
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._pend_keys = np.empty((_PENDING, bands), dtype=np.uint64)
        self._pend_rows = np.empty(_PENDING, dtype=np.int64)
        self._np = 0
        self._row_of: dict[int, int] = {}

    # ------------------------------------------------------------------ public API
    def __len__(self) -> int:
        return self._n - self._dead

    def __contains__(self, article_id: int) -> bool:
        return article_id in self._row_of

    def add(self, article_id: int, story_id: int, signature: bytes | Sketch,
            published_ts: float) -> bool:
        """Index one article (replacing its previous signature, e.g. after an edit).

        Returns False, indexing nothing, for an empty text (no shingles)."""
        minhash, size = self._decode(signature)
        self.remove(article_id)
        if size == 0:
            return False
        row = self._append(minhash, size, article_id, story_id, published_ts)
        if self._np == _PENDING:
            self._flush()
        self._pend_keys[self._np] = self._band_keys(minhash[None, :])[0]
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
        rows = self._candidate_rows(self._band_keys(minhash[None, :])[0])
        if rows.size == 0:
            return []
        rows = rows[self._alive[rows]]
        if at is not None and rows.size:
            rows = rows[np.abs(self._ts[rows] - at) <= self.window]
        if rows.size == 0:
            return []
        agreement = (self._sig[rows] == minhash).mean(axis=1)
        sizes = self._size[rows].astype(np.float64)
        inter = agreement * (size + sizes) / (1.0 + agreement)
        containment = np.minimum(1.0, inter / np.minimum(size, sizes))
        score = np.maximum(agreement, containment)
        order = np.argsort(-score, kind="stable")[:limit]
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
        version, ``k`` or ``num_perm``) are skipped: recompute them from the body."""
        index = cls(**params)
        expected = index._header_prefix()
        length = HEADER_SIZE + 4 * index.num_perm
        articles: list[int] = []
        stories: list[int] = []
        stamps: list[float] = []
        blobs: list[bytes] = []
        for article_id, story_id, sig, ts in rows:
            if len(sig) != length or sig[:6] != expected:
                continue
            articles.append(article_id)
            stories.append(story_id)
            stamps.append(ts)
            blobs.append(bytes(sig))
        if not blobs:
            return index
        raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), length)
        sizes = raw[:, 6:10].copy().view("<u4").ravel()
        sigs = raw[:, HEADER_SIZE:].copy().view("<u4").astype(np.uint32)
        article_arr = np.asarray(articles, dtype=np.int64)
        # the last row of an article wins, empty texts are not indexed
        _, last = np.unique(article_arr[::-1], return_index=True)
        keep = np.zeros(len(blobs), dtype=bool)
        keep[len(blobs) - 1 - last] = True
        keep &= sizes > 0
        n = int(keep.sum())
        index._alloc(max(1024, n))
        index._sig[:n] = sigs[keep]
        index._size[:n] = sizes[keep]
        index._article[:n] = article_arr[keep]
        index._story[:n] = np.asarray(stories, dtype=np.int64)[keep]
        index._ts[:n] = np.asarray(stamps, dtype=np.float64)[keep]
        index._alive[:n] = True
        index._n = n
        index._row_of = dict(zip(index._article[:n].tolist(), range(n)))
        index._runs = [index._sorted_run(index._band_keys(index._sig[:n]),
                                         np.arange(n, dtype=np.int64))] if n else []
        return index

    def stats(self) -> dict[str, int]:
        return {"live": len(self), "rows": self._n, "runs": len(self._runs),
                "pending": self._np, "band_entries": sum(k.size for k, _ in self._runs)}

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
        self._alloc(max(1024, self._cap * 2))
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
        """``(n, bands)`` uint64 bucket keys; for two rows per band the key is a bijection of the
        two minima (no false bucket collisions within a band)."""
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

    @staticmethod
    def _sorted_run(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = keys.ravel()
        row_ids = np.repeat(rows, keys.shape[1]) if keys.ndim == 2 else rows
        order = np.argsort(flat, kind="stable")
        return flat[order], row_ids[order].astype(np.int32)

    def _flush(self) -> None:
        if self._np == 0:
            return
        run = self._sorted_run(self._pend_keys[:self._np], self._pend_rows[:self._np])
        self._np = 0
        self._runs.append(run)
        while len(self._runs) >= 2 and self._runs[-2][0].size <= self._runs[-1][0].size:
            (k2, r2), (k1, r1) = self._runs.pop(), self._runs.pop()
            keys = np.concatenate((k1, k2))
            order = np.argsort(keys, kind="stable")   # timsort: a linear merge of two runs
            rows = np.concatenate((r1, r2))[order]
            self._runs.append((keys[order], rows))

    def _candidate_rows(self, qkeys: np.ndarray) -> np.ndarray:
        found: list[np.ndarray] = []
        for keys, rows in self._runs:
            lo = np.searchsorted(keys, qkeys, side="left")
            hi = np.searchsorted(keys, qkeys, side="right")
            for a, b in zip(lo[hi > lo].tolist(), hi[hi > lo].tolist()):
                found.append(rows[a:b])
        if self._np:
            hit = (self._pend_keys[:self._np] == qkeys).any(axis=1)
            if hit.any():
                found.append(self._pend_rows[:self._np][hit])
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(found).astype(np.int64))

    def _maybe_compact(self) -> None:
        if self._dead < 4096 or self._dead * 4 < self._n:
            return
        n = self._n
        keep = self._alive[:n].copy()
        new_row = np.cumsum(keep) - 1
        live = int(keep.sum())
        for attr in ("_sig", "_size", "_article", "_story", "_ts", "_alive"):
            arr = getattr(self, attr)
            arr[:live] = arr[:n][keep]
            arr[live:n] = 0
        runs = []
        for keys, rows in self._runs:
            mask = keep[rows]
            runs.append((keys[mask], new_row[rows[mask]].astype(np.int32)))
        self._runs = [run for run in runs if run[0].size]
        pmask = keep[self._pend_rows[:self._np]]
        count = int(pmask.sum())
        self._pend_keys[:count] = self._pend_keys[:self._np][pmask]
        self._pend_rows[:count] = new_row[self._pend_rows[:self._np][pmask]]
        self._np = count
        self._n = live
        self._dead = 0
        self._row_of = dict(zip(self._article[:live].tolist(), range(live)))
