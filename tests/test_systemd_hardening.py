"""The systemd unit's hardening, exercised: a TLS crawl runs under an imitation of every directive.

``MemoryDenyWriteExecute=`` once shipped in the unit and broke every HTTPS fetch. There is no
systemd here, so ``testsupport/sandbox.py`` builds the same restrictions with the kernel
features systemd uses (namespaces, prctl, seccomp, an unprivileged user, the umask); a directive
it cannot imitate fails the first test, so nothing in the unit goes unexercised.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from testsupport.config import write_config
from testsupport.sandbox import UNPRIVILEGED, hardening, read_unit, unimitated

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "systemd" / "chavder.service"
WORKER_UNIT = REPO / "deploy" / "systemd" / "chavder-worker@.service"


def test_every_hardening_directive_of_the_unit_is_imitated():
    unit = read_unit(UNIT)
    assert unimitated(unit) == []
    assert "NoNewPrivileges" in unit and unit["ProtectSystem"] == "strict"
    assert "MemoryDenyWriteExecute" not in unit, "it breaks pyOpenSSL: see the unit's comment"


def test_the_worker_template_is_hardened_exactly_as_the_service():
    """``chavder-worker@.service`` runs the same crawl code: its hardening is the service's,
    directive for directive, so the crawls under the imitation below exercise it too."""
    worker = read_unit(WORKER_UNIT)
    assert unimitated(worker) == []
    assert hardening(worker) == hardening(read_unit(UNIT))


@pytest.fixture
def state_dir():
    """A StateDirectory stand-in under /var/lib (not /tmp: PrivateTmp hides that), owned by the
    unprivileged user the sandbox runs as."""
    path = Path("/var/lib") / f"chavder-test-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _own(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        os.chown(item, UNPRIVILEGED, UNPRIVILEGED)


def hardened(state: Path, *argv: str, extra: str = "", timeout: float = 240,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python ARGV`` under the unit's hardening (plus ``extra`` directives)."""
    full_env = {**os.environ, **(env or {}), "PYTHONDONTWRITEBYTECODE": "1"}
    if extra:
        full_env["SANDBOX_EXTRA_DIRECTIVES"] = extra
    return subprocess.run([sys.executable, "-m", "testsupport.sandbox", str(UNIT),
                           json.dumps([str(state)]), "--", sys.executable, *argv],
                          cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


PROBE = r"""
import ctypes, errno, json, os, socket, stat
libc = ctypes.CDLL(None, use_errno=True)
out = {}
def attempt(name, call):
    try:
        result = call()
        out[name] = "ok" if result in (None, 0) or not isinstance(result, int) else \
            errno.errorcode.get(ctypes.get_errno(), str(result))
    except OSError as exc:
        out[name] = errno.errorcode.get(exc.errno, str(exc.errno))
attempt("write_repo", lambda: open(os.path.join(REPO, "sandbox-probe"), "w"))
attempt("write_etc", lambda: open("/etc/sandbox-probe", "w"))
attempt("write_state", lambda: open(os.path.join(STATE, "probe"), "w").close())
attempt("write_tmp", lambda: open("/tmp/probe", "w").close())
attempt("write_home", lambda: open("/root/probe", "w"))
attempt("netlink_socket", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW))
attempt("inet_socket", lambda: socket.socket(socket.AF_INET).close())
attempt("sethostname", lambda: socket.sethostname("probe"))
attempt("unshare", lambda: libc.unshare(0x20000))
attempt("personality", lambda: libc.personality(0x0008))
attempt("clock_settime", lambda: libc.clock_settime(0, (ctypes.c_long * 2)(0, 0)))
attempt("chmod_setuid", lambda: os.chmod(os.path.join(STATE, "probe"), 0o4755))
attempt("sysctl_write", lambda: open("/proc/sys/kernel/hostname", "w").write("x"))
out["uid"] = os.getuid()
out["umask"] = oct(os.umask(0))
out["dev"] = sorted(os.listdir("/dev"))
out["cap_eff"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
print(json.dumps(out))
"""


def test_the_imitation_really_restricts(state_dir):
    """Each restriction is observable from inside — the sandbox is not a no-op."""
    _own(state_dir)
    code = f"REPO = {str(REPO)!r}; STATE = {str(state_dir)!r}\n" + PROBE
    proc = hardened(state_dir, "-c", code)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["write_repo"] == seen["write_etc"] == "EROFS"        # ProtectSystem=strict
    assert seen["write_state"] == "ok" and seen["write_tmp"] == "ok"  # ReadWritePaths, PrivateTmp
    assert seen["write_home"] in ("EROFS", "EACCES")                  # ProtectHome
    assert seen["netlink_socket"] == "EAFNOSUPPORT"                   # RestrictAddressFamilies
    assert seen["inet_socket"] == "ok"
    assert seen["sethostname"] == "EPERM"                             # ProtectHostname
    assert seen["unshare"] == "EPERM"                                 # RestrictNamespaces
    assert seen["personality"] == "EPERM"                             # LockPersonality
    assert seen["clock_settime"] == "EPERM"                           # ProtectClock
    assert seen["chmod_setuid"] == "EPERM"                            # RestrictSUIDSGID
    assert seen["sysctl_write"] in ("EROFS", "EACCES")                # ProtectKernelTunables
    assert seen["uid"] == UNPRIVILEGED and seen["cap_eff"] == "0000000000000000"
    assert seen["umask"] == "0o77"                                    # UMask=0077
    assert "sda" not in seen["dev"] and "null" in seen["dev"]         # PrivateDevices


def _installation(state: Path, web, ca, ids: list[str]) -> dict[str, str]:
    sources = web.write_sources(state / "sources.yaml")
    doc = yaml.safe_load(sources.read_text(encoding="utf-8"))
    doc["sources"] = [{**s, "ca_bundle": str(state / "ca.pem")} for s in doc["sources"]
                      if s["id"] in ids]
    sources.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    shutil.copy(ca.ca_pem, state / "ca.pem")
    (state / "data").mkdir()
    config = write_config(state, sources=sources, download_timeout=8.0)
    _own(state)
    return {"CHAVDER_CONFIG": str(config)}


def test_a_tls_crawl_works_under_the_units_hardening(state_dir, tls_web):
    web, ca = tls_web
    env = _installation(state_dir, web, ca, ["rok", "sorani", "kurmanji"])
    proc = hardened(state_dir, "-m", "crawler.cli", "crawl", "--json", "--progress-interval",
                    "0", env=env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["sources"]
    assert summary["rok"]["new"] == 7
    assert all(summary[s]["errors"] == 0 and summary[s]["new"] > 0 for s in summary), summary
    db = state_dir / "data" / "chavder.db"
    assert db.stat().st_uid == UNPRIVILEGED
    assert db.stat().st_mode & 0o077 == 0, oct(db.stat().st_mode)    # UMask=0077
    mails = list((state_dir / "data" / "outbox").glob("*.eml"))      # the repo's alerts.yaml
    assert mails and all(m.stat().st_mode & 0o077 == 0 for m in mails)
    found = hardened(state_dir, "-m", "crawler.cli", "search", "الرقة", env=env)
    assert found.returncode == 0 and "127.0.0.1" in found.stdout, found.stderr


def test_memory_deny_write_execute_would_break_tls_and_says_so(state_dir, tls_web):
    """Why the unit does not set it: under W^X, pyOpenSSL cannot make its callbacks. The crawl
    must say exactly that, at once — not hang until the download timeout."""
    web, ca = tls_web
    env = _installation(state_dir, web, ca, ["rok"])
    proc = hardened(state_dir, "-m", "crawler.cli", "crawl", "--json", "--progress-interval",
                    "0", extra="MemoryDenyWriteExecute=yes", env=env)
    assert proc.returncode == 1
    assert "TLS is unavailable in this process" in proc.stderr
    assert "MemoryDenyWriteExecute" in proc.stderr
    assert "timed out" not in proc.stderr and "Traceback" not in proc.stderr
