"""Curated knowledge bases read as statement tables and aligned with a graph."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import kgmed
from kgmed.knowledge import KNOWLEDGE_COLUMNS, read_columbia_kb, read_hetionet


@pytest.fixture(scope="module")
def hetionet(shared_data: Path) -> pd.DataFrame:
    return read_hetionet(shared_data / "hetionet_v1.0_subset")


@pytest.fixture(scope="module")
def columbia(shared_data: Path) -> pd.DataFrame:
    return read_columbia_kb(
        shared_data / "columbia_disease_symptom_kb" / "disease_symptom_long.csv"
    )


@pytest.fixture
def graph() -> kgmed.KnowledgeGraph:
    return kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))


@pytest.mark.shared_data
def test_hetionet_edges_keep_their_counts_and_ids(hetionet: pd.DataFrame) -> None:
    # The data README lists DpS 3,357, CtD 755 and CpD 390 edges.
    assert hetionet["relation"].value_counts().to_dict() == {
        "has_symptom": 3357,
        "treats": 755,
        "palliates": 390,
    }
    assert tuple(hetionet.columns) == KNOWLEDGE_COLUMNS
    symptoms = hetionet[hetionet["relation"] == "has_symptom"]
    assert symptoms["subject"].str.match(r"^DOID:\d+$").all()
    assert symptoms["object"].str.match(r"^MESH:D\d+$").all()
    treats = hetionet[hetionet["relation"] == "treats"]
    assert treats["subject"].str.match(r"^DRUGBANK:DB\d+$").all()
    assert (hetionet["source"] == "hetionet").all()


@pytest.mark.shared_data
def test_hetionet_names_are_the_node_table_names(hetionet: pd.DataFrame, shared_data: Path) -> None:
    nodes = pd.read_csv(
        shared_data / "hetionet_v1.0_subset" / "nodes_disease_symptom_compound.tsv", sep="\t"
    )
    name_of = dict(zip(nodes["identifier"], nodes["name"], strict=True))
    sample = hetionet.sample(200, random_state=0)
    for term, label in zip(sample["object"], sample["object_label"], strict=True):
        assert name_of[term.split(":", 1)[1] if not term.startswith("DOID") else term] == label


@pytest.mark.shared_data
def test_columbia_statements(columbia: pd.DataFrame, shared_data: Path) -> None:
    raw = pd.read_csv(
        shared_data / "columbia_disease_symptom_kb" / "disease_symptom_long.csv", dtype=str
    )
    first_cui = raw.apply(lambda col: col.str.extract(r"^(UMLS:C\d+)")[0]).loc[
        :, ["disease", "symptom"]
    ]
    expected = len(first_cui.drop_duplicates())
    assert len(columbia) == expected == 1854
    assert not columbia["subject_label"].str.contains("\u00a0").any()
    assert not columbia["object_label"].str.contains("\u00a0", na=False).any()
    composite = columbia[columbia["subject"] == "UMLS:C0011570"].iloc[0]
    assert composite["subject_label"] == "depression mental"
    assert composite["subject_synonyms"] == "depressive disorder"
    assert columbia["symptom_rank"].min() == 1


@pytest.mark.shared_data
def test_hetionet_aligns_with_mined_concepts_by_label(
    graph: kgmed.KnowledgeGraph, hetionet: pd.DataFrame
) -> None:
    summary = graph.add_knowledge(hetionet)
    assert summary["statements"] == len(hetionet)
    assert summary["statements"] == (
        summary["merged"] + summary["new_edges"] + summary["already_present"] + summary["skipped"]
    )
    # Hetionet's "hypertension" (DOID:10763) is the mined ICD10CM:I10.
    assert graph.graph.nodes["ICD10CM:I10"]["xrefs"] == ["DOID:10763"]
    assert graph.resolve("DOID:10763") == "ICD10CM:I10"
    treatments = graph.treatments_for("hypertension").set_index("label")
    assert treatments.loc["lisinopril", "source"] == "mined; curated:hetionet"
    # Hetionet knows drugs the records never mention: they join as curated only.
    curated_only = treatments[treatments["source"] == "curated:hetionet"]
    assert len(curated_only) > 10
    assert curated_only["n_patients"].isna().all()


@pytest.mark.shared_data
def test_alignment_can_be_turned_off(graph: kgmed.KnowledgeGraph, hetionet: pd.DataFrame) -> None:
    graph.add_knowledge(hetionet, align=False)
    assert "DOID:10763" in graph.graph
    assert "xrefs" not in graph.graph.nodes["ICD10CM:I10"]
    assert graph.graph.nodes["DOID:10763"]["label"] == "hypertension"
    # Two concepts now carry the label: a term by label is ambiguous.
    with pytest.raises(kgmed.ConceptNotFound, match="names 2 concepts"):
        graph.resolve("hypertension")


@pytest.mark.shared_data
def test_merging_the_same_source_twice_changes_nothing(
    graph: kgmed.KnowledgeGraph, columbia: pd.DataFrame
) -> None:
    first = graph.add_knowledge(columbia)
    edges = graph.edges()
    second = graph.add_knowledge(columbia)
    assert first["new_edges"] > 1000
    assert second["new_edges"] == 0
    assert second["new_concepts"] == 0
    assert second["already_present"] + second["merged"] == len(columbia) - second["skipped"]
    pd.testing.assert_frame_equal(graph.edges(), edges)


def test_a_curated_label_names_an_added_concept() -> None:
    kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    facts = pd.DataFrame(
        {
            "subject": ["DOID:8469"],
            "subject_label": ["influenza"],
            "relation": ["has_symptom"],
            "object": ["MESH:D003371"],
            "object_label": ["Cough"],
            "source": ["hetionet"],
        }
    )
    summary = kg.add_knowledge(facts)
    assert summary["merged"] == 1  # both ends aligned by label: the mined edge
    assert kg.graph.nodes["ICD10CM:J11.1"]["xrefs"] == ["DOID:8469"]
    facts.loc[0, ["object", "object_label"]] = ["MESH:D005221", "Fatigue Syndrome"]
    kg.add_knowledge(facts)
    assert kg.graph.nodes["MESH:D005221"]["label"] == "Fatigue Syndrome"


def test_xrefs_survive_save_and_load(tmp_path: Path) -> None:
    kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    facts = pd.DataFrame(
        {
            "subject": ["DOID:8469"],
            "subject_label": ["influenza"],
            "relation": ["has_symptom"],
            "object": ["fever"],
            "source": ["hetionet"],
        }
    )
    kg.add_knowledge(facts)
    back = kgmed.load(kg.save(tmp_path / "kg.json"))
    assert back.graph.nodes["ICD10CM:J11.1"]["xrefs"] == ["DOID:8469"]
    assert back.resolve("doid:8469") == "ICD10CM:J11.1"


def test_unknown_hetionet_metaedge() -> None:
    with pytest.raises(kgmed.ParameterError, match="DrD"):
        read_hetionet(".", metaedges=["DrD"])


def test_missing_knowledge_file(tmp_path: Path) -> None:
    with pytest.raises(kgmed.RecordsFileNotFound, match="edges_DpS"):
        read_hetionet(tmp_path)
    with pytest.raises(kgmed.RecordsFileNotFound):
        read_columbia_kb(tmp_path / "nothing.csv")
