"""Read records from CSV and TSV files."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from kgmed.errors import EmptyRecordsError, RecordsFileError, RecordsFileNotFound
from kgmed.records.core import Records, _from_long, _from_wide

__all__ = ["read_records"]


def read_records(
    path: str | os.PathLike[str],
    *,
    patient: str | None = "patient_id",
    concept: str = "concept",
    kind: str = "kind",
    code: str | None = None,
    system: str | None = None,
    encounter: str | None = None,
    time: str | None = None,
    kinds: Mapping[str, str | Sequence[str]] | None = None,
    indicators: Mapping[str, str | Sequence[str]] | None = None,
    synonyms: Mapping[str, str] | None = None,
    sep: str | None = None,
    encoding: str = "utf-8-sig",
) -> Records:
    r"""Read records from a CSV (or TSV) file.

    A long file has one observation per row (``patient_id, concept, kind``
    and optionally code, system, encounter and time columns). A wide file has
    one patient per row; pass ``kinds=`` or ``indicators=`` to read one, as
    in :meth:`Records.from_wide`.

    Parameters
    ----------
    path : str or path-like
        The file.
    patient, concept, kind, code, system, encounter, time : str, optional
        Column names, as in :meth:`Records.from_dataframe`. For a wide file
        only ``patient`` is used, and may be None (each row is a patient).
    kinds, indicators : mapping, optional
        Wide layout, as in :meth:`Records.from_wide`.
    synonyms : mapping of str to str, optional
        Label variants and the label each stands for.
    sep : str, optional
        Field separator; by default a tab for ``.tsv`` files and ``,``
        otherwise.
    encoding : str, default "utf-8-sig"
        Text encoding (UTF-8, with or without a byte-order mark).

    Returns
    -------
    Records
        Messages name rows by their line in the file.

    Raises
    ------
    RecordsFileNotFound
        If ``path`` does not exist.
    RecordsFileError
        If the file is not text in ``encoding`` or not CSV.
    EmptyRecordsError
        If the file is empty or holds no observation.
    RecordsError
        For bad contents, as :meth:`Records.from_dataframe` says.

    See Also
    --------
    Records.from_dataframe, Records.from_wide

    Examples
    --------
    >>> import kgmed, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "visits.csv")
    >>> with open(path, "w", encoding="utf-8") as f:
    ...     _ = f.write("patient_id,concept,kind\n"
    ...                 "p1,Influenza,disease\n"
    ...                 "p1,fever,symptom\n"
    ...                 "p1,FEVER ,symptom\n"
    ...                 ",cough,symptom\n")
    >>> kgmed.read_records(path)
    Traceback (most recent call last):
    ...
    kgmed.errors.MissingValueError: visits.csv: column 'patient_id' is empty in 1 row(s) (line 5); every observation needs a patient id. Fill or drop those rows.
    >>> with open(path, "w", encoding="utf-8") as f:
    ...     _ = f.write("patient_id,concept,kind\np1,Influenza,disease\np1,fever,symptom\n"
    ...                 "p1,FEVER ,symptom\n")
    >>> records = kgmed.read_records(path)
    >>> print(records.report)
    Records from visits.csv
      read                                 3
      kept                                 2
      dropped: duplicate                   1
      patients                             1
      concepts                             2
      label variants merged                1
    """
    file = Path(path)
    name = file.name
    if not file.exists():
        raise RecordsFileNotFound(f"{name}: no such file ({os.fspath(path)!r})")
    if file.is_dir():
        raise RecordsFileError(f"{name}: is a folder, not a CSV file")
    if file.stat().st_size == 0:
        raise EmptyRecordsError(f"{name}: the file is empty")
    head = file.read_bytes()[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RecordsFileError(
            f"{name}: looks like a binary file, not CSV text "
            f"(a spreadsheet? export it as CSV first)"
        )
    if sep is None:
        sep = "\t" if file.suffix.lower() in {".tsv", ".tab"} else ","
    try:
        df = pd.read_csv(
            file,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            encoding=encoding,
            quoting=csv.QUOTE_MINIMAL,
        )
    except UnicodeDecodeError as err:
        raise RecordsFileError(
            f"{name}: is not {encoding} text (byte {err.start}: {err.reason}); "
            f"pass encoding='latin-1' or the file's encoding"
        ) from err
    except pd.errors.EmptyDataError as err:
        raise EmptyRecordsError(f"{name}: the file holds no header and no rows") from err
    except pd.errors.ParserError as err:
        raise RecordsFileError(f"{name}: cannot be parsed as CSV ({err})") from err
    if len(df.columns) == 1 and sep not in head.decode(encoding, errors="replace"):
        raise RecordsFileError(
            f"{name}: found one column {str(df.columns[0])[:40]!r}, no {sep!r} separator; "
            f"is this a CSV file? Pass sep= if fields are split by another character"
        )
    if kinds or indicators:
        return _from_wide(
            df,
            kinds=kinds or {},
            indicators=indicators or {},
            patient=patient,
            synonyms=synonyms,
            source=name,
            row_word="line",
            row_offset=2,
        )
    if patient is None:
        patient = "patient_id"
    return _from_long(
        df,
        patient=patient,
        concept=concept,
        kind=kind,
        code=code,
        system=system,
        encounter=encounter,
        time=time,
        synonyms=synonyms,
        source=name,
        row_word="line",
        row_offset=2,
    )
