"""Patient cohorts: groups of similar patients found by scikit-learn, tied to the graph.

Each patient is a row of the sparse patient × concept matrix
(:func:`kgmed.transactions`), weighted by TF-IDF so that concepts nearly
everyone has (a background drug, a routine finding) count for little, and
optionally joined with numeric features (age, sex, BMI, laboratory values),
standardised. k-means (MiniBatchKMeans on large inputs), agglomerative
clustering, DBSCAN or HDBSCAN group the rows. Each group is then described
the way the graph describes a disease: the diseases, symptoms and treatments
over-represented in it against the rest of the patients, with counts, lift
and a q-value, and a name made from them. :func:`add_cohorts` puts the
groups in a :class:`~kgmed.KnowledgeGraph` as cohort nodes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from kgmed import _features
from kgmed._progress import check_progress, progress_bar
from kgmed._validation import check_choice, check_fraction, check_positive_int
from kgmed.errors import GraphError, ParameterError
from kgmed.mining import benjamini_hochberg, fisher_greater
from kgmed.records import Records

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph
    from kgmed.linking import PatientLink

__all__ = [
    "DESCRIBE_COLUMNS",
    "METHODS",
    "MINIBATCH_ABOVE",
    "PAIRWISE_LIMIT",
    "SILHOUETTE_SAMPLE",
    "SUMMARY_COLUMNS",
    "WEIGHTINGS",
    "Cohorts",
    "add_cohorts",
    "find",
]

#: Clustering methods of :func:`find`.
METHODS: tuple[str, ...] = ("kmeans", "minibatch", "agglomerative", "dbscan", "hdbscan")

#: How concept columns are weighted: ``"tfidf"`` (inverse document
#: frequency, rows scaled to length 1) or ``"binary"`` (0/1).
WEIGHTINGS: tuple[str, ...] = ("tfidf", "binary")

#: Above this many patients, ``method="kmeans"`` runs MiniBatchKMeans.
MINIBATCH_ABOVE = 20_000

#: Silhouette scores are computed on a random sample of this many patients
#: when there are more (scikit-learn's ``sample_size``).
SILHOUETTE_SAMPLE = 5_000

#: Agglomerative clustering, DBSCAN and HDBSCAN compare every pair of
#: patients; they take at most this many.
PAIRWISE_LIMIT = 20_000

#: Columns of :meth:`Cohorts.describe`.
DESCRIBE_COLUMNS: tuple[str, ...] = (
    "cohort",
    "id",
    "label",
    "kind",
    "n_in_cohort",
    "n_in_rest",
    "p_in_cohort",
    "p_in_rest",
    "difference",
    "lift",
    "ratio_to_rest",
    "p_value",
    "q_value",
)

#: Columns of :meth:`Cohorts.summary`.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "cohort",
    "name",
    "n_patients",
    "share",
    "diseases",
    "symptoms",
    "treatments",
    "described",
)

_NAME_KINDS: tuple[tuple[str, ...], ...] = (
    ("disease",),
    ("symptom", "finding"),
    ("treatment",),
)
_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class _Space:
    """How records become rows to cluster: the columns, weights and scaling."""

    concepts: pd.Index
    info: pd.DataFrame
    kinds: tuple[str, ...] | None
    tfidf: Any
    numeric: _features.NumericFeatures | None
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]

    def rows(
        self, concepts: sparse.csr_matrix, numeric: npt.NDArray[np.float64] | None
    ) -> sparse.csr_matrix:
        x = self.tfidf.transform(concepts) if self.tfidf is not None else concepts
        if self.numeric is None:
            return _features.csr32(x)
        if numeric is None:  # a patient with no values sits at the mean
            numeric = np.broadcast_to(self.mean, (concepts.shape[0], len(self.mean)))
        scaled = (numeric - self.mean) * self.scale
        return _features.csr32(sparse.hstack([x, sparse.csr_matrix(scaled)], format="csr"))


class Cohorts:
    """Groups of similar patients, and what sets each apart; :func:`find` makes one.

    Attributes
    ----------
    labels : pandas.Series
        The cohort of each patient (``"C1"``, ``"C2"``... largest first;
        ``<NA>`` for patients DBSCAN or HDBSCAN leave out as noise), indexed
        by patient id. It stays in memory: nothing kgmed exports holds it.
    n_cohorts : int
        Cohorts found.
    scores : pandas.DataFrame
        The clusterings compared: ``n_cohorts``, ``n_patients`` (the
        patients they were fitted on: all, or above
        :data:`MINIBATCH_ABOVE` a random sample of that many),
        ``silhouette`` (mean silhouette, -1 to 1: how much closer patients
        are to their own cohort than to the next), ``inertia`` (k-means
        only), ``all_at_floor`` (every cohort has at least
        ``min_patients`` patients, scaled to the sample) and ``chosen``.
    method : str
        The scikit-learn estimator that ran (``"KMeans"``,
        ``"MiniBatchKMeans"``...).
    estimator : object
        That estimator, fitted, for the chosen clustering.
    min_patients : int
        The privacy floor: cohorts, and counts, under it are not described.
    params : dict
        How the cohorts were found.
    notes : list of str
        What was left out, and why.

    See Also
    --------
    find : Makes one.
    add_cohorts : Puts the cohorts in a graph.

    Examples
    --------
    >>> import kgmed
    >>> cohorts = kgmed.cohorts.find(kgmed.datasets.synthetic(2000, random_state=0), n_cohorts=3)
    >>> cohorts
    <Cohorts: 3 cohorts of 2,000 patients (KMeans on 62 concepts), min_patients=11>
    >>> cohorts.labels.value_counts().sort_index().index.tolist()
    ['C1', 'C2', 'C3']
    """

    def __init__(
        self,
        *,
        labels: pd.Series,
        scores: pd.DataFrame,
        method: str,
        estimator: Any,
        min_patients: int,
        params: dict[str, Any],
        space: _Space,
        concepts: sparse.csr_matrix,
        raw_to_cohort: dict[int, int],
        rows: sparse.csr_matrix,
    ) -> None:
        self.labels = labels
        self.scores = scores
        self.method = method
        self.estimator = estimator
        self.min_patients = min_patients
        self.params = params
        self._space = space
        self._raw_to_cohort = raw_to_cohort
        self._ids = [f"C{i + 1}" for i in range(len(set(raw_to_cohort.values())))]
        self.n_cohorts = len(self._ids)
        member = labels.map({c: i for i, c in enumerate(self._ids)})
        position = member.to_numpy(dtype=np.float64, na_value=np.nan)
        valid = ~np.isnan(position)
        n = len(labels)
        one_hot = sparse.csr_matrix(
            (np.ones(int(valid.sum())), (position[valid].astype(np.int64), np.nonzero(valid)[0])),
            shape=(self.n_cohorts, n),
        )
        self._sizes = np.asarray(one_hot.sum(axis=1)).ravel()
        self._n_total = n
        self._counts = np.asarray((one_hot @ concepts).toarray(), dtype=np.float64)
        self._totals = np.asarray(concepts.sum(axis=0)).ravel()
        means = sparse.diags(1.0 / np.maximum(self._sizes, 1.0)) @ one_hot
        self._centres = np.asarray((means @ rows).toarray())
        self._numeric_means = self._numeric_profile(one_hot)
        self._table = self._statistics()
        self.names = self._names()
        small = int((self._sizes < min_patients).sum())
        self.notes: list[str] = []
        if small:
            self.notes.append(
                f"{small} cohort{'s' if small > 1 else ''} of fewer than {min_patients} "
                f"patients {'are' if small > 1 else 'is'} not described (min_patients="
                f"{min_patients})."
            )
        noise = int((~valid).sum())
        if noise:
            count = f"{noise:,}" if noise >= min_patients else f"fewer than {min_patients}"
            self.notes.append(f"{count} patients are in no cohort ({method} left them as noise).")

    # -- what the cohorts are ---------------------------------------------------

    def __len__(self) -> int:
        return self.n_cohorts

    def __repr__(self) -> str:
        return (
            f"<Cohorts: {self.n_cohorts} cohorts of {self._n_total:,} patients "
            f"({self.method} on {len(self._space.concepts):,} concepts"
            + (
                f" and {len(self._space.numeric.names)} numeric features"
                + ("" if self.params.get("feature_weight") else " that only describe them")
                if self._space.numeric is not None
                else ""
            )
            + f"), min_patients={self.min_patients}>"
        )

    @property
    def sizes(self) -> pd.Series:
        """Patients in each cohort; ``<NA>`` under the privacy floor.

        Examples
        --------
        >>> import kgmed
        >>> records = kgmed.datasets.synthetic(2000, random_state=0)
        >>> int(kgmed.cohorts.find(records, n_cohorts=2).sizes.sum())
        2000
        """
        values = pd.array(
            [int(n) if n >= self.min_patients else None for n in self._sizes], dtype="Int64"
        )
        return pd.Series(values, index=pd.Index(self._ids, name="cohort"), name="n_patients")

    def _numeric_profile(self, one_hot: sparse.csr_matrix) -> pd.DataFrame | None:
        numeric = self._space.numeric
        if numeric is None:
            return None
        sums = one_hot @ numeric.values
        total = numeric.values.sum(axis=0)
        inside = sums / np.maximum(self._sizes, 1.0)[:, None]
        rest = (total[None, :] - sums) / np.maximum(self._n_total - self._sizes, 1.0)[:, None]
        spread = numeric.values.std(axis=0)
        rows = []
        for c, cohort in enumerate(self._ids):
            for f, name in enumerate(numeric.names):
                rows.append(
                    {
                        "cohort": cohort,
                        "feature": name,
                        "mean_in_cohort": float(inside[c, f]),
                        "mean_in_rest": float(rest[c, f]),
                        "difference_sd": float((inside[c, f] - rest[c, f]) / spread[f])
                        if spread[f] > 0
                        else 0.0,
                    }
                )
        return pd.DataFrame(rows)

    def _statistics(self) -> pd.DataFrame:
        """Every (cohort, concept) cell at the floor, with its counts and statistics."""
        floor = self.min_patients
        at = np.argwhere(self._counts >= floor)
        c, j = at[:, 0], at[:, 1]
        n_in = self._counts[c, j]
        size = self._sizes[c]
        total = self._totals[j]
        n = float(self._n_total)
        rest_size = n - size
        n_rest = total - n_in
        with np.errstate(divide="ignore", invalid="ignore"):
            p_in = n_in / size
            p_rest = np.where(rest_size > 0, n_rest / rest_size, np.nan)
            lift = p_in / (total / n)
            ratio = p_in / p_rest
        p_value = fisher_greater(n_in, size, total, n)
        info = self._space.info
        table = pd.DataFrame(
            {
                "cohort": np.asarray(self._ids, dtype=object)[c],
                "id": np.asarray(self._space.concepts, dtype=object)[j],
                "label": info["label"].to_numpy(dtype=object)[j],
                "kind": info["kind"].to_numpy(dtype=object)[j],
                "n_in_cohort": n_in.astype(np.int64),
                "n_in_rest": [_features.floor_count(v, floor) for v in n_rest],
                "p_in_cohort": p_in,
                "p_in_rest": p_rest,
                "difference": p_in - np.nan_to_num(p_rest),
                "lift": lift,
                "ratio_to_rest": ratio,
                "p_value": p_value,
                "q_value": benjamini_hochberg(p_value),
            }
        )
        table["n_in_rest"] = table["n_in_rest"].astype("Float64").astype("Int64")
        for column in ("cohort", "id", "label", "kind"):
            table[column] = table[column].astype("string")
        # Cohorts under the floor are never described.
        described = set(np.asarray(self._ids)[self._sizes >= floor])
        table = table[table["cohort"].isin(described)]
        order = np.lexsort(
            (
                table["id"].to_numpy(dtype=str),
                -table["difference"].to_numpy(dtype=float),
                table["cohort"].map(self._ids.index).to_numpy(dtype=int),
            )
        )
        return table.iloc[order].reset_index(drop=True)

    def _names(self) -> pd.Series:
        names = []
        for cohort, size in zip(self._ids, self._sizes, strict=True):
            if size < self.min_patients:
                names.append(f"fewer than {self.min_patients} patients")
                continue
            found = self.describe(cohort, top=None)
            chosen: list[str] = []
            for kinds in _NAME_KINDS:
                first = found.loc[found["kind"].isin(kinds), "label"].head(1)
                chosen += [str(x) for x in first]
            chosen += [str(x) for x in found["label"] if str(x) not in chosen]
            labels = list(dict.fromkeys(chosen))[:3]
            names.append(", ".join(labels) if labels else "no distinctive concept")
        return pd.Series(
            names, index=pd.Index(self._ids, name="cohort"), name="name", dtype="string"
        )

    def describe(
        self,
        cohort: str | None = None,
        *,
        kind: str | None = None,
        top: int | None = 10,
        max_q_value: float = 0.05,
    ) -> pd.DataFrame:
        """The concepts over-represented in a cohort against the rest, most distinctive first.

        A concept is listed when at least ``min_patients`` of the cohort's
        patients have it, it is more common in the cohort than in the rest
        (``ratio_to_rest`` above 1), and Fisher's exact test says so at the
        false discovery rate ``max_q_value``. The most distinctive come
        first: the largest ``difference`` between the share of the cohort's
        patients with the concept and that of the rest.

        Parameters
        ----------
        cohort : str, optional
            One cohort (``"C1"``); every cohort at the floor by default.
        kind : str, optional
            Only concepts of this kind (``"disease"``, ``"symptom"``...).
        top : int or None, default 10
            Concepts per cohort at most; None lists them all.
        max_q_value : float, default 0.05
            The false discovery rate.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`DESCRIBE_COLUMNS`: ``cohort``, the concept's
            ``id``, ``label`` and ``kind``; ``n_in_cohort`` and
            ``n_in_rest``, patients with the concept in the cohort and
            outside it (``<NA>`` when above 0 and under the floor);
            ``p_in_cohort`` and ``p_in_rest``, the same as shares (shown
            whatever the count, as the graph shows its conditionals);
            ``difference`` (``p_in_cohort - p_in_rest``); ``lift``
            (``p_in_cohort`` over the share of all patients with the
            concept, as on the graph's edges); ``ratio_to_rest``
            (``p_in_cohort / p_in_rest``, infinite when no patient outside
            has it); ``p_value`` (one-sided Fisher exact test) and
            ``q_value`` (Benjamini–Hochberg over every cohort and concept
            tested).

        Raises
        ------
        ParameterError
            If ``cohort`` is not a cohort, or an option is out of range.

        Examples
        --------
        >>> import kgmed
        >>> cohorts = kgmed.cohorts.find(kgmed.datasets.synthetic(3000, random_state=0),
        ...                              n_cohorts=4)
        >>> table = cohorts.describe("C1", top=3)
        >>> bool((table["n_in_cohort"] >= 11).all() and (table["q_value"] < 0.05).all())
        True
        """
        if cohort is not None and cohort not in self._ids:
            raise ParameterError(f"no cohort {cohort!r}; cohorts are {self._ids}")
        if kind is not None and not isinstance(kind, str):
            raise ParameterError(f"kind must be a kind such as 'disease', got {kind!r}")
        if top is not None:
            top = check_positive_int("top", top)
        max_q_value = check_fraction("max_q_value", max_q_value)
        table = self._table
        keep = (table["q_value"] < max_q_value) & (table["ratio_to_rest"] > 1)
        if cohort is not None:
            keep &= table["cohort"] == cohort
        if kind is not None:
            keep &= table["kind"] == kind
        table = table[keep.to_numpy(dtype=bool)]
        if top is not None:
            table = table.groupby("cohort", sort=False).head(top)
        return table.reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """One row per cohort: its name, size and most distinctive concepts.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`SUMMARY_COLUMNS`: ``cohort``, ``name``,
            ``n_patients`` and ``share`` (``<NA>`` under the privacy
            floor), ``diseases``, ``symptoms`` and ``treatments`` (the labels
            of the three most distinctive of each kind, see
            :meth:`describe`), and ``described`` (False under the floor).

        Examples
        --------
        >>> import kgmed
        >>> cohorts = kgmed.cohorts.find(kgmed.datasets.synthetic(2000, random_state=0),
        ...                              n_cohorts=3)
        >>> cohorts.summary().columns.tolist()
        ['cohort', 'name', 'n_patients', 'share', 'diseases', 'symptoms', 'treatments', 'described']
        """
        table = self.describe(top=None)
        rows = []
        sizes = self.sizes
        for cohort in self._ids:
            mine = table[table["cohort"] == cohort]
            n = sizes[cohort]
            rows.append(
                {
                    "cohort": cohort,
                    "name": self.names[cohort],
                    "n_patients": n,
                    "share": float(n) / self._n_total if not pd.isna(n) else math.nan,
                    **{
                        column: [str(x) for x in mine.loc[mine["kind"] == kind, "label"].head(3)]
                        for column, kind in (
                            ("diseases", "disease"),
                            ("symptoms", "symptom"),
                            ("treatments", "treatment"),
                        )
                    },
                    "described": not pd.isna(n),
                }
            )
        out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
        out["n_patients"] = out["n_patients"].astype("Int64")
        out["share"] = out["share"].astype("Float64").mask(out["n_patients"].isna())
        for column in ("cohort", "name"):
            out[column] = out[column].astype("string")
        return out

    def describe_features(self) -> pd.DataFrame:
        """The numeric features of each cohort against the rest.

        Returns
        -------
        pandas.DataFrame
            One row per (cohort, feature): ``mean_in_cohort``,
            ``mean_in_rest`` (in the feature's own unit; missing values
            counted as ``missing=`` filled them) and ``difference_sd``, the
            difference in standard deviations of all patients. Empty when
            the cohorts were found without numeric features; cohorts under
            the privacy floor are left out.

        Examples
        --------
        >>> import kgmed, pandas as pd, numpy as np
        >>> records = kgmed.datasets.synthetic(1000, random_state=0)
        >>> patients = records.data["patient_id"].unique()
        >>> age = pd.DataFrame({"age": np.arange(len(patients)) % 80 + 10}, index=patients)
        >>> cohorts = kgmed.cohorts.find(records, n_cohorts=2, features=age)
        >>> cohorts.describe_features().columns.tolist()
        ['cohort', 'feature', 'mean_in_cohort', 'mean_in_rest', 'difference_sd']
        """
        columns = ["cohort", "feature", "mean_in_cohort", "mean_in_rest", "difference_sd"]
        if self._numeric_means is None:
            return pd.DataFrame(columns=columns)
        described = [
            c for c, n in zip(self._ids, self._sizes, strict=True) if n >= self.min_patients
        ]
        table = self._numeric_means
        return table[table["cohort"].isin(described)].reset_index(drop=True)[columns]

    def about(self, cohort: str) -> dict[str, Any]:
        """One cohort in plain data: its name, size and most distinctive concepts.

        Parameters
        ----------
        cohort : str
            The cohort (``"C1"``).

        Returns
        -------
        dict
            ``cohort``, ``name``, ``n_patients`` and ``share`` (None under
            the privacy floor) and ``characterized_by`` (the labels of its
            five most distinctive concepts).

        Examples
        --------
        >>> import kgmed
        >>> cohorts = kgmed.cohorts.find(kgmed.datasets.synthetic(2000, random_state=0),
        ...                              n_cohorts=3)
        >>> sorted(cohorts.about("C1"))
        ['characterized_by', 'cohort', 'n_patients', 'name', 'share']
        """
        if cohort not in self._ids:
            raise ParameterError(f"no cohort {cohort!r}; cohorts are {self._ids}")
        n = self.sizes[cohort]
        return {
            "cohort": cohort,
            "name": str(self.names[cohort]),
            "n_patients": None if pd.isna(n) else int(n),
            "share": None if pd.isna(n) else float(n) / self._n_total,
            "characterized_by": [str(x) for x in self.describe(cohort, top=5)["label"]],
        }

    def to_dict(self) -> dict[str, Any]:
        """The cohorts as plain data for JSON, with no patient identifier.

        Examples
        --------
        >>> import json, kgmed
        >>> records = kgmed.datasets.synthetic(2000, random_state=0)
        >>> text = json.dumps(kgmed.cohorts.find(records, n_cohorts=3).to_dict())
        >>> "P0001" in text
        False
        """

        def plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = []
            for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
                out.append({str(k): _plain(v) for k, v in row.items()})
            return out

        return {
            "params": {k: _plain(v) for k, v in self.params.items()},
            "scores": plain(self.scores),
            "cohorts": plain(self.summary()),
            "descriptions": plain(self.describe(top=None)),
            "features": plain(self.describe_features()),
            "notes": list(self.notes),
        }

    # -- new patients ----------------------------------------------------------------

    @overload
    def assign(self, data: PatientLink, *, features: object = None) -> str: ...
    @overload
    def assign(self, data: Records, *, features: object = None) -> pd.Series: ...
    def assign(self, data: Any, *, features: object = None) -> pd.Series | str:
        """The cohort of new patients: the one whose centre is nearest.

        k-means assigns with its own ``predict``; the other methods, which
        have none, with the mean of each cohort's patients as its centre.
        Concepts the cohorts were not found with are ignored.

        Parameters
        ----------
        data : Records or PatientLink
            New patients' records, or one patient linked to a graph
            (:meth:`kgmed.KnowledgeGraph.link`): the concepts present, diagnosed or
            taken count; a link carries no numeric values, so they are taken
            at the mean.
        features : DataFrame, optional
            The new patients' numeric features, when the cohorts were found
            with a table of them (measurements are read from ``data``).

        Returns
        -------
        pandas.Series or str
            For records, the cohort of each patient, indexed by patient id;
            for a link, the cohort's id.

        Raises
        ------
        ParameterError
            If ``data`` is neither, or the numeric features the cohorts
            need are not given.

        Examples
        --------
        >>> import kgmed
        >>> records = kgmed.datasets.synthetic(3000, random_state=0)
        >>> cohorts = kgmed.cohorts.find(records, n_cohorts=4)
        >>> bool((cohorts.assign(records) == cohorts.labels).all())
        True
        >>> kg = kgmed.build(records)
        >>> cohorts.assign(kg.link(["wheezing", "shortness of breath", "albuterol"])) in cohorts.names
        True
        """
        from kgmed.linking import PatientLink

        space = self._space
        if isinstance(data, PatientLink):
            roles = data.matched["role"].isin(["present", "diagnosis", "treatment"])
            ids = data.matched.loc[roles.to_numpy(dtype=bool), "id"].astype(str)
            columns = space.concepts.get_indexer(pd.Index(ids.unique()))
            columns = columns[columns >= 0]
            one = sparse.csr_matrix(
                (np.ones(len(columns)), (np.zeros(len(columns), dtype=np.int64), columns)),
                shape=(1, len(space.concepts)),
            )
            return str(self._predict(space.rows(_features.csr32(one), None))[0])
        if not isinstance(data, Records):
            raise ParameterError(
                f"assign takes Records or a PatientLink, got {type(data).__name__}"
            )
        _features.check_records(data, "assign")
        matrix = _features.concept_matrix(data, kinds=space.kinds, concepts=space.concepts)
        numeric = None
        if space.numeric is not None:
            made = _features.numeric_features(
                data,
                features,
                matrix.patients,
                fitted=space.numeric,
                where="assign: features",
            )
            numeric = None if made is None else made.values
        labels = self._predict(space.rows(matrix.matrix, numeric))
        return pd.Series(
            pd.array(labels, dtype="string"),
            index=pd.Index(matrix.patients, name="patient_id"),
            name="cohort",
        )

    def _predict(self, rows: sparse.csr_matrix) -> list[str]:
        if self.params.get("engine") == "kmeans":
            raw = self.estimator.predict(rows)
            return [self._ids[self._raw_to_cohort[int(r)]] for r in raw]
        centres = self._centres
        squared = (
            np.asarray(rows.multiply(rows).sum(axis=1)).ravel()[:, None]
            - 2.0 * np.asarray(rows @ centres.T)
            + (centres**2).sum(axis=1)[None, :]
        )
        return [self._ids[i] for i in np.argmin(squared, axis=1)]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _plain(value.item())
    return value


# -- finding them ----------------------------------------------------------------------


def find(
    records: Records,
    *,
    method: str = "kmeans",
    n_cohorts: int | str = "auto",
    features: object = None,
    kinds: str | tuple[str, ...] | list[str] | None = None,
    weighting: str = "tfidf",
    max_cohorts: int = 8,
    min_patients: int = 11,
    missing: str = "error",
    feature_weight: float = 1.0,
    options: dict[str, Any] | None = None,
    random_state: int | None = 0,
    progress: bool | None = None,
) -> Cohorts:
    """Find groups of similar patients with scikit-learn.

    Each patient is a row of the patient × concept matrix, weighted by
    TF-IDF (a concept's weight falls with the share of patients who have
    it, so ubiquitous ones count for little; each row is then scaled to
    length 1), and, with ``features``, their numeric values, standardised
    and scaled together so that they weigh as much as the concepts (the
    numeric part of a row has the same expected squared length, 1, as the
    concept part; ``feature_weight`` multiplies it). The matrix stays
    sparse throughout for k-means and DBSCAN.

    Parameters
    ----------
    records : Records
        The patients. Each patient is one row, whatever ``records.basket``.
    method : {"kmeans", "minibatch", "agglomerative", "dbscan", "hdbscan"}
        ``"kmeans"``: scikit-learn's KMeans, or MiniBatchKMeans above
        :data:`MINIBATCH_ABOVE` patients (``"minibatch"`` asks for it at any
        size). ``"agglomerative"``: Ward's hierarchical clustering.
        ``"dbscan"``, ``"hdbscan"``: density-based; they choose the number
        of cohorts themselves and may leave patients in none (noise).
        The last three compare every pair of patients and take at most
        :data:`PAIRWISE_LIMIT` of them.
    n_cohorts : int or "auto", default "auto"
        How many cohorts. ``"auto"`` tries 2 to ``max_cohorts`` and keeps the
        number with the highest mean silhouette among those whose every
        cohort has at least ``min_patients`` patients (the highest overall
        if none has); ``Cohorts.scores`` lists what was compared.
        Silhouettes are computed on a sample of :data:`SILHOUETTE_SAMPLE`
        patients when there are more; above :data:`MINIBATCH_ABOVE`
        patients the numbers are compared on a random sample of that many,
        and the number chosen is then fitted on every patient. DBSCAN and
        HDBSCAN take only ``"auto"``.
    features : DataFrame or list of str, optional
        Numeric features: a table with one row per patient (indexed by
        patient id, or with a ``patient_id`` column) of numbers or booleans
        (age, sex as 0/1, BMI...), or a list of measurements the records
        hold (``Records.measurements``: concept ids such as
        ``"LOINC:39156-5"``, codes or labels), each patient's last value.
    kinds : str or list of str, optional
        Cluster on concepts of these kinds only (``["disease", "symptom",
        "treatment"]``); every kind by default.
    weighting : {"tfidf", "binary"}, default "tfidf"
        How concepts are weighted; ``"binary"`` uses the plain 0/1 matrix.
    max_cohorts : int, default 8
        The largest number ``"auto"`` tries.
    min_patients : int, default 11
        The privacy floor: a cohort with fewer patients is not described,
        not named after its concepts and not put in a graph; no count under
        it is shown. ``"auto"`` tries no number of cohorts that the
        patients could not fill at this floor.
    missing : {"error", "median"}, default "error"
        A patient with no value for a numeric feature: raise, or take the
        feature's median.
    feature_weight : float, default 1.0
        Weight of the numeric features against the concepts. A clean 0/1
        feature such as sex tends to split the patients on its own at 1;
        0 keeps the numeric features out of the grouping, to describe the
        cohorts only (:meth:`Cohorts.describe_features`).
    options : dict, optional
        More parameters for the scikit-learn estimator (``{"eps": 0.4}``
        for DBSCAN, ``{"linkage": "average"}``...). DBSCAN's ``eps`` is by
        default the median distance of a patient to its ``min_patients``-th
        nearest neighbour; ``min_samples`` (DBSCAN) and
        ``min_cluster_size`` (HDBSCAN) are ``min_patients``.
    random_state : int or None, default 0
        Seed of k-means' starts and of the silhouette sample: the same
        records give the same cohorts, numbered and named the same.
    progress : bool, optional
        Draw a progress bar over the numbers of cohorts compared on standard error: None (the
        default) when standard error is a terminal, True always, False
        never.

    Returns
    -------
    Cohorts
        Numbered by size, largest first (``"C1"``).

    Raises
    ------
    EmptyRecordsError
        If the records hold no observation.
    ParameterError
        If an option is out of range, the method unknown, or there are too
        few patients for ``n_cohorts`` cohorts of ``min_patients``.
    MissingValueError
        If a numeric feature is missing for a patient and
        ``missing="error"``.
    ConceptNotFound
        If a measurement in ``features`` names none the records hold.

    See Also
    --------
    add_cohorts : Put the cohorts in a graph.
    kgmed.models.risk : Predict one disease instead.

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(3000, random_state=0)
    >>> cohorts = kgmed.cohorts.find(records)
    >>> cohorts.scores[["n_cohorts", "silhouette", "chosen"]].round(3).tail(2)
       n_cohorts  silhouette  chosen
    5          7       0.095   False
    6          8       0.104    True
    >>> cohorts.summary()[["cohort", "name", "n_patients"]].head(3)
      cohort                                 name  n_patients
    0     C1      influenza, fever, acetaminophen         874
    1     C2  hypertension, dizziness, lisinopril         340
    2     C3          asthma, wheezing, albuterol         327
    >>> cohorts.describe("C2", top=2)[["label", "n_in_cohort", "p_in_cohort", "p_in_rest"]].round(3)
              label  n_in_cohort  p_in_cohort  p_in_rest
    0  hypertension          324        0.953      0.159
    1    lisinopril          211        0.621      0.081
    """
    check_progress(progress)  # a bad value fails before any work
    _features.check_records(records, "find")
    method = check_choice("method", method, METHODS)
    weighting = check_choice("weighting", weighting, WEIGHTINGS)
    min_patients = check_positive_int("min_patients", min_patients)
    max_cohorts = check_positive_int("max_cohorts", max_cohorts, minimum=2)
    random_state = _features.check_seed(random_state)
    kinds_tuple = _features.check_kinds(kinds)
    options = _features.check_options(options)
    if (
        isinstance(feature_weight, bool)
        or not isinstance(feature_weight, (int, float))
        or not (math.isfinite(feature_weight) and feature_weight >= 0)
    ):
        raise ParameterError(f"feature_weight must be a number >= 0, got {feature_weight!r}")
    density = method in ("dbscan", "hdbscan")
    if isinstance(n_cohorts, str):
        if n_cohorts != "auto":
            raise ParameterError(f"n_cohorts must be an integer >= 2 or 'auto', got {n_cohorts!r}")
        wanted: int | None = None
    else:
        wanted = check_positive_int("n_cohorts", n_cohorts, minimum=2)
        if density:
            raise ParameterError(
                f"method={method!r} finds the number of cohorts itself; pass "
                f"n_cohorts='auto' (or method='kmeans' for {wanted} cohorts)"
            )

    matrix = _features.concept_matrix(records, kinds=kinds_tuple)
    if len(matrix.concepts) == 0:
        raise ParameterError(f"kinds={list(kinds_tuple or ())}: the records hold no such concept")
    n = len(matrix.patients)
    ks = _candidates(n, wanted, max_cohorts, min_patients, method)
    if method in ("agglomerative", "dbscan", "hdbscan") and n > PAIRWISE_LIMIT:
        raise ParameterError(
            f"method={method!r} compares every pair of patients and takes at most "
            f"{PAIRWISE_LIMIT:,}; these records have {n:,}. Use method='kmeans' (MiniBatchKMeans "
            f"above {MINIBATCH_ABOVE:,} patients), or a sample of the patients"
        )
    numeric = _features.numeric_features(records, features, matrix.patients, missing=missing)
    space = _space(matrix, kinds_tuple, weighting, numeric, float(feature_weight))
    rows = space.rows(matrix.matrix, None if numeric is None else numeric.values)

    engine = method
    if method == "kmeans" and n > MINIBATCH_ABOVE:
        engine = "minibatch"
    # Above MINIBATCH_ABOVE patients, the numbers of cohorts are compared on a
    # random sample of that many; the number chosen is then fitted on all.
    search, floor = rows, min_patients
    if len(ks) > 1 and n > MINIBATCH_ABOVE:
        rng = np.random.default_rng(random_state)
        search = rows[np.sort(rng.choice(n, size=MINIBATCH_ABOVE, replace=False))]
        floor = math.ceil(min_patients * MINIBATCH_ABOVE / n)
    runs = []
    show = check_progress(progress)
    for k in progress_bar(ks, show=show, desc="cohorts", unit="k"):
        estimator, raw = _cluster(engine, k, search, min_patients, options, random_state)
        runs.append((k, estimator, raw, _silhouette(search, raw, random_state)))
    scores = pd.DataFrame(
        {
            "n_cohorts": [len(set(raw[raw >= 0])) for _, _, raw, _ in runs],
            "n_patients": search.shape[0],
            "silhouette": [s for *_, s in runs],
            "inertia": [float(getattr(e, "inertia_", math.nan)) for _, e, _, _ in runs],
            "all_at_floor": [_all_at_floor(raw, floor) for _, _, raw, _ in runs],
        }
    )
    best = _choose(scores)
    scores["chosen"] = np.arange(len(scores)) == best
    _, estimator, raw, _ = runs[best]
    if search is not rows:
        estimator, raw = _cluster(engine, ks[best], rows, min_patients, options, random_state)
    if not (raw >= 0).any():
        raise ParameterError(
            f"{type(estimator).__name__} found no cohort: every patient is noise. Pass a "
            f"larger eps in options= (DBSCAN), a lower min_patients on purpose, or use "
            f"method='kmeans'"
        )
    labels, raw_to_cohort = _relabel(raw, matrix.patients)
    params: dict[str, Any] = {
        "method": method,
        "engine": "kmeans" if engine in ("kmeans", "minibatch") else engine,
        "estimator": type(estimator).__name__,
        "n_cohorts": "auto" if wanted is None else wanted,
        "kinds": None if kinds_tuple is None else list(kinds_tuple),
        "weighting": weighting,
        "features": None if numeric is None else list(numeric.names),
        "missing": missing,
        "feature_weight": float(feature_weight),
        "min_patients": min_patients,
        "random_state": random_state,
        "n_patients": n,
        "n_concepts": len(matrix.concepts),
    }
    return Cohorts(
        labels=labels,
        scores=scores,
        method=type(estimator).__name__,
        estimator=estimator,
        min_patients=min_patients,
        params=params,
        space=space,
        concepts=matrix.matrix,
        raw_to_cohort=raw_to_cohort,
        rows=rows,
    )


def _candidates(
    n: int, wanted: int | None, max_cohorts: int, min_patients: int, method: str
) -> list[int]:
    """The numbers of cohorts to try; too few patients for any is an error."""
    most = n // min_patients
    if method in ("dbscan", "hdbscan"):
        if most < 2:
            raise ParameterError(
                f"too few patients: {n:,} cannot make two cohorts of min_patients="
                f"{min_patients}; lower min_patients on purpose, or add patients"
            )
        return [0]
    if wanted is not None:
        if wanted > most or wanted >= n:
            raise ParameterError(
                f"too few patients for n_cohorts={wanted}: {n:,} patients make at most "
                f"{max(most, 1)} cohort(s) of min_patients={min_patients}; ask for fewer "
                f"cohorts, or lower min_patients on purpose"
            )
        return [wanted]
    top = min(max_cohorts, most, n - 1)
    if top < 2:
        raise ParameterError(
            f"too few patients: {n:,} cannot make two cohorts of min_patients="
            f"{min_patients}; lower min_patients on purpose, or add patients"
        )
    return list(range(2, top + 1))


def _space(
    matrix: _features.ConceptMatrix,
    kinds: tuple[str, ...] | None,
    weighting: str,
    numeric: _features.NumericFeatures | None,
    feature_weight: float,
) -> _Space:
    from kgmed._sklearn import (
        TfidfTransformer,
    )

    tfidf = None
    if weighting == "tfidf":
        tfidf = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True).fit(matrix.matrix)
    mean = np.zeros(0)
    scale = np.zeros(0)
    if numeric is not None:
        mean = numeric.values.mean(axis=0)
        spread = numeric.values.std(axis=0)
        spread = np.where(spread > 0, spread, 1.0)
        scale = feature_weight / (spread * math.sqrt(len(numeric.names)))
    return _Space(matrix.concepts, matrix.info, kinds, tfidf, numeric, mean, scale)


def _cluster(
    engine: str,
    k: int,
    rows: sparse.csr_matrix,
    min_patients: int,
    options: dict[str, Any],
    random_state: int | None,
) -> tuple[Any, npt.NDArray[np.int64]]:
    from kgmed._sklearn import (
        DBSCAN,
        HDBSCAN,
        AgglomerativeClustering,
        KMeans,
        MiniBatchKMeans,
    )

    kinds = {
        "kmeans": KMeans,
        "minibatch": MiniBatchKMeans,
        "agglomerative": AgglomerativeClustering,
        "dbscan": DBSCAN,
        "hdbscan": HDBSCAN,
    }
    if engine == "kmeans":
        settings: dict[str, Any] = {"n_clusters": k, "n_init": 4, "random_state": random_state}
    elif engine == "minibatch":
        settings = {"n_clusters": k, "n_init": 3, "batch_size": 4096, "random_state": random_state}
    elif engine == "agglomerative":
        settings = {"n_clusters": k, "linkage": "ward"}
    elif engine == "dbscan":
        settings = {"min_samples": min_patients}
    else:
        settings = {"min_cluster_size": min_patients, "copy": True}
    settings.update(options)
    name = kinds[engine].__name__
    try:
        if engine == "dbscan" and "eps" not in settings:
            settings["eps"] = _eps(rows, int(settings["min_samples"]), random_state)
        estimator = kinds[engine](**settings)
        # Ward's linkage and HDBSCAN need a dense matrix; the rest stay sparse.
        data = rows.toarray() if engine in ("agglomerative", "hdbscan") else rows
        raw = estimator.fit_predict(data)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"{name} refused its options {options}: {err}") from err
    return estimator, np.asarray(raw, dtype=np.int64)


def _eps(rows: sparse.csr_matrix, min_samples: int, random_state: int | None) -> float:
    """DBSCAN's radius: the median distance of a patient to its min_samples-th neighbour."""
    from kgmed._sklearn import NearestNeighbors

    n = rows.shape[0]
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, size=min(n, 2000), replace=False))
    neighbours = NearestNeighbors(n_neighbors=min(min_samples, n)).fit(rows)
    distances, _ = neighbours.kneighbors(rows[sample])
    eps = float(np.median(distances[:, -1]))
    return eps if eps > 0 else 1e-6


