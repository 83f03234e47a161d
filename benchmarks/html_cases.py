"""What the "HTML pages" section measures: kgmed.viz pages written, then drawn in Chromium.

One worker process (``python benchmarks/run.py --worker html random_model N``)
builds ``kgmed.build(synthetic(N, model=random_model(random_state=1),
random_state=1))`` once, untimed, and for pages of 500, 2,000 and 10,000
nodes

- times ``kg.to_html(path, max_nodes=n, max_edges=e)`` (median of the
  repeats), with the default ``max_edges=3000`` and with every edge
  (``None``), and reads
  the page's size; ``kgmed.viz.graph_page`` says, untimed, how many nodes and
  edges it draws;
- opens a copy of the page in headless Chromium with a probe in ``<head>``: a
  MutationObserver that, when ``data-kgmed-ready`` becomes ``"true"``,
  ``console.log``s ``performance.now()`` (milliseconds since navigation
  started) and the nodes and edges ``window.kgmedNetwork`` holds. Chromium
  runs in real time (no ``--virtual-time-budget``) with
  ``--enable-logging=stderr``; the worker reads the record from Chromium's
  stderr and then stops the browser it started.

The default vocabulary of ``random_model`` has about 2,000 concepts, so the
10,000-node page is drawn from copies of that graph side by side (labels
suffixed ``(copy k)``): a model of 10,000 concepts takes minutes to sample and
build (see README.md). Quick mode builds from 5,000 patients and draws 500
nodes only.

This module imports only the standard library at the top, so that ``run.py``
can format the section without loading kgmed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import run  # the suite's table helper (standard library only)

Result = dict[str, Any]

PATIENTS = 20_000
QUICK_PATIENTS = 5_000
#: (max_nodes, max_edges) of each page; 3,000 is to_html's default, None draws every edge.
PAGES: tuple[tuple[int, int | None], ...] = (
    (500, 3_000),
    (500, None),
    (2_000, 3_000),
    (2_000, None),
    (10_000, 3_000),
    (10_000, None),
)
QUICK_PAGES: tuple[tuple[int, int | None], ...] = ((500, 3_000),)
#: Browser runs per page (1 for pages above LARGE_PAGE nodes).
BROWSER_RUNS = 3
LARGE_PAGE = 5_000
#: Seconds to wait for a page to stabilise before giving up on it.
BROWSER_TIMEOUT = 240

MARKER = "KGMED-PROBE "

#: Installed first in <head>, before the page's own scripts.
PROBE = """<script>
new MutationObserver(function (changes, observer) {
  if (document.documentElement.getAttribute("data-kgmed-ready") !== "true") return;
  observer.disconnect();
  var readyMs = performance.now();
  var network = window.kgmedNetwork;
  console.log("KGMED-PROBE " + JSON.stringify({
    ready_ms: readyMs,
    nodes: network ? network.body.data.nodes.length : null,
    edges: network ? network.body.data.edges.length : null
  }));
}).observe(document.documentElement, {attributes: true, attributeFilter: ["data-kgmed-ready"]});
</script>"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _flags(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]


def open_page(browser: str, page: Path, folder: Path) -> Result | None:
    """The probe's record for ``page`` in real time, or None if it did not stabilise in time."""
    probed = folder / "probed.html"
    text = page.read_text(encoding="utf-8")
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=folder))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [browser, *_flags(profile), probed.as_uri()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        preexec_fn=os.setpgrp,  # its own process group, stopped as a whole
    )
    timer = threading.Timer(BROWSER_TIMEOUT, _stop, args=(proc,))
    timer.start()
    record = None
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if MARKER in line:
                payload = line.split(MARKER, 1)[1]
                record = json.loads(payload[: payload.rindex("}") + 1].replace('\\"', '"'))
                record["wall_s"] = time.perf_counter() - start
                break
    finally:
        timer.cancel()
        _stop(proc)
        shutil.rmtree(profile, ignore_errors=True)
    return record


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop the browser this worker started (its own process group)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def tiled(kg: Any, copies: int) -> Any:
    """``copies`` relabelled copies of ``kg``'s graph side by side, as one KnowledgeGraph."""
    import networkx as nx

    import kgmed

    parts = []
    for k in range(copies):
        part = nx.relabel_nodes(kg.graph, {node: f"{node}@{k}" for node in kg.graph})
        for _, attrs in part.nodes(data=True):
            attrs["label"] = f"{attrs.get('label')} (copy {k + 1})"
        parts.append(part)
    return kgmed.KnowledgeGraph(nx.union_all(parts), params=kg.params)


