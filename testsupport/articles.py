"""News articles for tests and benchmarks: a report that matches the الرقة rule, numbered stored
articles, and generated distinct stories (the reliability tests and bench/store_writers.py)."""
from __future__ import annotations

import hashlib
import random

from crawler.models import Article
from testsupport.pages import article_page

#: Three paragraphs of one Arabic report on الرقة (alert and digest end-to-end tests).
RAQQA_REPORT = [
    "قالت مصادر محلية إن اشتباكات عنيفة اندلعت صباح اليوم بين قوات سوريا الديمقراطية وخلايا "
    "تابعة لتنظيم داعش في ريف الرقة الشمالي، وأسفرت عن مقتل عدد من المسلحين.",
    "وأضافت المصادر أن طائرات التحالف الدولي حلقت في سماء المنطقة طوال ساعات الاشتباك، فيما "
    "نزحت عشرات العائلات من القرى القريبة باتجاه مدينة الرقة.",
    "وأكد مسؤول عسكري أن العملية تهدف إلى تأمين الطريق الواصل بين الرقة ودير الزور بعد سلسلة "
    "هجمات استهدفت نقاط المراقبة خلال الأسبوع الماضي.",
]


#: Four paragraphs of a longer report on clashes near الرقة (dedup and web end-to-end tests:
#: syndicated copies, edits).
RAQQA_CLASHES = [
    "قالت مصادر محلية إن اشتباكات عنيفة اندلعت صباح الخميس بين قوات سوريا الديمقراطية وخلايا "
    "تابعة لتنظيم داعش في ريف الرقة الشمالي، وأسفرت عن مقتل سبعة مسلحين وإصابة آخرين.",
    "وأضافت المصادر أن طائرات التحالف الدولي حلقت فوق قرى المنطقة طوال ساعات الاشتباك، فيما "
    "نزحت عشرات العائلات من القرى القريبة باتجاه مدينة الرقة بحثاً عن الأمان.",
    "وأكد مسؤول عسكري أن العملية تهدف إلى تأمين الطريق الواصل بين الرقة ودير الزور بعد سلسلة "
    "هجمات استهدفت نقاط المراقبة خلال الأسبوع الماضي وأدت إلى سقوط ضحايا مدنيين.",
    "ويأتي التصعيد بعد أيام من إعلان الإدارة الذاتية حظر تجول جزئي في عدد من البلدات، وسط "
    "مخاوف من عودة نشاط التنظيم في البادية السورية مع اقتراب فصل الصيف.",
]

def numbered_article(n: int, *, body: str | None = None, source: str = "rok", lang: str = "ar",
                     title: str | None = None) -> Article:
    """Stored article ``n`` (https://example.org/n) for store tests: mentions الرقة unless
    ``body`` says otherwise."""
    text = body or f"خبر رقم {n} عن مدينة الرقة والقوات."
    return Article(source=source, url=f"https://example.org/{n}",
                   canonical_url=f"https://example.org/{n}", title=title or f"عنوان {n}",
                   body=text, language=lang, published_at="2017-06-01T10:00:00+03:00",
                   content_hash=hashlib.sha1(text.encode()).hexdigest(),
                   fetched_at="2017-06-01T08:00:00+00:00")

# Word salad from a fixed vocabulary: every article is its own story (no shared 4-word
# shingles), so every article must produce its own alerts.
VOCABULARY = """
شهدت مدينة القامشلي صباح اليوم حركة نشطة أسواقها الرئيسية اقتراب موسم الحصاد تحدث تجار ارتفاع
ملحوظ أسعار البذور الأسمدة مقارنة بالعام الماضي قال مزارعون ريف المدينة كميات الأمطار الموسم
كانت أقل المعتاد دفع كثيرين منهم الاعتماد الآبار الارتوازية لري محاصيل القمح الشعير أكدت لجنة
الزراعة المحلية تعمل توزيع إضافية المازوت بأسعار مدعومة الأسابيع المقبلة لتخفيف الأعباء
المزارعين المنطقة افتتح عامودا مساء أمس مهرجان ثقافي يستمر ثلاثة أيام بمشاركة فرق موسيقية
مسرحية مختلف مدن وسط حضور جماهيري لافت منظمو البرنامج يتضمن أمسيات شعرية باللغتين العربية
الكردية إضافة معرض للكتاب ورشات للأطفال الحدائق العامة أشار ريع سيخصص لدعم المكتبة ترميم
قاعاتها تضررت السنوات افتتحت البلدية جسراً جديداً فوق نهر الخابور يربط حيين أشهر العمل
المتواصل بتمويل منظمات رئيس الجسر سيخفف الازدحام الطريق القديم يختصر المسافة يقطعها طلاب
المدارس يومياً بنحو كيلومترات أضاف أعمال الإنارة الأرصفة ستنتهي خلال الأسبوعين داعياً
السائقين الالتزام بالسرعة المحددة أطلق متطوعون حملة لتنظيف ضفاف جقجق النفايات البلاستيكية
تراكمت فصل الشتاء ستستمر أسبوعاً كاملاً وفرت شاحنات لنقل المكب خارج دعا السكان عدم رمي
المخلفات مجرى محذرين تأثيرها المزروعات تعتمد مياهه الصيف المستشفى الوطني الأطباء الممرضين
الكهرباء المياه الخبز الأفران الطحين المحروقات الحافلات الجامعة الطلاب الامتحانات النتائج
""".split()


def story_page(n: int, rng: random.Random) -> tuple[str, str]:
    """(title, HTML) of article ``n``: mentions الرقة, shares no 4-word run with the others."""
    words = [rng.choice(VOCABULARY) for _ in range(150)]
    paragraphs = [" ".join(words[i:i + 50]) + "." for i in range(0, 150, 50)]
    paragraphs.insert(1, f"وأفادت مصادر بأن الخبر رقم {n} يتعلق بمدينة الرقة وريفها الشرقي.")
    title = f"تطورات جديدة في الرقة: الخبر رقم {n}"
    return title, article_page(title, paragraphs, "111 0 شاركها", "2017-06-01T10:00:00+03:00")
