r"""Interactive HTML pages of a graph: self-contained, offline, safe against hostile labels.

Pages are drawn by vis-network, the library pyvis wraps: kgmed fills a
:class:`pyvis.network.Network` with its nodes, edges and options, and renders
it with a template of its own (``kgmed/templates/graph.html``) that inlines
vis-network's JavaScript and CSS from pyvis's package. The page loads
nothing from the network (its Content-Security-Policy forbids it), so it
opens from a USB stick on a machine with no internet, and in notebooks
(shown in an ``<iframe srcdoc>``, with no CDN and no ``lib/`` folder).

Every label and tooltip reaches the page as data: JSON escaped by Jinja's
``tojson`` (``<`` arrives as ``\u003c``) inside the script, autoescaped
HTML elsewhere; vis-network draws labels on a canvas and puts tooltips in
with ``innerText``. A concept named ``<img src=x onerror=alert(1)>`` shows
as that text.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from kgmed._validation import as_number, check_positive_int
from kgmed.errors import ParameterError
from kgmed.schema import RELATIONS

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph
    from kgmed.linking import PatientLink
    from kgmed.reasoning import Path as Path_

__all__ = [
    "KIND_STYLES",
    "PATH_COLORS",
    "RELATION_COLORS",
    "GraphPage",
    "graph_page",
    "link_page",
    "paths_page",
    "to_html",
]

#: Colour and vis-network shape of each node kind.
KIND_STYLES: dict[str, tuple[str, str]] = {
    "disease": ("#d1495b", "dot"),
    "symptom": ("#edae49", "triangle"),
    "treatment": ("#00798c", "square"),
    "finding": ("#8d6a9f", "triangleDown"),
    "procedure": ("#30638e", "star"),
    "lab": ("#66a182", "hexagon"),
    "rule": ("#9e9e9e", "box"),
    "cohort": ("#3b5b92", "diamond"),
}

#: Colour of each relation's edges.
RELATION_COLORS: dict[str, str] = {
    "has_symptom": "#e07a5f",
    "treated_with": "#3d9970",
    "comorbid_with": "#b5179e",
    "co_occurs_with": "#f2cc8f",
    "co_prescribed_with": "#81b29a",
    "associated_with": "#b0b0b0",
    "antecedent_of": "#9e9e9e",
    "implies": "#616161",
    "characterized_by": "#7b8fb8",
}

# Above this many nodes, vis-network's "improved layout" (slow on big
# graphs) is off, edges hide while dragging, and stabilisation is shorter.
_LARGE = 300


@dataclass
class GraphPage:
    """A self-contained HTML page of a graph, as ``KnowledgeGraph.show`` returns it.

    Attributes
    ----------
    html : str
        The whole page.
    n_nodes, n_edges : int
        What the page draws.
    n_nodes_total, n_edges_total : int
        What the graph (after the filters asked for) holds.
    """

    html: str
    n_nodes: int
    n_edges: int
    n_nodes_total: int
    n_edges_total: int
    height: str = "720px"
    notes: list[str] = field(default_factory=list)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (UTF-8) and return the path."""
        target = Path(path)
        target.write_text(self.html, encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        # An iframe with the page as srcdoc: notebooks (Jupyter, JupyterLab,
        # VS Code) run it as a page of its own, with nothing to fetch.
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            f'style="width: 100%; height: {_frame_height(self.height)}; border: 0" '
            'sandbox="allow-scripts"></iframe>'
        )

    def __repr__(self) -> str:
        return (
            f"<GraphPage: {self.n_nodes:,} of {self.n_nodes_total:,} concepts, "
            f"{self.n_edges:,} of {self.n_edges_total:,} relations, {len(self.html):,} characters>"
        )


def _frame_height(height: str) -> str:
    if height.endswith("px"):
        try:
            return f"{int(float(height[:-2])) + 80}px"
        except ValueError:
            return height
    return height


