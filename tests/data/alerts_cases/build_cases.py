"""Write ``cases.jsonl``: the labelled alert case set (issue 20), from the spellings below.

Each case is one short news text, its language, the rule it is labelled for and whether that
rule should fire. Positive *forms* are spellings seen in real outlets (doubled/single
consonants, shadda, Sorani letters typed on Arabic keyboards, Kurmanji/Turkish without
diacritics, English/French transliterations, clitics, Sorani/Kurmanji suffixes, ezafe,
Turkish apostrophe suffixes); negative forms are hard negatives (look-alike words, other
meanings, the acronym/name collision, other people sharing one of the names). Every form is
put into several sentence frames of its language, and hand-written full negative sentences
are added. The output is committed; rerun after editing: ``python build_cases.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

FRAMES = {
    "ar": ["قالت مصادر محلية إن {X} شهدت تطورات جديدة مساء أمس.",
           "نقلت وكالات الأنباء تصريحات حول {X} صباح اليوم.",
           "وصل وفد حكومي إلى المنطقة لبحث ملف {X} مع الأهالي.",
           "ذكر التقرير أن {X} كانت محور النقاش في الاجتماع الأخير."],
    "ckb": ["سەرچاوە ناوخۆییەکان ڕایانگەیاند کە {X} بووەتە جێی مشتومڕ.",
            "ئەمڕۆ هەواڵێکی نوێ دەربارەی {X} بڵاوکرایەوە.",
            "بەپێی ڕاپۆرتەکان {X} لە کۆبوونەوەکەدا باسکرا.",
            "هێزەکانی ئاسایش ئاماژەیان بە {X} کرد."],
    "kmr": ["Li gorî çavkaniyên herêmî, {X} îro bû mijara nîqaşê.",
            "Rêveberiya Xweser li ser {X} daxuyaniyek da.",
            "Nûçegihanê me ragihand ku {X} di civînê de hat axaftin.",
            "Hat ragihandin ku {X} careke din li rojevê ye."],
    "en": ["Local sources said {X} was at the centre of talks on Monday.",
           "A new report on {X} was published this morning.",
           "Officials discussed {X} during the meeting in the capital.",
           "Residents told reporters that {X} dominated the news again."],
    "tr": ["Yerel kaynaklar, {X} konusunda yeni bir açıklama yapıldığını bildirdi.",
           "Toplantıda {X} meselesi yeniden gündeme geldi.",
           "Haber ajansları {X} hakkında son gelişmeleri aktardı.",
           "Yetkililer dün {X} ile ilgili bir rapor yayımladı."],
}

# rule → language → (positive forms, negative forms)
FORMS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "raqqa": {
        "ar": (["الرقة", "الرقّة", "الرَّقَّة", "الرقه", "الرقـة", "والرقة", "بالرقة", "للرقة",
                "فالرقة", "مدينة الرقة", "ريف الرقة", "«الرقة»", "الرقة،", "الرقةِ", "الرّقة"],
               ["الرقابة", "رقة المشاعر", "برقة", "الرقيق", "الرقم", "الرقص", "رقعة", "الرقي",
                "الرقاب", "رقية", "الرقمية", "ورقة"]),
        "ckb": (["ڕەققە", "رەققە", "ڕەقە", "رەقە", "ڕەققەدا", "ڕەققەی", "ڕەققەش", "ڕەققەوە",
                 "ڕه\u200cققه", "شاری ڕەققە", "ڕەقەدا", "رەقەی", "ڕەققەیش", "ڕەقە\u200cی"],
                ["ڕەق", "ڕەقیب", "ڕکابەری", "ڕێککەوتن", "ڕەقەم", "ڕێگا", "ڕەقس", "ڕەنگ"]),
        "kmr": (["Reqa", "Reqayê", "Reqaye", "Reqqa", "Reqa'yê", "REQA", "bajarê Reqayê",
                 "Reqqayê", "Reqa yê", "Raqqa", "Reqayê de", "ji Reqayê"],
                ["Reqabe", "reqîb", "reqs", "reqisîn", "reqem", "Reqabeya", "rêk", "reqib"]),
        "en": (["Raqqa", "Raqqah", "Raqa", "Rakka", "al-Raqqa", "ar-Raqqa", "Raqqa's", "RAQQA",
                "Al Raqqa", "Rakkah", "Raqqa,", "Raqqa-based"],
               ["Iraq", "Iraqi", "racquet", "rack", "Raqib", "Rakhine", "Rakuten", "Rakia",
                "racket"]),
        "tr": (["Rakka", "Rakka'da", "Rakka'ya", "Rakka'nın", "Rakka'dan", "Raqqa", "RAKKA",
                "Rakka'daki", "Rakka’da", "Rakka kırsalı", "Rakka il merkezi"],
               ["rakam", "rakip", "raket", "rakı", "Irak", "Rakel", "rakım", "rakamlar"]),
    },
    "isis": {
        "ar": (["داعش", "لداعش", "وداعش", "بداعش", "داعـش", "تنظيم داعش", "الدواعش", "دواعش",
                "تنظيم الدولة الإسلامية", "تنظيم الدولة الاسلامية", "الدولة الإسلامية", "«داعش»",
                "فداعش", "داعش،"],
               ["الداعم", "داعي", "داعية", "دعس", "مداعبة", "ناعس", "دولة إسلامية", "الدولة",
                "الدعوة", "منظمة التعاون الإسلامي"]),
        "ckb": (["داعش", "داعشەکان", "داعشی", "چەکدارانی داعش", "داعشیش", "داعشدا", "داعشەوە",
                 "داعش‌ەکان", "دواعش", "داعشەکە", "ڕێکخراوی داعش"],
                ["داع", "داوا", "دانیشتن", "داعوا", "دەعوەت", "دادگا", "داهاتوو"]),
        "kmr": (["DAIŞ", "DAÎŞ", "Daiş", "daîş", "DAIŞ'ê", "DAIŞê", "Daişê", "çeteyên DAIŞê",
                 "DAIS", "DAİŞ", "Dewleta Îslamî", "DAIŞ'ê de"],
                ["daîmî", "daxuyanî", "dawî", "daîre", "daristan", "Îslamî"]),
        "en": (["ISIS", "Daesh", "Daech", "ISIS's", "Islamic State", "the Islamic State group",
                "ISIL", "Islamic State's", "ISIS-linked", "DAESH", "Daesh,", "so-called Islamic State",
                "Da'esh", "Da’esh", "Daʿesh"],
               ["Isis", "the goddess Isis", "the River Isis", "Isis Valverde", "the temple of Isis",
                "an Islamic state", "Islamic states", "crisis", "Isisford"]),
        "tr": (["IŞİD", "IŞID", "Işid", "DEAŞ", "DAEŞ", "DAİŞ", "IŞİD'in", "DEAŞ'a", "IŞİD'li",
                "DEAŞ'ın", "terör örgütü DEAŞ", "Işid'e"],
               ["Işıl", "Işık", "işit", "deşarj", "daimi", "deniz", "Işıklar", "işitme"]),
    },
    "mazloum": {
        "ar": (["مظلوم عبدي", "مظلوم عبدى", "مَظلوم عَبدي", "مظلوم عبـدي", "القائد مظلوم عبدي",
                "لمظلوم عبدي", "ومظلوم عبدي", "مظلوم كوباني", "مظلوم كوبانى", "مظلوم عبدي،",
                "الجنرال مظلوم عبدي", "مظلوم عبدي»"],
               ["الشعب مظلوم", "مظلوم", "يا عبدي", "مظلوم عبد الله", "مظلومية", "أحمد عبدي",
                "شعب مظلوم عبر التاريخ", "عبدي"]),
        "ckb": (["مەزڵووم عەبدی", "مەزلووم عەبدی", "مەزڵوم عەبدی", "مەزلوم عەبدی",
                 "مەزڵووم عەبدي", "مەزڵووم کۆبانی", "مەزڵووم عه\u200cبدی", "مەزڵووم عەبدیش",
                 "فەرماندە مەزڵووم عەبدی", "مەزڵووم عەبدى", "مەزڵووم عەبدیی"],
                ["مەزڵووم", "عەبدی", "خەڵکی مەزڵووم", "عەبدوڵڵا", "گەلی مەزڵووم", "مەزڵوومی"]),
        "kmr": (["Mazlûm Ebdî", "Mazlum Ebdi", "Mazlûm Abdî", "Mazlum Abdi", "Mazlûm Kobanî",
                 "Mazlum Kobani", "MAZLÛM EBDÎ", "Mazlûm Ebdî yê", "fermandarê giştî Mazlûm Ebdî",
                 "Mazlûm Ebdî'yê", "Mazlûm Ebdiyê"],
                ["gelê mazlûm", "Mazlûm Doğan", "Ebdî", "Ebdullah", "mazlûman", "Ebdî Xalid"]),
        "en": (["Mazloum Abdi", "Mazlum Abdi", "Mazloum Abdi's", "Mazloum Kobani",
                "Mazlum Kobane", "Mazloum Kobane", "Mazlum Abdî", "Gen. Mazloum Abdi",
                "MAZLOUM ABDI", "Mazloom Abdi", "Mazloum Abdi,", "commander Mazloum Abdi"],
               ["Abdi Mohamed", "Mazlum Dogan", "Ahmed Abdi", "the oppressed", "Abdi Ipekci",
                "Mazloum", "Abdi"]),
        "tr": (["Mazlum Abdi", "Mazlum Abdi'nin", "Mazlum Kobani", "Mazlum Kobani'nin",
                "Mazlum Kobani'ye", "MAZLUM KOBANİ", "Mazlum Abdî", "Mazlum Abdi'ye",
                "Mazlum Kobanî", "SDG elebaşı Mazlum Kobani"],
               ["mazlum halk", "Mazlum Doğan", "Abdi İpekçi", "mazlumların", "Abdi bey",
                "mazlum", "Kobani"]),
    },
}

# hand-written hard negatives as whole sentences: (rule, lang, text)
SENTENCES = [
    ("isis", "en", "The exhibition on Isis and Osiris opens at the British Museum next week."),
    ("isis", "en", "Rowers trained on the Isis before the race through central Oxford."),
    ("isis", "en", "Isis, the Egyptian goddess of magic, was worshipped along the Nile."),
    ("isis", "en", "Brazilian actress Isis Valverde starred in the new telenovela."),
    ("isis", "en", "The founders wanted Pakistan to be an Islamic state with a modern economy."),
    ("isis", "en", "The economic crisis deepened as the currency lost value."),
    ("isis", "en", "Isis Gallery announced a new season of exhibitions in the spring."),
    ("isis", "en", "Analysts asked whether Iran is an Islamic state or a republic in practice."),
    ("isis", "tr", "Şarkıcı Işıl bu akşam İstanbul'da konser verecek."),
    ("isis", "tr", "Işık kesintisi nedeniyle ilçede trafik lambaları çalışmadı."),
    ("isis", "tr", "Hastanede işitme testleri ücretsiz yapılıyor."),
    ("isis", "ar", "وقعت الدول الأعضاء في منظمة التعاون الإسلامي على البيان الختامي."),
    ("isis", "ar", "تحدث الداعية في خطبة الجمعة عن أهمية التسامح."),
    ("isis", "ar", "قالت الحكومة إن الدولة ستدعم المزارعين هذا العام."),
    ("isis", "ckb", "دانیشتنی پەرلەمان بۆ هەفتەی داهاتوو دواخرا."),
    ("isis", "kmr", "Daxuyaniya dawî ya şaredariyê îro hat belavkirin."),
    ("raqqa", "ar", "فرضت السلطات الرقابة على وسائل الإعلام المحلية."),
    ("raqqa", "ar", "تحدثت الممثلة برقة عن تجربتها في السينما."),
    ("raqqa", "ar", "أعلنت وزارة الاتصالات عن خطة للتحول إلى الخدمات الرقمية."),
    ("raqqa", "ar", "وقع الطرفان على الورقة النهائية للاتفاق."),
    ("raqqa", "ar", "شهدت مدينة برقة الليبية أمطاراً غزيرة."),
    ("raqqa", "ar", "تعامل الطبيب مع المرضى بكثير من الرقة والصبر."),     # "delicacy": a true homograph
    ("raqqa", "en", "Iraqi officials met their Kurdish counterparts in Erbil."),
    ("raqqa", "en", "The tennis player broke his racquet after losing the set."),
    ("raqqa", "en", "Rakuten reported higher quarterly profits on Tuesday."),
    ("raqqa", "en", "Fighting in Rakhine state displaced thousands of people."),
    ("raqqa", "tr", "Irak Başbakanı Ankara'ya resmi bir ziyaret gerçekleştirdi."),
    ("raqqa", "tr", "Enflasyon rakamları beklentilerin üzerinde geldi."),
    ("raqqa", "tr", "Takım, rakibini deplasmanda iki golle yendi."),
    ("raqqa", "kmr", "Reqabeya li ser çapemeniyê zêde bûye."),
    ("raqqa", "kmr", "Reqîbê wî di hilbijartinan de bi ser ket."),
    ("raqqa", "ckb", "ڕکابەری نێوان هەردوو پارت توندتر بووە."),
    ("raqqa", "ckb", "ڕێککەوتنەکە دوێنێ واژۆ کرا."),
    ("raqqa", "ckb", "ئەم بڕیارە بۆ جوتیاران زۆر ڕەقە."),          # ڕەقە "is hard", not Raqqa
    ("raqqa", "ckb", "زەوییەکە لەم وەرزەدا ڕەقە و ئاو هەڵناگرێت."),
    # ڕەقە "is hard" as a predicate: clause-final, after a degree adverb, before a conjunction
    ("raqqa", "ckb", "نانەکە دوای دوو ڕۆژ ڕەقە."),
    ("raqqa", "ckb", "ئەم یاسایە هێندە ڕەقە کە کەس ناتوانێت جێبەجێی بکات."),
    ("raqqa", "ckb", "دڵی ڕەقە وەک بەرد و بەزەیی نییە."),
    ("raqqa", "ckb", "مامۆستاکەمان زۆر ڕەقە بەڵام دادپەروەرە."),
    ("raqqa", "ckb", "زەوییەکە ڕەقە و کێڵانی ئاستەمە."),
    ("raqqa", "ckb", "هەڵوێستی حکومەت بەرامبەر ناڕەزاییەکان تەواو ڕەقە."),
    ("raqqa", "ckb", "ئەم کورسییە تۆزێک رەقە."),
    ("raqqa", "ckb", "سزاکان ڕەقە یان نا؟"),
    ("raqqa", "ckb", "گۆشتەکە ڕەقە چونکە کەم کوڵاوە."),
    ("raqqa", "ckb", "ژیان لێرە ڕەقە؟"),
    ("raqqa", "ckb", "ئەم ماددەیە ڕەق و توندە."),
    # الرقة "delicacy, gentleness": with a degree word, coordinated with another quality, or
    # free (the last one only semantics can tell)
    ("raqqa", "ar", "تتميز أوراق هذا النبات بالرقة والنعومة."),
    ("raqqa", "ar", "عزفت الفرقة المقطوعة بمنتهى الرقة."),
    ("raqqa", "ar", "جاءت كلمات الأغنية شديدة الرقة والعذوبة."),
    ("raqqa", "ar", "تحدثت الكاتبة عن الرقة في التعامل مع الأطفال."),
    # apostrophes: a possessive of the goddess, Iraq's
    ("isis", "en", "Visitors queued to see the statue of Isis's son Horus."),
    ("raqqa", "en", "Iraq's parliament approved the budget on Sunday."),
    ("raqqa", "tr", "Irak'ın kuzeyinde yeni bir petrol sahası bulundu."),
    ("mazloum", "ar", "قال المتحدث إن الشعب السوري مظلوم منذ سنوات طويلة."),
    ("mazloum", "ar", "رفع المواطن شكوى قائلاً إنه مظلوم في هذه القضية."),
    ("mazloum", "ar", "زار الوزير أحمد عبدي المستشفى الجديد."),
    ("mazloum", "tr", "Mazlum halkların sesi duyulmalı dedi."),
    ("mazloum", "tr", "Gazeteci Abdi İpekçi anmasında konuşmalar yapıldı."),
    ("mazloum", "tr", "Mazlum Doğan'ın hayatını anlatan kitap yayımlandı."),
    ("mazloum", "kmr", "Mazlûm Doğan di sala 1982an de li Amedê jiyana xwe ji dest da."),
    ("mazloum", "kmr", "Gelê mazlûm mafê xwe dixwaze."),
    ("mazloum", "en", "Somali minister Abdi Mohamed addressed the conference."),
    ("mazloum", "en", "Footballer Ahmed Abdi scored twice in the second half."),
    ("mazloum", "ckb", "خەڵکی مەزڵووم داوای دادپەروەری دەکەن."),
    ("mazloum", "ckb", "عەبدوڵڵا گۆران شاعیرێکی ناسراوە."),
]

# hand-written positives as whole sentences: real patterns the frames do not produce
POSITIVE_SENTENCES = [
    # bare ڕەقە/رەقە for the city: after a preposition or place noun, in quotes, as a subject
    ("raqqa", "ckb", "هێزەکان بەرەو ڕەقە پێشڕەوییان کرد."),
    ("raqqa", "ckb", "خەڵکی ڕەقە دوای ساڵانێک گەڕانەوە ماڵەکانیان."),
    ("raqqa", "ckb", "ڕەقە، دێرەزوور و حەسەکە لە ژێر کۆنترۆڵی هەسەدەدان."),
    ("raqqa", "ckb", "پارێزگای رەقە دوێنێ شایەتی تەقینەوەیەک بوو."),
    ("raqqa", "ckb", "دەورووبەری ڕەقە بۆردومان کرا."),
    ("raqqa", "ckb", "«ڕەقە» ناوی فیلمێکی بەڵگەنامەیی نوێیە."),
    ("raqqa", "ckb", "ڕێگای نێوان ڕەقە و حەلەب داخرا."),
    ("raqqa", "ckb", "کۆبوونەوەکە لە ڕەقە ئەنجامدرا."),
    ("raqqa", "ckb", "ڕەقە و دێرەزوور دوو پارێزگای سەرەکیی باکووری سووریان."),
    ("raqqa", "ckb", "گەڕانەوەی ئاوارەکان بۆ رەقە دەستی پێکرد."),
    ("raqqa", "ckb", "ئەمڕۆ لە رەقە خۆپیشاندان کرا."),
    # الرقة coordinated with other places, as a subject, after a preposition
    ("raqqa", "ar", "وصلت تعزيزات عسكرية إلى الرقة والحسكة صباح اليوم."),
    ("raqqa", "ar", "قالت مصادر إن الرقة ودير الزور شهدتا احتجاجات."),
    ("raqqa", "ar", "عاد آلاف النازحين إلى الرقة بعد انتهاء المعارك."),
    ("raqqa", "ar", "يعاني سكان الرقة من نقص في مياه الشرب."),
    # Da'esh with the ʿayn written as an apostrophe, in a sentence of its own
    ("isis", "en", "Iraqi forces said Da’esh cells attacked a checkpoint near Kirkuk."),
    ("isis", "en", "The Daʿesh attack killed three soldiers, officials said."),
    ("isis", "tr", "Irak ordusu, Da'esh militanlarına yönelik operasyon başlattı."),
]


def build() -> list[dict]:
    cases: list[dict] = []
    for rule, by_lang in FORMS.items():
        for lang, (positives, negatives) in by_lang.items():
            frames = FRAMES[lang]
            for expect, forms, per in ((True, positives, 3), (False, negatives, 3)):
                for i, form in enumerate(forms):
                    for k in range(per):
                        text = frames[(i + k) % len(frames)].replace("{X}", form)
                        cases.append({"rule": rule, "lang": lang, "expect": expect,
                                      "form": form, "text": text})
    for rule, lang, text in SENTENCES:
        cases.append({"rule": rule, "lang": lang, "expect": False, "form": "", "text": text})
    for rule, lang, text in POSITIVE_SENTENCES:
        cases.append({"rule": rule, "lang": lang, "expect": True, "form": "", "text": text})
    return cases


if __name__ == "__main__":
    out = Path(__file__).with_name("cases.jsonl")
    cases = build()
    out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), "utf-8")
    print(f"{len(cases)} cases ({sum(c['expect'] for c in cases)} positive) → {out}")
