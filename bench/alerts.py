"""Alert matcher benchmark: articles/s at 10, 1,000 and 10,000 rules, and the slowdown 10 → 10,000.

Example:
    .venv/bin/python bench/alerts.py                 # default: 1,000 articles
    .venv/bin/python bench/alerts.py --json bench/results/alerts.json

Rules are generated like real monitoring rules: places, organisations and people, each a concept
group with Arabic, Sorani, Kurmanji and English spellings (multi-word phrases for people and
organisations, three-word names sharing first names with thousands of other rules), some with
``all`` topics, ``none`` vetoes, language and source filters. Articles (ar 40 %, ckb 20 %,
kmr 20 %, en 20 %) are news paragraphs built from templates filled with the same places, names,
organisations and topics (so rules really fire), plus unseen words (~6 % of tokens) so the
token cache never sees only known words.

Goals (issue 6): ≥ 2,000 articles/s at 10,000 rules, ≤ 1.5× slowdown from 10 to 10,000 rules.
"warm" is the steady state of a running crawler (the per-chunk token cache holds the common
vocabulary): warm passes of all rule counts are taken in turn and the best pass of each is its
figure (the median is printed too). "cold" is the first pass right after the cache was cleared.
Throughput is measured through ``Matcher.match_groups``, the call the alert pipeline makes; the
per-rule ``Matcher.match`` (one object per fired rule) is reported alongside. "CPU µs/art" is
the process CPU time of the best warm pass per article: the figure to compare on a loaded
machine, where wall time measures the neighbours.
"""
from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jsonout import write_json  # noqa: E402

from crawler.alerts import Matcher, Recipient, Rule  # noqa: E402
from crawler.alerts.matcher import _chunk_tokens, _Field  # noqa: E402
from crawler.text import tokens  # noqa: E402

LANGS = ("ar", "ckb", "kmr", "en")
SOURCES = ("rudaw-ar", "rudaw-ckb", "rudaw-kmr", "anha-ar", "anha-kmr", "rok-online", "k24-ckb",
           "k24-en", "enab-baladi", "north-press-en", "kurdistan24-ar", "hawar-kmr")

