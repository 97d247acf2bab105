"""Full-text search over the FTS5 index of analysed terms (the ``Search`` role)."""
from __future__ import annotations

from crawler.store.base import SearchHit, SearchQuery, utc_iso
from crawler.store.query_text import make_snippet, query_groups
from crawler.store.sqlite.tables import Tables


class SearchTables(Tables):
    """``search`` over ``articles_fts``: one hit per story unless all copies are asked."""

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The page ``offset``…``offset + limit`` of matching stories (or copies), best first.

        Stories are grouped exactly (each story's best copy by the query's order), so a page
        is right however many copies a story has and pages never overlap; the Elasticsearch
        store's ``collapse`` does the same."""
        matched = self._matches(query)
        if matched is None:
            return []
        limit, offset = max(0, int(query.limit)), max(0, int(query.offset))
        with self._lock:
            if query.sort == "newest":
                page = self._newest_page(query, limit, offset)
            else:
                page = self._top_page(query, limit, offset) if _ranked_only(query) else None
            if page is None:
                page = self._grouped_page(query, matched, limit, offset)
            rows = {r["id"]: r for r in self._db.execute(
                f"SELECT * FROM articles WHERE id IN ({','.join('?' * len(page))})",
                [i for i, _ in page])} if page else {}
            hits: list[SearchHit] = []
            for article_id, score in page:
                row = rows[article_id]
                others = [] if query.all_copies else [r[0] for r in self._db.execute(
                    "SELECT DISTINCT source FROM articles WHERE story_id=? AND source<>? "
                    "ORDER BY source", (row["story_id"], row["source"]))]
                excerpt, spans = make_snippet(row["body"], query.text, row["language"])
                hits.append(SearchHit(
                    article_id=row["id"], story_id=row["story_id"], url=row["canonical_url"],
                    title=row["title"], source=row["source"], language=row["language"],
                    published_at=row["published_at"],
                    excerpt=excerpt, spans=spans,
                    score=float(score), also_reported_by=others))
        return hits

    def _grouped_page(self, query: SearchQuery, matched: tuple[str, list], limit: int,
                      offset: int) -> list[tuple[int, float]]:
        """``(id, score)`` of the page, from every match: a window keeps each story's best
        copy, then the stories are ordered and cut."""
        sql, params = matched
        order = _order(query.sort, "m.")
        if query.all_copies:
            sql = f"SELECT m.id, m.score FROM ({sql}) m ORDER BY {order} LIMIT ? OFFSET ?"
        else:
            sql = (f"SELECT m.id, m.score FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
                   f"story_id ORDER BY {_order(query.sort)}) AS best FROM ({sql})) m "
                   f"WHERE m.best = 1 ORDER BY {order} LIMIT ? OFFSET ?")
        return [(r[0], r[1]) for r in self._db.execute(sql, params + [limit, offset])]

    def _top_page(self, query: SearchQuery, limit: int,
                  offset: int) -> list[tuple[int, float]] | None:
        """The page of a relevance search from the best-scored matches only.

        A story whose best copy is not among the top ``k`` copies ranks below every story
        that has one there, so once the top ``k`` (those in the query's language) hold
        ``offset + limit`` stories the page is exact — without reading the
        story of every match (the common word of a 100,000-article store matches ~15 % of
        it). Otherwise ``k`` grows as far as the share that passed suggests; None when that
        is past 4096 copies (then every match is grouped)."""
        match = fts_match_expression(query.text, query.language)
        where, fparams = match_filters(query)
        keep = " AND ".join(where) or "1"
        need = offset + limit
        k = max(64, 4 * need)
        while k <= 4096:
            rows = self._db.execute(
                f"SELECT t.id, a.story_id, t.score, ({keep}) FROM (SELECT rowid AS id, "
                "-bm25(articles_fts, 3.0, 1.0) AS score FROM articles_fts WHERE articles_fts "
                "MATCH ? ORDER BY score DESC, rowid DESC LIMIT ?) t "
                "JOIN articles a ON a.id = t.id ORDER BY t.score DESC, t.id DESC",
                [*fparams, match, k]).fetchall()
            seen: set[int] = set()
            best: list[tuple[int, float]] = []
            for article_id, story_id, score, kept in rows:
                if kept and (query.all_copies or story_id not in seen):
                    seen.add(story_id)
                    best.append((article_id, score))
            if len(best) >= need or len(rows) < k:      # enough stories, or every match
                return best[offset:need]
            if not best:
                return None
            k = max(4 * k, int(1.5 * k * need / len(best)))
        return None

    def _newest_page(self, query: SearchQuery, limit: int,
                     offset: int) -> list[tuple[int, float]] | None:
        """The page of a newest-first search: the newest ``k`` matching copies, unscored (a
        story whose newest copy is not among them is older than every story that has one),
        then bm25 for the page's rows only. None: ``k`` would grow past 4096."""
        matched = self._matches(query, scored=False)
        if matched is None:
            return []
        sql, params = matched
        need = offset + limit
        k = max(64, 4 * need)
        while k <= 4096:
            rows = self._db.execute(f"SELECT m.id, m.story_id FROM ({sql}) m "
                                    f"ORDER BY m.at DESC, m.id DESC LIMIT ?",
                                    params + [k]).fetchall()
            seen: set[int] = set()
            ids: list[int] = []
            for article_id, story_id in rows:
                if query.all_copies or story_id not in seen:
                    seen.add(story_id)
                    ids.append(article_id)
            if len(ids) >= need or len(rows) < k:
                ids = ids[offset:need]
                scores = dict(self._db.execute(
                    "SELECT rowid, -bm25(articles_fts, 3.0, 1.0) FROM articles_fts WHERE "
                    f"articles_fts MATCH ? AND rowid IN ({','.join('?' * len(ids))})",
                    [params[0], *ids])) if ids else {}
                return [(i, scores.get(i, 0.0)) for i in ids]
            k *= 4
        return None

    def search_total(self, query: SearchQuery) -> int:
        """How many stories (copies with ``all_copies``) match: the pages' total."""
        matched = self._matches(query, scored=False)
        if matched is None:
            return 0
        sql, params = matched
        what = "COUNT(*)" if query.all_copies else "COUNT(DISTINCT story_id)"
        with self._lock:
            return int(self._db.execute(f"SELECT {what} FROM ({sql})", params).fetchone()[0])

    def _matches(self, query: SearchQuery, *, scored: bool = True) -> tuple[str, list] | None:
        """``(sql, params)`` of the matching copies (id, story_id, score, at), None when the
        query has no searchable word. Filters, not the page, apply here; ``scored=False``
        skips bm25 (counts and charts need no ranking)."""
        match = fts_match_expression(query.text, query.language)
        if not match:
            return None
        where, params = match_filters(query)
        score = "-bm25(articles_fts, 3.0, 1.0)" if scored else "0"
        sql = ("SELECT a.id AS id, a.story_id AS story_id, "
               f"{score} AS score, "
               "COALESCE(a.published_utc, a.first_seen) AS at FROM articles_fts "
               "JOIN articles a ON a.id = articles_fts.rowid "
               f"WHERE articles_fts MATCH ?{''.join(' AND ' + w for w in where)}")
        return sql, [match, *params]

    def search_facets(self) -> dict[str, list[str]]:
        """The languages and sources stored articles have, for checking ``--lang``/``--source``."""
        with self._lock:
            return {col: [r[0] for r in self._db.execute(
                f"SELECT DISTINCT {col} FROM articles WHERE {col} IS NOT NULL ORDER BY {col}")]
                for col in ("language", "source")}


