"""Read OMOP CDM v5.4 tables: conditions, drugs, observations and measurements.

The OMOP Common Data Model keeps each kind of clinical event in its own table
(``condition_occurrence``, ``drug_exposure``, ``observation``,
``measurement``) and names every event by an integer ``concept_id`` that the
``concept`` table turns into a name, a vocabulary and a code. This module
joins the two and maps what it finds to kgmed's concepts: ids
``<SYSTEM>:<concept_code>`` (``SNOMEDCT:44054006``), kinds from the concept
class and the table, drug products grouped to their ingredients, numeric
measurements made findings through reference ranges, and social concepts
left out, everything counted in the report. ``docs/reading-omop.md`` explains
each choice.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from kgmed._validation import check_choice, check_columns
from kgmed.errors import (
    EmptyRecordsError,
    MissingValueError,
    ParameterError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
)
from kgmed.records import vocab
from kgmed.records._normalize import clean_codes, clean_text, label_key
from kgmed.records.core import BASKETS, Records, RecordsReport, _some_rows
from kgmed.records.csv import _line_numbers, _parser_message
from kgmed.schema import CODE_SYSTEMS, normalize_system

__all__ = [
    "CLASS_KINDS",
    "EVENT_TABLES",
    "KEPT_COLUMNS",
    "MEASUREMENT_COLUMNS",
    "OMOP_TABLES",
    "read_omop",
]

#: The OMOP tables whose rows become observations, in the order they are read.
EVENT_TABLES: tuple[str, ...] = (
    "condition_occurrence",
    "drug_exposure",
    "observation",
    "measurement",
)

#: Every table :func:`read_omop` reads: the event tables, the ``concept``
#: table (required), and optionally ``concept_ancestor``, ``person`` and
#: ``visit_occurrence``.
OMOP_TABLES: tuple[str, ...] = (
    *EVENT_TABLES,
    "concept",
    "concept_ancestor",
    "person",
    "visit_occurrence",
)

#: Columns :func:`read_omop` keeps in :attr:`Records.data` beside the
#: canonical ones, as the Synthea and FHIR readers do: the drug product a
#: treatment was read from (``product``, ``product_code``), the value and
#: unit of a measurement made a finding, and the OMOP concept id of the
#: event (``omop_concept_id``), to join back to the database.
KEPT_COLUMNS: tuple[str, ...] = ("product", "product_code", "value", "unit", "omop_concept_id")

#: Columns of :attr:`Records.measurements`: one row per measurement read,
#: whatever its status (``flagged``, ``in range``, ``no range``...).
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "encounter_id",
    "time",
    "concept_id",
    "label",
    "value",
    "unit",
    "status",
    "finding",
    "omop_concept_id",
)

#: The SNOMED CT semantic tag each OMOP ``concept_class_id`` stands for. OMOP
#: names carry no tag (``Viral sinusitis``, not ``Viral sinusitis
#: (disorder)``), so a condition's kind is read from its class as from the
#: tag (:func:`kgmed.records.vocab.kind_of_snomed`): ``Disorder`` is a
#: disease, ``Clinical Finding`` a symptom (a finding when it is a
#: measurement or a status), ``Context-dependent`` a finding, ``Procedure``
#: a procedure. A condition of any other class (an ICD-10-CM source concept)
#: is a disease.
CLASS_KINDS: dict[str, str] = {
    "Disorder": "disorder",
    "Clinical Finding": "finding",
    "Context-dependent": "situation",
    "Procedure": "procedure",
    "Event": "event",
    "Social Context": "person",
    "Observable Entity": "observable entity",
    "Morph Abnormality": "morphologic abnormality",
}
_TAG_OF_CLASS = {name.casefold(): tag for name, tag in CLASS_KINDS.items()}


@dataclass(frozen=True)
class _Event:
    """The columns of one event table, as the CDM names them."""

    concept: str
    date: str
    datetime: str
    source_value: str
    source_concept: str
    kind: str


_EVENTS: dict[str, _Event] = {
    "condition_occurrence": _Event(
        "condition_concept_id",
        "condition_start_date",
        "condition_start_datetime",
        "condition_source_value",
        "condition_source_concept_id",
        "disease",
    ),
    "drug_exposure": _Event(
        "drug_concept_id",
        "drug_exposure_start_date",
        "drug_exposure_start_datetime",
        "drug_source_value",
        "drug_source_concept_id",
        "treatment",
    ),
    "observation": _Event(
        "observation_concept_id",
        "observation_date",
        "observation_datetime",
        "observation_source_value",
        "observation_source_concept_id",
        "finding",
    ),
    "measurement": _Event(
        "measurement_concept_id",
        "measurement_date",
        "measurement_datetime",
        "measurement_source_value",
        "measurement_source_concept_id",
        "finding",
    ),
}
_MEASURED = ("value_as_number", "unit_concept_id", "unit_source_value")
_ANSWERED = ("value_as_concept_id", "value_as_string")
# An observation of one of these is a question or a test: its value, not the
# concept, says something of the patient.
_QUESTION_SYSTEMS = frozenset({"LOINC", "PPI"})
_QUESTION_CLASSES = frozenset(
    {"observable entity", "survey", "question", "lab test", "clinical observation"}
)
_BIRTH = ("birth_datetime", "year_of_birth", "month_of_birth", "day_of_birth")
_REQUIRED: dict[str, tuple[str, ...]] = {
    "concept": ("concept_id", "concept_name", "vocabulary_id", "concept_class_id", "concept_code"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
    "person": ("person_id",),
    "visit_occurrence": ("visit_occurrence_id",),
}
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
# Drug vocabularies whose concept names are RxNorm-style product names.
_RXNORM_SYSTEMS = frozenset({"RXNORM", "RXNORMEXTENSION"})
# Why a measurement was not kept, by what flag_observations says of its value.
_STATUS_DROPS = {
    "in range": "measurement in range",
    "no range": "measurement without reference range",
    "unit mismatch": "measurement unit mismatch",
    "not a number": "measurement not a number",
}
_RowLines = Callable[[list[int]], list[int]]
_Quoting = Literal[0, 1, 2, 3]


@dataclass(frozen=True)
class _Table:
    """One OMOP table as read: lower-case column names, rows named for messages."""

    name: str
    source: str
    frame: pd.DataFrame
    lines: _RowLines | None

    def rows(self, mask: pd.Series | np.ndarray) -> str:
        at = np.asarray(mask, dtype=bool)
        return _some_rows(self.frame.index[at], "row", self.lines)


@dataclass
class _Counts:
    """What became of one event table's rows."""

    rows: int
    drops: dict[str, int]
    unmapped: dict[str, int]
    n_read: int = 0
    no_ancestor: int = 0


