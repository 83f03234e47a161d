"""Records: the canonical long table of (patient, concept) observations."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kgmed._validation import check_columns
from kgmed.errors import (
    EmptyRecordsError,
    MissingValueError,
    ParameterError,
    RecordsError,
    UnknownKindError,
)
from kgmed.records._io import RowLines, some_rows
from kgmed.records._normalize import clean_codes, clean_text, label_key, per_distinct
from kgmed.schema import KINDS, normalize_kind, normalize_system

__all__ = ["BASKETS", "COLUMNS", "MEASUREMENT_COLUMNS", "Records", "RecordsReport"]

#: The columns of :attr:`Records.data`, in order.
COLUMNS: tuple[str, ...] = (
    "patient_id",
    "concept_id",
    "label",
    "kind",
    "system",
    "code",
    "encounter_id",
    "time",
    "reason_id",
)

#: The columns of :attr:`Records.measurements`, in order, as every reader of
#: numeric values fills them: one row per value, its concept
#: (``LOINC:4548-4``, or ``local:<label>`` for a code of no known system),
#: ``value`` and ``unit`` as recorded, ``status`` (``flagged``, ``in range``,
#: ``no range``, ``unit mismatch``, ``not a number``, or ``under 18`` for a
#: child's value) and ``finding``, the finding the value became in
#: :attr:`Records.data` (``HbA1c high``), only when ``flagged``. A reader
#: may add columns after these (``omop_concept_id``).
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
)

#: Values of :attr:`Records.basket`: what one row of the mining matrix is.
BASKETS: tuple[str, ...] = ("patient", "encounter")
_CURIE = r"^[A-Za-z][A-Za-z0-9._-]*:[^\s]+$"

_TRUE_CELLS = frozenset({"1", "true", "t", "yes", "y", "x", "present"})
_FALSE_CELLS = frozenset({"0", "false", "f", "no", "n", "absent"})


@dataclass
class RecordsReport:
    """What a reader did with its input: how much came in, was kept, was dropped.

    Every observation read is either kept or counted under one reason in
    ``dropped``, so ``n_read == n_kept + sum(dropped.values())``.

    Attributes
    ----------
    source : str
        Where the records came from (a file name, ``"DataFrame"``).
    n_read : int
        Observations read: rows of a long table, cells of a wide one.
    n_kept : int
        Observations kept in :attr:`Records.data`.
    dropped : dict of str to int
        Observations dropped, by reason (``"duplicate"``, ``"empty concept"``,
        ``"empty cell"``, ``"blank row"``, ``"absent indicator"``).
    n_patients, n_concepts : int
        Distinct patients and concepts kept.
    n_label_variants : int
        Distinct spellings (case, spacing, underscores, synonyms) that were
        folded into another spelling of the same concept.
    concepts_by_kind : dict of str to int
        Distinct concepts kept, by kind.
    files : dict of str to dict of str to int
        For multi-file readers, counts per input file: ``read``, ``kept``
        and the reasons rows were dropped (see :meth:`files_frame`).
    unknown_systems : dict of str to int
        Codes whose coding system kgmed does not know, by system.
    measurements : dict of str to int
        For readers of numeric observations, how many got each status of
        :func:`kgmed.records.vocab.flag_observations` (``flagged``,
        ``in range``, ``no range``...); the values are in
        :attr:`Records.measurements`.
    notes : list of str
        Anything else the reader has to say about its input, such as an
        optional file that was not there.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed import Records
    >>> df = pd.DataFrame({"patient_id": ["p1", "p1", "p1", "p2"],
    ...                    "concept": ["fever", "Fever ", None, "cough"], "kind": "symptom"})
    >>> report = Records.from_dataframe(df).report
    >>> report.n_read, report.n_kept, report.dropped
    (4, 2, {'empty concept': 1, 'duplicate': 1})
    >>> report.n_read == report.n_kept + report.n_dropped
    True
    """

    source: str
    n_read: int
    n_kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    n_patients: int = 0
    n_concepts: int = 0
    n_label_variants: int = 0
    concepts_by_kind: dict[str, int] = field(default_factory=dict)
    files: dict[str, dict[str, int]] = field(default_factory=dict)
    unknown_systems: dict[str, int] = field(default_factory=dict)
    measurements: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        """Observations dropped for any reason."""
        return sum(self.dropped.values())

    def to_frame(self) -> pd.DataFrame:
        """The report as a two-column table (``item``, ``count``).

        Examples
        --------
        >>> import pandas as pd
        >>> from kgmed import Records
        >>> df = pd.DataFrame({"patient_id": [1, 1, 2], "concept": ["Fever", "fever ", "cough"],
        ...                    "kind": "symptom"})
        >>> Records.from_dataframe(df).report.to_frame()
                            item  count
        0                   read      3
        1                   kept      2
        2    dropped: duplicate      1
        3               patients      2
        4               concepts      2
        5  label variants merged      1
        6       concepts: symptom      2
        """
        rows: list[tuple[str, int]] = [("read", self.n_read), ("kept", self.n_kept)]
        rows += [(f"dropped: {reason}", n) for reason, n in self.dropped.items()]
        rows += [
            ("patients", self.n_patients),
            ("concepts", self.n_concepts),
            ("label variants merged", self.n_label_variants),
        ]
        rows += [(f"concepts: {kind}", n) for kind, n in self.concepts_by_kind.items()]
        rows += [(f"unknown system: {name}", n) for name, n in self.unknown_systems.items()]
        rows += [(f"measurements: {status}", n) for status, n in self.measurements.items()]
        return pd.DataFrame(rows, columns=["item", "count"])

    def files_frame(self) -> pd.DataFrame:
        """Rows read, kept and dropped per input file, for multi-file readers.

        Returns
        -------
        pandas.DataFrame
            One row per file, one column per count (``read``, ``kept``, and
            a column per reason a row was dropped); empty for a one-table
            reader.

        Examples
        --------
        >>> from kgmed import RecordsReport
        >>> report = RecordsReport("export", n_read=5, n_kept=4, dropped={"social": 1},
        ...     files={"conditions.csv": {"read": 3, "kept": 2, "social": 1},
        ...            "medications.csv": {"read": 2, "kept": 2}})
        >>> report.files_frame()
                         read  kept  social
        conditions.csv      3     2       1
        medications.csv     2     2       0
        """
        table = pd.DataFrame.from_dict(self.files, orient="index")
        return table.fillna(0).astype("int64")

    def __str__(self) -> str:
        lines = [f"Records from {self.source}"]
        lines += [
            f"  {item:<28}{count:>10,}" for item, count in self.to_frame().itertuples(index=False)
        ]
        if self.files:
            lines.append("  per file:")
            table = self.files_frame().to_string()
            lines += [f"    {line}" for line in table.splitlines()]
        if self.notes:
            lines.append("  notes:")
            lines += [f"    - {note}" for note in self.notes]
        return "\n".join(lines)


class Records:
    """The canonical long table: one row per (patient, concept) observation.

    Build one with :meth:`from_dataframe`, :meth:`from_wide` or
    :func:`kgmed.read_records`; each normalizes labels, maps codes to concept
    ids, drops exact duplicates and counts what it dropped in :attr:`report`.

    Attributes
    ----------
    data : pandas.DataFrame
        Columns :data:`COLUMNS`: ``patient_id``, ``concept_id``, ``label``,
        ``kind``, and, ``<NA>`` where unknown, ``system``, ``code``,
        ``encounter_id``, ``time``.
    report : RecordsReport
        What the reader read, kept and dropped.
    basket : {"patient", "encounter"}
        What mining counts co-occurrence in.
    measurements : pandas.DataFrame or None
        Raw numeric observations (lab values, vital signs), one row each
        (columns :data:`MEASUREMENT_COLUMNS`), for the readers that read them
        (:func:`kgmed.read_synthea`, :func:`kgmed.read_fhir`,
        :func:`kgmed.read_omop`); None otherwise. Records hold only those
        outside their reference range, as findings; cohort features need
        every value.

    See Also
    --------
    kgmed.read_records : Read records from a CSV file.
    kgmed.build : Build a knowledge graph from records.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed import Records
    >>> df = pd.DataFrame({
    ...     "patient_id": ["p1", "p1", "p2", "p2"],
    ...     "concept": ["Influenza", "FEVER", "influenza ", "dry_cough"],
    ...     "kind": ["disease", "symptom", "disease", "symptom"],
    ... })
    >>> records = Records.from_dataframe(df)
    >>> records
    <Records: 4 observations of 3 concepts in 2 patients>
    >>> records.data[["patient_id", "concept_id", "label", "kind"]]
      patient_id       concept_id      label     kind
    0         p1  local:influenza  Influenza  disease
    1         p1      local:fever      FEVER  symptom
    2         p2  local:influenza  Influenza  disease
    3         p2  local:dry_cough  dry cough  symptom
    """

    def __init__(
        self,
        data: pd.DataFrame,
        report: RecordsReport | None = None,
        *,
        basket: str = "patient",
        extra: Sequence[str] = (),
        measurements: pd.DataFrame | None = None,
    ) -> None:
        if "reason_id" not in data.columns:
            data = data.assign(reason_id=pd.Series(pd.NA, index=data.index, dtype="string"))
        check_columns(data, dict.fromkeys([*COLUMNS, *extra]), where="Records")
        if basket not in BASKETS:
            raise ParameterError(f"basket must be one of {list(BASKETS)}, got {basket!r}")
        if basket == "encounter" and data["encounter_id"].isna().any():
            n = int(data["encounter_id"].isna().sum())
            raise MissingValueError(
                f"Records: basket='encounter' needs an encounter id on every observation; "
                f"{n} have none. Pass encounter=<column>, or count per patient."
            )
        self.data: pd.DataFrame = data.loc[:, [*COLUMNS, *extra]]
        self.basket: str = basket
        self.measurements: pd.DataFrame | None = measurements
        self.report: RecordsReport = report or RecordsReport(
            source="DataFrame",
            n_read=len(data),
            n_kept=len(data),
            n_patients=int(data["patient_id"].nunique()),
            n_concepts=int(data["concept_id"].nunique()),
        )

    # -- construction -------------------------------------------------------

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        patient: str = "patient_id",
        concept: str = "concept",
        kind: str = "kind",
        code: str | None = None,
        system: str | None = None,
        encounter: str | None = None,
        time: str | None = None,
        reason: str | None = None,
        keep: Sequence[str] = (),
        basket: str = "patient",
        synonyms: Mapping[str, str] | None = None,
        source: str = "DataFrame",
    ) -> Records:
        """Records from a long table, one row per observation.

        Parameters
        ----------
        df : pandas.DataFrame
            The table.
        patient : str, default "patient_id"
            Column of patient ids. Every row needs one.
        concept : str, default "concept"
            Column of concept labels (``"Influenza"``, ``"dry_cough"``).
        kind : str, default "kind"
            Column of node kinds (see :data:`kgmed.schema.KINDS`; synonyms
            such as ``diagnosis`` or ``medication`` are accepted), or, if no
            column has this name, one kind for every row (``kind="disease"``,
            ``kind="medication"``). A kind that names the ``patient`` or
            ``concept`` column is one kind for every row too
            (``concept="symptom", kind="symptom"``).
        code : str, optional
            Column of codes. Coded rows get the concept id ``SYSTEM:code``.
        system : str, optional
            Column of coding systems, or, if no column has this name, one
            system for every row (``system="ICD10CM"``). Needed with ``code``.
        encounter : str, optional
            Column of encounter (visit) ids.
        time : str, optional
            Column of observation times, parsed as dates.
        reason : str, optional
            Column of recorded reasons: the concept id (``SNOMEDCT:59621000``)
            of the condition an observation was recorded for, such as the
            diagnosis a drug was prescribed for. :func:`kgmed.build` turns
            them into ``treated_with`` edges with provenance ``recorded``.
        keep : sequence of str, default ()
            Other columns to keep, as they are, in :attr:`Records.data`
            (a drug's product, a lab's value and unit).
        basket : {"patient", "encounter"}, default "patient"
            What mining counts co-occurrence in: a patient's whole record,
            or one encounter (visit). ``"encounter"`` needs ``encounter``.
        synonyms : mapping of str to str, optional
            Label variants and the label each stands for
            (``{"pyrexia": "fever"}``), applied after normalization.
        source : str, default "DataFrame"
            Name used for the input in messages and in the report.

        Returns
        -------
        Records

        Raises
        ------
        ColumnNotFound
            If a named column is not in ``df``.
        EmptyRecordsError
            If ``df`` has no rows, or none holds a concept.
        MissingValueError
            If a row that holds a concept has no patient id or no kind.
        UnknownKindError
            If a kind is not one of :data:`kgmed.schema.KINDS`.
        RecordsError
            If ``df`` is not a DataFrame, codes come without a system, a
            system is neither known nor a plain word, a time is no date, a
            concept has two kinds, or a chosen column name appears twice.

        Examples
        --------
        >>> import pandas as pd
        >>> from kgmed import Records
        >>> df = pd.DataFrame({"pid": [1, 1, 2], "dx": ["Influenza", "influenza", "Asthma"],
        ...                    "icd": ["J11.1", "J11.1", "J45.909"]})
        >>> r = Records.from_dataframe(df, patient="pid", concept="dx", kind="disease",
        ...                            code="icd", system="ICD10CM")
        >>> r.data[["patient_id", "concept_id", "label"]]
          patient_id       concept_id      label
        0          1    ICD10CM:J11.1  Influenza
        1          2  ICD10CM:J45.909     Asthma
        >>> r.report.dropped
        {'duplicate': 1}
        """
        return _from_long(
            df,
            patient=patient,
            concept=concept,
            kind=kind,
            code=code,
            system=system,
            encounter=encounter,
            time=time,
            reason=reason,
            keep=keep,
            basket=basket,
            synonyms=synonyms,
            source=source,
            row_word="row",
            row_lines=None,
        )

    @classmethod
    def from_wide(
        cls,
        df: pd.DataFrame,
        *,
        kinds: Mapping[str, str | Sequence[str]] | None = None,
        indicators: Mapping[str, str | Sequence[str]] | None = None,
        patient: str | None = None,
        synonyms: Mapping[str, str] | None = None,
        source: str = "DataFrame",
    ) -> Records:
        """Records from a one-row-per-patient table.

        Two wide layouts are read: columns whose cells hold labels
        (``Disease, Symptom_1, ..., Symptom_17``), given in ``kinds``, and
        one-hot columns whose name is the concept and whose cell says whether
        it is present (``itching: 0/1``), given in ``indicators``.

        Parameters
        ----------
        df : pandas.DataFrame
            The table, one row per patient (or per case).
        kinds : mapping of str to str or list of str, optional
            For each kind, the column or columns whose cells are labels of
            that kind. A name that is no column is a glob pattern
            (``"Symptom_*"``). Columns are named by their text: ``"0"`` for
            the column ``0`` of a table read with ``header=None``.
        indicators : mapping of str to str or list of str, optional
            For each kind, the one-hot columns (glob patterns allowed) whose
            names are labels of that kind. Cells ``1``/``true``/``yes`` mean
            present, ``0``/``false``/``no``/empty mean absent; anything else
            is an error. A name that several columns share names them all,
            and the concept is present where any of them says so.
        patient : str, optional
            Column of patient ids. Without it, each row is its own patient,
            named ``row:<n>`` with ``n`` counted from 1.
        synonyms : mapping of str to str, optional
            Label variants and the label each stands for.
        source : str, default "DataFrame"
            Name used for the input in messages and in the report.

        Returns
        -------
        Records

        Raises
        ------
        ColumnNotFound
            If a named column or pattern matches no column.
        EmptyRecordsError
            If no cell holds a concept.
        MissingValueError
            If a row has no patient id in the ``patient`` column.
        UnknownKindError
            If a key of ``kinds`` or ``indicators`` is no kind.
        RecordsError
            If an indicator cell is neither true nor false, or a chosen
            column name appears twice.

        Examples
        --------
        >>> import pandas as pd
        >>> from kgmed import Records
        >>> df = pd.DataFrame({"Disease": ["Flu", "Flu ", "Asthma"],
        ...                    "Symptom_1": ["fever", " fever", "wheezing"],
        ...                    "Symptom_2": [" dry_cough", None, None]})
        >>> r = Records.from_wide(df, kinds={"disease": "Disease", "symptom": "Symptom_*"})
        >>> r.data[["patient_id", "label", "kind"]]
          patient_id      label     kind
        0      row:1        Flu  disease
        1      row:1      fever  symptom
        2      row:1  dry cough  symptom
        3      row:2        Flu  disease
        4      row:2      fever  symptom
        5      row:3     Asthma  disease
        6      row:3   wheezing  symptom
        >>> r.report.dropped
        {'empty cell': 2}
        """
        return _from_wide(
            df,
            kinds=kinds or {},
            indicators=indicators or {},
            patient=patient,
            synonyms=synonyms,
            source=source,
            row_word="row",
            row_lines=None,
        )

    # -- inspection ---------------------------------------------------------

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"<Records: {len(self.data):,} observations of "
            f"{self.data['concept_id'].nunique():,} concepts in "
            f"{self.data['patient_id'].nunique():,} patients>"
        )

    @property
    def n_patients(self) -> int:
        """Number of distinct patients."""
        return int(self.data["patient_id"].nunique())

    def concepts(self) -> pd.DataFrame:
        """One row per concept with how many patients have it.

        Returns
        -------
        pandas.DataFrame
            Columns ``concept_id``, ``label``, ``kind``, ``system``, ``code``,
            ``n_patients``; most frequent first.

        Examples
        --------
        >>> import pandas as pd
        >>> from kgmed import Records
        >>> df = pd.DataFrame({"patient_id": [1, 2, 2], "concept": ["flu", "flu", "fever"],
        ...                    "kind": ["disease", "disease", "symptom"]})
        >>> Records.from_dataframe(df).concepts()[["concept_id", "n_patients"]]
            concept_id  n_patients
        0    local:flu           2
        1  local:fever           1
        """
        data = self.data
        counts = data.groupby("concept_id", sort=False)["patient_id"].nunique()
        first = data.drop_duplicates("concept_id").set_index("concept_id")
        table = first[["label", "kind", "system", "code"]].assign(n_patients=counts)
        table = table.rename_axis("concept_id").reset_index()
        return table.sort_values(
            ["n_patients", "concept_id"], ascending=[False, True], ignore_index=True
        )


# -- the engine shared by every reader ---------------------------------------------


def _resolve_kind(
    df: pd.DataFrame, kind: str, source: str, taken: Sequence[str]
) -> pd.Series | str:
    """A column of kinds, or one kind for all rows when ``kind`` names a kind.

    A column already read as the patients or the concepts (``taken``) is not
    also the kinds: ``concept="symptom", kind="symptom"`` means every row is
    a symptom.
    """
    if kind in df.columns and kind not in taken:
        return df[kind]
    try:
        return normalize_kind(kind)
    except UnknownKindError:
        pass
    check_columns(df, {kind: "kind"}, where=source)
    return df[kind]


def _check_unique(df: pd.DataFrame, columns: Sequence[Any], source: str) -> None:
    """Raise if a column the reader uses appears more than once in ``df``."""
    repeated = df.columns[df.columns.duplicated()]
    for column in columns:
        if column in repeated:
            n = int((df.columns == column).sum())
            raise RecordsError(
                f"{source}: column {column!r} appears {n} times; give each column "
                f"its own name before reading"
            )


def _from_long(
    df: pd.DataFrame,
    *,
    patient: str,
    concept: str,
    kind: str,
    code: str | None,
    system: str | None,
    encounter: str | None,
    time: str | None,
    synonyms: Mapping[str, str] | None,
    source: str,
    row_word: str,
    row_lines: RowLines | None,
    reason: str | None = None,
    keep: Sequence[str] = (),
    basket: str = "patient",
) -> Records:
    if not isinstance(df, pd.DataFrame):
        raise RecordsError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise EmptyRecordsError(f"{source}: the table has no rows")
    if basket not in BASKETS:
        raise ParameterError(f"basket must be one of {list(BASKETS)}, got {basket!r}")
    if basket == "encounter" and encounter is None:
        raise RecordsError(
            f"{source}: basket='encounter' counts co-occurrence per encounter; "
            f"pass encounter=<column of encounter ids>"
        )
    if isinstance(keep, str):
        keep = [keep]
    clash = sorted(set(keep).intersection(COLUMNS))
    if clash:
        raise RecordsError(
            f"{source}: keep= names {clash}, which Records makes itself; rename those columns"
        )
    required: dict[str, str | None] = {patient: "patient", concept: "concept"}
    for column, argument in (
        (code, "code"),
        (encounter, "encounter"),
        (time, "time"),
        (reason, "reason"),
    ):
        if column is not None:
            required[column] = argument
    required.update(dict.fromkeys(keep, "keep"))
    check_columns(df, required, where=source)
    kinds = _resolve_kind(df, kind, source, taken=(patient, concept))
    systems: pd.Series | str | None = None
    if system is not None:
        if system in df.columns:
            systems = df[system]
        else:
            try:
                systems = normalize_system(system)
            except RecordsError as err:
                raise RecordsError(
                    f"{source}: system={system!r} is not a column, and as the coding "
                    f"system of every row: {err}"
                ) from err
    used = [*required, *(c for c in (kind, system) if c is not None and c in df.columns)]
    _check_unique(df, used, source)
    if code is not None and systems is None:
        raise RecordsError(
            f"{source}: codes in column {code!r} need a coding system; pass "
            f"system=<column> or system=<name> such as 'ICD10CM' or 'SNOMEDCT'"
        )

    n_read = len(df)
    dropped: dict[str, int] = {}
    # Blank rows (every cell empty) are what a CSV with stray empty lines gives.
    blank = np.logical_and.reduce(
        [clean_codes(df.iloc[:, i]).isna().to_numpy() for i in range(df.shape[1])]
    )
    if blank.any():
        dropped["blank row"] = int(blank.sum())
        df = df.loc[~blank]
        if not isinstance(kinds, str):
            kinds = kinds.loc[~blank]
        if isinstance(systems, pd.Series):
            systems = systems.loc[~blank]
    long = pd.DataFrame(
        {
            "patient_id": df[patient],
            "label": df[concept],
            "kind": kinds,
            "system": systems if systems is not None else pd.NA,
            "code": df[code] if code is not None else pd.NA,
            "encounter_id": df[encounter] if encounter is not None else pd.NA,
            "time": df[time] if time is not None else pd.NaT,
            "reason_id": df[reason] if reason is not None else pd.NA,
            **{f"keep:{name}": df[name] for name in keep},
        },
        index=df.index,
    )
    columns = {
        "patient": patient,
        "concept": concept,
        "kind": kind,
        "system": system,
        "time": time,
        "reason": reason,
    }
    return _canonical(
        long,
        n_read=n_read,
        dropped=dropped,
        synonyms=synonyms,
        source=source,
        columns=columns,
        row_word=row_word,
        row_lines=row_lines,
        keep=keep,
        basket=basket,
    )


def _expand(
    df: pd.DataFrame,
    spec: str | Sequence[str],
    source: str,
    argument: str,
    exclude: Sequence[int] = (),
) -> list[int]:
    """Positions of the columns that ``spec`` names, in the table's order per name.

    A name that is a column is that column (every column of that name, when
    a name repeats), even when it holds glob characters
    (``"Glucose [mg/dL]"``); otherwise it is a glob pattern, which never
    matches the positions in ``exclude`` (the patient column). Columns are
    matched by their text, so a table read with ``header=None`` (columns
    ``0, 1, ...``) is addressed as ``"0"``, ``"1"``, ...
    """
    patterns = [spec] if isinstance(spec, str) else list(spec)
    names = [str(c) for c in df.columns]
    found: list[int] = []
    for pattern in patterns:
        text = str(pattern)
        matched = [i for i, name in enumerate(names) if name == text]
        if not matched:
            matched = [
                i
                for i, name in enumerate(names)
                if i not in exclude and fnmatch.fnmatchcase(name, text)
            ]
        if not matched:
            check_columns(df, {text: argument}, where=source)
        found += [i for i in matched if i not in found]
    return found


def _from_wide(
    df: pd.DataFrame,
    *,
    kinds: Mapping[str, str | Sequence[str]],
    indicators: Mapping[str, str | Sequence[str]],
    patient: str | None,
    synonyms: Mapping[str, str] | None,
    source: str,
    row_word: str,
    row_lines: RowLines | None,
) -> Records:
    if not isinstance(df, pd.DataFrame):
        raise RecordsError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise EmptyRecordsError(f"{source}: the table has no rows")
    if not kinds and not indicators:
        raise RecordsError(
            f"{source}: a wide table needs kinds= (columns of labels) or "
            f"indicators= (one-hot columns), e.g. kinds={{'disease': 'Disease', "
            f"'symptom': 'Symptom_*'}}"
        )
    patient_at: list[int] = []
    if patient is not None:
        check_columns(df, {patient: "patient"}, where=source)
        _check_unique(df, [patient], source)
        patients = df[patient]
        patient_at = [list(df.columns).index(patient)]
    else:
        patients = pd.Series([f"row:{i + 1}" for i in range(len(df))], index=df.index)
    position = pd.Series(range(len(df)), index=df.index)

    # Columns are taken by position: a name may repeat (two one-hot columns
    # of one symptom), and then each of them is read.
    pieces: list[pd.DataFrame] = []
    n_read = 0
    dropped: dict[str, int] = {}
    for kind_name, spec in kinds.items():
        kind_value = _wide_kind(kind_name, "kinds", source)
        for at in _expand(df, spec, source, f"kinds[{kind_name!r}]", patient_at):
            n_read += len(df)
            pieces.append(
                pd.DataFrame(
                    {
                        "patient_id": patients,
                        "label": df.iloc[:, at],
                        "kind": kind_value,
                        "_position": position,
                    }
                )
            )
    for kind_name, spec in indicators.items():
        kind_value = _wide_kind(kind_name, "indicators", source)
        for at in _expand(df, spec, source, f"indicators[{kind_name!r}]", patient_at):
            n_read += len(df)
            column = str(df.columns[at])
            present = _indicator(df.iloc[:, at], column, source, row_lines)
            absent = int((~present).sum())
            if absent:
                dropped["absent indicator"] = dropped.get("absent indicator", 0) + absent
            pieces.append(
                pd.DataFrame(
                    {
                        "patient_id": patients[present.to_numpy()],
                        "label": column,
                        "kind": kind_value,
                        "_position": position[present.to_numpy()],
                    }
                )
            )
    if not pieces:
        raise RecordsError(
            f"{source}: kinds= and indicators= name no column; give each kind a "
            f"column name or a pattern such as 'Symptom_*'"
        )
    long = pd.concat(pieces)
    # Row order: patient by patient, columns left to right, as a reader expects.
    long = long.sort_values("_position", kind="stable").drop(columns="_position")
    long = long.assign(system=pd.NA, code=pd.NA, encounter_id=pd.NA, time=pd.NaT, reason_id=pd.NA)
    empty = clean_text(long["label"]).isna().to_numpy()
    if empty.any():
        dropped["empty cell"] = dropped.get("empty cell", 0) + int(empty.sum())
        long = long.loc[~empty]
    if len(long) == 0:
        raise EmptyRecordsError(f"{source}: no cell of the chosen columns holds a concept")
    return _canonical(
        long,
        n_read=n_read,
        dropped=dropped,
        synonyms=synonyms,
        source=source,
        columns={"patient": patient, "concept": None, "kind": None, "time": None},
        row_word=row_word,
        row_lines=row_lines,
    )


def _wide_kind(kind_name: str, argument: str, source: str) -> str:
    try:
        return normalize_kind(kind_name)
    except UnknownKindError as err:
        raise UnknownKindError(f"{source}: {argument}= key {kind_name!r}: {err}") from err


def _indicator(
    values: pd.Series, column: str, source: str, row_lines: RowLines | None
) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.fillna(False).astype(bool)
    text = values.astype("string").str.strip().str.lower()
    text = text.str.replace(r"\.0+$", "", regex=True)
    true = text.isin(_TRUE_CELLS)
    false = text.isin(_FALSE_CELLS) | text.isna() | (text == "")
    bad = ~(true | false)
    if bad.any():
        where = some_rows(values.index[bad.to_numpy()], "row", row_lines)
        example = str(values[bad.to_numpy()].iloc[0])
        raise RecordsError(
            f"{source}: indicator column {column!r} holds {example!r} at {where}; "
            f"indicator cells must be 1/0, true/false or yes/no"
        )
    return true.fillna(False).astype(bool)


def _canonical(
    long: pd.DataFrame,
    *,
    n_read: int,
    dropped: dict[str, int],
    synonyms: Mapping[str, str] | None,
    source: str,
    columns: Mapping[str, str | None],
    row_word: str,
    row_lines: RowLines | None,
    keep: Sequence[str] = (),
    basket: str = "patient",
) -> Records:
    """Normalize a long table of raw cells into canonical Records."""
    if len(long) == 0:
        raise EmptyRecordsError(f"{source}: the table has no rows with data")
    # A row without a concept is no observation: it is counted and dropped
    # before any other cell of it is checked.
    labels = clean_text(long["label"])
    codes = _optional(long["code"], clean_codes)
    has_concept = (labels.notna() | codes.notna()).to_numpy()
    if not has_concept.any():
        raise EmptyRecordsError(
            f"{source}: no row holds a concept (column {columns['concept']!r} is empty throughout)"
        )
    if not has_concept.all():
        n_empty = int((~has_concept).sum())
        dropped["empty concept"] = dropped.get("empty concept", 0) + n_empty
    # Work on positions; keep the caller's row labels for messages only.
    where_index = long.index[has_concept]
    long = long.loc[has_concept].reset_index(drop=True)
    labels = labels.loc[has_concept].reset_index(drop=True)
    codes = codes.loc[has_concept].reset_index(drop=True)

    def rows(mask: pd.Series) -> str:
        # A wide row gives several observations: name each row once.
        at = where_index[mask.fillna(False).to_numpy(dtype=bool)].unique()
        return some_rows(at, row_word, row_lines)

    patient_ids = clean_codes(long["patient_id"])
    missing = patient_ids.isna()
    if missing.any():
        n_rows = where_index[missing.to_numpy()].nunique()
        raise MissingValueError(
            f"{source}: column {columns['patient']!r} is empty in {n_rows} "
            f"row(s) ({rows(missing)}); every observation needs a patient id. "
            f"Fill or drop those rows."
        )
    kinds = _normalize_kinds(long["kind"], source, columns["kind"], rows)

    systems = _optional(long["system"], clean_codes)
    mapping: dict[Any, str] = {}
    for value in pd.unique(systems.dropna()):
        try:
            mapping[value] = normalize_system(str(value))
        except RecordsError as err:
            raise RecordsError(
                f"{source}: column {columns.get('system')!r}: {err} (at {rows(systems == value)})"
            ) from err
    systems = per_distinct(systems, lambda values: values.map(mapping))
    # A code is an id only with its system; without one the label stands in.
    coded = codes.notna() & systems.notna()
    labels = labels.fillna(codes)
    keys = label_key(labels, synonyms)
    if synonyms:
        # A variant is shown as the label it stands for, not as itself.
        targets = {label_key(clean_text(pd.Series([t]))).iloc[0]: t for t in synonyms.values()}
        renamed = (keys != labels.str.casefold()).to_numpy()
        labels = labels.mask(renamed, clean_text(keys.map(targets).astype("string")))
    concept_ids = per_distinct(
        keys, lambda distinct: "local:" + distinct.astype("string").str.replace(" ", "_")
    )
    concept_ids = concept_ids.where(~coded, systems + ":" + codes)
    concept_ids, adopted = _adopt_codes(concept_ids, keys, coded)
    adopted_system = pd.Series(pd.NA, index=concept_ids.index, dtype="string")
    adopted_code = adopted_system.copy()
    if adopted.any():
        split = concept_ids[adopted].str.split(":", n=1)
        adopted_system[adopted] = split.str[0]
        adopted_code[adopted] = split.str[1]

    times = pd.Series(pd.NaT, index=long.index, dtype="datetime64[ns, UTC]")
    if columns.get("time") is not None:
        times = _parse_times(long["time"], source, columns["time"], rows)

    data = pd.DataFrame(
        {
            "patient_id": patient_ids,
            "concept_id": concept_ids,
            "label": labels,
            "kind": kinds.astype("string"),
            "system": systems.where(coded).fillna(adopted_system).astype("string"),
            "code": codes.where(coded).fillna(adopted_code).astype("string"),
            "encounter_id": _optional(long["encounter_id"], clean_codes),
            "time": times,
            "reason_id": _reasons(long, source, columns.get("reason"), rows),
            **{name: long[f"keep:{name}"] for name in keep},
        }
    )

    # One label per concept: its most frequent spelling (ties: first seen).
    spellings = data.groupby(["concept_id", "label"], sort=False).size().rename("n")
    spellings = spellings.reset_index().sort_values("n", ascending=False, kind="stable")
    display = spellings.drop_duplicates("concept_id").set_index("concept_id")["label"]
    data["label"] = per_distinct(data["concept_id"], lambda ids: display.reindex(ids).to_numpy())
    _check_one_kind(data, source)

    duplicate = _duplicated(data, ["patient_id", "concept_id", "encounter_id", "time"])
    if duplicate.any():
        dropped["duplicate"] = dropped.get("duplicate", 0) + int(duplicate.sum())
        data = data.loc[~duplicate.to_numpy()]
    data = data.reset_index(drop=True)

    report = RecordsReport(
        source=source,
        n_read=n_read,
        n_kept=len(data),
        dropped=dropped,
        n_patients=int(data["patient_id"].nunique()),
        n_concepts=int(data["concept_id"].nunique()),
        n_label_variants=len(spellings) - len(display),
        concepts_by_kind=_concepts_by_kind(data),
    )
    return Records(data, report, basket=basket, extra=keep)


def _duplicated(data: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """``data.duplicated(subset=columns)``, on integer codes of each column.

    Columns that are missing throughout are left out (they tell no row
    apart), and the codes of the rest combine into one int64 key while their
    product fits; string columns are factorized once each instead of hashed
    as tuples.
    """
    codes = []
    size = 1
    for column in columns:
        values = data[column]
        if values.isna().all():
            continue
        code, uniques = pd.factorize(values, use_na_sentinel=False)
        codes.append(code.astype(np.int64))
        size *= max(len(uniques), 1)
    if not codes:
        return pd.Series(np.arange(len(data)) > 0, index=data.index)
    if size >= 2**62:
        frame = pd.DataFrame(dict(enumerate(codes)), index=data.index)
        return frame.duplicated()
    key = np.zeros(len(data), dtype=np.int64)
    for code in codes:
        key = key * (int(code.max()) + 1 if len(code) else 1) + code
    return pd.Series(pd.Series(key).duplicated().to_numpy(), index=data.index)


def _concepts_by_kind(data: pd.DataFrame) -> dict[str, int]:
    counts = data.drop_duplicates("concept_id")["kind"].value_counts()
    return {kind: int(counts[kind]) for kind in KINDS if kind in counts.index}


def _reasons(
    long: pd.DataFrame, source: str, column: str | None, rows: Callable[[pd.Series], str]
) -> pd.Series:
    """Recorded reasons as concept ids, checked to look like ``PREFIX:code``."""
    if "reason_id" not in long or long["reason_id"].isna().all():
        return pd.Series(pd.NA, index=long.index, dtype="string")
    reasons = clean_codes(long["reason_id"])
    bad = reasons.notna() & ~reasons.str.match(_CURIE).fillna(False).astype(bool)
    if bad.any():
        example = str(reasons[bad.to_numpy()].iloc[0])
        raise RecordsError(
            f"{source}: column {column!r} holds {example!r} at {rows(bad)}; a reason is "
            f"the concept id of a condition, such as 'SNOMEDCT:59621000'"
        )
    return reasons


def _adopt_codes(
    concept_ids: pd.Series, keys: pd.Series, coded: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Give uncoded rows the id of the one coded concept that has their label.

    A label coded in some rows (``Influenza, J11.1``) and written bare in
    others is one concept. A label shared by several coded concepts stays
    local: which code it means cannot be told.
    """
    if not coded.any() or coded.all():
        return concept_ids, pd.Series(False, index=concept_ids.index)
    pairs = pd.DataFrame({"key": keys[coded], "id": concept_ids[coded]}).drop_duplicates()
    unique = pairs.drop_duplicates("key", keep=False).set_index("key")["id"]
    code_of = keys.map(unique)
    adopted = ~coded & code_of.notna()
    return concept_ids.mask(adopted, code_of), adopted


