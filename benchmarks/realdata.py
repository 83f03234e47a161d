"""Measured on real records: treatments learned from co-occurrence, scored against hidden reasons.

Synthea writes, on most prescriptions, the condition the drug was given for
(``REASONCODE`` in ``medications.csv``; kgmed reads it into
``Records.data["reason_id"]`` and ``kgmed.build`` turns it into
``treated_with`` edges of provenance ``recorded``). Here those reasons are
hidden from kgmed: each of the three shared Synthea exports is read, its
``reason_id`` set to missing, and disease -> treatment edges are learned from
co-occurrence alone, by each method of :data:`METHODS`. The recorded reasons
are the truth. Run by ``benchmarks/run.py`` (its "Measured on real records"
section; ``--only realdata``, ``--no-realdata``), or alone::

    python benchmarks/realdata.py

What counts (``benchmarks/README.md`` says why):

- Scored drugs: treatments most of whose rows carry a reason (at least
  :data:`REASON_SHARE` of them). Drugs given without reasons (contraceptives,
  vaccines, a drug a module prescribes silently) have no truth to score.
- Truth: the (reason condition, drug) pairs of the scored drugs recorded for
  at least :data:`MIN_PATIENTS` distinct patients, the privacy floor the
  graph is built with, so that the graph could show each of them. A truth
  pair whose condition is not a disease node of the graph (read as a finding,
  or held by too few patients) cannot be predicted: such pairs are counted
  and listed, and left out of recall (*recall, all truth* keeps them).
- Predictions: the graph's ``treated_with`` edges into the scored drugs.
  One that names a pair recorded for fewer patients than the floor is true
  but outside the truth: it is counted, and scored neither right nor wrong.
  So is one whose drug was mostly given, to the patients with both, with no
  reason recorded, at a visit that recorded the condition: the scored-drug
  rule applied to the pair (the drug's rows for that condition mostly carry
  no reason, so there is no truth to score it against). Precision counting
  those as wrong is reported too.
- Pooled: the three exports' right, wrong and truth counts added up.
"""

from __future__ import annotations

import argparse
import functools
import operator
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import run  # the shared data folder, found as the rest of the suite finds it

import kgmed
from kgmed.records import COLUMNS
from kgmed.records.synthea import read_synthea

#: The shared Synthea exports, as folders of the shared data.
EXPORTS: tuple[str, ...] = (
    "synthea_csv_111_unmc",
    "synthea_csv_59_ca/csv",
    "synthea_csv_543_partial",
)
#: The export whose errors the section lists (the largest).
ERRORS_EXPORT = "synthea_csv_543_partial"
#: The privacy floor: ``kgmed.build``'s default ``min_patients``, and the
#: fewest patients a truth pair must be recorded for.
MIN_PATIENTS = 11
#: A drug is scored when at least this share of its rows carry a reason.
REASON_SHARE = 0.5
#: The target for kgmed's default method, pooled.
TARGET_F1 = 0.90
TARGET_PRECISION = 0.90
#: How many false positives and false negatives the section lists.
WORST = 10

Pair = tuple[str, str]


