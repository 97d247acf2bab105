"""Chavder's hand-written parsers against the well-kept libraries that could replace them.

    .venv/bin/python bench/parsers_vs_libraries.py            # full sizes
    .venv/bin/python bench/parsers_vs_libraries.py --quick    # small sizes
    .venv/bin/python bench/parsers_vs_libraries.py --json out.json

The libraries come from the ``bench`` extra (``pip install -e '.[bench]'``); a missing one is
reported, not fatal. Per concern, on the same inputs:

* feeds — Chavder ``parse_feed`` vs ``feedparser.parse``;
* sitemaps — Chavder ``parse_sitemap`` vs Scrapy's ``scrapy.utils.sitemap.Sitemap`` (with
  ``scrapy.utils.gz.gunzip`` for ``.gz`` bodies, as Scrapy's SitemapSpider does);
* URL identity — Chavder ``url_key`` vs ``w3lib.url.canonicalize_url``;
* HTML decoding — Chavder ``decode_html`` (w3lib declarations + Arabic guess) vs plain
  ``w3lib.encoding.html_to_unicode`` and html_to_unicode with a UTF-8-else-windows-1256 guess;
* dates — Chavder ``parse_date`` vs ``dateparser.parse``;
* config validation — what importing pydantic / msgspec would add to every CLI start.

Inputs: the fixture feeds, sitemaps and pages under tests/fixtures (read as files), the hostile
XML files of tests/fixtures/hostile plus generated attacks (quadratic entity blow-up, gzip bomb,
truncated and huge documents), generated large documents, and tests/data/text/dates.tsv.
Hostile inputs run in a forked child with a 30 s limit and an address-space cap, so a parser
that explodes is reported ("timeout", "memory cap") instead of taking the machine down.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import signal
import sys
import time
import warnings
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.discovery import UnsafeXMLError, parse_feed, parse_sitemap  # noqa: E402
from crawler.text import parse_date  # noqa: E402
from crawler.text.charset import decode_html  # noqa: E402
from crawler.urls import _key, url_key  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
HOSTILE = FIXTURES / "hostile"
MiB = 1 << 20
CHILD_SECONDS = 30
CHILD_EXTRA_BYTES = 1536 * MiB


def _optional(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        return None


feedparser = _optional("feedparser")
dateparser = _optional("dateparser")
try:
    from scrapy.utils.gz import gunzip
    from scrapy.utils.sitemap import Sitemap
except ImportError:  # pragma: no cover - scrapy is a runtime dependency
    Sitemap = gunzip = None
try:
    from w3lib.encoding import html_to_unicode
    from w3lib.url import canonicalize_url
except ImportError:  # pragma: no cover - w3lib is a runtime dependency
    html_to_unicode = canonicalize_url = None


# ------------------------------------------------------------------------------ inputs
def _root_of(data: bytes) -> str:
    head = data[:4096].lower()
    for tag in (b"<urlset", b"<sitemapindex", b"<rss", b"<feed", b"<rdf:rdf"):
        if tag in head:
            return tag[1:].decode()
    return ""


def fixture_documents() -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    feeds, sitemaps = [], []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix not in (".xml", ".rss", ".atom") or HOSTILE in path.parents:
            continue
        data = path.read_bytes()
        root = _root_of(data)
        name = str(path.relative_to(FIXTURES))
        if root in ("urlset", "sitemapindex"):
            sitemaps.append((name, data))
        elif root:
            feeds.append((name, data))
    return feeds, sitemaps


def large_feed(n: int) -> bytes:
    items = "".join(f"<item><title>خبر رقم {i} من الرقة</title>"
                    f"<link>https://outlet.example/2017/06/01/news-{i}/</link>"
                    f"<pubDate>Thu, 01 Jun 2017 14:{i % 60:02d}:00 +0300</pubDate>"
                    f"<description>&lt;p&gt;ملخص الخبر {i}&lt;/p&gt;</description></item>"
                    for i in range(n))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>big'
            f"</title><language>ar</language>{items}</channel></rss>").encode()


def large_sitemap(n: int) -> bytes:
    urls = "".join(f"<url><loc>https://outlet.example/ar/news/{i}</loc>"
                   f"<lastmod>2017-06-01T{i % 24:02d}:00:00+03:00</lastmod></url>" for i in range(n))
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()


def _gzip_bomb(inflated: int) -> bytes:
    head = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n')
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [comp.compress(head)]
    chunk = b"\n" * MiB
    for _ in range(inflated // MiB):
        out.append(comp.compress(chunk))
    out.append(comp.flush())
    return b"".join(out)


def hostile_inputs(quick: bool) -> list[tuple[str, str, bytes]]:
    """(kind, name, body) for feeds and sitemaps."""
    out: list[tuple[str, str, bytes]] = []
    for path in sorted(HOSTILE.glob("*.xml")):
        kind = "sitemap" if path.name.startswith("sitemap") else "feed"
        out.append((kind, path.name, path.read_bytes().replace(b"{{BASE}}", b"http://127.0.0.1:9")
                    .replace(b"{{CANARY}}", b"http://127.0.0.2:9")))
    value = "A" * 100_000
    refs = "&a;" * (2_000 if quick else 20_000)
    out.append(("feed", "generated: quadratic entity blow-up (100 KB × 20,000 refs)",
                (f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "{value}">]>\n<rss version='
                 f'"2.0"><channel><title>q</title><item><title>{refs}</title><link>http://127.0.0.1:9'
                 "/x</link></item></channel></rss>").encode()))
    good = large_feed(200)
    out.append(("feed", "generated: truncated feed (200 items, cut at 60 %)",
                good[: len(good) * 6 // 10]))
    broken = good.replace("<title>خبر رقم 7".encode(), b"<title>&nbsp; & <b>7", 1)
    out.append(("feed", "generated: bare '&' and HTML entity in one item", broken))
    n = 20_000 if quick else 100_000
    out.append(("feed", f"generated: {n:,}-item feed", large_feed(n)))
    smap = large_sitemap(200)
    out.append(("sitemap", "generated: truncated sitemap (200 URLs, cut at 60 %)",
                smap[: len(smap) * 6 // 10]))
    out.append(("sitemap", "generated: gzip bomb (inflates to 1 GiB)",
                _gzip_bomb((256 if quick else 1024) * MiB)))
    return out


# ------------------------------------------------------------------------------ parsers
def chavder_feed(body: bytes) -> dict[str, int]:
    r = parse_feed(body, "http://127.0.0.1:9/feed.xml")
    e = r.entries
    return {"items": len(e), "links": sum(bool(x.url) for x in e),
            "titles": sum(bool(x.title) for x in e), "dates": sum(bool(x.published_at) for x in e),
            "problems": len(r.problems), "leaked": _texts(x.title for x in e)}


def library_feed(body: bytes) -> dict[str, int]:
    r = feedparser.parse(body)
    e = r.entries
    return {"items": len(e), "links": sum(bool(x.get("link")) for x in e),
            "titles": sum(bool(x.get("title")) for x in e),
            "dates": sum(bool(x.get("published_parsed") or x.get("updated_parsed")) for x in e),
            "problems": int(bool(r.get("bozo"))), "leaked": _texts(x.get("title") for x in e)}


def chavder_sitemap(body: bytes) -> dict[str, int]:
    r = parse_sitemap(body, "http://127.0.0.1:9/sitemap.xml")
    items = r.urls + r.sitemaps
    return {"items": len(items), "links": sum(bool(x.url) for x in items),
            "dates": sum(bool(x.updated_at or x.published_at) for x in items),
            "problems": len(r.problems), "leaked": _texts(x.url for x in items)}


def library_sitemap(body: bytes) -> dict[str, int]:
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, max_size=50 * MiB)       # Scrapy's default DOWNLOAD_MAXSIZE-ish cap
    items = list(Sitemap(body))
    return {"items": len(items), "links": sum(bool(x.get("loc")) for x in items),
            "dates": sum(bool(x.get("lastmod")) for x in items), "problems": 0,
            "leaked": _texts(x.get("loc") for x in items)}


def _texts(values: Any) -> int:
    """1 when the output holds /etc/passwd (an external entity was resolved), else 0."""
    return int(any("root:" in v for v in values if v))


# ------------------------------------------------------------------------------ child runs
def in_child(fn: Callable[[bytes], dict[str, int]], body: bytes, seconds: int = CHILD_SECONDS
             ) -> dict[str, Any]:
    """Run ``fn(body)`` in a forked child: outcome, seconds, peak RSS growth (MB)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        status: dict[str, Any]
        try:
            with open("/proc/self/status") as fh:
                vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize"))
            resource.setrlimit(resource.RLIMIT_AS, (vm + CHILD_EXTRA_BYTES, vm + CHILD_EXTRA_BYTES))
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    got = fn(body)
                outcome = "ok"
            except UnsafeXMLError as exc:
                got, outcome = {}, f"refused: {str(exc)[:70]}"
            except MemoryError:
                got, outcome = {}, "memory cap (MemoryError)"
            except Exception as exc:  # noqa: BLE001 - the outcome is what is measured
                got, outcome = {}, f"exception: {type(exc).__name__}: {str(exc)[:60]}"
            status = {"outcome": outcome, **got, "seconds": round(time.perf_counter() - started, 3),
                      "rss_mb": round(max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                          - base) / 1024, 1)}
        except BaseException as exc:  # noqa: BLE001
            status = {"outcome": f"child failed: {exc!r}"[:100]}
        os.write(write, json.dumps(status).encode())
        os._exit(0)
    os.close(write)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read)
        return {"outcome": f"timeout (> {seconds} s, killed)"}
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    if not data:
        return {"outcome": f"killed (signal {os.WTERMSIG(code) if os.WIFSIGNALED(code) else code})"}
    return json.loads(data)


