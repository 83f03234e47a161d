"""The KGX TSV export: the format's columns and values, counts, privacy, bytes, escaping."""

from __future__ import annotations

import csv
import math
import re
import uuid
from pathlib import Path
from urllib.parse import unquote

import networkx as nx
import pandas as pd
import pytest

import kgmed
from kgmed.errors import KgmedError, ParameterError
from kgmed.rdf import KGX_EDGE_COLUMNS, KGX_NODE_COLUMNS, association_id, to_kgx

# From the KGX format specification (biolink/kgx, docs/kgx_format.md).
REQUIRED_NODE_COLUMNS = {"id", "category"}
REQUIRED_EDGE_COLUMNS = {"subject", "predicate", "object", "knowledge_level", "agent_type"}
RECOMMENDED_EDGE_COLUMNS = {"id", "primary_knowledge_source"}
KNOWLEDGE_LEVELS = {
    "knowledge_assertion",
    "logical_entailment",
    "prediction",
    "statistical_association",
    "observation",
    "not_provided",
}
AGENT_TYPES = {
    "manual_agent",
    "automated_agent",
    "data_analysis_pipeline",
    "computational_model",
    "text_mining_agent",
    "image_processing_agent",
    "manual_validation_of_automated_agent",
    "not_provided",
}
# The Biolink classes and predicates kgmed maps its kinds and relations to.
CATEGORIES = {
    "biolink:Disease",
    "biolink:PhenotypicFeature",
    "biolink:Drug",
    "biolink:Procedure",
    "biolink:ClinicalMeasurement",
}
PREDICATES = {
    "biolink:has_phenotype",
    "biolink:treated_by",
    "biolink:correlated_with",
    "biolink:associated_with",
}
CURIE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*:[^\s|]+$")
COUNT_COLUMNS = ("n_patients", "n_both", "n_source", "n_target", "n_total", "n_recorded")
MULTIVALUED = ("category", "xref", "provided_by", "aggregator_knowledge_source")
HOSTILE = 'cough "dry"|\tnight ünïcode'


def _small() -> kgmed.KnowledgeGraph:
    return kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))