# (ar, ckb, kmr, en)
PLACES = [
    ("الرقة", "ڕەققە", "Reqa", "Raqqa"), ("كوباني", "کۆبانێ", "Kobanî", "Kobani"),
    ("القامشلي", "قامیشلۆ", "Qamişlo", "Qamishli"), ("الحسكة", "حەسەکە", "Hesîçe", "Hasakah"),
    ("دير الزور", "دێرەزوور", "Dêrazor", "Deir ez-Zor"), ("حلب", "حەلەب", "Heleb", "Aleppo"),
    ("دمشق", "دیمەشق", "Şam", "Damascus"), ("إدلب", "ئیدلب", "Îdlib", "Idlib"),
    ("عفرين", "عەفرین", "Efrîn", "Afrin"), ("منبج", "مەنبج", "Minbic", "Manbij"),
    ("الموصل", "موسڵ", "Mûsil", "Mosul"), ("كركوك", "کەرکووک", "Kerkûk", "Kirkuk"),
    ("أربيل", "هەولێر", "Hewlêr", "Erbil"), ("السليمانية", "سلێمانی", "Silêmanî", "Sulaymaniyah"),
    ("دهوك", "دهۆک", "Duhok", "Duhok"), ("سنجار", "شنگال", "Şengal", "Sinjar"),
    ("بغداد", "بەغدا", "Bexda", "Baghdad"), ("البصرة", "بەسرە", "Besra", "Basra"),
    ("حلبجة", "هەڵەبجە", "Helebce", "Halabja"), ("تل أبيض", "گرێ سپی", "Girê Spî", "Tal Abyad"),
    ("رأس العين", "سەرێکانی", "Serêkaniyê", "Ras al-Ayn"),
    ("ديار بكر", "ئامەد", "Amed", "Diyarbakir"),
    ("إسطنبول", "ئەستەنبوڵ", "Stenbol", "Istanbul"), ("أنقرة", "ئەنقەرە", "Enqere", "Ankara"),
    ("طهران", "تاران", "Tehran", "Tehran"), ("كرمانشاه", "کرماشان", "Kirmaşan", "Kermanshah"),
    ("مهاباد", "مەهاباد", "Mehabad", "Mahabad"), ("عين عيسى", "عەین عیسا", "Eyn Îsa", "Ain Issa"),
    ("الطبقة", "تەبقە", "Tebqa", "Tabqa"), ("هجين", "هەجین", "Hecîn", "Hajin"),
    ("الباغوز", "باغوز", "Baxoz", "Baghouz"), ("زاخو", "زاخۆ", "Zaxo", "Zakho"),
]
ORGS = [
    ("قوات سوريا الديمقراطية", "هێزەکانی سووریای دیموکرات", "Hêzên Sûriya Demokratîk",
     "Syrian Democratic Forces"),
    ("الأمم المتحدة", "نەتەوە یەکگرتووەکان", "Neteweyên Yekbûyî", "United Nations"),
    ("الحكومة العراقية", "حکومەتی عێراق", "Hikûmeta Iraqê", "Iraqi government"),
    ("حكومة إقليم كردستان", "حکومەتی هەرێمی کوردستان", "Hikûmeta Herêma Kurdistanê",
     "Kurdistan Regional Government"),
    ("الإدارة الذاتية", "ئیدارەی خۆسەر", "Rêveberiya Xweser", "Autonomous Administration"),
    ("الهلال الأحمر", "مانگی سوور", "Heyva Sor", "Red Crescent"),
    ("وزارة الدفاع التركية", "وەزارەتی بەرگریی تورکیا", "Wezareta Parastinê ya Tirkiyê",
     "Turkish Defence Ministry"),
    ("هيئة تحرير الشام", "دەستەی تەحریری شام", "Heyeta Tehrîr el-Şam", "Hayat Tahrir al-Sham"),
    ("التحالف الدولي", "هاوپەیمانی نێودەوڵەتی", "Hevpeymaniya Navdewletî",
     "international coalition"),
    ("قوات البيشمركة", "هێزەکانی پێشمەرگە", "Hêzên Pêşmerge", "Peshmerga forces"),
    ("منظمة العفو الدولية", "ڕێکخراوی لێبوردنی نێودەوڵەتی", "Rêxistina Efûyê ya Navneteweyî",
     "Amnesty International"),
    ("تنظيم داعش", "ڕێکخراوی داعش", "rêxistina DAIŞ", "ISIS"),
]
TOPICS = [
    ("الانتخابات", "هەڵبژاردن", "hilbijartin", "elections"),
    ("تظاهرة", "خۆپیشاندان", "xwepêşandan", "protests"),
    ("إعادة الإعمار", "ئاوەدانکردنەوە", "avakirina nû", "reconstruction"),
    ("المياه", "ئاو", "av", "water"), ("اللاجئين", "پەنابەران", "penaberan", "refugees"),
    ("النفط", "نەوت", "petrol", "oil"), ("الأسرى", "دیلەکان", "girtiyan", "prisoners"),
    ("الزلزال", "بوومەلەرزە", "erdhej", "earthquake"),
    ("الطائرات المسيرة", "درۆن", "dron", "drones"),
    ("الكهرباء", "کارەبا", "elektrîk", "electricity"),
    ("التعليم", "پەروەردە", "perwerde", "education"),
    ("الصحفيين", "ڕۆژنامەنووسان", "rojnamevanan", "journalists"),
]
# (Arabic script, Latin script)
FIRST = [("أحمد", "Ahmed"), ("محمد", "Mohammed"), ("علي", "Ali"), ("حسن", "Hassan"),
         ("حسين", "Hussein"), ("عمر", "Omar"), ("خالد", "Khalid"), ("محمود", "Mahmoud"),
         ("إبراهيم", "Ibrahim"), ("يوسف", "Youssef"), ("مصطفى", "Mustafa"), ("صالح", "Salih"),
         ("جمال", "Jamal"), ("كريم", "Karim"), ("رشيد", "Rashid"), ("نادية", "Nadia"),
         ("ليلى", "Leyla"), ("زينب", "Zainab"), ("فاطمة", "Fatima"), ("هيفين", "Hevin"),
         ("روجين", "Rojin"), ("شيرين", "Shirin"), ("آراس", "Aras"), ("ديلان", "Dilan"),
         ("باران", "Baran"), ("آزاد", "Azad"), ("شيروان", "Sherwan"), ("مسعود", "Masoud"),
         ("بافل", "Bafel"), ("قباد", "Qubad"), ("إلهام", "Ilham"), ("مظلوم", "Mazloum"),
         ("سيبان", "Siban"), ("نوروز", "Newroz"), ("هوشيار", "Hoshyar"), ("دلشاد", "Dilshad")]
