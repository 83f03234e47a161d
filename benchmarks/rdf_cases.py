"""What the "RDF export and SPARQL" section measures: kgmed.rdf next to plain rdflib.

Each graph is measured in a worker process of its own, started by ``run.py``
(``python benchmarks/run.py --worker rdf GRAPH N``): the worker makes the
records and builds the graph once, untimed, then times on that one graph

- the export: ``kgmed.rdf.to_rdf(kg)``; ``kgmed.rdf.serialize(g, "nt")`` and
  ``serialize(g, "turtle")`` against rdflib's own ``g.serialize`` of the same
  rdflib graph; ``kg.save("kg.nt")`` and ``kg.save("kg.ttl")`` end to end;
- SPARQL: loading each engine (the first query), then a neighbour query and
  a two-hop join, many times over, with ``kg.sparql(query, engine=...)`` for
  ``"oxigraph"`` and ``"rdflib"``, checking that both engines return the same
  rows.

It prints one JSON line, which ``run.py`` turns into the section with
:func:`rdf_section`. Run only this section with::

    python benchmarks/run.py --only rdf [--quick]

This module imports only the standard library at the top, so that ``run.py``
can format the section without loading kgmed; the worker functions import
kgmed, rdflib and numpy themselves.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import run  # the suite's memory helpers (standard library only)

Result = dict[str, Any]

#: Patients of the larger-vocabulary graph (``kgmed.datasets.random_model``).
RANDOM_MODEL_PATIENTS = 50_000
QUICK_RANDOM_MODEL_PATIENTS = 3_000

#: Timed SPARQL runs per query and engine, after the warm-up that loads the store.
SPARQL_RUNS = 100
#: rdflib's runs on the random-model graph, where each of its queries is slowest.
RDFLIB_RUNS_LARGE = 40
#: Quick mode divides the runs by this.
QUICK_DIVISOR = 5

#: Labels each query rotates over (diseases, or symptoms), evenly spaced in label order.
N_LABELS = 8

#: The warm-up query: it makes kg.sparql export the graph and load the engine's store.
WARM_UP = "ASK { ?s ?p ?o }"

#: The symptoms of one disease with their patient counts, through the association resources.
NEIGHBOUR = """SELECT ?symptom ?n WHERE {
  ?a kgmed:predicate kgmed:hasSymptom ; kgmed:subject ?d ;
     kgmed:object/skos:prefLabel ?symptom ; kgmed:nPatients ?n .
  ?d skos:prefLabel LABEL .
} ORDER BY DESC(?n) ?symptom"""

#: Treatments of the diseases that present one symptom, with how many such diseases.
TWO_HOP = """SELECT ?drug (COUNT(DISTINCT ?d) AS ?diseases) WHERE {
  ?s skos:prefLabel LABEL .
  ?d kgmed:hasSymptom ?s .
  ?d kgmed:treatedWith ?t .
  ?t skos:prefLabel ?drug .
} GROUP BY ?drug ORDER BY DESC(?diseases) ?drug"""

ENGINES = ("oxigraph", "rdflib")

#: Export steps: (key, what kgmed runs, what rdflib runs or None).
EXPORT_STEPS = (
    ("to_rdf", "`kgmed.rdf.to_rdf(kg)`", None),
    ("nt", '`kgmed.rdf.serialize(g, "nt")`', '`g.serialize(format="nt")`'),
    ("turtle", '`kgmed.rdf.serialize(g, "turtle")`', '`g.serialize(format="turtle")`'),
    ("save_nt", '`kg.save("kg.nt")`, end to end', None),
    ("save_ttl", '`kg.save("kg.ttl")`, end to end', None),
)


def rdf_graphs(sizes: list[int], quick: bool) -> list[tuple[str, int]]:
    """The (graph, patients) pairs of the section: the synthetic sizes, then the random model."""
    patients = QUICK_RANDOM_MODEL_PATIENTS if quick else RANDOM_MODEL_PATIENTS
    return [*(("synthetic", n) for n in sizes), ("random_model", patients)]


def sparql_runs(dataset: str, quick: bool) -> dict[str, int]:
    """Timed runs per query for each engine."""
    runs = {"oxigraph": SPARQL_RUNS, "rdflib": SPARQL_RUNS}
    if dataset == "random_model":
        runs["rdflib"] = RDFLIB_RUNS_LARGE
    if quick:
        runs = {engine: max(2, n // QUICK_DIVISOR) for engine, n in runs.items()}
    return runs


# -- the worker: one graph, in its own process ---------------------------------------


def measure(call: Callable[[], Any], repeats: int) -> tuple[Result, Any]:
    """Time ``call`` ``repeats`` times and the peak RSS it adds (see ``run.measure``)."""
    return run.measure(call, repeats)


def make_graph(dataset: str, n_patients: int) -> tuple[Any, Result]:
    """The graph to measure, built untimed: its records, build options and preparation times."""
    import kgmed
    from kgmed.datasets import random_model, synthetic

    prep: dict[str, float] = {}
    start = time.perf_counter()
    if dataset == "synthetic":
        records = synthetic(n_patients, random_state=0)
        options: dict[str, str] = {"relations": "association"}
    elif dataset == "random_model":
        records = synthetic(n_patients, model=random_model(random_state=1), random_state=1)
        options = {}
    else:
        raise ValueError(f"unknown RDF benchmark graph {dataset!r}")
    prep["records"] = time.perf_counter() - start
    start = time.perf_counter()
    kg = kgmed.build(records, **options)
    prep["build"] = time.perf_counter() - start
    info = {
        "dataset": dataset,
        "n_patients": int(records.n_patients),
        "relations": options.get("relations", "direct"),
        "n_concepts": len(kg),
        "n_edges": kg.graph.number_of_edges(),
        "prep": prep,
    }
    return kg, info


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def export_figures(kg: Any, repeats: int) -> tuple[int, dict[str, Result]]:
    """Time the export steps on one graph; the number of triples and each step's figures."""
    import kgmed

    steps: dict[str, Result] = {}
    steps["to_rdf"], g = measure(partial(kgmed.rdf.to_rdf, kg), repeats)
    n_triples = len(g)

    for name in ("nt", "turtle"):
        ours, text = measure(partial(kgmed.rdf.serialize, g, name), repeats)
        ours["bytes"] = _utf8_size(text)
        if name == "nt" and text.count("\n") != n_triples:
            raise RuntimeError(
                f"kgmed.rdf.serialize wrote {text.count(chr(10)):,} N-Triples lines "
                f"for {n_triples:,} triples"
            )
        text = None
        theirs, text = measure(partial(g.serialize, format=name), repeats)
        ours["rdflib"] = {**theirs, "bytes": _utf8_size(text)}
        text = None
        steps[name] = ours
    del g  # the save steps build their own

    with tempfile.TemporaryDirectory(prefix="kgmed-bench-rdf-") as folder:
        for key, file in (("save_nt", "kg.nt"), ("save_ttl", "kg.ttl")):
            path = Path(folder) / file
            steps[key], _ = measure(partial(kg.save, path), repeats)
            steps[key]["bytes"] = path.stat().st_size
    return n_triples, steps


