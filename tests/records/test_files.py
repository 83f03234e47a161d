"""Files as users have them: other encodings, separators and compressions.

The shared Synthea exports and the bundled sample are written back
re-encoded, re-delimited or compressed; each must read into the same
records as the original, with a note of what was found out.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import kgmed
from kgmed import RecordsFileError
from kgmed.records.detect import detect_format
from kgmed.records.synthea import read_synthea

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "data" / "records.csv"
TABLES = ("patients", "encounters", "conditions", "medications", "allergies")


def _zstd(data: bytes, path: Path) -> None:
    with pa.CompressedOutputStream(str(path), "zstd") as out:
        out.write(data)


def _zip(data: bytes, path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.name.removesuffix(".zip"), data)


#: How to write bytes compressed, by the ending the file gets.
PACKERS: dict[str, Callable[[bytes, Path], None]] = {
    ".gz": lambda data, path: path.write_bytes(gzip.compress(data)),
    ".bz2": lambda data, path: path.write_bytes(bz2.compress(data)),
    ".xz": lambda data, path: path.write_bytes(lzma.compress(data)),
    ".zst": _zstd,
    ".zip": _zip,
}


def _same(records: kgmed.Records, original: kgmed.Records) -> None:
    """The same observations and counts; only the notes may differ."""
    pd.testing.assert_frame_equal(
        records.data.astype({c: "string" for c in records.data.columns if c != "time"}),
        original.data.astype({c: "string" for c in original.data.columns if c != "time"}),
    )
    assert records.report.dropped == original.report.dropped
    assert records.report.n_patients == original.report.n_patients


# -- the bundled sample ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> kgmed.Records:
    return kgmed.read_records(SAMPLE)


@pytest.mark.parametrize("ending", list(PACKERS))
def test_sample_compressed(tmp_path: Path, sample: kgmed.Records, ending: str) -> None:
    path = tmp_path / f"records.csv{ending}"
    PACKERS[ending](SAMPLE.read_bytes(), path)
    records = kgmed.read_records(path)
    _same(records, sample)
    assert records.report.notes[0].startswith("records.csv" + ending + ": read through")
    # Read a chunk at a time, the same.
    _same(kgmed.read_records(path, chunksize=997, progress=False), sample)


def test_compression_is_told_from_the_bytes_not_the_name(
    tmp_path: Path, sample: kgmed.Records
) -> None:
    path = tmp_path / "records.csv"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    _same(kgmed.read_records(path), sample)


@pytest.mark.parametrize(("sep", "ending"), [(";", ".csv"), ("\t", ".csv"), ("|", ".txt")])
def test_sample_redelimited(tmp_path: Path, sample: kgmed.Records, sep: str, ending: str) -> None:
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    path = tmp_path / f"records{ending}"
    frame.to_csv(path, sep=sep, index=False)
    records = kgmed.read_records(path)
    _same(records, sample)
    assert f"fields split by {sep!r}" in records.report.notes[0]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_sample_reencoded_with_accents(tmp_path: Path, encoding: str) -> None:
    # Accented labels make the encoding matter: written in each, read the same.
    text = SAMPLE.read_text(encoding="utf-8").replace("fever", "fièvre")
    original = tmp_path / "utf8.csv"
    original.write_text(text, encoding="utf-8")
    path = tmp_path / "other.csv"
    path.write_text(text, encoding=encoding)
    records = kgmed.read_records(path)
    _same(records, kgmed.read_records(original))
    assert "fièvre" in set(records.data["label"])


def test_archive_of_several_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "patient_id,concept,kind\n")
        archive.writestr("b.csv", "patient_id,concept,kind\n")
    with pytest.raises(RecordsFileError, match=r"export.zip: a zip archive of 2 files"):
        kgmed.read_records(path)


def test_truncated_gzip_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "records.csv.gz"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes())[:-200])
    with pytest.raises(RecordsFileError, match=r"records.csv.gz"):
        kgmed.read_records(path)


# -- the shared Synthea exports --------------------------------------------------------


def _export(source: Path, target: Path, write: Callable[[Path, Path], None]) -> Path:
    target.mkdir()
    for name in TABLES:
        write(source / f"{name}.csv", target)
    return target


@pytest.fixture(scope="module")
def unmc(shared_data: Path) -> tuple[Path, kgmed.Records]:
    folder = shared_data / "synthea_csv_111_unmc"
    return folder, read_synthea(folder, tables=("conditions", "medications", "allergies"))


@pytest.mark.shared_data
@pytest.mark.parametrize("ending", [".gz", ".zst", ".zip"])
def test_synthea_export_compressed(
    tmp_path: Path, unmc: tuple[Path, kgmed.Records], ending: str
) -> None:
    folder, original = unmc

    def write(file: Path, target: Path) -> None:
        PACKERS[ending](file.read_bytes(), target / f"{file.name}{ending}")

    export = _export(folder, tmp_path / "export", write)
    records = read_synthea(export, tables=("conditions", "medications", "allergies"))
    _same(records, original)
    assert f"conditions.csv{ending}: read through" in " ".join(records.report.notes)
    # The command finds the export and its compressed tables.
    assert detect_format([export]).format == "synthea"


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("sep", "encoding"), [(";", "utf-8"), ("\t", "utf-8"), (",", "utf-16"), (";", "cp1252")]
)
def test_synthea_export_redelimited_and_reencoded(
    tmp_path: Path, unmc: tuple[Path, kgmed.Records], sep: str, encoding: str
) -> None:
    folder, original = unmc

    def write(file: Path, target: Path) -> None:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        frame.to_csv(target / file.name, sep=sep, index=False, encoding=encoding)

    export = _export(folder, tmp_path / "export", write)
    records = read_synthea(export, tables=("conditions", "medications", "allergies"))
    _same(records, original)
    notes = " ".join(records.report.notes)
    if sep != ",":
        assert f"conditions.csv: fields split by {sep!r}" in notes
    if encoding == "utf-16":
        assert "conditions.csv: read as UTF-16 text" in notes


@pytest.mark.shared_data
def test_synthea_export_with_a_quote_in_mid_field(
    tmp_path: Path, unmc: tuple[Path, kgmed.Records]
) -> None:
    # A description such as 'Laceration 1" long': a literal quote, not a quoted field.
    folder, _ = unmc
    export = tmp_path / "export"
    shutil.copytree(folder, export, ignore=shutil.ignore_patterns("imaging_studies.csv"))
    path = export / "conditions.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start, stop, patient, encounter, *_ = lines[1].split(",", 5)
    lines.append(f'{start},{stop},{patient},{encounter},999999999,Laceration 1" long\n')
    path.write_text("".join(lines), encoding="utf-8")
    records = read_synthea(export, tables=("conditions",))
    assert 'Laceration 1" long' in set(records.data["label"])
