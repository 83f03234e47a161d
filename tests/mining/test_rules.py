"""Tests for kgmed.mining.rules: mine_rules against mlxtend, hand counts and itself."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import apriori, association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

import kgmed
from kgmed.errors import ParameterError, RecordsError
from kgmed.mining import (
    ALGORITHMS,
    METRIC_COLUMNS,
    RULE_COLUMNS,
    Transactions,
    mine_rules,
    pair_counts,
    transactions,
)

Miner = Callable[..., pd.DataFrame]

# -- the reference: mlxtend's plain pipeline, fed without kgmed's matrix --------------


def _onehot(baskets: list[list[str]]) -> pd.DataFrame:
    encoder = TransactionEncoder()
    array = encoder.fit(baskets).transform(baskets)
    return pd.DataFrame(array, columns=encoder.columns_)


def _baskets(records: kgmed.Records) -> list[list[str]]:
    """Each patient's concept ids, straight from the long table."""
    groups = records.data.groupby("patient_id", sort=True)["concept_id"]
    return [list(concepts) for _, concepts in groups]


def _mlxtend_rules(
    records: kgmed.Records,
    min_support: float,
    min_confidence: float,
    *,
    max_len: int = 2,
    miner: Miner = fpgrowth,
) -> pd.DataFrame:
    onehot = _onehot(_baskets(records))
    itemsets = miner(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
    return association_rules(
        itemsets, num_itemsets=len(onehot), metric="confidence", min_threshold=min_confidence
    )


def _float_threshold(n: int, min_support: float) -> int:
    """Smallest k with k / n >= min_support, trying every k."""
    return int(np.argmax(np.arange(n + 1) / n >= min_support))


def _check_fpgrowth_reference(n: int, min_support: float) -> None:
    # mlxtend's fpgrowth keeps itemsets by count / n >= min_support but prunes
    # its conditional trees with ceil(min_support * n); where the two differ
    # (n = 25, min_support = 7 / 25) it loses itemsets of two or more items on
    # the boundary and is no reference. The cases below avoid those.
    assert math.ceil(min_support * n) == _float_threshold(n, min_support), (n, min_support)


def _assert_same_rules(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Same rules, and every metric of mlxtend's equal to rtol 1e-12 (inf equal to inf)."""
    ours_keys = list(zip(ours["antecedents"], ours["consequents"], strict=True))
    theirs_keys = list(zip(theirs["antecedents"], theirs["consequents"], strict=True))
    assert len(set(ours_keys)) == len(ours_keys)
    assert set(ours_keys) == set(theirs_keys)
    assert len(ours_keys) == len(theirs_keys)
    aligned = theirs.set_index(["antecedents", "consequents"]).loc[ours_keys]
    for column in METRIC_COLUMNS:
        expected = aligned[column].to_numpy(dtype=float)
        got = ours[column].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isinf(got), np.isinf(expected), err_msg=column)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, err_msg=column)


@pytest.fixture(scope="module")
def synthetic_by_seed() -> Callable[[int, int], kgmed.Records]:
    cache: dict[tuple[int, int], kgmed.Records] = {}

    def make(seed: int, n_patients: int) -> kgmed.Records:
        if (seed, n_patients) not in cache:
            cache[seed, n_patients] = kgmed.datasets.synthetic(n_patients, random_state=seed)
        return cache[seed, n_patients]

    return make


# -- pairwise rules against mlxtend -------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("min_support", "min_confidence", "boundary"),
    [
        (0.01, 0.0, None),
        (0.02, 0.5, None),
        (0.005, 1.0, None),  # confidence exactly 1 is common here (disease → symptom)
        (108 / 4920, 0.3, 108),  # 326 pairs are seen in exactly 108 patients
        (0.1, 0.05, None),
    ],
)
def test_pairs_match_mlxtend_on_disease_symptom_data(
    disease_symptom_records: kgmed.Records,
    min_support: float,
    min_confidence: float,
    boundary: int | None,
) -> None:
    records = disease_symptom_records
    n = records.n_patients
    assert n == 4920
    _check_fpgrowth_reference(n, min_support)
    ours = mine_rules(
        records,
        min_support=min_support,
        min_confidence=min_confidence,
        min_patients=1,
        algorithm="pairs",
    )
    theirs = _mlxtend_rules(records, min_support, min_confidence)
    assert len(ours) > 0
    _assert_same_rules(ours, theirs)
    if boundary is not None:
        assert (ours["n_both"] == boundary).sum() > 0
        assert ours["n_both"].min() == boundary
    if min_confidence == 1.0:
        assert (ours["confidence"] == 1.0).all()


