"""Paths through the graph, explained with the evidence behind every hop.

A path's cost is the sum over its hops of ``-log P(next | current)``, the
conditional of the concept stepped to given the one stepped from, so the
cheapest path is the one whose hops are most probable in the records. The
search runs networkx's ``all_simple_paths`` with a hop cutoff on a directed
view of the graph that holds, for each ordered pair of concepts, its most
probable hop, restricted to the concepts that can lie on a short enough
path, and keeps the cheapest.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from kgmed._validation import check_choice, check_fraction, check_positive_int
from kgmed.errors import ParameterError
from kgmed.schema import KINDS, RELATIONS

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph

__all__ = ["PATH_RELATIONS", "WEIGHTS", "Hop", "Path", "paths", "similar"]

#: Values of ``weight`` in :func:`paths`: ``"conditional"`` (cost
#: ``-log P(next | current)``), ``"lift"`` (cost ``-log(lift / (1 + lift))``,
#: favouring strong associations over common concepts) and ``"hops"``
#: (every hop costs 1).
WEIGHTS: tuple[str, ...] = ("conditional", "lift", "hops")

# Relations that carry no patient meaning between concepts: left out of paths.
_NOT_PATHS = frozenset({"antecedent_of", "implies"})

#: Relations :func:`paths` walks by default: the relations between a disease
#: and what goes with it. Co-occurrence among symptoms or among drugs, and
#: ``associated_with``, are left out unless asked for.
PATH_RELATIONS: tuple[str, ...] = ("has_symptom", "treated_with", "comorbid_with")


@dataclass(frozen=True)
class Hop:
    """One step of a path, with the evidence for it.

    Attributes
    ----------
    source, target : str
        Concept ids stepped from and to.
    source_label, target_label : str
        Their labels.
    relation : str
        The edge's relation.
    forward : bool
        True when the step follows the edge's direction (disease to symptom
        for ``has_symptom``).
    probability : float
        P(target | source): the share of patients with ``source`` who also
        have ``target``; NaN for a curated edge.
    n_patients : int or None
        Patients with both; None for a curated edge.
    n_from : int or None
        Patients with ``source`` (the conditional's denominator).
    q_value : float
        The edge's q-value; NaN for a curated edge.
    provenance : str
        ``mined``, ``recorded``, ``curated:<source>``, or several.
    """

    source: str
    target: str
    source_label: str
    target_label: str
    relation: str
    forward: bool
    probability: float
    n_patients: int | None
    n_from: int | None
    q_value: float
    provenance: str

    def explain(self) -> str:
        """One sentence of evidence for this hop.

        Examples
        --------
        >>> from kgmed.reasoning import Hop
        >>> hop = Hop("d", "s", "influenza", "fever", "has_symptom", True, 0.82, 987, 1204,
        ...           1e-30, "mined")
        >>> hop.explain()
        'of 1,204 patients with influenza, 82% (987) had fever (has_symptom, q = 1e-30)'
        """
        if self.n_patients is None or self.n_from is None or math.isnan(self.probability):
            sources = self.provenance.replace("curated:", "")
            return (
                f"{self.source_label} {self.relation.replace('_', ' ')} {self.target_label} "
                f"according to {sources} (no patient counts)"
                if self.forward
                else f"{self.target_label} {self.relation.replace('_', ' ')} "
                f"{self.source_label} according to {sources} (no patient counts)"
            )
        return (
            f"of {self.n_from:,} patients with {self.source_label}, "
            f"{self.probability:.0%} ({self.n_patients:,}) had {self.target_label} "
            f"({self.relation}, q = {self.q_value:.2g})"
        )


@dataclass(frozen=True)
class Path:
    """A path between two concepts, hop by hop.

    Attributes
    ----------
    nodes : tuple of str
        Concept ids from the start to the end.
    labels : tuple of str
        Their labels.
    hops : tuple of Hop
        The steps, each with its evidence.
    cost : float
        The path's cost under the weight it was found with (lower is better).
    """

    nodes: tuple[str, ...]
    labels: tuple[str, ...]
    hops: tuple[Hop, ...]
    cost: float
    kinds: tuple[str, ...] = ()

    def to_html(self, path: Any, **options: Any) -> Any:
        """Write a page drawing this path, each hop with its evidence.

        See :func:`kgmed.viz.paths_page` for the options.

        Examples
        --------
        >>> import kgmed, tempfile, os
        >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
        >>> path = kg.paths("fever", "oseltamivir", k=1)[0]
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path.to_html(os.path.join(tmp, "path.html")).suffix
        '.html'
        """
        from kgmed import viz

        return viz.paths_page([self], **options).save(path)

    def __len__(self) -> int:
        return len(self.hops)

    @property
    def probability(self) -> float:
        """Product of the hops' conditionals: how likely the chain is, hop by hop."""
        return float(np.prod([hop.probability for hop in self.hops]))

    def explain(self) -> str:
        """The path in plain words, with the counts behind every hop.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
        >>> path = kg.paths("fever", "oseltamivir", via=["disease"], k=1)[0]
        >>> print(path.explain())
        fever → influenza → oseltamivir
          1. of 542 patients with fever, 42% (227) had influenza (has_symptom, q = 5.8e-163)
          2. of 244 patients with influenza, 53% (130) had oseltamivir (treated_with, q = 2.3e-143)
        """
        lines = [" → ".join(self.labels)]
        lines += [f"  {i}. {hop.explain()}" for i, hop in enumerate(self.hops, start=1)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The path as plain data (for JSON)."""
        return {
            "nodes": list(self.nodes),
            "labels": list(self.labels),
            "cost": self.cost,
            "kinds": list(self.kinds),
            "hops": [hop.__dict__ for hop in self.hops],
        }


def _view(
    kg: KnowledgeGraph, weight: str, curated_probability: float, relations: frozenset[str]
) -> nx.DiGraph[str]:
    """A directed graph holding, for each ordered pair, the cheapest hop."""
    key = ("paths", weight, curated_probability, relations)
    cached = kg._cached(key)
    if cached is not None:
        return cached
    view: nx.DiGraph[str] = nx.DiGraph()
    view.add_nodes_from(kg.graph.nodes(data=True))
    for u, v, relation, attrs in kg.graph.edges(keys=True, data=True):
        if relation not in relations:
            continue
        for a, b, forward in ((u, v, True), (v, u, False)):
            conditional = attrs.get("p_target_given_source" if forward else "p_source_given_target")
            probability = _number(conditional)
            if math.isnan(probability):
                probability = curated_probability
            cost = _cost(weight, probability, _number(attrs.get("lift")))
            if view.has_edge(a, b) and view.edges[a, b]["cost"] <= cost:
                continue
            view.add_edge(a, b, cost=cost, relation=relation, forward=forward, attrs=attrs)
    kg._cache_put(key, view)
    return view


def _number(value: object) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _cost(weight: str, probability: float, lift: float) -> float:
    if weight == "hops":
        return 1.0
    if weight == "lift":
        strength = lift / (1.0 + lift) if not math.isnan(lift) else 0.5
        return -math.log(max(strength, 1e-300))
    return -math.log(max(probability, 1e-300))


def _hop(kg: KnowledgeGraph, view: nx.DiGraph[str], a: str, b: str) -> Hop:
    data = view.edges[a, b]
    attrs, forward = data["attrs"], data["forward"]
    probability = _number(
        attrs.get("p_target_given_source" if forward else "p_source_given_target")
    )
    n_from = attrs.get("n_source" if forward else "n_target")
    n_both = attrs.get("n_both", attrs.get("n_patients"))
    return Hop(
        source=a,
        target=b,
        source_label=str(kg.graph.nodes[a].get("label", a)),
        target_label=str(kg.graph.nodes[b].get("label", b)),
        relation=str(data["relation"]),
        forward=bool(forward),
        probability=probability,
        n_patients=None if n_both is None or math.isnan(probability) else int(n_both),
        n_from=None if n_from is None or math.isnan(probability) else int(n_from),
        q_value=_number(attrs.get("q_value")),
        provenance=str(attrs.get("provenance", "")),
    )


def paths(
    kg: KnowledgeGraph,
    source: str,
    target: str,
    *,
    max_hops: int = 3,
    k: int = 5,
    weight: str = "conditional",
    via: Sequence[str] | None = None,
    relations: Sequence[str] | None = None,
    curated_probability: float = 0.5,
) -> list[Path]:
    """The k best simple paths between two concepts.

    Parameters
    ----------
    kg : KnowledgeGraph
    source, target : str
        Terms naming the two ends (label, concept id or code).
    max_hops : int, default 3
        Longest path returned.
    k : int, default 5
        Paths returned at most.
    weight : {"conditional", "lift", "hops"}, default "conditional"
        What makes a hop cheap; see :data:`WEIGHTS`. Every edge can be
        walked both ways; walking ``has_symptom`` from a symptom to a
        disease costs ``-log P(disease | symptom)``.
    via : sequence of str, optional
        A metapath: the kinds of the concepts in between, in order
        (``via=["disease"]`` finds symptom → disease → treatment chains).
        Overrides ``max_hops``.
    relations : sequence of str, optional
        Relations to walk; :data:`PATH_RELATIONS` by default.
    curated_probability : float, default 0.5
        The conditional a curated edge, which has no patient counts, is
        costed with.

    Returns
    -------
    list of Path
        Cheapest first; fewer than ``k`` when fewer exist; empty when the
        ends are not connected within the hops allowed.

    Raises
    ------
    ConceptNotFound
        If an end names no concept; the message lists the closest labels.
    ParameterError
        If a parameter is out of range or ``via`` names no kind.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> found = kg.paths("shortness of breath", "lisinopril", k=3)
    >>> [" → ".join(p.labels) for p in found]
    ['shortness of breath → heart failure → lisinopril', 'shortness of breath → heart failure → hypertension → lisinopril']
    >>> [round(p.probability, 3) for p in found]
    [0.057, 0.029]
    """
    max_hops = check_positive_int("max_hops", max_hops)
    k = check_positive_int("k", k)
    weight = check_choice("weight", weight, WEIGHTS)
    curated_probability = check_fraction("curated_probability", curated_probability)
    walked = frozenset(PATH_RELATIONS if relations is None else relations)
    unknown_relations = sorted(walked.difference(RELATIONS) | walked.intersection(_NOT_PATHS))
    if unknown_relations:
        raise ParameterError(
            f"relations {unknown_relations} cannot be walked; relations are "
            f"{[r for r in RELATIONS if r not in _NOT_PATHS]}"
        )
    if via is not None:
        unknown = [kind for kind in via if kind not in (*KINDS, "rule")]
        if unknown:
            raise ParameterError(f"via names no kind: {unknown}; kinds are {list(KINDS)}")
        max_hops = len(via) + 1
    start, end = kg.resolve(source), kg.resolve(target)
    if start == end:
        return []
    view = _view(kg, weight, curated_probability, walked)
    nearby = _within(view, start, end, max_hops)
    if end not in nearby:
        return []
    # Every simple path of at most max_hops hops (networkx's all_simple_paths
    # over the concepts that can lie on one), the k cheapest kept. Yen's
    # algorithm would yield cheaper but longer paths first, without end.
    routes = nx.all_simple_paths(view.subgraph(nearby), start, end, cutoff=max_hops)
    if via is not None:
        wanted = list(via)
        routes = (
            route
            for route in routes
            if len(route) == len(wanted) + 2
            and [kg.graph.nodes[n].get("kind") for n in route[1:-1]] == wanted
        )
    costed = ((_route_cost(view, route), route) for route in routes)
    best = heapq.nsmallest(k, costed, key=lambda item: (item[0], len(item[1]), item[1]))
    return [
        Path(
            nodes=tuple(route),
            labels=tuple(str(kg.graph.nodes[n].get("label", n)) for n in route),
            hops=tuple(_hop(kg, view, a, b) for a, b in itertools.pairwise(route)),
            cost=cost,
            kinds=tuple(str(kg.graph.nodes[n].get("kind")) for n in route),
        )
        for cost, route in best
    ]


def _route_cost(view: nx.DiGraph[str], route: list[str]) -> float:
    return float(sum(view.edges[a, b]["cost"] for a, b in itertools.pairwise(route)))


def _within(view: nx.DiGraph[str], start: str, end: str, max_hops: int) -> set[str]:
    """Concepts on some walk of at most ``max_hops`` hops from start to end."""
    ahead = nx.single_source_shortest_path_length(view, start, cutoff=max_hops)
    behind = nx.single_source_shortest_path_length(view.reverse(copy=False), end, cutoff=max_hops)
    return {n for n, d in ahead.items() if n in behind and d + behind[n] <= max_hops}


def similar(
    kg: KnowledgeGraph,
    concept: str,
    k: int = 10,
    *,
    relations: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Concepts of the same kind with the most similar neighbours.

    Each concept is a vector over its neighbours (for a disease: its
    symptoms and treatments), weighted by P(neighbour | concept); similarity
    is the cosine of two vectors. Two diseases are similar when they present
    the same symptoms and are treated alike, in the same proportions.

    Parameters
    ----------
    kg : KnowledgeGraph
    concept : str
        A label, concept id or code.
    k : int, default 10
        Rows returned at most.
    relations : sequence of str, optional
        Relations whose neighbours count; by default every relation except
        those between concepts of the same kind (``comorbid_with``...) and
        cohorts' ``characterized_by``.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``label``, ``similarity`` (cosine, 0 to 1), ``n_shared`` and
        ``shared`` (labels of the shared neighbours, strongest first), most
        similar first; concepts sharing nothing are left out.

    Raises
    ------
    ConceptNotFound
        If ``concept`` names no concept.
    ParameterError
        If a relation is not known.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> kg.similar("influenza", k=2)["label"].tolist()
    ['covid-19', 'common cold']
    """
    k = check_positive_int("k", k)
    if relations is not None:
        unknown = [r for r in relations if r not in RELATIONS]
        if unknown:
            raise ParameterError(f"unknown relations {unknown}; relations are {list(RELATIONS)}")
    start = kg.resolve(concept)
    kind = kg.graph.nodes[start].get("kind")
    profiles = _profiles(kg, kind, None if relations is None else tuple(relations))
    if start not in profiles.index:
        return pd.DataFrame(columns=["id", "label", "similarity", "n_shared", "shared"])
    norms = np.sqrt((profiles**2).sum(axis=1))
    mine = profiles.loc[start]
    scores = (profiles @ mine) / (norms * norms[start])
    scores = scores.drop(start)
    scores = scores[scores > 0].sort_values(ascending=False).head(k)
    rows = []
    for other, score in scores.items():
        both = (profiles.loc[other] > 0) & (mine > 0)
        shared = (profiles.loc[other, both] * mine[both]).sort_values(ascending=False)
        labels = [str(kg.graph.nodes[n].get("label", n)) for n in shared.index]
        rows.append(
            {
                "id": other,
                "label": kg.graph.nodes[other].get("label", other),
                "similarity": float(score),
                "n_shared": len(labels),
                "shared": labels,
            }
        )
    return pd.DataFrame(rows, columns=["id", "label", "similarity", "n_shared", "shared"])


def _profiles(
    kg: KnowledgeGraph, kind: str | None, relations: tuple[str, ...] | None
) -> pd.DataFrame:
    """Concepts of ``kind`` × neighbours, weighted by P(neighbour | concept)."""
    key = ("profiles", kind, relations)
    cached = kg._cached(key)
    if cached is not None:
        return cached
    rows: list[tuple[str, str, float]] = []
    for u, v, relation, attrs in kg.graph.edges(keys=True, data=True):
        if relation in _NOT_PATHS or (relations is not None and relation not in relations):
            continue
        kinds = (kg.graph.nodes[u].get("kind"), kg.graph.nodes[v].get("kind"))
        # By default neither same-kind relations nor cohorts (a group of
        # patients is no property of a concept) make concepts similar.
        if relations is None and (kinds[0] == kinds[1] or relation == "characterized_by"):
            continue
        for a, b, column in ((u, v, "p_target_given_source"), (v, u, "p_source_given_target")):
            if kg.graph.nodes[a].get("kind") != kind:
                continue
            value = _number(attrs.get(column))
            rows.append((a, b, 0.5 if math.isnan(value) else value))
    table = pd.DataFrame(rows, columns=["concept", "neighbor", "weight"])
    profiles = table.pivot_table(
        index="concept", columns="neighbor", values="weight", aggfunc="max", fill_value=0.0
    )
    kg._cache_put(key, profiles)
    return profiles