def items_per_second(fn: Callable[[bytes], dict[str, int]], body: bytes, rounds: int) -> float:
    best = float("inf")
    n = 0
    for _ in range(rounds):
        started = time.perf_counter()
        n = fn(body)["items"]
        best = min(best, time.perf_counter() - started)
    return round(n / best) if best > 0 else 0.0


# ------------------------------------------------------------------------------ concerns
def xml_concern(kind: str, ours: Callable, theirs: Callable | None, fixtures: list, quick: bool
                ) -> dict[str, Any]:
    result: dict[str, Any] = {"fixtures": [], "hostile": [], "speed": {}}
    lib = "feedparser" if kind == "feed" else "scrapy Sitemap"
    for name, body in fixtures:
        row = {"input": name, "chavder": _fields(ours, body)}
        row[lib] = _fields(theirs, body) if theirs else "not installed"
        result["fixtures"].append(row)
    for k, name, body in hostile_inputs(quick):
        if k != kind:
            continue
        row = {"input": name, "chavder": in_child(ours, body)}
        row[lib] = in_child(theirs, body) if theirs else "not installed"
        result["hostile"].append(row)
    n = 5_000 if quick else 50_000
    big = large_feed(n) if kind == "feed" else large_sitemap(n)
    rounds = 2 if quick else 3
    result["speed"] = {"input": f"generated {n:,} items ({len(big) / MiB:.1f} MB)",
                       "chavder": items_per_second(ours, big, rounds),
                       lib: items_per_second(theirs, big, rounds) if theirs else None}
    return result


