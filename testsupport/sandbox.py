"""Run a command under the hardening of a systemd unit, without systemd.

There is no systemd here (and no Docker), yet the unit in ``deploy/systemd/`` must not ship a
directive that breaks the service — ``MemoryDenyWriteExecute=`` once broke every HTTPS fetch. So
each directive of the unit's ``[Service]`` section is imitated with the kernel feature systemd
itself uses: mount namespaces (ProtectSystem, ProtectHome, PrivateTmp, PrivateDevices, Protect-
Kernel*/ControlGroups), a UTS namespace, prctl (NoNewPrivileges, capability sets, MDWE), a seccomp
filter (RestrictAddressFamilies, RestrictNamespaces, RestrictRealtime, RestrictSUIDSGID,
LockPersonality, ProtectClock, ProtectHostname, ProtectKernelModules/Logs, native architecture
only), setuid/setgid and the umask. A directive the unit has and this module cannot imitate is an
error (:func:`unimitated`), so the test that runs the service under it fails rather than passing
on a weaker sandbox.

One deviation, stated: PrivateTmp and ProtectHome hide /tmp, /var/tmp, /root, /home and
/run/user, but re-expose read-only what the command runs from when it lives there — the
interpreter's prefix, the venv and the checkout (this machine's Python is under /root/.pyenv, a
CI clone may sit under /tmp; a systemd install runs from /usr/bin/python3 and /opt/chavder).

Needs root (to create the namespaces) and libseccomp (``pyseccomp``).
"""
from __future__ import annotations

import configparser
import ctypes
import errno
import json
import os
import stat
import sys
from pathlib import Path
from typing import Callable

#: [Service] keys that are not hardening (what to run, how to stop, where the environment is)
NOT_HARDENING = {"Type", "WorkingDirectory", "EnvironmentFile", "Environment", "ExecStart",
                 "KillSignal", "TimeoutStopSec", "Restart", "RestartSec"}

_libc = ctypes.CDLL(None, use_errno=True)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
CLONE_NEWNS, CLONE_NEWUTS = 0x00020000, 0x04000000
NAMESPACE_FLAGS = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000,
                   "CLONE_NEWUTS": 0x04000000, "CLONE_NEWIPC": 0x08000000,
                   "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
                   "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080}
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_SET_MDWE = 24, 38, 47, 65
PR_CAP_AMBIENT_CLEAR_ALL, PR_MDWE_REFUSE_EXEC_GAIN = 4, 1
AF_FAMILIES = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10}
AF_MAX = 46
UNPRIVILEGED = 65534   # nobody / nogroup: stands in for the unit's User=chavder


def read_unit(path: Path) -> dict[str, str]:
    """The ``[Service]`` section of a unit file (later keys win, as in systemd)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Service"])


def hardening(unit: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in unit.items() if k not in NOT_HARDENING}


def unimitated(unit: dict[str, str]) -> list[str]:
    """Hardening directives of ``unit`` this module has no imitation for."""
    return sorted(k for k in hardening(unit) if k not in IMITATIONS)


# ------------------------------------------------------------------ kernel calls

def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(),
                       fstype and fstype.encode(), ctypes.c_ulong(flags),
                       data and data.encode()), f"mount {target}")


def _prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def _mounts() -> list[tuple[str, set[str]]]:
    """Mount points (deepest last) and their per-mount options, from mountinfo."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = fields[4].encode().decode("unicode_escape")
        out.append((point, set(fields[5].split(","))))
    return out


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


# ------------------------------------------------------------------ the imitations

