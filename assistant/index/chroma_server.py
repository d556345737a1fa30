"""Run a local chromadb server (the ``chroma run`` CLI of the installed chromadb package) on loopback.

For tests and benchmarks of server mode; in production the server is run and configured by the user."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ..errors import IndexError_

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_executable() -> str:
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        raise IndexError_("chromadb の chroma コマンドが見つかりません。chromadb を入れ直してください。")
    return found


@contextlib.contextmanager
def local_chroma_server(path: Path, log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start ``chroma run`` on 127.0.0.1 and a free port, storing data in ``path``; yields (url, process).

    The server is stopped (terminated, then killed) when the block ends, whatever happens in it."""
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    out = (log or path / "server.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen([chroma_executable(), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise IndexError_(f"chromadb サーバーが起動しませんでした（終了コード {proc.returncode}）。")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise IndexError_("chromadb サーバーが時間内に起動しませんでした。") from None
                time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
