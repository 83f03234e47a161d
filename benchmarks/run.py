"""Benchmark kgmed against the plain mlxtend pipeline: wall time and peak memory.

From the repository root::

    python benchmarks/run.py                  # 10,000 and 100,000 patients, FIMI retail and mushroom
    python benchmarks/run.py --quick          # smoke run: 2,000 patients and mushroom, one repeat
    python benchmarks/run.py --sizes 10000 100000 --write   # also write benchmarks/RESULTS.md
    python benchmarks/run.py --only rdf       # one section alone: readers, rdf, html, scale, cohorts, quality or realdata
    python benchmarks/run.py --only scale     # 10k to 1M patients, with mlxtend, pyfim, scipy

The readers (``read_synthea`` on the 543-patient export, ``read_fhir`` on
the six FHIR bundles and on a bulk export made by repeating them,
``read_omop`` on the 111-patient export converted to OMOP tables) are timed
the same way, reading a folder into Records; they have no mlxtend side.
The RDF export and SPARQL section (``rdf_cases.py``) runs one worker per
graph, ``python benchmarks/run.py --worker rdf GRAPH N``, timing kgmed.rdf
next to plain rdflib on the same graph. The HTML pages section
(``html_cases.py``) times ``kg.to_html`` and how long headless Chromium takes
to stabilise the page, in one worker (``--worker html random_model N``).
The scale section (``scale_cases.py``) draws records of 10,000 to 1,000,000
patients once and runs each stage of kgmed, and mlxtend, pyfim and scipy on
the same records, in workers ``--worker scale-CASE FOLDER N``. The
knowledge-quality section (``quality.py``) and the real-records section
(``realdata.py``: treatments learned with Synthea's recorded reasons hidden,
scored against them) run in this process, last.

Every (case, data set) pair runs in a fresh interpreter,
``python benchmarks/run.py --worker CASE DATASET N``, which prepares its input
untimed, times the case (``cases.py`` holds exactly what is timed) and prints
its times, peak memory and a fingerprint of the rules it found as one JSON
line. This process only starts the workers, checks that kgmed and mlxtend
found the same rules, and prints the table.

This process imports nothing but the standard library, on purpose: on Linux a
child's ``ru_maxrss`` starts at its parent's peak (the child is forked from
this process before it runs Python), so a heavy parent would hide a light
worker's peak.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

#: What a worker reports: times, memory, rules found, preparation times.
Result = dict[str, Any]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"

DEFAULT_SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000,)
DEFAULT_REPEATS = 3

#: FIMI files, and whether mlxtend gets them as a sparse one-hot frame.
#: retail (88,162 baskets x 16,470 items) as TransactionEncoder's dense frame
#: is 1.4 GB of booleans and several times slower to build; mlxtend's
#: documentation points to a sparse DataFrame for such data, so that is the
#: fair comparison. mushroom (8,124 x 119) is small and dense, as in the
#: synthetic cases.
FIMI_SPARSE = {"retail": True, "mushroom": False}
QUICK_FIMI = ("mushroom",)

#: Reader cases: the shared-data folder each reads (or makes its input from,
#: untimed), and how the table names it.
READERS = {
    "read_synthea": ("synthea_csv_543_partial", "543 patients"),
    "read_synthea_copies": ("synthea_csv_543_partial", "543 patients x 20, new ids"),
    "read_fhir": ("synthea_csv_59_ca/fhir_r4", "6 bundles"),
    "read_fhir_ndjson": ("synthea_csv_59_ca/fhir_r4", "bundles x 20 as NDJSON"),
    "read_omop": ("synthea_csv_111_unmc", "111 patients as OMOP CSV"),
}

VERSIONS = (
    "kgmed",
    "numpy",
    "pandas",
    "scipy",
    "mlxtend",
    "pyfim",
    "networkx",
    "rdflib",
    "pyoxigraph",
)


def shared_data() -> Path:
    """The third-party data folder, found as the tests find it."""
    return Path(os.environ.get("KGMED_SHARED_DATA", ROOT.parent / "shared" / "data"))


def fimi_path(name: str) -> Path:
    return shared_data() / "fimi" / f"{name}.dat"


# -- the worker: one case on one data set, in its own process -------------------


def _peak_kib() -> float:
    """This process's peak resident set size, in KiB (macOS reports bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else float(peak)


