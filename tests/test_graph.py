"""KnowledgeGraph: tables, term resolution, size, membership and repr."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest

import kgmed
from kgmed.graph import EDGE_COLUMNS, NODE_COLUMNS
from kgmed.matching import _fold, fold
from kgmed.records._normalize import clean_text


@pytest.mark.parametrize(
    ("term", "concept_id"),
    [
        ("influenza", "ICD10CM:J11.1"),
        ("INFLUENZA", "ICD10CM:J11.1"),
        ("  Influenza \t", "ICD10CM:J11.1"),
        ("ICD10CM:J11.1", "ICD10CM:J11.1"),
        ("icd10cm:j11.1", "ICD10CM:J11.1"),
        ("J11.1", "ICD10CM:J11.1"),
        ("j11.1", "ICD10CM:J11.1"),
        ("loss of smell", "HP:0000458"),
        ("Loss_Of_Smell", "HP:0000458"),
        ("LOSS   OF\u00a0SMELL", "HP:0000458"),
        ("loss__of _smell", "HP:0000458"),
        ("hp:0000458", "HP:0000458"),
        ("0000458", "HP:0000458"),
        ("sore throat", "local:sore_throat"),
        ("Sore_Throat", "local:sore_throat"),
        ("local:sore_throat", "local:sore_throat"),
        ("LOCAL:SORE_THROAT", "local:sore_throat"),
        ("Covid-19", "ICD10CM:U07.1"),
        ("type 2 diabetes mellitus", "ICD10CM:E11.9"),
        ("Vitamin_D", "local:vitamin_d"),
    ],
)
def test_resolve_finds_a_concept_by_label_id_or_code(kg, term, concept_id):
    assert kg.resolve(term) == concept_id
    assert term in kg


def test_resolve_with_kind(kg):
    assert kg.resolve("fever", kind="symptom") == "HP:0001945"
    with pytest.raises(
        kgmed.ConceptKindError, match=r"'fever' \(HP:0001945\) is a symptom, not a disease"
    ):
        kg.resolve("fever", kind="disease")


@pytest.mark.parametrize("term", ["influenzza", "Infuenza", "INFLUENZ"])
def test_unknown_term_lists_the_closest_labels(kg, term):
    with pytest.raises(kgmed.ConceptNotFound) as info:
        kg.resolve(term)
    err = info.value
    assert isinstance(err, kgmed.KgmedError)
    assert isinstance(err, KeyError)
    message = str(err)
    assert message == f"no concept {term!r} in the graph; closest labels: {list(err.suggestions)}"
    assert not message.startswith(('"', "'"))
    assert "influenza" in err.suggestions
    assert err.term == term


def test_a_term_close_to_nothing_says_so(kg):
    with pytest.raises(KeyError, match="no label is close") as info:
        kg.resolve("zzzzqqqq")
    assert info.value.suggestions == ()
    assert "zzzzqqqq" not in kg


@pytest.mark.parametrize("term", [3, None, ("fever",)])
def test_a_term_that_is_not_a_string(kg, term):
    with pytest.raises(kgmed.ConceptNotFound, match="string"):
        kg.resolve(term)
    assert term not in kg


@pytest.fixture(scope="module")
def shared_label_kg() -> kgmed.KnowledgeGraph:
    """'anemia' is both a disease and a symptom; 'influenza' names two diseases,
    as in a graph whose concepts came from two sources."""
    graph = nx.MultiDiGraph()
    for node, label, kind, system, code in [
        ("ICD10CM:D64.9", "anemia", "disease", "ICD10CM", "D64.9"),
        ("local:anemia", "Anemia", "symptom", None, None),
        ("ICD10CM:J11.1", "influenza", "disease", "ICD10CM", "J11.1"),
        ("local:influenza", "Influenza", "disease", None, None),
    ]:
        graph.add_node(node, kind=kind, label=label, system=system, code=code, n_patients=20)
    return kgmed.KnowledgeGraph(graph)


def test_kind_settles_a_label_shared_by_two_kinds(shared_label_kg):
    assert shared_label_kg.resolve("anemia", kind="disease") == "ICD10CM:D64.9"
    assert shared_label_kg.resolve("Anemia", kind="symptom") == "local:anemia"
    with pytest.raises(kgmed.ConceptNotFound, match="names 2 concepts") as info:
        shared_label_kg.resolve("anemia")
    assert info.value.suggestions == ("ICD10CM:D64.9", "local:anemia")
    assert "anemia" not in shared_label_kg


def test_a_label_of_two_concepts_of_one_kind_needs_an_id(shared_label_kg):
    with pytest.raises(kgmed.ConceptNotFound, match="pass a concept id"):
        shared_label_kg.resolve("influenza", kind="disease")
    assert shared_label_kg.resolve("ICD10CM:J11.1") == "ICD10CM:J11.1"
    assert shared_label_kg.resolve("local:influenza") == "local:influenza"


@pytest.mark.parametrize(
    "text",
    [
        "Dry_Cough",
        "  dry\u00a0cough ",
        "DRY\tCOUGH",
        "ＤＲＹ cough",
        "dry\x00cough",
        "_dry_ _cough_",
        "",
    ],
)
def test_one_term_folds_as_labels_fold(text):
    # Terms are looked up one by one, labels are indexed in bulk; both must
    # fold the same way as the records reader cleans labels.
    expected = clean_text(pd.Series([text], dtype="object")).fillna("").iloc[0].casefold()
    assert _fold(text) == expected == fold(pd.Series([text], dtype="object")).iloc[0]


def test_len_in_and_repr(kg, synthetic_records):
    assert len(kg) == kg.graph.number_of_nodes() == synthetic_records.data["concept_id"].nunique()
    assert "influenza" in kg
    assert "ICD10CM:J11.1" in kg
    assert "conjunctivitis" not in kg
    kinds = kg.nodes()["kind"].value_counts()
    assert repr(kg) == (
        f"<KnowledgeGraph: {len(kg)} concepts ({kinds['disease']} disease, "
        f"{kinds['symptom']} symptom, {kinds['treatment']} treatment), "
        f"{kg.graph.number_of_edges():,} edges from 3,000 patients, min_patients=11>"
    )


def test_repr_of_an_empty_graph():
    kg = kgmed.KnowledgeGraph()
    assert len(kg) == 0
    assert repr(kg) == "<KnowledgeGraph: 0 concepts, 0 edges>"
    assert kg.nodes().columns.tolist() == list(NODE_COLUMNS)
    assert kg.edges().columns.tolist() == list(EDGE_COLUMNS)
    assert len(kg.edges()) == 0


def test_nodes_by_kind(kg):
    nodes = kg.nodes()
    for kind, n in [("disease", 15), ("symptom", 26), ("treatment", 21)]:
        table = kg.nodes(kind)
        assert len(table) == n
        assert set(table["kind"]) == {kind}
        assert table.index.tolist() == list(range(n))
    assert len(nodes) == 62
    assert nodes["n_patients"].dtype == "Int64"


def test_nodes_of_an_unknown_kind(kg):
    with pytest.raises(kgmed.ParameterError, match="'diseases'"):
        kg.nodes("diseases")


def test_edges_by_relation(kg):
    edges = kg.edges()
    assert tuple(edges.columns) == EDGE_COLUMNS
    total = 0
    for relation in ("has_symptom", "treated_with", "comorbid_with", "co_occurs_with"):
        table = kg.edges(relation)
        assert len(table) > 0
        assert set(table["relation"]) == {relation}
        total += len(table)
    assert total < len(edges)
    labels = dict(kg.graph.nodes(data="label"))
    assert edges["source_label"].tolist() == [labels[s] for s in edges["source"]]
    assert edges["target_label"].tolist() == [labels[t] for t in edges["target"]]
    with pytest.raises(kgmed.ParameterError, match="'treats'"):
        kg.edges("treats")


def test_summary_counts_nodes_and_edges(kg):
    summary = kg.summary()
    nodes = summary[summary["part"] == "node"].set_index("type")["count"]
    edges = summary[summary["part"] == "edge"].set_index("type")["count"]
    assert nodes.to_dict() == {"disease": 15, "symptom": 26, "treatment": 21}
    assert edges.sum() == kg.graph.number_of_edges()
    assert edges["has_symptom"] == len(kg.edges("has_symptom"))


def test_the_graph_is_a_networkx_multidigraph_keyed_by_relation(kg):
    assert isinstance(kg.graph, nx.MultiDiGraph)
    for u, v, key, attrs in kg.graph.edges(keys=True, data=True):
        assert key in kgmed.schema.RELATIONS
        assert "relation" not in attrs
        assert set(attrs) == set(EDGE_COLUMNS[5:])
        assert u != v
