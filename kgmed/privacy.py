"""An audit of what a graph would give away: :func:`privacy_report`.

kgmed's guarantees (see ``docs/privacy.md``) are structural: no patient
identifier is kept in a graph, and no count under the floor is exported.
This audit checks them on a given graph, and reports what the floor does
not prevent: counts that differ from another by fewer than ``min_patients``
patients (differencing), from which a small group can be recovered.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph
    from kgmed.records import Records

__all__ = ["PATIENT_FIELDS", "PrivacyReport", "privacy_report"]

#: Attribute names that would hold data about one patient: none of them
#: may be on a node or an edge of a graph.
PATIENT_FIELDS: frozenset[str] = frozenset(
    {
        "patient",
        "patient_id",
        "patients",
        "person_id",
        "encounter",
        "encounter_id",
        "time",
        "date",
        "birth_date",
        "birthdate",
        "age",
        "sex",
        "gender",
        "name",
        "address",
    }
)
_COUNT = re.compile(r"^n_(?!total$|baskets$|concepts_suppressed$|direct_removed$)")
_TOKEN = re.compile(r"[^\s\"'<>{}()\[\],;=|\\]+")


@dataclass(frozen=True)
class PrivacyReport:
    """What a graph's exports hold that bears on privacy.

    Attributes
    ----------
    min_patients : int or None
        The floor in force: no exported count is smaller (None when the
        graph does not say, as for one read from a file without it).
    smallest_count : int or None
        The smallest number of patients behind any concept, relation or
        rule (None for an empty graph).
    n_counts : int
        How many patient counts the graph holds.
    n_below_floor : int
        Counts from 1 to ``min_patients - 1``: none unless put on the graph
        by hand. The RDF and KGX exports leave them out even then.
    patient_fields : list of str
        Attributes of nodes or edges named like patient-level data
        (:data:`PATIENT_FIELDS`); none in a graph kgmed built.
    n_ids_checked : int
        Patient and encounter ids of ``records`` looked for in the graph's
        JSON and RDF exports (0 without ``records``).
    n_ids_skipped : int
        Ids too short or all digits to be told from a count (``"7"``),
        which were not looked for.
    ids_found : list of str
        Ids of ``records`` found in an export (at most 10 are listed).
    dates_found : list of str
        Dates of ``records`` (``YYYY-MM-DD``) found in an export.
    n_differencing : int
        Relations whose patients differ from those of their source or
        target by 1 to ``min_patients - 1`` (``n_source - n_patients``): a
        group below the floor that subtraction recovers. The floor does not
        prevent these; see ``docs/privacy.md``.
    n_near_everyone : int
        Concepts held by all but 1 to ``min_patients - 1`` patients: the
        few without them are a small cell too.
    notes : list of str
        Anything else worth knowing, such as a floor lowered below 11.
    """

    min_patients: int | None
    smallest_count: int | None
    n_counts: int
    n_below_floor: int
    patient_fields: list[str] = field(default_factory=list)
    n_ids_checked: int = 0
    n_ids_skipped: int = 0
    ids_found: list[str] = field(default_factory=list)
    dates_found: list[str] = field(default_factory=list)
    n_differencing: int = 0
    n_near_everyone: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing under the floor and no patient-level data is present."""
        return not (self.n_below_floor or self.patient_fields or self.ids_found or self.dates_found)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain Python values (for JSON)."""
        return {**asdict(self), "ok": self.ok}

    def __str__(self) -> str:
        floor = "not stated" if self.min_patients is None else f"{self.min_patients}"
        lines = [
            f"Privacy report: {'nothing under the floor, no patient data' if self.ok else 'PROBLEMS FOUND'}",
            f"  floor (min_patients)              {floor}",
            f"  smallest count exported           {self.smallest_count}",
            f"  counts under the floor            {self.n_below_floor:,}",
            f"  patient-level fields              {', '.join(self.patient_fields) or 'none'}",
        ]
        if self.n_ids_checked or self.n_ids_skipped:
            lines += [
                f"  patient ids looked for            {self.n_ids_checked:,}"
                f" ({self.n_ids_skipped:,} too short or numeric to check)",
                f"  ids found in the exports          {len(self.ids_found):,}",
                f"  record dates found in the exports {len(self.dates_found):,}",
            ]
        lines += [
            f"  relations open to differencing    {self.n_differencing:,}",
            f"  concepts held by all but a few    {self.n_near_everyone:,}",
        ]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def privacy_report(kg: KnowledgeGraph, records: Records | None = None) -> PrivacyReport:
    """Audit a graph for what its exports would give away.

    Parameters
    ----------
    kg : KnowledgeGraph
    records : Records, optional
        The records the graph was built from. With them, every patient and
        encounter id (of four characters or more, not all digits) and every
        date of the records is looked for in the graph's JSON and RDF
        (N-Triples) exports.

    Returns
    -------
    PrivacyReport

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(2000, random_state=0)
    >>> kg = kgmed.build(records)
    >>> report = kg.privacy_report(records)
    >>> report.ok, report.min_patients, report.smallest_count >= 11
    (True, 11, True)
    >>> report.n_ids_checked, report.ids_found
    (2000, [])
    """
    floor = kg.params.get("min_patients")
    floor = int(floor) if floor is not None else None
    counts = list(_counts(kg))
    positive = [c for c in counts if c > 0]
    below = sum(1 for c in positive if floor is not None and c < floor)
    fields = sorted(
        {
            str(key)
            for _, data in kg.graph.nodes(data=True)
            for key in data
            if str(key).lower() in PATIENT_FIELDS
        }
        | {
            str(key)
            for _, _, data in kg.graph.edges(data=True)
            for key in data
            if str(key).lower() in PATIENT_FIELDS
        }
    )
    notes = []
    if floor is not None and floor < 11:
        notes.append(
            f"the floor is {floor}, below the usual 11: only for data that is not about real "
            f"people or stays in a protected environment"
        )
    report: dict[str, Any] = {}
    if records is not None:
        report = _look_for(kg, records)
    return PrivacyReport(
        min_patients=floor,
        smallest_count=min(positive) if positive else None,
        n_counts=len(counts),
        n_below_floor=below,
        patient_fields=fields,
        n_differencing=_differencing(kg, floor),
        n_near_everyone=_near_everyone(kg, floor),
        notes=notes,
        **report,
    )


def _counts(kg: KnowledgeGraph) -> Iterable[int]:
    """Every count of patients the graph holds: nodes, edges and rules."""
    for _, data in kg.graph.nodes(data=True):
        yield from _count_values(data)
    for _, _, data in kg.graph.edges(data=True):
        yield from _count_values(data)
    rules = kg.rules
    for column in ("n_antecedent", "n_consequent", "n_both", "n_patients"):
        if column in rules:
            yield from (int(v) for v in rules[column].dropna())


def _count_values(data: dict[str, Any]) -> Iterable[int]:
    for key, value in data.items():
        is_count = _COUNT.match(str(key)) and isinstance(value, (int, float))
        if is_count and not isinstance(value, bool) and not math.isnan(value):
            yield int(value)


def _differencing(kg: KnowledgeGraph, floor: int | None) -> int:
    if floor is None or floor <= 1:
        return 0
    edges = kg.edges()
    if edges.empty:
        return 0
    n = pd.to_numeric(edges["n_patients"], errors="coerce")
    exposed = pd.Series(False, index=edges.index)
    for side in ("n_source", "n_target"):
        if side in edges:
            gap = pd.to_numeric(edges[side], errors="coerce") - n
            exposed |= (gap > 0) & (gap < floor)
    return int(exposed.sum())


def _near_everyone(kg: KnowledgeGraph, floor: int | None) -> int:
    total = kg.params.get("n_patients")
    if floor is None or floor <= 1 or total is None:
        return 0
    nodes = kg.nodes()
    if nodes.empty:
        return 0
    gap = int(total) - pd.to_numeric(nodes["n_patients"], errors="coerce")
    return int(((gap > 0) & (gap < floor)).sum())


def _look_for(kg: KnowledgeGraph, records: Records) -> dict[str, Any]:
    """Ids and dates of ``records`` found in the graph's JSON and N-Triples exports."""
    from kgmed.graph import _json_text
    from kgmed.rdf._export import serialize, to_rdf

    texts = [_json_text(kg), serialize(to_rdf(kg), "nt")]
    tokens: set[str] = set()
    for text in texts:
        tokens.update(_TOKEN.findall(text))
        tokens.update(re.findall(r"\d{4}-\d{2}-\d{2}", text))
    data = records.data
    ids = pd.concat([data["patient_id"], data["encounter_id"]]).dropna().astype(str).unique()
    checkable = [i for i in ids if len(i) >= 4 and not i.isdigit()]
    found = sorted(i for i in checkable if i in tokens)
    times = pd.to_datetime(data["time"], errors="coerce", utc=True).dropna()
    dates = set(times.dt.strftime("%Y-%m-%d"))
    return {
        "n_ids_checked": len(checkable),
        "n_ids_skipped": len(ids) - len(checkable),
        "ids_found": found[:10],
        "dates_found": sorted(dates & tokens)[:10],
    }
