"""Full-text search over the FTS5 index of analysed terms (the ``Search`` role)."""
from __future__ import annotations

from crawler.store.base import SearchHit, SearchQuery, utc_iso
from crawler.store.query_text import make_snippet, query_groups
from crawler.store.sqlite.tables import Tables


class SearchTables(Tables):
    """``search`` over ``articles_fts``: one hit per story unless all copies are asked."""

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The page ``offset``…``offset + limit`` of matching stories (or copies), best first.

        Stories are grouped in SQL (a window over the matches keeps each story's best copy),
        so a page is exact however many copies a story has and pages never overlap; the
        Elasticsearch store's ``collapse`` picks the same copy."""
        matched = self._matches(query)
        if matched is None:
            return []
        sql, params = matched
        order = _order(query.sort, "m.")
        if query.all_copies:
            sql = f"SELECT m.* FROM ({sql}) m ORDER BY {order} LIMIT ? OFFSET ?"
        else:
            sql = (f"SELECT m.* FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY story_id "
                   f"ORDER BY {_order(query.sort)}) AS best FROM ({sql})) m WHERE m.best = 1 "
                   f"ORDER BY {order} LIMIT ? OFFSET ?")
        sql = (f"SELECT a.*, p.score FROM ({sql}) p JOIN articles a ON a.id = p.id "
               f"ORDER BY {_order(query.sort, 'p.')}")
        page = [max(0, int(query.limit)), max(0, int(query.offset))]
        with self._lock:
            rows = self._db.execute(sql, params + page).fetchall()
            hits: list[SearchHit] = []
            for row in rows:
                others = [] if query.all_copies else [r[0] for r in self._db.execute(
                    "SELECT DISTINCT source FROM articles WHERE story_id=? AND source<>? "
                    "ORDER BY source", (row["story_id"], row["source"]))]
                excerpt, spans = make_snippet(row["body"], query.text, row["language"])
                hits.append(SearchHit(
                    article_id=row["id"], story_id=row["story_id"], url=row["canonical_url"],
                    title=row["title"], source=row["source"], language=row["language"],
                    published_at=row["published_at"],
                    excerpt=excerpt, spans=spans,
                    score=float(row["score"]), also_reported_by=others))
        return hits

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


def _order(sort: str, prefix: str = "") -> str:
    """``relevance``: score, then newest; ``newest``: time, then score; id breaks ties so
    pages are stable."""
    when = f"{prefix}at DESC"
    score = f"{prefix}score DESC"
    first = f"{when}, {score}" if sort == "newest" else f"{score}, {when}"
    return f"{first}, {prefix}id DESC"


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
