"""alerts.yaml: the shipped example rules, and validation messages a user can act on."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.alerts import Matcher, load_rules
from crawler.yamlconf import ConfigError

REPO = Path(__file__).resolve().parent.parent


def _load(tmp_path: Path, text: str, **kw):
    path = tmp_path / "alerts.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path, **kw)


def _problems(tmp_path: Path, text: str, **kw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text, **kw)
    return info.value.problems


def test_shipped_rules_load_and_catch_raqqa_and_isis_in_every_language():
    rules = {r.name: r for r in load_rules(REPO / "alerts.yaml")}
    assert {"raqqa", "isis"} <= set(rules)
    for rule in rules.values():
        assert rule.recipients, rule.name
        assert all(r.address.endswith("@example.org") for r in rule.recipients if r.kind == "email")
    m = Matcher(rules.values())

    def fired(title: str, lang: str) -> set[str]:
        return {x.rule.name for x in m.match(title, "", language=lang, source="any-outlet")}

    assert {"raqqa", "isis"} <= fired("روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة", "ar")
    assert "isis" in fired("قاتل مسلحو تنظيم الدولة الإسلامية حتى الرمق الأخير", "ar")
    assert {"raqqa", "isis"} <= fired("چەکدارانی داعش لە ڕەققە کشانەوە", "ckb")
    assert {"raqqa", "isis"} <= fired("DAIŞ li Reqa êrişek kir", "kmr")
    assert {"raqqa", "isis"} <= fired("Islamic State cells regroup near Raqqa", "en")
    assert fired("Iraqi crisis talks resume in Baghdad", "en") == set()
    assert fired("إقليم برقة يطالب بتشديد الرقابة", "ar") == set()


def test_recipients_defaults_and_time_zones(tmp_path: Path):
    rules = _load(tmp_path, """\
defaults:
  timezone: Asia/Baghdad
  digest_time: "07:00"
rules:
  - name: raqqa
    any:
      - [الرقة, Raqqa]
      - Reqa
    recipients:
      - desk@example.org
      - email: berlin@example.org
        timezone: Europe/Berlin
        digest_time: 08:30
      - apprise:tgram://123456:SECRETTOKEN/-1001
    mode: both
""")
    (rule,) = rules
    assert rule.any == (("الرقة", "Raqqa"), ("Reqa",))
    assert rule.instant and rule.digest
    desk, berlin, telegram = rule.recipients
    assert (desk.address, desk.timezone, desk.digest_time) == ("desk@example.org", "Asia/Baghdad",
                                                                "07:00")
    # an unquoted 08:30 is a YAML 1.1 sexagesimal number (510); it still means half past eight
    assert (berlin.timezone, berlin.digest_time) == ("Europe/Berlin", "08:30")
    assert telegram.kind == "apprise" and telegram.address == "tgram://123456:SECRETTOKEN/-1001"
    assert "SECRETTOKEN" not in repr(rule)
    assert hash(rule) == hash(rules[0])        # frozen: usable as a ledger key


def test_every_problem_is_reported_with_its_line_and_a_fix(tmp_path: Path):
    text = """\
rules:
  - name: raqqa
    any: [[الرقة, Raqqa]]
    recipients: [desk@example.org]
  - name: raqqa
    any: [Raqqa]
    recipients: [desk@example.org]
  - name: no-terms
    recipients: [desk@example.org]
  - name: bad-bits
    any: [Raqqa, "  ", "!!!"]
    none: [Raqqa]
    mode: hourly
    timezone: Mars/Olympus
    digest_time: "25:00"
    languages: [ar, ku, Arabic]
    sources: [Rudaw AR]
    colour: red
    recipients:
      - not-an-address
      - "desk@example.org\\r\\nBcc: victim@example.org"
      - {email: a@example.org, apprise: "json://x"}
      - apprise:no-url-here
  - name: nobody
    any: [Raqqa]
