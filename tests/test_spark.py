"""algorithm="spark": the same rules and graph as the single-machine miners, counted in Spark.

One local Spark session (``local[2]``) serves every test here: starting one
takes seconds. Without pyspark or Java the tests skip, except under CI,
where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.mining import RULE_COLUMNS, transactions

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI is set but {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local Spark session for the whole module, stopped at the end."""
    try:
        import pyarrow  # noqa: F401
        import pyspark.ml.fpm  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as err:
        _unavailable(f'pyspark cannot be imported ({err}); pip install -e ".[test]"')
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _unavailable("Java is not installed; Spark needs a Java 17 runtime")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("kgmed-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def records() -> kgmed.Records:
    return kgmed.datasets.synthetic(3000, random_state=0)


@pytest.fixture(scope="module")
def messy_frame() -> pd.DataFrame:
    """The long table as an export gives it: case, spacing, duplicates."""
    frame = kgmed.datasets.synthetic(2000, random_state=1, messy=True, as_frame=True)
    return frame[["patient_id", "concept", "kind"]]


def _spark_frame(spark: SparkSession, frame: pd.DataFrame) -> SparkDataFrame:
    import pyarrow as pa
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:  # no Arrow tables before Spark 4
        return spark.createDataFrame(frame.astype(object).where(frame.notna(), None))
    # Through Arrow: createDataFrame(pandas.DataFrame) warns (FutureWarning)
    # that pyspark does not fully support pandas 3, and warnings are errors.
    return spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))


