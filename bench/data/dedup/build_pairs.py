"""Build ``pairs.jsonl`` from the hand-written events (``events-*.txt``) and ``furniture.txt``.

Deterministic (fixed seed): running it again gives the same file. Which parts are written by
hand and which are derived by program is documented in README.md next to this file.

    .venv/bin/python bench/data/dedup/build_pairs.py        # rewrites pairs.jsonl
"""
from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = ("ar", "ckb", "kmr")
SEED = 20261125
SECTIONS = ("title", "alt_title", "body", "lead", "update", "other_title", "other_body")
UPDATE_PREFIX = {"ar": "تحديث:", "ckb": "نوێکراوەتەوە:", "kmr": "Nûkirin:"}
READ_MORE = {"ar": "لقراءة المزيد اضغط هنا", "ckb": "بۆ خوێندنەوەی زیاتر لێرە کرتە بکە",
             "kmr": "Ji bo bêtir bixwînin li vir bitikînin"}
# Which outlets republish in each language (copies carry another outlet's furniture).
OUTLETS = {"ar": ("hawar-ar", "npa-ar", "syriahr", "enab-ar", "rudaw-ar", "k24-ar"),
           "ckb": ("rudaw-ckb", "k24-ckb", "nrt-ckb", "esta-ckb"),
           "kmr": ("anf-kmr", "hawar-kmr", "rudaw-kmr", "k24-kmr")}


@dataclass
class Event:
    id: str
    lang: str
    topic: str
    published: datetime
    source: str
    other_source: str
    parts: dict[str, str]

    def paragraphs(self, name: str = "body") -> list[str]:
        return [p.strip() for p in self.parts[name].split("\n\n") if p.strip()]


