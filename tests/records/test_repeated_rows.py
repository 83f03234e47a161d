"""A wide table whose rows, each a patient, mostly repeat: the report warns."""

from __future__ import annotations

import pandas as pd

from kgmed import Records

KINDS = {"disease": "Disease", "symptom": "Symptom_*"}


def _table(n_copies: int, n_distinct: int = 2) -> pd.DataFrame:
    cases = [("Flu", "fever"), ("Asthma", "wheezing"), ("Migraine", "headache")][:n_distinct]
    rows = [case for case in cases for _ in range(n_copies)]
    return pd.DataFrame(rows, columns=["Disease", "Symptom_1"])


def test_most_rows_repeating_is_a_warning_in_the_notes():
    records = Records.from_wide(_table(3), kinds=KINDS)
    assert records.n_patients == 6
    assert records.report.notes == [
        "warning: 6 rows count as 6 patients, but only 2 rows are distinct: each repeat "
        "counts as another patient, which inflates every count and significance. Pass "
        "patient= if the rows are visits of fewer patients, or drop the repeated rows if they "
        "are copies of one case"
    ]
    assert "warning: 6 rows count as 6 patients" in str(records.report)


def test_half_the_rows_distinct_is_the_threshold():
    # 4 rows, 2 distinct: half repeat, which is "most" by the rule (distinct <= half).
    assert Records.from_wide(_table(2), kinds=KINDS).report.notes
    # 3 rows, 2 distinct: most rows are distinct.
    table = pd.concat([_table(1), _table(1).head(1)], ignore_index=True)
    assert Records.from_wide(table, kinds=KINDS).report.notes == []


def test_distinct_rows_or_a_patient_column_give_no_warning():
    assert Records.from_wide(_table(1, n_distinct=3), kinds=KINDS).report.notes == []
    table = _table(3)
    table["pid"] = ["p1", "p1", "p1", "p2", "p2", "p2"]
    records = Records.from_wide(table, kinds=KINDS, patient="pid")
    assert records.n_patients == 2
    assert records.report.notes == []
