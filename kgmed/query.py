"""Look-ups on a knowledge graph: what goes with a concept, strongest first."""

from __future__ import annotations

import math
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kgmed._validation import check_fraction, check_positive_int
from kgmed.errors import ParameterError
from kgmed.schema import RELATIONS

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph

__all__ = ["diseases_with", "neighbors", "symptoms_of", "treatments_for"]

_NEIGHBOR_COLUMNS: tuple[str, ...] = (
    "id",
    "label",
    "kind",
    "relation",
    "direction",
    "p_neighbor_given_concept",
    "p_concept_given_neighbor",
    "lift",
    "n_patients",
    "p_value",
    "q_value",
    "direct_weight",
    "source",
)


def _related(kg: KnowledgeGraph, concept: str, relations: tuple[str, ...] | None) -> pd.DataFrame:
    """Edges at ``concept``, seen from it: one row per (neighbor, relation)."""
    graph = kg.graph
    rows = []
    for direction, edges in (
        ("out", graph.out_edges(concept, keys=True, data=True)),
        ("in", graph.in_edges(concept, keys=True, data=True)),
    ):
        for u, v, relation, attrs in edges:
            if relations is not None and relation not in relations:
                continue
            neighbor = v if direction == "out" else u
            forward = attrs.get("p_target_given_source")
            backward = attrs.get("p_source_given_target")
            rows.append(
                {
                    "id": neighbor,
                    "label": graph.nodes[neighbor].get("label"),
                    "kind": graph.nodes[neighbor].get("kind"),
                    "relation": relation,
                    "direction": direction,
                    "p_neighbor_given_concept": forward if direction == "out" else backward,
                    "p_concept_given_neighbor": backward if direction == "out" else forward,
                    "lift": attrs.get("lift"),
                    "n_patients": attrs.get("n_patients"),
                    "p_value": attrs.get("p_value"),
                    "q_value": attrs.get("q_value"),
                    "direct_weight": attrs.get("direct_weight"),
                    "source": attrs.get("provenance"),
                }
            )
    table = pd.DataFrame(rows, columns=list(_NEIGHBOR_COLUMNS))
    for column in ("id", "label", "kind", "relation", "direction", "source"):
        table[column] = table[column].astype("string")
    for column in (
        "p_neighbor_given_concept",
        "p_concept_given_neighbor",
        "lift",
        "p_value",
        "q_value",
        "direct_weight",
    ):
        table[column] = table[column].astype("float64")
    table["n_patients"] = table["n_patients"].astype("Int64")
    return table


