"""KnowledgeGraph: the graph, its nodes and edges as tables, term look-up, merge, save and load."""

from __future__ import annotations

import functools
import gzip
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from kgmed import linking, query, reasoning
from kgmed._validation import check_columns, check_fraction
from kgmed.errors import (
    ConceptKindError,
    ConceptNotFound,
    GraphFileError,
    MissingValueError,
    ParameterError,
)
from kgmed.matching import TermMatcher
from kgmed.mining.rules import RULE_COLUMNS
from kgmed.records._normalize import clean_text
from kgmed.schema import NODE_KINDS, RELATION_ALIASES, RELATIONS, concept_id_for

__all__ = ["EDGE_COLUMNS", "NODE_COLUMNS", "KnowledgeGraph", "load"]

#: Columns of :meth:`kgmed.KnowledgeGraph.nodes`.
NODE_COLUMNS: tuple[str, ...] = ("id", "label", "kind", "system", "code", "n_patients")

#: Columns of :meth:`kgmed.KnowledgeGraph.edges`.
EDGE_COLUMNS: tuple[str, ...] = (
    "source",
    "target",
    "relation",
    "source_label",
    "target_label",
    "p_target_given_source",
    "p_source_given_target",
    "lift",
    "leverage",
    "support",
    "n_patients",
    "n_both",
    "n_source",
    "n_target",
    "n_total",
    "n_recorded",
    "p_value",
    "q_value",
    "adjusted_odds_ratio",
    "adjusted_p_value",
    "adjusted_q_value",
    "direct_weight",
    "direct_q_value",
    "direct",
    "holds",
    "provenance",
)

# Counts on an edge: whole numbers, or missing for an edge no count stands behind.
_COUNTS: tuple[str, ...] = ("n_patients", "n_both", "n_source", "n_target", "n_total", "n_recorded")
_STATISTICS: tuple[str, ...] = (
    "p_target_given_source",
    "p_source_given_target",
    "lift",
    "leverage",
    "support",
    "p_value",
    "q_value",
    "adjusted_odds_ratio",
    "adjusted_p_value",
    "adjusted_q_value",
    "direct_weight",
    "direct_q_value",
)
_FORMAT = "kgmed-graph"
_FORMAT_VERSION = 1


