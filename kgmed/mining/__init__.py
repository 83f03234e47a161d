"""Mining: records to a sparse matrix, pair counts, itemsets and rules."""

from kgmed.mining.direct import DIRECT_COLUMNS, direct_relations
from kgmed.mining.metrics import METRIC_COLUMNS, rule_metrics
from kgmed.mining.pairs import PairCounts, min_count, pair_counts
from kgmed.mining.rules import ALGORITHMS, RULE_COLUMNS, mine_rules
from kgmed.mining.significance import benjamini_hochberg, fisher_greater
from kgmed.mining.stratified import (
    ADJUSTED_COLUMNS,
    AGE_BANDS,
    Strata,
    adjust_rules,
    mantel_haenszel,
    strata,
    stratified_pair_counts,
)
from kgmed.mining.transactions import Transactions, transactions

__all__ = [
    "ADJUSTED_COLUMNS",
    "AGE_BANDS",
    "ALGORITHMS",
    "DIRECT_COLUMNS",
    "METRIC_COLUMNS",
    "RULE_COLUMNS",
    "PairCounts",
    "Strata",
    "Transactions",
    "adjust_rules",
    "benjamini_hochberg",
    "direct_relations",
    "fisher_greater",
    "mantel_haenszel",
    "min_count",
    "mine_rules",
    "pair_counts",
    "rule_metrics",
    "strata",
    "stratified_pair_counts",
    "transactions",
]
