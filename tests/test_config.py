"""Source list and settings validation: every mistake is reported as file:line with a fix."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crawler.config import ConfigError, load_settings, load_sources, parse_interval

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "sources.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    return info.value.problems


def test_shipped_source_list_is_valid_and_marks_unverified_urls():
    sources = load_sources(REPO / "sources.yaml")
    assert len(sources) >= 10
    ids = {s.id for s in sources}
    assert {"rok-online", "rudaw-ar", "kurdistan24-ckb", "anf-kmr", "enab-baladi"} <= ids
    assert {s.kind for s in sources} == {"feed", "listing", "sitemap", "api"}
    assert all(not s.verified for s in sources), "URLs not checked from here must be unverified"
    assert all(s.timezone.startswith(("Asia/", "Europe/")) for s in sources)


def test_valid_entry_with_defaults_and_durations(tmp_path):
    path = write(tmp_path, """\
        defaults:
          timezone: Asia/Baghdad
          interval: 10m
        sources:
          - id: rudaw-ar
            kind: feed
            start_urls: [https://www.rudaw.net/arabic/rss]
            languages: [ar]
          - id: k24
            kind: listing
            interval: 1h
            start_urls: https://www.kurdistan24.net/ckb/news
            selectors: {article_links: "h3 a"}
        """)
    first, second = load_sources(path)
    assert (first.timezone, first.interval, first.allowed_domains) == (
        "Asia/Baghdad", 600.0, ["www.rudaw.net"])
    assert second.interval == 3600.0 and second.start_urls == ["https://www.kurdistan24.net/ckb/news"]
    assert second.selectors == {"article_links": "h3 a"}
    assert first.line == 5 and second.line == 9


@pytest.mark.parametrize("entry, line, fragment", [
    ("  - id: a\n    kind: fed\n    start_urls: [https://x.org/f]\n", 3, "unknown kind 'fed'"),
    ("  - id: a\n    kind: feed\n    start_urls: [ftp://x.org/f]\n", 4, "http:// or https://"),
    ("  - id: a\n    kind: feed\n    start_urls: [https://x.org/f]\n    timezone: Asia/Bagdad\n",
     5, "unknown time zone 'Asia/Bagdad'"),
    ("  - id: Bad Id\n    kind: feed\n    start_urls: [https://x.org/f]\n", 2, "invalid"),
    ("  - id: a\n    kind: feed\n    start_urls: []\n", 4, "start_urls is empty"),
    ("  - id: a\n    kind: feed\n    start_urls: [https://x.org/f]\n    colour: red\n", 5,
     "unknown field 'colour'"),
    ("  - id: a\n    kind: feed\n    start_urls: [https://x.org/f]\n    interval: often\n", 5,
     "not a duration"),
    ("  - id: a\n    kind: feed\n    start_urls: [http://127.0.0.1:8000/feed]\n", 4,
     "allow_private"),
    ("  - id: a\n    kind: listing\n    start_urls: [https://x.org/]\n    selectors: {links: a}\n",
     5, "unknown selector 'links'"),
])
def test_each_mistake_names_file_line_and_fix(tmp_path, entry, line, fragment):
    path = write(tmp_path, "sources:\n" + entry)
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:{line}: "), found[0]
    assert fragment in found[0]
    assert " — " in found[0], "every message says how to fix it"


def test_duplicate_ids_and_all_problems_reported_at_once(tmp_path):
    path = write(tmp_path, """\
        sources:
          - id: a
            kind: feed
            start_urls: [https://x.org/f]
          - id: a
            kind: feed
            start_urls: [https://y.org/f]
          - id: b
            kind: nope
            start_urls: [https://z.org/f]
        """)
    found = problems(path)
    assert any(p.startswith(f"{path}:5: duplicate source id 'a' (first defined on line 2)")
               for p in found)
    assert any(p.startswith(f"{path}:9: ") and "unknown kind" in p for p in found)


def test_yaml_syntax_error_and_missing_file(tmp_path):
    path = write(tmp_path, "sources:\n  - id: a\n   kind: feed\n")
    found = problems(path)
    assert found[0].startswith(f"{path}:") and "YAML syntax error" in found[0]
    assert "file not found" in problems(tmp_path / "nope.yaml")[0]


def test_settings_file_validation(tmp_path):
    good = write(tmp_path, "store: sqlite:///x.db\ndownload_timeout: 5\nmail:\n  smtp_host: "
                 "mail.example.org\n", "chavder.yaml")
    settings = load_settings(good)
    assert settings.store == "sqlite:///x.db" and settings.download_timeout == 5.0
    assert settings.mail.smtp_host == "mail.example.org"
    bad = write(tmp_path, "store: 3\nstorage: x\n", "bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_settings(bad)
    assert f"{bad}:1: 'store' must be a str" in str(info.value)
    assert f"{bad}:2: unknown setting 'storage'" in str(info.value)


def test_settings_with_a_fixed_set_of_values_name_the_choices(tmp_path):
    bad = write(tmp_path, "digest_grace_hours: -1\ndigest_empty_policy: never\n", "bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_settings(bad)
    assert f"{bad}:1: 'digest_grace_hours' must be 0 or more" in str(info.value)
    assert f"{bad}:2: 'digest_empty_policy' is 'never' — use one of: skip, nothing-new" \
        in str(info.value)


@pytest.mark.parametrize("value, seconds", [(900, 900.0), ("15m", 900.0), ("1h", 3600.0),
                                            ("30s", 30.0), ("2 d", 172800.0), ("x", None)])
def test_parse_interval(value, seconds):
    assert parse_interval(value) == seconds


def test_cli_sources_check_reports_errors_with_exit_code(tmp_path):
    from crawler.cli import main
    bad = write(tmp_path, "sources:\n  - id: a\n    kind: fed\n    start_urls: [https://x.org]\n")
    assert main(["sources", "check", str(bad)]) == 2
    assert main(["sources", "check", str(REPO / "sources.yaml")]) == 0


@pytest.mark.parametrize("extra, line, fragment", [
    ("    render: chrome\n", 5, "'render' is 'chrome' — write 'render: browser'"),
    ("    render: browser\n    scrolls: 50\n", 6, "'scrolls' must be 0 or more and at most 20"),
    ("    scrolls: 3\n", 5, "'scrolls' needs kind: listing and render: browser"),
])
def test_render_and_scrolls_are_checked(tmp_path, extra, line, fragment):
    path = write(tmp_path, "sources:\n  - id: a\n    kind: listing\n    start_urls: "
                 "[https://x.org/]\n" + extra)
    found = problems(path)
    assert len(found) == 1 and found[0].startswith(f"{path}:{line}: ") and fragment in found[0], \
        found


def test_render_browser_listing_with_scrolls_is_accepted(tmp_path):
    path = write(tmp_path, "sources:\n  - id: a\n    kind: listing\n    start_urls: "
                 "[https://x.org/]\n    render: browser\n    scrolls: 4\n")
    (source,) = load_sources(path)
    assert source.render == "browser" and source.scrolls == 4


def test_browser_settings_have_ranges(tmp_path):
    good = write(tmp_path, "browser_max_pages: 4\nbrowser_page_timeout: 20\n", "chavder.yaml")
    settings = load_settings(good)
    assert settings.browser_max_pages == 4 and settings.browser_page_timeout == 20.0
    bad = write(tmp_path, "browser_max_pages: 0\n", "bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_settings(bad)
    assert f"{bad}:1: 'browser_max_pages' must be at least 1 and at most 16" in str(info.value)
