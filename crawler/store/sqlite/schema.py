"""The SQLite schema: every table, index and change, as numbered migrations.

Each entry migrates from version i to i+1 (see crawler.store.migrate). Never edit a released
entry; append a new one.
"""
from __future__ import annotations

from crawler.store.migrate import Step

MIGRATIONS: list[Step] = [
    """
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        url_key TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        canonical_url TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        authors TEXT NOT NULL DEFAULT '[]',
        published_at TEXT,
        published_utc TEXT,
        updated_at TEXT,
        updated_utc TEXT,
        language TEXT,
        image_url TEXT,
        section TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        fetched_at TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        revision INTEGER NOT NULL DEFAULT 1,
        previous_hashes TEXT NOT NULL DEFAULT '[]',
        index_updated_at TEXT,
        story_id INTEGER NOT NULL
    );
    CREATE INDEX articles_source ON articles(source, published_utc);
    CREATE INDEX articles_published ON articles(published_utc);
    CREATE INDEX articles_story ON articles(story_id);
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        representative_id INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, body, tokenize = "unicode61 remove_diacritics 0"
    );
    CREATE TABLE url_aliases (
        alias_key TEXT PRIMARY KEY,
        article_id INTEGER NOT NULL
    );
    CREATE TABLE http_cache (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        checked_at TEXT NOT NULL
    );
    CREATE TABLE fetch_errors (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX fetch_errors_source ON fetch_errors(source, at);
    CREATE TABLE crawl_runs (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        counts TEXT NOT NULL
    );
    CREATE INDEX crawl_runs_source ON crawl_runs(source, finished_at);
    """,
    # v2: alert ledger (exactly-once bookkeeping) and digest items. Matching marks each article
    # revision as checked in the same transaction that queues its alerts (outbox pattern), so a
    # crash between storing and matching is repaired by a sweep, never lost.
    """
    ALTER TABLE articles ADD COLUMN alerts_checked_revision INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX articles_alert_check ON articles(alerts_checked_revision, revision);
    CREATE TABLE alert_ledger (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        article_id INTEGER NOT NULL,
        matched_terms TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (rule, story_id, recipient)
    );
    CREATE INDEX alert_ledger_due ON alert_ledger(state, next_attempt_at);
    CREATE TABLE digest_items (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        article_id INTEGER NOT NULL,
        matched_terms TEXT NOT NULL DEFAULT '[]',
        matched_at TEXT NOT NULL,
        digest_id INTEGER,
        UNIQUE (rule, story_id, recipient)
    );
    CREATE INDEX digest_items_pending ON digest_items(recipient, digest_id, matched_at);
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        period_key TEXT NOT NULL,
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (recipient, period_key)
    );
    """,
    # v3: deduplication — exact body fingerprint, MinHash signature, numeric publication time
    # (the near-duplicate index is rebuilt from these at start-up) and the representative's time.
    """
    ALTER TABLE articles ADD COLUMN body_fingerprint TEXT;
    ALTER TABLE articles ADD COLUMN signature BLOB;
    ALTER TABLE articles ADD COLUMN published_ts REAL;
    CREATE INDEX articles_fingerprint ON articles(body_fingerprint, published_ts);
    CREATE INDEX articles_published_ts ON articles(published_ts);
    ALTER TABLE stories ADD COLUMN representative_ts REAL;
    """,
    # v4: the service's schedule, so a restart neither re-polls everything at once nor forgets.
    """
    CREATE TABLE service_schedule (
        source TEXT PRIMARY KEY,
        next_run TEXT NOT NULL,
        last_started TEXT,
        updated_at TEXT NOT NULL
    );
    """,
    # v5: article URLs that keep failing are backed off (see recent_failures).
    """
    CREATE INDEX fetch_errors_url ON fetch_errors(url, at);
    """,
    # v6: every insert or content change of an article takes the next change number, so a
    # process can fetch the signatures other processes stored since it last looked
    # (``story_changes``) and stories agree across concurrent writers.
    """
    ALTER TABLE articles ADD COLUMN change_seq INTEGER;
    CREATE INDEX articles_change_seq ON articles(change_seq);
    """,
    # v7 (delivery ledger): claims with an owner — ``sending`` rows carry who sends them
    # (``claimed_by``, see crawler/delivery/lease.py) and their lease expiry (``next_attempt_at``);
    # ``last_attempt_at`` dates a failure for ``chavder status``. Recipients are stored by
    # their redacted key only: old raw Apprise URLs (bot tokens) are rewritten, with
    # secure_delete so the old bytes are zeroed, not left in free pages.
    """
    PRAGMA secure_delete=ON;
    ALTER TABLE alert_ledger ADD COLUMN claimed_by TEXT;
    ALTER TABLE alert_ledger ADD COLUMN last_attempt_at TEXT;
    ALTER TABLE digests ADD COLUMN claimed_by TEXT;
    UPDATE alert_ledger SET recipient = chavder_ledger_key(recipient)
        WHERE recipient LIKE 'apprise:%';
    UPDATE digest_items SET recipient = chavder_ledger_key(recipient)
        WHERE recipient LIKE 'apprise:%';
    UPDATE digests SET recipient = chavder_ledger_key(recipient)
        WHERE recipient LIKE 'apprise:%';
    PRAGMA secure_delete=OFF;
    """,
    # v8: where an article's text came from — 'page', or 'feed' when the page could not be
    # fetched (or was an anti-bot challenge) and the feed/API item carried the whole article.
    """
    ALTER TABLE articles ADD COLUMN extracted_from TEXT NOT NULL DEFAULT 'page';
    """,
    # v9: the text of earlier revisions, bounded (``revision_text_keep``; older ones keep their
    # hash and time only, ``body`` NULL), and when the current revision was stored
    # (``revised_at``; NULL: first_seen), for the story page's "what changed".
    """
    ALTER TABLE articles ADD COLUMN revised_at TEXT;
    CREATE TABLE article_revisions (
        article_id INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        seen_at TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT,
        content_hash TEXT NOT NULL,
        PRIMARY KEY (article_id, revision)
    ) WITHOUT ROWID;
    """,
    # v10: the web interface's reads. A covering index of what search, its total and the
    # attention charts read for each FTS match (story, language, source, times), so SQLite
    # need not step over every matching row's body to reach them (bench/web.py: a search
    # total 30 → 6 ms at 100,000 articles); and articles first seen per source and day.
    """
    CREATE INDEX articles_search ON articles(id, story_id, language, source, published_utc,
                                             first_seen);
    CREATE INDEX articles_source_seen ON articles(source, first_seen);
    """,
]
