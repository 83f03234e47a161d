"""The synthetic generator: its model, its draws, and that kgmed finds the truth back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.datasets import SyntheticModel, default_model, synthetic
from kgmed.records._normalize import clean_text

MODEL = default_model()
DISEASES = MODEL.concepts.loc[MODEL.concepts["kind"] == "disease", "label"].tolist()
N_LARGE = 20_000


@pytest.fixture(scope="module")
def large() -> tuple[kgmed.Records, SyntheticModel]:
    return synthetic(N_LARGE, random_state=11, return_truth=True)


@pytest.fixture(scope="module")
def large_kg(large: tuple[kgmed.Records, SyntheticModel]) -> kgmed.KnowledgeGraph:
    return kgmed.build(large[0])


def test_the_default_model():
    concepts, links = MODEL.concepts, MODEL.links
    assert concepts["kind"].value_counts().to_dict() == {
        "symptom": 26,
        "treatment": 21,
        "disease": 15,
    }
    assert concepts["label"].is_unique
    kind = dict(zip(concepts["label"], concepts["kind"], strict=True))
    assert set(links["source"]) | set(links["target"]) <= set(kind)
    direct = MODEL.direct_edges()
    assert set(direct["relation"]) == {"has_symptom", "treated_with"}
    for row in direct.itertuples(index=False):
        assert kind[row.source] == "disease"
        assert kind[row.target] == ("symptom" if row.relation == "has_symptom" else "treatment")
        assert 0 < row.weight <= 1
    risks = links[links["relation"] == "raises_risk_of"]
    assert (risks["weight"] > 1).all()
    assert {kind[label] for label in (*risks["source"], *risks["target"])} == {"disease"}
    assert len(MODEL.direct_edges("has_symptom")) + len(MODEL.direct_edges("treated_with")) == len(
        direct
    )
    coded = concepts[concepts["kind"] == "disease"]
    assert (coded["system"] == "ICD10CM").all()
    assert coded["code"].notna().all()


def test_a_seed_reproduces_the_records():
    first = synthetic(500, random_state=7)
    second = synthetic(500, random_state=7, as_frame=True)
    pd.testing.assert_frame_equal(first.data, synthetic(500, random_state=7).data)
    pd.testing.assert_frame_equal(
        second, synthetic(500, random_state=np.random.default_rng(7), as_frame=True)
    )
    other = synthetic(500, random_state=8)
    assert not first.data[["patient_id", "concept_id"]].equals(
        other.data[["patient_id", "concept_id"]]
    )


@pytest.mark.parametrize("n", [1, 9, 10, 99, 1000])
def test_every_patient_asked_for_appears(n):
    frame = synthetic(n, random_state=0, as_frame=True)
    width = len(str(n))
    assert set(frame["patient_id"]) == {f"P{i:0{width}d}" for i in range(1, n + 1)}
    assert synthetic(n, random_state=0).n_patients == n


def test_as_frame_and_truth():
    frame, truth = synthetic(300, random_state=0, as_frame=True, return_truth=True)
    assert frame.columns.tolist() == [
        "patient_id",
        "concept",
        "kind",
        "code",
        "system",
        "age",
        "sex",
    ]
    pd.testing.assert_frame_equal(truth.links, MODEL.links)
    pd.testing.assert_frame_equal(truth.concepts, MODEL.concepts)
    records, truth = synthetic(300, random_state=0, return_truth=True)
    assert isinstance(records, kgmed.Records)
    assert isinstance(truth, SyntheticModel)
    assert set(frame["concept"]) <= set(MODEL.concepts["label"])


def test_messy_only_changes_spelling_and_repeats_rows():
    clean = synthetic(2000, random_state=3, as_frame=True)
    messy = synthetic(2000, random_state=3, as_frame=True, messy=True)
    assert len(messy) > len(clean)
    assert (messy["concept"].iloc[: len(clean)] != clean["concept"]).any()
    # Repeats are exact copies of their row; without them the rows are the
    # clean rows, label for label once cleaned and case-folded.
    unique = messy.drop_duplicates().reset_index(drop=True)
    assert len(unique) == len(clean)
    folded = clean_text(unique["concept"]).str.casefold()
    assert folded.tolist() == clean["concept"].str.casefold().tolist()
    spellings = messy.loc[~messy["concept"].isin(clean["concept"]), "concept"]
    assert spellings.str.contains("_").any()
    assert spellings.str.contains("\u00a0").any()
    assert spellings.str.isupper().any()
    other = ["patient_id", "kind", "code", "system"]
    pd.testing.assert_frame_equal(unique[other], clean[other])


def test_messy_records_read_back_to_the_same_concepts():
    clean = synthetic(2000, random_state=3)
    messy = synthetic(2000, random_state=3, messy=True)
    pd.testing.assert_frame_equal(clean.data, messy.data)
    frame = synthetic(2000, random_state=3, as_frame=True, messy=True)
    assert messy.report.dropped == {"duplicate": len(frame) - len(clean.data)}
    assert messy.report.n_label_variants > 0


@pytest.mark.parametrize("n", [0, -5, 2.5, True, "100"])
def test_a_bad_number_of_patients(n):
    with pytest.raises(kgmed.ParameterError, match="n_patients"):
        synthetic(n)


def _share(records: kgmed.Records, concept: str, given: str) -> tuple[float, int]:
    data = records.data
    with_given = set(data.loc[data["label"] == given, "patient_id"])
    with_both = set(data.loc[data["label"] == concept, "patient_id"]) & with_given
    return len(with_both) / len(with_given), len(with_given)


@pytest.mark.parametrize(
    ("symptom", "disease"),
    [
        ("dysuria", "urinary tract infection"),
        ("loss of smell", "covid-19"),
        ("pallor", "iron deficiency anemia"),
    ],
)
def test_a_symptom_with_one_cause_follows_the_noisy_or(large, symptom, disease):
    records, truth = large
    links = truth.links
    causes = links[(links["target"] == symptom)]
    assert causes["source"].tolist() == [disease]
    leak = truth.concepts.set_index("label").loc[symptom, "rate"]
    weight = causes["weight"].iloc[0]
    expected = 1 - (1 - leak) * (1 - weight)
    share, n = _share(records, symptom, disease)
    assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / n)


def test_diabetes_raises_hypertension_in_the_records(large):
    records, _ = large
    data = records.data
    diabetic = set(data.loc[data["label"] == "type 2 diabetes mellitus", "patient_id"])
    hypertensive = set(data.loc[data["label"] == "hypertension", "patient_id"])
    everyone = set(data["patient_id"])
    with_diabetes = len(diabetic & hypertensive) / len(diabetic)
    without = len(hypertensive - diabetic) / len(everyone - diabetic)
    assert with_diabetes > 1.5 * without


@pytest.mark.parametrize("disease", DISEASES)
def test_the_strongest_true_symptoms_are_found(large_kg, disease):
    assert large_kg.nodes().set_index("label").loc[disease, "n_patients"] >= 300
    truth = MODEL.direct_edges("has_symptom")
    strong = truth.loc[(truth["source"] == disease) & (truth["weight"] >= 0.5), "target"]
    found = large_kg.symptoms_of(disease).set_index("label")
    for symptom in strong:
        assert symptom in found.index, f"{disease} -> {symptom} not found"
        assert found.loc[symptom, "lift"] > 1
        assert found.loc[symptom, "q_value"] < 0.05
        assert found.loc[symptom, "source"] == "mined"


TREATED = [
    d
    for d in DISEASES
    if MODEL.direct_edges("treated_with").query("source == @d")["weight"].max() >= 0.6
]


@pytest.mark.parametrize("disease", TREATED)
def test_the_top_true_treatment_is_among_the_top_two(large_kg, disease):
    truth = MODEL.direct_edges("treated_with")
    mine = truth[truth["source"] == disease].sort_values("weight", ascending=False, kind="stable")
    top = mine["target"].iloc[0]
    found = large_kg.treatments_for(disease, limit=2)
    assert top in found["label"].tolist()


def test_enough_diseases_are_checked():
    assert len(DISEASES) == 15
    assert len(TREATED) >= 10


@pytest.mark.parametrize(
    ("first", "second"),
    [("type 2 diabetes mellitus", "hypertension"), ("hypertension", "heart failure")],
)
def test_comorbidity_is_found(large_kg, first, second):
    edges = large_kg.neighbors(first, "comorbid_with").set_index("label")
    assert edges.loc[second, "lift"] > 1
    assert edges.loc[second, "q_value"] < 0.05


def test_the_significant_comorbidities_are_the_models(large_kg):
    risks = MODEL.links[MODEL.links["relation"] == "raises_risk_of"]
    expected = {frozenset(pair) for pair in zip(risks["source"], risks["target"], strict=True)}
    edges = large_kg.edges("comorbid_with")
    # Only what holds is an edge: the comorbidities the model draws, and
    # nothing of the dozens of pairs of diseases tested.
    assert large_kg.params["edges"]["tested"] > len(edges) + 50
    significant = edges[(edges["q_value"] < 0.05) & (edges["lift"] > 1)]
    assert len(significant) == len(edges)
    found = {
        frozenset(pair)
        for pair in zip(significant["source_label"], significant["target_label"], strict=True)
    }
    assert found == expected


# -- who the patients are, and records that bend the model ------------------------


def test_every_patient_has_an_age_and_a_sex():
    records = synthetic(2000, random_state=0)
    people = records.patients
    assert people is not None
    assert people.index.tolist() == records.data["patient_id"].unique().tolist()
    assert people["age"].between(0, 90).all()
    assert set(people["sex"]) == {"female", "male"}
    assert 0.4 < (people["sex"] == "female").mean() < 0.6
    frame = synthetic(2000, random_state=0, as_frame=True)
    per_patient = frame.drop_duplicates("patient_id").set_index("patient_id")
    assert per_patient["age"].astype(float).tolist() == people["age"].tolist()
    assert per_patient["sex"].tolist() == people["sex"].tolist()


def test_ages_leave_the_draws_of_a_model_without_them_unchanged():
    # Ages and sexes come from their own stream: the concepts drawn are the
    # same as those of a draw that ignores them.
    first = synthetic(500, random_state=3, as_frame=True)
    assert first.columns.tolist()[-2:] == ["age", "sex"]
    again = synthetic(500, random_state=3, as_frame=True)
    pd.testing.assert_frame_equal(first, again)


def test_demographics_make_rates_follow_age_and_sex():
    model = default_model(demographics=1.0)
    assert {"chronic low back pain", "ethinyl estradiol"} <= set(model.concepts["label"])
    records = synthetic(20000, random_state=2, model=model)
    data = records.data.merge(records.patients, left_on="patient_id", right_index=True)
    people = records.patients

    def holders(label):
        return data.loc[data["label"] == label]

    estradiol = holders("ethinyl estradiol")
    assert (estradiol["sex"] == "female").all()
    assert estradiol["age"].between(15, 49).all()
    assert holders("hypertension")["age"].mean() > people["age"].mean() + 10
    assert holders("chronic low back pain")["age"].mean() > people["age"].mean() + 10
    uti = holders("urinary tract infection")
    assert (uti["sex"] == "female").mean() > 0.7
    # Without demographics the same concepts follow neither.
    plain = synthetic(20000, random_state=2)
    flat = plain.data.merge(plain.patients, left_on="patient_id", right_index=True)
    htn = flat.loc[flat["label"] == "hypertension", "age"]
    assert abs(htn.mean() - plain.patients["age"].mean()) < 3


def test_undercoding_leaves_diseases_out_but_not_what_they_bring():
    full = synthetic(20000, random_state=4)
    under = synthetic(20000, random_state=4, undercoding=0.3)

    def count(records, kind):
        return int((records.data["kind"] == kind).sum())

    assert count(under, "disease") < 0.8 * count(full, "disease")
    assert abs(count(under, "symptom") / count(full, "symptom") - 1) < 0.05
    # Metformin is taken by patients whose diabetes is not recorded.
    data = under.data
    diabetic = set(data.loc[data["label"] == "type 2 diabetes mellitus", "patient_id"])
    metformin = set(data.loc[data["label"] == "metformin", "patient_id"])
    assert len(metformin - diabetic) > 0.2 * len(metformin)


def test_severity_spreads_what_diseases_bring():
    plain = synthetic(20000, random_state=5)
    severe = synthetic(20000, random_state=5, severity=2.0)

    def symptoms_per_patient(records):
        symptoms = records.data[records.data["kind"] == "symptom"]
        return symptoms.groupby("patient_id").size()

    # The same mean hazard, spread from patient to patient: more patients with
    # many symptoms and more with few, so the counts vary more.
    assert symptoms_per_patient(severe).var() > symptoms_per_patient(plain).var() * 1.1


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"severity": -1}, "severity"),
        ({"severity": "high"}, "severity"),
        ({"undercoding": 1.5}, "undercoding"),
        ({"undercoding": -0.1}, "undercoding"),
    ],
)
def test_bad_settings(options, named):
    with pytest.raises(kgmed.ParameterError, match=named):
        synthetic(100, random_state=0, **options)
    with pytest.raises(kgmed.ParameterError, match="demographics"):
        default_model(demographics=-1)
