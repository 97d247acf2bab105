"""Keyword alert rules: ``alerts.yaml`` → validated, hashable :class:`Rule` records.

Rules are written by editors, not programmers, so every mistake is reported as
``file:line: problem — fix`` and all mistakes of a file are reported at once (same style as
``crawler/config.py``). Rules are frozen dataclasses of tuples so the alert ledger can use them
(or their names) as dictionary keys.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from crawler.alerts.recipient_keys import apprise_key
from crawler.alerts.surge import SurgeSpec
from crawler.text import query_terms
from crawler.yamlconf import ConfigError, Located, load_located, unwrap

MODES = ("instant", "digest", "both", "surge")
DEFAULT_DIGEST_TIME = "07:00"
DEFAULT_TIMEZONE = "UTC"
MAX_TERM_LENGTH = 200
MAX_NAME_LENGTH = 80

_SOURCE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Deliberately simple: one '@', no spaces/control characters/angle brackets, a dotted domain
# (or localhost). Anything this accepts is also a valid SMTP envelope address.
_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@([^@\s<>()\[\],;:\"\\]{1,253})$")
_DOMAIN_LABEL_RE = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$", re.UNICODE)

RULE_FIELDS = ("name", "any", "all", "none", "languages", "sources", "recipients", "mode",
               "digest_time", "timezone", "enabled", "notes", "surge")
SURGE_FIELDS = ("outlets", "minutes", "factor")
DEFAULT_FIELDS = ("languages", "sources", "recipients", "mode", "digest_time", "timezone")
RECIPIENT_FIELDS = ("email", "apprise", "name", "timezone", "digest_time")
TERM_FIELDS = ("term", "case", "exact", "whole_word")


@dataclass(frozen=True)
class TermOptions:
    """How one spelling matches. Default: case-insensitive, with spelling variants and with
    clitics/suffixes (crawler/alerts/variants.py). ``case_sensitive``: capitals must be where
    the term has them (ISIS, not the goddess Isis); ``whole_word``: no clitics or suffixes
    (the word as written, spelling variants allowed); ``exact``: neither variants nor affixes
    (typing differences such as tashkeel, hamza forms or ی/ي still fold)."""

    case_sensitive: bool = False
    exact: bool = False
    whole_word: bool = False

    @property
    def checked(self) -> bool:
        """Whether matches must be verified against the article's characters."""
        return self.case_sensitive or self.exact or self.whole_word


PLAIN = TermOptions()


@dataclass(frozen=True)
class Recipient:
    """Where an alert goes: an e-mail address, or an Apprise URL (Telegram, Slack, Matrix, …)."""

    address: str                    # e-mail address, or Apprise URL without 'apprise:'
    kind: str = "email"             # email | apprise
    timezone: str = DEFAULT_TIMEZONE
    digest_time: str = DEFAULT_DIGEST_TIME
    name: str | None = None         # display name for the To: header
    line: int = field(default=0, compare=False)   # where alerts.yaml lists it

    @property
    def key(self) -> str:
        """Stable identity used for Message-IDs, the ledger and logs: the e-mail address, or
        for Apprise ``apprise:<scheme>://…#<hash>`` — its URL carries tokens and is kept out
        of the store, logs and messages (see crawler/alerts/recipient_keys.py)."""
        return self.address if self.kind == "email" else apprise_key(self.address)

    def __repr__(self) -> str:    # Apprise URLs carry bot tokens: never print them
        return f"Recipient({self.key!r}, kind={self.kind!r}, timezone={self.timezone!r})"


