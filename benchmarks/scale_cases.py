"""What the "scale" section measures: every stage of kgmed at 10,000 to 1,000,000 patients.

On the same records, and in the same run, it also times the reference tools
a user would reach for: mlxtend (``TransactionEncoder`` -> ``fpgrowth`` or
``apriori`` -> ``association_rules``), pyfim (Christian Borgelt's C
FP-Growth and Apriori, when ``pip install pyfim`` worked) and scipy's sparse
product ``X.T @ X``. Run it alone with::

    python benchmarks/run.py --only scale            # 10,000, 100,000 and 1,000,000 patients
    python benchmarks/run.py --only scale --quick    # 10,000 and 100,000 patients

The records are drawn once, untimed, by a worker
(``python benchmarks/run.py --worker scale-prep FOLDER N``) into a temporary
folder as integer arrays; every other worker
(``--worker scale-CASE FOLDER N``) makes its input from them, untimed, then
times its stages one after the other. Each worker is a fresh interpreter;
within a worker, memory freed so far is handed back to the system and the
peak RSS reset before each stage, as in ``run.py``'s workers. The workers:

- ``read``: writes the long CSV (``patient_id,concept,kind``), untimed, and
  times ``kgmed.read_records(csv)``;
- ``matrix``: ``Records.from_dataframe(long)``, ``kgmed.transactions``,
  ``kgmed.mining.pair_counts``, scipy's ``X.T @ X`` on the int32 CSR matrix
  and ``kgmed.mine_rules(t, min_patients=1)``;
- ``build``: ``kgmed.build(long)`` with the default options, then, on that
  graph, the query, link, export and HTML stages;
- ``build_association``: ``kgmed.build(long, relations="association")``;
- ``mlxtend`` and ``apriori``: mlxtend's pipeline from per-patient lists;
- ``lists``: grouping the records into per-patient lists, then pyfim's
  ``fpgrowth`` and ``apriori`` on them.

The workers that mine rules write them, as (antecedent, consequent, counts)
lines, to the folder; this process compares them afterwards (untimed).

This module imports only the standard library at the top, so that ``run.py``
can start the workers and format the section without loading kgmed.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import run  # the suite's memory helpers and table (standard library only)

Result = dict[str, Any]

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)

#: ``random_model(n_diseases, n_symptoms, n_treatments)``: 2,100 concepts, and
#: about 16 per patient (the default 200/1,500/500 gives about 24).
MODEL = (100, 1_500, 500)
MODEL_SEED = 1
#: Patients are drawn CHUNK at a time, chunk k with ``random_state=[DATA_SEED, k]``,
#: so that every size is the first n patients of one stream, and memory stays
#: small (the generator draws dense patients x concepts arrays).
CHUNK = 10_000
DATA_SEED = 0
DATA_FILE = "records.npz"

#: The same thresholds for every tool: kgmed's defaults.
MIN_SUPPORT = 0.001
MIN_CONFIDENCE = 0.05

#: Largest sizes the mlxtend pipelines run at (apriori's memory grows fastest).
MLXTEND_MAX = 100_000
APRIORI_MAX = 10_000
#: A worker whose resident memory passes this is killed (the apriori worker).
GUARD_GIB = 12.0

#: A stage is repeated (up to --repeats) only while its runs add up to less.
STAGE_BUDGET = 10.0
#: Patients linked by the link stage, after an untimed warm-up on the first LINK_WARM_UP.
LINK_PATIENTS = 10_000
LINK_WARM_UP = 1_000

#: The 1M targets' thresholds: peak memory of the build, and "seconds, not minutes".
BUILD_PEAK_MIB = 4 * 1024
READ_SECONDS = 60.0
#: Issue 19's 1M targets: a long DataFrame to a graph (seconds, and MiB used
#: above the input), and a CSV file to a graph (seconds).
FRAME_TO_GRAPH_SECONDS = 10.0
FRAME_TO_GRAPH_MIB = 2 * 1024
CSV_TO_GRAPH_SECONDS = 20.0


# -- input (untimed) ----------------------------------------------------------------


_MODEL_CACHE: list[Any] = []


def _model() -> Any:
    if not _MODEL_CACHE:
        from kgmed.datasets import random_model

        _MODEL_CACHE.append(random_model(*MODEL, random_state=MODEL_SEED))
    return _MODEL_CACHE[0]


def _draw_chunk(k: int) -> tuple[Any, Any]:
    """Chunk ``k`` of the stream: patient numbers (from 0) and concept positions in the model."""
    import numpy as np
    import pandas as pd

    from kgmed.datasets import synthetic

    model = _model()
    frame = synthetic(CHUNK, model=model, random_state=[DATA_SEED, k], as_frame=True)
    # Ids are zero-padded and every patient appears, so sorted codes are the patients in order.
    local, _ = pd.factorize(frame["patient_id"], sort=True)
    position = pd.Index(model.concepts["label"].astype(str))
    concept = position.get_indexer(frame["concept"].astype(str))
    return (local + k * CHUNK).astype(np.int32), concept.astype(np.int16)


def prepare(folder: Path, n_max: int) -> Result:
    """Draw the stream of ``n_max`` patients once and keep it as integer arrays."""
    import multiprocessing

    import numpy as np

    start = time.perf_counter()
    chunks = list(range(-(-n_max // CHUNK)))
    processes = min(2, os.cpu_count() or 1, len(chunks))
    if processes > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            parts = pool.map(_draw_chunk, chunks, chunksize=1)
    else:
        processes = 1
        parts = [_draw_chunk(k) for k in chunks]
    patient = np.concatenate([p for p, _ in parts])
    concept = np.concatenate([c for _, c in parts])
    keep = patient < n_max
    concepts = _model().concepts
    np.savez(
        folder / DATA_FILE,
        patient=patient[keep],
        concept=concept[keep],
        labels=concepts["label"].astype(str).to_numpy(dtype=str),
        kinds=concepts["kind"].astype(str).to_numpy(dtype=str),
    )
    return {
        "case": "prep",
        "n_patients": n_max,
        "seconds": time.perf_counter() - start,
        "processes": processes,
        "n_model_concepts": len(concepts),
    }


def _arrays(folder: Path, n: int) -> tuple[Any, Any, Any, Any]:
    """The first ``n`` patients' rows: patient numbers, concept positions, labels, kinds."""
    import numpy as np

    with np.load(folder / DATA_FILE) as data:
        patient, concept = data["patient"], data["concept"]
        labels, kinds = data["labels"].astype(object), data["kinds"].astype(object)
    end = int(np.searchsorted(patient, n))
    return patient[:end], concept[:end], labels, kinds


