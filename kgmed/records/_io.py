"""Reading CSV tables from files, and naming their rows in messages.

Every reader of a file says where a problem is: the file and the line
(the header is line 1), or, for a DataFrame, the row's index label. The
standard-format readers (Synthea, OMOP) read each table with
:func:`read_table`, which checks every line before pandas reads it, so that
a file cut short or a line with a stray separator is an error naming that
line rather than a shifted column.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from kgmed.errors import RecordsFileError

__all__ = [
    "RowLines",
    "Table",
    "line_numbers",
    "parser_message",
    "read_table",
    "row_names",
    "some_rows",
]

#: Maps positions of rows in a table read from a file to the file's line
#: numbers (the header is line 1), for messages.
RowLines = Callable[[list[int]], list[int]]

Quoting = Literal[0, 1, 2, 3]


def row_names(index: pd.Index, row_word: str, row_lines: RowLines | None) -> list[str]:
    """Names of rows for messages: file lines, or DataFrame index labels."""
    if row_lines is not None:
        return [f"line {n}" for n in row_lines([int(i) for i in index])]
    return [f"{row_word} {i!r}" for i in index]


def some_rows(index: pd.Index, row_word: str, row_lines: RowLines | None, limit: int = 5) -> str:
    """The first few rows of ``index`` named for a message (``line 3, line 7 and 2 more``)."""
    names = row_names(index[:limit], row_word, row_lines)
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return ", ".join(names) + more


def line_numbers(file: Path, *, sep: str, encoding: str) -> RowLines:
    """File line numbers of data rows (the header is line 1), found when asked.

    A quoted field may span lines, so row ``i`` is not always line ``i + 2``.
    The file is scanned only when a message needs a line, and only as far as
    the last row asked for.
    """

    def lines(positions: list[int]) -> list[int]:
        wanted = set(positions)
        last = max(wanted, default=-1)
        starts: dict[int, int] = {}
        if wanted and len(sep) == 1:
            try:
                with file.open(encoding=encoding, errors="replace", newline="") as stream:
                    reader = csv.reader(stream, delimiter=sep)
                    start = 1
                    # Record 0 is the header; data row i is record i + 1.
                    for row, _ in enumerate(reader, start=-1):
                        if row in wanted:
                            starts[row] = start
                        if row >= last:
                            break
                        start = reader.line_num + 1
            except csv.Error:
                starts = {}
        return [starts.get(p, p + 2) for p in positions]

    return lines


def parser_message(name: str, err: Exception, file: Path, sep: str, encoding: str) -> str:
    """A pandas parser error told with the file's line numbers."""
    detail = str(err).strip().removeprefix("Error tokenizing data. C error: ")
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
    if fields is None:
        return f"{name}: cannot be parsed as CSV ({detail}); check the quoting and sep="
    expected, record, saw = (int(g) for g in fields.groups())
    # pandas counts records from 1 with the header; a quoted field may span lines.
    (line,) = line_numbers(file, sep=sep, encoding=encoding)([record - 2])
    return (
        f"{name}: line {line} has {saw} fields but the header has {expected}; "
        f"quote fields that hold {sep!r}, or pass sep= if fields are split by "
        f"another character"
    )


@dataclass(frozen=True)
class Table:
    """One table read from a file (or given as a DataFrame), its rows named for messages.

    Attributes
    ----------
    name : str
        The table as messages and the report name it (a file name).
    frame : pandas.DataFrame
        The cells, as text for a file; the index runs from 0.
    lines : numpy.ndarray or None
        The file line of each row; None for a DataFrame, whose rows are
        named by their index label.
    """

    name: str
    frame: pd.DataFrame
    lines: np.ndarray | None = None

    def where(self, mask: pd.Series | np.ndarray) -> str:
        """The rows in ``mask`` named for a message (``line 3``, ``row 0``)."""
        # A comparison with missing cells gives a nullable mask: they are not in it.
        at = pd.Series(mask).fillna(False).to_numpy(dtype=bool)
        return some_rows(self.frame.index[at], "row", self._row_lines())

    def _row_lines(self) -> RowLines | None:
        lines = self.lines
        if lines is None:
            return None
        return lambda positions: [int(lines[p]) for p in positions]


