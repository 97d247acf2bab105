"""Alert e-mails: one match of one rule on one story, for one recipient.

Everything that comes from an article (title, body, URL, outlet names) is hostile until proven
otherwise: headers are stripped of control characters before they reach ``EmailMessage`` (so
``"title\\r\\nBcc: …"`` cannot add a header), HTML goes through Jinja2 with autoescape, and only
http(s) URLs become links. The Message-ID is derived from (rule, story, recipient) so a retried
send is recognisably the same message (and the outbox overwrites instead of duplicating).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from crawler.alerts.highlight import excerpt, highlight
from crawler.alerts.matcher import RuleMatch
from crawler.alerts.rules import Recipient, email_problem
from crawler.text.dates import parse_iso
from crawler.text.direction import RTL_LANGUAGES, text_direction  # noqa: F401 - re-exported
from crawler.urls import display_url

TEMPLATES = Path(__file__).parent / "templates"
SUBJECT_PREFIX = "[Chavder]"
MAX_SUBJECT = 160           # characters, before RFC 2047 encoding
MAX_TITLE = 300             # characters shown in the body
EXCERPT_WIDTH = 420
_SPACES = re.compile(r"\s+")


@dataclass
class ArticleView:
    """What an alert shows about an article (the store builds it; all fields untrusted)."""

    title: str
    url: str
    source: str                             # source id
    source_name: str
    published_at: str | datetime | None     # ISO 8601 with offset, or aware datetime
    language: str | None
    body: str = ""                          # full body or a stored snippet
    story_id: str | None = None             # dedup story; None → the URL identifies it


def clean_line(text: str | None, limit: int | None = None) -> str:
    """One line of display text: control/format characters removed (ZWNJ/ZWJ kept for
    Sorani/Persian), all whitespace runs — CR and LF included — collapsed to one space."""
    if not text:
        return ""
    kept = "".join(ch for ch in text if ch in "\u200c\u200d" or ch.isspace()
                   or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    line = _SPACES.sub(" ", kept).strip()
    if limit is not None and len(line) > limit:
        line = line[:limit - 1].rstrip() + "…"
    return line


def clean_text(text: str | None) -> str:
    """Multi-line display text: control characters removed, paragraphs kept."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t\u200c\u200d"
                   or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))


def header_safe(text: str, limit: int = MAX_SUBJECT) -> str:
    """A header value that cannot break out of its header (no CR/LF/controls), length-capped.
    Non-ASCII is left to ``EmailMessage``, which RFC 2047-encodes it when serialising."""
    return clean_line(text, limit)


def alert_subject(rule_name: str, title: str) -> str:
    return header_safe(f"{SUBJECT_PREFIX} {clean_line(rule_name)}: {clean_line(title)}")


def message_id(rule_name: str, story: str, recipient_key: str, domain: str) -> str:
    """Deterministic ``<hash@domain>``: same rule, story and recipient → same id. 128 bits of
    hash keep the header on one line (no folding) for sender domains up to ~30 characters."""
    digest = hashlib.sha256("\x1f".join((rule_name, story, recipient_key)).encode()).hexdigest()
    return f"<{digest[:32]}@{domain}>"


def alert_message_id(rule_name: str, story: str, recipient: str | Recipient,
                     sender: str) -> str:
    """The Message-ID :func:`compose_alert` gives this alert, without composing it (the ledger
    records it when it claims the delivery). ValueError for an unusable sender."""
    return message_id(rule_name, story, _recipient(recipient).key, _sender(sender)[1])


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (no javascript:, data:, …)."""
    url = clean_line(url)
    if not url or any(ch.isspace() for ch in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def link_text(url: str | None) -> str:
    """How a link reads in a mail: Arabic and Kurdish paths decoded (crawler/urls.py
    ``display_url``); the href keeps the encoded URL, which is what works in every client."""
    return display_url(url) if url else ""


def _parse_time(value: str | datetime | None) -> datetime | None:
    """A stored time (naive ones are UTC, as everywhere in the store) or a datetime as is."""
    return value if isinstance(value, datetime) else parse_iso(value)


def _format_offset(dt: datetime) -> str:
    offset = dt.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def published_label(value: str | datetime | None, recipient_tz: str | None) -> str:
    """``2017-06-01 14:05 (UTC+03:00)``, plus the recipient's local time when it differs."""
    dt = _parse_time(value)
    if dt is None:
        return clean_line(str(value)) if value else "unknown"
    label = dt.strftime("%Y-%m-%d %H:%M")
    label += f" ({_format_offset(dt)})"
    if recipient_tz:
        local = dt.astimezone(ZoneInfo(recipient_tz))
        if local.utcoffset() != dt.utcoffset():
            label += f" = {local.strftime('%Y-%m-%d %H:%M')} {recipient_tz}"
    return label


