"""Memory budgets: a request that cannot fit stops early with its estimate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed._limits import estimate, memory_budget
from kgmed.cli import main
from kgmed.errors import ParameterError, ResourceLimitError
from kgmed.mining import transactions
from kgmed.mining.pairs import DENSE_PAIR_COLUMNS, min_count


def _one_patient(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"patient_id": "p1", "concept": [f"c{i}" for i in range(n)], "kind": "symptom"}
    )


def _dense(n_patients: int, n_concepts: int, per_patient: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (f"p{p}", f"c{c}", "disease" if c % 3 == 0 else "symptom")
        for p in range(n_patients)
        for c in rng.choice(n_concepts, per_patient, replace=False)
    ]
    return pd.DataFrame(rows, columns=["patient_id", "concept", "kind"])


def test_ten_thousand_concepts_of_one_patient_at_a_floor_of_one() -> None:
    """Fifty million pairs would be mined: refused with the count and the size."""
    with pytest.raises(ResourceLimitError) as info:
        kgmed.build(_one_patient(10_000), min_patients=1, max_memory="16GiB")
    message = str(info.value)
    assert "up to 49,995,000 pairs" in message
    assert "the memory budget is 16.0 GiB" in message
    assert "Raise min_support or min_patients, lower max_len" in message
    assert info.value.estimate > 100 * 2**30
    assert info.value.budget == 16 * 2**30
    assert isinstance(info.value, MemoryError)


def test_max_len_five_over_a_large_vocabulary() -> None:
    records = kgmed.Records.from_dataframe(_dense(300, 80, 40))
    with pytest.raises(ResourceLimitError, match=r"sets of 5, needing about"):
        kgmed.mine_rules(records, min_patients=1, min_support=0.001, max_len=5, max_memory="2GiB")
    # The same records within budget for pairs.
    rules = kgmed.mine_rules(records, min_patients=1, max_len=2, max_memory="2GiB")
    assert len(rules) > 0


def test_the_bound_is_never_below_what_is_mined() -> None:
    records = kgmed.datasets.synthetic(2000, random_state=4)
    t = transactions(records)
    for min_patients, max_len in [(1, 2), (11, 2), (5, 3)]:
        threshold = min_count(t.n_baskets, 0.001, min_patients)
        frequent = np.nonzero(t.counts().to_numpy() >= threshold)[0]
        bound = estimate(
            t.matrix,
            frequent,
            threshold=threshold,
            max_len=max_len,
            dense_columns=DENSE_PAIR_COLUMNS,
        )
        rules = kgmed.mine_rules(
            t, min_patients=min_patients, min_confidence=0.0, max_len=max_len, max_memory=math.inf
        )
        sizes = (rules["antecedents"].map(len) + rules["consequents"].map(len)).to_numpy()
        itemsets = {
            k: len(
                {
                    a | c
                    for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)
                    if len(a | c) == k
                }
            )
            for k in range(2, max_len + 1)
        }
        assert sizes.max() <= max_len
        for k, n in itemsets.items():
            assert n <= bound.itemsets[k], (min_patients, max_len, k)


def test_the_budget_can_be_lowered_and_turned_off() -> None:
    records = kgmed.datasets.synthetic(500, random_state=0)
    with pytest.raises(ResourceLimitError, match=r"the memory budget is 1\.0 KiB"):
        kgmed.build(records, max_memory=1024)
    assert len(kgmed.build(records, max_memory=math.inf).edges()) > 0
    assert len(kgmed.build(records).edges()) > 0  # the default: the memory available


@pytest.mark.parametrize(
    ("given", "expected"),
    [("8GiB", 8 * 2**30), ("512MB", 512e6), ("1.5 gb", 1.5e9), (1e9, 1e9), (4096, 4096.0)],
)
def test_sizes(given: object, expected: float) -> None:
    assert memory_budget(given) == expected


@pytest.mark.parametrize("given", ["lots", "5 parsecs", "-1GB", 0, -5, True, [1]])
def test_bad_sizes(given: object) -> None:
    with pytest.raises(ParameterError, match="max_memory"):
        memory_budget(given)
    with pytest.raises(ParameterError, match="max_memory"):
        kgmed.build(kgmed.datasets.synthetic(100, random_state=0), max_memory=given)


def test_the_command_reports_the_limit_in_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "one.csv"
    _one_patient(5000).to_csv(path, index=False)
    status = main(
        [
            "build",
            str(path),
            "--out",
            str(tmp_path / "out"),
            "--min-patients",
            "1",
            "--max-memory",
            "1GiB",
        ]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("kgmed: error: mining rules of up to 2 concepts among the 5,000 concepts")
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()
