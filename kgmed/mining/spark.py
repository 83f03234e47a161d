"""Mining in Apache Spark: ``algorithm="spark"``.

The counting runs in Spark; the numbers that need exact floating point (the
metrics, Fisher p-values, Benjamini–Hochberg q-values) are made on the
driver from the collected integer counts, by the same functions the
single-machine miners use, so that ``algorithm="spark"`` gives the same
rules, counts and statistics as ``"pairs"`` (rules of two items) and
``"fpgrowth"`` (longer rules).

What runs where:

- Records that are already on the driver (:class:`~kgmed.Records`, a pandas
  DataFrame, :class:`~kgmed.mining.Transactions`) become their sparse
  basket × concept matrix there, and only its integer codes (basket,
  patient, concept) go to Spark, through Arrow.
- A Spark DataFrame of long records stays in Spark. Only its distinct
  (label, kind) values come to the driver, where kgmed's reader
  normalization makes concept ids of them (``local:fever``, as
  :meth:`kgmed.Records.from_dataframe` does); the ids go back to Spark as a
  small broadcast table of integer codes.
- Pairs (``max_len=2``): item counts by a Spark SQL group-by, then a
  self-join of the baskets on the frequent items only, grouped by pair.
- Longer rules: :class:`pyspark.ml.fpm.FPGrowth` on one array of item codes
  per basket; its frequent itemsets (items and integer counts) are
  collected, and every split of each itemset into antecedent and consequent
  is made on the driver, as mlxtend's ``association_rules`` does.
- Only aggregated tables (item counts, pair counts, itemsets, the concept
  table) are collected. :func:`kgmed.build` with its default
  ``relations="direct"`` also needs the patient × concept matrix for the
  noisy-OR fit: it comes to the driver as one Arrow list of integer concept
  codes per patient, never with patient ids.

pyspark is imported only inside the functions here, so ``import kgmed``
never needs it; without it they raise
:class:`~kgmed.errors.MissingDependencyError`.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, TypeGuard

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from kgmed._validation import check_columns
from kgmed.errors import (
    EmptyRecordsError,
    MissingDependencyError,
    MissingValueError,
    ParameterError,
    UnknownKindError,
)
from kgmed.mining.pairs import PairCounts, min_count
from kgmed.mining.rules import (
    _as_transactions,
    _empty_rules,
    _rules_of_counts,
    _rules_of_pairs,
    _sorted,
)
from kgmed.mining.transactions import Transactions
from kgmed.records import Records
from kgmed.records._long import _check_one_kind
from kgmed.records._normalize import clean_text, label_key
from kgmed.records.core import BASKETS
from kgmed.schema import KINDS, concept_id_for, normalize_kind

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column, SparkSession
    from pyspark.sql import DataFrame as SparkDataFrame

__all__ = ["SPARK_COLUMNS", "is_spark_dataframe"]

#: The columns a Spark DataFrame of records needs, as
#: :meth:`kgmed.Records.from_dataframe` names them by default.
SPARK_COLUMNS: tuple[str, ...] = ("patient_id", "concept", "kind")

_INSTALL = 'pip install "kgmed[spark]"'
_SOURCE = "Spark DataFrame"


def is_spark_dataframe(data: object) -> TypeGuard[SparkDataFrame]:
    """Whether ``data`` is a Spark DataFrame (classic or Spark Connect).

    pyspark is not imported: an object can only be a Spark DataFrame if
    pyspark was imported already.

    Parameters
    ----------
    data : object
        Anything.

    Returns
    -------
    bool

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.mining.spark import is_spark_dataframe
    >>> is_spark_dataframe(pd.DataFrame({"patient_id": [1]}))
    False
    """
    module = type(data).__module__
    if not module.startswith("pyspark."):
        return False
    sql = sys.modules.get("pyspark.sql")
    if sql is not None and isinstance(data, sql.DataFrame):
        return True
    # Spark Connect's DataFrame in pyspark 3.5 is no pyspark.sql.DataFrame.
    return module.startswith("pyspark.sql.connect.") and type(data).__name__ == "DataFrame"


def _require_pyspark() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyspark.ml.fpm
        import pyspark.sql  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(
            f"algorithm='spark' needs pyspark with its ML and SQL extras, and "
            f"{err.name or 'a module'} is not installed; install them with {_INSTALL}"
        ) from err


def _session() -> SparkSession:
    """The active Spark session, or one built from the environment's defaults."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()