def parse_events(path: Path, lang: str) -> list[Event]:
    events: list[Event] = []
    for block in re.split(r"^## ", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
        head, *sections = re.split(r"^### ", block, flags=re.M)
        lines = head.strip().splitlines()
        meta = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        parts = {}
        for section in sections:
            name, _, text = section.partition("\n")
            parts[name.strip()] = text.strip()
        missing = set(SECTIONS) - set(parts)
        if missing:
            raise ValueError(f"{path.name}: {lines[0]}: missing sections {sorted(missing)}")
        events.append(Event(lines[0].strip(), lang, meta["topic"],
                            datetime.fromisoformat(meta["published"]), meta["source"],
                            meta["other_source"], parts))
    return events


def parse_furniture(path: Path) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    lang = kind = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("# "):
            continue
        if line.startswith("### "):
            kind = line[4:]
            out[lang][kind] = []
        elif line.startswith("## "):
            lang = line[3:]
            out[lang] = {}
        else:
            out[lang][kind].append(line)
    return out


class Builder:
    def __init__(self, events: dict[str, list[Event]], furniture: dict[str, dict[str, list[str]]]):
        self.events = events
        self.furniture = furniture
        self.rng = random.Random(SEED)
        self.pairs: list[dict] = []

    # ---------------------------------------------------------------- variants (by program)
    def dress(self, paragraphs: list[str], lang: str, exclude: str, outlet: str) -> str:
        """Wrap a body in ``outlet``'s furniture: dateline on the first paragraph, 1–2 header
        lines, 2–3 footer lines. The lines depend on the outlet only (one site, one template);
        a "read also" line names another article of the set."""
        fur = self.furniture[lang]
        style = random.Random(f"{SEED}/{outlet}")
        others = [e.parts["title"] for e in self.events[lang] if e.id != exclude]
        fill = lambda line: line.replace("{other_title}", self.rng.choice(others))  # noqa: E731
        head = [fill(x) for x in style.sample(fur["head"], style.randint(1, 2))]
        foot = [fill(x) for x in style.sample(fur["foot"], style.randint(2, 3))]
        first = f"{style.choice(fur['dateline'])}: {paragraphs[0]}"
        return "\n\n".join(head + [first] + paragraphs[1:] + foot)

    @staticmethod
    def edited(paragraphs: list[str]) -> str:
        """An editor's pass: the closing paragraph cut and the second paragraph's last clause
        (after its last comma) dropped."""
        paras = list(paragraphs[:-1])
        second = paras[1]
        for comma in ("،", ","):
            cut = second.rfind(comma)
            if cut > len(second) // 3:
                paras[1] = second[:cut].rstrip() + "."
                break
        return "\n\n".join(paras)

    def truncated(self, event: Event, outlet: str, parts: int) -> str:
        """The first 1/``parts`` of the paragraphs (rounded up), another outlet's furniture and
        a "read more" link — an agency brief or a teaser republished as an article."""
        paras = event.paragraphs()
        head = paras[: -(-len(paras) // parts)]
        return self.dress(head, event.lang, event.id, outlet) + "\n\n" + READ_MORE[event.lang]

    # ---------------------------------------------------------------- pairs
    def other_outlet(self, event: Event, *avoid: str) -> str:
        return self.rng.choice([o for o in OUTLETS[event.lang] if o not in (event.source, *avoid)])

    def article(self, source: str, title: str, body: str, published: datetime) -> dict:
        return {"source": source, "title": title, "body": body,
                "published": published.isoformat()}

    def add(self, event: Event, kind: str, same: bool, a: dict, b: dict, other: str = "") -> None:
        self.pairs.append({"id": f"{event.id}/{kind}", "lang": event.lang, "type": kind,
                           "same_story": same, "event_a": event.id,
                           "event_b": other or event.id, "a": a, "b": b})

    def build(self) -> list[dict]:
        for lang in LANGS:
            events = self.events[lang]
            for i, ev in enumerate(events):
                paras = ev.paragraphs()
                t0 = ev.published
                later = lambda minutes: t0 + timedelta(minutes=minutes)  # noqa: E731
                base = self.article(ev.source, ev.parts["title"], ev.parts["body"], t0)
                # --- same story
                outlet = self.other_outlet(ev)
                self.add(ev, "syndicated", True, base, self.article(
                    outlet, ev.parts["title"], self.dress(paras, lang, ev.id, outlet),
                    later(self.rng.randint(20, 240))))
                self.add(ev, "headline", True, base, self.article(
                    self.other_outlet(ev), ev.parts["alt_title"], ev.parts["body"],
                    later(self.rng.randint(20, 240))))
                self.add(ev, "reworded_lead", True, base, self.article(
                    self.other_outlet(ev), ev.parts["alt_title"],
                    "\n\n".join([ev.parts["lead"]] + paras[1:]), later(self.rng.randint(30, 300))))
                outlet = self.other_outlet(ev)
                self.add(ev, "truncated", True, base, self.article(
                    outlet, ev.parts["title"], self.truncated(ev, outlet, 2),
                    later(self.rng.randint(5, 120))))
                outlet = self.other_outlet(ev)
                self.add(ev, "truncated_third", True, base, self.article(
                    outlet, ev.parts["title"], self.truncated(ev, outlet, 3),
                    later(self.rng.randint(5, 120))))
                self.add(ev, "edited", True, base, self.article(
                    ev.source, ev.parts["title"], self.edited(paras),
                    later(self.rng.randint(10, 90))))
                self.add(ev, "update", True, base, self.article(
                    self.other_outlet(ev), f"{UPDATE_PREFIX[lang]} {ev.parts['title']}",
                    "\n\n".join(paras[:1] + [ev.parts["update"]] + paras[1:]),
                    later(self.rng.randint(120, 600))))
                # --- not the same story
                other = self.article(ev.other_source, ev.parts["other_title"],
                                     ev.parts["other_body"], later(self.rng.randint(30, 300)))
                self.add(ev, "same_event", False, base, other)
                outlet = self.other_outlet(ev, ev.other_source)
                self.add(ev, "same_event_same_outlet", False,
                         self.article(outlet, ev.parts["title"],
                                      self.dress(paras, lang, ev.id, outlet), later(5)),
                         self.article(outlet, ev.parts["other_title"],
                                      self.dress(ev.paragraphs("other_body"), lang, ev.id,
                                                 outlet),
                                      later(self.rng.randint(30, 300))))
                nxt = events[(i + 1) % len(events)]
                kind = "same_topic" if nxt.topic == ev.topic else "unrelated"
                self.add(ev, kind, False, base, self.article(
                    nxt.source, nxt.parts["title"], nxt.parts["body"], nxt.published), nxt.id)
                far = events[(i + 5) % len(events)]
                outlet = self.other_outlet(ev)
                self.add(ev, "unrelated_same_outlet", False,
                         self.article(outlet, ev.parts["title"],
                                      self.dress(paras, lang, ev.id, outlet), t0),
                         self.article(outlet, far.parts["title"],
                                      self.dress(far.paragraphs(), lang, far.id, outlet),
                                      far.published),
                         far.id)
        return self.pairs


def main(argv: list[str]) -> int:
    events = {lang: parse_events(HERE / f"events-{lang}.txt", lang) for lang in LANGS}
    pairs = Builder(events, parse_furniture(HERE / "furniture.txt")).build()
    out = HERE / "pairs.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for pair in pairs:
            fh.write(json.dumps(pair, ensure_ascii=False) + "\n")
    by_lang = {lang: sum(p["lang"] == lang for p in pairs) for lang in LANGS}
    same = sum(p["same_story"] for p in pairs)
    print(f"{len(pairs)} pairs ({same} same story, {len(pairs) - same} not) {by_lang} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
