"""The real app under uvicorn, in a thread, on a free loopback port (for tests that need sockets)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import uvicorn

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app: str = "app.main:app") -> Iterator[str]:
    """Yield the base URL of a running server; stop it on exit.

    The socket is bound here and handed to uvicorn, so no other process can take the port
    between choosing it and serving on it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class ServerProcess:
    """`python -m app` as a child process (so a test can kill it with SIGKILL)."""

    def __init__(self, data_dir: str, extra_args: tuple[str, ...] = (), log: Path | None = None):
        """`log`: write the server's output there (a long run must not fill an unread pipe)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LSTMVIS_DATA_DIR": str(data_dir)}
        cmd = [sys.executable, "-m", "app", "--port", str(self.port), "--log-level", "warning", *extra_args]
        self.log = log.open("wb") if log is not None else None
        out = self.log if self.log is not None else subprocess.PIPE
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log or subprocess.DEVNULL, stderr=out)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else f"see {log}"
                self.proc.kill()
                raise RuntimeError(f"python -m app did not start: {err}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what a crash or power cut leaves."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.log is not None:
            self.log.close()
