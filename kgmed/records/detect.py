"""Which reader some records need, told from their paths and what a folder holds.

:func:`detect_format` names the format of files and folders of records
(``"csv"``, ``"synthea"``, ``"fhir"`` or ``"omop"``) and the paths its reader
should read, so that a folder as an export tool writes it can be handed over
whole: Synthea's ``output/`` folder (``csv/``, ``fhir/`` and ``metadata/``)
is read through its CSV tables, and its run metadata is told apart from FHIR.
The ``kgmed build`` command uses it for ``--format auto``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kgmed.errors import ParameterError, RecordsFileError
from kgmed.records._io import table_file, table_stem

__all__ = ["FORMATS", "Detected", "detect_format"]

#: The formats :func:`detect_format` names, one per reader: ``read_records``,
#: ``read_synthea``, ``read_fhir`` and ``read_omop``.
FORMATS: tuple[str, ...] = ("csv", "synthea", "fhir", "omop")

_JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
# Synthea's run metadata is a few hundred bytes; FHIR files are not sniffed past this.
_METADATA_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class Detected:
    """The format of some records and the paths its reader reads.

    Attributes
    ----------
    format : str
        One of :data:`FORMATS`.
    paths : tuple of pathlib.Path
        What to pass the reader: the paths given, or the folder inside one
        that holds the records (``output/fhir`` of a Synthea output folder
        read as FHIR).
    notes : tuple of str
        What was decided that the paths do not say themselves, such as which
        folder of a Synthea output folder is read.
    """

    format: str
    paths: tuple[Path, ...]
    notes: tuple[str, ...] = ()


def detect_format(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    format: str = "auto",
) -> Detected:
    """Name the format of some records, and the paths its reader should read.

    With ``format="auto"``, a folder is a Synthea CSV export when it holds
    ``patients.csv`` and ``conditions.csv``, an OMOP CDM export when it holds
    ``person.csv`` or ``condition_occurrence.csv``, and FHIR when it holds
    ``.json`` or ``.ndjson`` files. A Synthea output folder (``csv/``,
    ``fhir/``, ``metadata/``) is read as its CSV export, or as its FHIR
    files when it has no CSV tables; a note says which. A file is FHIR when
    its name ends in ``.json``, ``.ndjson`` or ``.jsonl`` (``.gz`` allowed),
    and CSV otherwise. A path that does not exist is named by its suffix, so
    that the reader says it is missing.

    Synthea's run metadata (the JSON file it writes to ``metadata/``, with
    ``runID`` and ``patientCount``) holds no records: it is an error, whose
    message names the folder to read instead; in a folder of FHIR files it
    is left out, with a note.

    Parameters
    ----------
    paths : path-like or sequence of path-like
        Files and folders of records.
    format : {"auto", "csv", "synthea", "fhir", "omop"}, default "auto"
        The format, when known: then only the paths are resolved (FHIR is
        read from ``output/fhir`` of a Synthea output folder).

    Returns
    -------
    Detected
        The format, the paths to read and notes.

    Raises
    ------
    ParameterError
        If ``format`` is not "auto" or one of :data:`FORMATS`, no path is
        given, or the paths are of several formats.
    RecordsFileError
        If a folder holds nothing kgmed reads, or a path is Synthea's run
        metadata.

    Examples
    --------
    >>> import os, tempfile
    >>> from kgmed.records.detect import detect_format
    >>> output = tempfile.mkdtemp()
    >>> for folder in ("csv", "fhir", "metadata"):
    ...     os.mkdir(os.path.join(output, folder))
    >>> for name in ("patients.csv", "conditions.csv"):
    ...     open(os.path.join(output, "csv", name), "w").close()
    >>> found = detect_format(output)
    >>> found.format, found.paths[0].name == os.path.basename(output)
    ('synthea', True)
    >>> print(found.notes[0].removeprefix(output))
    : a Synthea output folder; reading the CSV tables of its csv/ folder (format='fhir' reads its fhir/ folder instead)
    >>> detect_format(output, format="fhir").paths[0].name
    'fhir'
    >>> detect_format(["visits.csv", "more.csv"]).format
    'csv'
    """
    if format != "auto" and format not in FORMATS:
        raise ParameterError(
            f"format={format!r}: choose 'auto' or one of {', '.join(repr(f) for f in FORMATS)}"
        )
    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not given:
        raise ParameterError("no records given: pass at least one file or folder")
    found = [_one(Path(path), format) for path in given]
    formats = sorted({f for f, _, _ in found})
    if len(formats) > 1:
        raise ParameterError(
            f"the records mix formats ({', '.join(formats)}); pass format=, or read each "
            f"format on its own"
        )
    return Detected(
        format=formats[0],
        paths=tuple(p for _, read, _ in found for p in read),
        notes=tuple(note for _, _, notes in found for note in notes),
    )


def _one(path: Path, format: str) -> tuple[str, list[Path], list[str]]:
    """The format of one path, the paths to read for it and notes."""
    if format in ("csv", "synthea", "omop"):
        return format, [path], []
    if not path.is_dir():
        if _is_json(path):
            if _run_metadata(path) is not None:
                raise RecordsFileError(_metadata_message(path))
            return "fhir", [path], []
        if format == "fhir":
            return "fhir", [path], []
        return "csv", [path], []
    names = {child.name.lower(): child for child in _children(path)}
    # Tables by name, whatever their ending (conditions.csv, conditions.csv.gz).
    tables = {table_stem(name) for name, child in names.items() if child.is_file()}
    if format == "auto":
        if {"patients", "conditions"} <= tables:
            return "synthea", [path], []
        if "person" in tables or "condition_occurrence" in tables:
            return "omop", [path], []
        if path.name.lower() == "csv" and _synthea_csv(path):
            # Synthea's csv/ folder with a folder per run (exporter.csv.folder_per_run).
            return "synthea", [path], []
    json_files = [child for child in names.values() if child.is_file() and _is_json(child)]
    fhir = names.get("fhir")
    if not json_files and fhir is not None and fhir.is_dir():
        has_csv = format == "auto" and _synthea_csv(names.get("csv"))
        if not has_csv:
            why = "" if format == "fhir" else " with no CSV tables (no csv/ folder)"
            note = f"{_shown(path)}: a Synthea output folder{why}; reading the FHIR files of its fhir/ folder"
            return "fhir", [fhir], [note]
    if format == "auto" and _synthea_csv(names.get("csv")):
        also = (
            " (format='fhir' reads its fhir/ folder instead)"
            if fhir is not None and fhir.is_dir()
            else ""
        )
        return (
            "synthea",
            [path],
            [
                f"{_shown(path)}: a Synthea output folder; reading the CSV tables of its csv/ "
                f"folder{also}"
            ],
        )
    if json_files:
        metadata = [child for child in json_files if _run_metadata(child) is not None]
        if len(metadata) == len(json_files):
            raise RecordsFileError(_metadata_message(path, folder=True))
        if metadata:
            kept = sorted(child for child in json_files if child not in metadata)
            left = ", ".join(child.name for child in sorted(metadata))
            return "fhir", kept, [f"{_shown(path)}: left out {left}, Synthea's run metadata"]
        return "fhir", [path], []
    if format == "fhir":
        return "fhir", [path], []
    raise RecordsFileError(
        f"{_shown(path)}: cannot tell what this folder holds (no patients.csv and "
        f"conditions.csv for Synthea, no person.csv for OMOP, no .json or .ndjson for FHIR); "
        f"pass format="
    )


def _children(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError as err:
        raise RecordsFileError(f"{_shown(folder)}: cannot list the folder: {err}") from err


def _shown(path: Path) -> str:
    return os.fspath(path)


def _is_json(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return bool(suffixes) and suffixes[-1] in _JSON_SUFFIXES


def _synthea_csv(folder: Path | None) -> bool:
    """Whether ``folder`` is Synthea's csv/ folder: its tables, or one folder per run."""
    if folder is None or not folder.is_dir():
        return False
    if table_file(folder, "conditions") is not None:
        return True
    return any(
        child.is_dir() and table_file(child, "conditions") is not None
        for child in _children(folder)
    )


