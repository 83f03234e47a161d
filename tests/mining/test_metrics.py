"""Tests for kgmed.mining.metrics: mlxtend's rule metrics computed from counts."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import association_rules

from kgmed.mining import METRIC_COLUMNS, rule_metrics


def _random_counts(
    rng: np.random.Generator, n: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Consistent (n_antecedent, n_consequent, n_both) for ``size`` rules over n baskets."""
    a = rng.integers(1, n + 1, size=size)
    c = rng.integers(1, n + 1, size=size)
    low = np.maximum(0, a + c - n)
    high = np.minimum(a, c)
    both = low + np.floor(rng.random(size) * (high - low + 1)).astype(np.int64)
    # The edges: confidence 1, consequent everywhere, antecedent everywhere,
    # the fewest and the most baskets with both.
    a[:4], c[:4], both[:4] = [n, n, 1, 1], [n, 1, n, 1], [n, 1, 1, 1]
    both[4:8] = np.minimum(a[4:8], c[4:8])
    both[8:12] = low[8:12]
    return a, c, both


def _mlxtend(a: np.ndarray, c: np.ndarray, both: np.ndarray, n: int) -> pd.DataFrame:
    """mlxtend's association_rules on itemsets {A_i}, {C_i}, {A_i, C_i} with those supports."""
    m = len(a)
    itemsets = pd.DataFrame(
        {
            "support": np.concatenate([a / n, c / n, both / n]),
            "itemsets": [frozenset({f"A{i}"}) for i in range(m)]
            + [frozenset({f"C{i}"}) for i in range(m)]
            + [frozenset({f"A{i}", f"C{i}"}) for i in range(m)],
        }
    )
    # mlxtend divides by zero inside np.where for a consequent in every basket.
    with np.errstate(divide="ignore", invalid="ignore"):
        rules = association_rules(itemsets, num_itemsets=n, metric="confidence", min_threshold=0.0)
    forward = rules[rules["antecedents"].map(lambda s: next(iter(s)).startswith("A"))]
    position = forward["antecedents"].map(lambda s: int(next(iter(s))[1:]))
    return forward.set_index(position.to_numpy()).sort_index()


@pytest.mark.parametrize(
    ("n", "seed"), [(1, 0), (7, 1), (100, 2), (4920, 3), (8124, 4), (10**6, 5)]
)
def test_rule_metrics_equal_mlxtend(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, c, both = _random_counts(rng, n, 400)
    ours = rule_metrics(a, c, both, n)
    theirs = _mlxtend(a, c, both, n)
    assert len(theirs) == len(ours)
    for column in METRIC_COLUMNS:
        np.testing.assert_allclose(
            ours[column].to_numpy(),
            theirs[column].to_numpy(dtype=float),
            rtol=1e-12,
            err_msg=column,
        )


@pytest.mark.parametrize("n", [25, 97, 1234, 3000, 4920])
def test_confidence_is_mlxtends_to_the_last_bit(n: int) -> None:
    # A rule whose confidence lies exactly on min_confidence is kept or
    # dropped by comparing this number, so it must be mlxtend's own float
    # (count / n * n can be off by one bit), not merely close to it.
    rng = np.random.default_rng(n)
    a, c, both = _random_counts(rng, n, 2000)
    ours = rule_metrics(a, c, both, n)
    theirs = _mlxtend(a, c, both, n)
    for column in ("confidence", "lift", "certainty", "kulczynski", "conviction"):
        np.testing.assert_array_equal(
            ours[column].to_numpy(), theirs[column].to_numpy(dtype=float), err_msg=column
        )


def test_rule_metrics_by_hand() -> None:
    # 200 baskets, 40 with A, 50 with C, 30 with both.
    m = rule_metrics([40], [50], [30], 200).iloc[0]
    s_a, s_c, s_ac = Fraction(40, 200), Fraction(50, 200), Fraction(30, 200)
    confidence = s_ac / s_a
    leverage = s_ac - s_a * s_c
    expected = {
        "antecedent support": s_a,
        "consequent support": s_c,
        "support": s_ac,
        "confidence": confidence,
        "lift": confidence / s_c,
        "representativity": Fraction(1),
        "leverage": leverage,
        "conviction": (1 - s_c) / (1 - confidence),
        "zhangs_metric": leverage / max(s_ac * (1 - s_a), s_a * (s_c - s_ac)),
        "jaccard": Fraction(30, 40 + 50 - 30),
        "certainty": (confidence - s_c) / (1 - s_c),
        "kulczynski": (Fraction(30, 40) + Fraction(30, 50)) / 2,
    }
    assert list(expected) == list(METRIC_COLUMNS)
    for column, value in expected.items():
        assert m[column] == pytest.approx(float(value), rel=1e-15), column


def test_columns_are_mlxtends_in_its_order() -> None:
    itemsets = pd.DataFrame(
        {"support": [0.5, 0.5, 0.25], "itemsets": [frozenset("a"), frozenset("c"), frozenset("ac")]}
    )
    rules = association_rules(itemsets, num_itemsets=4, metric="confidence", min_threshold=0.0)
    assert list(rules.columns) == ["antecedents", "consequents", *METRIC_COLUMNS]
    assert list(rule_metrics([2], [2], [1], 4).columns) == list(METRIC_COLUMNS)


def test_conviction_is_infinite_exactly_at_confidence_one() -> None:
    a = np.array([10, 10, 10, 7])
    both = np.array([10, 9, 1, 7])
    m = rule_metrics(a, [20, 20, 20, 7], both, 50)
    np.testing.assert_array_equal(np.isinf(m["conviction"]), both == a)
    assert (m.loc[both == a, "confidence"] == 1.0).all()


def test_certainty_and_zhang_where_mlxtend_guards_zero() -> None:
    # Consequent in every basket: certainty's denominator is 0 and mlxtend
    # gives 0. Antecedent and consequent in every basket: Zhang's too.
    m = rule_metrics([5, 10], [10, 10], [5, 10], 10)
    assert m["certainty"].tolist() == [0.0, 0.0]
    assert m["zhangs_metric"].tolist() == [0.0, 0.0]


def test_rule_metrics_of_no_rules() -> None:
    empty = np.array([], dtype=np.int64)
    m = rule_metrics(empty, empty, empty, 100)
    assert list(m.columns) == list(METRIC_COLUMNS)
    assert len(m) == 0
