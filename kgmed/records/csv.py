"""Read records from CSV and TSV files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from kgmed._progress import check_progress, progress_bar
from kgmed._validation import check_positive_int
from kgmed.errors import (
    EmptyRecordsError,
    KgmedError,
    ParameterError,
    RecordsFileError,
    RecordsFileNotFound,
)
from kgmed.records._io import open_csv
from kgmed.records._long import _About, _from_long
from kgmed.records._wide import _from_wide
from kgmed.records.core import Records

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
    reason: str | None = None,
    keep: Sequence[str] = (),
    basket: str = "patient",
    kinds: Mapping[str, str | Sequence[str]] | None = None,
    indicators: Mapping[str, str | Sequence[str]] | None = None,
    synonyms: Mapping[str, str] | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    chunksize: int | None = None,
    progress: bool | None = None,
    age: str | None = None,
    birth_date: str | None = None,
    sex: str | None = None,
    covariates: Sequence[str] = (),
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
    patient, concept, kind, code, system, encounter, time, reason : str, optional
        Column names, as in :meth:`Records.from_dataframe`. For a wide file
        only ``patient`` is used, and may be None (each row is a patient).
    keep, basket
        As in :meth:`Records.from_dataframe`.
    kinds, indicators : mapping, optional
        Wide layout, as in :meth:`Records.from_wide`.
    synonyms : mapping of str to str, optional
        Label variants and the label each stands for.
    sep : str, optional
        Field separator; by default a tab for ``.tsv`` files, else the one
        of ``,``, ``;``, tab and ``|`` the header holds most of (a note in
        the report says which, unless ``,``).
    encoding : str, optional
        Text encoding; by default UTF-8 (with or without a byte-order
        mark), UTF-16 when a byte-order mark says so, else Windows-1252 (or
        Latin-1), with a note in the report. The file may be compressed
        with gzip, bz2, zstd or xz, or be a zip archive of one table: told
        from its first bytes.
    chunksize : int, optional
        Read a long file this many rows at a time, for a file larger than
        memory: each chunk is normalized on its own and kept only as
        integer codes into small tables of distinct values (patients,
        labels, codes, ...), so that reading needs about the memory of the
        resulting Records plus one chunk, however long the file. What needs
        the whole file (labels adopting a code met in a later chunk, each
        concept's display label, duplicates across chunks) is done once at
        the end. The result, the report and any error message (and the
        line it names) are those of reading the file whole. By default the
        file is read at once. Not for a wide file (``kinds=`` or
        ``indicators=``), which is read whole.
    progress : bool, optional
        Draw a progress bar over the chunks read on standard error: None
        (the default) when standard error is a terminal, True always, False
        never.
    age, birth_date, sex, covariates : str or list of str, optional
        Columns that say who the patients are, as in
        :meth:`Records.from_dataframe`; they fill ``Records.patients``.
        A wide file has no times, so no ``birth_date``.

    Returns
    -------
    Records
        Messages name rows by their line in the file. Columns keep the
        names the header gives them: a repeated name is not renamed
        ``name.1`` as :func:`pandas.read_csv` would.

    Raises
    ------
    RecordsFileNotFound
        If ``path`` does not exist.
    RecordsFileError
        If the path is a folder, or the file is not text in ``encoding`` or
        not CSV (rows with more fields than the header included).
    EmptyRecordsError
        If the file is empty or holds no observation.
    RecordsError
        For bad contents, as :meth:`Records.from_dataframe` says.
    ParameterError
        If ``chunksize`` is not a positive integer or is given for a wide
        file, or ``progress`` is not True, False or None.

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
      concepts: disease                    1
      concepts: symptom                    1

    A file read a chunk at a time gives the same records: here ``FEVER``
    (line 4) is a duplicate of ``fever`` (line 3), in another chunk.

    >>> chunked = kgmed.read_records(path, chunksize=2, progress=False)
    >>> chunked.data.equals(records.data), chunked.report == records.report
    (True, True)
    >>> chunked.report.dropped
    {'duplicate': 1}
    """
    wide = bool(kinds or indicators)
    if wide and birth_date is not None:
        raise ParameterError(
            f"birth_date={birth_date!r}: a wide file has no times to give an age at; pass "
            f"age=<column of ages> instead"
        )
    about = _About.named(
        age=age,
        birth_date=birth_date,
        sex=sex,
        covariates=covariates,
        time=time if not wide else None,
    )
    if chunksize is not None:
        chunksize = check_positive_int("chunksize", chunksize)
        if kinds or indicators:
            raise ParameterError(
                f"chunksize= reads a long file (one observation per row); a wide file "
                f"(kinds= or indicators=) is read whole: pass chunksize=None, got {chunksize!r}"
            )
    show = check_progress(progress)
    file = Path(path)
    name = file.name
    if not file.exists():
        raise RecordsFileNotFound(f"{name}: no such file ({os.fspath(path)!r})")
    if file.is_dir():
        raise RecordsFileError(f"{name}: is a folder, not a CSV file")
    if file.stat().st_size == 0:
        raise EmptyRecordsError(f"{name}: the file is empty")
    table = open_csv(file, encoding=encoding, sep=sep)
    if len(table.header) == 1:
        raise RecordsFileError(
            f"{name}: found one column {table.header[0][:40]!r}, no {table.sep!r} separator; "
            f"is this a CSV file? Pass sep= if fields are split by another character"
        )
    chunks = table.read(rows=chunksize, categorical=True)
    frames = progress_bar(chunks, show=show, desc=f"reading {name}", unit="chunk")
    try:
        df = next(frames, None)
        if df is None or len(df) == 0:
            raise EmptyRecordsError(f"{name}: the table has no rows")
        row_lines = table.row_lines()
        if kinds or indicators:
            records = _from_wide(
                df,
                kinds=kinds or {},
                indicators=indicators or {},
                patient=patient,
                synonyms=synonyms,
                source=name,
                row_word="line",
                row_lines=row_lines,
                about=about,
            )
        else:
            records = _from_long(
                df,
                patient="patient_id" if patient is None else patient,
                concept=concept,
                kind=kind,
                code=code,
                system=system,
                encounter=encounter,
                time=time,
                reason=reason,
                keep=keep,
                basket=basket,
                synonyms=synonyms,
                source=name,
                row_word="line",
                row_lines=row_lines,
                rest=frames,
                about=about,
            )
    except KgmedError:
        # A file that cannot be parsed is that error, wherever in the file it
        # is, as when the file is read whole: read the chunks not yet read.
        for _ in chunks:
            pass
        raise
    finally:
        # Close the bar (a generator, typed as an iterator) and the file.
        close = getattr(frames, "close", None)
        if close is not None:
            close()
        chunks.close()
    records.report.notes[:0] = table.notes
    return records
