"""kgmed's HTML pages in a real headless Chromium: drawn as meant, offline, inert labels.

Each test copies a page, adds a probe script that records what the live page
holds once vis-network has stabilised (drawn nodes and edges, the resources
the page fetched, any alert() a hostile label might have run), opens it with
``chromium --headless --dump-dom`` and reads the probe back from the DOM.
The screenshot tests save a picture of each kind of page into
``docs/_static/screenshots/`` for the documentation's screenshots page.
Without Chromium the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kgmed

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")

ROOT = Path(__file__).resolve().parents[1]
# Where the screenshots for docs/screenshots.md go (not kept in git).
SCREENSHOTS = ROOT / "docs" / "_static" / "screenshots"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    '"><svg onload=alert(3)>',
]

# Installed first in <head>: counts alert() calls and any element a label
# could have injected (img, svg, iframe) before the page's own scripts run.
_BEFORE = "<script>window.__kgmedAlerts = 0; window.alert = function () { window.__kgmedAlerts++; };</script>"
_AFTER = """<script>
(function probe(tries) {
  var ready = document.documentElement.getAttribute("data-kgmed-ready") === "true";
  if (!ready && tries > 0) { setTimeout(function () { probe(tries - 1); }, 100); return; }
  var network = window.kgmedNetwork;
  var out = document.createElement("pre");
  out.id = "kgmed-probe";
  out.textContent = JSON.stringify({
    ready: ready,
    nodes: network ? network.body.data.nodes.length : null,
    edges: network ? network.body.data.edges.length : null,
    nodeIndices: network ? network.body.nodeIndices.length : null,
    resources: performance.getEntriesByType("resource").map(function (e) { return e.name; }),
    alerts: window.__kgmedAlerts,
    injected: document.querySelectorAll("img, svg, iframe").length,
    legend: document.getElementById("kgmed-legend") !== null,
    title: document.title
  });
  document.body.appendChild(out);
})(200);
</script>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _chromium()
    if found is None:
        message = "Chromium is not installed (scripts/test.sh installs Debian's chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _flags(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=20000",
    ]


