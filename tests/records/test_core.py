"""Records from DataFrames: concept ids, kinds, errors, odd strings, the report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed import (
    ColumnNotFound,
    EmptyRecordsError,
    KgmedError,
    MissingValueError,
    Records,
    RecordsError,
    UnknownKindError,
)
from kgmed.records import COLUMNS


@pytest.fixture
def visits() -> pd.DataFrame:
    """Three patients in four rows, columns named the default way."""
    return pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p2", "p3"],
            "concept": ["Influenza", "fever", "fever", "oseltamivir"],
            "kind": ["disease", "symptom", "symptom", "treatment"],
        }
    )


# -- concept ids ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("http://snomed.info/sct", "44054006", "SNOMEDCT:44054006"),
        ("SNOMED CT", "44054006", "SNOMEDCT:44054006"),
        ("snomed-ct", "44054006", "SNOMEDCT:44054006"),
        ("SNOMEDCT_US", "44054006", "SNOMEDCT:44054006"),
        ("ICD-10-CM", "E11.9", "ICD10CM:E11.9"),
        ("http://hl7.org/fhir/sid/icd-10-cm", "E11.9", "ICD10CM:E11.9"),
        ("icd10cm", "E11.9", "ICD10CM:E11.9"),
        ("RxNorm", "860975", "RXNORM:860975"),
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "860975", "RXNORM:860975"),
        ("http://loinc.org", "4548-4", "LOINC:4548-4"),
        ("HPO", "0001945", "HP:0001945"),
    ],
)
def test_coded_rows_get_system_and_code(system: str, code: str, expected: str) -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["p1"],
            "concept": ["Something"],
            "kind": ["disease"],
            "sys": [system],
            "code": [code],
        }
    )
    records = Records.from_dataframe(df, code="code", system="sys")
    row = records.data.iloc[0]
    assert row["concept_id"] == expected
    assert (row["system"], row["code"]) == tuple(expected.split(":", 1))
    assert row["label"] == "Something"


def test_one_system_for_every_row() -> None:
    df = pd.DataFrame(
        {
            "pid": [1, 2, 3],
            "dx": ["Influenza", "flu", "Asthma"],
            "icd": ["J11.1", "J11.1", "J45.909"],
        }
    )
    records = Records.from_dataframe(
        df, patient="pid", concept="dx", kind="disease", code="icd", system="ICD-10-CM"
    )
    assert records.data["concept_id"].tolist() == [
        "ICD10CM:J11.1",
        "ICD10CM:J11.1",
        "ICD10CM:J45.909",
    ]
    # Two spellings of one code are one concept, shown under the first seen.
    assert records.data["label"].tolist() == ["Influenza", "Influenza", "Asthma"]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Chronic Kidney Disease", "local:chronic_kidney_disease"),
        ("dry_cough", "local:dry_cough"),
        ("  Shortness   of breath ", "local:shortness_of_breath"),
        ("COVID-19", "local:covid-19"),
    ],
)
def test_uncoded_rows_get_local_ids(label: str, expected: str) -> None:
    df = pd.DataFrame({"patient_id": ["p1"], "concept": [label], "kind": ["disease"]})
    assert Records.from_dataframe(df).data["concept_id"].tolist() == [expected]


def test_rows_without_code_or_system_fall_back_to_their_label() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["p1", "p2", "p3"],
            "concept": ["Influenza", "influenza", "Asthma"],
            "kind": "disease",
            "code": ["J11.1", None, "J45.909"],
            "sys": ["ICD10CM", "ICD10CM", None],
        }
    )
    data = Records.from_dataframe(df, code="code", system="sys").data
    # 'influenza' has no code in row 2, but its label is coded in row 1: it
    # is that concept. 'Asthma' has a code without a system: only its label
    # can name it.
    assert data["concept_id"].tolist() == ["ICD10CM:J11.1", "ICD10CM:J11.1", "local:asthma"]
    assert data["system"].isna().tolist() == [False, False, True]
    assert data["code"].isna().tolist() == [False, False, True]


def test_a_label_coded_twice_differently_stays_local_when_bare() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["p1", "p2", "p3"],
            "concept": ["diabetes", "Diabetes", "diabetes"],
            "kind": "disease",
            "code": ["E11.9", "E10.9", None],
            "system": "ICD10CM",
        }
    )
    data = Records.from_dataframe(df, code="code", system="system").data
    assert data["concept_id"].tolist() == ["ICD10CM:E11.9", "ICD10CM:E10.9", "local:diabetes"]


def test_synonyms_show_the_label_they_stand_for() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["p1", "p2", "p3"],
            "concept": ["Pyrexia", "pyrexia", "fever"],
            "kind": "symptom",
        }
    )
    data = Records.from_dataframe(df, synonyms={"pyrexia": "fever"}).data
    assert data["concept_id"].tolist() == ["local:fever"] * 3
    assert data["label"].tolist() == ["fever"] * 3


def test_numbers_in_a_time_column_are_not_dates() -> None:
    df = pd.DataFrame({"patient_id": ["p1"], "concept": ["flu"], "kind": "disease", "t": [5]})
    with pytest.raises(RecordsError, match="numbers, not dates"):
        Records.from_dataframe(df, time="t")


def test_code_without_label_is_kept_under_its_code() -> None:
    df = pd.DataFrame(
        {"patient_id": ["p1"], "concept": [None], "kind": ["disease"], "code": ["J11.1"]}
    )
    data = Records.from_dataframe(df, code="code", system="ICD10CM").data
    assert data[["concept_id", "label"]].values.tolist() == [["ICD10CM:J11.1", "J11.1"]]


def test_code_read_by_pandas_as_float_loses_point_zero(tmp_path: Path) -> None:
    path = tmp_path / "coded.csv"
    path.write_text(
        "patient_id,concept,kind,snomed\n"
        "p1,Hypertension,disease,38341003\n"
        "p2,Fever,symptom,\n"
        "p3,Asthma,disease,195967001\n",
        encoding="utf-8",
    )
    df = pd.read_csv(path)
    assert df["snomed"].dtype == np.float64  # the gap makes pandas read floats
    data = Records.from_dataframe(df, code="snomed", system="SNOMEDCT").data
    assert data["concept_id"].tolist() == ["SNOMEDCT:38341003", "local:fever", "SNOMEDCT:195967001"]
    assert data["code"].dropna().tolist() == ["38341003", "195967001"]


def test_integer_patient_ids_become_text() -> None:
    df = pd.DataFrame({"patient_id": [10, 2, 10], "concept": ["a", "b", "c"], "kind": "symptom"})
    assert Records.from_dataframe(df).data["patient_id"].tolist() == ["10", "2", "10"]


def test_float_patient_ids_lose_point_zero() -> None:
    df = pd.DataFrame({"patient_id": [1.0, 2.0], "concept": ["a", "b"], "kind": "symptom"})
    assert Records.from_dataframe(df).data["patient_id"].tolist() == ["1", "2"]


def test_concept_with_two_kinds_is_an_error() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["p1", "p2", "p3"],
            "concept": ["Anemia", "anemia ", "fever"],
            "kind": ["disease", "symptom", "symptom"],
        }
    )
    with pytest.raises(RecordsError, match=r"'local:anemia'.*\['disease', 'symptom'\]"):
        Records.from_dataframe(df)


# -- kinds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constant", "expected"),
    [
        ("disease", "disease"),
        ("Symptom", "symptom"),
        ("Diagnosis", "disease"),
        ("medication", "treatment"),
        ("lab", "lab"),
    ],
)
def test_kind_as_one_value_for_every_row(constant: str, expected: str) -> None:
    df = pd.DataFrame({"patient_id": ["p1", "p2"], "concept": ["x", "y"]})
    records = Records.from_dataframe(df, kind=constant)
    assert records.data["kind"].tolist() == [expected, expected]


def test_kind_synonyms_in_the_kind_column() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["p1"] * 7,
            "concept": list("abcdefg"),
            "kind": ["Diagnosis", "medication", " Drug ", "SYMPTOMS", "sign", "condition", "Lab"],
        }
    )
    assert Records.from_dataframe(df).data["kind"].tolist() == [
        "disease",
        "treatment",
        "treatment",
        "symptom",
        "symptom",
        "disease",
        "lab",
    ]


def test_kind_column_wins_over_kind_name() -> None:
    # A column called "disease" that holds kinds is read as the kinds.
    df = pd.DataFrame(
        {"patient_id": ["p1", "p1"], "concept": ["x", "y"], "disease": ["symptom", "treatment"]}
    )
    assert Records.from_dataframe(df, kind="disease").data["kind"].tolist() == [
        "symptom",
        "treatment",
    ]


def test_kind_naming_the_concept_column_is_one_kind() -> None:
    df = pd.DataFrame({"disease": ["flu", "flu"], "symptom": ["fever", "cough"]})
    records = Records.from_dataframe(df, patient="disease", concept="symptom", kind="symptom")
    assert records.data["kind"].tolist() == ["symptom", "symptom"]
    assert records.data["patient_id"].tolist() == ["flu", "flu"]


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "name"),
    [
        ("patient", "pid"),
        ("concept", "dx"),
        ("kind", "type"),
        ("code", "icd"),
        ("encounter", "visit"),
        ("time", "date"),
    ],
)
def test_missing_column(visits: pd.DataFrame, argument: str, name: str) -> None:
    options: dict[str, str] = {argument: name}
    if argument == "code":
        options["system"] = "ICD10CM"
    with pytest.raises(ColumnNotFound) as info:
        Records.from_dataframe(visits, **options)  # type: ignore[arg-type]
    message = str(info.value)
    assert f"column {name!r} not found" in message
    assert "['patient_id', 'concept', 'kind']" in message
    assert f"Pass {argument}=" in message


def test_misnamed_column_suggests_the_close_name(visits: pd.DataFrame) -> None:
    df = visits.rename(columns={"patient_id": "Patient_ID"})
    with pytest.raises(ColumnNotFound, match=r"'patient_id' not found.*Did you mean 'Patient_ID'"):
        Records.from_dataframe(df)


def test_column_not_found_is_a_records_error_and_value_error(visits: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFound) as info:
        Records.from_dataframe(visits, concept="nope")
    assert isinstance(info.value, RecordsError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, KgmedError)


def test_source_names_the_input_in_messages(visits: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFound, match=r"^visits table: column 'nope'"):
        Records.from_dataframe(visits, concept="nope", source="visits table")


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame(columns=["patient_id", "concept", "kind"]),
        pd.DataFrame({"patient_id": [], "concept": [], "kind": []}),
    ],
)
def test_empty_table(df: pd.DataFrame) -> None:
    with pytest.raises(EmptyRecordsError, match="no rows"):
        Records.from_dataframe(df)


def test_table_without_any_concept() -> None:
    df = pd.DataFrame({"patient_id": ["p1", "p2"], "concept": [None, "  "], "kind": "symptom"})
    with pytest.raises(EmptyRecordsError, match="'concept' is empty throughout"):
        Records.from_dataframe(df)


@pytest.mark.parametrize("missing", [np.nan, None, "", "   ", "\u00a0", pd.NA])
def test_missing_patient_id(missing: object) -> None:
    df = pd.DataFrame(
        {"patient_id": ["p1", missing, "p3"], "concept": ["a", "b", "c"], "kind": "symptom"},
        index=[10, 11, 12],
    )
    with pytest.raises(MissingValueError, match=r"'patient_id' is empty in 1 row\(s\) \(row 11\)"):
        Records.from_dataframe(df)


def test_missing_patient_ids_are_all_counted_and_some_named() -> None:
    pids = [None] * 7 + ["p8"]
    df = pd.DataFrame({"patient_id": pids, "concept": list("abcdefgh"), "kind": "symptom"})
    with pytest.raises(MissingValueError) as info:
        Records.from_dataframe(df)
    assert "in 7 row(s) (row 0, row 1, row 2, row 3, row 4 and 2 more)" in str(info.value)


@pytest.mark.parametrize("missing", [None, "", "  "])
def test_missing_kind(missing: object) -> None:
    df = pd.DataFrame(
        {"patient_id": ["p1", "p2"], "concept": ["a", "b"], "kind": ["symptom", missing]}
    )
    with pytest.raises(
        MissingValueError, match=r"'kind' \(kind\) is empty in 1 row\(s\) \(row 1\)"
    ):
        Records.from_dataframe(df)


def test_unknown_kind_names_value_kinds_and_row() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["p1", "p2", "p3"],
            "concept": ["a", "BRCA1", "c"],
            "kind": ["symptom", "gene", "symptom"],
        }
    )
    with pytest.raises(UnknownKindError) as info:
        Records.from_dataframe(df)
    message = str(info.value)
    assert "'gene'" in message
    assert "['disease', 'symptom', 'treatment', 'finding', 'procedure', 'lab']" in message
    assert "(at row 1)" in message
    assert isinstance(info.value, RecordsError)


def test_codes_without_a_system(visits: pd.DataFrame) -> None:
    df = visits.assign(code=["J11.1", "R50.9", "R50.9", None])
    with pytest.raises(RecordsError, match="codes in column 'code' need a coding system"):
        Records.from_dataframe(df, code="code")


@pytest.mark.parametrize(
    "data",
    [
        [{"patient_id": "p1", "concept": "fever", "kind": "symptom"}],
        {"patient_id": ["p1"], "concept": ["fever"], "kind": ["symptom"]},
        np.array([["p1", "fever", "symptom"]]),
        "visits.csv",
        None,
    ],
)
def test_not_a_dataframe(data: object) -> None:
    with pytest.raises(RecordsError, match="expected a pandas DataFrame, got"):
        Records.from_dataframe(data)  # type: ignore[arg-type]


def test_unknown_system_in_a_column(visits: pd.DataFrame) -> None:
    df = visits.assign(code="123", sys=["SNOMEDCT", "snomed/ct!", "SNOMEDCT", "SNOMEDCT"])
    with pytest.raises(RecordsError, match=r"column 'sys'.*'snomed/ct!'.*\(at row 1\)"):
        Records.from_dataframe(df, code="code", system="sys")


def test_unknown_system_for_every_row(visits: pd.DataFrame) -> None:
    with pytest.raises(RecordsError, match=r"system='snomed/ct!'.*not a plain word"):
        Records.from_dataframe(visits.assign(code="1"), code="code", system="snomed/ct!")


def test_unparsable_time(visits: pd.DataFrame) -> None:
    df = visits.assign(when=["2021-03-04", "2021-03-05", "not a date", None])
    with pytest.raises(RecordsError, match=r"column 'when'.*'not a date' at row 2"):
        Records.from_dataframe(df, time="when")


def test_repeated_column_name() -> None:
    df = pd.DataFrame(
        [["p1", "fever", "symptom", "cough"]], columns=["patient_id", "concept", "kind", "concept"]
    )
    with pytest.raises(RecordsError, match="column 'concept' appears 2 times"):
        Records.from_dataframe(df)


# -- time and encounters ---------------------------------------------------------------


def test_times_are_parsed_and_keep_repeat_observations(visits: pd.DataFrame) -> None:
    df = pd.concat([visits, visits.iloc[[1]]], ignore_index=True)
    df["when"] = ["2021-03-04", "2021-03-04", "2021-03-05", None, "2021-06-01T10:30:00"]
    data = Records.from_dataframe(df, time="when").data
    assert len(data) == 5  # p1's fever on two days is two observations
    assert data["time"].iloc[4] == pd.Timestamp("2021-06-01 10:30", tz="UTC")
    assert pd.isna(data["time"].iloc[3])


def test_same_time_in_two_spellings_is_a_duplicate(visits: pd.DataFrame) -> None:
    df = pd.concat([visits.iloc[[1]], visits.iloc[[1]]], ignore_index=True)
    df["when"] = ["2021-03-04", "2021-03-04T00:00:00"]
    records = Records.from_dataframe(df, time="when")
    assert records.report.dropped == {"duplicate": 1}


def test_encounters_keep_repeat_observations(visits: pd.DataFrame) -> None:
    df = pd.concat([visits.iloc[[1]]] * 3, ignore_index=True).assign(visit=["e1", "e2", "e2"])
    records = Records.from_dataframe(df, encounter="visit")
    assert records.data["encounter_id"].tolist() == ["e1", "e2"]
    assert records.report.dropped == {"duplicate": 1}


# -- hostile strings ------------------------------------------------------------------------


HOSTILE = [
    pytest.param("<script>alert(1)</script>", "<script>alert(1)</script>", id="script"),
    pytest.param('say "ah", it\'s sore', 'say "ah", it\'s sore', id="quotes"),
    pytest.param("line one\nline two", "line one line two", id="newline"),
    pytest.param("fever \U0001f912", "fever \U0001f912", id="emoji"),
    pytest.param("=1+2", "=1+2", id="formula"),
    pytest.param(
        '=HYPERLINK("http://x.example","click")',
        '=HYPERLINK("http://x.example","click")',
        id="formula link",
    ),
    pytest.param("@SUM(A1:A2)", "@SUM(A1:A2)", id="at formula"),
    pytest.param("Robert'); DROP TABLE patients;--", "Robert'); DROP TABLE patients;--", id="sql"),
    pytest.param("x" * 10_000, "x" * 10_000, id="very long"),
    pytest.param("{0} %s ${HOME}", "{0} %s ${HOME}", id="format strings"),
]


@pytest.mark.parametrize(("raw", "label"), HOSTILE)
def test_hostile_labels_are_kept_as_data(raw: str, label: str) -> None:
    df = pd.DataFrame({"patient_id": ["p1", "p2"], "concept": [raw, "fever"], "kind": "symptom"})
    records = Records.from_dataframe(df)
    assert records.data["label"].tolist() == [label, "fever"]
    expected_id = "local:" + label.casefold().replace(" ", "_")
    assert records.data["concept_id"].iloc[0] == expected_id
    assert records.report.n_dropped == 0


@pytest.mark.parametrize(("raw", "label"), HOSTILE)
def test_hostile_labels_get_stable_ids(raw: str, label: str) -> None:
    alone = pd.DataFrame({"patient_id": ["p9"], "concept": [raw], "kind": "symptom"})
    among = pd.DataFrame(
        {
            "patient_id": ["p1", "p2", "p3"],
            "concept": ["cough", raw.upper(), raw],
            "kind": "symptom",
        }
    )
    first = Records.from_dataframe(alone).data["concept_id"].iloc[0]
    again = Records.from_dataframe(alone).data["concept_id"].iloc[0]
    elsewhere = Records.from_dataframe(among).data["concept_id"].iloc[2]
    assert first == again == elsewhere


def test_patient_ids_with_leading_zeros_stay_distinct_strings() -> None:
    df = pd.DataFrame(
        {"patient_id": ["001", "01", "1", "0010"], "concept": "fever", "kind": "symptom"}
    )
    records = Records.from_dataframe(df)
    assert records.data["patient_id"].tolist() == ["001", "01", "1", "0010"]
    assert records.n_patients == 4


# -- Records itself ---------------------------------------------------------------------------


@pytest.fixture
def canonical() -> pd.DataFrame:
    """A canonical table, written by hand: fever in p1 twice (two times)."""
    return pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p2", "p2", "p3", "p3"],
            "concept_id": [
                "local:fever",
                "local:fever",
                "local:fever",
                "local:cough",
                "ICD10CM:J11.1",
                "local:cough",
            ],
            "label": ["fever", "fever", "fever", "cough", "influenza", "cough"],
            "kind": ["symptom", "symptom", "symptom", "symptom", "disease", "symptom"],
            "system": [None, None, None, None, "ICD10CM", None],
            "code": [None, None, None, None, "J11.1", None],
            "encounter_id": None,
            "time": pd.to_datetime(["2021-01-01", "2021-02-01", None, None, None, None], utc=True),
        }
    )


@pytest.mark.parametrize("column", [c for c in COLUMNS if c != "reason_id"])
def test_records_needs_canonical_columns(canonical: pd.DataFrame, column: str) -> None:
    with pytest.raises(ColumnNotFound, match=f"column {column!r} not found"):
        Records(canonical.drop(columns=column))


def test_records_refuses_a_reader_table(visits: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFound, match=r"'concept_id' not found.*Did you mean 'concept'"):
        Records(visits)


def test_records_without_reasons_get_an_empty_reason_column(canonical: pd.DataFrame) -> None:
    records = Records(canonical.drop(columns="reason_id", errors="ignore"))
    assert records.data["reason_id"].isna().all()


def test_records_keeps_columns_in_order(canonical: pd.DataFrame) -> None:
    canonical = canonical.assign(reason_id=pd.NA)
    records = Records(canonical[list(reversed(COLUMNS))].assign(extra=1))
    assert tuple(records.data.columns) == COLUMNS
    assert records.report.n_read == records.report.n_kept == 6
    assert (records.report.n_patients, records.report.n_concepts) == (3, 3)


def test_concepts_counts_distinct_patients(canonical: pd.DataFrame) -> None:
    table = Records(canonical).concepts()
    # fever: p1 (twice), p2 -> 2; cough: p2, p3 -> 2; influenza: p3 -> 1.
    # Ties are sorted by concept id.
    assert table[["concept_id", "n_patients"]].values.tolist() == [
        ["local:cough", 2],
        ["local:fever", 2],
        ["ICD10CM:J11.1", 1],
    ]
    assert list(table.columns) == ["concept_id", "label", "kind", "system", "code", "n_patients"]
    flu = table.set_index("concept_id").loc["ICD10CM:J11.1"]
    assert (flu["label"], flu["kind"], flu["code"]) == ("influenza", "disease", "J11.1")


def test_len_repr_and_n_patients(visits: pd.DataFrame) -> None:
    records = Records.from_dataframe(visits)
    assert len(records) == 4
    assert records.n_patients == 3
    assert repr(records) == "<Records: 4 observations of 3 concepts in 3 patients>"


# -- the report, on every reader --------------------------------------------------------------


LONG_CSV = (
    "patient_id,concept,kind\n"
    "p1,Influenza,disease\n"
    "p1,fever,symptom\n"
    "p1,FEVER ,symptom\n"  # near duplicate
    "\n"  # blank row
    "p2,,symptom\n"  # empty concept
    "p2,cough,symptom\n"
    ",,\n"  # blank row
    "p2,cough,symptom\n"  # exact duplicate
)
WIDE_CSV = (
    "Disease,Symptom_1,Symptom_2,Symptom_3\nFlu,fever, dry_cough,\nFlu ,fever,fever,\nAsthma,,,\n"
)
ONEHOT = pd.DataFrame(
    {
        "prognosis": ["Flu", "Flu", "Cold"],
        "fever": [1, 1, 0],
        "cough": [0, "yes", 1],
        "sneezing": [0, 0, 1],
    }
)


def _long_frame(tmp_path: Path) -> Records:
    return Records.from_dataframe(pd.read_csv(tmp_path / "long.csv", skip_blank_lines=False))


def _long_file(tmp_path: Path) -> Records:
    return kgmed.read_records(tmp_path / "long.csv")


def _wide_frame(tmp_path: Path) -> Records:
    return Records.from_wide(
        pd.read_csv(tmp_path / "wide.csv"), kinds={"disease": "Disease", "symptom": "Symptom_*"}
    )


def _wide_file(tmp_path: Path) -> Records:
    return kgmed.read_records(
        tmp_path / "wide.csv", patient=None, kinds={"disease": "Disease", "symptom": "Symptom_*"}
    )


def _onehot_frame(tmp_path: Path) -> Records:
    return Records.from_wide(
        ONEHOT,
        kinds={"disease": "prognosis"},
        indicators={"symptom": ["fever", "cough", "sneezing"]},
    )


def _onehot_file(tmp_path: Path) -> Records:
    return kgmed.read_records(
        tmp_path / "onehot.csv",
        patient=None,
        kinds={"disease": "prognosis"},
        indicators={"symptom": ["fever", "cough", "sneezing"]},
    )


# Hand counts: what was read, dropped for which reason, and the patients and
# concepts kept.
READERS = [
    pytest.param(
        _long_frame,
        8,
        {"blank row": 2, "empty concept": 1, "duplicate": 2},
        (2, 3),
        id="long frame",
    ),
    pytest.param(
        _long_file,
        8,
        {"blank row": 2, "empty concept": 1, "duplicate": 2},
        (2, 3),
        id="long file",
    ),
    # 3 rows x 4 columns; row 2 has fever twice, row 3 only Asthma.
    pytest.param(_wide_frame, 12, {"empty cell": 5, "duplicate": 1}, (3, 4), id="wide frame"),
    pytest.param(_wide_file, 12, {"empty cell": 5, "duplicate": 1}, (3, 4), id="wide file"),
    # 3 rows x (1 label column + 3 indicator columns); 4 indicators absent.
    pytest.param(_onehot_frame, 12, {"absent indicator": 4}, (3, 5), id="one-hot frame"),
    pytest.param(_onehot_file, 12, {"absent indicator": 4}, (3, 5), id="one-hot file"),
]


@pytest.fixture
def record_files(tmp_path: Path) -> Path:
    (tmp_path / "long.csv").write_text(LONG_CSV, encoding="utf-8")
    (tmp_path / "wide.csv").write_text(WIDE_CSV, encoding="utf-8")
    ONEHOT.to_csv(tmp_path / "onehot.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(("reader", "n_read", "dropped", "kept"), READERS)
def test_report_accounts_for_every_observation(
    record_files: Path,
    reader: Callable[[Path], Records],
    n_read: int,
    dropped: dict[str, int],
    kept: tuple[int, int],
) -> None:
    records = reader(record_files)
    report = records.report
    assert report.n_read == n_read
    assert report.dropped == dropped
    assert report.n_kept == len(records.data)
    assert report.n_read == report.n_kept + report.n_dropped


@pytest.mark.parametrize(("reader", "n_read", "dropped", "kept"), READERS)
def test_report_counts_patients_and_concepts(
    record_files: Path,
    reader: Callable[[Path], Records],
    n_read: int,
    dropped: dict[str, int],
    kept: tuple[int, int],
) -> None:
    records = reader(record_files)
    assert (records.report.n_patients, records.report.n_concepts) == kept
    assert (records.n_patients, records.data["concept_id"].nunique()) == kept


def test_report_table_and_text(record_files: Path) -> None:
    report = _long_file(record_files).report
    table = report.to_frame().set_index("item")["count"]
    assert table["read"] == 8
    assert table["dropped: blank row"] == 2
    assert table["label variants merged"] == 1  # "fever" and "FEVER"
    text = str(report)
    assert text.splitlines()[0] == "Records from long.csv"
    assert "dropped: duplicate" in text


def test_concepts_count_each_patient_once_across_encounters() -> None:
    df = pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p2", "p1", "p3", "p3"],
            "encounter": ["e1", "e2", "e3", "e2", "e4", "e4"],
            "concept": ["flu", "flu", "flu", "Fever", "fever", "cough"],
            "kind": ["disease", "disease", "disease", "symptom", "symptom", "symptom"],
        }
    )
    records = kgmed.Records.from_dataframe(df, encounter="encounter")
    table = records.concepts()
    # The slow, obvious count: distinct patients per concept.
    expected = records.data.groupby("concept_id")["patient_id"].nunique()
    assert dict(zip(table["concept_id"], table["n_patients"], strict=True)) == expected.to_dict()
    # Most frequent first, ties by id.
    assert table["concept_id"].tolist() == ["local:fever", "local:flu", "local:cough"]
    assert table.loc[table["concept_id"] == "local:flu", "n_patients"].item() == 2
    assert table.loc[table["concept_id"] == "local:fever", "label"].item() in {"Fever", "fever"}
