"""Legal but doubtful alert rules, for ``chavder alerts check``: recipients that are
placeholders (mail to them goes nowhere) and rules, or spellings, that can never fire. Warnings,
not errors: the file loads and the service runs; each is one ``file:line: warning — fix`` line.

(A spelling that is itself a ``none`` term, or that normalises to nothing, is already an error
of :mod:`crawler.alerts.rules`.)
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from crawler.alerts.rules import PLAIN, Recipient, Rule, _fold

#: Domains reserved for documentation and testing (RFC 2606, RFC 6761): nobody receives mail there.
PLACEHOLDER_DOMAINS = ("example.org", "example.com", "example.net", "example", "test",
                       "invalid", "localhost", "localdomain")


def placeholder_problem(rec: Recipient) -> str | None:
    """Why an e-mail recipient is a placeholder, or None for a real-looking address."""
    if rec.kind != "email" or "@" not in rec.address:
        return None
    domain = rec.address.rsplit("@", 1)[1].strip().lower().rstrip(".")
    if domain.startswith("[") or domain.replace(".", "").isdigit():
        return "is an address literal, not a mailbox anyone reads"
    for reserved in PLACEHOLDER_DOMAINS:
        if domain == reserved or domain.endswith("." + reserved):
            if reserved in ("localhost", "localdomain"):
                return "is a local mailbox of the server, which nobody on the desk reads"
            return f"is a placeholder ({reserved} is reserved: no mail is delivered there)"
    return None


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(words[i:i + n] == part for i in range(len(words) - n + 1))


def _vetoed_by(rule: Rule, term: str) -> str | None:
    """The plain ``none`` term that every match of ``term`` contains (so it always vetoes)."""
    words = _fold(term)
    for group in rule.none:
        for veto in group:
            if rule.term_options(veto) == PLAIN and _contains(words, _fold(veto)):
                return veto
    return None


def rule_warnings(path: str | Path, rules: Iterable[Rule],
                  source_languages: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    """Warnings for ``rules`` loaded from ``path``. ``source_languages``: each source id's
    declared languages (from sources.yaml; empty = detected), when there is a source list."""
    out: list[str] = []
    for rule in rules:
        where = f"{path}:{rule.line}: rule '{rule.name}'"
        for rec in rule.recipients:
            problem = placeholder_problem(rec)
            if problem:
                out.append(f"{path}:{rec.line or rule.line}: rule '{rule.name}': recipient "
                           f"{rec.address} {problem} — write the address that should get "
                           "these alerts")
        out += _veto_warnings(where, rule)
        if source_languages is not None:
            out += _language_warnings(where, rule, source_languages)
    return out


def _veto_warnings(where: str, rule: Rule) -> list[str]:
    out = []
    dead_groups = {"any": 0, "all": 0}
    for key, groups in (("any", rule.any), ("all", rule.all)):
        for group in groups:
            vetoes = {term: _vetoed_by(rule, term) for term in group}
            for term, veto in vetoes.items():
                if veto:
                    out.append(f"{where}: '{key}' term '{term}' contains the 'none' term "
                               f"'{veto}' — every article it matches is vetoed; remove one")
            if all(vetoes.values()):
                dead_groups[key] += 1
    if (rule.any and dead_groups["any"] == len(rule.any)) or dead_groups["all"]:
        out.append(f"{where}: can never fire — its 'none' terms veto every match; remove "
                   "them from 'none' or loosen the rule")
    return out


def _language_warnings(where: str, rule: Rule,
                       source_languages: Mapping[str, tuple[str, ...]]) -> list[str]:
    if not rule.languages:
        return []
    ids = rule.sources or tuple(source_languages)
    declared = [source_languages.get(sid, ()) for sid in ids]
    if not declared or not all(declared):   # a source without declared languages: detected
        return []
    known = sorted({lang for langs in declared for lang in langs})
    whose = "its sources" if rule.sources else "sources.yaml"
    return [f"{where}: no source in {whose} declares language '{lang}' — the rule can never "
            f"match it; declared: {', '.join(known)}"
            for lang in rule.languages if lang not in known]
