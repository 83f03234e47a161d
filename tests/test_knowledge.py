"""add_knowledge: curated statements merged into a mined graph."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

import kgmed
from kgmed.records._normalize import clean_text

COUNTS = ["statements", "merged", "new_edges", "already_present", "new_concepts", "skipped"]


@pytest.fixture
def fresh(kg: kgmed.KnowledgeGraph) -> kgmed.KnowledgeGraph:
    """A copy of the session graph that a test may change."""
    return kgmed.KnowledgeGraph(kg.graph.copy(), kg.rules.copy(), params=kg.params)


def facts(*rows: tuple[str, str, str], **columns: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["subject", "relation", "object"])
    return table.assign(**columns)


def snapshot(kg: kgmed.KnowledgeGraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    return kg.nodes(), kg.edges()


def assert_unchanged(kg: kgmed.KnowledgeGraph, before: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    pd.testing.assert_frame_equal(kg.nodes(), before[0])
    pd.testing.assert_frame_equal(kg.edges(), before[1])


def test_a_statement_on_a_mined_edge_keeps_its_evidence(fresh):
    before = dict(fresh.graph.edges["ICD10CM:J11.1", "HP:0001945", "has_symptom"])
    counts = fresh.add_knowledge(facts(("influenza", "has_symptom", "fever")), source="textbook")
    assert counts.to_dict() == dict(zip(COUNTS, [1, 1, 0, 0, 0, 0], strict=True))
    after = dict(fresh.graph.edges["ICD10CM:J11.1", "HP:0001945", "has_symptom"])
    assert after.pop("provenance") == "mined; curated:textbook"
    assert before.pop("provenance") == "mined"
    assert after == before
    row = fresh.symptoms_of("influenza").set_index("label").loc["fever"]
    assert row["source"] == "mined; curated:textbook"
    assert row["n_patients"] == before["n_patients"]


def test_a_new_statement_is_an_edge_without_statistics(fresh):
    n_edges = fresh.graph.number_of_edges()
    counts = fresh.add_knowledge(
        facts(("influenza", "has_symptom", "Conjunctivitis")), source="textbook"
    )
    assert counts.to_dict() == dict(zip(COUNTS, [1, 0, 1, 0, 1, 0], strict=True))
    assert fresh.graph.number_of_edges() == n_edges + 1
    node = fresh.resolve("conjunctivitis")
    assert node == "local:conjunctivitis"
    assert fresh.graph.nodes[node] == {
        "kind": "symptom",
        "label": "Conjunctivitis",
        "system": None,
        "code": None,
        "n_patients": None,
    }
    edge = fresh.edges("has_symptom").set_index("target").loc[node]
    assert edge["source"] == "ICD10CM:J11.1"
    assert edge["provenance"] == "curated:textbook"
    for column in ["p_target_given_source", "p_source_given_target", "lift", "q_value", "p_value"]:
        assert math.isnan(edge[column])
    for column in ["n_patients", "n_source", "n_target", "n_total"]:
        assert pd.isna(edge[column])
    assert pd.isna(fresh.nodes().set_index("id").loc[node, "n_patients"])


def test_curated_edges_pass_statistical_filters_and_come_last(fresh):
    fresh.add_knowledge(facts(("influenza", "has_symptom", "conjunctivitis")), source="textbook")
    table = fresh.symptoms_of("influenza", min_lift=3, max_q_value=0.001)
    assert table["label"].iloc[-1] == "conjunctivitis"
    assert table["source"].iloc[-1] == "curated:textbook"
    assert (table["lift"].iloc[:-1] >= 3).all()
    assert table["lift"].iloc[:-1].notna().all()


@pytest.mark.parametrize(
    ("statement", "edge"),
    [
        (
            ("oseltamivir", "treats", "influenza"),
            ("ICD10CM:J11.1", "RXNORM:260101", "treated_with"),
        ),
        (
            ("acetaminophen", "palliates", "influenza"),
            ("ICD10CM:J11.1", "RXNORM:161", "treated_with"),
        ),
        (("fever", "symptom_of", "influenza"), ("ICD10CM:J11.1", "HP:0001945", "has_symptom")),
        (("influenza", "presents", "fever"), ("ICD10CM:J11.1", "HP:0001945", "has_symptom")),
        (("influenza", "has_sign", "cough"), ("ICD10CM:J11.1", "HP:0012735", "has_symptom")),
        (("influenza", "Has Symptom", "cough"), ("ICD10CM:J11.1", "HP:0012735", "has_symptom")),
        (
            ("influenza", "treated-with", "oseltamivir"),
            ("ICD10CM:J11.1", "RXNORM:260101", "treated_with"),
        ),
        (
            ("hypertension", "comorbidity", "type 2 diabetes mellitus"),
            ("ICD10CM:E11.9", "ICD10CM:I10", "comorbid_with"),
        ),
        # A symmetric relation is stored from the smaller id, whichever way it is said.
        (
            ("heart failure", "comorbid_with", "hypertension"),
            ("ICD10CM:I10", "ICD10CM:I50.9", "comorbid_with"),
        ),
        (("fever", "co_occurs_with", "cough"), ("HP:0001945", "HP:0012735", "co_occurs_with")),
        (("cough", "co_occurs_with", "fever"), ("HP:0001945", "HP:0012735", "co_occurs_with")),
        (
            ("oseltamivir", "associated_with", "fatigue"),
            ("HP:0012378", "RXNORM:260101", "associated_with"),
        ),
    ],
)
def test_relations_and_their_aliases_merge_into_the_mined_edge(fresh, statement, edge):
    assert fresh.graph.has_edge(*edge)
    n_edges = fresh.graph.number_of_edges()
    counts = fresh.add_knowledge(facts(statement), source="textbook")
    assert counts["merged"] == 1
    assert fresh.graph.number_of_edges() == n_edges
    assert fresh.graph.edges[edge]["provenance"] == "mined; curated:textbook"


def test_an_alias_reverses_a_new_edge_too(fresh):
    fresh.add_knowledge(facts(("zanamivir", "treats", "influenza")), source="textbook")
    assert fresh.graph.has_edge("ICD10CM:J11.1", "local:zanamivir", "treated_with")
    assert fresh.graph.nodes["local:zanamivir"]["kind"] == "treatment"
    assert fresh.treatments_for("influenza")["label"].iloc[-1] == "zanamivir"


def test_on_missing_add_error_skip(fresh):
    statement = facts(("influenza", "has_symptom", "conjunctivitis"))
    before = snapshot(fresh)
    with pytest.raises(kgmed.ConceptNotFound, match="row 0: no concept 'conjunctivitis'"):
        fresh.add_knowledge(statement, source="textbook", on_missing="error")
    assert_unchanged(fresh, before)
    counts = fresh.add_knowledge(statement, source="textbook", on_missing="skip")
    assert counts.to_dict() == dict(zip(COUNTS, [1, 0, 0, 0, 0, 1], strict=True))
    assert_unchanged(fresh, before)
    counts = fresh.add_knowledge(statement, source="textbook", on_missing="add")
    assert counts["new_concepts"] == 1
    assert "conjunctivitis" in fresh
    with pytest.raises(kgmed.ParameterError, match="on_missing"):
        fresh.add_knowledge(statement, source="textbook", on_missing="ignore")


def test_a_new_concept_of_no_kind_cannot_be_added(fresh):
    before = snapshot(fresh)
    statement = facts(("fever", "associated_with", "bright light"))
    with pytest.raises(kgmed.ConceptNotFound, match="associated_with"):
        fresh.add_knowledge(statement, source="textbook")
    assert_unchanged(fresh, before)
    assert fresh.add_knowledge(statement, source="textbook", on_missing="skip")["skipped"] == 1


@pytest.mark.parametrize("relation", ["treats_badly", "is_a", "implies", "antecedent_of"])
def test_unknown_relation(fresh, relation):
    before = snapshot(fresh)
    table = facts(("influenza", "has_symptom", "fever"), ("influenza", relation, "fever"))
    with pytest.raises(kgmed.ParameterError, match=f"row 1: .*{relation!r}"):
        fresh.add_knowledge(table, source="textbook")
    assert_unchanged(fresh, before)


@pytest.mark.parametrize(
    ("table", "options", "missing"),
    [
        (pd.DataFrame({"subject": ["flu"], "object": ["fever"]}), {"source": "x"}, "relation"),
        (
            pd.DataFrame({"subj": ["flu"], "relation": ["has_symptom"], "object": ["fever"]}),
            {"source": "x"},
            "subject",
        ),
        (facts(("influenza", "has_symptom", "fever")), {}, "source"),
        (
            facts(("influenza", "has_symptom", "fever")),
            {"object": "symptom", "source": "x"},
            "symptom",
        ),
    ],
)
def test_missing_columns(fresh, table, options, missing):
    with pytest.raises(kgmed.ColumnNotFound, match=f"knowledge: column {missing!r} not found"):
        fresh.add_knowledge(table, **options)


def test_other_column_names(fresh):
    table = pd.DataFrame(
        {"s": ["influenza"], "p": ["has_symptom"], "o": ["fever"], "source": ["book"]}
    )
    counts = fresh.add_knowledge(table, subject="s", relation="p", object="o")
    assert counts["merged"] == 1
    assert fresh.graph.edges["ICD10CM:J11.1", "HP:0001945", "has_symptom"]["provenance"] == (
        "mined; curated:book"
    )


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (("fever", "has_symptom", "cough"), "'fever' (HP:0001945) is a symptom, not a disease"),
        (
            ("influenza", "treated_with", "fever"),
            "'fever' (HP:0001945) is a symptom, not a treatment",
        ),
        (
            ("influenza", "treats", "oseltamivir"),
            "'oseltamivir' (RXNORM:260101) is a treatment, not a disease",
        ),
    ],
)
def test_kind_mismatch(fresh, statement, message):
    before = snapshot(fresh)
    table = facts(("influenza", "has_symptom", "conjunctivitis"), statement)
    with pytest.raises(kgmed.ConceptKindError) as info:
        fresh.add_knowledge(table, source="textbook")
    assert str(info.value) == f"knowledge, row 1: {message}"
    # All or nothing: the first statement's new concept and edge are gone.
    assert_unchanged(fresh, before)
    assert "conjunctivitis" not in fresh


def test_a_failed_merge_restores_provenance(fresh):
    before = snapshot(fresh)
    table = facts(
        ("influenza", "has_symptom", "fever"),
        ("influenza", "has_symptom", "fever"),
        ("fever", "has_symptom", "cough"),
        source=["a", "b", "a"],
    )
    with pytest.raises(kgmed.ConceptKindError):
        fresh.add_knowledge(table)
    assert_unchanged(fresh, before)


@pytest.mark.parametrize("column", ["subject", "relation", "object", "source"])
@pytest.mark.parametrize("empty", [None, float("nan"), pd.NA, "", "   "])
def test_an_empty_cell_is_an_error(fresh, column, empty):
    table = facts(("influenza", "has_symptom", "fever"), ("influenza", "has_symptom", "cough"))
    table["source"] = "book"
    table[column] = table[column].astype(object)
    table.loc[1, column] = empty
    before = snapshot(fresh)
    with pytest.raises(kgmed.MissingValueError, match=f"row 1: the {column} is empty"):
        fresh.add_knowledge(table)
    assert_unchanged(fresh, before)
    assert "nan" not in fresh


def test_knowledge_must_be_a_dataframe(fresh):
    with pytest.raises(kgmed.ParameterError, match="DataFrame"):
        fresh.add_knowledge([("influenza", "has_symptom", "fever")], source="x")


def test_the_same_statement_twice_counts_once(fresh):
    table = facts(
        ("influenza", "has_symptom", "fever"),
        ("Influenza", "has_symptom", "FEVER"),
        ("influenza", "has_symptom", "conjunctivitis"),
        ("influenza", "has_symptom", "conjunctivitis"),
    )
    counts = fresh.add_knowledge(table, source="textbook")
    assert counts.to_dict() == dict(zip(COUNTS, [4, 1, 1, 2, 1, 0], strict=True))
    again = fresh.add_knowledge(table, source="textbook")
    assert again.to_dict() == dict(zip(COUNTS, [4, 0, 0, 4, 0, 0], strict=True))
    edge = fresh.graph.edges["ICD10CM:J11.1", "HP:0001945", "has_symptom"]
    assert edge["provenance"] == "mined; curated:textbook"


def test_several_sources_on_one_edge(fresh):
    table = facts(
        ("influenza", "has_symptom", "fever"),
        ("influenza", "has_symptom", "fever"),
        ("influenza", "has_symptom", "conjunctivitis"),
        ("influenza", "has_symptom", "conjunctivitis"),
        source=["zeta", "alpha", "zeta", "alpha"],
    )
    counts = fresh.add_knowledge(table)
    # The second source on a curated-only edge is already_present, not merged.
    assert counts.to_dict() == dict(zip(COUNTS, [4, 2, 1, 1, 1, 0], strict=True))
    assert fresh.graph.edges["ICD10CM:J11.1", "HP:0001945", "has_symptom"]["provenance"] == (
        "mined; curated:alpha; curated:zeta"
    )
    assert (
        fresh.graph.edges["ICD10CM:J11.1", "local:conjunctivitis", "has_symptom"]["provenance"]
        == "curated:alpha; curated:zeta"
    )


def test_a_curie_term_becomes_the_concept_id(fresh):
    fresh.add_knowledge(facts(("DOID:8469", "has_symptom", "fever")), source="do")
    assert fresh.graph.nodes["DOID:8469"]["kind"] == "disease"
    assert fresh.resolve("doid:8469") == "DOID:8469"
    assert fresh.diseases_with("fever")["id"].iloc[-1] == "DOID:8469"


HETIONET = Path("hetionet_v1.0_subset")


def _fold(values: pd.Series) -> pd.Series:
    return clean_text(values.astype("string")).str.casefold()


@pytest.fixture
def hetionet_dps(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(
        shared_data / HETIONET / "edges_DpS_Disease_presents_Symptom.tsv", sep="\t"
    ).assign(relation="presents")


@pytest.mark.shared_data
def test_hetionet_names_a_concept_both_disease_and_symptom(fresh, hetionet_dps):
    # DO's 'narcolepsy' and MeSH's 'Narcolepsy' are one label of two kinds.
    before = snapshot(fresh)
    with pytest.raises(
        kgmed.ConceptKindError,
        match=r"'Narcolepsy' \(local:narcolepsy\) is a disease, not a symptom",
    ):
        fresh.add_knowledge(
            hetionet_dps, source="hetionet", subject="source_name", object="target_name"
        )
    assert_unchanged(fresh, before)


@pytest.mark.shared_data
def test_hetionet_symptoms_merge_into_a_mined_graph(fresh, hetionet_dps):
    diseases, symptoms = _fold(hetionet_dps["source_name"]), _fold(hetionet_dps["target_name"])
    both_kinds = set(diseases) & set(symptoms)
    assert both_kinds == {"narcolepsy", "obesity", "restless legs syndrome"}
    table = hetionet_dps[~symptoms.isin(both_kinds)]
    diseases, symptoms = diseases[table.index], symptoms[table.index]

    # What to expect, from the tables alone.
    labels = {label.casefold() for _, label in fresh.graph.nodes(data="label")}
    new_concepts = len(set(diseases) - set(labels)) + len(set(symptoms) - set(labels))
    mined = fresh.edges("has_symptom")
    mined_pairs = set(
        zip(mined["source_label"].str.casefold(), mined["target_label"].str.casefold(), strict=True)
    )
    pairs = set(zip(diseases, symptoms, strict=True))
    merged = len(pairs & mined_pairs)
    assert merged >= 10

    counts = fresh.add_knowledge(
        table, source="hetionet", subject="source_name", object="target_name"
    )
    assert counts["statements"] == len(table)
    assert counts["statements"] == (
        counts["merged"] + counts["new_edges"] + counts["already_present"] + counts["skipped"]
    )
    assert counts["merged"] == merged
    assert counts["new_edges"] == len(pairs) - merged
    assert counts["already_present"] == len(table) - len(pairs)
    assert counts["new_concepts"] == new_concepts
    assert counts["skipped"] == 0

    migraine = fresh.symptoms_of("migraine", min_lift=None).set_index("label")
    assert migraine.loc["headache", "source"] == "mined; curated:hetionet"
    assert migraine.loc["headache", "n_patients"] > 100
    assert migraine.loc["Hallucinations", "source"] == "curated:hetionet"
    assert pd.isna(migraine.loc["Hallucinations", "n_patients"])
    asthma = fresh.symptoms_of("asthma").set_index("label")
    assert asthma.loc["cough", "source"] == "mined; curated:hetionet"
    # Diseases kgmed never saw come in as concepts without patients.
    alzheimer = fresh.resolve("Alzheimer's disease", kind="disease")
    assert pd.isna(fresh.graph.nodes[alzheimer]["n_patients"])
    assert len(fresh.symptoms_of(alzheimer)) == (diseases == "alzheimer's disease").sum()

    again = fresh.add_knowledge(
        table, source="hetionet", subject="source_name", object="target_name"
    )
    assert again["already_present"] == len(table)


@pytest.mark.shared_data
def test_hetionet_treats_reads_from_the_disease(fresh, shared_data):
    ctd = pd.read_csv(shared_data / HETIONET / "edges_CtD_Compound_treats_Disease.tsv", sep="\t")
    counts = fresh.add_knowledge(
        ctd.assign(relation="treats"),
        source="hetionet",
        subject="source_name",
        object="target_name",
    )
    assert counts["statements"] == len(ctd) == 755
    assert counts["statements"] == (
        counts["merged"] + counts["new_edges"] + counts["already_present"] + counts["skipped"]
    )
    metformin = fresh.treatments_for("type 2 diabetes mellitus").set_index("label")
    assert metformin.loc["metformin", "source"] == "mined; curated:hetionet"
    assert fresh.treatments_for("hypothyroidism")["label"].iloc[0] == "levothyroxine"
    assert "curated:hetionet" in fresh.treatments_for("hypothyroidism")["source"].iloc[0]
    # A compound is a treatment, the edge runs from the disease.
    edges = fresh.edges("treated_with")
    curated = edges[edges["provenance"].str.contains("hetionet")]
    kinds = dict(fresh.graph.nodes(data="kind"))
    assert {kinds[s] for s in curated["source"]} == {"disease"}
    assert {kinds[t] for t in curated["target"]} == {"treatment"}


@pytest.mark.parametrize("on_missing", ["add", "skip", "error"])
def test_an_ambiguous_term_is_an_error_not_a_missing_concept(on_missing):
    # Two concepts carry the label 'influenza', as after merging two sources.
    graph = nx.MultiDiGraph()
    for node, label, kind in [
        ("ICD10CM:J11.1", "influenza", "disease"),
        ("local:influenza", "Influenza", "disease"),
        ("HP:0001945", "fever", "symptom"),
    ]:
        graph.add_node(node, kind=kind, label=label, system=None, code=None, n_patients=20)
    graph.add_edge("local:influenza", "HP:0001945", key="has_symptom", provenance="mined")
    kg = kgmed.KnowledgeGraph(graph)
    before = snapshot(kg)
    with pytest.raises(kgmed.ConceptNotFound, match="'influenza' names 2 concepts"):
        kg.add_knowledge(
            facts(("influenza", "has_symptom", "fever")), source="x", on_missing=on_missing
        )
    assert_unchanged(kg, before)
    counts = kg.add_knowledge(facts(("local:influenza", "has_symptom", "fever")), source="x")
    assert counts["merged"] == 1
    assert graph.edges["local:influenza", "HP:0001945", "has_symptom"]["provenance"] == (
        "mined; curated:x"
    )
