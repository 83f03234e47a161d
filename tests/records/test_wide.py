"""Records from wide tables: label columns, one-hot columns, and real wide data."""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed import (
    ColumnNotFound,
    EmptyRecordsError,
    MissingValueError,
    Records,
    RecordsError,
    UnknownKindError,
)

KINDS = {"disease": "Disease", "symptom": "Symptom_*"}


@pytest.fixture
def wide() -> pd.DataFrame:
    """Three cases in the Kaggle layout, with its spacing habits."""
    return pd.DataFrame(
        {
            "Disease": ["Flu", "Flu ", "Asthma"],
            "Symptom_1": ["fever", " fever", "wheezing"],
            "Symptom_2": [" dry_cough", None, ""],
            "Symptom_3": [None, " headache", np.nan],
        }
    )


def _pairs(records: Records) -> list[tuple[str, str, str]]:
    return list(
        records.data[["patient_id", "concept_id", "kind"]].itertuples(index=False, name=None)
    )


# -- label columns --------------------------------------------------------------------


def test_label_columns_become_observations(wide: pd.DataFrame) -> None:
    records = Records.from_wide(wide, kinds=KINDS)
    assert _pairs(records) == [
        ("row:1", "local:flu", "disease"),
        ("row:1", "local:fever", "symptom"),
        ("row:1", "local:dry_cough", "symptom"),
        ("row:2", "local:flu", "disease"),
        ("row:2", "local:fever", "symptom"),
        ("row:2", "local:headache", "symptom"),
        ("row:3", "local:asthma", "disease"),
        ("row:3", "local:wheezing", "symptom"),
    ]
    assert records.report.n_read == 12
    assert records.report.dropped == {"empty cell": 4}


def test_columns_as_lists_and_patterns_together(wide: pd.DataFrame) -> None:
    by_list = Records.from_wide(
        wide, kinds={"disease": ["Disease"], "symptom": ["Symptom_1", "Symptom_[23]"]}
    )
    by_glob = Records.from_wide(wide, kinds=KINDS)
    pd.testing.assert_frame_equal(by_list.data, by_glob.data)


def test_patient_column_merges_rows(wide: pd.DataFrame) -> None:
    df = wide.assign(pid=["001", "002", "001"])
    records = Records.from_wide(df, kinds=KINDS, patient="pid")
    assert records.n_patients == 2
    assert sorted(records.data.loc[records.data["patient_id"] == "001", "concept_id"]) == [
        "local:asthma",
        "local:dry_cough",
        "local:fever",
        "local:flu",
        "local:wheezing",
    ]


def test_patient_column_is_not_matched_by_a_pattern() -> None:
    df = pd.DataFrame({"pid": ["a", "b"], "fever": [1, 0], "cough": [1, 1]})
    records = Records.from_wide(df, indicators={"symptom": "*"}, patient="pid")
    assert set(records.data["concept_id"]) == {"local:fever", "local:cough"}
    assert records.report.n_read == 4


def test_missing_patient_in_patient_column_names_the_row(wide: pd.DataFrame) -> None:
    df = wide.assign(pid=["a", None, "c"])
    with pytest.raises(MissingValueError, match=r"'pid' is empty in 1 row\(s\) \(row 1\)"):
        Records.from_wide(df, kinds=KINDS, patient="pid")


def test_column_name_with_glob_characters_is_that_column() -> None:
    df = pd.DataFrame({"dx": ["flu", "flu"], "Glucose [high]": [1, 0], "Glucose h": [1, 1]})
    records = Records.from_wide(
        df, kinds={"disease": "dx"}, indicators={"finding": "Glucose [high]"}
    )
    assert records.data["label"].tolist() == ["flu", "Glucose [high]", "flu"]
    assert records.report.n_read == 4


def test_table_read_without_header() -> None:
    df = pd.DataFrame([["Flu", "fever", "cough"], ["Cold", "sneezing", None]])
    assert list(df.columns) == [0, 1, 2]
    records = Records.from_wide(df, kinds={"disease": "0", "symptom": ["1", "2"]})
    assert records.data["concept_id"].tolist() == [
        "local:flu",
        "local:fever",
        "local:cough",
        "local:cold",
        "local:sneezing",
    ]


