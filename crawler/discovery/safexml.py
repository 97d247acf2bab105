"""Hardened intake of untrusted XML index documents (feeds, sitemaps).

Security choice, in order of application:

1. **gzip** bodies (magic ``1f 8b``) are inflated incrementally with a hard cap on the output
   (default 50 MiB, the sitemap protocol's own limit); a gzip bomb stops at the cap and is reported.
2. **DOCTYPE pre-scan** on the raw bytes, before any parser sees them. Every ``<!ENTITY`` in the
   internal subset must be a plain internal entity whose value (after character references are
   decoded) holds no ``&``, ``<`` or ``%`` — so entities cannot nest (billion laughs), cannot be
   external (XXE: ``SYSTEM``/``PUBLIC``) and cannot be parameter entities. The total size the
   declared entities would add (references counted in the body × value length) is capped at
   1 MiB, which refuses the quadratic blowup (one big entity referenced many times). Anything
   else raises :class:`UnsafeXMLError` — we refuse instead of "parse with entities unexpanded",
   because a document that tries this is hostile, and the caller should log it, not index it.
3. **lxml** with ``resolve_entities=False`` (``"internal"`` only when step 2 admitted simple
   entities), ``no_network=True``, ``load_dtd=False``, ``huge_tree=False`` (libxml2's depth and
   text-size limits stay on) and ``recover=True`` so malformed documents keep what parses. After
   the prolog is parsed, the DTD lxml saw is compared with what the pre-scan admitted (defence in
   depth against a pre-scan/libxml2 disagreement).

defusedxml is not used: its lxml module is deprecated, and it can only refuse, whereas feeds that
declare ``<!ENTITY nbsp "&#160;">`` are real and harmless.

Real-world repairs done on the bytes (outside CDATA sections): HTML named entities that XML does
not know (``&nbsp;``, ``&eacute;`` — RSS 0.91 relied on an external DTD for them) become numeric
references, and bare ``&`` (``?a=1&b=2`` in a link) becomes ``&amp;`` instead of being dropped.
"""
from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.entities import html5

from lxml import etree

from crawler.discovery.results import ProblemLog, UnsafeXMLError

MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_ENTITY_EXPANSION = 1024 * 1024
MAX_ENTITIES = 100
MAX_INTERNAL_SUBSET = 1024 * 1024
_INFLATE_STEP = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"

XML_NS = "http://www.w3.org/XML/1998/namespace"


# --------------------------------------------------------------------------- gzip

def gunzip_capped(body: bytes, limit: int, problems: ProblemLog) -> tuple[bytes, bool]:
    """Inflate a (possibly multi-member) gzip body, never producing more than ``limit`` bytes.

    Returns ``(data, capped)``. Corrupt or truncated streams keep what was inflated."""
    out = bytearray()
    data = body
    while data[:2] == GZIP_MAGIC:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = data
        try:
            while not inflater.eof:
                room = limit - len(out)
                chunk = inflater.decompress(pending, min(_INFLATE_STEP, room + 1))
                out += chunk
                if len(out) > limit:
                    del out[limit:]
                    problems.add(f"gzip body exceeds {limit} bytes uncompressed: stopped at the "
                                 "cap (gzip bomb or oversized document); later content ignored")
                    return bytes(out), True
                pending = inflater.unconsumed_tail
                if not chunk and not pending:
                    problems.add("gzip stream truncated: kept what was inflated")
                    return bytes(out), False
        except zlib.error as exc:
            problems.add(f"gzip data corrupt ({exc}): kept what was inflated")
            return bytes(out), False
        data = inflater.unused_data
    return bytes(out), False


# --------------------------------------------------------------------------- prolog scan

_WS = re.compile(rb"[ \t\r\n]*")
_NAME = re.compile(rb"[ \t\r\n]+([^ \t\r\n\[>]+)")
_PLAIN_RUN = re.compile(rb"[^\"'<>\[\]]+")
_ROOT_NAME = re.compile(rb"<([A-Za-z_][\w.:-]*)")


@dataclass
class Prolog:
    """What precedes the root element: DOCTYPE names, internal subsets, and the root's name."""

    doctype_names: list[str] = field(default_factory=list)
    subsets: list[bytes] = field(default_factory=list)
    subset_end: int = 0              # byte offset just after the last internal subset
    root_name: str | None = None     # qualified name of the first element, None if no element


