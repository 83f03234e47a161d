"""Shared fixtures: the third-party data sets, small records, and a real Oxigraph server."""

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

import pandas as pd
import pytest

import kgmed

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KGMED_SHARED_DATA", ROOT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked shared_data need ../shared/data: skipped without it, but
    never under CI, where a missing folder is a failure."""
    if SHARED_DATA.is_dir():
        return
    marked = [item for item in items if item.get_closest_marker("shared_data")]
    if not marked:
        return
    if IN_CI:
        raise pytest.UsageError(
            f"CI is set but the shared data folder {SHARED_DATA} is missing; "
            f"{len(marked)} tests need it (set KGMED_SHARED_DATA)"
        )
    reason = f"third-party data not found at {SHARED_DATA} (set KGMED_SHARED_DATA)"
    for item in marked:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of third-party data sets."""
    return SHARED_DATA


@pytest.fixture(scope="session")
def disease_symptom_records(shared_data: Path) -> kgmed.Records:
    """The Kaggle disease/symptom table (4,920 rows) read as wide records."""
    frame = pd.read_csv(
        shared_data / "disease_symptom_prediction" / "kaggle_layout" / "dataset.csv"
    )
    return kgmed.Records.from_wide(frame, kinds={"disease": "Disease", "symptom": "Symptom_*"})


@pytest.fixture(scope="session")
def synthetic_records() -> kgmed.Records:
    """3,000 synthetic patients (seeded)."""
    return kgmed.datasets.synthetic(3000, random_state=0)


@pytest.fixture(scope="session")
def kg(synthetic_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    """A graph of the synthetic patients with every tested pair as an edge."""
    # Every association edge, so that queries meet every statistic (q-values
    # near 1, lift below 1); build's default keeps only what holds.
    return kgmed.build(synthetic_records, relations="association", keep="all")


# -- a real Oxigraph server, for the tests that talk to a triple store over HTTP --

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


def _oxigraph_unavailable(reason: str) -> NoReturn:
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
        _oxigraph_unavailable("the oxigraph command is neither beside Python nor on PATH")
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
                _oxigraph_unavailable(f"{binary} cannot run: {err}")
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
    _oxigraph_unavailable("; ".join(problems))