def _fields(fn: Callable, body: bytes) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = fn(body)
    except Exception as exc:  # noqa: BLE001
        return {"outcome": f"exception: {type(exc).__name__}"}
    return got


def url_concern(fixture_feeds: list, fixture_sitemaps: list, quick: bool) -> dict[str, Any]:
    """Each base URL in 8 spellings a crawler meets; identities per base (1 is right)."""
    bases: list[str] = []
    for parse, docs in ((parse_sitemap, fixture_sitemaps), (parse_feed, fixture_feeds)):
        for _name, body in docs:
            try:
                result = parse(body, "http://127.0.0.1:9/index.xml")
            except UnsafeXMLError:
                continue
            bases += [h.url for h in (result.urls if parse is parse_sitemap else result.entries)]
    bases = sorted({b for b in bases if b.startswith("http")})[: 300 if quick else 3000]

    def variants(url: str) -> list[str]:
        scheme, rest = url.split("://", 1)
        host, _, path = rest.partition("/")
        bare = host.removeprefix("www.")
        return [url, f"{url}#comments", f"{url}{'&' if '?' in url else '?'}utm_source=fb&fbclid=x",
                f"{'https' if scheme == 'http' else 'http'}://{host}/{path}",
                f"{scheme}://www.{bare}/{path}" if host == bare else f"{scheme}://{bare}/{path}",
                f"{scheme}://m.{bare}/{path}", f"{scheme}://{host}/{path.rstrip('/')}/amp/",
                f"{scheme}://{host.upper()}/{path}"]

    out: dict[str, Any] = {"bases": len(bases), "variants_per_base": 8}
    tools = {"chavder url_key": url_key}
    if canonicalize_url:
        tools["w3lib canonicalize_url"] = canonicalize_url
    for label, fn in tools.items():
        ids = [len({fn(v) for v in variants(b)}) for b in bases]
        every = [v for b in bases for v in variants(b)]
        _key.cache_clear()
        started = time.perf_counter()
        for v in every:
            fn(v)
        seconds = time.perf_counter() - started
        out[label] = {"bases_with_one_identity": sum(i == 1 for i in ids),
                      "mean_identities_per_base": round(sum(ids) / max(len(ids), 1), 2),
                      "urls_per_second": round(len(every) / seconds) if seconds else None}
    return out


