"""Paths between concepts and similar concepts, with their evidence."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import pandas as pd
import pytest

import kgmed
from kgmed.reasoning import PATH_RELATIONS, Path


@pytest.fixture(scope="module")
def graph() -> kgmed.KnowledgeGraph:
    return kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))


def _brute_force(
    kg: kgmed.KnowledgeGraph, start: str, end: str, max_hops: int
) -> list[tuple[float, tuple[str, ...]]]:
    """Every simple path of at most max_hops hops, costed independently."""
    cost: dict[tuple[str, str], float] = {}
    for u, v, relation, attrs in kg.graph.edges(keys=True, data=True):
        if relation not in PATH_RELATIONS:
            continue
        for a, b, p in (
            (u, v, attrs["p_target_given_source"]),
            (v, u, attrs["p_source_given_target"]),
        ):
            cost[(a, b)] = min(cost.get((a, b), math.inf), -math.log(p))
    undirected = nx.Graph(list(cost))
    routes = nx.all_simple_paths(undirected, start, end, cutoff=max_hops)
    costed = [
        (sum(cost[pair] for pair in itertools.pairwise(route)), tuple(route)) for route in routes
    ]
    return sorted(costed)


def test_paths_are_the_cheapest_under_the_conditional_weight(graph: kgmed.KnowledgeGraph) -> None:
    start, end = graph.resolve("fever"), graph.resolve("oseltamivir")
    found = graph.paths("fever", "oseltamivir", max_hops=3, k=5)
    expected = _brute_force(graph, start, end, 3)[:5]
    assert [p.nodes for p in found] == [route for _, route in expected]
    assert [p.cost for p in found] == pytest.approx([c for c, _ in expected])
    assert all(p.probability == pytest.approx(math.exp(-p.cost)) for p in found)


def test_hops_carry_the_counts_of_their_edges(graph: kgmed.KnowledgeGraph) -> None:
    path = graph.paths("fever", "oseltamivir", k=1)[0]
    assert [h.relation for h in path.hops] == ["has_symptom", "treated_with"]
    edges = graph.edges().set_index(["source", "target", "relation"])
    first, second = path.hops
    backwards = edges.loc[(first.target, first.source, "has_symptom")]  # walked symptom → disease
    assert first.forward is False
    assert first.probability == backwards["p_source_given_target"]
    assert first.n_from == backwards["n_target"]
    assert first.n_patients == backwards["n_patients"]
    forwards = edges.loc[(second.source, second.target, "treated_with")]
    assert second.probability == forwards["p_target_given_source"]
    assert second.n_from == forwards["n_source"]
    text = path.explain()
    assert f"of {first.n_from:,} patients with fever" in text
    assert "had oseltamivir" in text


def test_a_metapath_restricts_the_kinds_in_between(graph: kgmed.KnowledgeGraph) -> None:
    found = graph.paths("fever", "oseltamivir", via=["disease"], k=10)
    assert found
    for path in found:
        assert len(path) == 2
        assert graph.graph.nodes[path.nodes[1]]["kind"] == "disease"


def test_hop_counts_are_respected(graph: kgmed.KnowledgeGraph) -> None:
    for max_hops in (1, 2, 3):
        found = graph.paths("fever", "oseltamivir", max_hops=max_hops, k=50)
        assert all(len(p) <= max_hops for p in found)
    assert graph.paths("fever", "oseltamivir", max_hops=1) == []  # no direct relation walked


def test_weights(graph: kgmed.KnowledgeGraph) -> None:
    by_hops = graph.paths("fever", "oseltamivir", weight="hops", k=3)
    assert all(p.cost == len(p) for p in by_hops)
    by_lift = graph.paths("fever", "oseltamivir", weight="lift", k=1)
    assert by_lift[0].labels[1] == "influenza"


def test_curated_hops_are_explained_without_counts() -> None:
    kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    kg.add_knowledge(
        pd.DataFrame(
            {"subject": ["influenza"], "relation": ["treated_with"], "object": ["zanamivir"]}
        ),
        source="textbook",
    )
    path = kg.paths("fever", "zanamivir", k=1)[0]
    assert path.labels == ("fever", "influenza", "zanamivir")
    last = path.hops[-1]
    assert last.n_patients is None
    assert "according to textbook (no patient counts)" in last.explain()
    assert path.to_dict()["hops"][-1]["provenance"] == "curated:textbook"


def test_paths_follow_the_graph_after_it_changes() -> None:
    kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    with pytest.raises(kgmed.ConceptNotFound):
        kg.paths("fever", "zanamivir")
    kg.add_knowledge(
        pd.DataFrame(
            {"subject": ["influenza"], "relation": ["treated_with"], "object": ["zanamivir"]}
        ),
        source="textbook",
    )
    assert kg.paths("fever", "zanamivir")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_hops": 0}, "max_hops"),
        ({"k": 0}, "k must"),
        ({"weight": "cost"}, "weight"),
        ({"via": ["organ"]}, "via names no kind"),
        ({"relations": ["implies"]}, "cannot be walked"),
        ({"curated_probability": 0}, "curated_probability"),
    ],
)
def test_bad_options(graph: kgmed.KnowledgeGraph, options: dict[str, object], message: str) -> None:
    with pytest.raises(kgmed.ParameterError, match=message):
        graph.paths("fever", "oseltamivir", **options)


def test_unknown_ends_get_suggestions(graph: kgmed.KnowledgeGraph) -> None:
    with pytest.raises(kgmed.ConceptNotFound, match="closest labels: \\['fever'"):
        graph.paths("fevr", "oseltamivir")


def test_same_end_twice_has_no_path(graph: kgmed.KnowledgeGraph) -> None:
    assert graph.paths("fever", "FEVER") == []


def test_path_objects() -> None:
    path = Path(nodes=("a", "b"), labels=("A", "B"), hops=(), cost=0.0)
    assert len(path) == 0
    assert path.explain() == "A → B"


def test_similar_diseases_share_symptoms_and_treatments(graph: kgmed.KnowledgeGraph) -> None:
    table = graph.similar("influenza", k=5)
    assert table.columns.tolist() == ["id", "label", "similarity", "n_shared", "shared"]
    assert table["similarity"].is_monotonic_decreasing
    assert table["similarity"].between(0, 1).all()
    assert table.loc[0, "label"] == "covid-19"
    assert "fever" in table.loc[0, "shared"]
    assert (table["id"] != graph.resolve("influenza")).all()
    kinds = {graph.graph.nodes[n]["kind"] for n in table["id"]}
    assert kinds == {"disease"}


def test_similar_is_a_cosine_of_neighbour_profiles(graph: kgmed.KnowledgeGraph) -> None:
    flu, covid = graph.resolve("influenza"), graph.resolve("covid-19")
    profile = {}
    for concept in (flu, covid):
        weights = {}
        for _, v, attrs in graph.graph.out_edges(concept, data=True):
            if graph.graph.nodes[v]["kind"] != "disease":
                weights[v] = max(weights.get(v, 0), attrs["p_target_given_source"])
        for u, _, attrs in graph.graph.in_edges(concept, data=True):
            if graph.graph.nodes[u]["kind"] != "disease":
                weights[u] = max(weights.get(u, 0), attrs["p_source_given_target"])
        profile[concept] = pd.Series(weights)
    a, b = profile[flu].align(profile[covid], fill_value=0)
    cosine = (a @ b) / math.sqrt((a @ a) * (b @ b))
    table = graph.similar("influenza", k=20).set_index("id")
    assert table.loc[covid, "similarity"] == pytest.approx(cosine)