@dataclass(frozen=True)
class Method:
    """One way to learn disease -> treatment edges: ``kgmed.build`` options, then a filter.

    ``keep`` takes the graph's ``treated_with`` edges (``kg.edges``) and
    returns a boolean mask of those it keeps; None keeps them all.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    keep: Callable[[pd.DataFrame], Any] | None = None

    def edges(self, kg: kgmed.KnowledgeGraph) -> pd.DataFrame:
        edges = kg.edges("treated_with")
        return edges if self.keep is None else edges[self.keep(edges)]


def _significant(edges: pd.DataFrame) -> Any:
    return (edges["q_value"] < 0.05) & (edges["lift"] > 1)


#: The methods compared, one line each; a new ``kgmed.build`` option is one
#: more line, e.g. ``Method("direct, adjusted", {"relations": "direct", ...})``.
METHODS: tuple[Method, ...] = (
    Method(
        "association (all edges)", {"relations": "association", "keep": "all", "adjust_for": ()}
    ),
    Method(
        "association, q < 0.05 and lift > 1",
        {"relations": "association", "keep": "all", "adjust_for": ()},
        _significant,
    ),
    Method("kgmed's default (direct, adjusted, significant and material)", {}),
)
#: The method the target is set for (kgmed's default), and the baseline it is set against.
TARGET_METHOD = METHODS[2].name
BASELINE_METHOD = METHODS[1].name


# -- the data ---------------------------------------------------------------------


@dataclass
class Export:
    """One Synthea export: its records with and without reasons, and its truth."""

    name: str
    records: kgmed.Records  # as read, reasons included
    hidden: kgmed.Records  # the same observations, every reason_id missing
    concepts: pd.DataFrame  # records.concepts(), indexed by concept_id
    n_treatments: int
    drugs: frozenset[str]  # the scored drugs
    recorded: dict[Pair, int]  # every recorded (reason, scored drug) pair -> patients
    silent: dict[Pair, int]  # (condition, scored drug) -> patients given it unrecorded at its visit
    holders: dict[str, frozenset[str]]  # concept -> the patients who have it
    seconds: float = 0.0

    @property
    def truth(self) -> frozenset[Pair]:
        return frozenset(pair for pair, n in self.recorded.items() if n >= MIN_PATIENTS)

    def label(self, concept: str) -> str:
        return str(self.concepts["label"].get(concept, concept))

    def n_both(self, pair: Pair) -> int:
        empty: frozenset[str] = frozenset()
        return len(self.holders.get(pair[0], empty) & self.holders.get(pair[1], empty))

    def unrecorded(self, pair: Pair) -> bool:
        """Most patients with both got the drug with no reason, at a visit recording the condition."""
        return 2 * self.silent.get(pair, 0) > self.n_both(pair)


def hide_reasons(records: kgmed.Records) -> kgmed.Records:
    """The same records with every recorded reason removed (``reason_id`` missing)."""
    data = records.data
    missing = pd.Series(pd.NA, index=data.index, dtype="string")
    return kgmed.Records(
        data.assign(reason_id=missing),
        records.report,
        basket=records.basket,
        extra=[column for column in data.columns if column not in COLUMNS],
        measurements=records.measurements,
        patients=records.patients,
    )


def load_export(name: str) -> Export:
    """Read an export with ``read_synthea``'s defaults and work out its truth."""
    records = read_synthea(run.shared_data() / name, progress=False)
    data = records.data
    given = data.loc[data["kind"] == "treatment", ["concept_id", "reason_id"]]
    share = given["reason_id"].notna().groupby(given["concept_id"], observed=True).mean()
    drugs = frozenset(share.index[share >= REASON_SHARE])
    reasons = kgmed.recorded_reasons(records)
    reasons = reasons[reasons["target"].isin(drugs)]
    # Prescriptions without a reason, joined to the diseases recorded at the same visit.
    visits = data[data["encounter_id"].notna().to_numpy()]
    silent = visits.loc[
        (visits["kind"] == "treatment").to_numpy()
        & visits["reason_id"].isna().to_numpy()
        & visits["concept_id"].isin(drugs).to_numpy(),
        ["patient_id", "encounter_id", "concept_id"],
    ].merge(
        visits.loc[visits["kind"] == "disease", ["patient_id", "encounter_id", "concept_id"]],
        on=["patient_id", "encounter_id"],
        suffixes=("_drug", "_condition"),
    )
    by_pair = silent.groupby(["concept_id_condition", "concept_id_drug"])["patient_id"].nunique()
    return Export(
        name=name,
        records=records,
        hidden=hide_reasons(records),
        concepts=records.concepts().set_index("concept_id"),
        n_treatments=len(share),
        drugs=drugs,
        recorded={
            (source, target): int(n)
            for source, target, n in reasons[["source", "target", "n_recorded"]].itertuples(
                index=False
            )
        },
        silent={(str(c), str(d)): int(n) for (c, d), n in by_pair.items()},
        holders={
            str(concept): frozenset(patients)
            for concept, patients in data.groupby("concept_id", observed=True)["patient_id"]
        },
    )


# -- scoring ----------------------------------------------------------------------


@dataclass
class Score:
    """One method on one export (or pooled): counts, and the scores they give."""

    export: str
    method: str
    edges: int = 0  # predicted pairs: right + wrong + below the floor
    right: int = 0
    wrong: int = 0
    unrecorded: int = 0  # not scored: mostly given with no reason, at the condition's visit
    below_floor: int = 0  # predicted, recorded for fewer than MIN_PATIENTS: not scored
    truth: int = 0  # truth pairs the graph can hold
    not_in_graph: int = 0  # truth pairs whose condition is not a disease node

    @property
    def precision(self) -> float:
        return self.right / (self.right + self.wrong) if self.right + self.wrong else 0.0

    @property
    def precision_strict(self) -> float:
        """Precision counting the pairs given without reasons as wrong."""
        scored = self.right + self.wrong + self.unrecorded
        return self.right / scored if scored else 0.0

    @property
    def recall(self) -> float:
        return self.right / self.truth if self.truth else 0.0

    @property
    def recall_all(self) -> float:
        total = self.truth + self.not_in_graph
        return self.right / total if total else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def met(self) -> bool:
        return self.f1 >= TARGET_F1 and self.precision >= TARGET_PRECISION

    def __add__(self, other: Score) -> Score:
        counts = ("edges", "right", "wrong", "unrecorded", "below_floor", "truth", "not_in_graph")
        return Score(
            "pooled", self.method, **{k: getattr(self, k) + getattr(other, k) for k in counts}
        )


