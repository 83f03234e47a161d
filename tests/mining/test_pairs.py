"""Tests for kgmed.mining.pairs: exact pair counts from one sparse product."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import kgmed
from kgmed.mining import PairCounts, pair_counts, transactions
from kgmed.mining.pairs import upper_pair_counts


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


# -- upper_pair_counts: the bincount path and scipy's product agree ----------------------


def _scipy_upper(x: sparse.csr_array, threshold: int) -> list[tuple[int, int, int]]:
    ones = sparse.csr_array(x, dtype=np.int64)
    ones.data[:] = 1
    co = sparse.triu(sparse.csr_array(ones.T @ ones), k=1, format="coo")
    return sorted(
        (int(r), int(c), int(v))
        for r, c, v in zip(co.row, co.col, co.data, strict=True)
        if v >= threshold
    )


@pytest.mark.parametrize("dense_limit", [4096, 0])  # the bincount path, then scipy's
@pytest.mark.parametrize(
    ("n_rows", "n_columns", "mean", "threshold"),
    [
        (2000, 50, 6.0, 1),
        (5000, 300, 12.0, 3),
        (300, 40, 25.0, 10),
        (50, 1000, 2.0, 1),  # more counters than pairs: scipy's product either way
    ],
)
def test_upper_pair_counts_equal_the_sparse_product(
    monkeypatch: pytest.MonkeyPatch,
    dense_limit: int,
    n_rows: int,
    n_columns: int,
    mean: float,
    threshold: int,
) -> None:
    from kgmed.mining import pairs as pairs_module

    monkeypatch.setattr(pairs_module, "DENSE_PAIR_COLUMNS", dense_limit)
    monkeypatch.setattr(pairs_module, "_CHUNK", 997)  # many small bincounts
    rng = np.random.default_rng(n_rows + n_columns)
    lengths = rng.poisson(mean, n_rows)  # rows of length 0 and 1 included
    weights = 1.0 / np.arange(1, n_columns + 1)
    columns = rng.choice(n_columns, int(lengths.sum()), p=weights / weights.sum())
    rows = np.repeat(np.arange(n_rows), lengths)
    # Repeated (row, column) entries, as a record listing a concept twice.
    x = sparse.csr_array(
        (np.ones(len(columns), dtype=bool), (rows, columns)), shape=(n_rows, n_columns)
    )
    first, second, n_both = upper_pair_counts(x, threshold=threshold)
    assert first.dtype == second.dtype == n_both.dtype == np.int64
    assert np.all(first < second)
    assert list(zip(first, second, strict=True)) == sorted(zip(first, second, strict=True))
    got = [(int(a), int(b), int(k)) for a, b, k in zip(first, second, n_both, strict=True)]
    assert got == _scipy_upper(x, threshold)


def test_upper_pair_counts_of_nothing() -> None:
    empty = sparse.csr_array((3, 4), dtype=bool)
    assert [len(a) for a in upper_pair_counts(empty)] == [0, 0, 0]
