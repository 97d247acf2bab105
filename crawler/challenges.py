"""Anti-bot challenge and block pages, recognised from a response (no Scrapy imports).

Several monitored outlets answer a plain HTTP client with a JavaScript challenge (Cloudflare
"Just a moment…", Sucuri "You are being redirected…", Imperva/Incapsula) or a bare 403/406/429
block page. Such a page is not an article and not an index: it must never be extracted or
stored, and the user needs to hear *why* the source yields nothing and what can be done.

:func:`classify` looks at the status, a few headers and the first bytes of the body. It is
conservative: a vendor's header alone (every Cloudflare-served page has ``Server: cloudflare``)
is not a challenge; the page must also look like one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping

#: Bytes of the body looked at: challenge pages are small and say what they are early.
SNIFF_BYTES = 32 * 1024
#: Every problem line about a challenge starts like this (status, health, tests look for it).
REASON_PREFIX = "blocked by an anti-bot challenge"


@dataclass(frozen=True)
class Challenge:
    """A recognised challenge: who serves it, and what the user can do."""

    vendor: str          # "Cloudflare", "Sucuri", "Imperva/Incapsula", "DDoS-Guard", "generic"
    status: int
    evidence: str        # what gave it away (for logs and the doctor)
    js_cookie: bool = False   # the page sets its cookie by script: a real browser may pass

    @property
    def reason(self) -> str:
        """The one-line problem text: what happened, then what to do."""
        what = f"{REASON_PREFIX} ({self.vendor}, HTTP {self.status}: {self.evidence})"
        advice = ADVICE.get(self.vendor, ADVICE["generic"])
        if self.js_cookie:
            advice = (f"it sets a cookie by JavaScript, so it {NEEDS_BROWSER} (headless "
                      f"Chromium may pass it); else {advice}")
        return f"{what} — the page was not stored; {advice}"


ADVICE = {
    "Cloudflare": ("try the outlet's feed, sitemap or JSON API (often not challenged), a "
                   "browser-like Accept/Accept-Language (source 'headers'), or ask the outlet to "
                   "allow the crawler's User-Agent"),
    "Sucuri": ("Sucuri's JavaScript cookie check needs a real browser: use the outlet's feed "
               "or sitemap, or ask the outlet to allowlist the crawler"),
    "Imperva/Incapsula": ("Incapsula wants cookies set by JavaScript: use the outlet's feed "
                          "or sitemap, or ask the outlet to allowlist the crawler"),
    "DDoS-Guard": "use the outlet's feed or sitemap, or ask the outlet to allowlist the crawler",
    "generic": ("the site refuses this client: try the outlet's feed, sitemap or API, "
                "browser-like 'headers', a 'user_agent' for the source, or a longer interval"),
}

# Every marker is looked for in the LOWER-CASED first bytes (bytes.lower() folds ASCII only, as
# re.I does for bytes): a case-insensitive search over 32 KB cost ~0.2–1 ms per pattern on every
# ordinary page, and a plain substring test (a tuple of lower-case bytes, any of them) or a
# case-sensitive pattern that starts with a literal costs ~0.02 ms.
# Cloudflare also injects /cdn-cgi/challenge-platform/scripts/jsd/ (passive bot detection) into
# ordinary pages: only the challenge paths (…/h/…, orchestrate) count.
_CF_MARKERS = (
    (re.compile(rb"/cdn-cgi/challenge-platform/(?!scripts/jsd/)"),
     "cdn-cgi/challenge-platform script"),
    (re.compile(rb"<title>\s*just a moment\.{0,3}(?:&hellip;|\xe2\x80\xa6)?\s*</title>"),
     '"Just a moment..." page'),
    # (_cf_chl_opt contains cf_chl_)
    ((b"cf-chl-", b"cf_chl_", b"challenges.cloudflare.com"), "Cloudflare challenge script"),
    (re.compile(rb"<title>\s*attention required! \| cloudflare"),
     '"Attention Required!" block page'),
)
#: Only on an error status: Cloudflare's own error pages (1020 access denied…).
_CF_ERROR_MARKERS = (
    ((b"cf-error-details", b"cloudflare ray id"), "Cloudflare block page"),
)
_SUCURI_MARKERS = (
    ((b"you are being redirected",), '"You are being redirected..." page'),
    ((b"sucuri_cloudproxy_js", b"sucuri website firewall", b"sucuri.net/"),
     "Sucuri firewall page"),
)
_IMPERVA_MARKERS = (
    # (_Incapsula_Resource and "Incapsula incident ID" contain incapsula)
    ((b"incapsula",), "Incapsula resource"),
    ((b"request unsuccessful. incapsula",), "Incapsula block page"),
)
_DDOSGUARD_MARKERS = (
    ((b"ddos-guard",), "DDoS-Guard page"),
)
#: Words of a generic block or bot-check page (only counted on a 403/406/429/503 answer;
#: searched in the lower-cased bytes too).
_GENERIC = re.compile(
    rb"access denied|access to this page has been denied|request blocked|you have been "
    rb"blocked|are you a robot|not a robot|bot detection|verify you are (?:a )?human|"
    rb"checking your browser|enable javascript and cookies|captcha|too many requests|"
    rb"unusual traffic|automated (?:access|requests|queries)|security check")
_BLOCK_STATUSES = (401, 403, 406, 429, 503)
#: An empty app root or a "turn JavaScript on" notice: the page's text is written by script.
_JS_SHELL = re.compile(rb'<div id="(?:root|app|__next|__nuxt)"\s*>\s*</div>|enable javascript|'
                       rb"requires javascript|javascript is required", re.I)
#: A challenge that sets its cookie by script and reloads: a real browser passes it.
_JS_COOKIE = re.compile(rb"document\.cookie\s*=", re.I)
#: What to do about a page only a browser can read.
NEEDS_BROWSER = "needs render: browser"
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value if isinstance(value, str) else value.decode("latin-1", "replace")
    return ""


def _first(markers: tuple, lowered: bytes) -> str | None:
    """The evidence of the first marker found in ``lowered`` (lower-cased bytes)."""
    for test, evidence in markers:
        if isinstance(test, tuple):
            if any(needle in lowered for needle in test):
                return evidence
        elif test.search(lowered):
            return evidence
    return None


def classify(status: int, headers: Mapping[str, str], body: bytes) -> Challenge | None:
    """The challenge this response is, or None for an ordinary page (or an ordinary error).

    ``headers``: response headers, names in any case."""
    challenge = _classify(status, headers, body)
    if challenge is not None and sets_cookie_by_script(body):
        return replace(challenge, js_cookie=True)
    return challenge


def _classify(status: int, headers: Mapping[str, str], body: bytes) -> Challenge | None:
    head = bytes(body[:SNIFF_BYTES])
    lowered = head.lower()
    lowered_server = _header(headers, "server").lower()
    if _header(headers, "cf-mitigated").lower() == "challenge":
        return Challenge("Cloudflare", status, "cf-mitigated: challenge header")
    if evidence := _first(_CF_MARKERS, lowered):
        return Challenge("Cloudflare", status, evidence)
    if status >= 400 and (evidence := _first(_CF_ERROR_MARKERS, lowered)):
        return Challenge("Cloudflare", status, evidence)
    # (the conditions first: on an ordinary large 200 page they spare the marker searches)
    if (status != 200 or "sucuri" in lowered_server or _header(headers, "x-sucuri-id")
            or b"sucuri" in lowered or len(head) < 4096) \
            and (evidence := _first(_SUCURI_MARKERS, lowered)):
        return Challenge("Sucuri", status, evidence)
    if (status != 200 or len(head) < 8192 or _header(headers, "x-iinfo")) \
            and (evidence := _first(_IMPERVA_MARKERS, lowered)):
        return Challenge("Imperva/Incapsula", status, evidence)
    if status in _BLOCK_STATUSES and (evidence := _first(_DDOSGUARD_MARKERS, lowered)):
        return Challenge("DDoS-Guard", status, evidence)
    if status in _BLOCK_STATUSES:
        vendor = "Cloudflare" if "cloudflare" in lowered_server else "generic"
        m = _GENERIC.search(lowered)
        if m:   # the words as the page wrote them
            words = head[m.start():m.end()].decode("latin-1")
            return Challenge(vendor, status, f'block page ("{words}")')
        if vendor == "Cloudflare" and status in (403, 503):
            return Challenge(vendor, status, "Cloudflare refused the request")
    return None


def needs_browser(body: bytes) -> bool:
    """True for a page without article text whose text is evidently written by JavaScript:
    an empty app root, a "JavaScript is required" notice, or a page of scripts. Call it only
    once extraction found no text (the doctor's JS-only verdict, the crawl's advice)."""
    head = bytes(body[:65536])
    return bool(_JS_SHELL.search(head)) or head.count(b"<script") >= 3


def sets_cookie_by_script(body: bytes) -> bool:
    """A challenge page that writes its cookie from JavaScript (and reloads)."""
    return bool(_JS_COOKIE.search(bytes(body[:SNIFF_BYTES])))


def page_title(body: bytes) -> str | None:
    """The ``<title>`` of a page, for reports."""
    m = _TITLE.search(body[:SNIFF_BYTES])
    return " ".join(m.group(1).decode("utf-8", "replace").split())[:120] if m else None


_REASON = re.compile(re.escape(REASON_PREFIX) + r" \(([^,)]+)[^—]*— the page was not stored; (.*)$")


def explain(reason: str) -> tuple[str, str] | None:
    """A stored problem line of a challenge → (``blocked by an anti-bot challenge (Vendor)``,
    what to do); None for any other problem."""
    m = _REASON.match(reason or "")
    if not m:
        return None
    return f"{REASON_PREFIX} ({m.group(1)})", m.group(2)
