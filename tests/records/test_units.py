"""Units of numeric observations: read as UCUM, converted before reference ranges apply."""

from __future__ import annotations

import copy
import json
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pint
import pytest

from kgmed import KgmedError, ParameterError
from kgmed.records import MEASUREMENT_COLUMNS, read_fhir, read_synthea
from kgmed.records import units as units_module
from kgmed.records._common import conversion_notes
from kgmed.records.units import (
    SPELLINGS,
    UnitError,
    conversion,
    convert,
    convert_column,
    to_ucum,
)
from kgmed.records.vocab import REFERENCE_RANGES

# -- spellings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("mmHg", "mm[Hg]"),
        ("mm Hg", "mm[Hg]"),
        ("MMHG", "mm[Hg]"),
        ("°F", "[degF]"),
        ("℉", "[degF]"),
        ("degF", "[degF]"),
        ("deg F", "[degF]"),
        ("°C", "Cel"),
        ("lb", "[lb_av]"),
        ("lbs", "[lb_av]"),
        ("LBS", "[lb_av]"),
        ("bpm", "/min"),
        ("beats/min", "/min"),
        ("kg/m²", "kg/m2"),
        ("kg/m^2", "kg/m2"),
        ("µmol/L", "umol/L"),  # micro sign
        ("μmol/L", "umol/L"),  # Greek mu
        (" mg/dL ", "mg/dL"),
        ("x10^9/L", "10*9/L"),
    ],
)
def test_written_spellings_are_read_as_ucum(written: str, code: str) -> None:
    assert to_ucum(written) == code


@pytest.mark.parametrize("ambiguous", ["F", "C", "K/uL", "mg/dl", "Cel", "[degF]"])
def test_ucum_codes_and_ambiguous_spellings_are_left_as_written(ambiguous: str) -> None:
    assert to_ucum(ambiguous) == ambiguous


def test_every_spelling_is_a_folded_key_and_reads_as_ucum() -> None:
    for key, code in SPELLINGS.items():
        assert key == key.casefold().replace(" ", ""), key
        conversion(code, code)  # raises if the code is not readable UCUM


# -- conversions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "molar_mass", "expected"),
    [
        # Substances, by the conventional clinical factors.
        (5.55, "mmol/L", "mg/dL", 180.16, 99.9888),  # glucose, x 18.016
        (100.0, "mg/dL", "mmol/L", 180.16, 5.55062),
        (5.0, "mmol/L", "mg/dL", 386.65, 193.325),  # cholesterol, x 38.665
        (2.0, "mmol/L", "mg/dL", 885.7, 177.14),  # triglycerides, x 88.57
        (88.4, "umol/L", "mg/dL", 113.12, 0.9999808),  # creatinine, / 88.4
        (88.4, "µmol/L", "mg/dL", 113.12, 0.9999808),
        (1.0, "mg/dL", "umol/L", 113.12, 88.40169),
        # Offset scales.
        (32.0, "[degF]", "Cel", None, 0.0),
        (212.0, "°F", "Cel", None, 100.0),
        (98.6, "degF", "Cel", None, 37.0),
        (-40.0, "[degF]", "Cel", None, -40.0),
        (37.0, "Cel", "[degF]", None, 98.6),
        (310.15, "K", "Cel", None, 37.0),
        # Masses, pressures, rates, counts, concentrations.
        (154.0, "lb", "kg", None, 69.85322498),
        (154.0, "[lb_av]", "kg", None, 69.85322498),
        (16.0, "kPa", "mm[Hg]", None, 120.0098521),
        (120.0, "mmHg", "mm[Hg]", None, 120.0),
        (72.0, "bpm", "/min", None, 72.0),
        (1.2, "/s", "/min", None, 72.0),
        (250.0, "10*9/L", "10*3/uL", None, 250.0),
        (7500.0, "/uL", "10*3/uL", None, 7.5),
        (135.0, "g/L", "g/dL", None, 13.5),
        (1.0, "mL/s", "mL/min/{1.73_m2}", None, 60.0),
        (1.0, "ukat/L", "U/L", None, 60.0),
        (6.5, "%{HbA1c}", "%", None, 6.5),
    ],
)
def test_each_conversion(
    value: float, from_unit: str, to_unit: str, molar_mass: float | None, expected: float
) -> None:
    got = convert([value], from_unit, to_unit, molar_mass=molar_mass)
    assert got[0] == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_a_conversion_is_a_scale_and_an_offset() -> None:
    scale, offset = conversion("[degF]", "Cel")
    assert scale == pytest.approx(5 / 9)
    assert offset == pytest.approx(-160 / 9)
    assert conversion("mg/dl", "mg/dL") == (1.0, 0.0)
    assert conversion("mL/min", "mL/min/{1.73_m2}") == (1.0, 0.0)