def _filter_and_rank(
    table: pd.DataFrame,
    *,
    min_lift: float | None,
    max_q_value: float | None,
    limit: int | None,
) -> pd.DataFrame:
    # Curated edges carry no statistics: thresholds on statistics keep them.
    mined = table["lift"].notna().to_numpy()
    keep = np.ones(len(table), dtype=bool)
    if min_lift is not None:
        keep &= ~mined | (table["lift"].to_numpy(dtype=float, na_value=np.nan) >= min_lift)
    if max_q_value is not None:
        q = table["q_value"].to_numpy(dtype=float, na_value=np.nan)
        keep &= ~mined | (q <= max_q_value)
    table = table.loc[keep]
    # Strongest evidence first: the direct weight (the chance that the disease
    # alone brings the symptom or treatment), then lift, then significance;
    # never the raw count, which only says how common the neighbour is.
    table = table.sort_values(
        ["direct_weight", "lift", "q_value", "label"],
        ascending=[False, False, True, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    return table if limit is None else table.head(limit)


def _is_number(value: object) -> bool:
    """A real number, not a bool and not NaN (numpy scalars included)."""
    return not isinstance(value, bool) and isinstance(value, Real) and not math.isnan(float(value))


def _check_options(min_lift: float | None, max_q_value: float | None, limit: int | None) -> None:
    if min_lift is not None and not (_is_number(min_lift) and min_lift >= 0):
        raise ParameterError(f"min_lift must be a number >= 0 or None, got {min_lift!r}")
    if max_q_value is not None:
        check_fraction("max_q_value", max_q_value, low_inclusive=True)
    if limit is not None:
        check_positive_int("limit", limit)


def _one_relation(
    kg: KnowledgeGraph,
    term: str,
    *,
    kind: str,
    relation: str,
    direction: str,
    names: tuple[str, str],
    min_lift: float | None,
    max_q_value: float | None,
    limit: int | None,
) -> pd.DataFrame:
    _check_options(min_lift, max_q_value, limit)
    concept = kg.resolve(term, kind=kind)
    table = _related(kg, concept, (relation,))
    table = table[table["direction"] == direction]
    table = _filter_and_rank(table, min_lift=min_lift, max_q_value=max_q_value, limit=limit)
    table = table.rename(
        columns={
            "p_neighbor_given_concept": names[0],
            "p_concept_given_neighbor": names[1],
        }
    )
    return table.drop(columns=["kind", "relation", "direction"])


def symptoms_of(
    kg: KnowledgeGraph,
    disease: str,
    *,
    min_lift: float | None = 1.0,
    max_q_value: float | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Symptoms associated with a disease, strongest first.

    Parameters
    ----------
    kg : KnowledgeGraph
    disease : str
        A label (any case or spacing), concept id or code.
    min_lift : float or None, default 1.0
        Keep mined edges whose lift is at least this (1 means the symptom is
        at least as common with the disease as without); None keeps all.
        Curated edges, which have no lift, are always kept.
    max_q_value : float, optional
        Keep mined edges whose q-value is at most this (0.05 keeps those
        significant at a 5 % false discovery rate).
    limit : int, optional
        Return at most this many rows.

    Returns
    -------
    pandas.DataFrame
        One row per symptom: ``id``, ``label``, ``p_symptom_given_disease``
        (the share of the disease's patients with the symptom),
        ``p_disease_given_symptom``, ``lift``, ``n_patients`` (with both),
        ``p_value``, ``q_value``, ``direct_weight`` (the noisy-OR weight
        of a graph built with direct relations, the default; missing
        otherwise), ``source``; strongest evidence first: by
        ``direct_weight``, then ``lift``, then ``q_value``.

    Raises
    ------
    ConceptNotFound
        If ``disease`` names no concept; the message lists the closest labels.
    ConceptKindError
        If it names a concept that is not a disease.

    See Also
    --------
    diseases_with : The other way round.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> table = kgmed.query.symptoms_of(kg, "Influenza")
    >>> table.columns.tolist()
    ['id', 'label', 'p_symptom_given_disease', 'p_disease_given_symptom', 'lift', 'n_patients', 'p_value', 'q_value', 'direct_weight', 'source']
    >>> table["label"].iloc[0]
    'fever'
    """
    return _one_relation(
        kg,
        disease,
        kind="disease",
        relation="has_symptom",
        direction="out",
        names=("p_symptom_given_disease", "p_disease_given_symptom"),
        min_lift=min_lift,
        max_q_value=max_q_value,
        limit=limit,
    )


def treatments_for(
    kg: KnowledgeGraph,
    disease: str,
    *,
    min_lift: float | None = 1.0,
    max_q_value: float | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Treatments recorded with a disease, strongest first.

    Parameters
    ----------
    kg : KnowledgeGraph
    disease : str
        A label (any case or spacing), concept id or code.
    min_lift, max_q_value, limit
        As in :func:`symptoms_of`.

    Returns
    -------
    pandas.DataFrame
        One row per treatment: ``id``, ``label``,
        ``p_treatment_given_disease``, ``p_disease_given_treatment``,
        ``lift``, ``n_patients``, ``p_value``, ``q_value``, ``source``.

    Raises
    ------
    ConceptNotFound, ConceptKindError
        As in :func:`symptoms_of`.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> kg.treatments_for("influenza")["label"].iloc[0]
    'oseltamivir'
    """
    return _one_relation(
        kg,
        disease,
        kind="disease",
        relation="treated_with",
        direction="out",
        names=("p_treatment_given_disease", "p_disease_given_treatment"),
        min_lift=min_lift,
        max_q_value=max_q_value,
        limit=limit,
    )


def diseases_with(
    kg: KnowledgeGraph,
    symptom: str,
    *,
    min_lift: float | None = 1.0,
    max_q_value: float | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Diseases that present a symptom, strongest first.

    Parameters
    ----------
    kg : KnowledgeGraph
    symptom : str
        A label (any case or spacing), concept id or code.
    min_lift, max_q_value, limit
        As in :func:`symptoms_of`.

    Returns
    -------
    pandas.DataFrame
        One row per disease: ``id``, ``label``, ``p_disease_given_symptom``
        (the share of patients with the symptom who have the disease),
        ``p_symptom_given_disease``, ``lift``, ``n_patients``, ``p_value``,
        ``q_value``, ``direct_weight``, ``source``; strongest evidence
        first, as in :func:`symptoms_of`.

    Raises
    ------
    ConceptNotFound
        If ``symptom`` names no concept.
    ConceptKindError
        If it names a concept that is not a symptom.

    See Also
    --------
    symptoms_of : The other way round.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> "influenza" in set(kg.diseases_with("fever")["label"])
    True
    """
    return _one_relation(
        kg,
        symptom,
        kind="symptom",
        relation="has_symptom",
        direction="in",
        names=("p_disease_given_symptom", "p_symptom_given_disease"),
        min_lift=min_lift,
        max_q_value=max_q_value,
        limit=limit,
    )


def neighbors(
    kg: KnowledgeGraph,
    concept: str,
    relation: str | None = None,
    *,
    min_lift: float | None = None,
    max_q_value: float | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Every concept related to one, by any relation or by one relation.

    Parameters
    ----------
    kg : KnowledgeGraph
    concept : str
        A label (any case or spacing), concept id or code.
    relation : str, optional
        Only this relation (see :data:`kgmed.schema.RELATIONS`).
    min_lift : float, optional
        Keep mined edges whose lift is at least this; all by default.
    max_q_value, limit
        As in :func:`symptoms_of`.

    Returns
    -------
    pandas.DataFrame
        One row per (neighbor, relation): ``id``, ``label``, ``kind``,
        ``relation``, ``direction`` (``"out"`` when the concept is the
        edge's source), ``p_neighbor_given_concept``,
        ``p_concept_given_neighbor``, ``lift``, ``n_patients``, ``p_value``,
        ``q_value``, ``direct_weight``, ``source``; strongest evidence first, as in
        :func:`symptoms_of`.

    Raises
    ------
    ConceptNotFound
        If ``concept`` names no concept.
    ParameterError
        If ``relation`` is not a relation.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> table = kg.neighbors("fever")
    >>> sorted(set(table["relation"]))
    ['associated_with', 'co_occurs_with', 'has_symptom']
    """
    _check_options(min_lift, max_q_value, limit)
    if relation is not None and relation not in RELATIONS:
        raise ParameterError(f"unknown relation {relation!r}; relations are {list(RELATIONS)}")
    concept_id = kg.resolve(concept)
    table = _related(kg, concept_id, None if relation is None else (relation,))
    return _filter_and_rank(table, min_lift=min_lift, max_q_value=max_q_value, limit=limit)
