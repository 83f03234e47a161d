"""Adjusting for who the patients are: strata of age and sex, Mantel–Haenszel.

Older patients have both hypertension and chronic back pain; women of
child-bearing age have both a pregnancy and a contraceptive. A crude 2 × 2
table calls such pairs associated. Within strata of patients alike in age
band and sex (and any covariates a user names) the pair is compared among
comparable people, and the Cochran–Mantel–Haenszel test pools the strata:
its common odds ratio (Mantel and Haenszel 1959) is the association that
age and sex do not explain, and its one-sided test says whether that is
more than chance. The statistics are the ones
``statsmodels.stats.contingency_tables.StratifiedTable`` gives, computed for
every pair at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse, special

from kgmed._validation import check_columns
from kgmed.errors import ParameterError
from kgmed.mining.pairs import upper_pair_counts
from kgmed.mining.significance import benjamini_hochberg
from kgmed.mining.transactions import Transactions

__all__ = [
    "ADJUSTED_COLUMNS",
    "AGE_BANDS",
    "Strata",
    "adjust_rules",
    "mantel_haenszel",
    "strata",
    "stratified_pair_counts",
]

#: Columns :func:`adjust_rules` adds to a rules table.
ADJUSTED_COLUMNS: tuple[str, ...] = ("adjusted_odds_ratio", "adjusted_p_value", "adjusted_q_value")

#: Where the default age bands start (years): under 10, 10 to 19, ... 80 and over.
AGE_BANDS: tuple[float, ...] = (10, 20, 30, 40, 50, 60, 70, 80)

# A numeric covariate with more distinct values than this is cut into quintiles.
_MAX_LEVELS = 10


@dataclass(frozen=True)
class Strata:
    """The stratum of each basket: patients alike in age band, sex and covariates.

    Attributes
    ----------
    codes : numpy.ndarray of int
        The stratum (numbered from 0) of each row of the matrix.
    labels : tuple of str
        A name for each stratum (``"age 40-49, female"``).
    by : tuple of str
        What the strata are made of (``("age", "sex")``).

    Examples
    --------
    >>> import kgmed
    >>> from kgmed.mining import strata, transactions
    >>> records = kgmed.datasets.synthetic(1000, random_state=0)
    >>> s = strata(transactions(records), records.patients)
    >>> s.n_strata, s.labels[0], s.by
    (18, 'age under 10, female', ('age', 'sex'))
    """

    codes: npt.NDArray[np.int64]
    labels: tuple[str, ...]
    by: tuple[str, ...]
    age_band: npt.NDArray[np.int64] | None = None
    others: npt.NDArray[np.int64] | None = None

    @property
    def n_strata(self) -> int:
        """Number of strata."""
        return len(self.labels)

    def neighbours(self) -> npt.NDArray[np.float64]:
        """Which strata are alike: the same in all but age, and in neighbouring age bands.

        Returns
        -------
        numpy.ndarray of float, shape (n_strata, n_strata)
            1 where two strata differ at most by one age band (and are the
            same in sex and covariates), else 0; a stratum of unknown age,
            or strata made without age, neighbour only themselves.

        Examples
        --------
        >>> import numpy as np
        >>> from kgmed.mining.stratified import Strata
        >>> s = Strata(np.array([0, 1, 2]), ("young", "middle", "old"), ("age",),
        ...            age_band=np.array([0, 1, 2]), others=np.array([0, 0, 0]))
        >>> s.neighbours().astype(int).tolist()
        [[1, 1, 0], [1, 1, 1], [0, 1, 1]]
        """
        n = self.n_strata
        if self.age_band is None or self.others is None:
            return np.eye(n)
        band, rest = self.age_band, self.others
        near = (np.abs(band[:, None] - band[None, :]) <= 1) & (rest[:, None] == rest[None, :])
        near &= (band[:, None] >= 0) & (band[None, :] >= 0)
        return np.asarray(near | np.eye(n, dtype=bool), dtype=np.float64)

    def sizes(self) -> npt.NDArray[np.int64]:
        """Rows in each stratum."""
        return np.bincount(self.codes, minlength=self.n_strata).astype(np.int64)


def strata(
    transactions: Transactions,
    patients: pd.DataFrame,
    *,
    by: Sequence[str] = ("age", "sex"),
    age_bands: Sequence[float] = AGE_BANDS,
    min_stratum: int = 0,
) -> Strata:
    """Stratify the rows of a matrix by the age band, sex and covariates of their patients.

    Parameters
    ----------
    transactions : Transactions
        The basket × concept matrix; encounter rows take their patient's
        stratum.
    patients : pandas.DataFrame
        ``Records.patients``: indexed by patient id, with ``age`` and
        ``sex`` and any covariate columns.
    by : sequence of str, default ("age", "sex")
        Columns of ``patients`` to stratify by: ``age`` is cut into
        ``age_bands``; any other column is taken by its values, except that
        a numeric column of more than ten values is cut into quintiles.
    age_bands : sequence of float, default :data:`AGE_BANDS`
        Where each age band starts, increasing.
    min_stratum : int, default 0
        Merge neighbouring age bands until each holds, on average over the
        other levels, at least this many rows: with few patients, decades
        of age leave strata of a handful, which can hide any relation;
        broader bands keep the comparison among patients alike and its
        power. 0 keeps ``age_bands`` as given.

    Returns
    -------
    Strata
        Only strata that hold a row are numbered. A missing age, sex or
        covariate is a level of its own (``"age unknown"``).

    Raises
    ------
    ColumnNotFound
        If ``patients`` lacks a column of ``by``.
    ParameterError
        If ``by`` is empty or names a column twice, or ``age_bands`` does
        not increase.

    Examples
    --------
    >>> import pandas as pd
    >>> import kgmed
    >>> from kgmed.mining import strata, transactions
    >>> df = pd.DataFrame({"patient_id": ["a", "b", "c"], "concept": "flu", "kind": "disease"})
    >>> t = transactions(kgmed.Records.from_dataframe(df))
    >>> people = pd.DataFrame({"age": [8, 70, None], "sex": ["female", "male", "male"]},
    ...                       index=["a", "b", "c"])
    >>> s = strata(t, people, age_bands=(18, 65))
    >>> s.codes.tolist(), s.labels
    ([0, 1, 2], ('age under 18, female', 'age 65 and over, male', 'age unknown, male'))
    """
    names = [str(name) for name in by]
    if not names or len(set(names)) != len(names):
        raise ParameterError(f"by must name columns of patients once each, got {list(by)}")
    check_columns(patients, dict.fromkeys(names), where="patients")
    if transactions.unit == "patient":
        owners = transactions.baskets
    else:
        owners = pd.Index(transactions.baskets.get_level_values(0))
    table = patients.reindex(owners.astype(object))
    found = {
        name: _levels(table[name], name, numeric=name != "sex") for name in names if name != "age"
    }
    if "age" in names:
        cuts = _check_bands(age_bands)
        if min_stratum > 0:
            # The rows an age band holds are shared among the other levels' values.
            n_other = int(np.prod([len(np.unique(level.codes)) for level in found.values()]))
            cuts = _merge_bands(table["age"], cuts, min_stratum * n_other)
        found["age"] = _age_levels(table["age"], cuts)
    levels = [found[name] for name in names]
    codes = np.zeros(len(table), dtype=np.int64)
    for level in levels:
        codes = codes * len(level.categories) + level.codes.astype(np.int64)
    used, codes = np.unique(codes, return_inverse=True)
    labels = []
    age_band = np.full(len(used), -1, dtype=np.int64)
    others = np.zeros(len(used), dtype=np.int64)
    for i, code in enumerate(used):
        parts = []
        for name, level in zip(reversed(names), reversed(levels), strict=True):
            size = len(level.categories)
            value = int(code % size)
            parts.append(str(level.categories[value]))
            if name == "age":
                # The last category is "age unknown", which neighbours nothing.
                age_band[i] = value if value < size - 1 else -1
            else:
                others[i] = others[i] * size + value
            code //= size
        labels.append(", ".join(reversed(parts)))
    return Strata(
        codes=codes.ravel().astype(np.int64),
        labels=tuple(labels),
        by=tuple(names),
        age_band=age_band if "age" in names else None,
        others=others,
    )


def _check_bands(bands: Sequence[float]) -> list[float]:
    cuts = [float(b) for b in bands]
    if any(b <= a for a, b in itertools.pairwise(cuts)) or not cuts:
        raise ParameterError(f"age_bands must be increasing ages, got {list(bands)}")
    return cuts


def _merge_bands(age: pd.Series, cuts: list[float], least: int) -> list[float]:
    """Drop cuts between age bands, the smallest band first, until each holds ``least`` rows."""
    years = pd.to_numeric(age, errors="coerce").to_numpy(dtype=float)
    years = years[~np.isnan(years)]
    cuts = list(cuts)
    while cuts:
        counts = np.bincount(
            np.searchsorted(np.asarray(cuts), years, side="right"), minlength=len(cuts) + 1
        )
        smallest = int(np.argmin(counts))
        if counts[smallest] >= least:
            break
        # Join the band to its smaller neighbour: drop the cut between them.
        if smallest == 0:
            drop = 0
        elif smallest == len(cuts):
            drop = len(cuts) - 1
        else:
            drop = smallest - 1 if counts[smallest - 1] <= counts[smallest + 1] else smallest
        del cuts[drop]
    return cuts


def _age_levels(age: pd.Series, cuts: list[float]) -> pd.Categorical:
    if not cuts:
        years = pd.to_numeric(age, errors="coerce").to_numpy(dtype=float)
        names = ["age known", "age unknown"]
        band = np.where(np.isnan(years), 1, 0)
        return pd.Categorical(np.asarray(names, dtype=object)[band], categories=names)
    names = [f"age under {cuts[0]:g}"]
    names += [f"age {a:g}-{b - 1:g}" for a, b in itertools.pairwise(cuts)]
    names += [f"age {cuts[-1]:g} and over", "age unknown"]
    years = pd.to_numeric(age, errors="coerce").to_numpy(dtype=float)
    band = np.searchsorted(np.asarray(cuts), years, side="right")
    band = np.where(np.isnan(years), len(cuts) + 1, band)
    return pd.Categorical(np.asarray(names, dtype=object)[band], categories=names)


def _levels(values: pd.Series, name: str, *, numeric: bool) -> pd.Categorical:
    numbers = pd.to_numeric(values, errors="coerce") if numeric else None
    if (
        numbers is not None
        and numbers.notna().sum() == values.notna().sum()
        and numbers.nunique() > _MAX_LEVELS
    ):
        values = pd.qcut(numbers, 5, duplicates="drop").astype("string")
    text = values.astype("string").fillna("unknown")
    prefix = "" if name == "sex" else f"{name} "
    cats = [*sorted(set(text.tolist()) - {"unknown"}), "unknown"]
    return pd.Categorical([f"{prefix}{t}" for t in text], categories=[f"{prefix}{c}" for c in cats])


def stratified_pair_counts(
    matrix: sparse.csr_array,
    groups: Strata,
    first: npt.NDArray[np.int64],
    second: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The 2 × 2 margins and joint counts of concept pairs, stratum by stratum.

    Parameters
    ----------
    matrix : scipy.sparse.csr_array
        The binary basket × concept matrix.
    groups : Strata
        The stratum of each row.
    first, second : numpy.ndarray of int
        Column positions of each pair.

    Returns
    -------
    n_both, n_first, n_second : numpy.ndarray of int, shape (n_strata, n_pairs)
        Rows of each stratum holding both concepts, the first, the second.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from kgmed.mining.stratified import Strata, stratified_pair_counts
    >>> x = sparse.csr_array(np.array([[1, 1], [1, 0], [1, 1], [0, 1]], dtype=bool))
    >>> groups = Strata(np.array([0, 0, 1, 1]), ("young", "old"), ("age",))
    >>> both, a, b = stratified_pair_counts(x, groups, np.array([0]), np.array([1]))
    >>> both.ravel().tolist(), a.ravel().tolist(), b.ravel().tolist()
    ([1, 1], [2, 1], [1, 2])
    """
    x = sparse.csr_array(matrix)
    n_strata = groups.n_strata
    used = np.unique(np.concatenate([first, second]))
    local = np.full(x.shape[1], -1, dtype=np.int64)
    local[used] = np.arange(len(used))
    sub = sparse.csr_array(x[:, used])
    one_hot = sparse.csr_array(
        (np.ones(len(groups.codes), dtype=np.int64), (groups.codes, np.arange(len(groups.codes)))),
        shape=(n_strata, x.shape[0]),
    )
    margins = np.asarray((one_hot @ sub.astype(np.int64)).toarray())
    a, b = local[first], local[second]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    wanted = lo * len(used) + hi
    both = np.zeros((n_strata, len(first)), dtype=np.int64)
    order = np.argsort(groups.codes, kind="stable")
    bounds = np.searchsorted(groups.codes[order], np.arange(n_strata + 1))
    for s in range(n_strata):
        rows = order[bounds[s] : bounds[s + 1]]
        if len(rows) < 2:
            if len(rows) == 1:
                held = np.zeros(len(used), dtype=bool)
                held[sub.indices[sub.indptr[rows[0]] : sub.indptr[rows[0] + 1]]] = True
                both[s] = held[a] & held[b]
            continue
        i, j, n = upper_pair_counts(sparse.csr_array(sub[rows]), threshold=1)
        codes = i * len(used) + j
        at = np.searchsorted(codes, wanted)
        found = at < len(codes)
        found[found] = codes[at[found]] == wanted[found]
        both[s, found] = n[at[found]]
    return both, margins[:, a], margins[:, b]


