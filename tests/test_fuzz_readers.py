"""Mutation fuzzing of the Synthea, FHIR and OMOP readers.

Each test starts from valid input (real Synthea tables from ``../shared/data``,
FHIR resources and OMOP tables as the standards write them), lets hypothesis
break it (a cell or field replaced by another type, NaN, a hostile string or
nested JSON; a column or field removed; rows duplicated; a table emptied),
and asks the reader for it. The reader either names the problem with a
KgmedError or returns records whose report accounts for every observation
(``n_read == n_kept + dropped``); any other exception fails the test.
``KGMED_HYPOTHESIS_EXAMPLES`` sets the examples per test (60 by default).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kgmed
from kgmed.errors import KgmedError

EXAMPLES = int(os.environ.get("KGMED_HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

HOSTILE = ["", " ", "\x00", "حمى", "🤒", "=1+1", '"}', "NaN", "null", "1e309", "-0", "x" * 500]
cells = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=10),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.sampled_from(HOSTILE),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _read(reader: Any, *args: Any, **kwargs: Any) -> kgmed.Records | KgmedError:
    """The records, or the KgmedError naming the problem (any other error fails the test)."""
    try:
        return reader(*args, **kwargs)  # type: ignore[no-any-return]
    except KgmedError as err:
        return err


def _accounted(records: kgmed.Records | KgmedError) -> None:
    if isinstance(records, KgmedError):
        assert str(records)
        return
    report = records.report
    assert report.n_read == report.n_kept + sum(report.dropped.values())
    assert report.n_kept == len(records.data)
    assert report.n_patients == records.data["patient_id"].nunique()


def _mutate_frame(frame: pd.DataFrame, data: st.DataObject) -> pd.DataFrame:
    frame = frame.copy()
    operation = data.draw(
        st.sampled_from(["cells", "drop column", "duplicate", "empty", "shuffle"])
    )
    if operation == "drop column" and len(frame.columns) > 1:
        column = data.draw(st.sampled_from(list(frame.columns)))
        return frame.drop(columns=[column])
    if operation == "duplicate":
        return pd.concat([frame, frame.head(data.draw(st.integers(1, 5)))], ignore_index=True)
    if operation == "empty":
        return frame.head(0)
    if operation == "shuffle":
        return frame.sample(frac=1.0, random_state=data.draw(st.integers(0, 100)))
    frame = frame.astype(object)
    for _ in range(data.draw(st.integers(1, 6))):
        if frame.empty:
            break
        row = data.draw(st.integers(0, len(frame) - 1))
        column = data.draw(st.sampled_from(list(frame.columns)))
        frame.iat[row, frame.columns.get_loc(column)] = data.draw(cells)
    return frame


# -- Synthea, on a real export ------------------------------------------------------

SYNTHEA_TABLES = ("conditions", "medications", "patients")


@pytest.fixture(scope="module")
def synthea_tables(shared_data: Path) -> dict[str, pd.DataFrame]:
    folder = shared_data / "synthea_csv_59_ca" / "csv"
    return {
        name: pd.read_csv(folder / f"{name}.csv", dtype=str).head(120) for name in SYNTHEA_TABLES
    }


@pytest.mark.shared_data
@SETTINGS
@given(data=st.data())
def test_synthea_reader_survives_broken_tables(
    data: st.DataObject,
    synthea_tables: dict[str, pd.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("synthea")
    broken = data.draw(st.sampled_from(SYNTHEA_TABLES))
    for name, frame in synthea_tables.items():
        table = _mutate_frame(frame, data) if name == broken else frame
        table.to_csv(folder / f"{name}.csv", index=False)
    _accounted(_read(kgmed.read_synthea, folder, tables=("conditions", "medications")))


# -- FHIR -----------------------------------------------------------------------------

SNOMED, RXNORM, LOINC = (
    "http://snomed.info/sct",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://loinc.org",
)


def _resources() -> list[dict[str, Any]]:
    def code(system: str, value: str, display: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": value, "display": display}]}

    subject = {"reference": "Patient/p1"}
    return [
        {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"},
        {"resourceType": "Encounter", "id": "e1", "subject": subject},
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": subject,
            "encounter": {"reference": "Encounter/e1"},
            "code": code(SNOMED, "6142004", "Influenza (disorder)"),
            "onsetDateTime": "2020-01-02T10:00:00Z",
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "subject": subject,
            "medicationCodeableConcept": code(RXNORM, "260101", "oseltamivir"),
            "reasonReference": [{"reference": "Condition/c1"}],
        },
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "category": [{"coding": [{"code": "laboratory"}]}],
            "subject": subject,
            "code": code(LOINC, "4548-4", "Hemoglobin A1c"),
            "valueQuantity": {"value": 7.1, "unit": "%"},
            "effectiveDateTime": "2020-01-02T10:00:00Z",
        },
    ]


@SETTINGS
@given(data=st.data())
def test_fhir_reader_survives_broken_resources(data: st.DataObject) -> None:
    resources = _resources()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(resources) - 1))
        operation = data.draw(
            st.sampled_from(["replace field", "delete field", "replace resource"])
        )
        if operation == "replace resource":
            resources[i] = data.draw(json_values)
            continue
        resource = resources[i]
        if not isinstance(resource, dict) or not resource:
            continue
        key = data.draw(st.sampled_from(sorted(resource)))
        if operation == "delete field":
            del resource[key]
        else:
            resource[key] = data.draw(json_values)
    bundle = {"resourceType": "Bundle", "type": "collection"}
    bundle["entry"] = [{"resource": r} for r in resources]
    _accounted(_read(kgmed.read_fhir, bundle))


@SETTINGS
@given(text=st.one_of(st.text(max_size=200), json_values.map(json.dumps)))
def test_fhir_reader_survives_any_file(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("fhir") / "odd.json"
    path.write_text(text, encoding="utf-8")
    records = _read(kgmed.read_fhir, path)
    if isinstance(records, KgmedError):
        assert "odd.json" in str(records)
    _accounted(records)


# -- OMOP -----------------------------------------------------------------------------


def _omop() -> dict[str, pd.DataFrame]:
    concept = pd.DataFrame(
        [
            (201826, "Type 2 diabetes mellitus", "SNOMED", "Disorder", "44054006"),
            (254761, "Cough", "SNOMED", "Clinical Finding", "49727002"),
            (1308216, "lisinopril", "RxNorm", "Ingredient", "29046"),
        ],
        columns=["concept_id", "concept_name", "vocabulary_id", "concept_class_id", "concept_code"],
    )
    conditions = pd.DataFrame(
        {
            "person_id": [1, 2, 3, 4],
            "condition_concept_id": [201826, 254761, 201826, 254761],
            "condition_start_date": ["2020-01-02"] * 4,
        }
    )
    drugs = pd.DataFrame(
        {
            "person_id": [1, 3],
            "drug_concept_id": [1308216, 1308216],
            "drug_exposure_start_date": "2020-01-03",
        }
    )
    return {"concept": concept, "condition_occurrence": conditions, "drug_exposure": drugs}


@SETTINGS
@given(data=st.data())
def test_omop_reader_survives_broken_tables(data: st.DataObject) -> None:
    tables = _omop()
    broken = data.draw(st.sampled_from(sorted(tables)))
    tables[broken] = _mutate_frame(tables[broken], data)
    _accounted(_read(kgmed.read_omop, tables))


def test_the_mutations_reach_the_readers() -> None:
    """The unbroken inputs read cleanly, so a failure above comes from the mutation."""
    assert (
        len(
            kgmed.read_fhir(
                {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": r} for r in _resources()],
                }
            ).data
        )
        == 3
    )
    assert len(kgmed.read_omop(_omop()).data) == 6
    assert not math.isnan(EXAMPLES)
