"""Significance of association rules: Fisher's exact test and Benjamini–Hochberg."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = ["benjamini_hochberg", "fisher_greater"]


def fisher_greater(
    n_both: npt.ArrayLike,
    n_antecedent: npt.ArrayLike,
    n_consequent: npt.ArrayLike,
    n_total: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """One-sided Fisher exact p-values for a positive association.

    For each rule, the probability of seeing ``n_both`` or more baskets with
    both sides if the two sides were independent given their counts: the
    upper tail of the hypergeometric distribution, the same number as
    ``scipy.stats.fisher_exact(table, alternative="greater")``, computed for
    all rules at once.

    Parameters
    ----------
    n_both, n_antecedent, n_consequent, n_total : array-like of int
        The counts of a 2 × 2 table: baskets with both sides, with the
        antecedent, with the consequent, and in all.

    Returns
    -------
    numpy.ndarray of float
        The p-values.

    Examples
    --------
    >>> from kgmed.mining import fisher_greater
    >>> from scipy.stats import fisher_exact
    >>> p = fisher_greater([30], [40], [50], [200])
    >>> bool(abs(p[0] - fisher_exact([[30, 10], [20, 140]], alternative="greater").pvalue) < 1e-12)
    True
    """
    k = np.asarray(n_both, dtype=np.int64)
    a = np.asarray(n_antecedent, dtype=np.int64)
    c = np.asarray(n_consequent, dtype=np.int64)
    n = np.asarray(n_total, dtype=np.int64)
    p = stats.hypergeom.sf(k - 1, n, a, c)
    return np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)


def benjamini_hochberg(p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Benjamini–Hochberg q-values (false discovery rate adjusted p-values).

    Parameters
    ----------
    p_values : array-like of float
        The p-values of one family of tests.

    Returns
    -------
    numpy.ndarray of float
        q-values, in the order of ``p_values``.

    Examples
    --------
    >>> from kgmed.mining import benjamini_hochberg
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p.copy()
    return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=np.float64)