@pytest.mark.parametrize(
    ("seed", "n_patients", "min_support", "min_confidence", "boundary"),
    [
        (0, 3000, 0.01, 0.0, None),
        (1, 1000, 7 / 1000, 0.2, 7),
        (2, 150, 3 / 150, 0.5, 3),
        (3, 5000, 0.002, 0.1, 10),
        (4, 400, 0.05, 0.75, None),
        (5, 2000, 0.0125, 0.25, 25),
    ],
)
def test_pairs_match_mlxtend_on_synthetic_data(
    synthetic_by_seed: Callable[[int, int], kgmed.Records],
    seed: int,
    n_patients: int,
    min_support: float,
    min_confidence: float,
    boundary: int | None,
) -> None:
    records = synthetic_by_seed(seed, n_patients)
    _check_fpgrowth_reference(n_patients, min_support)
    ours = mine_rules(
        records,
        min_support=min_support,
        min_confidence=min_confidence,
        min_patients=1,
        algorithm="pairs",
    )
    theirs = _mlxtend_rules(records, min_support, min_confidence)
    assert len(ours) > 0
    _assert_same_rules(ours, theirs)
    if boundary is not None:
        assert (ours["n_both"] == boundary).sum() > 0
        assert ours["n_both"].min() == boundary


# -- longer rules against mlxtend ------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["fpgrowth", "apriori"])
@pytest.mark.parametrize(
    ("max_len", "min_support", "min_confidence"),
    [(3, 0.01, 0.0), (4, 0.01, 0.6), (4, 90 / 3000, 0.3)],
)
def test_longer_rules_match_mlxtend_on_synthetic_data(
    synthetic_records: kgmed.Records,
    algorithm: str,
    max_len: int,
    min_support: float,
    min_confidence: float,
) -> None:
    n = synthetic_records.n_patients
    _check_fpgrowth_reference(n, min_support)
    ours = mine_rules(
        synthetic_records,
        min_support=min_support,
        min_confidence=min_confidence,
        min_patients=1,
        max_len=max_len,
        algorithm=algorithm,
    )
    theirs = _mlxtend_rules(synthetic_records, min_support, min_confidence, max_len=max_len)
    sizes = ours["antecedents"].map(len) + ours["consequents"].map(len)
    assert sizes.max() == max_len
    _assert_same_rules(ours, theirs)


@pytest.mark.shared_data
@pytest.mark.parametrize("algorithm", ["fpgrowth", "apriori"])
@pytest.mark.parametrize(
    ("max_len", "min_support", "min_confidence"), [(3, 0.03, 0.0), (4, 0.05, 0.5)]
)
def test_longer_rules_match_mlxtend_on_disease_symptom_data(
    disease_symptom_records: kgmed.Records,
    algorithm: str,
    max_len: int,
    min_support: float,
    min_confidence: float,
) -> None:
    records = disease_symptom_records
    _check_fpgrowth_reference(records.n_patients, min_support)
    ours = mine_rules(
        records,
        min_support=min_support,
        min_confidence=min_confidence,
        min_patients=1,
        max_len=max_len,
        algorithm=algorithm,
    )
    theirs = _mlxtend_rules(records, min_support, min_confidence, max_len=max_len)
    sizes = ours["antecedents"].map(len) + ours["consequents"].map(len)
    assert sizes.max() == max_len
    _assert_same_rules(ours, theirs)


