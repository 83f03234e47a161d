"""Read a Synthea CSV export into Records."""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kgmed.errors import (
    ColumnNotFound,
    EmptyRecordsError,
    MissingValueError,
    ParameterError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
)
from kgmed.records._normalize import clean_codes, clean_text, label_key
from kgmed.records.core import BASKETS, Records, RecordsReport
from kgmed.records.vocab import (
    ReferenceRange,
    flag_observations,
    is_social,
    kind_of_snomed,
    semantic_tag,
    strip_semantic_tag,
)
from kgmed.records.vocab import ingredients as product_ingredients
from kgmed.schema import CODE_SYSTEMS, normalize_system

__all__ = ["KEPT_COLUMNS", "MEASUREMENT_COLUMNS", "SYNTHEA_TABLES", "read_synthea"]

#: The tables :func:`read_synthea` reads observations from, in the order read.
SYNTHEA_TABLES: tuple[str, ...] = (
    "conditions",
    "medications",
    "observations",
    "procedures",
    "allergies",
)

#: Columns :func:`read_synthea` keeps in :attr:`Records.data` beside the
#: canonical ones: the drug product a treatment was read from (``product``,
#: ``product_code``) and the value of a measurement made a finding
#: (``value``, ``unit``). The FHIR reader keeps the same.
KEPT_COLUMNS: tuple[str, ...] = ("product", "product_code", "value", "unit")

#: Columns of :attr:`Records.measurements` as :func:`read_synthea` fills it:
#: one row per numeric observation, whatever its status.
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "encounter_id",
    "time",
    "system",
    "code",
    "label",
    "value",
    "unit",
    "status",
    "finding",
)


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
        time=("DATE",),
    ),
    "procedures": _Spec(
        ("PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
        ("REASONCODE", "REASONDESCRIPTION"),
        time=("START", "DATE"),
    ),
    "allergies": _Spec(("PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"), ("SYSTEM", "TYPE")),
    "patients": _Spec(("Id",), ("BIRTHDATE",), time=()),
    "encounters": _Spec(("Id",), time=()),
}