class KnowledgeGraph:
    """A disease–symptom–treatment graph whose every edge carries its evidence.

    Build one with :func:`kgmed.build`; load a saved one with
    :func:`kgmed.load`. The methods are a thin face over plain objects: the
    graph is a :class:`networkx.MultiDiGraph` in ``graph``, the rules it
    came from a DataFrame in ``rules``.

    Attributes
    ----------
    graph : networkx.MultiDiGraph
        Nodes are concept ids with attributes ``kind``, ``label``,
        ``system``, ``code`` and ``n_patients``; edges are keyed by their
        ``relation`` and carry the columns of :data:`~kgmed.graph.EDGE_COLUMNS` from
        ``p_target_given_source`` on.
    rules : pandas.DataFrame
        The mined rules, as :func:`kgmed.mine_rules` returns them.
    params : dict
        How the graph was built (``min_support``, ``min_patients``,
        ``n_patients``...).

    See Also
    --------
    kgmed.build : Records to a KnowledgeGraph.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> kg
    <KnowledgeGraph: ... concepts (... disease, ... symptom, ... treatment), ... edges from 3,000 patients, min_patients=11>
    >>> kg.symptoms_of("influenza")[["label", "n_patients"]].head(3)
             label  n_patients
    0        fever         227
    1        cough         192
    2  muscle pain         165
    """

    def __init__(
        self,
        graph: nx.MultiDiGraph[str] | None = None,
        rules: pd.DataFrame | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.graph: nx.MultiDiGraph[str] = graph if graph is not None else nx.MultiDiGraph()
        self.rules: pd.DataFrame = (
            rules if rules is not None else pd.DataFrame(columns=list(RULE_COLUMNS))
        )
        self.params: dict[str, Any] = dict(params or {})
        self._index: TermMatcher | None = None
        self._index_version: tuple[int, int] = (0, -1)
        self._cache: dict[Any, tuple[tuple[int, int, int], Any]] = {}

    # -- size and summary ---------------------------------------------------

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and len(self._matcher().find(term)) == 1

    def __repr__(self) -> str:
        kinds = pd.Series([k for _, k in self.graph.nodes(data="kind")], dtype=object)
        counts = kinds.value_counts()
        order = [k for k in ("disease", "symptom", "treatment") if k in counts.index]
        order += sorted(k for k in counts.index if k not in order)
        by_kind = ", ".join(f"{counts[k]:,} {k}" for k in order)
        n_patients = self.params.get("n_patients")
        source = f" from {n_patients:,} patients" if n_patients is not None else ""
        floor = self.params.get("min_patients")
        floor_text = f", min_patients={floor}" if floor is not None else ""
        by_kind = f" ({by_kind})" if by_kind else ""
        return (
            f"<KnowledgeGraph: {len(self):,} concepts{by_kind}, "
            f"{self.graph.number_of_edges():,} edges{source}{floor_text}>"
        )

    def summary(self) -> pd.DataFrame:
        """Counts of nodes by kind and edges by relation.

        Returns
        -------
        pandas.DataFrame
            Columns ``part`` (``"node"`` or ``"edge"``), ``type`` (a kind or
            a relation) and ``count``.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> kg.summary().columns.tolist()
        ['part', 'type', 'count']
        """
        nodes = self.nodes()["kind"].value_counts().sort_index()
        edges = self.edges()["relation"].value_counts().sort_index()
        return pd.concat(
            [
                pd.DataFrame({"part": "node", "type": nodes.index, "count": nodes.to_numpy()}),
                pd.DataFrame({"part": "edge", "type": edges.index, "count": edges.to_numpy()}),
            ],
            ignore_index=True,
        )

    # -- tables ---------------------------------------------------------------

    def nodes(self, kind: str | None = None) -> pd.DataFrame:
        """The concepts as a table.

        Parameters
        ----------
        kind : str, optional
            Only concepts of this kind (one of :data:`kgmed.schema.KINDS`),
            or ``"rule"`` for rule nodes, ``"cohort"`` for cohort nodes (see
            :data:`kgmed.schema.NODE_KINDS`).

        Returns
        -------
        pandas.DataFrame
            Columns :data:`~kgmed.graph.NODE_COLUMNS`; ``n_patients`` is ``<NA>`` for
            concepts known only from curated knowledge.

        Raises
        ------
        ParameterError
            If ``kind`` is not a kind.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> kg.nodes("disease").columns.tolist()
        ['id', 'label', 'kind', 'system', 'code', 'n_patients']
        """
        if kind is not None and kind not in NODE_KINDS:
            raise ParameterError(f"unknown kind {kind!r}; kinds are {list(NODE_KINDS)}")
        rows = [{"id": node, **attrs} for node, attrs in self.graph.nodes(data=True)]
        table = pd.DataFrame(rows, columns=list(NODE_COLUMNS))
        table["n_patients"] = table["n_patients"].astype("Int64")
        for column in ("id", "label", "kind", "system", "code"):
            table[column] = table[column].astype("string")
        if kind is not None:
            table = table[table["kind"] == kind].reset_index(drop=True)
        return table

    def edges(self, relation: str | None = None) -> pd.DataFrame:
        """The relations as a table, one row per edge.

        Parameters
        ----------
        relation : str, optional
            Only edges of this relation (see :data:`kgmed.schema.RELATIONS`).

        Returns
        -------
        pandas.DataFrame
            Columns :data:`~kgmed.graph.EDGE_COLUMNS`: the ends (``source``,
            ``target``, as networkx names them) and their labels, the
            ``relation``, both conditionals, ``lift``, ``leverage``,
            ``support``, the counts
            (``n_patients``: distinct patients with both ends; ``n_both``,
            ``n_source``, ``n_target``, ``n_total`` in baskets, patients or
            encounters; ``n_recorded``: patients whose records give the
            source as the reason for the target), ``p_value``, ``q_value``,
            the same association adjusted for age and sex
            (``adjusted_odds_ratio``, ``adjusted_p_value``,
            ``adjusted_q_value``: Mantel–Haenszel over the strata; missing
            when the records say nothing of the patients),
            ``direct_weight``, ``direct_q_value`` and ``direct`` (for
            disease → symptom and disease → treatment edges of a graph built
            with ``relations="annotated"`` or ``"direct"``; missing
            otherwise), ``holds`` (whether a mined edge passed the keep rule
            of :func:`kgmed.build`: always, unless built with ``keep="all"``),
            and ``provenance`` (``"mined"``, ``"recorded"``,
            ``"curated:<source>"``, joined by ``"; "`` when several hold).

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> e = kg.edges("has_symptom")
        >>> bool((e["n_patients"] >= 11).all())
        True
        """
        if relation is not None:
            _check_relation(relation)
        labels: dict[str, Any] = {n: a.get("label") for n, a in self.graph.nodes(data=True)}
        rows = [
            {
                "source": u,
                "target": v,
                "relation": key,
                "source_label": labels.get(u),
                "target_label": labels.get(v),
                **attrs,
            }
            for u, v, key, attrs in self.graph.edges(keys=True, data=True)
            if relation is None or key == relation
        ]
        table = pd.DataFrame(rows, columns=list(EDGE_COLUMNS))
        for column in _COUNTS:
            table[column] = table[column].astype("Int64")
        for column in _STATISTICS:
            table[column] = table[column].astype("float64")
        table["direct"] = table["direct"].astype("boolean")
        table["holds"] = table["holds"].astype("boolean")
        for column in (
            "source",
            "target",
            "relation",
            "source_label",
            "target_label",
            "provenance",
        ):
            table[column] = table[column].astype("string")
        return table

    # -- terms ---------------------------------------------------------------

    def resolve(self, term: str, *, kind: str | None = None) -> str:
        """The concept id a term names.

        A term may be a concept id (``"ICD10CM:J11.1"``), a code
        (``"J11.1"``), or a label in any case and spacing (``"Dry_Cough"``).

        Parameters
        ----------
        term : str
            The term.
        kind : str, optional
            The kind the concept must have; also settles a label shared by
            concepts of different kinds.

        Returns
        -------
        str
            The concept id.

        Raises
        ------
        ConceptNotFound
            If no concept matches; the message lists the closest labels
            (and the concepts a synonym of the term names), never one
            across a medical antonym (:data:`kgmed.matching.ANTONYMS`).
        ConceptKindError
            If the concept is not of ``kind``.

        See Also
        --------
        match : Also synonyms and misspellings, saying how the term matched.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> kg.resolve("  INFLUENZA ")
        'ICD10CM:J11.1'
        >>> kg.resolve("infuenza")
        Traceback (most recent call last):
        ...
        kgmed.errors.ConceptNotFound: no concept 'infuenza' in the graph; closest labels: ['influenza'...]
        >>> kg.resolve("hypotension")
        Traceback (most recent call last):
        ...
        kgmed.errors.ConceptNotFound: no concept 'hypotension' in the graph; no label is close
        """
        return self._matcher().resolve(term, kind=kind)

    def match(
        self,
        term: str,
        *,
        fuzzy: float = 0.85,
        synonyms: Mapping[str, str] | None = None,
    ) -> tuple[str, str, float] | None:
        """The concept a term names, how it matched, and how well; None if none.

        Tried in turn: the id or a source id, the label, the code, a
        synonym, and last a fuzzy match of the spelling
        (:class:`kgmed.matching.TermMatcher`).

        Parameters
        ----------
        term : str
            An id, a source id kept in ``xrefs``, a code, a label or a
            synonym.
        fuzzy : float, default 0.85
            Smallest similarity (0 to 1: rapidfuzz's normalised InDel
            similarity, the ratio difflib computes) at which a misspelt
            label or synonym still names the one concept closest to it; 1
            turns fuzzy matching off. A fuzzy match never crosses a medical
            antonym (:data:`kgmed.matching.ANTONYMS`: hypo/hyper,
            brady/tachy, gain/loss...), and a term or label of at most six
            characters matches only within one edit.
        synonyms : mapping of str to str, optional
            Words the graph does not know and the terms they stand for
            (``{"pyrexia": "fever"}``), compared in any case and spacing.
            They win over the exact synonyms of the Human Phenotype Ontology
            (read on the first term that misses exact matching), which reach
            a concept by its HP code, else by its label. A term found either
            way matches as ``"synonym"``.

        Returns
        -------
        tuple of (str, str, float) or None
            The concept id, how it matched (``"id"``, ``"xref"``, ``"code"``,
            ``"label"``, ``"synonym"``, ``"fuzzy"``) and the match's score (1
            but for fuzzy matches); None when the term names no concept, or
            names several.

        Raises
        ------
        ParameterError
            If ``fuzzy`` is not between 0 and 1.

        See Also
        --------
        resolve : The concept a term names exactly, or an error.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> kg.match("coughh"), kg.match("Dry  Cough")
        (('HP:0012735', 'fuzzy', 0.909), None)
        >>> kg.match("J11.1"), kg.match("influenza")
        (('ICD10CM:J11.1', 'code', 1.0), ('ICD10CM:J11.1', 'label', 1.0))
        >>> kg.match("Trouble breathing"), kg.match("extreme thirst")
        (('HP:0002094', 'synonym', 1.0), ('HP:0001959', 'synonym', 1.0))
        >>> kg.match("Pyrexia", synonyms={"pyrexia": "fever"})
        ('HP:0001945', 'synonym', 1.0)
        >>> kg.match("hypotension"), kg.match("hyperthyroidism")  # never hyper-, hypo-
        (None, None)
        """
        fuzzy = check_fraction("fuzzy", fuzzy)
        return self._matcher().match(str(term), fuzzy=fuzzy, synonyms=synonyms)

    def _suggest(self, term: str) -> tuple[str, ...]:
        return self._matcher().suggest(term)

    def _matcher(self) -> TermMatcher:
        """The term matcher of this graph, made again when the graph has changed."""
        version = (id(self.graph), self.graph.number_of_nodes())
        if self._index is None or self._index_version != version:
            rows = [
                {
                    "id": node,
                    "label": attrs.get("label") or node,
                    "kind": attrs.get("kind"),
                    "system": attrs.get("system"),
                    "code": attrs.get("code"),
                    "xrefs": attrs.get("xrefs"),
                }
                for node, attrs in self.graph.nodes(data=True)
            ]
            columns = ["id", "label", "kind", "system", "code", "xrefs"]
            self._index = TermMatcher(pd.DataFrame(rows, columns=columns))
            self._index_version = version
        return self._index

    # -- derived views, cached while the graph is unchanged -----------------

    def _version(self) -> tuple[int, int, int]:
        return (id(self.graph), self.graph.number_of_nodes(), self.graph.number_of_edges())

    def _cached(self, key: Any) -> Any:
        """A view computed from the graph, or None if the graph changed since."""
        entry = self._cache.get(key)
        if entry is None or entry[0] != self._version():
            return None
        return entry[1]

    def _cache_put(self, key: Any, value: Any) -> None:
        self._cache[key] = (self._version(), value)

    # -- questions (delegated) ---------------------------------------------

    def symptoms_of(self, disease: str, **options: Any) -> pd.DataFrame:
        """Symptoms of a disease, strongest first; see :func:`kgmed.query.symptoms_of`."""
        return query.symptoms_of(self, disease, **options)

    def treatments_for(self, disease: str, **options: Any) -> pd.DataFrame:
        """Treatments recorded with a disease; see :func:`kgmed.query.treatments_for`."""
        return query.treatments_for(self, disease, **options)

    def diseases_with(self, symptom: str, **options: Any) -> pd.DataFrame:
        """Diseases that present a symptom; see :func:`kgmed.query.diseases_with`."""
        return query.diseases_with(self, symptom, **options)

    def paths(self, source: str, target: str, **options: Any) -> list[reasoning.Path]:
        """The k best paths between two concepts; see :func:`kgmed.reasoning.paths`."""
        return reasoning.paths(self, source, target, **options)

    def similar(self, concept: str, k: int = 10, **options: Any) -> pd.DataFrame:
        """Concepts with the most similar neighbours; see :func:`kgmed.reasoning.similar`."""
        return reasoning.similar(self, concept, k, **options)

    def link(self, patient: Any, **options: Any) -> linking.PatientLink:
        """Link one patient to the graph; see :func:`kgmed.linking.link`."""
        return linking.link(self, patient, **options)

    def link_many(self, records: Any, **options: Any) -> pd.DataFrame:
        """The leading diagnoses of many patients; see :func:`kgmed.linking.link_many`."""
        return linking.link_many(self, records, **options)

    def neighbors(self, concept: str, relation: str | None = None, **options: Any) -> pd.DataFrame:
        """Every related concept; see :func:`kgmed.query.neighbors`."""
        return query.neighbors(self, concept, relation, **options)

    # -- curated knowledge ---------------------------------------------------

    def add_knowledge(
        self,
        knowledge: pd.DataFrame,
        *,
        source: str | None = None,
        subject: str = "subject",
        relation: str = "relation",
        object: str = "object",
        subject_label: str = "subject_label",
        object_label: str = "object_label",
        align: bool = True,
        on_missing: str = "add",
    ) -> pd.Series:
        """Merge curated (subject, relation, object) statements into the graph.

        A statement that matches a mined edge adds its source to that edge's
        ``provenance`` (``"mined; curated:hetionet"``) and keeps the mined
        evidence; one that does not becomes a new edge whose statistics are
        missing (``NaN``) and whose provenance is ``"curated:<source>"``.
        The merge is all or nothing: if a statement raises, the graph is left
        as it was.

        Parameters
        ----------
        knowledge : pandas.DataFrame
            One statement per row. ``relation`` is one of
            :data:`kgmed.schema.RELATIONS` or an alias in
            :data:`kgmed.schema.RELATION_ALIASES` (``"treats"`` reads as
            ``treated_with`` from the disease); ``antecedent_of`` and
            ``implies``, which link rule nodes, are not accepted.
        source : str, optional
            Name of the source (``"hetionet"``); without it, the table needs a
            ``source`` column.
        subject, relation, object : str
            Column names. A subject or object is a term as
            :meth:`resolve` reads it, or the source's own id
            (``"DOID:10763"``, ``"UMLS:C0020538"``), which is kept as the id
            of a concept the statement adds.
        subject_label, object_label : str, default "subject_label", "object_label"
            Columns of the source's names for the subject and object, used
            when the table has them: as the label of an added concept, and
            to align the source's ids with the graph's concepts.
        align : bool, default True
            Align by label: a subject or object whose id is not in the graph,
            but whose label (given in ``subject_label``/``object_label``, or
            the term itself) names exactly one concept of the right kind,
            is that concept. Its id is recorded in the concept's ``xrefs``
            attribute, so that later statements with the same id find it.
            With ``align=False``, only ids, codes and labels the graph
            already has are matched.
        on_missing : {"add", "error", "skip"}, default "add"
            What to do with a subject or object not in the graph: add it as a
            concept with no patient count (its kind from the relation; not
            possible for ``associated_with``, which names no kind), raise
            :class:`~kgmed.errors.ConceptNotFound`, or skip the statement
            (counted in the returned summary).

        Returns
        -------
        pandas.Series
            Counts: ``statements``, ``merged`` (matched a mined edge),
            ``new_edges``, ``already_present`` (the edge was there already
            from this source, or from other curated sources only; the source
            is added to its provenance), ``new_concepts``, ``skipped``.
            ``statements == merged + new_edges + already_present + skipped``.

        Raises
        ------
        ColumnNotFound
            If a column is missing.
        ParameterError
            If ``knowledge`` is not a DataFrame, a relation is not known, or
            ``on_missing`` is not one of its choices.
        MissingValueError
            If a subject, relation, object or source cell is empty.
        ConceptNotFound
            If a subject or object names no concept and ``on_missing`` is
            ``"error"`` (or no kind can be given to a new one).
        ConceptKindError
            If a subject or object is of the wrong kind for its relation.
            Error messages name the row of ``knowledge``.

        Examples
        --------
        >>> import kgmed, pandas as pd
        >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
        >>> facts = pd.DataFrame({"subject": ["influenza", "influenza"],
        ...                       "relation": ["has_symptom", "has_symptom"],
        ...                       "object": ["fever", "conjunctivitis"]})
        >>> kg.add_knowledge(facts, source="textbook").to_dict()
        {'statements': 2, 'merged': 1, 'new_edges': 1, 'already_present': 0, 'new_concepts': 1, 'skipped': 0}
        >>> kg.symptoms_of("influenza").set_index("label").loc["fever", "source"]
        'mined; curated:textbook'
        """
        _check_choice_missing(on_missing)
        if not isinstance(knowledge, pd.DataFrame):
            raise ParameterError(
                f"knowledge must be a pandas DataFrame of statements, "
                f"got {type(knowledge).__name__}"
            )
        required: dict[str, str | None] = {
            subject: "subject",
            relation: "relation",
            object: "object",
        }
        if source is None:
            required["source"] = None
        check_columns(knowledge, required, where="knowledge")
        label_columns = [
            c if c in knowledge.columns else None for c in (subject_label, object_label)
        ]
        counts = dict.fromkeys(
            (
                "statements",
                "merged",
                "new_edges",
                "already_present",
                "new_concepts",
                "skipped",
            ),
            0,
        )
        sources = (
            pd.Series(source, index=knowledge.index) if source is not None else knowledge["source"]
        )
        statements = knowledge[[subject, relation, object]].itertuples(index=False, name=None)
        names = zip(
            *(
                knowledge[c] if c is not None else pd.Series(None, index=knowledge.index)
                for c in label_columns
            ),
            strict=True,
        )
        undo = _Undo()
        self._cache.clear()
        try:
            for row, terms, labels, name in zip(
                knowledge.index, statements, names, sources, strict=True
            ):
                try:
                    self._merge_statement(terms, labels, name, on_missing, align, counts, undo)
                except (
                    ConceptNotFound,
                    ConceptKindError,
                    ParameterError,
                    MissingValueError,
                ) as err:
                    raise _at_row(err, row) from err
        except BaseException:
            # All or nothing: a statement that fails leaves the graph as it was.
            undo.rollback(self.graph)
            self._index = None
            raise
        return pd.Series(counts, dtype="int64")

    def _merge_statement(
        self,
        terms: tuple[Any, Any, Any],
        labels: tuple[Any, Any],
        name: Any,
        on_missing: str,
        align: bool,
        counts: dict[str, int],
        undo: _Undo,
    ) -> None:
        counts["statements"] += 1
        s_term, r_term, o_term = (
            _present(term, part) for term, part in zip(terms, _PARTS, strict=True)
        )
        s_label, o_label = (None if _is_missing(x) else str(x) for x in labels)
        name = _present(name, "source")
        rel_name, swap = _relation_of(r_term)
        rel = RELATIONS[rel_name]
        if swap:
            s_term, o_term = o_term, s_term
            s_label, o_label = o_label, s_label
        ends = [
            self._node_for(term, label, kind, rel_name, on_missing, align, counts, undo)
            for term, label, kind in (
                (s_term, s_label, rel.source_kind),
                (o_term, o_label, rel.target_kind),
            )
        ]
        if ends[0] is None or ends[1] is None:
            counts["skipped"] += 1
            return
        u, v = ends[0], ends[1]
        if rel.symmetric and v < u:
            u, v = v, u
        tag = f"curated:{name}"
        if self.graph.has_edge(u, v, key=rel_name):
            attrs = self.graph.edges[u, v, rel_name]
            parts = str(attrs.get("provenance") or "").split("; ")
            if tag in parts:
                counts["already_present"] += 1
                return
            counts["merged" if "mined" in parts else "already_present"] += 1
            undo.changed.append((u, v, rel_name, attrs.get("provenance")))
            attrs["provenance"] = "; ".join(_ordered_provenance([p for p in parts if p] + [tag]))
        else:
            counts["new_edges"] += 1
            self.graph.add_edge(u, v, key=rel_name, **_curated_evidence(tag))
            undo.edges.append((u, v, rel_name))

    def _node_for(
        self,
        term: str,
        label: str | None,
        kind: str,
        relation: str,
        on_missing: str,
        align: bool,
        counts: dict[str, int],
        undo: _Undo,
    ) -> str | None:
        # "*" (associated_with) accepts a concept of any kind.
        wanted = None if kind == "*" else kind
        if self._matcher().find(term, kind=wanted):
            return self.resolve(term, kind=wanted)
        if align and label is not None:
            same = self._matcher().find(label, kind=wanted)
            if wanted is not None:
                same = [c for c in same if self.graph.nodes[c].get("kind") == wanted]
            if len(same) == 1:
                self._add_xref(same[0], term, undo)
                return same[0]
        if on_missing == "error":
            return self.resolve(term, kind=wanted)
        if on_missing == "skip":
            return None
        if wanted is None:
            try:
                self.resolve(term)
            except ConceptNotFound as err:
                raise ConceptNotFound(
                    f"{err}; a new concept cannot be added for relation {relation!r}, "
                    f"which does not say its kind: pass on_missing='skip' or add the "
                    f"concept with a relation of its kind first",
                    term=err.term,
                    suggestions=err.suggestions,
                ) from err
        node = _curie(_clean(term))
        if node not in self.graph:
            self.graph.add_node(
                node,
                kind=wanted,
                label=_clean(label) if label is not None else _clean(term),
                system=None,
                code=None,
                n_patients=None,
            )
            undo.nodes.append(node)
            counts["new_concepts"] += 1
            if self._index is not None:
                self._index.add(node, label=str(self.graph.nodes[node]["label"]), kind=wanted)
                self._index_version = (id(self.graph), self.graph.number_of_nodes())
        return _check_kind(term, node, wanted, self.graph)

    def _add_xref(self, node: str, term: str, undo: _Undo) -> None:
        """Record a curated source's id for a concept the source named by label."""
        xref = _clean(term)
        if xref == node or not _looks_like_id(xref):
            return
        attrs = self.graph.nodes[node]
        xrefs = list(attrs.get("xrefs") or [])
        if xref in xrefs:
            return
        undo.xrefs.append((node, attrs.get("xrefs")))
        attrs["xrefs"] = sorted([*xrefs, xref])
        if self._index is not None:
            self._index.add_xref(xref, node)

    # -- cohorts ---------------------------------------------------------------

    def add_cohorts(self, cohorts: Any, **options: Any) -> pd.Series:
        """Add cohort nodes with ``characterized_by`` edges; see :func:`kgmed.cohorts.add_cohorts`.

        Examples
        --------
        >>> import kgmed
        >>> records = kgmed.datasets.synthetic(3000, random_state=0)
        >>> kg = kgmed.build(records)
        >>> int(kg.add_cohorts(kgmed.cohorts.find(records, n_cohorts=3))["added"])
        3
        """
        from kgmed import cohorts as cohorts_module

        return cohorts_module.add_cohorts(self, cohorts, **options)

    # -- persistence ---------------------------------------------------------

    def to_rdf(self, *, base: str | None = None, evidence: bool = True) -> Any:
        """The graph as an :class:`rdflib.Graph`; see :func:`kgmed.rdf.to_rdf`.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> len(kg.to_rdf()) > 1000
        True
        """
        from kgmed import rdf

        return rdf.to_rdf(self, base=base or rdf.DEFAULT_BASE, evidence=evidence)

    def sparql(self, query: str, **options: Any) -> Any:
        """Run a SPARQL query over the graph; see :func:`kgmed.rdf.sparql`.

        Give a user's terms as ``bindings={"label": term}``, never formatted
        into the query text.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> kg.sparql("ASK { ?d kgmed:hasSymptom ?s }")
        True
        """
        from kgmed.rdf._sparql import sparql

        return sparql(self, query, **options)

    def to_html(self, path: str | os.PathLike[str], **options: Any) -> Path:
        """Write an interactive, self-contained HTML page of the graph.

        See :func:`kgmed.viz.graph_page` for the options (``focus``,
        ``depth``, ``max_nodes``, ``max_edges``, ``min_lift``, ``relations``,
        ``title``). The page works offline and shows hostile labels as text.

        Examples
        --------
        >>> import kgmed, tempfile, os
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = kg.to_html(os.path.join(tmp, "flu.html"), focus="influenza", depth=2)
        ...     path.stat().st_size > 100_000
        True
        """
        from kgmed import viz

        return viz.to_html(self, path, **options)

    def show(self, **options: Any) -> Any:
        """The page of :meth:`to_html`, displayed inline in a notebook.

        Returns a :class:`kgmed.viz.GraphPage`, which Jupyter, JupyterLab
        and VS Code display as the page itself (in an ``<iframe>``, with
        nothing to fetch from the network).

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> kg.show(focus="asthma", depth=1)
        <GraphPage: ... concepts, ... relations, ... characters>
        """
        from kgmed import viz

        return viz.graph_page(self, **options)

    def paths_html(
        self, path: str | os.PathLike[str], source: str, target: str, **options: Any
    ) -> Path:
        """Write a page of the best paths from ``source`` to ``target``, highlighted.

        ``options`` go to :meth:`paths` (``k``, ``max_hops``, ``via``...).

        Examples
        --------
        >>> import kgmed, tempfile, os
        >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     kg.paths_html(os.path.join(tmp, "p.html"), "fever", "oseltamivir", k=3).suffix
        '.html'
        """
        from kgmed import viz

        return viz.paths_page(self.paths(source, target, **options)).save(path)

    def privacy_report(self, records: Any = None) -> Any:
        """Audit what the graph's exports would give away; see :func:`kgmed.privacy.privacy_report`.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> print(kg.privacy_report())  # doctest: +ELLIPSIS
        Privacy report: nothing under the floor, no patient data
          floor (min_patients)              11
          smallest count exported           11
        ...
        """
        from kgmed.privacy import privacy_report

        return privacy_report(self, records)

    def to_kgx(self, folder: str | os.PathLike[str], **options: Any) -> Any:
        """Write the KGX TSV pair of nodes and edges; see :func:`kgmed.rdf.to_kgx`."""
        from kgmed import rdf

        return rdf.to_kgx(self, folder, **options)

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        format: str | None = None,
        base: str | None = None,
        evidence: bool = True,
    ) -> Path:
        """Write the graph to a file: kgmed's JSON, or RDF in a usual format.

        The format follows the file name: ``.ttl`` (Turtle), ``.nt``
        (N-Triples, lines sorted so that the same graph gives the same
        bytes), ``.jsonld`` (JSON-LD), ``.rdf``/``.owl``/``.xml``
        (RDF/XML), each optionally followed by ``.gz``; any other name
        (``kg.json``, ``kg.json.gz``) gets kgmed's own JSON, which keeps the
        rules table too. No file holds a patient identifier.
        :func:`kgmed.load` reads every one of them back.

        Parameters
        ----------
        path : str or path-like
            Where to write (gzip-compressed when the name ends in ``.gz``).
        format : str, optional
            ``"json"`` for kgmed's JSON, or an RDF format (``"turtle"``,
            ``"nt"``, ``"json-ld"``, ``"xml"``), whatever the file name.
        base, evidence
            For RDF, as in :func:`kgmed.rdf.to_rdf`.

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        ParameterError
            If ``format`` is not a known format.

        Examples
        --------
        >>> import kgmed, tempfile, os
        >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = kg.save(os.path.join(tmp, "kg.json.gz"))
        ...     same = kgmed.load(path)
        ...     ttl = kgmed.load(kg.save(os.path.join(tmp, "kg.ttl")))
        >>> same.edges().equals(kg.edges())
        True
        >>> len(ttl.edges()) == len(kg.edges())
        True
        """
        if format is None or format.strip().lower() != "json":
            from kgmed.rdf._export import rdf_format, write

            if rdf_format(format, Path(path)) is not None:
                from kgmed.rdf import DEFAULT_BASE

                return write(
                    self, path, format=format, base=base or DEFAULT_BASE, evidence=evidence
                )
        target = Path(path)
        text = _json_text(self)
        if target.suffix == ".gz":
            target.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
        else:
            target.write_text(text, encoding="utf-8")
        return target