def _run_metadata(path: Path) -> dict[str, object] | None:
    """The contents of Synthea's run metadata file at ``path``, or None for any other file."""
    if path.suffix.lower() != ".json":
        return None
    try:
        if path.stat().st_size > _METADATA_MAX_BYTES:
            return None
        value = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    is_metadata = (
        isinstance(value, dict)
        and "runID" in value
        and "resourceType" not in value
        and ("patientCount" in value or "seed" in value)
    )
    return value if is_metadata else None


def _metadata_message(path: Path, *, folder: bool = False) -> str:
    """Where the records are, for a path that is (or holds only) Synthea's run metadata."""
    where = path if folder else path.parent
    output = where.parent if where.name.lower() == "metadata" else where
    holds = [name for name in ("csv", "fhir") if (output / name).is_dir()]
    if holds:
        instead = f"pass {_shown(output)} (it holds {' and '.join(f'{n}/' for n in holds)})"
    else:
        instead = "pass the folder Synthea wrote the records to (output/, or output/csv)"
    what = (
        "holds only Synthea's run metadata"
        if folder
        else _metadata_summary(_run_metadata(path) or {})
    )
    return f"{_shown(path)}: {what}, not records; {instead}"


def _metadata_summary(metadata: dict[str, object]) -> str:
    count = metadata.get("patientCount")
    about = f", {count} patients" if isinstance(count, int) else ""
    return f"is Synthea's run metadata (runID {metadata.get('runID')!s}{about})"
