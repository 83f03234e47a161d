"""Records as a sparse patient × concept matrix, the input of every miner."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from kgmed.errors import ConceptNotFound
from kgmed.records import Records

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
        Ids of the rows (patient ids). They stay inside mining and are never
        written to a graph or an export.

    See Also
    --------
    transactions : Makes one from :class:`~kgmed.Records`.

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

    @property
    def n_baskets(self) -> int:
        """Number of baskets (rows)."""
        return int(self.matrix.shape[0])

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


def transactions(records: Records) -> Transactions:
    """The patient × concept matrix of records.

    Parameters
    ----------
    records : Records
        The observations.

    Returns
    -------
    Transactions
        One row per patient, one column per concept; built from integer
        codes without a dense intermediate.

    Examples
    --------
    >>> import kgmed
    >>> from kgmed.mining import transactions
    >>> t = transactions(kgmed.datasets.synthetic(500, random_state=0))
    >>> t.matrix.shape[0]
    500
    """
    data = records.data
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
    return Transactions(matrix=matrix, concepts=pd.Index(concepts), baskets=pd.Index(baskets))