# -- the three algorithms agree -----------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "n_patients", "min_support", "min_patients"),
    [
        (0, 3000, 0.005, 1),
        (1, 3000, 0.00233, 1),  # threshold 7, and (7 / 3000) * 3000 rounds up past 7
        (2, 800, 0.01, 11),
        (3, 1234, 3 / 1234, 1),  # ceil(3 / 1234 * 1234) is 4
    ],
)
def test_algorithms_agree_on_pairs(
    synthetic_by_seed: Callable[[int, int], kgmed.Records],
    seed: int,
    n_patients: int,
    min_support: float,
    min_patients: int,
) -> None:
    records = synthetic_by_seed(seed, n_patients)
    options = {"min_support": min_support, "min_confidence": 0.0, "min_patients": min_patients}
    pairs = mine_rules(records, algorithm="pairs", **options)
    assert len(pairs) > 0
    for algorithm in ("fpgrowth", "apriori"):
        other = mine_rules(records, algorithm=algorithm, **options)
        # Same rules, same order, same numbers: q-values included.
        pd.testing.assert_frame_equal(pairs, other, check_exact=True)


@pytest.mark.shared_data
def test_algorithms_agree_on_disease_symptom_pairs(disease_symptom_records: kgmed.Records) -> None:
    options = {"min_support": 0.01, "min_confidence": 0.1, "min_patients": 11}
    pairs = mine_rules(disease_symptom_records, algorithm="pairs", **options)
    assert len(pairs) > 0
    for algorithm in ("fpgrowth", "apriori"):
        other = mine_rules(disease_symptom_records, algorithm=algorithm, **options)
        pd.testing.assert_frame_equal(pairs, other, check_exact=True)


@pytest.mark.parametrize(("n_patients", "k"), [(3000, 7), (1234, 3)])
def test_support_on_a_boundary_where_fpgrowth_prunes_by_ceil(
    synthetic_by_seed: Callable[[int, int], kgmed.Records], n_patients: int, k: int
) -> None:
    # min_support = k / n passes count k (k / n >= k / n), but ceil(k / n * n)
    # is k + 1. mlxtend's apriori judges by the fraction alone, so it is the
    # reference here; every kgmed algorithm must keep the count-k rules.
    min_support = k / n_patients
    assert math.ceil(min_support * n_patients) == k + 1
    records = synthetic_by_seed(1, n_patients)
    theirs = _mlxtend_rules(records, min_support, 0.0, miner=apriori)
    for algorithm in ("pairs", "fpgrowth", "apriori"):
        ours = mine_rules(
            records,
            min_support=min_support,
            min_confidence=0.0,
            min_patients=1,
            algorithm=algorithm,
        )
        assert (ours["n_both"] == k).sum() > 0, algorithm
        _assert_same_rules(ours, theirs)


@pytest.mark.shared_data
def test_support_on_a_boundary_where_fpgrowth_prunes_by_ceil_real_data(
    disease_symptom_records: kgmed.Records,
) -> None:
    # Eight pairs are seen in exactly 210 of 4,920 patients; ceil(210 / 4920 * 4920) = 211.
    min_support = 210 / 4920
    assert math.ceil(min_support * 4920) == 211
    theirs = _mlxtend_rules(disease_symptom_records, min_support, 0.0, miner=apriori, max_len=3)
    for algorithm, max_len in (("pairs", 2), ("fpgrowth", 3), ("apriori", 3)):
        ours = mine_rules(
            disease_symptom_records,
            min_support=min_support,
            min_confidence=0.0,
            min_patients=1,
            max_len=max_len,
            algorithm=algorithm,
        )
        sizes = ours["antecedents"].map(len) + ours["consequents"].map(len)
        assert ((ours["n_both"] == 210) & (sizes == 2)).sum() == 16, algorithm
        expected = theirs
        if max_len == 2:
            sizes = theirs["antecedents"].map(len) + theirs["consequents"].map(len)
            expected = theirs[sizes == 2]
        _assert_same_rules(ours, expected)


# -- FIMI mushroom: the matrix path against published-format benchmark data ----------


@pytest.fixture(scope="module")
def mushroom(shared_data: Path) -> list[list[str]]:
    text = (shared_data / "fimi" / "mushroom.dat").read_text(encoding="ascii")
    return [line.split() for line in text.splitlines()]


@pytest.fixture(scope="module")
def mushroom_records(mushroom: list[list[str]]) -> kgmed.Records:
    frame = pd.DataFrame(
        [(line, item) for line, items in enumerate(mushroom, start=1) for item in items],
        columns=["patient_id", "concept"],
    ).assign(kind="finding")
    return kgmed.Records.from_dataframe(frame, source="mushroom.dat")


