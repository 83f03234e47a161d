"""Tests for kgmed.mining.transactions: records as a sparse patient × concept matrix."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import apriori, fpgrowth
from scipy import sparse

import kgmed
from kgmed.errors import ConceptNotFound
from kgmed.mining import Transactions, transactions


@pytest.fixture(scope="module")
def repeated_records() -> kgmed.Records:
    """Records in which patients have a concept at several encounters."""
    df = pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p1", "p2", "p2", "p3", "p3", "p3", "p4"],
            "concept": [
                "Influenza",
                "influenza",
                "fever",
                "FEVER",
                "dry_cough",
                "fever",
                "Fever ",
                "Dry cough",
                "asthma",
            ],
            "kind": [
                "disease",
                "disease",
                "symptom",
                "symptom",
                "symptom",
                "symptom",
                "symptom",
                "symptom",
                "disease",
            ],
            "encounter": ["e1", "e2", "e1", "e3", "e3", "e4", "e5", "e5", "e6"],
        }
    )
    return kgmed.Records.from_dataframe(df, encounter="encounter")


@pytest.fixture(scope="module")
def synthetic_500() -> kgmed.Records:
    return kgmed.datasets.synthetic(500, random_state=3)


@pytest.fixture(params=["repeated", "synthetic_500", "synthetic_3000"])
def records(request: pytest.FixtureRequest) -> kgmed.Records:
    name = {
        "repeated": "repeated_records",
        "synthetic_500": "synthetic_500",
        "synthetic_3000": "synthetic_records",
    }[request.param]
    return request.getfixturevalue(name)


def _patient_sets(records: kgmed.Records) -> dict[str, set[str]]:
    """Each patient's distinct concept ids, counted from the long table."""
    groups = records.data.groupby("patient_id")["concept_id"]
    return {str(patient): set(concepts) for patient, concepts in groups}


def _row_sets(t: Transactions) -> dict[str, set[str]]:
    dense = t.matrix.toarray()
    return {
        str(patient): set(t.concepts[np.nonzero(dense[i])[0]])
        for i, patient in enumerate(t.baskets)
    }


def test_shape_dtype_and_axes(records: kgmed.Records) -> None:
    t = transactions(records)
    data = records.data
    assert isinstance(t.matrix, sparse.csr_array)
    assert t.matrix.dtype == np.bool_
    assert t.matrix.shape == (data["patient_id"].nunique(), data["concept_id"].nunique())
    assert t.n_baskets == data["patient_id"].nunique()
    assert list(t.concepts) == sorted(data["concept_id"].unique())
    assert sorted(t.baskets) == sorted(data["patient_id"].unique())
    assert t.baskets.is_unique


def test_each_row_holds_its_patients_concepts(records: kgmed.Records) -> None:
    assert _row_sets(transactions(records)) == _patient_sets(records)


def test_repeated_concept_is_one_true(repeated_records: kgmed.Records) -> None:
    data = repeated_records.data
    # The records do hold a concept twice for a patient (two encounters).
    assert data.duplicated(["patient_id", "concept_id"]).sum() == 2
    t = transactions(repeated_records)
    distinct = data.drop_duplicates(["patient_id", "concept_id"])
    assert t.matrix.nnz == len(distinct)
    assert t.matrix.data.all()
    # No cell is stored twice: summing duplicates would change nothing.
    assert t.matrix.has_canonical_format
    as_int = t.matrix.astype(np.int64)
    assert as_int.max() == 1
    flu = t.concepts.get_loc("local:influenza")
    assert t.matrix[[t.baskets.get_loc("p1")], [flu]].tolist() == [True]
    assert t.counts()["local:influenza"] == 1


def test_counts_are_distinct_patients_per_concept(records: kgmed.Records) -> None:
    t = transactions(records)
    expected = records.data.groupby("concept_id")["patient_id"].nunique()
    counts = t.counts()
    assert counts.dtype == np.int64
    pd.testing.assert_series_equal(
        counts, expected.reindex(t.concepts), check_names=False, check_index_type=False
    )


def test_counts_of_repeated_records_by_hand(repeated_records: kgmed.Records) -> None:
    counts = transactions(repeated_records).counts()
    assert counts.to_dict() == {
        "local:asthma": 1,
        "local:dry_cough": 2,
        "local:fever": 3,
        "local:influenza": 1,
    }


def test_to_dataframe_is_sparse_bool_and_equal_to_matrix(records: kgmed.Records) -> None:
    t = transactions(records)
    frame = t.to_dataframe()
    assert list(frame.columns) == list(t.concepts)
    assert all(dtype == pd.SparseDtype(bool, False) for dtype in frame.dtypes)
    np.testing.assert_array_equal(frame.sparse.to_dense().to_numpy(), t.matrix.toarray())
    # Patient ids stay in Transactions.baskets; the frame carries positions only.
    assert isinstance(frame.index, pd.RangeIndex)


@pytest.mark.parametrize("miner", [fpgrowth, apriori])
def test_mlxtend_accepts_to_dataframe(
    synthetic_500: kgmed.Records, miner: Callable[..., pd.DataFrame]
) -> None:
    # pytest turns warnings into errors, so a frame mlxtend warned about
    # (non-bool columns, integer column names) would fail here.
    t = transactions(synthetic_500)
    itemsets = miner(t.to_dataframe(), min_support=0.05, use_colnames=True, max_len=1)
    support = {
        next(iter(s)): v for s, v in zip(itemsets["itemsets"], itemsets["support"], strict=True)
    }
    counts = synthetic_500.data.groupby("concept_id")["patient_id"].nunique()
    n = synthetic_500.data["patient_id"].nunique()
    expected = {c: k / n for c, k in counts.items() if k / n >= 0.05}
    assert support.keys() == expected.keys()
    np.testing.assert_allclose([support[c] for c in expected], list(expected.values()), rtol=1e-12)


def test_to_dataframe_keeps_chosen_concepts_in_order(synthetic_500: kgmed.Records) -> None:
    t = transactions(synthetic_500)
    chosen = pd.Index([t.concepts[5], t.concepts[0], t.concepts[-1]])
    frame = t.to_dataframe(chosen)
    assert list(frame.columns) == list(chosen)
    dense = t.matrix.toarray()
    for column in chosen:
        np.testing.assert_array_equal(
            frame[column].sparse.to_dense().to_numpy(), dense[:, t.concepts.get_loc(column)]
        )


def test_to_dataframe_unknown_concept_raises(synthetic_500: kgmed.Records) -> None:
    t = transactions(synthetic_500)
    with pytest.raises(ConceptNotFound, match="local:no_such_thing"):
        t.to_dataframe(pd.Index([t.concepts[0], "local:no_such_thing"]))
    with pytest.raises(KeyError):
        t.to_dataframe(pd.Index(["local:no_such_thing"]))
