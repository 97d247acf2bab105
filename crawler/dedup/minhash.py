"""Word-shingle MinHash signatures and exact shingle-set similarity.

A plain numpy MinHash instead of ``datasketch.MinHash``: the same estimator, but one vectorised
(shingles × permutations) multiply-shift per text instead of per-shingle Python calls, and a
fixed compact byte layout the store can keep in a BLOB (``bench/dedup_scale.py`` prints both
speeds). Hash constants come from BLAKE2b of fixed seeds, so signatures are identical across
processes, machines and numpy versions — they are persisted and compared for months.

Signature layout (little-endian): ``b"MH"``, version u8, shingle size u8, num_perm u16,
distinct-shingle count u32, then ``num_perm`` u32 minima. The shingle count lets the index
estimate containment (truncated copies) as well as Jaccard similarity.
"""
from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from crawler.dedup.fingerprint import words

__all__ = ["SHINGLE_SIZE", "NUM_PERM", "Sketch", "sketch", "sketch_words", "signature",
           "shingle_hashes", "word_hashes", "shingles_from_word_hashes", "minhash_of",
           "decode_signature", "SignatureError", "similarity"]

#: Words per shingle and permutations: chosen by ``bench/dedup_eval.py --sweep`` (see README).
SHINGLE_SIZE = 4
NUM_PERM = 64
_VERSION = 1
_HEADER = struct.Struct("<2sBBHI")
HEADER_SIZE = _HEADER.size
_CHUNK = 4096


class SignatureError(ValueError):
    """A stored signature that does not match this code's layout or parameters."""


def _constants(name: str, count: int) -> np.ndarray:
    """``count`` pseudo-random 64-bit integers derived from ``name`` (stable forever)."""
    out = bytearray()
    block = 0
    while len(out) < 8 * count:
        out += hashlib.blake2b(f"chavder-dedup/{name}/{block}".encode(), digest_size=64).digest()
        block += 1
    return np.frombuffer(bytes(out[:8 * count]), dtype="<u8").astype(np.uint64)


_MAX_PERM = 1024
_PERM_A = _constants("perm-a", _MAX_PERM) | np.uint64(1)   # odd multipliers
_PERM_B = _constants("perm-b", _MAX_PERM)
_POS_MULT = _constants("shingle-pos", 16) | np.uint64(1)


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (vectorised): spreads every input bit to every output bit."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def word_hashes(tokens: list[str]) -> np.ndarray:
    """64-bit word hashes from two CRC-32s (C speed; collisions are irrelevant at news scale)."""
    crc = zlib.crc32
    encoded = [token.encode("utf-8") for token in tokens]
    high = np.array([crc(data) for data in encoded], dtype=np.uint64)
    low = np.array([crc(data, 0x9E3779B9) for data in encoded], dtype=np.uint64)
    return (high << np.uint64(32)) | low


def shingle_hashes(text: str, lang: str | None = None, k: int = SHINGLE_SIZE) -> np.ndarray:
    """Sorted distinct 64-bit hashes of the ``k``-word shingles of ``text`` (normalised words).

    A text shorter than ``k`` words is one shingle; an empty text has none."""
    return shingles_from_word_hashes(word_hashes(words(text, lang)), k)


def shingles_from_word_hashes(hashes: np.ndarray, k: int = SHINGLE_SIZE) -> np.ndarray:
    """Sorted distinct shingle hashes from a text's word hashes (in order)."""
    if not 1 <= k <= len(_POS_MULT):
        raise ValueError(f"shingle size must be 1..{len(_POS_MULT)}")
    if hashes.size == 0:
        return np.empty(0, dtype=np.uint64)
    span = min(k, len(hashes))
    count = len(hashes) - span + 1
    acc = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for pos in range(span):
            acc = acc + hashes[pos:pos + count] * _POS_MULT[pos]
        return np.unique(_fmix64(acc ^ np.uint64(span)))


@dataclass(frozen=True)
class Sketch:
    """A body's shingle set (for exact verification) and MinHash (for the index and storage)."""

    shingles: np.ndarray     # sorted distinct uint64 shingle hashes
    minhash: np.ndarray      # (num_perm,) uint32
    k: int

    @property
    def size(self) -> int:
        return int(self.shingles.size)

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(b"MH", _VERSION, self.k, self.minhash.size, self.size)
        return header + self.minhash.astype("<u4").tobytes()


def minhash_of(shingles: np.ndarray, num_perm: int = NUM_PERM) -> np.ndarray:
    """``num_perm`` uint32 minima of the shingle hashes under fixed random permutations."""
    if num_perm > _MAX_PERM:
        raise ValueError(f"num_perm must be <= {_MAX_PERM}")
    if shingles.size == 0:
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    a, b = _PERM_A[:num_perm, None], _PERM_B[:num_perm, None]
    best = np.full(num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        # multiply-add-shift: (a*x + b) mod 2^64, top 32 bits; one row per permutation.
        # Chunked so a book-length body does not allocate num_perm x shingles at once.
        for start in range(0, shingles.size, _CHUNK):
            mixed = shingles[None, start:start + _CHUNK] * a + b
            np.minimum(best, mixed.min(axis=1), out=best)
    return (best >> np.uint64(32)).astype(np.uint32)


def sketch(text: str, lang: str | None = None, *, k: int = SHINGLE_SIZE,
           num_perm: int = NUM_PERM) -> Sketch:
    """Shingle set and MinHash of ``text``: compute once, use for index and verification."""
    return sketch_words(words(text, lang), k=k, num_perm=num_perm)


def sketch_words(tokens: list[str], *, k: int = SHINGLE_SIZE, num_perm: int = NUM_PERM) -> Sketch:
    """``sketch`` of already normalised and split words."""
    shingles = shingles_from_word_hashes(word_hashes(tokens), k)
    return Sketch(shingles, minhash_of(shingles, num_perm), k)


def signature(text: str, lang: str | None = None, *, k: int = SHINGLE_SIZE,
              num_perm: int = NUM_PERM) -> bytes:
    """Compact storable MinHash signature of ``text`` (``10 + 4 * num_perm`` bytes)."""
    return sketch(text, lang, k=k, num_perm=num_perm).to_bytes()


def decode_signature(data: bytes, *, k: int | None = None,
                     num_perm: int | None = None) -> tuple[np.ndarray, int]:
    """``(minhash uint32 array, distinct shingle count)``; raises ``SignatureError`` when the
    bytes are not a signature of this layout (or of other ``k``/``num_perm`` when given)."""
    if len(data) < HEADER_SIZE:
        raise SignatureError("signature too short")
    magic, version, sk, perms, size = _HEADER.unpack_from(data)
    if magic != b"MH" or version != _VERSION or len(data) != HEADER_SIZE + 4 * perms:
        raise SignatureError("not a Chavder MinHash signature (or another version)")
    if (k is not None and sk != k) or (num_perm is not None and perms != num_perm):
        raise SignatureError(f"signature has k={sk}, num_perm={perms}; "
                             f"expected k={k}, num_perm={num_perm}")
    return np.frombuffer(data, dtype="<u4", offset=HEADER_SIZE).astype(np.uint32), size


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Exact ``(jaccard, containment)`` of two shingle-hash sets (sorted distinct arrays).

    Containment is |A∩B| / min(|A|, |B|): 1.0 when the shorter text is a truncated copy of the
    longer one, where Jaccard is only the length ratio."""
    if a.size == 0 or b.size == 0:
        return 0.0, 0.0
    inter = int(np.intersect1d(a, b, assume_unique=True).size)
    return inter / (a.size + b.size - inter), inter / min(a.size, b.size)

