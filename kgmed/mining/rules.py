"""Association rules with their counts and significance, from records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kgmed._limits import check as check_memory
from kgmed._limits import memory_budget
from kgmed._validation import check_choice, check_fraction, check_positive_int
from kgmed.errors import ParameterError, RecordsError
from kgmed.mining.metrics import METRIC_COLUMNS, rule_metrics
from kgmed.mining.pairs import DENSE_PAIR_COLUMNS, PairCounts, min_count, pair_counts
from kgmed.mining.significance import benjamini_hochberg, fisher_greater
from kgmed.mining.transactions import Transactions, transactions
from kgmed.records import Records

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame

__all__ = ["ALGORITHMS", "RULE_COLUMNS", "mine_rules"]

#: Values of ``algorithm``: ``"pairs"`` is kgmed's exact sparse counting
#: (rules of two items only), ``"fpgrowth"`` and ``"apriori"`` are mlxtend's,
#: ``"spark"`` counts in Apache Spark (``pip install "kgmed[spark]"``).
ALGORITHMS: tuple[str, ...] = ("auto", "pairs", "fpgrowth", "apriori", "spark")

#: Columns of a rules table: mlxtend's, then the counts and significance.
RULE_COLUMNS: tuple[str, ...] = (
    "antecedents",
    "consequents",
    *METRIC_COLUMNS,
    "n_antecedent",
    "n_consequent",
    "n_both",
    "n_total",
    "n_patients",
    "p_value",
    "q_value",
)


def mine_rules(
    data: Records | Transactions | pd.DataFrame | SparkDataFrame,
    *,
    min_support: float = 0.001,
    min_confidence: float = 0.05,
    min_patients: int = 11,
    max_len: int = 2,
    algorithm: str = "auto",
    max_memory: int | float | str | None = None,
) -> pd.DataFrame:
    """Association rules between concepts, each with its counts and significance.

    Parameters
    ----------
    data : Records, Transactions, pandas.DataFrame or pyspark.sql.DataFrame
        The observations; a DataFrame is read with
        :meth:`Records.from_dataframe` and its default column names. A Spark
        DataFrame (columns ``patient_id``, ``concept``, ``kind``) is mined
        in Spark, one basket per patient.
    min_support : float, default 0.001
        Keep rules whose items occur together in at least this fraction of
        baskets (patients, or encounters for records counted per
        encounter); in (0, 1].
    min_confidence : float, default 0.05
        Keep rules whose confidence, P(consequent | antecedent), is at least
        this; in [0, 1].
    min_patients : int, default 11
        The privacy floor: keep only rules whose items occur together in at
        least this many distinct patients. Lower it (to 1 at least) on
        purpose only.
    max_len : int, default 2
        Largest number of items in a rule, antecedent and consequent
        together. Two gives the pairwise rules a graph is made of.
    algorithm : {"auto", "pairs", "fpgrowth", "apriori", "spark"}, default "auto"
        ``"pairs"`` counts pairs exactly with one sparse matrix product
        (``max_len=2`` only); ``"fpgrowth"`` and ``"apriori"`` use mlxtend's
        miners and ``association_rules``; ``"spark"`` counts in Apache
        Spark (Spark SQL for pairs, ``pyspark.ml.fpm.FPGrowth`` for longer
        rules) in the active Spark session, or the data's own for a Spark
        DataFrame (see ``docs/spark.md``). ``"auto"`` picks ``"spark"`` for
        a Spark DataFrame, else ``"pairs"`` for ``max_len=2`` and
        ``"fpgrowth"`` otherwise. All give the same rules.
    max_memory : int, float or str, optional
        The memory budget, in bytes or as a size (``"8GiB"``); by default
        the memory available now. Before counting, the most itemsets the
        request can give is bounded from the baskets' frequent concepts; a
        bound over budget raises :class:`~kgmed.errors.ResourceLimitError`
        with the estimate instead of exhausting the machine. ``math.inf``
        turns the check off. Spark is not checked (its cluster has its own
        limits).

    Returns
    -------
    pandas.DataFrame
        One row per rule, columns :data:`~kgmed.mining.RULE_COLUMNS`: mlxtend's
        (``antecedents`` and ``consequents`` as frozensets of concept ids,
        ``support``, ``confidence``, ``lift``, ``leverage``,
        ``conviction``...), the counts behind them (``n_antecedent``,
        ``n_consequent``, ``n_both``, ``n_total``, in baskets, and
        ``n_patients``: distinct patients with both sides, which equals
        ``n_both`` when baskets are patients), a one-sided Fisher exact
        ``p_value`` and its Benjamini–Hochberg ``q_value``. The q-values are
        taken over every rule that passed ``min_support`` and
        ``min_patients``, before ``min_confidence`` filtered them, so that the
        filter does not shrink the family of tests; a rule and its reverse
        (X → Y, Y → X) share one 2 × 2 table and count as one test. Most
        supported first.

    Raises
    ------
    ParameterError
        If a parameter is out of range, ``algorithm="pairs"`` is asked for
        rules longer than two items, or a Spark DataFrame for another
        algorithm than ``"spark"``.
    ResourceLimitError
        If the rules could need more memory than ``max_memory``.
    MissingDependencyError
        If ``algorithm="spark"`` and pyspark is not installed.

    See Also
    --------
    kgmed.build : Rules made into a knowledge graph.

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(3000, random_state=0)
    >>> rules = kgmed.mine_rules(records, min_support=0.01, min_confidence=0.5)
    >>> rules[["support", "confidence", "n_both", "q_value"]].dtypes.tolist()
    [dtype('float64'), dtype('float64'), dtype('int64'), dtype('float64')]
    >>> bool((rules["n_both"] >= 11).all())
    True
    """
    algorithm = check_spark_input(data, algorithm)
    min_support, min_confidence, min_patients, max_len, algorithm = check_rule_params(
        min_support, min_confidence, min_patients, max_len, algorithm
    )
    budget = memory_budget(max_memory)
    if algorithm == "spark":
        from kgmed.mining.spark import spark_rules

        return spark_rules(
            data,
            min_support=min_support,
            min_confidence=min_confidence,
            min_patients=min_patients,
            max_len=max_len,
        )
    t = _as_transactions(data)
    threshold = min_count(t.n_baskets, min_support, min_patients)
    frequent = np.nonzero(t.counts().to_numpy() >= threshold)[0]
    check_memory(
        t.matrix,
        frequent,
        threshold=threshold,
        max_len=max_len,
        dense_columns=DENSE_PAIR_COLUMNS,
        budget=budget,
    )
    if algorithm == "pairs":
        rules = _pair_rules(t, min_support=min_support, min_patients=min_patients)
    else:
        rules = _mlxtend_rules(
            t,
            min_support=min_support,
            min_patients=min_patients,
            max_len=max_len,
            algorithm=algorithm,
        )
    rules = rules.loc[rules["confidence"].to_numpy() >= min_confidence]
    return _sorted(rules)


def check_rule_params(
    min_support: object,
    min_confidence: object,
    min_patients: object,
    max_len: object,
    algorithm: object,
) -> tuple[float, float, int, int, str]:
    """Validate :func:`mine_rules`' parameters; ``"auto"`` becomes an algorithm.

    Callers that do other work before mining (:func:`kgmed.build`) call it
    first, so that a bad parameter fails before any work is done.
    """
    support = check_fraction("min_support", min_support)
    confidence = check_fraction("min_confidence", min_confidence, low_inclusive=True)
    patients = check_positive_int("min_patients", min_patients)
    length = check_positive_int("max_len", max_len, minimum=2)
    chosen = check_choice("algorithm", algorithm, ALGORITHMS)
    if chosen == "auto":
        chosen = "pairs" if length == 2 else "fpgrowth"
    if chosen == "pairs" and length != 2:
        raise ParameterError(
            f"algorithm='pairs' mines rules of two items; for max_len={length} "
            f"pass algorithm='fpgrowth' or 'apriori'"
        )
    return support, confidence, patients, length, chosen


def check_spark_input(data: object, algorithm: str) -> str:
    """``algorithm`` for ``data``: a Spark DataFrame is mined in Spark.

    ``"auto"`` becomes ``"spark"`` for a Spark DataFrame; another algorithm
    for one raises ParameterError.
    """
    from kgmed.mining.spark import is_spark_dataframe

    if not is_spark_dataframe(data):
        return algorithm
    if algorithm == "auto":
        return "spark"
    if algorithm != "spark" and algorithm in ALGORITHMS:
        raise ParameterError(
            f"a Spark DataFrame is mined in Spark: pass algorithm='spark' (or 'auto'), "
            f"not {algorithm!r}, or bring the records to the driver first with "
            f"kgmed.Records.from_dataframe(df.toPandas())"
        )
    return algorithm


def _as_transactions(data: object) -> Transactions:
    if isinstance(data, Transactions):
        return data
    if isinstance(data, pd.DataFrame):
        data = Records.from_dataframe(data)
    if not isinstance(data, Records):
        raise RecordsError(
            f"mine_rules expects Records, Transactions or a pandas DataFrame (or a Spark "
            f"DataFrame), got {type(data).__name__}; read a file with kgmed.read_records(path)"
        )
    return transactions(data)


def _rules_frame(
    antecedents: list[frozenset[str]],
    consequents: list[frozenset[str]],
    n_antecedent: np.ndarray,
    n_consequent: np.ndarray,
    n_both: np.ndarray,
    n_total: int,
    p_value: np.ndarray,
    q_value: np.ndarray,
    n_patients: np.ndarray | None = None,
) -> pd.DataFrame:
    frame = pd.DataFrame({"antecedents": antecedents, "consequents": consequents}, dtype=object)
    metrics = rule_metrics(n_antecedent, n_consequent, n_both, n_total)
    frame = pd.concat([frame, metrics], axis=1)
    return frame.assign(
        n_antecedent=np.asarray(n_antecedent, dtype=np.int64),
        n_consequent=np.asarray(n_consequent, dtype=np.int64),
        n_both=np.asarray(n_both, dtype=np.int64),
        n_total=np.full(len(frame), n_total, dtype=np.int64),
        n_patients=np.asarray(n_both if n_patients is None else n_patients, dtype=np.int64),
        p_value=np.asarray(p_value, dtype=np.float64),
        q_value=np.asarray(q_value, dtype=np.float64),
    )


def _pair_rules(t: Transactions, *, min_support: float, min_patients: int) -> pd.DataFrame:
    return _rules_of_pairs(pair_counts(t, min_support=min_support, min_patients=min_patients))


def _rules_of_pairs(pairs: PairCounts) -> pd.DataFrame:
    """Both rules of each counted pair, with their tests (shared with the Spark miner)."""
    # Both directions of a pair share one 2x2 table, so one test each.
    p = fisher_greater(pairs.n_both, pairs.n_first, pairs.n_second, pairs.n_total)
    q = benjamini_hochberg(p)
    singletons = np.array([frozenset((c,)) for c in pairs.concepts], dtype=object)
    first, second = singletons[pairs.first], singletons[pairs.second]
    return _rules_frame(
        antecedents=[*first, *second],
        consequents=[*second, *first],
        n_antecedent=np.concatenate([pairs.n_first, pairs.n_second]),
        n_consequent=np.concatenate([pairs.n_second, pairs.n_first]),
        n_both=np.concatenate([pairs.n_both, pairs.n_both]),
        n_total=pairs.n_total,
        p_value=np.concatenate([p, p]),
        q_value=np.concatenate([q, q]),
        n_patients=np.concatenate([pairs.n_patients, pairs.n_patients]),
    )


def _mlxtend_rules(
    t: Transactions,
    *,
    min_support: float,
    min_patients: int,
    max_len: int,
    algorithm: str,
) -> pd.DataFrame:
    from mlxtend.frequent_patterns import apriori, association_rules, fpgrowth

    n_total = t.n_baskets
    threshold = min_count(n_total, min_support, min_patients)
    counts = t.counts()
    frequent = counts.index[counts.to_numpy() >= threshold]
    if len(frequent) < 2:
        return _empty_rules()
    onehot = t.to_dataframe(frequent)
    miner = fpgrowth if algorithm == "fpgrowth" else apriori
    # The threshold as a fraction half a basket below it: count / n passes
    # it exactly when count >= threshold. Not threshold / n: fpgrowth also
    # prunes with ceil(min_support * n), and (threshold / n) * n can round up
    # to just above the threshold (n = 25, threshold = 7), so fpgrowth would
    # lose every itemset of two or more items on the boundary.
    itemsets = miner(
        onehot, min_support=(threshold - 0.5) / n_total, use_colnames=True, max_len=max_len
    )
    if (itemsets["itemsets"].map(len) > 1).sum() == 0:
        return _empty_rules()
    # Only the supports are read from mlxtend's rules; the metrics are made
    # again from counts. Its certainty divides 0 by 0 for a consequent in
    # every basket, a RuntimeWarning for the user about numbers never used.
    with np.errstate(divide="ignore", invalid="ignore"):
        rules = association_rules(
            itemsets, num_itemsets=n_total, metric="confidence", min_threshold=0.0
        )
    n_both = np.rint(rules["support"].to_numpy() * n_total).astype(np.int64)
    n_antecedent = np.rint(rules["antecedent support"].to_numpy() * n_total).astype(np.int64)
    n_consequent = np.rint(rules["consequent support"].to_numpy() * n_total).astype(np.int64)
    antecedents = [frozenset(map(str, a)) for a in rules["antecedents"]]
    consequents = [frozenset(map(str, c)) for c in rules["consequents"]]
    n_patients = n_both
    if t.unit != "patient":
        # The floor is on distinct patients, counted once per itemset.
        itemsets_of_rules = pd.Series(
            [a | c for a, c in zip(antecedents, consequents, strict=True)], dtype=object
        )
        which, distinct = pd.factorize(itemsets_of_rules)
        columns = [
            [int(j) for j in t.concepts.get_indexer(pd.Index(sorted(items)))] for items in distinct
        ]
        n_patients = t.count_patients(columns)[which]
        enough = n_patients >= min_patients
        if not enough.all():
            keep = np.nonzero(enough)[0]
            antecedents = [antecedents[i] for i in keep]
            consequents = [consequents[i] for i in keep]
            n_both, n_antecedent, n_consequent, n_patients = (
                a[keep] for a in (n_both, n_antecedent, n_consequent, n_patients)
            )
        if not antecedents:
            return _empty_rules()
    return _rules_of_counts(
        antecedents, consequents, n_antecedent, n_consequent, n_both, n_total, n_patients
    )


def _rules_of_counts(
    antecedents: list[frozenset[str]],
    consequents: list[frozenset[str]],
    n_antecedent: np.ndarray,
    n_consequent: np.ndarray,
    n_both: np.ndarray,
    n_total: int,
    n_patients: np.ndarray,
) -> pd.DataFrame:
    """Rules from their counts, with one test per 2 × 2 table (shared with the Spark miner)."""
    # X → Y and Y → X share one 2 × 2 table (transposed), so they are one
    # test whatever their length, as the two directions of a pair are in the
    # pairs path: one p-value per table, and BH over the distinct tables.
    tests = pd.Series(
        [frozenset((a, c)) for a, c in zip(antecedents, consequents, strict=True)], dtype=object
    )
    codes, _ = pd.factorize(tests)
    _, first = np.unique(codes, return_index=True)
    # Each test is taken the same way round whatever order mlxtend listed
    # the rules in (the side with the smaller ids first, as in the pairs
    # path), so the p-values do not depend on the order of the records.
    forward = np.array(
        [sorted(antecedents[i]) <= sorted(consequents[i]) for i in first], dtype=bool
    )
    n_x = np.where(forward, n_antecedent[first], n_consequent[first])
    n_y = np.where(forward, n_consequent[first], n_antecedent[first])
    p = fisher_greater(n_both[first], n_x, n_y, n_total)
    q = benjamini_hochberg(p)
    return _rules_frame(
        antecedents=antecedents,
        consequents=consequents,
        n_antecedent=n_antecedent,
        n_consequent=n_consequent,
        n_both=n_both,
        n_total=n_total,
        p_value=p[codes],
        q_value=q[codes],
        n_patients=n_patients,
    )


def _empty_rules() -> pd.DataFrame:
    empty = np.array([], dtype=np.int64)
    return _rules_frame([], [], empty, empty, empty, 0, empty.astype(float), empty.astype(float))


def _sorted(rules: pd.DataFrame) -> pd.DataFrame:
    keys = pd.DataFrame(
        {
            "n_both": -rules["n_both"].to_numpy(),
            "confidence": -rules["confidence"].to_numpy(),
            "antecedents": [" ".join(sorted(a)) for a in rules["antecedents"]],
            "consequents": [" ".join(sorted(c)) for c in rules["consequents"]],
        }
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index.to_numpy()
    return rules.iloc[order].reset_index(drop=True)
