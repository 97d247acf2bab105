"""Full-text search over the FTS5 index of analysed terms (the ``Search`` role)."""
from __future__ import annotations

from crawler.store.base import SearchHit, SearchQuery, utc_iso
from crawler.store.query_text import make_snippet, query_groups
from crawler.store.sqlite.tables import Tables


class SearchTables(Tables):
    """``search`` over ``articles_fts``: one hit per story unless all copies are asked."""

    def search(self, query: SearchQuery) -> list[SearchHit]:
        match = fts_match_expression(query.text, query.language)
        if not match:
            return []
        where = ["articles_fts MATCH ?"]
        params: list = [match]
        if query.language:
            where.append("a.language = ?")
            params.append(query.language)
        if query.source:
            where.append("a.source = ?")
            params.append(query.source)
        if query.since:
            where.append("COALESCE(a.published_utc, a.first_seen) >= ?")
            params.append(utc_iso(query.since))
        if query.until:
            where.append("COALESCE(a.published_utc, a.first_seen) < ?")
            params.append(utc_iso(query.until))
        when = "COALESCE(a.published_utc, a.first_seen) DESC"
        order = f"{when}, score DESC" if query.sort == "newest" else f"score DESC, {when}"
        sql = (f"SELECT a.*, -bm25(articles_fts, 3.0, 1.0) AS score FROM articles_fts "
               f"JOIN articles a ON a.id = articles_fts.rowid WHERE {' AND '.join(where)} "
               f"ORDER BY {order} LIMIT ?")
        fetch = query.limit if query.all_copies else query.limit * 5
        with self._lock:
            rows = self._db.execute(sql, params + [fetch]).fetchall()
            hits: list[SearchHit] = []
            seen_stories: set[int] = set()
            for row in rows:
                if not query.all_copies:
                    if row["story_id"] in seen_stories:
                        continue
                    seen_stories.add(row["story_id"])
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
                if len(hits) >= query.limit:
                    break
        return hits


    def search_facets(self) -> dict[str, list[str]]:
        """The languages and sources stored articles have, for checking ``--lang``/``--source``."""
        with self._lock:
            return {col: [r[0] for r in self._db.execute(
                f"SELECT DISTINCT {col} FROM articles WHERE {col} IS NOT NULL ORDER BY {col}")]
                for col in ("language", "source")}


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