def _json_text(kg: KnowledgeGraph) -> str:
    """The text of kgmed's JSON file of ``kg``."""
    from kgmed import __version__

    document = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "kgmed_version": __version__,
        "params": kg.params,
        "nodes": [{"id": n, **attrs} for n, attrs in kg.graph.nodes(data=True)],
        "edges": [
            {"source": u, "target": v, "relation": k, **attrs}
            for u, v, k, attrs in kg.graph.edges(keys=True, data=True)
        ],
        "rules": _rules_to_json(kg.rules),
    }
    return json.dumps(_finite(document), ensure_ascii=False, allow_nan=False, default=_json_default)


def load(path: str | os.PathLike[str]) -> KnowledgeGraph:
    """Read a graph written by :meth:`KnowledgeGraph.save`.

    kgmed's JSON files come back exactly, rules table included; RDF files
    (``.ttl``, ``.nt``, ``.jsonld``, ``.rdf``...) are read with
    :func:`kgmed.rdf.from_rdf`.

    Parameters
    ----------
    path : str or path-like
        The file (``.gz`` files are decompressed).

    Returns
    -------
    KnowledgeGraph

    Raises
    ------
    GraphFileError
        If the file is missing, not a saved kgmed graph, damaged, or written
        by a newer kgmed.

    Examples
    --------
    See :meth:`KnowledgeGraph.save`.
    """
    source = Path(path)
    if not source.is_file():
        raise GraphFileError(f"{source.name}: no such file ({os.fspath(path)!r})")
    from kgmed.rdf._export import rdf_format

    if rdf_format(None, source) is not None:
        from kgmed.rdf import from_rdf

        return from_rdf(source)
    try:
        raw = source.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        document = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, EOFError) as err:
        raise GraphFileError(f"{source.name}: not a saved kgmed graph ({err})") from err
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise GraphFileError(
            f"{source.name}: not a saved kgmed graph (no 'format': {_FORMAT!r} field)"
        )
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise GraphFileError(f"{source.name}: 'format_version' must be an integer, got {version!r}")
    if version > _FORMAT_VERSION:
        raise GraphFileError(
            f"{source.name}: written by a newer kgmed (format {version}, this kgmed "
            f"reads up to {_FORMAT_VERSION}); upgrade kgmed to read it"
        )
    try:
        graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        for node in document["nodes"]:
            attrs = _float_fields(dict(node))
            graph.add_node(attrs.pop("id"), **attrs)
        for edge in document["edges"]:
            attrs = _float_fields(dict(edge))
            u, v, key = attrs.pop("source"), attrs.pop("target"), attrs.pop("relation")
            graph.add_edge(u, v, key=key, **attrs)
        rules = _rules_from_json(document["rules"], RULE_COLUMNS)
        params = dict(document.get("params") or {})
    except (KeyError, TypeError, ValueError) as err:
        raise GraphFileError(
            f"{source.name}: a saved kgmed graph, but damaged: {type(err).__name__}: {err}"
        ) from err
    return KnowledgeGraph(graph, rules, params=params)


