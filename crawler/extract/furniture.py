"""What is page furniture rather than article: element classes/ids and whole text lines.

Two layers, because templates differ: elements are pruned by tag and by class/id words (menus,
share bars, related links, comment sections) before the body is read, and the remaining text
lines are then checked against the labels those widgets print in Arabic, Sorani, Kurmanji and
English ("111 0 شاركها", "بدون تعليق", "اترك رد", "Parve bike", "هەواڵی پەیوەندیدار" …), which
catches furniture that sits inside the article container without a telling class.
"""
from __future__ import annotations

import re
from functools import lru_cache

#: Elements that never hold article text.
DROP_TAGS = frozenset({
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed",
    "button", "select", "textarea", "input", "label", "option", "nav", "aside", "menu",
    "dialog", "header", "footer", "video", "audio", "picture", "source", "map", "figcaption",
    "link", "meta", "title", "head",
})

#: class/id words (split on space, - and _) of widgets that are never article text …
_STRONG = (
    "share", "shares", "sharing", "sharer", "social", "socials", "sociable", "addthis",
    "sharethis", "related", "relatedposts", "comment", "comments", "respond", "reply",
    "replies", "disqus", "breadcrumb", "breadcrumbs", "sidebar", "widget", "widgets",
    "newsletter", "subscribe", "subscription", "advert", "advertisement", "ads", "ad", "adv",
    "sponsor", "sponsored", "banner", "cookie", "cookies", "popup", "modal", "menu", "navbar",
    "nav", "navigation", "footer", "pagination", "pager", "tagcloud", "authorbox", "author box",
    "bio", "mostread", "most read", "popular", "trending", "ticker", "breaking", "masthead",
    "topbar", "toolbar", "print", "rating", "more news", "morenews", "readmore", "read more",
    "also", "recommended", "outbrain", "taboola", "jp relatedposts", "yarpp",
)
#: … and words of blocks that usually are furniture but sometimes wrap the article.
_WEAK = ("meta", "byline", "tags", "tag", "promo",
         "header", "head", "info", "date", "time", "author", "caption", "credit", "keywords")
_WORD = re.compile(r"[a-z0-9]+")


def _phrase_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"(?:^| )(?:{alternatives})(?= |$)")


STRONG_CLASS = _phrase_regex(_STRONG)
WEAK_CLASS = _phrase_regex(_WEAK)
#: Comment sections are dropped even when they hold many long paragraphs.
COMMENTS_CLASS = _phrase_regex(("comment", "comments", "respond", "reply", "replies", "disqus"))

