"""Exact pairwise rules from a sparse co-occurrence product."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from kgmed.mining.transactions import Transactions

__all__ = ["PairCounts", "min_count", "pair_counts"]


class PairCounts:
    """Counts of every frequent concept pair, as parallel arrays.

    Attributes
    ----------
    first, second : numpy.ndarray of int
        Column positions (in ``concepts``) of the pair, ``first < second``.
    n_first, n_second, n_both : numpy.ndarray of int
        Baskets holding the first concept, the second, and both.
    n_patients : numpy.ndarray of int
        Distinct patients with a basket holding both: ``n_both`` when baskets
        are patients, fewer when a patient has several encounters.
    n_total : int
        Baskets in all.
    concepts : pandas.Index
        The concept ids the positions refer to.

    See Also
    --------
    pair_counts : Makes one from a :class:`Transactions` matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed import Records
    >>> from kgmed.mining import pair_counts, transactions
    >>> df = pd.DataFrame({"patient_id": [1, 1, 2, 2, 3], "kind": "finding",
    ...                    "concept": ["flu", "fever", "flu", "fever", "flu"]})
    >>> pairs = pair_counts(transactions(Records.from_dataframe(df)), min_support=0.5)
    >>> len(pairs), pairs.concepts[pairs.first[0]], pairs.concepts[pairs.second[0]]
    (1, 'local:fever', 'local:flu')
    >>> int(pairs.n_first[0]), int(pairs.n_second[0]), int(pairs.n_both[0]), pairs.n_total
    (2, 3, 2, 3)
    """

    def __init__(
        self,
        first: npt.NDArray[np.int64],
        second: npt.NDArray[np.int64],
        n_first: npt.NDArray[np.int64],
        n_second: npt.NDArray[np.int64],
        n_both: npt.NDArray[np.int64],
        n_total: int,
        concepts: pd.Index,
        n_patients: npt.NDArray[np.int64] | None = None,
    ) -> None:
        self.first = first
        self.second = second
        self.n_first = n_first
        self.n_second = n_second
        self.n_both = n_both
        self.n_total = n_total
        self.concepts = concepts
        self.n_patients = n_both if n_patients is None else n_patients

    def __len__(self) -> int:
        return len(self.n_both)


def min_count(n_total: int, min_support: float, min_patients: int = 1) -> int:
    """Smallest basket count that passes both ``min_support`` and ``min_patients``.

    The support test is mlxtend's, ``count / n_total >= min_support`` in
    floating point, so that a count on the boundary is judged the same way.

    Examples
    --------
    >>> from kgmed.mining.pairs import min_count
    >>> min_count(1000, 0.001, 11), min_count(1000, 0.05, 11)
    (11, 50)
    """
    n = float(n_total)
    k = max(math.ceil(min_support * n_total), min_patients, 0)
    while k > max(min_patients, 0) and (k - 1) / n >= min_support:
        k -= 1
    while k <= n_total and k / n < min_support:
        k += 1
    return k


def pair_counts(
    transactions: Transactions, *, min_support: float, min_patients: int = 1
) -> PairCounts:
    """Count every pair of concepts found together in enough baskets.

    Items below the threshold are dropped first (no pair containing one can
    pass), then the co-occurrence counts of the rest come from one sparse
    product ``X.T @ X``; no dense basket × concept matrix is made.

    Parameters
    ----------
    transactions : Transactions
        The basket × concept matrix.
    min_support : float
        Keep pairs in at least this fraction of baskets.
    min_patients : int, default 1
        Keep pairs held by at least this many distinct patients (and so at
        least this many baskets).

    Returns
    -------
    PairCounts

    Examples
    --------
    >>> import kgmed
    >>> from kgmed.mining import pair_counts, transactions
    >>> t = transactions(kgmed.datasets.synthetic(1000, random_state=0))
    >>> pairs = pair_counts(t, min_support=0.05)
    >>> bool((pairs.n_both >= 50).all())
    True
    """
    n_total = transactions.n_baskets
    threshold = min_count(n_total, min_support, min_patients)
    item_counts = transactions.counts().to_numpy()
    frequent = np.nonzero(item_counts >= threshold)[0]
    x = transactions.matrix[:, frequent].astype(np.int32)
    co = sparse.triu(sparse.csr_array(x.T @ x), k=1, format="coo")
    keep = co.data >= threshold
    first = frequent[co.row[keep]].astype(np.int64)
    second = frequent[co.col[keep]].astype(np.int64)
    n_both = co.data[keep].astype(np.int64)
    order = np.lexsort((second, first))
    first, second, n_both = first[order], second[order], n_both[order]
    n_patients = n_both
    if transactions.unit != "patient":
        # The floor is on patients: twelve visits of one patient are one.
        n_patients = transactions.count_patients(list(zip(first, second, strict=True)))
        enough = n_patients >= min_patients
        first, second, n_both, n_patients = (a[enough] for a in (first, second, n_both, n_patients))
    return PairCounts(
        first=first,
        second=second,
        n_first=item_counts[first].astype(np.int64),
        n_second=item_counts[second].astype(np.int64),
        n_both=n_both,
        n_total=n_total,
        concepts=transactions.concepts,
        n_patients=n_patients,
    )
