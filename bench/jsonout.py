"""Where a benchmark's ``--json`` figures go: one writer, so every results file reads alike
(UTF-8, Arabic and Kurdish as text, not escapes) and its folder is made on the way."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: str | Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