def worker(dataset: str, n_patients: int, repeats: int, quick: bool) -> Result:
    import kgmed
    from kgmed.datasets import random_model, synthetic

    if dataset != "random_model":
        raise ValueError(f"unknown HTML benchmark graph {dataset!r}")
    start = time.perf_counter()
    records = synthetic(n_patients, model=random_model(random_state=1), random_state=1)
    kg = kgmed.build(records)
    prep = {"build": time.perf_counter() - start}
    browser = chromium()
    pages = []
    with tempfile.TemporaryDirectory(prefix="kgmed-bench-html-") as name:
        folder = Path(name)
        tiles: dict[int, Any] = {}
        for n, max_edges in QUICK_PAGES if quick else PAGES:
            graph, copies = kg, 1
            if n > len(kg) and n in tiles:
                graph, copies = tiles[n]
            elif n > len(kg):
                copies = -(-n // len(kg)) + (1 if n % len(kg) == 0 else 0)
                start = time.perf_counter()
                graph = tiled(kg, copies)
                prep[f"tile {n}"] = time.perf_counter() - start
                tiles[n] = graph, copies
            path = folder / f"kg-{n}-{max_edges}.html"
            runs = 1 if n > LARGE_PAGE else repeats
            seconds = []
            for _ in range(runs):
                start = time.perf_counter()
                graph.to_html(path, max_nodes=n, max_edges=max_edges)
                seconds.append(time.perf_counter() - start)
            page = kgmed.viz.graph_page(graph, max_nodes=n, max_edges=max_edges)
            browser_runs = []
            if browser is not None:
                for _ in range(1 if n > LARGE_PAGE else BROWSER_RUNS):
                    browser_runs.append(open_page(browser, path, folder))
            pages.append(
                {
                    "max_nodes": n,
                    "max_edges": max_edges,
                    "copies": copies,
                    "graph_nodes": len(graph),
                    "graph_edges": graph.graph.number_of_edges(),
                    "seconds": seconds,
                    "median": statistics.median(seconds),
                    "bytes": path.stat().st_size,
                    "n_nodes": page.n_nodes,
                    "n_edges": page.n_edges,
                    "browser": browser_runs,
                }
            )
    return {
        "case": "html",
        "dataset": dataset,
        "n_patients": n_patients,
        "n_concepts": len(kg),
        "n_edges": kg.graph.number_of_edges(),
        "prep": prep,
        "chromium": browser,
        "pages": pages,
    }


# -- the section (standard library only) ---------------------------------------------

HEADER = [
    "page (max_nodes, max_edges)",
    "graph drawn from",
    "to_html s",
    "page MiB",
    "nodes / edges drawn",
    "browser ready s (runs)",
    "browser nodes / edges",
    "chromium wall s",
]


def _s(value: float) -> str:
    return f"{value:.{3 if value < 1 else 2 if value < 10 else 1}f}"


def rows(result: Result) -> list[list[str]]:
    out = []
    for page in result["pages"]:
        done = [r for r in page["browser"] if r is not None]
        if done:
            ready = statistics.median(r["ready_ms"] for r in done) / 1000
            seen = {(r["nodes"], r["edges"]) for r in done}
            seen_text = "; ".join(f"{a:,} / {b:,}" for a, b in sorted(seen))
            wall = _s(statistics.median(r["wall_s"] for r in done))
            ready_text = f"{_s(ready)} ({len(done)})"
        else:
            ready_text = "not ready" if page["browser"] else "no chromium"
            seen_text = wall = "-"
        source = f"{page['graph_nodes']:,} concepts"
        if page["copies"] > 1:
            source += f" ({page['copies']} copies)"
        out.append(
            [
                f"{page['max_nodes']:,}, "
                + (f"{page['max_edges']:,}" if page.get("max_edges") is not None else "all"),
                source,
                f"{_s(page['median'])} ({len(page['seconds'])})",
                f"{page['bytes'] / 2**20:,.1f}",
                f"{page['n_nodes']:,} / {page['n_edges']:,}",
                ready_text,
                seen_text,
                wall,
            ]
        )
    return out


def html_section(results: list[Result]) -> list[str]:
    """The "HTML pages" section of RESULTS.md, as Markdown lines."""
    if not results:
        return []
    lines = ["## HTML pages", ""]
    for result in results:
        prep = ", ".join(f"{key} {_s(value)} s" for key, value in result["prep"].items())
        lines += [
            f"`kgmed.build(synthetic({result['n_patients']}, model=random_model(random_state=1), "
            f"random_state=1))`: {result['n_concepts']:,} concepts, {result['n_edges']:,} "
            f"edges (untimed: {prep}).",
            "",
            "`to_html s` is `kg.to_html(path, max_nodes=N, max_edges=E)`, median (repeats "
            "in brackets); 3,000 is the default `max_edges`, *all* is `max_edges=None`. "
            "`browser ready s` is the median `performance.now()` (from navigation start, "
            "page parse included) when the page set `data-kgmed-ready`, in headless "
            "Chromium in real time; `chromium wall s` adds starting the browser.",
            "",
            run.markdown_table(HEADER, rows(result)),
            "",
        ]
        if any(page["copies"] > 1 for page in result["pages"]):
            lines.append(
                "- Pages larger than the graph are drawn from copies of it side by side "
                "(relabelled, `(copy k)`), assembled untimed: a random model of 10,000 "
                "concepts takes minutes to sample and build."
            )
        if result["chromium"] is None:
            lines.append("- Chromium not found: the browser columns are empty.")
        lines.append("")
    return lines