def _spark_4() -> bool:
    import pyspark

    return int(pyspark.__version__.split(".")[0]) >= 4


def _to_spark(spark: SparkSession, table: pa.Table) -> SparkDataFrame:
    """An Arrow table as a Spark DataFrame (through Arrow, no Python rows)."""
    if _spark_4():
        return spark.createDataFrame(table)
    return spark.createDataFrame(table.to_pandas())  # pragma: no cover - pyspark 3.5


def _to_arrow(frame: SparkDataFrame) -> pa.Table:
    """A Spark DataFrame collected to the driver as an Arrow table."""
    if _spark_4():
        return frame.toArrow()
    import pyarrow as pa  # pragma: no cover - pyspark 3.5

    return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)  # pragma: no cover


@dataclass
class _Baskets:
    """Distinct (basket, patient, item) rows in Spark, and what the codes mean.

    ``item`` is a position in ``concepts``; ``basket`` and ``patient`` are
    whatever identifies them in Spark (integer codes, or patient ids).
    """

    frame: SparkDataFrame
    concepts: pd.Index
    n_baskets: int
    unit: str

    def release(self) -> None:
        """Drop the cached rows from the executors."""
        # Where caching was refused (see _cached) there is nothing to drop.
        with contextlib.suppress(Exception):
            self.frame.unpersist()


def _cached(frame: SparkDataFrame) -> SparkDataFrame:
    """``frame`` kept in memory (or on disk) across the jobs that read it.

    Best effort: some deployments (serverless Spark Connect) refuse to
    persist, and there the rows are recomputed for each job instead.
    """
    from pyspark import StorageLevel

    try:
        return frame.persist(StorageLevel.MEMORY_AND_DISK)
    except Exception:  # pragma: no cover - depends on the deployment
        return frame


@dataclass
class SparkMined:
    """What :func:`kgmed.build` needs from a Spark DataFrame of records.

    Attributes
    ----------
    rules : pandas.DataFrame
        The rules, as :func:`kgmed.mine_rules` returns them.
    concepts : pandas.DataFrame
        One row per concept, as :meth:`Records.concepts` gives it.
    n_patients : int
        Distinct patients.
    unit : str
        What a basket is (``"patient"``).
    n_baskets : int
        Baskets counted.
    per_patient : Transactions or None
        The patient × concept matrix, when asked for (the direct fit needs
        it); its rows are numbered, not named.
    """

    rules: pd.DataFrame
    concepts: pd.DataFrame
    n_patients: int
    unit: str
    n_baskets: int
    per_patient: Transactions | None


# -- entry points -------------------------------------------------------------------------


def spark_rules(
    data: Records | Transactions | pd.DataFrame | SparkDataFrame,
    *,
    min_support: float,
    min_confidence: float,
    min_patients: int,
    max_len: int,
) -> pd.DataFrame:
    """:func:`kgmed.mine_rules` with ``algorithm="spark"``, parameters checked already."""
    _require_pyspark()
    if is_spark_dataframe(data):
        baskets, _, _ = _read_spark_records(data)
    else:
        baskets = _baskets_of_transactions(_as_transactions(data), _session())
    try:
        return _mine(
            baskets,
            min_support=min_support,
            min_confidence=min_confidence,
            min_patients=min_patients,
            max_len=max_len,
        )
    finally:
        baskets.release()