def test_repeated_label_column_names_are_each_read() -> None:
    df = pd.DataFrame([["Flu", "fever", "cough"]], columns=["Disease", "Symptom", "Symptom"])
    records = Records.from_wide(df, kinds={"disease": "Disease", "symptom": "Symptom"})
    assert records.data["concept_id"].tolist() == ["local:flu", "local:fever", "local:cough"]


def test_repeated_patient_column_is_an_error(wide: pd.DataFrame) -> None:
    df = wide.assign(pid="a", other="b").rename(columns={"other": "pid"})
    with pytest.raises(RecordsError, match="column 'pid' appears 2 times"):
        Records.from_wide(df, kinds=KINDS, patient="pid")


@pytest.mark.parametrize(
    ("kinds", "match"),
    [
        ({"disease": "Diagnosis"}, "'Diagnosis' not found.*Pass kinds"),
        ({"symptom": "Sign_*"}, "'Sign_\\*' not found"),
    ],
)
def test_column_or_pattern_that_matches_nothing(
    wide: pd.DataFrame, kinds: dict[str, str], match: str
) -> None:
    with pytest.raises(ColumnNotFound, match=match):
        Records.from_wide(wide, kinds=kinds)


def test_wide_needs_kinds_or_indicators(wide: pd.DataFrame) -> None:
    with pytest.raises(RecordsError, match=r"needs kinds= .* or indicators="):
        Records.from_wide(wide)


def test_wide_with_no_column_chosen(wide: pd.DataFrame) -> None:
    with pytest.raises(RecordsError, match="name no column"):
        Records.from_wide(wide, kinds={"symptom": []})


def test_unknown_kind_key(wide: pd.DataFrame) -> None:
    with pytest.raises(UnknownKindError, match="kinds= key 'sickness'"):
        Records.from_wide(wide, kinds={"sickness": "Disease"})


def test_kind_key_synonyms(wide: pd.DataFrame) -> None:
    records = Records.from_wide(wide, kinds={"Diagnosis": "Disease", "Signs": "Symptom_*"})
    assert set(records.data["kind"]) == {"disease", "symptom"}


def test_wide_table_without_any_concept() -> None:
    df = pd.DataFrame({"Disease": [None, " "], "Symptom_1": ["", None]})
    with pytest.raises(EmptyRecordsError, match="no cell"):
        Records.from_wide(df, kinds=KINDS)


def test_empty_wide_table() -> None:
    with pytest.raises(EmptyRecordsError, match="no rows"):
        Records.from_wide(pd.DataFrame(columns=["Disease", "Symptom_1"]), kinds=KINDS)


def test_wide_not_a_dataframe() -> None:
    with pytest.raises(RecordsError, match="expected a pandas DataFrame, got list"):
        Records.from_wide([["Flu", "fever"]], kinds=KINDS)  # type: ignore[arg-type]


# -- one-hot columns -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("present", "absent"),
    [
        pytest.param([1, "1"], [0, "0"], id="ones"),
        pytest.param([1.0, "1.0"], [0.0, np.nan], id="floats"),
        pytest.param([True, "TRUE"], [False, "false"], id="booleans"),
        pytest.param(["yes", " Y "], ["no", "N"], id="yes/no"),
        pytest.param(["x", "present"], ["", "absent"], id="marks"),
    ],
)
def test_indicator_cells(present: list[object], absent: list[object]) -> None:
    df = pd.DataFrame({"dx": ["a", "b", "c", "d"], "fever": [*present, *absent]})
    records = Records.from_wide(df, kinds={"disease": "dx"}, indicators={"symptom": "fever"})
    fever = records.data.loc[records.data["concept_id"] == "local:fever", "patient_id"]
    assert fever.tolist() == ["row:1", "row:2"]
    assert records.report.dropped == {"absent indicator": 2}


def test_boolean_indicator_column() -> None:
    df = pd.DataFrame({"dx": ["a", "b", "c"], "fever": pd.array([True, None, False], "boolean")})
    records = Records.from_wide(df, kinds={"disease": "dx"}, indicators={"symptom": "fever"})
    assert records.data.loc[records.data["kind"] == "symptom", "patient_id"].tolist() == ["row:1"]