def _fimi_row(shared_data: Path, dataset: str, fraction: float) -> pd.Series:
    table = pd.read_csv(shared_data / "fimi" / "frequent_itemset_counts_computed.tsv", sep="\t")
    row = table[(table["dataset"] == dataset) & np.isclose(table["minsup_fraction"], fraction)]
    assert len(row) == 1
    return row.iloc[0]


def _by_length(text: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in (part.split(":") for part in text.split())}


@pytest.mark.shared_data
@pytest.mark.parametrize("fraction", [0.5, 0.3])
def test_mushroom_pair_counts_match_mlxtend_and_the_table(
    shared_data: Path,
    mushroom: list[list[str]],
    mushroom_records: kgmed.Records,
    fraction: float,
) -> None:
    row = _fimi_row(shared_data, "mushroom.dat", fraction)
    n = len(mushroom)
    assert n == row["n_transactions"] == 8124
    threshold = math.ceil(fraction * n)
    assert threshold == row["minsup_absolute"]
    by_length = _by_length(row["by_length"])

    # The reading path: mlxtend on the raw lines gives the table's count.
    onehot = _onehot(mushroom)
    every = fpgrowth(onehot, min_support=fraction, use_colnames=True)
    assert len(every) == row["n_frequent_itemsets"]
    assert every["itemsets"].map(len).value_counts().to_dict() == by_length

    # kgmed's matrix: frequent items and pairs from one sparse product.
    t = transactions(mushroom_records)
    assert t.matrix.shape == (8124, len({item for items in mushroom for item in items}))
    counts = t.counts()
    pairs = pair_counts(t, min_support=fraction)
    ours = {
        frozenset({c.removeprefix("local:")}): int(k) for c, k in counts.items() if k >= threshold
    }
    ours |= {
        frozenset(
            {t.concepts[f].removeprefix("local:"), t.concepts[s].removeprefix("local:")}
        ): int(b)
        for f, s, b in zip(pairs.first, pairs.second, pairs.n_both, strict=True)
    }
    short = fpgrowth(onehot, min_support=fraction, use_colnames=True, max_len=2)
    theirs = {s: round(v * n) for s, v in zip(short["itemsets"], short["support"], strict=True)}
    assert ours == theirs
    assert sum(len(s) == 1 for s in ours) == by_length[1]
    assert sum(len(s) == 2 for s in ours) == by_length[2]


@pytest.mark.shared_data
def test_mushroom_rule_count_matches_the_table(
    shared_data: Path, mushroom_records: kgmed.Records
) -> None:
    # Each frequent itemset of k items gives 2**k - 2 rules (every split into
    # two non-empty sides); at 50 % the longest has 5 items.
    by_length = _by_length(_fimi_row(shared_data, "mushroom.dat", 0.5)["by_length"])
    expected = sum(n * (2**k - 2) for k, n in by_length.items())
    rules = mine_rules(
        mushroom_records,
        min_support=0.5,
        min_confidence=0.0,
        min_patients=1,
        max_len=max(by_length) + 1,
        algorithm="fpgrowth",
    )
    assert len(rules) == expected == 1148
    assert rules["n_both"].min() >= 4062
    pairs = mine_rules(mushroom_records, min_support=0.5, min_confidence=0.0, min_patients=1)
    assert len(pairs) == 2 * by_length[2]


# -- counts ------------------------------------------------------------------------------


def _hand_counts(records: kgmed.Records, rules: pd.DataFrame) -> pd.DataFrame:
    """n_antecedent, n_consequent, n_both by intersecting each concept's set of patients."""
    patients = {c: set(p) for c, p in records.data.groupby("concept_id")["patient_id"]}

    def count(items: frozenset[str]) -> int:
        return len(set.intersection(*(patients[item] for item in items)))

    return pd.DataFrame(
        {
            "n_antecedent": [count(a) for a in rules["antecedents"]],
            "n_consequent": [count(c) for c in rules["consequents"]],
            "n_both": [
                count(a | c)
                for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)
            ],
        }
    )


