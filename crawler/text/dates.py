"""Date parsing for Arabic, Sorani, Kurmanji, Persian, Turkish and English news pages.

``parse_date`` reads one date expression (a feed's pubDate, a sitemap lastmod, a page's visible
date line); ``search_date`` finds the first date expression in free text (a dateline, a
"نشر في" line). Both return aware datetimes: an explicit offset in the text is kept, naive times
are placed in the source's time zone ``tz``; values before 1990 or more than two days after
``now`` (the fetch time) are rejected.

Why not dateparser: it takes ~19 ms a call here and misses Levantine month names
("15 أيار 2017" → None); extraction calls this for every page. Instead the text is folded once
(digits to ASCII, tashkeel/tatweel/ZWNJ/bidi marks removed, letter variants and Latin
diacritics folded, lower case — one character for one character, so matches map back to the
original offsets) and scanned with a few compiled regular expressions whose month and weekday
vocabularies come from babel's CLDR data (ar, ar_IQ, ar_DZ, fa, ckb, tr, ku, en) plus the forms
CLDR lacks: Moroccan and Egyptian spellings, Iraqi مايس, Sorani variants, both Kurmanji series
(Kanûna Paşîn … and Rêbendan …), Hijri months, the Kurdish solar months (خاکەلێوە …) and the
Persian solar months. Calendars: see :mod:`crawler.text.calendars`.

Supported: ISO 8601 / W3C-DTF, RFC 822/2822, day-month-year and month-day-year with names,
combined names ("آيار/ مايو", "15 من شهر آيار/ مايو 2017"), numeric Y/M/D and D/M/Y
(D/M before M/D unless ``lang='en'``), dotted D.M.YY ("25.04.24"), European month names
("13. Mai 2026", "22 de outubro de 2010"), 12-hour times with ص/م, AM/PM, پ.ن/د.ن, Hijri dates
(name or هـ marker), Kurdish-year dates, relative dates ("منذ 3 ساعات", "berî 2 saetan",
"پێش ٣ کاتژمێر", "3 saat önce", "2 hours ago") and yesterday/today words (alone in
``parse_date``, or followed by a time in ``search_date``). A day and month without a year
("15 آب") count only when the text has no complete date; they take the latest such day not
after ``now``.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Iterator, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.text.calendars import hijri_to_gregorian, jalali_to_gregorian, kurdish_to_gregorian

__all__ = ["parse_date", "search_date", "plausible", "MIN_YEAR"]

MIN_YEAR = 1990
_FUTURE_SLACK = timedelta(days=2)

# ---------------------------------------------------------------------- folding


def _build_fold() -> tuple[dict[int, str], frozenset[str]]:
    table: dict[int, str] = {}
    deleted: set[str] = {"\u0640", "\u00ad", "\u061c", "\u200b", "\u200c", "\u200d", "\u200e",
                          "\u200f", "\u2060", "\ufeff", "\u0626", "\u0621"}  # ئ ء: hamza seats
    deleted.update(chr(c) for c in range(0x202a, 0x202f))
    deleted.update(chr(c) for c in range(0x2066, 0x206a))
    for cp in range(0x0300, 0x0900):
        if unicodedata.category(chr(cp)) == "Mn":
            deleted.add(chr(cp))
    letters = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و", "ى": "ي", "ی": "ي", "ێ": "ي",
               "ې": "ي", "ك": "ك", "ک": "ك", "ة": "ه", "ە": "ه", "ھ": "ه", "ۀ": "ه", "ڕ": "ر",
               "ڵ": "ل", "ۆ": "و", "ڤ": "ف", "ı": "i", "İ": "i", "I": "i",
               "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2013": "-", "\u2014": "-",
               "\u066b": ".", "\u066c": ",", "\u060c": ","}
    for src, dst in letters.items():
        table[ord(src)] = dst
    for cp in range(0x80, 0x10000):   # decimal digits of every script → ASCII
        ch = chr(cp)
        if unicodedata.category(ch) == "Nd":
            table[cp] = str(unicodedata.digit(ch))
    for cp in range(0xC0, 0x250):     # precomposed Latin letters → base letter, lower case
        ch = chr(cp)
        if cp in table:
            continue
        base = unicodedata.normalize("NFD", ch)[0]
        low = base.lower()
        if len(low) == 1 and (low != ch) and low.isascii():
            table[cp] = low
    for cp in range(ord("A"), ord("Z") + 1):
        table.setdefault(cp, chr(cp).lower())
    return table, frozenset(deleted)


_FOLD, _DELETED = _build_fold()
_DELETED_RE = re.compile("[" + "".join(sorted(_DELETED)) + "]")


def _fold_word(text: str) -> str:
    return _DELETED_RE.sub("", text).translate(_FOLD).lower()


class _Folded(NamedTuple):
    text: str
    index: list[int] | None      # folded position → original position (None: identical)

    def orig(self, pos: int, end: bool = False) -> int:
        if self.index is None:
            return pos
        if end:
            return self.index[pos - 1] + 1 if pos > 0 else 0
        return self.index[pos] if pos < len(self.index) else (self.index[-1] + 1 if self.index else 0)


def _fold(text: str) -> _Folded:
    if not _DELETED_RE.search(text):
        return _Folded(text.translate(_FOLD).lower(), None)
    index = [i for i, ch in enumerate(text) if ch not in _DELETED]
    kept = "".join(text[i] for i in index)
    folded = kept.translate(_FOLD)
    lowered = folded.lower()
    if len(lowered) != len(folded):   # a lower() that changes length: keep mapping safe
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)
    return _Folded(lowered, index)


# ---------------------------------------------------------------------- vocabularies

G, HIJRI, KURDISH, JALALI = "g", "h", "k", "j"

_GREGORIAN_NAMES = {
    1: "كانون الثاني|كانون ثاني|كانون الثانى|يناير|ينار|جانفي|جانفييه|ينير|ژانویه|ژانویهٔ|"
       "کانوونی دووەم|کانونی دووەم|کانوونی دووهەم|january|jan|ocak|çile|kanûna paşîn|"
       "kanûna paşin|kanûn paşîn|rêbendan",
    2: "شباط|فبراير|فبراير|فيفري|فبرير|فوریه|فوریهٔ|شوبات|شووبات|february|feb|şubat|sibat|"
       "reşemî|reşemê",
    3: "آذار|اذار|مارس|ئازار|ازار|march|mar|mart|adar",
    4: "نيسان|أبريل|ابريل|إبريل|أفريل|افريل|أبريل|آوریل|april|apr|nisan|nîsan|avrêl|avrîl",
    5: "أيار|آيار|ايار|مايو|ماي|مايس|ئایار|مه|may|mayıs|gulan",
    6: "حزيران|يونيو|يونيه|جوان|ژوئن|حوزەیران|حوزەيران|june|jun|haziran|hezîran|pûşper",
    7: "تموز|يوليو|يوليه|جويلية|جويليه|يوليوز|ژوئیه|ژوئیهٔ|تەممووز|تەمووز|july|jul|temmuz|"
       "tîrmeh|tirmeh",
    8: "آب|أغسطس|اغسطس|أوت|اوت|غشت|آگوست|ئاب|august|aug|ağustos|tebax|gelawêj",
    9: "أيلول|ايلول|سبتمبر|شتنبر|سپتامبر|ئەیلوول|ئەیلول|september|sept|sep|eylül|îlon|"
       "rezber",
    10: "تشرين الأول|تشرين أول|تشرين الاول|أكتوبر|اكتوبر|اکتبر|تشرینی یەکەم|october|oct|ekim|"
        "cotmeh|kewçêr|çiriya pêşîn",
    11: "تشرين الثاني|تشرين ثاني|تشرين الثانى|نوفمبر|نونبر|نوامبر|تشرینی دووەم|november|nov|"
        "kasım|mijdar|sermawez|çiriya paşîn",
    12: "كانون الأول|كانون أول|كانون الاول|ديسمبر|دجنبر|دسامبر|کانوونی یەکەم|کانونی یەکەم|"
        "december|dec|aralık|kanûn|kanûna pêşîn|berfanbar",
}
_HIJRI_NAMES = {
    1: "محرم|المحرم", 2: "صفر", 3: "ربيع الأول|ربيع الاول|ربيع أول",
    4: "ربيع الثاني|ربيع الآخر|ربيع الاخر|ربيع ثاني|ربيع آخر",
    5: "جمادى الأولى|جمادى الاولى|جمادى الأول|جمادى الاول|جمادي الاولى",
    6: "جمادى الآخرة|جمادى الاخرة|جمادى الثانية|جمادى الثاني|جمادى الآخر|جمادي الاخرة",
    7: "رجب", 8: "شعبان", 9: "رمضان", 10: "شوال", 11: "ذو القعدة|ذي القعدة|ذو القعده",
    12: "ذو الحجة|ذي الحجة|ذو الحجه",
}
# Kurdish solar months (Sorani, Arabic script); month 1 starts at Newroz
_KURDISH_NAMES = {
    1: "خاکەلێوە|خاكەلێوە", 2: "گوڵان", 3: "جۆزەردان", 4: "پووشپەڕ|پوشپەڕ", 5: "گەلاوێژ",
    6: "خەرمانان", 7: "ڕەزبەر", 8: "گەڵاڕێزان|خەزەڵوەر", 9: "سەرماوەز", 10: "بەفرانبار",
    11: "ڕێبەندان", 12: "ڕەشەمێ|ڕەشەمە",
}
# the same Sorani names used with a Gregorian year, as in the Kurmanji series (Gulan = May)
_KURDISH_AS_GREGORIAN = {2: 5, 4: 6, 5: 8, 7: 9, 9: 11, 10: 12, 11: 1, 12: 2}
_JALALI_NAMES = {
    1: "فروردین", 2: "اردیبهشت", 3: "خرداد", 4: "تیر", 5: "مرداد", 6: "شهریور", 7: "مهر",
    8: "آبان", 9: "آذر", 10: "دی", 11: "بهمن", 12: "اسفند",
}
_WEEKDAYS = (
    "الأحد|الاحد|الإثنين|الاثنين|الأثنين|الثلاثاء|الأربعاء|الاربعاء|الخميس|الجمعة|السبت|"
    "أحد|اثنين|ثلاثاء|أربعاء|خميس|جمعة|سبت|"
    "یەکشەممە|دووشەممە|سێشەممە|چوارشەممە|پێنجشەممە|هەینی|ھەینی|شەممە|"
    "yekşem|duşem|sêşem|çarşem|pêncşem|în|înî|şemî|"
    "pazar|pazartesi|salı|çarşamba|perşembe|cuma|cumartesi|"
    "یکشنبه|دوشنبه|سه‌شنبه|سهشنبه|چهارشنبه|پنجشنبه|جمعه|شنبه|"
    "sunday|monday|tuesday|wednesday|thursday|friday|saturday|sun|mon|tue|tues|wed|thu|thur|"
    "thurs|fri|sat"
)


#: Latin-script locales whose month names appear on the international pages a monitor also
#: meets ("13. Mai 2026", "22 de outubro de 2010", "le 5 juin 2024").
_EUROPEAN = ("de", "fr", "es", "it", "pt", "nl", "sv", "nb", "da", "pl", "cs", "id")


def _babel_names() -> dict[int, set[str]]:
    """Month names from CLDR for the locales whose spelling news sites use."""
    out: dict[int, set[str]] = {m: set() for m in range(1, 13)}
    try:
        from babel.dates import get_month_names
    except ImportError:  # pragma: no cover
        return out
    for loc in ("en", "tr", "ar", "ar_IQ", "ar_DZ", "ar_MA", "fa", "ckb", "ku", *_EUROPEAN):
        for width in ("wide", "abbreviated"):
            try:
                names = get_month_names(width, locale=loc)
            except Exception:  # noqa: BLE001 - a missing locale must not break dates
                continue
            for m, name in names.items():
                if len(name) >= 3 and not name.isdigit():
                    out[m].add(str(name))
    return out


class _Month(NamedTuple):
    calendar: str
    month: int


def _month_table() -> dict[str, _Month]:
    table: dict[str, _Month] = {}

    def add(names: str | set[str], cal: str, month: int) -> None:
        items = names.split("|") if isinstance(names, str) else names
        for name in items:
            key = re.sub(r"\s+", " ", _fold_word(name)).strip()
            if key and key not in table:
                table[key] = _Month(cal, month)

    for m, names in _GREGORIAN_NAMES.items():
        add(names, G, m)
    for m, names in _HIJRI_NAMES.items():
        add(names, HIJRI, m)
    for m, names in _KURDISH_NAMES.items():
        add(names, KURDISH, m)
    for m, names in _JALALI_NAMES.items():
        add(names, JALALI, m)
    for m, names in _babel_names().items():
        add(names, G, m)
    return table


_MONTHS = _month_table()


def _alternation(words: list[str]) -> str:
    words = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)


_MONTH_ALT = _alternation(list(_MONTHS))
_LATIN_MONTH_ALT = _alternation([k for k in _MONTHS if k.isascii()])
_WEEKDAY_ALT = _alternation([_fold_word(w) for w in _WEEKDAYS.split("|")])

# ---------------------------------------------------------------------- patterns

_B = r"(?<![\w])"          # no letter/digit before
_E = r"(?![^\W\d_])"       # no letter after (digits may follow: "2017م")
_WEEKDAY = rf"(?:(?:{_WEEKDAY_ALT})(?:[\s,.\-]|و)*\s*)?"
_DAY_SUFFIX = r"(?:st|nd|rd|th|\.|ي|'?e|'?y?e|'?an)?"
_D_M_SEP = (r"(?:\s*[\-/.,]\s*|\s*)(?:(?:من|ى|ي|de)\s+)?(?:(?:شهر|مانگي|مانگ|meha|mehê)\s+)?")
_MONTH_SUFFIX = r"(?:ي|e|a|ya|ye|\.)?"
_MONTH2 = rf"(?:\s*[/\-(|]\s*(?:{_MONTH_ALT})\s*\)?)?"
_M_Y_SEP = (r"(?:\s*[\-/.,]\s*|\s+)?(?:(?:سنه|عام|لعام|لسنه|من\s+عام|سالي|سال|sala|sal|year|"
            r"yili|de|del)\s+)?")
_YEAR_MARK = (r"(?:\s*(?P<mark>ميلاديه|ميلادي|مـ|م|ز|هجريه|هجري|ه|ش|خورشيدي|شمسي|"
              r"ي\s+زاييني|زاييني|ي\s+كوردي|كوردي|ي\s+كوچي)(?![^\W\d_]))?(?:'?an|'?ê|'?e)?")

_TIME = (r"(?:(?:الساعه|ساعه|الساعة|ساعت|كاتژمير|saat|saet|demjimer|at|um|a)\s*)?"
         r"(?P<H>[01]?\d|2[0-3])[:](?P<M>[0-5]\d)(?::(?P<S>[0-5]\d)(?:[.,]\d+)?)?"
         r"(?:\s*(?P<ampm>صباحا|صباحاً|صباح|ص|مساءا|مساءً|مساء|مسا|ظهرا|ظهر|عصرا|ليلا|م|"
         r"a\.?\s?m\.?|p\.?\s?m\.?|پ\.?\s?ن|د\.?\s?ن|ب\.?\s?ن|ق\.?\s?ظ|ب\.?\s?ظ)(?![^\W\d_]))?"
         r"(?:\s*\(?(?P<tz>z|gmt|utc|ut|[+\-]\d{2}:?\d{2}|(?:gmt|utc)\s*[+\-]\s*\d{1,2}(?::?\d{2})?|"
         r"ast|est|edt|cet|cest|eet|eest|bst|trt|msk)\)?(?![^\W\d_]))?")
_TIME_RE = re.compile(_TIME)
_DT_SEP = (r"(?:t|\s*[,|\-@/]?\s*(?:(?:في|الساعه|saat|at|um|li|la|as|a\s+las|alle|om|kl\.?|"
           r"klo|godz\.?|v)\s+)?)")
_TIME_AFTER = re.compile(_DT_SEP + _TIME)
_TIME_BEFORE = re.compile(_TIME + r"\s*[,|\-]?\s*(?:(?:يوم|في|on|,)\s*)?$")

_DMY = re.compile(
    rf"{_B}{_WEEKDAY}(?P<d>[0-3]?\d){_DAY_SUFFIX}{_D_M_SEP}(?P<mon>{_MONTH_ALT}){_MONTH_SUFFIX}"
    rf"{_E}{_MONTH2}{_M_Y_SEP}(?P<y>\d{{4}})(?!\d){_YEAR_MARK}")
_MDY = re.compile(
    rf"{_B}(?=[a-zçşğüöıîêû]{{3,10}}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
    rf"(?P<mon>{_LATIN_MONTH_ALT})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})(?!\d)")
_WD_MDY = re.compile(rf"{_B}(?:{_WEEKDAY_ALT}),?\s+$")
_YMD = re.compile(r"(?<![\d/.\-])(?P<y>\d{4})\s?(?P<sep>[\-/.])\s?(?P<m>[01]?\d)\s?(?P=sep)\s?"
                  rf"(?P<d>[0-3]?\d)(?![\d/])(?:{_YEAR_MARK})?")
_DMY_NUM = re.compile(r"(?<![\d/.\-])(?P<d>[0-3]?\d)\s?(?P<sep>[\-/.])\s?(?P<m>[0-3]?\d)\s?(?P=sep)"
                      rf"\s?(?P<y>\d{{4}})(?![\d/])(?:{_YEAR_MARK})?")
#: "25.04.24": day, month and a two-digit year, dot-separated only (German, Russian, Czech …).
_DMY_SHORT = re.compile(r"(?<![\d/.\-])(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>\d{2})(?![\d.])")
_DM_NOYEAR = re.compile(
    rf"{_B}{_WEEKDAY}(?P<d>[0-3]?\d){_DAY_SUFFIX}{_D_M_SEP}(?P<mon>{_MONTH_ALT}){_MONTH_SUFFIX}"
    rf"{_E}{_MONTH2}(?!\s*[\-/.,]?\s*\d)")
_ISO_FULL = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?(?:[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
                       r"(?:z|[+\-]\d{2}(?::?\d{2})?)?")
_RFC822 = re.compile(r"(?:[a-z]{3},?\s*)?\d{1,2}\s+[a-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")

# relative expressions --------------------------------------------------------------

_UNITS = {
    "s": "ثانيه|ثواني|ثوان|ثانيتين|چركه|saniye|sanie|cirke|çirke|second|seconds|sec|secs|ثانیه",
    "m": "دقيقه|دقائق|دقايق|دقيقتين|دقيقتان|خولهك|دهقيقه|deqîqe|deqiqe|deqe|xulek|dakika|"
         "minute|minutes|min|mins|دقیقه",
    "h": "ساعه|ساعات|ساعتين|ساعتان|كاتژمير|سهعات|saet|seet|demjimêr|demjimer|saat|hour|hours|"
         "hr|hrs|ساعت",
    "d": "يوم|ايام|يومين|يومان|روژ|roj|gün|gun|day|days|روز",
    "w": "اسبوع|اسابيع|اسبوعين|اسبوعان|ههفته|hefte|hefteyan|hafta|week|weeks|هفته",
    "M": "شهر|اشهر|شهور|شهرين|مانگ|meh|ay|month|months|ماه",
    "y": "سنه|سنوات|سنتين|عام|اعوام|عامين|سال|sal|yıl|yil|sene|year|years",
}
_DUALS = {_fold_word(w) for w in ("ثانيتين دقيقتين دقيقتان ساعتين ساعتان يومين يومان أسبوعين "
                                  "أسبوعان شهرين سنتين عامين").split()}
_UNIT_OF = {_fold_word(w): u for u, words in _UNITS.items() for w in words.split("|")}
_UNIT_ALT = _alternation(list(_UNIT_OF))
_NUMBER_WORDS = {
    1: "واحد|واحده|يک|یەک|yek|bir|one|a|an|yekê", 2: "اثنين|اثنان|دوو|du|iki|two",
    3: "ثلاث|ثلاثه|سێ|sê|üç|three", 4: "اربع|اربعه|چوار|çar|dört|four",
    5: "خمس|خمسه|پێنج|pênc|beş|five", 6: "ست|سته|شەش|şeş|altı|six",
    7: "سبع|سبعه|حەوت|heft|yedi|seven", 8: "ثماني|ثمانيه|ثمان|هەشت|heşt|sekiz|eight",
    9: "تسع|تسعه|نۆ|neh|dokuz|nine", 10: "عشر|عشره|دە|deh|on|ten",
}
_NUM_OF = {_fold_word(w): n for n, words in _NUMBER_WORDS.items() for w in words.split("|")}
_NUM_ALT = r"\d{1,3}|" + _alternation(list(_NUM_OF))
_UNIT_TAIL = r"(?:[a-z]{0,5}|يك|يهك|ي)"    # Kurmanji -an/-ekê, Sorani -ێک, plural s
_REL_BEFORE = re.compile(
    rf"{_B}(?:منذ|قبل|حوالي|پيش|بهر\s+له|beri|berî|nêzî)\s+(?:(?:حوالي|نحو|zêdetir\s+ji)\s+)?"
    rf"(?:(?P<n>{_NUM_ALT})\s+)?(?P<u>{_UNIT_ALT}){_UNIT_TAIL}{_E}")
_REL_AFTER = re.compile(
    rf"{_B}(?P<n>{_NUM_ALT})\s+(?P<u>{_UNIT_ALT}){_UNIT_TAIL}\s+"
    r"(?:ago|once|önce|berê|bere|beriya\s+niha|لهمهوبهر|لهوهپيش|پيش|قبل)(?![^\W\d_])")
_DAY_WORDS = {
    -1: "أمس|امس|الأمس|البارحة|البارحه|دوێنێ|دوینی|duh|doh|dün|yesterday|دیروز|yesterday's",
    -2: "أول أمس|اول امس|أول من أمس|پێرێ|پیری|pêr|evvelsi gün|دیروز قبل",
    0: "اليوم|ئەمڕۆ|îro|iro|bugün|today|امروز",
}
_DAY_OF = {_fold_word(w): n for n, words in _DAY_WORDS.items() for w in words.split("|")}
_DAY_WORD_RE = re.compile(rf"{_B}(?P<w>{_alternation(list(_DAY_OF))}){_E}")
_JUST_NOW = re.compile(rf"{_B}(?:الآن|الان|just\s+now|az\s+önce|niha|ئێستا|now){_E}")


# ---------------------------------------------------------------------- helpers

@lru_cache(maxsize=256)
def _zone_named(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return timezone.utc
    return _zone_named(tz) if isinstance(tz, str) else tz


def _now(now: datetime | None, zone: tzinfo) -> datetime:
    if now is None:
        return datetime.now(zone)
    return now if now.tzinfo else now.replace(tzinfo=zone)


_TZ_ABBR = {"z": 0, "gmt": 0, "utc": 0, "ut": 0, "ast": 180, "est": -300, "edt": -240,
            "cet": 60, "cest": 120, "eet": 120, "eest": 180, "bst": 60, "trt": 180, "msk": 180}


def _tz_of(spec: str | None) -> tzinfo | None:
    if not spec:
        return None
    spec = spec.replace(" ", "")
    if spec in _TZ_ABBR:
        return timezone(timedelta(minutes=_TZ_ABBR[spec]))
    m = re.fullmatch(r"(?:gmt|utc)?([+\-])(\d{1,2}):?(\d{2})?", spec)
    if not m:
        return None
    minutes = int(m[2]) * 60 + int(m[3] or 0)
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if m[1] == "-" else minutes))


_AM = ("ص", "صباحا", "صباحاً", "صباح", "پن", "قظ", "am")
_PM = ("م", "مساء", "مساءا", "مساءً", "مسا", "عصرا", "ليلا", "دن", "بن", "بظ", "pm")


def _hour(h: int, ampm: str | None) -> int:
    if not ampm:
        return h
    key = re.sub(r"[\s.]", "", ampm)
    if key in _AM:
        return 0 if h == 12 else h
    if key in ("ظهرا", "ظهر"):
        return h + 12 if h < 7 else h
    if key in _PM:
        return h + 12 if h < 12 else h
    return h


class _Time(NamedTuple):
    hour: int
    minute: int
    second: int
    tz: tzinfo | None


def _time_of(m: re.Match[str]) -> _Time | None:
    h = _hour(int(m["H"]), m["ampm"])
    if h > 23:
        return None
    return _Time(h, int(m["M"]), int(m["S"] or 0), _tz_of(m["tz"]))


def _to_gregorian(cal: str, y: int, mo: int, d: int) -> date | None:
    try:
        if cal == G:
            return date(y, mo, d)
        if cal == HIJRI:
            return hijri_to_gregorian(y, mo, d)
        if cal == JALALI:
            return jalali_to_gregorian(y, mo, d)
        if cal == KURDISH:
            return kurdish_to_gregorian(y, mo, d)
    except (ValueError, OverflowError):
        return None
    return None


def _calendar(cal: str, month: int, year: int, mark: str | None, lang: str | None
              ) -> tuple[str, int] | None:
    """Decide the calendar of a named-month date from the month series and the year."""
    mark = (mark or "").replace(" ", "")
    if cal == HIJRI:
        return (HIJRI, month) if 1300 <= year <= 1600 else None
    if cal == JALALI:
        return (JALALI, month) if 1300 <= year <= 1500 else None
    if cal == KURDISH:
        if 2600 <= year <= 2800:
            return KURDISH, month
        gm = _KURDISH_AS_GREGORIAN.get(month)
        return (G, gm) if gm and year >= 1900 else None
    if mark in ("ه", "هجري", "هجريه"):
        return None                       # a Gregorian month name with an AH year: nonsense
    return G, month


def _numeric_calendar(year: int, mark: str | None, lang: str | None) -> str | None:
    mark = (mark or "").replace(" ", "")
    if mark in ("ه", "هجري", "هجريه"):
        return HIJRI
    if mark in ("ش", "خورشيدي", "شمسي"):
        return JALALI
    if mark in ("يكوردي", "كوردي") or 2600 <= year <= 2800:
        return KURDISH
    if 1300 <= year <= 1500:
        return JALALI if lang == "fa" else HIJRI
    return G


# ---------------------------------------------------------------------- scanning

class _Hit(NamedTuple):
    start: int            # folded offsets
    end: int
    day: date | None      # None for relative hits (value given directly)
    value: datetime | None
    full: bool            # has a year (or is relative): beats year-less hits


def _attach_time(f: str, start: int, end: int, d: date, zone: tzinfo
                 ) -> tuple[int, int, datetime]:
    t = None
    m = _TIME_AFTER.match(f, end)
    if m and (m.end() - end) <= 40:
        t, end = _time_of(m), m.end()
    else:
        window_start = max(0, start - 40)
        mb = _TIME_BEFORE.search(f[window_start:start])
        if mb:
            t = _time_of(mb)
            if t is not None:
                start = window_start + mb.start()
    if t is None:
        return start, end, datetime(d.year, d.month, d.day, tzinfo=zone)
    return start, end, datetime(d.year, d.month, d.day, t.hour, t.minute, t.second,
                                tzinfo=t.tz or zone)


def _named_hits(f: str, lang: str | None) -> Iterator[tuple[int, int, date, bool]]:
    for m in _DMY.finditer(f):
        info = _MONTHS.get(re.sub(r"\s+", " ", m["mon"]))
        if info is None:
            continue
        y = int(m["y"])
        cal = _calendar(info.calendar, info.month, y, m["mark"], lang)
        if cal is None:
            continue
        d = _to_gregorian(cal[0], y, cal[1], int(m["d"]))
        if d is not None:
            yield m.start(), m.end(), d, True
    for m in _MDY.finditer(f):
        info = _MONTHS.get(re.sub(r"\s+", " ", m["mon"]))
        if info is None or info.calendar != G:
            continue
        try:
            d = date(int(m["y"]), info.month, int(m["d"]))
        except ValueError:
            continue
        start = m.start()
        wd = _WD_MDY.search(f[max(0, start - 14):start])
        if wd:
            start = max(0, start - 14) + wd.start()
        yield start, m.end(), d, True


def _numeric_hits(f: str, lang: str | None) -> Iterator[tuple[int, int, date, bool]]:
    for m in _YMD.finditer(f):
        y = int(m["y"])
        cal = _numeric_calendar(y, m["mark"], lang)
        d = _to_gregorian(cal or G, y, int(m["m"]), int(m["d"]))
        if d is not None:
            yield m.start(), m.end(), d, True
    for m in _DMY_NUM.finditer(f):
        y, a, b = int(m["y"]), int(m["d"]), int(m["m"])
        cal = _numeric_calendar(y, m["mark"], lang) or G
        day, month = a, b
        if (lang == "en" and a <= 12 and b <= 31) or (a <= 12 < b):
            day, month = b, a                       # M/D/Y
        d = _to_gregorian(cal, y, month, day)
        if d is not None:
            yield m.start(), m.end(), d, True
    for m in _DMY_SHORT.finditer(f):
        d = _to_gregorian(G, 2000 + int(m["y"]), int(m["m"]), int(m["d"]))
        if d is not None:
            yield m.start(), m.end(), d, True


def _relative_hits(f: str, now: datetime, zone: tzinfo) -> Iterator[_Hit]:
    local = now.astimezone(zone)
    for rx in (_REL_BEFORE, _REL_AFTER):
        for m in rx.finditer(f):
            unit_word = re.sub(r"\s+", " ", m["u"])
            unit = _UNIT_OF.get(unit_word)
            if unit is None:
                continue
            raw = m["n"]
            if raw is None:
                n = 2 if unit_word in _DUALS else 1
            else:
                n = int(raw) if raw.isdigit() else _NUM_OF.get(raw, 1)
            delta = {"s": timedelta(seconds=n), "m": timedelta(minutes=n),
                     "h": timedelta(hours=n), "d": timedelta(days=n),
                     "w": timedelta(weeks=n), "M": timedelta(days=30 * n),
                     "y": timedelta(days=365 * n)}[unit]
            yield _Hit(m.start(), m.end(), None, local - delta, True)


def _day_word_hits(f: str, now: datetime, zone: tzinfo, alone: bool) -> Iterator[_Hit]:
    local = now.astimezone(zone)
    for m in _DAY_WORD_RE.finditer(f):
        offset = _DAY_OF.get(re.sub(r"\s+", " ", m["w"]))
        if offset is None:
            continue
        d = (local + timedelta(days=offset)).date()
        tm = _TIME_AFTER.match(f, m.end())
        if tm and (t := _time_of(tm)) is not None:
            yield _Hit(m.start(), tm.end(), None,
                       datetime(d.year, d.month, d.day, t.hour, t.minute, t.second,
                                tzinfo=t.tz or zone), True)
        elif alone and f.strip(" \t\n.,:;-") == m.group():   # the word is the whole text
            yield _Hit(m.start(), m.end(), None, datetime(d.year, d.month, d.day, tzinfo=zone),
                       True)


def _noyear_hits(f: str, now: datetime, zone: tzinfo) -> Iterator[_Hit]:
    local = now.astimezone(zone)
    for m in _DM_NOYEAR.finditer(f):
        info = _MONTHS.get(re.sub(r"\s+", " ", m["mon"]))
        if info is None or info.calendar not in (G, KURDISH):
            continue
        month = info.month if info.calendar == G else _KURDISH_AS_GREGORIAN.get(info.month)
        if month is None:
            continue
        for year in (local.year, local.year - 1):
            try:
                d = date(year, month, int(m["d"]))
            except ValueError:
                break
            if d <= local.date() + timedelta(days=1):
                yield _Hit(m.start(), m.end(), d, None, False)
                break


def plausible(value: datetime, now: datetime | None = None) -> bool:
    """A date a news article can carry: from MIN_YEAR to two days ahead of ``now``."""
    now = now or datetime.now(timezone.utc)
    return value.year >= MIN_YEAR and value <= now + _FUTURE_SLACK


_HAS_DIGIT = re.compile(r"\d")


def _scan(text: str, lang: str | None, zone: tzinfo, now: datetime, alone: bool
          ) -> tuple[int, int, datetime] | None:
    folded = _fold(text)
    f = folded.text
    hits: list[_Hit] = []
    if _HAS_DIGIT.search(f):
        for gen in (_named_hits(f, lang), _numeric_hits(f, lang)):
            for start, end, d, full in gen:
                hits.append(_Hit(start, end, d, None, full))
    hits.extend(_relative_hits(f, now, zone))
    hits.extend(_day_word_hits(f, now, zone, alone))
    if alone and _JUST_NOW.fullmatch(f.strip()):
        hits.append(_Hit(0, len(f), None, now.astimezone(zone), True))
    best: tuple[int, int, datetime] | None = None
    for full_only in (True, False):
        if not full_only and _HAS_DIGIT.search(f):
            hits.extend(_noyear_hits(f, now, zone))
        candidates = sorted((h for h in hits if h.full == full_only),
                            key=lambda h: (h.start, -(h.end - h.start)))
        for h in candidates:
            if h.value is not None:
                start, end, value = h.start, h.end, h.value
            else:
                assert h.day is not None
                start, end, value = _attach_time(f, h.start, h.end, h.day, zone)
            if plausible(value, now):
                best = (folded.orig(start), folded.orig(end, end=True), value)
                break
        if best:
            return best
    return None


def _parse_iso(text: str, zone: tzinfo) -> datetime | None:
    low = text.lower()
    if not _ISO_FULL.fullmatch(low):
        return None
    if len(low) == 4:
        return datetime(int(low), 1, 1, tzinfo=zone)
    if len(low) == 7:
        return datetime(int(low[:4]), int(low[5:7]), 1, tzinfo=zone)
    try:
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(",", "."))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def _parse_rfc822(text: str, zone: tzinfo) -> datetime | None:
    if not _RFC822.match(text.lower()):
        return None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc if text.rstrip().endswith("-0000") else zone)
    return value


# ---------------------------------------------------------------------- public API

def parse_date(text: str | None, lang: str | None = None, tz: str | tzinfo | None = "UTC",
               now: datetime | None = None) -> datetime | None:
    """Parse one date expression (the whole string is about a date).

    Returns an aware datetime keeping the text's own offset (naive times are placed in ``tz``),
    or None when nothing plausible is found (before 1990, or > 2 days after ``now``)."""
    text = (text or "").strip()
    if not text:
        return None
    zone = _zone(tz)
    now_ = _now(now, zone)
    value = _parse_iso(text, zone) if text[:4].isdigit() else None
    if value is None and text[:1].isascii():
        value = _parse_rfc822(text, zone)
    if value is not None:
        return value if plausible(value, now_) else None
    found = _scan(text, lang, zone, now_, alone=True)
    return found[2] if found else None


def search_date(text: str | None, lang: str | None = None, tz: str | tzinfo | None = "UTC",
                now: datetime | None = None) -> tuple[int, int, datetime] | None:
    """Find the first plausible date expression in free text: ``(start, end, datetime)`` with
    offsets into ``text``, or None. Bare "today"/"yesterday" words count only with a time."""
    if not text:
        return None
    zone = _zone(tz)
    return _scan(text, lang, zone, _now(now, zone), alone=False)