@dataclass(frozen=True)
class Rule:
    """One alert rule. ``any``/``all``/``none`` are tuples of *term groups*: each group is one
    concept written as one or more equivalent spellings (possibly multi-word phrases).

    Fires when ≥ 1 ``any`` group, every ``all`` group and no ``none`` group occurs in the
    article, and the article's language/source pass the ``languages``/``sources`` filters
    (empty = no filter).
    """

    name: str
    any: tuple[tuple[str, ...], ...]
    all: tuple[tuple[str, ...], ...] = ()
    none: tuple[tuple[str, ...], ...] = ()
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    mode: str = "instant"
    digest_time: str = DEFAULT_DIGEST_TIME
    timezone: str = DEFAULT_TIMEZONE
    enabled: bool = True
    options: tuple[tuple[str, TermOptions], ...] = ()      # terms with non-default options
    surge: SurgeSpec | None = None                          # mode: surge
    line: int = field(default=0, compare=False)

    def term_options(self, term: str) -> TermOptions:
        """The options of one of this rule's spellings."""
        for t, opts in self.options:
            if t == term:
                return opts
        return PLAIN

    @property
    def instant(self) -> bool:
        """Alerts go out as matches are found (a surge rule's once its story surges)."""
        return self.mode in ("instant", "both", "surge")

    @property
    def digest(self) -> bool:
        return self.mode in ("digest", "both")


@lru_cache(maxsize=65536)
def _has_control(text: str) -> bool:
    """Control/format characters other than the joiners Sorani and Persian spelling needs.
    (Cached: thousands of rules repeat the same spellings and recipients.)"""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in "\u200c\u200d"
               for ch in text)


def email_problem(address: str) -> str | None:
    """Why ``address`` is not a usable e-mail address, or None."""
    if _has_control(address):
        return "contains control characters"
    m = _EMAIL_RE.match(address)
    if not m:
        return "is not an e-mail address of the form name@example.org"
    domain = m.group(1)
    labels = domain.split(".")
    if len(labels) < 2 and domain != "localhost":
        return "has no dot in its domain"
    if not all(_DOMAIN_LABEL_RE.match(label) for label in labels):
        return "has an invalid domain"
    return None


def apprise_problem(url: str) -> str | None:
    """Why ``url`` (after 'apprise:') cannot be an Apprise target URL, or None."""
    if _has_control(url) or any(ch.isspace() for ch in url):
        return "contains spaces or control characters"
    scheme = urlsplit(url).scheme
    if not scheme or "://" not in url:
        return "is not a URL such as tgram://bottoken/ChatID or slack://…"
    return None


class _Checker:
    """Collects problems for one file so that all of them are reported together."""

    def __init__(self, path: Path):
        self.path = path
        self.problems: list[tuple[int, str]] = []

    def err(self, line: int, message: str) -> None:
        self.problems.append((line, f"{self.path}:{line}: {message}"))

    def sorted(self) -> list[str]:
        """Problems in file order, so the list reads top to bottom like the file."""
        return [message for _, message in sorted(self.problems, key=lambda p: p[0])]


def _as_list(loc: Located) -> list[Located]:
    """A scalar where a list is expected counts as a one-item list (``languages: ar``)."""
    return loc.value if isinstance(loc.value, list) else [loc]


def _flag(value: Located, rule: str, name: str, chk: _Checker) -> bool:
    flag = value.value
    if not isinstance(flag, bool):
        chk.err(value.line, f"rule '{rule}': '{name}' must be true or false — write "
                f"{name}: true")
        return False
    return flag


def _term_options(sp: Located, rule: str, chk: _Checker) -> tuple[Located, TermOptions]:
    """A spelling written as a mapping {term: ISIS, case: sensitive, exact: …, whole_word: …}."""
    spec: dict[str, Located] = sp.value
    for key, sub in spec.items():
        if key not in TERM_FIELDS:
            chk.err(sub.line, f"rule '{rule}': unknown term option '{key}' — valid: "
                    + ", ".join(TERM_FIELDS))
    if "term" not in spec:
        chk.err(sp.line, f"rule '{rule}': a term written as a mapping needs 'term:' — e.g. "
                "{term: ISIS, case: sensitive}")
        return Located(None, sp.line), PLAIN
    case = False
    if "case" in spec:
        value = unwrap(spec["case"])
        if value not in ("sensitive", "insensitive"):
            chk.err(spec["case"].line, f"rule '{rule}': case {value!r} is not 'sensitive' or "
                    "'insensitive' — write case: sensitive for acronyms such as ISIS")
        case = value == "sensitive"
    exact = _flag(spec["exact"], rule, "exact", chk) if "exact" in spec else False
    whole = _flag(spec["whole_word"], rule, "whole_word", chk) if "whole_word" in spec else False
    return spec["term"], TermOptions(case_sensitive=case, exact=exact, whole_word=whole)