def test_offset_units_round_trip_and_keep_their_bounds() -> None:
    celsius = np.array([35.0, 36.6, 37.95, 38.0, 41.2])
    fahrenheit = celsius * 9 / 5 + 32
    # 38 Cel is 100.4 [degF]; back, the float noise (38.00000000000001) is rounded off.
    assert convert(fahrenheit, "[degF]", "Cel").tolist() == celsius.tolist()
    assert convert(celsius, "Cel", "[degF]") == pytest.approx(fahrenheit)


def test_nan_stays_nan_and_empty_stays_empty() -> None:
    got = convert([np.nan, 98.6, np.inf], "°F", "Cel")
    assert np.isnan(got[0])
    assert got[1] == 37.0
    assert got[2] == np.inf
    assert convert([], "°F", "Cel").shape == (0,)


@pytest.mark.parametrize(
    "unit",
    [
        "abc",
        "",
        "{ratio}",  # an annotation alone, which ucumvert mishandles
        "[pH]",
        "mEq/L",  # not UCUM (meq/L is)
        "beats",
        "mg/d L/",
        "[lb_av]999999",  # an exponent that overflows
        "mg/dL" * 30,  # too long to be a unit
    ],
)
def test_unknown_units_are_unit_errors(unit: str) -> None:
    with pytest.raises(UnitError, match=r"is not a UCUM unit kgmed can read") as caught:
        conversion(unit, "mg/dL")
    assert repr(unit) in str(caught.value)
    assert isinstance(caught.value, ParameterError)
    assert isinstance(caught.value, KgmedError)


@pytest.mark.parametrize(
    ("from_unit", "to_unit"),
    [
        ("kg", "Cel"),
        ("F", "Cel"),  # farad, not Fahrenheit: never guessed
        ("C", "Cel"),  # coulomb
        ("K/uL", "10*3/uL"),  # kelvin per microlitre
        ("[IU]/L", "U/L"),  # an arbitrary unit is not an enzyme unit
        ("kg", "kg/m2"),
        ("mm[Hg]", "/min"),
    ],
)
def test_a_unit_of_another_dimension_is_a_unit_error(from_unit: str, to_unit: str) -> None:
    with pytest.raises(UnitError, match=r"cannot be converted to .*: \S.* is not "):
        conversion(from_unit, to_unit)


def test_an_amount_needs_a_molar_mass_to_become_a_mass() -> None:
    with pytest.raises(UnitError, match="give the substance's molar mass"):
        conversion("mmol/L", "mg/dL")
    with pytest.raises(UnitError, match="give the substance's molar mass"):
        conversion("mg/dL", "umol/L")
    # A molar mass does not make other dimensions meet.
    with pytest.raises(UnitError, match="is not"):
        conversion("mmol/L", "Cel", molar_mass=180.16)