def graph_page(
    kg: KnowledgeGraph,
    *,
    focus: str | Sequence[str] | None = None,
    depth: int = 2,
    max_nodes: int = 500,
    max_edges: int | None = 3000,
    min_lift: float | None = None,
    relations: Iterable[str] | None = None,
    title: str | None = None,
    height: str = "720px",
) -> GraphPage:
    """An interactive page of the graph, or of the neighbourhood of a concept.

    Parameters
    ----------
    kg : KnowledgeGraph
    focus : str or sequence of str, optional
        A concept (or several) to centre on; the page draws what lies within
        ``depth`` relations of it. Any term
        :meth:`kgmed.KnowledgeGraph.resolve` reads.
    depth : int, default 2
        How many relations away from ``focus`` to draw.
    max_nodes : int, default 500
        At most this many concepts: the closest to ``focus`` (or, without
        one, those with the most patients), then those with the most
        patients. The page says what was left out.
    max_edges : int or None, default 3000
        At most this many relations between the drawn concepts: those that
        touch ``focus`` first, then the strongest (by direct weight, else by
        the larger of the two conditionals; curated and recorded relations,
        which carry no such figure, count as strongest). Dense graphs draw
        and settle far faster with fewer edges; the page says how many were
        left out. None draws them all.
    min_lift : float, optional
        Draw only relations with at least this lift (curated relations,
        which have no lift, are kept).
    relations : iterable of str, optional
        Draw only these relations (see :data:`kgmed.schema.RELATIONS`).
    title : str, optional
        The page's title.
    height : str, default "720px"
        The CSS height of the drawing.

    Returns
    -------
    GraphPage

    Raises
    ------
    ConceptNotFound
        If ``focus`` names no concept.
    ParameterError
        If a relation is unknown, or ``depth``, ``max_nodes``,
        ``max_edges`` or ``min_lift`` is out of range.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    >>> page = kgmed.viz.graph_page(kg, focus="influenza", depth=1)
    >>> page.n_nodes == 1 + len(set(kg.neighbors("influenza")["id"]))
    True
    >>> "https://" in page.html.split("<script>")[0]   # nothing to fetch
    False
    """
    depth = check_positive_int("depth", depth, minimum=0)
    max_nodes = check_positive_int("max_nodes", max_nodes)
    if max_edges is not None:
        max_edges = check_positive_int("max_edges", max_edges, minimum=0)
    if min_lift is not None and (
        isinstance(min_lift, bool)
        or not isinstance(min_lift, (int, float))
        or not math.isfinite(min_lift)
    ):
        raise ParameterError(f"min_lift must be a finite number, got {min_lift!r}")
    wanted = _check_relations(relations)
    view = _filtered(kg.graph, wanted, min_lift)
    centres = _centres(kg, focus)
    chosen, total = _choose(kg.graph, view, centres, depth, max_nodes)
    drawn = view.subgraph(chosen)
    among = _edges(drawn)
    kept = _strongest(among, set(centres), max_edges)
    nodes = [_node(node, kg.graph.nodes[node], node in centres) for node in chosen]
    edges = [_edge(kg.graph, u, v, key, attrs) for u, v, key, attrs in kept]
    n_edges_total = _count_edges(view, total)
    heading = title or _title(kg, centres)
    notes = _notes(
        len(chosen),
        len(total),
        len(edges),
        len(among),
        n_edges_total,
        centres,
        max_nodes,
        max_edges,
    )
    page = _render(
        heading=heading,
        nodes=nodes,
        edges=edges,
        notes=notes,
        height=height,
        sections=[],
    )
    return GraphPage(page, len(nodes), len(edges), len(total), n_edges_total, height, notes)