def _parse_times(
    values: pd.Series, source: str, column: str | None, rows: Callable[[pd.Series], str]
) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        raise RecordsError(
            f"{source}: column {column!r} holds numbers, not dates; write times as "
            f"ISO 8601 (2021-03-04 or 2021-03-04T10:30:00) or convert them with "
            f"pandas.to_datetime(..., unit=...) first"
        )
    try:
        return pd.to_datetime(values, errors="raise", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError) as err:
        try:
            parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
            bad = parsed.isna() & clean_text(values).notna()
        except (ValueError, TypeError, OverflowError):
            bad = pd.Series(False, index=values.index)
        where = ""
        if bad.any():
            example = str(values[bad.to_numpy()].iloc[0])
            where = f" such as {example!r} at {rows(bad)}"
        raise RecordsError(
            f"{source}: column {column!r} holds values that are not dates{where} ({err}); "
            f"write times as ISO 8601 (2021-03-04 or 2021-03-04T10:30:00)"
        ) from err


def _optional(values: pd.Series, clean: Callable[[pd.Series], pd.Series]) -> pd.Series:
    if values.isna().all():
        return pd.Series(pd.NA, index=values.index, dtype="string")
    return clean(values)


def _normalize_kinds(
    values: pd.Series, source: str, column: str | None, rows: Callable[[pd.Series], str]
) -> pd.Series:
    text = clean_text(values)
    missing = text.isna()
    if missing.any():
        raise MissingValueError(
            f"{source}: column {column!r} (kind) is empty in {int(missing.sum())} "
            f"row(s) ({rows(missing)}); every observation needs a kind, one of "
            f"{list(KINDS)}"
        )
    mapping: dict[Any, str] = {}
    for value in pd.unique(text):
        try:
            mapping[value] = normalize_kind(str(value))
        except UnknownKindError as err:
            raise UnknownKindError(
                f"{source}: column {column!r}: {err} (at {rows(text == value)})"
            ) from err
    return per_distinct(text, lambda values: values.map(mapping))


def _check_one_kind(data: pd.DataFrame, source: str) -> None:
    pairs = data[["concept_id", "kind"]].drop_duplicates()
    clash = pairs[pairs.duplicated("concept_id", keep=False)]
    if len(clash):
        first = clash["concept_id"].iloc[0]
        its_kinds = sorted(clash.loc[clash["concept_id"] == first, "kind"])
        n = clash["concept_id"].nunique()
        more = f" ({n} concepts have more than one kind)" if n > 1 else ""
        raise RecordsError(
            f"{source}: concept {first!r} appears with kinds {its_kinds}{more}; "
            f"a concept has one kind. Correct the kind column, or give the "
            f"concepts distinct labels or codes."
        )