@pytest.mark.parametrize(("from_unit", "to_unit"), [("mmol/mol", "%"), ("1", "%"), ("%", "1")])
def test_a_dimensionless_unit_is_only_itself(from_unit: str, to_unit: str) -> None:
    # HbA1c in mmol/mol (IFCC) is not a tenth of the percentage (NGSP).
    with pytest.raises(UnitError, match="dimensionless unit is compared only with itself"):
        conversion(from_unit, to_unit)


@pytest.mark.parametrize("molar_mass", [0.0, -180.16, float("nan"), float("inf")])
def test_a_molar_mass_must_be_positive(molar_mass: float) -> None:
    with pytest.raises(ParameterError, match="molar_mass must be a positive number"):
        conversion("mmol/L", "mg/dL", molar_mass=molar_mass)


def test_the_users_pint_registry_is_left_alone() -> None:
    conversion("[degF]", "Cel")
    application = pint.get_application_registry()
    assert "peripheral_vascular_resistance_unit" not in application
    with pytest.raises(pint.errors.UndefinedUnitError):
        application.Quantity(1, "Cel")


# -- a column of values in many units ----------------------------------------------------------


def test_a_column_is_converted_per_unit_and_accepted_units_pass_as_they_are() -> None:
    values, converted = convert_column(
        [101.3, 38.2, 99.0, 37.0, 36.9, np.nan, 40.0],
        pd.Series(["°F", "Cel", "[degF]", "F", None, "[degF]", "celsius "]),
        "Cel",
        accept=("C-ish",),
    )
    assert values[:3].tolist() == [38.5, 38.2, pytest.approx(37.2222222222)]
    assert np.isnan(values[3:6]).all()  # farad, no unit, no value
    assert values[6] == 40.0
    assert converted.tolist() == [True, False, True, False, False, True, True]


def test_an_accepted_unit_is_taken_as_is_even_where_ucum_reads_it_otherwise() -> None:
    values, converted = convert_column(
        [5.123456789012345], pd.Series(["percent-ish"]), "%", accept=("percent-ish",)
    )
    assert values.tolist() == [5.123456789012345]
    assert not converted.any()


