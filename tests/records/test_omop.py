"""read_omop: OMOP CDM tables to Records, checked against Synthea read straight.

The OMOP extract is made here from a Synthea CSV export the way OHDSI's
ETL-Synthea maps it (``omop_from_synthea``), and the same export is read
straight into Records with pandas and the shared vocabulary rules
(``synthea_records``), independently of kgmed's Synthea reader. The two
graphs must agree in every node, edge and statistic, except the recorded
reasons for drugs, which OMOP has no column for.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.records import vocab
from kgmed.records.omop import KEPT_COLUMNS, read_omop
from kgmed.schema import RELATIONS

ROOT = Path(__file__).resolve().parents[2]

# -- an ETL-Synthea-style conversion -------------------------------------------------

# The end of a description that holds its semantic tag, closed or cut short.
_TAG_TEXT = r"\s*\([a-z][a-z /-]*\)?\s*$"

# The OHDSI vocabulary's concept_class_id for each SNOMED semantic tag.
_CLASS_OF_TAG = {
    "disorder": "Disorder",
    "finding": "Clinical Finding",
    "situation": "Context-dependent",
    "procedure": "Procedure",
    "regime/therapy": "Procedure",
    "event": "Event",
    "person": "Social Context",
    "observable entity": "Observable Entity",
    "morphologic abnormality": "Morph Abnormality",
}
# A class for a code whose descriptions carry no tag: the one of the kind that
# reading the untagged description gives.
_CLASS_OF_KIND = {
    "disease": "Disorder",
    "symptom": "Clinical Finding",
    "finding": "Context-dependent",
    "procedure": "Procedure",
}
# Classes whose concepts the vocabulary puts in the Observation domain: ETL-Synthea
# loads such "conditions" into the observation table.
_OBSERVATION_CLASSES = {"Context-dependent", "Event", "Social Context"}
_VISIT_CONCEPTS = {"inpatient": 9201, "emergency": 9203, "urgentcare": 9203}
_LOINC_CLASSES = {"laboratory": "Lab Test", "survey": "Survey"}
_NOT_LOINC = {"QALY", "DALY", "QOLS"}


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])


def _tags(descriptions: pd.Series) -> pd.Series:
    return descriptions.map(vocab.semantic_tag)


def _without_tag(descriptions: pd.Series) -> pd.Series:
    """The description a user reads: without the semantic tag, when it has one."""
    tagged = _tags(descriptions).notna()
    return descriptions.where(~tagged, descriptions.str.replace(_TAG_TEXT, "", regex=True))


def _most_frequent(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Per key, its most frequent value (ties: first seen), as Records labels concepts."""
    counts = pd.DataFrame({"key": keys, "value": values}).groupby(["key", "value"], sort=False)
    table = counts.size().rename("n").reset_index().sort_values("n", ascending=False, kind="stable")
    return table.drop_duplicates("key").set_index("key")["value"]


def _drug_class(name: str) -> str:
    if "{" in name:
        return "Branded Pack" if "[" in name else "Clinical Pack"
    if "[" in name:
        return "Branded Drug"
    if re.match(r"^\d+(\.\d+)? (ML|MG|ACTUAT)\b", name):
        return "Quant Clinical Drug"
    return "Clinical Drug"


