"""KnowledgeGraph to the KGX TSV pair (``*_nodes.tsv``, ``*_edges.tsv``) of the Biolink toolchain.

KGX (https://github.com/biolink/kgx) is the flat-file form of Biolink Model
knowledge graphs that KGX itself, BioCypher and Neo4j's bulk import read. A
graph leaves as two tab-separated files: one row per concept, one row per
relation, with kgmed's evidence as extra columns.

Every cell is plain text with a small set of characters percent-encoded (see
:func:`to_kgx`), so that a reader splitting on tabs, lines and ``|`` and
reading ``"`` literally (as KGX does), or one that honours CSV quoting (as
pandas and Python's :mod:`csv` do by default), sees the same cells.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgmed.errors import GraphError, ParameterError
from kgmed.rdf._export import EDGE_COUNTS, EDGE_STATISTICS
from kgmed.rdf._terms import BIOLINK, BIOLINK_CATEGORIES, BIOLINK_PREDICATES, association_id

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph

__all__ = ["KGX_EDGE_COLUMNS", "KGX_NODE_COLUMNS", "to_kgx"]

#: Columns of the nodes file: the KGX/Biolink ones, then kgmed's own.
KGX_NODE_COLUMNS: tuple[str, ...] = (
    "id",
    "category",
    "name",
    "xref",
    "provided_by",
    "kgmed_kind",
    "system",
    "code",
    "n_patients",
)

# Edge evidence: counts (whole numbers, blanked under the privacy floor), then
# statistics (written with repr, so that they read back exactly).
_EDGE_COUNTS: tuple[str, ...] = tuple(EDGE_COUNTS)
_EDGE_STATISTICS: tuple[str, ...] = tuple(EDGE_STATISTICS)

#: Columns of the edges file: the KGX/Biolink ones, then kgmed's relation and evidence.
KGX_EDGE_COLUMNS: tuple[str, ...] = (
    "id",
    "subject",
    "predicate",
    "object",
    "category",
    "knowledge_level",
    "agent_type",
    "primary_knowledge_source",
    "aggregator_knowledge_source",
    "kgmed_relation",
    *_EDGE_COUNTS,
    *_EDGE_STATISTICS,
    "direct",
    "holds",
    "provenance",
)

# kgmed's information resource id (the ``infores:`` registry of Biolink).
_INFORES = "infores:kgmed"

_RULE_RELATIONS = frozenset({"antecedent_of", "implies"})
_CURIE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*:.")
# Percent-encoded in every cell: C0 controls (tab, newline, carriage return...)
# and DEL, which end a cell or a row; "|", KGX's list delimiter (KGX splits any
# cell holding one); '"', which a CSV reader takes as the start of a quoted
# cell; and "%" where it would otherwise read as an escape ("%" followed by two
# hex digits), so that urllib.parse.unquote gives back every value exactly.
_TEXT_UNSAFE = re.compile(r'[\x00-\x1f\x7f|"]|%(?=[0-9A-Fa-f]{2})')
# In CURIE cells (ids, xrefs) whitespace is encoded too: a CURIE has none.
_CURIE_UNSAFE = re.compile(r'[\x00-\x1f\x7f|"\s]|%(?=[0-9A-Fa-f]{2})')


def to_kgx(
    kg: KnowledgeGraph, folder: str | os.PathLike[str], *, prefix: str = "kgmed"
) -> tuple[Path, Path]:
    r"""Write the graph as the KGX TSV pair ``{prefix}_nodes.tsv`` and ``{prefix}_edges.tsv``.

    The files follow the KGX format (https://github.com/biolink/kgx, its
    ``kgx_format.md``), so the graph loads into the Biolink toolchain (KGX,
    BioCypher, Neo4j's import). The folder is created if needed.

    **Nodes** (columns :data:`KGX_NODE_COLUMNS`): ``id`` is the concept id as
    a CURIE (``ICD10CM:J11.1``, ``HP:0001945``, ``local:dry_cough``; an id
    with no prefix gets ``local:``), ``category`` the Biolink class of its
    kind (``biolink:Disease``, ``biolink:PhenotypicFeature`` for symptoms
    and findings, ``biolink:Drug``, ``biolink:Procedure``,
    ``biolink:ClinicalMeasurement``), ``name`` its label, ``xref`` the ids
    curated sources gave it, ``provided_by`` ``infores:kgmed``; then kgmed's
    ``kgmed_kind``, ``system``, ``code`` and ``n_patients``.

    **Edges** (columns :data:`KGX_EDGE_COLUMNS`): ``id`` is
    ``urn:uuid:`` and the association's id in the RDF export
    (:func:`kgmed.rdf.association_id`); ``subject``, ``predicate`` (the
    Biolink predicate of the relation, :data:`kgmed.rdf.BIOLINK_PREDICATES`),
    ``object``; ``category`` ``biolink:Association``. The knowledge level,
    ``agent_type`` and sources follow the edge's ``provenance``:

    - an edge whose provenance holds ``mined`` is a
      ``statistical_association`` made by a ``data_analysis_pipeline``,
      its primary knowledge source ``infores:kgmed``;
    - one ``recorded`` but not mined (records give the disease as the
      reason for the treatment) is an ``observation`` made by a
      ``data_analysis_pipeline``, primary source ``infores:kgmed``;
    - one only curated (``curated:<name>``) is a ``knowledge_assertion``,
      ``agent_type`` ``not_provided``, its primary knowledge source
      ``infores:<name>`` and ``infores:kgmed`` its aggregator;
    - one with no provenance is ``not_provided`` for both, primary source
      ``infores:kgmed``.

    A curated source's name becomes an infores id in lower case, with runs of
    other characters than letters and digits as ``-`` (``"Hetionet"`` is
    ``infores:hetionet``); an edge several curated sources state names the
    first in its ``provenance`` as primary, and ``provenance`` lists them
    all. kgmed cannot tell how a curated source made its statements, hence
    ``not_provided`` as their ``agent_type``. Then come kgmed's
    ``kgmed_relation``, the counts, the statistics, ``direct`` (``true`` or
    ``false``) and ``provenance``. A missing value is an empty cell.

    **Rule nodes** (kind ``"rule"``, from ``build(..., rule_nodes=True)``)
    and their ``antecedent_of``/``implies`` edges, and **cohort nodes**
    (kind ``"cohort"``, from :meth:`kgmed.KnowledgeGraph.add_cohorts`) and their
    ``characterized_by`` edges, are kgmed's own constructs, with no Biolink
    category or predicate: they are left out. The mined rules stay in
    ``KnowledgeGraph.rules``.

    **Privacy**: no patient identifier is written (the graph holds none), and
    no count under the graph's ``min_patients`` (``params["min_patients"]``,
    default 11): such a count is an empty cell.

    **Cells**: multi-valued cells (``category``, ``xref``, ``provided_by``,
    ``aggregator_knowledge_source``) join their items with ``|``. Within any
    cell, control characters (tab, newline...), ``|`` and ``"`` are
    percent-encoded (``%09``, ``%0A``, ``%7C``, ``%22``), as is ``%`` when
    followed by two hex digits; in CURIE cells (ids, ``subject``,
    ``object``, ``xref``) whitespace too (``%20``). No cell holds a tab, a
    line break, a stray ``|`` or a quote, and :func:`urllib.parse.unquote`
    gives each value (each item of a multi-valued cell) back exactly. Rows
    are sorted (nodes by ``id``, edges by ``subject``, ``predicate``,
    ``object``), numbers written with :func:`repr`, lines end in ``\n``,
    and the text is UTF-8: the same graph gives byte-identical files.

    Parameters
    ----------
    kg : KnowledgeGraph
        The graph.
    folder : str or path-like
        Where to write; created with its parents if missing.
    prefix : str, default "kgmed"
        The files' name prefix: ``{prefix}_nodes.tsv``, ``{prefix}_edges.tsv``.

    Returns
    -------
    tuple of pathlib.Path
        The nodes file and the edges file.

    Raises
    ------
    ParameterError
        If ``prefix`` is empty, not a string, or holds a path separator or
        a control character; if ``folder`` is an existing file, or cannot be
        made into a folder.
    GraphError
        If a concept's kind has no Biolink category, a relation no Biolink
        predicate, or two concept ids give the same CURIE.

    See Also
    --------
    kgmed.rdf.to_rdf : The graph as RDF, with the same Biolink alignment.

    Examples
    --------
    >>> import csv, tempfile
    >>> import kgmed
    >>> from kgmed.rdf import to_kgx
    >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     nodes_file, edges_file = to_kgx(kg, tmp)
    ...     names = nodes_file.name, edges_file.name
    ...     with nodes_file.open(encoding="utf-8", newline="") as f:
    ...         nodes = list(csv.DictReader(f, delimiter="\t"))
    ...     with edges_file.open(encoding="utf-8", newline="") as f:
    ...         edges = list(csv.DictReader(f, delimiter="\t"))
    >>> names
    ('kgmed_nodes.tsv', 'kgmed_edges.tsv')
    >>> fever = next(row for row in nodes if row["name"] == "fever")
    >>> [fever[c] for c in ("id", "category", "provided_by", "n_patients")]
    ['HP:0001945', 'biolink:PhenotypicFeature', 'infores:kgmed', '365']
    >>> edge = next(e for e in edges if e["predicate"] == "biolink:has_phenotype"
    ...             and e["object"] == "HP:0001945")
    >>> [edge[c] for c in ("category", "knowledge_level", "agent_type")]
    ['biolink:Association', 'statistical_association', 'data_analysis_pipeline']
    >>> len(nodes) == len(kg), len(edges) == kg.graph.number_of_edges()
    (True, True)
    """
    name = _check_prefix(prefix)
    target = _folder(folder)
    floor = int(kg.params.get("min_patients", 11))
    curies = _curies(kg)
    node_rows = sorted(_node_rows(kg, curies, floor))
    # subject, predicate, object, then kgmed's relation and the edge id.
    edge_rows = sorted(_edge_rows(kg, curies, floor), key=lambda r: (r[1], r[2], r[3], r[9], r[0]))
    nodes_path = target / f"{name}_nodes.tsv"
    edges_path = target / f"{name}_edges.tsv"
    _write(nodes_path, KGX_NODE_COLUMNS, node_rows)
    _write(edges_path, KGX_EDGE_COLUMNS, edge_rows)
    return nodes_path, edges_path


def _check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise ParameterError(f"prefix must be a string, got {type(prefix).__name__}")
    separators = {"/", "\\", os.sep, *((os.altsep,) if os.altsep else ())}
    if (
        not prefix.strip()
        or prefix in (".", "..")
        or any(s in prefix for s in separators)
        or re.search(r"[\x00-\x1f\x7f]", prefix)
    ):
        raise ParameterError(
            f"prefix names the files {{prefix}}_nodes.tsv and {{prefix}}_edges.tsv in the "
            f"folder: it must be non-empty, with no path separator or control character "
            f"(such as 'kgmed'), got {prefix!r}"
        )
    return prefix


def _folder(folder: str | os.PathLike[str]) -> Path:
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise ParameterError(f"{target} is a file; to_kgx writes two files into a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise ParameterError(
            f"cannot make the folder {target}: a part of its path is a file ({err})"
        ) from err
    return target


def _write(path: Path, columns: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> None:
    lines = ["\t".join(columns), *("\t".join(row) for row in rows)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if path.is_dir():
        raise ParameterError(f"{path} is a folder; to_kgx cannot write the file there")
    path.write_bytes(data)


# -- nodes -------------------------------------------------------------------


def _curies(kg: KnowledgeGraph) -> dict[str, str]:
    """The CURIE written for each concept that is not a rule or cohort node."""
    curies: dict[str, str] = {}
    seen: dict[str, str] = {}
    for node, attrs in kg.graph.nodes(data=True):
        kind = attrs.get("kind")
        if kind in ("rule", "cohort"):
            continue
        if kind not in BIOLINK_CATEGORIES:
            raise GraphError(
                f"concept {node!r} has kind {kind!r}, which has no Biolink category; "
                f"kinds are {sorted(BIOLINK_CATEGORIES)}"
            )
        text = str(node)
        curie = _curie_cell(text if _CURIE_RE.match(text) else f"local:{text}")
        if curie in seen:
            raise GraphError(
                f"concepts {seen[curie]!r} and {node!r} would both be written as {curie!r}"
            )
        seen[curie] = text
        curies[node] = curie
    return curies


def _node_rows(
    kg: KnowledgeGraph, curies: Mapping[str, str], floor: int
) -> Iterable[tuple[str, ...]]:
    for node, curie in curies.items():
        attrs = kg.graph.nodes[node]
        xrefs = sorted({str(x) for x in attrs.get("xrefs") or () if not _is_missing(x)})
        yield (
            curie,
            _biolink_curie(BIOLINK_CATEGORIES[attrs["kind"]]),
            _text(attrs.get("label")),
            "|".join(_curie_cell(x) for x in xrefs),
            _INFORES,
            _text(attrs.get("kind")),
            _text(attrs.get("system")),
            _text(attrs.get("code")),
            _count(attrs.get("n_patients"), floor),
        )


# -- edges -------------------------------------------------------------------


def _edge_rows(
    kg: KnowledgeGraph, curies: Mapping[str, str], floor: int
) -> Iterable[tuple[str, ...]]:
    for source, target, relation, attrs in kg.graph.edges(keys=True, data=True):
        if relation in _RULE_RELATIONS or source not in curies or target not in curies:
            continue
        if relation not in BIOLINK_PREDICATES:
            raise GraphError(
                f"edge {source!r} -> {target!r} has relation {relation!r}, which has no "
                f"Biolink predicate; relations are {sorted(BIOLINK_PREDICATES)}"
            )
        provenance = _text(attrs.get("provenance"))
        level, made_by, primary, aggregator = _knowledge(attrs.get("provenance"))
        yield (
            "urn:uuid:" + association_id(source, relation, target),
            curies[source],
            _biolink_curie(BIOLINK_PREDICATES[relation]),
            curies[target],
            "biolink:Association",
            level,
            made_by,
            primary,
            aggregator,
            _text(relation),
            *(_count(attrs.get(name), floor) for name in _EDGE_COUNTS),
            *(_number(attrs.get(name)) for name in _EDGE_STATISTICS),
            _boolean(attrs.get("direct")),
            _boolean(attrs.get("holds")),
            provenance,
        )


def _knowledge(provenance: Any) -> tuple[str, str, str, str]:
    """knowledge_level, agent_type, primary and aggregator knowledge sources of an edge."""
    text = "" if _is_missing(provenance) else str(provenance)
    parts = [part.strip() for part in text.split(";") if part.strip()]
    if "mined" in parts:
        return "statistical_association", "data_analysis_pipeline", _INFORES, ""
    if "recorded" in parts:
        return "observation", "data_analysis_pipeline", _INFORES, ""
    curated = [part.partition(":")[2] for part in parts if part.startswith("curated:")]
    if curated:
        return "knowledge_assertion", "not_provided", _infores(curated[0]), _INFORES
    return "not_provided", "not_provided", _INFORES, ""


def _infores(name: str) -> str:
    """An infores id for a curated source's name (``"Hetionet"`` -> ``infores:hetionet``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return "infores:" + (slug or _curie_cell(name) or "unknown")


# -- cells -------------------------------------------------------------------


def _biolink_curie(iri: Any) -> str:
    text = str(iri)
    assert text.startswith(str(BIOLINK))
    return "biolink:" + text[len(str(BIOLINK)) :]


def _encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group(0).encode("utf-8"))


def _text(value: Any) -> str:
    """A text cell: empty when missing, unsafe characters percent-encoded."""
    if _is_missing(value):
        return ""
    return _TEXT_UNSAFE.sub(_encode, str(value))


def _curie_cell(text: str) -> str:
    return _CURIE_UNSAFE.sub(_encode, text)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        # pandas.NA and friends: comparing them does not give a plain bool.
        return True


def _count(value: Any, floor: int) -> str:
    """A count; empty when missing, or under the privacy floor (0 < n < floor)."""
    if isinstance(value, bool) or _is_missing(value):
        return ""
    n = int(value)
    if 0 < n < floor:
        return ""
    return str(n)


def _number(value: Any) -> str:
    if isinstance(value, bool) or _is_missing(value):
        return ""
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return ""


def _boolean(value: Any) -> str:
    if _is_missing(value):
        return ""
    return "true" if bool(value) else "false"
