"""Fingerprints, near-duplicates and story decisions, on realistic Arabic/Sorani/Kurmanji copies."""
from __future__ import annotations

import numpy as np
import pytest

from crawler.dedup import (Candidate, DedupConfig, NearDuplicateIndex, SignatureError,
                           StoryResolver, body_fingerprint, decode_signature, signature, sketch,
                           verify)
from crawler.dedup.index import DAY
from crawler.dedup.memory import MemoryStories

T0 = 1_790_000_000.0   # 2026-09

# One event per language: an article, and a *different* report of the same event by another
# outlet (it repeats one sentence of the first, as agencies do). Written for these tests.
STORIES = {
    "ar": {
        "body": """اندلع حريق كبير، مساء اليوم الاثنين، في صوامع الحبوب الواقعة على الطريق بين مدينتي القامشلي وعامودا، ما أدى إلى احتراق مئات الأطنان من القمح المخزن.

وقال مسؤول في هيئة الزراعة إن فرق الإطفاء من القامشلي وعامودا والدرباسية شاركت في إخماد الحريق الذي استمر أكثر من خمس ساعات، بسبب شدة الرياح وارتفاع درجات الحرارة.

وأضاف المسؤول أن التحقيقات الأولية تشير إلى أن ماساً كهربائياً في أحد المستودعات تسبب باندلاع النيران، نافياً وجود أي عمل تخريبي.

ولم يسفر الحريق عن إصابات بشرية، لكن الخسائر تقدر بمئات الملايين من الليرات، في وقت يعاني فيه المزارعون من تراجع الإنتاج بسبب الجفاف.

وتعد صوامع الحبوب هذه من أكبر مراكز تخزين القمح في محافظة الحسكة.""",
        "lead": """احترقت مئات الأطنان من القمح المخزن مساء الاثنين حين التهمت النيران صوامع الحبوب على طريق القامشلي – عامودا، في حريق احتاج إطفاؤه إلى أكثر من خمس ساعات.""",
        "other": """أعرب مزارعون في ريف القامشلي عن قلقهم من خسارة محاصيلهم المخزنة بعد الحريق الذي طال صوامع الحبوب، مطالبين بتعويضهم عن كميات القمح التي سلموها قبل أسابيع.

وقال أحد المزارعين إنه سلّم كامل إنتاجه هذا الموسم، ولم يتقاضَ ثمنه حتى الآن، متسائلاً عن مصير مستحقاته بعد احتراق المخزون.

وتعد صوامع الحبوب هذه من أكبر مراكز تخزين القمح في محافظة الحسكة.

وطالبت لجان زراعية محلية بتحسين إجراءات السلامة في مراكز التخزين قبل الموسم المقبل.""",
        "furniture": ("شارك هذا المقال", "القامشلي – مراسلنا: ",
                      "اقرأ أيضاً: ارتفاع أسعار المحروقات في الحسكة",
                      "تابعونا على تلغرام لمتابعة آخر الأخبار العاجلة"),
    },
    "ckb": {
        "body": """بەفرێکی زۆر ئەمڕۆ ڕێگای سلێمانی – پێنجوێنی داخست و دەیان ئۆتۆمبێل لە نزیک گەردەنەی سورێن گیریان خوارد.

بەڕێوەبەرایەتیی ڕێگاوبانی سلێمانی ڕایگەیاند کە ئەستووریی بەفر لە هەندێک شوێن گەیشتووەتە نیو مەتر و تیمەکانیان بە ئامێری قورس خەریکی پاککردنەوەی ڕێگاکەن.

بەرگریی شارستانی گوتی سەرنشینی ئۆتۆمبێلە گیرخواردووەکان ڕزگار کراون و گوازراونەتەوە بۆ مزگەوت و قوتابخانەکانی نزیکترین گوند.

پێشبینی دەکرێت بەفربارین تا سبەی ئێوارە بەردەوام بێت و داوا لە هاووڵاتیان کراوە بێ پێویستی سەفەر نەکەن.

ڕێگای سلێمانی – پێنجوێن هەموو زستانێک چەند جارێک بە هۆی بەفرەوە دادەخرێت.""",
        "lead": """دەیان ئۆتۆمبێل ئەمڕۆ لە نزیک گەردەنەی سورێن لە ناو بەفردا گیریان خوارد، دوای ئەوەی بەفرێکی قورس ڕێگای سلێمانی – پێنجوێنی بە تەواوی داخست.""",
        "other": """دانیشتوانی پێنجوێن دەڵێن بە هۆی داخرانی ڕێگاکەوە، گەیاندنی سووتەمەنی و خۆراک بۆ شارۆچکەکە ڕاگیراوە و نرخی نەوتی سپی بەرز بووەتەوە.

دوکاندارێک گوتی لە ماوەی دوو ڕۆژدا هیچ بارهەڵگرێک نەگەیشتووەتە بازاڕ و کاڵاکان خەریکە تەواو دەبن.

ڕێگای سلێمانی – پێنجوێن هەموو زستانێک چەند جارێک بە هۆی بەفرەوە دادەخرێت.

قایمقامیەتی پێنجوێن داوای لە حکومەت کردووە ئامێری زیاتری بەفرماڵین بنێرێت.""",
        "furniture": ("هاوبەشی پێبکە", "سلێمانی – ڕووداو: ",
                      "بخوێنەوە: نرخی بەنزین لە هەولێر دابەزی",
                      "بەدوامان بکەون لە تێلیگرام بۆ دوایین هەواڵەکان"),
    },
    "kmr": {
        "body": """Li navçeya Cizîrê ya Şirnexê piştî barana xurt a şeva borî lehiyê gelek mal û dikan xistin bin avê û rêya Cizîr – Silopiyê hat girtin.

Rêveberiya Karesatan ragihand ku tîmên rizgarkirinê zêdetirî sî kesên ku di malên xwe de asê mabûn bi botan rizgar kirine.

Li gorî agahiyên destpêkê, kesek jiyana xwe ji dest nedaye lê bi dehan wesayît ji aliyê avê ve hatine rakirin û zirareke mezin gihiştiye çandiniyê.

Niştecih rexne li şaredariyê digirin ku kanalên avê yên bajêr bi salan nehatine paqijkirin.

Meteorolojiyê hişyarî da ku baran dê heta dawiya hefteyê li herêmê berdewam bike.""",
        "lead": """Zêdetirî sî kes bi botan ji malên xwe hatin rizgarkirin dema ku piştî barana şeva borî lehiyê kolanên Cizîrê xistin bin avê û rêya Silopiyê girt.""",
        "other": """Cotkarên li deşta Cizîrê dibêjin ku lehiya dawî zeviyên wan ên genim û pembû bi tevahî xera kirine û ew ji dewletê alîkarî dixwazin.

Cotkarekî ji gundê Kebeleyê got ku wî hemû tov û zibilê xwe bi deyn kirîbû û niha nizane çawa deyn bide.

Niştecih rexne li şaredariyê digirin ku kanalên avê yên bajêr bi salan nehatine paqijkirin.

Odeya Çandiniyê ya Şirnexê soz da ku zirarê tespît bike.""",
        "furniture": ("Parve bike", "Cizîr – Nûçegihanê me: ",
                      "Bixwîne: Li Amedê bihayê nan bilind bû",
                      "Me li ser Telegramê bişopînin da ku nûçeyên dawî bistînin"),
    },
}
LANGS = tuple(STORIES)


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def syndicated(lang: str) -> str:
    """Another outlet's copy: its dateline, share line, "read also" and footer."""
    share, dateline, read_also, footer = STORIES[lang]["furniture"]
    paras = paragraphs(STORIES[lang]["body"])
    return "\n\n".join([share, dateline + paras[0], *paras[1:], read_also, footer])