FAMILY = [("الجبوري", "al-Jubouri"), ("العبيدي", "al-Obeidi"), ("الخلف", "al-Khalaf"),
          ("عبدي", "Abdi"), ("حمو", "Hamo"), ("شيخو", "Sheikho"), ("عثمان", "Othman"),
          ("درويش", "Darwish"), ("خليل", "Khalil"), ("رسول", "Rasul"), ("عزيز", "Aziz"),
          ("قادر", "Qadir"), ("أمين", "Amin"), ("فرج", "Faraj"), ("حميد", "Hamid"),
          ("جابر", "Jaber"), ("نوري", "Nouri"), ("صبري", "Sabri"), ("طه", "Taha"),
          ("زكي", "Zaki"), ("بارزاني", "Barzani"), ("طالباني", "Talabani"), ("إيبو", "Ibo"),
          ("كوجر", "Kocher"), ("سليمان", "Suleiman"), ("مراد", "Murad"), ("بكر", "Bakr"),
          ("الأحمد", "al-Ahmad"), ("الحسن", "al-Hassan"), ("العلي", "al-Ali")]

# villages: a prefix (ar, ckb, kmr, en) + a root (Arabic, Latin) — hundreds of two-word place
# names that share their first word, like real village lists
PREFIXES = [("تل", "تل", "Girê", "Tal"), ("عين", "عەین", "Eyn", "Ain"),
            ("كفر", "کفر", "Kefer", "Kafr"),
            ("دير", "دێر", "Dêr", "Deir"), ("خربة", "خڕبە", "Xirbe", "Khirbet"),
            ("أم", "ئوم", "Um", "Umm"), ("بئر", "بیر", "Bîr", "Bir"),
            ("جسر", "جسر", "Pira", "Jisr")]
ROOTS = [("الحمام", "al-Hammam"), ("النصر", "al-Nasr"), ("الزهور", "al-Zuhur"),
         ("البيضاء", "al-Bayda"), ("السمرة", "al-Samra"), ("الحمرا", "al-Hamra"),
         ("تمر", "Tamr"), ("الجوز", "al-Jawz"), ("الرمان", "al-Rumman"), ("الغزال", "al-Ghazal"),
         ("الذهب", "al-Dhahab"), ("حلوة", "Helwa"), ("الخضر", "al-Khidr"), ("الشيخ", "al-Sheikh"),
         ("البنات", "al-Banat"), ("الهوى", "al-Hawa"), ("كبير", "Kabir"), ("صغير", "Saghir"),
         ("الجديدة", "al-Jadida"), ("القديمة", "al-Qadima"), ("الشرقية", "al-Sharqiya"),
         ("الغربية", "al-Gharbiya"), ("الفوقاني", "al-Fawqani"), ("التحتاني", "al-Tahtani"),
         ("السبع", "al-Saba"), ("الخيل", "al-Khayl"), ("الريح", "al-Rih"), ("النخل", "al-Nakhl"),
         ("الزيتون", "al-Zaytun"), ("التين", "al-Tin"), ("العنب", "al-Inab"), ("الحجر", "al-Hajar"),
         ("الورد", "al-Ward"), ("الصفا", "al-Safa"), ("المرج", "al-Marj"), ("الوادي", "al-Wadi"),
         ("الجبل", "al-Jabal"), ("السهل", "al-Sahl"), ("الحصن", "al-Hisn"), ("القصر", "al-Qasr"),
         ("البرج", "al-Burj"), ("الخان", "al-Khan"), ("السوق", "al-Suq"), ("الجامع", "al-Jami"),
         ("العيون", "al-Uyun"), ("الرمل", "al-Raml"), ("السدرة", "al-Sidra"),
         ("البلوط", "al-Ballut"), ("الصنوبر", "al-Sanawbar"), ("الكرمة", "al-Karma"),
         ("الدلبة", "al-Dulba"), ("الحور", "al-Hawr"), ("البطم", "al-Butm"), ("الفرس", "al-Faras"),
         ("الحية", "al-Hayya"), ("النسور", "al-Nusur"), ("الأكراد", "al-Akrad"),
         ("الطويل", "Tawil")]
