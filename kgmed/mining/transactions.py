"""Records as a sparse patient × concept matrix, the input of every miner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from kgmed.errors import ConceptNotFound, MissingValueError, ParameterError
from kgmed.records import Records
from kgmed.records.core import BASKETS

__all__ = ["Transactions", "transactions"]


@dataclass(frozen=True)
class Transactions:
    """A binary basket × concept matrix and the labels of its axes.

    Attributes
    ----------
    matrix : scipy.sparse.csr_array of bool
        ``matrix[i, j]`` is True when basket ``i`` holds concept ``j``.
        A concept recorded twice for a patient is one True.
    concepts : pandas.Index
        Concept ids of the columns, sorted.
    baskets : pandas.Index
        Ids of the rows (patient ids, or (patient, encounter) pairs). They
        stay inside mining and are never written to a graph or an export.
    unit : {"patient", "encounter"}
        What a row is.
    patient_of : numpy.ndarray of int, optional
        For encounter rows, the patient (numbered from 0) each row belongs
        to; None when rows are patients.

    See Also
    --------
    kgmed.transactions : Makes one from :class:`~kgmed.Records`.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed import Records
    >>> from kgmed.mining import transactions
    >>> df = pd.DataFrame({"patient_id": [1, 1, 2, 2], "kind": "finding",
    ...                    "concept": ["flu", "fever", "flu", "flu"],
    ...                    "visit": ["a", "a", "b", "c"]})
    >>> t = transactions(Records.from_dataframe(df, encounter="visit"))
    >>> list(t.baskets), list(t.concepts)
    (['1', '2'], ['local:fever', 'local:flu'])
    >>> t.matrix.toarray()
    array([[ True,  True],
           [False,  True]])
    """

    matrix: sparse.csr_array
    concepts: pd.Index
    baskets: pd.Index
    unit: str = "patient"
    patient_of: npt.NDArray[np.int64] | None = None

    @property
    def n_baskets(self) -> int:
        """Number of baskets (rows)."""
        return int(self.matrix.shape[0])

    def count_patients(self, itemsets: Sequence[Sequence[int]]) -> npt.NDArray[np.int64]:
        """Distinct patients with a basket that holds every concept of each itemset.

        Per patient, that is the number of baskets; per encounter, several
        baskets of one patient count once. This is the count the privacy
        floor (``min_patients``) applies to.

        Parameters
        ----------
        itemsets : sequence of sequences of int
            Column positions of the concepts of each itemset.

        Returns
        -------
        numpy.ndarray of int

        Examples
        --------
        >>> import pandas as pd
        >>> from kgmed import Records
        >>> from kgmed.mining import transactions
        >>> df = pd.DataFrame({"patient_id": [1, 1, 1, 1, 2, 2], "kind": "finding",
        ...                    "concept": ["flu", "fever", "flu", "fever", "flu", "fever"],
        ...                    "visit": ["a", "a", "b", "b", "c", "c"]})
        >>> t = transactions(Records.from_dataframe(df, encounter="visit", basket="encounter"))
        >>> t.n_baskets, t.count_patients([[0, 1]]).tolist()
        (3, [2])
        """
        csc = self.matrix.tocsc()
        counts = np.zeros(len(itemsets), dtype=np.int64)
        for k, items in enumerate(itemsets):
            rows: npt.NDArray[np.integer[Any]] | None = None
            for j in items:
                column = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
                rows = column if rows is None else np.intersect1d(rows, column, assume_unique=True)
            if rows is None:
                continue
            owners = rows if self.patient_of is None else self.patient_of[rows]
            counts[k] = len(np.unique(owners))
        return counts

    def counts(self) -> pd.Series:
        """How many baskets hold each concept.

        Examples
        --------
        >>> import pandas as pd
        >>> from kgmed import Records
        >>> from kgmed.mining import transactions
        >>> df = pd.DataFrame({"patient_id": [1, 1, 2], "concept": ["flu", "fever", "flu"],
        ...                    "kind": ["disease", "symptom", "disease"]})
        >>> transactions(Records.from_dataframe(df)).counts()
        local:fever    1
        local:flu      2
        dtype: int64
        """
        column_sums = np.asarray(self.matrix.sum(axis=0, dtype=np.int64)).ravel()
        return pd.Series(column_sums, index=self.concepts)

    def to_dataframe(self, concepts: pd.Index | None = None) -> pd.DataFrame:
        """The matrix as a sparse boolean DataFrame, the input mlxtend expects.

        Parameters
        ----------
        concepts : pandas.Index, optional
            Keep only these columns (mlxtend's miners densify parts of the
            frame, so pass only the concepts that can be frequent).

        Raises
        ------
        ConceptNotFound
            If ``concepts`` names a concept that is not a column.
        """
        matrix, columns = self.matrix, self.concepts
        if concepts is not None:
            positions = self.concepts.get_indexer(concepts)
            if (positions < 0).any():
                # get_indexer marks a missing concept -1, which would quietly
                # select the last column.
                missing = [str(c) for c in pd.Index(concepts)[positions < 0]]
                more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                raise ConceptNotFound(
                    f"concepts not in the matrix: {missing[:5]}{more}; its columns "
                    f"are the concept ids of the records (Transactions.concepts)",
                    term=missing[0],
                )
            matrix, columns = matrix[:, positions], self.concepts[positions]
        return pd.DataFrame.sparse.from_spmatrix(  # type: ignore[attr-defined]
            sparse.csc_matrix(matrix, dtype=bool), columns=list(columns)
        )


def transactions(records: Records, *, basket: str | None = None) -> Transactions:
    """The patient × concept (or encounter × concept) matrix of records.

    Parameters
    ----------
    records : Records
        The observations.
    basket : {"patient", "encounter"}, optional
        What a row is; ``Records.basket`` by default. Per encounter,
        two concepts co-occur only when recorded at the same encounter.

    Returns
    -------
    Transactions
        One row per basket, one column per concept; built from integer
        codes without a dense intermediate.

    Raises
    ------
    ParameterError
        If ``basket`` is not a basket.
    MissingValueError
        If ``basket="encounter"`` and an observation has no encounter id.

    Examples
    --------
    >>> import kgmed
    >>> from kgmed.mining import transactions
    >>> t = transactions(kgmed.datasets.synthetic(500, random_state=0))
    >>> t.matrix.shape[0]
    500
    """
    unit = records.basket if basket is None else basket
    if unit not in BASKETS:
        raise ParameterError(f"basket must be one of {list(BASKETS)}, got {unit!r}")
    data = records.data
    patient_of: npt.NDArray[np.int64] | None = None
    if unit == "encounter":
        missing = data["encounter_id"].isna()
        if missing.any():
            raise MissingValueError(
                f"basket='encounter' needs an encounter id on every observation; "
                f"{int(missing.sum())} of {len(data)} have none"
            )
        patients, _ = pd.factorize(data["patient_id"])
        # An encounter id is unique within its patient, not necessarily across.
        keys = pd.MultiIndex.from_arrays([data["patient_id"], data["encounter_id"]])
        rows, baskets = pd.factorize(keys)
        patient_of = np.zeros(len(baskets), dtype=np.int64)
        patient_of[rows] = patients
    else:
        rows, baskets = pd.factorize(data["patient_id"])
    cols, concepts = pd.factorize(data["concept_id"], sort=True)
    shape = (len(baskets), len(concepts))
    # Duplicates (one concept at several encounters) are summed, then clipped.
    coo = sparse.coo_array(
        (
            np.ones(len(rows), dtype=np.int32),
            (rows.astype(np.int64), cols.astype(np.int64)),
        ),
        shape=shape,
    )
    matrix = coo.tocsr()
    matrix.sum_duplicates()
    matrix = sparse.csr_array((matrix.data > 0, matrix.indices, matrix.indptr), shape=shape)
    return Transactions(
        matrix=matrix,
        concepts=pd.Index(concepts),
        baskets=pd.Index(baskets),
        unit=unit,
        patient_of=patient_of,
    )