# -- helpers ---------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _clean(text: str) -> str:
    """:func:`clean_text` of one string; cached, as a merge looks up the same terms often."""
    cleaned = clean_text(pd.Series([text], dtype="object")).iloc[0]
    return "" if pd.isna(cleaned) else str(cleaned)


def _check_kind(term: str, node: str, kind: str | None, graph: nx.MultiDiGraph[str]) -> str:
    if kind is not None:
        actual = graph.nodes[node].get("kind")
        if actual != kind:
            raise ConceptKindError(f"{term!r} ({node}) is a {actual}, not a {kind}")
    return node


def _check_relation(relation: str) -> None:
    if relation not in RELATIONS:
        raise ParameterError(f"unknown relation {relation!r}; relations are {list(RELATIONS)}")


#: Relations that build makes for rule nodes; no curated statement has them.
_RULE_RELATIONS: tuple[str, ...] = ("antecedent_of", "implies")
#: Relations kgmed makes for its own nodes (rules, cohorts), which no
#: curated statement has, with what makes them.
_OWN_RELATIONS: dict[str, str] = {
    **dict.fromkeys(_RULE_RELATIONS, "rule nodes (build(..., rule_nodes=True))"),
    "characterized_by": "cohort nodes (kg.add_cohorts(cohorts))",
}