def match_filters(query: SearchQuery, table: str = "a") -> tuple[list[str], list]:
    """SQL conditions (on ``table``, the articles) and their parameters for a query's
    language, source and date range; time is publication, else first-seen time."""
    where: list[str] = []
    params: list = []
    if query.language:
        where.append(f"{table}.language = ?")
        params.append(query.language)
    if query.source:
        where.append(f"{table}.source = ?")
        params.append(query.source)
    when = f"COALESCE({table}.published_utc, {table}.first_seen)"
    if query.since:
        where.append(f"{when} >= ?")
        params.append(utc_iso(query.since))
    if query.until:
        where.append(f"{when} < ?")
        params.append(utc_iso(query.until))
    return where, params


def _ranked_only(query: SearchQuery) -> bool:
    """A relevance search at most filtered by language: its page can come from the
    top-scored matches. Narrower filters (a source, a date range) leave few matches to group
    — cheap already — and may keep none of the top ones (measured in bench/web.py)."""
    return (query.sort != "newest" and not query.source and query.since is None
            and query.until is None)


def _order(sort: str, prefix: str = "") -> str:
    """``relevance``: score, ``newest``: time; ties to the later article id. A total order,
    so pages are stable and the shortcuts (``_top_page``, ``_newest_page``) pick what the
    full grouping picks."""
    if sort == "newest":
        return f"{prefix}at DESC, {prefix}id DESC"
    return f"{prefix}score DESC, {prefix}id DESC"


def fts_match_expression(text: str, language: str | None = None) -> str:
    """User query → FTS5 MATCH expression over analysed terms (grammar: ``query_groups``).

    A "quoted phrase" becomes a NEAR group (documents carry several keys per token, so exact
    adjacency does not hold in the analysed column)."""
    alternatives = []
    for group in query_groups(text, language):
        parts = []
        for keys in group:
            words = [w.replace('"', '""') for w in keys]
            if len(words) == 1:
                parts.append(f'"{words[0]}"')
            else:
                quoted = " ".join(f'"{w}"' for w in words)
                parts.append(f"NEAR({quoted}, {4 * (len(words) - 1)})")
        alternatives.append(" ".join(parts))
    return " OR ".join(alternatives)