"""
    problems = _problems(tmp_path, text)
    path = str(tmp_path / "alerts.yaml")
    lines = text.splitlines()
    expected = {
        "duplicate rule name 'raqqa'": "name: raqqa",
        "missing 'any'": "name: no-terms",
        "empty or non-text term": "any: [Raqqa",
        "no letters or digits": "any: [Raqqa",
        "both in 'any' and in 'none'": "any: [Raqqa",
        "unknown mode 'hourly'": "mode: hourly",
        "unknown time zone 'Mars/Olympus'": "timezone: Mars",
        "digest_time '25:00'": "digest_time",
        "'ku' is ambiguous": "languages",
        "'Arabic' is not a lower-case ISO code": "languages",
        "'Rudaw AR' is not a source id": "sources",
        "unknown rule field 'colour'": "colour",
        "'not-an-address' is not an e-mail address": "not-an-address",
        "contains control characters": "Bcc",
        "exactly one of 'email:' or 'apprise:'": "apprise: \"json",
        "Apprise recipient is not a URL": "apprise:no-url",
        "rule 'nobody': no recipients": "name: nobody",
    }
    for needle, line_text in expected.items():
        found = [p for p in problems if needle in p]
        assert found, f"no problem mentions {needle!r}:\n" + "\n".join(problems)
        m = re.match(rf"^{re.escape(path)}:(\d+): ", found[0])
        assert m, found[0]
        assert line_text in lines[int(m[1]) - 1], (found[0], lines[int(m[1]) - 1])
        assert " — " in found[0], f"no fix suggested: {found[0]}"
    assert len(problems) == len(expected)


def test_known_sources_catch_misspelt_source_filters(tmp_path: Path):
    text = "rules:\n  - name: r\n    any: [Raqqa]\n    sources: [rudaw-ar, rudaw-arr]\n" \
           "    recipients: [a@example.org]\n"
    assert _load(tmp_path, text)[0].sources == ("rudaw-ar", "rudaw-arr")
    (problem,) = _problems(tmp_path, text, known_sources=["rudaw-ar", "rok-online"])
    assert ":4: " in problem and "unknown source 'rudaw-arr'" in problem


def test_syntax_errors_and_missing_top_level_key(tmp_path: Path):
    (problem,) = _problems(tmp_path, "rules:\n  - name: r\n    any: [Raqqa\n")
    assert "YAML syntax error" in problem
    (problem,) = _problems(tmp_path, "- name: r\n")
    assert "top-level 'rules:'" in problem


def test_disabled_rules_need_no_recipients_and_are_skipped(tmp_path: Path):
    text = "rules:\n  - name: draft\n    any: [Raqqa]\n    enabled: false\n"
    assert _load(tmp_path, text) == []
    (rule,) = _load(tmp_path, text, only_enabled=False)
    assert rule.name == "draft" and not rule.enabled


def test_term_options_parse_and_change_matching(tmp_path: Path):
    """case: sensitive tells the acronym from the goddess; exact and whole_word drop variants
    and affixes; spellings without options keep them."""
    rules = _load(tmp_path, """\
rules:
  - name: isis
    recipients: [desk@example.org]
    any:
      - [{term: ISIS, case: sensitive}, داعش]
      - {term: Islamic State, case: sensitive}
  - name: raqqa-exact
    recipients: [desk@example.org]
    any: [{term: Raqqa, exact: true}]
  - name: raqqa-word
    recipients: [desk@example.org]
    any: [[{term: الرقة, whole_word: true}, {term: Reqa, whole_word: true}]]
""")
    isis, exact, word = rules
    assert isis.term_options("ISIS").case_sensitive and not isis.term_options("داعش").checked
    assert exact.term_options("Raqqa").exact
    m = Matcher(rules)

    def fired(text: str, lang: str) -> set[str]:
        return {x.rule.name for x in m.match("", text, language=lang)}

    assert "isis" in fired("ISIS claimed the attack.", "en")
    assert "isis" in fired("The ISIS-linked cell was dismantled.", "en")
    assert "isis" not in fired("The temple of Isis reopened.", "en")
    assert "isis" not in fired("isis was trending.", "en")
    assert "isis" in fired("ISLAMIC STATE CLAIMS ATTACK", "en")
    assert "isis" not in fired("He called Pakistan an Islamic state.", "en")
    assert "isis" in fired("هجوم لداعش", "ar")                       # no options: clitics
    assert "raqqa-exact" in fired("Raqqa council met.", "en")
    assert "raqqa-exact" not in fired("Raqqah council met.", "en")      # no variant
    assert "raqqa-word" in fired("وصلوا إلى الرقة", "ar")
    assert "raqqa-word" not in fired("وصلوا بالرقة", "ar")              # no clitic
    assert "raqqa-word" in fired("Li Reqqa civîn hat kirin.", "kmr")    # variant kept
    assert "raqqa-word" not in fired("Li Reqayê civîn hat kirin.", "kmr")   # no suffix


def test_term_option_mistakes_are_reported_with_lines(tmp_path: Path):
    problems = _problems(tmp_path, """\
rules:
  - name: bad
    recipients: [desk@example.org]
    any:
      - {term: ISIS, case: upper}
      - {term: Raqqa, exact: yes please}
      - {case: sensitive}
      - {term: Reqa, fuzzy: true}
      - [{term: Daesh, case: sensitive}, {term: Daesh, exact: true}]
""")
    text = "\n".join(problems)
    assert re.search(r"alerts\.yaml:5: rule 'bad': case 'upper' is not 'sensitive'", text)
    assert re.search(r"alerts\.yaml:6: rule 'bad': 'exact' must be true or false", text)
    assert re.search(r"alerts\.yaml:7: rule 'bad': a term written as a mapping needs 'term:'",
                     text)
    assert re.search(r"alerts\.yaml:8: rule 'bad': unknown term option 'fuzzy' — valid: term, "
                     r"case, exact, whole_word", text)
    assert re.search(r"alerts\.yaml:9: rule 'bad': term 'Daesh' is written with other options "
                     r"on line 9", text)