class Sandbox:
    """Builds the sandbox in the current process (call in a child, then exec)."""

    def __init__(self, unit: dict[str, str], rw_paths: list[str]):
        self.unit, self.rw_paths = unit, [os.path.realpath(p) for p in rw_paths]
        self.seccomp: list[Callable[[object], None]] = []
        self.ro_roots: list[str] = []          # extra trees made read-only after the rest
        self.keep_writable = ["/dev", "/proc", "/sys"]
        self.ro_later = False

    def on(self, key: str) -> bool:
        return self.unit.get(key, "").strip().lower() in ("yes", "true", "1", "on", "strict",
                                                          "full")

    # mount namespace ---------------------------------------------------------------
    def _hide(self, dirs: tuple[str, ...], mode: str) -> None:
        """Mount an empty tmpfs over each of ``dirs``, then bring back, read-only, what the
        command itself runs from when it lives there: the interpreter, the venv and the
        checkout (a CI clone under /tmp, this machine's Python under /root). The originals are
        reached through O_PATH descriptors opened before the tmpfs hides them."""
        wanted = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, os.getcwd())}
        keep = sorted(p for p in wanted if _under(p, list(dirs)))
        keep = [p for p in keep if not any(p != q and _under(p, [q]) for q in keep)]
        handles = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in keep}
        for path in dirs:
            if os.path.isdir(path):
                _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, mode)
        for path, fd in handles.items():
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            os.close(fd)
        self.ro_roots += keep

    def private_tmp(self) -> None:
        if self.on("PrivateTmp"):
            self._hide(("/tmp", "/var/tmp"), "mode=1777")
            self.keep_writable += ["/tmp", "/var/tmp"]

    def private_devices(self) -> None:
        if not self.on("PrivateDevices"):
            return
        stash = "/tmp/.sandbox-dev"
        os.makedirs(stash, exist_ok=True)
        _mount("/dev", stash, None, MS_BIND | MS_REC)
        _mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755")
        for name in ("null", "zero", "full", "random", "urandom", "tty"):
            Path(f"/dev/{name}").touch()
            _mount(f"{stash}/{name}", f"/dev/{name}", None, MS_BIND)
        os.makedirs("/dev/shm", exist_ok=True)
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"/dev/{name}")
        _check(_libc.umount2(stash.encode(), MNT_DETACH), "umount stash")
        os.rmdir(stash)

    def protect_home(self) -> None:
        if self.on("ProtectHome"):
            self._hide(("/root", "/home", "/run/user"), "mode=755")
            self.ro_roots += ["/root", "/home", "/run/user"]

    def protect_system(self) -> None:
        if self.unit.get("ProtectSystem", "").strip().lower() != "strict":
            raise ValueError("only ProtectSystem=strict is imitated")
        for path in self.rw_paths:   # each writable path becomes its own mount first
            _mount(path, path, None, MS_BIND | MS_REC)
        self.ro_later = True

    def make_read_only(self) -> None:
        if not getattr(self, "ro_later", False):
            return
        keep = self.keep_writable if not self.on("ProtectKernelTunables") else ["/dev", "/tmp",
                                                                                 "/var/tmp"]
        for point, options in _mounts():
            if _under(point, self.rw_paths) or (_under(point, keep) and not _under(
                    point, self.ro_roots)):
                continue
            flags = MS_BIND | MS_REMOUNT | MS_RDONLY
            flags |= sum(f for name, f in (("nosuid", MS_NOSUID), ("nodev", MS_NODEV),
                                           ("noexec", MS_NOEXEC)) if name in options)
            try:
                _mount(None, point, None, flags)
            except OSError as exc:
                if point in ("/", "/usr", "/etc", "/var"):
                    raise
                if exc.errno not in (errno.EACCES, errno.EPERM, errno.EINVAL, errno.ENOENT):
                    raise

    def protect_kernel_tunables(self) -> None:
        if self.on("ProtectKernelTunables"):
            self.ro_roots += ["/proc/sys", "/sys"]

    def protect_control_groups(self) -> None:
        if self.on("ProtectControlGroups"):
            self.ro_roots += ["/sys/fs/cgroup"]

    def protect_kernel_modules(self) -> None:
        if self.on("ProtectKernelModules"):
            for path in ("/usr/lib/modules", "/lib/modules"):
                if os.path.isdir(path) and not os.path.islink(path):
                    _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=755")
            self._deny("init_module", "finit_module", "delete_module")

    def protect_kernel_logs(self) -> None:
        if self.on("ProtectKernelLogs"):
            if os.path.exists("/proc/kmsg"):
                _mount("/dev/null", "/proc/kmsg", None, MS_BIND)
            self._deny("syslog")

    # seccomp ----------------------------------------------------------------------
    def _deny(self, *names: str, code: int = errno.EPERM, args: tuple = ()) -> None:
        def add(f: object, names: tuple = names) -> None:
            import pyseccomp as sc
            for name in names:
                try:
                    f.add_rule(sc.ERRNO(code), name, *args)   # type: ignore[attr-defined]
                except (RuntimeError, OSError, ValueError):
                    pass   # no such system call on this architecture
        self.seccomp.append(add)

    def restrict_address_families(self) -> None:
        import pyseccomp as sc
        allowed = {AF_FAMILIES[n] for n in self.unit["RestrictAddressFamilies"].split()}
        for family in range(AF_MAX):
            if family not in allowed:
                for call in ("socket", "socketpair"):
                    self._deny(call, code=errno.EAFNOSUPPORT, args=(sc.Arg(0, sc.EQ, family),))

    def restrict_namespaces(self) -> None:
        import pyseccomp as sc
        if self.on("RestrictNamespaces"):
            self._deny("unshare", "setns")
            for flag in NAMESPACE_FLAGS.values():
                self._deny("clone", args=(sc.Arg(0, sc.MASKED_EQ, flag, flag),))
            self._deny("clone3", code=errno.ENOSYS)   # its flags are behind a pointer

    def restrict_realtime(self) -> None:
        import pyseccomp as sc
        if self.on("RestrictRealtime"):
            for policy in (1, 2, 6):   # SCHED_FIFO, SCHED_RR, SCHED_DEADLINE
                self._deny("sched_setscheduler", args=(sc.Arg(1, sc.EQ, policy),))
            self._deny("sched_setattr")

    def restrict_suid_sgid(self) -> None:
        import pyseccomp as sc
        if self.on("RestrictSUIDSGID"):
            for bit in (stat.S_ISUID, stat.S_ISGID):
                self._deny("chmod", "fchmod", args=(sc.Arg(1, sc.MASKED_EQ, bit, bit),))
                self._deny("fchmodat", args=(sc.Arg(2, sc.MASKED_EQ, bit, bit),))

    def lock_personality(self) -> None:
        import pyseccomp as sc
        if self.on("LockPersonality"):
            self._deny("personality", args=(sc.Arg(0, sc.NE, 0),))

    def protect_clock(self) -> None:
        if self.on("ProtectClock"):
            self._deny("clock_settime", "clock_adjtime", "adjtimex", "settimeofday", "stime")

    def protect_hostname(self) -> None:
        if self.on("ProtectHostname"):   # the UTS namespace is made in apply()
            self._deny("sethostname", "setdomainname")

    def system_call_architectures(self) -> None:
        if self.unit["SystemCallArchitectures"].strip() != "native":
            raise ValueError("only SystemCallArchitectures=native is imitated")
        # a libseccomp filter covers the native architecture only; calls made through any
        # other ABI (i386, x32) hit its bad-architecture action, which kills the process

    def _load_seccomp(self) -> None:
        import pyseccomp as sc
        f = sc.SyscallFilter(defaction=sc.ALLOW)
        for add in self.seccomp:
            add(f)
        f.load()

    # privileges -------------------------------------------------------------------
    def memory_deny_write_execute(self) -> None:
        if self.on("MemoryDenyWriteExecute"):
            _prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)

    def capability_bounding_set(self) -> None:
        if self.unit["CapabilityBoundingSet"].strip():
            raise ValueError("only an empty CapabilityBoundingSet= is imitated")
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        for cap in range(last + 1):
            _prctl(PR_CAPBSET_DROP, cap)

    def ambient_capabilities(self) -> None:
        if self.unit["AmbientCapabilities"].strip():
            raise ValueError("only an empty AmbientCapabilities= is imitated")
        _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)

    def user(self) -> None:
        os.setgroups([])
        os.setgid(UNPRIVILEGED)
        os.setuid(UNPRIVILEGED)   # from root: every effective capability is dropped

    def no_new_privileges(self) -> None:
        if self.on("NoNewPrivileges"):
            _prctl(PR_SET_NO_NEW_PRIVS, 1)

    def umask(self) -> None:
        os.umask(int(self.unit["UMask"], 8))