def scan_prolog(data: bytes) -> Prolog:
    """Walk XML declaration, PIs, comments and DOCTYPEs up to the first element tag."""
    prolog = Prolog()
    pos, n = (3 if data.startswith(_UTF8_BOM) else 0), len(data)
    while True:
        pos = _WS.match(data, pos).end()
        if pos >= n:
            return prolog
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end < 0:
                return prolog
            pos = end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                return prolog
            pos = end + 3
        elif data[pos:pos + 9].upper() == b"<!DOCTYPE":
            pos = _read_doctype(data, pos + 9, prolog)
        else:
            m = _ROOT_NAME.match(data, pos)
            prolog.root_name = m.group(1).decode("ascii", "replace") if m else None
            return prolog


def _unterminated(what: str, hit_limit: bool) -> None:
    if hit_limit:
        raise UnsafeXMLError(f"DOCTYPE larger than {MAX_INTERNAL_SUBSET} bytes: refused")
    raise UnsafeXMLError(f"unterminated {what} in DOCTYPE: refused")


def _read_doctype(data: bytes, pos: int, prolog: Prolog) -> int:
    """Read one DOCTYPE from after ``<!DOCTYPE``; return the offset after its ``>``.

    Linear time with every search bounded: unterminated literals or comments inside a DOCTYPE
    are refused instead of searched for across a huge body."""
    m = _NAME.match(data, pos)
    if m:
        prolog.doctype_names.append(m.group(1).decode("ascii", "replace"))
        pos = m.end()
    limit = min(len(data), pos + MAX_INTERNAL_SUBSET)
    in_subset, start = False, pos
    while pos < len(data):
        if pos >= limit:
            raise UnsafeXMLError(f"DOCTYPE larger than {MAX_INTERNAL_SUBSET} bytes: refused")
        char = data[pos:pos + 1]
        if char in (b'"', b"'"):
            end = data.find(char, pos + 1, limit)
            if end < 0:
                _unterminated("literal", limit < len(data))
            pos = end + 1
        elif in_subset and (data.startswith(b"<!--", pos) or data.startswith(b"<?", pos)):
            closer = b"-->" if data[pos + 1:pos + 2] == b"!" else b"?>"
            end = data.find(closer, pos + 2, limit)
            if end < 0:
                _unterminated("comment", limit < len(data))
            pos = end + len(closer)
        elif char == b"[" and not in_subset:
            in_subset, start = True, pos + 1
            pos += 1
        elif char == b"]" and in_subset:
            prolog.subsets.append(data[start:pos])
            prolog.subset_end = pos
            in_subset = False
            pos += 1
        elif char == b">" and not in_subset:
            return pos + 1
        else:
            run = _PLAIN_RUN.match(data, pos, limit)
            pos = run.end() if run and run.end() > pos else pos + 1
    if in_subset:
        prolog.subsets.append(data[start:])
        prolog.subset_end = len(data)
    return pos


# --------------------------------------------------------------------------- entity policy

_ENTITY_START = re.compile(rb"<!ENTITY")
_SAFE_ENTITY = re.compile(rb"""<!ENTITY[ \t\r\n]+([A-Za-z_][\w.-]*)[ \t\r\n]+("([^"]*)"|'([^']*)')[ \t\r\n]*>""")
_CHAR_REF = re.compile(rb"&#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}));")


def _decode_char_refs(value: bytes) -> bytes:
    def one(m: re.Match[bytes]) -> bytes:
        code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
        try:
            return chr(code).encode("utf-8")
        except (ValueError, OverflowError):
            return b"?"
    return _CHAR_REF.sub(one, value)


def check_entities(prolog: Prolog, data: bytes) -> dict[str, bytes]:
    """Apply the entity policy (module docstring); return the admitted ``name -> value``."""
    admitted: dict[str, bytes] = {}
    for subset in prolog.subsets:
        subset = re.sub(rb"<!--.*?-->", b"", subset, flags=re.S)
        for start in _ENTITY_START.finditer(subset):
            decl = subset[start.start():start.start() + 300]
            m = _SAFE_ENTITY.match(subset, start.start())
            if m is None:
                if re.match(rb"<!ENTITY[ \t\r\n]+%", decl):
                    raise UnsafeXMLError("parameter entity declared in DOCTYPE: refused")
                if re.search(rb"\b(SYSTEM|PUBLIC)\b", decl.split(b">")[0]):
                    raise UnsafeXMLError("external entity (SYSTEM/PUBLIC) declared in DOCTYPE: "
                                         "refused (XXE)")
                raise UnsafeXMLError("unparseable entity declaration in DOCTYPE: refused")
            name = m.group(1).decode("ascii")
            value = _decode_char_refs(m.group(3) if m.group(3) is not None else m.group(4))
            if any(c in value for c in (b"&", b"<", b"%")):
                raise UnsafeXMLError(f"entity '{name}' refers to other entities or markup "
                                     "(entity expansion attack, e.g. billion laughs): refused")
            admitted[name] = value
            if len(admitted) > MAX_ENTITIES:
                raise UnsafeXMLError(f"more than {MAX_ENTITIES} entities declared: refused")
    if admitted:
        body = data[prolog.subset_end:]
        growth = sum(body.count(b"&" + name.encode("ascii") + b";") * len(value)
                     for name, value in admitted.items())
        if growth > MAX_ENTITY_EXPANSION:
            raise UnsafeXMLError(f"entity references would expand the document by {growth} bytes "
                                 f"(limit {MAX_ENTITY_EXPANSION}): quadratic blowup refused")
    return admitted