def to_html(kg: KnowledgeGraph, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write :func:`graph_page` to ``path``; see :meth:`kgmed.KnowledgeGraph.to_html`.

    Examples
    --------
    >>> import kgmed, tempfile, os
    >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = kgmed.viz.to_html(kg, os.path.join(tmp, "kg.html"), focus="asthma")
    ...     path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True
    """
    return graph_page(kg, **options).save(path)


#: Colours of the first, second... path on a paths page.
PATH_COLORS: tuple[str, ...] = ("#1b4332", "#2d6a4f", "#40916c", "#74c69d", "#95d5b2")


def link_page(
    kg: KnowledgeGraph,
    link: PatientLink,
    *,
    top: int = 3,
    n_questions: int = 3,
    title: str | None = None,
    height: str = "720px",
) -> GraphPage:
    """A page of one patient linked to the knowledge.

    It draws the patient's concepts (present symptoms with a thick border,
    absent ones dashed), the ``top`` leading diagnoses (labelled with their
    probability), the treatments suggested for them and the symptoms worth
    asking about next (dotted), with every relation of the graph between
    them; beside the drawing it lists the same with their evidence.

    Parameters
    ----------
    kg : KnowledgeGraph
        The graph the patient was linked to.
    link : PatientLink
        What :meth:`kgmed.KnowledgeGraph.link` returned.
    top : int, default 3
        Leading diagnoses drawn.
    n_questions : int, default 3
        Next questions drawn.
    title, height
        As in :func:`graph_page`.

    Returns
    -------
    GraphPage

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> link = kg.link({"present": ["fever", "cough"], "absent": ["runny nose"]})
    >>> page = kgmed.viz.link_page(kg, link, top=2)
    >>> "Leading diagnoses" in page.html
    True
    """
    top = check_positive_int("top", top)
    n_questions = check_positive_int("n_questions", n_questions, minimum=0)
    roles: dict[str, str] = {}
    for row in link.matched.itertuples(index=False):
        roles.setdefault(str(row.id), str(row.role))
    diagnoses = link.diagnoses.head(top)
    for concept in diagnoses["id"]:
        roles.setdefault(str(concept), "candidate")
    shown = set(diagnoses["id"].astype(str)) | {c for c, r in roles.items() if r == "diagnosis"}
    treatments = (
        link.treatments[
            link.treatments["diagnosis"].isin(
                [kg.graph.nodes[c].get("label") for c in shown if c in kg.graph]
            )
        ]
        if len(link.treatments)
        else link.treatments
    )
    for concept in treatments["id"]:
        roles.setdefault(str(concept), "suggested")
    for concept in link.next_questions["id"].head(n_questions):
        roles.setdefault(str(concept), "question")
    chosen = [c for c in roles if c in kg.graph]
    scores = dict(zip(diagnoses["id"].astype(str), diagnoses["score"], strict=True))
    nodes = []
    for concept in chosen:
        node = _node(concept, kg.graph.nodes[concept], False)
        role = roles[concept]
        node["title"] += "\n" + _ROLE_TEXT[role]
        if concept in scores:
            node["label"] = f"{node['label']} ({scores[concept]:.0%})"
            node["title"] += f"\nprobability {scores[concept]:.2f}"
        node.update(_ROLE_STYLE[role])
        nodes.append(node)
    drawn = kg.graph.subgraph(chosen)
    edges = [
        _edge(kg.graph, u, v, key, attrs)
        for u, v, key, attrs in _edges(drawn)
        if key in ("has_symptom", "treated_with", "comorbid_with")
    ]
    sections = [
        {
            "id": "patient",
            "title": "The patient",
            "rows": [
                f"{row['label']}: {_ROLE_TEXT[str(row['role'])]}"
                + (
                    f" (for '{row['term']}', {row['how']})"
                    if row["how"] not in ("id", "label")
                    else ""
                )
                for row in _rows(link.matched)
            ]
            + [
                f"not found: '{row['term']}'"
                + (
                    f" (did you mean {', '.join(map(str, row['suggestions']))}?)"
                    if len(row["suggestions"])
                    else ""
                )
                for row in _rows(link.unmatched)
            ],
            "empty": "Nothing matched.",
        },
        {
            "id": "diagnoses",
            "title": "Leading diagnoses",
            "rows": [_diagnosis_text(row) for row in diagnoses.itertuples(index=False)],
            "empty": "No symptom to weigh.",
        },
        {
            "id": "treatments",
            "title": "Treatments recorded with them",
            "rows": [
                f"{row['label']} with {row['diagnosis']}: "
                f"{row['p_treatment_given_disease']:.0%} of its patients "
                f"({int(row['n_patients']):,})"
                for row in _rows(treatments)
            ],
            "empty": "None the evidence speaks for.",
        },
        {
            "id": "questions",
            "title": "Ask next",
            "rows": [
                f"{row.label}: {row.information_gain:.2f} bits expected, "
                f"{row.p_yes:.0%} chance of yes"
                for row in link.next_questions.head(n_questions).itertuples(index=False)
            ],
            "empty": "Nothing left that would separate the candidates.",
        },
    ]
    page = _render(
        heading=title or "kgmed: one patient linked to the knowledge",
        nodes=nodes,
        edges=edges,
        notes=[f"{len(nodes):,} concepts and {len(edges):,} relations drawn.", *link.notes],
        height=height,
        sections=sections,
    )
    return GraphPage(page, len(nodes), len(edges), len(nodes), len(edges), height)


def paths_page(
    paths: Sequence[Path_],
    *,
    title: str | None = None,
    height: str = "600px",
) -> GraphPage:
    """A page of paths between concepts, best first, each hop with its evidence.

    Parameters
    ----------
    paths : sequence of kgmed.reasoning.Path
        What :meth:`kgmed.KnowledgeGraph.paths` returned.
    title, height
        As in :func:`graph_page`.

    Returns
    -------
    GraphPage
        Nodes are the concepts on the paths; an edge per hop, coloured by the
        best path it belongs to and labelled with that path's rank.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> page = kgmed.viz.paths_page(kg.paths("fever", "oseltamivir", k=3))
    >>> page.n_edges >= 2
    True
    """
    paths = list(paths)
    if not paths:
        raise ParameterError("no path to draw: kg.paths(...) found none")
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    ends = {paths[0].nodes[0], paths[0].nodes[-1]}
    for rank, path in enumerate(paths, start=1):
        kinds = path.kinds or ("",) * len(path.nodes)
        for concept, label, kind in zip(path.nodes, path.labels, kinds, strict=True):
            if concept not in nodes:
                color, shape = KIND_STYLES.get(kind, ("#cccccc", "dot"))
                nodes[concept] = {
                    "id": concept,
                    "label": label if len(label) <= 40 else label[:39] + "…",
                    "title": f"{label}\n{kind} · {concept}".strip(),
                    "group": kind or "concept",
                    "shape": shape,
                    "color": color,
                    "value": 10.0,
                    "borderWidth": 4 if concept in ends else 1,
                }
        for hop in path.hops:
            key = (hop.source, hop.relation, hop.target)
            if key in edges:
                continue
            color = PATH_COLORS[min(rank, len(PATH_COLORS)) - 1]
            edges[key] = {
                "id": "|".join(key),
                "from": hop.source,
                "to": hop.target,
                "title": f"path {rank}\n{hop.explain()}",
                "label": str(rank),
                "color": {"color": color},
                "width": round(1.0 + 7.0 * hop.probability, 2),
                "arrows": "to" if hop.forward else "from",
                "relation": hop.relation,
            }
    start, end = paths[0].labels[0], paths[0].labels[-1]
    sections = [
        {
            "id": "paths",
            "title": f"Paths from {start} to {end}, best first",
            "rows": [
                f"{rank}. {path.explain()} (probability {path.probability:.2g})"
                for rank, path in enumerate(paths, start=1)
            ],
            "empty": "",
        }
    ]
    page = _render(
        heading=title or f"kgmed: from {start} to {end}",
        nodes=list(nodes.values()),
        edges=list(edges.values()),
        notes=[f"{len(paths)} paths, {len(nodes)} concepts, {len(edges)} hops drawn."],
        height=height,
        sections=sections,
    )
    return GraphPage(page, len(nodes), len(edges), len(nodes), len(edges), height)


_ROLE_TEXT: dict[str, str] = {
    "present": "the patient has it",
    "absent": "the patient does not have it",
    "diagnosis": "a diagnosis already made",
    "treatment": "the patient takes it",
    "candidate": "a candidate diagnosis",
    "suggested": "recorded with a leading diagnosis",
    "question": "worth asking about next",
}
_ROLE_STYLE: dict[str, dict[str, Any]] = {
    "present": {"borderWidth": 4},
    "absent": {"borderWidth": 3, "shapeProperties": {"borderDashes": [6, 4]}, "opacity": 0.6},
    "diagnosis": {"borderWidth": 4},
    "treatment": {"borderWidth": 4},
    "candidate": {"borderWidth": 2},
    "suggested": {"borderWidth": 2},
    "question": {"borderWidth": 2, "shapeProperties": {"borderDashes": [2, 3]}, "opacity": 0.7},
}


def _rows(frame: Any) -> list[dict[str, Any]]:
    return list(frame.to_dict("records"))


def _diagnosis_text(row: Any) -> str:
    text = f"{row.label}: probability {row.score:.2f} ({row.prior:.2f} before the evidence)"
    supporting = ", ".join(str(label) for label, _ in row.supporting)
    against = ", ".join(str(label) for label, _ in row.against)
    if supporting:
        text += f"; for: {supporting}"
    if against:
        text += f"; against: {against}"
    return text


# -- choosing what to draw -----------------------------------------------------------


def _check_relations(relations: Iterable[str] | None) -> set[str] | None:
    if relations is None:
        return None
    if isinstance(relations, str):
        relations = [relations]
    wanted = set(relations)
    unknown = sorted(wanted - set(RELATIONS))
    if unknown:
        raise ParameterError(f"unknown relations {unknown}; relations are {sorted(RELATIONS)}")
    return wanted


def _filtered(
    graph: nx.MultiDiGraph[str], relations: set[str] | None, min_lift: float | None
) -> nx.MultiDiGraph[str]:
    def keep(u: str, v: str, key: str) -> bool:
        if relations is not None and key not in relations:
            return False
        if min_lift is not None:
            lift = graph.edges[u, v, key].get("lift")
            if lift is not None and not math.isnan(lift) and lift < min_lift:
                return False
        return True

    return nx.subgraph_view(graph, filter_edge=keep)  # type: ignore[arg-type]


def _centres(kg: KnowledgeGraph, focus: str | Sequence[str] | None) -> list[str]:
    if focus is None:
        return []
    terms = [focus] if isinstance(focus, str) else list(focus)
    return list(dict.fromkeys(kg.resolve(term) for term in terms))


def _patients(graph: nx.MultiDiGraph[str], node: str) -> int:
    n = graph.nodes[node].get("n_patients")
    return int(n) if n is not None and not (isinstance(n, float) and math.isnan(n)) else 0


def _choose(
    graph: nx.MultiDiGraph[str],
    view: nx.MultiDiGraph[str],
    centres: list[str],
    depth: int,
    max_nodes: int,
) -> tuple[list[str], list[str]]:
    """The nodes to draw, in drawing order, and all the candidates."""
    if centres:
        distance: dict[str, int] = {}
        undirected = view.to_undirected(as_view=True)
        for centre in centres:
            for node, d in nx.single_source_shortest_path_length(
                undirected, centre, cutoff=depth
            ).items():
                distance[node] = min(d, distance.get(node, d))
        candidates = sorted(distance, key=lambda n: (distance[n], -_patients(graph, n), n))
    else:
        candidates = sorted(graph.nodes, key=lambda n: (-_patients(graph, n), n))
    return candidates[:max_nodes], candidates


def _edges(graph: nx.MultiDiGraph[str]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return sorted(graph.edges(keys=True, data=True), key=lambda e: (e[2], e[0], e[1]))


def _strength(attrs: dict[str, Any]) -> float:
    """How strong a relation is, for choosing which to draw: 1 when unknown."""
    weight = as_number(attrs.get("direct_weight"))
    if weight is not None:
        return weight
    conditionals = [
        value
        for value in (
            as_number(attrs.get("p_target_given_source")),
            as_number(attrs.get("p_source_given_target")),
        )
        if value is not None
    ]
    return max(conditionals) if conditionals else 1.0


def _strongest(
    edges: list[tuple[str, str, str, dict[str, Any]]], centres: set[str], max_edges: int | None
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """At most ``max_edges`` of ``edges``: those touching a centre, then the strongest.

    The kept edges stay in the order of ``edges``, so a page does not depend
    on which were left out.
    """
    if max_edges is None or len(edges) <= max_edges:
        return edges
    ranked = sorted(
        range(len(edges)),
        key=lambda i: (
            not (edges[i][0] in centres or edges[i][1] in centres),
            -_strength(edges[i][3]),
            i,
        ),
    )
    keep = sorted(ranked[:max_edges])
    return [edges[i] for i in keep]


def _count_edges(view: nx.MultiDiGraph[str], nodes: list[str]) -> int:
    return int(view.subgraph(nodes).number_of_edges())


# -- what each node and edge says ------------------------------------------------------


def _node(node: str, attrs: dict[str, Any], centre: bool) -> dict[str, Any]:
    kind = str(attrs.get("kind"))
    color, shape = KIND_STYLES.get(kind, ("#cccccc", "dot"))
    label = str(attrs.get("label") or node)
    n = as_number(attrs.get("n_patients"))
    lines = [label, f"{kind} · {node}"]
    if attrs.get("system") and attrs.get("code"):
        lines.append(f"code {attrs['code']} in {attrs['system']}")
    lines.append(f"{int(n):,} patients" if n is not None else "known from curated knowledge")
    if attrs.get("xrefs"):
        lines.append("also " + ", ".join(str(x) for x in attrs["xrefs"]))
    payload: dict[str, Any] = {
        "id": node,
        "label": label if len(label) <= 40 else label[:39] + "…",
        "title": "\n".join(lines),
        "group": kind,
        "shape": shape,
        "color": color,
        "value": max(n or 0.0, 1.0),
    }
    if centre:
        payload["borderWidth"] = 4
        payload["font"] = {"size": 18, "bold": True}
    return payload


def _edge(
    graph: nx.MultiDiGraph[str], u: str, v: str, key: str, attrs: dict[str, Any]
) -> dict[str, Any]:
    source = str(graph.nodes[u].get("label") or u)
    target = str(graph.nodes[v].get("label") or v)
    relation = RELATIONS.get(key)
    symmetric = bool(relation and relation.symmetric)
    arrow = "↔" if symmetric else "→"
    lines = [f"{source} {arrow} {target}", key.replace("_", " ")]
    forward = as_number(attrs.get("p_target_given_source"))
    backward = as_number(attrs.get("p_source_given_target"))
    n_both, n_source, n_target = (
        as_number(attrs.get(name)) for name in ("n_both", "n_source", "n_target")
    )
    if forward is not None:
        counts = (
            f" ({int(n_both):,} of {int(n_source):,})"
            if n_both is not None and n_source is not None
            else ""
        )
        lines.append(f"{forward:.0%} of patients with {source} had {target}{counts}")
    if backward is not None:
        counts = (
            f" ({int(n_both):,} of {int(n_target):,})"
            if n_both is not None and n_target is not None
            else ""
        )
        lines.append(f"{backward:.0%} of patients with {target} had {source}{counts}")
    figures = []
    lift = as_number(attrs.get("lift"))
    if lift is not None:
        figures.append(f"lift {lift:.2f}")
    q_value = as_number(attrs.get("q_value"))
    if q_value is not None:
        figures.append(f"q = {q_value:.2g}")
    weight = as_number(attrs.get("direct_weight"))
    if weight is not None:
        figures.append(f"direct weight {weight:.2f}")
    if figures:
        lines.append(", ".join(figures))
    if attrs.get("provenance"):
        lines.append(f"source: {attrs['provenance']}")
    strength = weight if weight is not None else forward
    width = 1.0 + 7.0 * (strength if strength is not None else 0.3)
    return {
        "id": f"{u}|{key}|{v}",
        "from": u,
        "to": v,
        "title": "\n".join(lines),
        "color": {"color": RELATION_COLORS.get(key, "#b0b0b0"), "opacity": 0.8},
        "width": round(width, 2),
        "arrows": "" if symmetric else "to",
        "relation": key,
    }


def _title(kg: KnowledgeGraph, centres: list[str]) -> str:
    if centres:
        names = ", ".join(str(kg.graph.nodes[c].get("label") or c) for c in centres)
        return f"kgmed: around {names}"
    n = kg.params.get("n_patients")
    return f"kgmed: knowledge graph of {n:,} patients" if n else "kgmed: knowledge graph"


def _notes(
    n_nodes: int,
    n_total: int,
    n_edges: int,
    n_among: int,
    n_edges_total: int,
    centres: list[str],
    max_nodes: int,
    max_edges: int | None,
) -> list[str]:
    notes = [f"{n_nodes:,} concepts and {n_edges:,} relations drawn."]
    if n_nodes < n_total:
        rule = "closest to the focus, then with most patients" if centres else "with most patients"
        notes.append(
            f"Left out: {n_total - n_nodes:,} of {n_total:,} concepts and the "
            f"{n_edges_total - n_among:,} relations that touch them (max_nodes={max_nodes:,} "
            f"keeps the concepts {rule})."
        )
    if n_edges < n_among:
        rule = "touching the focus, then the strongest" if centres else "the strongest"
        notes.append(
            f"Left out: {n_among - n_edges:,} of the {n_among:,} relations between the "
            f"concepts drawn (max_edges={max_edges:,} keeps those {rule})."
        )
    if len(notes) > 1:
        notes.append("Use focus= and depth= to draw another part.")
    return notes


# -- the page ------------------------------------------------------------------------


def _options(n_nodes: int) -> dict[str, Any]:
    large = n_nodes > _LARGE
    return {
        "autoResize": True,
        "nodes": {
            "scaling": {"min": 8, "max": 40, "label": {"enabled": False}},
            "font": {"size": 14, "face": "system-ui, sans-serif"},
            "borderWidth": 1,
        },
        "edges": {"smooth": False, "selectionWidth": 2},
        "interaction": {
            "hover": True,
            "tooltipDelay": 150,
            "hideEdgesOnDrag": large,
            "navigationButtons": False,
        },
        "layout": {"improvedLayout": not large, "randomSeed": 7},
        "physics": {
            "enabled": n_nodes > 1,
            "solver": "forceAtlas2Based",
            "forceAtlas2Based": {"gravitationalConstant": -60, "springLength": 110},
            "stabilization": {
                "enabled": True,
                "iterations": 400 if not large else (200 if n_nodes <= 2000 else 100),
                "updateInterval": 50,
                "fit": True,
            },
        },
    }


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from pyvis.network import Network

    here = Path(__file__).resolve().parent / "templates"
    pyvis_templates = Path(Network().template_dir)
    return Environment(
        loader=FileSystemLoader([str(here), str(pyvis_templates)]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=True,
    )


def _render(
    *,
    heading: str,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    notes: list[str],
    height: str,
    sections: list[dict[str, Any]],
) -> str:
    from pyvis.network import Network

    # pyvis holds the network; its add_node/add_edge scan what is there
    # already for each call (quadratic on big graphs), so it is filled whole.
    network = Network(height=height, directed=True, cdn_resources="in_line")
    network.nodes = nodes
    network.edges = edges
    network.node_ids = [n["id"] for n in nodes]
    network.options = _options(len(nodes))
    nodes_data, edges_data, _, height_data, _, options = network.get_network_data()
    kinds: dict[str, int] = {}
    for node in nodes_data:
        kinds[node["group"]] = kinds.get(node["group"], 0) + 1
    relations: dict[str, int] = {}
    for edge in edges_data:
        relations[edge["relation"]] = relations.get(edge["relation"], 0) + 1
    import json

    template = _environment().get_template("graph.html")
    return str(
        template.render(
            title=heading,
            height=_css_length(height_data),
            nodes=nodes_data,
            edges=edges_data,
            options=json.loads(options),
            labels=sorted({str(n["label"]) for n in nodes_data}),
            shown=notes[0] if notes else "",
            left_out=" ".join(notes[1:]),
            legend_kinds=[
                {
                    "name": kind,
                    "color": KIND_STYLES[kind][0],
                    "shape": KIND_STYLES[kind][1],
                    "count": count,
                }
                for kind, count in sorted(kinds.items())
                if kind in KIND_STYLES
            ],
            legend_relations=[
                {
                    "name": relation.replace("_", " "),
                    "color": RELATION_COLORS[relation],
                    "count": count,
                }
                for relation, count in sorted(relations.items())
                if relation in RELATION_COLORS
            ],
            strength="the direct weight, else the share of the source's patients with the target",
            sections=sections,
            footer=(
                "What the records of many patients show, not a diagnosis. No patient "
                "identifier is on this page."
            ),
        )
    )


def _css_length(value: str) -> str:
    text = str(value).strip()
    if not text or any(c in text for c in ";{}<>\"'"):
        raise ParameterError(f"height must be a CSS length such as '720px', got {value!r}")
    return text