def _patient_ids(n: int, suffix: str = "") -> Any:
    import numpy as np

    width = len(str(n))
    return np.array([f"P{i:0{width}d}{suffix}" for i in range(1, n + 1)], dtype=object)


def long_frame(folder: Path, n: int) -> tuple[Any, Any]:
    """The long table a user has (``patient_id``, ``concept``, ``kind``), and its patients.

    Strings as pandas reads them from a CSV (``str`` dtype). The second value
    is the patient number of each row, sorted, to take the first k patients.
    """
    import pandas as pd

    patient, concept, labels, kinds = _arrays(folder, n)
    frame = pd.DataFrame(
        {
            "patient_id": pd.Series(_patient_ids(n)[patient], dtype="str"),
            "concept": pd.Series(labels[concept], dtype="str"),
            "kind": pd.Series(kinds[concept], dtype="str"),
        }
    )
    return frame, patient


def write_csv(folder: Path, n: int, path: Path) -> int:
    """The same rows as a long CSV file (untimed); returns its size in bytes."""
    patient, concept, labels, kinds = _arrays(folder, n)
    heads = _patient_ids(n, ",")
    tails = (labels + ",") + (kinds + "\n")
    step = 1_000_000
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("patient_id,concept,kind\n")
        for start in range(0, len(patient), step):
            part = slice(start, start + step)
            handle.write("".join(heads[patient[part]] + tails[concept[part]]))
    return path.stat().st_size


def baskets(frame: Any) -> list[list[str]]:
    """Per-patient lists of concept labels, the input of mlxtend and pyfim.

    One pass over the two columns into a dict of lists, two to three times
    faster than ``groupby("patient_id")["concept"].agg(list)`` on pandas 3's
    string columns (which took 30 to 50 s at 1,000,000 patients on a 2-core
    machine).
    """
    lists: dict[str, list[str]] = {}
    for patient, concept in zip(
        frame["patient_id"].tolist(), frame["concept"].tolist(), strict=True
    ):
        lists.setdefault(patient, []).append(concept)
    return list(lists.values())


def support_count(n: int) -> int:
    """The smallest count c with c / n >= MIN_SUPPORT, as kgmed and mlxtend test it."""
    count = max(int(MIN_SUPPORT * n) - 1, 1)
    while count / n < MIN_SUPPORT:
        count += 1
    return count


# -- measuring a stage ----------------------------------------------------------------


def measure(
    call: Callable[[], Any], repeats: int, budget: float = STAGE_BUDGET
) -> tuple[Result, Any]:
    """Time ``call`` up to ``repeats`` times within ``budget`` seconds (see ``run.measure``)."""
    return run.measure(call, repeats, budget)


def measure_calls(call: Callable[[Any], Any], arguments: list[Any]) -> Result:
    """Latency of ``call(a)`` for each argument, after one untimed warm-up call."""
    call(arguments[0])
    gc.collect()
    run._release_free_memory()
    peak_reset = run._reset_peak()
    baseline = run._peak_kib()
    seconds = []
    for argument in arguments:
        start = time.perf_counter()
        call(argument)
        seconds.append(time.perf_counter() - start)
    ordered = sorted(seconds)
    return {
        "seconds": seconds,
        "median": statistics.median(seconds),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "calls": len(seconds),
        "baseline_kib": baseline,
        "peak_kib": run._peak_kib(),
        "peak_reset": peak_reset,
    }


def write_rules(path: Path, rules: Iterable[tuple[str, str, int, int]]) -> int:
    """Rules as ``antecedent<TAB>consequent<TAB>n_both<TAB>n_antecedent`` lines; how many."""
    lines = sorted(f"{a}\t{c}\t{both}\t{ante}\n" for a, c, both, ante in rules)
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines)


# -- the workers ------------------------------------------------------------------------


def worker(case: str, dataset: str, n: int, repeats: int, quick: bool) -> Result:
    """One scale worker; ``dataset`` is the section's data folder."""
    folder = Path(dataset)
    if case == "prep":
        return prepare(folder, n)
    workers: dict[str, Callable[[Path, int, int], Result]] = {
        "read": read_worker,
        "matrix": matrix_worker,
        "build": partial(build_worker, relations="direct"),
        "build_association": partial(build_worker, relations="association"),
        "mlxtend": partial(mlxtend_worker, algorithm="fpgrowth"),
        "apriori": partial(mlxtend_worker, algorithm="apriori"),
        "lists": lists_worker,
    }
    result = workers[case](folder, n, repeats)
    return {"case": case, "n_patients": n, **result}