def _read(path: Path) -> pd.DataFrame:
    """A KGX file read with pandas and with the csv module, which must agree."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == list(frame.columns)
    assert rows[1:] == frame.to_numpy().tolist()
    # Also as KGX reads it: no quoting, "\n" ends a line.
    raw = pd.read_csv(
        path,
        sep="\t",
        dtype=str,
        keep_default_na=False,
        quoting=csv.QUOTE_NONE,
        lineterminator="\n",
    )
    pd.testing.assert_frame_equal(raw, frame)
    return frame


def _export(kg: kgmed.KnowledgeGraph, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    nodes_path, edges_path = to_kgx(kg, folder)
    return _read(nodes_path), _read(edges_path)


def _non_rule_edges(kg: kgmed.KnowledgeGraph) -> pd.DataFrame:
    edges = kg.edges()
    return edges[~edges["relation"].isin(["antecedent_of", "implies"])].reset_index(drop=True)


def _cell_tokens(frame: pd.DataFrame) -> set[str]:
    """Every cell, every |-item of a cell, and every alphanumeric token of them."""
    tokens: set[str] = set()
    for cell in frame.to_numpy().ravel():
        for item in [cell, *cell.split("|")]:
            text = unquote(item)
            tokens.add(text)
            tokens.update(re.split(r"[^0-9A-Za-z]+", text))
    return tokens


# -- the format --------------------------------------------------------------


def test_files_are_named_as_kgx_expects(kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    nodes_path, edges_path = to_kgx(kg, tmp_path / "out" / "deeper")
    assert (nodes_path.name, edges_path.name) == ("kgmed_nodes.tsv", "kgmed_edges.tsv")
    assert nodes_path.parent == edges_path.parent == tmp_path / "out" / "deeper"
    other = to_kgx(kg, tmp_path, prefix="flu.v2")
    assert [p.name for p in other] == ["flu.v2_nodes.tsv", "flu.v2_edges.tsv"]


def test_columns_and_values_follow_the_kgx_spec(kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    nodes, edges = _export(kg, tmp_path)
    assert tuple(nodes.columns) == KGX_NODE_COLUMNS
    assert tuple(edges.columns) == KGX_EDGE_COLUMNS
    assert set(nodes.columns) >= REQUIRED_NODE_COLUMNS
    assert set(edges.columns) >= REQUIRED_EDGE_COLUMNS | RECOMMENDED_EDGE_COLUMNS
    assert len(nodes) > 0
    assert len(edges) > 0

    assert nodes["id"].is_unique
    assert nodes["id"].map(CURIE.match).all()
    assert nodes["category"].str.split("|").map(lambda items: set(items) <= CATEGORIES).all()
    assert (nodes["provided_by"] == "infores:kgmed").all()
    assert (nodes["name"] != "").all()

    assert edges["id"].is_unique
    assert edges["id"].str.startswith("urn:uuid:").all()
    for value in edges["id"]:
        uuid.UUID(value.removeprefix("urn:uuid:"))
    assert set(edges["predicate"]) <= PREDICATES
    assert edges["predicate"].str.match(r"^biolink:[a-z_]+$").all()
    assert (edges["category"] == "biolink:Association").all()
    assert edges["subject"].map(CURIE.match).all()
    assert edges["object"].map(CURIE.match).all()
    ids = set(nodes["id"])
    assert set(edges["subject"]) <= ids
    assert set(edges["object"]) <= ids
    assert set(edges["knowledge_level"]) <= KNOWLEDGE_LEVELS
    assert set(edges["agent_type"]) <= AGENT_TYPES
    assert edges["primary_knowledge_source"].str.match(r"^infores:[a-z0-9-]+$").all()
    # Every edge of this graph was mined from the patients.
    assert set(edges["knowledge_level"]) == {"statistical_association"}
    assert set(edges["agent_type"]) == {"data_analysis_pipeline"}
    assert set(edges["primary_knowledge_source"]) == {"infores:kgmed"}


def test_concepts_keep_their_ids_and_biolink_categories(
    kg: kgmed.KnowledgeGraph, tmp_path: Path
) -> None:
    nodes, _ = _export(kg, tmp_path)
    table = nodes.set_index("id")
    flu = kg.resolve("influenza")
    assert flu.startswith("ICD10CM:")
    assert table.loc[flu, "category"] == "biolink:Disease"
    assert table.loc[flu, "name"] == "influenza"
    assert table.loc[flu, "kgmed_kind"] == "disease"
    fever = table.loc["HP:0001945"]
    assert (fever["category"], fever["system"], fever["code"]) == (
        "biolink:PhenotypicFeature",
        "HP",
        "0001945",
    )
    assert int(fever["n_patients"]) == kg.graph.nodes["HP:0001945"]["n_patients"]
    expected = {"disease": "biolink:Disease", "symptom": "biolink:PhenotypicFeature"}
    expected["treatment"] = "biolink:Drug"
    for kind, category in expected.items():
        assert set(nodes.loc[nodes["kgmed_kind"] == kind, "category"]) == {category}


# -- counts and values ---------------------------------------------------------


def test_rows_match_the_graph(kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    nodes, edges = _export(kg, tmp_path)
    assert len(nodes) == len(kg.nodes())
    graph_edges = _non_rule_edges(kg)
    assert len(edges) == len(graph_edges)
    assert set(nodes["id"]) == set(kg.nodes()["id"])

    by_id = edges.set_index("id")
    for relation in ("has_symptom", "treated_with", "co_occurs_with", "associated_with"):
        some = graph_edges[graph_edges["relation"] == relation].head(3)
        assert len(some) > 0
        for row in some.itertuples(index=False):
            written = by_id.loc["urn:uuid:" + association_id(row.source, relation, row.target)]
            assert written["subject"] == row.source
            assert written["object"] == row.target
            assert written["kgmed_relation"] == relation
            assert int(written["n_patients"]) == row.n_patients
            assert int(written["n_both"]) == row.n_both
            # Floats are written with repr: they read back exactly.
            assert float(written["lift"]) == row.lift
            assert float(written["q_value"]) == row.q_value
            assert float(written["p_target_given_source"]) == row.p_target_given_source
            assert written["provenance"] == row.provenance
            assert written["direct"] == ""  # missing in an association graph


def test_every_float_reads_back_exactly(kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    _, edges = _export(kg, tmp_path)
    by_id = edges.set_index("id")
    graph_edges = kg.edges()
    keys = "urn:uuid:" + pd.Series(
        [
            association_id(s, r, t)
            for s, r, t in zip(
                graph_edges["source"], graph_edges["relation"], graph_edges["target"], strict=True
            )
        ]
    )
    written = by_id.loc[keys]
    for column in ("lift", "leverage", "support", "p_value", "p_source_given_target"):
        values = graph_edges[column].to_numpy()
        read = written[column].map(lambda c: math.nan if c == "" else float(c)).to_numpy()
        same = (read == values) | (pd.isna(read) & pd.isna(values))
        assert same.all(), column


def test_rule_nodes_and_their_edges_are_left_out(tmp_path: Path) -> None:
    kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0), rule_nodes=True, max_len=3)
    assert len(kg.nodes("rule")) > 0
    nodes, edges = _export(kg, tmp_path)
    assert len(nodes) == len(kg.nodes()) - len(kg.nodes("rule"))
    assert len(edges) == len(_non_rule_edges(kg))
    assert not nodes["id"].str.startswith("rule:").any()
    assert "rule" not in set(nodes["kgmed_kind"])
    assert not set(edges["kgmed_relation"]) & {"antecedent_of", "implies"}
    assert set(edges["subject"]) | set(edges["object"]) <= set(nodes["id"])


def test_curated_and_recorded_edges_say_where_they_come_from(tmp_path: Path) -> None:
    kg = _small()
    facts = pd.DataFrame(
        {
            "subject": ["influenza", "influenza"],
            "relation": ["has_symptom", "has_symptom"],
            "object": ["fever", "conjunctivitis"],
        }
    )
    kg.add_knowledge(facts, source="Hetionet v1.0")
    conjunctivitis = kg.resolve("conjunctivitis")
    flu, fever = kg.resolve("influenza"), kg.resolve("fever")
    # A recorded reason with no mined edge behind it.
    common_cold, acetaminophen = kg.resolve("common cold"), kg.resolve("acetaminophen")
    if kg.graph.has_edge(common_cold, acetaminophen, key="treated_with"):
        kg.graph.remove_edge(common_cold, acetaminophen, key="treated_with")
    kg.graph.add_edge(
        common_cold, acetaminophen, key="treated_with", provenance="recorded", n_recorded=40
    )
    nodes, edges = _export(kg, tmp_path)
    table = edges.set_index(["subject", "kgmed_relation", "object"])

    curated = table.loc[(flu, "has_symptom", conjunctivitis)]
    assert curated["knowledge_level"] == "knowledge_assertion"
    assert curated["agent_type"] == "not_provided"
    assert curated["primary_knowledge_source"] == "infores:hetionet-v1-0"
    assert curated["aggregator_knowledge_source"] == "infores:kgmed"
    assert curated["provenance"] == "curated:Hetionet v1.0"
    assert all(curated[c] == "" for c in (*COUNT_COLUMNS, "lift", "q_value", "direct"))
    assert nodes.set_index("id").loc[conjunctivitis, "n_patients"] == ""

    merged = table.loc[(flu, "has_symptom", fever)]
    assert merged["knowledge_level"] == "statistical_association"
    assert merged["agent_type"] == "data_analysis_pipeline"
    assert merged["primary_knowledge_source"] == "infores:kgmed"
    assert merged["provenance"] == "mined; curated:Hetionet v1.0"

    recorded = table.loc[(common_cold, "treated_with", acetaminophen)]
    assert recorded["knowledge_level"] == "observation"
    assert recorded["agent_type"] == "data_analysis_pipeline"
    assert recorded["n_recorded"] == "40"
    assert recorded["predicate"] == "biolink:treated_by"


def test_xrefs_are_multivalued(tmp_path: Path) -> None:
    kg = _small()
    kg.add_knowledge(
        pd.DataFrame(
            {
                "subject": ["DOID:8469", "MONDO:0005812"],
                "subject_label": ["influenza", "influenza"],
                "relation": ["has_symptom", "has_symptom"],
                "object": ["fever", "fever"],
            }
        ),
        source="disease ontology",
    )
    nodes, _ = _export(kg, tmp_path)
    flu = nodes.set_index("id").loc[kg.resolve("influenza")]
    assert flu["xref"].split("|") == ["DOID:8469", "MONDO:0005812"]
    assert all(CURIE.match(x) for x in flu["xref"].split("|"))


# -- privacy -------------------------------------------------------------------


def test_no_patient_identifier_is_written(
    synthetic_records: kgmed.Records, kg: kgmed.KnowledgeGraph, tmp_path: Path
) -> None:
    patients = {str(p) for p in synthetic_records.data["patient_id"].unique()}
    assert "P0001" in patients
    nodes, edges = _export(kg, tmp_path)
    tokens = _cell_tokens(nodes) | _cell_tokens(edges)
    # "P0001" is a substring of "HP:0001945"; whole cells and tokens are what count.
    assert "HP:0001945" in tokens
    assert not patients & tokens
    # The check would see a leaked id.
    leaky = kg.graph.copy()
    leaky.nodes["HP:0001945"]["label"] = "fever (patient P0042)"
    leaked, _ = _export(kgmed.KnowledgeGraph(leaky, params=kg.params), tmp_path / "leak")
    assert patients & _cell_tokens(leaked) == {"P0042"}


def _counts(nodes: pd.DataFrame, edges: pd.DataFrame) -> list[int]:
    cells = [*nodes["n_patients"], *edges[list(COUNT_COLUMNS)].to_numpy().ravel()]
    return [int(c) for c in cells if c != ""]


def test_no_count_under_the_floor_is_written(tmp_path: Path) -> None:
    kg = _small()
    assert kg.params["min_patients"] == 11
    nodes, edges = _export(kg, tmp_path / "default")
    counts = _counts(nodes, edges)
    assert counts
    assert not [n for n in counts if 0 < n < 11]

    # Counts a graph holds under its floor (here put there by hand) are blanked.
    edge = next(iter(kg.graph.edges(keys=True)))
    kg.graph.edges[edge]["n_recorded"] = 3
    kg.graph.nodes["HP:0001945"]["n_patients"] = 10
    nodes, edges = _export(kg, tmp_path / "planted")
    assert not [n for n in _counts(nodes, edges) if 0 < n < 11]
    assert nodes.set_index("id").loc["HP:0001945", "n_patients"] == ""

    # A higher floor blanks the counts under it, and only those.
    raised = kgmed.KnowledgeGraph(kg.graph, params={**kg.params, "min_patients": 50})
    nodes, edges = _export(raised, tmp_path / "raised")
    counts = _counts(nodes, edges)
    assert counts
    assert min(n for n in counts if n > 0) >= 50
    graph_counts = _non_rule_edges(kg)["n_patients"]
    written = edges["n_patients"]
    assert (written != "").sum() == (graph_counts >= 50).sum()


def test_the_floor_defaults_to_eleven(tmp_path: Path) -> None:
    kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0), min_patients=1)
    small = _non_rule_edges(kg)["n_patients"]
    assert ((small > 0) & (small < 11)).any()
    bare = kgmed.KnowledgeGraph(kg.graph, params={})
    nodes, edges = _export(bare, tmp_path)
    assert not [n for n in _counts(nodes, edges) if 0 < n < 11]


# -- bytes -------------------------------------------------------------------------


def test_same_graph_same_bytes(kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    first = [p.read_bytes() for p in to_kgx(kg, tmp_path / "a")]
    second = [p.read_bytes() for p in to_kgx(kg, tmp_path / "b")]
    assert first == second
    # Another insertion order of the same nodes and edges gives the same files.
    shuffled: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    shuffled.add_nodes_from(reversed(list(kg.graph.nodes(data=True))))
    for u, v, key, attrs in reversed(list(kg.graph.edges(keys=True, data=True))):
        shuffled.add_edge(u, v, key=key, **attrs)
    third = [
        p.read_bytes()
        for p in to_kgx(kgmed.KnowledgeGraph(shuffled, params=kg.params), tmp_path / "c")
    ]
    assert first == third
    text = first[1].decode("utf-8")
    assert text.endswith("\n")
    assert "\r" not in text


def test_rows_are_sorted(kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    nodes, edges = _export(kg, tmp_path)
    assert nodes["id"].tolist() == sorted(nodes["id"])
    keys = list(zip(edges["subject"], edges["predicate"], edges["object"], strict=True))
    assert keys == sorted(keys)


# -- hostile text ----------------------------------------------------------------


def test_hostile_labels_round_trip(tmp_path: Path) -> None:
    kg = _small()
    kg.add_knowledge(
        pd.DataFrame(
            {
                "subject": ["influenza"],
                "relation": ["has_symptom"],
                "object": [HOSTILE],
                "source": ["textbook"],
            }
        )
    )
    added = kg.resolve(HOSTILE)
    # kgmed's readers fold the tab into a space; a label set directly keeps it.
    kg.graph.nodes[added]["label"] = HOSTILE
    odd = '"50% dextrose"\r\nline 2 %7C ünï|code'
    kg.graph.nodes["HP:0001945"]["label"] = odd
    kg.graph.nodes["HP:0001945"]["xrefs"] = ["X:a|b", "Y:c d", "Z:%41"]
    nodes_path, edges_path = to_kgx(kg, tmp_path)
    nodes, edges = _read(nodes_path), _read(edges_path)
    assert len(nodes) == len(kg)
    assert len(edges) == kg.graph.number_of_edges()
    for path, columns in ((nodes_path, KGX_NODE_COLUMNS), (edges_path, KGX_EDGE_COLUMNS)):
        text = path.read_text(encoding="utf-8")
        assert '"' not in text
        lines = text.split("\n")[:-1]
        assert all(line.count("\t") == len(columns) - 1 for line in lines)

    table = nodes.set_index("id")
    hostile_id = nodes.loc[nodes["name"].map(unquote) == HOSTILE, "id"].item()
    assert unquote(hostile_id) == added
    assert table.loc[hostile_id, "name"] == "cough %22dry%22%7C%09night ünïcode"
    assert CURIE.match(hostile_id)
    fever = table.loc["HP:0001945"]
    assert unquote(fever["name"]) == odd
    items = fever["xref"].split("|")
    assert [unquote(x) for x in items] == ["X:a|b", "Y:c d", "Z:%41"]
    assert items == ["X:a%7Cb", "Y:c%20d", "Z:%2541"]
    # The edge to the new concept names it by the same written id.
    edge = edges[edges["object"] == hostile_id]
    assert len(edge) == 1
    assert edge["primary_knowledge_source"].item() == "infores:textbook"
    # Plain text is written as it is.
    assert table.loc[kg.resolve("influenza"), "name"] == "influenza"


def test_ids_without_a_prefix_become_local_curies(tmp_path: Path) -> None:
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    graph.add_node("flu", kind="disease", label="flu", n_patients=40)
    graph.add_node("HP:0001945", kind="symptom", label="fever", n_patients=30)
    graph.add_edge("flu", "HP:0001945", key="has_symptom", provenance="mined", n_patients=20)
    nodes, edges = _export(kgmed.KnowledgeGraph(graph, params={"min_patients": 11}), tmp_path)
    assert nodes["id"].tolist() == ["HP:0001945", "local:flu"]
    assert edges[["subject", "object"]].to_numpy().tolist() == [["local:flu", "HP:0001945"]]
    assert edges["id"].item() == "urn:uuid:" + association_id("flu", "has_symptom", "HP:0001945")


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "  ", "a/b", "../up", "a\\b", ".", "..", "a\nb"])
def test_a_prefix_that_is_not_a_file_name_is_refused(
    kg: kgmed.KnowledgeGraph, tmp_path: Path, prefix: str
) -> None:
    with pytest.raises(ParameterError, match="prefix"):
        to_kgx(kg, tmp_path, prefix=prefix)
    assert list(tmp_path.iterdir()) == []


def test_a_prefix_must_be_a_string(kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="prefix must be a string"):
        to_kgx(kg, tmp_path, prefix=3)  # type: ignore[arg-type]


def test_a_folder_that_is_a_file_is_refused(kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    file = tmp_path / "graph.tsv"
    file.write_text("not a folder", encoding="utf-8")
    with pytest.raises(KgmedError, match="is a file"):
        to_kgx(kg, file)
    with pytest.raises(ParameterError, match="a part of its path is a file"):
        to_kgx(kg, file / "below")
    assert file.read_text(encoding="utf-8") == "not a folder"


def test_a_kind_without_a_biolink_category_is_refused(tmp_path: Path) -> None:
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    graph.add_node("local:x", kind="gene", label="x")
    with pytest.raises(kgmed.errors.GraphError, match="no Biolink category"):
        to_kgx(kgmed.KnowledgeGraph(graph), tmp_path)