def read_table(
    path: Path,
    *,
    encoding: str,
    columns: Callable[[list[str]], Sequence[str]],
    sep: str | None = None,
    min_columns: int = 2,
) -> Table:
    """A CSV (or tab-separated) file, every line checked, with the columns asked for.

    Parameters
    ----------
    path : pathlib.Path
        The file; a name ending in ``.gz`` is gzip-compressed.
    encoding : str
        Its text encoding.
    columns : callable
        Given the header (as written), checks it and returns the columns to
        read; raises to refuse the file.
    sep : str, optional
        The separator; by default a tab when the header holds one, else a
        comma. Tab-separated files are read unquoted, as OHDSI's vocabulary
        files are written (a ``"`` in a name is a character).
    min_columns : int, default 2
        A header with fewer fields means the file is not CSV at all.

    Raises
    ------
    RecordsFileError
        If the file is empty, binary, not text in ``encoding``, or
        malformed: a line with more or fewer fields than the header (the
        message says when the file looks cut short) or a quoted field that
        never closes. The message names the file and the line.
    """
    name = path.name
    raw = _raw_bytes(path)
    if not raw.strip():
        raise RecordsFileError(
            f"{name}: the file is empty, without even a header line (was the export interrupted?)"
        )
    head = raw[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RecordsFileError(
            f"{name}: looks like a binary file, not CSV text (a Parquet or spreadsheet "
            f"file? export it as CSV)"
        )
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise RecordsFileError(
            f"{name}: line {line} is not {encoding} text (byte {err.start}: {err.reason}); "
            f"pass encoding= with the file's encoding"
        ) from err
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0].decode(encoding)
    if sep is None:
        sep = "\t" if "\t" in first else ","
    quoting: Quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    header, lines = _scan(raw, name, encoding, sep=sep, quoting=quoting)
    if len(header) < min_columns:
        raise RecordsFileError(
            f"{name}: found one column {header[0][:40]!r} and no ',' or tab separator; "
            f"is this a CSV file?"
        )
    used = list(columns(header))
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            usecols=used,
            encoding=encoding,
            quoting=quoting,
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise RecordsFileError(f"{name}: cannot be parsed as CSV ({err})") from err
    if len(frame) != len(lines):
        # The scan and pandas split rows alike; if not, lines are a guess.
        lines = np.arange(2, len(frame) + 2)
    return Table(name, frame.reset_index(drop=True), lines)


def _raw_bytes(path: Path) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (OSError, EOFError) as err:
        raise RecordsFileError(f"{path.name}: cannot be read ({err})") from err


def _scan(
    raw: bytes, name: str, encoding: str, *, sep: str, quoting: Quoting
) -> tuple[list[str], np.ndarray]:
    """The header, and the line of each data row, once every row is checked.

    Every row of a table has as many fields as its header; a file cut short
    ends with a row that has fewer, or inside a quoted field. The check is
    vectorised over the file's bytes: separators and newlines inside quotes
    do not count. Blank lines are skipped, as pandas skips them.
    """
    buffer = np.frombuffer(raw, dtype=np.uint8)
    if quoting == csv.QUOTE_NONE:
        quoted = np.zeros(len(buffer), dtype=bool)
    else:
        quoted = np.bitwise_xor.accumulate(buffer == ord('"')).astype(bool)
    newline = buffer == ord("\n")
    breaks = np.flatnonzero(newline & ~quoted)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buffer)]))
    separators = np.flatnonzero((buffer == ord(sep)) & ~quoted)
    fields = np.searchsorted(separators, ends) - np.searchsorted(separators, starts) + 1
    length = ends - starts
    carriage = (length > 0) & (buffer[np.maximum(ends - 1, 0)] == ord("\r"))
    blank = (length - carriage) == 0
    line = np.searchsorted(np.flatnonzero(newline), starts) + 1
    rows = np.flatnonzero(~blank)
    head, rows = rows[0], rows[1:]
    header_text = raw[starts[head] : ends[head]].decode(encoding).rstrip("\r")
    header = next(csv.reader([header_text], delimiter=sep, quoting=quoting))
    if quoted[-1]:
        opened = line[rows[-1]] if len(rows) else line[head]
        raise RecordsFileError(
            f"{name}: line {opened} opens a quoted field that never closes: the file "
            f"looks truncated. Export it again, or remove that line"
        )
    bad = rows[fields[rows] != len(header)]
    if len(bad):
        first = bad[0]
        cut = first == rows[-1] and not raw.endswith(b"\n")
        why = (
            "; the file ends there without a newline: it looks truncated. Export it again"
            if cut
            else f": the row is malformed (an unquoted {sep!r}, or fields missing)"
        )
        more = (
            f" (and {len(bad) - 1} more lines, such as line {line[bad[1]]})" if len(bad) > 1 else ""
        )
        raise RecordsFileError(
            f"{name}: line {line[first]} has {fields[first]} fields but the header has "
            f"{len(header)}{more}{why}"
        )
    return header, line[rows]
