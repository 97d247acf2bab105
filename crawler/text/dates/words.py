"""Folding and vocabularies of the multilingual date scanner: one fold of the text (digits to
ASCII, marks removed, letter variants folded — one character for one character, so matches map
back to the original offsets), month and weekday names (babel's CLDR data plus the forms it
lacks) and the compiled patterns :mod:`crawler.text.dates.scan` runs."""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

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


def fold(text: str) -> _Folded:
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
KURDISH_AS_GREGORIAN = {2: 5, 4: 6, 5: 8, 7: 9, 9: 11, 10: 12, 11: 1, 12: 2}
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


MONTHS = _month_table()


def _alternation(words: list[str]) -> str:
    words = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)


_MONTH_ALT = _alternation(list(MONTHS))
_LATIN_MONTH_ALT = _alternation([k for k in MONTHS if k.isascii()])
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
TIME_AFTER = re.compile(_DT_SEP + _TIME)
TIME_BEFORE = re.compile(_TIME + r"\s*[,|\-]?\s*(?:(?:يوم|في|on|,)\s*)?$")

DMY = re.compile(
    rf"{_B}{_WEEKDAY}(?P<d>[0-3]?\d){_DAY_SUFFIX}{_D_M_SEP}(?P<mon>{_MONTH_ALT}){_MONTH_SUFFIX}"
    rf"{_E}{_MONTH2}{_M_Y_SEP}(?P<y>\d{{4}})(?!\d){_YEAR_MARK}")
MDY = re.compile(
    rf"{_B}(?=[a-zçşğüöıîêû]{{3,10}}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
    rf"(?P<mon>{_LATIN_MONTH_ALT})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})(?!\d)")
WD_MDY = re.compile(rf"{_B}(?:{_WEEKDAY_ALT}),?\s+$")
YMD = re.compile(r"(?<![\d/.\-])(?P<y>\d{4})\s?(?P<sep>[\-/.])\s?(?P<m>[01]?\d)\s?(?P=sep)\s?"
                  rf"(?P<d>[0-3]?\d)(?![\d/])(?:{_YEAR_MARK})?")
DMY_NUM = re.compile(r"(?<![\d/.\-])(?P<d>[0-3]?\d)\s?(?P<sep>[\-/.])\s?(?P<m>[0-3]?\d)\s?(?P=sep)"
                      rf"\s?(?P<y>\d{{4}})(?![\d/])(?:{_YEAR_MARK})?")
#: "25.04.24": day, month and a two-digit year, dot-separated only (German, Russian, Czech …).
DMY_SHORT = re.compile(r"(?<![\d/.\-])(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>\d{2})(?![\d.])")
DM_NOYEAR = re.compile(
    rf"{_B}{_WEEKDAY}(?P<d>[0-3]?\d){_DAY_SUFFIX}{_D_M_SEP}(?P<mon>{_MONTH_ALT}){_MONTH_SUFFIX}"
    rf"{_E}{_MONTH2}(?!\s*[\-/.,]?\s*\d)")
ISO_FULL = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?(?:[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
                       r"(?:z|[+\-]\d{2}(?::?\d{2})?)?")

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
DUALS = {_fold_word(w) for w in ("ثانيتين دقيقتين دقيقتان ساعتين ساعتان يومين يومان أسبوعين "
                                  "أسبوعان شهرين سنتين عامين").split()}
UNIT_OF = {_fold_word(w): u for u, words in _UNITS.items() for w in words.split("|")}
_UNIT_ALT = _alternation(list(UNIT_OF))
_NUMBER_WORDS = {
    1: "واحد|واحده|يک|یەک|yek|bir|one|a|an|yekê", 2: "اثنين|اثنان|دوو|du|iki|two",
    3: "ثلاث|ثلاثه|سێ|sê|üç|three", 4: "اربع|اربعه|چوار|çar|dört|four",
    5: "خمس|خمسه|پێنج|pênc|beş|five", 6: "ست|سته|شەش|şeş|altı|six",
    7: "سبع|سبعه|حەوت|heft|yedi|seven", 8: "ثماني|ثمانيه|ثمان|هەشت|heşt|sekiz|eight",
    9: "تسع|تسعه|نۆ|neh|dokuz|nine", 10: "عشر|عشره|دە|deh|on|ten",
}
NUM_OF = {_fold_word(w): n for n, words in _NUMBER_WORDS.items() for w in words.split("|")}
_NUM_ALT = r"\d{1,3}|" + _alternation(list(NUM_OF))
_UNIT_TAIL = r"(?:[a-z]{0,5}|يك|يهك|ي)"    # Kurmanji -an/-ekê, Sorani -ێک, plural s
REL_BEFORE = re.compile(
    rf"{_B}(?:منذ|قبل|حوالي|پيش|بهر\s+له|beri|berî|nêzî)\s+(?:(?:حوالي|نحو|zêdetir\s+ji)\s+)?"
    rf"(?:(?P<n>{_NUM_ALT})\s+)?(?P<u>{_UNIT_ALT}){_UNIT_TAIL}{_E}")
REL_AFTER = re.compile(
    rf"{_B}(?P<n>{_NUM_ALT})\s+(?P<u>{_UNIT_ALT}){_UNIT_TAIL}\s+"
    r"(?:ago|once|önce|berê|bere|beriya\s+niha|لهمهوبهر|لهوهپيش|پيش|قبل)(?![^\W\d_])")
_DAY_WORDS = {
    -1: "أمس|امس|الأمس|البارحة|البارحه|دوێنێ|دوینی|duh|doh|dün|yesterday|دیروز|yesterday's",
    -2: "أول أمس|اول امس|أول من أمس|پێرێ|پیری|pêr|evvelsi gün|دیروز قبل",
    0: "اليوم|ئەمڕۆ|îro|iro|bugün|today|امروز",
}
DAY_OF = {_fold_word(w): n for n, words in _DAY_WORDS.items() for w in words.split("|")}
DAY_WORD_RE = re.compile(rf"{_B}(?P<w>{_alternation(list(DAY_OF))}){_E}")
JUST_NOW = re.compile(rf"{_B}(?:الآن|الان|just\s+now|az\s+önce|niha|ئێستا|now){_E}")