def _assert_same_graph(left: kgmed.KnowledgeGraph, right: kgmed.KnowledgeGraph) -> None:
    pd.testing.assert_frame_equal(left.nodes(), right.nodes())
    pd.testing.assert_frame_equal(left.edges(), right.edges(), check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(left.rules, right.rules, check_exact=False, rtol=1e-12)
    others = {k: v for k, v in left.params.items() if k != "algorithm"}
    assert others == {k: v for k, v in right.params.items() if k != "algorithm"}


# -- without a session ----------------------------------------------------------------------


def test_import_kgmed_does_not_import_pyspark() -> None:
    code = "import sys, kgmed; print(any(m.split('.')[0] == 'pyspark' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_pyspark_the_error_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, records: kgmed.Records
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.ml.fpm", None)
    with pytest.raises(kgmed.MissingDependencyError, match=r'pip install "kgmed\[spark\]"'):
        kgmed.mine_rules(records, algorithm="spark")
    assert issubclass(kgmed.MissingDependencyError, ImportError)


def test_spark_is_an_algorithm() -> None:
    assert "spark" in kgmed.mining.ALGORITHMS


# -- the same rules as the single-machine miners --------------------------------------------


@pytest.mark.usefixtures("spark")
def test_pairs_equal_the_pairs_miner(records: kgmed.Records) -> None:
    options = {"min_support": 0.001, "min_confidence": 0.0, "min_patients": 11}
    rules = kgmed.mine_rules(records, algorithm="spark", **options)
    expected = kgmed.mine_rules(records, algorithm="pairs", **options)
    assert len(rules) > 1000
    assert list(rules.columns) == list(RULE_COLUMNS)
    pd.testing.assert_frame_equal(rules, expected, check_exact=False, rtol=1e-12)


@pytest.mark.usefixtures("spark")
def test_longer_rules_equal_mlxtend_fpgrowth(records: kgmed.Records) -> None:
    options = {"min_support": 0.005, "min_confidence": 0.1, "min_patients": 11, "max_len": 3}
    rules = kgmed.mine_rules(records, algorithm="spark", **options)
    expected = kgmed.mine_rules(records, algorithm="fpgrowth", **options)
    sizes = rules["antecedents"].map(len) + rules["consequents"].map(len)
    assert set(sizes) == {2, 3}
    pd.testing.assert_frame_equal(rules, expected, check_exact=False, rtol=1e-12)


@pytest.mark.usefixtures("spark")
def test_the_privacy_floor_is_kept(records: kgmed.Records) -> None:
    options = {"min_support": 0.001, "min_confidence": 0.0, "min_patients": 60}
    rules = kgmed.mine_rules(records, algorithm="spark", **options)
    assert len(rules) > 0
    assert (rules["n_patients"] >= 60).all()
    assert (rules["n_both"] >= 60).all()
    pd.testing.assert_frame_equal(
        rules,
        kgmed.mine_rules(records, algorithm="pairs", **options),
        check_exact=False,
        rtol=1e-12,
    )


@pytest.mark.usefixtures("spark")
@pytest.mark.parametrize(("max_len", "other"), [(2, "pairs"), (3, "fpgrowth")])
def test_nothing_frequent_gives_an_empty_table(
    records: kgmed.Records, max_len: int, other: str
) -> None:
    # No pair reaches 11 patients in 3,000 at a support of 90%.
    options = {"min_support": 0.9, "max_len": max_len}
    rules = kgmed.mine_rules(records, algorithm="spark", **options)
    assert len(rules) == 0
    assert list(rules.columns) == list(RULE_COLUMNS)
    pd.testing.assert_frame_equal(rules, kgmed.mine_rules(records, algorithm=other, **options))


@pytest.mark.usefixtures("spark")
def test_encounter_baskets_count_patients_for_the_floor() -> None:
    # A third of the patients come back for a second visit with the same
    # concepts: more baskets than patients hold each pair.
    records = kgmed.datasets.synthetic(800, random_state=3)
    frame = records.data.assign(visit="a")
    again = frame[frame["patient_id"].isin(frame["patient_id"].unique()[::3])]
    frame = pd.concat([frame, again.assign(visit="b")], ignore_index=True)
    per_visit = kgmed.Records.from_dataframe(
        frame.drop(columns="concept_id").rename(columns={"label": "concept"}),
        encounter="visit",
        basket="encounter",
    )
    matrix = transactions(per_visit)
    options = {"min_support": 0.01, "min_confidence": 0.0, "min_patients": 20}
    for max_len, other in ((2, "pairs"), (3, "fpgrowth")):
        rules = kgmed.mine_rules(matrix, algorithm="spark", max_len=max_len, **options)
        expected = kgmed.mine_rules(matrix, algorithm=other, max_len=max_len, **options)
        pd.testing.assert_frame_equal(rules, expected, check_exact=False, rtol=1e-12)
        assert (rules["n_patients"] < rules["n_both"]).any()
        assert (rules["n_patients"] >= 20).all()


# -- the same graph -------------------------------------------------------------------------


@pytest.mark.usefixtures("spark")
def test_build_gives_the_same_graph(records: kgmed.Records) -> None:
    kg = kgmed.build(records, algorithm="spark")
    _assert_same_graph(kg, kgmed.build(records))
    assert kg.params["algorithm"] == "spark"
    assert kg.params["relations"] == "direct"
    assert kg.params["edges"]["dropped"]["not direct (explained by another disease)"] > 0


def test_a_spark_dataframe_gives_the_same_graph(
    spark: SparkSession, messy_frame: pd.DataFrame
) -> None:
    data = _spark_frame(spark, messy_frame)
    kg = kgmed.build(data, min_patients=5)
    assert kg.params["algorithm"] == "spark"
    expected = kgmed.build(messy_frame, min_patients=5)
    _assert_same_graph(kg, expected)
    # The labels were normalized as the pandas reader does: ids and the most
    # frequent spelling.
    assert "local:fever" in kg
    assert kg.graph.nodes["local:fever"]["label"] == expected.graph.nodes["local:fever"]["label"]


def test_a_spark_dataframe_gives_the_same_longer_rules(
    spark: SparkSession, messy_frame: pd.DataFrame
) -> None:
    options = {"min_support": 0.01, "min_confidence": 0.2, "max_len": 3}
    rules = kgmed.mine_rules(_spark_frame(spark, messy_frame), **options)
    expected = kgmed.mine_rules(messy_frame, algorithm="fpgrowth", **options)
    assert len(rules) > 0
    pd.testing.assert_frame_equal(rules, expected, check_exact=False, rtol=1e-12)


def test_association_graph_of_a_spark_dataframe(spark: SparkSession) -> None:
    frame = pd.DataFrame(
        {
            "patient_id": np.repeat(np.arange(40, dtype=float), 2),
            "concept": ["Flu", "fever"] * 30 + ["flu", "cough"] * 10,
            "kind": ["disease", "symptom"] * 40,
        }
    )
    kg = kgmed.build(_spark_frame(spark, frame), relations="association", min_confidence=0.0)
    _assert_same_graph(kg, kgmed.build(frame, relations="association", min_confidence=0.0))
    assert kg.nodes()["label"].tolist() == ["Flu", "fever"]  # cough: 10 patients, under 11


# -- bad input ------------------------------------------------------------------------------


def test_a_missing_column_is_named(spark: SparkSession, messy_frame: pd.DataFrame) -> None:
    data = _spark_frame(spark, messy_frame.head(50)).drop("kind")
    with pytest.raises(kgmed.ColumnNotFound, match="column 'kind' not found"):
        kgmed.build(data)
    renamed = _spark_frame(spark, messy_frame.head(50)).withColumnRenamed("patient_id", "pid")
    with pytest.raises(kgmed.ColumnNotFound, match="column 'patient_id' not found"):
        kgmed.mine_rules(renamed)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"kind": [None, "symptom", "disease"]}, kgmed.MissingValueError, "kind"),
        ({"kind": ["disease", "gizmo", "disease"]}, kgmed.UnknownKindError, "gizmo"),
        ({"patient_id": ["p1", " ", "p2"]}, kgmed.MissingValueError, "patient id"),
        ({"kind": ["disease", "symptom", "symptom"]}, kgmed.RecordsError, "one kind"),
        ({"concept": [None, " ", ""]}, kgmed.EmptyRecordsError, "no row holds a concept"),
    ],
)
def test_bad_values_raise_as_the_pandas_reader_does(
    spark: SparkSession, change: dict[str, list[str | None]], error: type, message: str
) -> None:
    frame = pd.DataFrame(
        {"patient_id": ["p1", "p1", "p2"], "concept": ["flu", "fever", "Flu"]}
        | {"kind": ["disease", "symptom", "disease"]}
    ).assign(**change)
    with pytest.raises(error, match=message):
        kgmed.Records.from_dataframe(frame)
    with pytest.raises(error, match=message):
        kgmed.mine_rules(_spark_frame(spark, frame), min_patients=1)


def test_a_spark_dataframe_is_mined_in_spark_only(
    spark: SparkSession, messy_frame: pd.DataFrame
) -> None:
    data = _spark_frame(spark, messy_frame.head(50))
    with pytest.raises(kgmed.ParameterError, match="algorithm='spark'"):
        kgmed.mine_rules(data, algorithm="pairs")
    with pytest.raises(kgmed.ParameterError, match="basket='encounter'"):
        kgmed.build(data, basket="encounter")
    with pytest.raises(kgmed.RecordsError, match="got list"):
        kgmed.build([1, 2], algorithm="spark")  # type: ignore[arg-type]