def omop_from_synthea(folder: Path, *, ancestors: bool = False) -> dict[str, pd.DataFrame]:
    """OMOP CDM v5.4 tables made from a Synthea CSV export, as ETL-Synthea makes them.

    person from patients.csv, visit_occurrence from encounters.csv (one visit
    per encounter: ETL-Synthea also merges overlapping inpatient encounters,
    which this does not), condition_occurrence from conditions.csv (concepts
    whose class lies in the Observation domain go to observation, as
    ETL-Synthea routes by domain), drug_exposure from medications.csv,
    measurement from the numeric rows of observations.csv and observation
    from its text rows (the text kept as value_as_string, which ETL-Synthea
    leaves empty). The concept table is made from the codes and descriptions: SNOMED with the class of the semantic tag and the name
    without it, as the OHDSI vocabulary names them (a code with no tagged
    description gets the class of the kind that reading the untagged
    description gives); RxNorm drugs; LOINC; UCUM units; integer ids.
    Synthea's QALY/DALY/QOLS are no LOINC code: their measurements get
    concept 0 and keep the code as source value. With ``ancestors``, drug
    ingredients become RxNorm Ingredient concepts (invented codes ``X...``)
    linked to the drugs in concept_ancestor.
    """
    patients = _read(folder, "patients")
    encounters = _read(folder, "encounters")
    conditions = _read(folder, "conditions")
    medications = _read(folder, "medications")
    observations = (
        _read(folder, "observations") if (folder / "observations.csv").is_file() else None
    )

    person = pd.DataFrame(
        {
            "person_id": np.arange(1, len(patients) + 1),
            "gender_concept_id": patients["GENDER"].map({"M": 8507, "F": 8532}),
            "year_of_birth": patients["BIRTHDATE"].str[:4].astype(int),
            "birth_datetime": patients["BIRTHDATE"],
            "person_source_value": patients["Id"],
            "gender_source_value": patients["GENDER"],
        }
    )
    person_of = dict(zip(patients["Id"], person["person_id"], strict=True))
    visits = pd.DataFrame(
        {
            "visit_occurrence_id": np.arange(1, len(encounters) + 1),
            "person_id": encounters["PATIENT"].map(person_of),
            "visit_concept_id": encounters["ENCOUNTERCLASS"].map(_VISIT_CONCEPTS).fillna(9202),
            "visit_start_date": encounters["START"].str[:10],
            "visit_start_datetime": encounters["START"],
            "visit_end_date": encounters["STOP"].str[:10],
            "visit_source_value": encounters["Id"],
        }
    )
    visit_of = dict(zip(encounters["Id"], visits["visit_occurrence_id"], strict=True))

    # SNOMED concepts: the class from the first tagged description of a code,
    # else from the tag SNOMED CT gives the code, as the OHDSI vocabulary has it.
    tag_of = _tags(conditions["DESCRIPTION"]).groupby(conditions["CODE"]).first()
    tag_of = tag_of.combine_first(pd.Series(vocab.SNOMED_TAGS))
    untagged = conditions.drop_duplicates("CODE").set_index("CODE")["DESCRIPTION"]
    untagged_class = untagged.map(vocab.kind_of_snomed).map(_CLASS_OF_KIND)
    snomed = pd.DataFrame({"concept_code": pd.unique(conditions["CODE"])})
    snomed["concept_name"] = snomed["concept_code"].map(
        _most_frequent(conditions["CODE"], _without_tag(conditions["DESCRIPTION"]))
    )
    snomed["concept_class_id"] = (
        snomed["concept_code"]
        .map(tag_of)
        .map(_CLASS_OF_TAG)
        .fillna(snomed["concept_code"].map(untagged_class))
    )
    snomed["domain_id"] = np.where(
        snomed["concept_class_id"].isin(_OBSERVATION_CLASSES), "Observation", "Condition"
    )
    snomed["vocabulary_id"] = "SNOMED"

    rxnorm = pd.DataFrame({"concept_code": pd.unique(medications["CODE"])})
    rxnorm["concept_name"] = rxnorm["concept_code"].map(
        _most_frequent(medications["CODE"], medications["DESCRIPTION"])
    )
    rxnorm["concept_class_id"] = rxnorm["concept_name"].map(_drug_class)
    rxnorm = rxnorm.assign(domain_id="Drug", vocabulary_id="RxNorm")

    parts = [snomed, rxnorm]
    numeric = text = None
    if observations is not None:
        is_number = observations["TYPE"] == "numeric"
        numeric, text = observations[is_number], observations[~is_number]
        coded = observations[~observations["CODE"].isin(_NOT_LOINC)]
        loinc = pd.DataFrame({"concept_code": pd.unique(coded["CODE"])})
        loinc["concept_name"] = loinc["concept_code"].map(
            _most_frequent(coded["CODE"], coded["DESCRIPTION"])
        )
        category = coded.groupby("CODE")["CATEGORY"].first()
        loinc["concept_class_id"] = (
            loinc["concept_code"].map(category).map(_LOINC_CLASSES).fillna("Clinical Observation")
        )
        loinc["domain_id"] = np.where(
            loinc["concept_code"].isin(numeric["CODE"]), "Measurement", "Observation"
        )
        units = pd.DataFrame({"concept_code": pd.unique(numeric["UNITS"].dropna())})
        units = units.assign(
            concept_name=units["concept_code"],
            concept_class_id="Unit",
            domain_id="Unit",
            vocabulary_id="UCUM",
        )
        parts += [loinc.assign(vocabulary_id="LOINC"), units]
    concept = pd.concat(parts, ignore_index=True)
    # Integer ids that do not follow the codes, as OMOP's do not.
    concept.insert(0, "concept_id", 40_000_000 + 7 * np.arange(len(concept)))
    concept["standard_concept"] = "S"
    id_of = {
        (vocabulary, code): cid
        for cid, vocabulary, code in concept[
            ["concept_id", "vocabulary_id", "concept_code"]
        ].itertuples(index=False)
    }

    def ids(vocabulary: str, codes: pd.Series) -> pd.Series:
        return codes.map(lambda code: id_of.get((vocabulary, code), 0)).astype("int64")

    condition_ids = ids("SNOMED", conditions["CODE"])
    condition_class = conditions["CODE"].map(snomed.set_index("concept_code")["concept_class_id"])
    in_observation = condition_class.isin(_OBSERVATION_CLASSES)
    as_condition = conditions[~in_observation]
    condition_occurrence = pd.DataFrame(
        {
            "condition_occurrence_id": np.arange(1, len(as_condition) + 1),
            "person_id": as_condition["PATIENT"].map(person_of),
            "condition_concept_id": condition_ids[~in_observation],
            "condition_start_date": as_condition["START"],
            "condition_start_datetime": as_condition["START"],
            "condition_end_date": as_condition["STOP"],
            "condition_type_concept_id": 32020,
            "visit_occurrence_id": as_condition["ENCOUNTER"].map(visit_of),
            "condition_source_value": as_condition["CODE"],
            "condition_source_concept_id": condition_ids[~in_observation],
        }
    )
    drug_ids = ids("RxNorm", medications["CODE"])
    drug_exposure = pd.DataFrame(
        {
            "drug_exposure_id": np.arange(1, len(medications) + 1),
            "person_id": medications["PATIENT"].map(person_of),
            "drug_concept_id": drug_ids,
            "drug_exposure_start_date": medications["START"].str[:10],
            "drug_exposure_start_datetime": medications["START"],
            "drug_exposure_end_date": medications["STOP"].fillna(medications["START"]).str[:10],
            "drug_type_concept_id": 38000177,
            "visit_occurrence_id": medications["ENCOUNTER"].map(visit_of),
            "drug_source_value": medications["CODE"],
            "drug_source_concept_id": drug_ids,
        }
    )
    situations = conditions[in_observation]
    observation_parts = [
        pd.DataFrame(
            {
                "person_id": situations["PATIENT"].map(person_of),
                "observation_concept_id": condition_ids[in_observation],
                "observation_date": situations["START"],
                "observation_datetime": situations["START"],
                "value_as_string": pd.NA,
                "visit_occurrence_id": situations["ENCOUNTER"].map(visit_of),
                "observation_source_value": situations["CODE"],
            }
        )
    ]
    tables = {
        "person": person,
        "visit_occurrence": visits,
        "condition_occurrence": condition_occurrence,
        "drug_exposure": drug_exposure,
    }
    if numeric is not None and text is not None:
        unit_ids = ids("UCUM", numeric["UNITS"])
        tables["measurement"] = pd.DataFrame(
            {
                "measurement_id": np.arange(1, len(numeric) + 1),
                "person_id": numeric["PATIENT"].map(person_of),
                "measurement_concept_id": ids("LOINC", numeric["CODE"]),
                "measurement_date": numeric["DATE"].str[:10],
                "measurement_datetime": numeric["DATE"],
                "value_as_number": pd.to_numeric(numeric["VALUE"]),
                "unit_concept_id": unit_ids,
                "visit_occurrence_id": numeric["ENCOUNTER"].map(visit_of),
                "measurement_source_value": numeric["CODE"],
                "unit_source_value": numeric["UNITS"],
                "value_source_value": numeric["VALUE"],
            }
        )
        observation_parts.append(
            pd.DataFrame(
                {
                    "person_id": text["PATIENT"].map(person_of),
                    "observation_concept_id": ids("LOINC", text["CODE"]),
                    "observation_date": text["DATE"].str[:10],
                    "observation_datetime": text["DATE"],
                    "value_as_string": text["VALUE"],
                    "visit_occurrence_id": text["ENCOUNTER"].map(visit_of),
                    "observation_source_value": text["CODE"],
                }
            )
        )
    observation = pd.concat(observation_parts, ignore_index=True)
    observation.insert(0, "observation_id", np.arange(1, len(observation) + 1))
    tables["observation"] = observation
    # Visit ids are nullable in OMOP: a nullable integer column, as a database gives.
    for name in ("condition_occurrence", "drug_exposure", "measurement", "observation"):
        if name in tables:
            tables[name]["visit_occurrence_id"] = tables[name]["visit_occurrence_id"].astype(
                "Int64"
            )

    if ancestors:
        drugs = concept[concept["vocabulary_id"] == "RxNorm"]
        parsed = dict(
            zip(drugs["concept_id"], drugs["concept_name"].map(vocab.ingredients), strict=True)
        )
        names = sorted({name for found in parsed.values() for name in found})
        start = int(concept["concept_id"].max()) + 1
        ingredient = pd.DataFrame(
            {
                "concept_id": start + np.arange(len(names)),
                "concept_name": names,
                "concept_code": [f"X{n:05d}" for n in range(len(names))],
                "concept_class_id": "Ingredient",
                "domain_id": "Drug",
                "vocabulary_id": "RxNorm",
                "standard_concept": "S",
            }
        )
        ingredient_id = dict(zip(names, ingredient["concept_id"], strict=True))
        links = [(ingredient_id[name], drug, 1) for drug, found in parsed.items() for name in found]
        selves = [(cid, cid, 0) for cid in [*parsed, *ingredient_id.values()]]
        tables["concept_ancestor"] = pd.DataFrame(
            links + selves,
            columns=["ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation"],
        )
        concept = pd.concat([concept, ingredient], ignore_index=True)
    tables["concept"] = concept
    return tables


# -- the same export read straight, with pandas and the shared vocabulary ------------


