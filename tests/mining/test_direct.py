"""Direct relations recover the generator's noisy-OR links and explain away the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.mining import direct_relations, transactions
from kgmed.mining.direct import DIRECT_COLUMNS


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    records, model = kgmed.datasets.synthetic(40000, random_state=7, return_truth=True)
    concepts = records.concepts()
    table = direct_relations(transactions(records), concepts.set_index("concept_id")["kind"])
    ids = dict(zip(concepts["label"], concepts["concept_id"], strict=True))
    return table, model.direct_edges(), ids


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["source"], frame["target"], strict=True))


def test_columns_and_ranges(fitted: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]) -> None:
    table, _, _ = fitted
    assert tuple(table.columns) == DIRECT_COLUMNS
    assert table["weight"].between(0, 1).all()
    assert table["leak"].between(0, 1).all()
    assert table["q_value"].between(0, 1).all()
    assert (table["n_patients"] >= 11).all()


def test_true_weights_are_recovered(
    fitted: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]],
) -> None:
    table, truth, ids = fitted
    truth = truth.assign(source=truth["source"].map(ids), target=truth["target"].map(ids))
    merged = truth.merge(table, on=["source", "target"], how="left", suffixes=("_true", ""))
    assert merged["weight"].notna().all(), "every true link is tested"
    error = (merged["weight"] - merged["weight_true"]).abs()
    assert error.max() < 0.08, merged.loc[error.idxmax()]
    assert error.mean() < 0.02


def test_direct_links_are_exactly_the_true_ones(
    fitted: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]],
) -> None:
    table, truth, ids = fitted
    true = {(ids[s], ids[t]) for s, t in zip(truth["source"], truth["target"], strict=True)}
    found = _pairs(table[table["q_value"] < 0.05])
    precision = len(found & true) / len(found)
    recall = len(found & true) / len(true)
    assert precision >= 0.97
    assert recall >= 0.97


def test_comorbidity_is_explained_away(
    fitted: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]],
) -> None:
    table, _, ids = fitted
    records = kgmed.datasets.synthetic(40000, random_state=7)
    kg = kgmed.build(records, relations="association")
    # Hypertension raises heart failure, which is treated with furosemide: by
    # association furosemide "goes with" hypertension ...
    edge = kg.edges("treated_with").set_index(["source", "target"])
    hypertension, furosemide = ids["hypertension"], ids["furosemide"]
    assert edge.loc[(hypertension, furosemide), "lift"] > 1.5
    assert edge.loc[(hypertension, furosemide), "q_value"] < 1e-6
    # ... but not directly.
    pair = table.set_index(["source", "target"]).loc[(hypertension, furosemide)]
    assert pair["weight"] < 0.01
    assert pair["q_value"] > 0.05


def test_background_drugs_are_not_linked_to_every_disease() -> None:
    """Acetaminophen is taken by 15 % of everyone, and given for three diseases."""
    records = kgmed.datasets.synthetic(40000, random_state=7)
    concepts = records.concepts()
    kinds = concepts.set_index("concept_id")["kind"]
    ids = dict(zip(concepts["label"], concepts["concept_id"], strict=True))
    given_for = {ids[d] for d in ("influenza", "covid-19", "common cold")}
    for screen in (1.0, 0.01):  # with and without screening
        table = direct_relations(transactions(records), kinds, screen=screen)
        drug = table[table["target"] == ids["acetaminophen"]]
        assert set(drug.loc[drug["q_value"] < 0.05, "source"]) == given_for
        # The leak is the background rate, with what the resampling of empty
        # records adds: near 0.15.
        assert drug["leak"].iloc[0] == pytest.approx(0.15, abs=0.03)


def test_screening_keeps_the_q_value_family(
    fitted: tuple[pd.DataFrame, pd.DataFrame, dict[str, str]],
) -> None:
    """Screened-out pairs count in the BH family, as tests that found nothing."""
    table, _, _ = fitted
    from kgmed.mining import benjamini_hochberg

    assert (table["q_value"] >= benjamini_hochberg(table["p_value"])).all()


def test_direct_relations_beat_association_on_f1() -> None:
    records, model = kgmed.datasets.synthetic(20000, random_state=11, return_truth=True)
    concepts = records.concepts()
    ids = dict(zip(concepts["label"], concepts["concept_id"], strict=True))
    truth = model.direct_edges()
    true = {(ids[s], ids[t]) for s, t in zip(truth["source"], truth["target"], strict=True)}

    def f1(found: set[tuple[str, str]]) -> float:
        hits = len(found & true)
        return 2 * hits / (len(found) + len(true))

    direct = direct_relations(transactions(records), concepts.set_index("concept_id")["kind"])
    kg = kgmed.build(records, relations="association")
    edges = kg.edges()
    edges = edges[edges["relation"].isin(["has_symptom", "treated_with"])]
    association = _pairs(edges[(edges["q_value"] < 0.05) & (edges["lift"] > 1)])
    assert f1(_pairs(direct[direct["q_value"] < 0.05])) >= f1(association) + 0.05


def test_nothing_to_explain_gives_an_empty_table() -> None:
    frame = pd.DataFrame(
        {"patient_id": np.arange(30) % 15, "concept": ["fever", "cough"] * 15, "kind": "symptom"}
    )
    records = kgmed.Records.from_dataframe(frame)
    table = direct_relations(
        transactions(records), records.concepts().set_index("concept_id")["kind"]
    )
    assert table.empty
    assert tuple(table.columns) == DIRECT_COLUMNS
