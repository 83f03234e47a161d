"""Strata of age and sex, and the Mantel–Haenszel statistics, against statsmodels."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from statsmodels.stats.contingency_tables import StratifiedTable

import kgmed
from kgmed.errors import ColumnNotFound, ParameterError
from kgmed.mining import mantel_haenszel, strata, stratified_pair_counts, transactions
from kgmed.mining.stratified import Strata


def _tables(rng: np.random.Generator, n_strata: int) -> np.ndarray:
    """Random 2 x 2 tables, one per stratum: [[a, b], [c, d]]."""
    return rng.integers(0, 40, size=(n_strata, 2, 2))


@pytest.mark.parametrize("seed", range(25))
def test_mantel_haenszel_is_statsmodels(seed):
    rng = np.random.default_rng(seed)
    tables = _tables(rng, int(rng.integers(1, 8)))
    tables = tables[tables.sum(axis=(1, 2)) >= 2]
    if len(tables) == 0:
        pytest.skip("no informative stratum drawn")
    a, b, c, d = tables[:, 0, 0], tables[:, 0, 1], tables[:, 1, 0], tables[:, 1, 1]
    n = a + b + c + d
    odds, z, p = mantel_haenszel(a[:, None], (a + b)[:, None], (a + c)[:, None], n)
    reference = StratifiedTable(tables.transpose(1, 2, 0).astype(float))
    expected_odds = reference.oddsratio_pooled
    if np.isfinite(expected_odds):
        assert odds[0] == pytest.approx(expected_odds, rel=1e-10)
    test = reference.test_null_odds(correction=False)
    assert z[0] ** 2 == pytest.approx(test.statistic, rel=1e-9, abs=1e-12)
    # One-sided upper tail: half the two-sided p-value on the side of the data.
    two_sided = test.pvalue
    assert p[0] == pytest.approx(two_sided / 2 if z[0] > 0 else 1 - two_sided / 2, rel=1e-7)


def test_mantel_haenszel_explains_away_a_confounder():
    # Within each age band back pain is as common with hypertension as
    # without; pooled crudely, the two go together.
    both, first, second = np.array([[1], [30]]), np.array([[10], [50]]), np.array([[50], [60]])
    total = np.array([500, 100])
    odds, _, p = mantel_haenszel(both, first, second, total)
    assert odds[0] == pytest.approx(1.0)
    assert p[0] == pytest.approx(0.5)
    crude_lift = (both.sum() / total.sum()) / (
        first.sum() / total.sum() * second.sum() / total.sum()
    )
    assert crude_lift > 2.5


def test_mantel_haenszel_many_pairs_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    n_strata, n_pairs = 6, 40
    total = rng.integers(50, 200, size=n_strata)
    first = rng.integers(0, 50, size=(n_strata, n_pairs))
    second = rng.integers(0, 50, size=(n_strata, n_pairs))
    both = np.minimum(first, second) // 2
    odds, z, p = mantel_haenszel(both, first, second, total)
    for k in range(n_pairs):
        one = mantel_haenszel(both[:, [k]], first[:, [k]], second[:, [k]], total)
        assert (odds[k], z[k], p[k]) == pytest.approx((one[0][0], one[1][0], one[2][0]))


def test_stratified_pair_counts_equal_a_recount():
    rng = np.random.default_rng(0)
    dense = rng.random((400, 12)) < 0.3
    codes = rng.integers(0, 5, size=400)
    groups = Strata(codes=codes, labels=tuple("abcde"), by=("age",))
    first, second = np.triu_indices(12, 1)
    both, n1, n2 = stratified_pair_counts(sparse.csr_array(dense), groups, first, second)
    for s in range(5):
        rows = dense[codes == s]
        assert both[s].tolist() == (rows[:, first] & rows[:, second]).sum(axis=0).tolist()
        assert n1[s].tolist() == rows[:, first].sum(axis=0).tolist()
        assert n2[s].tolist() == rows[:, second].sum(axis=0).tolist()
    # Pairs given in either order, and a stratum of one row.
    groups = Strata(codes=np.r_[np.zeros(399, dtype=np.int64), 1], labels=("x", "y"), by=("age",))
    both, _, _ = stratified_pair_counts(sparse.csr_array(dense), groups, second, first)
    assert both.sum(axis=0).tolist() == (dense[:, second] & dense[:, first]).sum(axis=0).tolist()


def test_strata_of_synthetic_patients():
    records = kgmed.datasets.synthetic(2000, random_state=0)
    t = transactions(records)
    s = strata(t, records.patients)
    assert s.by == ("age", "sex")
    assert s.n_strata == 18  # nine age bands, two sexes
    assert s.sizes().sum() == t.n_baskets
    ages = records.patients["age"].reindex(t.baskets).to_numpy()
    for code in range(s.n_strata):
        band = ages[s.codes == code]
        assert band.max() - band.min() <= 10 or "80 and over" in s.labels[code]
    assert strata(t, records.patients, by=["sex"]).n_strata == 2


def test_strata_with_covariates_and_unknowns():
    df = pd.DataFrame({"patient_id": list("abcdef"), "concept": "flu", "kind": "disease"})
    t = transactions(kgmed.Records.from_dataframe(df))
    people = pd.DataFrame(
        {
            "age": [30, 31, None, 70, 71, 72],
            "sex": ["female", "female", "male", None, None, "male"],
            "site": ["x", "y", "x", "x", "x", None],
        },
        index=list("abcdef"),
    )
    s = strata(t, people, by=["age", "sex", "site"], age_bands=(50,))
    assert s.by == ("age", "sex", "site")
    labels = [s.labels[c] for c in s.codes]
    assert labels[0] == "age under 50, female, site x"
    assert labels[2] == "age unknown, male, site x"
    assert labels[3] == labels[4] == "age 50 and over, unknown, site x"
    assert labels[5] == "age 50 and over, male, site unknown"


def test_strata_errors():
    df = pd.DataFrame({"patient_id": ["a"], "concept": "flu", "kind": "disease"})
    t = transactions(kgmed.Records.from_dataframe(df))
    people = pd.DataFrame({"age": [3], "sex": ["male"]}, index=["a"])
    with pytest.raises(ColumnNotFound, match="smoker"):
        strata(t, people, by=["age", "smoker"])
    with pytest.raises(ParameterError, match="once each"):
        strata(t, people, by=["sex", "sex"])
    with pytest.raises(ParameterError, match="once each"):
        strata(t, people, by=[])
    with pytest.raises(ParameterError, match="increasing"):
        strata(t, people, age_bands=(40, 20))


def test_strata_know_their_age_bands_and_neighbours():
    df = pd.DataFrame({"patient_id": list("abcdefg"), "concept": "flu", "kind": "disease"})
    t = transactions(kgmed.Records.from_dataframe(df))
    people = pd.DataFrame(
        {
            "age": [5, 25, 45, 65, 5, 66, None],
            "sex": ["female"] * 4 + ["male"] * 2 + ["female"],
        },
        index=list("abcdefg"),
    )
    s = strata(t, people, age_bands=(20, 40, 60))
    near = s.neighbours()
    label = {name: i for i, name in enumerate(s.labels)}
    young, twenties = label["age under 20, female"], label["age 20-39, female"]
    old_f, old_m = label["age 60 and over, female"], label["age 60 and over, male"]
    unknown = label["age unknown, female"]
    assert near[young, twenties] == near[twenties, young] == 1
    assert near[young, old_f] == 0
    assert near[old_f, old_m] == 0  # another sex is no neighbour
    assert near[unknown].sum() == 1
    assert near[unknown, unknown] == 1
    assert (np.diag(near) == 1).all()
    # Without age, each stratum neighbours only itself.
    assert (strata(t, people, by=["sex"]).neighbours() == np.eye(2)).all()


def test_sparse_age_bands_merge_until_strata_hold_enough():
    records = kgmed.datasets.synthetic(300, random_state=0)
    t = transactions(records)
    fine = strata(t, records.patients)
    merged = strata(t, records.patients, min_stratum=30)
    assert merged.n_strata < fine.n_strata
    sizes = merged.sizes()
    assert sizes.mean() >= 30
    # Merged bands stay contiguous: within one sex, strata cover disjoint age ranges.
    ages = records.patients["age"].reindex(t.baskets).to_numpy()
    sexes = records.patients["sex"].reindex(t.baskets).to_numpy()
    for sex in ("female", "male"):
        ranges = sorted(
            (
                ages[(merged.codes == code) & (sexes == sex)].min(),
                ages[(merged.codes == code) & (sexes == sex)].max(),
            )
            for code in np.unique(merged.codes[sexes == sex])
        )
        assert len(ranges) > 1
        assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