# --------------------------------------------------------------------------- byte repairs

_GOOD_REF = rb"amp|lt|gt|quot|apos|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}"


def repair_ampersands(data: bytes, declared: set[str]) -> tuple[bytes, int]:
    """HTML entity names → numeric references; bare or unknown ``&`` → ``&amp;`` (not CDATA).

    Returns the repaired bytes and how many bare/unknown ampersands were escaped. Only
    suspicious ampersands reach Python code, so well-formed 25 MB feeds cost one regex scan."""
    good = _GOOD_REF + b"".join(b"|" + re.escape(n.encode("ascii")) for n in sorted(declared))
    bad_amp = rb"&(?!(?:" + good + rb");)(?:([A-Za-z][A-Za-z0-9]{0,31});)?"
    if re.search(bad_amp, data) is None:
        return data, 0
    pattern = re.compile(rb"(<!\[CDATA\[.*?(?:\]\]>|\Z))|" + bad_amp, re.S)
    escaped = 0

    def fix(m: re.Match[bytes]) -> bytes:
        nonlocal escaped
        if m.group(1):
            return m.group(1)
        name = m.group(2)
        text = html5.get(name.decode("ascii") + ";") if name else None
        if text is not None:
            return b"".join(b"&#%d;" % ord(c) for c in text)
        escaped += 1
        return b"&amp;" + (name + b";" if name else b"")

    return pattern.sub(fix, data), escaped


_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
_KNOWN_ROOTS = (b"<rss", b"<feed", b"<rdf:RDF", b"<RDF", b"<urlset", b"<sitemapindex")


