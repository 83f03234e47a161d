"""kgmed.models.risk: cross-validated risk models, checked against the generator's truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, r2_score, roc_auc_score

import kgmed
from kgmed.datasets import synthetic
from kgmed.models import COMPARISON_COLUMNS, DRIVER_COLUMNS, risk


@pytest.fixture(scope="module")
def records() -> kgmed.Records:
    return synthetic(4000, random_state=0)


@pytest.fixture(scope="module")
def graph(records) -> kgmed.KnowledgeGraph:
    return kgmed.build(records)


@pytest.fixture(scope="module")
def diabetes(records, graph) -> kgmed.models.RiskModel:
    return risk(records, "diabetes", kinds=["symptom", "disease"], kg=graph)


def _has(records: kgmed.Records, label: str) -> pd.Series:
    data = records.data
    patients = pd.Index(data["patient_id"].unique())
    with_it = set(data.loc[data["label"] == label, "patient_id"])
    return pd.Series(patients.isin(list(with_it)).astype(float), index=patients)


def test_the_true_symptoms_drive_the_model(diabetes) -> None:
    truth = kgmed.datasets.default_model().direct_edges("has_symptom")
    true = set(truth.loc[truth["source"] == "type 2 diabetes mellitus", "target"])
    drivers = diabetes.drivers.set_index("label")
    leading = drivers[drivers["direction"] == "raises"].head(4)
    assert set(leading.index) <= true | {"hypertension", "heart failure"}
    assert (leading["odds_ratio"] > 2).all()
    # A urinary tract infection explains polyuria away: with polyuria, it lowers the risk.
    assert drivers.loc["urinary tract infection", "direction"] == "lowers"
    assert diabetes.task == "classification"
    assert diabetes.target == "ICD10CM:E11.9"
    assert list(diabetes.drivers.columns) == list(DRIVER_COLUMNS)


def test_scores_are_those_of_the_out_of_fold_predictions(records, diabetes) -> None:
    y = _has(records, "type 2 diabetes mellitus").reindex(diabetes.predictions.index)
    scores = diabetes.scores
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y, diabetes.predictions))
    assert scores["brier"] == pytest.approx(brier_score_loss(y, diabetes.predictions))
    assert scores["n_with_target"] == y.sum()
    assert scores["prevalence"] == pytest.approx(y.mean())
    assert scores["roc_auc"] > 0.8
    assert len(diabetes.folds) == 5
    assert diabetes.folds["n_patients"].sum() == len(y)
    assert 0.5 < scores["calibration_slope"] < 2
    assert abs(scores["calibration_in_the_large"]) < 0.02


def test_calibration_table(diabetes) -> None:
    table = diabetes.calibration
    assert table is not None
    assert table["n_patients"].sum() == 4000
    assert table["mean_predicted"].is_monotonic_increasing
    assert (table["n_patients"] >= 11).all()
    # Predicted and observed risk agree within a few points where most patients are.
    assert (table["mean_predicted"] - table["observed"]).abs().max() < 0.1


def test_same_records_same_model(records, graph, diabetes) -> None:
    again = risk(records, "diabetes", kinds=["symptom", "disease"], kg=graph)
    assert again.predictions.equals(diabetes.predictions)
    pd.testing.assert_frame_equal(again.drivers, diabetes.drivers)
    other = risk(records, "diabetes", kinds=["symptom", "disease"], kg=graph, random_state=1)
    assert not other.predictions.equals(diabetes.predictions)


def test_model_and_graph_side_by_side(graph, diabetes) -> None:
    table = diabetes.comparison
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    edges = graph.neighbors("type 2 diabetes mellitus")
    edges = edges[edges["kind"].isin(["symptom", "disease"]) & (edges["lift"] > 1)]
    graph_ids = set(edges["id"])
    leading = diabetes.drivers[diabetes.drivers["direction"] == "raises"].head(15)
    for row in table.itertuples(index=False):
        in_graph = row.id in graph_ids
        in_model = row.id in set(leading["id"])
        expected = "both" if in_model and in_graph else "model only" if in_model else "graph only"
        assert row.agreement == expected
    assert set(table["id"]) == graph_ids | set(leading["id"])
    both = table[table["agreement"] == "both"]
    assert {"polyuria", "polydipsia"} <= set(both["label"])
    polyuria = both.set_index("label").loc["polyuria"]
    assert polyuria["graph_relation"] == "has_symptom"
    edge = edges.set_index("label").loc["polyuria"]
    assert polyuria["graph_lift"] == pytest.approx(edge["lift"])


def test_the_graph_is_built_when_not_given(records, diabetes) -> None:
    built = risk(records, "diabetes", kinds=["symptom", "disease"])
    pd.testing.assert_frame_equal(built.comparison, diabetes.comparison)


def test_predict_held_out_patients(diabetes) -> None:
    held_out = synthetic(2000, random_state=9)
    risks = diabetes.predict(held_out)
    y = _has(held_out, "type 2 diabetes mellitus").reindex(risks.index)
    assert roc_auc_score(y, risks) > 0.8
    assert risks.between(0, 1).all()


def test_gradient_boosting(records, graph) -> None:
    model = risk(records, "asthma", kinds=["symptom"], model="gradient_boosting", kg=graph)
    assert model.params["estimator"] == "HistGradientBoostingClassifier"
    assert model.scores["roc_auc"] > 0.85
    assert model.drivers["label"].iloc[0] == "wheezing"
    assert model.drivers["odds_ratio"].isna().all()
    assert model.drivers.loc[0, "direction"] == "raises"


def test_recorded_reasons_are_left_out_by_default() -> None:
    rows = []
    rng = np.random.default_rng(3)
    for i in range(300):
        patient = f"p{i:03d}"
        sick = i < 100
        if sick:
            rows.append((patient, "gout", "disease", None))
            rows.append((patient, "allopurinol", "treatment", "local:gout"))
        if rng.random() < (0.6 if sick else 0.1):
            rows.append((patient, "joint pain", "symptom", None))
        if rng.random() < 0.3:
            rows.append((patient, "headache", "symptom", None))
    frame = pd.DataFrame(rows, columns=["patient_id", "concept", "kind", "reason"])
    records = kgmed.Records.from_dataframe(frame, reason="reason")
    model = risk(records, "gout")
    assert "local:allopurinol" not in set(model.drivers["id"])
    assert any("Left out as recorded for gout: allopurinol" in note for note in model.notes)
    kept = risk(records, "gout", exclude=[])
    assert kept.drivers["label"].iloc[0] == "allopurinol"
    # A list replaces the default.
    fewer = risk(records, "gout", exclude=["joint pain"])
    assert set(fewer.drivers["label"]) == {"allopurinol", "headache"}
    fewest = risk(records, "gout", exclude=["joint pain", "allopurinol"])
    assert set(fewest.drivers["label"]) == {"headache"}


def test_a_value_in_the_features_table_is_regressed(records) -> None:
    patients = pd.Index(records.data["patient_id"].unique())
    rng = np.random.default_rng(2)
    diabetic = _has(records, "type 2 diabetes mellitus").reindex(patients)
    age = rng.normal(50, 10, len(patients))
    table = pd.DataFrame(
        {
            "hba1c": 5.5 + 2.0 * diabetic + 0.01 * age + rng.normal(0, 0.3, len(patients)),
            "age": age,
        },
        index=patients,
    )
    model = risk(records, "hba1c", features=table, kinds=["disease"])
    assert model.task == "regression"
    assert model.params["estimator"] == "Ridge"
    assert model.scores["r2"] > 0.8
    assert model.scores["r2"] == pytest.approx(
        r2_score(table["hba1c"].reindex(model.predictions.index), model.predictions)
    )
    assert model.drivers["label"].iloc[0] == "type 2 diabetes mellitus"
    assert "age" in set(model.drivers["id"])
    assert model.comparison["agreement"].isna().all()
    assert "<RiskModel: hba1c (regression, Ridge)" in repr(model)
    assert f"R² {model.scores['r2']:.3f}" in model.explain()


def test_numeric_features_with_a_disease(records) -> None:
    patients = pd.Index(records.data["patient_id"].unique())
    diabetic = _has(records, "type 2 diabetes mellitus").reindex(patients)
    rng = np.random.default_rng(5)
    bmi = pd.DataFrame({"bmi": 25 + 6 * diabetic + rng.normal(0, 2, len(patients))}, index=patients)
    model = risk(records, "diabetes", kinds=["symptom"], features=bmi)
    assert model.drivers.set_index("id").loc["bmi", "kind"] == "numeric"
    assert model.drivers.set_index("id").loc["bmi", "direction"] == "raises"
    assert model.scores["roc_auc"] > 0.95
    held_out = synthetic(300, random_state=3)
    with pytest.raises(kgmed.ParameterError, match="pass features= with the same columns"):
        model.predict(held_out)


def test_privacy_floor_on_features_and_target(records) -> None:
    model = risk(records, "asthma", kinds=["symptom"], min_patients=200)
    counts = records.data.drop_duplicates(["patient_id", "concept_id"])["concept_id"].value_counts()
    assert (counts.reindex(model.drivers["id"]) >= 200).all()
    assert any("fewer than 200" in note for note in model.notes)
    with pytest.raises(kgmed.ParameterError, match="too few patients have 'heart failure'"):
        risk(records, "heart failure", min_patients=100)


@pytest.mark.parametrize(
    ("target", "options", "error", "message"),
    [
        ("diabetez", {}, kgmed.ConceptNotFound, r"no concept 'diabetez'.*type 2 diabetes"),
        ("pain", {}, kgmed.ConceptNotFound, r"'pain' could mean 2 concepts: \['chest pain'"),
        ("", {}, kgmed.ParameterError, "target must name a concept"),
        ("asthma", {"model": "svm"}, kgmed.ParameterError, "model must be one of"),
        ("asthma", {"cv": 1}, kgmed.ParameterError, "cv must be an integer >= 2"),
        ("asthma", {"kinds": ["gene"]}, kgmed.ParameterError, "are not kinds"),
        ("asthma", {"exclude": "wheezing"}, kgmed.ParameterError, "exclude must be a list"),
        ("asthma", {"exclude": ["wheezzing"]}, kgmed.ConceptNotFound, "exclude: no concept"),
        ("asthma", {"options": {"C": -1}}, kgmed.ParameterError, "refused its input or options"),
        ("asthma", {"options": {"alpha": 1}}, kgmed.ParameterError, "LogisticRegression refused"),
        ("asthma", {"missing": "zero"}, kgmed.ParameterError, "missing must be one of"),
        ("asthma", {"features": ["BMI"]}, kgmed.ParameterError, "hold no measurements"),
        ("asthma", {"kg": "graph.ttl"}, kgmed.ParameterError, "kg must be a KnowledgeGraph"),
    ],
)
def test_bad_input_is_named(target: str, options: dict, error: type, message: str) -> None:
    records = synthetic(600, random_state=0)
    with pytest.raises(error, match=message):
        risk(records, target, **options)


def test_missing_numeric_values_are_named() -> None:
    records = synthetic(600, random_state=0)
    patients = records.data["patient_id"].unique()
    age = pd.DataFrame({"age": np.arange(len(patients), dtype=float)}, index=patients)
    age.iloc[:3, 0] = np.nan
    with pytest.raises(kgmed.MissingValueError, match="'age' for 3 of 600 patients"):
        risk(records, "asthma", features=age)
    assert risk(records, "asthma", features=age, missing="median").scores["n_patients"] == 600


def test_not_records_are_refused() -> None:
    with pytest.raises(kgmed.ParameterError, match="risk takes Records"):
        risk("records.csv", "asthma")


@pytest.mark.shared_data
def test_risk_of_diabetes_in_a_real_synthea_export(shared_data: Path) -> None:
    records = kgmed.read_synthea(shared_data / "synthea_csv_543_partial")
    model = risk(records, "diabetes")
    assert model.target == "SNOMEDCT:44054006"
    # Its drugs are recorded as prescribed for it, so they are not features.
    assert not set(model.drivers["label"]) & {"metformin", "insulin"}
    assert any("Left out as recorded for Diabetes" in note for note in model.notes)
    assert model.scores["roc_auc"] > 0.8
    assert model.scores["n_with_target"] >= 11
    assert (model.comparison["agreement"] == "both").any()
    assert "Risk of Diabetes (SNOMEDCT:44054006)" in model.explain()


@pytest.mark.shared_data
def test_a_measurement_of_a_real_export_is_regressed(shared_data: Path) -> None:
    records = kgmed.read_synthea(shared_data / "synthea_csv_59_ca")
    model = risk(records, "Body Mass Index", kinds=["disease", "treatment"])
    assert model.task == "regression"
    assert model.target == "LOINC:39156-5"
    assert model.scores["n_patients"] == 58  # one patient has no BMI
    assert np.isfinite(model.scores["r2"])
    assert model.comparison["agreement"].isna().all()
