"""Who the patients are: ages, sexes and covariates, checked and combined."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kgmed._validation import check_columns
from kgmed.errors import (
    RecordsError,
)

#: The columns every ``Records.patients`` table has, in order: who each
#: patient is, for adjusting relations. ``age`` is the patient's age in years
#: at their last observation in the records (NaN where unknown); ``sex`` is
#: one of :data:`SEXES` or ``<NA>``. Covariates a user names follow them.
PATIENT_COLUMNS: tuple[str, ...] = ("age", "sex")

#: Values of ``Records.patients["sex"]`` besides ``<NA>``.
SEXES: tuple[str, ...] = ("female", "male", "other")


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
