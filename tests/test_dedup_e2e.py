"""Deduplication end to end: real crawls (twice) of two loopback outlets.

The wire outlet lists one article under three URLs (tracking parameters, AMP), a different report
of the same event, and an article that is edited between crawls; the mirror outlet republishes
the first article truncated with other furniture. Expected: one row per article, the copy in the
same story, the different report in its own story, the edit an update in place (revision 2), and
re-crawls that never add rows.
"""
from __future__ import annotations

import json
import textwrap

import pytest

from testsupport.fixtureweb import FixtureWeb
from tests.conftest import ChavderEnv
from testsupport.articles import RAQQA_CLASHES
from testsupport.pages import article_page, atom_feed, rss_feed

RAQQA = RAQQA_CLASHES
# Same event, written independently: shares one sentence at most.
OTHER_REPORT = [
    "أعلنت قوات سوريا الديمقراطية في بيان مقتضب أنها أحبطت هجوماً لعناصر من داعش على نقطة "
    "عسكرية شمال الرقة، مشيرة إلى أن مقاتليها ردوا على مصادر النيران.",
    "ولم يذكر البيان عدد القتلى، لكنه قال إن الوضع بات تحت السيطرة وإن عمليات التمشيط "
    "مستمرة في المزارع المحيطة بالبلدة منذ ساعات الفجر الأولى.",
    "من جهته، قال ناشط محلي إن الأهالي سمعوا أصوات انفجارات متتالية، وإن سيارات الإسعاف "
    "نقلت جرحى إلى مستشفى المدينة الوطني وسط إجراءات أمنية مشددة.",
]
EDITED = [
    "عقد مجلس محافظة الحسكة اجتماعاً طارئاً لبحث أزمة المياه في المدينة بعد توقف محطة علوك "
    "عن الضخ للأسبوع الثالث على التوالي، ما حرم آلاف الأسر من مياه الشرب.",
    "وقرر المجلس زيادة عدد الصهاريج المخصصة للأحياء الشرقية وتوزيع خزانات إضافية على المدارس "
    "والمراكز الصحية إلى حين إيجاد حل دائم للأزمة.",
]
UPDATE_PARAGRAPH = ("تحديث: أعلنت الإدارة المحلية مساء اليوم إعادة تشغيل المحطة جزئياً بعد "
                    "وساطة أممية، على أن يعود الضخ الكامل خلال يومين.")
T = "2017-06-01T10:00:00+03:00"


@pytest.fixture(scope="module")
def outlets(tmp_path_factory):
    root = tmp_path_factory.mktemp("dedup-web")
    wire, mirror = root / "wire", root / "mirror"
    for d in (wire / "raqqa" / "amp", mirror):
        d.mkdir(parents=True)
    title = "اشتباكات مع خلايا داعش في ريف الرقة"
    canonical = "http://wire.fixture/raqqa/"
    (wire / "raqqa" / "index.html").write_text(
        article_page(title, RAQQA, "111 0 شاركها", T, canonical=canonical), "utf-8")
    (wire / "raqqa" / "amp" / "index.html").write_text(
        article_page(title, RAQQA, "", T, canonical=canonical), "utf-8")
    (wire / "report.html").write_text(
        article_page("قسد تحبط هجوماً لداعش شمال الرقة", OTHER_REPORT, "بدون تعليق", T), "utf-8")
    (wire / "water.html").write_text(
        article_page("اجتماع طارئ لبحث أزمة المياه في الحسكة", EDITED, "اترك رد", T), "utf-8")
    (wire / "feed.xml").write_text(atom_feed("wire", [
        (title, "/raqqa/?utm_source=rss&utm_medium=feed&fbclid=abc", T),
        (title + " (AMP)", "/raqqa/amp/", T),
        ("report", "/report.html", T),
        ("water", "/water.html", T),
    ]), "utf-8")
    (mirror / "copy.html").write_text(article_page(
        "عاجل | " + title, RAQQA[:3], "اترك تعليقاً", "2017-06-01T13:00:00+03:00"), "utf-8")
    (mirror / "feed.xml").write_text(rss_feed("mirror", [("copy", "/copy.html?ref=home")]),
                                     "utf-8")
    with FixtureWeb(root) as web:
        yield web


