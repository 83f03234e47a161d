"""One patient linked to the knowledge: candidate diagnoses, treatments, what to ask next.

For each disease of the graph, linking weighs the patient's evidence (the
symptoms and findings present, and those known to be absent) with the
counts on the disease's edges, one binary question per disease: does the
patient have it or not? For a symptom ``s`` and disease ``d``::

    P(s | not d) = (n_s - n_sd) / (N - n_d)                  from the counts
    P(s | d)     = 1 - (1 - P(s | not d)) * (1 - w_ds)        with a direct weight w_ds
                 = n_sd / n_d                                  otherwise

so that, in a graph with direct relations (``build(relations="direct")``), a
symptom counts for a disease only as much as the disease itself brings it,
beyond what the patient's other diseases and the background explain. Each
disease's posterior probability from its prevalence and these likelihood
ratios (naive Bayes) ranks them all. In a graph with direct weights, the
leading :data:`CANDIDATES` are then weighed exactly under the noisy-OR
model the weights come from: every combination of them, with the leaks of
the symptoms, so that one disease explains a symptom away from another;
their score is that exact posterior. On the generator's records this comes
within a point of the Bayes-optimal ranking (``benchmarks/RESULTS.md``).
Only diseases that a finding present is related to in the graph are
candidates: a disease with no evidence for it is never listed, however
common. The next questions are the symptoms whose answer is expected to
tell the leading candidates apart best (expected information gain); a
single candidate is told apart from "none of them".

Terms are matched by :mod:`kgmed.matching`: by id, code or label, then by
synonym (the user's, then the Human Phenotype Ontology's), then by a fuzzy
match that never crosses a medical antonym.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from kgmed._progress import check_progress, progress_bar
from kgmed._validation import check_fraction, check_positive_int
from kgmed.errors import GraphError, ParameterError

if TYPE_CHECKING:
    from kgmed.cohorts import Cohorts
    from kgmed.graph import KnowledgeGraph

__all__ = ["CANDIDATES", "EVIDENCE_KINDS", "PatientLink", "link", "link_many"]

#: Kinds of concept that count as evidence for a diagnosis.
EVIDENCE_KINDS: tuple[str, ...] = ("symptom", "finding", "lab")

_EPS = 1e-6
# Patients scored at once by link_many: 20,000 x 200 diseases is 32 MB of scores.
_LINK_BLOCK = 20_000


@dataclass
class _Model:
    """Per (disease, evidence concept) log likelihood ratios, as dense matrices."""

    diseases: pd.Index
    evidence: pd.Index
    prior_log_odds: npt.NDArray[np.float64]
    present: npt.NDArray[np.float64]  # log P(s|d)/P(s|not d), diseases x evidence
    absent: npt.NDArray[np.float64]  # log P(not s|d)/P(not s|not d)
    p_given: npt.NDArray[np.float64]  # P(s | d), NaN where no edge
    p_without: npt.NDArray[np.float64]  # P(s | not d), NaN where no edge
    edge: npt.NDArray[np.bool_]
    base: npt.NDArray[np.float64]  # P(s) over all patients
    prevalence: npt.NDArray[np.float64]
    # Noisy-OR parts, for graphs with direct weights: log(1 - w), log(1 - leak).
    log_keep: npt.NDArray[np.float64] | None = None
    log_no_leak: npt.NDArray[np.float64] | None = None
    # Each symptom's leak, its rate with none of the diseases (NaN if unknown).
    leak: npt.NDArray[np.float64] | None = None


def _model(kg: KnowledgeGraph) -> _Model:
    cached = kg._cached(("link",))
    if cached is not None:
        return cached
    edges = kg.edges("has_symptom")
    nodes = kg.nodes()
    total = kg.params.get("n_patients")
    diseases = nodes.loc[nodes["kind"] == "disease"].sort_values("id", kind="stable")
    if total is None or diseases.empty or edges.empty:
        raise GraphError(
            "linking needs a graph mined from records, with diseases and has_symptom "
            "edges that carry patient counts; this graph has "
            f"{len(diseases)} diseases and {len(edges)} has_symptom edges"
        )
    mined = edges[edges["n_both"].notna() & edges["n_source"].notna()]
    n_total = float(kg.params.get("n_baskets") or total)
    disease_ids = pd.Index(diseases["id"].astype(str))
    evidence_ids = pd.Index(sorted(set(mined["target"].astype(str))))
    shape = (len(disease_ids), len(evidence_ids))
    p_given = np.full(shape, np.nan)
    p_not = np.full(shape, np.nan)
    rows = disease_ids.get_indexer(mined["source"].astype(str))
    cols = evidence_ids.get_indexer(mined["target"].astype(str))
    n_d = mined["n_source"].to_numpy(dtype=float)
    n_s = mined["n_target"].to_numpy(dtype=float)
    n_sd = mined["n_both"].to_numpy(dtype=float)
    background = np.clip((n_s - n_sd) / np.maximum(n_total - n_d, 1.0), _EPS, 1 - _EPS)
    weight = mined["direct_weight"].to_numpy(dtype=float)
    with_disease = np.where(
        np.isnan(weight), n_sd / n_d, 1.0 - (1.0 - background) * (1.0 - np.nan_to_num(weight))
    )
    with_disease = np.clip(with_disease, _EPS, 1 - _EPS)
    keep = rows >= 0
    p_given[rows[keep], cols[keep]] = with_disease[keep]
    p_not[rows[keep], cols[keep]] = background[keep]
    edge = ~np.isnan(p_given)
    present = np.where(edge, np.log(p_given) - np.log(p_not), 0.0)
    absent = np.where(edge, np.log1p(-p_given) - np.log1p(-p_not), 0.0)
    counts = nodes.set_index("id")["n_patients"].astype("Float64")
    base = counts.reindex(evidence_ids).to_numpy(dtype=float, na_value=np.nan) / total
    prevalence = diseases["n_patients"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    prevalence = np.clip(np.nan_to_num(prevalence / total, nan=_EPS), _EPS, 1 - _EPS)
    log_keep = log_no_leak = None
    leaks = pd.Series(
        {n: kg.graph.nodes[n].get("leak", np.nan) for n in evidence_ids}, dtype=float
    ).to_numpy()
    has_weight = ~np.isnan(weight)
    if has_weight.any() and not np.isnan(leaks).all():
        log_keep = np.zeros(shape)
        log_keep[rows[keep & has_weight], cols[keep & has_weight]] = np.log1p(
            -np.clip(weight[keep & has_weight], 0.0, 1 - _EPS)
        )
        log_no_leak = np.log1p(-np.clip(np.nan_to_num(leaks, nan=_EPS), _EPS, 1 - _EPS))
    model = _Model(
        diseases=disease_ids,
        evidence=evidence_ids,
        prior_log_odds=np.log(prevalence) - np.log1p(-prevalence),
        present=present,
        absent=absent,
        p_given=p_given,
        p_without=p_not,
        edge=edge,
        base=np.clip(np.nan_to_num(base, nan=_EPS), _EPS, 1 - _EPS),
        prevalence=prevalence,
        log_keep=log_keep,
        log_no_leak=log_no_leak,
        leak=leaks,
    )
    kg._cache_put(("link",), model)
    return model


@dataclass
class PatientLink:
    """What the graph says about one patient.

    Attributes
    ----------
    matched : pandas.DataFrame
        One row per term that named a concept: ``term``, ``id``, ``label``,
        ``kind``, ``how`` (``id``, ``xref``, ``code``, ``label``,
        ``synonym``, ``fuzzy``),
        ``score`` (1 but for fuzzy matches) and ``role`` (``present``,
        ``absent``, ``diagnosis`` for a known disease, ``treatment`` for one
        the patient takes).
    unmatched : pandas.DataFrame
        ``term`` and ``suggestions`` (closest labels) for terms that named no
        concept.
    diagnoses : pandas.DataFrame
        Candidate diseases, most probable first: those a symptom or finding
        present is related to in the graph (a disease with no evidence for
        it is never listed; empty when no such term was recognised).
        Columns ``id``, ``label``, ``score`` (posterior probability),
        ``prior``, ``n_patients``, ``supporting`` and ``against`` (the
        evidence for and against, as lists of ``(label, log likelihood
        ratio)``, strongest first).
    treatments : pandas.DataFrame
        Treatments recorded with the leading diagnoses the evidence speaks
        for (some evidence supports them, and their score is above their
        prior): ``diagnosis``,
        ``id``, ``label``, ``p_treatment_given_disease``, ``n_patients``,
        ``direct`` and ``source``; treatments the patient takes are left out.
    next_questions : pandas.DataFrame
        Symptoms not yet asked about whose answer best tells the leading
        candidates apart (a single candidate from none): ``id``, ``label``,
        ``information_gain`` (bits expected from the answer), ``p_yes``
        (chance the answer is yes); most informative first.
    cohort : dict or None
        With ``link(..., cohorts=cohorts)``, the cohort of patients the
        patient is closest to (:meth:`kgmed.cohorts.Cohorts.about`:
        ``cohort``, ``name``, ``n_patients``, ``share``,
        ``characterized_by``); None otherwise.
    """

    matched: pd.DataFrame
    unmatched: pd.DataFrame
    diagnoses: pd.DataFrame
    treatments: pd.DataFrame
    next_questions: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: The graph the patient was linked to (for :meth:`to_html`).
    kg: KnowledgeGraph | None = field(default=None, repr=False, compare=False)
    cohort: dict[str, Any] | None = None

    def explain(self, *, top: int = 3) -> str:
        """A short report in plain words, with the counts behind it.

        Parameters
        ----------
        top : int, default 3
            Diagnoses described.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(5000, random_state=0), relations="direct")
        >>> print(kg.link(["fever", "cough", "muscle pain"]).explain(top=1))  # doctest: +ELLIPSIS
        Matched: fever, cough, muscle pain.
        Most likely:
          1. influenza (probability 0.8...; 0.0... before the evidence)
             for: muscle pain, fever, cough
        ...
        """
        lines: list[str] = []
        if len(self.matched):
            lines.append("Matched: " + ", ".join(_matched_words(self.matched)) + ".")
        elif len(self.unmatched):
            lines.append("No term was recognised: none names a concept of the graph.")
        else:
            lines.append("No term was given.")
        for term, suggestions in self.unmatched.itertuples(index=False):
            hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
            lines.append(f"Not found: {term!r}{hint}.")
        raised = self.diagnoses[_supported(self.diagnoses)] if len(self.diagnoses) else None
        present = self.matched.loc[
            (self.matched["role"] == "present") & self.matched["kind"].isin(EVIDENCE_KINDS),
            "label",
        ]
        if self.diagnoses.empty and present.empty:
            lines.append("No candidate diagnosis: no symptom or finding named a concept.")
        elif self.diagnoses.empty:
            lines.append(
                "No candidate diagnosis: no disease of the graph is related to "
                f"{', '.join(present.astype(str))}."
            )
        elif raised is None or raised.empty:
            known = self.matched.loc[self.matched["role"] == "diagnosis", "label"].tolist()
            beyond = f" beyond {', '.join(known)}" if known else ""
            lines.append(f"No diagnosis{beyond} is made more probable by the evidence.")
        else:
            lines.append("Most likely:")
            for rank, row in enumerate(raised.head(top).itertuples(index=False), 1):
                lines.append(
                    f"  {rank}. {row.label} (probability {row.score:.2f}; "
                    f"{row.prior:.2f} before the evidence)"
                )
                if row.supporting:
                    lines.append("     for: " + ", ".join(label for label, _ in row.supporting))
                if row.against:
                    lines.append("     against: " + ", ".join(label for label, _ in row.against))
        for diagnosis, group in self.treatments.groupby("diagnosis", sort=False):
            named = ", ".join(
                f"{row.label} ({row.p_treatment_given_disease:.0%}, {row.n_patients:,} patients)"
                if not pd.isna(row.n_patients)
                else f"{row.label} ({row.source})"
                for row in group.head(3).itertuples(index=False)
            )
            lines.append(f"Treatments recorded with {diagnosis}: {named}.")
        if len(self.next_questions):
            asks = ", ".join(self.next_questions["label"].head(3))
            lines.append(f"Ask next: {asks}.")
        if self.cohort is not None:
            size = self.cohort.get("n_patients")
            counted = f" ({size:,} patients)" if size is not None else ""
            lines.append(
                f"Closest cohort: {self.cohort['cohort']}, {self.cohort['name']}{counted}."
            )
        lines += self.notes
        lines.append(
            "This is what the records of many patients show, not a diagnosis; a clinician decides."
        )
        return "\n".join(lines)

    def show(self, **options: Any) -> Any:
        """A page of the patient's link, displayed inline in notebooks.

        See :func:`kgmed.viz.link_page` for the options; returns a
        :class:`kgmed.viz.GraphPage`.

        Examples
        --------
        >>> import kgmed
        >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
        >>> kg.link(["fever", "cough", "muscle pain"]).show()
        <GraphPage: ... concepts, ... relations, ... characters>
        """
        from kgmed import viz

        if self.kg is None:
            raise GraphError("this link has no graph to draw from; make it with kg.link(...)")
        return viz.link_page(self.kg, self, **options)

    def to_html(self, path: Any, **options: Any) -> Any:
        """Write the page of :meth:`show` to ``path``.

        It draws the patient's concepts, the leading diagnoses with the
        evidence edges, the treatments and the next questions.

        Examples
        --------
        >>> import kgmed, tempfile, os
        >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
        >>> link = kg.link(["fever", "cough"])
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     link.to_html(os.path.join(tmp, "patient.html")).suffix
        '.html'
        """
        return self.show(**options).save(path)

    def to_dict(self) -> dict[str, Any]:
        """The link as plain data, ready for ``json.dumps``."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [{k: _plain(v) for k, v in row.items()} for row in clean.to_dict("records")]

        return {
            "matched": records(self.matched),
            "unmatched": records(self.unmatched),
            "diagnoses": records(self.diagnoses),
            "treatments": records(self.treatments),
            "next_questions": records(self.next_questions),
            "cohort": None if self.cohort is None else _plain_dict(self.cohort),
            "notes": list(self.notes),
        }


