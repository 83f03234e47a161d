"""Label and code clean-up, alone and as the readers apply it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kgmed import Records
from kgmed.records._normalize import clean_codes, clean_text, label_key


def _long(labels: list[object], patients: list[str] | None = None) -> pd.DataFrame:
    """A long table of symptoms, one patient per label unless given."""
    if patients is None:
        patients = [f"p{i}" for i in range(len(labels))]
    return pd.DataFrame({"patient_id": patients, "concept": labels, "kind": "symptom"})


# -- clean_text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Dry Cough", "Dry Cough", id="case kept"),
        pytest.param("  dry cough \n", "dry cough", id="surrounding whitespace"),
        pytest.param("dry    cough", "dry cough", id="repeated spaces"),
        pytest.param("dry_cough", "dry cough", id="underscore"),
        pytest.param("dry__ _cough_", "dry cough", id="underscore runs"),
        pytest.param("dry\u00a0cough", "dry cough", id="no-break space"),
        pytest.param("\u00a0dry cough\u00a0", "dry cough", id="no-break space ends"),
        pytest.param("dry\tcough", "dry cough", id="tab"),
        pytest.param("dry\r\ncough", "dry cough", id="line break"),
        pytest.param("dry\x00\x07\x1fcough", "dry cough", id="C0 controls"),
        pytest.param("dry\x85\x9fcough", "dry cough", id="C1 controls"),
        pytest.param("ｄｒｙ　ｃｏｕｇｈ", "dry cough", id="full-width and ideographic space"),
        pytest.param("dry\u2003cough", "dry cough", id="em space"),
        pytest.param("fe\u200bver", "fever", id="zero-width space"),
        pytest.param("fe\u00adver", "fever", id="soft hyphen"),
        pytest.param("\ufefffever", "fever", id="byte-order mark"),
        pytest.param("ﬁbrosis", "fibrosis", id="ligature"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(pd.Series([raw])).tolist() == [expected]


@pytest.mark.parametrize(
    "empty", ["", " ", "\u00a0", "_", "__ _", "\t\n", "\u3000", None, np.nan, pd.NA]
)
def test_clean_text_empty_is_missing(empty: object) -> None:
    assert clean_text(pd.Series(["fever", empty], dtype=object)).isna().tolist() == [False, True]


def test_clean_text_keeps_emoji_joiners() -> None:
    # A zero-width joiner is part of the emoji, unlike a zero-width space.
    health_worker = "\U0001f9d1\u200d\u2695\ufe0f"
    assert clean_text(pd.Series([health_worker])).iloc[0] == health_worker


# -- label_key ---------------------------------------------------------------------


def test_label_key_folds_case() -> None:
    labels = pd.Series(["Fever", "FEVER", "Straße"], dtype="string")
    assert label_key(labels).tolist() == ["fever", "fever", "strasse"]


def test_label_key_applies_synonyms_in_any_spelling() -> None:
    labels = clean_text(pd.Series(["Pyrexia", "high_temperature", "fever", "cough"]))
    key = label_key(labels, {" PYREXIA": "Fever", "High Temperature": "fever"})
    assert key.tolist() == ["fever", "fever", "fever", "cough"]


def test_label_key_synonyms_do_not_chain() -> None:
    labels = pd.Series(["a", "b"], dtype="string")
    assert label_key(labels, {"a": "b", "b": "c"}).tolist() == ["b", "c"]


# -- clean_codes --------------------------------------------------------------------


def test_clean_codes_float_column_loses_point_zero() -> None:
    codes = pd.Series([44054006.0, np.nan, 195967001.0])
    assert codes.dtype == np.float64  # what pandas makes of a code column with gaps
    cleaned = clean_codes(codes)
    assert cleaned.iloc[0] == "44054006"
    assert pd.isna(cleaned.iloc[1])
    assert cleaned.iloc[2] == "195967001"


def test_clean_codes_keeps_fractional_floats() -> None:
    assert clean_codes(pd.Series([250.5, 1.0])).tolist() == ["250.5", "1.0"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("001", "001"), (" J11.1 ", "J11.1"), ("\u00a0E11.9", "E11.9"), ("ＡＢ1", "AB1")],
)
def test_clean_codes_text(raw: str, expected: str) -> None:
    assert clean_codes(pd.Series([raw])).tolist() == [expected]


@pytest.mark.parametrize("empty", ["", "   ", None, np.nan])
def test_clean_codes_empty_is_missing(empty: object) -> None:
    assert clean_codes(pd.Series(["x", empty], dtype=object)).isna().tolist() == [False, True]


# -- the readers: variants, display labels, duplicates, empties ----------------------


@pytest.mark.parametrize(
    "variants",
    [
        pytest.param(["dry cough", "Dry Cough", "DRY COUGH"], id="case"),
        pytest.param(["dry cough", "  dry cough  ", "dry   cough"], id="whitespace"),
        pytest.param(["dry cough", "dry_cough", "Dry__Cough_"], id="underscores"),
        pytest.param(["dry cough", "dry\u00a0cough", "\u00a0dry cough"], id="no-break space"),
        pytest.param(["dry cough", "dry\tcough", "dry\x0bcough\x00"], id="tabs and controls"),
        pytest.param(["dry cough", "ｄｒｙ ｃｏｕｇｈ", "ＤＲＹ　ＣＯＵＧＨ"], id="full-width"),
    ],
)
def test_label_variants_are_one_concept(variants: list[str]) -> None:
    records = Records.from_dataframe(_long(variants))
    assert records.data["concept_id"].tolist() == ["local:dry_cough"] * 3
    assert records.report.n_concepts == 1
    assert records.report.n_patients == 3


def test_display_label_is_the_most_frequent_spelling() -> None:
    labels = ["Dry Cough", "dry_cough", "dry cough ", "DRY COUGH", "dry  cough"]
    records = Records.from_dataframe(_long(labels))
    # Cleaned spellings: "Dry Cough" x1, "dry cough" x3, "DRY COUGH" x1.
    assert set(records.data["label"]) == {"dry cough"}
    assert records.report.n_label_variants == 2


def test_display_label_tie_goes_to_the_first_seen() -> None:
    records = Records.from_dataframe(_long(["Influenza", "influenza", "INFLUENZA"]))
    assert set(records.data["label"]) == {"Influenza"}


def test_exact_and_near_duplicates_count_once() -> None:
    # p1 has fever five times (one exact copy, three spellings of it); p2 once.
    df = _long(
        ["fever", "fever", "FEVER ", "fe_ver", "ｆｅｖｅｒ", "fever\u00a0", "fever"],
        patients=["p1", "p1", "p1", "p1", "p1", "p1", "p2"],
    )
    records = Records.from_dataframe(df)
    # "fe_ver" is "fe ver", another concept: it is not a duplicate.
    assert sorted(zip(records.data["patient_id"], records.data["concept_id"], strict=True)) == [
        ("p1", "local:fe_ver"),
        ("p1", "local:fever"),
        ("p2", "local:fever"),
    ]
    assert records.report.dropped == {"duplicate": 4}
    assert records.report.n_read == 7
    assert records.report.n_kept == 3


def test_same_concept_in_other_patients_is_no_duplicate() -> None:
    records = Records.from_dataframe(_long(["fever"] * 4))
    assert len(records) == 4
    assert "duplicate" not in records.report.dropped


def test_empty_concepts_are_dropped_and_counted() -> None:
    df = _long(["fever", None, "", "   ", "\u00a0", "_", "cough", np.nan])
    records = Records.from_dataframe(df)
    assert records.data["concept_id"].tolist() == ["local:fever", "local:cough"]
    assert records.report.dropped == {"empty concept": 6}
    assert records.report.n_read == records.report.n_kept + records.report.n_dropped == 8


def test_row_without_concept_needs_no_kind() -> None:
    df = pd.DataFrame(
        {"patient_id": ["p1", "p1"], "concept": ["fever", None], "kind": ["symptom", None]}
    )
    records = Records.from_dataframe(df)
    assert records.report.dropped == {"empty concept": 1}
    assert len(records) == 1


@pytest.mark.parametrize(
    ("synonyms", "expected"),
    [
        pytest.param({"pyrexia": "fever"}, "local:fever", id="to an existing label"),
        pytest.param({"Pyrexia ": "FEVER"}, "local:fever", id="either side in any spelling"),
        pytest.param({"fever": "pyrexia"}, "local:pyrexia", id="the other way round"),
    ],
)
def test_synonyms_merge_concepts(synonyms: dict[str, str], expected: str) -> None:
    df = _long(["Pyrexia", "fever", "FEVER"], patients=["p1", "p2", "p2"])
    records = Records.from_dataframe(df, synonyms=synonyms)
    assert records.data["concept_id"].tolist() == [expected, expected]
    assert records.report.dropped == {"duplicate": 1}


def test_synonyms_apply_to_wide_tables() -> None:
    df = pd.DataFrame({"Disease": ["flu", "flu"], "Symptom_1": ["pyrexia", "Fever"]})
    records = Records.from_wide(
        df, kinds={"disease": "Disease", "symptom": "Symptom_*"}, synonyms={"pyrexia": "fever"}
    )
    symptoms = records.data.loc[records.data["kind"] == "symptom", "concept_id"]
    assert symptoms.tolist() == ["local:fever", "local:fever"]