@pytest.mark.parametrize("bad", [2, -1, "maybe", "0.5", "?"])
def test_indicator_cell_neither_true_nor_false(bad: object) -> None:
    df = pd.DataFrame(
        {"dx": ["a", "b", "c"], "cough": [1, 0, 1], "fever": [1, bad, 0]}, index=[100, 101, 102]
    )
    with pytest.raises(RecordsError) as info:
        Records.from_wide(df, kinds={"disease": "dx"}, indicators={"symptom": ["cough", "fever"]})
    message = str(info.value)
    assert f"indicator column 'fever' holds {str(bad)!r} at row 101" in message
    assert "1/0, true/false or yes/no" in message


def test_repeated_indicator_columns_merge() -> None:
    df = pd.DataFrame(
        [[1, 0, "flu"], [0, 1, "flu"], [1, 1, "flu"], [0, 0, "cold"]],
        columns=["fever", "fever", "dx"],
    )
    records = Records.from_wide(df, kinds={"disease": "dx"}, indicators={"symptom": "fever"})
    fever = records.data.loc[records.data["concept_id"] == "local:fever", "patient_id"]
    assert fever.tolist() == ["row:1", "row:2", "row:3"]
    assert records.report.dropped == {"absent indicator": 4, "duplicate": 1}
    assert records.report.n_read == 12


# -- the Kaggle "Disease Symptom Prediction" data (README section 2) -------------------------

DATASET_COUNTS = {"rows": 4920, "diseases": 41, "per_disease": 120, "symptoms": 131, "pairs": 321}


def _norm(text: str) -> str:
    """An independent spelling of the readers' label key."""
    return " ".join(unicodedata.normalize("NFKC", text).replace("_", " ").split()).casefold()


def _disease_symptom_pairs(records: Records) -> set[tuple[str, str]]:
    data = records.data
    diseases = data.loc[data["kind"] == "disease", ["patient_id", "concept_id"]]
    symptoms = data.loc[data["kind"] == "symptom", ["patient_id", "concept_id"]]
    both = diseases.merge(symptoms, on="patient_id", suffixes=("_d", "_s"))
    return set(zip(both["concept_id_d"], both["concept_id_s"], strict=True))


@pytest.fixture(scope="module")
def kaggle_dir(shared_data: Path) -> Path:
    return shared_data / "disease_symptom_prediction"


@pytest.mark.shared_data
def test_kaggle_patients_and_concepts(disease_symptom_records: Records) -> None:
    records = disease_symptom_records
    assert records.n_patients == DATASET_COUNTS["rows"]
    per_kind = records.data.groupby("kind")["concept_id"].nunique()
    assert per_kind.to_dict() == {"disease": 41, "symptom": 131}


@pytest.mark.shared_data
def test_kaggle_every_disease_has_120_patients(disease_symptom_records: Records) -> None:
    concepts = disease_symptom_records.concepts()
    diseases = concepts.loc[concepts["kind"] == "disease", "n_patients"]
    assert len(diseases) == DATASET_COUNTS["diseases"]
    assert set(diseases) == {DATASET_COUNTS["per_disease"]}


@pytest.mark.shared_data
def test_kaggle_symptoms_per_row(disease_symptom_records: Records) -> None:
    data = disease_symptom_records.data
    per_row = data.loc[data["kind"] == "symptom"].groupby("patient_id").size()
    assert (per_row.min(), per_row.max()) == (3, 17)
    assert round(per_row.mean(), 2) == 7.45


@pytest.mark.shared_data
def test_kaggle_trailing_spaces_fold_into_one_concept(disease_symptom_records: Records) -> None:
    data = disease_symptom_records.data
    labels = set(data["label"])
    assert "Diabetes" in labels
    assert "Hypertension" in labels
    assert not any(label != label.strip() for label in labels)
    ids = data.loc[data["label"].isin(["Diabetes", "Hypertension"]), "concept_id"]
    assert set(ids) == {"local:diabetes", "local:hypertension"}
    # A later record spelled the other way joins the same concept.
    more = pd.DataFrame({"Disease": ["Diabetes ", "diabetes"], "Symptom_1": ["fatigue", "fatigue"]})
    extra = Records.from_wide(more, kinds=KINDS)
    assert extra.data.loc[extra.data["kind"] == "disease", "concept_id"].tolist() == [
        "local:diabetes",
        "local:diabetes",
    ]


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("dischromic _patches", "dischromic patches"),
        ("spotting_ urination", "spotting urination"),
        ("foul_smell_of urine", "foul smell of urine"),
        (" skin_rash", "skin rash"),
    ],
)
def test_kaggle_inner_spaces_normalize(
    disease_symptom_records: Records, kaggle_dir: Path, raw: str, label: str
) -> None:
    text = (kaggle_dir / "kaggle_layout" / "dataset.csv").read_text(encoding="utf-8")
    assert f",{raw}," in text or f", {raw}," in text  # the quirk is in the file
    labels = set(disease_symptom_records.data["label"])
    assert label in labels
    assert raw not in labels
    assert raw.strip() not in labels