def _relation_of(term: str) -> tuple[str, bool]:
    key = "_".join(term.strip().lower().replace("-", " ").split())
    if key in _OWN_RELATIONS:
        raise ParameterError(
            f"relation {term!r} links {_OWN_RELATIONS[key]} and "
            f"cannot be curated; relations between concepts are "
            f"{[r for r in RELATIONS if r not in _OWN_RELATIONS]}"
        )
    if key in RELATIONS:
        return key, False
    if key in RELATION_ALIASES:
        return RELATION_ALIASES[key]
    raise ParameterError(
        f"unknown relation {term!r}; relations are "
        f"{[r for r in RELATIONS if r not in _OWN_RELATIONS]} "
        f"and aliases {list(RELATION_ALIASES)}"
    )


_PARTS: tuple[str, str, str] = ("subject", "relation", "object")


class _Undo:
    """What a merge added or changed, so that a failed merge can be taken back."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.edges: list[tuple[str, str, str]] = []
        self.changed: list[tuple[str, str, str, Any]] = []
        self.xrefs: list[tuple[str, Any]] = []

    def rollback(self, graph: nx.MultiDiGraph[str]) -> None:
        for node, xrefs in reversed(self.xrefs):
            if xrefs is None:
                graph.nodes[node].pop("xrefs", None)
            else:
                graph.nodes[node]["xrefs"] = xrefs
        for u, v, key, provenance in reversed(self.changed):
            graph.edges[u, v, key]["provenance"] = provenance
        for u, v, key in reversed(self.edges):
            graph.remove_edge(u, v, key=key)
        graph.remove_nodes_from(self.nodes)


def _looks_like_id(text: str) -> bool:
    head, sep, tail = text.partition(":")
    return bool(sep) and head[:1].isalpha() and head.replace("_", "").isalnum() and bool(tail)


def _present(value: Any, part: str) -> str:
    """A statement's cell as clean text; a missing or blank cell is an error."""
    text = None if _is_missing(value) else str(value).strip()
    if not text:
        raise MissingValueError(f"the {part} is empty; every statement needs one")
    return text


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _at_row(err: Exception, row: object) -> Exception:
    """The same error, its message naming the row of the knowledge table."""
    message = f"knowledge, row {row!r}: {err}"
    if isinstance(err, ConceptNotFound):
        return ConceptNotFound(message, term=err.term, suggestions=err.suggestions)
    return type(err)(message)


