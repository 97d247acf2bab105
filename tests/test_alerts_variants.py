"""Spelling variants over the labelled case set (tests/data/alerts_cases): the recall and
false-hit goals as a behaviour check, and the variant rules one by one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.alerts import Matcher, Rule, load_rules
from crawler.alerts.variants import alternatives, blocked, skeleton
from crawler.text import query_terms

CASES = Path(__file__).parent / "data" / "alerts_cases"
# misses accepted by design: ڕەقە is also "is hard" (collisions.txt), and an apostrophe splits
# Da'esh into two words
ACCEPTED_MISSES = {("raqqa", "ڕەقە"), ("raqqa", "رەقە"), ("isis", "Da'esh")}
# the one homograph a keyword matcher cannot tell: الرقة "delicacy"
ACCEPTED_FALSE = {"تعامل الطبيب مع المرضى بكثير من الرقة والصبر."}


def _cases() -> list[dict]:
    return [json.loads(line) for line in (CASES / "cases.jsonl").read_text("utf-8").splitlines()]


def test_labelled_set_recall_and_false_hits():
    cases = _cases()
    assert len(cases) >= 600 and {c["lang"] for c in cases} == {"ar", "ckb", "kmr", "en", "tr"}
    matcher = Matcher(load_rules(CASES / "alerts.yaml"))
    missed, false = [], []
    for case in cases:
        fired = {m.rule.name for m in matcher.match("", case["text"], language=case["lang"])}
        if case["expect"] and case["rule"] not in fired:
            missed.append(case)
        if not case["expect"] and case["rule"] in fired:
            false.append(case)
    positives = sum(c["expect"] for c in cases)
    assert {(c["rule"], c["form"]) for c in missed} <= ACCEPTED_MISSES, missed
    assert {c["text"] for c in false} <= ACCEPTED_FALSE, false
    assert 1 - len(missed) / positives >= 0.98
    assert len(false) / (len(cases) - positives) <= 0.005


@pytest.mark.parametrize("a,b", [("Raqqa", "Raqa"), ("Raqqah", "Rakka"), ("Mazloum", "Mazloom"),
                                 ("Mazloum", "Mazlum"), ("Daesh", "DAEŞ"), ("Daech", "Daesh"),
                                 ("ڕەققە", "رەقە"), ("مەزڵووم", "مەزلوم")])
def test_spellings_share_a_skeleton(a: str, b: str):
    (ka,), (kb,) = query_terms(a), query_terms(b)
    assert skeleton(ka) == skeleton(kb)


def test_variants_that_are_other_words_are_blocked():
    assert "رهقه" in blocked(tuple(query_terms("ڕەققە")))        # ڕەقە "is hard"
    assert "الجنه" in blocked(tuple(query_terms("اللجنة")))       # الجنة "paradise"
    assert alternatives("Sham", ("sham",)) == (("sham",),)          # skeleton 'sam' too short
    m = Matcher([Rule(name="committee", any=(("اللجنة",),)),
                 Rule(name="raqqa", any=(("ڕەققە",),))])

    def fired(text: str, lang: str) -> set[str]:
        return {x.rule.name for x in m.match("", text, language=lang)}

    assert fired("اجتمعت اللجنة أمس", "ar") == {"committee"}
    assert fired("اجتمعت اللجنه أمس", "ar") == {"committee"}
    assert fired("وعدهم بالجنة", "ar") == set()
    assert fired("زۆر ڕەقە", "ckb") == set()
    assert fired("لە ڕەقەدا کۆبوونەوە کرا", "ckb") == {"raqqa"}    # other variants still match
