"""build and graph_from_rules: typed nodes, typed edges, and the evidence on each edge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.build import MIN_WEIGHT
from kgmed.graph import NODE_COLUMNS
from kgmed.schema import RELATIONS

# Which relation each pair of kinds gives, and the kind of the edge's source
# (None: symmetric, the source is the smaller concept id).
KIND_PAIRS = [
    ("disease", "symptom", "has_symptom", "disease"),
    ("disease", "treatment", "treated_with", "disease"),
    ("disease", "disease", "comorbid_with", None),
    ("symptom", "symptom", "co_occurs_with", None),
    ("treatment", "treatment", "co_prescribed_with", None),
    ("symptom", "treatment", "associated_with", None),
    ("disease", "procedure", "associated_with", None),
    ("symptom", "lab", "associated_with", None),
    ("treatment", "finding", "associated_with", None),
    ("lab", "finding", "associated_with", None),
    ("procedure", "procedure", "associated_with", None),
]

SMALL_CONCEPTS = [
    ("flu", "disease"),
    ("asthma", "disease"),
    ("fever", "symptom"),
    ("cough", "symptom"),
    ("oseltamivir", "treatment"),
    ("albuterol", "treatment"),
    ("chest x-ray", "procedure"),
    ("spirometry", "procedure"),
    ("crp", "lab"),
    ("rash", "finding"),
]


@pytest.fixture(scope="module")
def every_kind_frame() -> pd.DataFrame:
    """300 patients, each concept of every kind present with probability 1/2."""
    rng = np.random.default_rng(0)
    present = rng.random((300, len(SMALL_CONCEPTS))) < 0.5
    rows, cols = np.nonzero(present)
    return pd.DataFrame(
        {
            "patient_id": [f"p{r}" for r in rows],
            "concept": [SMALL_CONCEPTS[c][0] for c in cols],
            "kind": [SMALL_CONCEPTS[c][1] for c in cols],
        }
    )


@pytest.fixture(scope="module")
def every_kind_kg(every_kind_frame: pd.DataFrame) -> kgmed.KnowledgeGraph:
    return kgmed.build(every_kind_frame, min_confidence=0.0, relations="association", keep="all")


@pytest.fixture(scope="module")
def hand_counts(synthetic_records: kgmed.Records) -> tuple[pd.Series, pd.DataFrame]:
    """Patients per concept and per pair of concepts, counted with pandas alone."""
    data = synthetic_records.data[["patient_id", "concept_id"]].drop_duplicates()
    onehot = pd.crosstab(data["patient_id"], data["concept_id"]).clip(upper=1)
    both = onehot.T.dot(onehot)
    return onehot.sum(axis=0), both


def _kind_of(kg: kgmed.KnowledgeGraph) -> dict[str, str]:
    return dict(kg.graph.nodes(data="kind"))


def test_nodes_are_the_concepts_with_their_attributes(kg, synthetic_records, hand_counts):
    nodes = kg.nodes()
    assert tuple(nodes.columns) == NODE_COLUMNS
    concepts = synthetic_records.concepts().set_index("concept_id")
    assert set(nodes["id"]) == set(concepts.index)
    per_concept, _ = hand_counts
    for row in nodes.itertuples(index=False):
        expected = concepts.loc[row.id]
        assert row.kind == expected["kind"]
        assert row.label == expected["label"]
        for column in ("system", "code"):
            got, want = getattr(row, column), expected[column]
            assert (pd.isna(got) and pd.isna(want)) or got == want
        assert row.n_patients == per_concept[row.id]
    assert nodes["code"].notna().sum() == concepts["code"].notna().sum() > 40


def test_node_attributes_in_the_networkx_graph(kg):
    attrs = kg.graph.nodes["ICD10CM:J11.1"]
    assert attrs == {
        "kind": "disease",
        "label": "influenza",
        "system": "ICD10CM",
        "code": "J11.1",
        "n_patients": attrs["n_patients"],
    }
    assert isinstance(attrs["n_patients"], int)
    assert kg.graph.nodes["local:sore_throat"]["system"] is None
    assert kg.graph.nodes["local:sore_throat"]["code"] is None


@pytest.mark.parametrize(("kind_a", "kind_b", "relation", "source_kind"), KIND_PAIRS)
def test_relation_and_direction_for_each_pair_of_kinds(
    every_kind_kg, kind_a, kind_b, relation, source_kind
):
    kind = _kind_of(every_kind_kg)
    edges = every_kind_kg.edges()
    between = edges[
        [
            {kind[s], kind[t]} == {kind_a, kind_b}
            for s, t in zip(edges["source"], edges["target"], strict=True)
        ]
    ]
    assert len(between) > 0, f"no edge between a {kind_a} and a {kind_b}"
    assert set(between["relation"]) == {relation}
    for source, target in zip(between["source"], between["target"], strict=True):
        if source_kind is None:
            assert source < target
        else:
            assert kind[source] == source_kind
    assert RELATIONS[relation].symmetric == (source_kind is None)


def test_one_edge_per_related_pair(kg):
    edges = kg.edges()
    pairs = [frozenset(p) for p in zip(edges["source"], edges["target"], strict=True)]
    assert len(pairs) == len(set(pairs))
    rules = kg.rules
    rule_pairs = {a | c for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)}
    assert set(pairs) == rule_pairs


def test_conditionals_are_the_counts_divided(kg):
    edges = kg.edges()
    n = edges["n_patients"].to_numpy(dtype=float)
    np.testing.assert_allclose(
        edges["p_target_given_source"], n / edges["n_source"].to_numpy(dtype=float), rtol=1e-12
    )
    np.testing.assert_allclose(
        edges["p_source_given_target"], n / edges["n_target"].to_numpy(dtype=float), rtol=1e-12
    )
    assert (edges["n_total"] == kg.params["n_patients"]).all()


def test_counts_on_edges_are_hand_counts(kg, hand_counts, synthetic_records):
    per_concept, both = hand_counts
    edges = kg.edges()
    assert len(edges) > 1000
    for row in edges.itertuples(index=False):
        assert row.n_source == per_concept[row.source]
        assert row.n_target == per_concept[row.target]
        assert row.n_patients == both.loc[row.source, row.target]
        assert row.n_total == synthetic_records.n_patients
        assert row.p_target_given_source == pytest.approx(
            both.loc[row.source, row.target] / per_concept[row.source], rel=1e-12
        )
        assert row.p_source_given_target == pytest.approx(
            both.loc[row.source, row.target] / per_concept[row.target], rel=1e-12
        )


def test_has_symptom_conditionals_read_as_named(kg, hand_counts):
    per_concept, both = hand_counts
    edge = kg.graph.edges["ICD10CM:J11.1", "HP:0001945", "has_symptom"]
    flu_and_fever = both.loc["ICD10CM:J11.1", "HP:0001945"]
    assert edge["p_target_given_source"] == pytest.approx(
        flu_and_fever / per_concept["ICD10CM:J11.1"]
    )  # P(fever | influenza)
    assert edge["p_source_given_target"] == pytest.approx(
        flu_and_fever / per_concept["HP:0001945"]
    )  # P(influenza | fever)
    assert not kg.graph.has_edge("HP:0001945", "ICD10CM:J11.1")


def test_edge_statistics_are_those_of_the_rule(kg):
    rules = kg.rules
    by_pair = {
        (next(iter(a)), next(iter(c))): row
        for a, c, row in zip(
            rules["antecedents"], rules["consequents"], rules.itertuples(index=False), strict=True
        )
    }
    edges = kg.edges()
    for edge in edges.itertuples(index=False):
        rule = by_pair.get((edge.source, edge.target)) or by_pair[(edge.target, edge.source)]
        assert edge.lift == pytest.approx(rule.lift, rel=1e-12)
        assert edge.leverage == pytest.approx(rule.leverage, rel=1e-12, abs=1e-15)
        assert edge.support == pytest.approx(rule.support, rel=1e-12)
        assert edge.q_value == rule.q_value
        assert edge.p_value == rule.p_value
        assert edge.n_patients == rule.n_both
    assert set(edges["provenance"]) == {"mined"}


def test_symmetric_relations_run_from_smaller_id_to_larger(kg):
    edges = kg.edges()
    symmetric = edges["relation"].isin([r.name for r in RELATIONS.values() if r.symmetric])
    assert symmetric.sum() > 100
    assert (edges.loc[symmetric, "source"] < edges.loc[symmetric, "target"]).all()
    comorbid = edges[edges["relation"] == "comorbid_with"]
    assert len(comorbid) > 0


def test_a_plain_dataframe_is_read_as_records(every_kind_frame, every_kind_kg):
    from_records = kgmed.build(
        kgmed.Records.from_dataframe(every_kind_frame),
        min_confidence=0.0,
        relations="association",
        keep="all",
    )
    pd.testing.assert_frame_equal(every_kind_kg.edges(), from_records.edges())
    pd.testing.assert_frame_equal(every_kind_kg.nodes(), from_records.nodes())
    assert len(every_kind_kg) == len(SMALL_CONCEPTS)


def test_the_parameters_are_kept(every_kind_kg, every_kind_frame):
    assert every_kind_kg.params == {
        "min_support": 0.001,
        "min_confidence": 0.0,
        "min_patients": 11,
        "max_len": 2,
        "algorithm": "auto",
        "n_patients": every_kind_frame["patient_id"].nunique(),
        "n_concepts_suppressed": 0,
        "basket": "patient",
        "n_baskets": every_kind_frame["patient_id"].nunique(),
        "relations": "association",
        "max_q_value": 0.05,
        "min_lift": 1.0,
        "min_weight": MIN_WEIGHT,
        "keep": "all",
        "adjusted_for": [],
        "age_bands": None,
        "edges": {"tested": 45, "kept": 45, "dropped": {}},
    }


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"min_support": 0}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_support": "0.1"}, "min_support"),
        ({"min_support": float("nan")}, "min_support"),
        ({"min_confidence": -0.1}, "min_confidence"),
        ({"min_confidence": 1.01}, "min_confidence"),
        ({"min_patients": 0}, "min_patients"),
        ({"min_patients": 2.5}, "min_patients"),
        ({"min_patients": True}, "min_patients"),
        ({"max_len": 1}, "max_len"),
        ({"max_len": "3"}, "max_len"),
        ({"algorithm": "eclat"}, "algorithm"),
        ({"algorithm": "pairs", "max_len": 3}, "algorithm"),
        ({"rule_nodes": "yes"}, "rule_nodes"),
    ],
)
def test_bad_parameters_raise_parameter_error(every_kind_frame, options, named):
    with pytest.raises(kgmed.ParameterError, match=named) as info:
        kgmed.build(every_kind_frame, **options)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "data",
    [None, "records.csv", [("p1", "flu", "disease")], np.ones((3, 3)), pd.Series(["flu"])],
    ids=["None", "path", "list", "array", "series"],
)
def test_input_that_is_not_a_table_raises_records_error(data):
    with pytest.raises(kgmed.RecordsError, match=type(data).__name__):
        kgmed.build(data)


def test_a_table_without_the_columns_raises_column_not_found(every_kind_frame):
    with pytest.raises(kgmed.ColumnNotFound, match="patient_id"):
        kgmed.build(every_kind_frame.rename(columns={"patient_id": "pid"}))


@pytest.fixture(scope="module")
def kg3(synthetic_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    return kgmed.build(
        synthetic_records,
        max_len=3,
        min_support=0.02,
        rule_nodes=True,
        relations="association",
        keep="all",
    )


def test_longer_rules_stay_in_the_rules(kg3, synthetic_records):
    sizes = kg3.rules["antecedents"].map(len) + kg3.rules["consequents"].map(len)
    assert set(sizes) == {2, 3}
    assert (sizes == 3).sum() > 100
    # The pairwise edges are the same as those of a max_len=2 graph.
    kg2 = kgmed.build(synthetic_records, min_support=0.02, relations="association", keep="all")
    columns = ["source", "target", "relation", "n_patients", "n_source", "n_target"]
    mined = kg3.edges()
    mined = mined[mined["provenance"].eq("mined") & mined["n_patients"].notna()]
    pd.testing.assert_frame_equal(
        mined[columns].sort_values(columns[:3]).reset_index(drop=True),
        kg2.edges()[columns].sort_values(columns[:3]).reset_index(drop=True),
    )


def test_without_rule_nodes_longer_rules_make_no_nodes(synthetic_records):
    kg = kgmed.build(synthetic_records, max_len=3, min_support=0.02)
    assert (kg.rules["antecedents"].map(len) == 2).any()
    assert "rule" not in set(kg.nodes()["kind"])
    assert not {"antecedent_of", "implies"} & set(kg.edges()["relation"])


def test_rule_nodes_link_antecedents_and_consequents(kg3):
    rules = kg3.rules
    longer = np.nonzero(
        (rules["antecedents"].map(len) + rules["consequents"].map(len)).to_numpy() > 2
    )[0]
    rule_nodes = kg3.nodes("rule")
    assert len(rule_nodes) == len(longer)
    labels = dict(kg3.graph.nodes(data="label"))
    for position in longer[:200]:
        rule = rules.iloc[position]
        node = f"rule:{position}"
        attrs = kg3.graph.nodes[node]
        assert attrs["kind"] == "rule"
        assert attrs["n_patients"] == rule["n_both"]
        assert attrs["confidence"] == pytest.approx(rule["confidence"])
        assert attrs["lift"] == pytest.approx(rule["lift"])
        assert attrs["q_value"] == pytest.approx(rule["q_value"])
        into = {u for u, _, k in kg3.graph.in_edges(node, keys=True) if k == "antecedent_of"}
        out = {v for _, v, k in kg3.graph.out_edges(node, keys=True) if k == "implies"}
        assert into == set(rule["antecedents"])
        assert out == set(rule["consequents"])
        for concept in rule["antecedents"]:
            assert labels[concept] in attrs["label"].split(" → ")[0]


def test_graph_from_rules_checks_its_tables(synthetic_records):
    rules = kgmed.mine_rules(synthetic_records, min_support=0.05)
    concepts = synthetic_records.concepts()
    n = synthetic_records.n_patients
    with pytest.raises(kgmed.ColumnNotFound, match="q_value"):
        kgmed.graph_from_rules(rules.drop(columns="q_value"), concepts, n_patients=n)
    with pytest.raises(kgmed.ColumnNotFound, match="kind"):
        kgmed.graph_from_rules(rules, concepts.drop(columns="kind"), n_patients=n)
    fewer = concepts[concepts["concept_id"] != "HP:0001945"]
    with pytest.raises(kgmed.RecordsError, match="HP:0001945"):
        kgmed.graph_from_rules(rules, fewer, n_patients=n)
    with pytest.raises(kgmed.ParameterError, match="min_patients"):
        kgmed.graph_from_rules(rules, concepts, n_patients=n, min_patients=0)


def test_graph_from_rules_equals_build(kg, synthetic_records):
    from kgmed.mining import adjust_rules, strata, transactions

    matrix = transactions(synthetic_records)
    rules = adjust_rules(
        kgmed.mine_rules(synthetic_records), matrix, strata(matrix, synthetic_records.patients)
    )
    concepts, n = synthetic_records.concepts(), synthetic_records.n_patients
    same = kgmed.graph_from_rules(rules, concepts, n_patients=n, keep="all")
    pd.testing.assert_frame_equal(same.edges(), kg.edges())
    # By default graph_from_rules keeps what holds, as build does.
    held = kgmed.graph_from_rules(rules, concepts, n_patients=n)
    expected = kg.edges()
    expected = expected[expected["holds"].astype(bool)].reset_index(drop=True)
    pd.testing.assert_frame_equal(held.edges(), expected)
    assert held.params["edges"]["kept"] == len(expected) < held.params["edges"]["tested"]


def test_the_keep_rule_drops_what_does_not_hold(kg, synthetic_records):
    default = kgmed.build(synthetic_records, relations="association")
    edges, every = default.edges(), kg.edges()
    assert len(edges) == int(every["holds"].sum()) < len(every)
    assert (edges["lift"] > 1).all()
    assert (edges["q_value"] < 0.05).all()
    assert (edges["adjusted_odds_ratio"] > 1).all()
    assert (edges["adjusted_q_value"] < 0.05).all()
    assert edges["holds"].all()
    counts = default.params["edges"]
    assert counts["tested"] == len(every)
    assert counts["kept"] == len(edges)
    assert sum(counts["dropped"].values()) == len(every) - len(edges)
    assert set(counts["dropped"]) <= {
        "not positive (lift <= 1)",
        "not significant (q >= 0.05)",
        "explained by age and sex",
    }
    # Every failing edge fails for the first reason the rule names.
    failing = every[~every["holds"].astype(bool)]
    not_positive = int((failing["lift"] <= 1).sum())
    assert counts["dropped"]["not positive (lift <= 1)"] == not_positive


def test_keep_rule_parameters(synthetic_records):
    strict = kgmed.build(synthetic_records, relations="association", max_q_value=0.001, min_lift=2)
    edges = strict.edges()
    assert (edges["q_value"] < 0.001).all()
    assert (edges["lift"] > 2).all()
    assert strict.params["max_q_value"] == 0.001
    assert strict.params["min_lift"] == 2.0
    assert "not positive (lift <= 2)" in strict.params["edges"]["dropped"]
    with pytest.raises(kgmed.ParameterError, match="keep"):
        kgmed.build(synthetic_records, keep="some")
    with pytest.raises(kgmed.ParameterError, match="max_q_value"):
        kgmed.build(synthetic_records, max_q_value=0)
    with pytest.raises(kgmed.ParameterError, match="min_lift"):
        kgmed.build(synthetic_records, min_lift=-1)
    with pytest.raises(kgmed.ParameterError, match="min_weight"):
        kgmed.build(synthetic_records, min_weight=1.5)


def test_direct_alpha_is_a_deprecated_name_for_max_q_value(synthetic_records):
    with pytest.warns(DeprecationWarning, match="max_q_value"):
        old = kgmed.build(synthetic_records, direct_alpha=0.01)
    new = kgmed.build(synthetic_records, max_q_value=0.01)
    pd.testing.assert_frame_equal(old.edges(), new.edges())


def test_adjusting_for_age_and_sex(synthetic_records):
    kg = kgmed.build(synthetic_records)
    assert kg.params["adjusted_for"] == ["age", "sex"]
    assert kg.params["age_bands"] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0]
    crude = kgmed.build(synthetic_records, adjust_for=())
    assert crude.params["adjusted_for"] == []
    assert crude.edges()["adjusted_q_value"].isna().all()
    by_sex = kgmed.build(synthetic_records, adjust_for="sex")
    assert by_sex.params["adjusted_for"] == ["sex"]
    assert by_sex.params["age_bands"] is None
    with pytest.raises(kgmed.ColumnNotFound, match="smoker"):
        kgmed.build(synthetic_records, adjust_for=["age", "smoker"])
    # Records that say nothing of the patients give crude figures only.
    bare = kgmed.Records(synthetic_records.data, synthetic_records.report)
    assert kgmed.build(bare).params["adjusted_for"] == []


def test_age_and_sex_explain_away_what_they_cause():
    model = kgmed.datasets.default_model(demographics=1.0)
    records = kgmed.datasets.synthetic(20000, random_state=1, model=model)
    crude = kgmed.build(records, relations="association", adjust_for=())
    adjusted = kgmed.build(records, relations="association")
    label = {v: k for k, v in records.concepts().set_index("label")["concept_id"].items()}

    def pairs(kg, relation):
        e = kg.edges(relation)
        return {(label[s], label[t]) for s, t in zip(e["source"], e["target"], strict=True)}

    # Back pain comes with age, as hypertension does; estradiol with young women.
    assert ("hypertension", "chronic low back pain") in pairs(crude, "has_symptom")
    assert ("hypertension", "chronic low back pain") not in pairs(adjusted, "has_symptom")
    confounded = {(d, t) for d, t in pairs(crude, "treated_with") if t == "ethinyl estradiol"}
    assert confounded
    assert not confounded & pairs(adjusted, "treated_with")
    edge = adjusted.edges("has_symptom").set_index(["source", "target"])
    assert edge["adjusted_odds_ratio"].gt(1).all()


def test_parameters_are_checked_before_the_records() -> None:
    # A bad parameter is reported even when the records are bad too: no work
    # is done on records that would only be thrown away.
    with pytest.raises(kgmed.ParameterError, match="min_support"):
        kgmed.build("not records", min_support=2)  # type: ignore[arg-type]
