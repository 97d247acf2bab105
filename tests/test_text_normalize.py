"""Normalisation and token analysis: the pair table (folding and clitic matching) and the
contract the store and the alert matcher rely on."""
from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from crawler.text import index_terms, normalize, query_terms, tokens
from crawler.text.analysis import match_phrase

DATA = Path(__file__).parent / "data" / "text" / "normalize.tsv"


def _rows() -> list[dict[str, str]]:
    with open(DATA, encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


ROWS = _rows()


def _matches(query: str, text: str, lang: str | None) -> bool:
    return bool(match_phrase(tokens(text, lang), query_terms(query, lang)))


def test_table_size_and_clitic_cases():
    assert len(ROWS) >= 60
    match_rows = [r for r in ROWS if r["kind"] == "match"]
    assert sum(r["expected"] == "no" for r in match_rows) >= 15
    assert {r["lang"] for r in match_rows} >= {"ar", "ckb", "kmr"}


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r['kind']}-{r['lang'] or 'any'}"
                                           for i, r in enumerate(ROWS)])
def test_pair_table(row: dict[str, str]):
    want = row["expected"] == "yes"
    if row["kind"] == "equal":
        got = normalize(row["a"]) == normalize(row["b"])
        assert got == want, f"{row['a']!r} vs {row['b']!r} ({row['note']}): " \
                            f"{normalize(row['a'])!r} / {normalize(row['b'])!r}"
    else:
        got = _matches(row["a"], row["b"], row["lang"] or None)
        toks = [(t.surface, t.keys) for t in tokens(row["b"], row["lang"] or None)]
        assert got == want, f"{row['a']!r} in {row['b']!r} ({row['note']}): {toks}"


SAMPLES = [
    ("روسيا: سنقصف عناصر «داعش» إذا حاولوا الفرار من الرَّقَّة، وبالرقة…", "ar"),
    ("لە ڕه‌ققه‌دا دوو تەقینەوە ڕوویاندا، (٢٠١٧)", "ckb"),
    ("Rêveberiya Reqa'yê — DAİŞ'ê \"êrişek\" kir; 2014an", "kmr"),
    ("Raqqa’s council met in al-Raqqa #raqqa", "en"),
]


@pytest.mark.parametrize("text,lang", SAMPLES)
def test_tokens_point_into_the_original_text(text: str, lang: str):
    toks = tokens(text, lang)
    assert toks
    for t in toks:
        assert text[t.start:t.end] == t.surface
        assert t.keys and t.keys[0] == normalize(t.surface)
        assert not any(ch.isspace() for ch in t.surface)
    assert [t.start for t in toks] == sorted(t.start for t in toks)


@pytest.mark.parametrize("text,lang", SAMPLES)
def test_tokenising_chunks_gives_the_same_tokens(text: str, lang: str):
    whole = [(t.start, t.end, t.keys) for t in tokens(text, lang)]
    pieces = []
    pos = 0
    for chunk in text.split():
        base = text.index(chunk, pos)
        pieces += [(base + t.start, base + t.end, t.keys) for t in tokens(chunk, lang)]
        pos = base + len(chunk)
    assert pieces == whole


def test_query_terms_one_key_per_word_never_stripped():
    assert query_terms("الرَّقَّة") == ["الرقه"]
    assert query_terms("بالرقة") == ["بالرقه"]                      # the user's form is the lemma
    assert query_terms("تنظيم الدولة الإسلامية") == ["تنظيم", "الدوله", "الاسلاميه"]
    assert query_terms("Dewleta Îslamî", "kmr") == ["dewleta", "islami"]
    assert query_terms("  ") == []


