"""Records: the canonical long table of (patient, concept) observations."""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

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
from kgmed.records._normalize import clean_codes, clean_text, label_key
from kgmed.schema import KINDS, normalize_kind, normalize_system

__all__ = [
    "BASKETS",
    "COLUMNS",
    "MEASUREMENT_COLUMNS",
    "PATIENT_COLUMNS",
    "SEXES",
    "Records",
    "RecordsReport",
    "check_patients",
    "normalize_sex",
]

#: The columns of ``Records.data``, in order.
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

#: The columns of ``Records.measurements``, in order, as every reader of
#: numeric values fills them: one row per value, its concept
#: (``LOINC:4548-4``, or ``local:<label>`` for a code of no known system),
#: ``value`` and ``unit`` as recorded, ``status`` (``flagged``, ``in range``,
#: ``no range``, ``unit mismatch``, ``not a number``, or ``under 18`` for a
#: child's value) and ``finding``, the finding the value became in
#: ``Records.data`` (``HbA1c high``), only when ``flagged``. A reader
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
    "canonical_value",
    "canonical_unit",
)

#: The columns every ``Records.patients`` table has, in order: who each
#: patient is, for adjusting relations. ``age`` is the patient's age in years
#: at their last observation in the records (NaN where unknown); ``sex`` is
#: one of :data:`SEXES` or ``<NA>``. Covariates a user names follow them.
PATIENT_COLUMNS: tuple[str, ...] = ("age", "sex")

#: Values of ``Records.patients["sex"]`` besides ``<NA>``.
SEXES: tuple[str, ...] = ("female", "male", "other")

#: Values of ``Records.basket``: what one row of the mining matrix is.
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
        Observations kept in ``Records.data``.
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
        ``Records.measurements``.
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
    ids, drops exact duplicates and counts what it dropped in ``report``.

    Attributes
    ----------
    data : pandas.DataFrame
        Columns :data:`~kgmed.records.COLUMNS`: ``patient_id``,
        ``concept_id``, ``label``, ``kind``, and, ``<NA>`` where unknown,
        ``system``, ``code``, ``encounter_id``, ``time``.
    report : RecordsReport
        What the reader read, kept and dropped.
    basket : {"patient", "encounter"}
        What mining counts co-occurrence in.
    patients : pandas.DataFrame or None
        Who the patients are, one row per patient (index ``patient_id``):
        :data:`~kgmed.records.PATIENT_COLUMNS` (``age`` at the last
        observation, ``sex``) and any covariates named when reading; None
        when the source says nothing about the patients. :func:`kgmed.build`
        adjusts relations for them. It never leaves in an export.
    measurements : pandas.DataFrame or None
        Raw numeric observations (lab values, vital signs), one row each
        (columns :data:`~kgmed.records.MEASUREMENT_COLUMNS`), for the
        readers that read them (:func:`kgmed.read_synthea`,
        :func:`kgmed.read_fhir`, :func:`kgmed.read_omop`); None otherwise.
        Records hold only those outside their reference range, as findings;
        cohort features need every value.

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
        patients: pd.DataFrame | None = None,
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
        self.patients: pd.DataFrame | None = (
            None if patients is None else check_patients(patients, data["patient_id"])
        )
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
        age: str | None = None,
        birth_date: str | None = None,
        sex: str | None = None,
        covariates: Sequence[str] = (),
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
            Other columns to keep, as they are, in ``Records.data``
            (a drug's product, a lab's value and unit).
        basket : {"patient", "encounter"}, default "patient"
            What mining counts co-occurrence in: a patient's whole record,
            or one encounter (visit). ``"encounter"`` needs ``encounter``.
        synonyms : mapping of str to str, optional
            Label variants and the label each stands for
            (``{"pyrexia": "fever"}``), applied after normalization.
        source : str, default "DataFrame"
            Name used for the input in messages and in the report.
        age : str, optional
            Column of the patient's age in years at each observation. A
            patient's age in ``Records.patients`` is the one at their latest
            ``time`` (without times, the largest). Empty cells are unknown.
        birth_date : str, optional
            Column of birth dates, instead of ``age``; needs ``time``. A
            patient's age is the one at their last observation, in whole
            years. Birth dates are not kept.
        sex : str, optional
            Column of the patient's sex (``female``/``male``/``other``,
            ``F``/``M``...; empty where unknown); it must agree within a
            patient.
        covariates : list of str, optional
            Columns that say more about the patient (smoker, site), one
            value per patient: carried as further columns of
            ``Records.patients``.

        Returns
        -------
        Records
            With ``patients`` (one row per patient: ``age``, ``sex`` and the
            ``covariates``) when ``age``, ``birth_date``, ``sex`` or
            ``covariates`` is given, and a note in the report saying for how
            many patients age and sex are known; otherwise ``patients`` is
            None.

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
            concept has two kinds, or a chosen column name appears twice;
            if an age is no number of years from 0 to 150, a birth date no
            date or after the patient's last observation, a sex none of the
            known spellings, or a patient's sex, birth date or covariate
            differs between rows (the message names the column and rows);
            if ``birth_date`` comes without ``time``.
        ParameterError
            If both ``age`` and ``birth_date`` are given.

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

        Who the patients are travels with the records, one row per patient:

        >>> visits = pd.DataFrame({"pid": ["a", "a", "b"], "dx": ["flu", "asthma", "flu"],
        ...                        "when": ["2020-01-05", "2023-06-01", "2021-03-02"],
        ...                        "age": [40, 43, None], "sex": ["F", "F", "m"]})
        >>> r = Records.from_dataframe(visits, patient="pid", concept="dx", kind="disease",
        ...                            time="when", age="age", sex="sex")
        >>> r.patients
                     age     sex
        patient_id
        a           43.0  female
        b            NaN    male
        >>> r.report.notes
        ['age known for 1 of 2 patients, sex for 2']
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
            about=_About.named(
                age=age, birth_date=birth_date, sex=sex, covariates=covariates, time=time
            ),
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
        age: str | None = None,
        sex: str | None = None,
        covariates: Sequence[str] = (),
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
        age, sex, covariates : str or list of str, optional
            Columns of the patient's age in years, sex and further
            covariates, as in :meth:`from_dataframe` (a wide table has no
            times: a patient of several rows has the largest age). Patterns
            in ``kinds`` and ``indicators`` never match them.

        Returns
        -------
        Records
            With ``patients`` when ``age``, ``sex`` or ``covariates`` is given.

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
            column name appears twice; for ages, sexes and covariates, as
            :meth:`from_dataframe` says.

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
            about=_About.named(age=age, sex=sex, covariates=covariates),
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
        # Distinct (patient, concept) pairs counted on integer codes: no
        # string groupby over every row.
        concept, ids = pd.factorize(data["concept_id"])
        concept = concept.astype(np.int64)
        if data["encounter_id"].isna().all() and data["time"].isna().all():
            # Duplicates are gone, so each row is one patient's concept.
            held = concept
        else:
            patient = pd.factorize(data["patient_id"])[0].astype(np.int64)
            pair = patient * len(ids) + concept
            held = concept[~pd.Series(pair).duplicated().to_numpy()]
        counts = np.bincount(held, minlength=len(ids))
        # factorize numbers concepts in order of appearance: a row is a
        # concept's first exactly where the running maximum of the codes grows.
        first = np.flatnonzero(np.diff(np.maximum.accumulate(concept), prepend=-1) > 0)
        table = data.iloc[first][["concept_id", "label", "kind", "system", "code"]]
        table = table.assign(n_patients=counts).reset_index(drop=True)
        return table.sort_values(
            ["n_patients", "concept_id"], ascending=[False, True], ignore_index=True
        )


# -- the engine shared by every reader ---------------------------------------------