def read_omop(
    tables: str | os.PathLike[str] | Mapping[str, pd.DataFrame],
    *,
    basket: str = "patient",
    ingredients: bool = True,
    social: bool = False,
    ranges: Mapping[str, vocab.ReferenceRange] | None = None,
    adult_age: float | None = 18,
    encoding: str = "utf-8-sig",
) -> Records:
    r"""Read records from OMOP CDM v5.4 tables.

    ``condition_occurrence``, ``drug_exposure``, ``observation`` and
    ``measurement`` rows become observations of the patient
    (``person_id``); the ``concept`` table names each ``*_concept_id``.
    ``docs/reading-omop.md`` explains every mapping choice.

    - Concept ids are ``<SYSTEM>:<concept_code>``, the ``vocabulary_id``
      mapped to kgmed's prefix (``SNOMED`` → ``SNOMEDCT``, ``RxNorm`` →
      ``RXNORM``); labels are ``concept_name``. A ``*_concept_id`` of 0
      (unmapped) or missing from ``concept`` falls back to the
      ``*_source_concept_id``, then to the ``*_source_value`` (read as a
      label); with neither, the row is dropped as ``no concept``.
    - Kinds: conditions by ``concept_class_id`` (:data:`CLASS_KINDS`);
      drugs are treatments; observations are findings; measurements are
      findings when out of their reference range.
    - Drugs are grouped to their ingredients: through ``concept_ancestor``
      when given (``RXNORM:<ingredient code>``), otherwise by reading the
      product name (:func:`kgmed.records.vocab.ingredients`, ids
      ``local:<ingredient>``, as the Synthea and FHIR readers make them).
      OMOP records no reason for a drug, so there are no recorded reasons.
    - Measurements: ``value_as_number`` and its unit (the UCUM code of
      ``unit_concept_id``, else ``unit_source_value``) are judged against
      reference ranges keyed by LOINC code
      (:func:`kgmed.records.vocab.flag_observations`); a value out of range
      becomes a finding (``HbA1c high``) with the value and unit kept.
    - Social and administrative conditions and observations are left out
      (:func:`kgmed.records.vocab.is_social`) unless ``social=True``.

    Parameters
    ----------
    tables : path-like or mapping of str to pandas.DataFrame
        A folder of CSV files named after the tables (``concept.csv``,
        ``CONDITION_OCCURRENCE.csv``: case is ignored; comma- or
        tab-separated, as OHDSI vocabulary downloads are; ``.csv``, ``.tsv``
        or ``.txt``, optionally gzipped), or a mapping of table name to
        DataFrame. ``concept`` and at least one event table are required;
        ``concept_ancestor``, ``person`` and ``visit_occurrence`` are read
        when present. Column names are matched in any case.
    basket : {"patient", "encounter"}, default "patient"
        Count co-occurrence per patient or per visit
        (``visit_occurrence_id``). Per visit, rows without one are dropped
        and counted (``no encounter``).
    ingredients : bool, default True
        Group drug products to their ingredients. False keeps each product
        (``RXNORM:<product code>``) as its own concept. Either way the
        product is kept in ``product`` and ``product_code``.
    social : bool, default False
        Keep social and administrative concepts (employment, education,
        housing, "Medication review due"...); by default they are dropped
        and counted as ``social``.
    ranges : mapping of str to ReferenceRange, optional
        Reference ranges by LOINC code;
        :data:`kgmed.records.vocab.REFERENCE_RANGES` by default.
    adult_age : float or None, default 18
        The reference ranges are adults': measurements of patients younger
        than this (by the ``person`` table's birth date) are not judged and
        are counted as ``measurement of a patient under 18``. None judges
        everyone's.
    encoding : str, default "utf-8-sig"
        Text encoding of the files.

    Returns
    -------
    Records
        With the columns :data:`KEPT_COLUMNS` besides the canonical ones,
        and :attr:`Records.measurements`: every measurement read (columns
        :data:`MEASUREMENT_COLUMNS`) with its status. The report counts per
        table the observations read (one per row, except that a combination
        drug gives one per ingredient), kept, and dropped by reason;
        ``report.measurements`` counts measurements by status,
        ``report.unknown_systems`` the observations coded in a vocabulary
        kgmed does not know, and ``report.notes`` says how many concept ids
        were unmapped (0 or not in ``concept``) and how each was read, and
        which optional tables were missing.

    Raises
    ------
    RecordsFileNotFound
        If the folder does not exist or holds no ``concept`` table.
    RecordsFileError
        If a table's file is not CSV text, is empty, is malformed (the
        message names the file and line), or two files hold one table.
    ColumnNotFound
        If a table lacks a column it needs; the message names the table.
    MissingValueError
        If an event has no ``person_id``, or a concept no ``concept_id``.
    RecordsError
        If ids are not integers or a date does not parse (the message names
        the table, column and row), or a concept id appears twice in
        ``concept``.
    EmptyRecordsError
        If no event gives an observation.
    ParameterError
        If an option is out of range, or a mapping key names no table read.

    See Also
    --------
    kgmed.Records.from_dataframe, kgmed.records.vocab

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.omop import read_omop
    >>> concept = pd.DataFrame({
    ...     "concept_id": [4112343, 19080128],
    ...     "concept_name": ["Acute viral pharyngitis", "lisinopril 10 MG Oral Tablet"],
    ...     "domain_id": ["Condition", "Drug"], "vocabulary_id": ["SNOMED", "RxNorm"],
    ...     "concept_class_id": ["Disorder", "Clinical Drug"],
    ...     "concept_code": ["195662009", "314076"]})
    >>> conditions = pd.DataFrame({"person_id": [1, 2], "condition_concept_id": [4112343, 0],
    ...     "condition_start_date": ["2020-01-03", "2020-02-01"],
    ...     "condition_source_value": ["195662009", ""]})
    >>> drugs = pd.DataFrame({"person_id": [1], "drug_concept_id": [19080128],
    ...     "drug_exposure_start_date": ["2020-01-03"]})
    >>> records = read_omop({"concept": concept, "condition_occurrence": conditions,
    ...                      "drug_exposure": drugs})
    >>> records.data[["patient_id", "concept_id", "kind", "product"]]
      patient_id          concept_id       kind                       product
    0          1  SNOMEDCT:195662009    disease                          <NA>
    1          1    local:lisinopril  treatment  lisinopril 10 MG Oral Tablet
    >>> records.report.files_frame()
                          read  kept  no concept
    condition_occurrence     2     1           1
    drug_exposure            1     1           0
    >>> records.report.notes[0]
    'condition_occurrence: 1 unmapped row (1 with concept_id 0): 1 dropped (no concept)'
    """
    check_choice("basket", basket, BASKETS)
    for name, value in (("ingredients", ingredients), ("social", social)):
        if not isinstance(value, bool):
            raise ParameterError(f"{name} must be True or False, got {value!r}")
    _check_age(adult_age)
    source, loaded, notes = _load(tables, encoding=encoding)
    events = [name for name in EVENT_TABLES if name in loaded]
    if not events:
        raise RecordsError(
            f"{source}: no event table; read_omop needs at least one of "
            f"{[f'{t}.csv' for t in EVENT_TABLES]} beside concept.csv"
        )
    raws = {name: _events(loaded[name], basket=basket) for name in events}
    births = _births(loaded["person"]) if "person" in loaded else None
    if "measurement" in raws and adult_age is not None and births is None:
        notes.append(
            "no birth dates (person table): adult reference ranges were applied to every patient"
        )

    referenced = _referenced_ids(raws)
    pairs: pd.DataFrame | None = None
    if ingredients and "concept_ancestor" in loaded and "drug_exposure" in raws:
        drugs = raws["drug_exposure"]
        drug_ids = pd.concat([drugs["concept"], drugs["source_concept"]]).dropna().unique()
        pairs = _ancestor_pairs(loaded["concept_ancestor"], drug_ids)
        referenced = referenced.union(pd.Index(pairs["ingredient"], dtype="Int64"))
    concepts = _concepts(loaded["concept"], referenced)

    pieces: list[pd.DataFrame] = []
    measured: list[pd.DataFrame] = []
    counts: dict[str, _Counts] = {}
    for name in events:
        counts[name] = _Counts(rows=len(loaded[name].frame), drops={}, unmapped={})
        piece, measurements = _observations(
            loaded[name],
            raws[name],
            concepts,
            counts[name],
            ingredients=ingredients,
            pairs=pairs,
            social=social,
            ranges=ranges,
            adult_age=adult_age,
            births=births,
            basket=basket,
        )
        pieces.append(piece.assign(_table=name))
        if measurements is not None:
            measured.append(measurements)
    long = pd.concat(pieces, ignore_index=True)
    for column in ("label", "kind", "system", "code", "vocabulary", "product", "product_code"):
        long[column] = long[column].astype("string")
    if len(long) == 0:
        total: dict[str, int] = {}
        for table_counts in counts.values():
            for reason, n in table_counts.drops.items():
                total[reason] = total.get(reason, 0) + n
        why = ", ".join(f"{n:,} {reason}" for reason, n in total.items()) or "no rows"
        raise EmptyRecordsError(f"{source}: no event gives an observation (dropped: {why})")
    long, moved = _one_kind(long)
    records = Records.from_dataframe(
        long.drop(columns="vocabulary"),
        patient="patient_id",
        concept="label",
        kind="kind",
        code="code",
        system="system",
        encounter="encounter_id",
        time="time",
        keep=[*KEPT_COLUMNS, "_table"],
        basket=basket,
        source=source,
    )
    data = records.data
    report = _report(source, loaded, counts, long, data, records.report)
    report.unknown_systems = _unknown_systems(long)
    report.notes = notes + _notes(loaded, counts, moved, data)
    measurements = _measurements(measured)
    report.measurements = _status_counts(measurements)
    return Records(
        data.drop(columns="_table"),
        report,
        basket=basket,
        extra=KEPT_COLUMNS,
        measurements=measurements,
    )