def synthea_records(
    folder: Path, *, basket: str = "patient", reasons: bool = True
) -> kgmed.Records:
    """Records from a Synthea CSV export by the rules read_omop applies to its OMOP form.

    Conditions: ``SNOMEDCT:<code>``, labelled by the description without its
    semantic tag, of the kind the tag gives (a code's first tagged
    description decides), social ones left out. Medications: one treatment
    per ingredient (``local:<ingredient>``) with the recorded reason.
    Numeric observations: findings when out of range, judged for adults only
    (18 and over by the birth date). Text observations give no finding: the
    text answers a LOINC question, and only a coded answer would name a
    finding.
    """
    conditions = _read(folder, "conditions")
    medications = _read(folder, "medications")
    tagged = _tags(conditions["DESCRIPTION"]).notna()
    kind_of = (
        conditions[tagged]
        .drop_duplicates("CODE")
        .set_index("CODE")["DESCRIPTION"]
        .map(vocab.kind_of_snomed)
    )
    kinds = conditions["CODE"].map(kind_of)
    untagged = [
        vocab.kind_of_snomed(description, code=code)
        for description, code in zip(conditions["DESCRIPTION"], conditions["CODE"], strict=True)
    ]
    kinds = kinds.fillna(pd.Series(untagged, index=conditions.index))
    pieces = [
        pd.DataFrame(
            {
                "patient": conditions["PATIENT"],
                "label": _without_tag(conditions["DESCRIPTION"]),
                "kind": kinds,
                "system": "SNOMEDCT",
                "code": conditions["CODE"],
                "encounter": conditions["ENCOUNTER"],
                "time": conditions["START"],
            }
        )[~vocab.is_social(conditions["DESCRIPTION"]).to_numpy()]
    ]
    drugs = medications.assign(label=medications["DESCRIPTION"].map(vocab.ingredients))
    drugs = drugs.explode("label")
    reason = "SNOMEDCT:" + drugs["REASONCODE"]
    pieces.append(
        pd.DataFrame(
            {
                "patient": drugs["PATIENT"],
                "label": drugs["label"],
                "kind": "treatment",
                "encounter": drugs["ENCOUNTER"],
                "time": drugs["START"],
                "reason": reason if reasons else pd.NA,
            }
        )
    )
    if (folder / "observations.csv").is_file():
        observations = _read(folder, "observations")
        numeric = observations[observations["TYPE"] == "numeric"]
        flagged = vocab.flag_observations(
            numeric.rename(columns={"CODE": "code", "VALUE": "value", "UNITS": "unit"})
        )
        born = numeric["PATIENT"].map(_read(folder, "patients").set_index("Id")["BIRTHDATE"])
        age = pd.to_datetime(numeric["DATE"], utc=True) - pd.to_datetime(born, utc=True)
        adult = (age.dt.days / 365.2425 >= 18).to_numpy()
        flagged = flagged[(flagged["status"] == "flagged").to_numpy() & adult]
        pieces.append(
            pd.DataFrame(
                {
                    "patient": flagged["PATIENT"],
                    "label": flagged["finding"],
                    "kind": "finding",
                    "encounter": flagged["ENCOUNTER"],
                    "time": flagged["DATE"],
                }
            )
        )
    long = pd.concat(pieces, ignore_index=True)
    if basket == "encounter":
        long = long[long["encounter"].notna()]
    return kgmed.Records.from_dataframe(
        long,
        patient="patient",
        concept="label",
        kind="kind",
        code="code",
        system="system",
        encounter="encounter",
        time="time",
        reason="reason",
        basket=basket,
    )


# -- comparing graphs ------------------------------------------------------------------

_EDGE_KEY = ["source", "target", "relation"]
_SWAP = {
    "source": "target",
    "target": "source",
    "source_label": "target_label",
    "target_label": "source_label",
    "p_target_given_source": "p_source_given_target",
    "p_source_given_target": "p_target_given_source",
    "n_source": "n_target",
    "n_target": "n_source",
}


def _nodes(kg: kgmed.KnowledgeGraph, rename: Mapping[str, str] | None = None) -> pd.DataFrame:
    nodes = kg.nodes()
    if rename:
        renamed = nodes["id"].isin(list(rename))
        nodes["id"] = nodes["id"].replace(dict(rename))
        nodes.loc[renamed, ["system", "code"]] = pd.NA
    return nodes.sort_values("id", ignore_index=True)


def _edges(
    kg: kgmed.KnowledgeGraph, rename: Mapping[str, str] | None = None, *, recorded: bool = True
) -> pd.DataFrame:
    """Edges keyed by their ends, symmetric ones from the smaller id; with
    ``recorded=False`` without what recorded reasons add."""
    edges = kg.edges()
    if not recorded:
        edges = edges[edges["provenance"] != "recorded"].copy()
        edges["provenance"] = edges["provenance"].str.replace("; recorded", "", regex=False)
        edges["n_recorded"] = pd.array([pd.NA] * len(edges), dtype="Int64")
    if rename:
        edges[["source", "target"]] = edges[["source", "target"]].replace(dict(rename))
        symmetric = edges["relation"].map(lambda r: RELATIONS[r].symmetric).astype(bool)
        flip = symmetric & (edges["source"] > edges["target"])
        edges.loc[flip, list(_SWAP)] = edges.loc[flip, list(_SWAP.values())].to_numpy()
    return edges.sort_values(_EDGE_KEY, ignore_index=True)


def _ingredient_ids(kg: kgmed.KnowledgeGraph) -> dict[str, str]:
    """The invented RxNorm ingredient ids of the fixture, to the local ids of their names."""
    nodes = kg.nodes("treatment")
    invented = nodes[nodes["code"].str.startswith("X").fillna(False)]
    return {
        node: "local:" + label.replace(" ", "_")
        for node, label in zip(invented["id"], invented["label"], strict=True)
    }


# -- fixtures --------------------------------------------------------------------------

SYNTHEA_SETS = ["synthea_csv_111_unmc", "synthea_csv_59_ca/csv"]


@pytest.fixture(scope="module", params=SYNTHEA_SETS, ids=["111_unmc", "59_ca"])
def synthea(request: pytest.FixtureRequest, shared_data: Path) -> Path:
    return shared_data / request.param


@pytest.fixture(scope="module")
def omop(synthea: Path) -> dict[str, pd.DataFrame]:
    return omop_from_synthea(synthea)