@dataclass(frozen=True)
class _About:
    """The columns that say who the patients are, by the part each plays."""

    age: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    covariates: tuple[str, ...] = ()

    @classmethod
    def named(
        cls,
        *,
        age: str | None = None,
        birth_date: str | None = None,
        sex: str | None = None,
        covariates: Sequence[str] | str = (),
        time: str | None = None,
    ) -> _About:
        """The columns given, checked before anything is read."""
        if isinstance(covariates, str):
            covariates = [covariates]
        named = tuple(dict.fromkeys(covariates))
        if age is not None and birth_date is not None:
            raise ParameterError(
                f"age={age!r} and birth_date={birth_date!r}: give a patient's age by one of "
                f"them, not both"
            )
        if birth_date is not None and time is None:
            raise RecordsError(
                f"birth_date={birth_date!r} gives the age at a patient's last observation, "
                f"which needs the times of the observations: pass time=<column>, or "
                f"age=<column of ages>"
            )
        taken = [c for c in named if str(c) in PATIENT_COLUMNS]
        if taken:
            raise RecordsError(
                f"covariates= names {taken}, which Records.patients makes itself; rename "
                f"{'that column' if len(taken) == 1 else 'those columns'}"
            )
        return cls(age=age, birth_date=birth_date, sex=sex, covariates=named)

    def columns(self) -> dict[str, str]:
        """The cells read (``patient:age``...) and the column each is read from."""
        found = {
            f"patient:{part}": column
            for part, column in (
                ("age", self.age),
                ("birth_date", self.birth_date),
                ("sex", self.sex),
            )
            if column is not None
        }
        found.update({f"patient:covariate:{name}": name for name in self.covariates})
        return found


_ARGUMENT_OF = {"patient:age": "age", "patient:birth_date": "birth_date", "patient:sex": "sex"}


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
    rest: Iterable[pd.DataFrame] = (),
    about: _About | None = None,
) -> Records:
    """Records from a long table; ``rest`` holds further parts of it.

    A file read in chunks gives its first chunk as ``df`` and the others as
    ``rest``, each with the same columns; rows are then named by their
    position in the file (``row_lines``). Each part is normalized on its own
    into integer codes (see :class:`_Normalizer`), and the result is the same
    as for the whole table at once.
    """
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
    about_columns = about.columns() if about is not None else {}
    for key, column in about_columns.items():
        required.setdefault(column, _ARGUMENT_OF.get(key, "covariates"))
    check_columns(df, required, where=source)
    kinds = _resolve_kind(df, kind, source, taken=(patient, concept))
    systems: str | None = None
    if system is not None and system not in df.columns:
        try:
            systems = normalize_system(system)
        except RecordsError as err:
            raise RecordsError(
                f"{source}: system={system!r} is not a column, and as the coding "
                f"system of every row: {err}"
            ) from err
    used = [*required, *(c for c in (kind, system) if c is not None and c in df.columns)]
    _check_unique(df, used, source)
    if code is not None and system is None:
        raise RecordsError(
            f"{source}: codes in column {code!r} need a coding system; pass "
            f"system=<column> or system=<name> such as 'ICD10CM' or 'SNOMEDCT'"
        )

    columns = {
        "patient": patient,
        "concept": concept,
        "kind": kind,
        "system": system,
        "time": time,
        "reason": reason,
    }
    # A part's rows are named by their position in the whole table: by the
    # file's lines, or by the DataFrame's index labels.
    names = df.index if row_lines is None else None
    normalizer = _Normalizer(
        synonyms=synonyms,
        source=source,
        columns=columns,
        row_word=row_word,
        row_lines=row_lines,
        names=names,
        keep=keep,
        basket=basket,
        about=about_columns,
    )
    n_read = 0
    n_blank = 0
    for part in itertools.chain([df], rest):
        positions: np.ndarray | range = range(n_read, n_read + len(part))
        n_read += len(part)
        # Blank rows (every cell empty) are what a CSV with stray empty lines gives.
        blank = _blank_rows(part)
        if blank.any():
            n_blank += int(blank.sum())
            part = part.loc[~blank]
            positions = np.asarray(positions)[~blank]
        cells: dict[str, pd.Series | str | None] = {
            "patient_id": part[patient],
            "label": part[concept],
            "kind": kinds if isinstance(kinds, str) else part[kind],
            "system": systems if systems is not None or system is None else part[system],
            "code": part[code] if code is not None else None,
            "encounter_id": part[encounter] if encounter is not None else None,
            "time": part[time] if time is not None else None,
            "reason_id": part[reason] if reason is not None else None,
            **{f"keep:{name}": part[name] for name in keep},
            **{key: part[column] for key, column in about_columns.items()},
        }
        normalizer.add(cells, positions)
    dropped = {"blank row": n_blank} if n_blank else {}
    return normalizer.records(n_read=n_read, dropped=dropped)


