"""Property-based tests: whatever the records hold, kgmed either names the
problem with a KgmedError or gives counts that an independent recount
confirms.

The tables come from hypothesis: NaN and empty cells, whitespace, unicode
labels (right-to-left scripts, combining marks, emoji, NUL), mixed types,
duplicated rows, one patient, one concept, and many concepts for one
patient. ``KGMED_HYPOTHESIS_EXAMPLES`` sets how many tables each property
sees (60 by default).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kgmed
from kgmed.errors import KgmedError

T = TypeVar("T")
EXAMPLES = int(os.environ.get("KGMED_HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

# Labels a real export can hold, and some it should not.
HOSTILE = [
    "fever",
    "Fever ",
    "FEVER",
    "dry_cough",
    "dry  cough",
    "\u00a0cough",
    "حمى",  # Arabic, right to left
    "חום",  # Hebrew
    "cafe\u0301",  # a combining acute accent
    "café",
    "🤒 fever",
    "a\x00b",
    "=cmd|' /C calc'!A0",
    "<script>alert(1)</script>",
    '"quoted", with comma',
    "line\nbreak",
    "x" * 300,
    "",
    "   ",
]
labels = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(min_size=0, max_size=12),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.none(),
)
patients = st.one_of(
    st.sampled_from(["p1", "p2", " p3", "p3", "42", "مريض", "👤"]),
    st.integers(0, 6),
    st.none(),
    st.just(""),
)
kinds = st.one_of(
    st.sampled_from(["disease", "symptom", "treatment", "Disease ", "SYMPTOM"]),
    st.sampled_from(["virus", "", None]),
)
rows = st.tuples(patients, labels, kinds)
tables = st.lists(rows, min_size=0, max_size=40).map(
    lambda r: pd.DataFrame(r, columns=["patient_id", "concept", "kind"])
)
clean_rows = st.tuples(
    st.sampled_from([f"p{i}" for i in range(12)]),
    st.sampled_from(["fever", "cough", "rash", "حمى", "🤒", "café", "x" * 120, "a\x00b"]),
)


def _kind(label: str) -> str:
    return "disease" if label in ("fever", "حمى") else "symptom"


clean_tables = st.lists(clean_rows, min_size=1, max_size=80).map(
    lambda r: pd.DataFrame(
        [(p, c, _kind(c)) for p, c in r], columns=["patient_id", "concept", "kind"]
    )
)


def _attempt(function: Callable[..., T], *args: Any, **kwargs: Any) -> T | KgmedError:
    """What ``function`` returns, or the KgmedError it raises (any other error fails the test)."""
    try:
        return function(*args, **kwargs)
    except KgmedError as err:
        return err


def _check_records(records: kgmed.Records, n_rows: int) -> None:
    report = records.report
    data = records.data
    assert report.n_read == n_rows
    assert report.n_read == report.n_kept + sum(report.dropped.values())
    assert report.n_kept == len(data)
    assert report.n_patients == data["patient_id"].nunique()
    assert report.n_concepts == data["concept_id"].nunique()
    assert not data.duplicated(["patient_id", "concept_id"]).any()
    assert data["concept_id"].notna().all()
    assert data["patient_id"].notna().all()
    # One kind and one label per concept.
    assert (data.groupby("concept_id")["kind"].nunique() == 1).all()
    assert (data.groupby("concept_id")["label"].nunique() == 1).all()


@SETTINGS
@given(tables)
def test_from_dataframe_names_the_problem_or_keeps_count(table: pd.DataFrame) -> None:
    records = _attempt(kgmed.Records.from_dataframe, table)
    if isinstance(records, KgmedError):
        assert str(records)
        return
    _check_records(records, len(table))


@SETTINGS
@given(table=tables)
def test_read_records_names_the_problem_or_keeps_count(
    table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("csv") / "records.csv"
    table.to_csv(path, index=False)
    n_rows = len(pd.read_csv(path, dtype=str, keep_default_na=False))
    records = _attempt(kgmed.read_records, path)
    if isinstance(records, KgmedError):
        assert "records.csv" in str(records)
        return
    _check_records(records, n_rows)


@SETTINGS
@given(content=st.binary(max_size=300))
def test_any_bytes_give_records_or_a_kgmed_error(
    content: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "odd.csv"
    path.write_bytes(content)
    records = _attempt(kgmed.read_records, path)
    if isinstance(records, KgmedError):
        assert "odd.csv" in str(records)
        return
    assert records.report.n_read == records.report.n_kept + sum(records.report.dropped.values())


@SETTINGS
@given(content=st.text(max_size=200))
def test_any_text_gives_records_or_a_kgmed_error(
    content: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("text") / "odd.csv"
    path.write_text("patient_id,concept,kind\n" + content, encoding="utf-8")
    records = _attempt(kgmed.read_records, path)
    if isinstance(records, KgmedError):
        assert "odd.csv" in str(records)
        return
    assert records.report.n_read == records.report.n_kept + sum(records.report.dropped.values())


def _recount(records: kgmed.Records) -> tuple[dict[str, set[str]], int]:
    """Patients of each concept, counted straight from the records' rows."""
    holders: dict[str, set[str]] = {}
    for patient, concept in records.data[["patient_id", "concept_id"]].itertuples(index=False):
        holders.setdefault(concept, set()).add(patient)
    return holders, records.data["patient_id"].nunique()