def _concept(rows: list[tuple[int, str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["concept_id", "concept_name", "vocabulary_id", "concept_class_id", "concept_code"],
    )


CONCEPT = _concept(
    [
        (201826, "Type 2 diabetes mellitus", "SNOMED", "Disorder", "44054006"),
        (254761, "Cough", "SNOMED", "Clinical Finding", "49727002"),
        (4215961, "Body mass index 30+ - obesity", "SNOMED", "Clinical Finding", "162864005"),
        (4214956, "History of myocardial infarction", "SNOMED", "Context-dependent", "399211009"),
        (4196672, "Appendectomy", "SNOMED", "Procedure", "80146002"),
        (45591024, "Type 2 diabetes mellitus without complications", "ICD10CM", "4-char billing code", "E11.9"),
        (4084697, "Full-time employment", "SNOMED", "Clinical Finding", "160903007"),
        (1308216, "lisinopril", "RxNorm", "Ingredient", "29046"),
        (19080128, "lisinopril 10 MG Oral Tablet", "RxNorm", "Clinical Drug", "314076"),
        (1125315, "acetaminophen", "RxNorm", "Ingredient", "161"),
        (1124957, "oxycodone", "RxNorm", "Ingredient", "7804"),
        (40232756, "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet", "RxNorm", "Clinical Drug", "1049221"),
        (40213154, "influenza, seasonal, injectable, preservative free", "CVX", "CVX", "140"),
        (3004410, "Hemoglobin A1c/Hemoglobin.total in Blood", "LOINC", "Lab Test", "4548-4"),
        (3004249, "Systolic blood pressure", "LOINC", "Clinical Observation", "8480-6"),
        (3036277, "Body height", "LOINC", "Clinical Observation", "8302-2"),
        (8554, "percent", "UCUM", "Unit", "%"),
        (8876, "millimeter mercury column", "UCUM", "Unit", "mm[Hg]"),
        (44814653, "Tobacco user", "Nebraska Lexicon", "Clinical Finding", "1234"),
        (40766362, "Tobacco smoking status", "LOINC", "Survey", "72166-2"),
        (4144272, "Never smoked tobacco", "SNOMED", "Clinical Finding", "266919005"),
        (706170, "SARS-CoV-2 RNA [Presence] in Respiratory specimen", "LOINC", "Lab Test", "94500-6"),
        (9189, "Negative", "SNOMED", "Qualifier Value", "260385009"),
        (40771070, "What is your housing situation today?", "LOINC", "Survey", "71802-3"),
        (4058296, "Lives alone", "SNOMED", "Clinical Finding", "105529008"),
    ]
)  # fmt: skip


def _conditions(concept_ids: list[int], **columns: list[object]) -> pd.DataFrame:
    n = len(concept_ids)
    return pd.DataFrame(
        {
            "person_id": columns.pop("person_id", list(range(1, n + 1))),
            "condition_concept_id": concept_ids,
            "condition_start_date": columns.pop("condition_start_date", ["2020-01-0" + str(1 + i % 9) for i in range(n)]),
            **columns,
        }
    )  # fmt: skip


def _read_conditions(concept_ids: list[int], **options: Any) -> kgmed.Records:
    tables = {"concept": CONCEPT, "condition_occurrence": _conditions(concept_ids)}
    return read_omop(tables, **options)


def _write(folder: Path, tables: Mapping[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


# -- agreement with Synthea read straight -------------------------------------------


@pytest.mark.shared_data
def test_records_agree_with_synthea_read_straight(
    omop: dict[str, pd.DataFrame], synthea: Path
) -> None:
    records = read_omop(omop)
    direct = synthea_records(synthea)
    person = omop["person"].set_index(omop["person"]["person_id"].astype(str))
    ours = records.data.astype({"patient_id": "string"})
    ours = ours.assign(patient_id=ours["patient_id"].map(person["person_source_value"]))
    key = ["patient_id", "concept_id", "kind", "time"]
    left = ours[key].sort_values(key, ignore_index=True)
    right = direct.data[key].sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False, check_categorical=False)
    assert len(left) > 3000
    assert (
        records.concepts()[["concept_id", "label", "kind"]]
        .sort_values("concept_id", ignore_index=True)
        .equals(
            direct.concepts()[["concept_id", "label", "kind"]].sort_values(
                "concept_id", ignore_index=True
            )
        )
    )


@pytest.mark.shared_data
@pytest.mark.parametrize("basket", ["patient", "encounter"])
def test_graph_agrees_with_synthea_read_straight(
    omop: dict[str, pd.DataFrame], synthea: Path, basket: str
) -> None:
    # Association edges: the comparison is of what the readers read, and
    # every association statistic must agree to the bit.
    options = {
        "min_patients": 3,
        "min_support": 0.001,
        "relations": "association",
        "keep": "all",
        "adjust_for": (),
    }
    kg = kgmed.build(read_omop(omop, basket=basket), **options)
    direct = kgmed.build(synthea_records(synthea, basket=basket), **options)
    pd.testing.assert_frame_equal(_nodes(kg), _nodes(direct), check_exact=True)
    pd.testing.assert_frame_equal(_edges(kg), _edges(direct, recorded=False), check_exact=True)
    assert kg.params["n_baskets"] == direct.params["n_baskets"]
    assert len(kg.edges()) > 100
    assert len(kg.edges("has_symptom")) >= 5
    assert len(kg.edges("treated_with")) >= 20
    # What OMOP cannot carry: the reason a drug was prescribed.
    recorded = direct.edges()["provenance"].str.contains("recorded")
    assert recorded.sum() > 10
    assert not kg.edges()["provenance"].str.contains("recorded").any()


@pytest.mark.shared_data
def test_graph_agrees_with_the_synthea_reader(omop: dict[str, pd.DataFrame], synthea: Path) -> None:
    """The same check against kgmed's own Synthea reader, on the tables both hold."""
    from kgmed.records.synthea import read_synthea

    tables = ("conditions", "medications", "observations")
    direct = read_synthea(synthea, tables=tables)
    kg = kgmed.build(read_omop(omop), min_patients=3, relations="association")
    straight = kgmed.build(direct, min_patients=3, relations="association")
    pd.testing.assert_frame_equal(_nodes(kg), _nodes(straight), check_exact=True)
    pd.testing.assert_frame_equal(_edges(kg), _edges(straight, recorded=False), check_exact=True)
    assert len(kg.edges()) > 100


@pytest.mark.shared_data
def test_ingredients_through_concept_ancestor_give_the_same_graph(synthea: Path) -> None:
    tables = omop_from_synthea(synthea, ancestors=True)
    records = read_omop(tables)
    treatments = records.data[records.data["kind"] == "treatment"]
    assert treatments["concept_id"].str.startswith("RXNORM:X").all()
    kg = kgmed.build(records, min_patients=3)
    by_name = kgmed.build(read_omop({k: v for k, v in tables.items() if k != "concept_ancestor"}), min_patients=3)  # fmt: skip
    rename = _ingredient_ids(kg)
    assert set(rename.values()) == set(by_name.nodes("treatment")["id"])
    pd.testing.assert_frame_equal(_nodes(kg, rename), _nodes(by_name), check_exact=True)
    # Other ids order the pairs otherwise, so p-values may differ in the last bit.
    pd.testing.assert_frame_equal(
        _edges(kg, rename), _edges(by_name), check_exact=False, rtol=1e-12, atol=0
    )
    assert not [note for note in records.report.notes if "Ingredient ancestor" in note]


@pytest.mark.shared_data
def test_report_counts_every_row(omop: dict[str, pd.DataFrame], synthea: Path) -> None:
    report = read_omop(omop).report
    assert report.n_read == report.n_kept + report.n_dropped
    for name, counts in report.files.items():
        drops = sum(n for reason, n in counts.items() if reason not in ("read", "kept"))
        assert counts["read"] == counts["kept"] + drops, name
    medications = _read(synthea, "medications")
    n_ingredients = medications["DESCRIPTION"].map(vocab.ingredients).map(len).sum()
    assert report.files["drug_exposure"]["read"] == n_ingredients
    assert (
        f"drug_exposure: {len(medications):,} rows; combination products gave one "
        f"observation per ingredient, {n_ingredients:,} in all"
    ) in report.notes
    social = vocab.is_social(_read(synthea, "conditions")["DESCRIPTION"]).sum()
    if (synthea / "observations.csv").is_file():
        # Survey answers and values (concept class Survey), and questions about a
        # patient's life in other categories ("What address do you live at?").
        observations = _read(synthea, "observations")
        social += (
            (observations["CATEGORY"] == "survey") | vocab.is_social(observations["DESCRIPTION"])
        ).sum()
    assert sum(counts.get("social", 0) for counts in report.files.values()) == social
    n_patients = len(_read(synthea, "patients"))
    assert any(note.startswith(f"person: {n_patients:,} persons") for note in report.notes)
    assert report.unknown_systems == {}
    assert set(report.concepts_by_kind) >= {"disease", "symptom", "treatment", "finding"}


@pytest.mark.shared_data
def test_measurements_of_the_59_patient_set(shared_data: Path) -> None:
    folder = shared_data / "synthea_csv_59_ca" / "csv"
    records = read_omop(omop_from_synthea(folder))
    observations = _read(folder, "observations")
    numeric = observations[observations["TYPE"] == "numeric"]
    status = vocab.flag_observations(
        numeric.rename(columns={"CODE": "code", "VALUE": "value", "UNITS": "unit"})
    )["status"]
    born = numeric["PATIENT"].map(_read(folder, "patients").set_index("Id")["BIRTHDATE"])
    age = pd.to_datetime(numeric["DATE"], utc=True) - pd.to_datetime(born, utc=True)
    young = (age.dt.days / 365.2425 < 18) & status.isin(["flagged", "in range"])
    counts = records.report.files["measurement"]
    assert counts["read"] == len(numeric)
    # Questionnaire scores (LOINC class Survey) are social, as FHIR's survey category is.
    survey = (numeric["CATEGORY"] == "survey").to_numpy()
    assert counts["social"] == survey.sum() > 0
    status, young = status[~survey], young[~survey]
    assert counts["measurement of a patient under 18"] == young.sum()
    assert counts["measurement in range"] == ((status == "in range") & ~young).sum()
    # eGFR in mL/min/{1.73_m2}, an alias of its range's unit, is judged.
    assert "measurement unit mismatch" not in counts
    assert (status != "unit mismatch").all()
    n_flagged = ((status == "flagged") & ~young).sum()
    assert counts["kept"] + counts.get("duplicate", 0) == n_flagged
    n_qaly = numeric["CODE"].isin(_NOT_LOINC).sum()
    assert (
        f"measurement: {n_qaly:,} unmapped rows ({n_qaly:,} with concept_id 0): "
        f"{n_qaly:,} read as their source value"
    ) in records.report.notes
    # Every value is kept for cohort features, whatever its status.
    measurements = records.measurements
    assert measurements is not None
    assert len(measurements) == len(numeric) - survey.sum()
    assert records.report.measurements["flagged"] == n_flagged
    assert (measurements["status"] == "flagged").sum() == n_flagged
    systolic = records.data[records.data["label"] == "systolic blood pressure high"]
    assert len(systolic) > 10
    assert (systolic["value"] >= 140).all()
    assert (systolic["unit"] == "mm[Hg]").all()


@pytest.mark.shared_data
def test_a_folder_of_csv_files_reads_as_the_tables(
    omop: dict[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "omop"
    folder.mkdir()
    for name, frame in omop.items():
        if name == "concept":
            # As OHDSI's vocabulary download writes it: upper case, tab-separated.
            frame.to_csv(folder / "CONCEPT.csv", sep="\t", index=False)
        elif name == "drug_exposure":
            with gzip.open(folder / "drug_exposure.csv.gz", "wt", encoding="utf-8") as stream:
                frame.to_csv(stream, index=False)
        else:
            frame.rename(columns=str.upper).to_csv(folder / f"{name}.csv", index=False)
    (folder / "README.md").write_text("not a table\n", encoding="utf-8")
    (folder / "procedure_occurrence.csv").write_text("person_id\n", encoding="utf-8")
    from_files = read_omop(folder)
    assert capsys.readouterr().err == ""
    from_frames = read_omop(omop)
    pd.testing.assert_frame_equal(from_files.data, from_frames.data)
    # progress=True draws a bar over the files read, and changes nothing else.
    shown = read_omop(folder, progress=True)
    assert "reading OMOP" in capsys.readouterr().err
    pd.testing.assert_frame_equal(shown.data, from_files.data)
    assert from_files.report.source == "omop"
    assert "drug_exposure.csv.gz" in from_files.report.files
    assert "not read: procedure_occurrence.csv" in from_files.report.notes


# -- mapping choices, on small tables --------------------------------------------------


@pytest.mark.parametrize(
    ("concept_id", "concept", "kind"),
    [
        (201826, "SNOMEDCT:44054006", "disease"),
        (254761, "SNOMEDCT:49727002", "symptom"),
        (4215961, "SNOMEDCT:162864005", "finding"),
        (4214956, "SNOMEDCT:399211009", "finding"),
        (4196672, "SNOMEDCT:80146002", "procedure"),
        (45591024, "ICD10CM:E11.9", "disease"),
    ],
)
def test_condition_kinds_come_from_the_concept_class(
    concept_id: int, concept: str, kind: str
) -> None:
    data = _read_conditions([concept_id]).data
    assert data[["concept_id", "kind"]].values.tolist() == [[concept, kind]]
    expected = CONCEPT.set_index("concept_id").loc[concept_id, "concept_name"]
    assert data["label"].iloc[0] == expected


def test_a_class_that_names_no_tag_leaves_the_kind_to_the_code() -> None:
    # An ETL's own concept table, whose classes say nothing of SNOMED CT's tags.
    concept = _concept(
        [
            (1, "Suspected COVID-19", "SNOMED", "Condition", "840544004"),
            (2, "COVID-19", "SNOMED", "Condition", "840539006"),
            (3, "Normal pregnancy", "SNOMED", "Condition", "72892002"),
            (4, "Suspected lung cancer", "SNOMED", "Condition", "1234567"),
            (5, "Normal pregnancy", "ICD10CM", "3-char billing code", "Z34"),
        ]
    )
    tables = {"concept": concept, "condition_occurrence": _conditions([1, 2, 3, 4, 5])}
    data = read_omop(tables).data
    assert dict(zip(data["concept_id"], data["kind"], strict=True)) == {
        "SNOMEDCT:840544004": "finding",
        "SNOMEDCT:840539006": "disease",
        "SNOMEDCT:72892002": "finding",
        "SNOMEDCT:1234567": "finding",  # by its words
        "ICD10CM:Z34": "finding",  # by its words: no SNOMED CT code to look up
    }


def test_unmapped_concepts_fall_back_and_are_counted() -> None:
    conditions = _conditions(
        [0, 0, 999, 999, 0],
        condition_source_concept_id=[45591024, 0, 201826, None, None],
        condition_source_value=["E11.9", "J45.909", "44054006", "", None],
    )
    records = read_omop({"concept": CONCEPT, "condition_occurrence": conditions})
    assert records.data["concept_id"].tolist() == [
        "ICD10CM:E11.9",
        "local:j45.909",
        "SNOMEDCT:44054006",
    ]
    assert records.data["omop_concept_id"].tolist() == [45591024, pd.NA, 201826]
    assert records.report.files == {"condition_occurrence": {"read": 5, "kept": 3, "no concept": 2}}
    assert records.report.notes == [
        "condition_occurrence: 5 unmapped rows (3 with concept_id 0, 2 with an id not in "
        "concept): 2 read as their source concept, 1 read as their source value, "
        "2 dropped (no concept)"
    ]


def test_drugs_group_to_ingredients_by_name_without_concept_ancestor() -> None:
    drugs = pd.DataFrame(
        {
            "person_id": [1, 1, 2],
            "drug_concept_id": [40232756, 19080128, 40213154],
            "drug_exposure_start_date": ["2020-01-01", "2020-01-01", "2020-02-01"],
        }
    )
    records = read_omop({"concept": CONCEPT, "drug_exposure": drugs})
    assert records.data[["concept_id", "product", "product_code"]].values.tolist() == [
        ["local:acetaminophen", CONCEPT["concept_name"][11], "RXNORM:1049221"],
        ["local:oxycodone", CONCEPT["concept_name"][11], "RXNORM:1049221"],
        ["local:lisinopril", "lisinopril 10 MG Oral Tablet", "RXNORM:314076"],
        ["CVX:140", "influenza, seasonal, injectable, preservative free", "CVX:140"],
    ]
    assert set(records.data["kind"]) == {"treatment"}
    assert records.data["reason_id"].isna().all()
    assert records.report.files["drug_exposure"] == {"read": 4, "kept": 4}
    assert records.report.notes == [
        "drug_exposure: 3 rows; combination products gave one observation per ingredient, 4 in all"
    ]


def test_drugs_group_to_ingredients_through_concept_ancestor() -> None:
    drugs = pd.DataFrame(
        {
            "person_id": [1, 1, 2, 3],
            "drug_concept_id": [40232756, 19080128, 1308216, 40213154],
            "drug_exposure_start_date": ["2020-01-01"] * 4,
        }
    )
    ancestor = pd.DataFrame(
        {
            "ancestor_concept_id": [1125315, 1124957, 1308216, 40232756, 19080128],
            "descendant_concept_id": [40232756, 40232756, 19080128, 40232756, 19080128],
        }
    )
    tables = {"concept": CONCEPT, "drug_exposure": drugs, "concept_ancestor": ancestor}
    data = read_omop(tables).data
    assert data[["patient_id", "concept_id", "label"]].values.tolist() == [
        ["1", "RXNORM:7804", "oxycodone"],
        ["1", "RXNORM:161", "acetaminophen"],
        ["1", "RXNORM:29046", "lisinopril"],
        ["2", "RXNORM:29046", "lisinopril"],
        ["3", "CVX:140", "influenza, seasonal, injectable, preservative free"],
    ]
    assert data["omop_concept_id"].tolist() == [40232756, 40232756, 19080128, 1308216, 40213154]
    products = read_omop(tables, ingredients=False).data["concept_id"]
    assert products.tolist() == ["RXNORM:1049221", "RXNORM:314076", "RXNORM:29046", "CVX:140"]


def _measurements(**columns: list[object]) -> pd.DataFrame:
    n = len(columns["measurement_concept_id"])
    return pd.DataFrame(
        {"person_id": list(range(1, n + 1)), "measurement_date": ["2021-05-01"] * n, **columns}
    )


def test_measurements_out_of_range_become_findings() -> None:
    measurement = _measurements(
        measurement_concept_id=[3004410, 3004410, 3004410, 3004249, 3036277, 3004410, 3004410],
        value_as_number=[7.1, 5.2, 7.4, 150, 180, 7.0, None],
        unit_concept_id=[8554, 8554, 0, 8876, 0, 0, 8554],
        unit_source_value=["mmol/mol", None, "%", None, "cm", "mmol/mol", "%"],
    )
    records = read_omop({"concept": CONCEPT, "measurement": measurement})
    data = records.data
    assert data[["patient_id", "concept_id", "label", "kind"]].values.tolist() == [
        ["1", "local:hba1c_high", "HbA1c high", "finding"],
        ["3", "local:hba1c_high", "HbA1c high", "finding"],
        ["4", "local:systolic_blood_pressure_high", "systolic blood pressure high", "finding"],
    ]
    # The unit concept wins over the unit as written.
    assert data["unit"].tolist() == ["%", "%", "mm[Hg]"]
    assert data["value"].tolist() == [7.1, 7.4, 150.0]
    assert data["omop_concept_id"].tolist() == [3004410, 3004410, 3004249]
    assert records.report.dropped == {
        "measurement in range": 1,
        "measurement without reference range": 1,
        "measurement not a number": 1,
        "measurement unit mismatch": 1,
    }
    strict = {"4548-4": vocab.ReferenceRange("HbA1c", "%", high=5.0)}
    again = read_omop({"concept": CONCEPT, "measurement": measurement}, ranges=strict)
    assert again.data["label"].tolist() == ["HbA1c high"] * 3


def test_measurements_of_children_are_not_judged_by_adult_ranges() -> None:
    measurement = _measurements(
        measurement_concept_id=[3004249, 3004249], value_as_number=[150, 150],
        unit_concept_id=[8876, 8876],
    )  # fmt: skip
    person = pd.DataFrame(
        {"person_id": [1, 2], "year_of_birth": [2010, 1960], "birth_datetime": [None, None]}
    )
    tables = {"concept": CONCEPT, "measurement": measurement, "person": person}
    records = read_omop(tables)
    assert records.data["patient_id"].tolist() == ["2"]
    assert records.report.dropped == {"measurement of a patient under 18": 1}
    assert records.measurements is not None
    assert records.measurements["status"].tolist() == ["under 18", "flagged"]
    assert records.report.measurements == {"flagged": 1, "under 18": 1}
    assert len(read_omop(tables, adult_age=None)) == 2
    assert len(read_omop({**tables, "person": person.assign(year_of_birth=1990)})) == 2
    without = read_omop({"concept": CONCEPT, "measurement": measurement})
    assert len(without) == 2
    assert without.report.notes == [
        "2 measurements are of patients with no birth date (person, birth date); adult "
        "reference ranges were applied to them"
    ]


def test_observations_of_findings_and_of_questions() -> None:
    observation = pd.DataFrame(
        {
            "person_id": [1, 1, 2, 2, 3, 3, 4, 4, 5],
            "observation_concept_id": [
                4214956, 4084697, 40766362, 706170, 706170, 706170, 40771070, 3004410, 44814653,
            ],
            "observation_date": ["2020-01-01"] * 9,
            "value_as_concept_id": [0, 0, 4144272, 9189, 0, None, 4058296, 0, 0],
            "value_as_string": [None, None, None, "Negative", "Detected", None, None, None, None],
            "value_as_number": [None] * 7 + [7.2, None],
            "unit_source_value": [None] * 7 + ["%", None],
        }
    )  # fmt: skip
    tables = {"concept": CONCEPT, "observation": observation}
    records = read_omop(tables)
    assert records.data[["patient_id", "concept_id", "label"]].values.tolist() == [
        ["1", "SNOMEDCT:399211009", "History of myocardial infarction"],
        ["4", "local:hba1c_high", "HbA1c high"],
        ["5", "NEBRASKALEXICON:1234", "Tobacco user"],
    ]
    assert set(records.data["kind"]) == {"finding"}
    assert records.data["omop_concept_id"].tolist() == [4214956, 3004410, 44814653]
    # The answers to questions of class Survey (smoking status, housing) are
    # social, as FHIR's survey category is; employment is by its words.
    assert records.report.dropped == {
        "social": 3,
        "observation qualifier value": 1,
        "observation value not numeric or coded": 1,
        "observation without value": 1,
    }
    assert records.report.unknown_systems == {"Nebraska Lexicon": 1}
    assert records.report.measurements == {"flagged": 1}
    kept = read_omop(tables, social=True)
    assert {"SNOMEDCT:160903007", "SNOMEDCT:105529008", "SNOMEDCT:266919005"} <= set(
        kept.data["concept_id"]
    )


def test_patients_visits_and_times() -> None:
    conditions = _conditions(
        [201826, 254761, 254761],
        person_id=[7, 7, 8],
        visit_occurrence_id=[70, 71, None],
        condition_start_date=["2020-01-01", "2020-01-02", "2020-01-03"],
        condition_start_datetime=["2020-01-01T08:30:00", None, None],
    )
    tables = {"concept": CONCEPT, "condition_occurrence": conditions}
    records = read_omop(tables)
    assert records.basket == "patient"
    assert records.data["patient_id"].tolist() == ["7", "7", "8"]
    assert records.data["encounter_id"].tolist() == ["70", "71", pd.NA]
    assert records.data["time"].tolist() == [
        pd.Timestamp("2020-01-01T08:30:00Z"),
        pd.Timestamp("2020-01-02T00:00:00Z"),
        pd.Timestamp("2020-01-03T00:00:00Z"),
    ]
    per_visit = read_omop(tables, basket="encounter")
    assert per_visit.basket == "encounter"
    assert per_visit.report.dropped == {"no encounter": 1}


def test_who_the_patients_are_comes_from_the_person_table() -> None:
    conditions = _conditions(
        [201826] * 6,
        person_id=[1, 2, 3, 4, 5, 6],
        condition_start_date=["2020-05-31"] * 6,
    )
    person = pd.DataFrame(
        {
            "person_id": [1, 2, 3, 4, 5, 6, 7],
            "year_of_birth": [1980, 1980, 2000, None, 1990, 1990, 1990],
            "month_of_birth": [6, None, None, None, None, None, None],
            "day_of_birth": [1, None, None, None, None, None, None],
            "gender_concept_id": [8532, 8507, 8521, 8551, 0, 4214687, 8507],
        }
    )
    records = read_omop({"concept": CONCEPT, "condition_occurrence": conditions, "person": person})
    patients = records.patients
    assert patients is not None
    assert patients.index.tolist() == ["1", "2", "3", "4", "5", "6"]  # 7 has no event
    # Born 1980-06-01: 39 on 2020-05-31; a missing month and day count as the first.
    assert patients["age"].tolist()[:3] == [39.0, 40.0, 20.0]
    assert pd.isna(patients.loc["4", "age"])
    assert patients["sex"].tolist()[:3] == ["female", "male", "other"]
    assert patients["sex"].iloc[3:].isna().all()
    assert "person: age known for 5 of 6 patients, sex for 3" in records.report.notes
    assert any(
        "4214687" in note and "none of OMOP's gender" in note for note in records.report.notes
    )


def test_without_a_person_table_nothing_is_known_of_the_patients() -> None:
    assert _read_conditions([201826]).patients is None


@pytest.mark.shared_data
def test_the_persons_are_the_patients_synthea_gives(
    omop: dict[str, pd.DataFrame], synthea: Path
) -> None:
    from kgmed.records.synthea import read_synthea

    records = read_omop(omop)
    direct = read_synthea(synthea, tables=("conditions", "medications", "observations"))
    assert records.patients is not None
    assert direct.patients is not None
    person = omop["person"].set_index(omop["person"]["person_id"].astype(str))
    ours = records.patients.rename(index=person["person_source_value"])
    theirs = direct.patients.loc[ours.index]
    pd.testing.assert_series_equal(ours["age"], theirs["age"], check_index_type=False)
    pd.testing.assert_series_equal(ours["sex"], theirs["sex"], check_index_type=False)
    assert len(ours) == direct.n_patients


def test_a_concept_in_two_tables_takes_the_kind_of_the_first() -> None:
    tables = {
        "concept": CONCEPT,
        "condition_occurrence": _conditions([254761]),
        "observation": pd.DataFrame(
            {"person_id": [2], "observation_concept_id": [254761], "observation_date": ["2020-01-01"]}
        ),
    }  # fmt: skip
    records = read_omop(tables)
    assert records.data["kind"].tolist() == ["symptom", "symptom"]
    assert records.report.notes == [
        "observation: 1 observations of a concept also found in an earlier table take "
        "the kind it has there"
    ]


def test_events_of_unknown_persons_and_visits_are_counted() -> None:
    tables = {
        "concept": CONCEPT,
        "condition_occurrence": _conditions([201826, 254761], visit_occurrence_id=[5, 6]),
        "person": pd.DataFrame({"person_id": [1]}),
        "visit_occurrence": pd.DataFrame({"visit_occurrence_id": [5], "person_id": [1]}),
    }
    report = read_omop(tables).report
    assert report.files["condition_occurrence"]["kept"] == 2
    assert report.notes == [
        "person: 1 persons, 0 of them with no observation kept",
        "1 observations kept name a person not in person",
        "visit_occurrence: 1 visits; 1 observations kept name a visit not in it",
    ]


def test_duplicates_are_counted_in_their_table() -> None:
    conditions = _conditions([201826, 201826], person_id=[1, 1], condition_start_date=["2020-01-01"] * 2)  # fmt: skip
    records = read_omop({"concept": CONCEPT, "condition_occurrence": conditions})
    assert records.report.files["condition_occurrence"]["duplicate"] == 1
    assert records.report.n_read == records.report.n_kept + records.report.n_dropped == 2
    assert list(records.data.columns[-len(KEPT_COLUMNS) :]) == list(KEPT_COLUMNS)


def test_report_prints_per_table_counts() -> None:
    text = str(_read_conditions([201826, 0]).report)
    assert "per file:" in text
    assert "condition_occurrence" in text
    assert "1 with concept_id 0" in text


# -- bad input ----------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "omop",
        {
            "concept": CONCEPT,
            "condition_occurrence": _conditions([201826, 254761]),
            "drug_exposure": pd.DataFrame(
                {"person_id": [1], "drug_concept_id": [19080128], "drug_exposure_start_date": ["2020-01-01"]}
            ),
        },
    )  # fmt: skip


def test_folder_reads(folder: Path) -> None:
    records = read_omop(folder)
    assert len(records) == 3
    assert list(records.report.files) == ["condition_occurrence.csv", "drug_exposure.csv"]
    assert records.report.notes == [
        "not in the folder (optional): observation.csv, measurement.csv, "
        "concept_ancestor.csv, person.csv, visit_occurrence.csv"
    ]


def test_missing_concept_table_is_an_error(folder: Path) -> None:
    (folder / "concept.csv").unlink()
    with pytest.raises(kgmed.RecordsFileNotFound, match=r"omop: no concept\.csv \(the folder"):
        read_omop(folder)
    with pytest.raises(kgmed.RecordsError, match="no 'concept' table"):
        read_omop({"condition_occurrence": _conditions([201826])})


def test_no_event_table_is_an_error(folder: Path) -> None:
    (folder / "condition_occurrence.csv").unlink()
    (folder / "drug_exposure.csv").unlink()
    with pytest.raises(kgmed.RecordsError, match="no event table"):
        read_omop(folder)


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("condition_occurrence", "person_id"),
        ("condition_occurrence", "condition_concept_id"),
        ("condition_occurrence", "condition_start_date"),
        ("drug_exposure", "drug_concept_id"),
        ("concept", "vocabulary_id"),
        ("concept", "concept_code"),
    ],
)
def test_renamed_columns_name_the_table(folder: Path, table: str, column: str) -> None:
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.rename(columns={column: column + "_x"}).to_csv(path, index=False)
    with pytest.raises(kgmed.ColumnNotFound, match=rf"{table}\.csv: column '{column}' not found"):
        read_omop(folder)
    tables = {"concept": CONCEPT, "condition_occurrence": _conditions([201826])}
    tables[table] = tables.get(table, _conditions([1])).rename(
        columns={column: column.upper() + "_X"}
    )
    with pytest.raises(kgmed.ColumnNotFound, match=rf"{table}: column '{column}' not found"):
        read_omop(tables)


def test_upper_case_column_names_are_read() -> None:
    tables = {
        "CONCEPT": CONCEPT.rename(columns=str.upper),
        "Condition_Occurrence.csv": _conditions([201826]).rename(columns=str.upper),
    }
    assert read_omop(tables).data["concept_id"].tolist() == ["SNOMEDCT:44054006"]


def test_encounter_baskets_need_the_visit_column() -> None:
    with pytest.raises(kgmed.ColumnNotFound, match="visit_occurrence_id"):
        _read_conditions([201826], basket="encounter")


def test_unparsable_dates_are_counted_and_named_by_file_column_and_line(folder: Path) -> None:
    path = folder / "condition_occurrence.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[1, "condition_start_date"] = "2020-13-45"
    frame.to_csv(path, index=False)
    records = read_omop(folder)
    conditions = records.data[records.data["kind"] != "treatment"]
    assert conditions["time"].isna().tolist() == [False, True]
    assert records.report.files["condition_occurrence.csv"]["dates not parsed"] == 1
    assert (
        "condition_occurrence.csv: column 'condition_start_date' holds 1 value(s) that are not "
        "dates, such as '2020-13-45' at line 3; those rows are kept without a time"
    ) in " ".join(records.report.notes)


def test_dates_as_numbers_are_an_error() -> None:
    conditions = _conditions([201826], condition_start_date=[20200101])
    with pytest.raises(kgmed.RecordsError, match="holds numbers, not dates"):
        read_omop({"concept": CONCEPT, "condition_occurrence": conditions})


def test_empty_tables_are_counted(folder: Path) -> None:
    pd.DataFrame(columns=["person_id", "observation_concept_id", "observation_date"]).to_csv(
        folder / "observation.csv", index=False
    )
    records = read_omop(folder)
    assert records.report.files["observation.csv"] == {"read": 0, "kept": 0}
    for name in ("condition_occurrence", "drug_exposure"):
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str)
        frame.iloc[:0].to_csv(folder / f"{name}.csv", index=False)
    with pytest.raises(kgmed.EmptyRecordsError, match="holds no observation to read"):
        read_omop(folder)


def test_an_empty_concept_table_is_an_error() -> None:
    tables = {"concept": CONCEPT.iloc[:0], "condition_occurrence": _conditions([201826])}
    with pytest.raises(kgmed.EmptyRecordsError, match="concept table has no rows"):
        read_omop(tables)


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("drug_exposure.csv", b"PAR1\x00\x00\x15\x04binary", "looks like a binary file"),
        ("drug_exposure.csv", b'{"resourceType": "Bundle"}\n', "is this a CSV file"),
        ("drug_exposure.csv", b"", "the file is empty"),
        ("drug_exposure.parquet", b"PAR1", "must be CSV or tab-separated"),
        ("DRUG_EXPOSURE.TSV", b"person_id\tdrug_concept_id\n", "two files hold the drug_exposure"),
        ("drug_exposure.csv", b"person_id,drug_concept_id,drug_exposure_start_date\n1,2,3,4,5\n", "line 2 has 5 fields but the header has 3"),
        ("drug_exposure.csv", b"person_id,drug_concept_id,drug_exposure_start_date\n1,2,2020-01-01\n1,2,3,4,5\n", "line 3 has 5 fields but the header has 3"),
        ("drug_exposure.csv", b"person_id,drug_concept_id,drug_exposure_start_date\n1,2,2020-01-01\n1,2", r"line 3 has 2 fields but the header has 3; the file ends there without a newline: it looks truncated"),
    ],
)  # fmt: skip
def test_files_that_are_not_csv_name_the_file(
    folder: Path, file_name: str, content: bytes, message: str
) -> None:
    if file_name != "DRUG_EXPOSURE.TSV":
        (folder / "drug_exposure.csv").unlink()
    (folder / file_name).write_bytes(content)
    with pytest.raises(kgmed.RecordsFileError, match=message):
        read_omop(folder)