def _blank_rows(df: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty (missing, or blank once cleaned)."""
    blank = np.ones(len(df), dtype=bool)
    for i in range(df.shape[1]):
        if not blank.any():
            break
        column = df.iloc[:, i]
        if blank.all():
            blank = _empty_cells(column)
        else:
            blank[blank] = _empty_cells(column[blank])
    return blank


def _empty_cells(values: pd.Series) -> np.ndarray:
    """``clean_codes(values).isna()``, tested once per distinct value.

    Text with an ASCII letter or digit is never empty; only other values
    are cleaned to tell.
    """
    local, uniques = pd.factorize(values, use_na_sentinel=True)
    empty = np.zeros(len(uniques) + 1, dtype=bool)
    empty[-1] = True
    distinct = pd.Series(uniques, dtype=object if not _is_text(uniques) else "string")
    if _is_text(uniques):
        sure = distinct.str.contains(_ALNUM.pattern, regex=True).fillna(False).to_numpy(bool)
    else:
        search = _ALNUM.search
        sure = np.array([isinstance(v, str) and bool(search(v)) for v in distinct], dtype=bool)
    unsure = np.flatnonzero(~sure)
    if len(unsure):
        empty[unsure] = clean_codes(pd.Series(distinct.to_numpy(object)[unsure])).isna().to_numpy()
    return empty[local]


def _is_text(values: Any) -> bool:
    """Whether ``values`` are strings all (a string or categorical-of-strings array)."""
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return isinstance(dtype, pd.StringDtype)


_ALNUM = re.compile(r"[0-9A-Za-z]")


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
    about: _About | None = None,
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
    about_columns = about.columns() if about is not None else {}
    if about_columns:
        check_columns(
            df,
            {column: _ARGUMENT_OF.get(key, "covariates") for key, column in about_columns.items()},
            where=source,
        )
        _check_unique(df, list(about_columns.values()), source)
        # Glob patterns of kinds= and indicators= never take these columns.
        names = list(df.columns)
        patient_at += [i for i, name in enumerate(names) if name in set(about_columns.values())]
    cells = {key: df[column] for key, column in about_columns.items()}

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
                        **cells,
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
                        **{key: values[present.to_numpy()] for key, values in cells.items()},
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
    long = long.sort_values("_position", kind="stable")
    empty = clean_text(long["label"]).isna().to_numpy()
    if empty.any():
        dropped["empty cell"] = dropped.get("empty cell", 0) + int(empty.sum())
        long = long.loc[~empty]
    if len(long) == 0:
        raise EmptyRecordsError(f"{source}: no cell of the chosen columns holds a concept")
    records = _canonical(
        long.drop(columns="_position"),
        n_read=n_read,
        dropped=dropped,
        synonyms=synonyms,
        source=source,
        columns={"patient": patient, "concept": None, "kind": None, "time": None},
        row_word=row_word,
        row_lines=row_lines,
        names=df.index,
        positions=long["_position"].to_numpy(),
        about=about_columns,
    )
    repeated = _repeated_rows(df) if patient is None else None
    if repeated is not None:
        records.report.notes.append(repeated)
    return records


def _repeated_rows(df: pd.DataFrame) -> str | None:
    """A warning when most rows of a wide table, each its own patient, repeat another row.

    Each row of a table without a patient column counts as one patient: a
    table of cases repeated (the Kaggle disease-symptom table holds 4,920
    rows, 304 of them distinct) counts every copy as another patient, which
    inflates every count and makes every association look significant.
    """
    if len(df) < 2:
        return None
    try:
        n_distinct = len(df) - int(df.duplicated().sum())
    except TypeError:  # cells pandas cannot hash (lists): not a table read from a file
        return None
    if 2 * n_distinct > len(df):
        return None
    return (
        f"warning: {len(df):,} rows count as {len(df):,} patients, but only "
        f"{n_distinct:,} rows are distinct: each repeat counts as another patient, which "
        f"inflates every count and significance. Pass patient= if the rows are visits of "
        f"fewer patients, or drop the repeated rows if they are copies of one case"
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
    names: pd.Index,
    positions: np.ndarray,
    about: Mapping[str, str] | None = None,
) -> Records:
    """Normalize one long table of raw cells into canonical Records."""
    normalizer = _Normalizer(
        synonyms=synonyms,
        source=source,
        columns=columns,
        row_word=row_word,
        row_lines=row_lines,
        names=names,
        about=about,
    )
    normalizer.add({name: long[name] for name in long.columns}, positions)
    return normalizer.records(n_read=n_read, dropped=dropped)


#: Cell columns of the long table a :class:`_Normalizer` reads, each coded
#: into a table of its distinct cleaned values, and how each is cleaned. A
#: row's spelling (its label, or its code when it has none) is coded into
#: one more table.
_CODED = ("patient_id", "label", "code", "system", "kind", "encounter_id", "reason_id")
_CLEAN: dict[str, Callable[[pd.Series], pd.Series]] = {
    "patient_id": clean_codes,
    "label": clean_text,
    "code": clean_codes,
    "system": clean_codes,
    "kind": clean_text,
    "encounter_id": clean_codes,
    "reason_id": clean_codes,
}


class _Distinct:
    """Distinct values in the order first seen, each with an integer code (its position)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def index(self) -> dict[Any, int] | None:
        """Each value's code; None while the table is empty."""
        if self._index is None and self.values:
            self._index = {value: i for i, value in enumerate(self.values)}
        return self._index

    def codes_of(self, values: Sequence[Any]) -> np.ndarray:
        """The codes of distinct ``values``, adding those not seen before."""
        if not self.values:
            # The first part's values are the table; a dict is built only
            # when a second part comes.
            self.values = values.tolist() if hasattr(values, "tolist") else list(values)
            return np.arange(len(self.values), dtype=np.int64)
        index = self.index()
        assert index is not None
        codes = np.empty(len(values), dtype=np.int64)
        for i, value in enumerate(values):
            code = index.get(value)
            if code is None:
                code = index[value] = len(self.values)
                self.values.append(value)
            codes[i] = code
        return codes


def _compact(codes: np.ndarray, size: int) -> np.ndarray:
    """Codes below ``size`` (or -1) in the smallest of int32 and int64 that holds them."""
    return codes.astype(np.int32 if size < 2**31 - 1 else np.int64, copy=False)


def _encode(
    values: pd.Series | str, clean: Callable[[pd.Series], pd.Series], table: _Distinct, n: int
) -> np.ndarray:
    """Codes into ``table`` of the cleaned ``values``, -1 where empty.

    Each distinct value is cleaned once; a string is one value for all
    ``n`` rows. A value already in ``table`` is its own cleaned form
    (cleaning twice changes nothing), so a part read after others cleans
    only the values not met before.
    """
    if isinstance(values, str):
        local = np.zeros(n, dtype=np.int64)
        uniques: Any = pd.Index([values], dtype=object)
    else:
        local, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)
    todo = np.arange(len(uniques))
    index = table.index()
    if index is not None:
        lookup[:-1] = [index.get(value, -1) for value in uniques]
        todo = np.flatnonzero(lookup[:-1] < 0)
    if len(todo):
        raw = uniques if len(todo) == len(uniques) else uniques[todo]
        cleaned = clean(pd.Series(raw))
        codes, distinct = pd.factorize(cleaned, use_na_sentinel=True)
        if len(distinct):
            known = table.codes_of(distinct.tolist())
            lookup[todo] = np.where(codes >= 0, known[codes], -1)
    return _compact(lookup[local], len(table))


def _strings(values: Sequence[Any], codes: np.ndarray) -> pd.Series:
    """``values[codes]`` as a string Series, ``<NA>`` where a code is -1."""
    return pd.Series(pd.array(list(values), dtype="string").take(codes, allow_fill=True))