def screenshot(chromium: str, page: Path, shot: Path, *, size: str = "1400,900") -> bytes:
    """Take a PNG of ``page`` as headless Chromium draws it; its bytes."""
    done = subprocess.run(
        [
            chromium,
            *_flags(page.parent / "profile"),
            f"--window-size={size}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert shot.is_file(), f"no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    return shot.read_bytes()


def open_in_browser(chromium: str, page: str, folder: Path) -> dict[str, Any]:
    """The probe's record of ``page`` once live in Chromium."""
    probed = page.replace("<head>", "<head>" + _BEFORE, 1).replace("</body>", _AFTER + "</body>", 1)
    path = folder / "probed.html"
    path.write_text(probed, encoding="utf-8")
    done = subprocess.run(
        [chromium, *_flags(folder / "profile"), "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found = re.search(r'<pre id="kgmed-probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"no probe in the page (exit {done.returncode}): {done.stderr[-2000:]}"
    return dict(json.loads(html.unescape(found.group(1))))


@pytest.fixture(scope="module")
def small_kg() -> kgmed.KnowledgeGraph:
    kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    kg.add_knowledge(
        pd.DataFrame(
            {
                "subject": ["influenza"] * len(HOSTILE),
                "relation": ["has_symptom"] * len(HOSTILE),
                "object": HOSTILE,
                "source": ["textbook"] * len(HOSTILE),
            }
        )
    )
    return kg


def test_the_whole_graph_is_drawn(chromium: str, small_kg, tmp_path: Path) -> None:
    page = small_kg.show()
    seen = open_in_browser(chromium, page.html, tmp_path)
    assert seen["ready"] is True
    assert seen["nodes"] == seen["nodeIndices"] == page.n_nodes == len(small_kg)
    assert seen["edges"] == page.n_edges == small_kg.graph.number_of_edges()
    assert seen["legend"] is True
    assert seen["resources"] == []  # no request left the page


def test_a_neighbourhood_with_hostile_labels_runs_nothing(
    chromium: str, small_kg, tmp_path: Path
) -> None:
    page = small_kg.show(focus="influenza", depth=1, title="<img src=x onerror=alert(5)>")
    seen = open_in_browser(chromium, page.html, tmp_path)
    assert seen["nodes"] == page.n_nodes
    assert seen["edges"] == page.n_edges
    assert seen["alerts"] == 0
    assert seen["injected"] == 0
    assert seen["title"] == "<img src=x onerror=alert(5)>"  # shown as text
    assert seen["resources"] == []


def test_max_nodes_and_max_edges_draw_what_they_say(chromium: str, tmp_path: Path) -> None:
    model = kgmed.datasets.random_model(random_state=1)
    records = kgmed.datasets.synthetic(5000, model=model, random_state=1)
    kg = kgmed.build(records)
    page = kg.show(max_nodes=400, max_edges=1000)
    assert page.n_nodes == 400 < page.n_nodes_total
    assert page.n_edges == 1000
    assert "max_edges=1,000" in page.html
    seen = open_in_browser(chromium, page.html, tmp_path)
    assert seen["ready"] is True
    assert (seen["nodes"], seen["edges"]) == (page.n_nodes, page.n_edges)


def test_a_screenshot(chromium: str, small_kg, tmp_path: Path) -> None:
    path = small_kg.to_html(tmp_path / "influenza.html", focus="influenza", depth=1)
    data = screenshot(chromium, path, tmp_path / "influenza.png")
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 20_000  # a drawing, not a blank page


def test_patient_and_paths_pages_are_drawn(chromium: str, small_kg, tmp_path: Path) -> None:
    link = small_kg.link({"present": ["fever", HOSTILE[0]], "absent": ["runny nose"]})
    page = link.show()
    seen = open_in_browser(chromium, page.html, tmp_path)
    assert (seen["nodes"], seen["edges"]) == (page.n_nodes, page.n_edges)
    assert seen["alerts"] == 0
    assert seen["injected"] == 0
    paths = kgmed.viz.paths_page(small_kg.paths("fever", "oseltamivir", k=3))
    seen = open_in_browser(chromium, paths.html, tmp_path)
    assert (seen["nodes"], seen["edges"]) == (paths.n_nodes, paths.n_edges)
    assert seen["resources"] == []


@pytest.fixture(scope="module")
def sample_kg() -> kgmed.KnowledgeGraph:
    """The graph of the bundled sample records, as the documentation builds it."""
    records = kgmed.read_records(
        ROOT / "examples" / "data" / "records.csv", code="code", system="system"
    )
    return kgmed.build(records)


# Each page the documentation's screenshots page shows, and how to write it.
VIEWS: dict[str, Callable[[kgmed.KnowledgeGraph, Path], Path]] = {
    "whole-graph": lambda kg, path: kg.to_html(path),
    "influenza": lambda kg, path: kg.to_html(path, focus="influenza", depth=1),
    "patient": lambda kg, path: kg.link(
        {"present": ["fever", "cough", "muscle pain"], "absent": ["runny nose"]}
    ).to_html(path),
    "paths": lambda kg, path: kg.paths_html(path, "shortness of breath", "lisinopril", k=3),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_screenshots_for_the_docs(chromium: str, sample_kg, view: str, tmp_path: Path) -> None:
    page = VIEWS[view](sample_kg, tmp_path / f"{view}.html")
    # The pages are 720 pixels high below a header: the window shows them whole.
    data = screenshot(chromium, page, tmp_path / f"{view}.png", size="1400,780")
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 20_000  # a drawing, not a blank page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved = SCREENSHOTS / f"{view}.png"
    shutil.copyfile(tmp_path / f"{view}.png", saved)
    assert saved.read_bytes() == data
