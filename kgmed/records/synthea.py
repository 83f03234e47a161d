"""Read a Synthea CSV export into Records."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kgmed._progress import check_progress, progress_bar
from kgmed.errors import (
    ColumnNotFound,
    EmptyRecordsError,
    MissingValueError,
    ParameterError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
)
from kgmed.records import _common
from kgmed.records._io import Table, read_table, table_file, table_stem
from kgmed.records._normalize import clean_codes, clean_text, per_distinct
from kgmed.records._patients import _read_sexes
from kgmed.records.core import Records
from kgmed.records.vocab import (
    SOCIAL_CATEGORIES,
    ReferenceRange,
    allergy_findings,
    is_social,
    kinds_of_snomed,
    semantic_tags,
    strip_semantic_tag,
)
from kgmed.schema import known_system

__all__ = ["KEPT_COLUMNS", "SYNTHEA_TABLES", "read_synthea"]

#: The tables :func:`kgmed.read_synthea` reads observations from, in the
#: order read.
SYNTHEA_TABLES: tuple[str, ...] = (
    "conditions",
    "medications",
    "observations",
    "procedures",
    "allergies",
)

#: Columns :func:`kgmed.read_synthea` keeps in ``Records.data`` beside the
#: canonical ones, as every standard reader does: the drug product a
#: treatment was read from (``product``, ``product_code``) and the value of a
#: measurement made a finding (``value``, ``unit``).
KEPT_COLUMNS: tuple[str, ...] = _common.KEPT_COLUMNS


@dataclass(frozen=True)
class _Spec:
    """The columns of one Synthea table that the reader uses."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # The first of these that the file has is the time column (Synthea 2
    # wrote procedures with DATE, Synthea 3 with START).
    time: tuple[str, ...] = ("START",)


