"""Tests for kgmed.mining.significance and the p- and q-values of mined rules."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact

import kgmed
from kgmed.mining import benjamini_hochberg, fisher_greater, mine_rules


def _scipy_p(k: int, a: int, c: int, n: int) -> float:
    table = [[k, a - k], [c - k, n - a - c + k]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def _exact_p(k: int, a: int, c: int, n: int) -> float:
    """The upper tail in exact rational arithmetic (small tables only)."""
    tail = sum(comb(a, x) * comb(n - a, c - x) for x in range(k, min(a, c) + 1))
    return float(Fraction(tail, comb(n, c)))


def _random_tables(rng: np.random.Generator, size: int, max_n: int) -> np.ndarray:
    """Rows (n_both, n_antecedent, n_consequent, n_total) of consistent 2 × 2 tables."""
    n = rng.integers(1, max_n + 1, size=size)
    a = np.floor(rng.random(size) * (n + 1)).astype(np.int64)
    c = np.floor(rng.random(size) * (n + 1)).astype(np.int64)
    low, high = np.maximum(0, a + c - n), np.minimum(a, c)
    k = low + np.floor(rng.random(size) * (high - low + 1)).astype(np.int64)
    return np.column_stack([k, a, c, n])


def _hand_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg written out: sort, p * m / rank, running minimum from the top, clip."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(adjusted, 1.0)
    return q


# -- fisher_greater -----------------------------------------------------------------


@pytest.mark.parametrize(("seed", "max_n"), [(0, 30), (1, 500), (2, 5000), (3, 100_000)])
def test_fisher_greater_equals_scipy(seed: int, max_n: int) -> None:
    tables = _random_tables(np.random.default_rng(seed), 300, max_n)
    p = fisher_greater(tables[:, 0], tables[:, 1], tables[:, 2], tables[:, 3])
    expected = [_scipy_p(*map(int, row)) for row in tables]
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    ("n_both", "n_antecedent", "n_consequent", "n_total"),
    [
        (0, 5, 5, 20),  # nothing together: p = 1
        (5, 15, 10, 20),  # the least possible: p = 1
        (5, 5, 5, 20),  # n_both = min(n_a, n_c)
        (10, 15, 10, 20),  # n_both = min(n_a, n_c), a and c overlapping
        (3, 3, 3, 3),  # everything everywhere
        (0, 0, 4, 10),  # an empty antecedent
        (4, 10, 4, 10),  # antecedent in every basket
        (300, 300, 300, 1200),  # p ~ 3e-292
        (308, 308, 308, 1232),  # p ~ 1e-300
        (1, 1, 1, 10**6),  # one in a million, together once
    ],
)
def test_fisher_greater_edge_cases(
    n_both: int, n_antecedent: int, n_consequent: int, n_total: int
) -> None:
    assert max(0, n_antecedent + n_consequent - n_total) <= n_both
    p = fisher_greater([n_both], [n_antecedent], [n_consequent], [n_total])
    # Exact: scipy's own answer for (1, 1, 1, 10**6) is 1e-6 * (1 + 1.1e-10).
    expected = _exact_p(n_both, n_antecedent, n_consequent, n_total)
    np.testing.assert_allclose(p, [expected], rtol=1e-13, atol=0)
    assert 0.0 <= p[0] <= 1.0


@pytest.mark.parametrize("seed", range(4))
def test_fisher_greater_equals_exact_rational_arithmetic(seed: int) -> None:
    tables = _random_tables(np.random.default_rng(100 + seed), 60, 400)
    p = fisher_greater(tables[:, 0], tables[:, 1], tables[:, 2], tables[:, 3])
    expected = [_exact_p(*map(int, row)) for row in tables]
    np.testing.assert_allclose(p, expected, rtol=1e-13, atol=1e-300)


def test_fisher_greater_on_large_tables_near_and_far_from_independence() -> None:
    # Tables the size of a million patients, from the mode to the far tail:
    # the sums run to hundreds of terms near the mode.
    n, a, c = 10**6, 60_000, 45_000
    mean = a * c // n
    k = np.array([mean - 400, mean - 30, mean, mean + 1, mean + 30, mean + 400, 9_000])
    p = fisher_greater(k, a, c, n)
    # scipy's hypergeometric tail is itself off by ~5e-11 at this size.
    expected = [_scipy_p(int(x), a, c, n) for x in k]
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=0)
    assert np.all(np.diff(p) < 0)
    # Far in the tail, exact integer arithmetic is quick: 1e-14 there.
    x = int(k[5])
    term = comb(a, x) * comb(n - a, c - x)
    terms = 0
    while term * 10**20 >= terms:
        terms += term
        # The next term, exactly: C(a, x + 1) C(n - a, c - x - 1) is an integer.
        term = term * (a - x) * (c - x) // ((x + 1) * (n - a - c + x + 1))
        x += 1
    assert p[5] == pytest.approx(float(Fraction(terms, comb(n, c))), rel=1e-14)


def test_fisher_greater_keeps_the_shape_of_its_input() -> None:
    p = fisher_greater(np.array([[3, 4], [5, 0]]), 10, 10, 40)
    assert p.shape == (2, 2)
    assert fisher_greater(3, 10, 10, 40).shape == ()


def test_fisher_greater_tiny_p_is_not_zero() -> None:
    p = fisher_greater([308], [308], [308], [1232])[0]
    assert 0.0 < p < 1e-298


def test_fisher_greater_at_the_ends_of_the_table() -> None:
    # No basket with both, or the fewest the margins allow: certain.
    assert fisher_greater([0, 5], [5, 15], [5, 10], [20]).tolist() == [1.0, 1.0]
    # Every basket with A has C and vice versa: the hypergeometric point
    # probability 1 / C(20, 5).
    assert fisher_greater([5], [5], [5], [20])[0] == pytest.approx(1 / comb(20, 5), rel=1e-12)


def test_fisher_greater_is_the_exact_hypergeometric_tail() -> None:
    # Sum the tail in exact rational arithmetic for every table of 12 baskets.
    n = 12
    rows, expected = [], []
    for a in range(n + 1):
        for c in range(n + 1):
            for k in range(max(0, a + c - n), min(a, c) + 1):
                tail = sum(
                    Fraction(comb(c, x) * comb(n - c, a - x), comb(n, a))
                    for x in range(k, min(a, c) + 1)
                )
                rows.append((k, a, c))
                expected.append(float(tail))
    k, a, c = map(np.array, zip(*rows, strict=True))
    np.testing.assert_allclose(fisher_greater(k, a, c, n), expected, rtol=1e-12, atol=0)


def test_fisher_greater_broadcasts_n_total() -> None:
    tables = _random_tables(np.random.default_rng(7), 50, 400)
    tables[:, 3] = 400
    tables[:, 1:3] = np.minimum(tables[:, 1:3], 400)
    scalar = fisher_greater(tables[:, 0], tables[:, 1], tables[:, 2], 400)
    vector = fisher_greater(tables[:, 0], tables[:, 1], tables[:, 2], tables[:, 3])
    np.testing.assert_array_equal(scalar, vector)
    assert scalar.dtype == np.float64


# -- benjamini_hochberg -------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 10, 137, 5000])
@pytest.mark.parametrize("seed", [0, 1])
def test_benjamini_hochberg_equals_hand_bh(size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Uniform p-values, a clump of small ones, ties, exact 0 and 1.
    p = rng.random(size) ** rng.choice([1.0, 4.0], size=size)
    if size >= 10:
        p[: size // 5] = p[size // 5 : 2 * (size // 5)]
        p[0], p[-1] = 0.0, 1.0
    rng.shuffle(p)
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q, _hand_bh(p), rtol=1e-12, atol=0)
    assert q.shape == p.shape
    assert (q >= p).all()
    assert (q <= 1.0).all()


def test_benjamini_hochberg_by_hand() -> None:
    q = benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.05])
    np.testing.assert_allclose(q, [0.05] * 5, rtol=1e-12)
    q = benjamini_hochberg([0.04, 0.001, 0.9, 0.03])
    # Ranks 3, 1, 4, 2: 0.04 * 4/3, 0.001 * 4, 0.9, and min(0.03 * 4/2, 0.04 * 4/3)
    # because a q-value is never above that of a larger p-value.
    np.testing.assert_allclose(q, [0.04 * 4 / 3, 0.004, 0.9, 0.04 * 4 / 3], rtol=1e-12)
    # Clipped to 1.
    assert benjamini_hochberg([0.6, 0.9, 0.7]).tolist() == [0.9, 0.9, 0.9]


def test_benjamini_hochberg_of_nothing() -> None:
    q = benjamini_hochberg([])
    assert q.shape == (0,)
    assert q.dtype == np.float64
    assert benjamini_hochberg(np.array([], dtype=float)).shape == (0,)


# -- p- and q-values of mined rules ---------------------------------------------------


@pytest.fixture(scope="module")
def records_2000() -> kgmed.Records:
    return kgmed.datasets.synthetic(2000, random_state=11)


CASES = [("pairs", 2), ("fpgrowth", 2), ("apriori", 2), ("fpgrowth", 3), ("apriori", 3)]


def _by_rule(rules: pd.DataFrame) -> pd.DataFrame:
    return rules.set_index([rules["antecedents"], rules["consequents"]])


@pytest.mark.parametrize(("algorithm", "max_len"), CASES)
def test_q_values_are_taken_before_the_confidence_filter(
    records_2000: kgmed.Records, algorithm: str, max_len: int
) -> None:
    options = {"min_support": 0.01, "min_patients": 1, "max_len": max_len, "algorithm": algorithm}
    everything = _by_rule(mine_rules(records_2000, min_confidence=0.0, **options))
    confident = _by_rule(mine_rules(records_2000, min_confidence=0.5, **options))
    # The filter must drop rules, or the family could not have shrunk.
    assert 0 < len(confident) < len(everything) / 2
    kept = everything.loc[confident.index]
    np.testing.assert_array_equal(confident["q_value"], kept["q_value"])
    np.testing.assert_array_equal(confident["p_value"], kept["p_value"])


@pytest.mark.parametrize(("algorithm", "max_len"), CASES)
def test_q_values_are_bh_over_distinct_tables(
    records_2000: kgmed.Records, algorithm: str, max_len: int
) -> None:
    rules = mine_rules(
        records_2000,
        min_support=0.01,
        min_confidence=0.0,
        min_patients=1,
        max_len=max_len,
        algorithm=algorithm,
    )
    # X → Y and Y → X are the same 2 × 2 table, so one test of the family.
    tests = pd.Series(
        [frozenset((a, c)) for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)]
    )
    assert (tests.value_counts() == 2).all()
    family = rules.assign(test=tests).groupby("test", sort=False)
    assert (family["p_value"].nunique() == 1).all()
    assert (family["q_value"].nunique() == 1).all()
    p = family["p_value"].first()
    q = pd.Series(_hand_bh(p.to_numpy()), index=p.index)
    np.testing.assert_allclose(rules["q_value"], q.loc[tests].to_numpy(), rtol=1e-12, atol=0)
    if max_len > 2:
        assert (rules["antecedents"].map(len) + rules["consequents"].map(len) == 3).any()


@pytest.mark.parametrize(("algorithm", "max_len"), CASES)
def test_p_values_of_rules_equal_scipy(
    records_2000: kgmed.Records, algorithm: str, max_len: int
) -> None:
    rules = mine_rules(
        records_2000,
        min_support=0.01,
        min_confidence=0.0,
        min_patients=1,
        max_len=max_len,
        algorithm=algorithm,
    )
    sample = rules.sample(n=min(150, len(rules)), random_state=0)
    expected = [
        _scipy_p(int(r.n_both), int(r.n_antecedent), int(r.n_consequent), int(r.n_total))
        for r in sample.itertuples()
    ]
    np.testing.assert_allclose(sample["p_value"], expected, rtol=1e-12, atol=0)
    # Strong associations exist in the generator's model; they must show.
    assert (rules["q_value"] < 1e-10).any()
