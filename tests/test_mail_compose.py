"""Alert e-mail composition: what a recipient sees, and what a hostile article cannot do."""
from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from crawler.alerts import Matcher, Recipient, Rule
from crawler.mail import ArticleView, compose_alert
from crawler.mail.compose import MAX_SUBJECT

RAQQA = Rule(name="raqqa", any=(("الرقة", "ڕەققە", "Reqa", "Raqqa"),),
             recipients=(Recipient("desk@example.org"),))
SENDER = "Chavder <alerts@chavder.example.net>"
NOW = datetime(2017, 6, 1, 12, 0, tzinfo=timezone.utc)


def _compose(title: str, body: str, *, language: str = "ar", url: str = "https://rok.example/a/1",
             recipient: str | Recipient = "desk@example.org", story: str | None = "story-1",
             also: list[str] | None = None, published: str | None = "2017-06-01T14:05:00+03:00"):
    (match,) = Matcher([RAQQA]).match(title, body, language=language, source="rok")
    view = ArticleView(title=title, url=url, source="rok", source_name="Rok Online",
                       published_at=published, language=language, body=body, story_id=story)
    msg = compose_alert(match, view, sender=SENDER, recipient=recipient,
                        also_reported_by=also or [], now=NOW)
    # what the recipient's mail client gets: the serialised bytes, parsed again
    return message_from_bytes(msg.as_bytes(), policy=default_policy)


def _parts(msg) -> tuple[str, str]:
    return (msg.get_body(preferencelist=("plain",)).get_content(),
            msg.get_body(preferencelist=("html",)).get_content())


def test_alert_has_subject_text_and_rtl_html_with_highlights():
    title = "روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة"
    body = ("قالت وزارة الدفاع الروسية إنها ستقصف عناصر التنظيم خلال محاولتهم الفرار من مدينة "
            "الرقة السورية.\n\nوأضافت أن الطرف الجنوبي للمدينة ما زال مفتوحاً.")
    msg = _compose(title, body, also=["Rudaw", "ANHA"])
    assert msg["Subject"] == f"[Chavder] raqqa: {title}"
    assert msg["To"].addresses[0].addr_spec == "desk@example.org"
    assert msg["From"].addresses[0].addr_spec == "alerts@chavder.example.net"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = _parts(msg)
    assert title in text and "Rok Online" in text and "https://rok.example/a/1" in text
    assert "Also reported by: Rudaw, ANHA" in text
    assert '<div class="article" lang="ar" dir="rtl">' in html
    assert html.count("<mark>الرقة</mark>") == 2            # title and excerpt
    assert '<a href="https://rok.example/a/1">' in html
    assert "2017-06-01 14:05 (UTC+03:00)" in html
    assert "<li><bdi>Rudaw</bdi></li>" in html


@pytest.mark.parametrize("language,direction", [("ar", "rtl"), ("ckb", "rtl"), ("fa", "rtl"),
                                                ("kmr", "ltr"), ("en", "ltr")])
def test_text_direction_follows_the_article_language(language: str, direction: str):
    _, html = _parts(_compose("ڕەققە Reqa Raqqa الرقة", "", language=language))
    assert f'lang="{language}" dir="{direction}"' in html


def test_hostile_title_cannot_inject_headers_or_markup():
    title = "الرقة <script>alert(1)</script>\r\nBcc: victim@example.org"
    msg = _compose(title, "<img src=x onerror=alert(2)> الرقة", url="javascript:alert(3)",
                   also=["<b>Evil</b> outlet"])
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert msg["Subject"].startswith("[Chavder] raqqa: الرقة <script>")
    assert [a.addr_spec for a in msg["To"].addresses] == ["desk@example.org"]
    _, html = _parts(msg)
    for raw in ("<script>", "<img", "<b>Evil", "javascript:"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Evil&lt;/b&gt; outlet" in html


def test_long_subject_is_capped_and_encoded():
    title = "الرقة " + "كلمة " * 200
    raw = _compose(title, "").as_bytes()
    subject_lines = raw.split(b"\r\n\r\n")[0].decode("ascii")      # headers are pure ASCII
    assert "=?utf-8?" in subject_lines
    msg = message_from_bytes(raw, policy=default_policy)
    assert len(msg["Subject"]) <= MAX_SUBJECT and msg["Subject"].endswith("…")


def test_message_id_is_stable_per_rule_story_and_recipient():
    first = _compose("الرقة", "")["Message-ID"]
    assert _compose("الرقة", "")["Message-ID"] == first                   # a retry
    assert _compose("الرقة اليوم", "")["Message-ID"] == first             # same story, new title
    assert _compose("الرقة", "", recipient="other@example.org")["Message-ID"] != first
    assert _compose("الرقة", "", story="story-2")["Message-ID"] != first
    assert first.startswith("<") and first.endswith("@chavder.example.net>")   # not folded


def test_recipient_time_zone_shows_local_publication_time():
    rec = Recipient("berlin@example.org", timezone="Europe/Berlin")
    text, _ = _parts(_compose("الرقة", "", recipient=rec))
    assert "2017-06-01 14:05 (UTC+03:00) = 2017-06-01 13:05 Europe/Berlin" in text


def test_excerpt_centres_on_the_match_in_a_long_body():
    body = "مقدمة طويلة لا علاقة لها بالموضوع. " * 60 + "وصلت القافلة إلى الرقة صباحاً. " \
        + "خاتمة طويلة. " * 60
    text, html = _parts(_compose("خبر", body))
    assert "<mark>الرقة</mark>" in html
    assert "…" in text and len(text) < 1500


def test_apprise_recipient_has_no_to_header_and_invalid_recipient_is_refused():
    msg = _compose("الرقة", "", recipient="apprise:tgram://123:TOKEN/-100")
    assert msg["To"] is None and "TOKEN" not in msg.as_string()
    with pytest.raises(ValueError):
        _compose("الرقة", "", recipient="desk@example.org\r\nBcc: victim@example.org")