def _diseases(kg: kgmed.KnowledgeGraph) -> set[str]:
    return {node for node, kind in kg.graph.nodes(data="kind") if kind == "disease"}


def predicted(export: Export, method: Method, kg: kgmed.KnowledgeGraph) -> set[Pair]:
    """The method's ``treated_with`` edges into the scored drugs, as (condition, drug) pairs."""
    edges = method.edges(kg)
    edges = edges[edges["target"].isin(export.drugs)]
    learned = set(edges["provenance"])
    if learned - {"mined"}:
        raise RuntimeError(
            f"{export.name}: {method.name} has edges of provenance {sorted(learned)}; "
            "with the reasons hidden every edge must be mined"
        )
    return set(zip(edges["source"], edges["target"], strict=True))


def score(export: Export, method: Method, kg: kgmed.KnowledgeGraph) -> Score:
    found = predicted(export, method, kg)
    truth = export.truth
    diseases = _diseases(kg)
    reachable = {pair for pair in truth if pair[0] in diseases}
    below = {pair for pair in found - truth if pair in export.recorded}
    wrong = found - truth - below
    silent = {pair for pair in wrong if export.unrecorded(pair)}
    return Score(
        export.name,
        method.name,
        edges=len(found),
        right=len(found & reachable),
        wrong=len(wrong - silent),
        unrecorded=len(silent),
        below_floor=len(below),
        truth=len(reachable),
        not_in_graph=len(truth - reachable),
    )


def build(export: Export, options: Mapping[str, Any]) -> kgmed.KnowledgeGraph:
    return kgmed.build(export.hidden, min_patients=MIN_PATIENTS, progress=False, **options)


def score_export(export: Export, methods: tuple[Method, ...] = METHODS) -> list[Score]:
    """Every method on one export; methods with the same options share one build."""
    graphs: dict[str, kgmed.KnowledgeGraph] = {}
    scores = []
    for method in methods:
        key = repr(sorted(method.options.items()))
        if key not in graphs:
            graphs[key] = build(export, method.options)
        scores.append(score(export, method, graphs[key]))
    return scores


# -- what goes wrong -----------------------------------------------------------------


def _false_positive_why(export: Export, condition: str, drug: str) -> str:
    """What the records show about a predicted pair nobody recorded."""
    data = export.records.data
    drug_rows = data[data["concept_id"] == drug]
    holders = export.holders[condition]
    parts = []
    silent = export.silent.get((condition, drug), 0)
    if silent:
        parts.append(
            f"{silent} got it with no reason recorded, at a visit that recorded "
            f"{export.label(condition)}"
        )
    given = drug_rows[drug_rows["patient_id"].isin(holders) & drug_rows["reason_id"].notna()]
    if len(given):
        by_reason = given.groupby("reason_id", observed=True)["patient_id"].nunique()
        other = str(by_reason.idxmax())
        nested = len(holders & export.holders.get(other, frozenset()))
        parts.append(
            f"{int(by_reason.max())} have it recorded for {export.label(other)} "
            f"({nested} of the {len(holders)} with {export.label(condition)} have "
            f"{export.label(other)})"
        )
    return "; ".join(parts) or "no reason recorded with it"


def _false_negative_why(
    export: Export, condition: str, drug: str, kg: kgmed.KnowledgeGraph, kept: set[Pair]
) -> str:
    """Why a recorded pair is not in the graph."""
    label = export.label(condition)
    if condition not in kg.graph:
        if condition not in export.concepts.index:
            return f"{label} is not in the records (the reader dropped its rows)"
        kind = export.concepts.at[condition, "kind"]
        if kind != "disease":
            return f"{label} is read as a {kind}; only diseases have treatments"
        n = int(export.concepts.at[condition, "n_patients"])
        return (
            f"{label} is held by {n} patients, under the floor of {MIN_PATIENTS} "
            f"(though {export.recorded[condition, drug]} were given the drug for it)"
        )
    if not kg.graph.has_edge(condition, drug, key="treated_with"):
        return "no association edge (too rare together, or below min_confidence)"
    edges = kg.edges("treated_with")
    edges = edges[edges["target"] == drug].set_index("source")
    parts = [
        f"direct weight {edges.at[condition, 'direct_weight']:.2f}, "
        f"q {edges.at[condition, 'direct_q_value']:.2f}"
    ]
    instead = sorted(export.label(s) for s, t in kept if t == drug)
    if instead:
        parts.append("kept instead: " + ", ".join(instead))
    tested = edges[edges["direct_weight"].notna()].drop(index=condition)
    tested = tested.sort_values("n_patients", ascending=False, kind="stable").head(3)
    if len(tested):
        parts.append(
            "also tested: "
            + ", ".join(f"{export.label(s)} ({n})" for s, n in tested["n_patients"].items())
        )
    return "; ".join(parts)