@pytest.mark.parametrize(("algorithm", "max_len"), [("pairs", 2), ("fpgrowth", 3), ("apriori", 3)])
def test_counts_equal_hand_counts(
    synthetic_by_seed: Callable[[int, int], kgmed.Records], algorithm: str, max_len: int
) -> None:
    records = synthetic_by_seed(5, 1500)
    rules = mine_rules(
        records,
        min_support=0.01,
        min_confidence=0.0,
        min_patients=1,
        max_len=max_len,
        algorithm=algorithm,
    )
    assert len(rules) > 0
    hand = _hand_counts(records, rules)
    for column in ("n_antecedent", "n_consequent", "n_both", "n_total"):
        assert rules[column].dtype == np.int64
    pd.testing.assert_frame_equal(rules[list(hand.columns)], hand, check_dtype=False)
    n_total = records.data["patient_id"].nunique()
    assert (rules["n_total"] == n_total).all()
    np.testing.assert_array_equal(rules["support"], rules["n_both"] / n_total)
    np.testing.assert_array_equal(rules["antecedent support"], rules["n_antecedent"] / n_total)
    np.testing.assert_array_equal(rules["consequent support"], rules["n_consequent"] / n_total)


@pytest.mark.shared_data
def test_counts_equal_hand_counts_on_disease_symptom_data(
    disease_symptom_records: kgmed.Records,
) -> None:
    rules = mine_rules(disease_symptom_records, min_support=0.02, min_confidence=0.0)
    hand = _hand_counts(disease_symptom_records, rules)
    pd.testing.assert_frame_equal(rules[list(hand.columns)], hand, check_dtype=False)
    assert (rules["n_total"] == 4920).all()
    # 41 diseases in 120 rows each.
    diseases = set(disease_symptom_records.data.loc[lambda d: d["kind"] == "disease", "concept_id"])
    as_antecedent = rules[rules["antecedents"].map(lambda a: next(iter(a)) in diseases)]
    assert (as_antecedent["n_antecedent"] == 120).all()


def _fold(label: str) -> str:
    """A label as an independent reader would key it: NFKC, '_' as space, one space, no case."""
    text = unicodedata.normalize("NFKC", label).replace("_", " ")
    return " ".join(text.split()).casefold()


@pytest.mark.parametrize("seed", [0, 1])
def test_messy_records_give_the_same_rules(seed: int) -> None:
    clean = kgmed.datasets.synthetic(1500, random_state=seed, as_frame=True)
    messy = kgmed.datasets.synthetic(1500, random_state=seed, messy=True, as_frame=True)

    # The claim under test: messy only respells labels and repeats rows.
    assert len(messy) > len(clean)
    assert not set(messy["concept"]) <= set(clean["concept"])
    assert messy["concept"].str.contains("\u00a0").any()

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(concept=frame["concept"].map(_fold)).astype(str)

    messy_keyed, clean_keyed = keyed(messy), keyed(clean)
    assert not clean_keyed.duplicated().any()
    assert messy_keyed.duplicated().sum() == len(messy) - len(clean)
    columns = list(clean.columns)
    pd.testing.assert_frame_equal(
        messy_keyed.drop_duplicates().sort_values(columns).reset_index(drop=True),
        clean_keyed.sort_values(columns).reset_index(drop=True),
    )

    options = {"min_support": 0.002, "min_confidence": 0.0, "min_patients": 1}
    # With codes, and with labels alone (every concept id then comes from a label).
    for kwargs in ({"code": "code", "system": "system"}, {}):
        from_clean = mine_rules(kgmed.Records.from_dataframe(clean, **kwargs), **options)
        from_messy = mine_rules(kgmed.Records.from_dataframe(messy, **kwargs), **options)
        assert len(from_clean) > 0
        pd.testing.assert_frame_equal(from_messy, from_clean, check_exact=True)


