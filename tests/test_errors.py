"""The error classes, and parameter errors at kgmed's public entry points."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed import errors
from kgmed.errors import (
    ColumnNotFound,
    ConceptKindError,
    ConceptNotFound,
    EmptyRecordsError,
    GraphFileError,
    KgmedError,
    MissingValueError,
    ParameterError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
    UnknownKindError,
)


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        (ParameterError, (KgmedError, ValueError)),
        (RecordsError, (KgmedError, ValueError)),
        (ColumnNotFound, (RecordsError, ValueError)),
        (EmptyRecordsError, (RecordsError, ValueError)),
        (MissingValueError, (RecordsError, ValueError)),
        (UnknownKindError, (RecordsError, ValueError)),
        (RecordsFileError, (RecordsError, ValueError)),
        (RecordsFileNotFound, (RecordsError, FileNotFoundError, OSError)),
        (ConceptNotFound, (KgmedError, KeyError, LookupError)),
        (ConceptKindError, (KgmedError, ValueError)),
        (GraphFileError, (KgmedError, ValueError)),
    ],
)
def test_error_classes(error: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in (KgmedError, *bases):
        assert issubclass(error, base)
    with pytest.raises(bases[-1]):
        raise error("message")


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_public(name: str) -> None:
    error = getattr(errors, name)
    assert issubclass(error, KgmedError)
    assert getattr(kgmed, name) is error
    assert name in kgmed.__all__


def test_concept_not_found_reads_as_written() -> None:
    error = ConceptNotFound(
        "no concept 'influenzza' in the graph; closest labels: ['influenza']",
        term="influenzza",
        suggestions=("influenza",),
    )
    assert str(error) == "no concept 'influenzza' in the graph; closest labels: ['influenza']"
    assert error.term == "influenzza"
    assert error.suggestions == ("influenza",)


def test_file_not_found_carries_no_errno_noise(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        kgmed.read_records(tmp_path / "missing.csv")
    assert str(info.value).startswith("missing.csv: no such file")


# -- parameter errors of build and mine_rules --------------------------------------------------


@pytest.fixture(scope="module")
def records() -> kgmed.Records:
    """40 patients: influenza with fever in 30 of them, cold with cough in 10."""
    rows = []
    for i in range(40):
        disease, symptom = ("influenza", "fever") if i < 30 else ("common cold", "cough")
        rows += [(f"p{i}", disease, "disease"), (f"p{i}", symptom, "symptom")]
    return kgmed.Records.from_dataframe(
        pd.DataFrame(rows, columns=["patient_id", "concept", "kind"])
    )


ENTRY_POINTS = [
    pytest.param(kgmed.build, id="build"),
    pytest.param(kgmed.mine_rules, id="mine_rules"),
]

BAD_PARAMETERS = [
    pytest.param({"min_support": 0}, "min_support", id="min_support zero"),
    pytest.param({"min_support": 0.0}, "min_support", id="min_support 0.0"),
    pytest.param({"min_support": -0.1}, "min_support", id="min_support negative"),
    pytest.param({"min_support": 1.5}, "min_support", id="min_support above one"),
    pytest.param({"min_support": math.nan}, "min_support", id="min_support nan"),
    pytest.param({"min_support": math.inf}, "min_support", id="min_support inf"),
    pytest.param({"min_support": True}, "min_support", id="min_support bool"),
    pytest.param({"min_support": "0.1"}, "min_support", id="min_support text"),
    pytest.param({"min_support": None}, "min_support", id="min_support none"),
    pytest.param({"min_confidence": -0.01}, "min_confidence", id="min_confidence negative"),
    pytest.param({"min_confidence": 1.01}, "min_confidence", id="min_confidence above one"),
    pytest.param({"min_confidence": np.nan}, "min_confidence", id="min_confidence nan"),
    pytest.param({"min_confidence": False}, "min_confidence", id="min_confidence bool"),
    pytest.param({"min_patients": 0}, "min_patients", id="min_patients zero"),
    pytest.param({"min_patients": -5}, "min_patients", id="min_patients negative"),
    pytest.param({"min_patients": 1.5}, "min_patients", id="min_patients fraction"),
    pytest.param({"min_patients": 11.0}, "min_patients", id="min_patients float"),
    pytest.param({"min_patients": "11"}, "min_patients", id="min_patients text"),
    pytest.param({"min_patients": True}, "min_patients", id="min_patients bool"),
    pytest.param({"max_len": 1}, "max_len", id="max_len one"),
    pytest.param({"max_len": 0}, "max_len", id="max_len zero"),
    pytest.param({"max_len": 2.0}, "max_len", id="max_len float"),
    pytest.param({"max_len": True}, "max_len", id="max_len bool"),
    pytest.param({"algorithm": "eclat"}, "algorithm", id="algorithm unknown"),
    pytest.param({"algorithm": "FPGrowth"}, "algorithm", id="algorithm case"),
    pytest.param({"algorithm": None}, "algorithm", id="algorithm none"),
    pytest.param({"algorithm": "pairs", "max_len": 3}, "max_len=3", id="pairs with max_len 3"),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("options", "name"), BAD_PARAMETERS)
def test_bad_parameters(
    records: kgmed.Records, entry: Callable[..., Any], options: dict[str, Any], name: str
) -> None:
    with pytest.raises(ParameterError) as info:
        entry(records, **options)
    message = str(info.value)
    assert name in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("parameter", "value", "interval"),
    [
        ("min_support", 0, "(0, 1]"),
        ("min_support", math.nan, "(0, 1]"),
        ("min_confidence", 2, "[0, 1]"),
        ("min_confidence", True, "[0, 1]"),
    ],
)
def test_fraction_messages_state_the_interval(
    records: kgmed.Records, entry: Callable[..., Any], parameter: str, value: object, interval: str
) -> None:
    with pytest.raises(ParameterError) as info:
        entry(records, **{parameter: value})
    assert f"{parameter} must be" in str(info.value)
    assert interval in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_pairs_with_long_rules_says_what_to_use(
    records: kgmed.Records, entry: Callable[..., Any]
) -> None:
    with pytest.raises(ParameterError, match=r"algorithm='pairs'.*'fpgrowth' or 'apriori'"):
        entry(records, algorithm="pairs", max_len=3)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"min_support": 1.0}, id="min_support one"),
        pytest.param({"min_support": np.float64(0.05)}, id="min_support numpy"),
        pytest.param({"min_confidence": 0.0}, id="min_confidence zero"),
        pytest.param({"min_confidence": 1}, id="min_confidence one"),
        pytest.param({"min_patients": np.int64(1)}, id="min_patients numpy"),
        pytest.param({"max_len": 3, "algorithm": "apriori"}, id="apriori"),
        pytest.param({"max_len": 3}, id="auto long"),
        pytest.param({"algorithm": "pairs"}, id="pairs"),
        pytest.param({"algorithm": "fpgrowth"}, id="fpgrowth"),
    ],
)
def test_boundary_parameters_are_accepted(
    records: kgmed.Records, entry: Callable[..., Any], options: dict[str, Any]
) -> None:
    entry(records, **{"min_patients": 1, **options})


def test_rule_nodes_must_be_bool(records: kgmed.Records) -> None:
    with pytest.raises(ParameterError, match="rule_nodes must be True or False"):
        kgmed.build(records, rule_nodes="yes")  # type: ignore[arg-type]
