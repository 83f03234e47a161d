"""Units of measure of numeric observations: read as UCUM, converted between scales.

A lab or vital value is judged against a reference range in the range's unit
(:data:`kgmed.records.vocab.REFERENCE_RANGES`). Records write the same
quantity in other units: glucose in ``mmol/L`` rather than ``mg/dL``, a
temperature in ``[degF]`` rather than ``Cel``, a weight in ``[lb_av]``. This
module converts them:

- a unit is read as a UCUM code (the Unified Code for Units of Measure, which
  FHIR, OMOP and Synthea write), after :func:`to_ucum` has mapped the few
  spellings people write instead (``mmHg``, ``°F``, ``lbs``, ``bpm``,
  :data:`SPELLINGS`);
- :func:`conversion` gives the affine map from one unit to another
  (``value * scale + offset``), through the UCUM grammar of ucumvert and the
  arithmetic of pint, including offset scales (``[degF]`` to ``Cel``) and,
  given the molar mass of the substance, amounts to masses (``mmol/L`` of
  glucose to ``mg/dL``);
- :func:`convert` applies it to an array of values, and
  :func:`convert_column` to a column of values whose units vary, once per
  distinct unit.

What is never done: guessing a unit. ``F`` and ``C`` are the UCUM farad and
coulomb, not degrees; ``K/uL`` is kelvin per microlitre, not thousands per
microlitre; a dimensionless unit is accepted only as itself (``mmol/mol``
is not ``%``: an HbA1c in IFCC units is not a fraction of the NGSP
percentage, see :mod:`kgmed.records.vocab`). Such a value stays in its own
unit and its conversion raises :class:`UnitError`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from kgmed.errors import ParameterError

__all__ = [
    "SIGNIFICANT_DIGITS",
    "SPELLINGS",
    "UnitError",
    "conversion",
    "convert",
    "convert_column",
    "to_ucum",
]


class UnitError(ParameterError):
    """A unit cannot be read as UCUM, or not converted to the unit asked for."""


#: Spellings of units that are not UCUM but that people and exporters write,
#: by their case-folded form without spaces (``"mm Hg"`` is ``"mmhg"``), and
#: the UCUM code each stands for. Only spellings with one meaning are here:
#: ``F`` and ``C`` are left to UCUM (farad, coulomb), ``K/uL`` too (kelvin per
#: microlitre), so a temperature written ``F`` or a count written ``K/uL``
#: stays in a unit of another dimension than the range's and is not judged.
#: ``mg/dl`` and ``mmol/l`` need no entry: UCUM writes the litre ``l`` or ``L``.
SPELLINGS: dict[str, str] = {
    # pressure
    "mmhg": "mm[Hg]",
    # temperature (NFKC has already made ℃ and ℉ into °C and °F)
    "°c": "Cel",
    "degc": "Cel",
    "celsius": "Cel",
    "degreesc": "Cel",
    "degreescelsius": "Cel",
    "°f": "[degF]",
    "degf": "[degF]",
    "fahrenheit": "[degF]",
    "degreesf": "[degF]",
    "degreesfahrenheit": "[degF]",
    # mass and length, avoirdupois and international inch
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "pound": "[lb_av]",
    "pounds": "[lb_av]",
    "oz": "[oz_av]",
    "in": "[in_i]",
    "inch": "[in_i]",
    "inches": "[in_i]",
    "ft": "[ft_i]",
    "feet": "[ft_i]",
    # rates
    "bpm": "/min",
    "beats/min": "/min",
    "beatsperminute": "/min",
    "breaths/min": "/min",
    "breathsperminute": "/min",
    "perminute": "/min",
    # counts per volume, written with a power of ten
    "x10^3/ul": "10*3/uL",
    "x10e3/ul": "10*3/uL",
    "10e3/ul": "10*3/uL",
    "x10^9/l": "10*9/L",
    "x10e9/l": "10*9/L",
    "10e9/l": "10*9/L",
    # ratios
    "kg/m^2": "kg/m2",
    "percent": "%",
}

#: Converted values are rounded to this many significant digits: enough for
#: any measurement, and what keeps the float noise of a conversion
#: (100.4 °F is 38.00000000000001 Cel) from moving a value across a bound.
SIGNIFICANT_DIGITS = 12

# A unit is a short code; a longer text is no unit, and is not parsed.
_LONGEST = 100

# Values a conversion is computed at: 0 and 1 give the offset and the scale,
# 100 checks that the map is affine (a logarithmic unit such as the decibel
# is not).
_PROBES = np.array([0.0, 1.0, 100.0])


def to_ucum(unit: str) -> str:
    """The UCUM code a written unit stands for.

    The unit is NFKC-normalised (``m²`` is ``m2``, ``℉`` is ``°F``), the
    micro sign is UCUM's ``u``, spaces go, and a spelling of
    :data:`SPELLINGS` (case aside) becomes its code. Anything else is
    returned as it then is, to be read as UCUM: this does not check it.

    Parameters
    ----------
    unit : str
        A unit as written in a record.

    Returns
    -------
    str
        Its UCUM code.

    Examples
    --------
    >>> from kgmed.records.units import to_ucum
    >>> [to_ucum(u) for u in ["mm Hg", "°F", "lbs", "µmol/L", "kg/m²", "mg/dL", "F"]]
    ['mm[Hg]', '[degF]', '[lb_av]', 'umol/L', 'kg/m2', 'mg/dL', 'F']
    """
    text = unicodedata.normalize("NFKC", unit)
    # NFKC makes the micro sign (U+00B5) the Greek mu (U+03BC); UCUM writes u.
    text = re.sub(r"\s+", "", text.replace("\u03bc", "u"))
    return SPELLINGS.get(text.casefold(), text)


@lru_cache(maxsize=1)
def _ucum() -> tuple[Any, Any, Any]:
    """The units registry, UCUM parser and transformer: pint's with ucumvert's units.

    Built once, on the first unit to convert (about a second). The registry
    is kgmed's own: ucumvert's ``PintUcumRegistry.from_ucum`` would add its
    definitions to pint's application registry, which belongs to the user.
    """
    import pint
    import ucumvert

    registry: Any = pint.UnitRegistry()
    registry.load_definitions(Path(ucumvert.__file__).parent / "pint_ucum_defs.txt")
    parser = ucumvert.get_ucum_parser()
    transformer = ucumvert.UcumToPintTransformer(ureg=registry)
    return registry, parser, transformer


def _read(unit: str) -> Any:
    """The pint quantity a written unit is, or UnitError naming it as written."""
    code = to_ucum(unit)
    quantity, why = _parse(code)
    if quantity is None:
        read = f" (read as {code!r})" if code != unit else ""
        raise UnitError(f"{unit!r}{read} is not a UCUM unit kgmed can read: {why}")
    return quantity


@lru_cache(maxsize=1024)
def _parse(code: str) -> tuple[Any, str]:
    """The pint quantity a UCUM code is, or None and why not."""
    import pint
    from lark.exceptions import LarkError

    if len(code) > _LONGEST:
        return None, f"longer than {_LONGEST} characters"
    registry, parser, transformer = _ucum()
    try:
        quantity = transformer.transform(_parse_tree(code, parser))
        # Its scale in base units must be a number ("[lb_av]999999" is not).
        if isinstance(quantity, registry.Quantity):
            quantity.to_root_units()
    # ucumvert raises lark's errors on a code outside the grammar, pint's on
    # an atom pint lacks, plain ones on a few codes it mishandles (an
    # annotation alone, "{ratio}", is an AttributeError), and arithmetic ones
    # on absurd exponents ("[lb_av]999999" overflows).
    except (
        LarkError,
        pint.errors.PintError,
        AttributeError,
        TypeError,
        ValueError,
        ArithmeticError,
    ) as error:
        lines = str(error).strip().splitlines()
        return None, lines[0] if lines else type(error).__name__
    if not isinstance(quantity, registry.Quantity):
        return None, "not a unit"
    return quantity, ""


def _parse_tree(code: str, parser: Any) -> Any:
    """The parse tree ucumvert makes of a UCUM code."""
    import ucumvert

    return ucumvert.parse_ucum(code, parser)


@lru_cache(maxsize=4096)
def conversion(
    from_unit: str, to_unit: str, *, molar_mass: float | None = None
) -> tuple[float, float]:
    """The affine map that takes a value in one unit to another: ``(scale, offset)``.

    A value ``x`` in ``from_unit`` is ``x * scale + offset`` in ``to_unit``.
    Both units are read by :func:`to_ucum` and then as UCUM; annotations in
    braces say what is counted and do not change a value
    (``mL/min/{1.73_m2}`` is ``mL/min``).

    Parameters
    ----------
    from_unit, to_unit : str
        The units, as written.
    molar_mass : float, optional
        Grams per mole of the substance measured. With it an amount converts
        to a mass and back (``mmol/L`` of glucose, 180.16 g/mol, to
        ``mg/dL``); without it they are of different dimensions.

    Returns
    -------
    tuple of float
        ``(scale, offset)``; ``(1.0, 0.0)`` for two spellings of one unit.

    Raises
    ------
    UnitError
        If a unit is not UCUM (nor one of :data:`SPELLINGS`), if the two
        measure different dimensions (a mass and a temperature; an amount
        and a mass without ``molar_mass``), if either is dimensionless and
        they are not the same unit (``mmol/mol`` and ``%``), or if the map is
        not affine (a logarithmic unit).
    ParameterError
        If ``molar_mass`` is not a positive number.

    Examples
    --------
    >>> from kgmed.records.units import conversion
    >>> conversion("[degF]", "Cel")
    (0.555556, -17.777778)
    >>> scale, offset = conversion("mmol/L", "mg/dL", molar_mass=180.16)
    >>> round(scale, 3), offset
    (18.016, 0.0)
    >>> conversion("mg/dl", "mg/dL")
    (1.0, 0.0)
    >>> conversion("mmol/mol", "%")
    Traceback (most recent call last):
    ...
    kgmed.records.units.UnitError: 'mmol/mol' cannot be converted to '%': a dimensionless unit is compared only with itself
    """
    if molar_mass is not None and not (np.isfinite(molar_mass) and molar_mass > 0):
        raise ParameterError(f"molar_mass must be a positive number of g/mol, not {molar_mass!r}")
    import pint

    registry = _ucum()[0]
    source, target = _read(from_unit), _read(to_unit)
    what = f"{from_unit!r} cannot be converted to {to_unit!r}"
    try:
        if source.dimensionless or target.dimensionless:
            if source.units != target.units:
                raise UnitError(f"{what}: a dimensionless unit is compared only with itself")
            # "%" and "%{HbA1c}": one unit, its annotation aside.
            return (float(source.magnitude / target.magnitude), 0.0)
        mass = registry.Quantity(molar_mass if molar_mass is not None else 1.0, "g/mol")
        probes = registry.Quantity(_PROBES * source.magnitude, source.units)
        if source.dimensionality == target.dimensionality:
            moved = probes
        elif molar_mass is not None and (source * mass).dimensionality == target.dimensionality:
            moved = probes * mass
        elif molar_mass is not None and (source / mass).dimensionality == target.dimensionality:
            moved = probes / mass
        else:
            raise UnitError(f"{what}: {_dimensions(source, target, mass, molar_mass)}")
        values = np.asarray(moved.to(target.units).magnitude, dtype=float) / target.magnitude
    except (pint.errors.PintError, ArithmeticError) as error:
        raise UnitError(f"{what}: {error}") from None
    offset, scale = float(values[0]), float(values[1] - values[0])
    if not (np.isfinite(values).all() and scale != 0):
        raise UnitError(f"{what}: the conversion is out of the range of numbers")
    if not np.isclose(values[2], offset + _PROBES[2] * scale, rtol=1e-9, atol=1e-12):
        raise UnitError(f"{what}: the conversion is not a scale and an offset")
    return (scale, offset)


def _dimensions(source: Any, target: Any, mass: Any, molar_mass: float | None) -> str:
    """Why two units do not convert: their dimensions, and whether a molar mass would do."""
    said = f"{source.dimensionality} is not {target.dimensionality}"
    if molar_mass is None and (
        (source * mass).dimensionality == target.dimensionality
        or (source / mass).dimensionality == target.dimensionality
    ):
        said += " (an amount and a mass: give the substance's molar mass)"
    return said


def convert(
    values: ArrayLike, from_unit: str, to_unit: str, *, molar_mass: float | None = None
) -> NDArray[np.float64]:
    """Values in one unit, in another.

    Parameters
    ----------
    values : array_like of float
        The values, in ``from_unit``; NaN stays NaN.
    from_unit, to_unit : str
        The units, as :func:`conversion` reads them.
    molar_mass : float, optional
        As :func:`conversion` takes it.

    Returns
    -------
    numpy.ndarray of float
        The values in ``to_unit``, rounded to :data:`SIGNIFICANT_DIGITS`
        significant digits.

    Raises
    ------
    UnitError
        If the units do not convert (see :func:`conversion`).

    Examples
    --------
    >>> from kgmed.records.units import convert
    >>> convert([98.6, 100.4, float("nan")], "°F", "Cel")
    array([37., 38., nan])
    >>> convert([5.5, 7.0], "mmol/L", "mg/dL", molar_mass=180.16)
    array([ 99.088, 126.112])
    >>> convert([154.0], "lbs", "kg")
    array([69.85322498])
    """
    scale, offset = conversion(from_unit, to_unit, molar_mass=molar_mass)
    return _rounded(np.asarray(values, dtype=float) * scale + offset)


def convert_column(
    values: ArrayLike,
    units: pd.Series,
    to_unit: str,
    *,
    molar_mass: float | None = None,
    accept: tuple[str, ...] = (),
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Values each in its own unit, in one unit: converted once per distinct unit.

    Parameters
    ----------
    values : array_like of float
        One value per row.
    units : pandas.Series
        The unit of each value, as written; ``<NA>`` for none.
    to_unit : str
        The unit wanted.
    molar_mass : float, optional
        As :func:`conversion` takes it.
    accept : tuple of str, default ()
        Units taken as ``to_unit`` as they are, without reading them: its
        own spelling and its aliases (:attr:`kgmed.records.vocab.ReferenceRange.units`).

    Returns
    -------
    values : numpy.ndarray of float
        The values in ``to_unit``: as given in an accepted unit, converted
        and rounded as :func:`convert` does in another one, NaN where the
        unit is missing or does not convert.
    converted : numpy.ndarray of bool
        Where the unit was neither ``to_unit`` nor accepted and did convert.
        Where it is neither and did not, ``values`` is NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.units import convert_column
    >>> values, converted = convert_column(
    ...     [101.3, 38.2, 99.0, 37.0], pd.Series(["°F", "Cel", "[degF]", "F"]), "Cel")
    >>> values
    array([38.5      , 38.2      , 37.2222222,       nan])
    >>> converted
    array([ True, False,  True, False])
    """
    numbers = np.asarray(values, dtype=float)
    if len(numbers) != len(units):
        raise ParameterError(f"{len(numbers)} values but {len(units)} units")
    out = np.full(len(numbers), np.nan)
    converted = np.zeros(len(numbers), dtype=bool)
    written = units.astype("string").str.strip()
    same = written.isin([to_unit, *accept]).fillna(False).to_numpy(dtype=bool)
    out[same] = numbers[same]
    ids, distinct = pd.factorize(written.mask(same), use_na_sentinel=True)
    for i, unit in enumerate(distinct):
        try:
            scale, offset = conversion(str(unit), to_unit, molar_mass=molar_mass)
        except UnitError:
            continue
        rows = ids == i
        out[rows] = _rounded(numbers[rows] * scale + offset)
        converted[rows] = True
    return out, converted


def _rounded(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Values rounded to :data:`SIGNIFICANT_DIGITS` significant digits."""
    finite = np.isfinite(values) & (values != 0)
    if not finite.any():
        return values
    out = values.copy()
    exponent = np.floor(np.log10(np.abs(values[finite])))
    factor = 10.0 ** (SIGNIFICANT_DIGITS - 1 - exponent)
    out[finite] = np.round(values[finite] * factor) / factor
    return out