def _categories(values: Sequence[Any], codes: np.ndarray, *, unique: bool = True) -> pd.Series:
    """``values[codes]`` as a categorical column, missing where a code is -1.

    A column of Records holds each distinct text once, as a category, and
    each row an integer code into them. The categories are the texts some
    row uses, sorted, so that sorting or grouping the column orders it as
    the texts themselves. ``unique=False`` when ``values`` may repeat a text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = np.asarray(codes)
    size = len(values)
    texts = pa.array(list(values), type=pa.string()) if size else pa.array([], pa.string())
    used = np.bincount(codes[codes >= 0], minlength=size) > 0 if size else np.zeros(0, bool)
    if not used.all():
        texts = texts.filter(pa.array(used))
    order = pc.array_sort_indices(texts).to_numpy()
    if not unique and len(texts):
        # Equal texts sit side by side once sorted: number them once.
        ordered = texts.take(pa.array(order))
        new = np.ones(len(ordered), dtype=bool)
        new[1:] = ~pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1)).to_numpy(
            zero_copy_only=False
        )
        rank_of_sorted = np.cumsum(new) - 1
        categories = ordered.filter(pa.array(new))
    else:
        rank_of_sorted = np.arange(len(order))
        categories = texts.take(pa.array(order)) if len(texts) else texts
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = rank_of_sorted
    # A value's code: its rank among the texts used (-1 stays -1).
    lookup = np.full(size + 1, -1, dtype=np.int64)
    lookup[np.flatnonzero(used)] = rank
    dtype = pd.CategoricalDtype(pd.Index(categories.to_pylist(), dtype="string"))
    final = _compact(lookup[codes], len(dtype.categories))
    return pd.Series(pd.Categorical.from_codes(final, dtype=dtype))


def _kind_categories(values: Sequence[str], codes: np.ndarray) -> pd.Series:
    """The kind column: every kind of :data:`~kgmed.schema.KINDS` is a category.

    A closed vocabulary: a user may set any row to any kind in place.
    """
    kinds = sorted(KINDS)
    lookup = np.append(np.array([kinds.index(v) for v in values], dtype=np.int64), -1)
    dtype = pd.CategoricalDtype(pd.Index(kinds, dtype="string"))
    return pd.Series(pd.Categorical.from_codes(_compact(lookup[codes], len(kinds)), dtype=dtype))


def _missing_categories(n: int) -> pd.Series:
    """A categorical column of ``n`` missing values."""
    return _categories([], np.full(n, -1, dtype=np.int8))


class _Normalizer:
    """Normalizes a long table of raw cells into Records, one part at a time.

    Each part (the whole table, or one chunk of a file) is cleaned on its own
    and kept only as integer codes per row into small tables of the distinct
    values met so far (patients, spellings, codes, systems, kinds,
    encounters, reasons) and times as int64, so that a file is read in memory
    about the size of its Records plus one chunk. What needs the whole table
    is done once, by :meth:`records`, on those codes: every check that
    raises (in the order a reader of the whole table meets them, naming rows
    of any part), adopting codes, display labels, one kind per concept and
    duplicates.
    """

    def __init__(
        self,
        *,
        synonyms: Mapping[str, str] | None,
        source: str,
        columns: Mapping[str, str | None],
        row_word: str,
        row_lines: RowLines | None,
        names: pd.Index | None,
        keep: Sequence[str] = (),
        basket: str = "patient",
        about: Mapping[str, str] | None = None,
    ) -> None:
        self.synonyms = synonyms
        self.source = source
        self.columns = columns
        self.row_word = row_word
        self.row_lines = row_lines
        self.names = names
        self.keep = list(keep)
        self.basket = basket
        self.tables = {name: _Distinct() for name in _CODED}
        # A row's spelling is its cleaned label or, without one, its code:
        # a table of both, and where each label sits in it.
        self.spellings = _Distinct()
        self.label_spelling = np.zeros(0, dtype=np.int64)
        self.codes: dict[str, list[np.ndarray | None]] = {name: [] for name in _CODED}
        self.kept: dict[str, list[pd.Series]] = {name: [] for name in self.keep}
        # Who the patients are: each cell read (patient:age...), its column, its parts.
        self.about = dict(about or {})
        self.about_parts: dict[str, list[pd.Series]] = {key: [] for key in self.about}
        self.positions: list[np.ndarray | range] = []
        self.times = _Times(source, columns.get("time")) if columns.get("time") else None
        self.n_rows = 0
        self.n_kept = 0
        self.n_empty = 0

    # -- one part ------------------------------------------------------------------

    def add(
        self, cells: Mapping[str, pd.Series | str | None], positions: np.ndarray | range
    ) -> None:
        """Normalize one part: ``cells`` by column (a string is one value for every row)."""
        label = cells["label"]
        n = len(positions)
        self.n_rows += n
        if n == 0:
            return
        assert isinstance(label, pd.Series)
        spelling = self._spellings(_encode(label, clean_text, self.tables["label"], n))
        code = self._encode(cells, "code", n)
        # A row without a concept is no observation: it is counted and dropped
        # before any other cell of it is read.
        has_concept = spelling >= 0
        if code is not None:
            has_concept |= code >= 0
        if not has_concept.all():
            self.n_empty += int((~has_concept).sum())
            cells = {
                name: values[has_concept] if isinstance(values, pd.Series) else values
                for name, values in cells.items()
            }
            spelling = spelling[has_concept]
            code = code[has_concept] if code is not None else None
            positions = np.asarray(positions)[has_concept]
            n = len(positions)
            if n == 0:
                return
        if code is not None:
            # A row without a label is named by its code.
            bare = (spelling < 0) & (code >= 0)
            if bare.any():
                used = pd.unique(code[bare])
                texts = [self.tables["code"].values[i] for i in used]
                lookup = np.full(len(self.tables["code"]), -1, dtype=np.int64)
                lookup[used] = self.spellings.codes_of(texts)
                spelling = np.where(bare, lookup[code], spelling)
                spelling = _compact(spelling, len(self.spellings))
        self.codes["label"].append(spelling)
        self.codes["code"].append(code)
        for name in ("patient_id", "kind", "system", "encounter_id", "reason_id"):
            self.codes[name].append(self._encode(cells, name, n))
        if self.times is not None:
            times = cells["time"]
            assert isinstance(times, pd.Series)
            self.times.add(times, offset=self.n_kept)
        for name in self.keep:
            values = cells[f"keep:{name}"]
            assert isinstance(values, pd.Series)
            self.kept[name].append(values)
        for key in self.about:
            values = cells[key]
            assert isinstance(values, pd.Series)
            self.about_parts[key].append(values)
        self.positions.append(positions)
        self.n_kept += n

    def _spellings(self, labels: np.ndarray) -> np.ndarray:
        """Label codes (-1 for none) as codes into the table of spellings."""
        table = self.tables["label"].values
        known = len(self.label_spelling)
        if len(table) > known:
            added = self.spellings.codes_of(table[known:])
            self.label_spelling = np.concatenate([self.label_spelling, added])
        lookup = np.append(self.label_spelling, -1)
        return _compact(lookup[labels], len(self.spellings))

    def _encode(
        self, cells: Mapping[str, pd.Series | str | None], name: str, n: int
    ) -> np.ndarray | None:
        values = cells.get(name)
        if values is None:
            return None
        return _encode(values, _CLEAN[name], self.tables[name], n)

    # -- the whole table -----------------------------------------------------------

    def _joined(self, name: str) -> np.ndarray | None:
        """The codes of column ``name`` over every part; None if no part has the column.

        The parts are handed over (and freed once joined): call once per column.
        """
        parts = self.codes.pop(name)
        if all(part is None for part in parts):
            return None
        arrays = [
            np.full(n, -1, dtype=np.int32) if part is None else part
            for part, n in zip(parts, (len(p) for p in self.positions), strict=True)
        ]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    def _names(self, mask: np.ndarray) -> pd.Index:
        """The row labels (or, for a file, positions) of the kept rows in ``mask``."""
        positions = np.concatenate(
            [
                np.arange(part.start, part.stop) if isinstance(part, range) else part
                for part in self.positions
            ]
        )[mask]
        return pd.Index(positions) if self.names is None else self.names[positions]

    def rows(self, mask: np.ndarray) -> str:
        """The rows in ``mask`` (over the kept rows) named for a message."""
        # A wide row gives several observations: name each row once.
        return some_rows(self._names(mask).unique(), self.row_word, self.row_lines)

    def records(self, *, n_read: int, dropped: Mapping[str, int]) -> Records:
        """The Records of every part added, or the error a reader of the whole table raises."""
        source, columns = self.source, self.columns
        if self.n_rows == 0:
            raise EmptyRecordsError(f"{source}: the table has no rows with data")
        if self.n_kept == 0:
            raise EmptyRecordsError(
                f"{source}: no row holds a concept (column {columns['concept']!r} is empty "
                f"throughout)"
            )
        dropped = dict(dropped)
        if self.n_empty:
            dropped["empty concept"] = dropped.get("empty concept", 0) + self.n_empty

        patient = self._joined("patient_id")
        assert patient is not None
        missing = patient < 0
        if missing.any():
            n_rows = self._names(missing).nunique()
            raise MissingValueError(
                f"{source}: column {columns['patient']!r} is empty in {n_rows} "
                f"row(s) ({self.rows(missing)}); every observation needs a patient id. "
                f"Fill or drop those rows."
            )
        kind, kind_names = self._kinds()
        system, system_names = self._systems()
        concept, concept_ids, sys_row, sys_names, code_row, code_names, label, labels = (
            self._concepts(system, system_names)
        )
        times, unit = (
            (None, "ns") if self.times is None else self.times.values(self.rows, self.n_kept)
        )
        reason = self._reasons()
        patients = self._patients(patient, times, unit) if self.about else None

        # One label per concept: its most frequent spelling (ties: first seen).
        display, n_variants = _display_labels(concept, len(concept_ids), label, len(labels))
        del label
        kind_of_cell, kinds = pd.factorize(pd.Series(kind_names, dtype=object))
        kind = _compact(kind_of_cell[kind], len(kinds))
        # One kind per concept: checked on the distinct (concept, kind) pairs, first seen first.
        pairs = pd.unique(concept.astype(np.int64) * len(kinds) + kind)
        pair_kinds = np.asarray(kinds, dtype=object)[pairs % len(kinds)]
        pair_concepts = np.asarray(concept_ids, dtype=object)[pairs // len(kinds)]
        _check_one_kind(pd.DataFrame({"concept_id": pair_concepts, "kind": pair_kinds}), source)

        encounter = self._joined("encounter_id")
        duplicate = _duplicated_codes(
            [
                (patient, len(self.tables["patient_id"])),
                (concept, len(concept_ids)),
                (encounter, len(self.tables["encounter_id"])),
                (times, None),
            ]
        )
        if duplicate.any():
            dropped["duplicate"] = dropped.get("duplicate", 0) + int(duplicate.sum())
            kept = np.flatnonzero(~duplicate)
            patient, concept, kind = patient[kept], concept[kept], kind[kept]
            sys_row = sys_row[kept] if sys_row is not None else None
            code_row = code_row[kept] if code_row is not None else None
            encounter = encounter[kept] if encounter is not None else None
            times = times[kept] if times is not None else None
            reason = reason[kept] if reason is not None else None
        else:
            kept = None
        n = len(patient)
        data = pd.DataFrame(
            {
                "patient_id": _categories(self.tables["patient_id"].values, patient),
                "concept_id": _categories(concept_ids, concept),
                "label": _categories(labels, display[concept], unique=False),
                "kind": _kind_categories(list(kinds), kind),
                "system": (
                    _missing_categories(n)
                    if sys_row is None
                    else _categories(sys_names, sys_row, unique=False)
                ),
                "code": (
                    _missing_categories(n)
                    if code_row is None
                    else _categories(code_names, code_row, unique=False)
                ),
                "encounter_id": (
                    _missing_categories(n)
                    if encounter is None
                    else _categories(self.tables["encounter_id"].values, encounter)
                ),
                "time": _times_series(times, unit, n),
                "reason_id": (
                    _missing_categories(n)
                    if reason is None
                    else _categories(self.tables["reason_id"].values, reason)
                ),
                **{name: self._kept(name, kept) for name in self.keep},
            }
        )
        present = np.zeros(len(concept_ids), dtype=bool)
        present[concept] = True
        kind_of = np.zeros(len(concept_ids), dtype=np.int64)
        kind_of[concept] = kind
        by_kind = pd.Series(np.asarray(kinds, dtype=object)[kind_of[present]]).value_counts()
        report = RecordsReport(
            source=source,
            n_read=n_read,
            n_kept=n,
            dropped=dropped,
            n_patients=int(np.count_nonzero(np.bincount(patient))),
            n_concepts=int(present.sum()),
            n_label_variants=n_variants,
            concepts_by_kind={k: int(by_kind[k]) for k in KINDS if k in by_kind.index},
        )
        result = Records(data, report, basket=self.basket, extra=self.keep, patients=patients)
        report.notes += _patients_note(result.patients)
        return result

    def _kinds(self) -> tuple[np.ndarray, list[str]]:
        """Each kept row's kind code, and the kind each distinct cell names."""
        kind = self._joined("kind")
        assert kind is not None
        column = self.columns["kind"]
        missing = kind < 0
        if missing.any():
            raise MissingValueError(
                f"{self.source}: column {column!r} (kind) is empty in {int(missing.sum())} "
                f"row(s) ({self.rows(missing)}); every observation needs a kind, one of "
                f"{list(KINDS)}"
            )
        names: list[str] = []
        for i, value in enumerate(self.tables["kind"].values):
            try:
                names.append(normalize_kind(str(value)))
            except UnknownKindError as err:
                raise UnknownKindError(
                    f"{self.source}: column {column!r}: {err} (at {self.rows(kind == i)})"
                ) from err
        return kind, names

    def _systems(self) -> tuple[np.ndarray | None, list[str]]:
        """Each kept row's system code, and the concept-id prefix of each distinct system."""
        system = self._joined("system")
        names: list[str] = []
        for i, value in enumerate(self.tables["system"].values):
            try:
                names.append(normalize_system(str(value)))
            except RecordsError as err:
                assert system is not None
                raise RecordsError(
                    f"{self.source}: column {self.columns.get('system')!r}: {err} "
                    f"(at {self.rows(system == i)})"
                ) from err
        return system, names

    def _concepts(
        self, system: np.ndarray | None, system_names: list[str]
    ) -> tuple[
        np.ndarray,
        list[str],
        np.ndarray | None,
        list[str],
        np.ndarray | None,
        list[str],
        np.ndarray,
        list[str],
    ]:
        """Concept ids: ``SYSTEM:code`` for coded rows, ``local:<label>`` for the others.

        A label coded in some rows (``Influenza, J11.1``) and written bare in
        others is one concept: the bare rows adopt the one coded concept that
        has their label. A label shared by several coded concepts stays
        local: which code it means cannot be told.

        Returns each row's concept code and the concept ids; each row's
        system and code (codes into the two lists that follow them, -1 for
        none; None when no row has one); and each row's label (a code into the labels that follow).
        """
        spelling = self._joined("label")
        code = self._joined("code")
        assert spelling is not None
        n = len(spelling)
        spellings = pd.Series(self.spellings.values, dtype="string")
        keys = label_key(spellings, self.synonyms)
        labels = spellings
        if self.synonyms:
            # A variant is shown as the label it stands for, not as itself.
            targets = {
                label_key(clean_text(pd.Series([t]))).iloc[0]: t for t in self.synonyms.values()
            }
            renamed = (keys != spellings.str.casefold()).to_numpy()
            labels = spellings.mask(renamed, clean_text(keys.map(targets).astype("string")))
        label_of, label_values = pd.factorize(labels, use_na_sentinel=True)
        key_of, key_values = pd.factorize(keys)
        row_key = _compact(key_of[spelling], len(key_values))
        local_ids = (
            "local:" + pd.Series(key_values, dtype="string").str.replace(" ", "_")
        ).tolist()

        code_values = self.tables["code"].values
        # A code is an id only with its system; without one the label stands in.
        if code is not None and system is not None:
            coded = (code >= 0) & (system >= 0)
        else:
            coded = np.zeros(n, dtype=bool)
        ids: list[str] = []
        id_of = None
        adopted = None
        if coded.any():
            assert code is not None
            assert system is not None
            n_codes = len(code_values)
            pair_of, pairs = pd.factorize(system[coded].astype(np.int64) * n_codes + code[coded])
            texts = [
                f"{system_names[s]}:{code_values[c]}"
                for s, c in zip(pairs // n_codes, pairs % n_codes, strict=True)
            ]
            text_of, distinct = pd.factorize(pd.Series(texts, dtype=object))
            ids = list(distinct)
            id_of = np.full(n, -1, dtype=np.int64)
            id_of[coded] = text_of[pair_of]
            if not coded.all():
                n_ids = len(ids)
                pairs = pd.unique(row_key[coded].astype(np.int64) * n_ids + id_of[coded])
                pair_keys = pairs // n_ids
                one = np.bincount(pair_keys, minlength=len(key_values))[pair_keys] == 1
                unique_id = np.full(len(key_values), -1, dtype=np.int64)
                unique_id[pair_keys[one]] = pairs[one] % n_ids
                adopt = unique_id[row_key]
                adopted = ~coded & (adopt >= 0)
                id_of = np.where(adopted, adopt, id_of)
                if not adopted.any():
                    adopted = None

        # Coded ids and local ids are one namespace (a system may be "local").
        concept_of, concept_ids = pd.factorize(pd.Series(ids + local_ids, dtype=object))
        if id_of is None:
            concept = concept_of[len(ids) + row_key]
        else:
            concept = np.where(id_of >= 0, concept_of[id_of], concept_of[len(ids) + row_key])
        concept = _compact(concept, len(concept_ids))
        del row_key

        sys_names = list(system_names)
        code_names = list(code_values)
        sys_row = code_row = None
        if id_of is not None:
            assert code is not None
            assert system is not None
            sys_row = np.where(coded, system, -1)
            code_row = np.where(coded, code, -1)
            if adopted is not None:
                split = [text.split(":", 1) for text in ids]
                sys_row = np.where(adopted, len(sys_names) + id_of, sys_row)
                code_row = np.where(adopted, len(code_names) + id_of, code_row)
                sys_names += [part[0] for part in split]
                code_names += [part[1] for part in split]
            sys_row = _compact(sys_row, len(sys_names))
            code_row = _compact(code_row, len(code_names))
        return (
            concept,
            list(concept_ids),
            sys_row,
            sys_names,
            code_row,
            code_names,
            _compact(label_of[spelling], len(label_values)),
            list(label_values),
        )

    def _reasons(self) -> np.ndarray | None:
        """Recorded reasons, checked to look like concept ids (``PREFIX:code``)."""
        reason = self._joined("reason_id")
        if reason is None or not (reason >= 0).any():
            return None
        values = pd.Series(self.tables["reason_id"].values, dtype="string")
        curie = values.str.match(_CURIE).fillna(False).astype(bool).to_numpy()
        bad = (reason >= 0) & ~np.append(curie, True)[reason]
        if bad.any():
            example = str(values.iloc[int(reason[np.argmax(bad)])])
            raise RecordsError(
                f"{self.source}: column {self.columns.get('reason')!r} holds {example!r} at "
                f"{self.rows(bad)}; a reason is the concept id of a condition, such as "
                f"'SNOMEDCT:59621000'"
            )
        return reason

    # -- who the patients are -------------------------------------------------------

    def _about(self, key: str) -> pd.Series:
        """The cells of ``key`` (``patient:age``...) over every kept row, handed over once."""
        parts = self.about_parts.pop(key)
        values = parts[0] if len(parts) == 1 else pd.concat(parts)
        return values.reset_index(drop=True)

    def _patients(self, patient: np.ndarray, times: np.ndarray | None, unit: str) -> pd.DataFrame:
        """``Records.patients`` from the kept rows' cells, or the error they give.

        ``patient`` holds each kept row's patient code, ``times`` its time
        (int64 in ``unit``; None without a time column).
        """
        n_ids = len(self.tables["patient_id"])
        table: dict[str, Any] = {}
        if "patient:age" in self.about:
            table["age"] = self._ages(patient, times, n_ids)
        elif "patient:birth_date" in self.about:
            assert times is not None
            table["age"] = self._ages_from_births(patient, times, unit, n_ids)
        else:
            table["age"] = np.full(n_ids, np.nan)
        sexes = pd.Series(pd.NA, index=pd.RangeIndex(n_ids), dtype="string")
        if "patient:sex" in self.about:
            sexes = self._sexes(patient, n_ids)
        table["sex"] = sexes
        for key, column in self.about.items():
            if key.startswith("patient:covariate:"):
                table[column] = self._covariate(key, patient, n_ids)
        ids = pd.Index(self.tables["patient_id"].values, dtype=object, name="patient_id")
        return pd.DataFrame(table, index=pd.RangeIndex(n_ids)).set_axis(ids)

    def _ages(self, patient: np.ndarray, times: np.ndarray | None, n_ids: int) -> np.ndarray:
        """Each patient's age at their latest dated row that gives one (without times, the largest)."""
        column = self.about["patient:age"]
        values = self._about(key="patient:age")
        if pd.api.types.is_bool_dtype(values.dtype):
            raise RecordsError(
                f"{self.source}: column {column!r} holds true/false values, not ages in years"
            )
        if pd.api.types.is_numeric_dtype(values.dtype):
            years = values.astype("float64").to_numpy(dtype=float, na_value=np.nan)
            bad = np.zeros(len(values), dtype=bool)
        else:
            # Ages repeat: each distinct text is read once.
            local, uniques = pd.factorize(values, use_na_sentinel=True)
            cleaned = clean_codes(pd.Series(uniques, dtype=object))
            distinct = pd.to_numeric(cleaned, errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            given = np.append(cleaned.notna().to_numpy(dtype=bool), False)
            years = np.append(distinct, np.nan)[local]
            bad = given[local] & np.isnan(years)
        with np.errstate(invalid="ignore"):
            bad |= (years < 0) | (years > 150) | np.isinf(years)
        if bad.any():
            example = values[bad].iloc[0]
            shown = repr(example) if isinstance(example, str) else str(example)
            raise RecordsError(
                f"{self.source}: column {column!r} holds {shown} at {self.rows(bad)}; an age "
                f"is a number of years from 0 to 150, or empty where unknown"
            )
        known = ~np.isnan(years)
        who, age = patient[known].astype(np.int64), years[known]
        ages = np.full(n_ids, np.nan)
        ages[who] = age
        if np.array_equal(ages[who], age):
            # One age per patient, as most tables give it: nothing to choose.
            return ages
        when = times[known] if times is not None else np.zeros(len(age), dtype=np.int64)
        # By patient, then time (undated first), then age: each patient's last row wins.
        order = np.lexsort((age, when, who))
        last = order[np.append(who[order][1:] != who[order][:-1], True)] if len(order) else order
        ages[who[last]] = age[last]
        return ages

    def _ages_from_births(
        self, patient: np.ndarray, times: np.ndarray, unit: str, n_ids: int
    ) -> np.ndarray:
        """Each patient's age in whole years at their last observation, from their birth date."""
        column = self.about["patient:birth_date"]
        values = self._about("patient:birth_date")
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            raise RecordsError(
                f"{self.source}: column {column!r} holds numbers, not dates; write birth dates "
                f"as ISO 8601 (1961-03-04)"
            )
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        distinct = pd.Series(uniques, dtype=object)
        parsed = pd.to_datetime(distinct, errors="coerce", format="mixed", utc=True)
        parsed = parsed.astype("datetime64[ns, UTC]")
        empty = clean_text(distinct.astype("string")).isna().to_numpy()
        failed = parsed.isna().to_numpy() & ~empty
        if failed.any():
            bad = np.append(failed, False)[local]
            raise RecordsError(
                f"{self.source}: column {column!r} holds "
                f"{str(uniques[int(np.argmax(failed))])!r} at {self.rows(bad)}, which is not a "
                f"date; write birth dates as ISO 8601 (1961-03-04), or leave them empty where "
                f"unknown"
            )
        born = np.append(np.asarray(parsed.array.asi8), _NAT)[local]
        given = born != _NAT
        self._one_per_patient(patient, born, given, column, "birth date")
        birth = np.full(n_ids, _NAT, dtype=np.int64)
        birth[patient[given]] = born[given]
        seen = times != _NAT
        last = np.full(n_ids, _NAT, dtype=np.int64)
        np.maximum.at(last, patient[seen].astype(np.int64), times[seen])
        born_at = pd.Series(birth.view("M8[ns]"))
        last_at = pd.Series(last.view(f"M8[{unit}]"))
        early = (born_at > last_at).to_numpy()
        if early.any():
            first = int(np.argmax(early))
            rows = (patient == first) & seen
            raise RecordsError(
                f"{self.source}: patient {self.tables['patient_id'].values[first]!r} is born "
                f"(column {column!r}) after their last observation (column "
                f"{self.columns.get('time')!r}) at {self.rows(rows)}; correct the birth date or "
                f"the times"
            )
        return _completed_years(born_at, last_at)

    def _sexes(self, patient: np.ndarray, n_ids: int) -> pd.Series:
        """Each patient's sex, the same in every row that gives one."""
        column = self.about["patient:sex"]
        values = self._about("patient:sex")
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        known, unknown = _read_sexes(pd.Series(uniques, dtype=object))
        if unknown.any():
            bad = np.append(unknown, False)[local]
            raise RecordsError(
                f"{self.source}: column {column!r} holds {str(uniques[int(np.argmax(unknown))])!r} at "
                f"{self.rows(bad)}; a sex is female, male or other (F/M and the like), or empty "
                f"where unknown"
            )
        code_of, names = pd.factorize(known, use_na_sentinel=True)
        sex = np.append(code_of, -1)[local]
        self._one_per_patient(patient, sex, sex >= 0, column, "sex")
        found = np.full(n_ids, -1, dtype=np.int64)
        found[patient[sex >= 0]] = sex[sex >= 0]
        return _strings(list(names), found)

    def _covariate(self, key: str, patient: np.ndarray, n_ids: int) -> pd.Series:
        """A covariate's value per patient, the same in every row that gives one."""
        column = self.about[key]
        values = self._about(key)
        local, _ = pd.factorize(values, use_na_sentinel=True)
        given = local >= 0
        self._one_per_patient(patient, local, given, column, "value")
        # Each patient's value as written in their first row that gives one.
        at = np.flatnonzero(given)
        who, first = np.unique(patient[at], return_index=True)
        picked = values.iloc[at[first]].set_axis(who.astype(np.int64))
        return picked.reindex(pd.RangeIndex(n_ids))

    def _one_per_patient(
        self, patient: np.ndarray, value: np.ndarray, given: np.ndarray, column: str, what: str
    ) -> None:
        """Raise naming the first patient whose rows give two different values."""
        pairs = pd.DataFrame({"patient": patient[given], "value": value[given]})
        distinct = pairs.drop_duplicates()
        twice = distinct["patient"].duplicated(keep=False).to_numpy()
        if not twice.any():
            return
        first = int(distinct["patient"].to_numpy()[twice][0])
        rows = (patient == first) & given
        raise RecordsError(
            f"{self.source}: column {column!r} gives patient "
            f"{self.tables['patient_id'].values[first]!r} more than one {what} (at "
            f"{self.rows(rows)}); a patient has one {what}: correct those rows"
        )

    def _kept(self, name: str, kept: np.ndarray | None) -> pd.Series:
        """A ``keep=`` column as read, over the rows kept."""
        parts = self.kept.pop(name)
        values = parts[0] if len(parts) == 1 else pd.concat(parts)
        del parts
        values = values.reset_index(drop=True)
        return values if kept is None else values.iloc[kept].reset_index(drop=True)


def _display_labels(
    concept: np.ndarray, n_concepts: int, label: np.ndarray, n_labels: int
) -> tuple[np.ndarray, int]:
    """Each concept's most frequent label (ties: first seen), and how many others there are.

    ``concept`` and ``label`` are each row's codes (a label -1 counts for
    nothing); returns each concept's label code (-1 for none) and the
    number of (concept, label) pairs that are not a concept's display label.
    """
    valid = label >= 0
    n_labels = max(n_labels, 1)
    pair_of, pairs = pd.factorize(concept[valid].astype(np.int64) * n_labels + label[valid])
    table = pd.DataFrame(
        {
            "concept": pairs // n_labels,
            "label": pairs % n_labels,
            "n": np.bincount(pair_of, minlength=len(pairs)),
        }
    )
    table = table.sort_values("n", ascending=False, kind="stable")
    best = table.drop_duplicates("concept")
    display = np.full(n_concepts, -1, dtype=np.int64)
    display[best["concept"].to_numpy()] = best["label"].to_numpy()
    return display, len(table) - len(best)


def _duplicated_codes(columns: Sequence[tuple[np.ndarray | None, int | None]]) -> np.ndarray:
    """Rows equal to an earlier row in every column (``DataFrame.duplicated``).

    Each column is given as integer codes and how many values there are
    (codes from -1, missing, up), or with None to count its distinct values
    (times as int64); a column that is None is left out. The codes combine
    into one int64 key while their product fits.
    """
    codes: list[tuple[np.ndarray, int]] = []
    size = 1
    n_rows = 0
    for values, n in columns:
        if values is None:
            continue
        n_rows = len(values)
        if n is None:
            values, uniques = pd.factorize(values)
            n = len(uniques)
        else:
            values, n = values.astype(np.int64) + 1, n + 1
        codes.append((values, max(n, 1)))
        size *= max(n, 1)
    if size >= 2**62:
        frame = pd.DataFrame({i: values for i, (values, _) in enumerate(codes)})
        return frame.duplicated().to_numpy()
    key = np.zeros(n_rows, dtype=np.int64)
    for values, n in codes:
        key = key * n + values
    # Sorted stably, equal keys sit together in row order: each but the first
    # is a duplicate. Rows come grouped by patient, so the sort is quick.
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    later = np.zeros(n_rows, dtype=bool)
    later[1:] = ordered[1:] == ordered[:-1]
    duplicate = np.zeros(n_rows, dtype=bool)
    duplicate[order[later]] = True
    return duplicate


_UNITS = ("s", "ms", "us", "ns")
_NAT = np.iinfo(np.int64).min


class _Times:
    """Observation times, parsed part by part, and what a failed parse's message needs.

    Each part's distinct cells are parsed once, as
    ``pandas.to_datetime(format="mixed", utc=True)`` parses a column: the
    times get the finest resolution any part needs. The whole table fails to
    parse if a part does, and also when one part needs nanoseconds and
    another holds dates that nanoseconds cannot (after 2262). Then the
    cells a message may name (those that did not parse, or that set or break
    the resolution) are parsed again together, in the order first seen, so
    that the message is the one the whole column gives.
    """

    def __init__(self, source: str, column: str | None) -> None:
        self.source = source
        self.column = column
        self.parts: list[tuple[np.ndarray, str]] = []
        self.numeric = False
        self.failed: Exception | None = None
        self.coerce_failed = False
        self.too_wide = False
        self.suspects = _Distinct()
        self.first_row: list[int] = []
        self.rows: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.fine: tuple[int, Any] | None = None

    def add(self, values: pd.Series, *, offset: int) -> None:
        """Parse one part's times; ``offset`` is the number of rows before it."""
        if self.numeric:
            return
        dtype = values.dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            self.numeric = True
            return
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        distinct = pd.Series(uniques)
        ok = True
        try:
            parsed = pd.to_datetime(distinct, errors="raise", format="mixed", utc=True)
        except (ValueError, TypeError, OverflowError) as err:
            ok = False
            if self.failed is None:
                self.failed = err
            try:
                parsed = pd.to_datetime(distinct, errors="coerce", format="mixed", utc=True)
            except (ValueError, TypeError, OverflowError):
                self.coerce_failed = True
                self._suspect(np.arange(len(uniques)), local, uniques, offset)
                return
        nat = parsed.isna().to_numpy()
        # Cells that may be named if the column fails: those that did not
        # parse, and those that set or break its resolution.
        suspect = nat.copy()
        if ok and nat.any():
            suspect &= clean_text(distinct).notna().to_numpy()
        unit = str(parsed.dtype.unit)
        ints = np.asarray(parsed.array.asi8)
        if unit == "ns":
            if self.fine is None and not nat.all():
                fine = ~nat & (ints % 1000 != 0)
                first = int(np.argmax(fine)) if fine.any() else int(np.argmax(~nat))
                self.fine = (offset + int(np.argmax(local == first)), uniques[first])
        else:
            limit = (2**63 - 1) // 10 ** (3 * (3 - _UNITS.index(unit)))
            wide = ~nat & (np.abs(np.where(nat, 0, ints)) > limit)
            if wide.any():
                self.too_wide = True
                suspect |= wide
        if suspect.any():
            self._suspect(np.flatnonzero(suspect), local, uniques, offset)
        if ok:
            self.parts.append((np.append(ints, _NAT)[local], unit))

    def _suspect(self, which: np.ndarray, local: np.ndarray, uniques: Any, offset: int) -> None:
        codes = self.suspects.codes_of([uniques[i] for i in which])
        lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)
        lookup[which] = codes
        row_codes = lookup[local]
        rows = np.flatnonzero(row_codes >= 0)
        self.rows.append(rows + offset)
        self.codes.append(row_codes[rows])
        seen, first = np.unique(row_codes[rows], return_index=True)
        for code, row in zip(seen.tolist(), rows[first].tolist(), strict=True):
            if code == len(self.first_row):
                self.first_row.append(offset + row)

    def values(self, rows: Callable[[np.ndarray], str], n: int) -> tuple[np.ndarray, str]:
        """Every row's time as int64 in the unit returned, or the error the whole column gives."""
        if self.numeric:
            raise RecordsError(
                f"{self.source}: column {self.column!r} holds numbers, not dates; write times as "
                f"ISO 8601 (2021-03-04 or 2021-03-04T10:30:00) or convert them with "
                f"pandas.to_datetime(..., unit=...) first"
            )
        unit = max((u for _, u in self.parts), key=_UNITS.index, default="s")
        if self.failed is None and not (self.too_wide and unit == "ns"):
            arrays = []
            for ints, part_unit in self.parts:
                if part_unit != unit:
                    factor = 10 ** (3 * (_UNITS.index(unit) - _UNITS.index(part_unit)))
                    ints = np.where(ints == _NAT, _NAT, ints * factor)
                arrays.append(ints)
            self.parts = []
            return (arrays[0] if len(arrays) == 1 else np.concatenate(arrays)), unit
        self._raise(rows, n)

    def _raise(self, rows: Callable[[np.ndarray], str], n: int) -> NoReturn:
        cells = list(zip(self.first_row, self.suspects.values, strict=True))
        if self.fine is not None:
            cells.append(self.fine)
        cells.sort(key=lambda cell: cell[0])
        sample = pd.Series([value for _, value in cells], dtype=object)
        err: Exception | None = self.failed
        try:
            pd.to_datetime(sample, errors="raise", format="mixed", utc=True)
        except (ValueError, TypeError, OverflowError) as found:
            err = found
        if err is None:
            err = pd.errors.OutOfBoundsDatetime("dates outside the range of nanoseconds")
        where = ""
        if not self.coerce_failed:
            try:
                parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
                bad_cells = (parsed.isna() & clean_text(sample).notna()).to_numpy()
            except (ValueError, TypeError, OverflowError):
                bad_cells = np.zeros(len(cells), dtype=bool)
            bad_values = {value for (_, value), bad in zip(cells, bad_cells, strict=True) if bad}
            is_bad = np.array([value in bad_values for value in self.suspects.values] + [False])
            mask = np.zeros(n, dtype=bool)
            example: Any = None
            for part_rows, part_codes in zip(self.rows, self.codes, strict=True):
                hit = is_bad[part_codes]
                mask[part_rows[hit]] = True
                if example is None and hit.any():
                    example = self.suspects.values[int(part_codes[np.argmax(hit)])]
            if mask.any():
                where = f" such as {str(example)!r} at {rows(mask)}"
        raise RecordsError(
            f"{self.source}: column {self.column!r} holds values that are not dates{where} "
            f"({err}); write times as ISO 8601 (2021-03-04 or 2021-03-04T10:30:00)"
        ) from err


def _times_series(times: np.ndarray | None, unit: str, n: int) -> pd.Series:
    if times is None:
        return pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[ns, UTC]")
    return pd.Series(times.view(f"M8[{unit}]")).dt.tz_localize("UTC")


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


def check_patients(patients: pd.DataFrame, patient_ids: pd.Series) -> pd.DataFrame:
    """A ``Records.patients`` table checked and put in its canonical form.

    One row per patient of the records, in the order of first appearance
    (patients the table lacks get an empty row; patients it has beyond the
    records are left out); ``age`` as float, ``sex`` as strings of
    :data:`SEXES` (``F``/``M``, ``woman``/``man`` and their case are read)
    or ``<NA>``; other columns are covariates, kept as they are.

    Parameters
    ----------
    patients : pandas.DataFrame
        Indexed by patient id, with the columns ``age`` and ``sex``.
    patient_ids : pandas.Series
        The ``patient_id`` column of the records.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    RecordsError
        If ``patients`` is not a DataFrame, names a patient twice, or holds
        an age that is no number or is negative, or a sex it cannot read.
    ColumnNotFound
        If ``age`` or ``sex`` is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.core import check_patients
    >>> table = pd.DataFrame({"age": [34, None], "sex": ["F", "male"]}, index=["p1", "p2"])
    >>> check_patients(table, pd.Series(["p2", "p1", "p3"]))
                 age     sex
    patient_id
    p2           NaN    male
    p1          34.0  female
    p3           NaN    <NA>
    """
    if not isinstance(patients, pd.DataFrame):
        raise RecordsError(
            f"patients must be a pandas DataFrame indexed by patient id, "
            f"got {type(patients).__name__}"
        )
    check_columns(patients, dict.fromkeys(PATIENT_COLUMNS), where="patients")
    if patients.index.duplicated().any():
        twice = patients.index[patients.index.duplicated()].unique()[:3].tolist()
        raise RecordsError(f"patients: each patient needs one row; {twice} have several")
    age = pd.to_numeric(patients["age"], errors="coerce")
    bad = age.isna() & patients["age"].notna()
    bad |= age < 0
    if bad.any():
        where = patients.index[bad.to_numpy()][:3].tolist()
        values = patients["age"][bad.to_numpy()][:3].tolist()
        raise RecordsError(
            f"patients: column 'age' needs years as non-negative numbers; "
            f"patients {where} have {values}"
        )
    sex = normalize_sex(patients["sex"], where="patients")
    if isinstance(patient_ids.dtype, pd.CategoricalDtype):
        # In order of first appearance, from the codes: no text per row.
        codes = pd.unique(patient_ids.cat.codes.to_numpy())
        order = pd.Index(patient_ids.cat.categories.take(codes[codes >= 0]), name="patient_id")
    else:
        order = pd.Index(pd.unique(patient_ids.to_numpy()), name="patient_id")
    table = patients.assign(age=age.astype("float64"), sex=sex)
    others = [c for c in table.columns if c not in PATIENT_COLUMNS]
    table = table.loc[:, [*PATIENT_COLUMNS, *others]]
    table.index = table.index.astype(object)
    return table.reindex(pd.Index(order.astype(object), name="patient_id"))


_SEX_WORDS: dict[str, str] = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "w": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "other": "other",
    "o": "other",
    "x": "other",
    "intersex": "other",
}
_NO_SEX = frozenset({"", "unknown", "u", "unk", "not known", "nan", "none", "null"})