VILLAGES = [(p[0] + " " + r[0], p[1] + " " + r[0], p[2] + " " + r[1], p[3] + " " + r[1])
            for p in PREFIXES for r in ROOTS]

SENTENCES = {
    "ar": [
        "قالت مصادر محلية إن {o} أرسلت تعزيزات عسكرية إلى {p} خلال الساعات الماضية.",
        "وأكد {n} في تصريح صحفي أن الوضع الأمني في {p} ما زال متوتراً.",
        "وشهدت مدينة {p} اليوم نقاشاً واسعاً حول {t} شارك فيه المئات من الأهالي.",
        "وذكر المرصد أن {d} مدنيين قتلوا في قصف استهدف ريف {p} الشرقي.",
        "من جهته، دعا {n} إلى فتح تحقيق مستقل في ملابسات الحادثة.",
        "وتعاني المخيمات في محيط {p} من نقص حاد في المياه والأدوية مع اقتراب فصل الشتاء.",
        "وأعلنت {o} في بيان رسمي أنها ستواصل عملياتها حتى تحقيق أهدافها.",
        "وبحسب الأرقام الرسمية، عاد أكثر من {d} ألف نازح إلى منازلهم في {p} منذ بداية العام.",
        "وأشار التقرير إلى أن أسعار المواد الغذائية ارتفعت بنسبة {d} بالمئة خلال الشهر الماضي.",
        "وتأتي هذه التطورات بعد أيام من اجتماع عقد في {p} بين ممثلين عن {o} ومسؤولين محليين.",
        "وقال {n} إن الحكومة ستخصص {d} مليون دولار لإعادة تأهيل البنية التحتية.",
        "ولم تعلق {o} على هذه الأنباء حتى لحظة إعداد هذا التقرير.",
        "ويرى مراقبون أن ملف {t} سيبقى حاضراً في المفاوضات المقبلة.",
        "وأفاد مراسلنا في {p} بأن حركة المرور عادت إلى طبيعتها صباح اليوم.",
        "وكانت {o} قد أعلنت في وقت سابق عن خطة لتأمين الطرق الرئيسية بين {p} و{p2}.",
    ],
    "ckb": [
        "سەرچاوە ناوخۆییەکان ڕایانگەیاند کە {o} هێزی زیاتری ناردووەتە {p}.",
        "{n} لە لێدوانێکی ڕۆژنامەوانیدا ڕایگەیاند کە بارودۆخی ئەمنی لە {p} هێشتا ئاڵۆزە.",
        "ئەمڕۆ لە شاری {p} سەدان کەس بەشدارییان لە گفتوگۆیەک دەربارەی {t} کرد.",
        "بەپێی ڕاپۆرتەکە، {d} هاووڵاتی لە بۆردومانێکدا لە دەوروبەری {p} گیانیان لەدەستدا.",
        "{n} داوای لێکۆڵینەوەیەکی سەربەخۆی کرد.",
        "کەمپەکانی دەوروبەری {p} بە دەست کەمیی ئاو و دەرمانەوە دەناڵێنن.",
        "{o} لە بەیاننامەیەکدا ڕایگەیاند کە بەردەوام دەبێت لە کارەکانی.",
        "زیاتر لە {d} هەزار ئاوارە گەڕاونەتەوە بۆ ماڵەکانیان لە {p}.",
        "نرخی کاڵا خۆراکییەکان لە مانگی ڕابردوودا {d} لە سەد بەرز بووەتەوە.",
        "ئەم پێشهاتانە دوای کۆبوونەوەیەک لە {p} دێن لە نێوان نوێنەرانی {o} و بەرپرسانی ناوخۆیی.",
        "{n} وتی حکومەت {d} ملیۆن دۆلار بۆ نوێکردنەوەی ژێرخان تەرخان دەکات.",
        "تا ئێستا {o} هیچ لێدوانێکی لەسەر ئەم هەواڵانە نەداوە.",
        "چاودێران پێیان وایە دۆسیەی {t} لە دانوستانەکانی داهاتوودا ئامادە دەبێت.",
        "پەیامنێری ئێمە لە {p}دا ڕایگەیاند کە هاتوچۆ ئاسایی بووەتەوە.",
        "ڕێگای نێوان {p} و {p2} دوای چاککردنەوە کرایەوە.",
    ],
    "kmr": [
        "Çavkaniyên herêmî ragihandin ku {o} hêzên nû şandine {p}.",
        "{n} di daxuyaniyekê de got ku rewşa ewlehiyê li {p} hê jî aloz e.",
        "Îro li bajarê {p} bi sedan kes beşdarî gotûbêjeke li ser {t} bûn.",
        "Li gorî raporê, {d} sivîl di bombebaranekê de li derdora {p} jiyana xwe ji dest dan.",
        "{n} bang li lêkolîneke serbixwe kir.",
        "Kampên li derdora {p} bi kêmbûna av û dermanan re rû bi rû ne.",
        "{o} di daxuyaniyekê de diyar kir ku wê xebatên xwe bidomîne.",
        "Zêdetirî {d} hezar koçber vegeriyan malên xwe yên li {p}.",
        "Bihayê xwarinê di meha borî de ji sedî {d} zêde bû.",
        "Ev pêşketin piştî civîneke li {p} di navbera nûnerên {o} û berpirsên herêmî de tên.",
        "{n} got ku hikûmet dê {d} milyon dolar ji bo binesaziyê veqetîne.",
        "Heta niha {o} li ser van nûçeyan tu şîrove nekiriye.",
        "Çavdêr dibêjin ku dosyaya {t} dê di danûstandinên pêş de cih bigire.",
        "Nûçegihanê me li {p}ê ragihand ku hatin û çûn normal bûye.",
        "Riya di navbera {p} û {p2} de piştî tamîrê hat vekirin.",
    ],
    "en": [
        "Local sources said the {o} had sent reinforcements to {p} over the past hours.",
        "{n} told reporters that the security situation in {p} remained tense.",
        "Hundreds of residents in {p} took part in a debate on {t} on Monday.",
        "According to the monitor, {d} civilians were killed in shelling near {p}.",
        "{n} called for an independent investigation into the incident.",
        "Camps around {p} face severe shortages of water and medicine as winter approaches.",
        "The {o} said in a statement that it would continue its operations.",
        "More than {d} thousand displaced people have returned to their homes in {p} this year.",
        "Food prices rose by {d} percent last month, the report said.",
        "The developments come days after a meeting in {p} between the {o} and local officials.",
        "{n} said the government would allocate {d} million dollars to rebuild infrastructure.",
        "The {o} has not commented on the reports.",
        "Observers say the issue of {t} will feature in the coming negotiations.",
        "Our correspondent in {p} said traffic had returned to normal.",
        "The road between {p} and {p2} reopened after repairs.",
    ],
}
TITLES = {
    "ar": ["{o} ترسل تعزيزات إلى {p}", "عودة آلاف النازحين إلى {p}",
           "{n}: الوضع في {p} ما زال متوتراً", "ارتفاع أسعار الخبز في {p}"],
    "ckb": ["{o} هێز دەنێرێتە {p}", "گەڕانەوەی هەزاران ئاوارە بۆ {p}", "{n}: بارودۆخی {p} ئاڵۆزە"],
    "kmr": ["{o} hêz dişîne {p}", "Bi hezaran koçber vegeriyan {p}", "{n}: Rewşa {p} aloz e"],
    "en": ["{o} sends reinforcements to {p}", "Thousands of displaced return to {p}",
           "{n}: situation in {p} remains tense"],
}
_LETTERS = {"ar": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي", "ckb": "ابپتجچحخدرڕزژسشعغفڤقکگلڵمنهەوۆیێ",
            "kmr": "abcçdeêfghiîjklmnopqrsştuûvwxyz", "en": "abcdefghijklmnopqrstuvwxyz"}


