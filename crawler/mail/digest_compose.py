"""Daily digest e-mails: the stories that matched a recipient's digest rules in one period.

Same rules as alert mail (``crawler/mail/compose.py``, whose helpers this reuses): everything
that comes from an article is untrusted — headers go through :func:`header_safe` (no CR/LF can
reach a header), HTML through Jinja2 autoescape, only http(s) URLs become links, and each
article block carries ``lang``/``dir`` so Arabic, Sorani and Persian text reads right to left
inside an otherwise left-to-right message. The Message-ID is derived from (recipient, period),
so a retried digest is recognisably the same message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from crawler.alerts.highlight import highlight
from crawler.alerts.rules import Recipient, email_problem
from crawler.mail.compose import (SUBJECT_PREFIX, _recipient, _relocate, _sender, clean_line,
                                    clean_text, environment, header_safe, link_text,
                                    message_id, new_message, published_label, safe_url,
                                    text_direction)

LEAD_CHARS = 280            # "first lines" of an article shown under its title
MAX_TITLE = 300
SUBJECT_TITLE = 90          # the lead story's title in the Subject, before header_safe's cap
MAX_PER_RULE = 100          # entries shown per rule (a backfill can match thousands)
DIGEST_ID_TAG = "[digest]"  # the "rule" part of a digest's Message-ID hash


@dataclass
class DigestEntry:
    """One story in a digest (all text fields untrusted)."""

    rule: str
    story_id: str
    title: str
    url: str | None
    source: str
    source_name: str
    published_at: str | datetime | None
    language: str | None
    body: str = ""
    also_reported_by: list[str] = field(default_factory=list)   # other outlets' names
    sort_time: str = ""          # UTC ISO time used for ordering
    outlets: int = 1             # outlets that carried the story
    match: Any = None            # the rule's live RuleMatch, for highlighting (None: none)


@dataclass
class DigestPeriod:
    key: str                     # the recipient-local date of the digest, YYYY-MM-DD
    start: datetime              # aware
    end: datetime                # aware
    timezone: str


def lead_lines(body: str | None, limit: int = LEAD_CHARS) -> str:
    """The first lines of a body: whole paragraphs while they fit, then a cut at a word."""
    text = clean_text(body)
    out = ""
    for para in (clean_line(p) for p in text.split("\n")):
        if not para:
            continue
        candidate = f"{out} {para}".strip()
        if len(candidate) > limit:
            if not out:
                cut = para[:limit - 1]
                if " " in cut[limit // 2:]:
                    cut = cut[:cut.rfind(" ")]
                out = cut.rstrip(" ,.،؛") + "…"
            break
        out = candidate
        if len(out) >= limit * 0.6:
            break
    return out


def order_entries(entries: list[DigestEntry]) -> list[DigestEntry]:
    """Newest first; at equal times, the story more outlets carried first."""
    return sorted(entries, key=lambda e: (e.sort_time or "", e.outlets), reverse=True)


def _local(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def digest_subject(period: DigestPeriod, stories: int, lead_title: str | None) -> str:
    if stories == 0:
        return header_safe(f"{SUBJECT_PREFIX} Digest {period.key}: nothing new")
    count = "1 story" if stories == 1 else f"{stories} stories"
    lead = clean_line(lead_title, SUBJECT_TITLE) if lead_title else ""
    return header_safe(f"{SUBJECT_PREFIX} Digest {period.key}: {count}"
                       + (f" — {lead}" if lead else ""))


def digest_message_id(recipient_key: str, period_key: str, domain: str) -> str:
    return message_id(DIGEST_ID_TAG, period_key, recipient_key, domain)


def digest_message_id_for(recipient: str | Recipient, period_key: str, sender: str) -> str:
    """The Message-ID :func:`compose_digest` gives this digest, without composing it (the
    ledger records it when the delivery is claimed). ValueError for an unusable sender."""
    return digest_message_id(_recipient(recipient).key, period_key, _sender(sender)[1])


def render_digest(groups: list[tuple[str, list[DigestEntry]]], period: DigestPeriod, *,
                  recipient_tz: str | None = None) -> dict:
    """The template context (also used by ``chavder digest preview``)."""
    tz = recipient_tz or period.timezone
    out_groups = []
    stories: set[str] = set()
    lead_title = None
    for rule, entries in groups:
        rendered = []
        ordered = order_entries(entries)
        for e in ordered[:MAX_PER_RULE]:
            lang = clean_line(e.language) or ""
            title = clean_line(e.title, MAX_TITLE) or "(no title)"
            if lead_title is None:
                lead_title = title
            lead = lead_lines(e.body)
            link = safe_url(e.url)
            rendered.append({
                "title": title,
                "title_html": _marked(title, e.match, "title"),
                "lead": lead,
                "lead_html": _marked(lead, e.match, "body"),
                "link": link,
                "link_text": link_text(link),
                "source_name": clean_line(e.source_name, 120) or clean_line(e.source),
                "published": published_label(e.published_at, tz),
                "lang": lang,
                "dir": text_direction(lang or None),
                "also_reported_by": [n for n in (clean_line(x, 120) for x in e.also_reported_by)
                                     if n],
                "outlets": max(e.outlets, 1 + len(e.also_reported_by)),
            })
        stories.update(e.story_id for e in ordered)
        if rendered:
            out_groups.append({"rule": clean_line(rule), "entries": rendered,
                               "count": len(ordered), "more": len(ordered) - len(rendered)})
    rules = [g["rule"] for g in out_groups]
    return {
        "groups": out_groups,
        "story_count": len(stories),
        "rules_list": rules,
        "rule": ", ".join(rules) or "(digest)",          # base templates' footer
        "period_key": period.key,
        "period_label": f"{_local(period.start, tz)} → {_local(period.end, tz)} ({tz})",
        "lead_title": lead_title,
        "nothing_new": not out_groups,
    }


def _marked(text: str, match: Any, field: str) -> Any:
    """``text`` as HTML with the rule's matched terms in ``<mark>``, as instant alerts show
    them (the title and lead are cleaned copies: the terms are found again in them)."""
    return highlight(text, _relocate(text, match, field) if match is not None else [])


def compose_digest(groups: list[tuple[str, list[DigestEntry]]], period: DigestPeriod, *,
                   sender: str, recipient: str | Recipient,
                   now: datetime | None = None) -> EmailMessage:
    """A multipart (text + HTML) digest: ``groups`` is [(rule name, entries)] in rule order;
    an empty list gives the "nothing new" message."""
    rec = _recipient(recipient)
    if rec.kind == "email":
        problem = email_problem(rec.address)
        if problem:
            raise ValueError(f"recipient {rec.address} {problem}")
    from_addr, id_domain = _sender(sender)
    context = render_digest(groups, period,
                            recipient_tz=rec.timezone if isinstance(recipient, Recipient)
                            else None)
    subject = digest_subject(period, context["story_count"], context["lead_title"])
    context["subject"] = subject
    env = environment()
    text = env.get_template("digest.txt").render(context)
    html = env.get_template("digest.html").render(context)

    msg = new_message(subject, from_addr, rec, now,
                      digest_message_id(rec.key, period.key, id_domain))
    msg["X-Chavder-Digest"] = header_safe(period.key, 20)
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return msg
