"""Curated knowledge tables from public knowledge bases, ready for ``add_knowledge``.

Each reader returns a statement table, one row per (subject, relation,
object), with the source's own ids kept as the subject and object
(``DOID:10763``, ``MESH:D006261``, ``DRUGBANK:DB00945``, ``UMLS:C0020538``),
the source's names in ``subject_label`` and ``object_label``, and the
source's name in ``source``. :meth:`kgmed.KnowledgeGraph.add_knowledge`
merges such a table into a graph and, by default, aligns a statement's ends
with the graph's concepts by label (see its ``align`` option).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from kgmed._validation import check_columns
from kgmed.errors import ParameterError, RecordsFileNotFound
from kgmed.records._normalize import clean_text

__all__ = ["HETIONET_METAEDGES", "KNOWLEDGE_COLUMNS", "read_columbia_kb", "read_hetionet"]

#: Columns of every statement table these readers return.
KNOWLEDGE_COLUMNS: tuple[str, ...] = (
    "subject",
    "subject_label",
    "relation",
    "object",
    "object_label",
    "source",
)

#: Hetionet metaedges kgmed reads, with the relation each becomes.
#: ``DrD`` (Disease resembles Disease) is a similarity, not a comorbidity,
#: and has no kgmed relation; it is not read.
HETIONET_METAEDGES: dict[str, str] = {
    "DpS": "has_symptom",
    "CtD": "treats",
    "CpD": "palliates",
}

_HETIONET_FILES: dict[str, str] = {
    "DpS": "edges_DpS_Disease_presents_Symptom.tsv",
    "CtD": "edges_CtD_Compound_treats_Disease.tsv",
    "CpD": "edges_CpD_Compound_palliates_Disease.tsv",
}
# Hetionet node kinds and the prefix their identifiers get as concept ids.
_HETIONET_PREFIX: dict[str, str] = {
    "Disease": "",  # already "DOID:..."
    "Symptom": "MESH:",
    "Compound": "DRUGBANK:",
}


def read_hetionet(
    folder: str | os.PathLike[str], *, metaedges: Sequence[str] = ("DpS", "CtD", "CpD")
) -> pd.DataFrame:
    r"""Hetionet's disease, symptom and compound edges as a statement table.

    Reads the edge files of the Hetionet v1.0 subset (``edges_DpS_...tsv``,
    columns ``source, metaedge, target, source_name, target_name``):
    Disease–presents–Symptom becomes ``has_symptom``; Compound–treats–Disease
    and Compound–palliates–Disease become ``treats`` and ``palliates``, which
    :meth:`kgmed.KnowledgeGraph.add_knowledge` reads as ``treated_with`` from
    the disease. Ids are kept: Disease Ontology ``DOID:...``, MeSH ``MESH:D...``
    for symptoms, DrugBank ``DRUGBANK:DB...`` for compounds.

    Parameters
    ----------
    folder : str or path-like
        The folder holding the edge files.
    metaedges : sequence of str, default ("DpS", "CtD", "CpD")
        Which of :data:`~kgmed.knowledge.HETIONET_METAEDGES` to read.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~kgmed.knowledge.KNOWLEDGE_COLUMNS`, ``source`` being
        ``"hetionet"``.

    Raises
    ------
    ParameterError
        If a metaedge is not one kgmed reads.
    RecordsFileNotFound
        If an edge file is missing.
    ColumnNotFound
        If an edge file lacks a column.

    Examples
    --------
    >>> import os, tempfile
    >>> from kgmed.knowledge import read_hetionet
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "edges_DpS_Disease_presents_Symptom.tsv"), "w") as f:
    ...     _ = f.write("source\tmetaedge\ttarget\tsource_name\ttarget_name\n"
    ...                 "Disease::DOID:10763\tDpS\tSymptom::D006261\thypertension\tHeadache\n")
    >>> read_hetionet(folder, metaedges=["DpS"]).iloc[0].tolist()
    ['DOID:10763', 'hypertension', 'has_symptom', 'MESH:D006261', 'Headache', 'hetionet']
    """
    unknown = [m for m in metaedges if m not in HETIONET_METAEDGES]
    if unknown:
        raise ParameterError(
            f"metaedges {unknown} are not read; kgmed reads {list(HETIONET_METAEDGES)}"
        )
    base = Path(folder)
    tables = []
    for metaedge in metaedges:
        path = base / _HETIONET_FILES[metaedge]
        edges = _read_table(path, sep="\t")
        check_columns(
            edges,
            dict.fromkeys(["source", "target", "source_name", "target_name"]),
            where=path.name,
        )
        tables.append(
            pd.DataFrame(
                {
                    "subject": _hetionet_ids(edges["source"]),
                    "subject_label": clean_text(edges["source_name"]),
                    "relation": HETIONET_METAEDGES[metaedge],
                    "object": _hetionet_ids(edges["target"]),
                    "object_label": clean_text(edges["target_name"]),
                    "source": "hetionet",
                }
            )
        )
    if not tables:
        return pd.DataFrame(columns=list(KNOWLEDGE_COLUMNS))
    return pd.concat(tables, ignore_index=True)


def _hetionet_ids(values: pd.Series) -> pd.Series:
    """``Disease::DOID:10763`` -> ``DOID:10763``; ``Symptom::D006261`` -> ``MESH:D006261``."""
    kind_and_id = values.astype("string").str.split("::", n=1, expand=True)
    prefixes = kind_and_id[0].map(_HETIONET_PREFIX).fillna("")
    return (prefixes + kind_and_id[1]).astype("string")


def read_columbia_kb(path: str | os.PathLike[str]) -> pd.DataFrame:
    r"""The Columbia Disease–Symptom Knowledge Database as a statement table.

    Reads the long form (``disease, disease_count, symptom_rank, symptom``)
    of Wang et al. 2008, whose cells are written ``UMLS:<CUI>_<name>``, with
    ``^`` joining the concepts of a composite entry
    (``UMLS:C0011570_depression mental^UMLS:C0011581_depressive disorder``).
    The first concept of an entry gives its id (``UMLS:C0011570``) and
    label; the others are kept, joined by ``"; "``, in ``subject_synonyms``
    and ``object_synonyms``. Names are cleaned (non-breaking spaces).
    Repeated (disease, symptom) pairs are kept once.

    Parameters
    ----------
    path : str or path-like
        ``disease_symptom_long.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~kgmed.knowledge.KNOWLEDGE_COLUMNS` (relation
        ``has_symptom``, source ``"columbia"``), then ``subject_synonyms``,
        ``object_synonyms``, ``disease_count`` (discharge summaries naming
        the disease) and ``symptom_rank`` (1 is the symptom most strongly
        associated).

    Raises
    ------
    RecordsFileNotFound
        If the file is missing.
    ColumnNotFound
        If a column is missing.

    Examples
    --------
    >>> import os, tempfile
    >>> from kgmed.knowledge import read_columbia_kb
    >>> path = os.path.join(tempfile.mkdtemp(), "kb.csv")
    >>> with open(path, "w", encoding="utf-8") as f:
    ...     _ = f.write("disease,disease_count,symptom_rank,symptom\n"
    ...                 "UMLS:C0020538_hypertensive disease,3363,1,UMLS:C0008031_pain chest\n")
    >>> read_columbia_kb(path)[["subject", "subject_label", "object", "object_label"]]
             subject         subject_label          object object_label
    0  UMLS:C0020538  hypertensive disease  UMLS:C0008031   pain chest
    """
    file = Path(path)
    table = _read_table(file, sep=",")
    check_columns(
        table,
        dict.fromkeys(["disease", "disease_count", "symptom_rank", "symptom"]),
        where=file.name,
    )
    disease = _umls_entries(table["disease"])
    symptom = _umls_entries(table["symptom"])
    statements = pd.DataFrame(
        {
            "subject": disease["id"],
            "subject_label": disease["label"],
            "relation": "has_symptom",
            "object": symptom["id"],
            "object_label": symptom["label"],
            "source": "columbia",
            "subject_synonyms": disease["synonyms"],
            "object_synonyms": symptom["synonyms"],
            "disease_count": pd.to_numeric(table["disease_count"], errors="coerce").astype("Int64"),
            "symptom_rank": pd.to_numeric(table["symptom_rank"], errors="coerce").astype("Int64"),
        }
    )
    statements = statements.dropna(subset=["subject", "object"])
    return statements.drop_duplicates(["subject", "object"]).reset_index(drop=True)


def _umls_entries(cells: pd.Series) -> pd.DataFrame:
    """Split ``UMLS:C1_name^UMLS:C2_other`` cells into id, label and synonyms."""
    # Split before cleaning: cleaning turns the "_" after the CUI into a space.
    parts = cells.astype("string").str.split("^")
    first = parts.str[0].str.extract(r"^\s*(?P<id>UMLS:C\d+)_(?P<label>.*)$")
    rest = parts.str[1:].map(
        lambda items: (
            "; ".join(item.split("_", 1)[1] for item in items if "_" in item)
            if isinstance(items, list)
            else ""
        )
    )
    return pd.DataFrame(
        {
            "id": first["id"].astype("string"),
            "label": clean_text(first["label"]),
            "synonyms": clean_text(rest.astype("string")),
        }
    )


def _read_table(path: Path, *, sep: str) -> pd.DataFrame:
    """A knowledge table through the readers' CSV layer (compressed files too)."""
    from kgmed.records._io import read_table

    if not path.is_file():
        raise RecordsFileNotFound(f"{path.name}: no such file ({os.fspath(path)!r})")
    table = read_table(path, encoding=None, sep=sep, columns=list, min_columns=1)
    table.frame.index = pd.RangeIndex(len(table.frame))
    return table.frame