def _lang_index(lang: str) -> int:
    return LANGS.index(lang)


def _person(rng: random.Random, words: int) -> tuple[str, str]:
    parts = [rng.choice(FIRST)] + [rng.choice(FIRST if k < words - 2 else FAMILY)
                                   for k in range(words - 1)]
    return " ".join(p[0] for p in parts), " ".join(p[1] for p in parts)


def _rare_word(rng: random.Random, lang: str) -> str:
    return "".join(rng.choice(_LETTERS[lang]) for _ in range(rng.randint(5, 9)))


def make_articles(n: int, seed: int = 1) -> list[dict]:
    """News articles of realistic length (≈ 350–450 words) in ar/ckb/kmr/en, each about a few
    places, people, organisations and topics that recur through the text, like a real story."""
    rng = random.Random(seed)
    place_weights = [1.0 / (k + 1) ** 0.8 for k in range(len(PLACES))]   # Zipf-like
    out = []
    for _ in range(n):
        lang = rng.choices(LANGS, weights=(4, 2, 2, 2))[0]
        li = _lang_index(lang)
        places = [p[li] for p in rng.choices(PLACES, weights=place_weights,
                                             k=rng.choice((1, 2, 2, 3)))]
        if rng.random() < 0.5:
            places.append(rng.choice(VILLAGES)[li])
        people = [_person(rng, rng.choice((2, 2, 3)))[0 if lang in ("ar", "ckb") else 1]
                  for _ in range(rng.randint(1, 3))]
        orgs = [o[li] for o in rng.sample(ORGS, rng.randint(1, 2))]
        topics = [t[li] for t in rng.sample(TOPICS, rng.randint(1, 2))]

        def fill(template: str) -> str:
            text = template.format(p=rng.choice(places), p2=rng.choice(places + places[:1]),
                                   o=rng.choice(orgs), n=rng.choice(people),
                                   t=rng.choice(topics), d=rng.randint(2, 950))
            if rng.random() < 0.9:        # unseen words: names, typos, rare vocabulary
                words = text.split(" ")
                for _ in range(rng.randint(1, 2)):
                    words.insert(rng.randrange(len(words)), _rare_word(rng, lang))
                text = " ".join(words)
            return text

        title = fill(rng.choice(TITLES[lang]))
        paragraphs = [" ".join(fill(rng.choice(SENTENCES[lang])) for _ in range(rng.randint(2, 4)))
                      for _ in range(rng.randint(7, 10))]
        out.append({"title": title, "body": "\n\n".join(paragraphs), "language": lang,
                    "source": rng.choice(SOURCES)})
    return out


