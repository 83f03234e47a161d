"""Records and rules to a KnowledgeGraph."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from kgmed._limits import memory_budget
from kgmed._progress import Stages, check_progress
from kgmed._validation import check_choice, check_columns, check_fraction, check_positive_int
from kgmed.errors import ParameterError, RecordsError
from kgmed.graph import KnowledgeGraph, _curated_evidence, _ordered_provenance
from kgmed.mining import (
    ADJUSTED_COLUMNS,
    AGE_BANDS,
    adjust_rules,
    direct_relations,
    mine_rules,
    strata,
    transactions,
)
from kgmed.mining.rules import check_rule_params, check_spark_input
from kgmed.mining.spark import is_spark_dataframe, mine_spark_records
from kgmed.mining.transactions import Transactions
from kgmed.records import Records
from kgmed.schema import relation_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame

__all__ = [
    "KEEP_MODES",
    "MIN_STRATUM",
    "MIN_WEIGHT",
    "RELATION_MODES",
    "build",
    "graph_from_rules",
    "recorded_reasons",
]

#: Values of ``keep`` in :func:`kgmed.build`.
KEEP_MODES: tuple[str, ...] = ("significant", "all")

#: The smallest direct weight a relation must have to be material: the
#: probability that the disease alone brings the symptom or treatment.
#: Chosen by measurement (``benchmarks/quality.py``, 30,000 generated
#: patients per setting): false relations that pass the significance test in
#: large samples (diagnoses left unrecorded with comorbid ones, severity that
#: varies from patient to patient, miscoded symptoms) weighed up to 0.079,
#: the weakest true ones 0.12; on the real Synthea exports any floor from
#: 0.05 to 0.10 keeps the same treatments.
MIN_WEIGHT: float = 0.08

#: Neighbouring age bands are merged until each stratum of age and sex holds,
#: on average, at least this many patients (``kgmed.mining.strata``'s
#: ``min_stratum``): decades of age for tens of thousands of patients, broader
#: bands for a few hundred, so that adjusting never hides what the records show.
MIN_STRATUM: int = 30


def build(
    data: Records | pd.DataFrame | SparkDataFrame,
    *,
    min_support: float = 0.001,
    min_confidence: float = 0.05,
    min_patients: int = 11,
    algorithm: str = "auto",
    max_len: int = 2,
    rule_nodes: bool = False,
    basket: str | None = None,
    relations: str = "direct",
    max_q_value: float = 0.05,
    min_lift: float = 1.0,
    min_weight: float = MIN_WEIGHT,
    keep: str = "significant",
    adjust_for: Sequence[str] = ("age", "sex"),
    age_bands: Sequence[float] = AGE_BANDS,
    direct_alpha: float | None = None,
    progress: bool | None = None,
    max_memory: int | float | str | None = None,
) -> KnowledgeGraph:
    """Build a knowledge graph from patient records.

    Records become a sparse patient × concept matrix, the matrix becomes
    association rules with their counts and significance
    (:func:`kgmed.mine_rules`), and the rules of two concepts become typed
    edges (:func:`graph_from_rules`). Only what holds becomes an edge (see
    ``keep``): an association that is positive and significant, not
    explained by the patients' age and sex, and, for disease → symptom and
    disease → treatment, a direct relation that is material as well as
    significant.

    Parameters
    ----------
    data : Records, pandas.DataFrame or pyspark.sql.DataFrame
        The records. A DataFrame with the columns ``patient_id``,
        ``concept`` and ``kind`` is read as it is; for other column names
        use :meth:`Records.from_dataframe`. A Spark DataFrame with those
        columns stays in Spark and is mined there (``algorithm="spark"``,
        see ``docs/spark.md``); it gives the same graph as its pandas copy.
    min_support : float, default 0.001
        Keep relations seen in at least this fraction of patients; in (0, 1].
    min_confidence : float, default 0.05
        Keep a relation when at least one of its two conditionals
        (P(symptom | disease) or P(disease | symptom)) reaches this; in [0, 1].
    min_patients : int, default 11
        The privacy floor: relations seen in fewer patients, and concepts
        held by fewer, are left out. Lower it on purpose only.
    algorithm : {"auto", "pairs", "fpgrowth", "apriori", "spark"}, default "auto"
        The miner, as in :func:`kgmed.mine_rules`: ``"spark"`` counts in
        Apache Spark (``pip install "kgmed[spark]"``) and builds the same
        graph.
    max_len : int, default 2
        Longest rule mined. Rules of more than two concepts
        (``{fever, cough} -> influenza``) stay in ``KnowledgeGraph.rules``.
    rule_nodes : bool, default False
        Also put each longer rule in the graph as a node of kind ``"rule"``,
        linked from its antecedents (``antecedent_of``) and to its
        consequents (``implies``), carrying the rule's statistics.
    basket : {"patient", "encounter"}, optional
        Count co-occurrence in a patient's whole record or within one
        encounter; ``Records.basket`` by default. The privacy floor
        counts distinct patients either way.
    relations : {"association", "annotated", "direct"}, default "direct"
        How disease → symptom and disease → treatment edges are judged.
        ``"association"``: as every other relation, by their association
        alone. ``"annotated"``: the same, each with its direct-relation
        weight (:func:`kgmed.mining.direct_relations`: a noisy-OR that
        explains away the patient's other diseases, age and sex) in
        ``direct_weight``, its ``direct_q_value``, and ``direct``: whether
        it holds up (``direct_q_value < max_q_value`` and ``direct_weight >=
        min_weight``). ``"direct"``: annotated, and only the edges whose
        direct relation holds up are kept (recorded and curated edges
        stay). Both fitting modes also put each symptom's and treatment's
        ``leak`` (its rate with none of the diseases) on its node, for
        linking.
    max_q_value : float, default 0.05
        The false discovery rate every mined edge must pass: its q-value
        (Benjamini–Hochberg, over all pairs tested) must be below this, and
        so must its age- and sex-adjusted q-value and, for direct
        relations, its ``direct_q_value``.
    min_lift : float, default 1.0
        A mined edge's lift must be above this (and its adjusted odds ratio
        above 1): the two concepts go together more often than chance.
    min_weight : float, default :data:`kgmed.build.MIN_WEIGHT`
        The smallest direct weight that is material (``relations`` other
        than ``"association"``).
    keep : {"significant", "all"}, default "significant"
        ``"significant"``: a mined edge that fails the rule above is left
        out (an edge also recorded or curated stays, under that provenance
        alone). ``"all"``: every tested pair stays, for exploration, each
        with ``holds`` saying whether it passed. ``kg.params["edges"]``
        says how many were tested, kept and dropped, and why.
    adjust_for : sequence of str, default ("age", "sex")
        What to adjust for: columns of ``Records.patients`` (its ``age``,
        cut into ``age_bands``, ``sex``, and any covariate read with the
        records). Associations get a Mantel–Haenszel odds ratio and
        Cochran–Mantel–Haenszel q-value over the strata these make
        (``adjusted_odds_ratio``, ``adjusted_q_value``) next to the crude
        ones, and the direct model a leak per stratum. Records with no
        ``patients`` table, and an empty sequence, give crude figures only;
        ``kg.params["adjusted_for"]`` says what was adjusted for.
    age_bands : sequence of float, default :data:`kgmed.mining.AGE_BANDS`
        Where each age band starts (years): decades, 80 and over the last.
    direct_alpha : float, optional
        Deprecated: the old name of ``max_q_value`` for direct relations.
    progress : bool, optional
        Draw a progress bar over the stages (records, matrix, rules, graph,
        direct relations) on standard error. By default one is drawn only
        when standard error is a terminal; ``False`` never draws one.
    max_memory : int, float or str, optional
        The memory budget for mining, as in :func:`kgmed.mine_rules`: by
        default the memory available now.

    Returns
    -------
    KnowledgeGraph

    Raises
    ------
    ParameterError
        If a parameter is out of range.
    ResourceLimitError
        If mining could need more memory than ``max_memory``; the message
        gives the estimate.
    RecordsError
        If the records are not usable (see :meth:`Records.from_dataframe`).
    ColumnNotFound
        If ``adjust_for`` names a column ``Records.patients`` lacks.

    See Also
    --------
    kgmed.read_records, kgmed.mine_rules, KnowledgeGraph

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(3000, random_state=0)
    >>> kg = kgmed.build(records, min_support=0.005)
    >>> kg.symptoms_of("influenza")[["label", "p_symptom_given_disease", "n_patients"]].head(2)
       label  p_symptom_given_disease  n_patients
    0  fever                 0.930328         227
    1  cough                 0.786885         192
    >>> kg.params["edges"]["tested"] > kg.params["edges"]["kept"]
    True
    """
    if not isinstance(rule_nodes, bool):
        raise ParameterError(f"rule_nodes must be True or False, got {rule_nodes!r}")
    algorithm = check_spark_input(data, algorithm)
    check_rule_params(min_support, min_confidence, min_patients, max_len, algorithm)
    relations = check_choice("relations", relations, RELATION_MODES)
    keep = check_choice("keep", keep, KEEP_MODES)
    if direct_alpha is not None:
        warnings.warn(
            "build(direct_alpha=) is deprecated: the one false discovery rate of a build "
            "is max_q_value=",
            DeprecationWarning,
            stacklevel=2,
        )
        max_q_value = check_fraction("direct_alpha", direct_alpha)
    max_q_value = check_fraction("max_q_value", max_q_value)
    min_weight = check_fraction("min_weight", min_weight, low_inclusive=True)
    _check_min_lift(min_lift)
    if isinstance(adjust_for, str):
        adjust_for = (adjust_for,)
    adjust_for = tuple(str(name) for name in adjust_for)
    show = check_progress(progress)
    memory_budget(max_memory)
    spark = is_spark_dataframe(data)
    names = ["spark"] if spark else ["records", "matrix", "rules"]
    names.append("graph")
    if relations != "association":
        names.append("direct relations")
    with Stages(names, show=show, desc="kgmed.build") as stages:
        kg = _build(
            data,
            stages,
            min_support=min_support,
            min_confidence=min_confidence,
            min_patients=min_patients,
            algorithm=algorithm,
            max_len=max_len,
            rule_nodes=rule_nodes,
            basket=basket,
            relations=relations,
            rule=_KeepRule(
                max_q_value=max_q_value,
                min_lift=float(min_lift),
                min_weight=min_weight,
                keep=keep,
                direct=relations == "direct",
            ),
            adjust_for=adjust_for,
            age_bands=age_bands,
            show=show,
            max_memory=max_memory,
        )
    return kg


def _build(
    data: Records | pd.DataFrame | SparkDataFrame,
    stages: Stages,
    *,
    min_support: float,
    min_confidence: float,
    min_patients: int,
    algorithm: str,
    max_len: int,
    rule_nodes: bool,
    basket: str | None,
    relations: str,
    rule: _KeepRule,
    adjust_for: tuple[str, ...],
    age_bands: Sequence[float],
    show: bool,
    max_memory: int | float | str | None,
) -> KnowledgeGraph:
    """:func:`build` once its parameters are checked, stage by stage."""
    per_patient: Transactions | None = None
    recorded: pd.DataFrame | None = None
    patient_strata = None
    adjusted: tuple[str, ...] = ()
    if is_spark_dataframe(data):
        stages.start("spark")
        # The records stay in Spark: rules, the concept table and (for the
        # direct fit) the patient × concept matrix come back from it.
        mined = mine_spark_records(
            data,
            basket=basket,
            min_support=min_support,
            min_confidence=min_confidence,
            min_patients=min_patients,
            max_len=max_len,
            per_patient=relations != "association",
        )
        rules, concepts, n_patients = mined.rules, mined.concepts, mined.n_patients
        unit, n_baskets, per_patient = mined.unit, mined.n_baskets, mined.per_patient
    else:
        stages.start("records")
        records = _as_records(data)
        stages.start("matrix")
        matrix = transactions(records, basket=basket)
        stages.start("rules")
        rules = mine_rules(
            matrix,
            min_support=min_support,
            min_confidence=min_confidence,
            min_patients=min_patients,
            max_len=max_len,
            algorithm=algorithm,
            max_memory=max_memory,
        )
        concepts, n_patients = records.concepts(), records.n_patients
        unit, n_baskets = matrix.unit, matrix.n_baskets
        if records.data["reason_id"].notna().any():
            recorded = recorded_reasons(records)
        if relations != "association":
            # Direct relations are a property of patients, whatever the basket.
            per_patient = (
                matrix if matrix.unit == "patient" else transactions(records, basket="patient")
            )
        if adjust_for and records.patients is not None:
            adjusted = adjust_for
            groups = strata(
                matrix,
                records.patients,
                by=adjust_for,
                age_bands=age_bands,
                min_stratum=MIN_STRATUM,
            )
            rules = adjust_rules(rules, matrix, groups)
            if per_patient is not None:
                patient_strata = (
                    groups
                    if per_patient is matrix
                    else strata(
                        per_patient,
                        records.patients,
                        by=adjust_for,
                        age_bands=age_bands,
                        min_stratum=MIN_STRATUM,
                    )
                )
    params = {
        "min_support": float(min_support),
        "min_confidence": float(min_confidence),
        "min_patients": int(min_patients),
        "max_len": int(max_len),
        "algorithm": algorithm,
        "basket": unit,
        "n_baskets": n_baskets,
        "relations": relations,
        "max_q_value": rule.max_q_value,
        "min_lift": rule.min_lift,
        "min_weight": rule.min_weight,
        "keep": rule.keep,
        "adjusted_for": list(adjusted),
        "age_bands": [float(b) for b in age_bands] if "age" in adjusted else None,
    }
    stages.start("graph")
    kg = graph_from_rules(
        rules,
        concepts,
        n_patients=n_patients,
        min_patients=min_patients,
        rule_nodes=rule_nodes,
        recorded=recorded,
        params=params,
        keep="all",
    )
    if per_patient is not None:
        stages.start("direct relations")
        direct = direct_relations(
            per_patient,
            concepts.set_index("concept_id")["kind"],
            strata=patient_strata,
            min_patients=min_patients,
            progress=show,
        )
        _annotate_direct(kg, direct, rule)
    kg.params["edges"] = _apply_keep(kg, rule)
    return kg


#: Values of ``relations`` in :func:`kgmed.build`.
RELATION_MODES: tuple[str, ...] = ("association", "annotated", "direct")
_DIRECT_RELATIONS: tuple[str, ...] = ("has_symptom", "treated_with")
_RULE_EDGES: frozenset[str] = frozenset({"antecedent_of", "implies"})


class _KeepRule:
    """What a mined edge must show to be kept (see :func:`build`)."""

    def __init__(
        self, *, max_q_value: float, min_lift: float, min_weight: float, keep: str, direct: bool
    ) -> None:
        self.max_q_value = max_q_value
        self.min_lift = min_lift
        self.min_weight = min_weight
        self.keep = keep
        self.direct = direct

    def failure(self, relation: str, attrs: dict[str, Any]) -> str | None:
        """Why an edge does not hold, in words; None when it holds."""
        lift, q = _number(attrs.get("lift")), _number(attrs.get("q_value"))
        if not lift > self.min_lift:
            return f"not positive (lift <= {self.min_lift:g})"
        if not q < self.max_q_value:
            return f"not significant (q >= {self.max_q_value:g})"
        odds = _number(attrs.get("adjusted_odds_ratio"))
        adjusted_q = _number(attrs.get("adjusted_q_value"))
        if not math.isnan(adjusted_q) and not (odds > 1 and adjusted_q < self.max_q_value):
            return "explained by age and sex"
        if self.direct and relation in _DIRECT_RELATIONS and attrs.get("direct") is not True:
            weight = _number(attrs.get("direct_weight"))
            direct_q = _number(attrs.get("direct_q_value"))
            if direct_q < self.max_q_value and weight < self.min_weight:
                return f"not material (direct weight < {self.min_weight:g})"
            return "not direct (explained by another disease)"
        return None


def _check_min_lift(min_lift: object) -> None:
    if isinstance(min_lift, bool) or not isinstance(min_lift, (int, float)) or not min_lift >= 0:
        raise ParameterError(f"min_lift must be a number >= 0, got {min_lift!r}")


def _number(value: object) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _annotate_direct(kg: KnowledgeGraph, direct: pd.DataFrame, rule: _KeepRule) -> None:
    """Put direct weights on disease→symptom/treatment edges, and leaks on their targets."""
    fitted = {
        (source, target): (weight, q)
        for source, target, weight, q in direct[
            ["source", "target", "weight", "q_value"]
        ].itertuples(index=False)
    }
    # Each target's leak (its rate with none of the diseases) goes on its node:
    # linking needs it to tell a symptom's causes from its background.
    for target, leak in direct.drop_duplicates("target")[["target", "leak"]].itertuples(
        index=False
    ):
        if target in kg.graph:
            kg.graph.nodes[target]["leak"] = float(leak)
    for u, v, relation, attrs in kg.graph.edges(keys=True, data=True):
        if relation not in _DIRECT_RELATIONS:
            continue
        weight, q = fitted.get((u, v), (np.nan, np.nan))
        attrs["direct_weight"] = float(weight)
        attrs["direct_q_value"] = float(q)
        attrs["direct"] = bool(q < rule.max_q_value and weight >= rule.min_weight)


def _apply_keep(kg: KnowledgeGraph, rule: _KeepRule) -> dict[str, Any]:
    """Judge every mined edge by the keep rule; drop or flag those that fail.

    Returns the counts of ``kg.params["edges"]``: pairs tested, kept, and
    dropped by reason.
    """
    dropped: dict[str, int] = {}
    remove, tested, kept = [], 0, 0
    for u, v, relation, attrs in kg.graph.edges(keys=True, data=True):
        parts = str(attrs.get("provenance", "")).split("; ")
        if "mined" not in parts or relation in _RULE_EDGES:
            continue
        tested += 1
        why = rule.failure(relation, attrs)
        attrs["holds"] = why is None
        if why is None or rule.keep == "all":
            kept += 1
            continue
        dropped[why] = dropped.get(why, 0) + 1
        others = [part for part in parts if part != "mined"]
        if others:
            # Recorded or curated knowledge stands on its own evidence.
            attrs["provenance"] = "; ".join(others)
            del attrs["holds"]
        else:
            remove.append((u, v, relation))
    kg.graph.remove_edges_from(remove)
    # A longer rule stays as a node only if it holds as well.
    rules = [
        node
        for node, attrs in kg.graph.nodes(data=True)
        if attrs.get("kind") == "rule"
        and not (
            _number(attrs.get("lift")) > rule.min_lift
            and _number(attrs.get("q_value")) < rule.max_q_value
        )
    ]
    if rule.keep == "significant":
        kg.graph.remove_nodes_from(rules)
    return {
        "tested": tested,
        "kept": kept,
        "dropped": dict(sorted(dropped.items(), key=lambda item: (-item[1], item[0]))),
    }


def _as_records(data: object) -> Records:
    if isinstance(data, Records):
        return data
    if isinstance(data, pd.DataFrame):
        return Records.from_dataframe(data)
    raise RecordsError(
        f"build expects Records or a pandas DataFrame (or a Spark DataFrame), got "
        f"{type(data).__name__}; "
        f"read a file with kgmed.read_records(path)"
    )


def graph_from_rules(
    rules: pd.DataFrame,
    concepts: pd.DataFrame,
    *,
    n_patients: int,
    min_patients: int = 11,
    rule_nodes: bool = False,
    recorded: pd.DataFrame | None = None,
    params: dict[str, Any] | None = None,
    max_q_value: float = 0.05,
    min_lift: float = 1.0,
    keep: str = "significant",
) -> KnowledgeGraph:
    """Make typed, evidence-carrying edges of pairwise rules.

    Each pair of concepts found in a rule (in either direction) becomes one
    edge whose relation comes from the kinds of its ends
    (:func:`kgmed.schema.relation_for`): ``has_symptom`` runs from the
    disease to the symptom and holds both ``p_target_given_source``
    (P(symptom | disease)) and ``p_source_given_target``.

    Parameters
    ----------
    rules : pandas.DataFrame
        Rules with the columns of :data:`kgmed.mining.RULE_COLUMNS`, as
        :func:`kgmed.mine_rules` returns them.
    concepts : pandas.DataFrame
        One row per concept: ``concept_id``, ``label``, ``kind``, ``system``,
        ``code``, ``n_patients`` (:meth:`Records.concepts`).
    n_patients : int
        Patients in the records.
    min_patients : int, default 11
        Concepts held by fewer patients are left out, and so are rules
        seen in fewer.
    rule_nodes : bool, default False
        Add longer rules as nodes, as :func:`build` says.
    recorded : pandas.DataFrame, optional
        Recorded reasons, as :func:`recorded_reasons` returns them: each
        (``source``, ``target``) pair held by at least ``min_patients``
        patients becomes an edge, or joins the mined one, with provenance
        ``recorded`` and its count in ``n_recorded``.
    params : dict, optional
        Stored in ``KnowledgeGraph.params``.
    max_q_value, min_lift, keep
        The keep rule, as in :func:`build`: by default a rule becomes an
        edge only if its lift is above ``min_lift``, its q-value below
        ``max_q_value``, and, where the rules carry them
        (:func:`kgmed.mining.adjust_rules`), its adjusted odds ratio above 1
        and adjusted q-value below ``max_q_value``. ``keep="all"`` keeps
        every rule, each edge with ``holds`` saying whether it passed.

    Returns
    -------
    KnowledgeGraph

    Raises
    ------
    ColumnNotFound
        If ``rules`` or ``concepts`` lacks a column.
    RecordsError
        If a rule names a concept that ``concepts`` does not list.

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(2000, random_state=0)
    >>> rules = kgmed.mine_rules(records, min_support=0.01)
    >>> kg = kgmed.graph_from_rules(rules, records.concepts(), n_patients=records.n_patients)
    >>> sorted(set(kg.edges()["relation"]))
    ['associated_with', 'co_occurs_with', 'co_prescribed_with', 'comorbid_with', 'has_symptom', 'treated_with']
    >>> kg.params["edges"]["tested"] > kg.params["edges"]["kept"]
    True
    """
    min_patients = check_positive_int("min_patients", min_patients)
    keep = check_choice("keep", keep, KEEP_MODES)
    max_q_value = check_fraction("max_q_value", max_q_value)
    _check_min_lift(min_lift)
    check_columns(
        rules,
        dict.fromkeys(
            [
                "antecedents",
                "consequents",
                "n_antecedent",
                "n_consequent",
                "n_both",
                "n_total",
                "lift",
                "leverage",
                "support",
                "p_value",
                "q_value",
            ]
        ),
        where="rules",
    )
    check_columns(
        concepts,
        dict.fromkeys(["concept_id", "label", "kind", "system", "code", "n_patients"]),
        where="concepts",
    )
    if "n_patients" not in rules.columns:
        rules = rules.assign(n_patients=rules["n_both"])
    rules = rules.loc[rules["n_patients"].to_numpy() >= min_patients].reset_index(drop=True)
    shown = concepts.loc[concepts["n_patients"].to_numpy() >= min_patients]

    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    graph.add_nodes_from(
        (
            str(row.concept_id),
            {
                "kind": str(row.kind),
                "label": str(row.label),
                "system": _none_if_na(row.system),
                "code": _none_if_na(row.code),
                "n_patients": int(row.n_patients),
            },
        )
        for row in shown.itertuples(index=False)
    )
    kinds = concepts.set_index("concept_id")["kind"]
    for source, target, relation, evidence in _pair_edges(rules, kinds):
        graph.add_edge(source, target, key=relation, **evidence)
    if rule_nodes:
        _add_rule_nodes(graph, rules, concepts.set_index("concept_id")["label"])
    n_unmatched = 0
    if recorded is not None:
        n_unmatched = _add_recorded(graph, recorded, min_patients)
    all_params = dict(params or {})
    all_params.update(
        n_patients=int(n_patients),
        min_patients=int(min_patients),
        n_concepts_suppressed=int(len(concepts) - len(shown)),
    )
    if recorded is not None:
        all_params["n_recorded_unmatched"] = n_unmatched
    kg = KnowledgeGraph(graph, rules, params=all_params)
    rule = _KeepRule(
        max_q_value=max_q_value, min_lift=float(min_lift), min_weight=0.0, keep=keep, direct=False
    )
    kg.params["edges"] = _apply_keep(kg, rule)
    return kg


def _none_if_na(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _single(itemsets: pd.Series) -> np.ndarray:
    return np.array([next(iter(items)) for items in itemsets], dtype=object)


def _pair_edges(
    rules: pd.DataFrame, kinds: pd.Series
) -> list[tuple[str, str, str, dict[str, Any]]]:
    sizes_a = rules["antecedents"].map(len).to_numpy()
    sizes_c = rules["consequents"].map(len).to_numpy()
    pairs = rules.loc[(sizes_a == 1) & (sizes_c == 1)]
    if len(pairs) == 0:
        return []
    a, c = _single(pairs["antecedents"]), _single(pairs["consequents"])
    unknown = sorted(set(a).union(c).difference(kinds.index))
    if unknown:
        raise RecordsError(
            f"rules name {len(unknown)} concept(s) that the concepts table does not "
            f"list, e.g. {unknown[:3]}"
        )
    kind_a, kind_c = kinds.reindex(a).to_numpy(), kinds.reindex(c).to_numpy()
    relation = np.empty(len(pairs), dtype=object)
    swap = np.zeros(len(pairs), dtype=bool)
    symmetric = np.zeros(len(pairs), dtype=bool)
    combos = pd.DataFrame({"a": kind_a, "c": kind_c})
    for (ka, kc), positions in combos.groupby(["a", "c"], sort=False).indices.items():
        rel, reverse = relation_for(str(ka), str(kc))
        relation[positions] = rel.name
        swap[positions] = reverse
        symmetric[positions] = rel.symmetric
    n_a = pairs["n_antecedent"].to_numpy()
    n_c = pairs["n_consequent"].to_numpy()
    # Symmetric relations run from the smaller concept id to the larger.
    swap |= symmetric & (a > c)
    source, target = np.where(swap, c, a), np.where(swap, a, c)
    n_source, n_target = np.where(swap, n_c, n_a), np.where(swap, n_a, n_c)
    n_both = pairs["n_both"].to_numpy()
    table = pd.DataFrame(
        {
            "source": source,
            "target": target,
            "relation": relation,
            "p_target_given_source": n_both / n_source,
            "p_source_given_target": n_both / n_target,
            "lift": pairs["lift"].to_numpy(),
            "leverage": pairs["leverage"].to_numpy(),
            "support": pairs["support"].to_numpy(),
            "n_patients": pairs["n_patients"].to_numpy(),
            "n_both": n_both,
            "n_source": n_source,
            "n_target": n_target,
            "n_total": pairs["n_total"].to_numpy(),
            "p_value": pairs["p_value"].to_numpy(),
            "q_value": pairs["q_value"].to_numpy(),
            **{
                column: pairs[column].to_numpy(dtype=float)
                if column in pairs.columns
                else np.full(len(pairs), np.nan)
                for column in ADJUSTED_COLUMNS
            },
            "n_recorded": None,
            "direct_weight": np.nan,
            "direct_q_value": np.nan,
            "direct": None,
            "provenance": "mined",
        }
    ).drop_duplicates(["source", "target", "relation"])
    table = table.sort_values(["relation", "source", "target"], kind="stable")
    return [
        (row.pop("source"), row.pop("target"), row.pop("relation"), row)
        for row in table.to_dict("records")
    ]


def _add_rule_nodes(graph: nx.MultiDiGraph[str], rules: pd.DataFrame, labels: pd.Series) -> None:
    sizes = rules["antecedents"].map(len) + rules["consequents"].map(len)
    for position in np.nonzero(sizes.to_numpy() > 2)[0]:
        rule = rules.iloc[position]
        antecedents, consequents = (
            sorted(rule["antecedents"]),
            sorted(rule["consequents"]),
        )
        node = f"rule:{position}"
        text = " + ".join(str(labels[a]) for a in antecedents)
        text += " → " + " + ".join(str(labels[c]) for c in consequents)
        graph.add_node(
            node,
            kind="rule",
            label=text,
            system=None,
            code=None,
            n_patients=int(rule["n_both"]),
            support=float(rule["support"]),
            confidence=float(rule["confidence"]),
            lift=float(rule["lift"]),
            p_value=float(rule["p_value"]),
            q_value=float(rule["q_value"]),
        )
        for concept in antecedents:
            graph.add_edge(concept, node, key="antecedent_of", provenance="mined")
        for concept in consequents:
            graph.add_edge(node, concept, key="implies", provenance="mined")


def recorded_reasons(records: Records) -> pd.DataFrame:
    """Recorded reasons: which condition each observation was recorded for.

    Parameters
    ----------
    records : Records
        Records whose ``reason_id`` column names, for some observations, the
        condition they were recorded for (a drug and the diagnosis it was
        prescribed for).

    Returns
    -------
    pandas.DataFrame
        One row per (``source``: the reason, ``target``: the observed
        concept) pair, with ``n_recorded``, the distinct patients whose
        records give that reason; most recorded first.

    Examples
    --------
    >>> import pandas as pd
    >>> import kgmed
    >>> df = pd.DataFrame({"patient_id": [1, 1, 2], "kind": "treatment",
    ...                    "concept": ["amoxicillin", "amoxicillin", "amoxicillin"],
    ...                    "why": ["SNOMEDCT:43878008", "SNOMEDCT:43878008", None]})
    >>> kgmed.recorded_reasons(kgmed.Records.from_dataframe(df, reason="why"))
                  source             target  n_recorded
    0  SNOMEDCT:43878008  local:amoxicillin           1
    """
    data = records.data
    given = data.loc[
        data["reason_id"].notna().to_numpy(), ["reason_id", "concept_id", "patient_id"]
    ]
    counts = (
        given.groupby(["reason_id", "concept_id"], sort=True)["patient_id"]
        .nunique()
        .rename("n_recorded")
        .reset_index()
        .rename(columns={"reason_id": "source", "concept_id": "target"})
    )
    counts["n_recorded"] = counts["n_recorded"].astype("int64")
    return counts.sort_values("n_recorded", ascending=False, kind="stable").reset_index(drop=True)


def _add_recorded(graph: nx.MultiDiGraph[str], recorded: pd.DataFrame, min_patients: int) -> int:
    """Add recorded-reason edges; return how many pairs name a concept not in the graph."""
    check_columns(recorded, dict.fromkeys(["source", "target", "n_recorded"]), where="recorded")
    shown = recorded.loc[recorded["n_recorded"].to_numpy() >= min_patients]
    unmatched = 0
    for reason, concept, n in shown[["source", "target", "n_recorded"]].itertuples(index=False):
        if reason not in graph or concept not in graph or reason == concept:
            unmatched += 1
            continue
        relation, swap = relation_for(graph.nodes[reason]["kind"], graph.nodes[concept]["kind"])
        u, v = (concept, reason) if swap else (reason, concept)
        if relation.symmetric and v < u:
            u, v = v, u
        if graph.has_edge(u, v, key=relation.name):
            attrs = graph.edges[u, v, relation.name]
            attrs["n_recorded"] = int(n)
            attrs["provenance"] = "; ".join(
                _ordered_provenance([*attrs["provenance"].split("; "), "recorded"])
            )
        else:
            evidence = _curated_evidence("recorded")
            evidence["n_recorded"] = int(n)
            graph.add_edge(u, v, key=relation.name, **evidence)
    return unmatched
