"""What the benchmarks time: kgmed and the plain mlxtend pipeline on the same records.

Everything here runs inside a worker process started by ``run.py``. The
functions under *inputs* build each tool's input and are never timed; the
functions in ``CASES`` are the timed work, and return what they mined so that
``run.py`` can check, outside the timing, that both tools found the same
rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

import kgmed
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


def kgmed_read_synthea(folder: Path) -> kgmed.Records:
    """Read a Synthea CSV export with the defaults a user gets: every table it has."""
    return read_synthea(folder)


#: The timed reader functions by case name; each takes the export's folder.
READERS: dict[str, Callable[[Path], kgmed.Records]] = {
    "read_synthea": kgmed_read_synthea,
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