def make_rules(n: int, seed: int = 2) -> list[Rule]:
    """``n`` monitoring rules; the first k of make_rules(n) equal make_rules(k). Mostly specific
    (people, villages, place + topic, organisation + topic), a few broad (a city or an
    organisation alone), as when many editors watch their own beats."""
    rng = random.Random(seed)
    place_weights = [1.0 / (k + 1) ** 0.8 for k in range(len(PLACES))]
    rules = []
    recipients = (Recipient("desk@example.org"),)
    for i in range(n):
        groups: list[tuple[str, ...]] = []
        all_groups: tuple[tuple[str, ...], ...] = ()
        kind = rng.random()
        if kind < 0.47:                               # people, sometimes two in one rule
            for _ in range(rng.choice((1, 1, 2))):
                groups.append(_person(rng, rng.choice((2, 2, 3))))
        elif kind < 0.67:                             # villages
            groups.append(tuple(dict.fromkeys(rng.choice(VILLAGES))))
        elif kind < 0.84:                             # a place and a topic
            groups.append(tuple(dict.fromkeys(rng.choices(PLACES, weights=place_weights)[0])))
            all_groups = (tuple(rng.choice(TOPICS)),)
        elif kind < 0.97:                             # an organisation and a topic
            groups.append(tuple(dict.fromkeys(rng.choice(ORGS))))
            all_groups = (tuple(rng.choice(TOPICS)),)
        elif kind < 0.99:                             # a whole city
            groups.append(tuple(dict.fromkeys(rng.choices(PLACES, weights=place_weights)[0])))
        else:                                         # a whole organisation
            groups.append(tuple(dict.fromkeys(rng.choice(ORGS))))
        none_groups = (tuple(rng.choice(TOPICS)),) if rng.random() < 0.1 else ()
        languages = tuple(rng.sample(LANGS, rng.randint(1, 2))) if rng.random() < 0.15 else ()
        sources = tuple(rng.sample(SOURCES, rng.randint(1, 3))) if rng.random() < 0.1 else ()
        rules.append(Rule(name=f"rule-{i:05d}", any=tuple(groups), all=all_groups,
                          none=none_groups, languages=languages, sources=sources,
                          recipients=recipients))
    return rules


def make_absent_rules(n: int, seed: int = 3) -> list[Rule]:
    """``n`` rules shaped like make_rules' (concept groups in four spellings, two- and
    three-word phrases sharing first words) over words that never occur in the articles:
    isolates what the number of rules costs when nothing matches."""
    rng = random.Random(seed)
    firsts = {lang: [_rare_word(rng, lang) for _ in range(40)] for lang in LANGS}
    rules = []
    for i in range(n):
        k = rng.randrange(40)
        groups = (tuple(firsts[lang][k] + " " + _rare_word(rng, lang)
                        + (" " + _rare_word(rng, lang) if rng.random() < 0.3 else "")
                        for lang in LANGS),)
        rules.append(Rule(name=f"absent-{i:05d}", any=groups,
                          recipients=(Recipient("desk@example.org"),)))
    return rules