# Why a numeric observation is not kept, by its status (the FHIR reader's words).
_STATUS_DROPS: dict[str, str] = {
    "in range": "observation in range",
    "no range": "observation without reference range",
    "unit mismatch": "observation unit mismatch",
    "not a number": "observation not a number",
}
_LOINC = r"\d{1,8}-\d"
# The columns of the facts table every table reader returns.
_FACTS: tuple[str, ...] = (
    "file",
    "order",
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
    encoding: str = "utf-8-sig",
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
        :func:`kgmed.records.vocab.is_social`). By default they are dropped
        and counted as ``"social"``.
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
        against them and are counted as ``"observation of a patient under
        18"``. None judges every patient's.
    tables : sequence of str, default all of :data:`SYNTHEA_TABLES`
        Which tables to read observations from, such as
        ``("conditions", "medications")``.
    encoding : str, default "utf-8-sig"
        Text encoding of the CSV files.

    Returns
    -------
    Records
        With the columns :data:`KEPT_COLUMNS` besides the canonical ones,
        and :attr:`Records.measurements`: every numeric observation
        (columns :data:`MEASUREMENT_COLUMNS`) with its status. The report
        counts, per file (:meth:`RecordsReport.files_frame`), the
        observations read, kept and dropped by reason; every row is one
        observation, except that a combination product gives one per
        ingredient. ``report.measurements`` counts the numeric observations
        by status, ``report.unknown_systems`` the codes of systems kgmed
        does not know, and ``report.notes`` says which files were missing
        or not read.

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
        If a date does not parse, or a code holds spaces; the message names
        the file, line and value.
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
    _check_options(basket, social, ingredients, ranges, adult_age, tables)
    root, source = _export_folder(Path(folder))
    wanted = [name for name in SYNTHEA_TABLES if name in set(tables)]
    notes: list[str] = []
    patient_ids, births, encounter_ids = _reference_tables(root, encoding, notes)
    if "observations" in wanted and adult_age is not None and births is None:
        notes.append(
            "no BIRTHDATE in the export: adult reference ranges were applied to every patient"
        )
    options = _Options(
        social=social, ingredients=ingredients, ranges=ranges, adult_age=adult_age, births=births
    )
    pieces: list[pd.DataFrame] = []
    measured: list[pd.DataFrame] = []
    unknown: Counter[str] = Counter()
    file_rows: dict[str, int] = {}
    for name in wanted:
        path = root / f"{name}.csv"
        if not path.is_file():
            notes.append(f"{path.name}: not in the export (optional)")
            continue
        table = _read_table(path, _SPECS[name], encoding)
        file_rows[path.name] = len(table.frame)
        facts, measurements = _READERS[name](table, options, unknown)
        pieces.append(facts.assign(order=SYNTHEA_TABLES.index(name)))
        if measurements is not None:
            measured.append(measurements)
    skipped = sorted(
        p.name
        for p in root.glob("*.csv")
        if p.stem not in (*wanted, "patients", "encounters") and p.is_file()
    )
    if skipped:
        notes.append(f"not read: {', '.join(skipped)}")
    if not pieces:
        raise EmptyRecordsError(
            f"{source}: the export holds none of the tables asked for ({', '.join(wanted)})"
        )

    facts = pd.concat(pieces, ignore_index=True)
    if basket == "encounter":
        _drop(facts, facts["encounter_id"].isna(), "no encounter")
    kept = facts.loc[facts["drop"].isna().to_numpy()]
    data, core = _canonical(kept, facts, basket=basket, source=source)
    notes += _reference_notes(data, patient_ids, encounter_ids, facts, file_rows)
    measurements = _measurements(measured)
    report = _report(facts, kept, data, core, source=source)
    report.unknown_systems = dict(unknown.most_common())
    report.measurements = _status_counts(measurements)
    report.notes = notes
    return Records(
        data.drop(columns="_file"),
        report,
        basket=basket,
        extra=KEPT_COLUMNS,
        measurements=measurements,
    )


def _reference_tables(
    root: Path, encoding: str, notes: list[str]
) -> tuple[pd.Index | None, pd.Series | None, pd.Index | None]:
    """Patient ids and birth dates from patients.csv, encounter ids from encounters.csv."""
    patient_ids, births, encounter_ids = None, None, None
    if (root / "patients.csv").is_file():
        patient_ids, births = _patients(
            _read_table(root / "patients.csv", _SPECS["patients"], encoding)
        )
    else:
        notes.append("patients.csv: not in the export (optional)")
    if (root / "encounters.csv").is_file():
        encounters = _read_table(root / "encounters.csv", _SPECS["encounters"], encoding)
        encounter_ids = pd.Index(clean_codes(encounters.frame["Id"]).dropna().unique())
    else:
        notes.append("encounters.csv: not in the export (optional); encounter ids not checked")
    return patient_ids, births, encounter_ids


def _canonical(
    kept: pd.DataFrame, facts: pd.DataFrame, *, basket: str, source: str
) -> tuple[pd.DataFrame, RecordsReport]:
    """The facts kept as canonical Records data (with their file), and Records' report."""
    if len(kept) == 0:
        reasons = ", ".join(f"{n} {why}" for why, n in facts["drop"].value_counts().items())
        raise EmptyRecordsError(
            f"{source}: no observation kept of {len(facts)} read (dropped: {reasons})"
        )
    kept = _one_kind(kept)
    columns = ["patient_id", "label", "kind", "system", "code", "encounter_id", "time"]
    table = kept.loc[:, [*columns, "reason_id", *KEPT_COLUMNS, "file"]]
    records = Records.from_dataframe(
        table.rename(columns={"file": "_file"}),
        patient="patient_id",
        concept="label",
        kind="kind",
        code="code",
        system="system",
        encounter="encounter_id",
        time="time",
        reason="reason_id",
        keep=[*KEPT_COLUMNS, "_file"],
        basket=basket,
        source=source,
    )
    return records.data, records.report