def mantel_haenszel(
    n_both: npt.ArrayLike,
    n_first: npt.ArrayLike,
    n_second: npt.ArrayLike,
    n_total: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mantel–Haenszel odds ratio and one-sided Cochran–Mantel–Haenszel test of many pairs.

    Each pair is a set of 2 × 2 tables, one per stratum, given by their
    counts: rows with both concepts, with the first, with the second, and
    in all.

    Parameters
    ----------
    n_both, n_first, n_second : array-like of int, shape (n_strata, n_pairs)
        Per stratum and pair.
    n_total : array-like of int, shape (n_strata,) or (n_strata, n_pairs)
        Rows per stratum.

    Returns
    -------
    odds_ratio : numpy.ndarray of float
        The Mantel–Haenszel common odds ratio: 1 when the concepts are
        independent within every stratum, inf when no stratum holds a
        discordant pair of the one kind, NaN when it is undefined.
    z : numpy.ndarray of float
        The Cochran–Mantel–Haenszel statistic with its sign: (observed −
        expected joint count) / its standard deviation, summed over strata
        (its square is statsmodels' ``test_null_odds(correction=False)``).
    p_value : numpy.ndarray of float
        One-sided: the chance of so large a ``z`` if the concepts were
        independent within every stratum (upper normal tail).

    Examples
    --------
    Age explains the pair: within each age band the odds ratio is 1.

    >>> import numpy as np
    >>> from kgmed.mining import mantel_haenszel
    >>> both = np.array([[1], [30]])     # young, old
    >>> first = np.array([[10], [50]])   # hypertension
    >>> second = np.array([[50], [60]])  # back pain
    >>> total = np.array([500, 100])
    >>> odds, z, p = mantel_haenszel(both, first, second, total)
    >>> float(odds[0]), round(float(z[0]), 6), float(p[0])
    (1.0, 0.0, 0.5)
    """
    a = np.atleast_2d(np.asarray(n_both, dtype=np.float64))
    n1 = np.atleast_2d(np.asarray(n_first, dtype=np.float64))
    m1 = np.atleast_2d(np.asarray(n_second, dtype=np.float64))
    n = np.asarray(n_total, dtype=np.float64)
    if n.ndim == 1:
        n = n[:, None]
    n = np.broadcast_to(n, a.shape)
    # A stratum of one row carries no information about association.
    informative = n >= 2
    safe = np.where(informative, n, 1.0)
    b, c = n1 - a, m1 - a
    d = n - n1 - m1 + a
    numerator = np.where(informative, a * d / safe, 0.0).sum(axis=0)
    denominator = np.where(informative, b * c / safe, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = numerator / denominator
    expected = np.where(informative, n1 * m1 / safe, 0.0).sum(axis=0)
    variance = np.where(
        informative, n1 * (n - n1) * m1 * (n - m1) / (safe * safe * np.maximum(safe - 1, 1.0)), 0.0
    ).sum(axis=0)
    observed = np.where(informative, a, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, (observed - expected) / np.sqrt(variance), 0.0)
    p = np.where(variance > 0, special.ndtr(-z), 1.0)
    return np.asarray(odds, dtype=np.float64), z, np.asarray(p, dtype=np.float64)


def adjust_rules(rules: pd.DataFrame, transactions: Transactions, groups: Strata) -> pd.DataFrame:
    """Rules of two concepts with their association adjusted for the strata.

    Parameters
    ----------
    rules : pandas.DataFrame
        Rules as :func:`kgmed.mine_rules` returns them, mined from
        ``transactions``.
    transactions : Transactions
        The matrix the rules were counted in.
    groups : Strata
        The stratum of each row of ``transactions`` (:func:`strata`).

    Returns
    -------
    pandas.DataFrame
        ``rules`` with :data:`ADJUSTED_COLUMNS`: the Mantel–Haenszel odds
        ratio of the rule's two concepts over the strata, the one-sided
        Cochran–Mantel–Haenszel p-value for a positive association, and its
        Benjamini–Hochberg q-value over the distinct pairs (a pair's two
        rules share them). Longer rules get NaN.

    Examples
    --------
    >>> import kgmed
    >>> from kgmed.mining import adjust_rules, strata, transactions
    >>> records = kgmed.datasets.synthetic(5000, random_state=0)
    >>> t = transactions(records)
    >>> rules = adjust_rules(kgmed.mine_rules(t), t, strata(t, records.patients))
    >>> flu = rules[rules["antecedents"].map(set) == {"ICD10CM:J11.1"}]
    >>> fever = flu[flu["consequents"].map(set) == {"HP:0001945"}]
    >>> fever[["lift", "adjusted_odds_ratio", "adjusted_q_value"]].round(2)
        lift  adjusted_odds_ratio  adjusted_q_value
    40  4.84                52.27               0.0
    """
    rules = rules.copy()
    for column in ADJUSTED_COLUMNS:
        rules[column] = np.nan
    sizes = rules["antecedents"].map(len).to_numpy() + rules["consequents"].map(len).to_numpy()
    pairs = np.flatnonzero(sizes == 2)
    if len(pairs) == 0:
        return rules
    a = rules["antecedents"].iloc[pairs].map(lambda items: next(iter(items))).to_numpy()
    c = rules["consequents"].iloc[pairs].map(lambda items: next(iter(items))).to_numpy()
    lo, hi = np.where(a < c, a, c), np.where(a < c, c, a)
    keys = pd.MultiIndex.from_arrays([lo, hi])
    codes, distinct = pd.factorize(keys)
    first = transactions.concepts.get_indexer(distinct.get_level_values(0))
    second = transactions.concepts.get_indexer(distinct.get_level_values(1))
    both, n_first, n_second = stratified_pair_counts(
        transactions.matrix, groups, first.astype(np.int64), second.astype(np.int64)
    )
    odds, _, p = mantel_haenszel(both, n_first, n_second, groups.sizes())
    q = benjamini_hochberg(p)
    for column, values in zip(ADJUSTED_COLUMNS, (odds, p, q), strict=True):
        filled = np.full(len(rules), np.nan)
        filled[pairs] = values[codes]
        rules[column] = filled
    return rules
