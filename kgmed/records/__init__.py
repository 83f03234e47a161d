"""Records and their readers: the canonical long table of observations."""

from kgmed.records.core import BASKETS, COLUMNS, Records, RecordsReport
from kgmed.records.csv import read_records
from kgmed.records.synthea import read_synthea

__all__ = ["BASKETS", "COLUMNS", "Records", "RecordsReport", "read_records", "read_synthea"]