def _check_graph(kg: kgmed.KnowledgeGraph, records: kgmed.Records, floor: int) -> None:
    holders, n_patients = _recount(records)
    nodes = kg.nodes()
    for concept, n in zip(nodes["id"], nodes["n_patients"], strict=True):
        assert n == len(holders[concept]) >= floor
    edges = kg.edges()
    for edge in edges.itertuples(index=False):
        both = len(holders[edge.source] & holders[edge.target])
        assert edge.n_patients == both >= floor
        assert edge.n_source == len(holders[edge.source])
        assert edge.n_target == len(holders[edge.target])
        assert edge.n_total == n_patients
        assert edge.n_patients <= n_patients
        for p in (edge.p_target_given_source, edge.p_source_given_target, edge.q_value):
            assert 0 <= p <= 1
        assert math.isclose(edge.p_target_given_source, both / len(holders[edge.source]))
    rules = kg.rules
    if len(rules):
        assert (rules["support"] <= 1).all()
        assert (rules["confidence"] <= 1 + 1e-12).all()


@SETTINGS
@given(clean_tables, st.sampled_from([1, 2, 3]))
def test_build_counts_equal_a_recount(table: pd.DataFrame, floor: int) -> None:
    records = kgmed.Records.from_dataframe(table)
    kg = _attempt(
        kgmed.build,
        records,
        min_support=0.0001,
        min_confidence=0.0,
        min_patients=floor,
        relations="association",
    )
    if isinstance(kg, KgmedError):
        assert str(kg)
        return
    _check_graph(kg, records, floor)
    # And straight from the input table, without the reader: the labels of
    # clean_tables are lower case, so normalizing is turning control
    # characters into spaces.
    raw: dict[str, set[str]] = {}
    for patient, label in table[["patient_id", "concept"]].itertuples(index=False):
        raw.setdefault(" ".join(re.sub(r"[\x00-\x1f]", " ", label).split()), set()).add(patient)
    label_of = dict(zip(kg.nodes()["id"], kg.nodes()["label"], strict=True))
    assert set(label_of.values()) == {c for c, p in raw.items() if len(p) >= floor}
    for edge in kg.edges().itertuples(index=False):
        both = raw[label_of[edge.source]] & raw[label_of[edge.target]]
        assert edge.n_patients == len(both)


@SETTINGS
@given(tables)
def test_build_of_any_table_names_the_problem_or_keeps_count(table: pd.DataFrame) -> None:
    records = _attempt(kgmed.Records.from_dataframe, table)
    if isinstance(records, KgmedError):
        return
    kg = _attempt(kgmed.build, records, min_support=0.0001, min_confidence=0.0, min_patients=1)
    if isinstance(kg, KgmedError):
        assert str(kg)
        return
    _check_graph(kg, records, 1)


