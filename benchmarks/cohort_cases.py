"""What the "Cohorts and risk models" section measures: kgmed.cohorts and kgmed.models.

Three workers, each a fresh Python process
(``python benchmarks/cohort_cases.py --worker CASE N``), print one JSON
line; :func:`run_section` starts them and :func:`cohort_section` turns their
results into the section's Markdown.

- ``groups``: records with known groups, and how well each method finds
  them. Three groups of patients are drawn from kgmed's generator
  (``kgmed.datasets.default_model()``), each with only its own diseases,
  their prevalence raised ``BOOST``-fold: respiratory (influenza, covid-19,
  common cold, pneumonia, asthma, COPD), cardiometabolic (type 2 diabetes,
  hypertension, heart failure) and the other six; symptoms, their leaks and
  the background drugs are shared, as in real records, so a patient whose
  own diseases did not show is not recoverable. Two settings: *clear*
  (``BOOST = 5``) and *overlapping* (``BOOST = 3``). For each method the
  adjusted Rand index (ARI: 1 is the truth exactly, 0 what chance gives)
  of ``kgmed.cohorts.find`` against the true groups, with the number of
  cohorts chosen and the seconds; and the ARI of ``cohorts.assign`` on
  patients drawn apart.
- ``scale``: ``kgmed.cohorts.find(records)`` (``n_cohorts="auto"``, which
  runs MiniBatchKMeans above 20,000 patients) on 100,000 patients of the
  scale section's records (``random_model(100, 1500, 500,
  random_state=1)``, about 16 concepts per patient, 2,100 in all; drawn
  untimed), with ``n_cohorts=8``, and ``cohorts.assign`` on the same
  records: wall time (median of the repeats, with the same budget as the
  scale section) and peak memory (*used (absolute)*, as everywhere in
  RESULTS.md).
- ``risk``: ``kgmed.models.risk`` against ``kg.link`` on the same held-out
  patients. Both learn from the same training patients
  (``synthetic(N, random_state=0)``): ``kgmed.build(train)``, and one
  ``risk(train, disease, kinds=["symptom"], kg=kg)`` per disease (symptoms
  only, as linking sees them). The table gives each model's cross-validated
  ROC AUC; then, on patients drawn apart (``random_state=1``) who have a
  disease and a symptom, the ROC AUC of each disease's predicted risk, and
  the top-1 and top-3 of ranking the diseases by it, beside ``link_many``'s
  top-1 and top-3 (a hit: a ranked disease is one the patient has) and the
  Bayes-optimal ranking from the true model
  (``SyntheticModel.disease_posterior``), the ceiling.

Run it alone::

    python benchmarks/cohort_cases.py [--quick] [--repeats N]

This module imports only the standard library at the top (and ``run``, the
suite's standard-library helpers), so that ``run.py`` can format the section
without loading kgmed; the workers import kgmed, numpy and scikit-learn
themselves.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import run  # the suite's memory helpers and table (standard library only)

Result = dict[str, Any]

HERE = Path(__file__).resolve().parent

#: Patients of the known-groups case, and drawn apart for ``assign``.
GROUP_PATIENTS = 10_000
QUICK_GROUP_PATIENTS = 3_000
ASSIGN_PATIENTS = 2_000
#: Factor on the prevalence of a group's own diseases, by setting.
SETTINGS: dict[str, float] = {"clear": 5.0, "overlapping": 3.0}
#: Share of the patients in each group.
SHARES = (0.5, 0.2, 0.3)
GROUPS: dict[str, tuple[str, ...]] = {
    "respiratory": (
        "influenza",
        "covid-19",
        "common cold",
        "pneumonia",
        "asthma",
        "chronic obstructive pulmonary disease",
    ),
    "cardiometabolic": ("type 2 diabetes mellitus", "hypertension", "heart failure"),
    "other": (
        "gastroesophageal reflux disease",
        "migraine",
        "major depressive disorder",
        "urinary tract infection",
        "hypothyroidism",
        "iron deficiency anemia",
    ),
}
#: (label, find's options) of each method compared on the known groups.
METHODS: tuple[tuple[str, dict[str, Any]], ...] = (
    ('kmeans, n_cohorts="auto"', {}),
    ("kmeans, n_cohorts=3", {"n_cohorts": 3}),
    ('kmeans, n_cohorts=3, weighting="binary"', {"n_cohorts": 3, "weighting": "binary"}),
    ("agglomerative, n_cohorts=3", {"method": "agglomerative", "n_cohorts": 3}),
    ("dbscan", {"method": "dbscan"}),
    ("hdbscan", {"method": "hdbscan"}),
)

#: Patients of the scale case (the scale section's records).
SCALE_PATIENTS = 100_000
QUICK_SCALE_PATIENTS = 20_000
SCALE_MODEL = (100, 1_500, 500)
SCALE_MODEL_SEED = 1
CHUNK = 10_000
#: Seconds the repeats of one timing may add up to (as in the scale section).
BUDGET = 10.0
#: Native threads (OpenMP, BLAS) the timings run with: the library's default
#: (all cores), then one. scikit-learn's OpenMP loops (k-means, gradient
#: boosting) wait for their threads by spinning, and on a machine whose cores
#: are busy with other work they can run many times slower than on one thread.
THREADS: tuple[int | None, ...] = (None, 1)

#: Training and held-out patients of the risk case.
RISK_TRAIN = 20_000
RISK_TEST = 5_000
QUICK_RISK_TRAIN = 5_000
QUICK_RISK_TEST = 2_000


# -- the workers (they import kgmed) ----------------------------------------------------------


def grouped(n: int, seed: int, boost: float) -> tuple[Any, Any]:
    """Records of the three groups, patient ids shuffled, and each patient's true group."""
    import numpy as np
    import pandas as pd

    import kgmed
    from kgmed.datasets import SyntheticModel, default_model, synthetic

    base = default_model()
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(n, list(SHARES))
    frames = []
    for g, (name, diseases) in enumerate(GROUPS.items()):
        concepts = base.concepts
        disease = (concepts["kind"] == "disease").to_numpy()
        mine = concepts["label"].isin(diseases).to_numpy()
        rates = concepts["rate"].to_numpy(dtype=float).copy()
        rates[disease & ~mine] = 0.0
        rates[disease & mine] = np.minimum(rates[disease & mine] * boost, 0.95)
        model = SyntheticModel(concepts=concepts.assign(rate=rates), links=base.links)
        frame = synthetic(int(sizes[g]), model=model, random_state=[seed, g], as_frame=True)
        frames.append(frame.assign(patient_id=name + ":" + frame["patient_id"].astype(str)))
    frame = pd.concat(frames, ignore_index=True)
    old = pd.Series(frame["patient_id"].unique())
    new = pd.Series([f"Q{i:07d}" for i in rng.permutation(len(old))], index=old.to_numpy())
    truth = pd.Series(old.str.split(":").str[0].to_numpy(), index=new.to_numpy())
    frame = frame.assign(patient_id=frame["patient_id"].map(new))
    return kgmed.Records.from_dataframe(frame, code="code", system="system"), truth