_DIGITS = "0-9٠-٩۰-۹"
_COUNTER = rf"[{_DIGITS}\s.,kKم+]*"
# Whole lines (after whitespace collapsing) that are widget labels, in every language we crawl.
_LINE_LABELS = (
    # share bars and counters
    "شاركها", "شارك", "شاركه", "مشاركة", "مشاركات", "المشاركات", "شارك الخبر", "شارك المقال",
    "share", "shares", "share this", "share on facebook", "share on twitter", "tweet",
    "parve bike", "parve bikin", "parvekirin", "بڵاوی بکەرەوە", "هاوبەشی بکە", "هاوبەشیکردن",
    "فیسبووک", "تویتەر", "فيسبوك", "تويتر", "واتساب", "تيليجرام", "facebook", "twitter",
    "whatsapp", "telegram", "email", "print", "طباعة", "حفظ", "نسخ الرابط", "copy link",
    # comments and comment forms
    "بدون تعليق", "لا توجد تعليقات", "لا يوجد تعليقات", "اترك رد", "اترك ردا", "اترك رداً",
    "اترك تعليقا", "اترك تعليقاً", "أضف تعليق", "أضف تعليقا", "أضف تعليقاً", "أضف تعليقك",
    "التعليقات", "تعليقات", "تعليق", "إرسال التعليق", "ارسال التعليق", "أرسل التعليق",
    "تم أضافة تعليقك", "تم إضافة تعليقك", "الاسم", "الاسم *", "البريد الإلكتروني",
    "البريد الالكتروني", "البريد الإلكتروني *", "الموقع الإلكتروني", "الموقع", "التعليق",
    "إلغاء الرد", "لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *",
    "لن يتم نشر عنوان بريدك الإلكتروني.", "الحقول الإلزامية مشار إليها بـ *",
    "احفظ اسمي، بريدي الإلكتروني، والموقع الإلكتروني في هذا المتصفح لاستخدامها المرة المقبلة "
    "في تعليقي.",
    "کۆمێنت", "کۆمێنتەکان", "کۆمێنت بنووسە", "بۆچوونی خۆت بنووسە", "بۆچوونەکان", "لێدوان",
    "لێدوانەکان", "ناو", "ئیمەیڵ", "ناردن", "بنێرە", "هیچ لێدوانێک نییە",
    "şîrove", "şîroveyan", "şîroveyek binivîse", "şîroveyekê binivîse", "bersiv bide",
    "bersivekê bihêle", "navê te", "nav", "e-name", "e-mail", "bişîne", "şîrove tune",
    "leave a reply", "leave a comment", "no comments", "comments", "comment", "name", "website",
    "post comment", "cancel reply",
    # related links and read-more boxes
    "مقالات ذات صلة", "أخبار ذات صلة", "اخبار ذات صلة", "مواضيع ذات صلة", "ذات صلة",
    "اقرأ أيضا", "اقرأ أيضاً", "إقرأ أيضا", "إقرأ أيضاً", "اقرأ ايضا", "شاهد أيضا",
    "شاهد أيضاً", "الأكثر قراءة", "الأكثر مشاهدة", "آخر الأخبار", "المزيد", "اقرأ المزيد",
    "هەواڵی پەیوەندیدار", "هەواڵە پەیوەندیدارەکان", "بابەتی پەیوەندیدار", "زیاتر بخوێنەوە",
    "زۆرترین خوێنراو", "دوایین هەواڵەکان", "nûçeyên têkildar", "nûçeyên din", "zêdetir bixwîne",
    "yên herî zêde têne xwendin", "nûçeyên dawî", "related", "related posts", "related articles",
    "related news", "read more", "read also", "more news", "most read",
    # the same widgets on the international pages a monitor also meets
    "advert", "advertisement", "anzeige", "werbung", "publicidad", "publicité", "pubblicità",
    "reklama", "реклама", "sponsored", "this slideshow requires javascript.",
    "this slideshow requires javascript", "don't miss", "do not miss", "tell us what you think",
    "tell us what you think...", "to read the full story", "read the full story",
    "continue reading", "weiterlesen", "mehr zum thema", "lesen sie auch", "auch interessant",
    "das könnte sie auch interessieren", "related stories", "recommended", "you may also like",
    "you might also like", "você pode gostar", "você pode gostar...", "leia também",
    "lee también", "à lire aussi", "lire aussi", "noticias relacionadas",
    "notícias relacionadas", "artículos relacionados", "читайте также", "отзывы",
    "добавить отзыв", "comentarios", "comentários", "kommentare", "commentaires", "commenti",
    "article réservé aux abonnés", "nur für abonnenten", "exclusivo para suscriptores",
    "subscribe", "sign up", "subscribe now", "newsletter", "jetzt abonnieren",
    "関連記事", "関連キーワード", "関連ニュース", "おすすめ記事", "相关新闻", "相关阅读",
    "相关文章", "관련기사", "관련 기사", "많이 본 뉴스",
    "おすすめ情報", "おすすめ", "新着記事", "カテゴリーをフォローする", "この記事をシェア",
    "推荐阅读", "热门推荐", "分享到", "많이 본 기사", "추천 기사", "कॉपी लिंक", "लिंक कॉपी करें",
    "ये भी पढ़ें", "เรื่องที่เกี่ยวข้อง", "ข่าวที่เกี่ยวข้อง", "самые популярные",
    "популярное", "похожие статьи", "похожие новости", "czytaj więcej", "czytaj także",
    "ログイン", "ログインする", "会員登録", "新規会員登録",
    # tags / categories labels
    "الرئيسية", "الصفحة الرئيسية", "سەرەکی", "serûpel", "home",
    "الوسوم", "الوسوم:", "وسوم", "الكلمات المفتاحية", "تصنيفات", "تاگەکان", "پۆل", "etîket",
    "etîketan", "kategorî", "tags", "tags:",
)
_LABEL_SET = frozenset(label.lower().rstrip(":：").strip() for label in _LINE_LABELS)
# A number and a share word, or bare counters: "111 0 شاركها", "23 Parve bike", "0", "١٢".
_SHARE_COUNTER = re.compile(
    rf"^{_COUNTER}(?:شاركها|مشاركة|مشاركات|share|shares|parve bike|بڵاوی بکەرەوە|هاوبەشی بکە|"
    rf"تعليق|تعليقات|comments?|şîrove|لێدوان|views|مشاهدة|مشاهدات|بینین|dîtin)?{_COUNTER}$",
    re.I)