def test_a_column_is_converted_once_per_distinct_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = units_module.conversion

    def counted(from_unit: str, to_unit: str, **kw: Any) -> tuple[float, float]:
        calls.append((from_unit, to_unit))
        return real(from_unit, to_unit, **kw)

    monkeypatch.setattr(units_module, "conversion", counted)
    n = 30_000
    written = pd.Series(np.tile(["mmol/L", "mg/dL", "mmol/l", "nonsense"], n // 4 + 1)[:n])
    values, converted = convert_column(np.full(n, 5.0), written, "mg/dL", molar_mass=180.16)
    assert sorted(calls) == [("mmol/L", "mg/dL"), ("mmol/l", "mg/dL"), ("nonsense", "mg/dL")]
    assert int(converted.sum()) == (written.isin(["mmol/L", "mmol/l"])).sum()
    assert set(np.round(values[converted], 6)) == {90.08}
    assert np.isnan(values[(written == "nonsense").to_numpy()]).all()


def test_a_column_needs_one_unit_per_value() -> None:
    with pytest.raises(ParameterError, match="3 values but 2 units"):
        convert_column([1, 2, 3], pd.Series(["kg", "kg"]), "kg")


def test_conversion_notes_count_values_converted_not_respelled() -> None:
    measurements = pd.DataFrame(
        {
            "value": [7.0, 7.1, 101.3, 200.0, 45.0, 90.0],
            "unit": ["mmol/L", "mmol/L", "°F", "mg/dl", "mL/min", "mg/dL"],
            "canonical_value": [126.112, 127.9136, 38.5, 200.0, 45.0, 90.0],
            "canonical_unit": ["mg/dL", "mg/dL", "Cel", "mg/dL", "mL/min/{1.73_m2}", "mg/dL"],
        }
    )
    assert conversion_notes(measurements, "observations.csv") == [
        "observations.csv: 3 values converted into their reference unit (Records.measurements, "
        "canonical_value): 2 from mmol/L to mg/dL, 1 from °F to Cel"
    ]
    assert conversion_notes(measurements.iloc[3:], "x") == []
    assert conversion_notes(measurements.iloc[:0], "x") == []


# -- real data, its units changed as other systems write them ----------------------------------

# LOINC code: (unit written instead, how a value in the file's unit becomes one in it). The
# factors are the clinical ones, computed here apart from kgmed's.
MANGLED: dict[str, tuple[str, Any]] = {
    "2339-0": ("mmol/L", lambda v: v / 18.016),  # glucose
    "2093-3": ("mmol/L", lambda v: v / 38.665),  # total cholesterol
    "18262-6": ("mmol/L", lambda v: v / 38.665),  # LDL cholesterol
    "2085-9": ("mmol/l", lambda v: v / 38.665),  # HDL cholesterol, lower-case litre
    "2571-8": ("mmol/L", lambda v: v / 88.57),  # triglycerides
    "38483-4": ("µmol/L", lambda v: v * 10_000 / 113.12),  # creatinine
    "8310-5": ("°F", lambda v: v * 9 / 5 + 32),  # body temperature
    "29463-7": ("lb", lambda v: v / 0.45359237),  # body weight (no range)
    "8302-2": ("[in_i]", lambda v: v / 2.54),  # body height (no range)
    "8480-6": ("mmHg", lambda v: v),  # systolic blood pressure, respelled
    # Diastolic blood pressure in kilopascal: 1 mmHg is 133.322387415 Pa (the
    # conventional millimetre of mercury, ISO 80000-4).
    "8462-4": ("kPa", lambda v: v * 0.133322387415),
    "8867-4": ("bpm", lambda v: v),  # heart rate, respelled
    "718-7": ("g/L", lambda v: v * 10),  # hemoglobin
    "6690-2": ("/uL", lambda v: v * 1000),  # leukocytes
    "777-3": ("10*9/L", lambda v: v),  # platelets
    "33914-3": ("mL/s", lambda v: v / 60),  # eGFR
}
# Only respelled: the values stay as they are.
RESPELLED = {"8480-6", "8867-4", "777-3"}
NO_RANGE = {"29463-7", "8302-2"}


def _mangle(table: pd.DataFrame, *, digits: int | None = None) -> tuple[pd.DataFrame, int]:
    """The observations with the units of MANGLED, and how many values truly change."""
    table = table.copy()
    numeric = table["TYPE"] == "numeric"
    n_changed = 0
    for code, (unit, to) in MANGLED.items():
        rows = numeric & (table["CODE"] == code)
        values = to(table.loc[rows, "VALUE"].astype(float))
        if digits is not None:
            values = values.round(digits)
        table.loc[rows, "VALUE"] = values.map(lambda v: repr(float(v)))
        table.loc[rows, "UNITS"] = unit
        if code not in RESPELLED:
            n_changed += int(rows.sum())
    return table, n_changed


@pytest.fixture(scope="module")
def synthea_59(shared_data: Path) -> Path:
    return shared_data / "synthea_csv_59_ca" / "csv"


@pytest.fixture(scope="module")
def original(synthea_59: Path) -> pd.DataFrame:
    return pd.read_csv(synthea_59 / "observations.csv", dtype=str, keep_default_na=False)


def _export(folder: Path, source: Path, observations: pd.DataFrame) -> Path:
    folder.mkdir()
    for name in ("conditions.csv", "patients.csv"):
        shutil.copy(source / name, folder / name)
    observations.to_csv(folder / "observations.csv", index=False)
    return folder


@pytest.mark.shared_data
def test_synthea_in_other_units_gives_the_same_findings(
    tmp_path: Path, synthea_59: Path, original: pd.DataFrame
) -> None:
    mangled, n_changed = _mangle(original)
    assert n_changed > 2000
    tables = ["observations"]
    before = read_synthea(_export(tmp_path / "a", synthea_59, original), tables=tables)
    after = read_synthea(_export(tmp_path / "b", synthea_59, mangled), tables=tables)
    m0, m1 = before.measurements, after.measurements
    assert m0 is not None
    assert m1 is not None
    assert list(m1.columns) == list(MEASUREMENT_COLUMNS)
    assert len(m0) == len(m1)

    # Every value gets the status and the finding it got in the file's own units ...
    assert m1["status"].tolist() == m0["status"].tolist()
    assert m1["finding"].fillna("").tolist() == m0["finding"].fillna("").tolist()
    assert after.report.measurements == before.report.measurements
    assert "unit mismatch" not in after.report.measurements
    assert after.report.measurements["flagged"] > 500
    # ... and the records hold the same findings, with the values as written.
    facts = ["patient_id", "concept_id", "time"]
    assert after.data[facts].equals(before.data[facts])

    # The values are in the range's (or canonical) unit, as in the original file.
    codes = m1["concept_id"].str.removeprefix("LOINC:")
    for code, (unit, _) in MANGLED.items():
        rows = (codes == code).to_numpy()
        assert rows.any(), code
        expected = REFERENCE_RANGES[code].unit if code in REFERENCE_RANGES else None
        # The reader keeps the unit as written, NFKC-normalised (µ is μ).
        assert (m1.loc[rows, "unit"] == unicodedata.normalize("NFKC", unit)).all()
        assert (m1.loc[rows, "canonical_unit"] == (expected or m0.loc[rows, "unit"])).all()
        assert m1.loc[rows, "canonical_value"].to_numpy() == pytest.approx(
            m0.loc[rows, "value"].to_numpy(), rel=1e-9
        )
    # eGFR in mL/min, Synthea's older spelling and the range's alias, is judged as it is and
    # not counted as converted.
    egfr = m0.loc[(codes == "33914-3").to_numpy()]
    assert set(egfr["unit"]) == {"mL/min", "mL/min/{1.73_m2}"}
    assert (egfr["canonical_value"] == egfr["value"]).all()
    assert not any("converted" in note for note in before.report.notes)
    said = [note for note in after.report.notes if "converted" in note]
    assert len(said) == 1
    assert said[0].startswith(f"observations.csv: {n_changed:,} values converted")
    assert "from °F to Cel" in said[0]
    assert "from lb to kg" in said[0]
    assert "mmHg" not in said[0]  # respelled, not converted


@pytest.mark.shared_data
def test_synthea_rounded_in_other_units_differs_only_at_a_bound(
    tmp_path: Path, synthea_59: Path, original: pd.DataFrame
) -> None:
    # As a laboratory writes them: two decimals.
    mangled, _ = _mangle(original, digits=2)
    tables = ["observations"]
    before = read_synthea(_export(tmp_path / "a", synthea_59, original), tables=tables)
    after = read_synthea(_export(tmp_path / "b", synthea_59, mangled), tables=tables)
    m0, m1 = before.measurements, after.measurements
    assert m0 is not None
    assert m1 is not None
    differ = (m0["status"] != m1["status"]).to_numpy()
    codes = m1["concept_id"].str.removeprefix("LOINC:")
    for code, old, new in zip(
        codes[differ], m0.loc[differ, "value"], m1.loc[differ, "canonical_value"], strict=True
    ):
        rng = REFERENCE_RANGES[code]
        bounds = [b for b in (rng.low, rng.high) if b is not None]
        # Rounding moved the value onto the other side of a bound, by less than 0.5 %.
        assert any(min(old, new) <= b <= max(old, new) for b in bounds), (code, old, new)
        assert abs(new - old) <= 0.005 * abs(old) + 0.01
    assert differ.sum() <= 0.01 * len(m0)
    assert "unit mismatch" not in after.report.measurements


@pytest.mark.shared_data
def test_synthea_units_that_do_not_convert_stay_unit_mismatches(
    tmp_path: Path, synthea_59: Path, original: pd.DataFrame
) -> None:
    table = original.copy()
    glucose = (table["CODE"] == "2339-0") & (table["TYPE"] == "numeric")
    temperature = (table["CODE"] == "8310-5") & (table["TYPE"] == "numeric")
    table.loc[glucose, "UNITS"] = "mmol/mol"  # dimensionless: no concentration
    table.loc[temperature, "UNITS"] = "F"  # farad, or Fahrenheit: not guessed
    records = read_synthea(_export(tmp_path / "a", synthea_59, table), tables=["observations"])
    measurements = records.measurements
    assert measurements is not None
    codes = measurements["concept_id"].str.removeprefix("LOINC:")
    odd = codes.isin(["2339-0", "8310-5"]).to_numpy()
    adult = measurements["status"] != "under 18"
    assert (measurements.loc[odd & adult, "status"] == "unit mismatch").all()
    assert measurements.loc[odd, "canonical_value"].isna().all()
    assert records.report.dropped["measurement unit mismatch"] == int((odd & adult).sum())
    assert not any("converted" in note for note in records.report.notes)


def _mangle_bundle(bundle: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A FHIR bundle with its quantities in other units, some as UCUM, some as text only."""
    bundle = copy.deepcopy(bundle)
    n = 0
    written = {
        "8310-5": ("°F", "[degF]"),
        "29463-7": ("lbs", None),  # text only: no UCUM code
        "8462-4": ("kPa", "kPa"),
        "718-7": ("g/L", "g/L"),
        "6690-2": ("/uL", "/uL"),
        "8302-2": ("in", None),
    }
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Observation":
            continue
        for item in [resource, *resource.get("component", [])]:
            quantity = item.get("valueQuantity")
            code = item["code"]["coding"][0]["code"]
            if quantity is None or code not in written:
                continue
            unit, ucum = written[code]
            to = MANGLED[code][1] if code != "8302-2" else (lambda v: v / 2.54)
            quantity["value"] = float(to(pd.Series([float(quantity["value"])]))[0])
            quantity["unit"] = unit
            if ucum is None:
                quantity.pop("code", None)
                quantity.pop("system", None)
            else:
                quantity["code"] = ucum
            n += 1
    return bundle, n


@pytest.mark.shared_data
def test_fhir_in_other_units_gives_the_same_findings(shared_data: Path) -> None:
    bundles = []
    for path in sorted((shared_data / "synthea_csv_59_ca" / "fhir_r4").glob("*.json")):
        with path.open(encoding="utf-8") as f:
            bundles.append(json.load(f))
    mangled = [_mangle_bundle(b) for b in bundles]
    n_changed = sum(n for _, n in mangled)
    assert n_changed > 100
    before = read_fhir(bundles, adult_age=None)
    after = read_fhir([b for b, _ in mangled], adult_age=None)
    m0, m1 = before.measurements, after.measurements
    assert m0 is not None
    assert m1 is not None
    assert m1["status"].tolist() == m0["status"].tolist()
    assert m1["finding"].fillna("").tolist() == m0["finding"].fillna("").tolist()
    assert after.report.measurements == before.report.measurements
    assert before.report.measurements["flagged"] > 20
    assert set(after.data["label"]) == set(before.data["label"])
    judged = m1["canonical_unit"].notna().to_numpy()
    assert m1.loc[judged, "canonical_value"].to_numpy() == pytest.approx(
        m0.loc[judged, "value"].to_numpy(), rel=1e-9
    )
    assert (m1["canonical_unit"].fillna("") == m0["canonical_unit"].fillna("")).all()
    said = [note for note in after.report.notes if "converted" in note]
    assert said == [
        note for note in said if note.startswith(f"Observation: {n_changed:,} values converted")
    ]
    assert len(said) == 1
    assert "from lbs to kg" in said[0]