def normalize_sex(values: pd.Series, *, where: str) -> pd.Series:
    """Sex as ``female``, ``male``, ``other`` or ``<NA>``, whatever its spelling.

    Parameters
    ----------
    values : pandas.Series
        Recorded sex or administrative gender (``F``, ``male``, ``Woman``,
        FHIR's ``unknown``).
    where : str
        Named in the error message.

    Returns
    -------
    pandas.Series
        Of dtype ``string``, same index.

    Raises
    ------
    RecordsError
        If a value is none of the known spellings.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.core import normalize_sex
    >>> normalize_sex(pd.Series(["F", " male", "unknown", None]), where="sex").tolist()
    ['female', 'male', <NA>, <NA>]
    """
    known, unknown = _read_sexes(values)
    if unknown.any():
        text = values.astype("string").str.strip().str.lower()
        odd = sorted(set(text[unknown].tolist()))[:5]
        raise RecordsError(
            f"{where}: sex must be female, male or other (F/M and the like), "
            f"or empty where unknown; found {odd}"
        )
    return known


def _read_sexes(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Each value as ``female``/``male``/``other`` or ``<NA>``, and which are no known spelling."""
    text = values.astype("string").str.strip().str.lower()
    known = text.map(_SEX_WORDS).astype("string")
    unknown = (text.notna() & ~text.isin(_NO_SEX) & known.isna()).to_numpy(dtype=bool)
    return known, unknown


def _concat_patients(parts: Sequence[tuple[str, pd.DataFrame | None]]) -> pd.DataFrame | None:
    """One ``Records.patients`` table of several inputs' (each named for messages).

    The union of their patients: a patient in two inputs has the larger age
    (the age at their last observation in either), and their sex and
    covariates must agree where both say; None when no input has a table.

    Raises
    ------
    RecordsError
        If a patient's sex or a covariate differs between two inputs.
    """
    given = [(name, table) for name, table in parts if table is not None]
    if not given:
        return None
    joined = pd.concat(
        [table.assign(_input=name) for name, table in given], sort=False
    ).rename_axis("patient_id")
    for column in joined.columns.drop(["age", "_input"]):
        said = joined[[column, "_input"]].dropna(subset=[column])
        distinct = said.reset_index().drop_duplicates(["patient_id", column])
        twice = distinct["patient_id"].duplicated(keep=False).to_numpy()
        if twice.any():
            who = distinct.loc[twice, "patient_id"].iloc[0]
            which = distinct[distinct["patient_id"] == who]
            found = ", ".join(
                f"{value!r} in {name}"
                for value, name in zip(which[column], which["_input"], strict=True)
            )
            raise RecordsError(
                f"patient {who!r} has {column} {found}; a patient's {column} must agree "
                f"across the inputs: correct one of them"
            )
    grouped = joined.drop(columns="_input").groupby(level=0, sort=False)
    table = grouped.first()
    table["age"] = grouped["age"].max()
    return table


def _completed_years(born: pd.Series, at: pd.Series) -> np.ndarray:
    """Age in whole years on the dates ``at`` of people born on ``born`` (NaN where either is NaT).

    Completed years, as on a birthday: a year is not complete before its
    month and day come round. The two Series are aligned by position.
    """
    born, at = born.reset_index(drop=True), at.reset_index(drop=True)
    before = (at.dt.month < born.dt.month) | (
        (at.dt.month == born.dt.month) & (at.dt.day < born.dt.day)
    )
    years = at.dt.year - born.dt.year - before.astype("float64")
    return years.to_numpy(dtype=float, na_value=np.nan)


def _patients_note(patients: pd.DataFrame | None, where: str = "") -> list[str]:
    """A note saying for how many patients age and sex are known (none without a table)."""
    if patients is None:
        return []
    n = len(patients)
    has_age, has_sex = patients["age"].notna(), patients["sex"].notna()
    aged, sexed = int(has_age.sum()), int(has_sex.sum())
    if (has_age == has_sex).all():
        said = f"age and sex known for {aged:,} of {n:,} patients"
    else:
        said = f"age known for {aged:,} of {n:,} patients, sex for {sexed:,}"
    return [f"{where}: {said}" if where else said]