def _surge(loc: Located | None, rule: str, chk: _Checker) -> SurgeSpec:
    """``surge: {outlets: 3, minutes: 60, factor: 4}`` (all optional)."""
    if loc is None:
        return SurgeSpec()
    if not isinstance(loc.value, dict):
        chk.err(loc.line, f"rule '{rule}': 'surge' must be a mapping — e.g. "
                "surge: {outlets: 3, minutes: 60}")
        return SurgeSpec()
    values: dict[str, Any] = {}
    for key, sub in loc.value.items():
        if key not in SURGE_FIELDS:
            chk.err(sub.line, f"rule '{rule}': unknown surge option '{key}' — valid: "
                    + ", ".join(SURGE_FIELDS))
            continue
        value = sub.value
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and value > 0 and (key == "factor" or float(value).is_integer()))
        if key == "outlets" and value == 0 and not isinstance(value, bool):
            ok = True
        if not ok:
            chk.err(sub.line, f"rule '{rule}': surge {key} {value!r} must be a positive "
                    + ("number, e.g. factor: 4" if key == "factor" else
                       f"whole number, e.g. {key}: {3 if key == 'outlets' else 60}"))
            continue
        values[key] = float(value) if key == "factor" else int(value)
    spec = SurgeSpec(**values)
    if spec.outlets == 0 and spec.factor is None:
        chk.err(loc.line, f"rule '{rule}': surge with outlets: 0 needs a factor — or give "
                "outlets ≥ 2")
    return spec


def _term_groups(loc: Located, rule: str, key: str, chk: _Checker,
                 options: dict[str, tuple[TermOptions, int]]) -> tuple[tuple[str, ...], ...]:
    """The term groups of ``key``; spellings with options are recorded in ``options``."""
    groups: list[tuple[str, ...]] = []
    if not isinstance(loc.value, list):
        chk.err(loc.line, f"rule '{rule}': '{key}' must be a list of terms; each item is a term "
                "or a [list, of, spellings] of one concept")
        return ()
    for item in loc.value:
        spellings = item.value if isinstance(item.value, list) else [item]
        group: list[str] = []
        for sp in spellings:
            opts = PLAIN
            if isinstance(sp.value, dict):
                sp, opts = _term_options(sp, rule, chk)
            term = sp.value
            if isinstance(term, (int, float)) and not isinstance(term, bool):
                term = str(term)
            if not isinstance(term, str) or not term.strip():
                chk.err(sp.line, f"rule '{rule}': empty or non-text term in '{key}' — write the "
                        "word or phrase, quoted if it contains ':' or '#'")
                continue
            term = " ".join(term.split())
            if _has_control(term):
                chk.err(sp.line, f"rule '{rule}': term {term!r} contains control characters — "
                        "retype it")
                continue
            if len(term) > MAX_TERM_LENGTH:
                chk.err(sp.line, f"rule '{rule}': term is longer than {MAX_TERM_LENGTH} "
                        "characters — alert terms are words or short phrases")
                continue
            if not _fold(term):
                chk.err(sp.line, f"rule '{rule}': term {term!r} has no letters or digits to "
                        "match — remove it")
                continue
            if opts != PLAIN or term in options:
                seen = options.get(term)
                if seen is not None and seen[0] != opts:
                    chk.err(sp.line, f"rule '{rule}': term {term!r} is written with other "
                            f"options on line {seen[1]} — give one spelling one set of options")
                    continue
                options[term] = (opts, sp.line)
            if term not in group:
                group.append(term)
        if group:
            groups.append(tuple(group))
    return tuple(groups)