def _silhouette(
    rows: sparse.csr_matrix, raw: npt.NDArray[np.int64], random_state: int | None
) -> float:
    from kgmed._sklearn import silhouette_score

    kept = raw >= 0
    if len(set(raw[kept])) < 2 or kept.sum() <= len(set(raw[kept])):
        return math.nan
    data, labels = rows[np.nonzero(kept)[0]], raw[kept]
    sample = SILHOUETTE_SAMPLE if len(labels) > SILHOUETTE_SAMPLE else None
    return float(silhouette_score(data, labels, sample_size=sample, random_state=random_state))


def _all_at_floor(raw: npt.NDArray[np.int64], floor: int) -> bool:
    sizes = np.bincount(raw[raw >= 0]) if (raw >= 0).any() else np.zeros(0)
    sizes = sizes[sizes > 0]
    return bool(len(sizes) and (sizes >= floor).all())


def _choose(scores: pd.DataFrame) -> int:
    """The best silhouette among clusterings at the floor (any, if none is); ties: fewer."""
    candidates = scores[scores["all_at_floor"]] if scores["all_at_floor"].any() else scores
    silhouette = candidates["silhouette"].fillna(-np.inf).to_numpy(dtype=float)
    return int(np.asarray(candidates.index)[int(np.argmax(silhouette))])


