"""Exact pairwise rules from a sparse co-occurrence product."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from kgmed.mining.transactions import Transactions

__all__ = ["PairCounts", "min_count", "pair_counts", "upper_pair_counts"]


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
    pass), then the co-occurrence counts of the rest are made by
    ``kgmed.mining.pairs.upper_pair_counts``; no dense basket × concept
    matrix is made.

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
    row, col, n_both = upper_pair_counts(
        sparse.csr_array(transactions.matrix[:, frequent]), threshold=threshold
    )
    first = frequent[row].astype(np.int64)
    second = frequent[col].astype(np.int64)
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


#: Up to this many columns, pairs are counted into a dense table of
#: ``n_columns ** 2`` int64 counters (128 MiB at 4,096); beyond it, by
#: scipy's sparse product.
DENSE_PAIR_COLUMNS = 4096

# Pair codes gathered before each bincount: 16 Mi codes, 64 MiB of int32.
_CHUNK = 1 << 24


def upper_pair_counts(
    x: sparse.csr_array, *, threshold: int = 1
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Rows holding both columns, for every pair of columns found together often enough.

    Rows of the same length ``L`` are taken together: their column indices
    form an ``(m, L)`` block, the ``L (L - 1) / 2`` pairs of each row become
    codes ``first * n_columns + second``, and one ``numpy.bincount`` adds
    them up. That touches each pair of each row once, where the sparse
    product ``x.T @ x`` also builds the lower triangle and the diagonal; on a
    million rows of ~15 columns among 2,200 it takes half the time. Above
    :data:`DENSE_PAIR_COLUMNS` columns, or with fewer pairs to add than
    counters, ``x.T @ x`` is used. Both give the same counts.

    Parameters
    ----------
    x : scipy.sparse.csr_array
        A binary rows × columns matrix (any nonzero is one).
    threshold : int, default 1
        Keep pairs in at least this many rows.

    Returns
    -------
    first, second, n_both : numpy.ndarray of int64
        Column positions (``first < second``) and counts, ordered by
        ``first`` then ``second``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from kgmed.mining.pairs import upper_pair_counts
    >>> x = sparse.csr_array(np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1]], dtype=bool))
    >>> [a.tolist() for a in upper_pair_counts(x)]
    [[0, 0, 1], [1, 2, 2], [2, 1, 2]]
    """
    x = sparse.csr_array(x, copy=True)
    x.sum_duplicates()
    x.eliminate_zeros()
    x.sort_indices()
    n_columns = int(x.shape[1])
    threshold = max(int(threshold), 1)
    lengths = np.diff(x.indptr).astype(np.int64)
    n_pairs = int((lengths * (lengths - 1) // 2).sum())
    # The dense table pays off when there are more pairs to add than counters.
    if n_columns > DENSE_PAIR_COLUMNS or n_columns * n_columns > 4 * n_pairs:
        ones = sparse.csr_array(
            (np.ones(x.nnz, dtype=np.int32), x.indices, x.indptr), shape=x.shape
        )
        co = sparse.triu(sparse.csr_array(ones.T @ ones), k=1, format="coo")
        keep = co.data >= threshold
        first, second = co.row[keep].astype(np.int64), co.col[keep].astype(np.int64)
        order = np.lexsort((second, first))
        return first[order], second[order], co.data[keep].astype(np.int64)[order]
    counts = np.zeros(n_columns * n_columns, dtype=np.int64)
    indices = x.indices.astype(np.int32)
    by_length = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[by_length]
    cuts = np.flatnonzero(np.diff(sorted_lengths)) + 1
    pending: list[npt.NDArray[np.int32]] = []
    size = 0
    for start, end in zip(
        np.concatenate([[0], cuts]), np.concatenate([cuts, [len(by_length)]]), strict=True
    ):
        length = int(sorted_lengths[start])
        if length < 2:
            continue
        a, b = np.triu_indices(length, 1)
        step = max(1, _CHUNK // len(a))
        for begin in range(int(start), int(end), step):
            rows = by_length[begin : min(int(end), begin + step)]
            block = indices[x.indptr[rows][:, None] + np.arange(length)]
            codes = block[:, a] * np.int32(n_columns) + block[:, b]
            pending.append(codes.ravel())
            size += codes.size
            if size >= _CHUNK:
                counts += np.bincount(np.concatenate(pending), minlength=counts.size)
                pending, size = [], 0
    if pending:
        counts += np.bincount(np.concatenate(pending), minlength=counts.size)
    codes_kept = np.flatnonzero(counts >= threshold)
    return (
        codes_kept // n_columns,
        codes_kept % n_columns,
        counts[codes_kept],
    )
