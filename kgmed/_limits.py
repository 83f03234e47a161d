"""Memory budgets: refuse, with an estimate, what would not fit.

Mining can ask for far more than a machine holds: ``max_len=5`` over a
large vocabulary, or a floor of one patient over a record with thousands of
concepts, gives billions of itemsets. Before it counts, kgmed bounds what the
request can produce and stops with a :class:`~kgmed.errors.ResourceLimitError`
naming the estimate, rather than being killed by the operating system.

The bound is safe (never below what mining would hold): a frequent itemset
of ``k`` concepts is in at least ``threshold`` baskets, so there are at
most ``sum over baskets of C(l, k) / threshold`` of them, ``l`` being the
frequent concepts of a basket, and never more than ``C(f, k)`` for ``f``
frequent concepts.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from kgmed.errors import ParameterError, ResourceLimitError

__all__ = ["BYTES_PER_ITEMSET", "BYTES_PER_PAIR", "Estimate", "estimate", "memory_budget"]

#: Bytes a mined pair of concepts takes through ``build``: its two rules
#: (frozensets and 20 numbers each) and its edge with the evidence, measured
#: with tracemalloc on graphs of 10^5 pairs (about 2.1 KB), rounded up.
BYTES_PER_PAIR = 2_500
#: Bytes an itemset of three or more concepts takes in mlxtend's tables
#: (its frozenset and support), before its rules.
BYTES_PER_ITEMSET = 600
#: Bytes a rule takes (two frozensets and 20 numbers in a DataFrame row).
BYTES_PER_RULE = 800

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9}
_UNITS |= {"t": 1e12, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def available_memory() -> float:
    """Bytes the machine can give this process now; infinity when unknown."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def memory_budget(max_memory: object) -> float:
    """The budget in bytes for a ``max_memory`` argument.

    None means the memory available now; a number is bytes (``math.inf``
    turns the check off); a string takes a unit (``"512MB"``, ``"8GiB"``).

    Examples
    --------
    >>> from kgmed._limits import memory_budget
    >>> memory_budget("8GiB"), memory_budget(1e9), memory_budget("1.5 GB")
    (8589934592.0, 1000000000.0, 1500000000.0)
    """
    if max_memory is None:
        return available_memory()
    if isinstance(max_memory, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", max_memory)
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in _UNITS:
            raise ParameterError(
                f"max_memory must be bytes or a size such as '512MB' or '8GiB', got {max_memory!r}"
            )
        value = float(match.group(1)) * _UNITS[unit]
    elif isinstance(max_memory, (int, float)) and not isinstance(max_memory, bool):
        value = float(max_memory)
    else:
        raise ParameterError(f"max_memory must be None, bytes or a size string, got {max_memory!r}")
    if not value > 0:
        raise ParameterError(f"max_memory must be positive, got {max_memory!r}")
    return value


def size(n_bytes: float) -> str:
    """Bytes as a short size for a message: ``'3.2 GiB'``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{n_bytes:,.0f} B"


@dataclass(frozen=True)
class Estimate:
    """An upper bound on what mining will hold.

    Attributes
    ----------
    n_concepts : int
        Concepts frequent enough to be in a rule.
    itemsets : dict of int to float
        For each size from two to ``max_len``, the most itemsets it can give.
    n_bytes : float
        The memory those need, with the matrices that count them.
    """

    n_concepts: int
    itemsets: dict[int, float]
    n_bytes: float


def estimate(
    matrix: sparse.csr_array | sparse.csr_matrix | None,
    frequent: np.ndarray,
    *,
    threshold: int,
    max_len: int,
    dense_columns: int,
) -> Estimate:
    """Bound the itemsets and bytes of mining ``matrix``'s ``frequent`` columns.

    Without ``matrix`` (None), the bound takes every set of frequent
    concepts as possible: cheaper, and looser.
    """
    f = len(frequent)
    lengths = None if matrix is None else _frequent_per_row(matrix, frequent)
    n_rows = 0 if matrix is None else matrix.shape[0]
    itemsets: dict[int, float] = {}
    n_bytes = 0.0
    for k in range(2, max_len + 1):
        occurring = float(math.comb(f, k)) if lengths is None else float(_comb(lengths, k).sum())
        bound = min(occurring / max(threshold, 1), float(math.comb(f, k)))
        itemsets[k] = bound
        if k == 2:
            # Counting: a dense table of f^2 counters, or the sparse product.
            counting = 8.0 * f * f if f <= dense_columns else 16.0 * min(occurring, math.comb(f, 2))
            n_bytes += counting + bound * BYTES_PER_PAIR
        else:
            n_bytes += bound * (BYTES_PER_ITEMSET + (2**k - 2) * BYTES_PER_RULE)
    if max_len > 2:
        # mlxtend mines a dense one-hot table of baskets × frequent concepts.
        n_bytes += float(n_rows) * f
    return Estimate(n_concepts=f, itemsets=itemsets, n_bytes=n_bytes)


def _frequent_per_row(
    matrix: sparse.csr_array | sparse.csr_matrix, frequent: np.ndarray
) -> np.ndarray:
    """How many of the ``frequent`` columns each row holds, without copying the matrix."""
    csr = matrix if sparse.issparse(matrix) and matrix.format == "csr" else sparse.csr_array(matrix)
    indptr = np.asarray(csr.indptr, dtype=np.int64)
    if len(frequent) == csr.shape[1]:
        return np.diff(indptr).astype(np.float64)
    is_frequent = np.zeros(csr.shape[1], dtype=bool)
    is_frequent[frequent] = True
    running = np.zeros(len(csr.indices) + 1, dtype=np.int64)
    np.cumsum(is_frequent[csr.indices], out=running[1:])
    return (running[indptr[1:]] - running[indptr[:-1]]).astype(np.float64)


def _comb(n: np.ndarray, k: int) -> np.ndarray:
    """C(n, k) elementwise, as floats (exact enough for a bound)."""
    out = np.ones_like(n)
    for i in range(k):
        out *= np.maximum(n - i, 0) / (i + 1)
    return out


def check(
    matrix: sparse.csr_array | sparse.csr_matrix,
    frequent: np.ndarray,
    *,
    threshold: int,
    max_len: int,
    dense_columns: int,
    budget: float,
) -> None:
    """Raise ResourceLimitError when mining could need more than ``budget`` bytes."""
    if math.isinf(budget):
        return
    # Every set of frequent concepts fitting needs no pass over the matrix.
    # The one-hot table of max_len > 2 is priced in the second bound only.
    if max_len == 2:
        loose = estimate(
            None, frequent, threshold=threshold, max_len=max_len, dense_columns=dense_columns
        )
        if loose.n_bytes <= budget:
            return
    bound = estimate(
        matrix, frequent, threshold=threshold, max_len=max_len, dense_columns=dense_columns
    )
    if bound.n_bytes <= budget:
        return
    counts = ", ".join(
        f"{n:,.0f} pairs" if k == 2 else f"{n:,.0f} sets of {k}" for k, n in bound.itemsets.items()
    )
    raise ResourceLimitError(
        f"mining rules of up to {max_len} concepts among the {bound.n_concepts:,} concepts "
        f"held by at least {threshold:,} baskets could give up to {counts}, "
        f"needing about {size(bound.n_bytes)}; the memory budget is {size(budget)}. "
        f"Raise min_support or min_patients, lower max_len, or pass max_memory= a larger "
        f"budget (math.inf turns the check off)",
        estimate=bound.n_bytes,
        budget=budget,
    )
