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


@pytest.mark.parametrize(
    ("design", "n1", "n0", "n_base"),
    [
        (np.ones((1, 1)), np.array([30.0]), np.array([970.0]), 1),
        (np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([30.0, 80.0]), np.array([970.0, 20.0]), 1),
        # The cause's patients have the target less often: theta_1 = 0, pooled rate.
        (np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([300.0, 2.0]), np.array([700.0, 98.0]), 1),
        (np.array([[1.0, 1.0]]), np.array([5.0]), np.array([0.0]), 1),
        # Strata: a leak each, in closed form without causes, by Newton with one.
        (np.eye(3), np.array([3.0, 30.0, 90.0]), np.array([97.0, 70.0, 10.0]), 3),
        (
            np.array([[1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 1, 1]], dtype=float),
            np.array([3.0, 40.0, 30.0, 60.0]),
            np.array([97.0, 60.0, 70.0, 40.0]),
            2,
        ),
    ],
)
def test_the_fit_is_the_optimum(
    design: np.ndarray, n1: np.ndarray, n0: np.ndarray, n_base: int
) -> None:
    from kgmed.mining import direct

    shares = np.full(n_base, 1.0 / n_base)
    theta, std_error, nll = direct._fit_noisy_or(
        design, n1, n0, max_iter=100, n_base=n_base, shares=shares
    )
    # The gradient of the (pseudo-augmented) likelihood vanishes where theta > 0 and
    # points outwards where theta is on its bound: the KKT conditions of the optimum.
    k = design.shape[1] - n_base
    pseudo = np.zeros((n_base + k, n_base + k))
    pseudo[:n_base, :n_base] = np.eye(n_base)
    pseudo[n_base:, :n_base] = shares
    pseudo[n_base:, n_base:] = np.eye(k)
    full = np.vstack([design, pseudo])
    prior_ones, prior_zeros = np.full(n_base + k, 0.5), np.full(n_base + k, 0.5)
    if n_base > 1:  # the strata's leaks shrink towards the rate without causes
        alone = design[:, n_base:].sum(axis=1) == 0
        rate = (n1[alone].sum() + 0.5) / (n1[alone].sum() + n0[alone].sum() + 1.0)
        prior_ones[:n_base] = direct._STRATUM_PRIOR * rate
        prior_zeros[:n_base] = direct._STRATUM_PRIOR * (1 - rate)
    ones = np.concatenate([n1, prior_ones])
    zeros = np.concatenate([n0, prior_zeros])
    z = full @ theta
    gradient = full.T @ (zeros - ones / np.expm1(z))
    free = theta > 1e-8
    assert np.allclose(gradient[free], 0.0, atol=1e-7 * ones.sum())
    assert (gradient[~free] >= -1e-7 * ones.sum()).all()
    assert np.isfinite(std_error).all()
    assert nll == pytest.approx(float(zeros @ z - ones @ np.log(-np.expm1(-z))))


def test_projection_merges_patterns_by_their_parents() -> None:
    from scipy import sparse

    from kgmed.mining import direct

    rng = np.random.default_rng(3)
    patterns = np.unique(rng.integers(0, 2, size=(300, 9)).astype(float), axis=0)
    n_per = rng.integers(1, 50, size=len(patterns)).astype(float)
    with_target = np.repeat(np.arange(len(patterns)), rng.integers(0, 3, size=len(patterns)))
    holders = sparse.csc_array(patterns)
    stratum_of = rng.integers(0, 3, size=len(patterns))
    n_per_stratum = np.bincount(stratum_of, weights=n_per, minlength=3)
    for strata in (False, True):
        scratch = stratum_of.copy() if strata else np.zeros(len(patterns), dtype=np.int64)
        of = stratum_of if strata else np.zeros(len(patterns), dtype=np.int64)
        n_strata = 3 if strata else 1
        for parents in ([4], [0, 7], [1, 2, 3, 8]):
            design, n1, n0 = direct._project(
                patterns,
                holders,
                np.array(parents),
                with_target,
                n_per,
                scratch,
                stratum_of=of if strata else None,
                n_per_stratum=n_per_stratum if strata else None,
            )
            assert np.array_equal(scratch, of)
            # A naive projection: group every pattern by its parents and stratum.
            sub = patterns[:, parents]
            keys = (sub @ (2.0 ** np.arange(len(parents)))) * n_strata + of
            expected_rows = np.unique(keys)
            ones = np.bincount(with_target, minlength=len(patterns)).astype(float)
            strata_part, bits = design[:, :n_strata], design[:, n_strata:]
            assert (strata_part.sum(axis=1) == 1).all()
            got = (bits @ (2.0 ** np.arange(len(parents)))) * n_strata + strata_part.argmax(axis=1)
            assert np.array_equal(got, expected_rows)
            for row, key in enumerate(expected_rows):
                members = keys == key
                assert n1[row] == ones[members].sum()
                assert n0[row] == n_per[members].sum() - ones[members].sum()
