"""Queries: symptoms_of, treatments_for, diseases_with and neighbors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed import query

QUERIES = {
    "symptoms_of": (
        "influenza",
        "has_symptom",
        "out",
        [
            "id",
            "label",
            "p_symptom_given_disease",
            "p_disease_given_symptom",
            "lift",
            "n_patients",
            "p_value",
            "q_value",
            "direct_weight",
            "source",
        ],
    ),
    "treatments_for": (
        "influenza",
        "treated_with",
        "out",
        [
            "id",
            "label",
            "p_treatment_given_disease",
            "p_disease_given_treatment",
            "lift",
            "n_patients",
            "p_value",
            "q_value",
            "direct_weight",
            "source",
        ],
    ),
    "diseases_with": (
        "fever",
        "has_symptom",
        "in",
        [
            "id",
            "label",
            "p_disease_given_symptom",
            "p_symptom_given_disease",
            "lift",
            "n_patients",
            "p_value",
            "q_value",
            "direct_weight",
            "source",
        ],
    ),
}
NEIGHBOR_COLUMNS = [
    "id",
    "label",
    "kind",
    "relation",
    "direction",
    "p_neighbor_given_concept",
    "p_concept_given_neighbor",
    "lift",
    "n_patients",
    "p_value",
    "q_value",
    "direct_weight",
    "source",
]


@pytest.mark.parametrize("name", QUERIES)
def test_columns_are_as_documented(kg, name):
    term, _, _, columns = QUERIES[name]
    table = getattr(kg, name)(term)
    assert table.columns.tolist() == columns
    assert table.index.tolist() == list(range(len(table)))
    assert table["n_patients"].dtype == "Int64"
    assert len(table) > 2


def test_neighbor_columns_are_as_documented(kg):
    assert kg.neighbors("fever").columns.tolist() == NEIGHBOR_COLUMNS


@pytest.mark.parametrize("name", QUERIES)
def test_a_query_reads_the_edges_of_its_relation(kg, name):
    term, relation, direction, columns = QUERIES[name]
    concept = kg.resolve(term)
    table = getattr(kg, name)(term, min_lift=None)
    edges = kg.edges(relation)
    end, other = ("source", "target") if direction == "out" else ("target", "source")
    mine = edges[edges[end] == concept].set_index(other)
    assert set(table["id"]) == set(mine.index)
    forward, backward = ("p_target_given_source", "p_source_given_target")
    if direction == "in":
        forward, backward = backward, forward
    for row in table.itertuples(index=False):
        edge = mine.loc[row.id]
        assert getattr(row, columns[2]) == edge[forward]
        assert getattr(row, columns[3]) == edge[backward]
        assert row.lift == edge["lift"]
        assert row.n_patients == edge["n_patients"]
        assert row.q_value == edge["q_value"]
        assert row.source == edge["provenance"]
        assert row.label == edge[f"{other}_label"]


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(
        ["direct_weight", "lift", "q_value", "label"],
        ascending=[False, False, True, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)


@pytest.mark.parametrize("name", [*QUERIES, "neighbors"])
def test_strongest_first(kg, name):
    # Association edges: by lift, then q-value; never by how common the neighbour is.
    term = QUERIES[name][0] if name in QUERIES else "fever"
    table = getattr(kg, name)(term, min_lift=None)
    assert len(table) > 5
    pd.testing.assert_frame_equal(table, _ranked(table))
    assert (np.diff(table["lift"].to_numpy()) <= 0).all()


@pytest.fixture(scope="module")
def direct_kg(synthetic_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    return kgmed.build(synthetic_records)


@pytest.mark.parametrize("name", [*QUERIES, "neighbors"])
def test_direct_weight_ranks_first(direct_kg, name):
    term = QUERIES[name][0] if name in QUERIES else "fever"
    table = getattr(direct_kg, name)(term)
    weights = table["direct_weight"].to_numpy()
    assert np.isfinite(weights[:3]).all()
    pd.testing.assert_frame_equal(table, _ranked(table))
    shown = weights[np.isfinite(weights)]
    assert (np.diff(shown) <= 0).all()
    # Edges with no direct weight (associations) come after every weighted one.
    assert not np.isfinite(weights[len(shown) :]).any()


def test_the_well_known_answers(direct_kg):
    kg = direct_kg
    assert kg.symptoms_of("influenza")["label"].iloc[0] == "fever"
    assert kg.treatments_for("influenza")["label"].iloc[0] == "oseltamivir"
    assert kg.diseases_with("loss of smell")["label"].iloc[0] == "covid-19"
    assert kg.treatments_for("asthma")["label"].iloc[0] == "albuterol"


@pytest.mark.parametrize("name", QUERIES)
def test_min_lift(kg, name):
    term = QUERIES[name][0]
    everything = getattr(kg, name)(term, min_lift=None)
    assert (everything["lift"] < 1).any(), "the filter must have something to remove"
    default = getattr(kg, name)(term)
    assert (default["lift"] >= 1).all()
    assert set(default["id"]) == set(everything.loc[everything["lift"] >= 1, "id"])
    strong = getattr(kg, name)(term, min_lift=2.5)
    assert (strong["lift"] >= 2.5).all()
    assert set(strong["id"]) == set(everything.loc[everything["lift"] >= 2.5, "id"])
    assert 0 < len(strong) < len(default)


@pytest.mark.parametrize("name", QUERIES)
def test_max_q_value(kg, name):
    term = QUERIES[name][0]
    everything = getattr(kg, name)(term, min_lift=None)
    assert (everything["q_value"] > 0.05).any()
    significant = getattr(kg, name)(term, min_lift=None, max_q_value=0.05)
    assert set(significant["id"]) == set(everything.loc[everything["q_value"] <= 0.05, "id"])
    assert len(significant) > 0


@pytest.mark.parametrize("name", [*QUERIES, "neighbors"])
def test_limit(kg, name):
    term = QUERIES[name][0] if name in QUERIES else "fever"
    everything = getattr(kg, name)(term)
    top = getattr(kg, name)(term, limit=2)
    pd.testing.assert_frame_equal(top, everything.head(2))
    assert len(getattr(kg, name)(term, limit=10_000)) == len(everything)


@pytest.mark.parametrize("name", [*QUERIES, "neighbors"])
@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"min_lift": -1}, "min_lift"),
        ({"min_lift": float("nan")}, "min_lift"),
        ({"min_lift": "1"}, "min_lift"),
        ({"min_lift": True}, "min_lift"),
        ({"max_q_value": 1.5}, "max_q_value"),
        ({"max_q_value": -0.1}, "max_q_value"),
        ({"limit": 0}, "limit"),
        ({"limit": 2.5}, "limit"),
    ],
)
def test_bad_options_raise_parameter_error(kg, name, options, named):
    term = QUERIES[name][0] if name in QUERIES else "fever"
    with pytest.raises(kgmed.ParameterError, match=named):
        getattr(kg, name)(term, **options)


def test_numpy_numbers_are_options_too(kg):
    plain = kg.symptoms_of("influenza", min_lift=2.0, limit=3)
    numpy = kg.symptoms_of("influenza", min_lift=np.float32(2.0), limit=np.int64(3))
    pd.testing.assert_frame_equal(plain, numpy)
    pd.testing.assert_frame_equal(plain, kg.symptoms_of("influenza", min_lift=np.int64(2), limit=3))


@pytest.mark.parametrize(
    "term", ["Influenza", " INFLUENZA ", "J11.1", "icd10cm:j11.1", "ICD10CM:J11.1"]
)
def test_any_spelling_of_a_term_gives_the_same_answer(kg, term):
    pd.testing.assert_frame_equal(kg.symptoms_of(term), kg.symptoms_of("influenza"))


@pytest.mark.parametrize("name", [*QUERIES, "neighbors"])
def test_unknown_term(kg, name):
    with pytest.raises(kgmed.ConceptNotFound, match="closest labels") as info:
        getattr(kg, name)("infleunza")
    assert isinstance(info.value, KeyError)
    assert "influenza" in info.value.suggestions


@pytest.mark.parametrize(
    ("name", "term", "kind", "wanted"),
    [
        ("symptoms_of", "fever", "symptom", "disease"),
        ("treatments_for", "oseltamivir", "treatment", "disease"),
        ("diseases_with", "influenza", "disease", "symptom"),
    ],
)
def test_wrong_kind(kg, name, term, kind, wanted):
    with pytest.raises(kgmed.ConceptKindError, match=f"is a {kind}, not a {wanted}") as info:
        getattr(kg, name)(term)
    assert isinstance(info.value, ValueError)


def test_the_methods_are_the_query_functions(kg):
    pd.testing.assert_frame_equal(kg.symptoms_of("asthma"), query.symptoms_of(kg, "asthma"))
    pd.testing.assert_frame_equal(kg.treatments_for("asthma"), query.treatments_for(kg, "asthma"))
    pd.testing.assert_frame_equal(kg.diseases_with("wheezing"), query.diseases_with(kg, "wheezing"))
    pd.testing.assert_frame_equal(kg.neighbors("asthma"), query.neighbors(kg, "asthma"))


def test_neighbors_without_a_relation_are_every_edge(kg):
    concept = kg.resolve("fever")
    table = kg.neighbors("fever")
    assert len(table) == kg.graph.degree(concept)
    assert set(table["relation"]) == {"has_symptom", "co_occurs_with", "associated_with"}
    out = table[table["direction"] == "out"]
    into = table[table["direction"] == "in"]
    assert len(out) == kg.graph.out_degree(concept)
    assert len(into) == kg.graph.in_degree(concept)
    kinds = dict(kg.graph.nodes(data="kind"))
    assert table["kind"].tolist() == [kinds[n] for n in table["id"]]
    # The conditionals are seen from the concept asked about.
    for row in table.itertuples(index=False):
        if row.direction == "out":
            edge = kg.graph.edges[concept, row.id, row.relation]
            assert row.p_neighbor_given_concept == edge["p_target_given_source"]
        else:
            edge = kg.graph.edges[row.id, concept, row.relation]
            assert row.p_neighbor_given_concept == edge["p_source_given_target"]
    # No lift filter by default: neighbors keeps the weak and negative associations.
    assert (table["lift"] < 1).any()


def test_neighbors_of_one_relation(kg):
    table = kg.neighbors("fever", "has_symptom")
    assert set(table["relation"]) == {"has_symptom"}
    assert set(table["direction"]) == {"in"}
    assert set(table["id"]) == set(kg.diseases_with("fever", min_lift=None)["id"])
    co = kg.neighbors("fever", "co_occurs_with")
    assert set(co["kind"]) == {"symptom"}
    assert set(co["direction"]) == {"in", "out"}


@pytest.mark.parametrize("relation", ["treats", "HAS_SYMPTOM", "symptom", ""])
def test_neighbors_of_an_unknown_relation(kg, relation):
    with pytest.raises(kgmed.ParameterError, match="unknown relation"):
        kg.neighbors("fever", relation)