@pytest.mark.shared_data
def test_kaggle_disease_symptom_pairs(disease_symptom_records: Records) -> None:
    assert len(_disease_symptom_pairs(disease_symptom_records)) == DATASET_COUNTS["pairs"]


@pytest.mark.shared_data
def test_kaggle_report(disease_symptom_records: Records, kaggle_dir: Path) -> None:
    with (kaggle_dir / "kaggle_layout" / "dataset.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    filled = [[_norm(cell) for cell in row if cell.strip()] for row in rows]
    n_filled = sum(len(cells) for cells in filled)
    n_distinct = sum(len(set(cells)) for cells in filled)
    report = disease_symptom_records.report
    assert report.n_read == 4920 * 18
    assert report.dropped.get("empty cell") == 4920 * 18 - n_filled
    assert report.dropped.get("duplicate", 0) == n_filled - n_distinct
    assert report.n_kept == n_distinct
    assert report.n_read == report.n_kept + report.n_dropped


@pytest.mark.shared_data
def test_kaggle_read_records_matches_pandas(
    disease_symptom_records: Records, kaggle_dir: Path
) -> None:
    records = kgmed.read_records(
        kaggle_dir / "kaggle_layout" / "dataset.csv", patient=None, kinds=KINDS
    )
    pd.testing.assert_frame_equal(records.data, disease_symptom_records.data)
    assert records.report.dropped == disease_symptom_records.report.dropped


@pytest.fixture(scope="module")
def original_frame(kaggle_dir: Path) -> pd.DataFrame:
    # The author's file has no header: its first line is 17 commas. A user
    # reads it with header=None and names the columns.
    names = ["Disease", *(f"Symptom_{i}" for i in range(1, 18))]
    return pd.read_csv(kaggle_dir / "original" / "dataset.csv", header=None, names=names)


@pytest.mark.shared_data
def test_original_headerless_file(
    original_frame: pd.DataFrame, disease_symptom_records: Records
) -> None:
    assert len(original_frame) == 4921
    assert original_frame.iloc[0].isna().all()  # the empty first line
    records = Records.from_wide(original_frame, kinds=KINDS)
    assert records.n_patients == 4920
    assert records.report.n_read == 4921 * 18
    assert (
        records.report.dropped["empty cell"]
        == disease_symptom_records.report.dropped["empty cell"] + 18
    )
    assert records.report.n_kept == disease_symptom_records.report.n_kept
    assert _disease_symptom_pairs(records) == _disease_symptom_pairs(disease_symptom_records)


@pytest.mark.shared_data
def test_original_headerless_file_by_column_number(
    kaggle_dir: Path, disease_symptom_records: Records
) -> None:
    df = pd.read_csv(kaggle_dir / "original" / "dataset.csv", header=None)
    records = Records.from_wide(
        df, kinds={"disease": "0", "symptom": [str(i) for i in range(1, 18)]}
    )
    assert records.report.n_kept == disease_symptom_records.report.n_kept
    assert set(records.data["concept_id"]) == set(disease_symptom_records.data["concept_id"])


@pytest.fixture(scope="module")
def training_header(kaggle_dir: Path) -> list[str]:
    with (kaggle_dir / "original" / "Training.csv").open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.fixture(scope="module")
def training_records(kaggle_dir: Path, training_header: list[str]) -> Records:
    symptoms = [name for name in dict.fromkeys(training_header) if name != "prognosis"]
    return kgmed.read_records(
        kaggle_dir / "original" / "Training.csv",
        patient=None,
        kinds={"disease": "prognosis"},
        indicators={"symptom": symptoms},
    )


@pytest.mark.shared_data
def test_training_one_hot_symptoms_match_the_columns(
    kaggle_dir: Path, training_header: list[str], training_records: Records
) -> None:
    expected: set[tuple[str, str]] = set()
    n_ones = 0
    with (kaggle_dir / "original" / "Training.csv").open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.reader(f)):
            if line == 0:
                continue
            for name, cell in zip(training_header, row, strict=True):
                if name != "prognosis" and cell.strip() == "1":
                    n_ones += 1
                    expected.add((f"row:{line}", "local:" + _norm(name).replace(" ", "_")))
    data = training_records.data
    symptoms = data.loc[data["kind"] == "symptom", ["patient_id", "concept_id"]]
    assert set(symptoms.itertuples(index=False, name=None)) == expected
    report = training_records.report
    assert report.n_read == 4920 * 133
    assert report.dropped["absent indicator"] == 4920 * 132 - n_ones