def _label_literal(label: str) -> str:
    return '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _spread(labels: set[str]) -> list[str]:
    """Up to N_LABELS labels, evenly spaced in sorted order: the same on every machine."""
    ordered = sorted(labels)
    if len(ordered) <= N_LABELS:
        return ordered
    return [ordered[i * len(ordered) // N_LABELS] for i in range(N_LABELS)]


def query_labels(kg: Any) -> dict[str, list[str]]:
    """Diseases with symptoms (neighbour query) and symptoms of treated diseases (two-hop)."""
    symptoms = kg.edges("has_symptom")
    treated = set(kg.edges("treated_with")["source"])
    labels = dict(kg.graph.nodes(data="label"))
    diseases = {str(labels[node]) for node in symptoms["source"]}
    presented = symptoms.loc[symptoms["source"].isin(treated), "target"]
    return {
        "neighbour": _spread(diseases),
        "two_hop": _spread({str(labels[node]) for node in presented}),
    }


def _rows(frame: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in frame.itertuples(index=False))


def sparql_figures(kg: Any, dataset: str, quick: bool) -> Result:
    """Load each engine (timed once), then time both queries; check that the engines agree."""
    import numpy as np

    loads = {}
    for engine in ENGINES:
        loads[engine], answer = measure(partial(kg.sparql, WARM_UP, engine=engine), 1)
        if answer is not True:
            raise RuntimeError(f"{engine}: the warm-up query found no triple")
    runs = sparql_runs(dataset, quick)
    labels = query_labels(kg)
    queries: dict[str, Result] = {}
    for name, template in (("neighbour", NEIGHBOUR), ("two_hop", TWO_HOP)):
        texts = [template.replace("LABEL", _label_literal(label)) for label in labels[name]]
        if not texts:
            raise RuntimeError(f"{dataset}: no label to ask the {name} query about")
        figures: Result = {"labels": labels[name]}
        answers: dict[str, list[list[tuple[Any, ...]]]] = {}
        for engine in ENGINES:
            seconds = []
            first: list[list[tuple[Any, ...]]] = [[] for _ in texts]
            for i in range(runs[engine]):
                text = texts[i % len(texts)]
                start = time.perf_counter()
                frame = kg.sparql(text, engine=engine)
                seconds.append(time.perf_counter() - start)
                if i < len(texts):
                    first[i] = _rows(frame)
            answers[engine] = first
            figures[engine] = {
                "runs": len(seconds),
                "median_ms": 1000 * float(np.median(seconds)),
                "p95_ms": 1000 * float(np.percentile(seconds, 95)),
            }
        for label, ours, theirs in zip(
            labels[name], answers["oxigraph"], answers["rdflib"], strict=True
        ):
            if ours != theirs:
                raise RuntimeError(
                    f"{dataset}, {name} query on {label!r}: oxigraph returned {len(ours)} "
                    f"rows and rdflib {len(theirs)}, or different ones:\n{ours}\n{theirs}"
                )
        row_counts = [len(rows) for rows in answers["oxigraph"]]
        figures["rows"] = [min(row_counts), max(row_counts)]
        queries[name] = figures
    return {"load": loads, "queries": queries}


def worker(dataset: str, n_patients: int, repeats: int, quick: bool) -> Result:
    """Build one graph (untimed), then measure its export and SPARQL."""
    kg, info = make_graph(dataset, n_patients)
    export_repeats = 1 if dataset == "random_model" else repeats
    n_triples, export = export_figures(kg, export_repeats)
    return {
        "case": "rdf",
        **info,
        "n_triples": n_triples,
        "export_repeats": export_repeats,
        "export": export,
        "sparql": sparql_figures(kg, dataset, quick),
    }


# -- the section (standard library only) ---------------------------------------------


def _seconds(value: float) -> str:
    return f"{value:.{3 if value < 1 else 2 if value < 10 else 1}f}"


def _ms(value: float) -> str:
    return f"{value:.{2 if value < 10 else 1 if value < 100 else 0}f}"


def _mib(figures: Result) -> str:
    peak = float(figures["peak_kib"]) / 1024
    used = peak - float(figures["baseline_kib"]) / 1024
    return f"{used:,.0f} ({peak:,.0f})"


def graph_name(result: Result) -> str:
    return f"{result['dataset']} {result['n_patients']:,}"


def graph_description(result: Result) -> str:
    n = result["n_patients"]
    if result["dataset"] == "synthetic":
        how = (
            f'`kgmed.build(kgmed.datasets.synthetic({n}, random_state=0), relations="association")`'
        )
    else:
        how = (
            f"`kgmed.build(synthetic({n}, model=random_model(random_state=1), "
            f"random_state=1))` (default options)"
        )
    prep = result["prep"]
    return (
        f"{graph_name(result)}: {how}: {result['n_concepts']:,} concepts, "
        f"{result['n_edges']:,} edges, **{result['n_triples']:,} triples** "
        f"(records made in {_seconds(prep['records'])} s and graph built in "
        f"{_seconds(prep['build'])} s, untimed)."
    )


EXPORT_HEADER = [
    "graph",
    "step",
    "kgmed s",
    "triples/s",
    "rdflib s",
    "ratio",
    "output MiB (kgmed / rdflib)",
    "kgmed peak MiB",
    "rdflib peak MiB",
]


def export_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for result in results:
        for key, step, rdflib_step in EXPORT_STEPS:
            ours = result["export"][key]
            theirs = ours.get("rdflib")
            median = float(ours["median"])
            size = f"{ours['bytes'] / 2**20:,.1f}" if "bytes" in ours else "-"
            if theirs is not None:
                size += f" / {theirs['bytes'] / 2**20:,.1f}"
            if theirs is not None:
                step = f"{step} vs {rdflib_step}"
            rows.append(
                [
                    graph_name(result),
                    step,
                    _seconds(median),
                    f"{result['n_triples'] / median:,.0f}",
                    "-" if theirs is None else _seconds(float(theirs["median"])),
                    "-" if theirs is None else f"{float(theirs['median']) / median:.2f}",
                    size,
                    _mib(ours),
                    "-" if theirs is None else _mib(theirs),
                ]
            )
    return rows


LOAD_HEADER = [
    "graph",
    "triples",
    "oxigraph load s",
    "oxigraph load peak MiB",
    "rdflib load s",
    "rdflib load peak MiB",
]


def load_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for result in results:
        load = result["sparql"]["load"]
        rows.append(
            [
                graph_name(result),
                f"{result['n_triples']:,}",
                _seconds(float(load["oxigraph"]["median"])),
                _mib(load["oxigraph"]),
                _seconds(float(load["rdflib"]["median"])),
                _mib(load["rdflib"]),
            ]
        )
    return rows


QUERY_HEADER = [
    "graph",
    "query",
    "runs (oxigraph / rdflib)",
    "oxigraph median ms",
    "oxigraph p95 ms",
    "rdflib median ms",
    "rdflib p95 ms",
    "ratio",
    "rows",
]

QUERY_NAMES = {
    "neighbour": "neighbour: symptoms of a disease, with counts",
    "two_hop": "two-hop: treatments of diseases presenting a symptom",
}


def query_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for result in results:
        for key, name in QUERY_NAMES.items():
            figures = result["sparql"]["queries"][key]
            ours, theirs = figures["oxigraph"], figures["rdflib"]
            low, high = figures["rows"]
            rows.append(
                [
                    graph_name(result),
                    f"{name} ({len(figures['labels'])} labels)",
                    f"{ours['runs']} / {theirs['runs']}",
                    _ms(ours["median_ms"]),
                    _ms(ours["p95_ms"]),
                    _ms(theirs["median_ms"]),
                    _ms(theirs["p95_ms"]),
                    f"{theirs['median_ms'] / ours['median_ms']:.1f}",
                    str(low) if low == high else f"{low}-{high}",
                ]
            )
    return rows


def _one_line(query: str) -> str:
    return " ".join(query.split())


def rdf_section(results: list[Result]) -> list[str]:
    """The "RDF export and SPARQL" section of RESULTS.md, as Markdown lines."""
    if not results:
        return []
    repeats = sorted({int(r["export_repeats"]) for r in results})
    large = [r for r in results if r["dataset"] == "random_model"]
    repeat_text = f"median of {repeats[-1]} repeat(s)"
    if large and len(repeats) > 1:
        repeat_text += f", {repeats[0]} on the random-model graph"
    lines = [
        "## RDF export and SPARQL",
        "",
        "Each graph is built once, untimed, in a worker process of its own; every figure "
        "below is measured on that graph, next to plain rdflib doing the same work on the "
        "same triples in the same process.",
        "",
        *[f"- {graph_description(result)}" for result in results],
        "",
        "### Export",
        "",
        f"Seconds of wall time, {repeat_text}; `g` is the rdflib graph `to_rdf` returned. "
        "`ratio` is rdflib seconds / kgmed seconds: above 1, kgmed is faster. "
        "`triples/s` is the graph's triples over kgmed's seconds. "
        "`output MiB` is the size of the text or file written. "
        "Memory in MiB as *used by the step (absolute peak of the process)*, RSS only.",
        "",
        run.markdown_table(EXPORT_HEADER, export_rows(results)),
        "",
        "### SPARQL",
        "",
        f"`kg.sparql(query, engine=...)`. The first query on a graph (`{WARM_UP}`) exports "
        "it and loads the engine's store, which is then kept: it is timed once, as *load* "
        "(memory as above).",
        "",
        run.markdown_table(LOAD_HEADER, load_rows(results)),
        "",
        "Then each query is run many times, rotating over the labels (diseases, or "
        "symptoms, evenly spaced in label order), wall time of the whole call (answer as "
        "a DataFrame included); `ratio` is rdflib's median / oxigraph's. `rows` is the "
        "range of the answers' lengths over the labels. For every label, both engines "
        "returned the same rows (checked; the run stops otherwise).",
        "",
        run.markdown_table(QUERY_HEADER, query_rows(results)),
        "",
        f"- neighbour: `{_one_line(NEIGHBOUR)}`",
        f"- two-hop: `{_one_line(TWO_HOP)}`",
        '- `LABEL` stands for each label as a string literal (`"disease 0001"`).',
    ]
    for result in large:
        runs = result["sparql"]["queries"]["neighbour"]
        if runs["rdflib"]["runs"] < runs["oxigraph"]["runs"]:
            lines.append(
                f"- On {graph_name(result)}, rdflib runs each query "
                f"{runs['rdflib']['runs']} times and oxigraph {runs['oxigraph']['runs']}: "
                "fewer rdflib runs keep the section within a few minutes."
            )
    if any(
        not figures["peak_reset"]
        for r in results
        for figures in [*r["export"].values(), *r["sparql"]["load"].values()]
    ):
        lines.append(
            "- The peak RSS could not be reset on this system: memory figures after the "
            "first of a graph are lower bounds."
        )
    lines.append("")
    return lines


def repeat_lines(results: list[Result]) -> list[str]:
    """Every export repeat, for the end of RESULTS.md."""
    lines = []
    for result in results:
        for key, step, rdflib_step in EXPORT_STEPS:
            ours = result["export"][key]
            times = ", ".join(_seconds(s) for s in ours["seconds"])
            lines.append(
                f"- rdf {step.removesuffix(', end to end')}, {graph_name(result)}: {times} s"
            )
            if "rdflib" in ours:
                times = ", ".join(_seconds(s) for s in ours["rdflib"]["seconds"])
                lines.append(f"- rdf {rdflib_step}, {graph_name(result)}: {times} s")
    return lines
