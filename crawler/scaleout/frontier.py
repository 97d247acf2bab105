"""The shared frontier: crawl jobs and article URLs in Redis Streams with consumer groups.

Why Streams and not scrapy-redis's list queue: scrapy-redis pops a request destructively, so a
worker killed with ``kill -9`` loses whatever it had taken. A stream entry read through a
consumer group (``XREADGROUP``) stays in the group's pending list until the worker acknowledges
it (``XACK``) after the article is stored; a dead worker's pending entries are claimed by a
live one (``XCLAIM``) — at once when the dead worker ran on the same host (its pid is gone), or
when its heartbeat key expired — and anything left unacknowledged for
``FRONTIER_RECLAIM_SECONDS`` is claimed by ``XAUTOCLAIM``. A URL is delivered at least once;
the store's upsert by canonical URL key makes a second delivery an "unchanged", never a copy.

Keys (``P`` = ``frontier_prefix``):

* ``P:jobs`` — one entry per due source (``job``, ``source``), put there by the controller;
* ``P:articles`` — one entry per article URL (``job``, ``key``, ``data``: URL, source, hint);
  one outlet's articles are spread over every worker that reads the stream;
* ``P:job:N`` — a job's accounting: ``outstanding`` (1 for the index crawl + 1 per queued
  article), ``incomplete`` (an article failed: do not keep the index validators), the index
  validators, counts; the step that brings ``outstanding`` to 0 finishes the job;
* ``P:active`` — source → its unfinished job (one crawl per source at a time);
* ``P:inflight`` — URL keys queued and not yet acknowledged (the duplicate filter);
* ``P:done`` — finished jobs, read by the controller (its own consumer group);
* ``P:ingest`` — with ``store_writer: controller``: fetched articles (store requests), fetch
  errors and crawl records the workers hand to the controller, the store's only writer
  (:mod:`crawler.scaleout.ingest`); ``P:known:YYYYMMDD`` — what it stored that day (URL key →
  content hash, index time, fetch time), read by the workers' index crawls to skip what is
  known (:mod:`crawler.scaleout.handoff`);
* ``P:validators``, ``P:failures`` — HTTP validators and per-URL failure counts
  (:mod:`crawler.scaleout.crawlstate`); ``P:worker:NAME`` — heartbeats; ``P:controller`` — the
  lease (:mod:`crawler.scaleout.lease`).

Each multi-key step is one Lua script, so it is atomic and one round trip.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Iterable

from crawler import defaults
from crawler.delivery.lease import owner_alive

GROUP = "workers"
CONTROLLER_GROUP = "controller"

# the end of a job: keep its validators unless incomplete, free its source, tell the controller
_FINISH = """
local function finish(jk, active, done, validators, job)
  local src = redis.call('HGET', jk, 'source')
  local inc = redis.call('HGET', jk, 'incomplete') or '0'
  if inc ~= '1' then
    local v = redis.call('HGET', jk, 'validators')
    if v and v ~= '' then
      for url, pair in pairs(cjson.decode(v)) do
        redis.call('HSET', validators, url, cjson.encode(pair))
      end
    end
  end
  if src and redis.call('HGET', active, src) == job then redis.call('HDEL', active, src) end
  redis.call('XADD', done, '*', 'job', job, 'source', src or '', 'incomplete', inc,
             'enqueued', redis.call('HGET', jk, 'enqueued') or '0',
             'created', redis.call('HGET', jk, 'created') or '0')
  redis.call('EXPIRE', jk, 86400)
end
"""

# KEYS active jobs seq; ARGV source now stale_before prefix → {1, job} queued, {0, job} busy
_SUBMIT = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local created = tonumber(redis.call('HGET', ARGV[4] .. cur, 'created') or '0')
  if created >= tonumber(ARGV[3]) then return {0, cur} end
end
local id = tostring(redis.call('INCR', KEYS[3]))
redis.call('HSET', ARGV[4] .. id, 'source', ARGV[1], 'outstanding', 1, 'incomplete', 0,
           'created', ARGV[2], 'enqueued', 0)
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('XADD', KEYS[2], '*', 'job', id, 'source', ARGV[1])
return {1, id}
"""

# KEYS inflight articles jobhash; ARGV job, key1, data1, key2, data2 … → how many were new
_ENQUEUE = """
local n = 0
for i = 2, #ARGV, 2 do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[2], '*', 'job', ARGV[1], 'key', ARGV[i], 'data', ARGV[i + 1])
    n = n + 1
  end
end
if n > 0 then
  redis.call('HINCRBY', KEYS[3], 'outstanding', n)
  redis.call('HINCRBY', KEYS[3], 'enqueued', n)
end
return n
"""