def _check_choice_missing(on_missing: str) -> None:
    if on_missing not in ("add", "error", "skip"):
        raise ParameterError(f"on_missing must be 'add', 'error' or 'skip', got {on_missing!r}")


def _curie(label: str) -> str:
    """An id for a curated term: kept when it already looks like PREFIX:code."""
    head, sep, tail = label.partition(":")
    if sep and head.isalnum() and head[:1].isalpha() and tail and " " not in label:
        return label
    return concept_id_for(label.casefold())


def _ordered_provenance(parts: Iterable[str]) -> list[str]:
    """Patient evidence first (mined, then recorded), curated sources by name."""
    first = {"mined": 0, "recorded": 1}
    return sorted(set(parts), key=lambda part: (first.get(part, 2), part))


def _curated_evidence(tag: str) -> dict[str, Any]:
    attrs: dict[str, Any] = dict.fromkeys(_STATISTICS, math.nan)
    attrs.update(dict.fromkeys(_COUNTS))
    attrs["direct"] = None
    attrs["holds"] = None
    attrs["provenance"] = tag
    return attrs


# Strict JSON has no NaN or infinity; like protobuf's JSON mapping, kgmed
# writes them as the strings below and reads them back in float fields.
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_FLOAT_FIELDS = frozenset(
    {
        "p_target_given_source",
        "p_source_given_target",
        "lift",
        "leverage",
        "support",
        "confidence",
        "p_value",
        "q_value",
        "adjusted_odds_ratio",
        "adjusted_p_value",
        "adjusted_q_value",
        "direct_weight",
        "direct_q_value",
    }
)


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float written as a string."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _finite(value.item())
    return value