def _relabel(raw: npt.NDArray[np.int64], patients: pd.Index) -> tuple[pd.Series, dict[int, int]]:
    """Cohort ids by size, largest first (ties: the one whose first patient comes first)."""
    clusters = np.unique(raw[raw >= 0])
    sizes = np.array([(raw == c).sum() for c in clusters])
    first = np.array([int(np.argmax(raw == c)) for c in clusters])
    order = np.lexsort((first, -sizes))
    raw_to_cohort = {int(clusters[i]): rank for rank, i in enumerate(order)}
    ids = np.full(len(raw), None, dtype=object)
    for cluster, rank in raw_to_cohort.items():
        ids[raw == cluster] = f"C{rank + 1}"
    labels = pd.Series(
        pd.array(ids, dtype="string"), index=pd.Index(patients, name="patient_id"), name="cohort"
    )
    return labels, raw_to_cohort


# -- into the graph ----------------------------------------------------------------------


def add_cohorts(
    kg: KnowledgeGraph,
    cohorts: Cohorts,
    *,
    top: int = 10,
    max_q_value: float = 0.05,
    prefix: str = "cohort",
) -> pd.Series:
    """Put cohorts in a graph: a node each, with ``characterized_by`` edges to its concepts.

    Each cohort with at least the privacy floor of patients (the larger of
    the graph's and the cohorts' ``min_patients``) becomes a node of kind
    ``"cohort"`` (id ``"<prefix>:C1"``, label ``"<prefix> C1: <name>"``,
    ``n_patients`` its size), with an edge ``characterized_by`` to each of
    its ``top`` most distinctive concepts (:meth:`Cohorts.describe`) that
    the graph has. An edge carries the evidence an edge of the graph
    carries: ``p_target_given_source`` (share of the cohort with the
    concept), ``p_source_given_target`` (share of the concept's patients in
    the cohort), ``lift``, ``leverage``, ``support``, the counts, the
    one-sided Fisher ``p_value`` and its ``q_value``, and ``provenance``
    ``"cohorts:<method>"``. No patient id enters the graph; cohort nodes
    show in queries (:meth:`kgmed.KnowledgeGraph.neighbors`), in RDF and in HTML
    pages.

    Parameters
    ----------
    kg : KnowledgeGraph
        The graph, changed in place.
    cohorts : Cohorts
        What :func:`find` returned, from the records the graph was built
        from (or records like them).
    top : int, default 10
        Edges per cohort at most.
    max_q_value : float, default 0.05
        The false discovery rate a concept must pass.
    prefix : str, default "cohort"
        The nodes' id prefix; another prefix adds a second set of cohorts.

    Returns
    -------
    pandas.Series
        Counts: ``cohorts`` (found), ``added`` (nodes), ``under_floor``
        (cohorts left out for having fewer patients than the floor),
        ``edges``, ``concepts_not_in_graph`` (distinctive concepts the
        graph lacks, so no edge).

    Raises
    ------
    ParameterError
        If ``cohorts`` is not Cohorts, or ``prefix`` is not a plain word.
    GraphError
        If the graph already has nodes with these ids.

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(3000, random_state=0)
    >>> kg = kgmed.build(records)
    >>> cohorts = kgmed.cohorts.find(records, n_cohorts=4)
    >>> summary = kgmed.cohorts.add_cohorts(kg, cohorts)
    >>> int(summary["added"]), len(kg.nodes("cohort"))
    (4, 4)
    >>> kg.neighbors("cohort:C1")["relation"].unique().tolist()
    ['characterized_by']
    """
    if not isinstance(cohorts, Cohorts):
        raise ParameterError(
            f"add_cohorts takes what kgmed.cohorts.find returns, got {type(cohorts).__name__}"
        )
    top = check_positive_int("top", top)
    max_q_value = check_fraction("max_q_value", max_q_value)
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        raise ParameterError(
            f"prefix must be a plain word (letters, digits, '_' or '-'), got {prefix!r}"
        )
    floor = max(int(kg.params.get("min_patients", 11)), cohorts.min_patients)
    ids = {cohort: f"{prefix}:{cohort}" for cohort in cohorts._ids}
    taken = [node for node in ids.values() if node in kg.graph]
    if taken:
        raise GraphError(
            f"the graph already has nodes {taken[:3]}; pass another prefix= to add "
            f"a second set of cohorts"
        )
    n_total = float(cohorts._n_total)
    table = cohorts.describe(top=None, max_q_value=max_q_value)
    counts = dict.fromkeys(("cohorts", "added", "under_floor", "edges", "concepts_not_in_graph"), 0)
    counts["cohorts"] = cohorts.n_cohorts
    provenance = f"cohorts:{cohorts.params['engine']}"
    kg._cache.clear()
    for cohort, size in zip(cohorts._ids, cohorts._sizes, strict=True):
        if size < floor:
            counts["under_floor"] += 1
            continue
        node = ids[cohort]
        kg.graph.add_node(
            node,
            kind="cohort",
            label=f"{prefix} {cohort}: {cohorts.names[cohort]}",
            system=None,
            code=None,
            n_patients=int(size),
        )
        counts["added"] += 1
        mine = table[table["cohort"] == cohort]
        present = mine["id"].isin(list(kg.graph.nodes)).to_numpy(dtype=bool)
        counts["concepts_not_in_graph"] += int((~present).sum())
        for row in mine[present].head(top).itertuples(index=False):
            n_in = float(row.n_in_cohort)
            n_concept = float(cohorts._totals[cohorts._space.concepts.get_loc(row.id)])
            if n_in < floor:
                continue
            support = n_in / n_total
            kg.graph.add_edge(
                node,
                str(row.id),
                key="characterized_by",
                p_target_given_source=float(row.p_in_cohort),
                p_source_given_target=n_in / n_concept,
                lift=float(row.lift),
                leverage=support - (size / n_total) * (n_concept / n_total),
                support=support,
                n_patients=int(n_in),
                n_both=int(n_in),
                n_source=int(size),
                n_target=int(n_concept),
                n_total=int(n_total),
                n_recorded=None,
                p_value=float(row.p_value),
                q_value=float(row.q_value),
                direct_weight=math.nan,
                direct_q_value=math.nan,
                direct=None,
                provenance=provenance,
            )
            counts["edges"] += 1
    kg._index = None
    return pd.Series(counts, dtype="int64")