def _check_age(adult_age: object) -> None:
    if adult_age is None:
        return
    if isinstance(adult_age, bool) or not isinstance(adult_age, Real) or not float(adult_age) > 0:
        raise ParameterError(f"adult_age must be a positive number or None, got {adult_age!r}")


def _report(
    source: str,
    loaded: Mapping[str, _Table],
    counts: Mapping[str, _Counts],
    long: pd.DataFrame,
    data: pd.DataFrame,
    core: RecordsReport,
) -> RecordsReport:
    """Per-table counts: every observation read is kept or dropped for one reason."""
    passed = long["_table"].value_counts()
    kept = data["_table"].value_counts()
    files: dict[str, dict[str, int]] = {}
    dropped: dict[str, int] = {}
    for name, table_counts in counts.items():
        n_kept = int(kept.get(name, 0))
        drops = dict(table_counts.drops)
        # Records drop repeated observations (the same patient, concept,
        # encounter and time), and nothing else is left for them to drop.
        repeated = int(passed.get(name, 0)) - n_kept
        if repeated:
            drops["duplicate"] = repeated
        table_counts.n_read = n_kept + sum(drops.values())
        files[loaded[name].source] = {"read": table_counts.n_read, "kept": n_kept, **drops}
        for reason, n in drops.items():
            dropped[reason] = dropped.get(reason, 0) + n
    if "duplicate" in dropped:
        dropped["duplicate"] = dropped.pop("duplicate")
    return RecordsReport(
        source=source,
        n_read=sum(c.n_read for c in counts.values()),
        n_kept=len(data),
        dropped=dropped,
        n_patients=core.n_patients,
        n_concepts=core.n_concepts,
        n_label_variants=core.n_label_variants,
        concepts_by_kind=core.concepts_by_kind,
        files=files,
    )


def _notes(
    loaded: Mapping[str, _Table],
    counts: Mapping[str, _Counts],
    moved: Mapping[str, int],
    data: pd.DataFrame,
) -> list[str]:
    """What the report says in words.

    How many concepts were unmapped and how each was read, what combination
    drugs and concepts in two tables did, and persons and visits.
    """
    notes: list[str] = []
    for name, table_counts in counts.items():
        where = loaded[name].source
        unmapped = table_counts.unmapped
        n_unmapped = unmapped.get("concept 0", 0) + unmapped.get("not in concept table", 0)
        if n_unmapped:
            causes = [
                f"{unmapped[key]:,} {words}"
                for key, words in (
                    ("concept 0", "with concept_id 0"),
                    ("not in concept table", f"with an id not in {loaded['concept'].source}"),
                )
                if unmapped.get(key)
            ]
            outcomes = [
                f"{unmapped[key]:,} {words}"
                for key, words in (
                    ("source concept used", "read as their source concept"),
                    ("source value used", "read as their source value"),
                    ("no concept", "dropped (no concept)"),
                )
                if unmapped.get(key)
            ]
            plural = "row" if n_unmapped == 1 else "rows"
            notes.append(
                f"{where}: {n_unmapped:,} unmapped {plural} ({', '.join(causes)}): "
                f"{', '.join(outcomes)}"
            )
        if table_counts.n_read != table_counts.rows:
            notes.append(
                f"{where}: {table_counts.rows:,} rows; combination products gave one "
                f"observation per ingredient, {table_counts.n_read:,} in all"
            )
        if table_counts.no_ancestor:
            notes.append(
                f"{where}: {table_counts.no_ancestor:,} rows name a drug with no Ingredient "
                f"ancestor in {loaded['concept_ancestor'].source}; their ingredients were "
                f"read from the drug's name"
            )
        if moved.get(name):
            notes.append(
                f"{where}: {moved[name]:,} observations of a concept also found in an earlier "
                f"table take the kind it has there"
            )
    if "person" in loaded:
        persons = pd.Index(_ids(loaded["person"].frame["person_id"]).dropna().unique())
        without = len(persons.difference(pd.Index(data["patient_id"].unique())))
        notes.append(
            f"{loaded['person'].source}: {len(persons):,} persons, {without:,} of them with "
            f"no observation kept"
        )
        n_unknown = int((~data["patient_id"].isin(persons)).sum())
        if n_unknown:
            notes.append(
                f"{n_unknown:,} observations kept name a person not in {loaded['person'].source}"
            )
    if "visit_occurrence" in loaded:
        table = loaded["visit_occurrence"]
        visits = pd.Index(_ids(table.frame["visit_occurrence_id"]).dropna().unique())
        named = data["encounter_id"].notna()
        n_unknown = int((named & ~data["encounter_id"].isin(visits)).sum())
        notes.append(
            f"{table.source}: {len(visits):,} visits; {n_unknown:,} observations kept name "
            f"a visit not in it"
        )
    return notes