def _float_fields(attrs: dict[str, Any]) -> dict[str, Any]:
    """Float fields of a node or edge read back from strings where needed."""
    for key in _FLOAT_FIELDS.intersection(attrs):
        value = attrs[key]
        if isinstance(value, str) and value in _NON_FINITE:
            attrs[key] = _NON_FINITE[value]
    return attrs


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if value is pd.NA:
        return None
    raise TypeError(f"cannot write {type(value).__name__} to a kgmed graph file")


def _rules_to_json(rules: pd.DataFrame) -> dict[str, Any]:
    columns = list(rules.columns)
    data = []
    for row in rules.itertuples(index=False, name=None):
        data.append([sorted(v) if isinstance(v, frozenset) else v for v in row])
    return {"columns": columns, "data": data}


def _rules_from_json(rules: Mapping[str, Any], default_columns: Iterable[str]) -> pd.DataFrame:
    columns = list(rules.get("columns") or default_columns)
    frame = pd.DataFrame(rules.get("data", []), columns=columns)
    for column in ("antecedents", "consequents"):
        if column in frame:
            frame[column] = pd.Series([frozenset(v) for v in frame[column]], dtype=object)
    for column in ("n_antecedent", "n_consequent", "n_both", "n_total", "n_patients"):
        if column in frame:
            frame[column] = frame[column].astype("int64")
    for column in frame.columns:
        if column not in (
            "antecedents",
            "consequents",
            "n_antecedent",
            "n_consequent",
            "n_both",
            "n_total",
            "n_patients",
        ):
            frame[column] = frame[column].astype("float64")
    return frame
