"""``chavder run`` with ``web_port`` serves the web interface beside its crawls (uvicorn on a
thread of its own), and stops it with the service; ``web_port: -1`` (the default) serves none;
a non-loopback ``web_host`` without credentials refuses the start in one line."""
from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request

from testsupport.config import feed_source, write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.pages import article_page, rss_feed
from testsupport.polling import wait_for
from testsupport.processes import ServiceProcess, chavder_env

TITLE = "هجوم لداعش في ريف الرقة الشرقي"


def test_run_serves_the_web_interface_on_web_port(tmp_path):
    root = tmp_path / "web"
    (root / "desk").mkdir(parents=True)
    (root / "desk" / "a1.html").write_text(article_page(
        TITLE, ["أفادت مصادر محلية بأن خلايا تابعة لتنظيم داعش هاجمت نقطة عسكرية في ريف الرقة "
                "الشرقي فجر اليوم، ما أدى إلى اندلاع اشتباكات استمرت أكثر من ساعتين."],
        "", "2017-06-01T10:00:00+03:00"), "utf-8")
    (root / "desk" / "feed.xml").write_text(rss_feed("desk", [(TITLE, "/a1.html")]), "utf-8")
    with FixtureWeb(root) as web:
        sources = tmp_path / "sources.yaml"
        sources.write_text(web.substitute(feed_source(interval="1s")), encoding="utf-8")
        config = write_config(tmp_path, sources=sources, alerts=tmp_path / "none.yaml",
                              health_port=-1, web_port=0)
        svc = ServiceProcess(config, tmp_path / "service.log", wait_started=30).start()
        try:
            found = re.search(r"web interface on (http://127\.0\.0\.1:\d+/)", svc.text())
            assert found, svc.text()
            url = found.group(1)
            sources_page = urllib.request.urlopen(url + "sources", timeout=10).read().decode()
            assert 'data-source="desk"' in sources_page, "the listed source, before any crawl"
            assert wait_for(lambda: TITLE in urllib.request.urlopen(
                url + "?q=%D8%A7%D9%84%D8%B1%D9%82%D8%A9", timeout=10).read().decode(), 20), \
                svc.text()   # the crawl's article, stored by the service meanwhile
        finally:
            began = time.monotonic()
            code = svc.stop()
        assert code == 0 and time.monotonic() - began < 10, svc.text()
        assert "stopped (clean)" in svc.text()

        refused = write_config(tmp_path, name="open.yaml", sources=sources, health_port=-1,
                               web_port=0, web_host="0.0.0.0")
        env = {k: v for k, v in chavder_env(refused).items() if not k.startswith("CHAVDER_WEB")}
        proc = subprocess.run([sys.executable, "-m", "crawler.cli", "run"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2
        assert "refusing to serve the web interface on 0.0.0.0" in proc.stderr, proc.stderr