def _noop(sandbox: Sandbox) -> None:
    """Handled together with another directive (see the method it names)."""


IMITATIONS: dict[str, Callable[[Sandbox], None]] = {
    "PrivateTmp": Sandbox.private_tmp,
    "PrivateDevices": Sandbox.private_devices,
    "ProtectHome": Sandbox.protect_home,
    "ReadWritePaths": _noop,            # the unit's paths stand for the caller's rw paths
    "StateDirectory": _noop,            # (the test's state dir), made writable by ProtectSystem
    "ProtectSystem": Sandbox.protect_system,
    "ProtectKernelTunables": Sandbox.protect_kernel_tunables,
    "ProtectControlGroups": Sandbox.protect_control_groups,
    "ProtectKernelModules": Sandbox.protect_kernel_modules,
    "ProtectKernelLogs": Sandbox.protect_kernel_logs,
    "ProtectClock": Sandbox.protect_clock,
    "ProtectHostname": Sandbox.protect_hostname,
    "RestrictAddressFamilies": Sandbox.restrict_address_families,
    "RestrictNamespaces": Sandbox.restrict_namespaces,
    "RestrictRealtime": Sandbox.restrict_realtime,
    "RestrictSUIDSGID": Sandbox.restrict_suid_sgid,
    "LockPersonality": Sandbox.lock_personality,
    "SystemCallArchitectures": Sandbox.system_call_architectures,
    "MemoryDenyWriteExecute": Sandbox.memory_deny_write_execute,
    "CapabilityBoundingSet": Sandbox.capability_bounding_set,
    "AmbientCapabilities": Sandbox.ambient_capabilities,
    "User": _noop,                      # with Group: Sandbox.user (late)
    "Group": Sandbox.user,
    "NoNewPrivileges": Sandbox.no_new_privileges,
    "UMask": Sandbox.umask,
}
#: applied after every mount, in this order (read-only last among mounts; identity; prctl)
LATE = ["ProtectSystem", "CapabilityBoundingSet", "AmbientCapabilities", "Group",
        "NoNewPrivileges", "MemoryDenyWriteExecute", "UMask"]


