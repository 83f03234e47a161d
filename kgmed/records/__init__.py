"""Records and their readers: the canonical long table of observations."""

from kgmed.records.core import (
    BASKETS,
    COLUMNS,
    MEASUREMENT_COLUMNS,
    PATIENT_COLUMNS,
    SEXES,
    Records,
    RecordsReport,
)
from kgmed.records.csv import read_records
from kgmed.records.fhir import read_fhir
from kgmed.records.omop import read_omop
from kgmed.records.synthea import read_synthea

__all__ = [
    "BASKETS",
    "COLUMNS",
    "MEASUREMENT_COLUMNS",
    "PATIENT_COLUMNS",
    "SEXES",
    "Records",
    "RecordsReport",
    "read_fhir",
    "read_omop",
    "read_records",
    "read_synthea",
]
