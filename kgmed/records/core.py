"""Records: the canonical long table of (patient, concept) observations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kgmed._validation import check_columns
from kgmed.errors import (
    MissingValueError,
    ParameterError,
)
from kgmed.records._patients import PATIENT_COLUMNS, SEXES, check_patients, normalize_sex

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
#: ``Records.data`` (``HbA1c high``), only when ``flagged``; then
#: ``canonical_value`` and ``canonical_unit``, the value converted into
#: the unit its reference range (or :data:`~kgmed.records.vocab.CANONICAL_UNITS`)
#: is written in, where it can be (docs/lab-values.md). A reader may add
#: columns after these (``omop_concept_id``).
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
        ``system``, ``code``, ``encounter_id``, ``time``. The text columns
        are categoricals: each distinct text is held once, as a category
        (sorted), and each row holds an integer code, about 22 bytes a row
        in all where strings took 120. They sort, group and compare as
        their texts; ``kind`` has every kind as a category. To set a cell
        to a text not yet in its column, add it first
        (``data["label"].cat.add_categories(...)``), or work on
        ``data.astype({"label": "string"})``.
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
        from kgmed.records._long import _About, _from_long

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
        from kgmed.records._long import _About
        from kgmed.records._wide import _from_wide

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