def mine_spark_records(
    data: SparkDataFrame,
    *,
    basket: str | None,
    min_support: float,
    min_confidence: float,
    min_patients: int,
    max_len: int,
    per_patient: bool,
) -> SparkMined:
    """Rules, concepts and (if asked) the patient matrix of a Spark DataFrame of records.

    What :func:`kgmed.build` calls for a Spark DataFrame; parameters checked
    already.
    """
    _require_pyspark()
    if basket not in (None, *BASKETS):
        raise ParameterError(f"basket must be one of {list(BASKETS)}, got {basket!r}")
    if basket == "encounter":
        raise ParameterError(
            "basket='encounter' is not supported for a Spark DataFrame: its records "
            "name no encounter column. Count per patient (basket='patient'), or read "
            "the records on the driver with kgmed.Records.from_dataframe(df.toPandas(), "
            "encounter=<column>, basket='encounter') and pass those"
        )
    baskets, concepts, n_patients = _read_spark_records(data)
    try:
        rules = _mine(
            baskets,
            min_support=min_support,
            min_confidence=min_confidence,
            min_patients=min_patients,
            max_len=max_len,
        )
        matrix = _patient_matrix(baskets) if per_patient else None
    finally:
        baskets.release()
    return SparkMined(
        rules=rules,
        concepts=concepts,
        n_patients=n_patients,
        unit=baskets.unit,
        n_baskets=baskets.n_baskets,
        per_patient=matrix,
    )


def _mine(
    baskets: _Baskets,
    *,
    min_support: float,
    min_confidence: float,
    min_patients: int,
    max_len: int,
) -> pd.DataFrame:
    if max_len == 2:
        rules = _rules_of_pairs(
            _pair_counts(baskets, min_support=min_support, min_patients=min_patients)
        )
    else:
        rules = _itemset_rules(
            baskets, min_support=min_support, min_patients=min_patients, max_len=max_len
        )
    rules = rules.loc[rules["confidence"].to_numpy() >= min_confidence]
    return _sorted(rules)


# -- baskets in Spark ---------------------------------------------------------------------


def _baskets_of_transactions(t: Transactions, spark: SparkSession) -> _Baskets:
    """The nonzero cells of a basket × concept matrix, as integer codes in Spark."""
    import pyarrow as pa

    coo = sparse.coo_array(t.matrix)
    present = np.asarray(coo.data, dtype=bool)
    rows = np.asarray(coo.row, dtype=np.int64)[present]
    cols = np.asarray(coo.col, dtype=np.int32)[present]
    patients = rows if t.patient_of is None else np.asarray(t.patient_of, dtype=np.int64)[rows]
    table = pa.table({"basket": rows, "patient": patients, "item": cols})
    frame = _cached(_to_spark(spark, table))
    return _Baskets(frame=frame, concepts=t.concepts, n_baskets=t.n_baskets, unit=t.unit)


def _read_spark_records(data: SparkDataFrame) -> tuple[_Baskets, pd.DataFrame, int]:
    """Normalize a Spark DataFrame of long records into item codes, in Spark.

    Returns the baskets (one per patient), the concept table and the number
    of patients. Labels and kinds are normalized on the driver once per
    distinct value, as :meth:`kgmed.Records.from_dataframe` normalizes them.
    """
    import pyarrow as pa
    from pyspark.sql import functions as F  # noqa: N812

    check_columns(
        pd.DataFrame(columns=list(data.columns)), dict.fromkeys(SPARK_COLUMNS), where=_SOURCE
    )
    spark = data.sparkSession
    raw = data.select(
        _patient_key(data).alias("patient"),
        F.col("concept").cast("string").alias("label"),
        F.col("kind").cast("string").alias("kind"),
        F.monotonically_increasing_id().alias("position"),
    )
    # Every distinct (label, kind) with its rows and where it is first seen:
    # the display label of a concept is its most frequent spelling, the
    # first seen on a tie, as Records.from_dataframe chooses it.
    combos = raw.groupBy("label", "kind").agg(
        F.count(F.lit(1)).alias("n"), F.min("position").alias("first")
    )
    table = pd.DataFrame(
        [tuple(row) for row in combos.collect()], columns=["label", "kind", "n", "first"]
    )
    vocabulary = _vocabulary(table)
    codes = pa.table(
        {
            "label": pa.array(vocabulary.raw_labels, type=pa.string()),
            "item": pa.array(vocabulary.codes, type=pa.int32()),
        }
    )
    observed = raw.join(F.broadcast(_to_spark(spark, codes)), on="label").select("patient", "item")
    # Per concept, and (the row whose item is null) over all: distinct
    # patients, and the observations that name none.
    totals = (
        observed.rollup("item")
        .agg(
            F.countDistinct("patient").alias("n_patients"),
            F.sum(F.when(F.col("patient").isNull(), 1).otherwise(0)).alias("n_missing"),
        )
        .collect()
    )
    overall = next(row for row in totals if row["item"] is None)
    if overall["n_missing"]:
        raise MissingValueError(
            f"{_SOURCE}: column 'patient_id' is empty in {overall['n_missing']} row(s); "
            f"every observation needs a patient id. Fill or drop those rows."
        )
    n_patients = int(overall["n_patients"])
    per_concept = np.zeros(len(vocabulary.concepts), dtype=np.int64)
    for row in totals:
        if row["item"] is not None:
            per_concept[int(row["item"])] = int(row["n_patients"])
    frame = _cached(observed.select(F.col("patient").alias("basket"), "patient", "item").distinct())
    concepts = vocabulary.table.assign(n_patients=per_concept).sort_values(
        ["n_patients", "concept_id"], ascending=[False, True], ignore_index=True
    )
    baskets = _Baskets(
        frame=frame, concepts=vocabulary.concepts, n_baskets=n_patients, unit="patient"
    )
    return baskets, concepts, n_patients