# KEYS stream jobhash active done validators inflight; ARGV id job incomplete validators key
# group → -1: already acknowledged; else what the job still waits for (0: it was finished now)
_ACK = _FINISH + """
if redis.call('XACK', KEYS[1], ARGV[6], ARGV[1]) == 0 then return -1 end
redis.call('XDEL', KEYS[1], ARGV[1])
if ARGV[5] ~= '' then redis.call('SREM', KEYS[6], ARGV[5]) end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if ARGV[3] == '1' then redis.call('HSET', KEYS[2], 'incomplete', 1) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'validators', ARGV[4]) end
local left = redis.call('HINCRBY', KEYS[2], 'outstanding', -1)
if left <= 0 then finish(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[2]) end
return left
"""

# store_writer: controller — a worker hands a fetched article to the controller: the article
# entry leaves the workers' stream and the store request joins the ingest stream, in one step
# (the job still counts it: the controller's acknowledgement of the ingest entry does that).
# KEYS articles ingest; ARGV id job key payload → 1, or 0 when the entry was handed over (or
# acknowledged) already
_HAND_OFF = """
if redis.call('XACK', KEYS[1], 'workers', ARGV[1]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'kind', 'article', 'job', ARGV[2], 'key', ARGV[3],
           'data', ARGV[4])
return 1
"""

INGEST_GROUP = "ingest"
INGEST_CONSUMER = "controller"   # one controller at a time (the lease): a successor reads on


@dataclass(frozen=True)
class Entry:
    """One frontier entry a worker holds: a job (index crawl) or an article URL."""

    stream: str                 # "jobs" or "articles"
    id: str                     # the stream entry id (what XACK takes)
    job: str
    source: str = ""            # jobs
    key: str = ""               # articles: the URL key (the duplicate filter's member)
    data: dict | None = None    # articles: url, source, hint

    @property
    def source_id(self) -> str:
        return self.source or (self.data or {}).get("source", "")


@dataclass(frozen=True)
class Finished:
    """A finished job, as the controller reads it from ``P:done``."""

    id: str
    job: str
    source: str
    incomplete: bool
    enqueued: int
    seconds: float