# -- options and the folder ---------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    """What the table readers need besides their table."""

    social: bool
    ingredients: bool
    ranges: Mapping[str, ReferenceRange] | None
    adult_age: float | None
    births: pd.Series | None


def _check_options(
    basket: object,
    social: object,
    ingredients: object,
    ranges: object,
    adult_age: object,
    tables: object,
) -> None:
    """Raise ParameterError for an option out of range, before any file is read."""
    if basket not in BASKETS:
        raise ParameterError(f"basket must be one of {list(BASKETS)}, got {basket!r}")
    for name, flag in (("social", social), ("ingredients", ingredients)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ParameterError(f"{name} must be True or False, got {flag!r}")
    if ranges is not None:
        if not isinstance(ranges, Mapping):
            raise ParameterError(
                f"ranges must map LOINC codes to ReferenceRange, got {type(ranges).__name__}"
            )
        for code, rng in ranges.items():
            if not isinstance(rng, ReferenceRange):
                raise ParameterError(
                    f"ranges[{code!r}] must be a ReferenceRange, got {type(rng).__name__}"
                )
            if rng.low is None and rng.high is None:
                raise ParameterError(f"reference range for LOINC {code} has neither low nor high")
    if adult_age is not None and (
        isinstance(adult_age, bool)
        or not isinstance(adult_age, Real)
        or not 0 <= float(adult_age) < 200
    ):
        raise ParameterError(f"adult_age must be a number of years or None, got {adult_age!r}")
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
    """The folder that holds the CSV tables, and the name the report gives it."""
    shown = path.name or os.fspath(path)
    if not path.exists():
        raise RecordsFileNotFound(f"{shown}: no such folder ({os.fspath(path)!r})")
    if not path.is_dir():
        raise RecordsFileError(
            f"{shown}: is a file; read_synthea reads the folder of a Synthea CSV export "
            f"(here, {os.fspath(path.parent)!r})"
        )
    if not (path / "conditions.csv").is_file() and (path / "csv" / "conditions.csv").is_file():
        path = path / "csv"
        shown = f"{shown}/csv"
    if not (path / "conditions.csv").is_file():
        names = sorted(p.name for p in path.iterdir())
        held = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        raise RecordsFileNotFound(
            f"{shown}: no conditions.csv, so this is not a Synthea CSV export; the folder "
            f"holds {held or 'nothing'}. Pass the folder Synthea wrote its CSV tables to "
            f"(output/csv, with exporter.csv.export = true)"
        )
    if path.name == "csv" and shown == path.name:
        shown = f"{path.resolve().parent.name}/csv"
    return path, shown


# -- reading one file ----------------------------------------------------------------


@dataclass
class _Table:
    """One CSV table: its cells as text, and the file line of each row."""

    name: str
    frame: pd.DataFrame
    lines: np.ndarray
    time: str | None

    def where(self, mask: pd.Series | np.ndarray, limit: int = 5) -> str:
        """The lines of the rows in ``mask``, for messages."""
        at = self.lines[np.asarray(mask, dtype=bool)]
        shown = ", ".join(str(n) for n in at[:limit])
        more = f" and {len(at) - limit} more" if len(at) > limit else ""
        return f"line{'s' if len(at) > 1 else ''} {shown}{more}"


def _read_table(path: Path, spec: _Spec, encoding: str) -> _Table:
    name = path.name
    raw = path.read_bytes()
    if not raw.strip():
        raise RecordsFileError(
            f"{name}: the file is empty; Synthea writes a header line even for a table "
            f"without rows (was the export interrupted?)"
        )
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise RecordsFileError(
            f"{name}: line {line} is not {encoding} text (byte {err.start}: {err.reason}); "
            f"pass encoding= with the file's encoding"
        ) from err
    header, lines = _scan(raw, name, encoding)
    used = _check_header(header, spec, name)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            usecols=used,
            encoding=encoding,
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise RecordsFileError(f"{name}: cannot be parsed as CSV ({err})") from err
    if len(frame) != len(lines):
        # The scan and pandas split rows alike; if not, lines are a guess.
        lines = np.arange(2, len(frame) + 2)
    time = next((column for column in spec.time if column in header), None)
    return _Table(name=name, frame=frame.reset_index(drop=True), lines=lines, time=time)


def _scan(raw: bytes, name: str, encoding: str) -> tuple[list[str], np.ndarray]:
    """The header, and the line of each data row, once every row is checked.

    Every row of a CSV table has as many fields as its header; a file cut
    short ends with a row that has fewer, or inside a quoted field. The
    check is vectorised over the file's bytes: commas and newlines inside
    quotes do not count.
    """
    buffer = np.frombuffer(raw, dtype=np.uint8)
    quoted = np.bitwise_xor.accumulate(buffer == ord('"'))
    newlines = np.flatnonzero(buffer == ord("\n"))
    breaks = np.flatnonzero((buffer == ord("\n")) & ~quoted)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buffer)]))
    commas = np.flatnonzero((buffer == ord(",")) & ~quoted)
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    length = ends - starts
    carriage = (length > 0) & (buffer[np.maximum(ends - 1, 0)] == ord("\r"))
    blank = (length - carriage) == 0
    line = np.searchsorted(newlines, starts) + 1
    rows = np.flatnonzero(~blank)
    head, rows = rows[0], rows[1:]
    header_text = raw[starts[head] : ends[head]].decode(encoding).rstrip("\r")
    header = next(csv.reader([header_text]))
    if quoted[-1]:
        opened = line[rows[-1]] if len(rows) else line[head]
        raise RecordsFileError(
            f"{name}: line {opened} opens a quoted field that never closes: the file "
            f"looks truncated. Export it again, or remove that line"
        )
    bad = rows[fields[rows] != len(header)]
    if len(bad):
        first = bad[0]
        cut = first == rows[-1] and not raw.endswith(b"\n")
        why = (
            "; the file ends there without a newline: it looks truncated. Export it again"
            if cut
            else ": the row is malformed (an unquoted comma, or fields missing)"
        )
        more = (
            f" (and {len(bad) - 1} more lines, such as line {line[bad[1]]})" if len(bad) > 1 else ""
        )
        raise RecordsFileError(
            f"{name}: line {line[first]} has {fields[first]} fields but the header has "
            f"{len(header)}{more}{why}"
        )
    return header, line[rows]


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