def truncated(lang: str, parts: int = 2) -> str:
    paras = paragraphs(STORIES[lang]["body"])
    share, dateline, _, footer = STORIES[lang]["furniture"]
    head = paras[: -(-len(paras) // parts)]
    return "\n\n".join([share, dateline + head[0], *head[1:], footer])


def reworded(lang: str) -> str:
    paras = paragraphs(STORIES[lang]["body"])
    return "\n\n".join([STORIES[lang]["lead"], *paras[1:]])


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class World:
    """A resolver over the reference in-memory store, driven like the pipeline drives it."""

    def __init__(self, config: DedupConfig = DedupConfig()) -> None:
        self.stories = MemoryStories()
        self.clock = Clock()
        self.resolver = StoryResolver(self.stories, config, clock=self.clock)

    def put(self, key: str, body: str, lang: str, ts: float = T0, source: str = "",
            content_hash: str | None = None):
        self.clock.now = max(self.clock.now, ts)
        cand = Candidate(key, body, lang, ts, source or key.split("/")[0], content_hash)
        decision = self.resolver.resolve(cand)
        article_id, story_id = self.stories.apply(cand, decision)
        self.resolver.commit(decision, article_id, story_id, ts)
        return decision, story_id


# ------------------------------------------------------------------ fingerprints
@pytest.mark.parametrize("lang", LANGS)
def test_fingerprint_ignores_spacing_punctuation_and_invisible_marks(lang: str) -> None:
    body = STORIES[lang]["body"]
    respaced = "  " + body.replace("\n\n", "\n \n\n").replace(" ", "  ") + "\n"
    repunctuated = body.replace(".", " . ").replace("،", ",").replace("–", "-")
    with_zwnj = body.replace(" ", " \u200c", 5)
    fp = body_fingerprint(body, lang)
    assert len(fp) == 32 and int(fp, 16) >= 0
    assert body_fingerprint(respaced, lang) == fp
    assert body_fingerprint(repunctuated, lang) == fp
    assert body_fingerprint(with_zwnj, lang) == fp


def test_fingerprint_folds_arabic_spelling_variants() -> None:
    plain = "قالت وزارة الدفاع إن الهجوم وقع قرب مدينة الرقة"
    decorated = "قالـت وزارةُ الدفاعِ إنّ الهجومَ وقعَ قربَ مدينةِ الرقّة"
    assert body_fingerprint(decorated, "ar") == body_fingerprint(plain, "ar")


@pytest.mark.parametrize("lang", LANGS)
def test_fingerprint_changes_when_a_word_changes(lang: str) -> None:
    body = STORIES[lang]["body"]
    paras = paragraphs(body)
    edited = "\n\n".join(paras[:-1])
    assert body_fingerprint(edited, lang) != body_fingerprint(body, lang)
    assert body_fingerprint(body.replace("ا", "ب", 1) if lang != "kmr"
                            else body.replace("a", "e", 1), lang) != body_fingerprint(body, lang)


# ------------------------------------------------------------------ signatures
def test_signature_is_compact_bytes_and_validated() -> None:
    sig = signature(STORIES["ar"]["body"], "ar")
    assert isinstance(sig, bytes) and len(sig) == 10 + 4 * 64
    minhash, size = decode_signature(sig)
    assert minhash.shape == (64,) and size > 50
    assert signature(STORIES["ar"]["body"], "ar") == sig          # deterministic
    with pytest.raises(SignatureError):
        decode_signature(b"not a signature at all")
    with pytest.raises(SignatureError):
        decode_signature(signature("a b c d e f g", None, k=3), k=4)


# ------------------------------------------------------------------ near-duplicate decisions
@pytest.mark.parametrize("lang", LANGS)
def test_copies_join_the_story_and_other_reports_do_not(lang: str) -> None:
    world = World()
    first, story = world.put("a.example/1", STORIES[lang]["body"], lang, T0, "outlet-a")
    assert first.kind == "new"
    expectations = [
        ("b.example/1", syndicated(lang), "join"),            # other furniture
        ("c.example/1", truncated(lang), "join"),             # first half + furniture
        ("d.example/1", reworded(lang), "join"),              # reworded first paragraph
        ("e.example/1", STORIES[lang]["body"], "duplicate"),  # exact copy (headline may differ)
    ]
    for key, body, kind in expectations:
        decision, joined = world.put(key, body, lang, T0 + 3600)
        assert (decision.kind, joined) == (kind, story), key
    other, other_story = world.put("f.example/1", STORIES[lang]["other"], lang, T0 + 7200)
    assert other.kind == "new" and other_story != story
    assert world.stories.stories[story].outlets == {"outlet-a", "b.example", "c.example",
                                                    "d.example", "e.example"}


@pytest.mark.parametrize("lang,parts", [("ar", 5), ("ckb", 3), ("kmr", 5)])
def test_verify_uses_containment_for_a_truncated_copy(lang: str, parts: int) -> None:
    """A lead-only teaser (1/5 of the paragraphs, or 2/5 for the short Sorani lead) with
    furniture: low Jaccard, but most of its shingles are in the full article."""
    full, teaser = sketch(STORIES[lang]["body"], lang), sketch(truncated(lang, parts), lang)
    containment_only = DedupConfig(jaccard_min=1.01)
    assert verify(full, teaser, containment_only).same_story
    if parts == 5:
        assert verify(full, teaser).jaccard < DedupConfig().jaccard_min
        assert verify(full, teaser).same_story
    assert not verify(full, sketch(STORIES[lang]["other"], lang), containment_only).same_story


def test_languages_do_not_mix() -> None:
    world = World()
    stories = {world.put(f"{lang}.example/1", STORIES[lang]["body"], lang)[1] for lang in LANGS}
    assert len(stories) == 3


def test_short_texts_never_join() -> None:
    world = World()
    caption = "شاهد الفيديو"
    assert world.put("a.example/v1", caption, "ar")[0].kind == "new"
    assert world.put("b.example/v2", caption, "ar")[0].kind == "new"


# ------------------------------------------------------------------ same URL: update / unchanged
def test_same_url_is_unchanged_or_updated_never_new() -> None:
    world = World()
    body = STORIES["ar"]["body"]
    first, story = world.put("rok.example/raqqa", body, "ar", content_hash="h1")
    again, _ = world.put("rok.example/raqqa", body.replace("\n\n", "\n\n\n"), "ar",
                         content_hash="h1")
    assert again.kind == "unchanged" and again.story_id == story
    retitled, _ = world.put("rok.example/raqqa", body, "ar", content_hash="h2-new-title")
    assert retitled.kind == "update"
    edited_body = body + "\n\nتحديث: أعلنت هيئة الزراعة مساءً تعويض المزارعين المتضررين."
    edited, _ = world.put("rok.example/raqqa", edited_body, "ar", content_hash="h3")
    assert (edited.kind, edited.story_id, edited.article_id) == ("update", story, 1)
    assert len(world.stories.articles) == 1 and world.stories.articles[1].revision == 3
    # the stored fingerprint and the index follow the edit
    copy, copy_story = world.put("npa.example/1", edited_body, "ar")
    assert (copy.kind, copy_story) == ("duplicate", story)
    assert len(world.resolver.index) == 2


def test_representative_is_the_first_published_copy() -> None:
    world = World()
    _, story = world.put("late.example/1", STORIES["kmr"]["body"], "kmr", T0 + 600)
    world.put("early.example/1", syndicated("kmr"), "kmr", T0)
    record = world.stories.stories[story]
    assert world.stories.articles[record.representative_id].url_key == "early.example/1"
    assert record.first_seen == T0 and record.last_seen == T0 + 600


# ------------------------------------------------------------------ window
def test_stories_older_than_the_window_are_not_candidates() -> None:
    world = World(DedupConfig(window_days=30))
    _, story = world.put("a.example/1", STORIES["ckb"]["body"], "ckb", T0)
    within, joined = world.put("b.example/1", syndicated("ckb"), "ckb", T0 + 10 * DAY)
    assert (within.kind, joined) == ("join", story)
    # 31 days after the last copy: the story has left the window (and the index)
    late, late_story = world.put("c.example/1", truncated("ckb"), "ckb", T0 + 41 * DAY)
    assert late.kind == "new" and late_story != story
    matches = world.resolver.index.query(sketch(STORIES["ckb"]["body"], "ckb"), at=T0 + 41 * DAY)
    assert matches and all(m.story_id != story for m in matches)
    # exact copies follow the same window: this one joins the new story, not the old one
    old_copy, copy_story = world.put("d.example/1", STORIES["ckb"]["body"], "ckb", T0 + 41 * DAY)
    assert (old_copy.kind, copy_story) == ("join", late_story)


def test_evict_older_than_and_backfill_isolation() -> None:
    index = NearDuplicateIndex(window_days=30)
    sigs = {lang: sketch(STORIES[lang]["body"], lang) for lang in LANGS}
    for n, lang in enumerate(LANGS):
        index.add(n + 1, n + 1, sigs[lang], T0 + n * 20 * DAY)
    assert len(index) == 3
    # an archive article from a year before does not see today's stories
    assert index.query(sigs["ar"], at=T0 - 365 * DAY) == []
    assert index.evict_older_than(T0 + 1) == 1
    assert len(index) == 2 and 1 not in index
    assert index.query(sigs["ar"]) == []
    assert [m.article_id for m in index.query(sigs["kmr"])] == [3]


def test_many_evictions_compact_and_keep_answers() -> None:
    rng = np.random.default_rng(3)
    index = NearDuplicateIndex()
    texts = [" ".join(f"w{x}" for x in rng.integers(0, 5000, 80)) for _ in range(6000)]
    for i, text in enumerate(texts):
        index.add(i, i, signature(text, None), T0 + i)
    assert index.evict_older_than(T0 + 5000) == 5000
    assert index.stats()["rows"] == 1000            # tombstones compacted away
    assert [m.article_id for m in index.query(signature(texts[5500], None))][:1] == [5500]
    assert index.query(signature(texts[10], None)) == []


# ------------------------------------------------------------------ rebuild
def test_rebuild_from_stored_rows_gives_the_same_answers() -> None:
    world = World()
    for lang in LANGS:
        world.put(f"{lang}-a.example/1", STORIES[lang]["body"], lang)
        world.put(f"{lang}-b.example/1", syndicated(lang), lang)
        world.put(f"{lang}-c.example/1", STORIES[lang]["other"], lang)
    rows = world.stories.signature_rows()
    rows.append((999, 999, b"garbage from an old version", T0))   # skipped, not fatal
    rebuilt = NearDuplicateIndex.from_rows(rows)
    original = world.resolver.index
    assert len(rebuilt) == len(original) == 9
    for lang in LANGS:
        for text in (truncated(lang), reworded(lang), STORIES[lang]["other"]):
            probe = sketch(text, lang)
            assert rebuilt.query(probe) == original.query(probe)
    # a resolver on the rebuilt index decides as the original one did
    fresh = StoryResolver(world.stories, clock=Clock(T0))
    fresh.index = rebuilt
    decision = fresh.resolve(Candidate("z.example/1", truncated("kmr"), "kmr", T0))
    assert decision.kind == "join"
    assert decision.story_id == world.stories.articles[7].story_id


def test_update_replaces_the_indexed_signature() -> None:
    index = NearDuplicateIndex()
    index.add(1, 1, sketch(STORIES["ar"]["body"], "ar"), T0)
    index.add(1, 1, sketch(STORIES["kmr"]["body"], "kmr"), T0)
    assert len(index) == 1
    assert index.query(sketch(STORIES["ar"]["body"], "ar")) == []
    assert index.query(sketch(STORIES["kmr"]["body"], "kmr"))[0].similarity == 1.0