def _ari(labels: Any, truth: Any) -> float:
    from sklearn.metrics import adjusted_rand_score

    labels = labels.astype(object).where(labels.notna(), "noise")
    return float(adjusted_rand_score(truth.reindex(labels.index), labels))


def _threads(limit: int | None) -> Any:
    """A context in which native thread pools use at most ``limit`` threads (None: all)."""
    import contextlib

    from threadpoolctl import threadpool_limits

    return contextlib.nullcontext() if limit is None else threadpool_limits(limits=limit)


def _warm_up() -> None:
    """One small run first: the first call pays for importing scikit-learn and its threads."""
    import kgmed

    kgmed.cohorts.find(kgmed.datasets.synthetic(300, random_state=0), n_cohorts=2)


def groups_worker(n_patients: int) -> Result:
    import kgmed

    _warm_up()
    rows = []
    for setting, boost in SETTINGS.items():
        records, truth = grouped(n_patients, seed=0, boost=boost)
        held_out, held_truth = grouped(ASSIGN_PATIENTS, seed=1, boost=boost)
        for label, options in METHODS:
            start = time.perf_counter()
            cohorts = kgmed.cohorts.find(records, **options)
            seconds = time.perf_counter() - start
            chosen = cohorts.scores.loc[cohorts.scores["chosen"]].iloc[0]
            rows.append(
                {
                    "setting": setting,
                    "boost": boost,
                    "method": label,
                    "estimator": cohorts.method,
                    "n_cohorts": cohorts.n_cohorts,
                    "silhouette": float(chosen["silhouette"]),
                    "ari": _ari(cohorts.labels, truth),
                    "ari_assign": _ari(cohorts.assign(held_out), held_truth),
                    "noise": int(cohorts.labels.isna().sum()),
                    "seconds": seconds,
                }
            )
    return {"case": "groups", "n_patients": n_patients, "rows": rows}


