"""Linking one patient (and many) to the graph."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.linking import PatientLink


@pytest.fixture(scope="module")
def records() -> kgmed.Records:
    return kgmed.datasets.synthetic(8000, random_state=3)


@pytest.fixture(scope="module")
def graph(records: kgmed.Records) -> kgmed.KnowledgeGraph:
    return kgmed.build(records, relations="direct")


def test_a_flu_like_patient(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["fever", "cough", "muscle pain"])
    assert isinstance(result, PatientLink)
    top = result.diagnoses.iloc[0]
    assert top["label"] == "influenza"
    assert 0.5 < top["score"] <= 1
    assert result.diagnoses["score"].is_monotonic_decreasing
    assert result.diagnoses["score"].between(0, 1).all()
    assert {label for label, _ in top["supporting"]} == {"fever", "cough", "muscle pain"}
    assert result.diagnoses.columns.tolist() == [
        "id",
        "label",
        "score",
        "prior",
        "n_patients",
        "supporting",
        "against",
    ]


def test_without_direct_weights_scores_are_naive_bayes_posteriors(
    records: kgmed.Records,
) -> None:
    """Recompute influenza's score by hand from its edges' counts."""
    kg = kgmed.build(records, relations="association")  # no weights, no leaks
    result = kg.link(["fever", "muscle pain"])
    flu = kg.resolve("influenza")
    edges = kg.edges("has_symptom").set_index(["source", "target"])
    n_total = kg.params["n_patients"]
    n_flu = kg.graph.nodes[flu]["n_patients"]
    log_odds = np.log(n_flu / n_total) - np.log1p(-n_flu / n_total)
    for symptom in ("fever", "muscle pain"):
        edge = edges.loc[(flu, kg.resolve(symptom))]
        background = (edge["n_target"] - edge["n_both"]) / (n_total - edge["n_source"])
        with_flu = edge["n_both"] / edge["n_source"]
        log_odds += np.log(with_flu / background)
    expected = 1 / (1 + np.exp(-log_odds))
    score = result.diagnoses.set_index("id").loc[flu, "score"]
    assert score == pytest.approx(expected)


def test_with_direct_weights_the_leading_candidates_are_weighed_exactly(
    graph: kgmed.KnowledgeGraph,
) -> None:
    """Brute-force the noisy-OR posterior over the leading candidates."""
    evidence = ["fever", "cough", "muscle pain"]
    result = graph.link(evidence, top=15)
    leading = result.diagnoses["id"].head(kgmed.linking.CANDIDATES).tolist()
    n_total = graph.params["n_patients"]
    prevalence = {d: graph.graph.nodes[d]["n_patients"] / n_total for d in leading}
    edges = graph.edges("has_symptom").set_index(["source", "target"])
    symptoms = [graph.resolve(s) for s in evidence]

    def weight(disease: str, symptom: str) -> float:
        key = (disease, symptom)
        return float(edges.loc[key, "direct_weight"]) if key in edges.index else 0.0

    joint = {}
    for combination in itertools.product([0, 1], repeat=len(leading)):
        present = [d for d, x in zip(leading, combination, strict=True) if x]
        p = np.prod(
            [
                prevalence[d] if x else 1 - prevalence[d]
                for d, x in zip(leading, combination, strict=True)
            ]
        )
        for s in symptoms:
            keep = 1 - graph.graph.nodes[s]["leak"]
            for d in present:
                keep *= 1 - weight(d, s)
            p *= 1 - keep
        joint[combination] = p
    total = sum(joint.values())
    scores = result.diagnoses.set_index("id")["score"]
    for i, disease in enumerate(leading):
        marginal = sum(p for c, p in joint.items() if c[i]) / total
        assert scores[disease] == pytest.approx(marginal, rel=1e-6)
    assert scores.is_monotonic_decreasing


def test_absent_symptoms_count_against(graph: kgmed.KnowledgeGraph) -> None:
    present = graph.link(["fever", "cough"]).diagnoses.set_index("label")["score"]
    without = graph.link({"present": ["fever", "cough"], "absent": ["loss of smell"]})
    scores = without.diagnoses.set_index("label")["score"]
    assert scores["covid-19"] < present["covid-19"]
    against = without.diagnoses.set_index("label").loc["covid-19", "against"]
    assert against[0][0] == "loss of smell"
    assert against[0][1] < 0


def test_terms_are_matched_and_reported(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["HP:0001945", "J11.1", "Muscle_Pain", "coughh", "zzzz", "oseltamivir"])
    how = result.matched.set_index("term")["how"].to_dict()
    assert how == {
        "HP:0001945": "id",
        "J11.1": "code",
        "Muscle_Pain": "label",
        "coughh": "fuzzy",
        "oseltamivir": "label",
    }
    roles = result.matched.set_index("term")["role"].to_dict()
    assert roles["J11.1"] == "diagnosis"
    assert roles["oseltamivir"] == "treatment"
    assert result.unmatched["term"].tolist() == ["zzzz"]
    # A known diagnosis is not offered again, and a drug taken is not suggested.
    assert "influenza" not in set(result.diagnoses["label"])
    assert "oseltamivir" not in set(result.treatments["label"])


def test_synonyms_match_as_synonyms(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(
        ["Pyrexia", "tiredness"], synonyms={"pyrexia": "fever", "tiredness": "HP:0012378"}
    )
    assert result.matched.set_index("term")["how"].to_dict() == {
        "Pyrexia": "synonym",
        "tiredness": "synonym",
    }
    assert set(result.matched["label"]) == {"fever", "fatigue"}


def test_fuzzy_matching_can_be_turned_off(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["coughh"], fuzzy=1.0)
    assert result.matched.empty
    assert result.unmatched.loc[0, "suggestions"][0] == "cough"


def test_treatments_come_from_the_leading_diagnoses(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["wheezing", "shortness of breath"])
    diagnoses = result.diagnoses
    speaks_for = (diagnoses["score"] > diagnoses["prior"]) & (diagnoses["supporting"].map(len) > 0)
    supported = diagnoses[speaks_for]["label"].head(3).tolist()
    assert set(result.treatments["diagnosis"]) == set(supported)
    assert supported[0] == "asthma"
    first = result.treatments[result.treatments["diagnosis"] == "asthma"]
    assert first.iloc[0]["label"] == "albuterol"
    # A disease the evidence does not raise gets no treatment suggestions.
    unsupported = set(diagnoses[~speaks_for]["label"])
    assert not unsupported & set(result.treatments["diagnosis"])


def test_next_questions_separate_the_candidates(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["fever", "cough"])
    questions = result.next_questions
    assert len(questions) > 0
    assert questions["information_gain"].is_monotonic_decreasing
    assert (questions["information_gain"] > 0).all()
    assert not set(questions["label"]) & {"fever", "cough"}
    # The best question's answer moves the leading candidates a long way,
    # and far more than a symptom none of them brings.
    leading = result.diagnoses["label"].head(5).tolist()

    def moved(symptom: str) -> float:
        yes = graph.link(["fever", "cough", symptom]).diagnoses.set_index("label")["score"]
        no = graph.link({"present": ["fever", "cough"], "absent": [symptom]}).diagnoses
        no = no.set_index("label")["score"]
        return sum(abs(yes.get(d, 0.0) - no.get(d, 0.0)) for d in leading)

    first = questions.iloc[0]["label"]
    assert moved(first) > 0.3
    assert moved(first) > 3 * moved("polyuria")
    # A symptom that no leading candidate brings tells nothing.
    assert "polyuria" not in set(questions["label"])


def test_nothing_recognised_is_said_plainly(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["hyperkalemia", "zzzz", "feverish nonsense words"])
    assert result.matched.empty
    assert result.diagnoses.empty
    assert result.treatments.empty
    assert result.next_questions.empty
    text = result.explain()
    assert text.splitlines()[0] == "No term was recognised: none names a concept of the graph."
    assert "Not found: 'zzzz'." in text
    assert "No candidate diagnosis" in text


def test_unmatched_terms_get_suggestions(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["fever", "dry coug"])
    assert result.unmatched.loc[0, "suggestions"][0] == "cough"
    assert "Not found: 'dry coug' (did you mean cough" in result.explain()


def test_no_diagnosis_without_evidence_for_it(graph: kgmed.KnowledgeGraph) -> None:
    edges = graph.edges("has_symptom")
    for terms in (["fever"], ["wheezing"], ["loss of smell"], ["polyuria", "fatigue"]):
        result = graph.link(terms, top=50)
        present = {graph.resolve(t) for t in terms}
        related = set(edges.loc[edges["target"].isin(present), "source"])
        assert len(result.diagnoses) > 0
        assert set(result.diagnoses["id"]) == related
    # A disease a quarter of all patients have is no candidate for loss of smell.
    assert "hypertension" not in set(graph.link(["loss of smell"]).diagnoses["label"])


def test_one_candidate_still_gets_questions_that_test_it(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["loss of smell"])
    assert result.diagnoses["label"].tolist() == ["covid-19"]
    questions = result.next_questions
    assert len(questions) > 0
    assert questions["information_gain"].is_monotonic_decreasing
    covid = graph.resolve("covid-19")
    edges = graph.edges("has_symptom")
    brought = set(edges.loc[edges["source"] == covid, "target"])
    assert set(questions["id"]) <= brought
    first = questions.iloc[0]["label"]
    if_yes = graph.link(["loss of smell", first]).diagnoses.set_index("label")["score"]["covid-19"]
    if_no = graph.link({"present": ["loss of smell"], "absent": [first]}).diagnoses
    assert if_yes - if_no.set_index("label")["score"]["covid-19"] > 0.1


def test_a_patients_rows_are_read_closed_world(
    graph: kgmed.KnowledgeGraph, records: kgmed.Records
) -> None:
    data = records.data
    rows = data[data["patient_id"] == data["patient_id"].iloc[0]]
    result = graph.link(rows)
    symptoms = rows[rows["kind"] == "symptom"]
    if len(symptoms):
        assert set(result.matched.loc[result.matched["role"] == "present", "id"]) == set(
            symptoms["concept_id"]
        )
    open_world = graph.link(rows, closed_world=False)
    assert not result.diagnoses.equals(open_world.diagnoses) or symptoms.empty


def test_link_many_agrees_with_link(graph: kgmed.KnowledgeGraph, records: kgmed.Records) -> None:
    data = records.data
    sample = data[data["patient_id"].isin(data["patient_id"].unique()[:40])]
    many = graph.link_many(sample, top=2)
    assert many.columns.tolist() == ["patient_id", "rank", "id", "label", "score"]
    for patient, group in many.groupby("patient_id"):
        rows = sample[sample["patient_id"] == patient]
        symptoms = rows[rows["kind"] == "symptom"]
        one = graph.link(symptoms[["concept_id"]], top=10, closed_world=True)
        # link leaves known diagnoses out; link_many ranks every disease.
        expected = one.diagnoses.set_index("id")["score"]
        for concept, score in zip(group["id"], group["score"], strict=True):
            if concept in expected.index:
                assert score == pytest.approx(expected[concept])


def test_link_many_is_accurate_on_held_out_patients() -> None:
    train = kgmed.datasets.synthetic(20000, random_state=1)
    test = kgmed.datasets.synthetic(2000, random_state=2)
    kg = kgmed.build(train, relations="direct")
    ranked = kg.link_many(test, top=3)
    truth = test.data[test.data["kind"] == "disease"].groupby("patient_id")["concept_id"].apply(set)
    ranked = ranked[ranked["patient_id"].isin(truth.index)]
    top1 = ranked[ranked["rank"] == 1].set_index("patient_id")["id"]
    hits = [top1[p] in truth[p] for p in top1.index]
    assert np.mean(hits) > 0.6


def test_an_empty_patient_gets_an_empty_result(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link([])
    assert result.matched.empty
    assert result.diagnoses.empty
    assert result.treatments.empty
    assert result.next_questions.empty
    assert "No candidate diagnosis" in result.explain()
    assert json.loads(json.dumps(result.to_dict()))["diagnoses"] == []


def test_explain_and_to_dict(graph: kgmed.KnowledgeGraph) -> None:
    result = graph.link(["fever", "cough", "muscle pain", "qqqq"])
    text = result.explain()
    assert "1. influenza" in text
    assert "Not found: 'qqqq'" in text
    assert "not a diagnosis" in text
    document = json.loads(json.dumps(result.to_dict()))
    assert document["diagnoses"][0]["label"] == "influenza"
    assert document["unmatched"][0]["term"] == "qqqq"


def test_a_graph_without_symptom_relations_says_so() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(30)] * 2,
            "concept": ["asthma"] * 30 + ["albuterol"] * 30,
            "kind": ["disease"] * 30 + ["treatment"] * 30,
        }
    )
    kg = kgmed.build(frame)
    with pytest.raises(kgmed.GraphError, match="has_symptom"):
        kg.link(["wheezing"])


@pytest.mark.parametrize(
    ("patient", "message"),
    [
        (42, "a patient is a list"),
        ({"smells": ["x"]}, "keys"),
        (pd.DataFrame({"x": [1]}), "concept"),
    ],
)
def test_bad_patients(graph: kgmed.KnowledgeGraph, patient: object, message: str) -> None:
    with pytest.raises(kgmed.ParameterError, match=message):
        graph.link(patient)
