"""What the benchmarks time: kgmed and the plain mlxtend pipeline on the same records.

Everything here runs inside a worker process started by ``run.py``. The
functions under *inputs* build each tool's input and are never timed; the
functions in ``CASES`` are the timed work, and return what they mined so that
``run.py`` can check, outside the timing, that both tools found the same
rules.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

import kgmed
from kgmed.records.fhir import read_fhir
from kgmed.records.omop import read_omop
from kgmed.records.synthea import read_synthea

# One setting for every case and both tools, so that a difference in time is
# never a difference in the work asked for.
MIN_SUPPORT = 0.001
MIN_CONFIDENCE = 0.05


# -- inputs (never timed) -----------------------------------------------------


def synthetic_records(n_patients: int) -> kgmed.Records:
    """kgmed's generator with a fixed seed: the same records on every machine."""
    return kgmed.datasets.synthetic(n_patients, random_state=0)


def fimi_records(path: Path) -> kgmed.Records:
    """A FIMI ``.dat`` file as records: one patient per line, one concept per item.

    Patients are numbered by line from 1 and every item becomes a concept of
    kind ``finding`` (``local:<item id>``), so both tools see exactly the
    file's baskets.
    """
    with path.open() as handle:
        baskets = [line.split() for line in handle]
    long = pd.DataFrame(
        [(number, item) for number, items in enumerate(baskets, 1) for item in items],
        columns=["patient_id", "concept"],
    )
    return kgmed.Records.from_dataframe(long.assign(kind="finding"), source=path.name)


def prepare_baskets(records: kgmed.Records) -> list[list[str]]:
    """mlxtend's input: one list of concept ids per patient, from the same records.

    Built from ``records.data`` so that both tools see the same concept ids
    and the same patients; TransactionEncoder, which turns these lists into
    mlxtend's one-hot frame, is part of the timed pipeline.
    """
    grouped = records.data.groupby("patient_id", sort=False)["concept_id"]
    return [list(map(str, items)) for items in grouped.agg(list)]


# -- the timed work -----------------------------------------------------------


def kgmed_build(records: kgmed.Records) -> kgmed.KnowledgeGraph:
    """The whole kgmed job: records -> matrix -> rules with counts and p-values -> graph.

    ``min_patients`` keeps its default (11): this is what a user runs.
    """
    return kgmed.build(records, min_support=MIN_SUPPORT, min_confidence=MIN_CONFIDENCE)


def kgmed_mine_rules(records: kgmed.Records) -> pd.DataFrame:
    """kgmed's rules alone, like for like with mlxtend.

    ``min_patients=1`` turns off the privacy floor, which mlxtend does not
    have, so both return the same rules.
    """
    return kgmed.mine_rules(
        records, min_support=MIN_SUPPORT, min_confidence=MIN_CONFIDENCE, min_patients=1
    )


def mlxtend_pipeline(baskets: list[list[str]], *, sparse: bool = False) -> pd.DataFrame:
    """The plain mlxtend pipeline a user would write without kgmed.

    With ``sparse=True`` the one-hot frame is a sparse DataFrame, which
    mlxtend's documentation recommends for many items.
    """
    encoder = TransactionEncoder().fit(baskets)
    if sparse:
        onehot = pd.DataFrame.sparse.from_spmatrix(
            encoder.transform(baskets, sparse=True), columns=encoder.columns_
        )
    else:
        onehot = pd.DataFrame(encoder.transform(baskets), columns=encoder.columns_)
    itemsets = fpgrowth(onehot, min_support=MIN_SUPPORT, use_colnames=True, max_len=2)
    return association_rules(
        itemsets,
        num_itemsets=len(baskets),
        metric="confidence",
        min_threshold=MIN_CONFIDENCE,
    )


#: The timed functions by case name: kgmed's take Records, mlxtend's the baskets.
CASES: dict[str, Callable[..., object]] = {
    "build": kgmed_build,
    "mine_rules": kgmed_mine_rules,
    "mlxtend": mlxtend_pipeline,
}


# -- readers: an export folder -> Records (timed whole) ------------------------------

ROOT = Path(__file__).resolve().parents[1]

