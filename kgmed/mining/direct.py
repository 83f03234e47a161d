"""Direct relations: noisy-OR weights that explain away the other diseases.

Co-occurrence counts every symptom of a patient's every disease against each
of them: heart failure brings hypertension along, so hypertension
"co-occurs" with shortness of breath. Following Rotmensch et al. (2017,
*Learning a health knowledge graph from electronic medical records*,
Scientific Reports 7: 5994), kgmed fits, for each symptom (or treatment),
a noisy-OR model over all the diseases a patient has::

    P(symptom absent | diseases) = (1 - leak) * prod over present diseases d of (1 - w_d)

by maximum likelihood. ``w_d`` is the probability that disease ``d`` alone
brings the symptom: its direct relation. A disease whose apparent link comes
only through another disease gets ``w_d`` near 0, because the other disease
already explains the symptom. The fit is a convex problem in
``theta = -log(1 - w)`` (the log-likelihood is concave), solved by projected
Newton steps over the distinct combinations of the target's candidate
diseases (patients who agree on them are one row with counts), and each weight gets a one-sided
likelihood-ratio test (the cause dropped and the rest refitted), with
Benjamini–Hochberg q-values.

Who the patients are enters the model as causes that are always present:
with strata of age band and sex (:func:`kgmed.mining.strata`) the leak is
one per stratum, ``(1 - leak_s)``, so a target that is commoner in the old
(back pain) is not credited to a disease of the old (hypertension).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse, special

from kgmed._progress import check_progress, progress_bar
from kgmed._validation import check_fraction, check_positive_int
from kgmed.mining.significance import benjamini_hochberg, fisher_greater
from kgmed.mining.stratified import Strata
from kgmed.mining.transactions import Transactions

__all__ = ["DIRECT_COLUMNS", "direct_relations"]

#: Columns of the table :func:`direct_relations` returns.
DIRECT_COLUMNS: tuple[str, ...] = (
    "source",
    "target",
    "weight",
    "std_error",
    "leak",
    "n_patients",
    "p_value",
    "q_value",
)

_FLOOR = 1e-9  # smallest theta for the leak, so that log(1 - exp(-z)) stays finite
_PSEUDO = 0.5  # pseudo-observations per row and outcome; see _fit_noisy_or
# Pseudo-patients per stratum at the target's rate without its causes: the
# strata's leaks shrink towards their common value, strongly where a stratum
# holds a handful of patients and not at all where it holds thousands.
_STRATUM_PRIOR = 2.0
_CEILING = 700.0  # largest z, so that exp(z) stays finite (w = 1 - exp(-700) is 1)
_REFIT_ABOVE = 1.0  # Wald z above which a weight's p-value comes from a likelihood-ratio refit


def direct_relations(
    transactions: Transactions,
    kinds: pd.Series,
    *,
    causes: Sequence[str] = ("disease",),
    targets: Sequence[str] = ("symptom", "treatment"),
    strata: Strata | None = None,
    min_patients: int = 11,
    screen: float = 0.01,
    max_iter: int = 500,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Noisy-OR weights of every cause → target relation, fitted jointly.

    Parameters
    ----------
    transactions : Transactions
        The patient × concept matrix (per-patient baskets).
    kinds : pandas.Series
        Kind of each concept id (index: concept ids).
    causes : sequence of str, default ("disease",)
        Kinds whose concepts explain the targets.
    targets : sequence of str, default ("symptom", "treatment")
        Kinds whose concepts are explained.
    strata : Strata, optional
        The stratum of each row (:func:`kgmed.mining.strata`: age band and
        sex). Each stratum then has a leak of its own, so that what age or
        sex explains is not credited to a cause. The ``leak`` returned is
        their average over the patients.
    min_patients : int, default 11
        Causes and targets held by fewer patients are left out, and a pair
        is tested only when at least this many patients have both, and more
        than independence would give (lift above 1).
    screen : float, default 0.01
        A cause enters a target's model only if their association alone has
        a one-sided Fisher p-value below this (uncorrected): the causes that
        could explain the target, or explain it away from another.
    max_iter : int, default 500
        Iterations of the optimizer per target.
    progress : bool, optional
        A bar over the targets on standard error; by default only when it
        is a terminal.

    Returns
    -------
    pandas.DataFrame
        One row per tested (``source`` cause, ``target``) pair, columns
        :data:`DIRECT_COLUMNS`: the noisy-OR ``weight`` (probability that the
        cause alone brings the target), its ``std_error`` (on the
        ``-log(1 - weight)`` scale), the target's ``leak`` (its rate with
        none of the causes), ``n_patients`` with both, a one-sided
        likelihood-ratio ``p_value`` for ``weight > 0`` and its
        Benjamini–Hochberg ``q_value`` over every candidate pair (those
        screened out count as tests with p = 1). Strongest first.

    Examples
    --------
    >>> import kgmed
    >>> from kgmed.mining import direct_relations, transactions
    >>> records = kgmed.datasets.synthetic(20000, random_state=0)
    >>> kinds = records.concepts().set_index("concept_id")["kind"]
    >>> table = direct_relations(transactions(records), kinds)
    >>> flu = table[(table["source"] == "ICD10CM:J11.1") & (table["target"] == "HP:0001945")]
    >>> round(float(flu["weight"].iloc[0]), 2)  # the generator's weight is 0.85
    0.86
    """
    min_patients = check_positive_int("min_patients", min_patients)
    screen = check_fraction("screen", screen)
    max_iter = check_positive_int("max_iter", max_iter)
    show = check_progress(progress)
    matrix = transactions.matrix.tocsc()
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    kind_of = kinds.reindex(transactions.concepts).to_numpy()
    frequent = counts >= min_patients
    cause_cols = np.nonzero(np.isin(kind_of, list(causes)) & frequent)[0]
    target_cols = np.nonzero(np.isin(kind_of, list(targets)) & frequent)[0]
    if len(cause_cols) == 0 or len(target_cols) == 0:
        return pd.DataFrame(columns=list(DIRECT_COLUMNS))

    # Patients with the same causes (in the same stratum) are one pattern, with counts.
    causes_x = sparse.csr_array(matrix[:, cause_cols].astype(np.int8))
    matrix = sparse.csc_array(matrix)
    patterns, pattern_of = _patterns(causes_x)
    n_strata = 1 if strata is None else strata.n_strata
    if strata is None:
        stratum_of = np.zeros(len(patterns), dtype=np.int64)
    else:
        combined, pattern_of = np.unique(pattern_of * n_strata + strata.codes, return_inverse=True)
        pattern_of = pattern_of.ravel().astype(np.int64)
        patterns, stratum_of = patterns[combined // n_strata], combined % n_strata
    n_per_pattern = np.bincount(pattern_of, minlength=patterns.shape[0]).astype(float)
    n_per_stratum = np.bincount(stratum_of, weights=n_per_pattern, minlength=n_strata).astype(
        np.float64
    )
    near = None if strata is None else strata.neighbours()
    shares = n_per_stratum / n_per_stratum.sum()
    # The patterns holding each cause, to project a target's model on its parents.
    holders = sparse.csc_array(patterns)
    code_of = stratum_of.copy()  # _project's scratch space
    # targets (CSC, transposed: CSR) @ causes (CSR): no conversion of the big matrix.
    target_x = matrix[:, target_cols]
    target_x.data = np.ones(target_x.nnz, dtype=np.int32)
    co_counts = (target_x.T @ causes_x.astype(np.int32)).T.toarray()

    # A cause in a noisy-OR can only raise its target's rate: a disease whose
    # patients have the target no more often than others (lift <= 1) is not
    # a candidate. Leaving them out keeps the tests' power where diseases
    # come together in few patients.
    n_total = float(matrix.shape[0])
    expected = np.outer(counts[cause_cols], counts[target_cols]) / n_total
    # Screening: only diseases associated with the target at all (one-sided
    # Fisher p below `screen`, before any correction) enter its model. A
    # disease that explains a target away is itself associated with it, so
    # it stays in; the many chance co-occurrences of a large vocabulary,
    # which would only slow the fit and dilute the tests, do not.
    candidate = (co_counts >= min_patients) & (co_counts > expected)
    screened = np.zeros_like(candidate)
    where = np.nonzero(candidate)
    screened[where] = (
        fisher_greater(
            co_counts[where],
            counts[cause_cols][where[0]],
            counts[target_cols][where[1]],
            int(n_total),
        )
        < screen
    )
    parts: dict[str, list[npt.NDArray[np.generic]]] = {
        name: [] for name in ("source", "target", "weight", "std_error", "leak", "n_patients", "p")
    }
    steps = progress_bar(
        enumerate(target_cols),
        show=show,
        desc="direct relations",
        total=len(target_cols),
        unit="target",
    )
    for j, column in steps:
        parents = np.nonzero(screened[:, j])[0]
        if len(parents) == 0:
            continue
        rows_with = matrix.indices[matrix.indptr[column] : matrix.indptr[column + 1]]
        design, n1, n0 = _project(
            patterns,
            holders,
            parents,
            pattern_of[rows_with],
            n_per_pattern,
            code_of,
            stratum_of=stratum_of,
            n_per_stratum=n_per_stratum,
        )
        theta, std_error, nll = _fit_noisy_or(
            design, n1, n0, max_iter=max_iter, n_base=n_strata, shares=shares, near=near
        )
        parts["source"].append(cause_cols[parents])
        parts["target"].append(np.full(len(parents), column))
        parts["weight"].append(-np.expm1(-theta[n_strata:]))
        parts["std_error"].append(std_error[n_strata:])
        leak = float(shares @ -np.expm1(-theta[:n_strata]))
        parts["leak"].append(np.full(len(parents), leak))
        parts["n_patients"].append(co_counts[parents, j].astype(np.int64))
        parts["p"].append(
            _likelihood_ratio_p(
                design,
                n1,
                n0,
                theta,
                std_error,
                nll,
                max_iter=max_iter,
                n_base=n_strata,
                shares=shares,
                near=near,
            )
        )
    if not parts["p"]:
        return pd.DataFrame(columns=list(DIRECT_COLUMNS))
    whole = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    table = pd.DataFrame(
        {
            "source": transactions.concepts[whole["source"]],
            "target": transactions.concepts[whole["target"]],
            "weight": whole["weight"],
            "std_error": whole["std_error"],
            "leak": whole["leak"],
            "n_patients": whole["n_patients"],
            "p_value": whole["p"],
        }
    )
    # The family of tests is every candidate pair, screened out or not: a
    # screened-out pair counts as a test that found nothing (p = 1), so that
    # screening does not make the survivors look more significant.
    tested = table["p_value"].to_numpy()
    family = np.concatenate([tested, np.ones(int(candidate.sum()) - len(tested))])
    table["q_value"] = benjamini_hochberg(family)[: len(tested)]
    table = table.sort_values(["weight", "source", "target"], ascending=[False, True, True])
    return table.reset_index(drop=True)[list(DIRECT_COLUMNS)]


def _patterns(x: sparse.csr_array) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Distinct rows of a binary sparse matrix (dense) and each row's pattern.

    Each row is packed into bits (eight columns a byte, the first column the
    highest bit) and the rows are told apart as byte strings: one sort of
    ``n_rows`` short keys, and no dense row × column matrix. The patterns
    come in the order of their columns read as a binary number.
    """
    x = sparse.csr_array(x)
    n_rows, n_cols = x.shape
    n_bytes = max((n_cols + 7) // 8, 1)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(x.indptr))
    cols = x.indices.astype(np.int64)
    packed = np.bincount(
        rows * n_bytes + cols // 8,
        weights=np.left_shift(1, 7 - cols % 8).astype(np.float64),
        minlength=n_rows * n_bytes,
    ).astype(np.uint8)
    keys = packed.reshape(n_rows, n_bytes).view(np.dtype((np.void, n_bytes))).ravel()
    distinct, pattern_of = np.unique(keys, return_inverse=True)
    patterns = np.unpackbits(
        np.frombuffer(distinct.tobytes(), dtype=np.uint8).reshape(-1, n_bytes), axis=1, count=n_cols
    )
    return patterns.astype(float), pattern_of.ravel().astype(np.int64)


def _project(
    patterns: npt.NDArray[np.float64],
    holders: sparse.csc_array,
    parents: npt.NDArray[np.int64],
    with_target: npt.NDArray[np.int64],
    n_per_pattern: npt.NDArray[np.float64],
    code_of: npt.NDArray[np.int64],
    *,
    stratum_of: npt.NDArray[np.int64] | None = None,
    n_per_stratum: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Merge patterns that agree on the stratum and the parents of one target, adding counts.

    Only the target's parents (and the stratum) enter its likelihood, so
    patterns with the same parents present are one row: a few dozen rows
    instead of every disease combination in the population. Rows come in
    the order of their parents read as a binary number (the rows with none
    of them first), strata in order within each.

    ``with_target`` is the pattern of each patient who has the target, and
    ``n_per_pattern`` the patients of each pattern; ``stratum_of`` is each
    pattern's stratum and ``n_per_stratum`` the patients of each stratum
    (one stratum when not given). Only the patterns holding a parent
    (``holders``: the patterns of each cause) are read; the rest are the
    rows with none. ``code_of`` is scratch space of one integer per
    pattern, equal to ``stratum_of`` (zero) on entry and on return.

    Returns the design (the strata as indicator columns first, then the
    parents), and the patients with and without the target in each row.
    """
    if stratum_of is None or n_per_stratum is None:
        stratum_of = np.zeros(len(patterns), dtype=np.int64)
        n_per_stratum = np.array([n_per_pattern.sum()])
    n_strata = len(n_per_stratum)
    k = len(parents)
    if k == 1:
        start, end = holders.indptr[parents[0]], holders.indptr[parents[0] + 1]
        with_parents: npt.NDArray[np.signedinteger] = holders.indices[start:end]
    else:
        held = np.zeros(len(patterns), dtype=bool)
        for c in parents:
            held[holders.indices[holders.indptr[c] : holders.indptr[c + 1]]] = True
        with_parents = np.flatnonzero(held)
    sub = patterns[np.ix_(with_parents, parents)]
    if k <= 20:
        # Each combination of parents as the binary number it spells (0: none).
        combos = sub.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
        n_combos = 1 << k
    else:
        distinct, inverse = np.unique(sub, axis=0, return_inverse=True)
        combos = inverse.ravel().astype(np.int64) + 1
        n_combos = len(distinct) + 1
    # A row is a (combination, stratum): code = combination * n_strata + stratum.
    codes = combos * n_strata + stratum_of[with_parents]
    n_codes = n_combos * n_strata
    n_all = np.bincount(codes, weights=n_per_pattern[with_parents], minlength=n_codes)
    held_per_stratum = np.bincount(
        stratum_of[with_parents], weights=n_per_pattern[with_parents], minlength=n_strata
    )
    n_all[:n_strata] = n_per_stratum - held_per_stratum
    code_of[with_parents] = codes
    n_target = np.bincount(code_of[with_target], minlength=n_codes).astype(np.float64)
    code_of[with_parents] = stratum_of[with_parents]
    seen = np.flatnonzero(n_all > 0.5)
    combo, stratum = seen // n_strata, seen % n_strata
    if k <= 20:
        bits = ((combo[:, None] >> np.arange(k)) & 1).astype(np.float64)
    else:
        bits = np.vstack([np.zeros((1, k)), distinct])[combo]
    design = np.column_stack([np.eye(n_strata)[stratum], bits])
    return design, n_target[seen], n_all[seen] - n_target[seen]


def _likelihood_ratio_p(
    design: npt.NDArray[np.float64],
    n1: npt.NDArray[np.float64],
    n0: npt.NDArray[np.float64],
    theta: npt.NDArray[np.float64],
    std_error: npt.NDArray[np.float64],
    nll: float,
    *,
    max_iter: int,
    n_base: int = 1,
    shares: npt.NDArray[np.float64] | None = None,
    near: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """One-sided likelihood-ratio p-value of each cause's weight being above 0.

    Each cause is dropped in turn and the rest refitted (from the full fit,
    so a few Newton steps); under ``weight = 0``, on the boundary of the
    parameter space, twice the log-likelihood gain is a 50:50 mixture of
    chi-square with 0 and 1 degrees of freedom (Self & Liang 1987). The
    Wald test is conservative for large weights (its standard error grows
    with ``-log(1 - w)``), the likelihood ratio is not; below a Wald z of 1
    the two agree that the weight is not significant and no refit is made.
    The first ``n_base`` columns of ``design`` are the baselines (leaks),
    which are not tested.
    """
    causes = theta[n_base:]
    with np.errstate(divide="ignore", invalid="ignore"):
        wald = np.where(std_error[n_base:] > 0, causes / std_error[n_base:], 0.0)
    p_values = np.where(np.isfinite(wald), special.ndtr(-wald), 1.0)
    for i in range(len(causes)):
        if causes[i] <= 0 or wald[i] < _REFIT_ABOVE:
            continue
        keep = np.delete(np.arange(design.shape[1]), n_base + i)
        _, _, restricted = _fit_noisy_or(
            design[:, keep],
            n1,
            n0,
            max_iter=max_iter,
            start=theta[keep],
            n_base=n_base,
            shares=shares,
            near=near,
        )
        statistic = max(2.0 * (restricted - nll), 0.0)
        # chi-square with one degree of freedom: P(X > s) = erfc(sqrt(s / 2)).
        p_values[i] = 0.5 * special.erfc(np.sqrt(statistic / 2)) if statistic > 0 else 1.0
    return p_values


def _fit_noisy_or(
    design: npt.NDArray[np.float64],
    n1: npt.NDArray[np.float64],
    n0: npt.NDArray[np.float64],
    *,
    max_iter: int,
    start: npt.NDArray[np.float64] | None = None,
    n_base: int = 1,
    shares: npt.NDArray[np.float64] | None = None,
    near: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Maximum-likelihood noisy-OR in theta = -log(1 - w), baselines first.

    The first ``n_base`` columns of ``design`` are baselines: indicators of
    the strata, which sum to one on each row (one column of ones without
    strata), whose thetas are the leaks; the rest are causes. ``shares``
    are the strata's shares of the patients. Minimises sum over rows of
    ``n0 * z - n1 * log(1 - exp(-z))`` with ``z = design @ theta``,
    ``theta >= 0``, by projected Newton steps (Bertsekas 1982) with Armijo
    backtracking: the problem is convex with an exact Hessian and a few
    dozen parameters, where Newton converges in a handful of steps. Returns
    theta and its standard errors from the observed information (inf where
    singular), and the minimised negative log-likelihood.
    """
    n_causes = design.shape[1] - n_base
    if shares is None:
        shares = np.full(n_base, 1.0 / n_base)
    # One pseudo-patient per parameter, half present and half absent: per
    # cause with that cause alone in the average stratum, and (without
    # strata) for the leak. A weak prior that keeps the estimate finite where
    # a disease always brings its symptom or a symptom never leaks, as in
    # curated tables, and is negligible otherwise.
    pseudo = np.zeros((n_base + n_causes, n_base + n_causes))
    pseudo[:n_base, :n_base] = np.eye(n_base)
    pseudo[n_base:, :n_base] = shares
    pseudo[n_base:, n_base:] = np.eye(n_causes)
    ones, zeros = np.full(len(pseudo), _PSEUDO), np.full(len(pseudo), _PSEUDO)
    if n_base > 1:
        # Each stratum's leak is drawn towards the rate of the patients with
        # none of the causes in it and in the strata alike (neighbouring age
        # bands, same sex), by _STRATUM_PRIOR pseudo-patients: a small stratum
        # cannot explain a cause away on the strength of a few rows, and the
        # pull follows age rather than erasing it.
        alone = design[:, n_base:].sum(axis=1) == 0
        stratum_ones = design[alone, :n_base].T @ n1[alone]
        stratum_all = design[alone, :n_base].T @ (n1[alone] + n0[alone])
        smooth = np.ones((n_base, n_base)) if near is None else near
        rate = (smooth @ stratum_ones + _PSEUDO) / (smooth @ stratum_all + 2 * _PSEUDO)
        ones[:n_base] = _STRATUM_PRIOR * rate
        zeros[:n_base] = _STRATUM_PRIOR * (1.0 - rate)
    full = np.vstack([design, pseudo])
    n1 = np.concatenate([n1, ones])
    n0 = np.concatenate([n0, zeros])
    lower = np.zeros(full.shape[1])
    lower[:n_base] = _FLOOR

    def value(theta: npt.NDArray[np.float64]) -> float:
        z = np.clip(full @ theta, _FLOOR, _CEILING)
        return float(n0 @ z - n1 @ np.log(-np.expm1(-z)))

    if n_causes == 0 or (n_base == 1 and n_causes == 1):
        # The leaks alone, or one leak and one cause: the rows fall into
        # groups of equal z, whose optimum has a closed form (see _closed_form).
        theta = _closed_form(full, n1, n0, n_base)
        current = value(theta)
    else:
        if start is None:
            theta = _start(full, n1, n0, n_base)
        else:
            theta = np.maximum(np.asarray(start, dtype=float), lower)
        current = value(theta)
        for _ in range(max_iter):
            z = np.clip(full @ theta, _FLOOR, _CEILING)
            # d/dz of -n1*log(1-exp(-z)) is -n1 / expm1(z); its second derivative
            # n1 * exp(z) / expm1(z)^2 = n1 * exp(-z) / expm1(-z)^2.
            gradient = full.T @ (n0 - n1 / np.expm1(z))
            curvature = n1 * np.exp(-z) / np.expm1(-z) ** 2
            at_bound = (theta <= lower + 1e-12) & (gradient > 0)
            if np.abs(np.where(at_bound, 0.0, gradient)).max() < 1e-7 * max(1.0, n1.sum()):
                break
            free = ~at_bound
            hessian = full[:, free].T @ (full[:, free] * curvature[:, None])
            step = np.zeros_like(theta)
            try:
                step[free] = -np.linalg.solve(
                    hessian + 1e-9 * np.eye(int(free.sum())), gradient[free]
                )
            except np.linalg.LinAlgError:
                step[free] = -gradient[free]
            size = 1.0
            while size > 1e-10:
                candidate = np.maximum(theta + size * step, lower)
                trial = value(candidate)
                if trial <= current + 1e-4 * gradient @ (candidate - theta):
                    break
                size /= 2
            else:
                break
            converged = abs(current - trial) < 1e-12 * max(1.0, abs(current))
            theta, current = candidate, trial
            if converged:
                break
    z = np.clip(full @ theta, _FLOOR, _CEILING)
    curvature = n1 * np.exp(-z) / np.expm1(-z) ** 2
    information = full.T @ (full * curvature[:, None])
    try:
        covariance = np.linalg.inv(information)
        std_error = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    except np.linalg.LinAlgError:
        std_error = np.full(len(theta), np.inf)
    return theta, std_error, current


def _start(
    full: npt.NDArray[np.float64],
    n1: npt.NDArray[np.float64],
    n0: npt.NDArray[np.float64],
    n_base: int,
) -> npt.NDArray[np.float64]:
    """A starting point near the optimum, so that Newton needs few steps.

    Each leak is its stratum's rate among the rows with none of the causes
    (the pooled rate where a stratum has no such row); each cause, what its
    rows' rate adds to the leaks' on the ``-log(1 - p)`` scale, at least a
    little above 0.
    """
    weights = full[:, :n_base]
    alone = full[:, n_base:].sum(axis=1) == 0
    ones, total = n1.sum(), n1.sum() + n0.sum()
    pooled = -np.log1p(-min(ones / max(total, 1.0), 0.99))
    by_stratum_ones = weights[alone].T @ n1[alone]
    by_stratum_all = weights[alone].T @ (n1[alone] + n0[alone])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(by_stratum_all > 0, by_stratum_ones / by_stratum_all, np.nan)
    leaks = np.where(np.isnan(rate), pooled, -np.log1p(-np.minimum(rate, 0.99)))
    theta = np.empty(full.shape[1])
    theta[:n_base] = np.maximum(leaks, _FLOOR)
    for j in range(n_base, full.shape[1]):
        rows = full[:, j] > 0
        seen = n1[rows].sum() + n0[rows].sum()
        if seen <= 0:
            theta[j] = 0.05
            continue
        rate_j = min(n1[rows].sum() / seen, 0.99)
        base = float((full[rows, :n_base] @ theta[:n_base]).mean())
        theta[j] = max(-np.log1p(-rate_j) - base, 0.05)
    return theta


def _closed_form(
    full: npt.NDArray[np.float64],
    n1: npt.NDArray[np.float64],
    n0: npt.NDArray[np.float64],
    n_base: int,
) -> npt.NDArray[np.float64]:
    """The noisy-OR optimum with leaks alone, or one leak and one cause: exactly.

    With the leaks alone each stratum's rows share ``z = theta_s``, and a
    group's likelihood ``n0 * z - n1 * log(1 - exp(-z))`` is least at
    ``z = log((n1 + n0) / n0)``. With one leak and one cause every row has
    ``z = theta_0`` (cause absent) or ``z = theta_0 + theta_1`` (present);
    where the group with the cause has the lower rate, ``theta_1 >= 0``
    binds and both share the pooled rate. ``full`` has the pseudo rows
    already, so no count is zero.
    """

    def optimum(ones: float, zeros: float) -> float:
        return max(float(np.log1p(ones / zeros)), _FLOOR)

    if full.shape[1] == n_base:
        # Rows of one stratum (a pseudo row of causes has none here).
        stratum = np.argmax(full, axis=1)
        ones = np.bincount(stratum, weights=n1, minlength=n_base)
        zeros = np.bincount(stratum, weights=n0, minlength=n_base)
        return np.array([optimum(o, z) for o, z in zip(ones, zeros, strict=True)])
    present = full[:, 1] > 0
    base = optimum(n1[~present].sum(), n0[~present].sum())
    with_cause = optimum(n1[present].sum(), n0[present].sum())
    if with_cause >= base:
        return np.array([base, with_cause - base])
    return np.array([optimum(n1.sum(), n0.sum()), 0.0])
