"""Records.patients: who the patients are, checked at the boundary."""

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kgmed
from kgmed import Records
from kgmed.errors import ColumnNotFound, ParameterError, RecordsError
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


# -- who the patients are, read from a long or wide table -------------------------------

VISITS = pd.DataFrame(
    {
        "pid": ["a", "a", "a", "b", "b", "c"],
        "dx": ["flu", "asthma", "cough", "flu", "flu", "asthma"],
        "kind": ["disease", "disease", "symptom", "disease", "disease", "disease"],
        "when": ["2020-01-05", "2023-06-01", "2021-01-01", "2021-03-02", "2019-03-02", None],
        "age": [40, 43, 41, None, None, 7.5],
        "born": ["1980-06-01", None, "1980-06-01", "2000-03-02", None, "2010-01-01"],
        "sex": ["F", "female", None, "m", "M", None],
        "smoker": ["yes", None, "yes", "no", None, None],
        "site": ["x", "x", "x", "y", "y", "z"],
    }
)


def _from(df: pd.DataFrame = VISITS, **options: object) -> Records:
    return Records.from_dataframe(df, patient="pid", concept="dx", kind="kind", **options)


def test_an_age_column_gives_the_age_at_the_latest_time() -> None:
    patients = _from(time="when", age="age").patients
    assert patients is not None
    # a: 43 at 2023-06-01, its latest time; b: no age; c: no time, its only age.
    assert patients["age"].tolist()[:1] == [43.0]
    assert pd.isna(patients.loc["b", "age"])
    assert patients.loc["c", "age"] == 7.5
    assert patients["sex"].isna().all()


def test_without_times_a_patients_age_is_the_largest() -> None:
    ages = VISITS.assign(age=[43, 40, 41, None, 30, None])
    patients = _from(ages, age="age").patients
    assert patients is not None
    assert patients["age"].tolist()[:2] == [43.0, 30.0]


def test_a_birth_date_gives_completed_years_at_the_last_observation() -> None:
    patients = _from(time="when", birth_date="born").patients
    assert patients is not None
    # a: born 1980-06-01, last seen 2023-06-01: 43 on the day; b: 2000-03-02 to 2021-03-02.
    assert patients.loc["a", "age"] == 43.0
    assert patients.loc["b", "age"] == 21.0
    assert pd.isna(patients.loc["c", "age"])  # no dated observation
    assert "born" not in patients.columns
    day_before = VISITS.assign(when=VISITS["when"].replace("2023-06-01", "2023-05-31"))
    aged = _from(day_before, time="when", birth_date="born").patients
    assert aged is not None
    assert aged.loc["a", "age"] == 42.0


def test_sex_and_covariates_are_one_per_patient() -> None:
    records = _from(sex="sex", covariates=["smoker", "site"])
    patients = records.patients
    assert patients is not None
    assert list(patients.columns) == ["age", "sex", "smoker", "site"]
    assert patients.index.tolist() == ["a", "b", "c"]
    assert patients["sex"].tolist()[:2] == ["female", "male"]
    assert pd.isna(patients.loc["c", "sex"])
    assert patients["smoker"].tolist()[:2] == ["yes", "no"]
    assert pd.isna(patients.loc["c", "smoker"])
    assert patients["site"].tolist() == ["x", "y", "z"]
    assert records.report.notes == ["age known for 0 of 3 patients, sex for 2"]


def test_without_columns_of_who_the_patients_are_there_is_no_table() -> None:
    records = _from(time="when")
    assert records.patients is None
    assert records.report.notes == []


@pytest.mark.parametrize(
    ("change", "options", "words"),
    [
        ({"sex": ["F", "M", None, "m", "M", None]}, {"sex": "sex"}, "patient 'a' more than one sex \\(at row 0, row 1\\)"),
        ({"sex": ["F", "F", None, "yes", "M", None]}, {"sex": "sex"}, "column 'sex' holds 'yes' at row 3"),
        ({"age": [40, "old", 41, None, None, 7]}, {"age": "age"}, "column 'age' holds 'old' at row 1"),
        ({"age": [40, 43, -1, None, None, 7]}, {"age": "age"}, "holds -1.0 at row 2; an age is a number of years from 0 to 150"),
        ({"age": [40, 43, 200, None, None, 7]}, {"age": "age"}, "holds 200.0 at row 2"),
        ({"born": ["1980-06-01", None, "1981-06-01", None, None, None]}, {"birth_date": "born", "time": "when"}, "patient 'a' more than one birth date \\(at row 0, row 2\\)"),
        ({"born": ["soon", None, None, None, None, None]}, {"birth_date": "born", "time": "when"}, "column 'born' holds 'soon' at row 0, which is not a date"),
        ({"born": ["2030-01-01", None, None, None, None, None]}, {"birth_date": "born", "time": "when"}, "patient 'a' is born \\(column 'born'\\) after their last observation \\(column 'when'\\) at row 0, row 1, row 2"),
        ({"smoker": ["yes", "no", None, None, None, None]}, {"covariates": ["smoker"]}, "column 'smoker' gives patient 'a' more than one value \\(at row 0, row 1\\)"),
        ({}, {"birth_date": "born"}, "needs the times of the observations: pass time="),
        ({}, {"covariates": ["age"]}, "covariates= names \\['age'\\], which Records.patients makes itself"),
    ],
)  # fmt: skip
def test_bad_values_of_who_the_patients_are_name_the_column_and_rows(
    change: dict[str, list[object]], options: dict[str, object], words: str
) -> None:
    with pytest.raises(RecordsError, match=words):
        _from(VISITS.assign(**change), **options)