def _scale_records(n: int) -> Any:
    import pandas as pd

    import kgmed
    from kgmed.datasets import random_model, synthetic

    model = random_model(*SCALE_MODEL, random_state=SCALE_MODEL_SEED)
    frames = []
    for k in range(-(-n // CHUNK)):
        frame = synthetic(
            min(CHUNK, n - k * CHUNK), model=model, random_state=[0, k], as_frame=True
        )
        frames.append(frame.assign(patient_id=f"c{k}-" + frame["patient_id"].astype(str)))
    return kgmed.Records.from_dataframe(pd.concat(frames, ignore_index=True))


def scale_worker(n_patients: int, repeats: int) -> Result:
    import kgmed

    start = time.perf_counter()
    records = _scale_records(n_patients)
    prep = time.perf_counter() - start
    _warm_up()
    figures: dict[str, Result] = {}
    cohorts = labels = None
    for threads in THREADS:
        with _threads(threads):
            key = f"{threads or 'all'}"
            figures[f"find auto|{key}"], cohorts = run.measure(
                lambda: kgmed.cohorts.find(records), repeats, BUDGET
            )
            figures[f"find 8|{key}"], _ = run.measure(
                lambda: kgmed.cohorts.find(records, n_cohorts=8), repeats, BUDGET
            )
            figures[f"assign|{key}"], labels = run.measure(
                lambda c=cohorts: c.assign(records), repeats, BUDGET
            )
    assert cohorts is not None
    assert labels is not None
    return {
        "case": "scale",
        "n_patients": int(records.n_patients),
        "n_observations": len(records.data),
        "n_concepts": int(records.data["concept_id"].nunique()),
        "prep_seconds": prep,
        "estimator": cohorts.method,
        "n_cohorts": cohorts.n_cohorts,
        "scores": cohorts.scores[["n_cohorts", "silhouette"]].values.tolist(),
        "assign_agrees": float((labels == cohorts.labels).mean()),
        "figures": figures,
    }


def _hits(ranking: Any, truth: list[set[str]], k: int) -> float:
    import numpy as np

    return float(np.mean([bool(set(r[:k]) & t) for r, t in zip(ranking, truth, strict=True)]))


def risk_worker(n_train: int, n_test: int) -> Result:
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    import kgmed
    from kgmed.datasets import synthetic

    _warm_up()
    train, model = synthetic(n_train, random_state=0, return_truth=True)
    test = synthetic(n_test, random_state=1)
    start = time.perf_counter()
    kg = kgmed.build(train)
    build_seconds = time.perf_counter() - start
    data = test.data
    diseases = data[data["kind"] == "disease"].groupby("patient_id")["label"].apply(set)
    symptoms = data[data["kind"] == "symptom"]
    observed = pd.crosstab(symptoms["patient_id"], symptoms["label"]).astype(bool)
    patients = observed.index.intersection(diseases.index)
    truth = [diseases[p] for p in patients]

    labels = model.concepts.loc[model.concepts["kind"] == "disease", "label"].tolist()
    cv_auc, held_auc, seconds = {}, {}, {}
    risks = pd.DataFrame(index=patients, columns=labels, dtype=float)
    for label in labels:
        start = time.perf_counter()
        fitted = kgmed.models.risk(train, label, kinds=["symptom"], kg=kg)
        seconds[label] = time.perf_counter() - start
        cv_auc[label] = float(fitted.scores["roc_auc"])
        predicted = fitted.predict(test).reindex(patients)
        risks[label] = predicted.to_numpy()
        has = np.array([label in t for t in truth])
        held_auc[label] = float(roc_auc_score(has, predicted)) if 0 < has.sum() < len(has) else None
    order = np.argsort(-risks.to_numpy(dtype=float), axis=1, kind="stable")[:, :3]
    risk_ranking = np.asarray(labels, dtype=object)[order]

    start = time.perf_counter()
    ranked = kg.link_many(test, top=3)
    link_seconds = time.perf_counter() - start
    ranked = ranked[ranked["patient_id"].isin(patients)]
    link_ranking = (
        ranked.pivot(index="patient_id", columns="rank", values="label")
        .reindex(patients)
        .to_numpy(dtype=object)
    )
    ceiling = model.disease_posterior(observed.loc[patients])
    best = np.argsort(-ceiling.to_numpy(), axis=1, kind="stable")[:, :3]
    ceiling_ranking = np.asarray(ceiling.columns)[best]

    boosted: dict[str, float] = {}
    auc = 0.0
    for threads in THREADS:
        with _threads(threads):
            start = time.perf_counter()
            fitted = kgmed.models.risk(
                train,
                "type 2 diabetes mellitus",
                kinds=["symptom"],
                kg=kg,
                model="gradient_boosting",
            )
            boosted[f"{threads or 'all'}"] = time.perf_counter() - start
            auc = float(fitted.scores["roc_auc"])
    return {
        "case": "risk",
        "n_train": n_train,
        "n_test": n_test,
        "n_ranked": len(patients),
        "build_seconds": build_seconds,
        "diseases": labels,
        "cv_auc": cv_auc,
        "held_out_auc": held_auc,
        "risk_seconds": seconds,
        "link_seconds": link_seconds,
        "top": {
            "risk": [_hits(risk_ranking, truth, 1), _hits(risk_ranking, truth, 3)],
            "link": [_hits(link_ranking, truth, 1), _hits(link_ranking, truth, 3)],
            "ceiling": [_hits(ceiling_ranking, truth, 1), _hits(ceiling_ranking, truth, 3)],
        },
        "boosted_diabetes_auc": auc,
        "boosted_seconds": boosted,
    }


def worker(case: str, n_patients: int, repeats: int, quick: bool) -> Result:
    """One case, in this process; prints nothing (the caller prints the JSON)."""
    if case == "groups":
        return groups_worker(n_patients)
    if case == "scale":
        return scale_worker(n_patients, repeats)
    if case == "risk":
        return risk_worker(n_patients, QUICK_RISK_TEST if quick else RISK_TEST)
    raise ValueError(f"unknown cohort benchmark case {case!r}")


# -- the driver (standard library only) --------------------------------------------------------


def cases(quick: bool) -> list[tuple[str, int]]:
    """The (case, patients) pairs the section runs."""
    return [
        ("groups", QUICK_GROUP_PATIENTS if quick else GROUP_PATIENTS),
        ("scale", QUICK_SCALE_PATIENTS if quick else SCALE_PATIENTS),
        ("risk", QUICK_RISK_TRAIN if quick else RISK_TRAIN),
    ]


def run_section(repeats: int, quick: bool = False) -> list[Result]:
    """Run every case in a worker process of its own; their results, in order."""
    results = []
    for case, n in cases(quick):
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", case, str(n)]
        command += ["--repeats", str(repeats)] + (["--quick"] if quick else [])
        print(f"  cohorts {case} ({n:,}) ...", end="", file=sys.stderr, flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=HERE.parent)
        if done.returncode != 0:
            print(file=sys.stderr)
            sys.exit(f"worker failed: {' '.join(command)}\n{done.stderr}")
        print(f" {time.perf_counter() - start:.1f} s", file=sys.stderr)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


# -- the section (standard library only) -------------------------------------------------------


TEXT_COLUMNS = frozenset(
    {"setting", "method", "estimator", "step", "ranking of the diseases", "disease"}
)


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, text left-aligned and numbers right-aligned, as run.py's."""
    align = ["---" if name in TEXT_COLUMNS else "---:" for name in header]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, align, *rows])


