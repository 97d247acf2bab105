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