_SPECS: dict[str, _Spec] = {
    "conditions": _Spec(("PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION")),
    "medications": _Spec(
        ("PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "REASONCODE"), ("REASONDESCRIPTION",)
    ),
    "observations": _Spec(
        ("PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "VALUE", "UNITS", "TYPE"),
        ("CATEGORY",),
        time=("DATE",),
    ),
    "procedures": _Spec(
        ("PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
        ("REASONCODE", "REASONDESCRIPTION"),
        time=("START", "DATE"),
    ),
    "allergies": _Spec(("PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"), ("SYSTEM", "TYPE")),
    "patients": _Spec(("Id",), ("BIRTHDATE", "DEATHDATE", "GENDER"), time=()),
    "encounters": _Spec(("Id",), time=()),
}

_LOINC = r"\d{1,8}-\d"
# The columns of the facts table every table reader returns.
_FACTS: tuple[str, ...] = (
    "file",
    "patient_id",
    "encounter_id",
    "time",
    "system",
    "code",
    "label",
    "kind",
    "tagged",
    "reason_id",
    "product",
    "product_code",
    "value",
    "unit",
    "drop",
)


def read_synthea(
    folder: str | os.PathLike[str],
    *,
    basket: str = "patient",
    social: bool = False,
    ingredients: bool = True,
    ranges: Mapping[str, ReferenceRange] | None = None,
    adult_age: float | None = 18,
    tables: Sequence[str] = SYNTHEA_TABLES,
    encoding: str | None = None,
    progress: bool | None = None,
) -> Records:
    r"""Read Synthea's CSV export (``output/csv``) into Records.

    Conditions become diseases, symptoms or findings by the SNOMED CT
    semantic tag of their description; medications become treatments,
    grouped to their active ingredients, with the condition each was
    prescribed for (``REASONCODE``) as a recorded reason; numeric
    observations outside their reference range become findings
    (``"HbA1c high"``); procedures and allergies are read as procedures and
    findings. ``docs/reading-synthea.md`` explains each choice.

    Parameters
    ----------
    folder : str or path-like
        The export folder: the one holding ``conditions.csv`` (required),
        ``medications.csv``, ``observations.csv``, ``procedures.csv``,
        ``allergies.csv``, ``patients.csv`` and ``encounters.csv`` (each
        optional). Synthea's ``output`` folder, with the tables in its
        ``csv`` subfolder, is read as well.
    basket : {"patient", "encounter"}, default "patient"
        What mining counts co-occurrence in: a patient's whole record, or
        one encounter (``ENCOUNTER``). Per encounter, rows without an
        encounter are dropped and counted.
    social : bool, default False
        Keep social and administrative concepts (employment, education,
        housing, "Medication review due"; see
        :func:`kgmed.records.vocab.is_social`) and the observations of the
        survey and social-history categories (``CATEGORY``; smoking status,
        questionnaires). By default they are dropped and counted as
        ``"social"``.
    ingredients : bool, default True
        Group drug products to their active ingredients (``lisinopril 10 MG
        Oral Tablet`` becomes ``local:lisinopril``; a combination product
        gives one treatment per ingredient). False: each product is its own
        concept (``RXNORM:314076``). Either way the product is kept in the
        ``product`` and ``product_code`` columns.
    ranges : mapping of str to ReferenceRange, optional
        Reference ranges by LOINC code for numeric observations;
        :data:`kgmed.records.vocab.REFERENCE_RANGES` by default.
    adult_age : float or None, default 18
        The reference ranges are adults'; observations of patients younger
        than this (by ``patients.csv``'s ``BIRTHDATE``) are not judged
        against them and are counted as ``"measurement of a patient under
        18"``. None judges every patient's.
    tables : sequence of str, default all of :data:`~kgmed.records.synthea.SYNTHEA_TABLES`
        Which tables to read observations from, such as
        ``("conditions", "medications")``.
    encoding : str, optional
        Text encoding of the CSV files; by default each file's is found out
        (UTF-8 with or without a byte-order mark, UTF-16 with one, else
        Windows-1252, said in ``report.notes``). Files may be compressed
        (gzip, bz2, zstd, xz, or a zip of one table) and their fields split
        by ``,``, ``;``, tab or ``|``: both are told from the file.
    progress : bool, optional
        Draw a progress bar over the tables read on standard error: None
        (the default) when standard error is a terminal, True always, False
        never.

    Returns
    -------
    Records
        With the columns :data:`~kgmed.records.synthea.KEPT_COLUMNS` besides
        the canonical ones, and ``Records.measurements``: every numeric
        observation judged (columns :data:`kgmed.records.MEASUREMENT_COLUMNS`)
        with its status.
        The report counts, per file (:meth:`RecordsReport.files_frame`), the
        observations read, kept and dropped by reason; every row is one
        observation, except that a combination product gives one per
        ingredient. A date that does not parse leaves its observation
        without a time, counted per file as ``dates not parsed`` and named
        (file, line and value) in ``report.notes``. ``report.measurements``
        counts the numeric observations by status, ``report.unknown_systems``
        the codes of systems kgmed does not know, and ``report.notes`` says
        which files were missing or not read.

    Raises
    ------
    RecordsFileNotFound
        If ``folder`` does not exist or holds no ``conditions.csv``; the
        message lists what it holds.
    RecordsFileError
        If a file is empty, not text in ``encoding``, or malformed: a line
        with more or fewer fields than the header (a truncated file), or a
        quoted field that never closes. The message names the file and line.
    ColumnNotFound
        If a file lacks a column the reader needs.
    MissingValueError
        If a row has no patient id.
    RecordsError
        If a code holds spaces; the message names the file, line and value.
    EmptyRecordsError
        If no observation is left to keep.
    ParameterError
        If an option is out of range.

    See Also
    --------
    kgmed.records.vocab : The vocabulary rules shared by the standard readers.
    kgmed.read_records : Read any long or wide CSV file.

    Examples
    --------
    >>> import os, tempfile
    >>> from kgmed.records.synthea import read_synthea
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "conditions.csv"), "w") as f:
    ...     _ = f.write("START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n"
    ...                 "2020-01-02,,p1,e1,444814009,Viral sinusitis (disorder)\n"
    ...                 "2020-01-02,,p1,e1,160903007,Full-time employment (finding)\n")
    >>> with open(os.path.join(folder, "medications.csv"), "w") as f:
    ...     _ = f.write("START,STOP,PATIENT,PAYER,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,"
    ...                 "PAYER_COVERAGE,DISPENSES,TOTALCOST,REASONCODE,REASONDESCRIPTION\n"
    ...                 "2020-01-02T10:00:00Z,,p1,x,e1,308182,Amoxicillin 250 MG Oral Capsule,"
    ...                 "1,0,1,1,444814009,Viral sinusitis (disorder)\n")
    >>> records = read_synthea(folder)
    >>> records.data[["concept_id", "label", "kind", "reason_id"]]
               concept_id            label       kind           reason_id
    0  SNOMEDCT:444814009  Viral sinusitis    disease                <NA>
    1   local:amoxicillin      amoxicillin  treatment  SNOMEDCT:444814009
    >>> records.report.files_frame()
                     read  kept  social
    conditions.csv      2     1       1
    medications.csv     1     1       0
    """
    _common.check_options(
        basket=basket, social=social, ingredients=ingredients, ranges=ranges, adult_age=adult_age
    )
    _check_tables(tables)
    root, source = _export_folder(Path(folder))
    wanted = [name for name in SYNTHEA_TABLES if name in set(tables)]
    state = _State(social=social, ingredients=ingredients, ranges=ranges, adult_age=adult_age)
    patient_ids, encounter_ids = _reference_tables(root, encoding, state)
    pieces: list[pd.DataFrame] = []
    measured: list[pd.DataFrame] = []
    file_rows: dict[str, int] = {}
    show = check_progress(progress)
    for name in progress_bar(wanted, show=show, desc="reading Synthea", unit="table"):
        found = table_file(root, name)
        if found is None:
            state.notes.append(f"{name}.csv: not in the export (optional)")
            continue
        path = found
        table = _read_table(path, _SPECS[name], encoding, state)
        file_rows[path.name] = len(table.frame)
        facts, measurements = _READERS[name](table, state)
        pieces.append(facts.assign(order=SYNTHEA_TABLES.index(name)))
        if measurements is not None:
            measured.append(measurements)
    skipped = sorted(
        p.name
        for p in root.iterdir()
        if table_stem(p.name) not in (None, *wanted, "patients", "encounters") and p.is_file()
    )
    if skipped:
        state.notes.append(f"not read: {', '.join(skipped)}")
    if not pieces:
        raise EmptyRecordsError(
            f"{source}: the export holds none of the tables asked for ({', '.join(wanted)})"
        )

    facts = pd.concat(pieces, ignore_index=True)
    if basket == "encounter":
        facts["drop"] = _common.mark(
            facts["drop"], facts["encounter_id"].isna(), _common.NO_ENCOUNTER
        )
    kept = facts.loc[facts["drop"].isna().to_numpy()]
    if len(kept) == 0:
        raise _common.nothing_kept(source, len(facts), _common.counts(facts["drop"], sort=True))
    ids = _common.concept_ids(kept["system"], kept["code"], kept["label"])
    kept = kept.assign(
        kind=_common.one_kind(ids, kept["kind"], untagged=~kept["tagged"], order=kept["order"])
    )
    records = _common.to_records(kept, keep=KEPT_COLUMNS, basket=basket, source=source)
    measurements = _common.measurement_table(measured)
    notes = list(state.notes)
    n_read = facts["file"].value_counts()
    for name, rows in file_rows.items():
        notes += _common.products_note(name, rows, int(n_read.get(name, 0)))
    notes += _common.reference_notes(
        records.data,
        patients=None if patient_ids is None else ("patients.csv", "patient", patient_ids),
        encounters=None
        if encounter_ids is None
        else ("encounters.csv", "encounter", encounter_ids),
    )
    notes += _common.birth_note(measurements, state.births, adult_age, "patients.csv, BIRTHDATE")
    notes += _common.conversion_notes(measurements, "observations.csv")
    patients, said = _common.patient_table(
        records.data,
        births=state.births,
        sexes=state.sexes,
        deaths=state.deaths,
        latest=facts["time"].max(),
        where="patients.csv",
    )
    notes += said
    return _common.finish(
        source,
        records,
        keep=KEPT_COLUMNS,
        read=_common.counts(facts["file"]),
        passed=_common.counts(kept["file"]),
        drops=_common.file_drops(facts["file"], facts["drop"]),
        measurements=measurements,
        issues=state.issues,
        unknown_systems=dict(state.unknown.most_common()),
        notes=notes,
        patients=patients,
    )


@dataclass
class _State:
    """The options the table readers follow, and what they find on the way."""

    social: bool
    ingredients: bool
    ranges: Mapping[str, ReferenceRange] | None
    adult_age: float | None
    births: pd.Series | None = None
    deaths: pd.Series | None = None
    sexes: pd.Series | None = None
    unknown: Counter[str] = field(default_factory=Counter)
    # Per file, counts that are not drops (dates not parsed).
    issues: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _reference_tables(
    root: Path, encoding: str | None, state: _State
) -> tuple[pd.Index | None, pd.Index | None]:
    """Patient ids (and birth dates) from patients.csv, encounter ids from encounters.csv."""
    patient_ids, encounter_ids = None, None
    patients = table_file(root, "patients")
    if patients is not None:
        table = _read_table(patients, _SPECS["patients"], encoding, state)
        ids = clean_codes(table.frame["Id"])
        patient_ids = pd.Index(ids.dropna().unique())
        if "BIRTHDATE" in table.frame:
            births = _times(
                table,
                "BIRTHDATE",
                state,
                outcome=f"{_common.JUDGED_AS_ADULTS}, and their age is unknown",
            )
            state.births = _by_id(ids, births)
        if "DEATHDATE" in table.frame:
            deaths = _times(
                table,
                "DEATHDATE",
                state,
                outcome="those patients are aged at their last observation",
            )
            state.deaths = _by_id(ids, deaths)
        if "GENDER" in table.frame:
            state.sexes = _by_id(ids, _sexes(table))
    else:
        state.notes.append("patients.csv: not in the export (optional)")
    encounters_file = table_file(root, "encounters")
    if encounters_file is not None:
        encounters = _read_table(encounters_file, _SPECS["encounters"], encoding, state)
        encounter_ids = pd.Index(clean_codes(encounters.frame["Id"]).dropna().unique())
    else:
        state.notes.append(
            "encounters.csv: not in the export (optional); encounter ids not checked"
        )
    return patient_ids, encounter_ids


def _by_id(ids: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` by patient id, where both are known; a repeated id keeps its first row."""
    known = (ids.notna() & values.notna()).to_numpy()
    by_id = pd.Series(values.to_numpy()[known], index=ids[known].to_numpy(), dtype=values.dtype)
    return by_id[~by_id.index.duplicated()]


def _sexes(table: Table) -> pd.Series:
    """``GENDER`` (``F``, ``M``) as ``female``/``male``; anything else raises naming the line."""
    sexes, unknown = _read_sexes(table.frame["GENDER"])
    if unknown.any():
        example = str(table.frame["GENDER"][unknown].iloc[0])
        raise RecordsError(
            f"{table.name}: column 'GENDER' holds {example!r} at {table.where(unknown)}; "
            f"Synthea writes F or M (female, male or other are read too; leave it empty "
            f"where unknown)"
        )
    return sexes


# -- options and the folder ---------------------------------------------------------


def _check_tables(tables: object) -> None:
    """Raise ParameterError for a table read_synthea does not read, before any file is read."""
    if isinstance(tables, str) or not isinstance(tables, Sequence) or not tables:
        raise ParameterError(
            f"tables must be a non-empty list of table names from {list(SYNTHEA_TABLES)}, "
            f"got {tables!r}"
        )
    unknown = [t for t in tables if t not in SYNTHEA_TABLES]
    if unknown:
        raise ParameterError(
            f"tables: {unknown} are not tables read_synthea reads; choose from "
            f"{list(SYNTHEA_TABLES)} (names without .csv)"
        )


def _export_folder(path: Path) -> tuple[Path, str]:
    """The folder that holds the CSV tables, and the name the report gives it.

    That is ``path`` itself, its ``csv`` folder (Synthea's ``output``
    folder), or the one run folder inside either (Synthea writes
    ``csv/<time of the run>/`` with ``exporter.csv.folder_per_run = true``).
    """
    shown = path.name or os.fspath(path)
    if not path.exists():
        raise RecordsFileNotFound(f"{shown}: no such folder ({os.fspath(path)!r})")
    if not path.is_dir():
        raise RecordsFileError(
            f"{shown}: is a file; read_synthea reads the folder of a Synthea CSV export "
            f"(here, {os.fspath(path.parent)!r})"
        )

    def runs_in(folder: Path) -> list[str]:
        return sorted(
            child.name
            for child in folder.iterdir()
            if child.is_dir() and table_file(child, "conditions") is not None
        )

    csv = path / "csv"
    if (
        table_file(path, "conditions") is None
        and csv.is_dir()
        and (table_file(csv, "conditions") is not None or runs_in(csv))
    ):
        path = csv
        shown = f"{shown}/csv"
    if table_file(path, "conditions") is None:
        runs = runs_in(path)
        if len(runs) > 1:
            listed = ", ".join(runs[:6]) + (f" and {len(runs) - 6} more" if len(runs) > 6 else "")
            raise RecordsFileError(
                f"{shown}: holds {len(runs)} Synthea runs, one folder each ({listed}); "
                f"pass the folder of the run to read"
            )
        if runs:
            path = path / runs[0]
            shown = f"{shown}/{runs[0]}"
    if table_file(path, "conditions") is None:
        names = sorted(p.name for p in path.iterdir())
        held = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        fhir = (
            "; its fhir folder holds FHIR, which read_fhir reads"
            if (path / "fhir").is_dir()
            else ""
        )
        raise RecordsFileNotFound(
            f"{shown}: no conditions.csv, so this is not a Synthea CSV export; the folder "
            f"holds {held or 'nothing'}{fhir}. Pass the folder Synthea wrote its CSV tables to "
            f"(output/csv, with exporter.csv.export = true)"
        )
    if path.name == "csv" and shown == path.name:
        shown = f"{path.resolve().parent.name}/csv"
    return path, shown


# -- reading one file ----------------------------------------------------------------


def _read_table(path: Path, spec: _Spec, encoding: str | None, state: _State) -> Table:
    """One table of the export, every line checked, with the columns the reader uses."""
    table = read_table(
        path,
        encoding=encoding,
        columns=lambda header: _check_header(header, spec, path.name),
        min_columns=min(2, len(spec.required) + bool(spec.time)),
    )
    state.notes.extend(table.notes)
    return table


def _check_header(header: list[str], spec: _Spec, name: str) -> list[str]:
    """The columns to read; ColumnNotFound naming the first one missing."""
    needed = list(spec.required)
    if spec.time:
        time = next((column for column in spec.time if column in header), None)
        needed.append(time if time is not None else spec.time[0])
    for column in needed:
        if column not in header:
            close = [h for h in header if h.strip().upper() == column.upper()]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ColumnNotFound(
                f"{name}: column {column!r} not found; columns are {header}.{hint} "
                f"read_synthea needs {needed} in {name}; rename the column as Synthea "
                f"writes it"
            )
    used = needed + [column for column in spec.optional if column in header]
    repeated = sorted({c for c in used if header.count(c) > 1})
    if repeated:
        raise RecordsError(
            f"{name}: column {repeated[0]!r} appears {header.count(repeated[0])} times; "
            f"give each column its own name"
        )
    return used


# -- one reader per table -------------------------------------------------------------


def _base(table: Table, state: _State) -> pd.DataFrame:
    """The facts columns every table gives: file, patient, encounter, time."""
    frame = table.frame
    patients = clean_codes(frame["PATIENT"])
    missing = patients.isna()
    if missing.any():
        raise MissingValueError(
            f"{table.name}: column 'PATIENT' is empty at {table.where(missing)}; every "
            f"row needs a patient id. Fill or delete those rows"
        )
    spec = _SPECS[str(table_stem(table.name))]
    time = next(column for column in spec.time if column in frame.columns)
    facts = pd.DataFrame(
        {
            "file": table.name,
            "patient_id": patients,
            "encounter_id": clean_codes(frame["ENCOUNTER"]),
            "time": _times(table, time, state),
        },
        index=frame.index,
    )
    for column in _FACTS:
        if column not in facts:
            facts[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    facts["tagged"] = False
    facts["value"] = np.nan
    return facts


def _times(
    table: Table, column: str, state: _State, *, outcome: str = _common.KEPT_UNDATED
) -> pd.Series:
    """A column of dates in UTC; those that do not parse are NaT, counted and noted."""
    text = table.frame[column].str.strip()
    parsed = _common.utc_times(text, format="ISO8601")
    bad = (parsed.isna() & text.notna() & (text != "")).to_numpy()
    if bad.any():
        count = state.issues.setdefault(table.name, {})
        count[_common.DATES_NOT_PARSED] = count.get(_common.DATES_NOT_PARSED, 0) + int(bad.sum())
        example = str(text[bad].iloc[0])
        state.notes.append(
            _common.dates_note(
                table.name,
                f"column {column!r}",
                int(bad.sum()),
                example,
                table.where(bad),
                outcome=outcome,
            )
        )
    return parsed.astype("datetime64[ns, UTC]")


def _codes(table: Table, column: str) -> pd.Series:
    """Codes of a column, checked to hold no space (they become concept ids)."""
    codes = clean_codes(table.frame[column])
    spaced = codes.str.contains(r"\s", regex=True).fillna(False).to_numpy(dtype=bool)
    if spaced.any():
        example = str(codes[spaced].iloc[0])
        raise RecordsError(
            f"{table.name}: column {column!r} holds {example!r} at {table.where(spaced)}; "
            f"a code has no spaces"
        )
    return codes


def _of(codes: pd.Series, system: str) -> pd.Series:
    """The system of each code: ``system``, or ``<NA>`` where there is no code."""
    return pd.Series(system, index=codes.index, dtype="string").where(codes.notna())


def _snomed(table: Table, state: _State, *, default: str) -> pd.DataFrame:
    """Facts of a SNOMED CT coded table: code, label without tag, kind by tag."""
    facts = _base(table, state)
    descriptions = clean_text(table.frame["DESCRIPTION"])
    codes = _codes(table, "CODE")
    facts["code"] = codes
    facts["system"] = _of(codes, "SNOMEDCT")
    facts["label"] = clean_text(strip_semantic_tag(descriptions))
    # A description without its tag is classified by its code (vocab.snomed_tag).
    facts["kind"] = kinds_of_snomed(descriptions, codes=codes, default=default)
    facts["tagged"] = semantic_tags(descriptions, codes=codes).notna().to_numpy()
    facts["drop"] = _common.mark(
        facts["drop"], descriptions.isna() & codes.isna(), _common.NO_CONCEPT
    )
    return facts


def _reasons(table: Table) -> pd.Series:
    """The condition each row was recorded for, as the concept id conditions get."""
    codes = _codes(table, "REASONCODE")
    descriptions = pd.Series(pd.NA, index=codes.index, dtype="string")
    if "REASONDESCRIPTION" in table.frame:
        descriptions = clean_text(table.frame["REASONDESCRIPTION"])
    return _common.concept_ids(_of(codes, "SNOMEDCT"), codes, strip_semantic_tag(descriptions))


def _conditions(table: Table, state: _State) -> tuple[pd.DataFrame, None]:
    facts = _snomed(table, state, default="disease")
    if not state.social:
        social = is_social(clean_text(table.frame["DESCRIPTION"]))
        facts["drop"] = _common.mark(facts["drop"], social, _common.SOCIAL)
    return facts, None


def _procedures(table: Table, state: _State) -> tuple[pd.DataFrame, None]:
    # Care given is never social: a procedure stays, whatever it is about
    # ("Health risks education").
    facts = _snomed(table, state, default="procedure")
    # Whatever its tag says, a row of procedures.csv is a procedure.
    facts["kind"] = "procedure"
    facts["tagged"] = True
    if "REASONCODE" in table.frame:
        facts["reason_id"] = _reasons(table)
    return facts, None


def _medications(table: Table, state: _State) -> tuple[pd.DataFrame, None]:
    facts = _base(table, state)
    products = clean_text(table.frame["DESCRIPTION"])
    codes = _codes(table, "CODE")
    facts["product"] = products
    facts["product_code"] = ("RXNORM:" + codes).astype("string")
    facts["reason_id"] = _reasons(table)
    facts["kind"] = "treatment"
    facts["tagged"] = True
    facts["code"] = codes
    facts["system"] = _of(codes, "RXNORM")
    facts["label"] = products
    facts["drop"] = _common.mark(facts["drop"], products.isna() & codes.isna(), _common.NO_CONCEPT)
    if not state.ingredients:
        return facts, None
    # Without a description there is no ingredient to name: the product stays.
    split = (products.notna() & facts["drop"].isna()).to_numpy()
    return _common.to_ingredients(facts, split), None


def _allergies(table: Table, state: _State) -> tuple[pd.DataFrame, None]:
    frame = table.frame
    facts = _base(table, state)
    descriptions = clean_text(frame["DESCRIPTION"])
    codes = _codes(table, "CODE")
    systems = pd.Series("SNOMEDCT", index=facts.index, dtype="string")
    if "SYSTEM" in frame:
        given = clean_codes(frame["SYSTEM"])
        prefixes = per_distinct(given, lambda distinct: [known_system(str(s)) for s in distinct])
        systems = prefixes.where(given.notna(), systems)
        for system, n in given[given.notna() & prefixes.isna()].value_counts().items():
            state.unknown[f"{system} ({table.name})"] += int(n)
    intolerance = None
    if "TYPE" in frame:
        intolerance = (frame["TYPE"].str.strip().str.lower() == "intolerance").fillna(False)
    labels, itself = allergy_findings(
        descriptions, snomed=(systems == "SNOMEDCT").fillna(False), intolerance=intolerance
    )
    facts["code"] = codes.where(itself)
    facts["system"] = systems.where(itself & codes.notna().to_numpy())
    facts["label"] = labels
    facts["kind"] = "finding"
    facts["tagged"] = True
    facts["drop"] = _common.mark(
        facts["drop"], descriptions.isna() & codes.isna(), _common.NO_CONCEPT
    )
    return facts, None


def _observations(table: Table, state: _State) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = table.frame
    facts = _base(table, state)
    codes = _codes(table, "CODE")
    labels = clean_text(frame["DESCRIPTION"])
    units = clean_codes(frame["UNITS"])
    loinc = codes.str.fullmatch(_LOINC).fillna(False).to_numpy(dtype=bool)
    others = codes[~loinc & codes.notna().to_numpy()]
    if len(others):
        shown = ", ".join(sorted(others.unique())[:5])
        state.unknown[f"not LOINC ({table.name}: {shown})"] += len(others)
    facts["drop"] = _common.mark(facts["drop"], codes.isna() & labels.isna(), _common.NO_CONCEPT)
    if not state.social:
        social = is_social(labels).to_numpy(dtype=bool, copy=True)
        if "CATEGORY" in frame:
            category = frame["CATEGORY"].str.strip().str.lower()
            social |= category.isin(SOCIAL_CATEGORIES).to_numpy(dtype=bool)
        facts["drop"] = _common.mark(facts["drop"], social, _common.SOCIAL)
    numeric = (frame["TYPE"].str.strip().str.lower() == "numeric").fillna(False).to_numpy()
    # Synthea's CSV writes an answer as text without its code.
    facts["drop"] = _common.mark(facts["drop"], ~numeric, _common.NOT_NUMERIC_OR_CODED)

    rows = facts["drop"].isna().to_numpy()
    loinc_codes = codes.where(loinc)
    measured = pd.DataFrame(
        {
            "patient_id": facts["patient_id"],
            "encounter_id": facts["encounter_id"],
            "time": facts["time"],
            "concept_id": _common.concept_ids(_of(loinc_codes, "LOINC"), codes, labels),
            "label": labels,
            "loinc": loinc_codes,
            "value": frame["VALUE"],
            "unit": units,
        }
    ).loc[rows]
    judged = _common.judge(
        measured, ranges=state.ranges, adult_age=state.adult_age, births=state.births
    )
    # The values judged are those not dropped yet: each is kept or dropped by its status.
    facts.loc[rows, "drop"] = _common.measurement_drops(judged["status"]).to_numpy()
    flagged = facts.index[rows][(judged["status"] == "flagged").to_numpy()]
    facts["label"] = pd.Series(pd.NA, index=facts.index, dtype="string")
    facts.loc[flagged, "label"] = judged.loc[flagged, "finding"]
    facts.loc[flagged, "value"] = judged.loc[flagged, "value"]
    facts.loc[flagged, "unit"] = judged.loc[flagged, "unit"]
    facts["kind"] = "finding"
    facts["tagged"] = True
    return facts, judged.reset_index(drop=True)


_Reader = Callable[[Table, _State], tuple[pd.DataFrame, pd.DataFrame | None]]

_READERS: dict[str, _Reader] = {
    "conditions": _conditions,
    "medications": _medications,
    "observations": _observations,
    "procedures": _procedures,
    "allergies": _allergies,
}
