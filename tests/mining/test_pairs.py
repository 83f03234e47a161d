"""Tests for kgmed.mining.pairs: exact pair counts from one sparse product."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.mining import PairCounts, pair_counts, transactions


def _dense(records: kgmed.Records) -> tuple[np.ndarray, list[str]]:
    """Patient × concept 0/1 matrix by pandas.crosstab, concepts sorted."""
    data = records.data.drop_duplicates(["patient_id", "concept_id"])
    table = pd.crosstab(data["patient_id"], data["concept_id"])
    table = table.reindex(columns=sorted(table.columns))
    return (table.to_numpy() > 0).astype(np.int64), [str(c) for c in table.columns]


def _threshold(n: int, min_support: float, min_patients: int) -> int:
    """Smallest count k >= min_patients with k / n >= min_support, by trying them all."""
    k = np.arange(n + 1)
    passes = (k / n >= min_support) & (k >= min_patients)
    return int(np.argmax(passes)) if passes.any() else n + 1


def _brute_force(
    records: kgmed.Records, min_support: float, min_patients: int
) -> dict[tuple[str, str], tuple[int, int, int]]:
    x, concepts = _dense(records)
    n = x.shape[0]
    k = _threshold(n, min_support, min_patients)
    co = x.T @ x
    single = x.sum(axis=0)
    return {
        (concepts[i], concepts[j]): (int(co[i, j]), int(single[i]), int(single[j]))
        for i in range(len(concepts))
        for j in range(i + 1, len(concepts))
        if co[i, j] >= k
    }


def _as_dict(pairs: PairCounts) -> dict[tuple[str, str], tuple[int, int, int]]:
    names = pairs.concepts
    return {
        (str(names[f]), str(names[s])): (int(b), int(nf), int(ns))
        for f, s, b, nf, ns in zip(
            pairs.first, pairs.second, pairs.n_both, pairs.n_first, pairs.n_second, strict=True
        )
    }


@pytest.mark.parametrize(
    ("seed", "n_patients", "min_support", "min_patients"),
    [
        (0, 300, 0.01, 1),
        (1, 300, 1 / 300, 1),
        (2, 1000, 0.02, 1),
        (3, 1000, 0.001, 11),
        (4, 2500, 0.0028, 1),
        (5, 2500, 0.05, 30),
        (6, 1234, 3 / 1234, 1),
    ],
)
def test_pair_counts_equal_brute_force(
    seed: int, n_patients: int, min_support: float, min_patients: int
) -> None:
    records = kgmed.datasets.synthetic(n_patients, random_state=seed)
    pairs = pair_counts(transactions(records), min_support=min_support, min_patients=min_patients)
    expected = _brute_force(records, min_support, min_patients)
    assert len(expected) > 0
    assert _as_dict(pairs) == expected
    assert pairs.n_total == n_patients
    assert len(pairs) == len(expected)


def test_pair_counts_keep_the_boundary_count() -> None:
    # 3 / 1234 * 1234 rounds to just above 3, so ceil(min_support * n) is 4;
    # pairs seen in exactly 3 patients pass count / n >= min_support all the same.
    n = 1234
    assert np.ceil((3 / n) * n) == 4
    records = kgmed.datasets.synthetic(n, random_state=6)
    pairs = pair_counts(transactions(records), min_support=3 / n)
    assert (pairs.n_both == 3).sum() > 0
    assert pairs.n_both.min() == 3


def test_pair_counts_arrays_are_ordered_int64(synthetic_records: kgmed.Records) -> None:
    pairs = pair_counts(transactions(synthetic_records), min_support=0.005)
    for array in (pairs.first, pairs.second, pairs.n_first, pairs.n_second, pairs.n_both):
        assert array.dtype == np.int64
        assert len(array) == len(pairs)
    assert (pairs.first < pairs.second).all()
    order = np.lexsort((pairs.second, pairs.first))
    np.testing.assert_array_equal(order, np.arange(len(pairs)))
    assert (pairs.n_both <= np.minimum(pairs.n_first, pairs.n_second)).all()


@pytest.mark.parametrize(("min_support", "min_patients"), [(1.0, 1), (0.5, 1), (0.001, 10**6)])
def test_pair_counts_can_be_empty(
    synthetic_records: kgmed.Records, min_support: float, min_patients: int
) -> None:
    pairs = pair_counts(
        transactions(synthetic_records), min_support=min_support, min_patients=min_patients
    )
    assert len(pairs) == 0
    assert pairs.first.shape == pairs.n_both.shape == (0,)
    assert pairs.n_total == synthetic_records.n_patients


def test_pair_counts_of_a_hand_made_table() -> None:
    df = pd.DataFrame(
        {
            "patient_id": [1, 1, 1, 2, 2, 3, 3, 4],
            "concept": ["flu", "fever", "cough", "flu", "fever", "fever", "cough", "asthma"],
            "kind": [
                "disease",
                "symptom",
                "symptom",
                "disease",
                "symptom",
                "symptom",
                "symptom",
                "disease",
            ],
        }
    )
    pairs = pair_counts(transactions(kgmed.Records.from_dataframe(df)), min_support=0.25)
    assert _as_dict(pairs) == {
        ("local:cough", "local:fever"): (2, 2, 3),
        ("local:cough", "local:flu"): (1, 2, 2),
        ("local:fever", "local:flu"): (2, 3, 2),
    }
    pairs = pair_counts(transactions(kgmed.Records.from_dataframe(df)), min_support=0.5)
    assert _as_dict(pairs) == {
        ("local:cough", "local:fever"): (2, 2, 3),
        ("local:fever", "local:flu"): (2, 3, 2),
    }
