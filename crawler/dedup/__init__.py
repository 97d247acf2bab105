"""Deduplication and story clustering (framework-free). URL identity (``url_key``) lives in
:mod:`crawler.urls`.

* ``fingerprint``: exact-copy hash of the normalised body;
* ``minhash``: word-shingle MinHash signatures (storable bytes) and exact shingle similarity;
* ``index``: in-memory LSH index of the recent window, rebuildable from stored signatures;
* ``stories``: the decision unchanged | update | duplicate | join | new for a fetched article,
  taken inside the store's write transaction (``StoryResolver.assign``) so that concurrent
  writers of one store agree on stories;
* ``memory``: reference in-memory implementation of what the store persists for stories
  (the ``StoryLookup`` role of crawler.store.roles).
"""
from crawler.dedup.fingerprint import body_fingerprint, words
from crawler.dedup.index import Match, NearDuplicateIndex
from crawler.dedup.minhash import Sketch, SignatureError, decode_signature, signature, sketch
from crawler.dedup.stories import Candidate, Decision, DedupConfig, StoryResolver, verify

__all__ = ["body_fingerprint", "words", "signature", "sketch", "Sketch", "decode_signature",
           "SignatureError", "NearDuplicateIndex", "Match", "Candidate", "Decision",
           "DedupConfig", "StoryResolver", "verify"]