def _pass(matcher: Matcher, articles: list[dict], per_rule: bool = False) -> tuple[float, int]:
    """Seconds to match every article once, and the number of rule matches. By default through
    ``match_groups`` (what the alert pipeline calls); ``per_rule``: through ``match``, which
    builds one RuleMatch per rule (the CLI's and the tests' convenience)."""
    matches = 0
    started = time.perf_counter()
    if per_rule:
        for a in articles:
            matches += len(matcher.match(a["title"], a["body"], language=a["language"],
                                         source=a["source"]))
    else:
        for a in articles:
            for group in matcher.match_groups(a["title"], a["body"], language=a["language"],
                                              source=a["source"]):
                matches += len(group.rules)
    return time.perf_counter() - started, matches


def _terms_pass(matcher: Matcher, articles: list[dict]) -> float:
    started = time.perf_counter()
    for a in articles:
        for group in matcher.match_groups(a["title"], a["body"], language=a["language"],
                                          source=a["source"]):
            group.terms   # noqa: B018 - materialise the occurrences, as composing a mail does
    return time.perf_counter() - started


def _build(rules: list[Rule]) -> tuple[Matcher, float]:
    gc.collect()
    started = time.perf_counter()
    matcher = Matcher(rules)
    matcher.prepare(LANGS)
    return matcher, time.perf_counter() - started


def measure(sizes: list[int], articles: list[dict], min_seconds: float,
            absent: bool = False) -> list[dict]:
    """Build one matcher per size, time a cold pass for each, then warm passes taken in turn
    (10, 1,000, 10,000, 10, …) until each size has ``min_seconds``: interleaving exposes all
    sizes to the same machine noise, and the best pass of each is its figure (as ``timeit``
    does; the median is reported too)."""
    built = {n: _build(make_absent_rules(n) if absent else make_rules(n)) for n in sizes}
    out = {n: {"rules": n, "build_seconds": round(built[n][1], 3)} for n in sizes}
    for n, (matcher, _) in built.items():
        _chunk_tokens.cache_clear()
        cold, matches = _pass(matcher, articles)
        out[n]["articles_per_second_cold"] = round(len(articles) / cold, 1)
        out[n]["rule_matches_per_article"] = round(matches / len(articles), 2)
    passes: dict[int, list[float]] = {n: [] for n in sizes}
    cpu: dict[int, list[float]] = {n: [] for n in sizes}     # the figure on a loaded machine
    while min(sum(p) for p in passes.values()) < min_seconds or min(map(len, passes.values())) < 3:
        for n, (matcher, _) in built.items():
            started = time.process_time()
            passes[n].append(_pass(matcher, articles)[0])
            cpu[n].append(time.process_time() - started)
    for n, (matcher, _) in built.items():
        out[n]["cpu_us_per_article_warm"] = round(min(cpu[n]) / len(articles) * 1e6, 1)
        out[n]["articles_per_second_warm"] = round(len(articles) / min(passes[n]), 1)
        out[n]["articles_per_second_warm_median"] = round(
            len(articles) / statistics.median(passes[n]), 1)
        out[n]["warm_passes"] = len(passes[n])
        if not absent:
            per_rule = min(_pass(matcher, articles, per_rule=True)[0] for _ in range(3))
            out[n]["articles_per_second_per_rule_objects"] = round(len(articles) / per_rule, 1)
            out[n]["articles_per_second_reading_all_terms"] = round(
                len(articles) / _terms_pass(matcher, articles), 1)
    return [out[n] for n in sizes]


