"""Extraction quality on real pages: Chavder vs trafilatura on the same pages, in one run.

The pages are the shared extraction benchmark (302 real news/article pages with ground truth;
``--pages DIR``, default ``../shared/extraction-benchmark`` next to the repository; read only,
never used by the tests); with ``--newsplease`` news-please 1.6.16 too, run in its own venv.
Scored per page and in total:

* body precision / recall / F1 with the article-extraction-benchmark metric (scrapinghub):
  ``\\w+`` tokens, word 4-gram shingles counted as multisets, TP/FP/FN of each page normalised
  to sum 1, summed over pages; P = TP/(TP+FP), R = TP/(TP+FN), F1 from those two. Unsegmented
  scripts (Han, kana, Thai, Myanmar…) are split into one token per character first, otherwise
  a whole paragraph is one "word" and the metric says nothing (no effect on the ``sh-`` pages);
* title exact match after NFKC, invisible format characters removed, whitespace collapsing
  and edge-quote trimming (pages
  whose truth has a title);
* publication day (pages whose truth has a date): the extracted instant, seen in the truth's
  UTC offset when the truth has one, falls on the truth's day;
* time per page (median, p95) for each extractor on the same decoded-or-raw input.

Chavder runs ``extract_page`` exactly as the crawl's ExtractPipeline calls it (raw bytes,
response headers without a charset, the source's time zone — UTC here — and no source
languages); trafilatura runs ``bare_extraction(with_metadata=True)`` on the same raw bytes.
Broken down by ``truth_kind``, by language and for right-to-left / non-Latin pages.

    .venv/bin/python bench/extract_quality.py [--pages DIR] [--json out.json] [--per-page]
    .venv/bin/python bench/extract_quality.py --only sh- --worst 15      # the worst sh- pages
    .venv/bin/python bench/extract_quality.py --newsplease     # + news-please, in its own venv
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def default_pages() -> Path:
    """``../shared/extraction-benchmark`` next to the repository — for a git worktree, next to
    its main checkout too (where the shared folder is)."""
    candidates = [ROOT.parent / "shared" / "extraction-benchmark"]
    common = ROOT / ".git"
    if common.is_file():   # a worktree: ".git" names <main>/.git/worktrees/<name>
        text = common.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            main_git = Path(text.split(":", 1)[1].strip()).parent.parent
            candidates.append(main_git.parent.parent / "shared" / "extraction-benchmark")
    return next((c for c in candidates if c.exists()), candidates[0])


RESULTS = ROOT / "bench" / "results"
HUMAN = "human-annotated"

# ---------------------------------------------------------------------- the metric
_TOKEN = re.compile(r"\w+")
#: Scripts written without spaces between words: each character is a token.
_UNSEGMENTED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                          "\u0e00-\u0e7f\u1000-\u109f\u0e80-\u0eff\u1780-\u17ff]")


def tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in _TOKEN.findall(text or ""):
        if _UNSEGMENTED.search(tok):
            out.extend(ch for ch in tok)
        else:
            out.append(tok)
    return out


def shingles(text: str, n: int = 4) -> Counter:
    toks = tokens(text)
    return Counter(" ".join(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1))
                   if toks[i:i + n])


def body_match(truth: str, pred: str) -> tuple[float, float, float]:
    """(tp, fp, fn) of one page, normalised to sum 1 (0, 0, 0 when both are empty)."""
    t, p = shingles(truth), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def prf(matches: Iterable[tuple[float, float, float]]) -> dict[str, float | int]:
    tp = fp = fn = 0.0
    n = 0
    for a, b, c in matches:
        tp, fp, fn, n = tp + a, fp + b, fn + c, n + 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"pages": n, "f1": round(f, 4), "precision": round(p, 4), "recall": round(r, 4)}


def norm_title(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")   # zero-width & co.
    text = " ".join(text.split())
    return text.strip(" \"'“”„«»‘’‹›")


def _parse_when(value: Any) -> datetime | date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    text = str(value).strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None


def same_day(truth: str, got: Any) -> bool:
    want, have = _parse_when(truth), _parse_when(got)
    if want is None or have is None:
        return False
    if isinstance(want, datetime) and isinstance(have, datetime) and want.tzinfo and have.tzinfo:
        return have.astimezone(want.tzinfo).date() == want.date()
    want_day = want.date() if isinstance(want, datetime) else want
    have_day = have.date() if isinstance(have, datetime) else have
    return want_day == have_day


# ---------------------------------------------------------------------- page sets
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
_LETTER = re.compile(r"[^\W\d_]")


def script_group(text: str) -> str:
    sample = text[:3000]
    letters = len(_LETTER.findall(sample)) or 1
    if len(_RTL.findall(sample)) / letters > 0.5:
        return "rtl"
    if len(_LATIN.findall(sample)) / letters < 0.5:
        return "non-latin"
    return "latin"


# ---------------------------------------------------------------------- extractors
def run_chavder(raw: bytes, url: str) -> dict:
    from crawler.extract import ExtractionError
    from crawler.extract.page import extract_page
    try:   # the crawl's call, for a source in UTC without selectors or declared languages
        art = extract_page(raw, url, None, headers={"content-type": "text/html"},
                           fetched_at=datetime.now(timezone.utc))
    except ExtractionError as exc:
        return {"body": "", "title": None, "published": None, "language": None,
                "error": exc.reason}
    return {"body": art.body, "title": art.title, "published": art.published_at,
            "language": art.language}


def run_trafilatura(raw: bytes, url: str) -> dict:
    import trafilatura
    try:
        doc = trafilatura.bare_extraction(raw, url=url or None, with_metadata=True)
    except Exception as exc:  # noqa: BLE001 - trafilatura raises assorted errors
        return {"body": "", "title": None, "published": None, "error": repr(exc)[:80]}
    if doc is None:
        return {"body": "", "title": None, "published": None, "error": "nothing"}
    get = doc.get if isinstance(doc, dict) else (lambda k: getattr(doc, k, None))
    return {"body": get("text") or "", "title": get("title"), "published": get("date"),
            "language": get("language")}


EXTRACTORS: dict[str, Callable[[bytes, str], dict]] = {
    "chavder": run_chavder, "trafilatura": run_trafilatura}
NEWSPLEASE = "news-please"


def worker_newsplease(pages_file: str, rounds: int) -> dict[str, dict]:
    """Runs inside news-please's own venv (bench/.venv-newsplease, made by
    compare_newsplease.ensure_venv): ``NewsPlease.from_html`` on each page's text (its API
    takes a str; every benchmark page is valid UTF-8), best of ``rounds`` timed runs."""
    logging.disable(logging.CRITICAL)
    from newsplease import NewsPlease
    jobs = [json.loads(line) for line in open(pages_file, encoding="utf-8")]
    texts = [(j["id"], Path(j["path"]).read_bytes().decode("utf-8", "replace"), j["url"])
             for j in jobs]
    for _id, html, url in texts[:3]:          # warm-up: imports, models
        NewsPlease.from_html(html, url=url or None, fetch_images=False)
    out: dict[str, dict] = {}
    for page_id, html, url in texts:
        best, art, error = float("inf"), None, None
        for _ in range(rounds):
            started = time.perf_counter()
            try:
                art = NewsPlease.from_html(html, url=url or None, fetch_images=False)
            except Exception as exc:  # noqa: BLE001 - report, go on
                error = repr(exc)[:80]
            best = min(best, time.perf_counter() - started)
        date = getattr(art, "date_publish", None) if art else None
        out[page_id] = {"body": (getattr(art, "maintext", None) or "") if art else "",
                        "title": getattr(art, "title", None) if art else None,
                        "published": date.isoformat() if date else None,
                        "seconds": best, **({"error": error} if error else {})}
    return out


def run_newsplease(rows: list[dict], pages_dir: Path, rounds: int) -> dict[str, dict]:
    """news-please's outputs per page id, from a worker in its venv (installed once)."""
    import subprocess
    import tempfile

    from bench.compare_newsplease import ensure_venv, venv_python
    ensure_venv()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = Path(tmp) / "pages.jsonl"
        with jobs.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps({"id": r["id"], "url": r.get("url") or "",
                                     "path": str(pages_dir / "pages" / f"{r['id']}.html")})
                         + "\n")
        done = subprocess.run([str(venv_python()), str(Path(__file__).resolve()),
                               "--worker-newsplease", str(jobs), str(rounds)],
                              capture_output=True, text=True, cwd=str(ROOT))
    if done.returncode:
        raise SystemExit(f"news-please worker failed (exit {done.returncode}):\n"
                         f"{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- scoring
def load(pages_dir: Path, only: str | None) -> list[dict]:
    truth_file = pages_dir / "truth.jsonl"
    if not truth_file.exists():
        raise SystemExit(f"{truth_file}: not found — pass --pages DIR (the folder holding "
                         "truth.jsonl and pages/)")
    rows = [json.loads(line) for line in truth_file.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    if only:
        rows = [r for r in rows if r["id"].startswith(tuple(only.split(",")))]
    for r in rows:
        r["raw"] = (pages_dir / "pages" / f"{r['id']}.html").read_bytes()
        r["group"] = script_group(r["body"] or r.get("title") or "")
    return rows


def score(rows: list[dict], rounds: int,
          external: dict[str, dict[str, dict]] | None = None) -> dict[str, Any]:
    """Run the in-process extractors on every page and score them with ``external`` ones
    (name → page id → output with its ``seconds``, measured in their own process)."""
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    for name, fn in EXTRACTORS.items():   # warm-up: imports, models, caches
        fn(rows[0]["raw"], rows[0].get("url") or "")
    per_page: list[dict] = []
    times: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        entry: dict[str, Any] = {"id": r["id"], "lang": r["lang"], "kind": r["truth_kind"],
                                 "group": r["group"]}
        runs: list[tuple[str, dict, float]] = []
        for name, fn in EXTRACTORS.items():
            best = float("inf")
            out: dict = {}
            for _ in range(rounds):
                started = time.perf_counter()
                out = fn(r["raw"], r.get("url") or "")
                best = min(best, time.perf_counter() - started)
            runs.append((name, out, best))
        for name, outputs in (external or {}).items():
            out = outputs[r["id"]]
            runs.append((name, out, out["seconds"]))
        for name, out, best in runs:
            times[name].append(best)
            tp, fp, fn_ = body_match(r["body"] or "", out["body"])
            res: dict[str, Any] = {"tp": tp, "fp": fp, "fn": fn_, "ms": round(best * 1000, 2)}
            if r.get("title"):
                res["title_ok"] = norm_title(out["title"]) == norm_title(r["title"])
                res["title"] = out["title"]
            if r.get("published"):
                res["date_ok"] = same_day(r["published"], out["published"])
                res["published"] = out["published"]
            if out.get("error"):
                res["error"] = out["error"]
            entry[name] = res
        per_page.append(entry)
    return {"pages": per_page, "times": times}


def summarise(per_page: list[dict], times: dict[str, list[float]]) -> dict[str, Any]:
    groups: dict[str, Callable[[dict], bool]] = {
        "all": lambda e: True,
        "human-annotated (sh-)": lambda e: e["kind"] == HUMAN,
    }
    for kind in sorted({e["kind"] for e in per_page} - {HUMAN}):
        groups[kind] = lambda e, k=kind: e["kind"] == k
    groups["non-Latin script"] = lambda e: e["group"] in ("rtl", "non-latin")
    groups["right-to-left"] = lambda e: e["group"] == "rtl"
    langs = Counter(e["lang"] for e in per_page)
    by_lang = {lang: (lambda e, l=lang: e["lang"] == l) for lang, _ in langs.most_common()}
    out: dict[str, Any] = {"groups": {}, "languages": {}, "time_ms": {}}
    for target, table in ((out["groups"], groups), (out["languages"], by_lang)):
        for label, pred in table.items():
            chosen = [e for e in per_page if pred(e)]
            if not chosen:
                continue
            target[label] = {}
            for name in times:
                body = prf((e[name]["tp"], e[name]["fp"], e[name]["fn"]) for e in chosen)
                titled = [e[name]["title_ok"] for e in chosen if "title_ok" in e[name]]
                dated = [e[name]["date_ok"] for e in chosen if "date_ok" in e[name]]
                body["titles"] = [sum(titled), len(titled)]
                body["dates"] = [sum(dated), len(dated)]
                target[label][name] = body
    for name, values in times.items():
        ms = sorted(v * 1000 for v in values)
        out["time_ms"][name] = {
            "median": round(statistics.median(ms), 2),
            "p95": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
            "mean": round(statistics.fmean(ms), 2), "pages": len(ms)}
    return out


def _pct(pair: list[int]) -> str:
    return f"{100 * pair[0] / pair[1]:.1f}% ({pair[0]}/{pair[1]})" if pair[1] else "—"


def render(summary: dict[str, Any]) -> str:
    names = list(summary["time_ms"])
    lines = []
    head = f"{'pages':<40} {'n':>4}  " + "  ".join(
        f"{n + ' F1 / P / R':<26} {'titles':<17} {'dates':<17}" for n in names)
    lines.append(head)
    lines.append("-" * len(head))

    def row(label: str, cell: dict) -> str:
        parts = []
        for n in names:
            c = cell[n]
            parts.append(f"{c['f1']:.3f} / {c['precision']:.3f} / {c['recall']:.3f}     "
                         f"{_pct(c['titles']):<17} {_pct(c['dates']):<17}")
        return f"{label[:40]:<40} {cell[names[0]]['pages']:>4}  " + "  ".join(parts)

    for label, cell in summary["groups"].items():
        lines.append(row(label, cell))
    lines.append("")
    lines.append("by language (truth's lang)")
    for label, cell in summary["languages"].items():
        lines.append(row("  " + label, cell))
    lines.append("")
    for n in names:
        t = summary["time_ms"][n]
        lines.append(f"time per page, {n}: median {t['median']} ms, p95 {t['p95']} ms, "
                     f"mean {t['mean']} ms ({t['pages']} pages)")
    return "\n".join(lines)


def worst(per_page: list[dict], k: int, name: str = "chavder") -> str:
    def f1(e: dict) -> float:
        tp, fp, fn = e[name]["tp"], e[name]["fp"], e[name]["fn"]
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    lines = [f"worst {k} pages for {name} (F1, P-loss fp, R-loss fn; trafilatura F1):"]
    for e in sorted(per_page, key=f1)[:k]:
        t = e["trafilatura"]
        tf = 2 * t["tp"] / (2 * t["tp"] + t["fp"] + t["fn"]) if t["tp"] + t["fp"] + t["fn"] \
            else 1.0
        lines.append(f"  {e['id']:<44} {f1(e):.3f}  fp {e[name]['fp']:.3f}  fn "
                     f"{e[name]['fn']:.3f}   traf {tf:.3f}  {e[name].get('error', '')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=Path, default=None,
                        help="benchmark folder (truth.jsonl + pages/)")
    parser.add_argument("--only", help="comma-separated id prefixes (e.g. sh-,fundus-)")
    parser.add_argument("--rounds", type=int, default=1, help="timed runs per page (best kept)")
    parser.add_argument("--json", type=Path, help="write the results here (default: "
                                                  "bench/results/extract_quality.json)")
    parser.add_argument("--per-page", action="store_true", help="list title/date misses")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst body pages")
    parser.add_argument("--newsplease", action="store_true",
                        help="add news-please 1.6.16 (installed once into "
                             "bench/.venv-newsplease, run there in a subprocess)")
    args = parser.parse_args(argv)
    args.pages = args.pages or default_pages()
    rows = load(args.pages, args.only)
    # one timed run per page for news-please: it needs 0.2–2 s a page
    external = {NEWSPLEASE: run_newsplease(rows, args.pages, 1)} if args.newsplease else None
    scored = score(rows, max(1, args.rounds), external)
    summary = summarise(scored["pages"], scored["times"])
    print(f"extraction quality on {len(rows)} real pages ({args.pages})")
    print(render(summary))
    if args.worst:
        print()
        print(worst(scored["pages"], args.worst))
    if args.per_page:
        truth = {r["id"]: r for r in rows}
        for e in scored["pages"]:
            c = e["chavder"]
            if c.get("title_ok") is False:
                print(f"TITLE {e['id']}: {c['title']!r} ≠ {truth[e['id']]['title']!r}")
            if c.get("date_ok") is False:
                print(f"DATE  {e['id']}: {c['published']!r} ≠ {truth[e['id']]['published']!r}")
    import trafilatura
    report = {"pages_dir": str(args.pages), "pages": len(rows),
              "trafilatura_version": trafilatura.__version__,
              "metric": "scrapinghub article-extraction-benchmark: \\w+ tokens (unsegmented "
                        "scripts per character), word 4-gram shingles, per-page normalised",
              "summary": summary, "per_page": scored["pages"]}
    out = args.json or RESULTS / "extract_quality.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker-newsplease"]:
        print(json.dumps(worker_newsplease(sys.argv[2], int(sys.argv[3]))))
        raise SystemExit(0)
    raise SystemExit(main())