@pytest.mark.parametrize(("algorithm", "max_len"), [("pairs", 2), ("fpgrowth", 3)])
def test_repeated_rows_do_not_inflate_counts(
    synthetic_by_seed: Callable[[int, int], kgmed.Records], algorithm: str, max_len: int
) -> None:
    records = synthetic_by_seed(7, 1000)
    doubled = kgmed.Records(pd.concat([records.data, records.data], ignore_index=True))
    assert len(doubled.data) == 2 * len(records.data)
    options = {
        "min_support": 0.01,
        "min_confidence": 0.0,
        "min_patients": 1,
        "max_len": max_len,
        "algorithm": algorithm,
    }
    pd.testing.assert_frame_equal(
        mine_rules(doubled, **options), mine_rules(records, **options), check_exact=True
    )


# -- inputs, order, empty results, parameters ----------------------------------------------


@pytest.fixture(scope="module")
def long_frame() -> pd.DataFrame:
    frame = kgmed.datasets.synthetic(1200, random_state=8, as_frame=True)
    return frame[["patient_id", "concept", "kind"]]


@pytest.fixture(scope="module")
def long_transactions(long_frame: pd.DataFrame) -> Transactions:
    return transactions(kgmed.Records.from_dataframe(long_frame))


@pytest.mark.parametrize(("algorithm", "max_len"), [("pairs", 2), ("fpgrowth", 3), ("apriori", 2)])
def test_records_transactions_and_frames_give_the_same_rules(
    long_frame: pd.DataFrame, algorithm: str, max_len: int
) -> None:
    records = kgmed.Records.from_dataframe(long_frame)
    options = {
        "min_support": 0.01,
        "min_confidence": 0.1,
        "max_len": max_len,
        "algorithm": algorithm,
    }
    from_records = mine_rules(records, **options)
    assert len(from_records) > 0
    pd.testing.assert_frame_equal(mine_rules(long_frame, **options), from_records, check_exact=True)
    pd.testing.assert_frame_equal(
        mine_rules(transactions(records), **options), from_records, check_exact=True
    )


@pytest.mark.parametrize("data", [None, [("p1", "flu")], np.zeros((3, 3)), "visits.csv"])
def test_other_inputs_are_refused(data: object) -> None:
    with pytest.raises(RecordsError, match="expects Records, Transactions or a pandas DataFrame"):
        mine_rules(data)  # type: ignore[arg-type]


@pytest.mark.parametrize(("algorithm", "max_len"), [("pairs", 2), ("fpgrowth", 3), ("apriori", 3)])
def test_rules_are_sorted_deterministically(
    long_frame: pd.DataFrame, algorithm: str, max_len: int
) -> None:
    options = {
        "min_support": 0.01,
        "min_confidence": 0.0,
        "min_patients": 1,
        "max_len": max_len,
        "algorithm": algorithm,
    }
    first = mine_rules(long_frame, **options)
    pd.testing.assert_frame_equal(mine_rules(long_frame, **options), first, check_exact=True)
    # Neither the order of the rows nor that of the patients changes anything.
    shuffled = long_frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine_rules(shuffled, **options), first, check_exact=True)

    # Most patients first, then most confident, then by the sides' ids.
    keys = pd.DataFrame(
        {
            "n_both": -first["n_both"],
            "confidence": -first["confidence"],
            "antecedents": first["antecedents"].map(lambda s: " ".join(sorted(s))),
            "consequents": first["consequents"].map(lambda s: " ".join(sorted(s))),
        }
    )
    assert not keys.duplicated().any()
    expected = keys.sort_values(list(keys.columns)).index
    np.testing.assert_array_equal(expected, np.arange(len(first)))
    assert first.index.equals(pd.RangeIndex(len(first)))


@pytest.mark.parametrize("algorithm", ["pairs", "fpgrowth", "apriori"])
@pytest.mark.parametrize(
    "options",
    [
        {"min_support": 1.0},
        {"min_support": 0.6},
        {"min_support": 0.001, "min_patients": 10**6},
        {"min_support": 0.05, "min_confidence": 1.0},
    ],
)
def test_empty_results_have_every_column(
    long_transactions: Transactions, algorithm: str, options: dict[str, float]
) -> None:
    rules = mine_rules(long_transactions, algorithm=algorithm, **options)
    assert len(rules) == 0
    assert list(rules.columns) == list(RULE_COLUMNS)
    some = mine_rules(long_transactions, algorithm="pairs", min_support=0.05)
    assert len(some) > 0
    pd.testing.assert_series_equal(rules.dtypes, some.dtypes)