def test_naming_a_column_that_is_not_there_says_which_argument() -> None:
    with pytest.raises(ColumnNotFound, match="Pass sex=<column>"):
        _from(sex="gender")
    with pytest.raises(ColumnNotFound, match="Pass covariates=<column>"):
        _from(covariates=["bmi"])


def test_age_and_birth_date_together_are_refused() -> None:
    with pytest.raises(ParameterError, match="not both"):
        _from(time="when", age="age", birth_date="born")


def test_a_file_read_whole_or_in_chunks_gives_the_same_patients(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    VISITS.to_csv(path, index=False)
    options: dict[str, Any] = {
        "patient": "pid",
        "concept": "dx",
        "time": "when",
        "birth_date": "born",
        "sex": "sex",
        "covariates": ["smoker", "site"],
    }
    whole = kgmed.read_records(path, **options)
    assert whole.patients is not None
    for size in (1, 2, 4):
        chunked = kgmed.read_records(path, chunksize=size, progress=False, **options)
        pd.testing.assert_frame_equal(chunked.patients, whole.patients)
        assert chunked.report == whole.report
    assert whole.patients["age"].tolist()[:2] == [43.0, 21.0]
    # An error names the line in the file, read whole or in chunks alike.
    VISITS.assign(sex=["F", "F", None, "m", "F", None]).to_csv(path, index=False)
    for size in (None, 1, 3):
        with pytest.raises(
            RecordsError, match="patient 'b' more than one sex \\(at line 5, line 6\\)"
        ):
            kgmed.read_records(path, chunksize=size, progress=False, **options)


def test_a_wide_table_carries_who_the_patients_are() -> None:
    table = pd.DataFrame(
        {
            "id": ["p1", "p2", "p1"],
            "Disease": ["Flu", "Asthma", "Cold"],
            "Symptom_1": ["fever", "wheezing", None],
            "Symptom_sex": ["F", "M", "F"],
            "age": [34, 8, 35],
        }
    )
    records = Records.from_wide(
        table,
        patient="id",
        kinds={"disease": "Disease", "symptom": "Symptom_*"},
        age="age",
        sex="Symptom_sex",
    )
    # The pattern Symptom_* does not take the sex column.
    assert set(records.data["label"]) == {"Flu", "fever", "Asthma", "wheezing", "Cold"}
    patients = records.patients
    assert patients is not None
    assert patients.to_dict("index") == {
        "p1": {"age": 35.0, "sex": "female"},
        "p2": {"age": 8.0, "sex": "male"},
    }
    with pytest.raises(RecordsError, match="patient 'p1' more than one sex"):
        Records.from_wide(
            table.assign(Symptom_sex=["F", "M", "M"]),
            patient="id",
            kinds={"disease": "Disease"},
            sex="Symptom_sex",
        )


def test_a_wide_file_has_no_birth_dates_to_age_by(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    pd.DataFrame({"Disease": ["Flu"], "born": ["1980-01-01"]}).to_csv(path, index=False)
    with pytest.raises(ParameterError, match="a wide file has no times"):
        kgmed.read_records(path, kinds={"disease": "Disease"}, birth_date="born")


def test_inputs_combined_keep_every_patient_and_must_agree() -> None:
    from kgmed.cli import _combine

    first = _from(VISITS.iloc[:3], time="when", age="age", sex="sex")
    second = _from(VISITS.iloc[3:], time="when", age="age", sex="sex")
    later = _from(
        VISITS.iloc[:1].assign(dx="gout", when="2024-06-01", age=44), time="when", age="age"
    )
    combined = _combine([first, second, later])
    assert combined.patients is not None
    patients = combined.patients
    # The age at the last observation of either input.
    assert patients.loc["a"].tolist() == [44.0, "female"]
    assert np.isnan(patients.loc["b", "age"])
    assert patients.loc["b", "sex"] == "male"
    assert patients.loc["c", "age"] == 7.5
    assert pd.isna(patients.loc["c", "sex"])
    assert patients.index.tolist() == ["a", "b", "c"]
    clash = _from(VISITS.iloc[:1].assign(sex="M"), sex="sex")
    with pytest.raises(RecordsError, match=r"patient 'a' has sex 'female' in .*, 'male' in"):
        _combine([first, clash])
    assert _combine([_from(time="when"), _from(time="when")]).patients is None


def test_who_the_patients_are_never_leaves_in_an_export() -> None:
    records = kgmed.datasets.synthetic(600, random_state=0)
    people = pd.DataFrame(
        {"age": 47.0, "sex": "female", "site": "site-Q7Z3"},
        index=pd.Index(records.data["patient_id"].unique()),
    )
    with_people = Records(records.data, records.report, patients=people)
    kg = kgmed.build(with_people)
    report = kg.privacy_report(with_people)
    assert report.ok
    assert report.patient_fields == []
    from kgmed.graph import _json_text
    from kgmed.rdf._export import serialize, to_rdf

    # The build says what it adjusted for (the words "age" and "sex"), never
    # a patient's age, sex or covariate.
    assert kg.params["adjusted_for"] == ["age", "sex"]
    for text in (_json_text(kg), serialize(to_rdf(kg), "nt")):
        assert "site-Q7Z3" not in text
        assert '"age":' not in text
        assert '"sex":' not in text
        assert "female" not in text
        assert "47.0" not in text
    # The audit names such a field if one were ever put on a node.
    node = next(iter(kg.graph.nodes))
    kg.graph.nodes[node]["sex"] = "female"
    assert kg.privacy_report().patient_fields == ["sex"]


_AGES = st.one_of(
    st.none(), st.integers(0, 120), st.floats(0, 150), st.sampled_from(["41", " 7 ", "x", -3])
)
_SEXES = st.sampled_from([None, "F", "m", "Female", "other", "unknown", "", "yes"])
_DAYS = st.one_of(st.none(), st.integers(0, 3000))


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.sampled_from(["p1", "p2", "p3"]), _DAYS, _AGES, _SEXES),
        min_size=1,
        max_size=12,
    )
)
def test_patients_are_an_error_or_what_a_recount_gives(rows: list[tuple[Any, ...]]) -> None:
    """Whatever the cells, either a RecordsError or the ages and sexes a plain recount gives."""
    start = pd.Timestamp("2015-01-01")
    table = pd.DataFrame(
        {
            "patient_id": [r[0] for r in rows],
            "concept": [f"c{i}" for i in range(len(rows))],
            "kind": "symptom",
            "time": [
                None if r[1] is None else str((start + pd.Timedelta(days=r[1])).date())
                for r in rows
            ],
            "age": pd.Series([r[2] for r in rows], dtype=object),
            "sex": [r[3] for r in rows],
        }
    )
    words = {"f": "female", "female": "female", "m": "male", "other": "other"}
    try:
        patients = Records.from_dataframe(table, time="time", age="age", sex="sex").patients
    except RecordsError:
        ages = [str(r[2]).strip() for r in rows if r[2] is not None]
        bad_age = any(not re.fullmatch(r"\d+(\.\d+)?", a) or float(a) > 150 for a in ages)
        bad_sex = any(r[3] not in (None, "", "unknown") and r[3].lower() not in words for r in rows)
        said: dict[str, set[str]] = {}
        for r in rows:
            if r[3] is not None and r[3].lower() in words:
                said.setdefault(r[0], set()).add(words[r[3].lower()])
        assert bad_age or bad_sex or any(len(s) > 1 for s in said.values())
        return
    assert patients is not None
    for patient, row in patients.iterrows():
        known = [
            (r[1] is not None, r[1] or 0, float(str(r[2]).strip()))
            for r in rows
            if r[0] == patient and r[2] is not None
        ]
        expected = max(known)[2] if known else None
        if expected is None:
            assert math.isnan(row["age"])
        else:
            assert row["age"] == expected
        sexes = {
            words[r[3].lower()] for r in rows if r[0] == patient and r[3] and r[3].lower() in words
        }
        if sexes:
            assert {row["sex"]} == sexes
        else:
            assert row["sex"] is pd.NA
