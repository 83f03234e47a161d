"""End to end on third-party data: the Kaggle disease/symptom table, counted by hand."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact

import kgmed

pytestmark = pytest.mark.shared_data


def normalize(cell: str) -> str:
    """As documented for readers: strip, '_' to ' ', collapse spaces, case-fold."""
    return " ".join(cell.strip().replace("_", " ").split()).casefold()


class HandCounts:
    """Rows, diseases, symptoms and their pairs, counted from the raw CSV with pandas."""

    def __init__(self, raw: pd.DataFrame) -> None:
        self.n = len(raw)
        self.disease = [normalize(d) for d in raw["Disease"]]
        symptom_columns = [c for c in raw.columns if c.startswith("Symptom_")]
        self.symptoms = [
            {normalize(cell) for cell in row if isinstance(cell, str) and cell.strip()}
            for row in raw[symptom_columns].itertuples(index=False)
        ]
        self.n_concept = Counter(self.disease)
        for found in self.symptoms:
            self.n_concept.update(found)
        self.n_pair: Counter[frozenset[str]] = Counter()
        for disease, found in zip(self.disease, self.symptoms, strict=True):
            self.n_pair.update(frozenset((disease, s)) for s in found)
            self.n_pair.update(frozenset(p) for p in combinations(sorted(found), 2))


@pytest.fixture(scope="module")
def raw(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(
        shared_data / "disease_symptom_prediction" / "kaggle_layout" / "dataset.csv", dtype=str
    )


@pytest.fixture(scope="module")
def hand(raw: pd.DataFrame) -> HandCounts:
    return HandCounts(raw)


@pytest.fixture(scope="module")
def kaggle_kg(disease_symptom_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    return kgmed.build(disease_symptom_records)


@pytest.fixture(scope="module")
def kaggle_every(disease_symptom_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    """Every tested pair an edge: the counts and tests of each, to check by hand."""
    return kgmed.build(disease_symptom_records, relations="association", keep="all")


def folded(labels: pd.Series) -> list[str]:
    return [label.casefold() for label in labels]


def test_the_reader_counts_every_cell(disease_symptom_records, raw, hand):
    report = disease_symptom_records.report
    assert report.n_read == raw.size == 4920 * 18
    assert report.dropped["empty cell"] == int(raw.isna().sum().sum())
    kept = sum(1 + len(found) for found in hand.symptoms)
    assert report.n_kept == kept == len(disease_symptom_records.data)
    assert report.n_read == report.n_kept + report.n_dropped
    assert report.n_patients == 4920


def test_the_documented_shape(kaggle_kg, hand):
    nodes = kaggle_kg.nodes()
    assert nodes["kind"].value_counts().to_dict() == {"symptom": 131, "disease": 41}
    assert len(set(hand.disease)) == 41
    assert (kaggle_kg.nodes("disease")["n_patients"] == 120).all()
    for label, n_patients in zip(folded(nodes["label"]), nodes["n_patients"], strict=True):
        assert n_patients == hand.n_concept[label], label
    assert kaggle_kg.params["n_patients"] == hand.n == 4920
    assert kaggle_kg.params["n_concepts_suppressed"] == 0


def test_has_symptom_edges_are_hand_counts(kaggle_kg, hand):
    edges = kaggle_kg.edges("has_symptom")
    pairs = {(d, s) for d, found in zip(hand.disease, hand.symptoms, strict=True) for s in found}
    assert len(pairs) == 321
    frequent = {(d, s) for d, s in pairs if hand.n_pair[frozenset((d, s))] >= 11}
    got = set(zip(folded(edges["source_label"]), folded(edges["target_label"]), strict=True))
    assert got == frequent
    for row in edges.itertuples(index=False):
        d, s = row.source_label.casefold(), row.target_label.casefold()
        both, n_d, n_s = hand.n_pair[frozenset((d, s))], hand.n_concept[d], hand.n_concept[s]
        assert (row.n_patients, row.n_source, row.n_target, row.n_total) == (both, n_d, n_s, hand.n)
        assert row.p_target_given_source == pytest.approx(both / n_d, rel=1e-12)  # P(s | d)
        assert row.p_source_given_target == pytest.approx(both / n_s, rel=1e-12)  # P(d | s)
        assert row.lift == pytest.approx(both * hand.n / (n_d * n_s), rel=1e-12)
        assert row.support == pytest.approx(both / hand.n, rel=1e-12)
    query = kaggle_kg.symptoms_of("Fungal infection", min_lift=None)
    assert (
        set(query["label"])
        == {s for d, s in frequent if d == "fungal infection"}
        == {"itching", "skin rash", "nodal skin eruptions", "dischromic patches"}
    )
    row = query.set_index("label").loc["dischromic patches"]
    both = hand.n_pair[frozenset(("fungal infection", "dischromic patches"))]
    assert row["p_symptom_given_disease"] == pytest.approx(both / 120)
    assert row["p_disease_given_symptom"] == pytest.approx(
        both / hand.n_concept["dischromic patches"]
    )


def test_co_occurs_with_edges_are_hand_counts(kaggle_every, hand):
    edges = kaggle_every.edges("co_occurs_with")
    symptoms = {s for found in hand.symptoms for s in found}
    expected = set()
    for pair, both in hand.n_pair.items():
        a, b = sorted(pair)
        confidence = max(both / hand.n_concept[a], both / hand.n_concept[b])
        if a in symptoms and b in symptoms and both >= 11 and confidence >= 0.05:
            expected.add(pair)
    got = {
        frozenset(p)
        for p in zip(folded(edges["source_label"]), folded(edges["target_label"]), strict=True)
    }
    assert got == expected
    assert len(got) > 500
    for row in edges.itertuples(index=False):
        pair = frozenset((row.source_label.casefold(), row.target_label.casefold()))
        assert row.n_patients == hand.n_pair[pair]
        assert row.source < row.target


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
    out = np.empty_like(q)
    out[order] = q
    return out


def test_p_and_q_values_are_fishers_and_benjamini_hochbergs(kaggle_every, hand):
    # The family of tests: every pair seen in at least 11 rows (min_patients),
    # before min_confidence filters them.
    family = sorted((pair for pair, both in hand.n_pair.items() if both >= 11), key=sorted)
    p = []
    for pair in family:
        a, b = sorted(pair)
        both, n_a, n_b = hand.n_pair[pair], hand.n_concept[a], hand.n_concept[b]
        table = [[both, n_a - both], [n_b - both, hand.n - n_a - n_b + both]]
        p.append(fisher_exact(table, alternative="greater").pvalue)
    q = dict(zip(family, benjamini_hochberg(np.array(p)), strict=True))
    p_of = dict(zip(family, p, strict=True))
    edges = kaggle_every.edges()
    assert len(edges) > 1000
    for row in edges.itertuples(index=False):
        pair = frozenset((row.source_label.casefold(), row.target_label.casefold()))
        assert row.p_value == pytest.approx(p_of[pair], rel=1e-6, abs=1e-300)
        assert row.q_value == pytest.approx(q[pair], rel=1e-6, abs=1e-300)
    assert (edges["q_value"] > 0.05).any()


def test_the_default_graph_keeps_only_what_holds(kaggle_kg, kaggle_every):
    edges = kaggle_kg.edges()
    mined = edges[edges["provenance"] == "mined"]
    assert len(mined) > 100
    assert (mined["q_value"] < 0.05).all()
    assert (mined["lift"] > 1).all()
    assert kaggle_kg.params["edges"]["tested"] == len(kaggle_every.edges())


@pytest.mark.parametrize(
    ("term", "label"),
    [
        ("diabetes", "Diabetes"),
        ("DIABETES ", "Diabetes"),
        ("hypertension", "Hypertension"),
        ("dimorphic hemmorhoids(piles)", "Dimorphic hemmorhoids(piles)"),
        ("Hepatitis_A", "hepatitis A"),
        ("(vertigo) paroymsal positional vertigo", "(vertigo) Paroymsal Positional Vertigo"),
    ],
)
def test_disease_names_with_stray_spaces_and_case(kaggle_kg, term, label):
    concept = kaggle_kg.resolve(term, kind="disease")
    assert kaggle_kg.graph.nodes[concept]["label"] == label
    assert kaggle_kg.graph.nodes[concept]["n_patients"] == 120


@pytest.mark.parametrize(
    ("raw_token", "label"),
    [
        (" dischromic _patches", "dischromic patches"),
        (" spotting_ urination", "spotting urination"),
        (" foul_smell_of urine", "foul smell of urine"),
        (" skin_rash", "skin rash"),
        ("itching", "itching"),
    ],
)
def test_symptom_tokens_with_inner_spaces(kaggle_kg, hand, raw_token, label):
    concept = kaggle_kg.resolve(raw_token, kind="symptom")
    assert kaggle_kg.graph.nodes[concept]["label"] == label
    diseases = kaggle_kg.diseases_with(raw_token, min_lift=None)
    expected = {
        d
        for d, found in zip(hand.disease, hand.symptoms, strict=True)
        if label in found and hand.n_pair[frozenset((d, label))] >= 11
    }
    assert set(folded(diseases["label"])) == expected
    assert len(expected) > 0


def test_a_saved_kaggle_graph_comes_back(kaggle_kg, tmp_path):
    back = kgmed.load(kaggle_kg.save(tmp_path / "kaggle.json.gz"))
    pd.testing.assert_frame_equal(back.edges(), kaggle_kg.edges())
    pd.testing.assert_frame_equal(back.rules, kaggle_kg.rules)