def charset_concern(quick: bool) -> dict[str, Any]:
    """Arabic fixture pages re-encoded the ways old Arabic sites serve them; right = the text
    decoded equals the original."""
    pages = []
    for path in sorted(FIXTURES.rglob("*.html")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if sum("\u0621" <= c <= "\u064a" for c in text) > 200:
            pages.append(text)
    pages = pages[: 20 if quick else 60]

    def cases(text: str) -> list[tuple[str, bytes, str | None, str]]:
        plain = text.replace('charset="utf-8"', "").replace("charset=utf-8", "")
        out = [("utf-8, declared", text.encode("utf-8"), "text/html; charset=utf-8", text),
               ("utf-8, undeclared", plain.encode("utf-8"), "text/html", plain)]
        for codec in ("cp1256", "iso8859-6"):
            try:
                legacy = plain.encode(codec)
            except UnicodeEncodeError:
                legacy = plain.encode(codec, "replace")
            want = legacy.decode(codec)
            out += [(f"{codec}, undeclared", legacy, "text/html", want),
                    (f"{codec}, labelled iso-8859-1", legacy, "text/html; charset=iso-8859-1", want),
                    (f"{codec}, labelled utf-8", legacy, "text/html; charset=utf-8", want)]
        return out

    def guess(data: bytes) -> str:
        try:
            data.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1256"

    tools: dict[str, Callable[[bytes, str | None], str]] = {
        "chavder decode_html": lambda b, ct: decode_html(b, ct)[0]}
    if html_to_unicode:
        tools["w3lib html_to_unicode"] = lambda b, ct: html_to_unicode(ct, b)[1]
        tools["w3lib html_to_unicode + utf-8/cp1256 guess"] = \
            lambda b, ct: html_to_unicode(ct, b, auto_detect_fun=guess)[1]
    out: dict[str, Any] = {"pages": len(pages)}
    all_cases = [c for t in pages for c in cases(t)]
    for label, fn in tools.items():
        right: dict[str, list[int]] = {}
        for name, body, ct, want in all_cases:
            got = fn(body, ct)
            right.setdefault(name, [0, 0])
            right[name][0] += got.strip() == want.strip()
            right[name][1] += 1
        speed = {}
        for group in ("utf8", "legacy"):
            chosen = [(b, ct) for name, b, ct, _ in all_cases
                      if name.startswith("utf-8") == (group == "utf8")]
            size = sum(len(b) for b, _ in chosen)
            best = float("inf")
            for _ in range(3):                      # best of three, after the pass above
                started = time.perf_counter()
                for b, ct in chosen:
                    fn(b, ct)
                best = min(best, time.perf_counter() - started)
            speed[f"mb_per_second_{group}"] = round(size / MiB / best, 1)
        out[label] = {"right": {k: f"{a}/{n}" for k, (a, n) in right.items()},
                      "right_total": f"{sum(a for a, _ in right.values())}/{len(all_cases)}",
                      **speed}
    return out


def dates_concern(quick: bool) -> dict[str, Any]:
    with open(ROOT / "tests" / "data" / "text" / "dates.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader([ln for ln in fh if not ln.startswith("#")], delimiter="\t",
                                   quoting=csv.QUOTE_NONE))
    rows = [r for r in rows if r["expected"] != "None"]
    out: dict[str, Any] = {"rows": len(rows)}

    def ours(r: dict[str, str]) -> datetime | None:
        return parse_date(r["text"], lang=r["lang"] or None, tz=r["tz"],
                          now=datetime.fromisoformat(r["now"]))

    def theirs(r: dict[str, str]) -> datetime | None:
        now = datetime.fromisoformat(r["now"])
        return dateparser.parse(r["text"], settings={
            "TIMEZONE": r["tz"], "RETURN_AS_TIMEZONE_AWARE": True,
            "RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "past"})

    tools = {"chavder parse_date": ours}
    if dateparser:
        tools["dateparser"] = theirs
    for label, fn in tools.items():
        right = 0
        started = time.perf_counter()
        for r in rows:
            try:
                got = fn(r)
            except Exception:  # noqa: BLE001
                got = None
            want = datetime.fromisoformat(r["expected"])
            right += got is not None and got == want
        seconds = time.perf_counter() - started
        out[label] = {"right": f"{right}/{len(rows)}",
                      "ms_per_call": round(seconds * 1000 / len(rows), 3)}
    return out


def config_concern() -> dict[str, Any]:
    """Import cost each ``chavder`` start would pay, and Chavder's own validation time."""
    import subprocess
    from crawler.config import load_sources

    def import_ms(module: str) -> float | None:
        code = (f"import time; t = time.perf_counter(); import {module}; "
                "print((time.perf_counter() - t) * 1000)")
        try:
            best = min(float(subprocess.run([sys.executable, "-c", code], check=True,
                                            capture_output=True, text=True).stdout)
                       for _ in range(3))
        except (subprocess.CalledProcessError, ValueError):
            return None
        return round(best, 1)

    started = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        sources = load_sources(ROOT / "sources.yaml")
    load_ms = (time.perf_counter() - started) * 1000 / rounds
    return {"import_ms": {m: import_ms(m) for m in ("crawler.config", "pydantic", "msgspec")},
            "chavder_load_sources_ms": round(load_ms, 2), "sources": len(sources)}


# ------------------------------------------------------------------------------ report
def _fmt_hostile(d: Any) -> str:
    if not isinstance(d, dict):
        return str(d)
    if d.get("outcome") != "ok":
        return f"{d.get('outcome')}" + (f" ({d['seconds']} s, +{d['rss_mb']} MB)"
                                        if "seconds" in d else "")
    leak = ", LEAKED /etc/passwd" if d.get("leaked") else ""
    return (f"{d['items']} items, {d.get('problems', 0)} problems{leak} ({d['seconds']} s, "
            f"+{d['rss_mb']} MB)")


def report(res: dict[str, Any]) -> None:
    for kind, lib in (("feeds", "feedparser"), ("sitemaps", "scrapy Sitemap")):
        r = res[kind]
        print(f"\n== {kind}: Chavder vs {lib}")
        print("fixtures (items/links/titles/dates):")
        for row in r["fixtures"]:
            def f(d: Any) -> str:
                if not isinstance(d, dict) or "items" not in d:
                    return str(d)
                return "/".join(str(d.get(k, "-")) for k in ("items", "links", "titles", "dates"))
            print(f"  {row['input']:<55} chavder {f(row['chavder']):<14} {lib} {f(row[lib])}")
        print("hostile:")
        for row in r["hostile"]:
            print(f"  {row['input'][:60]}")
            print(f"      chavder: {_fmt_hostile(row['chavder'])}")
            print(f"      {lib}: {_fmt_hostile(row[lib])}")
        s = r["speed"]
        print(f"speed, {s['input']}: chavder {s['chavder']:,} items/s, {lib} "
              f"{s[lib] if s[lib] is None else format(s[lib], ',')} items/s")
    for key in ("urls", "charset", "dates", "config"):
        print(f"\n== {key}")
        print(json.dumps(res[key], ensure_ascii=False, indent=2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    feeds, sitemaps = fixture_documents()
    res = {
        "feeds": xml_concern("feed", chavder_feed, library_feed if feedparser else None, feeds,
                             args.quick),
        "sitemaps": xml_concern("sitemap", chavder_sitemap, library_sitemap if Sitemap else None,
                                sitemaps, args.quick),
        "urls": url_concern(feeds, sitemaps, args.quick),
        "charset": charset_concern(args.quick),
        "dates": dates_concern(args.quick),
        "config": config_concern(),
    }
    report(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