#: the mount-namespace directives, in the order they must be applied
MOUNTS = ["PrivateTmp", "PrivateDevices", "ProtectHome", "ReadWritePaths", "StateDirectory",
          "ProtectKernelTunables", "ProtectControlGroups", "ProtectKernelModules",
          "ProtectKernelLogs", "ProtectSystem"]


def apply(box: Sandbox) -> None:
    """Namespaces and mounts, then seccomp rules, identity and prctl; the filter last."""
    if os.geteuid() != 0:
        raise PermissionError("the systemd-hardening imitation needs root (namespaces)")
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for key in MOUNTS:
        if key in box.unit:
            IMITATIONS[key](box)
    box.make_read_only()
    for key in box.unit:
        if key in IMITATIONS and key not in MOUNTS and key not in LATE:
            IMITATIONS[key](box)
    for key in LATE:
        if key in box.unit and key not in MOUNTS:
            IMITATIONS[key](box)
    box._load_seccomp()


def main() -> None:
    """``python -m testsupport.sandbox UNIT RW_PATHS_JSON -- COMMAND…``

    Extra directives (e.g. ``MemoryDenyWriteExecute=yes``) may be added, one per line, in
    ``SANDBOX_EXTRA_DIRECTIVES``.
    """
    unit_path, rw_json, sep, *command = sys.argv[1:]
    if sep != "--" or not command:
        sys.exit("usage: python -m testsupport.sandbox UNIT RW_PATHS_JSON -- COMMAND…")
    unit = read_unit(Path(unit_path))
    extra = os.environ.pop("SANDBOX_EXTRA_DIRECTIVES", "")
    unit.update(dict(line.split("=", 1) for line in extra.splitlines() if "=" in line))
    missing = unimitated(unit)
    if missing:
        sys.exit(f"sandbox: no imitation for {', '.join(missing)}")
    try:
        apply(Sandbox(unit, json.loads(rw_json)))
    except (OSError, ValueError, ImportError) as exc:
        sys.exit(f"sandbox: cannot imitate the unit here: {exc}")
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