def test_a_file_is_not_a_folder(folder: Path) -> None:
    with pytest.raises(kgmed.RecordsFileError, match="is a file"):
        read_omop(folder / "concept.csv")
    with pytest.raises(kgmed.RecordsFileNotFound, match="no such folder"):
        read_omop(folder / "missing")


def test_tab_separated_vocabulary_files_keep_quotes(folder: Path) -> None:
    concept = CONCEPT.copy()
    concept.loc[0, "concept_name"] = 'Type 2 "adult-onset" diabetes'
    (folder / "concept.csv").unlink()
    lines = ["\t".join(concept.columns)]
    lines += ["\t".join(map(str, row)) for row in concept.itertuples(index=False)]
    (folder / "concept.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = read_omop(folder)
    assert records.data["label"].iloc[0] == 'Type 2 "adult-onset" diabetes'


@pytest.mark.parametrize(
    ("column", "value", "error", "message"),
    [
        ("person_id", None, kgmed.MissingValueError, r"'person_id' is empty in 1 row\(s\) \(line 3\)"),
        ("condition_concept_id", "SNOMED:1", kgmed.RecordsError, r"holds 'SNOMED:1' at line 3; OMOP ids are integers"),
    ],
)  # fmt: skip
def test_bad_ids_name_the_line(
    folder: Path, column: str, value: object, error: type[Exception], message: str
) -> None:
    path = folder / "condition_occurrence.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[1, column] = value
    frame.to_csv(path, index=False)
    with pytest.raises(error, match=message):
        read_omop(folder)


def test_a_repeated_concept_id_is_an_error() -> None:
    concept = pd.concat([CONCEPT, CONCEPT.iloc[[0]]], ignore_index=True)
    with pytest.raises(kgmed.RecordsError, match="concept_id 201826 appears 2 times"):
        read_omop({"concept": concept, "condition_occurrence": _conditions([201826])})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"basket": "visit"}, "basket must be one of"),
        ({"social": "yes"}, "social must be True or False"),
        ({"ingredients": 1}, "ingredients must be True or False"),
        ({"adult_age": 0}, "adult_age must be a positive number"),
    ],
)
def test_bad_parameters(options: dict[str, object], message: str) -> None:
    with pytest.raises(kgmed.ParameterError, match=message):
        _read_conditions([201826], **options)