# -- loading ------------------------------------------------------------------------


def _columns_wanted(name: str) -> tuple[str, ...]:
    if name in _EVENTS:
        event = _EVENTS[name]
        wanted = (
            "person_id",
            "visit_occurrence_id",
            event.concept,
            event.date,
            event.datetime,
            event.source_value,
            event.source_concept,
        )
        if name == "measurement":
            return (*wanted, *_MEASURED)
        if name == "observation":
            return (*wanted, *_MEASURED, *_ANSWERED)
        return wanted
    if name == "person":
        return ("person_id", *_BIRTH)
    return _REQUIRED[name]


def _table_name(key: object) -> str:
    name = str(key).strip().lower()
    for suffix in _TEXT_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def _load(
    tables: str | os.PathLike[str] | Mapping[str, pd.DataFrame], *, encoding: str
) -> tuple[str, dict[str, _Table], list[str]]:
    """The OMOP tables given, keyed by table name; a name for the input; notes."""
    if isinstance(tables, Mapping):
        loaded = _from_frames(tables)
        if "concept" not in loaded:
            raise RecordsError(
                "OMOP tables: no 'concept' table; read_omop needs it for the names, "
                "vocabularies and codes of the concept ids. Pass tables={'concept': ..., ...}"
            )
        return "OMOP tables", loaded, []
    if not isinstance(tables, (str, os.PathLike)):
        raise ParameterError(
            f"tables must be a folder or a mapping of table name to DataFrame, "
            f"got {type(tables).__name__}"
        )
    folder = Path(tables)
    if not folder.exists():
        raise RecordsFileNotFound(f"{folder.name}: no such folder ({os.fspath(tables)!r})")
    if not folder.is_dir():
        raise RecordsFileError(
            f"{folder.name}: is a file; read_omop reads a folder of OMOP tables "
            f"(condition_occurrence.csv, concept.csv, ...) or a mapping of table "
            f"name to DataFrame"
        )
    paths, others = _table_files(folder)
    if "concept" not in paths:
        held = ", ".join(sorted(p.name for p in paths.values())) or "no OMOP table"
        raise RecordsFileNotFound(
            f"{folder.name}: no concept.csv (the folder holds {held}); read_omop needs the "
            f"OMOP concept table for the names, vocabularies and codes of the concept ids: "
            f"export it, or the rows of it your events use, beside the event tables"
        )
    loaded = {name: _read_file(path, name, encoding=encoding) for name, path in paths.items()}
    notes = []
    missing = [f"{name}.csv" for name in OMOP_TABLES if name not in paths]
    if missing:
        notes.append(f"not in the folder (optional): {', '.join(missing)}")
    if others:
        notes.append(f"not read: {', '.join(others)}")
    return folder.name, loaded, notes


def _from_frames(tables: Mapping[str, pd.DataFrame]) -> dict[str, _Table]:
    loaded: dict[str, _Table] = {}
    for key, frame in tables.items():
        name = _table_name(key)
        if name not in OMOP_TABLES:
            raise ParameterError(
                f"tables: {key!r} is not an OMOP table read_omop reads; "
                f"tables are {list(OMOP_TABLES)}"
            )
        if name in loaded:
            raise ParameterError(f"tables: two entries give the {name} table; pass one")
        if not isinstance(frame, pd.DataFrame):
            raise RecordsError(f"{key}: expected a pandas DataFrame, got {type(frame).__name__}")
        columns = [str(c).strip().lower() for c in frame.columns]
        table = _Table(name, str(key), frame.set_axis(columns, axis=1), None)
        _check_table(table)
        loaded[name] = table
    return loaded


def _split_suffix(file_name: str) -> tuple[str, str]:
    lower = file_name.lower()
    for suffix in _TEXT_SUFFIXES:
        for full in (suffix + ".gz", suffix):
            if lower.endswith(full):
                return lower[: -len(full)], full
    path = Path(lower)
    return path.stem, path.suffix