def _run(script: Any, client: Any, keys: list[str], args: list[str]) -> Any:
    """A registered script, now or on a pipeline (``client``). On a pipeline it is sent as a
    bare ``EVALSHA``: redis-py would otherwise ask ``SCRIPT EXISTS`` first, one more round
    trip per pipeline (``Frontier.flush`` loads the scripts again after a Redis restart)."""
    if client is None:
        return script(keys=keys, args=args)
    return client.evalsha(script.sha, len(keys), *keys, *args)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Frontier:
    """The frontier over one Redis client (redis-py; calls raise its errors when Redis is away,
    the caller — worker or controller — decides how to wait)."""

    def __init__(self, client: Any, prefix: str = defaults.FRONTIER_PREFIX):
        self.r = client
        self.prefix = prefix
        self.jobs, self.articles = f"{prefix}:jobs", f"{prefix}:articles"
        self.active, self.inflight = f"{prefix}:active", f"{prefix}:inflight"
        self.done, self.seq = f"{prefix}:done", f"{prefix}:jobseq"
        self.validators, self.failures = f"{prefix}:validators", f"{prefix}:failures"
        self.ingest = f"{prefix}:ingest"
        self._submit = client.register_script(_SUBMIT)
        self._enqueue = client.register_script(_ENQUEUE)
        self._ack = client.register_script(_ACK)
        self._hand_off = client.register_script(_HAND_OFF)
        self._groups_made = False

    @classmethod
    def from_url(cls, url: str, prefix: str = defaults.FRONTIER_PREFIX) -> "Frontier":
        from crawler.scaleout.connection import connect
        return cls(connect(url), prefix)

    def job_key(self, job: str) -> str:
        return f"{self.prefix}:job:{job}"

    def heartbeat_key(self, name: str) -> str:
        return f"{self.prefix}:worker:{name}"

    def ensure_groups(self) -> None:
        """The consumer groups (made once; ``BUSYGROUP`` means another process made them)."""
        if self._groups_made:
            return
        import redis
        for stream, group in ((self.jobs, GROUP), (self.articles, GROUP),
                              (self.done, CONTROLLER_GROUP), (self.ingest, INGEST_GROUP)):
            try:
                self.r.xgroup_create(stream, group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_made = True

    # ------------------------------------------------------------------ the controller's side
    def submit(self, source: str, *, now: float | None = None,
               stale_seconds: float = defaults.FRONTIER_STALE_JOB_SECONDS) -> tuple[bool, str]:
        """Queue a crawl of ``source`` unless one is unfinished: ``(queued, job id)``."""
        self.ensure_groups()
        now = time.time() if now is None else now
        queued, job = self._submit(keys=[self.active, self.jobs, self.seq],
                                   args=[source, f"{now:.3f}", f"{now - stale_seconds:.3f}",
                                         f"{self.prefix}:job:"])
        return bool(int(queued)), _text(job)

    def finished(self, consumer: str = "controller", count: int = 100,
                 pending: bool = False) -> list[Finished]:
        """Finished jobs not yet acknowledged by the controller (``pending``: those it read
        before a restart and did not acknowledge)."""
        self.ensure_groups()
        reply = self.r.xreadgroup(CONTROLLER_GROUP, consumer, {self.done: "0" if pending else ">"},
                                  count=count)
        out = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                if not fields:
                    continue
                f = {_text(k): _text(v) for k, v in fields.items()}
                created = float(f.get("created") or 0)
                out.append(Finished(_text(entry_id), f.get("job", ""), f.get("source", ""),
                                    f.get("incomplete") == "1", int(f.get("enqueued") or 0),
                                    max(0.0, time.time() - created) if created else 0.0))
        return out

    def acknowledge_finished(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            self.r.xack(self.done, CONTROLLER_GROUP, *ids)
            self.r.xdel(self.done, *ids)

    def active_jobs(self) -> dict[str, str]:
        """Source → its unfinished job."""
        return {_text(k): _text(v) for k, v in self.r.hgetall(self.active).items()}

    # ------------------------------------------------------------------ the workers' side
    def read(self, stream: str, consumer: str, count: int) -> list[Entry]:
        """Up to ``count`` new entries of ``stream`` ("jobs" or "articles") for ``consumer``."""
        self.ensure_groups()
        name = self.jobs if stream == "jobs" else self.articles
        reply = self.r.xreadgroup(GROUP, consumer, {name: ">"}, count=count)
        return [e for _s, entries in reply or [] for e in self._entries(stream, entries)]

    def _entries(self, stream: str | None, entries: Iterable[Any]) -> list[Entry]:
        """Stream entries as :class:`Entry` (``stream`` None: the ingest stream, whose entries
        name their own kind)."""
        out = []
        for entry_id, fields in entries:
            if not fields:    # acknowledged and deleted meanwhile (a claim returns these)
                continue
            f = {_text(k): _text(v) for k, v in fields.items()}
            data = json.loads(f["data"]) if "data" in f else None
            out.append(Entry(stream or f.get("kind", ""), _text(entry_id), f.get("job", ""),
                             f.get("source", ""), f.get("key", ""), data))
        return out

    def enqueue(self, job: str, articles: list[tuple[str, dict]]) -> int:
        """Queue article URLs ``(url key, data)`` of ``job``; a key already queued is not
        queued again. Returns how many were new."""
        if not articles:
            return 0
        args: list[str] = [job]
        for key, data in articles:
            args += [key, _dumps(data)]
        return int(self._enqueue(keys=[self.inflight, self.articles, self.job_key(job)],
                                 args=args))

    def ack(self, entry: Entry, *, incomplete: bool = False,
            validators: dict[str, list[str | None]] | None = None, client: Any = None) -> int:
        """Acknowledge a handled entry (article stored or failed for good; index crawl over):
        -1 when it was acknowledged already, else what its job still waits for (0: done).
        ``client``: a pipeline to queue the call on (its result comes with ``execute``)."""
        stream = self.jobs if entry.stream == "jobs" else self.articles
        reply = _run(self._ack, client,
                     keys=[stream, self.job_key(entry.job), self.active, self.done,
                           self.validators, self.inflight],
                     args=[entry.id, entry.job, "1" if incomplete else "0",
                           json.dumps(validators) if validators else "", entry.key, GROUP])
        return int(reply) if client is None else 0

    def flush(self, hand_offs: list[tuple[Entry | None, str, dict]],
              acks: list[tuple[Entry, dict[str, Any]]]) -> None:
        """A worker's hand-overs, notes and acknowledgements of one tick, in one round trip.
        Each step is idempotent (an entry acknowledged or handed over already is left as it
        is), so a flush cut short by an outage is simply sent again."""
        import redis
        for attempt in (1, 2):
            pipe = self.r.pipeline(transaction=False)
            for entry, kind, payload in hand_offs:
                if entry is None:
                    self.note(kind, payload, client=pipe)
                else:
                    self.hand_off(entry, payload, client=pipe)
            for entry, how in acks:
                self.ack(entry, client=pipe, **how)
            try:
                pipe.execute()
                return
            except redis.exceptions.NoScriptError:   # Redis restarted: its script cache is empty
                if attempt == 2:
                    raise
                for script in (self._ack, self._hand_off):
                    script.sha = self.r.script_load(script.script)

    # ------------------------------------------------------------------ store_writer: controller
    def known_key(self, day: str) -> str:
        return f"{self.prefix}:known:{day}"

    def hand_off(self, entry: Entry, payload: dict, client: Any = None) -> bool:
        """A worker hands ``entry``'s fetched article (a store request) to the controller:
        False when the entry was handed over or acknowledged already (by another worker)."""
        reply = _run(self._hand_off, client, keys=[self.articles, self.ingest],
                     args=[entry.id, entry.job, entry.key, _dumps(payload)])
        return bool(int(reply)) if client is None else False

    def note(self, kind: str, fields: dict, client: Any = None) -> None:
        """A worker's fetch error (``error``) or index-crawl record (``crawl``) for the
        controller's store."""
        (client or self.r).xadd(self.ingest, {"kind": kind, "data": _dumps(fields)})

    def read_ingest(self, count: int, *, pending: bool, block_ms: int = 0) -> list[Entry]:
        """Ingest entries for the controller (``pending``: those read before and not
        acknowledged — a restarted or new controller's first read)."""
        self.ensure_groups()
        reply = self.r.xreadgroup(INGEST_GROUP, INGEST_CONSUMER,
                                  {self.ingest: "0" if pending else ">"}, count=count,
                                  block=None if pending or not block_ms else block_ms)
        return [e for _s, entries in reply or [] for e in self._entries(None, entries)]

    def ack_ingested(self, entry: Entry, *, incomplete: bool = False) -> int:
        """The controller stored (or gave up on) an ingest entry: an article counts off its
        job as :meth:`ack` does for a worker; a note is simply removed."""
        if entry.stream != "article":
            self.r.xack(self.ingest, INGEST_GROUP, entry.id)
            self.r.xdel(self.ingest, entry.id)
            return -1
        return int(self._ack(
            keys=[self.ingest, self.job_key(entry.job), self.active, self.done,
                  self.validators, self.inflight],
            args=[entry.id, entry.job, "1" if incomplete else "0", "", entry.key,
                  INGEST_GROUP]))

    def mark_incomplete(self, job: str) -> None:
        """An article of ``job`` could not be kept: its index must be read in full next time."""
        if self.r.exists(self.job_key(job)):
            self.r.hset(self.job_key(job), "incomplete", 1)

    def heartbeat(self, name: str, ttl: float = defaults.WORKER_DEAD_SECONDS) -> None:
        self.r.set(self.heartbeat_key(name), f"{time.time():.3f}", px=int(ttl * 1000))

    def retire(self, name: str) -> None:
        """A worker stops: its heartbeat goes at once, so its unfinished entries are claimed by
        the others without waiting for the heartbeat to expire."""
        self.r.delete(self.heartbeat_key(name))

    def reclaim(self, me: str, *, idle_seconds: float = defaults.FRONTIER_RECLAIM_SECONDS,
                count: int = 100) -> list[Entry]:
        """Entries of dead workers (no heartbeat, or a dead pid on this host), and entries
        nobody acknowledged for ``idle_seconds``, claimed for ``me``."""
        self.ensure_groups()
        out: list[Entry] = []
        for stream, name in (("jobs", self.jobs), ("articles", self.articles)):
            for consumer in self.r.xinfo_consumers(name, GROUP):
                who = _text(consumer["name"])
                if who == me or self._alive(who):
                    continue
                if int(consumer.get("pending", 0)) == 0:
                    self.r.xgroup_delconsumer(name, GROUP, who)
                    continue
                pending = self.r.xpending_range(name, GROUP, "-", "+", count, consumername=who)
                ids = [p["message_id"] for p in pending]
                if ids:
                    out += self._entries(stream, self.r.xclaim(name, GROUP, me, 0, ids))
            reply = self.r.xautoclaim(name, GROUP, me, int(idle_seconds * 1000), "0-0",
                                      count=count)
            out += self._entries(stream, reply[1] if len(reply) > 1 else [])
        return out

    def _alive(self, consumer: str) -> bool:
        return bool(self.r.exists(self.heartbeat_key(consumer))) and owner_alive(consumer)

    # ------------------------------------------------------------------ figures
    def sizes(self) -> dict[str, int]:
        """Queued entries per stream, jobs running, URLs in flight (status and benchmarks)."""
        return {"jobs": int(self.r.xlen(self.jobs)), "articles": int(self.r.xlen(self.articles)),
                "ingest": int(self.r.xlen(self.ingest)),
                "active_jobs": int(self.r.hlen(self.active)),
                "inflight_urls": int(self.r.scard(self.inflight))}