def _base(table: _Table, patient: str = "PATIENT") -> pd.DataFrame:
    """The facts columns every table gives: file, patient, encounter, time."""
    frame = table.frame
    patients = clean_codes(frame[patient])
    missing = patients.isna()
    if missing.any():
        raise MissingValueError(
            f"{table.name}: column {patient!r} is empty at {table.where(missing)}; every "
            f"row needs a patient id. Fill or delete those rows"
        )
    facts = pd.DataFrame(
        {
            "file": table.name,
            "patient_id": patients,
            "encounter_id": clean_codes(frame["ENCOUNTER"]),
            "time": _times(table, table.time),
        },
        index=frame.index,
    )
    for column in _FACTS:
        if column not in facts:
            facts[column] = pd.NA
    facts["tagged"] = False
    facts["value"] = np.nan
    for column in ("system", "code", "label", "kind", "reason_id", "product"):
        facts[column] = facts[column].astype("string")
    for column in ("product_code", "unit", "drop"):
        facts[column] = facts[column].astype("string")
    return facts


def _times(table: _Table, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(pd.NaT, index=table.frame.index, dtype="datetime64[us, UTC]")
    text = table.frame[column].str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = parsed.isna() & text.notna() & (text != "")
    if bad.any():
        example = str(text[bad].iloc[0])
        raise RecordsError(
            f"{table.name}: column {column!r} holds {example!r} at {table.where(bad)}, "
            f"which is not a date; Synthea writes ISO 8601 dates such as 2019-07-08 "
            f"or 2019-07-08T23:38:03Z"
        )
    return parsed


def _drop(facts: pd.DataFrame, mask: pd.Series | np.ndarray, reason: str) -> None:
    """Mark rows dropped for ``reason``, unless already dropped for another."""
    hit = np.asarray(mask, dtype=bool) & facts["drop"].isna().to_numpy()
    if hit.any():
        facts.loc[hit, "drop"] = reason


def _per_value(values: pd.Series, func: Callable[[str], Any]) -> np.ndarray:
    """``func`` of each distinct value (missing ones give None), over all of ``values``.

    Tables repeat a few hundred descriptions over many rows: each is looked
    at once.
    """
    return _per_distinct(values, lambda distinct: [func(str(value)) for value in distinct])


def _per_distinct(values: pd.Series, func: Callable[[pd.Series], Any]) -> np.ndarray:
    """``func`` of the distinct values as a Series, spread back over ``values``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    answers = np.empty(len(uniques) + 1, dtype=object)
    answers[:-1] = list(func(pd.Series(uniques, dtype="string")))
    answers[-1] = None
    return answers[codes]


def _codes(table: _Table, column: str) -> pd.Series:
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


def _snomed(table: _Table, facts: pd.DataFrame, options: _Options, *, default: str) -> pd.DataFrame:
    """Code, label and kind of a SNOMED CT coded table, with the social filter."""
    descriptions = clean_text(table.frame["DESCRIPTION"])
    codes = _codes(table, "CODE")
    facts["code"] = codes
    facts["system"] = pd.Series("SNOMEDCT", index=facts.index, dtype="string").where(codes.notna())
    facts["label"] = clean_text(strip_semantic_tag(descriptions))
    facts["kind"] = pd.array(
        _per_value(descriptions, lambda text: kind_of_snomed(text, default=default)),
        dtype="string",
    )
    facts["tagged"] = pd.notna(_per_value(descriptions, semantic_tag))
    _drop(facts, descriptions.isna() & codes.isna(), "no concept")
    if not options.social:
        social = _per_distinct(descriptions, lambda distinct: is_social(distinct).tolist())
        _drop(facts, social == True, "social")  # noqa: E712 (None for no description)
    return facts


def _reasons(table: _Table) -> pd.Series:
    """The condition each row was recorded for, as the concept id conditions get."""
    frame = table.frame
    codes = _codes(table, "REASONCODE")
    coded = "SNOMEDCT:" + codes
    if "REASONDESCRIPTION" not in frame:
        return coded.astype("string")
    labels = clean_text(strip_semantic_tag(clean_text(frame["REASONDESCRIPTION"])))
    local = "local:" + label_key(labels).str.replace(" ", "_")
    return coded.fillna(local).astype("string")


def _conditions(
    table: _Table, options: _Options, unknown: Counter[str]
) -> tuple[pd.DataFrame, None]:
    facts = _snomed(table, _base(table), options, default="disease")
    return facts, None


def _procedures(
    table: _Table, options: _Options, unknown: Counter[str]
) -> tuple[pd.DataFrame, None]:
    facts = _snomed(table, _base(table), options, default="procedure")
    # Whatever its tag says, a row of procedures.csv is a procedure.
    facts["kind"] = "procedure"
    facts["tagged"] = True
    if "REASONCODE" in table.frame:
        facts["reason_id"] = _reasons(table)
    return facts, None


def _medications(
    table: _Table, options: _Options, unknown: Counter[str]
) -> tuple[pd.DataFrame, None]:
    facts = _base(table)
    products = clean_text(table.frame["DESCRIPTION"])
    codes = _codes(table, "CODE")
    facts["product"] = products
    facts["product_code"] = ("RXNORM:" + codes).astype("string")
    facts["reason_id"] = _reasons(table)
    facts["kind"] = "treatment"
    facts["tagged"] = True
    _drop(facts, products.isna() & codes.isna(), "no concept")
    grouped = options.ingredients & products.notna().to_numpy()
    # Without a description there is no ingredient to name: the product stays.
    facts["code"] = codes.where(~grouped)
    facts["system"] = pd.Series("RXNORM", index=facts.index, dtype="string").where(
        facts["code"].notna()
    )
    facts["label"] = products
    if not grouped.any():
        return facts, None
    names = _per_value(products, lambda text: product_ingredients(text) or [text])
    # One observation per ingredient of a combination product; a dropped row
    # stays one row.
    lists = pd.Series(names, index=facts.index, dtype=object).where(
        grouped & facts["drop"].isna().to_numpy(), None
    )
    facts = facts.assign(_ingredient=lists).explode("_ingredient", ignore_index=True)
    named = facts["_ingredient"].notna().to_numpy()
    facts.loc[named, "label"] = facts.loc[named, "_ingredient"].astype("string").to_numpy()
    return facts.drop(columns="_ingredient"), None


def _allergies(
    table: _Table, options: _Options, unknown: Counter[str]
) -> tuple[pd.DataFrame, None]:
    frame = table.frame
    facts = _base(table)
    descriptions = clean_text(frame["DESCRIPTION"])
    codes = _codes(table, "CODE")
    names = clean_text(strip_semantic_tag(descriptions))
    tags = pd.Series(_per_value(descriptions, semantic_tag), index=facts.index)
    # Older exports code the allergy itself ("Allergy to peanuts", a SNOMED
    # CT disorder); newer ones code the substance ("Peanut (substance)",
    # or an RxNorm ingredient), which is no id for the allergy.
    itself = tags.isin(["finding", "disorder"]).to_numpy() | names.str.match(
        r"(?i)(?:allergy|intolerance)\b"
    ).fillna(False).to_numpy(dtype=bool)
    systems = pd.Series("SNOMEDCT", index=facts.index, dtype="string")
    if "SYSTEM" in frame:
        given = clean_codes(frame["SYSTEM"])
        prefixes = pd.Series(_per_value(given, _known_system), index=facts.index, dtype="string")
        systems = prefixes.where(given.notna(), systems)
        for system, n in given[given.notna() & prefixes.isna()].value_counts().items():
            unknown[f"{system} ({table.name})"] += int(n)
    itself &= (systems == "SNOMEDCT").fillna(False).to_numpy(dtype=bool)
    word = pd.Series("Allergy to ", index=facts.index, dtype="string")
    if "TYPE" in frame:
        intolerance = frame["TYPE"].str.strip().str.lower() == "intolerance"
        word = word.mask(intolerance.fillna(False), "Intolerance to ")
    substance = _lower_first(names)
    facts["code"] = codes.where(itself)
    facts["system"] = systems.where(itself & codes.notna().to_numpy())
    facts["label"] = names.where(itself, word + substance)
    facts["kind"] = "finding"
    facts["tagged"] = True
    _drop(facts, descriptions.isna() & codes.isna(), "no concept")
    return facts, None


def _known_system(text: str) -> str | None:
    try:
        prefix = normalize_system(text)
    except RecordsError:
        return None
    return prefix if prefix in CODE_SYSTEMS else None


def _lower_first(names: pd.Series) -> pd.Series:
    """``Peanut`` as ``peanut`` in ``Allergy to peanut``; ``HIV`` stays."""
    first, second = names.str[:1], names.str[1:2]
    lower = first.str.lower().where(second.str.islower().fillna(True), first)
    return lower + names.str[1:]


def _observations(
    table: _Table, options: _Options, unknown: Counter[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = table.frame
    facts = _base(table)
    codes = _codes(table, "CODE")
    labels = clean_text(frame["DESCRIPTION"])
    units = clean_codes(frame["UNITS"])
    loinc = codes.str.fullmatch(_LOINC).fillna(False).to_numpy(dtype=bool)
    others = codes[~loinc & codes.notna().to_numpy()]
    if len(others):
        shown = ", ".join(sorted(others.unique())[:5])
        unknown[f"not LOINC ({table.name}: {shown})"] += len(others)
    numeric = (frame["TYPE"].str.strip().str.lower() == "numeric").fillna(False).to_numpy()
    _drop(facts, codes.isna() & labels.isna(), "no concept")
    _drop(facts, ~numeric, "observation not numeric")

    judged = flag_observations(
        pd.DataFrame({"code": codes, "value": frame["VALUE"], "unit": units}), ranges=options.ranges
    )
    status = np.array(judged["status"].astype(object).to_numpy(), dtype=object)
    status[~numeric] = None
    if options.adult_age is not None and options.births is not None:
        born = facts["patient_id"].map(options.births)
        years = (facts["time"] - born).dt.days.to_numpy(dtype=float) / 365.2425
        judged_here = pd.Series(status).isin(["flagged", "in range"]).to_numpy()
        young = (years < options.adult_age) & judged_here
        status[young] = f"under {options.adult_age:g}"
        _drop(facts, young, f"observation of a patient under {options.adult_age:g}")
    for value, reason in _STATUS_DROPS.items():
        _drop(facts, status == value, reason)
    flagged = status == "flagged"
    values = pd.to_numeric(frame["VALUE"], errors="coerce").to_numpy(dtype=float)
    facts["label"] = judged["finding"].where(flagged)
    facts["kind"] = "finding"
    facts["tagged"] = True
    facts["value"] = np.where(flagged, values, np.nan)
    facts["unit"] = units.where(flagged)
    measurements = pd.DataFrame(
        {
            "patient_id": facts["patient_id"],
            "encounter_id": facts["encounter_id"],
            "time": facts["time"],
            "system": pd.Series("LOINC", index=facts.index, dtype="string").where(loinc),
            "code": codes,
            "label": labels,
            "value": values,
            "unit": units,
            "status": pd.array(status, dtype="string"),
            "finding": judged["finding"].astype("string"),
        }
    ).loc[numeric]
    return facts, measurements


_Reader = Callable[[_Table, _Options, Counter[str]], tuple[pd.DataFrame, pd.DataFrame | None]]

_READERS: dict[str, _Reader] = {
    "conditions": _conditions,
    "medications": _medications,
    "observations": _observations,
    "procedures": _procedures,
    "allergies": _allergies,
}


# -- reference tables, kinds and the report ---------------------------------------------


def _patients(table: _Table) -> tuple[pd.Index, pd.Series | None]:
    """Patient ids, and their birth dates when the table has them."""
    ids = clean_codes(table.frame["Id"])
    if "BIRTHDATE" not in table.frame:
        return pd.Index(ids.dropna().unique()), None
    births = _times(table, "BIRTHDATE")
    known = ids.notna().to_numpy()
    by_id = pd.Series(births.to_numpy()[known], index=ids[known].to_numpy())
    return pd.Index(ids.dropna().unique()), by_id[~by_id.index.duplicated()]


def _one_kind(kept: pd.DataFrame) -> pd.DataFrame:
    """One kind per coded concept: a tagged description's, then the earlier table's.

    A code whose descriptions differ (``Chronic pain`` and ``Chronic pain
    (finding)``) gets the kind its semantic tag says.
    """
    coded = (kept["system"].notna() & kept["code"].notna()).to_numpy()
    if not coded.any():
        return kept
    ids = (kept["system"] + ":" + kept["code"])[coded]
    ranked = pd.DataFrame(
        {
            "id": ids,
            "kind": kept["kind"][coded],
            "untagged": ~kept["tagged"][coded].astype(bool),
            "order": kept["order"][coded],
        }
    )
    first = ranked.sort_values(["untagged", "order"], kind="stable").drop_duplicates("id")
    kinds = kept["kind"].copy()
    kinds[coded] = ids.map(first.set_index("id")["kind"]).to_numpy()
    return kept.assign(kind=kinds.astype("string"))


def _reference_notes(
    data: pd.DataFrame,
    patient_ids: pd.Index | None,
    encounter_ids: pd.Index | None,
    facts: pd.DataFrame,
    file_rows: dict[str, int],
) -> list[str]:
    notes: list[str] = []
    for name, rows in file_rows.items():
        n_read = int((facts["file"] == name).sum())
        if n_read != rows:
            notes.append(
                f"{name}: {rows:,} rows; combination products gave one observation per "
                f"ingredient, {n_read:,} in all"
            )
    if patient_ids is not None:
        without = len(patient_ids.difference(pd.Index(data["patient_id"].unique())))
        notes.append(
            f"patients.csv: {len(patient_ids):,} patients, {without:,} of them with no "
            f"observation kept"
        )
        n_unknown = int((~data["patient_id"].isin(patient_ids)).sum())
        if n_unknown:
            notes.append(f"{n_unknown:,} observations kept name a patient not in patients.csv")
    if encounter_ids is not None:
        named = data["encounter_id"].notna()
        n_unknown = int((named & ~data["encounter_id"].isin(encounter_ids)).sum())
        notes.append(
            f"encounters.csv: {len(encounter_ids):,} encounters; {n_unknown:,} observations "
            f"kept name an encounter not in it"
        )
    return notes


def _measurements(measured: list[pd.DataFrame]) -> pd.DataFrame:
    if not measured:
        empty = {c: pd.Series(dtype="string") for c in MEASUREMENT_COLUMNS}
        empty["time"] = pd.Series(dtype="datetime64[us, UTC]")
        empty["value"] = pd.Series(dtype="float64")
        return pd.DataFrame(empty)
    return pd.concat(measured, ignore_index=True).loc[:, list(MEASUREMENT_COLUMNS)]


def _status_counts(measurements: pd.DataFrame) -> dict[str, int]:
    order = ["flagged", "in range", "no range", "unit mismatch", "not a number"]
    counts = measurements["status"].value_counts()
    found = [s for s in order if s in counts.index]
    found += sorted(str(s) for s in counts.index if s not in order)
    return {status: int(counts[status]) for status in found}


def _report(
    facts: pd.DataFrame,
    kept: pd.DataFrame,
    data: pd.DataFrame,
    core: RecordsReport,
    *,
    source: str,
) -> RecordsReport:
    """Per-file counts: every observation read is kept or dropped for one reason."""
    n_read = facts["file"].value_counts(sort=False)
    n_passed = kept["file"].value_counts(sort=False)
    n_kept = data["_file"].value_counts(sort=False)
    reasons = facts.groupby(["file", "drop"], sort=False).size()
    files: dict[str, dict[str, int]] = {}
    dropped: Counter[str] = Counter()
    for name in pd.unique(facts["file"]):
        row = {"read": int(n_read[name]), "kept": int(n_kept.get(name, 0))}
        if name in reasons.index.get_level_values(0):
            row.update({str(why): int(n) for why, n in reasons[name].items()})
        # Records drop repeated observations (same patient, concept,
        # encounter and time); nothing else is left for them to drop.
        duplicates = int(n_passed.get(name, 0)) - row["kept"]
        if duplicates:
            row["duplicate"] = duplicates
        dropped.update({k: v for k, v in row.items() if k not in ("read", "kept")})
        files[str(name)] = row
    return RecordsReport(
        source=source,
        n_read=len(facts),
        n_kept=len(data),
        dropped=dict(dropped),
        n_patients=core.n_patients,
        n_concepts=core.n_concepts,
        n_label_variants=core.n_label_variants,
        concepts_by_kind=core.concepts_by_kind,
        files=files,
    )
