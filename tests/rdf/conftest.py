"""A real Oxigraph server for the tests that talk to a triple store over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")
STARTUP_SECONDS = 20.0
ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` command beside the running Python, else on PATH."""
    name = "oxigraph.exe" if os.name == "nt" else "oxigraph"
    beside = Path(sys.executable).with_name(name)
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("oxigraph")


def _unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"CI is set but no Oxigraph server could be started: {reason}")
    pytest.skip(f"no Oxigraph server: {reason}")


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1.0) as response:
            response.read()
            return True
    except urllib.error.HTTPError as err:
        err.close()
        return True  # any HTTP answer means the server is up
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of an in-memory Oxigraph server on 127.0.0.1, stopped after the tests.

    Skipped when no server can be started, except under CI, where that fails.
    """
    binary = oxigraph_binary()
    if binary is None:
        _unavailable("the oxigraph command is neither beside Python nor on PATH")
    logs = tmp_path_factory.mktemp("oxigraph")
    problems: list[str] = []
    for attempt in range(ATTEMPTS):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = logs / f"server-{attempt}.log"
        with log_path.open("wb") as log:
            try:
                process = subprocess.Popen(
                    [binary, "serve", "--bind", f"127.0.0.1:{port}"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            except OSError as err:
                _unavailable(f"{binary} cannot run: {err}")
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while time.monotonic() < deadline and process.poll() is None:
                if _answers(url + "/"):
                    break
                time.sleep(0.1)
            else:
                _stop(process)
                output = log_path.read_text(encoding="utf-8", errors="replace").strip()
                problems.append(
                    f"{binary} serve on port {port} "
                    + (
                        f"exited with code {process.returncode}"
                        if process.returncode not in (None, -15)
                        else f"did not answer within {STARTUP_SECONDS:g} s"
                    )
                    + (f": {output[-500:]}" if output else "")
                )
                continue
            yield url
            return
        finally:
            _stop(process)
    _unavailable("; ".join(problems))