def _supported(diagnoses: pd.DataFrame) -> pd.Series:
    """Diagnoses the evidence speaks for.

    Some of the evidence supports them, and they are more probable after it
    than before.
    """
    has_support = diagnoses["supporting"].map(len) > 0
    return has_support & (diagnoses["score"] > diagnoses["prior"])


def _plain_dict(values: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def _matched_words(matched: pd.DataFrame) -> list[str]:
    words = []
    for row in matched.itertuples(index=False):
        text = str(row.label)
        if row.how in ("fuzzy", "synonym"):
            text = f"{row.label} (for {row.term!r})"
        if row.role == "absent":
            text = f"no {text}"
        words.append(text)
    return words


def _terms(patient: Any) -> tuple[list[tuple[str, str]], bool]:
    """(term, role) pairs from a list, a dict or a patient's record rows."""
    if isinstance(patient, str):
        return [(patient, "present")], False
    if isinstance(patient, pd.DataFrame):
        column = "concept_id" if "concept_id" in patient.columns else "concept"
        if column not in patient.columns:
            raise ParameterError(
                "a patient's rows need a 'concept_id' (Records.data) or 'concept' column"
            )
        return [(str(t), "present") for t in patient[column].dropna().unique()], True
    if isinstance(patient, Mapping):
        allowed = {"present", "symptoms", "findings", "absent", "diagnoses", "treatments"}
        unknown = sorted(set(patient) - allowed)
        if unknown:
            raise ParameterError(f"patient keys {unknown} are not read; keys are {sorted(allowed)}")
        role_of = {
            "present": "present",
            "symptoms": "present",
            "findings": "present",
            "absent": "absent",
            "diagnoses": "diagnosis",
            "treatments": "treatment",
        }
        pairs = []
        for key, role in role_of.items():
            values = patient.get(key) or []
            if isinstance(values, str):
                values = [values]
            pairs += [(str(t), role) for t in values]
        return pairs, False
    if isinstance(patient, Iterable):
        return [(str(t), "present") for t in patient if not _missing(t)], False
    raise ParameterError(
        f"a patient is a list of terms, a dict or a DataFrame of rows, got {type(patient).__name__}"
    )


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def link(
    kg: KnowledgeGraph,
    patient: Any,
    *,
    top: int = 10,
    closed_world: bool | None = None,
    fuzzy: float = 0.85,
    synonyms: Mapping[str, str] | None = None,
    n_treatments: int = 5,
    n_questions: int = 5,
    cohorts: Cohorts | None = None,
) -> PatientLink:
    """Link one patient to the graph: candidate diagnoses, treatments, next questions.

    Parameters
    ----------
    kg : KnowledgeGraph
        A graph mined from records (``build(relations="direct")`` gives the
        sharpest scores).
    patient : list of str, dict or pandas.DataFrame
        The terms present (``["fever", "dry cough"]``); or a dict with keys
        ``present`` (or ``symptoms``, ``findings``), ``absent``,
        ``diagnoses`` (known ones) and ``treatments`` (taken); or one
        patient's rows of ``Records.data``.
    top : int, default 10
        Diagnoses returned.
    closed_world : bool, optional
        Take every symptom not named as absent. By default True for record
        rows (a record lists what the patient has) and False for terms.
    fuzzy : float, default 0.85
        Smallest similarity (0 to 1) at which a misspelt term still
        matches; 1 turns fuzzy matching off. A fuzzy match never crosses a
        medical antonym (:data:`kgmed.matching.ANTONYMS`: "hypotension" is
        never hypertension), a term or label of at most six characters
        matches only within one edit, and ``matched`` reports every fuzzy
        match as ``how="fuzzy"`` with its score.
    synonyms : mapping of str to str, optional
        Words of the patient's and the terms they stand for
        (``{"pyrexia": "fever", "runny nose": "rhinorrhea"}``); they win
        over the exact synonyms of the Human Phenotype Ontology, which are
        also read ("trouble breathing" is dyspnea).
    n_treatments, n_questions : int, default 5
        Treatments per leading diagnosis, and questions, returned.
    cohorts : kgmed.cohorts.Cohorts, optional
        Cohorts found in records like the graph's
        (:func:`kgmed.cohorts.find`): the link then names the cohort the
        patient's concepts are closest to (``PatientLink.cohort``).

    Returns
    -------
    PatientLink

    Raises
    ------
    GraphError
        If the graph has no diseases or no ``has_symptom`` edges with counts.
    ParameterError
        If ``patient`` or an option is not of a kind read.

    See Also
    --------
    link_many : Many patients at once.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(5000, random_state=0), relations="direct")
    >>> result = kg.link(["fever", "cough", "loss of smell", "headachee"])
    >>> result.diagnoses[["label", "score"]].head(2)
           label     score
    0   covid-19  0.953
    1  influenza  0.267
    >>> result.matched[["term", "label", "how"]].iloc[-1].tolist()
    ['headachee', 'headache', 'fuzzy']
    """
    top = check_positive_int("top", top)
    n_treatments = check_positive_int("n_treatments", n_treatments)
    n_questions = check_positive_int("n_questions", n_questions)
    fuzzy = check_fraction("fuzzy", fuzzy)
    if cohorts is not None:
        from kgmed.cohorts import Cohorts

        if not isinstance(cohorts, Cohorts):
            raise ParameterError(
                f"cohorts must be what kgmed.cohorts.find returns, got {type(cohorts).__name__}"
            )
    pairs, from_records = _terms(patient)
    closed_world = from_records if closed_world is None else bool(closed_world)
    model = _model(kg)

    matched_rows, unmatched_rows = [], []
    for term, role in pairs:
        found = kg.match(term, fuzzy=fuzzy, synonyms=synonyms)
        if found is None:
            unmatched_rows.append({"term": term, "suggestions": list(kg._suggest(term))})
            continue
        concept, how, score = found
        attrs = kg.graph.nodes[concept]
        kind = attrs.get("kind")
        if role == "present" and kind == "disease":
            role = "diagnosis"
        elif role == "present" and kind == "treatment":
            role = "treatment"
        matched_rows.append(
            {
                "term": term,
                "id": concept,
                "label": attrs.get("label", concept),
                "kind": kind,
                "how": how,
                "score": score,
                "role": role,
            }
        )
    matched = pd.DataFrame(
        matched_rows, columns=["term", "id", "label", "kind", "how", "score", "role"]
    ).drop_duplicates(["id", "role"])
    unmatched = pd.DataFrame(unmatched_rows, columns=["term", "suggestions"])

    present_ids = set(matched.loc[matched["role"] == "present", "id"])
    absent_ids = set(matched.loc[matched["role"] == "absent", "id"])
    known = set(matched.loc[matched["role"] == "diagnosis", "id"])
    taking = set(matched.loc[matched["role"] == "treatment", "id"])
    present = model.evidence.isin(list(present_ids)).astype(float)
    absent = model.evidence.isin(list(absent_ids)).astype(float)
    if closed_world:
        absent = 1.0 - present
    notes = []
    outside = sorted(present_ids.union(absent_ids).difference(model.evidence))
    if outside:
        labels = [str(kg.graph.nodes[c].get("label", c)) for c in outside]
        notes.append(f"No disease in the graph has {', '.join(labels)} as a symptom.")

    diagnoses = _diagnoses(kg, model, present, absent, known, top)
    supported = diagnoses[_supported(diagnoses)]
    treatments = _treatments(kg, supported, taking, n_treatments)
    questions = _questions(kg, model, diagnoses, present + absent, n_questions)
    result = PatientLink(matched, unmatched, diagnoses, treatments, questions, notes, kg=kg)
    if cohorts is not None:
        result.cohort = cohorts.about(cohorts.assign(result))
    return result


def _times(rows: Any, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``rows @ matrix`` for dense or scipy.sparse rows, as a dense array."""
    return np.asarray(rows @ matrix, dtype=float)


def _absent_times(
    present: Any, absent: Any, matrix: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``absent @ matrix``; ``absent=None`` means every concept not present is absent."""
    if absent is None:
        return matrix.sum(axis=0)[None, :] - _times(present, matrix)
    return _times(absent, matrix)


def _scores(model: _Model, present: Any, absent: Any) -> npt.NDArray[np.float64]:
    """Naive-Bayes posterior log odds of each disease, for one patient or many.

    ``present`` and ``absent`` are rows over the evidence concepts, dense or
    scipy.sparse; ``absent=None`` means the closed world (all not present).
    """
    return (
        model.prior_log_odds
        + _times(present, model.present.T)
        + _absent_times(present, absent, model.absent.T)
    )


#: Leading candidates whose combinations linking weighs exactly (2**8 of them).
CANDIDATES = 8


def _pairs(present: Any) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(row, column) of every present entry, in row order."""
    rows, columns = present.nonzero()
    order = np.lexsort((columns, rows))
    return rows[order].astype(np.intp), columns[order].astype(np.intp)


def _posterior(
    model: _Model,
    present: Any,
    absent: Any,
    *,
    known: npt.NDArray[np.float64] | None = None,
    chunk: int = 512,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Posterior probability of each disease for many patients (rows).

    Naive Bayes ranks every disease. Where the graph has direct weights and
    leaks, the leading ``CANDIDATES`` diseases are then weighed exactly under
    the noisy-OR model: every combination of them, each with its prior
    (independent prevalences) and the probability of the patient's symptoms
    present and absent, so that one disease can explain a symptom away from
    another. Diseases ``known`` to be present (rows like ``present``, over
    diseases) are not ranked; in the exact weighing they are present in
    every combination, so the symptoms they explain count less for the
    others. ``present`` and ``absent`` may be dense or scipy.sparse (CSR)
    rows; ``absent=None`` takes every concept not present as absent. Returns
    the probabilities and a mask of the diseases weighed exactly (ranked
    before the others).
    """
    if isinstance(present, np.ndarray):
        present = np.atleast_2d(present)
    if isinstance(absent, np.ndarray):
        absent = np.atleast_2d(absent)
    log_odds = _scores(model, present, absent)
    if known is not None:
        known = np.atleast_2d(known)
        log_odds = np.where(known > 0, -np.inf, log_odds)
    scores = 1.0 / (1.0 + np.exp(-log_odds))
    exact = np.zeros(scores.shape, dtype=bool)
    if model.log_keep is None or model.log_no_leak is None:
        return scores, exact
    m = min(CANDIDATES, len(model.diseases))
    configs = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(float)  # C x m
    log_prev = np.log(model.prevalence)
    log_not = np.log1p(-model.prevalence)
    n_rows = present.shape[0]
    for start in range(0, n_rows, chunk):
        rows = slice(start, start + chunk)
        block = present[rows]
        # The m leading candidates, best first (a partial sort, then a sort).
        leading = (
            np.argpartition(-log_odds[rows], m - 1, axis=1)[:, :m]
            if m < len(model.diseases)
            else np.tile(np.arange(m), (log_odds[rows].shape[0], 1))
        )
        ranked = np.take_along_axis(log_odds[rows], leading, axis=1)
        # Ties keep the lower disease index first, as a stable sort would.
        candidates = np.take_along_axis(
            leading, np.lexsort((leading, -ranked), axis=1), axis=1
        )  # n x m
        # Prior and absent symptoms factorize over the candidates.
        per_disease = log_prev[candidates] - log_not[candidates]
        gone = _absent_times(block, None if absent is None else absent[rows], model.log_keep.T)
        per_disease += np.take_along_axis(gone, candidates, axis=1)
        total = per_disease @ configs.T  # n x C
        # Present symptoms do not: 1 - (1 - leak) * prod over the combination,
        # one row per (patient, present symptom) pair.
        pair_rows, pair_columns = _pairs(block)
        keep = model.log_keep[candidates[pair_rows], pair_columns[:, None]]  # pairs x m
        background = model.log_no_leak[pair_columns]
        if known is not None:
            # Known diseases bring the symptoms they bring, whatever the rest.
            background = background + (known[rows] @ model.log_keep)[pair_rows, pair_columns]
        log_absent = keep @ configs.T + background[:, None]  # pairs x C
        log_shown = np.log(-np.expm1(np.minimum(log_absent, -1e-12)))
        if len(pair_rows):
            starts = np.flatnonzero(np.r_[True, pair_rows[1:] != pair_rows[:-1]])
            total[pair_rows[starts]] += np.add.reduceat(log_shown, starts, axis=0)
        total -= total.max(axis=1, keepdims=True)
        weights = np.exp(total)
        weights /= weights.sum(axis=1, keepdims=True)
        marginals = weights @ configs  # n x m
        index = np.arange(len(candidates))[:, None]
        scores[rows][index, candidates] = marginals  # basic slices are views
        exact[rows][index, candidates] = True
    # A disease outside the leading candidates is less probable than any of
    # them: its naive-Bayes score is capped at the smallest exact one.
    floor = np.where(exact, scores, np.inf).min(axis=1, keepdims=True)
    scores = np.where(exact, scores, np.minimum(scores, floor))
    return scores, exact


def _ranking(scores: npt.NDArray[np.float64], exact: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Diseases in rank order per row: those weighed exactly first, by score."""
    key = scores + np.where(exact, 2.0, 0.0)
    return np.argsort(-key, axis=1, kind="stable")


def _diagnoses(
    kg: KnowledgeGraph,
    model: _Model,
    present: npt.NDArray[np.float64],
    absent: npt.NDArray[np.float64],
    known: set[str],
    top: int,
) -> pd.DataFrame:
    columns = ["id", "label", "score", "prior", "n_patients", "supporting", "against"]
    if not present.any():
        return pd.DataFrame(columns=columns)
    known_row = model.diseases.isin(list(known)).astype(float)
    scores, exact = _posterior(model, present, absent, known=known_row)
    ranked = _ranking(scores, exact)[0]
    # A disease none of the findings present is related to has no evidence
    # for it: however common, it is no candidate.
    related = model.edge[:, present > 0].any(axis=1)
    candidate = related & ~model.diseases.isin(list(known))
    order = ranked[candidate[ranked]]
    rows = []
    for i in order[:top]:
        concept = model.diseases[i]
        support = model.present[i] * present
        against = model.absent[i] * absent
        rows.append(
            {
                "id": concept,
                "label": kg.graph.nodes[concept].get("label", concept),
                "score": float(scores[0, i]),
                "prior": float(1.0 / (1.0 + math.exp(-model.prior_log_odds[i]))),
                "n_patients": kg.graph.nodes[concept].get("n_patients"),
                "supporting": _strongest(kg, model, support, positive=True),
                "against": _strongest(kg, model, against, positive=False),
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    table["n_patients"] = table["n_patients"].astype("Int64")
    return table


def _strongest(
    kg: KnowledgeGraph, model: _Model, contributions: npt.NDArray[np.float64], *, positive: bool
) -> list[tuple[str, float]]:
    picked = np.nonzero(contributions > 0.05 if positive else contributions < -0.05)[0]
    picked = picked[np.argsort(-np.abs(contributions[picked]), kind="stable")][:5]
    return [
        (
            str(kg.graph.nodes[model.evidence[int(j)]].get("label")),
            round(float(contributions[j]), 3),
        )
        for j in picked
    ]


def _treatments(
    kg: KnowledgeGraph, diagnoses: pd.DataFrame, taking: set[str], n: int
) -> pd.DataFrame:
    columns = [
        "diagnosis",
        "id",
        "label",
        "p_treatment_given_disease",
        "n_patients",
        "direct",
        "source",
    ]
    tables = []
    for concept, label in diagnoses[["id", "label"]].head(3).itertuples(index=False):
        found = kg.treatments_for(concept)
        found = found[~found["id"].isin(list(taking))].head(n)
        if "direct" not in found.columns:
            found = found.assign(direct=pd.NA)
        tables.append(found.assign(diagnosis=label))
    if not tables:
        return pd.DataFrame(columns=columns)
    return pd.concat(tables, ignore_index=True).reindex(columns=columns)


def _questions(
    kg: KnowledgeGraph,
    model: _Model,
    diagnoses: pd.DataFrame,
    asked: npt.NDArray[np.float64],
    n: int,
) -> pd.DataFrame:
    """Unasked symptoms by expected information gain over the leading candidates."""
    columns = ["id", "label", "information_gain", "p_yes"]
    candidates = model.diseases.get_indexer(diagnoses["id"].head(5))
    if len(candidates) == 0:
        return pd.DataFrame(columns=columns)
    # The leading candidates; a single one is told apart from "none of them".
    weights = diagnoses["score"].head(5).to_numpy(dtype=float)
    if len(weights) == 1:
        weights = np.append(weights, 1.0 - weights)
    belief = weights / weights.sum()
    # P(symptom | none of them): its leak where the graph has one, else its
    # rate without the candidate related to it that brings it least, else
    # its rate over all patients. P(symptom | candidate): the edge's
    # conditional; without an edge the candidate does not bring it: as none.
    p_given = model.p_given[candidates]
    without = np.where(np.isnan(model.p_without[candidates]), np.inf, model.p_without[candidates])
    none = np.where(np.isinf(without).all(axis=0), model.base, without.min(axis=0))
    if model.leak is not None:
        none = np.where(np.isnan(model.leak), none, model.leak)
    p = np.where(np.isnan(p_given), none, p_given)
    if len(candidates) == 1:
        p = np.vstack([p, none])
    p = np.clip(p, _EPS, 1 - _EPS)
    p_yes = belief @ p
    after_yes = belief[:, None] * p / p_yes
    after_no = belief[:, None] * (1 - p) / (1 - p_yes)
    gain = _entropy(belief[:, None]) - (
        p_yes * _entropy(after_yes) + (1 - p_yes) * _entropy(after_no)
    )
    gain = np.where(asked > 0, -np.inf, gain)
    order = [
        int(j)
        for j in np.argsort(-gain, kind="stable")[:n]
        if np.isfinite(gain[j]) and gain[j] > 1e-6
    ]
    return pd.DataFrame(
        {
            "id": [model.evidence[j] for j in order],
            "label": [kg.graph.nodes[model.evidence[j]].get("label") for j in order],
            "information_gain": [float(gain[j]) for j in order],
            "p_yes": [float(p_yes[j]) for j in order],
        },
        columns=columns,
    )


def _entropy(distribution: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    safe = np.clip(distribution, 1e-300, 1.0)
    return np.asarray(-(distribution * np.log2(safe)).sum(axis=0), dtype=float)


def link_many(
    kg: KnowledgeGraph,
    records: Any,
    *,
    top: int = 3,
    closed_world: bool = True,
    progress: bool | None = None,
) -> pd.DataFrame:
    """The leading diagnoses of many patients at once.

    Parameters
    ----------
    kg : KnowledgeGraph
    records : Records or pandas.DataFrame
        Patients' observations: :class:`~kgmed.Records`, or a table with
        ``patient_id`` and ``concept_id`` columns. Only concepts that are
        evidence (symptoms, findings) count; diagnoses and treatments in the
        records are ignored.
    top : int, default 3
        Diagnoses per patient.
    closed_world : bool, default True
        Take every symptom a patient's records do not name as absent.
    progress : bool, optional
        A bar on standard error; by default only when it is a terminal.
        Patients are scored in blocks of 20,000, so memory stays flat
        however many there are.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``rank`` (1 is the most probable), ``id``,
        ``label``, ``score``; patients with no evidence get no rows.

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(5000, random_state=0)
    >>> kg = kgmed.build(records, relations="direct")
    >>> ranked = kgmed.linking.link_many(kg, records, top=1)
    >>> ranked.columns.tolist()
    ['patient_id', 'rank', 'id', 'label', 'score']
    """
    from kgmed.records import Records

    top = check_positive_int("top", top)
    data = records.data if isinstance(records, Records) else records
    if not isinstance(data, pd.DataFrame) or not {"patient_id", "concept_id"} <= set(data.columns):
        raise ParameterError("link_many needs Records or a table with patient_id and concept_id")
    model = _model(kg)
    rows = data.loc[data["concept_id"].isin(model.evidence), ["patient_id", "concept_id"]]
    patients, row_of = np.unique(rows["patient_id"].astype(str).to_numpy(), return_inverse=True)
    present = sparse.csr_matrix(
        (
            np.ones(len(rows)),
            (row_of, model.evidence.get_indexer(rows["concept_id"])),
        ),
        shape=(len(patients), len(model.evidence)),
    )
    present.sum_duplicates()
    present.data[:] = 1.0
    k = min(top, len(model.diseases))
    show = check_progress(progress)
    blocks = range(0, len(patients), _LINK_BLOCK)
    best_parts, picked_parts = [], []
    for start in progress_bar(blocks, show=show, desc="linking", total=len(blocks), unit="block"):
        block = present[start : start + _LINK_BLOCK]
        absent = None if closed_world else sparse.csr_matrix(block.shape)
        scores, exact = _posterior(model, block, absent)
        best_block = _ranking(scores, exact)[:, :k]
        best_parts.append(best_block)
        picked_parts.append(np.take_along_axis(scores, best_block, axis=1))
    best = np.concatenate(best_parts) if best_parts else np.zeros((0, k), dtype=np.int64)
    picked = np.concatenate(picked_parts) if picked_parts else np.zeros((0, k))
    labels = np.array([kg.graph.nodes[d].get("label", d) for d in model.diseases], dtype=object)
    return pd.DataFrame(
        {
            "patient_id": np.repeat(patients, k),
            "rank": np.tile(np.arange(1, k + 1), len(patients)),
            "id": np.asarray(model.diseases)[best].ravel(),
            "label": labels[best].ravel(),
            "score": picked.ravel(),
        }
    )