def _s(value: float) -> str:
    return f"{value:.{3 if value < 1 else 2 if value < 10 else 1}f}"


def _mib(figures: Result) -> str:
    peak = float(figures["peak_kib"]) / 1024
    used = peak - float(figures["baseline_kib"]) / 1024
    return f"{used:,.0f} ({peak:,.0f})"


GROUP_HEADER = [
    "setting",
    "method",
    "estimator",
    "cohorts",
    "silhouette",
    "ARI",
    "ARI of assign",
    "noise",
    "seconds",
]


def group_rows(result: Result) -> list[list[str]]:
    return [
        [
            f"{row['setting']} (x{row['boost']:g})",
            f"`{row['method']}`",
            row["estimator"],
            str(row["n_cohorts"]),
            f"{row['silhouette']:.3f}",
            f"{row['ari']:.3f}",
            f"{row['ari_assign']:.3f}",
            f"{row['noise']:,}",
            _s(row["seconds"]),
        ]
        for row in result["rows"]
    ]


SCALE_HEADER = ["step", "threads", "patients", "seconds (runs)", "peak MiB"]
SCALE_STEPS = {
    "find auto": '`kgmed.cohorts.find(records)` (n_cohorts="auto": 2 to 8 tried)',
    "find 8": "`kgmed.cohorts.find(records, n_cohorts=8)`",
    "assign": "`cohorts.assign(records)`",
}


def scale_rows(result: Result) -> list[list[str]]:
    rows = []
    for key, figures in result["figures"].items():
        step, threads = key.split("|")
        rows.append(
            [
                SCALE_STEPS[step],
                "all cores" if threads == "all" else threads,
                f"{result['n_patients']:,}",
                f"{_s(figures['median'])} ({len(figures['seconds'])})",
                _mib(figures),
            ]
        )
    return rows


