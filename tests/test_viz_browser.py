"""kgmed's HTML pages in a real headless Chromium: drawn as meant, offline, inert labels.

Each test copies a page, adds a probe script that records what the live page
holds once vis-network has stabilised (drawn nodes and edges, the resources
the page fetched, any alert() a hostile label might have run), opens it with
``chromium --headless --dump-dom`` and reads the probe back from the DOM.
Without Chromium the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kgmed

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")

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
    shot = tmp_path / "influenza.png"
    subprocess.run(
        [
            chromium,
            *_flags(tmp_path / "profile"),
            "--window-size=1400,900",
            f"--screenshot={shot}",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
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