def _patient_key(data: SparkDataFrame) -> Column:
    """Patient ids as text, as the pandas reader compares them.

    Integral floats lose their ``.0`` and surrounding whitespace goes; an
    empty id is missing. (The pandas reader also applies Unicode NFKC
    normalization to ids; here ids that differ only by it stay apart.)
    """
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.types import DoubleType, FloatType

    column = F.col("patient_id")
    if isinstance(data.schema["patient_id"].dataType, (DoubleType, FloatType)):
        text = F.when(column == F.floor(column), column.cast("long").cast("string")).otherwise(
            column.cast("string")
        )
    else:
        text = column.cast("string")
    text = F.regexp_replace(text, r"(?U)^\s+|\s+$", "")
    return F.when(text == "", F.lit(None)).otherwise(text)


@dataclass
class _Vocabulary:
    raw_labels: list[str]
    codes: npt.NDArray[np.int32]
    concepts: pd.Index
    table: pd.DataFrame


def _vocabulary(combos: pd.DataFrame) -> _Vocabulary:
    """Concept ids, kinds and display labels of the distinct (label, kind) values."""
    spelling = clean_text(combos["label"].astype(object))
    kept = spelling.notna().to_numpy()
    if not kept.any():
        if len(combos) == 0:
            raise EmptyRecordsError(f"{_SOURCE}: the table has no rows")
        raise EmptyRecordsError(
            f"{_SOURCE}: no row holds a concept (column 'concept' is empty throughout)"
        )
    combos = combos.loc[kept].assign(spelling=spelling[kept]).reset_index(drop=True)
    keys = label_key(combos["spelling"])
    combos["concept_id"] = [concept_id_for(str(key)) for key in keys]
    kind_text = clean_text(combos["kind"].astype(object))
    missing = kind_text.isna().to_numpy()
    if missing.any():
        n = int(combos.loc[missing, "n"].sum())
        raise MissingValueError(
            f"{_SOURCE}: column 'kind' (kind) is empty in {n} row(s); every observation "
            f"needs a kind, one of {list(KINDS)}"
        )
    kinds: dict[str, str] = {}
    for value in pd.unique(kind_text):
        try:
            kinds[str(value)] = normalize_kind(str(value))
        except UnknownKindError as err:
            raise UnknownKindError(f"{_SOURCE}: column 'kind': {err}") from err
    combos["kind"] = kind_text.map(kinds).astype("string")
    _check_one_kind(combos, _SOURCE)
    # One label per concept: its most frequent spelling, the first seen on a tie.
    spellings = combos.groupby(["concept_id", "spelling"], sort=False).agg(
        n=("n", "sum"), first=("first", "min")
    )
    spellings = spellings.reset_index().sort_values(
        ["concept_id", "n", "first"], ascending=[True, False, True], kind="stable"
    )
    display = spellings.drop_duplicates("concept_id").set_index("concept_id")["spelling"]
    concepts = pd.Index(sorted(display.index), dtype=object)
    kind_of = combos.drop_duplicates("concept_id").set_index("concept_id")["kind"]
    table = pd.DataFrame(
        {
            "concept_id": pd.array(list(concepts), dtype="string"),
            "label": pd.array(display.reindex(concepts).to_numpy(), dtype="string"),
            "kind": pd.array(kind_of.reindex(concepts).to_numpy(), dtype="string"),
            "system": pd.array([pd.NA] * len(concepts), dtype="string"),
            "code": pd.array([pd.NA] * len(concepts), dtype="string"),
        }
    )
    # A label may come with several kinds' spellings; one row per raw label.
    by_label = combos.drop_duplicates("label")
    return _Vocabulary(
        raw_labels=[str(label) for label in by_label["label"]],
        codes=concepts.get_indexer(by_label["concept_id"]).astype(np.int32),
        concepts=concepts,
        table=table,
    )


