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

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kgmed._progress import check_progress, progress_bar
from kgmed._validation import check_columns
from kgmed.errors import (
    EmptyRecordsError,
    MissingValueError,
    ParameterError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
)
from kgmed.records import _common, vocab
from kgmed.records._io import Table, read_table, table_stem
from kgmed.records._normalize import clean_codes, clean_text
from kgmed.records.core import Records
from kgmed.schema import CODE_SYSTEMS, normalize_system

__all__ = [
    "CLASS_KINDS",
    "EVENT_TABLES",
    "GENDER_CONCEPTS",
    "KEPT_COLUMNS",
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

#: Every table :func:`kgmed.read_omop` reads: the event tables, the
#: ``concept`` table (required), and optionally ``concept_ancestor``,
#: ``person`` and ``visit_occurrence``.
OMOP_TABLES: tuple[str, ...] = (
    *EVENT_TABLES,
    "concept",
    "concept_ancestor",
    "person",
    "visit_occurrence",
)

#: Columns :func:`kgmed.read_omop` keeps in ``Records.data`` beside the
#: canonical ones, as the Synthea and FHIR readers do: the drug product a
#: treatment was read from (``product``, ``product_code``), the value and
#: unit of a measurement made a finding, and the OMOP concept id of the
#: event (``omop_concept_id``), to join back to the database.
#: ``Records.measurements`` has ``omop_concept_id`` too, after
#: :data:`kgmed.records.MEASUREMENT_COLUMNS`.
KEPT_COLUMNS: tuple[str, ...] = (*_common.KEPT_COLUMNS, "omop_concept_id")

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
#: The sex each standard OMOP gender concept stands for: 8507 MALE, 8532
#: FEMALE, 8521 OTHER and 8570 AMBIGUOUS; 8551 UNKNOWN and 0 (no matching
#: concept) are unknown.
GENDER_CONCEPTS: dict[int, str | None] = {
    8507: "male",
    8532: "female",
    8521: "other",
    8570: "other",
    8551: None,
    0: None,
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "concept": ("concept_id", "concept_name", "vocabulary_id", "concept_class_id", "concept_code"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
    "person": ("person_id",),
    "visit_occurrence": ("visit_occurrence_id",),
}
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
# Drug vocabularies whose concept names are RxNorm-style product names.
_RXNORM_SYSTEMS = frozenset({"RXNORM", "RXNORMEXTENSION"})


@dataclass(frozen=True)
class _Table:
    """One OMOP table as read: lower-case column names, rows named for messages."""

    name: str
    cells: Table

    @property
    def source(self) -> str:
        """The file (or mapping key) the table came from, as messages name it."""
        return self.cells.name

    @property
    def frame(self) -> pd.DataFrame:
        """The table's cells."""
        return self.cells.frame

    def rows(self, mask: pd.Series | np.ndarray) -> str:
        """The rows in ``mask``, named for a message (``line 3``, ``row 0``)."""
        return self.cells.where(mask)


@dataclass
class _Found:
    """What reading the tables found besides observations: per-file counts, notes."""

    issues: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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
    encoding: str | None = None,
    progress: bool | None = None,
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
    - Kinds: conditions by ``concept_class_id``
      (:data:`~kgmed.records.omop.CLASS_KINDS`); drugs are treatments;
      observations are findings; measurements are findings when out of
      their reference range.
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
    - Social and administrative conditions, observations and measurements
      are left out (:func:`kgmed.records.vocab.is_social`, and the answers
      to questions of class ``Survey``) unless ``social=True``.

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
        housing, "Medication review due"...) and the answers to questions of
        :data:`kgmed.records.vocab.SOCIAL_CATEGORIES` (``concept_class_id``
        ``Survey``); by default they are dropped and counted as ``social``.
    ranges : mapping of str to ReferenceRange, optional
        Reference ranges by LOINC code;
        :data:`kgmed.records.vocab.REFERENCE_RANGES` by default.
    adult_age : float or None, default 18
        The reference ranges are adults': measurements of patients younger
        than this (by the ``person`` table's birth date) are not judged and
        are counted as ``measurement of a patient under 18``. None judges
        everyone's.
    encoding : str, optional
        Text encoding of the files; by default each file's is found out
        (UTF-8 with or without a byte-order mark, UTF-16 with one, else
        Windows-1252, said in ``report.notes``). Files may be compressed
        (gzip, bz2, zstd, xz, or a zip of one table).
    progress : bool, optional
        Draw a progress bar over the files read on standard error: None
        (the default) when standard error is a terminal, True always, False
        never.

    Returns
    -------
    Records
        With the columns :data:`~kgmed.records.omop.KEPT_COLUMNS` besides the
        canonical ones, and ``Records.measurements``: every numeric value
        judged (columns :data:`kgmed.records.MEASUREMENT_COLUMNS`, then
        ``omop_concept_id``) with its status. The report counts per table
        the observations read (one per row, except that a combination drug
        gives one per ingredient), kept, and dropped by reason; a date that
        does not parse leaves its observation without a time, counted as
        ``dates not parsed`` and named (file, column, line) in ``report.notes``.
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
        If ids are not integers (the message names the table, column and
        row), dates are written as numbers, or a concept id appears twice in
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
    _common.check_options(
        basket=basket, social=social, ingredients=ingredients, ranges=ranges, adult_age=adult_age
    )
    source, loaded, notes = _load(tables, encoding=encoding, show=check_progress(progress))
    events = [name for name in EVENT_TABLES if name in loaded]
    if not events:
        raise RecordsError(
            f"{source}: no event table; read_omop needs at least one of "
            f"{[f'{t}.csv' for t in EVENT_TABLES]} beside concept.csv"
        )
    found = _Found(notes=notes)
    raws = {name: _events(loaded[name], basket=basket, found=found) for name in events}
    births = _births(loaded["person"], found) if "person" in loaded else None

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
        pieces.append(piece.assign(file=loaded[name].source, _table=name))
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
        raise _common.nothing_kept(source, sum(total.values()), total)
    long, moved = _one_kind(long)
    records = _common.to_records(
        long.assign(reason_id=pd.Series(pd.NA, index=long.index, dtype="string")),
        keep=KEPT_COLUMNS,
        basket=basket,
        source=source,
    )
    passed = _common.counts(long["file"])
    read = {}
    for name, table_counts in counts.items():
        where = loaded[name].source
        table_counts.n_read = int(passed.get(where, 0)) + sum(table_counts.drops.values())
        read[where] = table_counts.n_read
    measurements = _common.measurement_table(measured, {"omop_concept_id": "Int64"})
    notes = found.notes + _notes(loaded, counts, moved, records.data)
    notes += _common.birth_note(measurements, births, adult_age, "person, birth date")
    notes += _common.conversion_notes(measurements, "measurement")
    patients = None
    if "person" in loaded:
        sexes, odd = _sexes(loaded["person"])
        patients, said = _common.patient_table(
            records.data,
            births=births,
            sexes=sexes,
            latest=long["time"].max(),
            where=loaded["person"].source,
        )
        notes += odd + said
    return _common.finish(
        source,
        records,
        keep=KEPT_COLUMNS,
        read=read,
        passed=passed,
        drops={loaded[name].source: c.drops for name, c in counts.items()},
        measurements=measurements,
        issues=found.issues,
        unknown_systems=_unknown_systems(long),
        notes=notes,
        patients=patients,
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
        notes += _common.products_note(where, table_counts.rows, table_counts.n_read)
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
    persons = visits = None
    if "person" in loaded:
        ids = pd.Index(_ids(loaded["person"].frame["person_id"]).dropna().unique())
        persons = (loaded["person"].source, "person", ids)
    if "visit_occurrence" in loaded:
        table = loaded["visit_occurrence"]
        ids = pd.Index(_ids(table.frame["visit_occurrence_id"]).dropna().unique())
        visits = (table.source, "visit", ids)
    return notes + _common.reference_notes(data, patients=persons, encounters=visits)


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
        return ("person_id", *_BIRTH, "gender_concept_id")
    return _REQUIRED[name]


def _table_name(key: object) -> str:
    name = str(key).strip().lower()
    for suffix in _TEXT_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def _load(
    tables: str | os.PathLike[str] | Mapping[str, pd.DataFrame],
    *,
    encoding: str | None,
    show: bool = False,
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
    steps = progress_bar(list(paths.items()), show=show, desc="reading OMOP", unit="table")
    loaded = {name: _read_file(path, name, encoding=encoding) for name, path in steps}
    notes = [note for table in loaded.values() for note in table.cells.notes]
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
        table = _Table(name, Table(str(key), frame.set_axis(columns, axis=1)))
        _check_table(table)
        loaded[name] = table
    return loaded


def _split_suffix(file_name: str) -> tuple[str, str]:
    """A file's table name (lower case) and its ending (``.csv.gz``)."""
    lower = file_name.lower()
    stem = table_stem(lower)
    if stem is not None:
        return stem, lower[len(stem) :]
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
            if table_stem(path.name) is not None:
                others.append(path.name)
            continue
        if table_stem(path.name) is None:
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


def _read_file(path: Path, name: str, *, encoding: str | None) -> _Table:
    """One table file, every line checked, with only the columns read_omop uses.

    Comma- or tab-separated (OHDSI vocabulary files are tab-separated and
    unquoted: a '"' in a concept name is a character, not a quote), gzipped
    or not; column names are matched in any case.
    """

    def columns(header: list[str]) -> list[str]:
        lower = [c.strip().lower() for c in header]
        check_columns(pd.DataFrame(columns=lower), _required(name, lower), where=path.name)
        wanted = set(_columns_wanted(name))
        return [raw for raw, low in zip(header, lower, strict=True) if low in wanted]

    cells = read_table(
        path,
        encoding=encoding,
        columns=columns,
        min_columns=1 if len(_REQUIRED.get(name, (1, 2))) == 1 else 2,
    )
    frame = cells.frame.set_axis([str(c).strip().lower() for c in cells.frame.columns], axis=1)
    table = _Table(name, Table(cells.name, frame, cells.row_lines, cells.notes))
    _check_table(table)
    return table


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


def _dates(
    table: _Table, column: str, found: _Found, *, outcome: str = _common.KEPT_UNDATED
) -> pd.Series:
    """A date or datetime column as UTC times, parsed once per distinct value.

    A value that is not a date is NaT, counted (``dates not parsed``) and
    named in a note.
    """
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
    parsed = _common.utc_times(distinct, format="mixed")
    bad = parsed.isna()
    if bad.any():
        first = str(distinct[bad].iloc[0])
        rows = text.isin(distinct[bad]).to_numpy()
        count = found.issues.setdefault(table.source, {})
        count[_common.DATES_NOT_PARSED] = count.get(_common.DATES_NOT_PARSED, 0) + int(rows.sum())
        found.notes.append(
            _common.dates_note(
                table.source,
                f"column {column!r}",
                int(rows.sum()),
                first,
                table.rows((text == first).fillna(False).to_numpy(dtype=bool)),
                outcome=outcome,
            )
        )
    taken = parsed.astype("datetime64[ns, UTC]").array.take(codes, allow_fill=True)
    return pd.Series(taken, index=text.index, dtype="datetime64[ns, UTC]")


def _text(frame: pd.DataFrame, column: str, clean: Callable[[pd.Series], pd.Series]) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return clean(frame[column])


def _events(table: _Table, *, basket: str, found: _Found) -> pd.DataFrame:
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
            times = times.fillna(_dates(table, column, found))
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


def _births(table: _Table, found: _Found) -> pd.Series | None:
    """Birth dates by person id, or None when the table has none.

    ``birth_datetime``, else year, month and day of birth (a missing month or
    day counts as the first).
    """
    frame = table.frame
    if not any(column in frame.columns for column in _BIRTH):
        return None
    born = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if "birth_datetime" in frame.columns:
        born = _dates(
            table,
            "birth_datetime",
            found,
            outcome="those persons are dated by year_of_birth where given, else their "
            "values are judged as adults'",
        )
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


def _sexes(table: _Table) -> tuple[pd.Series | None, list[str]]:
    """Each person's sex by ``gender_concept_id`` (:data:`GENDER_CONCEPTS`), and notes.

    An id that is none of OMOP's gender concepts is read as unknown, and a
    note says so. None without the column.
    """
    if "gender_concept_id" not in table.frame.columns:
        return None, []
    concepts = _optional_integers(table, "gender_concept_id")
    sexes = concepts.map(GENDER_CONCEPTS).astype("string")
    odd = concepts.notna() & ~concepts.isin(list(GENDER_CONCEPTS))
    notes = []
    if odd.any():
        notes.append(
            f"{table.source}: column 'gender_concept_id' holds {int(odd.sum()):,} id(s) that "
            f"are none of OMOP's gender concepts (8507, 8532, 8521, 8570, 8551), such as "
            f"{int(concepts[odd].iloc[0])} at {table.rows(odd)}; their sex is left unknown"
        )
    ids = _ids(table.frame["person_id"])
    known = (ids.notna() & sexes.notna()).to_numpy(bool)
    by_id = pd.Series(sexes.to_numpy()[known], index=ids[known].to_numpy(), dtype="string")
    return by_id[~by_id.index.duplicated()], notes


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
    _count(counts.drops, _common.NO_CONCEPT, no_concept)
    _count(counts.unmapped, "no concept", no_concept)
    obs = resolved.loc[~no_concept].assign(
        product=pd.Series(pd.NA, index=resolved.index, dtype="string"),
        product_code=pd.Series(pd.NA, index=resolved.index, dtype="string"),
        value=np.nan,
        unit=pd.Series(pd.NA, index=resolved.index, dtype="string"),
        question=pd.Series(pd.NA, index=resolved.index, dtype="string"),
    )
    measurements = None
    if table.name != "drug_exposure" and not social:
        # The concept itself: a condition, a finding, or the question or test
        # that an answer or a value is to.
        survey = obs["class"].str.casefold().isin(vocab.SOCIAL_CATEGORIES).to_numpy(bool)
        found = survey | vocab.is_social(_tagged(obs["label"], obs["class"])).to_numpy(bool)
        _count(counts.drops, _common.SOCIAL, found)
        obs = obs.loc[~found]
    if table.name == "observation":
        obs, measurements = _answers(obs, raw, concepts, counts, ranges, adult_age, births)
        if not social:
            # An answer may be social where its question is not.
            answered = obs["question"].notna().to_numpy(bool)
            found = answered & vocab.is_social(_tagged(obs["label"], obs["class"])).to_numpy(bool)
            _count(counts.drops, _common.SOCIAL, found)
            obs = obs.loc[~found]
    if table.name == "condition_occurrence":
        # A concept whose class names no tag is classified by its SNOMED CT code.
        snomed = obs["code"].where(obs["system"].eq("SNOMEDCT").fillna(False))
        kinds = vocab.kinds_of_snomed(
            _tagged(obs["label"], obs["class"]), codes=snomed, default=event.kind
        )
        obs = obs.assign(kind=kinds)
    else:
        obs = obs.assign(kind=event.kind)
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
        _count(counts.drops, _common.NO_ENCOUNTER, no_visit)
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


def _tagged(labels: pd.Series, classes: pd.Series) -> pd.Series:
    """Names with the SNOMED CT semantic tag their concept class stands for.

    OMOP names carry no tag; :data:`CLASS_KINDS` gives the tag of a class,
    so the vocabulary rules read an OMOP concept as they read a Synthea or
    FHIR description: ``Dependent drug abuse`` of class ``Disorder`` is
    ``Dependent drug abuse (disorder)``.
    """
    tags = classes.str.casefold().map(_TAG_OF_CLASS).astype("string")
    return (labels + " (" + tags + ")").fillna(labels).astype("string")


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
    _count(counts.drops, _common.NOT_NUMERIC_OR_CODED, worded)
    _count(counts.drops, _common.WITHOUT_VALUE, bare)
    answers = concepts.reindex(pd.Index(answer_ids.where(answered), dtype="Int64"))
    answers.index = obs.index
    finding = (answers["system"] == "SNOMEDCT") & (
        answers["class"].str.casefold() != "qualifier value"
    )
    qualifier = answered & ~finding.fillna(False).to_numpy(bool)
    _count(counts.drops, _common.QUALIFIER, qualifier)
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
        exploded = _common.to_ingredients(named, np.ones(len(named), dtype=bool))
        exploded = exploded.assign(
            _part=exploded.groupby("_row").cumcount().to_numpy(),
            vocabulary=pd.Series(pd.NA, index=exploded.index, dtype="string"),
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
    """Measurements out of their reference range as findings, and every value judged."""
    measured = raw.loc[obs.index]
    unit_ids = measured["unit_concept"]
    usable = unit_ids.isin(concepts.index).to_numpy(bool) & (unit_ids != 0).to_numpy(
        bool, na_value=False
    )
    unit_concepts = concepts.reindex(pd.Index(unit_ids.where(usable), dtype="Int64"))
    ucum = (unit_concepts["system"] == "UCUM").fillna(False).to_numpy(bool)
    units = pd.Series(unit_concepts["code"].to_numpy(), index=obs.index, dtype="string")
    units = units.where(ucum, measured["unit_source"])
    judged = _common.judge(
        pd.DataFrame(
            {
                "patient_id": obs["patient_id"],
                "encounter_id": obs["encounter_id"],
                "time": obs["time"],
                "concept_id": _common.concept_ids(obs["system"], obs["code"], obs["label"]),
                "label": obs["label"],
                "loinc": obs["code"].where(obs["system"] == "LOINC"),
                "value": measured["value"],
                "unit": units,
                "omop_concept_id": obs["omop_concept_id"],
            },
            index=obs.index,
        ),
        ranges=ranges,
        adult_age=adult_age,
        births=births,
    )
    status = judged["status"]
    if adult_age is not None:
        young = f"under {adult_age:g}"
        _count(counts.drops, f"measurement of a patient {young}", (status == young).to_numpy())
    for value, reason in _common.MEASUREMENT_DROPS.items():
        _count(counts.drops, reason, (status == value).to_numpy())
    hit = (status == "flagged").to_numpy()
    flagged = obs.loc[hit].assign(
        label=judged.loc[hit, "finding"],
        system=pd.NA,
        code=pd.NA,
        vocabulary=pd.NA,
        value=judged.loc[hit, "value"],
        unit=judged.loc[hit, "unit"],
    )
    return flagged, judged.reset_index(drop=True)


def _one_kind(long: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Give a concept found in several tables the kind of the first table.

    A concept has one kind, and a table says which (a condition is a disease
    or a symptom, an observation a finding); when an ETL puts one concept in
    two tables, the first of :data:`EVENT_TABLES` decides.
    """
    keys = _common.concept_ids(long["system"], long["code"], long["label"])
    order = long["_table"].map(EVENT_TABLES.index)
    kinds = _common.one_kind(
        keys, long["kind"], untagged=np.zeros(len(long), dtype=bool), order=order
    )
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
