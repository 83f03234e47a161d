"""One CSV layer for every reader: files as users have them, read by pyarrow.

Every reader of a text table (:func:`kgmed.read_records`, Synthea's and
OMOP's CSV files, the knowledge tables) opens it here. The layer

- finds out how the file is written when the caller does not say: its
  compression from its first bytes (gzip, bz2, zstd, xz, or a zip archive of
  one table), its text encoding (UTF-8 with or without a byte-order mark,
  UTF-16 with one, else Windows-1252 or Latin-1, said in a note), and its
  field separator from the header (``,``, ``;``, tab or ``|``);
- reads the cells as text with pyarrow's multi-threaded CSV reader, whole or
  a block at a time, and hands them over as pandas DataFrames;
- refuses what is not a table, naming the file and the line: an empty or
  binary file, a line with more or fewer fields than the header (and says
  when the file looks cut short), a quoted field that never closes, bytes
  that are not text in the encoding asked for.

A file's line of a row is found only when a message needs it (a quoted
field may span lines, so row ``i`` is not always line ``i + 2``).
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, cast

import numpy as np
import pandas as pd

from kgmed.errors import EmptyRecordsError, RecordsFileError

__all__ = [
    "CsvFile",
    "RowLines",
    "Table",
    "open_csv",
    "read_table",
    "row_names",
    "some_rows",
    "table_file",
    "table_stem",
]

#: Maps positions of rows in a table read from a file to the file's line
#: numbers (the header is line 1), for messages.
RowLines = Callable[[list[int]], list[int]]

Quoting = Literal[0, 1, 2, 3]

#: Separators told apart in a header when the caller names none, most
#: usual first (a tie goes to the earlier one).
SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")

# First bytes of the compressed formats read, and what they are.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
)
# Byte-order marks and the encodings they announce.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# What a sniff looks at: enough for a header and a few rows.
_HEAD = 1 << 16
# Bytes pyarrow reads per block (its default is 1 MiB).
_BLOCK = 1 << 24


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


# -- how a file is written ------------------------------------------------------------


@dataclass
class CsvFile:
    """A text table on disk and how it is written.

    Made by :func:`open_csv`, which finds out what the caller left open.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    name : str
        The file as messages name it (its name).
    compression : str or None
        ``"gzip"``, ``"bz2"``, ``"zstd"``, ``"xz"``, ``"zip"`` or None.
    member : str or None
        The table's name inside a zip archive.
    encoding : str
        The text encoding the cells are decoded with (a Python codec name;
        a UTF-8 byte-order mark is skipped).
    sep : str
        The field separator.
    quoted : bool
        Whether ``"`` quotes fields (tab-separated vocabulary files are
        written unquoted, a ``"`` in them is a character).
    header : list of str
        The column names as the file writes them (a repeated name stays
        repeated).
    notes : list of str
        What was found out rather than told (``"read as Windows-1252 text:
        it is not UTF-8"``), for the reader's report.
    guessed : bool
        Whether the encoding was found out rather than told: then a file
        that turns out not to be UTF-8 past its first bytes is read as
        Windows-1252 (or Latin-1), with a note.
    """

    path: Path
    name: str
    compression: str | None
    member: str | None
    encoding: str
    sep: str
    quoted: bool
    header: list[str]
    notes: list[str] = field(default_factory=list)
    guessed: bool = False
    _spans_lines: bool = field(default=False, repr=False, compare=False)
    _invalid: list[Any] = field(default_factory=list, repr=False, compare=False)

    # -- bytes and text ---------------------------------------------------------------

    def open_binary(self) -> IO[bytes]:
        """The file's bytes, decompressed."""
        return _open_binary(self.path, self.compression, self.member)

    def row_lines(self) -> RowLines:
        """File line numbers of data rows (the header is line 1), found when asked.

        The file is scanned only when a message needs a line, and only as far
        as the last row asked for.
        """

        def lines(positions: list[int]) -> list[int]:
            wanted = set(positions)
            last = max(wanted, default=-1)
            starts: dict[int, int] = {}
            if wanted:
                try:
                    with self._text() as stream:
                        reader = self._reader(stream)
                        start = 1
                        # Record 0 is the header; data row i is record i + 1.
                        for row, _ in enumerate(reader, start=-1):
                            if row in wanted:
                                starts[row] = start
                            if row >= last:
                                break
                            start = reader.line_num + 1
                except (csv.Error, UnicodeError, OSError):
                    starts = {}
            return [starts.get(p, p + 2) for p in positions]

        return lines

    def _text(self) -> IO[str]:
        encoding = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        return io.TextIOWrapper(self.open_binary(), encoding=encoding, errors="replace", newline="")

    def _reader(self, stream: IO[str], *, strict: bool = False) -> Any:
        quoting: Quoting = csv.QUOTE_MINIMAL if self.quoted else csv.QUOTE_NONE
        return csv.reader(stream, delimiter=self.sep, quoting=quoting, strict=strict)

    # -- cells ------------------------------------------------------------------------

    def read(
        self,
        columns: Sequence[int] | None = None,
        *,
        rows: int | None = None,
        categorical: bool = False,
    ) -> Generator[pd.DataFrame, None, None]:
        """The cells as text, whole (``rows=None``) or ``rows`` rows at a time.

        Parameters
        ----------
        columns : sequence of int, optional
            Positions of the columns to read (all by default); each frame's
            columns are named as the header names them.
        rows : int, optional
            Rows per frame; by default one frame of the whole file.
        categorical : bool, default False
            Cells as categoricals (each distinct text once, pyarrow's
            dictionary encoding) rather than strings: for columns that
            repeat a few values over many rows.

        Yields
        ------
        pandas.DataFrame
            Text cells (``str`` dtype), ``NaN`` where a cell is empty; the
            index runs on from frame to frame, from 0. A line with no
            fields at all is a row of missing cells.

        Raises
        ------
        RecordsFileError
            If a line has more or fewer fields than the header, a quoted
            field never closes, or the bytes are not text in the encoding;
            the message names the line.
        """
        # A chunk handed over cannot be taken back: make sure of the encoding
        # before the first one.
        if (
            rows is not None
            and self.guessed
            and _first_undecodable(self.open_binary, "utf-8") is not None
        ):
            self._eight_bit()
        try:
            yield from self._read(columns, rows, categorical)
        except _NotUtf8:
            self._eight_bit()
            yield from self._read(columns, rows, categorical)

    def _eight_bit(self) -> None:
        """Read the file as Windows-1252 (or Latin-1) from now on, and say so."""
        encoding, note = _eight_bit_of(self.open_binary)
        self.encoding = encoding
        self.guessed = False
        self.notes.append(f"{self.name}: {note}")

    def _read(
        self, columns: Sequence[int] | None, rows: int | None, categorical: bool
    ) -> Iterator[pd.DataFrame]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        n_columns = len(self.header)
        wanted = list(range(n_columns)) if columns is None else list(columns)
        keys = [f"f{i}" for i in range(n_columns)]
        invalid: list[Any] = []
        self._invalid = invalid

        def skip(row: Any) -> str:
            invalid.append(row)
            return "skip"

        read_options = pacsv.ReadOptions(
            column_names=keys,
            skip_rows=1,
            encoding="utf8" if self.encoding == "utf-8" else self.encoding,
            block_size=_BLOCK,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=self.sep,
            quote_char='"' if self.quoted else False,
            newlines_in_values=self.quoted,
            ignore_empty_lines=False,
            invalid_row_handler=skip,
        )
        convert_options = pacsv.ConvertOptions(
            column_types={
                keys[i]: pa.dictionary(pa.int32(), pa.string()) if categorical else pa.string()
                for i in wanted
            },
            include_columns=[keys[i] for i in wanted],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        )
        names = [self.header[i] for i in wanted]
        self._spans_lines = False
        try:
            yield from self._blocks(read_options, parse_options, convert_options, rows, names)
        except (EOFError, zlib.error, lzma.LZMAError) as err:
            raise RecordsFileError(
                f"{self.name}: the {self.compression} stream is damaged or cut short ({err}); "
                f"was the file copied whole?"
            ) from err
        except OSError as err:
            if self.compression is None:
                raise
            raise RecordsFileError(
                f"{self.name}: the {self.compression} stream cannot be read ({err}); "
                f"was the file copied whole?"
            ) from err

    def _blocks(
        self,
        read_options: Any,
        parse_options: Any,
        convert_options: Any,
        rows: int | None,
        names: list[str],
    ) -> Iterator[pd.DataFrame]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        invalid = self._invalid
        offset = 0
        try:
            with self.open_binary() as stream:
                if rows is None:
                    table = pacsv.read_csv(
                        stream,
                        read_options=read_options,
                        parse_options=parse_options,
                        convert_options=convert_options,
                    )
                    self._check(table, invalid, last=True)
                    yield self._frame(table, names, offset)
                    return
                reader = pacsv.open_csv(
                    stream,
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
                pending: list[Any] = []
                n_pending = 0
                for batch in reader:
                    pending.append(batch)
                    n_pending += batch.num_rows
                    while n_pending >= rows:
                        table = pa.Table.from_batches(pending, schema=reader.schema)
                        head, rest = table.slice(0, rows), table.slice(rows)
                        self._check(head, invalid, last=False)
                        yield self._frame(head, names, offset)
                        offset += rows
                        pending, n_pending = rest.to_batches(), rest.num_rows
                table = pa.Table.from_batches(pending, schema=reader.schema)
                self._check(table, invalid, last=True)
                if table.num_rows or offset == 0:
                    yield self._frame(table, names, offset)
        except pa.ArrowInvalid as err:
            text = str(err)
            if "UTF8" in text or "UTF-8" in text:
                if self.guessed and offset == 0:
                    raise _NotUtf8 from err
                raise self._decode_error() from err
            raise RecordsFileError(
                f"{self.name}: cannot be parsed as CSV ({text}); check the quoting and sep="
            ) from err

    @staticmethod
    def _frame(table: Any, names: list[str], offset: int) -> pd.DataFrame:
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
        frame.columns = names
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        return frame

    def _check(self, table: Any, invalid: list[Any], *, last: bool) -> None:
        """Raise for a line with the wrong number of fields, or a quote left open.

        pyarrow reads a quote that never closes to the end of the file as one
        field. Where no field holds a line break, every record is one line,
        and only the file's last line can hold such a quote: it is checked
        once, with the last part read.
        """
        if invalid:
            raise self._field_count_error(invalid[0])
        if not self.quoted:
            return
        import pyarrow.compute as pc

        for column in table.columns:
            for chunk in column.chunks:
                # A dictionary column holds each text once: look at those.
                texts = chunk.dictionary if hasattr(chunk, "dictionary") else chunk
                if len(texts) and pc.any(pc.match_substring(texts, "\n")).as_py():
                    self._spans_lines = True
        if last:
            if self._spans_lines:
                self._check_quotes()
            else:
                self._check_last_line()

    def _check_last_line(self) -> None:
        tail = self._tail().rstrip(b"\r\n")
        line = tail[tail.rfind(b"\n") + 1 :]
        if b'"' not in line:
            return
        text = line.decode(self.encoding, errors="replace")
        try:
            for _ in self._reader(io.StringIO(text), strict=True):
                pass
        except csv.Error:
            self._check_quotes()

    def _tail(self, size: int = _HEAD) -> bytes:
        """The last bytes of the file (decompressed)."""
        if self.compression is None:
            with self.path.open("rb") as stream:
                stream.seek(0, io.SEEK_END)
                stream.seek(max(0, stream.tell() - size))
                return stream.read()
        tail = b""
        with self.open_binary() as stream:
            while block := stream.read(_BLOCK):
                tail = (tail + block)[-size:]
        return tail

    def _check_quotes(self) -> None:
        """A field with a line break is fine unless its quote never closes."""
        line = self._unclosed_quote()
        if line is not None:
            raise RecordsFileError(
                f"{self.name}: cannot be parsed as CSV: line {line} opens a quoted field that "
                f"never closes (the file may be cut short, or a '\"' inside a field is not "
                f"doubled as '\"\"')"
            )

    def _unclosed_quote(self) -> int | None:
        """The line of the record whose quote never closes, if one does."""
        start = 1
        try:
            with self._text() as stream:
                reader = self._reader(stream, strict=True)
                for _ in reader:
                    start = reader.line_num + 1
        except csv.Error:
            return start
        return None

    def _field_count_error(self, row: Any) -> RecordsFileError:
        if self.quoted:
            # A quote left open swallows the separators after it.
            self._check_quotes()
        expected, saw = int(row.expected_columns), int(row.actual_columns)
        line, last = self._first_bad_line(expected)
        where = f"line {line}" if line is not None else f"a line ({row.text[:60]!r})"
        if last and saw < expected:
            ending = (
                "it is the last line"
                if self._tail(1) in (b"\n", b"\r")
                else "the file ends there without a newline"
            )
            return RecordsFileError(
                f"{self.name}: {where} has {saw} fields but the header has {expected}; "
                f"{ending}: it looks truncated (was the export interrupted?). Export it again"
            )
        if line == 2 and saw == expected + 1 and self._all_one_more(expected):
            return RecordsFileError(
                f"{self.name}: line 2 has 1 more field(s) than the header's {expected} "
                f"columns (a trailing {self.sep!r}?); name every column in the header or "
                f"remove the extra fields"
            )
        return RecordsFileError(
            f"{self.name}: {where} has {saw} fields but the header has {expected}; quote "
            f"fields that hold {self.sep!r}, or pass sep= if fields are split by another "
            f"character"
        )

    def _first_bad_line(self, expected: int) -> tuple[int | None, bool]:
        """The line of the first record with another number of fields, and whether it is last."""
        found: int | None = None
        try:
            with self._text() as stream:
                reader = self._reader(stream)
                next(reader, None)
                start = 2
                for record in reader:
                    if found is not None:
                        return found, False
                    if record and len(record) != expected:
                        found = start
                    start = reader.line_num + 1
        except csv.Error:
            return found, False
        return found, found is not None

    def _all_one_more(self, expected: int) -> bool:
        try:
            with self._text() as stream:
                reader = self._reader(stream)
                next(reader, None)
                return all(len(r) == expected + 1 for r in reader if r)
        except csv.Error:
            return False

    def _decode_error(self) -> RecordsFileError:
        line, detail = _first_undecodable(self.open_binary, self.encoding) or (0, "unknown")
        return RecordsFileError(
            f"{self.name}: line {line} is not {self.encoding} text ({detail}); pass "
            f"encoding= with the file's encoding (such as 'cp1252' or 'latin-1')"
        )


def open_csv(
    path: Path,
    *,
    encoding: str | None = None,
    sep: str | None = None,
    quote_tabs: bool = True,
    min_columns: int = 1,
) -> CsvFile:
    """How the table in ``path`` is written: compression, encoding, separator, header.

    Parameters
    ----------
    path : pathlib.Path
        The file: plain text, or compressed with gzip, bz2, zstd or xz, or a
        zip archive holding one table (told from the first bytes, not the
        name).
    encoding : str, optional
        The text encoding; by default UTF-8 (with or without a byte-order
        mark), UTF-16 when a byte-order mark says so, else Windows-1252 (or
        Latin-1 where that cannot decode), with a note.
    sep : str, optional
        The field separator; by default a tab for ``.tsv`` and ``.tab``
        files, else the one of :data:`SEPARATORS` the header holds most of
        (a comma when it holds none), with a note unless a comma.
    quote_tabs : bool, default True
        Whether ``"`` quotes fields of a tab-separated file; OHDSI vocabulary
        files are unquoted.
    min_columns : int, default 1
        A header with fewer fields means the file is not a table.

    Raises
    ------
    RecordsFileError
        If the file is binary (a spreadsheet, Parquet), an archive of none or
        several tables, not text in ``encoding``, or has fewer than
        ``min_columns`` columns.
    EmptyRecordsError
        If the file holds nothing, not even a header.
    """
    name = path.name
    with path.open("rb") as stream:
        raw_head = stream.read(_HEAD)
    compression = next((kind for magic, kind in _MAGIC if raw_head.startswith(magic)), None)
    member = _zip_member(path) if compression == "zip" else None
    notes = []
    if compression is not None:
        shown = f"{compression} archive, table {member!r}" if member else compression
        notes.append(f"{name}: read through {shown}")
    try:
        with _open_binary(path, compression, member) as stream:
            head = stream.read(_HEAD)
    except (EOFError, OSError, zlib.error, lzma.LZMAError) as err:
        raise RecordsFileError(
            f"{name}: looks {compression}-compressed but cannot be read ({err}); was the file "
            f"copied whole?"
        ) from err
    if not head.strip():
        raise EmptyRecordsError(f"{name}: the file is empty, without even a header line")
    bom = next((enc for mark, enc in _BOMS if head.startswith(mark)), None)
    if b"\x00" in head[:4096] and bom != "utf-16":
        raise RecordsFileError(
            f"{name}: looks like a binary file, not CSV text (a spreadsheet or Parquet "
            f"file? export it as CSV first)"
        )
    guessed = encoding is None
    if encoding is None:
        encoding, note = _guess_encoding(head, bom)
        if note:
            notes.append(f"{name}: {note}")
            guessed = False
    else:
        encoding = _codec(name, encoding, bom)
    text = _decode_head(head, encoding, name)
    base = name.lower().removesuffix(".gz").removesuffix(".bz2").removesuffix(".zst")
    base = base.removesuffix(".xz").removesuffix(".zip")
    if sep is None:
        if base.endswith((".tsv", ".tab")) or (member or "").lower().endswith((".tsv", ".tab")):
            sep = "\t"
        else:
            sep = _guess_sep(text)
            if sep != ",":
                notes.append(f"{name}: fields split by {sep!r} (found in the header)")
    elif not sep:
        raise RecordsFileError(f"{name}: sep= is empty; pass the character between fields")
    quoted = quote_tabs or sep != "\t"
    header = _header(text, sep, quoted)
    if not any(header):
        raise RecordsFileError(
            f"{name}: the first line holds no column names; is this a CSV file with a header?"
        )
    if len(header) < min_columns:
        raise RecordsFileError(
            f"{name}: found one column {header[0][:40]!r} and no {sep!r} separator; is "
            f"this a CSV file? Pass sep= if fields are split by another character"
        )
    return CsvFile(
        path=path,
        name=name,
        compression=compression,
        member=member,
        encoding=encoding,
        sep=sep,
        quoted=quoted,
        header=header,
        notes=notes,
        guessed=guessed and encoding == "utf-8",
    )


def _open_binary(path: Path, compression: str | None, member: str | None) -> IO[bytes]:
    if compression is None:
        return path.open("rb")
    if compression == "gzip":
        return cast(IO[bytes], gzip.open(path, "rb"))
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    if compression == "zstd":
        import pyarrow as pa

        return pa.CompressedInputStream(pa.OSFile(str(path)), "zstd")
    assert compression == "zip"
    assert member is not None
    archive = zipfile.ZipFile(path)
    stream = archive.open(member)
    # Close the archive with the member's stream.
    close = stream.close

    def closing() -> None:
        close()
        archive.close()

    stream.close = closing  # type: ignore[method-assign]
    return stream


def _zip_member(path: Path) -> str:
    """The one table in a zip archive."""
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i.filename for i in archive.infolist() if not i.is_dir()]
    except zipfile.BadZipFile as err:
        raise RecordsFileError(
            f"{name}: looks like a binary file, not CSV text (a spreadsheet, or a zip archive "
            f"that cannot be opened: {err}); export it as CSV first"
        ) from err
    if "[Content_Types].xml" in members:
        raise RecordsFileError(
            f"{name}: looks like a binary file, not CSV text (a spreadsheet? export it as "
            f"CSV first)"
        )
    tables = [m for m in members if not m.startswith(("__MACOSX/", ".")) and "/." not in m]
    if len(tables) != 1:
        shown = ", ".join(repr(m) for m in tables[:5]) or "no file"
        raise RecordsFileError(
            f"{name}: a zip archive of {len(tables)} files ({shown}); kgmed reads an archive "
            f"of one table: unzip it and read the table you mean"
        )
    return tables[0]


def _codec(name: str, encoding: str, bom: str | None) -> str:
    """A Python codec name for ``encoding``; ``utf-8`` for UTF-8 with or without a BOM."""
    try:
        info = codecs.lookup(encoding)
    except LookupError as err:
        raise RecordsFileError(f"{name}: encoding={encoding!r} is not a text encoding") from err
    if info.name in {"utf-8", "utf-8-sig"}:
        return "utf-8"
    if info.name.startswith("utf-16") and bom == "utf-16":
        return "utf-16"
    return info.name


def _guess_encoding(head: bytes, bom: str | None) -> tuple[str, str]:
    """The encoding of a file from its first bytes, and a note when not UTF-8."""
    if bom is not None:
        return bom, "" if bom == "utf-8" else "read as UTF-16 text (its byte-order mark)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 3:
            return _eight_bit(head)
    return "utf-8", ""


class _NotUtf8(Exception):
    """A file taken for UTF-8 turns out not to be."""


_CP1252_NOTE = "read as Windows-1252 text: it is not UTF-8 (pass encoding= to choose)"
_LATIN1_NOTE = "read as Latin-1 text: it is not UTF-8 (pass encoding= to choose)"


def _eight_bit(data: bytes) -> tuple[str, str]:
    """Windows-1252 where it decodes ``data`` (five bytes are unassigned), else Latin-1."""
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", _LATIN1_NOTE
    return "cp1252", _CP1252_NOTE


def _eight_bit_of(opener: Callable[[], IO[bytes]]) -> tuple[str, str]:
    if _first_undecodable(opener, "cp1252") is None:
        return "cp1252", _CP1252_NOTE
    return "latin-1", _LATIN1_NOTE


def _decode_head(head: bytes, encoding: str, name: str) -> str:
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    try:
        return str(decoder.decode(head, final=False))
    except UnicodeDecodeError as err:
        line = head.count(b"\n", 0, err.start) + 1
        column = err.start - (head.rfind(b"\n", 0, err.start) + 1) + 1
        raise RecordsFileError(
            f"{name}: line {line} is not {encoding} text (byte {column} of the line: "
            f"{err.reason}); pass encoding= with the file's encoding (such as 'cp1252' or "
            f"'latin-1')"
        ) from err
    except UnicodeError as err:
        raise RecordsFileError(
            f"{name}: is not {encoding} text ({err}); pass encoding= with the file's encoding"
        ) from err


def _first_undecodable(opener: Callable[[], IO[bytes]], encoding: str) -> tuple[int, str] | None:
    """The first line whose bytes are not text in ``encoding``, and why; None if all are.

    Read a block at a time; the line is counted only in the block that fails.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    line = 1
    with opener() as stream:
        while block := stream.read(_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as err:
                before = block.rfind(b"\n", 0, err.start) + 1
                line += block.count(b"\n", 0, err.start)
                return line, f"byte {err.start - before + 1} of the line: {err.reason}"
            line += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as err:
        return line, f"the file ends inside a character: {err.reason}"
    return None


def _guess_sep(text: str) -> str:
    """The separator the header holds most of, outside quotes; a comma if none."""
    first = _first_record(text)
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for char in first:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(SEPARATORS, key=lambda s: (counts[s], -SEPARATORS.index(s)))
    return best if counts[best] else ","


def _first_record(text: str) -> str:
    """The header: the first line with text, through quoted line breaks.

    A line ends in a line feed, a carriage return and line feed, or a lone
    carriage return, as pyarrow reads them.
    """
    lines = re.split(r"\r\n|\n|\r", text.lstrip("\r\n"))
    record = lines[0]
    i = 1
    while record.count('"') % 2 and i < len(lines):
        record += "\n" + lines[i]
        i += 1
    return record


def _header(text: str, sep: str, quoted: bool) -> list[str]:
    quoting: Quoting = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    record = _first_record(text)
    try:
        return next(csv.reader([record], delimiter=sep, quoting=quoting), [])
    except csv.Error:
        return record.split(sep)


# -- tables of the standard exports ---------------------------------------------------

#: Endings of a table file kgmed reads: text, then compressed text.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt")
COMPRESSED_SUFFIXES: tuple[str, ...] = ("", ".gz", ".bz2", ".zst", ".xz", ".zip")


def table_stem(filename: str) -> str | None:
    """The table a file name holds (``conditions`` for ``conditions.csv.gz``), or None."""
    lower = filename.lower()
    for packed in COMPRESSED_SUFFIXES[1:]:
        if lower.endswith(packed):
            lower = lower[: -len(packed)]
            filename = filename[: -len(packed)]
            break
    for suffix in TABLE_SUFFIXES:
        if lower.endswith(suffix):
            return filename[: -len(suffix)]
    return None


def table_file(folder: Path, stem: str, suffixes: Sequence[str] = (".csv",)) -> Path | None:
    """The file in ``folder`` holding table ``stem`` (``stem.csv``, ``stem.csv.gz``, ...)."""
    for suffix in suffixes:
        for packed in COMPRESSED_SUFFIXES:
            path = folder / f"{stem}{suffix}{packed}"
            if path.is_file():
                return path
    return None


@dataclass(frozen=True)
class Table:
    """One table read from a file (or given as a DataFrame), its rows named for messages.

    Attributes
    ----------
    name : str
        The table as messages and the report name it (a file name).
    frame : pandas.DataFrame
        The cells, as text for a file; the index runs from 0.
    row_lines : callable or None
        File lines of rows by position, found when a message asks; None for
        a DataFrame, whose rows are named by their index label.
    notes : list of str
        What reading the file found out (its encoding, its separator), for
        the reader's report.
    """

    name: str
    frame: pd.DataFrame
    row_lines: RowLines | None = None
    notes: list[str] = field(default_factory=list)

    def where(self, mask: pd.Series | np.ndarray) -> str:
        """The rows in ``mask`` named for a message (``line 3``, ``row 0``)."""
        # A comparison with missing cells gives a nullable mask: they are not in it.
        at = pd.Series(mask).fillna(False).to_numpy(dtype=bool)
        return some_rows(self.frame.index[at], "row", self.row_lines)


def read_table(
    path: Path,
    *,
    encoding: str | None,
    columns: Callable[[list[str]], Sequence[str]],
    sep: str | None = None,
    min_columns: int = 2,
) -> Table:
    """A CSV (or tab-separated) file of a standard export, with the columns asked for.

    Parameters
    ----------
    path : pathlib.Path
        The file, compressed or not (see :func:`open_csv`).
    encoding : str or None
        Its text encoding; None to find it out.
    columns : callable
        Given the header (as written), checks it and returns the columns to
        read; raises to refuse the file.
    sep : str, optional
        The separator; by default found from the header. Tab-separated
        files are read unquoted, as OHDSI's vocabulary files are written
        (a ``"`` in a name is a character).
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
    try:
        csv_file = open_csv(
            path, encoding=encoding, sep=sep, quote_tabs=False, min_columns=min_columns
        )
    except EmptyRecordsError as err:
        raise RecordsFileError(f"{err} (was the export interrupted?)") from err
    used = list(columns(csv_file.header))
    positions = [csv_file.header.index(c) for c in used]
    (frame,) = csv_file.read(positions)
    return Table(csv_file.name, frame, csv_file.row_lines(), csv_file.notes)
