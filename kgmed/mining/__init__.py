"""Mining: records to a sparse matrix, pair counts, itemsets and rules."""

from kgmed.mining.direct import DIRECT_COLUMNS, direct_relations
from kgmed.mining.metrics import METRIC_COLUMNS, rule_metrics
from kgmed.mining.pairs import PairCounts, min_count, pair_counts
from kgmed.mining.rules import ALGORITHMS, RULE_COLUMNS, mine_rules
from kgmed.mining.significance import benjamini_hochberg, fisher_greater
from kgmed.mining.transactions import Transactions, transactions

__all__ = [
    "ALGORITHMS",
    "DIRECT_COLUMNS",
    "METRIC_COLUMNS",
    "RULE_COLUMNS",
    "PairCounts",
    "Transactions",
    "benjamini_hochberg",
    "direct_relations",
    "fisher_greater",
    "min_count",
    "mine_rules",
    "pair_counts",
    "rule_metrics",
    "transactions",
]