def _patient_matrix(baskets: _Baskets) -> Transactions:
    """The patient × concept matrix on the driver, from one Arrow list of codes per patient."""
    import pyarrow.compute as pc
    from pyspark.sql import functions as F  # noqa: N812

    lists = _to_arrow(
        baskets.frame.groupBy("patient").agg(F.collect_list("item").alias("items")).select("items")
    )
    column = lists.column("items")
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False).astype(np.int64)
    items = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    shape = (len(lengths), len(baskets.concepts))
    matrix = sparse.csr_array((np.ones(len(items), dtype=bool), items, indptr), shape=shape)
    matrix.sort_indices()
    return Transactions(
        matrix=matrix,
        concepts=baskets.concepts,
        baskets=pd.RangeIndex(shape[0]),
        unit="patient",
    )


# -- counting -----------------------------------------------------------------------------


def _item_counts(baskets: _Baskets, threshold: int) -> dict[int, int]:
    """Baskets holding each item, for the items in at least ``threshold``."""
    from pyspark.sql import functions as F  # noqa: N812

    counts = (
        baskets.frame.groupBy("item")
        .agg(F.count(F.lit(1)).alias("n"))
        .where(F.col("n") >= threshold)
        .collect()
    )
    return {int(row["item"]): int(row["n"]) for row in counts}


def _pair_counts(baskets: _Baskets, *, min_support: float, min_patients: int) -> PairCounts:
    """:func:`kgmed.mining.pair_counts`, counted by Spark SQL."""
    import pyarrow as pa
    from pyspark.sql import functions as F  # noqa: N812

    n_total = baskets.n_baskets
    threshold = min_count(n_total, min_support, min_patients)
    singles = _item_counts(baskets, threshold)
    empty = np.array([], dtype=np.int64)
    if len(singles) < 2:
        return PairCounts(empty, empty, empty, empty, empty, n_total, baskets.concepts)
    frame = baskets.frame
    frequent = _to_spark(
        frame.sparkSession, pa.table({"item": pa.array(sorted(singles), type=pa.int32())})
    )
    kept = frame.join(F.broadcast(frequent), on="item")
    left = kept.select("basket", "patient", F.col("item").alias("first"))
    right = kept.select("basket", F.col("item").alias("second"))
    together = left.join(right, on="basket").where(F.col("first") < F.col("second"))
    counts = [F.count(F.lit(1)).alias("n_both")]
    per_encounter = baskets.unit != "patient"
    if per_encounter:
        # The floor is on patients: twelve visits of one patient are one.
        counts.append(F.countDistinct("patient").alias("n_patients"))
    pairs = together.groupBy("first", "second").agg(*counts).where(F.col("n_both") >= threshold)
    if per_encounter:
        pairs = pairs.where(F.col("n_patients") >= min_patients)
    rows = pairs.collect()
    first = np.array([int(row["first"]) for row in rows], dtype=np.int64)
    second = np.array([int(row["second"]) for row in rows], dtype=np.int64)
    n_both = np.array([int(row["n_both"]) for row in rows], dtype=np.int64)
    n_patients = (
        np.array([int(row["n_patients"]) for row in rows], dtype=np.int64)
        if per_encounter
        else n_both
    )
    order = np.lexsort((second, first))
    first, second, n_both, n_patients = (a[order] for a in (first, second, n_both, n_patients))
    return PairCounts(
        first=first,
        second=second,
        n_first=np.array([singles[int(i)] for i in first], dtype=np.int64),
        n_second=np.array([singles[int(i)] for i in second], dtype=np.int64),
        n_both=n_both,
        n_total=n_total,
        concepts=baskets.concepts,
        n_patients=n_patients,
    )


