"""Rule metrics from raw counts, in mlxtend's column names and formulas."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["METRIC_COLUMNS", "rule_metrics"]

#: mlxtend's ``association_rules`` metric columns, in its order.
METRIC_COLUMNS: tuple[str, ...] = (
    "antecedent support",
    "consequent support",
    "support",
    "confidence",
    "lift",
    "representativity",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "certainty",
    "kulczynski",
)


def rule_metrics(
    n_antecedent: npt.ArrayLike,
    n_consequent: npt.ArrayLike,
    n_both: npt.ArrayLike,
    n_total: int,
) -> pd.DataFrame:
    """Mlxtend's rule metrics computed from counts, for many rules at once.

    The formulas are those of ``mlxtend.frequent_patterns.association_rules``
    on data without missing values (so ``representativity`` is 1), applied to
    the supports ``count / n_total``: ``confidence = n_both / n_antecedent``,
    ``lift = confidence / consequent support`` and so on, evaluated as
    mlxtend evaluates them so that the numbers are equal to the last bit; an
    infinite ``conviction`` marks a rule with confidence 1.

    Parameters
    ----------
    n_antecedent, n_consequent, n_both : array-like of int
        Baskets holding the antecedent, the consequent, and both.
    n_total : int
        Baskets in all.

    Returns
    -------
    pandas.DataFrame
        The columns :data:`METRIC_COLUMNS`, one row per rule.

    Examples
    --------
    >>> from kgmed.mining import rule_metrics
    >>> m = rule_metrics([40], [50], [30], 200)
    >>> m[["support", "confidence", "lift"]].round(3)
       support  confidence  lift
    0     0.15        0.75   3.0
    """
    n = float(n_total)
    s_a = np.asarray(n_antecedent, dtype=np.float64) / n
    s_c = np.asarray(n_consequent, dtype=np.float64) / n
    s_ac = np.asarray(n_both, dtype=np.float64) / n
    # Each expression is mlxtend's, over supports and in its order of
    # operations, so the numbers are bit for bit mlxtend's: a plain
    # n_both / n_antecedent can differ in the last bit, which flips a rule
    # whose confidence lies on min_confidence and, where confidence is close
    # to the consequent's support, shifts certainty far more than that.
    confidence = (s_ac * n) / (s_a * n)
    confidence_reverse = (s_ac * n) / (s_c * n)
    lift = confidence / s_c
    leverage = s_ac - s_a * s_c
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = np.where(confidence < 1.0, (1.0 - s_c) / (1.0 - confidence), np.inf)
        zhang_denominator = np.maximum(s_ac * (1 - s_a), s_a * (s_c - s_ac))
        zhangs = np.where(zhang_denominator == 0, 0.0, leverage / zhang_denominator)
        certainty = np.where(1 - s_c == 0, 0.0, (confidence - s_c) / (1 - s_c))
    jaccard = s_ac / (s_a + s_c - s_ac)
    kulczynski = (confidence + confidence_reverse) / 2
    return pd.DataFrame(
        {
            "antecedent support": s_a,
            "consequent support": s_c,
            "support": s_ac,
            "confidence": confidence,
            "lift": lift,
            "representativity": np.ones_like(s_ac),
            "leverage": leverage,
            "conviction": conviction,
            "zhangs_metric": zhangs,
            "jaccard": jaccard,
            "certainty": certainty,
            "kulczynski": kulczynski,
        }
    )