# "اقرأ أيضاً: <headline>", "Bixwîne: …", "بخوێنەوە: …" — a pointer to another article.
_READ_ALSO = re.compile(
    r"^(?:اقرأ|إقرأ|اقرا|شاهد|طالع)\s+(?:أيضا|أيضاً|ايضا|ايضاً|كذلك)\s*[:：-]|"
    r"^(?:ذات صلة|مواضيع ذات صلة)\s*[:：]|^(?:زیاتر بخوێنەوە|بخوێنەوە|Bixwîne|Herwiha bixwîne|"
    r"Read (?:also|more)|See also|Related|Lesen Sie (?:auch|mehr)|Mehr zum Thema|Lire aussi|"
    r"À lire aussi|Leia (?:também|mais)|Lee también|Leer más|Leggi anche|Читайте также|"
    r"Se også|Läs också|Czytaj (?:też|także)|Okuyun|Ayrıca okuyun)\s*[:：-]", re.I)
#: A photo credit or copyright line standing alone ("© Aaron Schwartz", "Foto: dpa").
_CREDIT = re.compile(r"^(?:©|\(c\)|copyright\b|photo:|photos:|foto:|fotos:|bild:|image:|"
                     r"credit:|crédito:|fotoğraf:|صورة:|الصورة:|وێنە:)\s*\S", re.I)
#: A newsletter box's pitch: "Sign up for … newsletter", "… delivered to your inbox".
_NEWSLETTER = re.compile(r"\b(?:sign up|subscribe|abonnieren|abonnez|suscr[ií]bete|"
                         r"inscreva-se|iscriviti)\b.{0,160}\b(?:newsletter|inbox|e-?mail)\b|"
                         r"\b(?:newsletter|inbox)\b.{0,120}\b(?:sign up|subscribe)\b", re.I)
# Bylines standing alone: "بقلم: فلان", "كتب - فلان", "Nivîskar: …", "By Jane Doe".
_BYLINE = re.compile(
    r"^(?:بقلم|كتب|كتبت|كتبه|تحرير|إعداد|اعداد|المحرر|تقرير|نووسینی|نووسەر|ئامادەکردنی|"
    r"Nivîskar|Nivîsandin|Amadekar|Written by|By)\s*[:：\-–]?\s*\S", re.I)
_ONLY_SYMBOLS = re.compile(rf"^[\W_{_DIGITS}]*$")
_ONLY_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
_BULLETS = "■□●○◆◇▶▷►•*#【[»›"
# A byline in a language that writes it with a lower-case preposition first ("von Engin Haupt,
# MDR", "par Claire Montel"): case-sensitive, a sentence never starts that way.
_LOWER_BYLINE = re.compile(r"^(?:von|par|por|di|av|door|af|od)\s+\w")
# "الوسوم: …", "Etîket: …", "تاگەکان: …" — a tag or category list with its label.
_TAG_LIST = re.compile(
    r"^(?:الوسوم|وسوم|الكلمات المفتاحية|كلمات مفتاحية|التصنيف|التصنيفات|تصنيفات|القسم|"
    r"تاگەکان|تاگ|پۆل|پۆلەکان|Etîket|Etîketan|Kategorî|Kategori|Tags?|Categories|Category|"
    r"Filed under)\s*[:：]", re.I)


#: A member feature's hint on Japanese news sites ("…ご利用には会員登録が必要です。").
_MEMBERS_ONLY = re.compile(r"(?:会員登録が必要です|会員の方のみご利用いただけます)。?$")
#: "社会の新着", "政治の最新ニュース": a section's latest-stories heading on Japanese sites.
_SECTION_LATEST = re.compile(r"^\S{1,12}の(?:新着|最新ニュース|最新記事)$")


def is_label_line(line: str) -> bool:
    """True for a line that is a widget label, counter, read-also pointer, tag list, lone
    byline, photo credit or newsletter pitch."""
    low = line.lower().rstrip(":：").strip().lstrip(_BULLETS).rstrip("】]").strip()
    if low in _LABEL_SET or _ONLY_SYMBOLS.match(line) or _ONLY_URL.match(line) \
            or _SECTION_LATEST.match(low):
        return True
    if len(line) <= 60 and _LOWER_BYLINE.match(line):
        return True
    if len(line) <= 60 and _SHARE_COUNTER.match(low):
        return True
    if len(line) <= 200 and _READ_ALSO.match(line):
        return True
    if len(line) <= 60 and _BYLINE.match(line):
        return True
    if len(line) <= 200 and _TAG_LIST.match(line):
        return True
    if len(line) <= 100 and _CREDIT.match(line):
        return True
    if len(line) <= 120 and _MEMBERS_ONLY.search(line):
        return True
    if len(line) <= 300 and _NEWSLETTER.search(line):
        return True
    return False


@lru_cache(maxsize=16384)
def class_words(value: str) -> str:
    """class/id text as lower-case words joined by single spaces (for the *_CLASS regexes):
    ``"td-post-sharing_top"`` → ``"td post sharing top"``."""
    return " ".join(_WORD.findall(value.lower()))
