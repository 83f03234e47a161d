"""Progress bars: shown when asked (or on a terminal), never in the results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import kgmed
from kgmed import linking
from kgmed._progress import check_progress
from kgmed.mining import direct_relations, transactions


@pytest.fixture(scope="module")
def records() -> kgmed.Records:
    return kgmed.datasets.synthetic(4000, random_state=0)


@pytest.fixture(scope="module")
def kg(records: kgmed.Records) -> kgmed.KnowledgeGraph:
    return kgmed.build(records)


def test_progress_values() -> None:
    assert check_progress(True) is True
    assert check_progress(False) is False
    # Under pytest standard error is captured, not a terminal: no bar.
    assert check_progress(None) is False
    with pytest.raises(kgmed.ParameterError, match="progress must be True, False or None"):
        check_progress("yes")


def test_direct_relations_draws_a_bar_only_when_asked(
    records: kgmed.Records, capsys: pytest.CaptureFixture[str]
) -> None:
    t = transactions(records)
    kinds = records.concepts().set_index("concept_id")["kind"]
    quiet = direct_relations(t, kinds)
    assert capsys.readouterr().err == ""
    shown = direct_relations(t, kinds, progress=True)
    err = capsys.readouterr().err
    assert "direct relations" in err
    assert "target" in err
    pd.testing.assert_frame_equal(quiet, shown)
    direct_relations(t, kinds, progress=False)
    assert capsys.readouterr().err == ""


def test_link_many_in_blocks_equals_all_at_once(
    kg: kgmed.KnowledgeGraph,
    records: kgmed.Records,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    whole = kg.link_many(records, top=3)
    monkeypatch.setattr(linking, "_LINK_BLOCK", 97)
    blocks = kg.link_many(records, top=3, progress=True)
    assert "linking" in capsys.readouterr().err
    pd.testing.assert_frame_equal(whole, blocks)
    with pytest.raises(kgmed.ParameterError, match="progress"):
        kg.link_many(records, progress=1)


def test_build_draws_its_stages_only_when_asked(
    records: kgmed.Records, kg: kgmed.KnowledgeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = kgmed.build(records, progress=True)
    err = capsys.readouterr().err
    assert "kgmed.build" in err
    # Each stage shows as it runs, the direct fit with its own bar.
    for stage in ("records", "matrix", "rules", "graph", "direct relations"):
        assert stage in err
    assert "target" in err
    assert shown.edges().equals(kg.edges())
    kgmed.build(records, progress=False, relations="association")
    assert capsys.readouterr().err == ""
    with pytest.raises(kgmed.ParameterError, match="progress must be True, False or None"):
        kgmed.build(records, progress="yes")


def test_stages_refuse_a_stage_they_do_not_have() -> None:
    from kgmed._progress import Stages

    with Stages(["one", "two"], show=False, desc="test") as stages:
        stages.start("one")
        with pytest.raises(ValueError, match="unknown stage 'three'"):
            stages.start("three")


@pytest.mark.shared_data
def test_readers_draw_a_bar_over_their_inputs_only_when_asked(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = shared_data / "synthea_csv_59_ca"
    quiet = kgmed.read_synthea(export / "csv", tables=["conditions", "medications"])
    assert capsys.readouterr().err == ""
    shown = kgmed.read_synthea(export / "csv", tables=["conditions", "medications"], progress=True)
    err = capsys.readouterr().err
    assert "reading Synthea" in err
    assert "table" in err
    pd.testing.assert_frame_equal(quiet.data, shown.data)

    bundles = sorted((export / "fhir_r4").glob("*.json"))[:5]
    quiet = kgmed.read_fhir(bundles)
    assert capsys.readouterr().err == ""
    shown = kgmed.read_fhir(bundles, progress=True)
    err = capsys.readouterr().err
    assert "reading FHIR" in err
    assert "0/5" in err  # the bar counts the five bundles
    pd.testing.assert_frame_equal(quiet.data, shown.data)
    with pytest.raises(kgmed.ParameterError, match="progress"):
        kgmed.read_fhir(bundles, progress="on")


def test_cohorts_and_risk_draw_a_bar_only_when_asked(
    records: kgmed.Records, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = kgmed.cohorts.find(records, max_cohorts=3)
    assert capsys.readouterr().err == ""
    shown = kgmed.cohorts.find(records, max_cohorts=3, progress=True)
    assert "cohorts" in capsys.readouterr().err
    assert quiet.labels.equals(shown.labels)
    quiet_model = kgmed.models.risk(records, "influenza", cv=3)
    assert capsys.readouterr().err == ""
    shown_model = kgmed.models.risk(records, "influenza", cv=3, progress=True)
    err = capsys.readouterr().err
    assert "cross-validation" in err
    assert "0/3" in err
    pd.testing.assert_frame_equal(quiet_model.folds, shown_model.folds)
    with pytest.raises(kgmed.ParameterError, match="progress"):
        kgmed.cohorts.find(records, progress="yes")
    with pytest.raises(kgmed.ParameterError, match="progress"):
        kgmed.models.risk(records, "influenza", progress=1)
