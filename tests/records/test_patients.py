"""Records.patients: who the patients are, checked at the boundary."""

import pandas as pd
import pytest

from kgmed import Records
from kgmed.errors import ColumnNotFound, RecordsError
from kgmed.records import PATIENT_COLUMNS
from kgmed.records.core import check_patients, normalize_sex


def _records() -> Records:
    df = pd.DataFrame(
        {"patient_id": ["a", "b", "c"], "concept": ["flu", "flu", "cough"], "kind": "disease"}
    )
    return Records.from_dataframe(df)


def test_patients_default_none():
    assert _records().patients is None


def test_patients_canonical_form():
    records = _records()
    table = pd.DataFrame(
        {"sex": ["M", "woman", None, "F"], "age": ["40", 3.5, None, 20], "smoker": [1, 0, 1, 0]},
        index=["b", "a", "c", "zz"],
    )
    checked = Records(records.data, records.report, patients=table).patients
    assert checked is not None
    assert list(checked.columns) == [*PATIENT_COLUMNS, "smoker"]
    assert checked.index.tolist() == ["a", "b", "c"]  # the records' patients, in order
    assert checked["age"].tolist()[:2] == [3.5, 40.0]
    assert pd.isna(checked.loc["c", "age"])
    assert checked["sex"].tolist()[:2] == ["female", "male"]
    assert checked["sex"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("table", "error", "words"),
    [
        (pd.DataFrame({"age": [1]}, index=["a"]), ColumnNotFound, "sex"),
        (pd.DataFrame({"age": [1, 2], "sex": "F"}, index=["a", "a"]), RecordsError, "'a'"),
        (pd.DataFrame({"age": ["old"], "sex": "F"}, index=["a"]), RecordsError, "'old'"),
        (pd.DataFrame({"age": [-1], "sex": "F"}, index=["a"]), RecordsError, "non-negative"),
        (pd.DataFrame({"age": [1], "sex": "yes"}, index=["a"]), RecordsError, "'yes'"),
        ([("a", 1, "F")], RecordsError, "list"),
    ],
)
def test_patients_rejected(table, error, words):
    with pytest.raises(error, match=words):
        check_patients(table, pd.Series(["a"]))


def test_normalize_sex_spellings():
    values = pd.Series(["F", "f", "Female", " MALE ", "m", "other", "unknown", "", None])
    assert normalize_sex(values, where="x").tolist() == [
        "female",
        "female",
        "female",
        "male",
        "male",
        "other",
        pd.NA,
        pd.NA,
        pd.NA,
    ]