def errors(export: Export, method: Method) -> pd.DataFrame:
    """The method's false positives and false negatives on one export, worst first.

    Columns: ``error``, ``condition``, ``drug``, ``n_both`` (patients with
    both), ``n_recorded`` (patients the pair is recorded for),
    ``direct_weight`` and ``direct_q_value`` (from the same build with
    ``relations="annotated"``) and ``why``: what the records show.
    """
    kg = build(export, method.options)
    found = predicted(export, method, kg)
    annotated = build(export, {**method.options, "relations": "annotated"})
    fitted = annotated.edges("treated_with").set_index(["source", "target"])
    wrong = sorted(found - export.truth - set(export.recorded))
    missed = sorted(export.truth - found)
    rows = []
    for kind, pairs in (("false positive", wrong), ("false negative", missed)):
        for condition, drug in pairs:
            edge = fitted.loc[(condition, drug)] if (condition, drug) in fitted.index else None
            why = (
                _false_positive_why(export, condition, drug)
                if kind == "false positive"
                else _false_negative_why(export, condition, drug, annotated, found)
            )
            rows.append(
                {
                    "error": kind,
                    "condition": export.label(condition),
                    "drug": export.label(drug),
                    "n_both": export.n_both((condition, drug)),
                    "n_recorded": export.recorded.get((condition, drug), 0),
                    "direct_weight": None if edge is None else float(edge["direct_weight"]),
                    "direct_q_value": None if edge is None else float(edge["direct_q_value"]),
                    "why": why,
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(["error", "n_both"], ascending=[False, False], kind="stable")


# -- the section ------------------------------------------------------------------


def run_section(exports: tuple[str, ...] = EXPORTS) -> dict[str, Any]:
    """Read, hide, build and score every export found; the errors of the target method."""
    found, skipped = [], []
    for name in exports:
        if not (run.shared_data() / name).is_dir():
            skipped.append(name)
            continue
        started = time.perf_counter()
        export = load_export(name)
        scores = score_export(export)
        export.seconds = time.perf_counter() - started
        found.append((export, scores))
    target = next(m for m in METHODS if m.name == TARGET_METHOD)
    worst = next((e for e, _ in found if e.name == ERRORS_EXPORT), None)
    return {
        "exports": found,
        "skipped": skipped,
        "errors": None if worst is None else errors(worst, target),
    }


def _f(x: float) -> str:
    return f"{x:.2f}"


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def pooled(exports: list[tuple[Export, list[Score]]]) -> list[Score]:
    """Each method's counts added up over the exports."""
    by_method = zip(*(scores for _, scores in exports), strict=True)
    return [functools.reduce(operator.add, scores) for scores in by_method]


def realdata_section(result: dict[str, Any]) -> list[str]:
    """The "Measured on real records" section of RESULTS.md, as Markdown lines."""
    exports: list[tuple[Export, list[Score]]] = result["exports"]
    lines = ["## Measured on real records", ""]
    if not exports:
        return [
            *lines,
            "Skipped: the shared Synthea exports were not found (set KGMED_SHARED_DATA to "
            "the shared data folder).",
            "",
        ]
    lines += [
        "Disease -> treatment edges learned from co-occurrence alone on the shared Synthea "
        "exports, scored against the reasons Synthea recorded on the prescriptions "
        "(`REASONCODE`), which kgmed was not shown: each export is read with "
        "`read_synthea(folder)`'s defaults, its `reason_id` set to missing, and built with "
        f"the default thresholds (`min_support=0.001`, `min_confidence=0.05`, "
        f"`min_patients={MIN_PATIENTS}`) and each method's options. Scored drugs: those with a "
        f"reason on at least {REASON_SHARE:.0%} of their rows. Truth: their (reason, drug) "
        f"pairs recorded for at least {MIN_PATIENTS} distinct patients (the floor the graph "
        "is built with, so that it may show them); pairs whose condition is not a disease "
        "node of the graph cannot be predicted and are left out of recall (*recall, all "
        "truth* keeps them). A predicted pair recorded for fewer patients than the floor is "
        "neither right nor wrong. [README.md](README.md#measured-on-real-records) says why.",
        "",
        "| export | patients | treatments | scored drugs | truth pairs | not in the graph "
        "| recorded below the floor | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for export, scores in exports:
        below = sum(1 for n in export.recorded.values() if n < MIN_PATIENTS)
        lines.append(
            _row(
                [
                    f"`{export.name}`",
                    f"{export.records.n_patients:,}",
                    export.n_treatments,
                    len(export.drugs),
                    len(export.truth),
                    scores[0].not_in_graph,
                    below,
                    f"{export.seconds:.1f}",
                ]
            )
        )
    lines += [
        "",
        "### Pooled over the exports",
        "",
        "Right, wrong and truth pairs added up over the exports, then scored.",
        "",
        "| method | edges | right | wrong | given without reasons | below the floor "
        "| precision | recall | F1 | precision, those counted wrong | recall, all truth "
        f"| target (F1 and precision >= {TARGET_F1:.2f}) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    total = pooled(exports)
    for s in total:
        lines.append(
            _row(
                [
                    s.method,
                    s.edges,
                    s.right,
                    s.wrong,
                    s.unrecorded,
                    s.below_floor,
                    _f(s.precision),
                    _f(s.recall),
                    _f(s.f1),
                    _f(s.precision_strict),
                    _f(s.recall_all),
                    _verdict(s.met),
                ]
            )
        )
    target = next(s for s in total if s.method == TARGET_METHOD)
    rules = next(s for s in total if s.method == BASELINE_METHOD)
    lines += [
        "",
        f"Target: F1 >= {TARGET_F1:.2f} with precision >= {TARGET_PRECISION:.2f} "
        f"for kgmed's default, pooled: {_verdict(target.met)}, F1 {_f(target.f1)} "
        f"(precision {_f(target.precision)}, recall {_f(target.recall)}), against "
        f"{_f(rules.f1)} for the filtered rules. *given without reasons*: predicted pairs "
        "that no patient has recorded, most of whose patients were given the drug with no "
        "reason at a visit that recorded the condition; the scored-drug rule applied to the "
        "pair, they are scored neither right nor wrong (Synthea gave these treatments "
        f"without writing the reason). The default predicted {target.unrecorded} such pairs; "
        f"counted wrong, its precision would be {_f(target.precision_strict)}.",
        "",
        "### Per export",
        "",
        "| export | method | edges | right | wrong | given without reasons | below the floor "
        "| truth pairs | precision | recall | F1 |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for export, scores in exports:
        for s in scores:
            lines.append(
                _row(
                    [
                        f"`{export.name}`",
                        s.method,
                        s.edges,
                        s.right,
                        s.wrong,
                        s.unrecorded,
                        s.below_floor,
                        s.truth,
                        _f(s.precision),
                        _f(s.recall),
                        _f(s.f1),
                    ]
                )
            )
    lines.append("")
    lines += error_lines(result["errors"])
    if result["skipped"]:
        lines += [
            "Not found, skipped: " + ", ".join(f"`{n}`" for n in result["skipped"]) + ".",
            "",
        ]
    return lines


def error_lines(table: pd.DataFrame | None, worst: int = WORST) -> list[str]:
    if table is None:
        return []
    lines = [f"### What goes wrong: {TARGET_METHOD} on `{ERRORS_EXPORT}`", ""]
    if table.empty:
        return [*lines, "No false positives or false negatives.", ""]
    counts = table["error"].value_counts()
    lines += [
        f"{counts.get('false positive', 0)} false positives and "
        f"{counts.get('false negative', 0)} false negatives, "
        f"most patients first (at most {worst} of each). *with both*: patients with the "
        "condition and the drug; *recorded*: patients given the drug for that condition; "
        'direct weight and q from the same build with `relations="annotated"`.',
        "",
        "| error | condition | drug | with both | recorded | direct weight | direct q "
        "| what the records show |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for _, group in table.groupby("error", sort=False):
        for row in group.head(worst).itertuples(index=False):
            lines.append(
                _row(
                    [
                        row.error,
                        row.condition,
                        row.drug,
                        row.n_both,
                        row.n_recorded,
                        "-" if pd.isna(row.direct_weight) else _f(row.direct_weight),
                        "-" if pd.isna(row.direct_q_value) else f"{row.direct_q_value:.2g}",
                        row.why,
                    ]
                )
            )
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    print("\n".join(realdata_section(run_section())))


if __name__ == "__main__":
    main()