def test_unknown_tables_and_inputs_are_errors() -> None:
    with pytest.raises(kgmed.ParameterError, match="'condition_ocurrence' is not an OMOP table"):
        read_omop({"concept": CONCEPT, "condition_ocurrence": _conditions([201826])})
    with pytest.raises(kgmed.ParameterError, match="must be a folder or a mapping"):
        read_omop(CONCEPT)  # type: ignore[arg-type]
    with pytest.raises(kgmed.RecordsError, match="expected a pandas DataFrame"):
        read_omop({"concept": CONCEPT, "condition_occurrence": [1, 2]})  # type: ignore[dict-item]


def test_a_bad_id_beside_missing_ones_is_named() -> None:
    """A missing cell in the same column does not hide which row holds the bad id."""
    conditions = _conditions([None, "\x00"])  # type: ignore[list-item]
    with pytest.raises(kgmed.RecordsError, match=r"'condition_concept_id' holds '\\x00' at row 1"):
        read_omop({"concept": CONCEPT, "condition_occurrence": conditions})


@pytest.mark.parametrize("date", ["-1", "0001-01-01", "9999-12-31"])
def test_a_date_nanoseconds_cannot_hold_is_not_parsed_and_noted(date: str) -> None:
    conditions = _conditions([201826, 254761], condition_start_date=[date, "2020-01-02"])
    records = read_omop({"concept": CONCEPT, "condition_occurrence": conditions})
    assert records.data["time"].isna().sum() == 1
    assert any(repr(date) in note for note in records.report.notes)