def _itemset_rules(
    baskets: _Baskets, *, min_support: float, min_patients: int, max_len: int
) -> pd.DataFrame:
    """Rules of up to ``max_len`` items from Spark's FPGrowth, counted exactly."""
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F  # noqa: N812

    n_total = baskets.n_baskets
    threshold = min_count(n_total, min_support, min_patients)
    per_basket = baskets.frame.groupBy("basket").agg(F.collect_set("item").alias("items"))
    n_rows = per_basket.count()
    if threshold > n_rows:
        return _empty_rules()
    # Spark keeps the itemsets whose count reaches ceil(minSupport * n_rows).
    # Half a basket below the threshold, that is the threshold itself
    # whatever the rounding; the counts are checked again below.
    support = (threshold - 0.5) / n_rows
    model = FPGrowth(itemsCol="items", minSupport=support).fit(per_basket)
    found = (
        model.freqItemsets.where((F.size("items") <= max_len) & (F.col("freq") >= threshold))
        .select("items", "freq")
        .collect()
    )
    counts = {frozenset(int(i) for i in row["items"]): int(row["freq"]) for row in found}
    multi = sorted((s for s in counts if len(s) > 1), key=sorted)
    if not multi:
        return _empty_rules()
    per_itemset = _itemset_patients(baskets, multi) if baskets.unit != "patient" else None
    concepts = baskets.concepts
    antecedents: list[frozenset[str]] = []
    consequents: list[frozenset[str]] = []
    n_antecedent: list[int] = []
    n_consequent: list[int] = []
    n_both: list[int] = []
    n_patients: list[int] = []
    for k, itemset in enumerate(multi):
        patients = counts[itemset] if per_itemset is None else int(per_itemset[k])
        if patients < min_patients:
            continue
        items = sorted(itemset)
        for size in range(1, len(items)):
            for left in combinations(items, size):
                antecedent = frozenset(left)
                consequent = itemset - antecedent
                antecedents.append(frozenset(str(concepts[i]) for i in antecedent))
                consequents.append(frozenset(str(concepts[i]) for i in consequent))
                n_antecedent.append(counts[antecedent])
                n_consequent.append(counts[consequent])
                n_both.append(counts[itemset])
                n_patients.append(patients)
    if not antecedents:
        return _empty_rules()
    return _rules_of_counts(
        antecedents,
        consequents,
        np.array(n_antecedent, dtype=np.int64),
        np.array(n_consequent, dtype=np.int64),
        np.array(n_both, dtype=np.int64),
        n_total,
        np.array(n_patients, dtype=np.int64),
    )


def _itemset_patients(baskets: _Baskets, itemsets: list[frozenset[int]]) -> npt.NDArray[np.int64]:
    """Distinct patients with a basket holding every item of each itemset."""
    import pyarrow as pa
    from pyspark.sql import functions as F  # noqa: N812

    members = [(k, item, len(s)) for k, s in enumerate(itemsets) for item in sorted(s)]
    table = pa.table(
        {
            "itemset": pa.array([m[0] for m in members], type=pa.int32()),
            "item": pa.array([m[1] for m in members], type=pa.int32()),
            "size": pa.array([m[2] for m in members], type=pa.int32()),
        }
    )
    wanted = _to_spark(baskets.frame.sparkSession, table)
    holding = (
        baskets.frame.join(F.broadcast(wanted), on="item")
        .groupBy("itemset", "size", "basket", "patient")
        .agg(F.count(F.lit(1)).alias("n"))
        .where(F.col("n") == F.col("size"))
    )
    rows = holding.groupBy("itemset").agg(F.countDistinct("patient").alias("n")).collect()
    counts = np.zeros(len(itemsets), dtype=np.int64)
    for row in rows:
        counts[int(row["itemset"])] = int(row["n"])
    return counts