def _release_free_memory() -> None:
    """Hand memory that is free but still mapped back to the system (glibc only).

    Preparing the input frees more than a hundred MiB at 100,000 patients,
    which glibc keeps mapped; the timed work would reuse it without its RSS
    growing, and its memory would read as nearly zero.
    """
    with contextlib.suppress(AttributeError, OSError):  # not glibc: nothing to do
        ctypes.CDLL(None).malloc_trim(0)


def _reset_peak() -> bool:
    """Start the peak RSS afresh (Linux 4.0+), so preparing the input does not count.

    Preparing the records can use more memory than the timed work (the
    generator draws dense matrices), and without a reset that would be the
    peak reported. After the reset the peak equals the current RSS.
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def measure(
    call: Callable[[], Any], repeats: int, budget: float = float("inf")
) -> tuple[Result, Any]:
    """Time ``call`` and the peak RSS it adds, as the workers here do.

    Memory freed so far goes back to the system and the peak RSS is reset
    first. The call runs up to ``repeats`` times, but no more once its runs
    add up to ``budget`` seconds; each run frees the previous result first.
    Returns the figures and the last result.
    """
    result = None
    gc.collect()
    _release_free_memory()
    peak_reset = _reset_peak()
    baseline = _peak_kib()
    seconds: list[float] = []
    while len(seconds) < repeats and sum(seconds) < budget:
        result = None
        gc.collect()
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    figures = {
        "seconds": seconds,
        "median": statistics.median(seconds),
        "baseline_kib": baseline,
        "peak_kib": _peak_kib(),
        "peak_reset": peak_reset,
    }
    return figures, result


def worker(case: str, dataset: str, n_patients: int, repeats: int, quick: bool = False) -> Result:
    """Prepare the input (untimed), then time ``case`` and measure its memory."""
    if case.startswith("scale-"):
        import scale_cases

        return scale_cases.worker(case.removeprefix("scale-"), dataset, n_patients, repeats, quick)
    if case == "html":
        import html_cases

        return html_cases.worker(dataset, n_patients, repeats, quick)
    if case == "rdf":
        import rdf_cases

        return rdf_cases.worker(dataset, n_patients, repeats, quick)
    import cases  # heavy imports (kgmed, pandas, mlxtend) only in the worker

    if case in cases.READERS:
        return reader_worker(case, dataset, repeats)
    prep: dict[str, float] = {}
    start = time.perf_counter()
    if dataset == "synthetic":
        records = cases.synthetic_records(n_patients)
    else:
        records = cases.fimi_records(fimi_path(dataset))
    prep["records"] = time.perf_counter() - start

    kwargs: dict[str, object] = {}
    data: object = records
    if case == "mlxtend":
        start = time.perf_counter()
        data = cases.prepare_baskets(records)
        prep["baskets"] = time.perf_counter() - start
        kwargs["sparse"] = FIMI_SPARSE.get(dataset, False)
        # The records stay alive, as in the kgmed workers, so both baselines
        # hold them and neither run can reuse the memory they would free.

    run = cases.CASES[case]
    gc.collect()
    _release_free_memory()
    peak_reset = _reset_peak()
    baseline = _peak_kib()
    seconds = []
    result = None
    for _ in range(repeats):
        # Free the previous result first, so a repeat never holds two.
        result = None
        gc.collect()
        start = time.perf_counter()
        result = run(data, **kwargs)
        seconds.append(time.perf_counter() - start)
    peak = _peak_kib()

    # One more, untimed run under tracemalloc (it slows the work down): the
    # peak of the bytes the work allocated, numpy's and pandas' buffers
    # included, whatever the allocator keeps or reuses. A cross-check on RSS.
    result = None
    gc.collect()
    tracemalloc.start()
    result = run(data, **kwargs)
    traced = tracemalloc.get_traced_memory()[1] / 1024
    tracemalloc.stop()

    rules = getattr(result, "rules", result)  # build returns a KnowledgeGraph
    graph = getattr(result, "graph", None)
    return {
        "case": case,
        "dataset": dataset,
        "min_support": cases.MIN_SUPPORT,
        "min_confidence": cases.MIN_CONFIDENCE,
        "n_patients": int(records.n_patients),
        "n_concepts": int(records.data["concept_id"].nunique()),
        "seconds": seconds,
        "median": statistics.median(seconds),
        "baseline_kib": baseline,
        "peak_kib": peak,
        "peak_reset": peak_reset,
        "traced_kib": traced,
        "n_rules": len(rules),
        "rules_digest": cases.rules_digest(rules),
        "n_edges": None if graph is None else graph.number_of_edges(),
        "prep": prep,
    }


def reader_worker(case: str, dataset: str, repeats: int) -> Result:
    """Time reading an export folder into Records, and measure its memory.

    The folder is the input: the shared-data folder itself, or one the case
    makes from it first, untimed (a bulk export, OMOP tables) in a scratch
    folder removed afterwards. The first repeat may read the files from disk
    and the others from the system's file cache; the median is reported.
    """
    import cases

    with tempfile.TemporaryDirectory(prefix="kgmed-bench-") as scratch:
        return _time_reader(case, dataset, repeats, cases.READERS[case], Path(scratch))


def _time_reader(case: str, dataset: str, repeats: int, reader: Any, scratch: Path) -> Result:
    run = reader.read
    folder = shared_data() / dataset
    prep: dict[str, float] = {}
    if reader.prepare is not None:
        start = time.perf_counter()
        folder = reader.prepare(folder, scratch)
        prep["input"] = time.perf_counter() - start
    gc.collect()
    _release_free_memory()
    peak_reset = _reset_peak()
    baseline = _peak_kib()
    seconds = []
    records = None
    for _ in range(repeats):
        records = None
        gc.collect()
        start = time.perf_counter()
        records = run(folder)
        seconds.append(time.perf_counter() - start)
    peak = _peak_kib()
    records = None
    gc.collect()
    tracemalloc.start()
    records = run(folder)
    traced = tracemalloc.get_traced_memory()[1] / 1024
    tracemalloc.stop()
    report = records.report
    return {
        "case": case,
        "dataset": dataset,
        "n_patients": int(records.n_patients),
        "n_read": int(report.n_read),
        "n_kept": int(report.n_kept),
        "n_concepts": int(report.n_concepts),
        "files": list(report.files),
        "seconds": seconds,
        "median": statistics.median(seconds),
        "baseline_kib": baseline,
        "peak_kib": peak,
        "peak_reset": peak_reset,
        "traced_kib": traced,
        "prep": prep,
    }


READER_HEADER = [
    "case",
    "data",
    "files read",
    "observations read",
    "kept",
    "patients",
    "seconds",
    "peak MiB",
    "input made in (s, untimed)",
]


def _file_names(files: list[str]) -> str:
    """The files a reader read, or how many when they are many (bundles, a bulk export)."""
    return ", ".join(files) if len(files) <= 4 else f"{len(files)} files"


def reader_rows(results: list[Result]) -> list[list[str]]:
    return [
        [
            f"{result['case']} ({READERS[str(result['case'])][1]})",
            str(result["dataset"]),
            _file_names(result["files"]),
            f"{result['n_read']:,}",
            f"{result['n_kept']:,}",
            f"{result['n_patients']:,}",
            _seconds(float(result["median"])),
            _mib(result),
            _seconds(result["prep"]["input"]) if result.get("prep") else "-",
        ]
        for result in results
    ]


#: How long the command takes to start: a fresh interpreter runs each to the end.
COMMAND_START = {
    "python -c pass": ["-c", "pass"],
    "kgmed -V": ["-m", "kgmed", "-V"],
    "kgmed --help": ["-m", "kgmed", "--help"],
    "kgmed build --help": ["-m", "kgmed", "build", "--help"],
}


def command_start(repeats: int) -> dict[str, float]:
    """Median wall time of starting the command, next to a bare interpreter's start."""
    medians = {}
    for label, args in COMMAND_START.items():
        seconds = []
        for _ in range(max(repeats, 5)):
            start = time.perf_counter()
            subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, check=True)
            seconds.append(time.perf_counter() - start)
        medians[label] = statistics.median(seconds)
    return medians


