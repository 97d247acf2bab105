"""Explain: which term matched which span through which spelling, or what stopped the rule."""
from __future__ import annotations

from crawler.alerts import Rule
from crawler.alerts.explain import explain


def test_explain_names_term_span_and_spelling():
    rule = Rule(name="raqqa", any=(("الرقة", "ڕەققە", "Raqqa"),))
    e = explain(rule, "", "Shelling near Raqqah and al-Raqqa", language="en")
    assert e.fired
    (variant, written) = e.matches
    assert (variant.term, variant.surface, variant.start, variant.end) == ("Raqqa", "Raqqah", 14, 20)
    assert variant.how[0].startswith("variant: ") and "'raka'" in variant.how[0]
    assert written.how == ("as written",)
    e = explain(rule, "", "بالرقة", language="ar")
    assert e.matches[0].how[0].startswith("affix: ")


def test_explain_names_the_veto_the_missing_group_and_the_filter():
    rule = Rule(name="raqqa-attacks", any=(("الرقة",),), all=(("هجوم", "قصف"),),
                none=(("برقة",),), languages=("ar",))
    vetoed = explain(rule, "هجوم في الرقة", "وفي برقة أيضاً", language="ar")
    assert not vetoed.fired and vetoed.vetoed_by == ["برقة"]
    assert "vetoed by 'none' term 'برقة'" in "\n".join(vetoed.lines())
    missing = explain(rule, "", "الرقة اليوم", language="ar")
    assert not missing.fired and missing.missing == ["'all' group ['هجوم', 'قصف']"]
    filtered = explain(rule, "", "هجوم في الرقة", language="ckb")
    assert not filtered.fired and "language 'ckb'" in filtered.filtered
    assert filtered.to_json()["rule"] == "raqqa-attacks"


def test_explain_says_how_context_read_each_look_alike():
    """An analyst sees why زۆر ڕەقە did not fire and بە ڕەقە did, and which الرقة was the city."""
    rule = Rule(name="raqqa", any=(("ڕەققە", "الرقة"),))
    e = explain(rule, "", "ئەم بڕیارە زۆر ڕەقە.", language="ckb")
    assert not e.fired
    assert e.readings == ["'ڕەققە': 'ڕەقە' (body 15-19) read as the common word (the word "
                          "before it is a 'word after' cue)"]
    assert e.readings[0] in "\n".join(e.lines()) and e.to_json()["readings"] == e.readings
    e = explain(rule, "", "ئاماژەیان بە ڕەقە کرد", language="ckb")
    assert e.fired and e.readings == ["'ڕەققە': 'ڕەقە' (body 13-17) read as the name (the word "
                                      "before it is a 'name after' cue)"]
    e = explain(rule, "", "عزفت بمنتهى الرقة في الرقة", language="ar")
    assert e.fired and [r.split(" read as ")[1] for r in e.readings] == [
        "the common word (the word before it is a 'word after' cue)",
        "the name (no cue of the common word)"]
