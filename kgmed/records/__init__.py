"""Records and their readers: the canonical long table of observations."""

from kgmed.records.core import COLUMNS, Records, RecordsReport
from kgmed.records.csv import read_records

__all__ = ["COLUMNS", "Records", "RecordsReport", "read_records"]