def command_start_lines(medians: dict[str, float]) -> list[str]:
    if not medians:
        return []
    figures = ", ".join(f"`{label}` {seconds:.2f} s" for label, seconds in medians.items())
    return [f"Command start (median wall time of a fresh process, at least 5 runs): {figures}.", ""]


# -- the driver ------------------------------------------------------------------


def run_worker(
    case: str, dataset: str, n_patients: int, repeats: int, quick: bool = False
) -> Result:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", case, dataset]
    command += [str(n_patients), "--repeats", str(repeats)]
    if quick:
        command.append("--quick")
    label = f"{case} on {dataset}" + (f" ({n_patients:,})" if n_patients else "")
    print(f"  {label} ...", end="", file=sys.stderr, flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        print(file=sys.stderr)
        sys.exit(f"worker failed: {shlex.join(command)}\n{done.stderr}")
    print(f" {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_same_rules(kgmed_result: Result, mlxtend_result: Result) -> None:
    """The honest-comparison check: both tools found exactly the same rules."""
    if (kgmed_result["n_rules"], kgmed_result["rules_digest"]) != (
        mlxtend_result["n_rules"],
        mlxtend_result["rules_digest"],
    ):
        sys.exit(
            f"{kgmed_result['dataset']} ({kgmed_result['n_patients']:,}): kgmed.mine_rules "
            f"found {kgmed_result['n_rules']:,} rules and mlxtend {mlxtend_result['n_rules']:,}"
            f" (digests {kgmed_result['rules_digest']} and {mlxtend_result['rules_digest']});"
            f" the timings would not compare the same work"
        )


def _seconds(value: float) -> str:
    return f"{value:.{3 if value < 1 else 2 if value < 10 else 1}f}"


def _mib(result: Result) -> str:
    peak = float(result["peak_kib"]) / 1024
    used = peak - float(result["baseline_kib"]) / 1024
    return f"{used:,.0f} ({peak:,.0f})"


def table_rows(results: list[dict[str, Result]]) -> list[list[str]]:
    rows = []
    for by_case in results:
        theirs = by_case["mlxtend"]
        for case in ("build", "mine_rules"):
            if case not in by_case:
                continue
            ours = by_case[case]
            n_rules = f"{ours['n_rules']:,}"
            if ours["n_rules"] != theirs["n_rules"]:
                n_rules += f" / {theirs['n_rules']:,}"
            rows.append(
                [
                    f"{case} ({ours['dataset']})",
                    f"{ours['n_patients']:,}",
                    _seconds(float(ours["median"])),
                    _seconds(float(theirs["median"])),
                    f"{float(theirs['median']) / float(ours['median']):.1f}",
                    _mib(ours),
                    _mib(theirs),
                    n_rules,
                ]
            )
    return rows


HEADER = [
    "case",
    "n_patients",
    "kgmed s",
    "mlxtend s",
    "ratio",
    "kgmed peak MiB",
    "mlxtend peak MiB",
    "n_rules",
]


TEXT_COLUMNS = frozenset({"case", "data", "step", "files read", "graph", "query"})


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    # Numbers right-aligned, text left, as a reader scans them.
    align = ["---" if name in TEXT_COLUMNS else "---:" for name in header]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def prep_rows(results: list[dict[str, Result]]) -> list[list[str]]:
    rows = []
    for by_case in results:
        ours = by_case.get("build", by_case["mine_rules"])
        theirs = by_case["mlxtend"]
        dataset = str(ours["dataset"])
        if dataset == "synthetic":
            step = f"kgmed.datasets.synthetic({ours['n_patients']}, random_state=0)"
        else:
            step = f"{dataset}.dat -> Records.from_dataframe (one patient per line)"
        n = f"{ours['n_patients']:,}"
        rows.append([dataset, n, step, _seconds(ours["prep"]["records"])])
        rows.append(
            [
                dataset,
                n,
                "Records -> per-patient lists of concept ids (mlxtend's input)",
                _seconds(theirs["prep"]["baskets"]),
            ]
        )
    return rows


MEMORY_HEADER = [
    "case",
    "data",
    "n_patients",
    "RSS after input MiB",
    "RSS peak MiB",
    "RSS used MiB",
    "tracemalloc peak MiB",
]


def memory_rows(results: list[dict[str, Result]]) -> list[list[str]]:
    rows = []
    for by_case in results:
        for result in by_case.values():
            baseline = float(result["baseline_kib"]) / 1024
            peak = float(result["peak_kib"]) / 1024
            rows.append(
                [
                    str(result["case"]),
                    str(result["dataset"]),
                    f"{result['n_patients']:,}",
                    f"{baseline:,.0f}",
                    f"{peak:,.0f}",
                    f"{peak - baseline:,.0f}",
                    f"{float(result['traced_kib']) / 1024:,.1f}",
                ]
            )
    return rows


def machine(load_start: str) -> list[str]:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            names = [
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for name in VERSIONS:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"CPU: {cpu}; {os.cpu_count()} logical CPUs, {usable} usable by this process",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        "Packages: " + ", ".join(versions),
        f"kgmed source: {git_revision()}",
        f"Load average (1, 5, 15 min) at the start: {load_start}; at the end: "
        f"{load_average()}. Other processes running beside the benchmark add noise",
    ]


def load_average() -> str:
    try:
        return ", ".join(f"{load:.2f}" for load in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        )
        status = subprocess.run(
            ["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT
        )
    except OSError:
        return "unknown (git not found)"
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    dirty = " with uncommitted changes" if status.stdout.strip() else ""
    return f"git commit {head.stdout.strip()}{dirty}"


METHOD = """\
- **What is timed.** `kgmed seconds` is one call of `kgmed.build` (the whole
  job: records -> sparse patient x concept matrix -> rules with counts,
  Fisher p-values and Benjamini-Hochberg q-values -> networkx graph, with the
  default privacy floor `min_patients=11`) or of `kgmed.mine_rules` (rules
  only, `min_patients=1` so that it returns the same rules as mlxtend).
  `mlxtend seconds` is the plain pipeline: `TransactionEncoder` -> DataFrame
  -> `fpgrowth(min_support, use_colnames=True, max_len=2)` ->
  `association_rules(itemsets, num_itemsets=n, metric="confidence",
  min_threshold)`; both rows of a data set show the same mlxtend run.
- **What is not timed.** Generating the synthetic records
  (`kgmed.datasets.synthetic(n, random_state=0)`) is part of neither timing.
  For kgmed, `Records` is the input. For mlxtend, the per-patient lists of
  concept ids built from `records.data` are prepared outside the timing, and
  `TransactionEncoder` is inside it. A FIMI file is read into `Records`
  (patient = line number, concept = item id, kind `finding`) outside the
  timing, and mlxtend's lists come from those same records. These untimed
  steps are listed under *Input preparation*.
- **Same rules.** Before a row is reported, the benchmark checks (untimed)
  that `kgmed.mine_rules` and mlxtend found the same number of rules and the
  same (antecedents, consequents) pairs, and stops if not. `n_rules` shows
  one number when the two agree and `kgmed / mlxtend` when they differ, as
  in the `build` rows, where the privacy floor drops rules seen in fewer
  than 11 patients.
- **Wall time**: `time.perf_counter` around the one call; the median of the
  repeats (all of them are under *Every repeat*). `ratio` is mlxtend seconds
  / kgmed seconds: above 1, kgmed is faster.
- **Peak memory**: every case runs in a fresh Python process. After imports
  and input preparation, memory freed so far is handed back to the system
  (glibc's `malloc_trim(0)`), the process's peak RSS is reset
  (`/proc/self/clear_refs`, Linux) and read with
  `resource.getrusage(RUSAGE_SELF).ru_maxrss` as the baseline; after the
  timed repeats it is read again. The table shows that peak minus the
  baseline (memory the work itself needed) and, in brackets, the absolute
  peak of the process (interpreter, libraries and input included).
  *Memory detail* adds, for each case, the peak of the bytes allocated
  during one more, untimed run under `tracemalloc` (numpy and pandas
  buffers included): it does not depend on what the allocator keeps or
  reuses, so it cross-checks the RSS figure."""


def results_markdown(
    args: argparse.Namespace,
    results: list[dict[str, Result]],
    notes: list[str],
    load_start: str,
    readers: list[Result] | None = None,
    quality: list[str] | None = None,
    rdf: list[Result] | None = None,
    html: list[Result] | None = None,
    scale: Result | None = None,
    cohorts: list[Result] | None = None,
    realdata: list[str] | None = None,
    start: dict[str, float] | None = None,
) -> str:
    from cohort_cases import cohort_section
    from html_cases import html_section
    from rdf_cases import rdf_section, repeat_lines
    from scale_cases import repeat_lines as scale_repeat_lines
    from scale_cases import scale_section

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    first = results[0]["mlxtend"]
    command = shlex.join(["python", "benchmarks/run.py", *sys.argv[1:]])
    lines = [
        "# kgmed benchmark results",
        "",
        f"Written by `{command}` on {now}. How to run it and how to read it:",
        "[README.md](README.md).",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in machine(load_start)],
        "",
        "## Results",
        "",
        f"`min_support={first['min_support']}`, `min_confidence={first['min_confidence']}`, "
        f"`max_len=2`; median of "
        f"{args.repeats} repeat(s); seconds of wall time; memory in MiB as "
        f"*used by the work (absolute peak of the process)*.",
        "",
        markdown_table(HEADER, table_rows(results)),
        "",
        *notes,
        "",
        *reader_section(readers or [], start),
        *rdf_section(rdf or []),
        *html_section(html or []),
        *scale_section(scale),
        *(cohort_section(cohorts) if cohorts else []),
        *(quality or []),
        *(realdata or []),
        "## Input preparation (outside every timing above)",
        "",
        markdown_table(["data", "n_patients", "step", "seconds"], prep_rows(results)),
        "",
        "## Memory detail",
        "",
        markdown_table(MEMORY_HEADER, memory_rows(results)),
        "",
        "## Method",
        "",
        METHOD,
        "",
        "## Every repeat",
        "",
    ]
    for by_case in results:
        for result in by_case.values():
            times = ", ".join(_seconds(s) for s in result["seconds"])
            lines.append(
                f"- {result['case']}, {result['dataset']} {result['n_patients']:,}: {times} s"
            )
    for result in readers or []:
        times = ", ".join(_seconds(s) for s in result["seconds"])
        lines.append(f"- {result['case']}, {result['dataset']}: {times} s")
    lines += repeat_lines(rdf or [])
    lines += scale_repeat_lines(scale)
    return "\n".join(lines) + "\n"


#: What reading the Synthea and OMOP folders took before the CSV layer on
#: pyarrow, on this machine: median seconds and MiB used. The first two from
#: RESULTS.md of git commit 878dac3; the large case measured with this
#: harness on the code of git commit 9c7231e. The target: at least 3x
#: faster, no more memory.
READERS_BEFORE = {
    "read_synthea": (0.461, 110),
    "read_synthea_copies": (10.0, 798),
    "read_omop": (0.510, 11),
}


def reader_targets(readers: list[Result]) -> list[str]:
    """The readers' target against the figures before the CSV layer, met or missed."""
    lines = []
    for result in readers:
        before = READERS_BEFORE.get(str(result["case"]))
        if before is None:
            continue
        seconds = float(result["median"])
        mib = (float(result["peak_kib"]) - float(result["baseline_kib"])) / 1024
        speedup = before[0] / seconds
        ok = speedup >= 3 and mib <= before[1]
        verdict = "**met**" if ok else "**missed**"
        lines.append(
            f"- {result['case']}, {result['dataset']}: at least 3x faster than before the CSV "
            f"layer, at the same memory or less: {verdict}, {speedup:.1f}x ({seconds:.3f} s "
            f"against {before[0]:.3f} s; {mib:,.0f} MiB against {before[1]:,.0f})."
        )
    if lines:
        lines.append(
            "  What stands in the way: on exports of a few hundred patients, the files "
            "themselves are read in hundredths of a second (pyarrow); the rest is the "
            "reader's own work on the cells (codes, semantic tags, ingredients, reasons, "
            "dates, the patients' table), much of it fixed cost per table."
        )
    return lines


def reader_section(readers: list[Result], start: dict[str, float] | None = None) -> list[str]:
    """RESULTS.md's table of readers (an export folder read into Records), and the command's start."""
    if not readers:
        return []
    targets = reader_targets(readers)
    return [
        "## Readers",
        "",
        "Reading a folder into `Records` with the default options (every table "
        "or file it holds); the inputs of `read_synthea_copies`, `read_fhir_ndjson` and "
        "`read_omop` are "
        "made from the shared data first, untimed (last column); median of the "
        "repeats, memory as above.",
        "",
        markdown_table(READER_HEADER, reader_rows(readers)),
        "",
        *(["**Targets**", "", *targets, ""] if targets else []),
        *command_start_lines(start or {}),
    ]


def build_notes(results: list[dict[str, Result]], skipped: list[str]) -> list[str]:
    notes = []
    for by_case in results:
        build = by_case.get("build")
        if build is not None:
            notes.append(
                f"- build ({build['dataset']}, {build['n_patients']:,}): the graph has "
                f"{build['n_edges']:,} edges."
            )
        theirs = by_case["mlxtend"]
        if FIMI_SPARSE.get(str(theirs["dataset"])):
            dense = int(theirs["n_patients"]) * int(theirs["n_concepts"]) / 2**20
            notes.append(
                f"- {theirs['dataset']}: mlxtend gets a sparse DataFrame "
                f"(`TransactionEncoder.transform(sparse=True)` -> "
                f"`pd.DataFrame.sparse.from_spmatrix`); the dense one-hot frame "
                f"would be {theirs['n_patients']:,} x {theirs['n_concepts']:,} booleans, "
                f"{dense:,.0f} MiB (README.md says why mlxtend's peak comes near it)."
            )
    if any(not r["peak_reset"] for by_case in results for r in by_case.values()):
        notes.append(
            "- The peak RSS could not be reset on this system, so memory used by the "
            "work is a lower bound (the peak may be that of preparing the input)."
        )
    notes += [f"- {note}" for note in skipped]
    return notes


#: The sections --only can run alone (the rules tables are the rest of the suite).
SECTIONS = ("readers", "rdf", "html", "scale", "cohorts", "quality", "realdata")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time kgmed against the plain mlxtend pipeline on the same records."
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        metavar="N",
        help="numbers of synthetic patients (default: 10000 100000; 2000 with --quick)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        help=f"timed repeats per case; the median is reported (default: {DEFAULT_REPEATS}, 1 with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small smoke run: 2,000 patients and mushroom"
    )
    parser.add_argument("--no-fimi", action="store_true", help="skip the FIMI data sets")
    parser.add_argument(
        "--no-readers",
        action="store_true",
        help="skip the readers (read_synthea, read_fhir, read_omop)",
    )
    parser.add_argument(
        "--no-quality",
        action="store_true",
        help="skip the knowledge-quality section (edge recovery, linking accuracy, speed)",
    )
    parser.add_argument(
        "--no-realdata",
        action="store_true",
        help="skip the real-records section (treatments learned on the Synthea exports "
        "with their recorded reasons hidden, scored against them)",
    )
    parser.add_argument(
        "--no-rdf",
        action="store_true",
        help="skip the RDF export and SPARQL section (kgmed.rdf next to rdflib)",
    )
    parser.add_argument(
        "--no-html",
        action="store_true",
        help="skip the HTML pages section (kg.to_html, and drawing in headless Chromium)",
    )
    parser.add_argument(
        "--no-scale",
        action="store_true",
        help="skip the scale section (every stage at 10k, 100k and 1M patients, "
        "next to mlxtend, pyfim and scipy)",
    )
    parser.add_argument(
        "--no-cohorts",
        action="store_true",
        help="skip the cohorts section (ARI on groups of known truth, find at 100k "
        "patients, risk models next to kg.link)",
    )
    parser.add_argument(
        "--scale-sizes",
        type=int,
        nargs="+",
        metavar="N",
        help="patients of the scale section (default: 10000 100000 1000000; "
        "10000 100000 with --quick)",
    )
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        help="run one section alone and print it (not with --write): "
        "readers, rdf (RDF export and SPARQL), html (HTML pages), scale (10k to 1M "
        "patients, with mlxtend, pyfim and scipy), cohorts, quality or realdata (treatments "
        "learned on real records, scored against their hidden reasons)",
    )
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS.name}")
    parser.add_argument(
        "--worker", nargs=3, metavar=("CASE", "DATASET", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.repeats is None:
        args.repeats = 1 if args.quick else DEFAULT_REPEATS
    if args.repeats < 1 or any(n < 1 for n in [*args.sizes, *(args.scale_sizes or [])]):
        parser.error("--sizes, --scale-sizes and --repeats must be positive")
    if args.only and args.write:
        parser.error(f"--only prints one section; --write writes all of {RESULTS.name}")
    if args.only and getattr(args, f"no_{args.only}"):
        parser.error(f"--only {args.only} and --no-{args.only} leave nothing to run")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        case, dataset, n = args.worker
        print(json.dumps(worker(case, dataset, int(n), args.repeats, quick=args.quick)))
        return

    load_start = load_average()
    wanted = {
        "rules": args.only is None,
        "readers": args.only in (None, "readers") and not args.no_readers,
        "rdf": args.only in (None, "rdf") and not args.no_rdf,
        "html": args.only in (None, "html") and not args.no_html,
        "scale": args.only in (None, "scale") and not args.no_scale,
        "cohorts": args.only in (None, "cohorts") and not args.no_cohorts,
        "quality": args.only in (None, "quality") and not args.no_quality,
        "realdata": args.only in (None, "realdata") and not args.no_realdata,
    }
    datasets = [("synthetic", n) for n in args.sizes] if wanted["rules"] else []
    skipped = []
    if wanted["rules"] and not args.no_fimi:
        for name in QUICK_FIMI if args.quick else FIMI_SPARSE:
            if fimi_path(name).is_file():
                datasets.append((name, 0))
            else:
                skipped.append(
                    f"FIMI {name} skipped: {fimi_path(name)} not found "
                    f"(set KGMED_SHARED_DATA to the shared data folder)"
                )
    reader_cases = []
    if wanted["readers"]:
        for case, (folder, _) in READERS.items():
            if (shared_data() / folder).is_dir():
                reader_cases.append((case, folder))
            else:
                skipped.append(
                    f"{case} skipped: {shared_data() / folder} not found "
                    f"(set KGMED_SHARED_DATA to the shared data folder)"
                )
    for note in skipped:
        print(note, file=sys.stderr)

    results = []
    for dataset, n in datasets:
        names = ["mine_rules", "mlxtend"]
        if dataset == "synthetic":
            # Not on FIMI files: they hold no diseases or symptoms, so their
            # graph would say nothing that mine_rules does not.
            names.insert(0, "build")
        by_case = {case: run_worker(case, dataset, n, args.repeats) for case in names}
        check_same_rules(by_case["mine_rules"], by_case["mlxtend"])
        results.append(by_case)
    readers = [run_worker(case, folder, 0, args.repeats) for case, folder in reader_cases]
    start = command_start(args.repeats) if readers else {}
    rdf: list[Result] = []
    if wanted["rdf"]:
        # Before the quality section, which runs in this process: a worker's
        # peak RSS starts at this process's peak (see the module's docstring).
        from rdf_cases import rdf_graphs, rdf_section

        rdf = [
            run_worker("rdf", graph, n, args.repeats, quick=args.quick)
            for graph, n in rdf_graphs(args.sizes, args.quick)
        ]
    html: list[Result] = []
    if wanted["html"]:
        from html_cases import PATIENTS, QUICK_PATIENTS, html_section

        patients = QUICK_PATIENTS if args.quick else PATIENTS
        html = [run_worker("html", "random_model", patients, args.repeats, quick=args.quick)]
    scale: Result | None = None
    if wanted["scale"]:
        from scale_cases import QUICK_SIZES as SCALE_QUICK
        from scale_cases import SIZES as SCALE_SIZES
        from scale_cases import run_section, scale_section

        scale_sizes = args.scale_sizes or (SCALE_QUICK if args.quick else SCALE_SIZES)
        scale = run_section(scale_sizes, args.repeats, args.quick)
    cohorts: list[Result] = []
    if wanted["cohorts"]:
        from cohort_cases import run_section as run_cohorts

        cohorts = run_cohorts(args.repeats, args.quick)

    notes: list[str] = []
    if results:
        print()
        print(markdown_table(HEADER, table_rows(results)))
        notes = build_notes(results, skipped)
        if notes:
            print()
            print("\n".join(notes))
        print()
        print(markdown_table(["data", "n_patients", "step", "seconds"], prep_rows(results)))
        print()
        print(markdown_table(MEMORY_HEADER, memory_rows(results)))
    if readers:
        print()
        print(markdown_table(READER_HEADER, reader_rows(readers)))
        print()
        print("\n".join(command_start_lines(start)))
    if rdf:
        print()
        print("\n".join(rdf_section(rdf)))
    if html:
        print()
        print("\n".join(html_section(html)))
    if scale:
        print()
        print("\n".join(scale_section(scale)))
    if cohorts:
        from cohort_cases import cohort_section

        print()
        print("\n".join(cohort_section(cohorts)))
    quality: list[str] = []
    if wanted["quality"]:
        from quality import quality_section

        quality = quality_section(quick=args.quick)
        print()
        print("\n".join(quality))
    realdata: list[str] = []
    if wanted["realdata"]:
        from realdata import realdata_section
        from realdata import run_section as run_realdata

        realdata = realdata_section(run_realdata())
        print()
        print("\n".join(realdata))
    if args.write:
        RESULTS.write_text(
            results_markdown(
                args,
                results,
                notes,
                load_start,
                readers,
                quality,
                rdf,
                html,
                scale,
                cohorts,
                realdata,
                start,
            )
        )
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