RISK_HEADER = ["ranking of the diseases", "top-1", "top-3"]


def risk_rows(result: Result) -> list[list[str]]:
    names = {
        "risk": "`kgmed.models.risk` per disease (logistic, symptoms), by predicted risk",
        "link": "`kg.link_many` (the graph)",
        "ceiling": "Bayes-optimal, from the true model (the ceiling)",
    }
    return [
        [names[key], f"{top1:.3f}", f"{top3:.3f}"] for key, (top1, top3) in result["top"].items()
    ]


AUC_HEADER = ["disease", "cross-validated ROC AUC", "held-out ROC AUC", "risk s"]


def auc_rows(result: Result) -> list[list[str]]:
    rows = []
    for disease in result["diseases"]:
        held = result["held_out_auc"][disease]
        rows.append(
            [
                disease,
                f"{result['cv_auc'][disease]:.3f}",
                "-" if held is None else f"{held:.3f}",
                _s(result["risk_seconds"][disease]),
            ]
        )
    return rows


def cohort_section(results: list[Result]) -> list[str]:
    """The "Cohorts and risk models" section of RESULTS.md, as Markdown lines."""
    if not results:
        return []
    by_case = {result["case"]: result for result in results}
    lines = ["## Cohorts and risk models", ""]
    groups = by_case.get("groups")
    if groups:
        lines += [
            f"**Known groups.** {groups['n_patients']:,} patients in three groups (shares "
            f"{', '.join(f'{s:.0%}' for s in SHARES)}), each drawn from kgmed's generator with "
            "only its own diseases, their prevalence raised by the factor shown; symptoms, "
            "leaks and background drugs are shared (see cohort_cases.py). ARI is the adjusted "
            "Rand index of `kgmed.cohorts.find(records, ...)` against the true groups (1: "
            "exactly; 0: chance; noise patients count as one group); *ARI of assign* that of "
            f"`cohorts.assign` on {ASSIGN_PATIENTS:,} patients drawn apart; silhouette is that "
            "of the clustering kept.",
            "",
            _table(GROUP_HEADER, group_rows(groups)),
            "",
        ]
    scale = by_case.get("scale")
    if scale:
        lines += [
            f"**Scale.** {scale['n_patients']:,} patients of the scale section's records "
            f"(`random_model{SCALE_MODEL}`, {scale['n_observations']:,} observations of "
            f"{scale['n_concepts']:,} concepts; drawn untimed in {_s(scale['prep_seconds'])} s). "
            f"`find` ran {scale['estimator']} and chose {scale['n_cohorts']} cohorts; "
            f"`assign` gave {scale['assign_agrees']:.1%} of the patients the cohort `find` did. "
            "Median of the repeats (up to a "
            f"{BUDGET:g} s budget), memory as *used (absolute)*; each step with the native "
            "thread pools' default (all cores) and limited to one thread (threadpoolctl): "
            "scikit-learn's OpenMP loops spin while they wait for their threads, and on a "
            "machine whose cores are busy they run far slower than on one.",
            "",
            _table(SCALE_HEADER, scale_rows(scale)),
            "",
        ]
    risk = by_case.get("risk")
    if risk:
        aucs = list(risk["cv_auc"].values())
        lines += [
            f"**Risk models beside the graph.** Trained on {risk['n_train']:,} patients "
            f"(`synthetic(n, random_state=0)`; `kgmed.build` took {_s(risk['build_seconds'])} s), "
            f"tested on {risk['n_ranked']:,} of {risk['n_test']:,} patients drawn apart "
            "(those with a disease and a symptom). One logistic `risk(train, disease, "
            'kinds=["symptom"], kg=kg)` per disease, cross-validated ROC AUC '
            f"{min(aucs):.3f} to {max(aucs):.3f} (median {statistics.median(aucs):.3f}); "
            f"`link_many` on the held-out patients took {_s(risk['link_seconds'])} s. Gradient "
            f"boosting for type 2 diabetes: ROC AUC {risk['boosted_diabetes_auc']:.3f} "
            f"({_s(risk['boosted_seconds']['all'])} s on all cores, "
            f"{_s(risk['boosted_seconds']['1'])} s on one thread).",
            "",
            _table(RISK_HEADER, risk_rows(risk)),
            "",
            _table(AUC_HEADER, auc_rows(risk)),
            "",
        ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        case, n = args.worker
        print(json.dumps(worker(case, int(n), args.repeats, args.quick)))
        return
    print("\n".join(cohort_section(run_section(args.repeats, args.quick))))


if __name__ == "__main__":
    main()