def _time_zone(value: Any, line: int, what: str, zones: set[str], chk: _Checker) -> str | None:
    if not isinstance(value, str) or value not in zones:
        chk.err(line, f"{what}: unknown time zone {value!r} — use an IANA name such as "
                "Asia/Baghdad, Asia/Damascus, Europe/Berlin or UTC")
        return None
    return value


def _digest_time(value: Any, line: int, what: str, chk: _Checker) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 07:00 as the sexagesimal number 420.
        value = f"{value // 60:02d}:{value % 60:02d}" if 0 <= value < 24 * 60 else str(value)
    m = _TIME_RE.match(value) if isinstance(value, str) else None
    if not m:
        chk.err(line, f"{what}: digest_time {value!r} is not a time — write it quoted as "
                "\"HH:MM\", e.g. \"07:00\"")
        return None
    return f"{int(m[1]):02d}:{m[2]}"


def _recipients(loc: Located, rule: str, tz: str, dt: str, zones: set[str],
                chk: _Checker) -> tuple[Recipient, ...]:
    out: list[Recipient] = []
    keys: set[str] = set()              # a set: rules may list hundreds of recipients
    for item in _as_list(loc):
        value = item.value
        name: str | None = None
        r_tz, r_dt = tz, dt
        if isinstance(value, dict):
            for key, sub in value.items():
                if key not in RECIPIENT_FIELDS:
                    chk.err(sub.line, f"rule '{rule}': unknown recipient field '{key}' — valid: "
                            + ", ".join(RECIPIENT_FIELDS))
            if ("email" in value) == ("apprise" in value):
                chk.err(item.line, f"rule '{rule}': a recipient mapping needs exactly one of "
                        "'email:' or 'apprise:' — split it into two recipients")
                continue
            if "timezone" in value:
                r_tz = _time_zone(unwrap(value["timezone"]), value["timezone"].line,
                                  f"rule '{rule}'", zones, chk) or tz
            if "digest_time" in value:
                r_dt = _digest_time(unwrap(value["digest_time"]), value["digest_time"].line,
                                    f"rule '{rule}'", chk) or dt
            if "name" in value:
                name = str(unwrap(value["name"]))
                if _has_control(name) or len(name) > 100:
                    chk.err(value["name"].line, f"rule '{rule}': recipient name must be one "
                            "short line — shorten it")
                    name = None
            if "email" in value:
                raw, kind, line = unwrap(value["email"]), "email", value["email"].line
            else:
                raw, kind, line = unwrap(value["apprise"]), "apprise", value["apprise"].line
        elif isinstance(value, str):
            raw, line = value.strip(), item.line
            kind = "apprise" if raw.startswith("apprise:") else "email"
            if kind == "apprise":
                raw = raw[len("apprise:"):]
        else:
            chk.err(item.line, f"rule '{rule}': unreadable recipient — use an e-mail address, an "
                    "'apprise:…' URL or a mapping {email: …, timezone: …, digest_time: …}")
            continue
        if not isinstance(raw, str):
            chk.err(line, f"rule '{rule}': recipient must be text — write an address such "
                    "as desk@example.org")
            continue
        raw = raw.strip()
        if kind == "email":
            problem = email_problem(raw)
            if problem:
                chk.err(line, f"rule '{rule}': recipient {raw!r} {problem} — write a plain "
                        "address such as desk@example.org")
                continue
        else:
            problem = apprise_problem(raw)
            if problem:   # do not echo the URL: it usually contains a secret token
                chk.err(line, f"rule '{rule}': Apprise recipient {problem} — write "
                        "'apprise:' followed by an Apprise URL")
                continue
        rec = Recipient(address=raw, kind=kind, timezone=r_tz, digest_time=r_dt, name=name,
                        line=line)
        if rec.key in keys:
            chk.err(line, f"rule '{rule}': recipient listed twice — keep one")
            continue
        keys.add(rec.key)
        out.append(rec)
    return tuple(out)


