"""Tests for the privacy floor (min_patients) and the count thresholds behind it."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import apriori, fpgrowth

import kgmed
from kgmed.errors import ParameterError
from kgmed.mining import RULE_COLUMNS, min_count, mine_rules, pair_counts, transactions

N_VALUES = [1, 2, 3, 7, 10, 25, 41, 97, 100, 1000, 1234, 3000, 4920, 8124, 100_003]
SUPPORTS = [
    1e-9,
    0.001,
    0.01,
    0.05,
    0.07 * 7,
    0.1,
    0.1 * 3,
    0.3,
    1 / 3,
    2 / 3,
    0.7,
    1 - 0.9,
    0.9,
    1.0,
]


def _float_threshold(n: int, min_support: float, min_patients: int = 1) -> int:
    """Smallest k >= min_patients with k / n >= min_support (n + 1 if none), trying every k."""
    k = np.arange(n + 1)
    passes = (k / n >= min_support) & (k >= min_patients)
    return int(np.argmax(passes)) if passes.any() else n + 1


@pytest.mark.parametrize("n", N_VALUES)
@pytest.mark.parametrize("min_patients", [1, 11])
def test_min_count_is_the_float_comparison(n: int, min_patients: int) -> None:
    for min_support in SUPPORTS:
        expected = _float_threshold(n, min_support, min_patients)
        got = min_count(n, min_support, min_patients)
        if expected > n:
            assert got > n, (n, min_support, min_patients)
        else:
            assert got == expected, (n, min_support, min_patients)


def test_min_count_on_every_k_over_n() -> None:
    # min_support = k / n must keep count k: k / n >= k / n holds in floating
    # point whatever (k / n) * n rounds to.
    for n in range(1, 151):
        assert [min_count(n, k / n) for k in range(1, n + 1)] == list(range(1, n + 1)), n


@pytest.mark.parametrize("n", [25, 1234, 3000, 4920, 8124])
def test_min_count_where_ceil_overshoots(n: int) -> None:
    overshoot = [k for k in range(1, n + 1) if math.ceil((k / n) * n) != k]
    assert overshoot, "no k where ceil(k / n * n) != k; the case tests nothing"
    assert [min_count(n, k / n) for k in overshoot] == overshoot


@pytest.mark.parametrize(
    ("n", "min_support", "min_patients", "expected"),
    [
        (10, 0.3, 1, 3),
        (10, 0.1 * 3, 1, 4),  # 0.30000000000000004: 3 / 10 falls short
        (100, 0.1 * 3, 1, 31),
        (10, 1 - 0.9, 1, 1),  # 0.09999999999999998
        (25, 7 / 25, 1, 7),  # (7 / 25) * 25 is 7.000000000000001
        (1000, 0.001, 11, 11),
        (1000, 0.05, 11, 50),
        (100, 0.05, 11, 11),
        (8124, 0.5, 1, 4062),
        (1, 1.0, 1, 1),
    ],
)
def test_min_count_by_hand(n: int, min_support: float, min_patients: int, expected: int) -> None:
    assert min_count(n, min_support, min_patients) == expected


def test_min_count_above_n_when_the_floor_exceeds_the_patients() -> None:
    assert min_count(5, 0.5, 10) > 5
    assert min_count(10, 0.01, 11) > 10


@pytest.mark.parametrize("miner", [apriori, fpgrowth])
@pytest.mark.parametrize(
    ("n", "min_support"),
    [(10, 0.1 * 3), (10, 0.3), (25, 7 / 25), (41, 7 / 41), (97, 0.05), (100, 1 - 0.9), (60, 1 / 3)],
)
def test_min_count_agrees_with_mlxtend(
    n: int, min_support: float, miner: Callable[..., pd.DataFrame]
) -> None:
    # Item j is in the first j of n baskets, so the items mlxtend keeps are
    # exactly the counts it judges frequent.
    onehot = pd.DataFrame(
        {f"item{j}": np.arange(n) < j for j in range(n + 1)},
    )
    itemsets = miner(onehot, min_support=min_support, use_colnames=True, max_len=1)
    kept = sorted(int(next(iter(s))[4:]) for s in itemsets["itemsets"])
    assert kept == list(range(min_count(n, min_support), n + 1))


@pytest.fixture(scope="module")
def records_1500() -> kgmed.Records:
    return kgmed.datasets.synthetic(1500, random_state=2)


@pytest.mark.parametrize(
    ("algorithm", "max_len"), [("pairs", 2), ("fpgrowth", 2), ("apriori", 2), ("fpgrowth", 3)]
)
def test_default_floor_suppresses_small_cells(
    records_1500: kgmed.Records, algorithm: str, max_len: int
) -> None:
    options = {"min_support": 0.004, "min_confidence": 0.0, "max_len": max_len}
    floored = mine_rules(records_1500, algorithm=algorithm, **options)
    unfloored = mine_rules(records_1500, algorithm=algorithm, min_patients=1, **options)
    assert len(floored) > 0
    assert floored["n_both"].min() >= 11
    # Without the floor the same data give small cells, so the floor did work.
    assert (unfloored["n_both"] < 11).sum() > 0
    # The floor removes rules and changes nothing else about the rest, but
    # their q-values, whose family it shrinks.
    kept = unfloored[unfloored["n_both"] >= 11].reset_index(drop=True)
    columns = [c for c in RULE_COLUMNS if c != "q_value"]
    pd.testing.assert_frame_equal(floored[columns], kept[columns], check_exact=True)


@pytest.mark.parametrize("min_patients", [11, 25, 60])
def test_floor_above_min_support(records_1500: kgmed.Records, min_patients: int) -> None:
    rules = mine_rules(
        records_1500, min_support=0.001, min_confidence=0.0, min_patients=min_patients
    )
    pairs = pair_counts(transactions(records_1500), min_support=0.001, min_patients=min_patients)
    assert rules["n_both"].min() == pairs.n_both.min() >= min_patients
    assert len(rules) == 2 * len(pairs)


def test_rules_carry_no_patient_ids(records_1500: kgmed.Records) -> None:
    rules = mine_rules(records_1500, min_support=0.004, max_len=3, algorithm="fpgrowth")
    items = set().union(*rules["antecedents"], *rules["consequents"])
    assert items <= set(records_1500.data["concept_id"])
    assert not items & set(records_1500.data["patient_id"])
    assert "patient_id" not in rules.columns


@pytest.mark.parametrize("min_patients", [0, -1, 1.5, True, "11"])
def test_min_patients_must_be_a_positive_integer(
    records_1500: kgmed.Records, min_patients: object
) -> None:
    with pytest.raises(ParameterError, match="min_patients"):
        mine_rules(records_1500, min_patients=min_patients)  # type: ignore[arg-type]