def _table_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The files of the tables read, by table name, and the other text tables."""
    found: dict[str, Path] = {}
    others: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        stem, suffix = _split_suffix(path.name)
        if stem not in OMOP_TABLES:
            if suffix.removesuffix(".gz") in _TEXT_SUFFIXES:
                others.append(path.name)
            continue
        if suffix.removesuffix(".gz") not in _TEXT_SUFFIXES:
            raise RecordsFileError(
                f"{path.name}: the {stem} table must be CSV or tab-separated text "
                f"(.csv, .tsv or .txt), not {suffix or 'a file without extension'}; "
                f"export it as CSV, or read it with pandas and pass DataFrames"
            )
        if stem in found:
            raise RecordsFileError(
                f"{folder.name}: two files hold the {stem} table, {found[stem].name} "
                f"and {path.name}; keep one"
            )
        found[stem] = path
    return found, others


def _read_file(path: Path, name: str, *, encoding: str) -> _Table:
    """One table file, with only the columns read_omop uses."""
    compressed = path.name.lower().endswith(".gz")
    opener: Any = gzip.open if compressed else open
    try:
        with opener(path, "rb") as stream:
            head: bytes = stream.read(65536)
    except (OSError, EOFError) as err:
        raise RecordsFileError(f"{path.name}: cannot be read ({err})") from err
    if not head.strip():
        raise RecordsFileError(
            f"{path.name}: the file is empty, without even a header; write the "
            f"{name} table's header, or leave the file out"
        )
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in head and not utf16:
        raise RecordsFileError(
            f"{path.name}: looks like a binary file, not CSV text "
            f"(a Parquet or spreadsheet file? export the {name} table as CSV)"
        )
    first = head.decode(encoding, errors="replace").splitlines()[0]
    sep = "\t" if "\t" in first else ","
    # OHDSI vocabulary files are tab-separated and unquoted: a '"' in a
    # concept name is a character, not a quote.
    quoting: _Quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    header = [c.strip().lower() for c in next(csv.reader([first], delimiter=sep, quoting=quoting))]
    if len(header) == 1 and len(_REQUIRED.get(name, (1, 2))) > 1:
        raise RecordsFileError(
            f"{path.name}: found one column {header[0][:40]!r} and no ',' or tab "
            f"separator; is this a CSV file?"
        )
    check_columns(pd.DataFrame(columns=header), _required(name, header), where=path.name)
    if not compressed:
        _check_last_line(path, sep=sep, quoting=quoting, n_fields=len(header), encoding=encoding)
    try:
        # Every column is read, not only those used: with usecols, pandas
        # would take a line with extra fields without a word.
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding=encoding,
            quoting=quoting,
        )
    except UnicodeDecodeError as err:
        raise RecordsFileError(
            f"{path.name}: is not {encoding} text (byte {err.start}: {err.reason}); "
            f"pass encoding= with the file's encoding"
        ) from err
    except pd.errors.ParserError as err:
        raise RecordsFileError(_parser_message(path.name, err, path, sep, encoding)) from err
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas makes the first columns the index when a row has more fields
        # than the header; the columns would shift silently.
        raise RecordsFileError(
            f"{path.name}: line 2 has {frame.index.nlevels} more field(s) than the header's "
            f"{len(header)} columns (a trailing {sep!r}?); name every column in the header "
            f"or remove the extra fields"
        )
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    wanted = set(_columns_wanted(name))
    frame = frame.loc[:, [c in wanted for c in frame.columns]]
    lines: _RowLines = _header_plus
    if sep == "," and not compressed:
        lines = _line_numbers(path, sep=sep, encoding=encoding)
    table = _Table(name, path.name, frame, lines)
    _check_table(table)
    return table


def _check_last_line(
    path: Path, *, sep: str, quoting: _Quoting, n_fields: int, encoding: str
) -> None:
    """Raise if the file ends in a line cut short, as a stopped copy leaves it.

    That is a last line with fewer fields than the header and no line break.
    """
    size = path.stat().st_size
    with path.open("rb") as stream:
        stream.seek(max(0, size - 65536))
        tail = stream.read()
    if tail.endswith((b"\n", b"\r")) or b"\n" not in tail:
        return
    last = tail.rsplit(b"\n", 1)[1].decode(encoding, errors="replace")
    fields = next(csv.reader([last], delimiter=sep, quoting=quoting), [])
    if len(fields) >= n_fields:
        return
    with path.open("rb") as stream:
        line = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b"")) + 1
    raise RecordsFileError(
        f"{path.name}: the last line ({line}) has {len(fields)} field(s) but the header has "
        f"{n_fields}, and no line break: the file looks truncated; export it again"
    )


def _header_plus(positions: list[int]) -> list[int]:
    return [p + 2 for p in positions]


def _required(name: str, columns: Sequence[str]) -> dict[str, str | None]:
    if name not in _EVENTS:
        return dict.fromkeys(_REQUIRED[name])
    event = _EVENTS[name]
    required: dict[str, str | None] = dict.fromkeys(["person_id", event.concept])
    # The CDM requires the start date; a start datetime alone is enough here.
    if event.datetime not in columns:
        required[event.date] = None
    if name == "measurement":
        required["value_as_number"] = None
    return required


def _check_table(table: _Table) -> None:
    columns = list(table.frame.columns)
    check_columns(table.frame, _required(table.name, columns), where=table.source)
    wanted = set(_columns_wanted(table.name))
    repeated = sorted({c for c in columns if columns.count(c) > 1 and c in wanted})
    if repeated:
        raise RecordsError(
            f"{table.source}: column {repeated[0]!r} appears {columns.count(repeated[0])} "
            f"times (column names are read in any case); keep one"
        )


# -- parsing rows --------------------------------------------------------------------


def _integers(table: _Table, column: str) -> pd.Series:
    """An id column as nullable integers; anything else raises naming the rows."""
    values = table.frame[column]
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("Int64")
    text = clean_codes(values)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & (numbers.isna() | (numbers % 1 != 0))
    if bad.any():
        example = str(text[bad].iloc[0])
        raise RecordsError(
            f"{table.source}: column {column!r} holds {example!r} at {table.rows(bad)}; "
            f"OMOP ids are integers"
        )
    return numbers.astype("Int64")


def _ids(values: pd.Series) -> pd.Series:
    """Person and visit ids as text; ``12.0`` is ``12``.

    pandas writes an integer column with gaps as floats, so an export made
    with it holds ``12.0`` where the database held 12.
    """
    return clean_codes(values).str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)


def _optional_integers(table: _Table, column: str) -> pd.Series:
    if column not in table.frame.columns:
        return pd.Series(pd.NA, index=table.frame.index, dtype="Int64")
    return _integers(table, column)


def _dates(table: _Table, column: str) -> pd.Series:
    """A date or datetime column as UTC times, parsed once per distinct value."""
    values = table.frame[column]
    if pd.api.types.is_numeric_dtype(values.dtype) and values.notna().any():
        raise RecordsError(
            f"{table.source}: column {column!r} holds numbers, not dates; write dates "
            f"as ISO 8601 (2021-03-04) or convert them with pandas.to_datetime first"
        )
    text = clean_text(values)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    if len(uniques) == 0:
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    distinct = pd.Series(uniques, dtype="string")
    parsed = pd.to_datetime(distinct, errors="coerce", format="mixed", utc=True)
    bad = parsed.isna()
    if bad.any():
        first = str(distinct[bad].iloc[0])
        raise RecordsError(
            f"{table.source}: column {column!r} holds {first!r}, which is not a date, "
            f"at {table.rows(text == first)}; write dates as ISO 8601 (2021-03-04 or "
            f"2021-03-04T10:30:00)"
        )
    taken = parsed.astype("datetime64[ns, UTC]").array.take(codes, allow_fill=True)
    return pd.Series(taken, index=text.index, dtype="datetime64[ns, UTC]")


def _text(frame: pd.DataFrame, column: str, clean: Callable[[pd.Series], pd.Series]) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return clean(frame[column])


def _events(table: _Table, *, basket: str) -> pd.DataFrame:
    """The rows of an event table as plain columns: who, when, which concept."""
    event = _EVENTS[table.name]
    frame = table.frame
    if basket == "encounter":
        check_columns(frame, {"visit_occurrence_id": None}, where=table.source)
    patients = _ids(frame["person_id"])
    if patients.isna().any():
        missing = patients.isna()
        raise MissingValueError(
            f"{table.source}: column 'person_id' is empty in {int(missing.sum())} row(s) "
            f"({table.rows(missing)}); every event needs the person it happened to"
        )
    times = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    for column in (event.datetime, event.date):
        if column in frame.columns:
            times = times.fillna(_dates(table, column))
    raw = pd.DataFrame(
        {
            "patient_id": patients,
            "encounter_id": _text(frame, "visit_occurrence_id", _ids),
            "time": times,
            "concept": _integers(table, event.concept),
            "source_concept": _optional_integers(table, event.source_concept),
            "source_value": _text(frame, event.source_value, clean_text),
        },
        index=frame.index,
    )
    if table.name in ("measurement", "observation"):
        numbers = pd.to_numeric(_text(frame, "value_as_number", clean_codes), errors="coerce")
        raw["value"] = numbers.astype("float64")
        raw["unit_concept"] = _optional_integers(table, "unit_concept_id")
        raw["unit_source"] = _text(frame, "unit_source_value", clean_codes)
    if table.name == "observation":
        raw["value_concept"] = _optional_integers(table, "value_as_concept_id")
        raw["value_string"] = _text(frame, "value_as_string", clean_text)
    # From here on rows are positions: a DataFrame's own index may repeat labels.
    return raw.reset_index(drop=True)


def _births(table: _Table) -> pd.Series | None:
    """Birth dates by person id, or None when the table has none.

    ``birth_datetime``, else year, month and day of birth (a missing month or
    day counts as the first).
    """
    frame = table.frame
    if not any(column in frame.columns for column in _BIRTH):
        return None
    born = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if "birth_datetime" in frame.columns:
        born = _dates(table, "birth_datetime")
    if "year_of_birth" in frame.columns:
        parts = {
            part: _optional_integers(table, f"{part}_of_birth") for part in ("year", "month", "day")
        }
        built = pd.to_datetime(
            pd.DataFrame(
                {
                    "year": parts["year"],
                    "month": parts["month"].fillna(1),
                    "day": parts["day"].fillna(1),
                }
            ).astype("float64"),
            errors="coerce",
            utc=True,
        )
        born = born.fillna(built.astype("datetime64[ns, UTC]"))
    ids = _ids(frame["person_id"])
    known = (ids.notna() & born.notna()).to_numpy(bool)
    births = pd.Series(born.to_numpy()[known], index=ids[known].to_numpy())
    return births[~births.index.duplicated()]


def _referenced_ids(raws: Mapping[str, pd.DataFrame]) -> pd.Index:
    columns = ("concept", "source_concept", "unit_concept", "value_concept")
    ids = [raw[c].dropna() for raw in raws.values() for c in columns if c in raw.columns]
    return pd.Index(pd.concat(ids).unique() if ids else [], dtype="Int64")


# -- the concept tables ------------------------------------------------------------------


def _system(vocabulary: str) -> str:
    """The concept-id prefix of an OMOP vocabulary_id (``SNOMED`` -> ``SNOMEDCT``)."""
    try:
        return normalize_system(vocabulary)
    except RecordsError:
        # OMOP vocabulary ids such as 'dm+d' are no plain word: keep their
        # letters and digits.
        word = "".join(ch for ch in vocabulary if ch.isalnum()).upper()
        return word if word[:1].isalpha() else f"V{word}"


def _concepts(table: _Table, referenced: pd.Index) -> pd.DataFrame:
    """The concepts the events use, indexed by concept_id.

    Columns ``name``, ``class``, ``vocabulary`` (as OMOP names it),
    ``system`` (kgmed's prefix) and ``code``.
    """
    frame = table.frame
    if len(frame) == 0:
        raise EmptyRecordsError(
            f"{table.source}: the concept table has no rows; read_omop needs the "
            f"concepts your events use"
        )
    ids = _integers(table, "concept_id")
    if ids.isna().any():
        missing = ids.isna()
        raise MissingValueError(
            f"{table.source}: column 'concept_id' is empty in {int(missing.sum())} "
            f"row(s) ({table.rows(missing)}); every concept needs its id"
        )
    used = ids.isin(referenced).to_numpy(bool)
    repeated = used & ids.duplicated(keep=False).to_numpy(bool)
    if repeated.any():
        first = int(ids[repeated].iloc[0])
        at = (ids == first).to_numpy(bool)
        raise RecordsError(
            f"{table.source}: concept_id {first} appears {int(at.sum())} times "
            f"({table.rows(at)}); a concept id names one concept, keep one row of it"
        )
    rows = frame.iloc[np.flatnonzero(used)]
    vocabularies = clean_codes(rows["vocabulary_id"])
    systems = {value: _system(str(value)) for value in pd.unique(vocabularies.dropna())}
    return pd.DataFrame(
        {
            "name": clean_text(rows["concept_name"]).to_numpy(),
            "class": clean_text(rows["concept_class_id"]).to_numpy(),
            "vocabulary": vocabularies.to_numpy(),
            "system": vocabularies.map(systems).astype("string").to_numpy(),
            "code": clean_codes(rows["concept_code"]).to_numpy(),
        },
        index=pd.Index(ids[used], name="concept_id", dtype="Int64"),
    )


def _ancestor_pairs(table: _Table, drugs: np.ndarray) -> pd.DataFrame:
    """(drug, ancestor) pairs of the drugs given.

    Each ancestor is a candidate ingredient; those of class Ingredient are
    kept later.
    """
    ancestor = _integers(table, "ancestor_concept_id")
    descendant = _integers(table, "descendant_concept_id")
    pairs = pd.DataFrame({"drug": descendant, "ingredient": ancestor}).dropna()
    pairs = pairs.loc[pairs["drug"].isin(drugs).to_numpy(bool)].drop_duplicates()
    return pairs.reset_index(drop=True)


# -- events to observations ----------------------------------------------------------------


def _observations(
    table: _Table,
    raw: pd.DataFrame,
    concepts: pd.DataFrame,
    counts: _Counts,
    *,
    ingredients: bool,
    pairs: pd.DataFrame | None,
    social: bool,
    ranges: Mapping[str, vocab.ReferenceRange] | None,
    adult_age: float | None,
    births: pd.Series | None,
    basket: str,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Observations of one event table, and every numeric value it holds.

    The observations have the columns given to :meth:`Records.from_dataframe`
    and ``vocabulary``; drops and unmapped concepts are counted in ``counts``.
    """
    event = _EVENTS[table.name]
    resolved = _resolve(raw, concepts, counts.unmapped)
    no_concept = (resolved["label"].isna() & resolved["code"].isna()).to_numpy(bool)
    _count(counts.drops, "no concept", no_concept)
    _count(counts.unmapped, "no concept", no_concept)
    obs = resolved.loc[~no_concept].assign(
        product=pd.Series(pd.NA, index=resolved.index, dtype="string"),
        product_code=pd.Series(pd.NA, index=resolved.index, dtype="string"),
        value=np.nan,
        unit=pd.Series(pd.NA, index=resolved.index, dtype="string"),
        question=pd.Series(pd.NA, index=resolved.index, dtype="string"),
    )
    measurements = None
    if table.name == "observation":
        obs, measurements = _answers(obs, raw, concepts, counts, ranges, adult_age, births)
    if table.name == "condition_occurrence":
        obs = obs.assign(kind=_condition_kinds(obs["label"], obs["class"], event.kind))
    else:
        obs = obs.assign(kind=event.kind)
    if table.name in ("condition_occurrence", "observation") and not social:
        is_social = (vocab.is_social(obs["label"]) | vocab.is_social(obs["question"])).to_numpy(
            bool
        )
        _count(counts.drops, "social", is_social)
        obs = obs.loc[~is_social]
    if table.name == "drug_exposure":
        coded = obs["system"].notna() & obs["code"].notna()
        obs = obs.assign(
            product=obs["label"], product_code=(obs["system"] + ":" + obs["code"]).where(coded)
        )
        if ingredients:
            obs = _to_ingredients(obs, concepts, pairs, counts)
    if table.name == "measurement":
        obs, measurements = _flag(obs, raw, concepts, counts, ranges, adult_age, births)
    if basket == "encounter":
        no_visit = obs["encounter_id"].isna().to_numpy(bool)
        _count(counts.drops, "no encounter", no_visit)
        obs = obs.loc[~no_visit]
    columns = [
        "patient_id",
        "label",
        "kind",
        "system",
        "code",
        "encounter_id",
        "time",
        "vocabulary",
        *KEPT_COLUMNS,
    ]
    return obs.loc[:, columns].reset_index(drop=True), measurements


def _count(counts: dict[str, int], reason: str, mask: pd.Series | np.ndarray) -> None:
    n = int(np.asarray(mask, dtype=bool).sum())
    if n:
        counts[reason] = counts.get(reason, 0) + n


def _resolve(raw: pd.DataFrame, concepts: pd.DataFrame, unmapped: dict[str, int]) -> pd.DataFrame:
    """Each event's concept, with unmapped cases counted in ``unmapped``.

    The ``*_concept_id``, else the source concept, else the source value as a
    label.
    """
    ids = raw["concept"]
    known = concepts.index
    zero = (ids.isna() | (ids == 0)).to_numpy(dtype=bool, na_value=True)
    absent = ~zero & ~ids.isin(known).to_numpy(dtype=bool)
    _count(unmapped, "concept 0", zero)
    _count(unmapped, "not in concept table", absent)
    missing = zero | absent
    fallback = raw["source_concept"]
    usable = fallback.isin(known).to_numpy(bool) & (fallback != 0).to_numpy(bool, na_value=False)
    by_source = missing & usable
    by_value = missing & ~by_source & raw["source_value"].notna().to_numpy(bool)
    _count(unmapped, "source concept used", by_source)
    _count(unmapped, "source value used", by_value)
    chosen = ids.mask(missing).mask(by_source, fallback)
    found = concepts.reindex(pd.Index(chosen, dtype="Int64"))
    found.index = raw.index
    label = found["name"].fillna(found["code"]).mask(by_value, raw["source_value"])
    return pd.DataFrame(
        {
            "patient_id": raw["patient_id"],
            "encounter_id": raw["encounter_id"],
            "time": raw["time"],
            "omop_concept_id": chosen.astype("Int64"),
            "label": label.astype("string"),
            "class": found["class"].astype("string"),
            "vocabulary": found["vocabulary"].astype("string"),
            "system": found["system"].astype("string"),
            "code": found["code"].astype("string"),
        },
        index=raw.index,
    )


def _condition_kinds(labels: pd.Series, classes: pd.Series, default: str) -> pd.Series:
    """Kinds of conditions from their concept class, read as a SNOMED semantic tag."""
    pairs = pd.DataFrame({"label": labels, "class": classes.str.casefold()}, index=labels.index)
    distinct = pairs.drop_duplicates()
    kinds = [
        vocab.kind_of_snomed(f"{label} ({_TAG_OF_CLASS[cls]})")
        if isinstance(cls, str) and cls in _TAG_OF_CLASS
        else default
        for label, cls in distinct.itertuples(index=False)
    ]
    merged = pairs.merge(distinct.assign(kind=kinds), on=["label", "class"], how="left")
    return pd.Series(merged["kind"].to_numpy(), index=labels.index, dtype="string")


def _answers(
    obs: pd.DataFrame,
    raw: pd.DataFrame,
    concepts: pd.DataFrame,
    counts: _Counts,
    ranges: Mapping[str, vocab.ReferenceRange] | None,
    adult_age: float | None,
    births: pd.Series | None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Observations of questions and tests as what their value says.

    A concept that is a question or a test (LOINC, or a class such as
    Observable Entity or Survey) says nothing of the patient by itself: its
    coded answer (``value_as_concept_id``, a SNOMED CT concept other than a
    qualifier value such as "Negative") is the finding, and a number is
    judged against its reference range as a measurement is. Other values,
    and no value, are counted and dropped. Any other observation (a SNOMED
    CT finding or situation, an allergy) is the finding itself.
    """
    classes = obs["class"].str.casefold()
    questions = (obs["system"].isin(_QUESTION_SYSTEMS) | classes.isin(_QUESTION_CLASSES)).to_numpy(
        bool
    )
    if not questions.any():
        return obs, None
    values = raw.loc[obs.index]
    answer_ids = values["value_concept"]
    answered = (
        questions
        & answer_ids.isin(concepts.index).to_numpy(bool)
        & (answer_ids != 0).to_numpy(bool, na_value=False)
    )
    numbered = questions & ~answered & values["value"].notna().to_numpy(bool)
    worded = questions & ~answered & ~numbered & values["value_string"].notna().to_numpy(bool)
    bare = questions & ~(answered | numbered | worded)
    _count(counts.drops, "observation value not numeric or coded", worded)
    _count(counts.drops, "observation without value", bare)
    answers = concepts.reindex(pd.Index(answer_ids.where(answered), dtype="Int64"))
    answers.index = obs.index
    finding = (answers["system"] == "SNOMEDCT") & (
        answers["class"].str.casefold() != "qualifier value"
    )
    qualifier = answered & ~finding.fillna(False).to_numpy(bool)
    _count(counts.drops, "observation qualifier value", qualifier)
    coded = answered & ~qualifier
    plain = obs.loc[~questions | coded].copy()
    at = coded[~questions | coded]
    plain.loc[at, "question"] = plain.loc[at, "label"]
    for column, source in (
        ("label", "name"),
        ("class", "class"),
        ("vocabulary", "vocabulary"),
        ("system", "system"),
        ("code", "code"),
    ):
        plain.loc[at, column] = answers.loc[plain.index[at], source].astype("string")
    if not numbered.any():
        return plain, None
    flagged, measurements = _flag(
        obs.loc[numbered], raw, concepts, counts, ranges, adult_age, births
    )
    joined = pd.concat([plain, flagged]).sort_index(kind="stable")
    return joined, measurements


def _to_ingredients(
    obs: pd.DataFrame,
    concepts: pd.DataFrame,
    pairs: pd.DataFrame | None,
    counts: _Counts,
) -> pd.DataFrame:
    """One observation per ingredient of each drug product.

    An Ingredient-class concept is its own ingredient. Otherwise the
    ingredients are the product's ancestors of class Ingredient in
    ``concept_ancestor`` when it was given; failing that, for RxNorm names,
    what :func:`kgmed.records.vocab.ingredients` reads in the name. Any other
    product (a CVX vaccine, a source value) stays itself.
    """
    obs = obs.assign(_row=np.arange(len(obs)), _part=0)
    is_ingredient = (obs["class"].str.casefold() == "ingredient").fillna(False).to_numpy(bool)
    done = [obs.loc[is_ingredient]]
    rest = obs.loc[~is_ingredient]
    if pairs is not None:
        classes = concepts["class"].reindex(pd.Index(pairs["ingredient"], dtype="Int64"))
        of_class = (classes.str.casefold() == "ingredient").fillna(False).to_numpy(bool)
        ingredient_of = pairs.loc[of_class].sort_values(["drug", "ingredient"], kind="stable")
        ingredient_of = ingredient_of.assign(_part=ingredient_of.groupby("drug").cumcount())
        mapped = rest.drop(columns="_part").merge(
            ingredient_of, left_on="omop_concept_id", right_on="drug", how="inner"
        )
        if len(mapped):
            found = concepts.reindex(pd.Index(mapped["ingredient"], dtype="Int64"))
            mapped = mapped.assign(
                label=found["name"].fillna(found["code"]).to_numpy(),
                **{c: found[c].to_numpy() for c in ("class", "vocabulary", "system", "code")},
            ).drop(columns=["drug", "ingredient"])
            done.append(mapped)
        has_pair = rest["omop_concept_id"].isin(ingredient_of["drug"]).to_numpy(bool)
        counts.no_ancestor += int((~has_pair).sum())
        rest = rest.loc[~has_pair]
    by_name = rest["system"].isin(_RXNORM_SYSTEMS).fillna(False).to_numpy(bool)
    done.append(rest.loc[~by_name])
    named = rest.loc[by_name]
    if len(named):
        parsed = {name: vocab.ingredients(name) or [name] for name in pd.unique(named["label"])}
        exploded = named.assign(label=named["label"].map(parsed)).explode("label")
        exploded = exploded.assign(
            _part=exploded.groupby(level=0).cumcount().to_numpy(),
            label=exploded["label"].astype("string"),
            system=pd.NA,
            code=pd.NA,
            vocabulary=pd.NA,
        )
        done.append(exploded)
    joined = pd.concat(done, ignore_index=True).sort_values(["_row", "_part"], kind="stable")
    return joined.drop(columns=["_row", "_part"]).reset_index(drop=True)


def _flag(
    obs: pd.DataFrame,
    raw: pd.DataFrame,
    concepts: pd.DataFrame,
    counts: _Counts,
    ranges: Mapping[str, vocab.ReferenceRange] | None,
    adult_age: float | None,
    births: pd.Series | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measurements out of their reference range as findings, and every value read."""
    measured = raw.loc[obs.index]
    unit_ids = measured["unit_concept"]
    usable = unit_ids.isin(concepts.index).to_numpy(bool) & (unit_ids != 0).to_numpy(
        bool, na_value=False
    )
    unit_concepts = concepts.reindex(pd.Index(unit_ids.where(usable), dtype="Int64"))
    ucum = (unit_concepts["system"] == "UCUM").fillna(False).to_numpy(bool)
    units = pd.Series(unit_concepts["code"].to_numpy(), index=obs.index, dtype="string")
    units = units.where(ucum, measured["unit_source"])
    loinc = (obs["system"] == "LOINC").fillna(False).to_numpy(bool)
    judged = vocab.flag_observations(
        pd.DataFrame(
            {"code": obs["code"].where(loinc), "value": measured["value"], "unit": units},
            index=obs.index,
        ),
        ranges=ranges,
    )
    status = np.array(judged["status"].astype(object).to_numpy(), dtype=object)
    if adult_age is not None and births is not None:
        born = obs["patient_id"].map(births)
        years = (obs["time"] - born).dt.days.to_numpy(dtype=float, na_value=np.nan) / 365.2425
        young = (years < adult_age) & np.isin(status, ["flagged", "in range"])
        status[young] = f"under {adult_age:g}"
        _count(counts.drops, f"measurement of a patient under {adult_age:g}", young)
    for value, reason in _STATUS_DROPS.items():
        _count(counts.drops, reason, status == value)
    coded = obs["system"].notna() & obs["code"].notna()
    local = "local:" + label_key(obs["label"]).str.replace(" ", "_")
    measurements = pd.DataFrame(
        {
            "patient_id": obs["patient_id"],
            "encounter_id": obs["encounter_id"],
            "time": obs["time"],
            "concept_id": (obs["system"] + ":" + obs["code"]).where(coded, local),
            "label": obs["label"],
            "value": measured["value"],
            "unit": units,
            "status": pd.array(status, dtype="string"),
            # A finding only for the values judged out of range.
            "finding": judged["finding"].astype("string").where(status == "flagged"),
            "omop_concept_id": obs["omop_concept_id"],
        }
    ).reset_index(drop=True)
    hit = status == "flagged"
    flagged = obs.loc[hit].assign(
        label=judged.loc[hit, "finding"],
        system=pd.NA,
        code=pd.NA,
        vocabulary=pd.NA,
        value=measured.loc[hit, "value"],
        unit=units[hit],
    )
    return flagged, measurements


def _one_kind(long: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Give a concept found in several tables the kind of the first table.

    A concept has one kind, and a table says which (a condition is a disease
    or a symptom, an observation a finding); when an ETL puts one concept in
    two tables, the first of :data:`EVENT_TABLES` decides.
    """
    coded = long["system"].notna() & long["code"].notna()
    local = "local:" + label_key(clean_text(long["label"]))
    keys = (long["system"] + ":" + long["code"]).where(coded, local)
    first = long.assign(_key=keys).drop_duplicates("_key").set_index("_key")["kind"]
    kinds = keys.map(first).astype("string")
    moved = (kinds != long["kind"]).fillna(False).to_numpy(bool)
    if not moved.any():
        return long, {}
    changed = long.loc[moved, "_table"].value_counts()
    return long.assign(kind=kinds), {str(k): int(v) for k, v in changed.items()}


def _unknown_systems(long: pd.DataFrame) -> dict[str, int]:
    """Observations per OMOP vocabulary that is none of kgmed's known systems."""
    known = long["system"].isin(list(CODE_SYSTEMS)).to_numpy(bool)
    unknown = long.loc[~known & long["vocabulary"].notna().to_numpy(bool), "vocabulary"]
    return {str(name): int(n) for name, n in unknown.value_counts().items()}


def _measurements(measured: list[pd.DataFrame]) -> pd.DataFrame:
    if measured:
        return pd.concat(measured, ignore_index=True).loc[:, list(MEASUREMENT_COLUMNS)]
    empty = {c: pd.Series(dtype="string") for c in MEASUREMENT_COLUMNS}
    empty["time"] = pd.Series(dtype="datetime64[ns, UTC]")
    empty["value"] = pd.Series(dtype="float64")
    empty["omop_concept_id"] = pd.Series(dtype="Int64")
    return pd.DataFrame(empty)


def _status_counts(measurements: pd.DataFrame) -> dict[str, int]:
    order = ["flagged", "in range", "no range", "unit mismatch", "not a number"]
    counts = measurements["status"].value_counts()
    found = [s for s in order if s in counts.index]
    found += sorted(str(s) for s in counts.index if s not in order)
    return {status: int(counts[status]) for status in found}
