"""A process on a network of its own (a Linux network namespace), reaching only chosen ports.

For the scale-out test that shows workers share nothing but Redis: a worker started with
:func:`isolate_prelude` runs in a fresh network namespace (``unshare(CLONE_NEWNET)``; it needs
root, as ``ip netns`` does) whose only interface is its own loopback. The ports it may reach —
Redis and the fixture web's sites — are bridged in through Unix sockets in a directory both
sides see: in the namespace, ``127.0.0.1:PORT`` forwards to ``DIR/PORT.sock``; on the host,
:class:`HostBridge` forwards ``DIR/PORT.sock`` to the host's ``127.0.0.1:PORT``. So the worker
uses the very same addresses as everyone else, and anything not bridged (the controller's
health port, the SMTP server, Elasticsearch) is simply not there for it. Loopback only, on
both sides.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Awaitable, Callable, Iterable

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


def _joiner(connect: Callable[[], Awaitable[tuple[asyncio.StreamReader,
                                                  asyncio.StreamWriter]]]):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await connect()
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
    return handle


def sock_path(directory: Path | str, port: int) -> str:
    return str(Path(directory) / f"{port}.sock")


class HostBridge:
    """On the host: ``DIR/PORT.sock`` → ``127.0.0.1:PORT`` for each port, in a thread."""

    def __init__(self, directory: Path, ports: Iterable[int]):
        self.directory, self.ports = Path(directory), list(ports)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="netns-host-bridge")

    def __enter__(self) -> "HostBridge":
        self.directory.mkdir(parents=True, exist_ok=True)

        async def serve() -> None:
            for port in self.ports:
                await asyncio.start_unix_server(
                    _joiner(lambda port=port: asyncio.open_connection("127.0.0.1", port)),
                    sock_path(self.directory, port))
        self._thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def _serve_inside(directory: str, ports: list[int]) -> None:
    """In the namespace: ``127.0.0.1:PORT`` → ``DIR/PORT.sock``; prints ``ready``."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    async def serve() -> None:
        for port in ports:
            await asyncio.start_server(
                _joiner(lambda port=port: asyncio.open_unix_connection(
                    sock_path(directory, port))), "127.0.0.1", port)
        print("ready", flush=True)
        await asyncio.Event().wait()
    asyncio.run(serve())


def enter_private_network(directory: str, ports: list[int]) -> None:
    """Called first thing in the child: a new network namespace with loopback up and the
    bridges of ``ports`` listening, before the program itself runs."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise SystemExit(f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())} "
                         "(a private network namespace needs root or CAP_SYS_ADMIN)")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    bridge = subprocess.Popen([sys.executable, "-c",
                               "import sys; from testsupport.netns import _serve_inside; "
                               "_serve_inside(sys.argv[1], [int(p) for p in sys.argv[2:]])",
                               directory, *map(str, ports)],
                              stdout=subprocess.PIPE, text=True,
                              cwd=str(Path(__file__).resolve().parent.parent))
    if bridge.stdout is None or bridge.stdout.readline().strip() != "ready":
        raise SystemExit("the namespace's port bridge did not start")


def isolate_prelude(directory: Path, ports: Iterable[int]) -> str:
    """The ``python_prelude`` (testsupport.processes.spawn) that runs a chavder command on a
    network of its own reaching only ``ports``."""
    repo = str(Path(__file__).resolve().parent.parent)
    return (f"import sys; sys.path.insert(0, {repo!r}); "
            "from testsupport.netns import enter_private_network; "
            f"enter_private_network({str(directory)!r}, {sorted(set(ports))!r})")


def net_namespace(pid: int | str = "self") -> int:
    """The network namespace a process is in (its inode)."""
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def reachable_from(pid: int, port: int, timeout: float = 3.0) -> bool:
    """Whether ``127.0.0.1:port`` answers from inside ``pid``'s network namespace."""
    code = ("import socket, sys\n"
            "s = socket.socket(); s.settimeout(2)\n"
            "sys.exit(0 if s.connect_ex(('127.0.0.1', int(sys.argv[1]))) == 0 else 1)")
    done = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", code,
                           str(port)], timeout=timeout + 5)
    return done.returncode == 0