def _codes(loc: Located, rule: str, key: str, chk: _Checker,
           known_sources: set[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for item in _as_list(loc):
        value = item.value
        if not isinstance(value, str):
            chk.err(item.line, f"rule '{rule}': '{key}' entries must be text — write a list "
                    "of codes")
            continue
        value = value.strip()
        if key == "languages":
            if value == "ku":
                chk.err(item.line, f"rule '{rule}': language 'ku' is ambiguous — use 'ckb' "
                        "(Sorani) or 'kmr' (Kurmanji)")
                continue
            if not _LANG_RE.match(value):
                chk.err(item.line, f"rule '{rule}': language {value!r} is not a lower-case "
                        "ISO code — use e.g. ar, ckb, kmr, en, fa, tr")
                continue
        else:
            if not _SOURCE_ID_RE.match(value):
                chk.err(item.line, f"rule '{rule}': source {value!r} is not a source id — use "
                        "the 'id' of an entry in sources.yaml (e.g. rudaw-ar)")
                continue
            if known_sources is not None and value not in known_sources:
                chk.err(item.line, f"rule '{rule}': unknown source '{value}' — it is not in "
                        "sources.yaml; check the spelling")
                continue
        if value not in out:
            out.append(value)
    return tuple(out)


@lru_cache(maxsize=65536)
def _fold(term: str) -> tuple[str, ...]:
    """A term's normalised words; cached, since large rule files repeat the same spellings."""
    return tuple(query_terms(term, None))


def parse_rules(doc: Any, path: str | Path, *,
                known_sources: Iterable[str] | None = None) -> list[Rule]:
    """Validate an already-parsed (Located) document; see :func:`load_rules`."""
    path = Path(path)
    chk = _Checker(path)
    if doc is None:
        return []
    if not isinstance(doc, dict) or "rules" not in doc:
        raise ConfigError([f"{path}:1: expected a top-level 'rules:' list — see the shipped "
                           "alerts.yaml for the format"])
    for key, loc in doc.items():
        if key not in ("rules", "defaults"):
            chk.err(loc.line, f"unknown top-level key '{key}' — use 'defaults:' and 'rules:'")
    zones = available_timezones()
    known = set(known_sources) if known_sources is not None else None

    defaults: dict[str, Located] = {}
    if "defaults" in doc:
        d = doc["defaults"]
        if not isinstance(d.value, dict):
            chk.err(d.line, "'defaults' must be a mapping — e.g. {mode: instant, timezone: UTC}")
        else:
            for key, loc in d.value.items():
                if key not in DEFAULT_FIELDS:
                    chk.err(loc.line, f"unknown default '{key}' — valid: "
                            + ", ".join(DEFAULT_FIELDS))
                else:
                    defaults[key] = loc

    entries = doc["rules"]
    if entries.value is None:
        entries = Located([], entries.line)
    if not isinstance(entries.value, list):
        raise ConfigError([f"{path}:{entries.line}: 'rules' must be a list of entries starting "
                           "with '- name: …'"])
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for item in entries.value:
        entry = item.value
        if not isinstance(entry, dict):
            chk.err(item.line, "each rule must be a mapping — start it with '- name: …' and "
                    "give 'any: […]'")
            continue
        for key, loc in entry.items():
            if key not in RULE_FIELDS:
                chk.err(loc.line, f"unknown rule field '{key}' — valid fields: "
                        + ", ".join(RULE_FIELDS))
        merged = {**defaults, **entry}

        name = unwrap(entry["name"]) if "name" in entry else None
        name_line = entry["name"].line if "name" in entry else item.line
        if not isinstance(name, str) or not name.strip():
            chk.err(name_line, "rule has no 'name' — give every rule a short unique name, "
                    "e.g. name: raqqa")
            continue
        name = " ".join(name.split())
        if _has_control(name) or len(name) > MAX_NAME_LENGTH:
            chk.err(name_line, f"rule name must be one line of at most {MAX_NAME_LENGTH} "
                    "characters — shorten it (it is used in e-mail subjects)")
            continue
        if name in seen:
            chk.err(name_line, f"duplicate rule name '{name}' (first used on line {seen[name]}) "
                    "— give each rule its own name")
            continue
        seen[name] = name_line

        if "any" not in entry:
            chk.err(item.line, f"rule '{name}': missing 'any' — list the terms that trigger it, "
                    "e.g. any: [[الرقة, Raqqa, ڕەققە]]")
            any_groups: tuple[tuple[str, ...], ...] = ()
        options: dict[str, tuple[TermOptions, int]] = {}
        if "any" in entry:
            any_groups = _term_groups(entry["any"], name, "any", chk, options)
            if not any_groups and isinstance(entry["any"].value, list):
                chk.err(entry["any"].line, f"rule '{name}': 'any' has no usable terms — list "
                        "at least one word or phrase")
        all_groups = (_term_groups(entry["all"], name, "all", chk, options)
                      if "all" in entry else ())
        none_groups = (_term_groups(entry["none"], name, "none", chk, options)
                       if "none" in entry else ())
        vetoes = {_fold(t) for g in none_groups for t in g}
        for key, groups in (("any", any_groups), ("all", all_groups)):
            for group in groups:
                for term in group:
                    if _fold(term) in vetoes:
                        chk.err(entry[key].line, f"rule '{name}': term {term!r} is both in "
                                f"'{key}' and in 'none' — it would veto itself; remove one")

        mode = unwrap(merged["mode"]) if "mode" in merged else "instant"
        if mode not in MODES:
            chk.err(merged["mode"].line, f"rule '{name}': unknown mode {mode!r} — use one of "
                    + ", ".join(MODES))
            mode = "instant"
        surge = None
        if mode == "surge":
            surge = _surge(entry.get("surge"), name, chk)
        elif "surge" in entry:
            chk.err(entry["surge"].line, f"rule '{name}': 'surge' options need mode: surge — "
                    "add it or remove 'surge'")
        tz = DEFAULT_TIMEZONE
        if "timezone" in merged:
            tz = _time_zone(unwrap(merged["timezone"]), merged["timezone"].line,
                            f"rule '{name}'", zones, chk) or DEFAULT_TIMEZONE
        dt = DEFAULT_DIGEST_TIME
        if "digest_time" in merged:
            dt = _digest_time(unwrap(merged["digest_time"]), merged["digest_time"].line,
                              f"rule '{name}'", chk) or DEFAULT_DIGEST_TIME
        recipients = (_recipients(merged["recipients"], name, tz, dt, zones, chk)
                      if "recipients" in merged else ())
        languages = _codes(merged["languages"], name, "languages", chk, None) \
            if "languages" in merged else ()
        sources = _codes(merged["sources"], name, "sources", chk, known) \
            if "sources" in merged else ()
        enabled = unwrap(entry["enabled"]) if "enabled" in entry else True
        if not isinstance(enabled, bool):
            chk.err(entry["enabled"].line, f"rule '{name}': enabled must be true or false — "
                    "write true or false")
            enabled = True
        if enabled and not recipients and not (
                "recipients" in merged and _as_list(merged["recipients"])):
            chk.err(item.line, f"rule '{name}': no recipients — add 'recipients:' (e-mail "
                    "addresses) or set 'enabled: false'")
        rules.append(Rule(name=name, any=any_groups, all=all_groups, none=none_groups,
                          languages=languages, sources=sources, recipients=recipients,
                          mode=mode, digest_time=dt, timezone=tz, enabled=enabled,
                          options=tuple((t, o) for t, (o, _) in options.items() if o != PLAIN),
                          surge=surge,
                          line=item.line))
    if chk.problems:
        raise ConfigError(chk.sorted())
    return rules


def load_rules(path: str | Path, *, text: str | None = None,
               known_sources: Iterable[str] | None = None,
               only_enabled: bool = True) -> list[Rule]:
    """Load and validate ``alerts.yaml``; raise :class:`ConfigError` listing every problem.

    ``known_sources`` (source ids from sources.yaml), when given, turns a misspelt source
    filter into an error instead of a rule that silently never fires.
    """
    rules = parse_rules(load_located(path, text), path, known_sources=known_sources)
    return [r for r in rules if r.enabled] if only_enabled else rules
