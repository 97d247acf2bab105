"""Language identification: a small labelled test set (separate from the bench evaluation set
and from the tuning set), the cascade's contract and the CLI hook."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from crawler.text import detect
from crawler.text.langid import detect_scores, main_langid

DATA = Path(__file__).parent / "data" / "text" / "langid.tsv"


def _rows() -> list[dict[str, str]]:
    with open(DATA, encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


ROWS = _rows()


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['lang']}-{r['kind']}-{i}" for i, r in enumerate(ROWS)])
def test_detects_the_language(row: dict[str, str]):
    code, confidence = detect(row["text"])
    assert code == row["lang"], row["text"]
    assert 0.5 < confidence <= 1.0


def test_near_misses():
    # Sorani without a single ە/ێ/ڕ is rare; with them it must never be Persian
    assert detect("هێزەکانی پێشمەرگە لە سنوور ئامادەن")[0] == "ckb"
    assert detect("نیروهای پیشمرگه در مرز آماده‌اند")[0] == "fa"
    # Kurmanji full of Turkish names is still Kurmanji; Turkish about Kurdish towns still Turkish
    assert detect("Erdoğan û Bahçeli li Ankarayê civiyan")[0] == "kmr"
    assert detect("Kamışlı ve Kobani'de elektrik kesintisi sürüyor")[0] == "tr"


def test_other_languages_and_empty_input():
    assert detect("") == ("und", 0.0)
    assert detect("   \n") == ("und", 0.0)
    assert detect("2017/05/31 - 10:30")[0] == "und"
    assert detect("Die Bundesregierung hat heute neue Hilfen für Flüchtlinge beschlossen.")[0] == "de"
    assert detect("Путин провёл переговоры с президентом Турции в Сочи.")[0] == "ru"


def test_deterministic():
    text = "Li Qamişloyê teqînek çêbû"
    assert len({detect(text) for _ in range(5)}) == 1


def test_cascade_skips_langdetect_when_evidence_is_clear():
    clear = [r["text"] for r in ROWS if r["kind"] == "paragraph"]
    assert not any(detect_scores(t)[3] for t in clear)


def test_main_langid_prints_code_and_confidence():
    out = io.StringIO()
    assert main_langid(io.StringIO("الرقة مدينة سورية\nLi Reqayê teqînek çêbû\n\n"), out) == 0
    lines = out.getvalue().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["ar", "kmr", "und"]
    for line in lines:
        code, conf = line.split("\t")
        assert len(conf.split(".")[1]) == 3 and 0.0 <= float(conf) <= 1.0