def read_worker(folder: Path, n: int, repeats: int) -> Result:
    import kgmed

    scratch = Path(tempfile.mkdtemp(prefix="csv-", dir=folder))
    try:
        start = time.perf_counter()
        path = scratch / "records.csv"
        size = write_csv(folder, n, path)
        prep = {"csv": time.perf_counter() - start}
        figures, records = measure(partial(kgmed.read_records, path), repeats)
        report = records.report
        return {
            "stages": {"read": figures},
            "prep": prep,
            "csv_bytes": size,
            "n_read": int(report.n_read),
            "n_kept": int(report.n_kept),
            "n_concepts": int(report.n_concepts),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def matrix_worker(folder: Path, n: int, repeats: int) -> Result:
    import numpy as np

    import kgmed
    from kgmed.mining import pair_counts

    start = time.perf_counter()
    frame, _ = long_frame(folder, n)
    prep = {"long frame": time.perf_counter() - start}
    stages: dict[str, Result] = {}
    stages["records"], records = measure(partial(kgmed.Records.from_dataframe, frame), repeats)
    stages["transactions"], t = measure(partial(kgmed.transactions, records), repeats)
    stages["pairs"], pairs = measure(
        partial(pair_counts, t, min_support=MIN_SUPPORT, min_patients=1), repeats
    )
    n_pairs = len(pairs)
    pairs = None
    x = t.matrix.astype(np.int32)  # scipy's input: the same matrix as int32 CSR (untimed)
    stages["scipy"] = measure(partial(_gram, x), repeats)[0]  # the product is dropped at once
    x = None
    stages["mining"], rules = measure(
        partial(
            kgmed.mine_rules,
            t,
            min_support=MIN_SUPPORT,
            min_confidence=MIN_CONFIDENCE,
            min_patients=1,
        ),
        repeats,
    )
    concepts = records.concepts()
    label = dict(zip(concepts["concept_id"], concepts["label"], strict=True))
    write_rules(
        folder / f"rules-kgmed-{n}.tsv",
        (
            (label[next(iter(a))], label[next(iter(c))], int(both), int(ante))
            for a, c, both, ante in zip(
                rules["antecedents"],
                rules["consequents"],
                rules["n_both"],
                rules["n_antecedent"],
                strict=True,
            )
        ),
    )
    return {
        "stages": stages,
        "prep": prep,
        "n_rows": len(records),
        "n_records_patients": int(records.n_patients),
        "n_concepts": int(records.report.n_concepts),
        "n_pairs": n_pairs,
        "n_rules": len(rules),
    }


def _gram(x: Any) -> Any:
    """scipy's co-occurrence counts: ``X.T @ X`` of the basket x concept matrix."""
    return x.T @ x


def build_worker(folder: Path, n: int, repeats: int, *, relations: str) -> Result:
    import numpy as np

    import kgmed

    start = time.perf_counter()
    frame, patient = long_frame(folder, n)
    prep = {"long frame": time.perf_counter() - start}
    options = {} if relations == "direct" else {"relations": relations}
    stages: dict[str, Result] = {}
    stages["build"], kg = measure(partial(kgmed.build, frame, **options), repeats)
    result: Result = {
        "stages": stages,
        "prep": prep,
        "n_graph_concepts": len(kg),
        "n_edges": kg.graph.number_of_edges(),
    }
    if relations != "direct":
        return result

    # The graph's questions, on the graph just built.
    diseases = kg.nodes(kind="disease")["label"].tolist()
    stages["symptoms_of"] = measure_calls(kg.symptoms_of, diseases)
    stages["neighbors"] = measure_calls(kg.neighbors, diseases)

    start = time.perf_counter()
    sample = kgmed.Records.from_dataframe(
        frame.iloc[: int(np.searchsorted(patient, min(n, LINK_PATIENTS)))]
    )
    # The first call builds and caches the linking model: untimed, as in quality.py.
    warm_up = frame.iloc[: int(np.searchsorted(patient, min(n, LINK_WARM_UP)))]
    kg.link_many(kgmed.Records.from_dataframe(warm_up))
    prep["link sample"] = time.perf_counter() - start
    stages["link"], ranked = measure(partial(kg.link_many, sample), repeats)
    stages["link"]["patients"] = int(sample.n_patients)
    stages["link"]["linked"] = int(ranked["patient_id"].nunique())
    ranked = None

    with tempfile.TemporaryDirectory(prefix="graph-", dir=folder) as name:
        for stage, file, method in (("export", "kg.ttl", kg.save), ("html", "kg.html", kg.to_html)):
            path = Path(name) / file
            stages[stage], _ = measure(partial(method, path), repeats)
            stages[stage]["bytes"] = path.stat().st_size
    result["n_diseases"] = len(diseases)
    return result


def mlxtend_worker(folder: Path, n: int, repeats: int, *, algorithm: str) -> Result:
    import numpy as np
    import pandas as pd
    from mlxtend.frequent_patterns import apriori, association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    start = time.perf_counter()
    frame, _ = long_frame(folder, n)
    lists = baskets(frame)
    prep = {"long frame and lists": time.perf_counter() - start}
    miner = fpgrowth if algorithm == "fpgrowth" else apriori

    def pipeline() -> pd.DataFrame:
        encoder = TransactionEncoder().fit(lists)
        onehot = pd.DataFrame.sparse.from_spmatrix(  # type: ignore[attr-defined]
            encoder.transform(lists, sparse=True), columns=encoder.columns_
        )
        itemsets = miner(onehot, min_support=MIN_SUPPORT, use_colnames=True, max_len=2)
        return association_rules(
            itemsets, num_itemsets=len(lists), metric="confidence", min_threshold=MIN_CONFIDENCE
        )

    figures, rules = measure(pipeline, repeats)
    total = len(lists)
    write_rules(
        folder / f"rules-mlxtend {algorithm}-{n}.tsv",
        (
            (next(iter(a)), next(iter(c)), int(both), int(ante))
            for a, c, both, ante in zip(
                rules["antecedents"],
                rules["consequents"],
                np.rint(rules["support"].to_numpy() * total),
                np.rint(rules["antecedent support"].to_numpy() * total),
                strict=True,
            )
        ),
    )
    return {"stages": {"pipeline": figures}, "prep": prep, "n_rules": len(rules)}


def lists_worker(folder: Path, n: int, repeats: int) -> Result:
    """Grouping the records into lists, then pyfim's miners on them (when pyfim is installed)."""
    start = time.perf_counter()
    frame, _ = long_frame(folder, n)
    prep = {"long frame": time.perf_counter() - start}
    stages: dict[str, Result] = {}
    stages["lists"], lists = measure(partial(baskets, frame), repeats)
    try:
        import fim
    except ImportError:
        return {"stages": stages, "prep": prep, "pyfim": None}
    counts: dict[str, int] = {}
    for name in ("fpgrowth", "apriori"):
        miner = getattr(fim, name)
        # target "r": rules; zmin=zmax=2: pairs; supp < 0: an absolute count; conf in percent;
        # mode "o": a rule's support is that of body and head together (mlxtend's and kgmed's),
        # not of the body alone, pyfim's default.
        call = partial(
            miner,
            lists,
            target="r",
            supp=-support_count(n),
            conf=100 * MIN_CONFIDENCE,
            zmin=2,
            zmax=2,
            report="ab",
            mode="o",
        )
        stages[name], rules = measure(call, repeats)
        counts[name] = write_rules(
            folder / f"rules-pyfim {name}-{n}.tsv",
            ((body[0], head, int(both), int(ante)) for head, body, both, ante in rules),
        )
        rules = None
    return {
        "stages": stages,
        "prep": prep,
        "pyfim": _version("pyfim"),
        "n_rules": counts,
    }


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


# -- the driver (standard library only) ---------------------------------------------------


def _rss_kib(pid: int) -> float:
    """A process's resident memory in KiB (Linux; 0 where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def launch(
    case: str, folder: Path, n: int, repeats: int, quick: bool, guard_gib: float | None = None
) -> Result:
    """Start one worker, wait for its JSON line; kill it if its RSS passes ``guard_gib``."""
    command = [sys.executable, str(Path(run.__file__).resolve()), "--worker", f"scale-{case}"]
    command += [str(folder), str(n), "--repeats", str(repeats)]
    if quick:
        command.append("--quick")
    print(f"  scale {case} ({n:,}) ...", end="", file=sys.stderr, flush=True)
    start = time.perf_counter()
    limit = None if guard_gib is None else guard_gib * 2**20
    highest = 0.0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=run.ROOT)
        while proc.poll() is None:
            if limit is not None:
                highest = max(highest, _rss_kib(proc.pid))
                if highest > limit:
                    proc.kill()  # the worker this function started
                    proc.wait()
                    seconds = time.perf_counter() - start
                    print(f" killed at {highest / 2**20:.1f} GiB", file=sys.stderr)
                    return {
                        "case": case,
                        "n_patients": n,
                        "killed_gib": highest / 2**20,
                        "killed_after": seconds,
                    }
            time.sleep(0.1)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if proc.returncode != 0:
        print(file=sys.stderr)
        sys.exit(f"worker failed: {' '.join(command)}\n{stderr}")
    print(f" {time.perf_counter() - start:.1f} s", file=sys.stderr)
    result: Result = json.loads(stdout.strip().splitlines()[-1])
    return result


def cases_for(n: int) -> list[str]:
    """The workers run at ``n`` patients: mlxtend only up to MLXTEND_MAX, apriori APRIORI_MAX."""
    cases = ["read", "matrix", "build", "build_association", "lists"]
    if n <= MLXTEND_MAX:
        cases.append("mlxtend")
    if n <= APRIORI_MAX:
        cases.append("apriori")
    return cases


def run_section(sizes: Iterable[int], repeats: int, quick: bool) -> Result:
    """Draw the records, run every worker at every size, and compare the rules found."""
    sizes = sorted(set(sizes))
    load_start = run.load_average()
    with tempfile.TemporaryDirectory(prefix="kgmed-bench-scale-") as name:
        folder = Path(name)
        prep = launch("prep", folder, sizes[-1], 1, quick)
        by_size = []
        for n in sizes:
            results = {
                case: launch(
                    case, folder, n, repeats, quick, GUARD_GIB if case == "apriori" else None
                )
                for case in cases_for(n)
            }
            by_size.append({"n": n, "results": results, "rules": compare_rules(folder, n)})
    return {
        "prep": prep,
        "sizes": by_size,
        "repeats": repeats,
        "quick": quick,
        "load": [load_start, run.load_average()],
    }


def _read_rules(path: Path) -> dict[tuple[str, str], tuple[int, int]]:
    rules = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            a, c, both, ante = line.rstrip("\n").split("\t")
            rules[(a, c)] = (int(both), int(ante))
    return rules


def compare_rules(folder: Path, n: int) -> Result:
    """How the tools' rules at ``n`` differ from kgmed's, and whether on a threshold."""
    ours_path = folder / f"rules-kgmed-{n}.tsv"
    if not ours_path.is_file():
        return {}
    ours = _read_rules(ours_path)
    confidence = Fraction(str(MIN_CONFIDENCE))
    support = Fraction(str(MIN_SUPPORT))
    tools = {}
    for path in sorted(folder.glob(f"rules-*-{n}.tsv")):
        tool = path.name[len("rules-") : -len(f"-{n}.tsv")]
        if tool == "kgmed":
            continue
        theirs = _read_rules(path)
        only_ours = ours.keys() - theirs.keys()
        only_theirs = theirs.keys() - ours.keys()
        differing = [ours[k] for k in only_ours] + [theirs[k] for k in only_theirs]
        tools[tool] = {
            "n": len(theirs),
            "only_kgmed": len(only_ours),
            "only_tool": len(only_theirs),
            "at_confidence": sum(Fraction(both, ante) == confidence for both, ante in differing),
            "at_support": sum(Fraction(both, n) == support for both, _ in differing),
        }
    return {"kgmed": len(ours), "tools": tools}


# -- the section (standard library only) -------------------------------------------------


def short(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def _s(value: float) -> str:
    return f"{value:.{3 if value < 1 else 2 if value < 10 else 1}f}"


#: Rows of the table: (label, worker, stage); stage "a+b" is two stages of one worker in a row.
ROWS: tuple[tuple[str, str, str], ...] = (
    ("kgmed read: CSV -> Records (`kgmed.read_records`)", "read", "read"),
    ("kgmed records: long DataFrame -> Records (`Records.from_dataframe`)", "matrix", "records"),
    ("kgmed transactions: `kgmed.transactions(records)`", "matrix", "transactions"),
    ("kgmed pair counting: `kgmed.mining.pair_counts(t, min_support)`", "matrix", "pairs"),
    ("kgmed mining: `kgmed.mine_rules(t, min_patients=1)`", "matrix", "mining"),
    ("**kgmed build**: `kgmed.build(long)`, default options", "build", "build"),
    ('kgmed build, `relations="association"`', "build_association", "build"),
    ("kgmed query: `kg.symptoms_of(disease)`, per call", "build", "symptoms_of"),
    ("kgmed query: `kg.neighbors(disease)`, per call", "build", "neighbors"),
    ("kgmed link: `kg.link_many(records)`", "build", "link"),
    ('kgmed export: `kg.save("kg.ttl")`', "build", "export"),
    ("kgmed HTML: `kg.to_html(path)`", "build", "html"),
    ("records -> per-patient lists (input of mlxtend and pyfim)", "lists", "lists"),
    (
        "mlxtend: TransactionEncoder (sparse) -> fpgrowth -> association_rules",
        "mlxtend",
        "pipeline",
    ),
    ("mlxtend: TransactionEncoder (sparse) -> apriori -> association_rules", "apriori", "pipeline"),
    ("pyfim: `fpgrowth` on the lists", "lists", "fpgrowth"),
    ("pyfim route: lists + `fpgrowth`", "lists", "lists+fpgrowth"),
    ("pyfim: `apriori` on the lists", "lists", "apriori"),
    ("pyfim route: lists + `apriori`", "lists", "lists+apriori"),
    ("scipy: `X.T @ X` on the int32 CSR matrix", "matrix", "scipy"),
)


def figures(size: Result, worker: str, stage: str) -> Result | None:
    """A stage's figures at one size; a route (``a+b``) adds seconds and takes the joint peak."""
    result = size["results"].get(worker)
    if result is None or "stages" not in result:
        return None
    stages = result["stages"]
    if "+" not in stage:
        return stages.get(stage)
    first, second = (stages.get(s) for s in stage.split("+"))
    if first is None or second is None:
        return None
    # The second stage ran holding the first one's lists, so its peak is the route's.
    return {
        "median": first["median"] + second["median"],
        "seconds": [],
        "baseline_kib": first["baseline_kib"],
        "peak_kib": max(first["peak_kib"], second["peak_kib"]),
        "peak_reset": first["peak_reset"] and second["peak_reset"],
    }


def _build(size: Result) -> Result | None:
    return figures(size, "build", "build")


def _used_mib(f: Result) -> float:
    return (float(f["peak_kib"]) - float(f["baseline_kib"])) / 1024


def _abs_mib(f: Result) -> float:
    return float(f["peak_kib"]) / 1024


def _fit(points: list[tuple[int, float]], n: int) -> float | None:
    """A power law through the two largest measured sizes, at ``n``; linear from one."""
    import math

    points = sorted(p for p in points if p[1] > 0)
    if not points:
        return None
    if len(points) == 1:
        (m, y), exponent = points[0], 1.0
    else:
        (m0, y0), (m, y) = points[-2], points[-1]
        exponent = math.log(y / y0) / math.log(m / m0)
    return y * (n / m) ** exponent


def estimate(sections: list[Result], worker: str, n: int) -> tuple[float, float] | None:
    """Estimated seconds and used MiB of a worker's pipeline at ``n`` from the sizes it ran."""
    measured = [(s["n"], f) for s in sections if (f := figures(s, worker, "pipeline")) is not None]
    seconds = _fit([(m, float(f["median"])) for m, f in measured], n)
    memory = _fit([(m, _used_mib(f)) for m, f in measured], n)
    if seconds is None or memory is None:
        return None
    return seconds, memory


def cells(sections: list[Result], size: Result, worker: str, stage: str) -> list[str]:
    n = size["n"]
    result = size["results"].get(worker)
    build = _build(size)
    if result is not None and "killed_gib" in result:
        ratio = f"> {result['killed_after'] / float(build['median']):.2f}" if build else "-"
        return [
            f"killed at {result['killed_gib']:.1f} GiB RSS",
            f"> {1024 * result['killed_gib']:,.0f}",
            ratio,
        ]
    if result is None:
        if worker in ("mlxtend", "apriori"):
            limit = MLXTEND_MAX if worker == "mlxtend" else APRIORI_MAX
            guess = estimate(sections, worker, n) if worker == "mlxtend" else None
            if guess is None:
                return [f"not run (> {limit:,})", "-", "-"]
            ratio = f"est. {guess[0] / build['median']:.1f}" if build else "-"
            return [f"not run (est. {_s(guess[0])})", f"est. {guess[1]:,.0f}", ratio]
        return ["-", "-", "-"]
    if stage in ("fpgrowth", "apriori", "lists+fpgrowth", "lists+apriori") and not result.get(
        "pyfim"
    ):
        return ["pyfim not installed", "-", "-"]
    f = figures(size, worker, stage)
    if f is None:
        return ["-", "-", "-"]
    if stage in ("symptoms_of", "neighbors"):
        return [f"{1000 * f['median']:.1f} ms", run._mib(f), "-"]
    seconds = _s(float(f["median"]))
    if stage == "link":
        seconds += f" ({f['patients'] / f['median']:,.0f} patients/s)"
    ratio = f"{float(f['median']) / float(build['median']):.2f}" if build else "-"
    return [seconds, run._mib(f), ratio]


def table(result: Result) -> str:
    sections = result["sizes"]
    header = ["step"]
    for size in sections:
        k = short(size["n"])
        header += [f"{k} s", f"{k} peak MiB", f"{k} ratio"]
    rows = []
    for label, worker, stage in ROWS:
        row = [label]
        for size in sections:
            row += cells(sections, size, worker, stage)
        rows.append(row)
    return run.markdown_table(header, rows)


def _data_rows(result: Result) -> list[list[str]]:
    rows = []
    for size in result["sizes"]:
        matrix = size["results"].get("matrix", {})
        read = size["results"].get("read", {})
        build = size["results"].get("build", {})
        n_rows = matrix.get("n_rows", 0)
        rows.append(
            [
                f"{size['n']:,}",
                f"{n_rows:,}",
                f"{n_rows / size['n']:.1f}",
                f"{matrix.get('n_concepts', 0):,}",
                f"{build.get('n_graph_concepts', 0):,} / {build.get('n_edges', 0):,}",
                f"{read.get('csv_bytes', 0) / 2**20:,.0f}",
            ]
        )
    return rows


def rule_notes(result: Result) -> list[str]:
    notes = []
    for size in result["sizes"]:
        compared = size["rules"]
        if not compared:
            continue
        parts = []
        for tool, c in compared["tools"].items():
            if c["only_kgmed"] == c["only_tool"] == 0:
                parts.append(f"{tool} the same {c['n']:,}")
                continue
            why = []
            if c["at_confidence"]:
                why.append(f"{c['at_confidence']:,} with confidence exactly {MIN_CONFIDENCE}")
            if c["at_support"]:
                why.append(f"{c['at_support']:,} with support exactly {MIN_SUPPORT}")
            other = c["only_kgmed"] + c["only_tool"] - c["at_confidence"] - c["at_support"]
            if other > 0:
                why.append(f"{other:,} not on a threshold")
            parts.append(
                f"{tool} {c['n']:,} ({c['only_tool']:,} that kgmed has not, "
                f"{c['only_kgmed']:,} that it lacks: {', '.join(why)})"
            )
        notes.append(
            f"- {size['n']:,} patients: kgmed.mine_rules found {compared['kgmed']:,} rules; "
            + "; ".join(parts)
            + "."
        )
    return notes


def killed_notes(result: Result) -> list[str]:
    notes = []
    for size in result["sizes"]:
        for case, r in size["results"].items():
            if "killed_gib" in r:
                notes.append(
                    f"- mlxtend {case} at {size['n']:,} patients: killed by the memory guard at "
                    f"{r['killed_gib']:.1f} GiB of RSS, {_s(r['killed_after'])} s after it "
                    f"started (input included). mlxtend's apriori (`low_memory=False`, its "
                    f"default) tests every candidate pair of frequent concepts at once, as a "
                    f"patients x candidates array: with a vocabulary of thousands, millions "
                    f"of candidates. It found no rules to compare."
                )
    return notes


def _size(result: Result, n: int) -> Result | None:
    return next((s for s in result["sizes"] if s["n"] == n), None)


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def targets(result: Result) -> list[str]:
    """The targets, each with the measured figure and met or missed."""
    lines = []
    at_100k = _size(result, 100_000)
    at_1m = _size(result, 1_000_000)
    missing = "not measured in this run"

    if at_100k is not None:
        build = _build(at_100k)
        assoc = figures(at_100k, "build_association", "build")
        mlx = figures(at_100k, "mlxtend", "pipeline")
        lists = figures(at_100k, "lists", "lists")
        if build and mlx and lists:
            theirs = float(mlx["median"]) + float(lists["median"])
            speedup = theirs / float(build["median"])
            extra = (
                f'; `relations="association"`: {theirs / float(assoc["median"]):.1f}x'
                if assoc
                else ""
            )
            lines.append(
                f"- 100k patients, whole build at least 50x faster than mlxtend: "
                f"{_verdict(speedup >= 50)}, {speedup:.1f}x (mlxtend {_s(theirs)} s with the "
                f"lists made from the records, kgmed.build {_s(float(build['median']))} s{extra})."
            )
            records = figures(at_100k, "matrix", "records")
            if speedup < 50 and records:
                lines.append(
                    f"  What stands in the way: 50x would be {_s(theirs / 50)} s for the whole "
                    f"build; turning the long table of strings into Records takes "
                    f"{_s(float(records['median']))} s of it (pandas factorizing each text "
                    f"column of the input is most of that), and the rest is counting, the "
                    f"Fisher tests, the stratified estimates, the networkx graph and the "
                    f"noisy-OR fit of each symptom and treatment, which mlxtend's pipeline "
                    f'does not do; `relations="association"` leaves out the fit.'
                )
            share = _used_mib(build) / max(_used_mib(mlx), 1e-9)
            lines.append(
                f"- 100k patients, no more than a third of mlxtend's peak memory: "
                f"{_verdict(share <= 1 / 3)}, {share:.2f} of it (memory the work used: kgmed "
                f"{_used_mib(build):,.0f} MiB, mlxtend {_used_mib(mlx):,.0f} MiB; absolute peaks "
                f"{_abs_mib(build):,.0f} and {_abs_mib(mlx):,.0f} MiB)."
            )
            if share > 1 / 3 and records:
                lines.append(
                    f"  What stands in the way: a third is {_used_mib(mlx) / 3:,.0f} MiB; making "
                    f"the Records needs {_used_mib(records):,.0f} MiB at its peak (their columns "
                    f"are categoricals, about 22 bytes a row, but the input's strings are "
                    f"factorized column by column on the way), and the build's other stages "
                    f"add theirs."
                )
        else:
            lines.append(f"- 100k patients, build vs mlxtend: {missing}.")
    else:
        lines.append(
            f"- 100k patients, build vs mlxtend (50x faster, a third of the memory): {missing}."
        )

    if at_1m is None:
        lines.append(
            f"- 1M patients (build faster than pyfim's route, under 4 GiB; pair counting at "
            f"least as fast as scipy; reading the CSV in seconds): {missing}"
            + (" (the full run, without `--quick`, measures them)." if result["quick"] else ".")
        )
        return lines
    build = _build(at_1m)
    assoc = figures(at_1m, "build_association", "build")
    route = figures(at_1m, "lists", "lists+fpgrowth")
    if build and route and at_1m["results"]["lists"].get("pyfim"):
        ok = float(build["median"]) < float(route["median"])
        extra = f'; `relations="association"` {_s(float(assoc["median"]))} s' if assoc else ""
        grouping = float(at_1m["results"]["lists"]["stages"]["lists"]["median"])
        lines.append(
            f"- 1M patients, whole build faster than pyfim's route (lists + FP-Growth): "
            f"{_verdict(ok)}, kgmed.build {_s(float(build['median']))} s, pyfim "
            f"{_s(float(route['median']))} s ({_s(grouping)} s of it grouping the records "
            f"into lists){extra}."
        )
    else:
        lines.append("- 1M patients, build vs pyfim's route: pyfim not installed.")
    if build:
        extra = (
            f'; `relations="association"` {_abs_mib(assoc):,.0f} MiB ({_used_mib(assoc):,.0f})'
            if assoc
            else ""
        )
        lines.append(
            f"- 1M patients, whole build under 4 GiB peak: "
            f"{_verdict(_abs_mib(build) < BUILD_PEAK_MIB)}, {_abs_mib(build):,.0f} MiB absolute "
            f"peak of the process, input frame included ({_used_mib(build):,.0f} MiB used by "
            f"the build itself){extra}."
        )
    pairs = figures(at_1m, "matrix", "pairs")
    scipy = figures(at_1m, "matrix", "scipy")
    if pairs and scipy:
        lines.append(
            f"- 1M patients, pair counting at least as fast as scipy's `X.T @ X`: "
            f"{_verdict(float(pairs['median']) <= float(scipy['median']))}, "
            f"`pair_counts` {_s(float(pairs['median']))} s, scipy {_s(float(scipy['median']))} s."
        )
    if build:
        seconds, used = float(build["median"]), _used_mib(build)
        ok = seconds <= FRAME_TO_GRAPH_SECONDS and used <= FRAME_TO_GRAPH_MIB
        lines.append(
            f"- 1M patients, long DataFrame -> graph in at most "
            f"{FRAME_TO_GRAPH_SECONDS:.0f} s and {FRAME_TO_GRAPH_MIB:,} MiB above the input: "
            f"{_verdict(ok)}, {_s(seconds)} s, {used:,.0f} MiB."
        )
        records = figures(at_1m, "matrix", "records")
        if not ok and records:
            lines.append(
                f"  What stands in the way: `Records.from_dataframe` alone takes "
                f"{_s(float(records['median']))} s ({_used_mib(records):,.0f} MiB) on the "
                f"input's string columns; the direct model's fit, counting and testing take "
                f"the rest."
            )
    read = figures(at_1m, "read", "read")
    if read and build:
        records = figures(at_1m, "matrix", "records")
        if records:
            # The build from Records: the build from the frame less making the Records.
            from_records = max(float(build["median"]) - float(records["median"]), 0.0)
            total = float(read["median"]) + from_records
            lines.append(
                f"- 1M patients, CSV file -> graph in at most {CSV_TO_GRAPH_SECONDS:.0f} s: "
                f"{_verdict(total <= CSV_TO_GRAPH_SECONDS)}, {_s(total)} s (reading into "
                f"Records {_s(float(read['median']))} s, then the build from Records "
                f"{_s(from_records)} s: the default build less `Records.from_dataframe`)."
            )
    if read:
        rows = at_1m["results"]["read"]["n_read"]
        lines.append(
            f"- 1M patients, reading the CSV ({rows:,} rows) into Records in seconds, not "
            f"minutes (under {READ_SECONDS:.0f} s): "
            f"{_verdict(float(read['median']) < READ_SECONDS)}, {_s(float(read['median']))} s."
        )
    return lines


METHOD = """\
- **Workers.** Each size runs up to seven workers, each a fresh Python process:
  `read`, `matrix` (from_dataframe, transactions, pair counting, scipy,
  mining), `build` (the default build, then query, link, export and HTML on
  its graph), `build_association`, `lists` (grouping into lists, pyfim),
  `mlxtend` and `apriori`. A process per stage would rebuild each stage's
  input (at 1M patients the graph alone takes a minute or more), so the stages of a
  worker run one after another; before each, freed memory goes back to the
  system (`malloc_trim`), the peak RSS is reset (`/proc/self/clear_refs`) and
  read as the baseline. *peak MiB* is the stage's peak minus that baseline
  (the memory the stage needed), with the process's absolute peak in
  brackets (interpreter, libraries, the input and what earlier stages of
  the worker keep).
- **Input, untimed.** The long DataFrame (`patient_id`, `concept`, `kind`,
  pandas strings) made from the drawn arrays; `read` gets the same rows as
  a CSV file written before the timing. mlxtend and pyfim get per-patient
  lists of concept labels from one pass over the DataFrame's two columns;
  mlxtend's are made untimed, and the `lists` row times that grouping.
- **Timing.** `time.perf_counter`; each stage is repeated up to `--repeats`
  times while its runs add up to less than 10 s, and the median is shown.
  Queries: the median of one call per disease, after a warm-up call. Link:
  the first 10,000 patients, after an untimed call on the first 1,000
  (which builds the linking model).
- **ratio** is the row's seconds over kgmed.build's at that size: above 1,
  the row took longer than kgmed's whole build. Routes (lists + miner)
  add the two medians; their memory is the joint peak over the lists'
  baseline.
- **Thresholds.** `min_support=0.001`, `min_confidence=0.05` for every tool;
  kgmed's mining stage with `min_patients=1` (no privacy floor), the builds
  with the default floor of 11. mlxtend `max_len=2`; pyfim `target="r"`,
  `zmin=zmax=2`, `supp` the absolute count, `conf` in percent, `mode="o"`
  (rule support = body and head together, as mlxtend and kgmed count it;
  pyfim's default is the body's support, which gives many more rules).
- **mlxtend** runs up to 100k patients and apriori at 10k only; larger sizes
  show an estimate from a power law through the two largest measured sizes.
  apriori runs under a guard that kills it past 12 GiB of RSS."""


def scale_section(result: Result | None) -> list[str]:
    """The "Scale" section, as Markdown lines."""
    if not result:
        return []
    prep = result["prep"]
    sizes = ", ".join(f"{s['n']:,}" for s in result["sizes"])
    lines = [
        "## Scale",
        "",
        f"Records drawn from `kgmed.datasets.random_model({', '.join(map(str, MODEL))}, "
        f"random_state={MODEL_SEED})` ({prep['n_model_concepts']:,} concepts) with "
        f"`synthetic({CHUNK}, model=..., random_state=[{DATA_SEED}, k])` for chunks k = 0, 1, ...: "
        f"every size is the first n patients of one stream. Drawn once for {sizes} patients, "
        f"untimed, in {_s(prep['seconds'])} s ({prep['processes']} processes). Load average "
        f"(1, 5, 15 min) at the section's start: {result['load'][0]}; at its end: "
        f"{result['load'][1]}.",
        "",
        run.markdown_table(
            [
                "patients",
                "rows",
                "concepts per patient",
                "concepts seen",
                "graph concepts / edges",
                "CSV MiB",
            ],
            _data_rows(result),
        ),
        "",
        f"Seconds of wall time (median; see *Method*), peak memory as *used by the stage "
        f"(absolute peak of the process)* in MiB, ratio to kgmed.build's seconds; "
        f"up to {result['repeats']} repeat(s) per stage.",
        "",
        table(result),
        "",
        "**Same rules** (checked untimed, `min_patients=1`, same thresholds):",
        "",
        *rule_notes(result),
        *killed_notes(result),
        *(
            [
                "- The peak RSS could not be reset on this system, so memory used by a stage "
                "is a lower bound (the peak may be that of an earlier step)."
            ]
            if any(
                not f.get("peak_reset", True)
                for size in result["sizes"]
                for r in size["results"].values()
                for f in r.get("stages", {}).values()
            )
            else []
        ),
        "- kgmed and mlxtend compute confidence as a ratio of two supports (fractions of "
        "patients), which can round a confidence equal to the threshold to just below it; "
        "pyfim compares counts and keeps those rules.",
        "",
        "**Targets**",
        "",
        *targets(result),
        "",
        "**Method**",
        "",
        METHOD,
        "",
    ]
    return lines


def repeat_lines(result: Result | None) -> list[str]:
    """Every timed run of the section, for RESULTS.md's *Every repeat*."""
    if not result:
        return []
    lines = []
    for size in result["sizes"]:
        for case, worker_result in size["results"].items():
            for stage, f in worker_result.get("stages", {}).items():
                if stage in ("symptoms_of", "neighbors"):
                    continue
                times = ", ".join(_s(s) for s in f["seconds"])
                lines.append(f"- scale {case} / {stage}, {size['n']:,}: {times} s")
    return lines