def _to_ascii_compatible(data: bytes) -> bytes:
    """UTF-16/32 documents are re-encoded as UTF-8 so the byte-level scans above see them."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode(codec, "replace")
            return _XML_DECL_ENCODING.sub(r"\1\2utf-8\2", text).encode("utf-8")
    if data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        codec = "utf-16-le" if data[0:1] == b"<" else "utf-16-be"
        text = data.decode(codec, "replace")
        return _XML_DECL_ENCODING.sub(r"\1\2utf-8\2", text).encode("utf-8")
    return data


def _skip_leading_garbage(data: bytes, problems: ProblemLog) -> bytes:
    """Drop what precedes the XML (PHP warnings, stray text): the declaration must come first."""
    stripped = data[3:] if data.startswith(_UTF8_BOM) else data
    stripped = stripped.lstrip(b" \t\r\n")
    decl = stripped.find(b"<?xml", 0, 65536)
    cut = decl if decl > 0 else -1
    if cut < 0 and not stripped.startswith(b"<"):
        found = [i for i in (stripped.find(r, 0, 65536) for r in _KNOWN_ROOTS) if i > 0]
        cut = min(found) if found else -1
    if cut > 0:
        problems.add(f"{cut} bytes of non-XML text before the document skipped")
        return stripped[cut:]
    return data


# --------------------------------------------------------------------------- entry points

@dataclass
class PreparedXML:
    """A document ready for :func:`iter_events`: repaired bytes plus what the scan learnt."""

    data: bytes
    prolog: Prolog
    entities: dict[str, bytes]
    capped: bool = False
    raw: bytes = b""                 # decompressed body before repairs (text sitemaps need it)
    errors: int = 0                  # libxml2 errors met by the last iter_events pass

    @property
    def looks_like_html(self) -> bool:
        names = [n.lower() for n in self.prolog.doctype_names]
        root = (self.prolog.root_name or "").lower()
        return "html" in names or root == "html" or root.endswith(":html")

    @property
    def root_local(self) -> str | None:
        root = self.prolog.root_name
        return root.rsplit(":", 1)[-1] if root else None


def prepare(body: bytes, problems: ProblemLog, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> PreparedXML:
    """Decompress, re-encode, scan and repair ``body``; raises :class:`UnsafeXMLError`."""
    capped = False
    if body[:2] == GZIP_MAGIC:
        body, capped = gunzip_capped(body, max_bytes, problems)
    elif len(body) > max_bytes:
        problems.add(f"body larger than {max_bytes} bytes: only the first {max_bytes} parsed")
        body, capped = body[:max_bytes], True
    raw = _to_ascii_compatible(body)
    data = _skip_leading_garbage(raw, problems)
    prolog = scan_prolog(data)
    entities = check_entities(prolog, data)
    escaped = 0
    if prolog.root_name is not None:         # XML only: text sitemaps keep their bytes
        data, escaped = repair_ampersands(data, set(entities))
    if escaped:
        problems.add(f"{escaped} unescaped '&' (bare or unknown entity) kept as text")
    return PreparedXML(data, prolog, entities, capped, raw)


def _verify_dtd(element: etree._Element, admitted: dict[str, bytes]) -> None:
    dtd = element.getroottree().docinfo.internalDTD
    if dtd is None:
        return
    for entity in dtd.iterentities():
        if entity.name not in admitted or entity.system_url:
            raise UnsafeXMLError(f"DTD declares entity '{entity.name}' that the pre-scan did not "
                                 "admit: refused")


def iter_events(prepared: PreparedXML, problems: ProblemLog,
                tags: tuple[str, ...] | None = None) -> Iterator[tuple[str, etree._Element]]:
    """Stream ``(event, element)`` pairs ("start"/"end"); stop iterating to stop parsing.

    Streaming (rather than building the whole tree) keeps time and memory bounded by how many
    items the caller wants, not by how many the document holds; callers :func:`release` items.
    ``tags`` (e.g. ``"{*}item"``) limits events to the elements the caller looks at."""
    parser = etree.iterparse(
        io.BytesIO(prepared.data), events=("start", "end"), tag=tags, recover=True,
        resolve_entities="internal" if prepared.entities else False, no_network=True,
        load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)
    verified = False
    try:
        for event, element in parser:
            if not verified:
                _verify_dtd(element, prepared.entities)
                verified = True
            yield event, element
    except etree.XMLSyntaxError as exc:
        problems.add(f"XML parse stopped: {exc}")
    finally:
        prepared.errors = len(parser.error_log)
        for error in parser.error_log:
            problems.add(f"XML error: {error.message.strip()}")


def parse_fragment(data: bytes) -> etree._Element | None:
    """Parse a small, already-vetted piece of a prepared document (salvage passes)."""
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=False, remove_comments=True,
                             remove_pis=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None


def salvage_entries(prepared: PreparedXML, roots: tuple[str, ...], entries: tuple[str, ...],
                    max_entries: int) -> Iterator[etree._Element]:
    """After XML errors, parse each entry (``<item>``, ``<url>``, …) on its own, inside a copy
    of the root tag (for its namespace declarations and xml:base), and yield the entry
    elements. libxml2's recovery gives up on everything after a fatal error — an unclosed tag,
    an entry nested past its depth limit (256) — so one broken entry would otherwise swallow
    every entry after it."""
    names = b"|".join(re.escape(n.encode()) for n in roots)
    root = re.search(rb"<((?:[\w.-]+:)?(?:" + names + rb"))\b[^>]*>", prepared.data)
    if root is None:
        return
    start, end = root.group(0), b"</" + root.group(1) + b">"
    wanted = b"|".join(re.escape(n.encode()) for n in entries)
    chunk_re = re.compile(rb"<((?:[\w.-]+:)?(?:" + wanted + rb"))\b[^>]*>.*?</\1\s*>", re.S)
    for count, chunk in enumerate(chunk_re.finditer(prepared.data, root.end())):
        if count >= max_entries:
            return
        doc = parse_fragment(start + chunk.group(0) + end)
        entry = next((el for el in doc if local_name(el.tag) in entries), None) \
            if doc is not None else None
        if entry is not None:
            yield entry


def release(element: etree._Element) -> None:
    """Free a processed item and the siblings before it, so a 100k-item feed stays small."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def local_name(tag: object) -> str:
    """``{ns}local`` or ``prefix:local`` (undeclared prefix under recovery) → ``local``."""
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        return tag.rsplit("}", 1)[1]
    return tag.rsplit(":", 1)[-1]
