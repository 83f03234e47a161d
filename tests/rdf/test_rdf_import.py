"""RDF import: kgmed's exports come back the same; curated RDF is read as statements."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import rdflib

import kgmed
from kgmed.rdf import from_rdf, read_knowledge, to_rdf

CURATED = """
@prefix biolink: <https://w3id.org/biolink/vocab/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix obo: <http://purl.obolibrary.org/obo/> .

obo:DOID_8469 a biolink:Disease ; rdfs:label "influenza" ;
    biolink:has_phenotype obo:HP_0001945, obo:HP_0000509 .
obo:HP_0001945 a biolink:PhenotypicFeature ; skos:prefLabel "fever" ; rdfs:label "pyrexia" .
obo:HP_0000509 a biolink:PhenotypicFeature ; rdfs:label "conjunctivitis" .
<http://identifiers.org/drugbank/DB00198> a biolink:Drug ; rdfs:label "oseltamivir" ;
    biolink:treats obo:DOID_8469 .
obo:HP_0001945 biolink:phenotype_of obo:DOID_8469 .
obo:DOID_8469 biolink:has_phenotype [ rdfs:label "a blank symptom" ] .
"""


def _value_equal(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def assert_same_content(kg: kgmed.KnowledgeGraph, back: kgmed.KnowledgeGraph) -> None:
    """The same concepts, relations, evidence and parameters (row order aside)."""
    nodes = ["id"]
    pd.testing.assert_frame_equal(
        back.nodes().sort_values(nodes).reset_index(drop=True),
        kg.nodes().sort_values(nodes).reset_index(drop=True),
    )
    edges = ["relation", "source", "target"]
    pd.testing.assert_frame_equal(
        back.edges().sort_values(edges).reset_index(drop=True),
        kg.edges().sort_values(edges).reset_index(drop=True),
    )
    assert back.params == kg.params
    assert set(back.graph.nodes) == set(kg.graph.nodes)
    for node, attrs in kg.graph.nodes(data=True):
        other = back.graph.nodes[node]
        assert set(attrs) == set(other), node
        assert all(_value_equal(attrs[k], other[k]) for k in attrs), node
    assert set(back.graph.edges(keys=True)) == set(kg.graph.edges(keys=True))
    for u, v, key, attrs in kg.graph.edges(keys=True, data=True):
        other = back.graph.edges[u, v, key]
        assert set(attrs) == set(other), (u, v, key)
        assert all(_value_equal(attrs[k], other[k]) for k in attrs), (u, v, key, attrs, other)


@pytest.fixture(scope="module")
def rich_kg(synthetic_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    kg = kgmed.build(
        synthetic_records, relations="annotated", max_len=3, min_support=0.05, rule_nodes=True
    )
    facts = pd.DataFrame(
        {
            "subject": ["influenza", "influenza", "DOID:8469", "oseltamivir"],
            "subject_label": [None, None, "influenza", None],
            "relation": ["has_symptom", "has_symptom", "has_symptom", "treats"],
            "object": ['cough "dry" <ünïcode>', "x" * 300, "HP:0001945", "influenza"],
            "object_label": [None, None, "fever", None],
            "source": ["textbook", "textbook", "textbook", "hetionet"],
        }
    )
    kg.add_knowledge(facts)
    return kg


def test_a_mined_graph_comes_back(kg: kgmed.KnowledgeGraph) -> None:
    assert_same_content(kg, from_rdf(to_rdf(kg)))


def test_a_direct_graph_comes_back(synthetic_records: kgmed.Records) -> None:
    kg = kgmed.build(synthetic_records)
    back = from_rdf(to_rdf(kg))
    assert_same_content(kg, back)
    # and answers questions the same way
    pd.testing.assert_frame_equal(back.symptoms_of("influenza"), kg.symptoms_of("influenza"))
    pd.testing.assert_frame_equal(
        back.link(["fever", "cough"]).diagnoses, kg.link(["fever", "cough"]).diagnoses
    )


def test_rule_nodes_curated_edges_and_hostile_labels_come_back(rich_kg) -> None:
    assert_same_content(rich_kg, from_rdf(to_rdf(rich_kg)))


@pytest.mark.parametrize("name", ["kg.ttl", "kg.nt", "kg.jsonld", "kg.rdf", "kg.ttl.gz"])
def test_every_file_format_comes_back(rich_kg, tmp_path: Path, name: str) -> None:
    path = rich_kg.save(tmp_path / name)
    assert_same_content(rich_kg, kgmed.load(path))
    assert_same_content(rich_kg, from_rdf(path))


def test_another_base_comes_back(rich_kg) -> None:
    back = from_rdf(to_rdf(rich_kg, base="https://example.org/kg/"))
    assert_same_content(rich_kg, back)


def test_without_evidence_the_relations_come_back(kg: kgmed.KnowledgeGraph) -> None:
    back = from_rdf(to_rdf(kg, evidence=False))
    assert set(back.graph.edges(keys=True)) == set(kg.graph.edges(keys=True))
    assert back.edges()["n_patients"].isna().all()
    assert (
        back.nodes()
        .set_index("id")["n_patients"]
        .equals(kg.nodes().set_index("id")["n_patients"].loc[back.nodes()["id"]])
    )


def test_the_rules_table_stays_behind(kg: kgmed.KnowledgeGraph) -> None:
    from kgmed.mining import RULE_COLUMNS

    back = from_rdf(to_rdf(kg))
    assert back.rules.empty
    assert list(back.rules.columns) == list(RULE_COLUMNS)
    assert list(kg.rules.columns)[: len(RULE_COLUMNS)] == list(RULE_COLUMNS)


# -- curated RDF ------------------------------------------------------------------------


@pytest.fixture
def curated_file(tmp_path: Path) -> Path:
    path = tmp_path / "flu_facts.ttl"
    path.write_text(CURATED, encoding="utf-8")
    return path


def test_curated_rdf_reads_as_statements(curated_file: Path) -> None:
    table = read_knowledge(curated_file)
    assert list(table.columns) == list(kgmed.knowledge.KNOWLEDGE_COLUMNS)
    rows = set(
        table[["subject", "relation", "object", "source"]].itertuples(index=False, name=None)
    )
    assert rows == {
        ("DOID:8469", "has_symptom", "HP:0001945", "flu_facts"),
        ("DOID:8469", "has_symptom", "HP:0000509", "flu_facts"),
        ("HP:0001945", "symptom_of", "DOID:8469", "flu_facts"),
        ("DRUGBANK:DB00198", "treats", "DOID:8469", "flu_facts"),
    }
    labels = dict(zip(table["object"], table["object_label"], strict=False))
    assert labels["HP:0001945"] == "fever"  # skos:prefLabel before rdfs:label
    assert table.attrs["skipped"] == 1  # the blank node


def test_curated_rdf_merges_into_a_mined_graph(curated_file: Path, synthetic_records) -> None:
    kg = kgmed.build(synthetic_records)
    counts = kg.add_knowledge(read_knowledge(curated_file))
    assert counts["statements"] == 4
    symptoms = kg.symptoms_of("influenza").set_index("label")
    assert symptoms.loc["fever", "source"] == "mined; curated:flu_facts"
    assert "conjunctivitis" in symptoms.index
    assert "oseltamivir" in set(kg.treatments_for("influenza")["label"])


def test_from_rdf_of_curated_rdf_builds_a_graph(curated_file: Path) -> None:
    kg = from_rdf(curated_file)
    assert set(kg.nodes()["kind"]) == {"disease", "symptom", "treatment"}
    assert set(kg.edges()["provenance"]) == {"curated:flu_facts"}
    assert len(kg.edges()) == 3  # has_symptom x2 (one stated both ways), treated_with
    named = from_rdf(rdflib.Graph().parse(data=CURATED, format="turtle"), source_name="book")
    assert set(named.edges()["provenance"]) == {"curated:book"}


# -- bad input ---------------------------------------------------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(kgmed.GraphFileError, match="no such file"):
        from_rdf(tmp_path / "nothing.ttl")


def test_a_file_that_is_not_rdf(tmp_path: Path) -> None:
    path = tmp_path / "bad.ttl"
    path.write_text("this is not turtle <<<", encoding="utf-8")
    with pytest.raises(kgmed.GraphFileError, match=r"bad\.ttl: not valid turtle"):
        from_rdf(path)


def test_a_file_of_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "facts.weird"
    path.write_text(CURATED, encoding="utf-8")
    with pytest.raises(kgmed.GraphFileError, match="format"):
        from_rdf(path)
    assert len(from_rdf(path, format="turtle").edges()) == 3


def test_not_a_graph_nor_a_path() -> None:
    with pytest.raises(kgmed.ParameterError, match=r"rdflib\.Graph or a path"):
        from_rdf(42)  # type: ignore[arg-type]


def test_a_damaged_export(kg: kgmed.KnowledgeGraph) -> None:
    g = to_rdf(kg)
    association = next(iter(sorted(g.subjects(rdflib.RDF.type, kgmed.rdf.KGMED.Association))))
    g.remove((association, kgmed.rdf.KGMED.object, None))
    with pytest.raises(kgmed.GraphFileError, match="lacks its subject, predicate or object"):
        from_rdf(g)


def test_two_graphs_in_one_file(kg: kgmed.KnowledgeGraph) -> None:
    both = to_rdf(kg) + to_rdf(kg, base="https://example.org/other/")
    with pytest.raises(kgmed.GraphFileError, match="2 kgmed graphs"):
        from_rdf(both)