#: How many times the FHIR bundles are repeated, with new ids, in the bulk export.
FHIR_COPIES = 20

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fhir_bulk_export(bundles: Path, folder: Path, *, copies: int = FHIR_COPIES) -> Path:
    """The bundles of ``bundles`` as an NDJSON bulk export, ``copies`` times over (untimed input).

    One ``<Type>.ndjson`` file per resource type, references made relative
    (``Patient/<id>``), as a server's ``$export`` writes them; each copy
    gives every id (Synthea's are UUIDs) a suffix of its own, so that the
    copies are other patients, visits and resources, not duplicates.
    """
    lines: dict[str, list[str]] = {}
    for path in sorted(bundles.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        relative = {
            f'"{entry["fullUrl"]}"': f'"{entry["resource"]["resourceType"]}/{entry["resource"]["id"]}"'
            for entry in bundle["entry"]
            if "fullUrl" in entry
        }
        full_urls = re.compile("|".join(map(re.escape, relative)))
        for entry in bundle["entry"]:
            text = json.dumps(entry["resource"], separators=(",", ":"))
            text = full_urls.sub(lambda m, names=relative: names[m.group(0)], text)
            lines.setdefault(entry["resource"]["resourceType"], []).append(text)
    for rtype, texts in lines.items():
        block = "\n".join(texts)
        with (folder / f"{rtype}.ndjson").open("w", encoding="utf-8") as handle:
            for copy in range(copies):
                handle.write(_UUID.sub(lambda m, c=copy: f"{m.group(0)}-{c}", block) + "\n")
    return folder


#: How many times the Synthea export is repeated, with new ids, in the large case.
SYNTHEA_COPIES = 20
#: The tables of the large Synthea case: those read_synthea reads by default.
SYNTHEA_TABLES = ("patients", "encounters", "conditions", "medications", "allergies")


def synthea_copies(export: Path, folder: Path, *, copies: int = SYNTHEA_COPIES) -> Path:
    """A Synthea CSV export ``copies`` times over, every id suffixed per copy (untimed input).

    The copies are other patients and visits, not duplicates: a file of the
    size a Synthea run of some ten thousand patients writes.
    """
    for name in SYNTHEA_TABLES:
        path = export / f"{name}.csv"
        if not path.is_file():
            continue
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        ids = [c for c in ("Id", "PATIENT", "ENCOUNTER") if c in table.columns]
        parts = []
        for copy in range(copies):
            part = table.copy()
            for column in ids:
                part[column] = part[column].where(part[column] == "", part[column] + f"-{copy}")
            parts.append(part)
        pd.concat(parts).to_csv(folder / f"{name}.csv", index=False)
    return folder


def _test_module(relative: str) -> ModuleType:
    """A module of the test suite, loaded from its file."""
    path = ROOT / relative
    name = f"_benchmark_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def omop_tables(synthea: Path, folder: Path) -> Path:
    """A Synthea CSV export as the OMOP CDM tables ETL-Synthea makes, in CSV files (untimed input).

    The conversion is the tests' (``omop_from_synthea`` in
    ``tests/records/test_omop.py``), which they check ``read_omop`` against,
    so the benchmark reads what the tests read; importing it needs pytest.
    """
    etl = _test_module("tests/records/test_omop.py")
    for name, table in etl.omop_from_synthea(synthea).items():
        table.to_csv(folder / f"{name}.csv", index=False)
    return folder


@dataclass(frozen=True)
class ReaderCase:
    """A reader, timed on an input made (untimed) from a shared-data folder.

    ``prepare(shared folder, scratch folder)`` returns the folder to read;
    without it the shared folder is read as it is.
    """

    read: Callable[[Path], kgmed.Records]
    prepare: Callable[[Path, Path], Path] | None = None


#: The timed readers by case name; each reads with the defaults a user gets.
READERS: dict[str, ReaderCase] = {
    "read_synthea": ReaderCase(read_synthea),
    "read_synthea_copies": ReaderCase(read_synthea, prepare=synthea_copies),
    "read_fhir": ReaderCase(read_fhir),
    "read_fhir_ndjson": ReaderCase(read_fhir, prepare=fhir_bulk_export),
    "read_omop": ReaderCase(read_omop, prepare=omop_tables),
}


def rules_digest(rules: pd.DataFrame) -> str:
    """A fingerprint of which rules were found, blind to row order.

    Two tools that found the same (antecedents, consequents) pairs give the
    same digest; kgmed and mlxtend both hold each side as a frozenset.
    """
    keys = sorted(
        (tuple(sorted(map(str, a))), tuple(sorted(map(str, c))))
        for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)
    )
    return hashlib.sha256(repr(keys).encode()).hexdigest()[:16]