@pytest.fixture(scope="module")
def env(tmp_path_factory, outlets):
    tmp = tmp_path_factory.mktemp("dedup-env")
    sources = tmp / "sources.yaml"
    sources.write_text(outlets.substitute(textwrap.dedent("""\
        defaults: {allow_private: true, allowed_domains: [127.0.0.1], timezone: Asia/Damascus}
        sources:
          - {id: wire, name: Wire, kind: feed, start_urls: ["http://wire.fixture/feed.xml"]}
          - {id: mirror, name: Mirror, kind: feed, start_urls: ["http://mirror.fixture/feed.xml"]}
        """)), encoding="utf-8")
    return ChavderEnv.create(tmp, sources, data_dir=tmp, alerts=tmp / "none.yaml")


def rows(env: ChavderEnv) -> dict[str, dict]:
    store = env.open_store()
    try:
        return {r["canonical_url"].split(":", 2)[-1].split("/", 1)[-1] + "@" + r["source"]: r
                for r in store.iter_articles()}
    finally:
        store.close()


def test_urls_copies_reports_and_edits(env, outlets):
    first = json.loads(env.crawl().stdout)
    stored = rows(env)
    assert sorted(stored) == ["copy.html@mirror", "raqqa/@wire", "report.html@wire",
                              "water.html@wire"], sorted(stored)
    assert first["totals"]["new"] == 4
    raqqa, copy = stored["raqqa/@wire"], stored["copy.html@mirror"]
    report, water = stored["report.html@wire"], stored["water.html@wire"]
    assert raqqa["story_id"] == copy["story_id"], "the syndicated copy joins the story"
    assert report["story_id"] != raqqa["story_id"], "a different report is its own story"
    assert len({r["story_id"] for r in stored.values()}) == 3
    assert raqqa["canonical_url"].endswith("/raqqa/") and "utm_" not in raqqa["canonical_url"]

    # edited between crawls; the Atom feed signals the newer modification time
    outlets.publish("wire", "/water.html", article_page(
        "اجتماع طارئ لبحث أزمة المياه في الحسكة", EDITED + [UPDATE_PARAGRAPH], "اترك رد", T))
    feed = (outlets.root / "wire" / "feed.xml").read_text("utf-8")
    outlets.publish("wire", "/feed.xml", feed.replace(
        '/water.html"/><id>http://wire.fixture/water.html</id><updated>' + T,
        '/water.html"/><id>http://wire.fixture/water.html</id><updated>2017-06-02T08:00:00+03:00'))
    second = json.loads(env.crawl().stdout)
    assert second["sources"]["wire"]["updated"] == 1 and second["totals"]["new"] == 0
    after = rows(env)
    assert sorted(after) == sorted(stored), "an update never adds a row"
    water2 = after["water.html@wire"]
    assert water2["id"] == water["id"] and water2["revision"] == 2
    assert UPDATE_PARAGRAPH in water2["body"]
    assert water["content_hash"] in water2["previous_hashes"]

    third = json.loads(env.crawl().stdout)
    assert third["totals"]["new"] == 0 and third["totals"]["updated"] == 0
    assert len(rows(env)) == 4
    # the story page's revisions: both versions with their text, each once
    store = env.open_store()
    try:
        revisions = store.article_revisions(water["id"])
    finally:
        store.close()
    assert [(r.revision, r.content_hash) for r in revisions] == [
        (2, water2["content_hash"]), (1, water["content_hash"])]
    assert UPDATE_PARAGRAPH in revisions[0].body and revisions[1].body == water["body"]
    assert UPDATE_PARAGRAPH not in revisions[1].body


def test_search_shows_one_row_per_story_and_the_cluster(env):
    # runs after the crawls above (module order)
    hits = [json.loads(x) for x in env.run("search", "داعش", "--json").stdout.splitlines()]
    raqqa_rows = [h for h in hits if "اشتباكات" in h["title"]]
    assert len(raqqa_rows) == 1
    other = {"wire": "mirror", "mirror": "wire"}[raqqa_rows[0]["source"]]
    assert raqqa_rows[0]["also_reported_by"] == [other]
    all_rows = [json.loads(x) for x in
                env.run("search", "داعش", "--json", "--all").stdout.splitlines()]
    assert len([h for h in all_rows if "اشتباكات" in h["title"]]) == 2
    story = json.loads(env.run("story", str(raqqa_rows[0]["story_id"]), "--json").stdout)
    assert story["outlets"] == ["wire", "mirror"]
    assert len(story["articles"]) == 2
    text = env.run("story", str(raqqa_rows[0]["story_id"])).stdout
    assert "outlets: wire, mirror" in text