def tokenizer_baseline(articles: list[dict]) -> dict:
    """What the text layer alone costs per article, without and with the chunk cache."""
    started = time.perf_counter()
    for a in articles:
        tokens(a["title"], a["language"])
        tokens(a["body"], a["language"])
    plain = time.perf_counter() - started
    _chunk_tokens.cache_clear()
    for a in articles:                    # warm the cache
        _Field("title", a["title"], a["language"])
        _Field("body", a["body"], a["language"])
    started = time.perf_counter()
    for a in articles:
        _Field("title", a["title"], a["language"])
        _Field("body", a["body"], a["language"])
    cached = time.perf_counter() - started
    return {"text_layer_tokens_articles_per_second": round(len(articles) / plain, 1),
            "cached_tokenize_articles_per_second": round(len(articles) / cached, 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rules", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--min-seconds", type=float, default=2.0,
                        help="warm passes per rule count: at least this many seconds in total")
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)

    articles = make_articles(args.articles)
    words = sum(len(a["title"].split()) + len(a["body"].split()) for a in articles)
    mix = ", ".join(f"{lang} {sum(a['language'] == lang for a in articles)}" for lang in LANGS)
    print(f"{len(articles)} articles ({mix}), {words / len(articles):.0f} words on average")
    base = tokenizer_baseline(articles)
    print(f"text layer alone: tokens() {base['text_layer_tokens_articles_per_second']:,.0f} "
          f"articles/s; chunk-cached {base['cached_tokenize_articles_per_second']:,.0f} articles/s")
    print("realistic rules (matches grow with the number of rules); articles/s through "
          "match_groups (the alert pipeline's call), best warm pass [median]:")
    print(f"{'rules':>7} {'build s':>8} {'warm art/s':>18} {'CPU µs/art':>11} {'cold art/s':>11} "
          f"{'match() art/s':>14} {'+terms art/s':>13} {'matches/art':>12}")
    results = measure(args.rules, articles, args.min_seconds)
    for r in results:
        warm = f"{r['articles_per_second_warm']:,.0f} [{r['articles_per_second_warm_median']:,.0f}]"
        print(f"{r['rules']:>7,} {r['build_seconds']:>8.2f} {warm:>18} "
              f"{r['cpu_us_per_article_warm']:>11,.0f} "
              f"{r['articles_per_second_cold']:>11,.0f} "
              f"{r['articles_per_second_per_rule_objects']:>14,.0f} "
              f"{r['articles_per_second_reading_all_terms']:>13,.0f} "
              f"{r['rule_matches_per_article']:>12.2f}")
    print("rules that never match (the cost of the number of rules alone):")
    absent = measure(args.rules, articles, args.min_seconds, absent=True)
    for r in absent:
        warm = f"{r['articles_per_second_warm']:,.0f} [{r['articles_per_second_warm_median']:,.0f}]"
        print(f"{r['rules']:>7,} {r['build_seconds']:>8.2f} {warm:>18} "
              f"{r['cpu_us_per_article_warm']:>11,.0f} "
              f"{r['articles_per_second_cold']:>11,.0f} {'':>14} {'':>13} "
              f"{r['rule_matches_per_article']:>12.2f}")
    first, last = results[0], results[-1]

    def ratio(key: str, rows: list[dict] = results) -> float:
        return rows[0][key] / rows[-1][key]

    slowdown = ratio("articles_per_second_warm")
    print(f"slowdown {first['rules']:,} → {last['rules']:,} rules: realistic {slowdown:.2f}× "
          f"warm (median {ratio('articles_per_second_warm_median'):.2f}×, "
          f"cold {ratio('articles_per_second_cold'):.2f}×, "
          f"match() {ratio('articles_per_second_per_rule_objects'):.2f}×); never-matching "
          f"{ratio('articles_per_second_warm', absent):.2f}×")
    goal_rate = last["articles_per_second_warm"] >= 2000
    goal_slow = slowdown <= 1.5
    print(f"goal ≥ 2,000 articles/s at {last['rules']:,} rules: "
          f"{'met' if goal_rate else 'NOT met'}; goal ≤ 1.5× slowdown (realistic rules): "
          f"{'met' if goal_slow else 'NOT met'}")
    report = {"articles": len(articles), "mean_words": round(words / len(articles)),
              **base, "results": results, "never_matching": absent,
              "slowdown_warm": round(slowdown, 2),
              "slowdown_warm_median": round(ratio("articles_per_second_warm_median"), 2),
              "slowdown_cold": round(ratio("articles_per_second_cold"), 2),
              "slowdown_per_rule_objects": round(ratio("articles_per_second_per_rule_objects"), 2),
              "slowdown_never_matching": round(ratio("articles_per_second_warm", absent), 2),
              "python": platform.python_version(), "machine": platform.machine()}
    if args.json:
        write_json(args.json, report)
    return report


if __name__ == "__main__":
    main()