@pytest.mark.shared_data
def test_training_agrees_with_dataset(
    training_records: Records, disease_symptom_records: Records
) -> None:
    # "fluid_overload" heads two columns of Training.csv; both are one symptom.
    assert training_records.data.groupby("kind")["concept_id"].nunique().to_dict() == {
        "disease": 41,
        "symptom": 131,
    }
    assert _disease_symptom_pairs(training_records) == _disease_symptom_pairs(
        disease_symptom_records
    )


@pytest.mark.shared_data
def test_training_bad_indicator_cell_names_column_and_line(
    kaggle_dir: Path, training_header: list[str], tmp_path: Path
) -> None:
    lines = (kaggle_dir / "original" / "Training.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[7].split(",")
    column = training_header.index("high_fever")
    cells[column] = "2"
    lines[7] = ",".join(cells)
    path = tmp_path / "Training.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    symptoms = [name for name in dict.fromkeys(training_header) if name != "prognosis"]
    with pytest.raises(
        RecordsError, match=r"Training.csv: indicator column 'high_fever' holds '2' at line 8"
    ):
        kgmed.read_records(
            path, patient=None, kinds={"disease": "prognosis"}, indicators={"symptom": symptoms}
        )


# -- the Columbia disease-symptom knowledge base (README section 3) --------------------------


@pytest.fixture(scope="module")
def columbia_path(shared_data: Path) -> Path:
    return shared_data / "columbia_disease_symptom_kb" / "disease_symptom_long.csv"


@pytest.fixture(scope="module")
def columbia(columbia_path: Path) -> Records:
    # No patients here: each disease block lists the disease's symptoms, so
    # the disease is the basket and every listed concept is a symptom.
    return kgmed.read_records(columbia_path, patient="disease", concept="symptom", kind="symptom")


@pytest.mark.shared_data
def test_columbia_read_as_disease_baskets(columbia: Records) -> None:
    assert columbia.report.n_read == 1865
    assert columbia.n_patients == 134
    assert set(columbia.data["kind"]) == {"symptom"}


@pytest.mark.shared_data
def test_columbia_duplicate_pairs(columbia: Records, columbia_path: Path) -> None:
    with columbia_path.open(newline="", encoding="utf-8") as f:
        rows = [(r["disease"], r["symptom"]) for r in csv.DictReader(f)]
    assert len(rows) - len(set(rows)) == 7  # the documented figure, spelled as in the file
    normalized = {(_norm(d), _norm(s)) for d, s in rows}
    assert columbia.report.dropped == {"duplicate": len(rows) - len(normalized)}
    assert columbia.report.dropped == {"duplicate": 7}  # no spelling hid another duplicate
    assert columbia.report.n_kept == len(normalized)


@pytest.mark.shared_data
def test_columbia_no_label_keeps_a_no_break_space(columbia: Records, columbia_path: Path) -> None:
    text = columbia_path.read_text(encoding="utf-8")
    with columbia_path.open(newline="", encoding="utf-8") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert sum("\u00a0" in cell for cell in cells) == 124
    assert "accident\u00a0cerebrovascular" in text
    data = columbia.data
    assert not data["label"].str.contains("\u00a0").any()
    assert not data["patient_id"].str.contains("\u00a0").any()
    assert not data["concept_id"].str.contains("\u00a0").any()
    assert data["patient_id"].str.contains("accident cerebrovascular").any()