@pytest.mark.parametrize("algorithm", ["pairs", "fpgrowth", "apriori"])
def test_frequent_items_never_together_give_no_rules(algorithm: str) -> None:
    # Two concepts each in half the patients, never in the same one.
    frame = pd.DataFrame(
        {
            "patient_id": range(40),
            "concept": ["flu"] * 20 + ["asthma"] * 20,
            "kind": "disease",
        }
    )
    rules = mine_rules(frame, min_support=0.5, min_confidence=0.0, algorithm=algorithm)
    assert len(rules) == 0
    assert list(rules.columns) == list(RULE_COLUMNS)


@pytest.mark.parametrize(("algorithm", "max_len"), [("pairs", 2), ("fpgrowth", 3), ("apriori", 3)])
def test_a_concept_in_every_patient(algorithm: str, max_len: int) -> None:
    # Certainty divides by 1 - support(C) = 0 here; mlxtend and kgmed give 0,
    # and no warning may escape (pytest makes warnings errors).
    frame = pd.DataFrame(
        {
            "patient_id": [*range(30), *range(10), *range(5, 20)],
            "concept": ["checkup"] * 30 + ["flu"] * 10 + ["fever"] * 15,
            "kind": ["procedure"] * 30 + ["disease"] * 10 + ["symptom"] * 15,
        }
    )
    rules = mine_rules(
        frame,
        min_support=0.1,
        min_confidence=0.0,
        min_patients=1,
        max_len=max_len,
        algorithm=algorithm,
    )
    to_everyone = rules[rules["consequents"] == frozenset({"local:checkup"})]
    assert len(to_everyone) == (2 if max_len == 2 else 3)
    assert (to_everyone["certainty"] == 0.0).all()
    assert np.isinf(to_everyone["conviction"]).all()
    assert (to_everyone["consequent support"] == 1.0).all()


def test_auto_picks_pairs_then_fpgrowth(long_frame: pd.DataFrame) -> None:
    options = {"min_support": 0.01, "min_confidence": 0.0, "min_patients": 1}
    assert ALGORITHMS[0] == "auto"
    pd.testing.assert_frame_equal(
        mine_rules(long_frame, **options),
        mine_rules(long_frame, algorithm="pairs", **options),
        check_exact=True,
    )
    auto_3 = mine_rules(long_frame, max_len=3, **options)
    assert (auto_3["antecedents"].map(len) + auto_3["consequents"].map(len) == 3).any()
    pd.testing.assert_frame_equal(
        auto_3, mine_rules(long_frame, max_len=3, algorithm="fpgrowth", **options), check_exact=True
    )


def test_sides_are_frozensets_of_concept_ids(long_frame: pd.DataFrame) -> None:
    records = kgmed.Records.from_dataframe(long_frame)
    rules = mine_rules(records, min_support=0.01, max_len=3, algorithm="apriori")
    ids = set(records.data["concept_id"])
    for side in ("antecedents", "consequents"):
        assert all(isinstance(s, frozenset) and s and s <= ids for s in rules[side])
    assert all(not (a & c) for a, c in zip(rules["antecedents"], rules["consequents"], strict=True))


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"min_support": 0}, "min_support"),
        ({"min_support": -0.1}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_support": float("nan")}, "min_support"),
        ({"min_support": True}, "min_support"),
        ({"min_support": "0.1"}, "min_support"),
        ({"min_confidence": -0.01}, "min_confidence"),
        ({"min_confidence": 1.01}, "min_confidence"),
        ({"max_len": 1}, "max_len"),
        ({"max_len": 2.0}, "max_len"),
        ({"algorithm": "dask"}, "algorithm"),
        ({"algorithm": "FPGrowth"}, "algorithm"),
        ({"algorithm": None}, "algorithm"),
        ({"algorithm": "pairs", "max_len": 3}, "algorithm='pairs'"),
    ],
)
def test_bad_parameters_raise(
    long_frame: pd.DataFrame, options: dict[str, object], name: str
) -> None:
    with pytest.raises(ParameterError, match=name):
        mine_rules(long_frame, **options)  # type: ignore[arg-type]