def test_index_terms_are_fts5_tokens_that_find_the_document():
    """Every key survives SQLite's unicode61 tokenizer as one token, so a query key finds the row."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61 remove_diacritics 0')")
    docs = {
        1: ("قالت الوزارة إن المسلحين غادروا بالرقة أمس", "ar"),
        2: ("لە ڕه‌ققه‌دا دوو تەقینەوە ڕوویاندا", "ckb"),
        3: ("Li Reqayê du teqîn çêbûn", "kmr"),
        4: ("أعلنت هيئة الرقابة المالية النتائج", "ar"),
    }
    for rowid, (text, lang) in docs.items():
        db.execute("INSERT INTO t(rowid, body) VALUES (?, ?)", (rowid, index_terms(text, lang)))
        for tok in tokens(text, lang):
            for key in tok.keys:
                assert db.execute("SELECT count(*) FROM t WHERE t MATCH ?",
                                  (f'"{key}"',)).fetchone()[0] >= 1, key

    def hits(q: str, lang: str | None) -> set[int]:
        (key,) = query_terms(q, lang)
        return {r[0] for r in db.execute("SELECT rowid FROM t WHERE t MATCH ?", (f'"{key}"',))}

    assert hits("الرقة", "ar") == {1}
    assert hits("ڕەققە", "ckb") == {2}
    assert hits("Reqa", "kmr") == {3}


def test_match_phrase_positions():
    toks = tokens("ستقصف عناصر تنظيم الدولة الإسلامية (داعش) وتنظيم الدولة", "ar")
    assert match_phrase(toks, query_terms("تنظيم الدولة")) == [(2, 4), (6, 8)]
    assert match_phrase(toks, []) == []


def test_normalize_keeps_text_shape():
    text = "قال: «الرقة» — 2017!"
    assert normalize(text) == "قال: «الرقه» — 2017!"
    assert normalize("") == ""


@pytest.mark.parametrize("text, lang", [
    ("قال مسؤول في‌ الرقة والرقة بالرقة للرقة، إنَّ «داعش» ـــ هاجم ٢٠١٧", "ar"),
    ("هێزەکانی سووریای دیموکرات لە ڕەققەدا\u200cن و\u200d ڕەققە", "ckb"),
    ("Şervanên QSD li Reqayê û Reqa; Raqqa's al-Raqqa", "kmr"),
    ("\u200cسلام\u200c \u200d", None),
])
def test_index_terms_are_the_keys_of_tokens_in_order(text, lang):
    from crawler.text.analysis import index_terms, tokens
    assert index_terms(text, lang) == " ".join(" ".join(t.keys) for t in tokens(text, lang))


@pytest.mark.parametrize("text,lang,want", [
    ("Da'esh claimed it", "en", ["Da'esh", "claimed", "it"]),            # ʿayn as an apostrophe
    ("Da’esh, Daʿesh, Ba'ath", "en", ["Da’esh", "Daʿesh", "Ba'ath"]),
    ("Raqqa's council", "en", ["Raqqa", "s", "council"]),                # a suffix still splits
    ("Rakka'daki ve IŞİD'lilerin", "tr", ["Rakka", "daki", "ve", "IŞİD", "lilerin"]),
    ("Reqa'yê û DAİŞ'ê", "kmr", ["Reqa", "yê", "û", "DAİŞ", "ê"]),
])
def test_apostrophe_joins_a_word_unless_it_sets_off_a_suffix(text: str, lang: str, want: list):
    assert [t.surface for t in tokens(text, lang)] == want


def test_joined_words_are_one_key_for_query_index_and_fts():
    """Da'esh, Da’esh and Daʿesh are the key ``daesh`` on both sides (search and FTS agree)."""
    for spelling in ("Da'esh", "Da’esh", "Daʿesh", "Daesh"):
        assert query_terms(spelling) == ["daesh"]
        assert index_terms(f"fighters of {spelling} fled", "en").split() == [
            "fighters", "of", "daesh", "fled"]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61 remove_diacritics 0')")
    db.execute("INSERT INTO t(rowid, body) VALUES (1, ?)",
               (index_terms("Da’esh cells attacked a checkpoint", "en"),))
    (key,) = query_terms("Daesh")
    assert db.execute("SELECT rowid FROM t WHERE t MATCH ?", (f'"{key}"',)).fetchall() == [(1,)]


def test_the_word_pattern_is_its_per_character_definition():
    """Words are maximal runs of letters, digits, marks and joiners; the pattern matches runs
    of each kind for speed and must find exactly the words of the one-character definition."""
    import random
    import re

    from crawler.text import analysis
    reference = re.compile(rf"(?:[^\W_]|[{analysis._MARKS}\u200c\u200d])+")
    rng = random.Random(5)
    alphabet = "ab_ -'’êçı1٢ءابةی\u064b\u064e\u0670\u0300\u20d0\u200c\u200d\u0640"
    texts = ["".join(rng.choice(alphabet) for _ in range(120)) for _ in range(2000)]
    texts.append("هێزەکانی\u200cپێشمەرگە لە الرَّقَّة و Reqa'yê û Da'esh")
    for text in texts:
        assert analysis._WORD.findall(text) == reference.findall(text), text


def test_long_texts_fold_exactly_as_the_character_table_says():
    """Long texts are translated through a numpy lookup table: the same result as
    ``str.translate`` for every character — BMP, astral, lone surrogates — and length."""
    import importlib
    import random
    module = importlib.import_module("crawler.text.normalize")
    rng = random.Random(9)
    pool = [chr(c) for c in [*range(32, 0x2100), *range(0xFB00, 0xFFFE), 0x1F600, 0x10400,
                             0x20000]]
    for size in (10, 511, 512, 600, 5000):
        for _ in range(60):
            text = "".join(rng.choice(pool) for _ in range(size))
            assert module._translate(text) == text.translate(module._TABLE)
    broken = "الرقة\udcff " * 200                       # undecodable bytes kept as surrogates
    assert module._translate(broken) == broken.translate(module._TABLE)
    body = "هێزەکانی پێشمەرگە لە الرَّقَّة ٢٠٢٦ — Reqa'yê û IŞİD " * 100
    assert normalize(body) == " ".join(normalize(w) for w in body.split(" "))
