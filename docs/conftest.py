"""Doctests of the pages: the triple-store page talks to a real Oxigraph server.

docs/triple-stores.md pushes to and queries ``http://127.0.0.1:7878``, as a
reader who ran ``oxigraph serve --bind 127.0.0.1:7878`` would; this starts
that server (in memory) for the page's doctests and stops it afterwards.
Without the ``oxigraph`` command, or with the port taken, the page is
skipped, except under CI, where that fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ADDRESS = "127.0.0.1:7878"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI is set but the Oxigraph server of docs/triple-stores.md: {reason}")
    pytest.skip(f"docs/triple-stores.md needs an Oxigraph server: {reason}")


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1.0) as response:
            response.read()
    except urllib.error.HTTPError as err:
        err.close()
    except OSError:
        return False
    return True


@pytest.fixture(autouse=True)
def _oxigraph_for_the_triple_store_page(request: pytest.FixtureRequest) -> Iterator[None]:
    if Path(str(request.node.path)).name != "triple-stores.md":
        yield
        return
    url = f"http://{ADDRESS}"
    if _answers(url):
        _unavailable(f"something already listens on {ADDRESS}")
    beside = Path(sys.executable).with_name("oxigraph")
    binary = str(beside) if beside.is_file() else shutil.which("oxigraph")
    if binary is None:
        _unavailable("the oxigraph command is neither beside Python nor on PATH")
    assert binary is not None
    process = subprocess.Popen(
        [binary, "serve", "--bind", ADDRESS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"oxigraph serve --bind {ADDRESS} did not start")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