def test_one_patient_with_many_concepts() -> None:
    """Ten thousand concepts for one patient: read whole; under the floor, nothing is exported."""
    table = pd.DataFrame(
        {"patient_id": "p1", "concept": [f"c{i}" for i in range(10_000)], "kind": "symptom"}
    )
    records = kgmed.Records.from_dataframe(table)
    assert records.report.n_kept == 10_000
    kg = kgmed.build(records)
    assert kg.params["n_patients"] == 1
    assert kg.params["n_concepts_suppressed"] == 10_000
    assert kg.nodes().empty
    assert kg.edges().empty


def test_one_concept_for_many_patients() -> None:
    table = pd.DataFrame(
        {"patient_id": [f"p{i}" for i in range(50)], "concept": "fever", "kind": "symptom"}
    )
    kg = kgmed.build(kgmed.Records.from_dataframe(table), min_patients=1)
    assert kg.nodes()["n_patients"].tolist() == [50]
    assert kg.edges().empty


def test_duplicated_columns_are_named() -> None:
    table = pd.DataFrame(
        [["p1", "fever", "symptom", "x"]], columns=["patient_id", "concept", "kind", "concept"]
    )
    with pytest.raises(KgmedError, match="concept"):
        kgmed.Records.from_dataframe(table)


def test_row_order_does_not_change_the_exports(tmp_path: Path) -> None:
    """The same records in another order give byte-identical files."""
    frame = kgmed.datasets.synthetic(800, random_state=3, as_frame=True)
    shuffled = frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    outputs = []
    for i, table in enumerate([frame, shuffled]):
        kg = kgmed.build(kgmed.Records.from_dataframe(table, code="code", system="system"))
        folder = tmp_path / str(i)
        folder.mkdir()
        kg.save(folder / "graph.json")
        kg.save(folder / "graph.ttl")
        kg.save(folder / "graph.nt")
        kg.to_kgx(folder / "kgx")
        outputs.append(folder)
    for path in sorted(outputs[0].rglob("*")):
        if path.is_file():
            twin = outputs[1] / path.relative_to(outputs[0])
            assert path.read_bytes() == twin.read_bytes(), path.name


def test_save_load_and_rdf_round_trips_are_identities(tmp_path: Path) -> None:
    kg = kgmed.build(kgmed.datasets.synthetic(600, random_state=5), min_patients=5)
    again = kgmed.load(kg.save(tmp_path / "g.json"))
    pd.testing.assert_frame_equal(again.nodes(), kg.nodes())
    pd.testing.assert_frame_equal(again.edges(), kg.edges())
    pd.testing.assert_frame_equal(again.rules, kg.rules)
    from_rdf = kgmed.load(kg.save(tmp_path / "g.ttl"))
    key = ["source", "target", "relation", "n_patients", "n_source", "n_target"]
    left = from_rdf.edges()[key].sort_values(key).reset_index(drop=True)
    right = kg.edges()[key].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False)
    assert kg.save(tmp_path / "h.json").read_bytes() == again.save(tmp_path / "i.json").read_bytes()


def test_counts_never_exceed_the_patients() -> None:
    records = kgmed.datasets.synthetic(1000, random_state=11)
    for max_len, algorithm in itertools.product([2, 3], ["auto", "fpgrowth", "apriori"]):
        kg = kgmed.build(records, max_len=max_len, algorithm=algorithm, min_patients=5)
        n = kg.params["n_patients"]
        assert (kg.edges()["n_patients"] <= n).all()
        assert (kg.nodes()["n_patients"] <= n).all()
        counts = (
            kg.rules[["n_antecedent", "n_consequent", "n_both"]] if "n_both" in kg.rules else None
        )
        if counts is not None:
            assert (counts.to_numpy() <= n).all()
            assert (
                np.minimum(kg.rules["n_antecedent"], kg.rules["n_consequent"]) >= kg.rules["n_both"]
            ).all()