def _relocate(text: str, match: RuleMatch, field: str) -> list[tuple[int, int]]:
    """Spans of this match in ``text``. The view may hold a cleaned title or a snippet rather
    than the exact text that was matched, so fall back to finding the matched surfaces."""
    spans: list[tuple[int, int]] = []
    for hit in match.terms:
        if hit.field != field:
            continue
        if text[hit.start:hit.end] == hit.surface:
            spans.append((hit.start, hit.end))
            continue
        pos = text.find(hit.surface)
        while pos >= 0 and len(spans) < 200:
            spans.append((pos, pos + len(hit.surface)))
            pos = text.find(hit.surface, pos + len(hit.surface))
    return spans


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Jinja2 environment for ``templates/``: autoescape for .html, strict undefined."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True,
                                     default=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _sender(sender: str) -> tuple[Address, str]:
    name, addr = parseaddr(clean_line(sender))
    problem = email_problem(addr) if addr else "is empty"
    if problem:
        raise ValueError(f"sender address {addr + ' ' if addr else ''}{problem} — set "
                         "mail.sender in chavder.yaml")
    local, _, domain = addr.rpartition("@")
    id_domain = domain if domain.isascii() and re.fullmatch(r"[A-Za-z0-9.-]+", domain) \
        else "chavder.localhost"
    return Address(display_name=clean_line(name), username=local, domain=domain), id_domain


def _recipient(recipient: str | Recipient) -> Recipient:
    if isinstance(recipient, Recipient):
        return recipient
    recipient = recipient.strip()
    if recipient.startswith("apprise:"):
        return Recipient(address=recipient[len("apprise:"):], kind="apprise")
    return Recipient(address=recipient)


def new_message(subject: str, from_addr: Address, rec: Recipient, now: datetime | None,
                msg_id: str) -> EmailMessage:
    """The headers every Chavder message carries; the subject must already be header-safe."""
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = subject
    msg["From"] = from_addr
    if rec.kind == "email":
        local, _, domain = rec.address.rpartition("@")
        msg["To"] = Address(display_name=clean_line(rec.name), username=local, domain=domain)
    msg["Date"] = format_datetime(now or datetime.now(timezone.utc))
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    return msg


def compose_alert(match: RuleMatch, article_view: ArticleView, *, sender: str,
                  recipient: str | Recipient, also_reported_by: list[str],
                  now: datetime | None = None) -> EmailMessage:
    """A multipart (text + HTML) alert e-mail for one rule match on one story.

    ``recipient`` is an address or a :class:`Recipient` (its time zone is used to show the
    publication time locally). For Apprise recipients no To: header is set; the Apprise
    transport knows its target.
    """
    rec = _recipient(recipient)
    local_tz = rec.timezone if isinstance(recipient, Recipient) else None
    if rec.kind == "email":
        problem = email_problem(rec.address)
        if problem:
            raise ValueError(f"recipient {rec.address} {problem}")
    from_addr, id_domain = _sender(sender)
    view = article_view
    rule_name = clean_line(match.rule.name)
    title = clean_line(view.title, MAX_TITLE) or "(no title)"
    body = clean_text(view.body)
    lang = clean_line(view.language) or None
    story = view.story_id or view.url

    title_spans = _relocate(title, match, "title")
    body_excerpt, body_spans = excerpt(body, _relocate(body, match, "body"), width=EXCERPT_WIDTH)
    others = [clean_line(name, 120) for name in also_reported_by if clean_line(name)]
    context = {
        "rule": rule_name,
        "terms": [clean_line(t) for t in match.matched_terms],
        "title": title,
        "title_html": highlight(title, title_spans),
        "excerpt": body_excerpt,
        "excerpt_html": highlight(body_excerpt, body_spans),
        "link": safe_url(view.url),
        "link_text": link_text(safe_url(view.url)),
        "source_name": clean_line(view.source_name, 120) or clean_line(view.source),
        "published": published_label(view.published_at, local_tz),
        "lang": lang or "",
        "dir": text_direction(lang),
        "also_reported_by": others,
    }
    env = environment()
    subject = alert_subject(rule_name, title)
    context["subject"] = subject
    text = env.get_template("alert.txt").render(context)
    html = env.get_template("alert.html").render(context)

    msg = new_message(subject, from_addr, rec, now,
                      message_id(match.rule.name, story, rec.key, id_domain))
    msg["X-Chavder-Rule"] = header_safe(rule_name, 80)
    if lang:
        msg["Content-Language"] = header_safe(lang, 20)
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return msg

