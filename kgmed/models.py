"""Risk models: scikit-learn classification and regression on the records, set beside the graph.

:func:`risk` fits the classic model a clinician's analyst would fit: a
disease predicted from every other concept a patient has (and numeric
features: age, sex, BMI...), by logistic regression or gradient boosting,
with cross-validated discrimination (ROC AUC) and calibration; or a numeric
value (a laboratory result, BMI) predicted the same way, with R². The
features that drive the model are then set beside the graph's edges of the
same disease: where the model and the graph disagree is worth a look.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from kgmed import _features
from kgmed._progress import check_progress, progress_bar
from kgmed._validation import check_choice, check_positive_int
from kgmed.errors import ConceptNotFound, ParameterError
from kgmed.records import Records
from kgmed.schema import KINDS

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph

__all__ = ["COMPARISON_COLUMNS", "DRIVER_COLUMNS", "MODELS", "RiskModel", "risk"]

#: Models of :func:`risk`. ``"logistic"`` and ``"linear"`` are the same
#: family: logistic regression for a disease, ridge regression for a value.
MODELS: tuple[str, ...] = ("logistic", "linear", "gradient_boosting")

#: Columns of ``RiskModel.drivers``.
DRIVER_COLUMNS: tuple[str, ...] = (
    "rank",
    "id",
    "label",
    "kind",
    "weight",
    "odds_ratio",
    "direction",
    "n_patients",
)

#: Columns of ``RiskModel.comparison``.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "id",
    "label",
    "kind",
    "model_rank",
    "model_weight",
    "odds_ratio",
    "direction",
    "graph_relation",
    "graph_p_feature_given_target",
    "graph_lift",
    "graph_n_patients",
    "graph_q_value",
    "graph_direct_weight",
    "agreement",
)

# Gradient boosting works on a dense matrix: at most this many cells.
_DENSE_CELLS = 60_000_000
# Permutation importance is measured on at most this many patients.
_IMPORTANCE_SAMPLE = 2_000


@dataclass
class RiskModel:
    """A fitted risk model, how well it predicts, and what drives it.

    Attributes
    ----------
    target, label : str
        What is predicted: a concept id (a disease, or any concept), a
        measurement's concept id, or a column of the features table; and
        its label.
    task : {"classification", "regression"}
        A concept is classified (does the patient have it?); a value is
        regressed.
    model : str
        The model asked for (``"logistic"``, ``"linear"``,
        ``"gradient_boosting"``).
    estimator : sklearn.pipeline.Pipeline
        The pipeline fitted on every patient.
    scores : pandas.Series
        Cross-validated figures, from every patient's out-of-fold
        prediction. Classification: ``n_patients``, ``n_with_target``,
        ``prevalence``, ``roc_auc`` (0.5 is chance, 1 perfect),
        ``roc_auc_sd`` (its spread across folds), ``average_precision``,
        ``brier`` (mean squared error of the probabilities; lower is
        better), ``calibration_slope`` (1: the predicted risks spread as
        the observed ones; below 1: too extreme) and
        ``calibration_in_the_large`` (mean predicted minus observed risk).
        Regression: ``n_patients``, ``mean``, ``r2`` (share of the variance
        explained), ``r2_sd``, ``mae``, ``rmse``.
    folds : pandas.DataFrame
        The same per fold.
    calibration : pandas.DataFrame or None
        Classification: patients in bins of predicted risk (tenths, or
        fewer so that each bin can hold ``min_patients``), each bin's
        ``mean_predicted`` and ``observed`` risk and ``n_patients``
        (``<NA>``, and no observed risk, under the privacy floor).
    predictions : pandas.Series
        Each patient's out-of-fold prediction (from the fold that did not
        see the patient), indexed by patient id; it stays in memory.
    drivers : pandas.DataFrame
        Every feature of the model, strongest first (columns
        :data:`DRIVER_COLUMNS`): ``weight`` is the coefficient (log odds
        ratio of having the concept, or per standard deviation of a numeric
        feature) of a linear model, or the permutation importance (drop in
        ROC AUC or R² when the feature is shuffled) of gradient boosting;
        ``direction`` says whether it raises or lowers the risk (value);
        ``n_patients`` how many patients have the concept.
    comparison : pandas.DataFrame
        The ``top`` drivers that raise the risk (value) most and the
        graph's edges at the target, side by side (columns
        :data:`COMPARISON_COLUMNS`); ``agreement`` is
        ``"both"``, ``"model only"`` or ``"graph only"`` (``<NA>`` when the
        graph has no node for the target). Graph edges count when their
        lift is above 1 and their other end is of a kind the model saw.
    notes : list of str
        What was left out of the model, and why.
    params : dict
        How the model was made.
    """

    target: str
    label: str
    task: str
    model: str
    estimator: Any
    scores: pd.Series
    folds: pd.DataFrame
    calibration: pd.DataFrame | None
    predictions: pd.Series
    drivers: pd.DataFrame
    comparison: pd.DataFrame
    notes: list[str]
    params: dict[str, Any]
    _concepts: pd.Index = field(repr=False)
    _numeric: _features.NumericFeatures | None = field(repr=False)

    def __repr__(self) -> str:
        figure = (
            f"ROC AUC {self.scores['roc_auc']:.3f}"
            if self.task == "classification"
            else f"R² {self.scores['r2']:.3f}"
        )
        return (
            f"<RiskModel: {self.label} ({self.task}, {self.params['estimator']}) from "
            f"{int(self.scores['n_patients']):,} patients, {figure}>"
        )

    def predict(self, records: Records, *, features: object = None) -> pd.Series:
        """Each patient's predicted risk (probability) or value.

        Parameters
        ----------
        records : Records
            The patients, new or not. Concepts the model was not fitted on
            are ignored.
        features : DataFrame, optional
            Their numeric features, when the model was fitted with a table
            of them (measurements are read from ``records``).

        Returns
        -------
        pandas.Series
            Indexed by patient id.

        Examples
        --------
        >>> import kgmed
        >>> model = kgmed.models.risk(kgmed.datasets.synthetic(3000, random_state=0),
        ...                           "asthma", kinds=["symptom"])
        >>> new = kgmed.datasets.synthetic(200, random_state=1)
        >>> risks = model.predict(new)
        >>> bool(risks.between(0, 1).all()), len(risks)
        (True, 200)
        """
        records = _features.check_records(records, "predict")
        matrix = _features.concept_matrix(records, concepts=self._concepts)
        numeric = None
        if self._numeric is not None:
            numeric = _features.numeric_features(
                records,
                features,
                matrix.patients,
                fitted=self._numeric,
                where="predict: features",
            )
        x = _design(matrix.matrix, numeric)
        if self.task == "classification":
            values = self.estimator.predict_proba(x)[:, 1]
        else:
            values = self.estimator.predict(x)
        return pd.Series(
            np.asarray(values, dtype=float),
            index=pd.Index(matrix.patients, name="patient_id"),
            name="risk" if self.task == "classification" else "predicted",
        )

    def explain(self, *, top: int = 5) -> str:
        """The model in plain words: how well it predicts, what drives it, where the graph differs.

        Examples
        --------
        >>> import kgmed
        >>> model = kgmed.models.risk(kgmed.datasets.synthetic(3000, random_state=0),
        ...                           "asthma", kinds=["symptom"])
        >>> print(model.explain(top=2))
        Risk of asthma (ICD10CM:J45.909): logistic regression on 26 concepts, 3,000 patients (261 with it).
        Cross-validated over 5 folds: ROC AUC 0.950 (± 0.015); Brier score 0.040; calibration slope 1.00.
        Raise the risk most: wheezing (odds ratio 37.58), chest pain (odds ratio 5.91).
        Lower the risk most: fatigue (odds ratio 0.37), heartburn (odds ratio 0.47).
        Model only (no edge of the graph at the target): cold intolerance, weight gain.
        This is what the records of many patients show, not a diagnosis; a clinician decides.
        """
        top = check_positive_int("top", top)
        s = self.scores
        kind = {
            "logistic": "logistic regression",
            "linear": "logistic regression",
            "gradient_boosting": "gradient boosting",
        }[self.model]
        if self.task == "regression":
            kind = kind.replace("logistic regression", "ridge regression")
        n_numeric = len(self._numeric.names) if self._numeric is not None else 0
        on = f"{len(self._concepts):,} concepts" + (
            f" and {n_numeric} numeric features" if n_numeric else ""
        )
        lines = []
        if self.task == "classification":
            lines.append(
                f"Risk of {self.label} ({self.target}): {kind} on {on}, "
                f"{int(s['n_patients']):,} patients ({int(s['n_with_target']):,} with it)."
            )
            lines.append(
                f"Cross-validated over {len(self.folds)} folds: ROC AUC {s['roc_auc']:.3f} "
                f"(± {s['roc_auc_sd']:.3f}); Brier score {s['brier']:.3f}; calibration slope "
                f"{s['calibration_slope']:.2f}."
            )
        else:
            lines.append(
                f"{self.label} ({self.target}): {kind} on {on}, {int(s['n_patients']):,} patients "
                f"(mean {s['mean']:.3g})."
            )
            lines.append(
                f"Cross-validated over {len(self.folds)} folds: R² {s['r2']:.3f} "
                f"(± {s['r2_sd']:.3f}); mean absolute error {s['mae']:.3g}."
            )
        verb = "risk" if self.task == "classification" else "value"
        for direction, words in (("raises", "Raise"), ("lowers", "Lower")):
            mine = self.drivers[self.drivers["direction"] == direction].head(top)
            if len(mine):
                lines.append(
                    f"{words} the {verb} most: "
                    + ", ".join(_driver_words(row) for row in mine.itertuples(index=False))
                    + "."
                )
        comparison = self.comparison
        for agreement, words in (
            ("model only", "Model only (no edge of the graph at the target)"),
            ("graph only", "Graph only (an edge, but not a leading feature)"),
        ):
            labels = comparison.loc[comparison["agreement"] == agreement, "label"].head(top)
            if len(labels):
                lines.append(f"{words}: {', '.join(str(x) for x in labels)}.")
        lines += self.notes
        lines.append(
            "This is what the records of many patients show, not a diagnosis; a clinician decides."
        )
        return "\n".join(lines)


def _driver_words(row: Any) -> str:
    if not pd.isna(row.odds_ratio):
        return f"{row.label} (odds ratio {row.odds_ratio:.2f})"
    return f"{row.label} (weight {row.weight:.3g})"


def risk(
    records: Records,
    target: str,
    *,
    features: object = None,
    model: str = "logistic",
    kinds: str | tuple[str, ...] | list[str] | None = None,
    exclude: Sequence[str] | None = None,
    kg: KnowledgeGraph | None = None,
    cv: int = 5,
    top: int = 15,
    min_patients: int = 11,
    missing: str = "error",
    options: dict[str, Any] | None = None,
    random_state: int | None = 0,
    progress: bool | None = None,
) -> RiskModel:
    """Fit a risk model for a disease (or a value) and set it beside the graph.

    A concept as ``target`` is classified: does the patient have it? Its
    features are every other concept the patients have (of ``kinds``),
    as 0/1 columns, and the numeric ``features``. A measurement, or a
    column of the ``features`` table, is regressed on the same. The model
    is a scikit-learn :class:`~sklearn.pipeline.Pipeline` (numeric features
    scaled to unit variance, then the model), scored by stratified
    ``cv``-fold cross-validation, then fitted on every patient to read its
    drivers.

    Parameters
    ----------
    records : Records
        The patients.
    target : str
        A concept (label in any case, concept id or code: ``"diabetes"``,
        ``"SNOMEDCT:44054006"``; a word of exactly one label is enough), a
        measurement of the records (``"Body Mass Index"``,
        ``"LOINC:39156-5"``), or a column of ``features``.
    features : DataFrame or list of str, optional
        Numeric features, as in :func:`kgmed.cohorts.find`: a table with
        one row per patient (age, sex as 0/1...), or measurements by name
        (each patient's last value).
    model : {"logistic", "linear", "gradient_boosting"}, default "logistic"
        A linear model (logistic regression for a concept, ridge regression
        for a value; ``"linear"`` is the same) or scikit-learn's histogram
        gradient boosting.
    kinds : str or list of str, optional
        Concepts of these kinds are features (``["symptom"]``); every kind
        by default.
    exclude : list of str, optional
        Concepts to leave out of the features. By default, for a concept
        target, the concepts the records give it as the recorded reason for
        (the drugs prescribed for the disease: they follow the diagnosis,
        they do not predict it). A list replaces that default: ``[]`` keeps
        them all.
    kg : KnowledgeGraph, optional
        The graph to set the model beside; by default one is built from the
        same records (:func:`kgmed.build` with its defaults and
        ``min_patients``). A value target not in the graph has no edges to
        compare.
    cv : int, default 5
        Cross-validation folds.
    top : int, default 15
        Drivers that raise the risk (value) most, set beside the graph.
    min_patients : int, default 11
        The privacy floor: concepts fewer patients have are not features,
        and a target fewer patients have (or lack) is refused.
    missing : {"error", "median"}, default "error"
        A patient with no value for a numeric feature: raise, or take the
        feature's median.
    options : dict, optional
        More parameters for the scikit-learn model (``{"C": 0.1}``,
        ``{"max_iter": 300}``).
    random_state : int or None, default 0
        Seed of the folds, of gradient boosting and of the permutations.
    progress : bool, optional
        Draw a progress bar over the cross-validation folds on standard
        error: None (the default) when standard error is a terminal, True
        always, False never.

    Returns
    -------
    RiskModel

    Raises
    ------
    ConceptNotFound
        If ``target`` (or a term of ``exclude``) names nothing the records
        hold; the message lists the closest labels.
    EmptyRecordsError
        If the records hold no observation.
    ParameterError
        If an option is out of range, or too few patients have (or lack)
        the target for ``cv`` folds and the privacy floor.
    MissingValueError
        If a numeric feature is missing for a patient and
        ``missing="error"``.

    See Also
    --------
    kgmed.cohorts.find : Groups of patients instead of one disease.
    kgmed.KnowledgeGraph.link : One patient's candidate diagnoses from the graph.

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(3000, random_state=0)
    >>> model = kgmed.models.risk(records, "diabetes", kinds=["symptom", "disease"])
    >>> model
    <RiskModel: type 2 diabetes mellitus (classification, LogisticRegression) from 3,000 patients, ROC AUC 0.891>
    >>> model.drivers[["label", "odds_ratio", "direction"]].head(3).round(2)
                label  odds_ratio direction
    0      polydipsia       44.92    raises
    1        polyuria       39.16    raises
    2  blurred vision       12.29    raises
    >>> model.comparison[["label", "graph_relation", "agreement"]].head(2)
            label graph_relation agreement
    0  polydipsia    has_symptom      both
    1    polyuria    has_symptom      both
    """
    check_progress(progress)  # a bad value fails before any work
    records = _features.check_records(records, "risk")
    model = check_choice("model", model, MODELS)
    cv = check_positive_int("cv", cv, minimum=2)
    top = check_positive_int("top", top)
    min_patients = check_positive_int("min_patients", min_patients)
    random_state = _features.check_seed(random_state)
    kinds_tuple = _features.check_kinds(kinds)
    options = _features.check_options(options)
    missing = check_choice("missing", missing, _features.MISSING)
    if exclude is not None and (isinstance(exclude, str) or not isinstance(exclude, (list, tuple))):
        raise ParameterError(f"exclude must be a list of concepts, got {exclude!r}")
    from kgmed.graph import KnowledgeGraph

    if kg is not None and not isinstance(kg, KnowledgeGraph):
        raise ParameterError(f"kg must be a KnowledgeGraph or None, got {type(kg).__name__}")

    matrix = _features.concept_matrix(records, kinds=kinds_tuple)
    everything = _features.concept_matrix(records)
    concepts = records.concepts()
    notes: list[str] = []
    task, target_id, label, y, keep_rows, table = _target(
        records, target, features, concepts, everything, matrix.patients
    )
    if task == "classification":
        n_with = int(y.sum())
        n_without = len(y) - n_with
        if min(n_with, n_without) < max(min_patients, cv):
            which = "have" if n_with < n_without else "lack"
            raise ParameterError(
                f"too few patients {which} {label!r} ({min(n_with, n_without):,} of "
                f"{len(y):,}): a risk model needs at least min_patients={min_patients} (and "
                f"cv={cv}) on each side; lower min_patients on purpose only"
            )
    elif len(y) < max(min_patients, 2 * cv):
        raise ParameterError(
            f"too few patients with a value of {label!r} ({len(y):,}): a model needs at "
            f"least min_patients={min_patients} and two per fold"
        )

    # The features: concepts at the floor, minus the target and what follows from it.
    left_out = {target_id}
    if exclude is None and task == "classification":
        reasons = records.data.loc[
            records.data["reason_id"].astype("string").eq(target_id).fillna(False).to_numpy(bool),
            "concept_id",
        ]
        recorded = sorted(set(reasons.astype(str)))
        if recorded:
            left_out |= set(recorded)
            names = concepts.set_index("concept_id").reindex(recorded)["label"].astype(str)
            notes.append(
                f"Left out as recorded for {label}: {', '.join(names)} (exclude=[] keeps them)."
            )
    for term in exclude or ():
        left_out.add(_features.resolve_term(concepts, term, where="exclude"))
    x_concepts = matrix.matrix[keep_rows]
    counts = np.asarray(x_concepts.sum(axis=0)).ravel()
    usable = (counts >= min_patients) & ~matrix.concepts.isin(sorted(left_out))
    rare = int(((counts > 0) & (counts < min_patients)).sum())
    if rare:
        notes.append(
            f"{rare:,} concepts fewer than {min_patients} of these patients have are not "
            f"features (min_patients={min_patients})."
        )
    columns = matrix.concepts[usable]
    x_concepts = _features.csr32(x_concepts[:, np.nonzero(usable)[0]])

    numeric = None
    if table is not None:
        numeric = _features.numeric_features(
            records, table, matrix.patients[keep_rows], missing=missing
        )
        if (
            numeric is not None
            and task == "regression"
            and numeric.spec is not None
            and target_id in numeric.spec
        ):
            raise ParameterError(
                f"features holds the target {label!r} itself; leave it out of features"
            )
    x = _design(x_concepts, numeric)
    if x.shape[1] == 0:
        raise ParameterError(
            f"no feature is left to predict {label!r} from (every concept has fewer than "
            f"min_patients={min_patients} patients, or is the target)"
        )
    pipeline = _pipeline(
        task, model, 0 if numeric is None else len(numeric.names), options, random_state, x.shape
    )
    folds, predictions = _cross_validate(
        pipeline, x, y, task, cv, random_state, check_progress(progress)
    )
    scores, calibration = _scores(task, y, predictions, folds, min_patients)
    final = _fit(pipeline, x, y)
    drivers = _drivers(
        final, task, model, x, y, columns, numeric, concepts, counts[usable], random_state
    )
    graph = kg if kg is not None else _graph(records, task, target_id, min_patients)
    comparison = _comparison(drivers, graph, target_id, top, kinds_tuple or KINDS, notes)
    params = {
        "target": target_id,
        "model": model,
        "kinds": None if kinds_tuple is None else list(kinds_tuple),
        "features": None if numeric is None else list(numeric.names),
        "cv": cv,
        "min_patients": min_patients,
        "random_state": random_state,
        "estimator": type(final.steps[-1][1]).__name__,
    }
    return RiskModel(
        target=target_id,
        label=label,
        task=task,
        model=model,
        estimator=final,
        scores=scores,
        folds=folds,
        calibration=calibration,
        predictions=pd.Series(
            predictions,
            index=pd.Index(matrix.patients[keep_rows], name="patient_id"),
            name="risk" if task == "classification" else "predicted",
        ),
        drivers=drivers,
        comparison=comparison,
        notes=notes,
        params=params,
        _concepts=columns,
        _numeric=numeric,
    )


def _target(
    records: Records,
    target: object,
    features: object,
    concepts: pd.DataFrame,
    everything: _features.ConceptMatrix,
    patients: pd.Index,
) -> tuple[str, str, str, npt.NDArray[np.float64], npt.NDArray[np.bool_], object]:
    """What is predicted: task, id, label, the values, which patients, the numeric features left."""
    if not isinstance(target, str) or not target.strip():
        raise ParameterError(f"target must name a concept or a value, got {target!r}")
    if isinstance(features, pd.DataFrame):
        frame = features.set_index("patient_id") if "patient_id" in features.columns else features
        if target in frame.columns:
            values = pd.to_numeric(frame[target], errors="coerce")
            values.index = values.index.astype(str)
            values = values.reindex(patients)
            keep = values.notna().to_numpy()
            rest = frame.drop(columns=[target])
            return (
                "regression",
                target,
                target,
                values.to_numpy(dtype=float)[keep],
                keep,
                rest if rest.shape[1] else None,
            )
    # The numeric features are all of ``features``.
    left = features
    measured = records.measurements
    catalogue = pd.DataFrame(columns=["concept_id", "label"])
    if measured is not None and len(measured):
        catalogue = pd.DataFrame(
            {
                "concept_id": measured["concept_id"].astype(str),
                "label": measured["label"].astype("string"),
            }
        ).drop_duplicates("concept_id")
    # Exact names first (a concept, then a measurement), then a word of a label.
    found: tuple[str, str] | None = None
    for loose in (False, True):
        for task, table in (("classification", concepts), ("regression", catalogue)):
            if found is None and len(table):
                try:
                    found = task, _features.resolve_term(table, target, where="target", loose=loose)
                except ConceptNotFound as err:
                    if loose and task == "classification" and err.suggestions:
                        raise  # ambiguous among concepts: say which
        if found is not None:
            break
    if found is None:
        # The concepts' message: the closest labels.
        _features.resolve_term(concepts, target, where="target")
        raise AssertionError("unreachable")  # pragma: no cover
    if found[0] == "regression":
        measure = found[1]
        raw = _last_values(records, measure, patients)
        keep = ~np.isnan(raw)
        label = str(catalogue.set_index("concept_id").loc[measure, "label"])
        return "regression", measure, label, raw[keep], keep, left
    target_id = found[1]
    column = int(everything.concepts.get_indexer(pd.Index([target_id]))[0])
    matrix: Any = everything.matrix
    y = np.asarray(matrix[:, column].toarray()).ravel()
    label = str(concepts.set_index("concept_id").loc[target_id, "label"])
    return "classification", target_id, label, y, np.ones(len(y), dtype=bool), left


def _last_values(records: Records, measure: str, patients: pd.Index) -> npt.NDArray[np.float64]:
    measured = records.measurements
    assert measured is not None
    rows = measured[measured["concept_id"].astype(str) == measure]
    rows = rows.assign(patient_id=rows["patient_id"].astype(str), value=rows["value"].astype(float))
    rows = rows.dropna(subset=["value"]).sort_values("time", kind="stable", na_position="first")
    last = rows.groupby("patient_id")["value"].last()
    return last.reindex(patients).to_numpy(dtype=float)


def _design(
    concepts: sparse.csr_matrix, numeric: _features.NumericFeatures | None
) -> sparse.csr_matrix:
    """Numeric features first, then the concepts: the columns the pipeline sees."""
    if numeric is None:
        return _features.csr32(concepts)
    return _features.csr32(sparse.hstack([sparse.csr_matrix(numeric.values), concepts]))


def _dense(x: Any) -> Any:
    return x.toarray() if hasattr(x, "toarray") else x


def _pipeline(
    task: str,
    model: str,
    n_numeric: int,
    options: dict[str, Any],
    random_state: int | None,
    shape: tuple[int, int],
) -> Any:
    from kgmed._sklearn import (
        ColumnTransformer,
        FunctionTransformer,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        LogisticRegression,
        Pipeline,
        Ridge,
        StandardScaler,
    )

    steps: list[tuple[str, Any]] = []
    if n_numeric:
        steps.append(
            (
                "scale",
                ColumnTransformer(
                    [("numeric", StandardScaler(with_mean=False), list(range(n_numeric)))],
                    remainder="passthrough",
                    sparse_threshold=1.0,
                ),
            )
        )
    if model == "gradient_boosting":
        if shape[0] * shape[1] > _DENSE_CELLS:
            raise ParameterError(
                f"model='gradient_boosting' works on a dense matrix: {shape[0]:,} patients x "
                f"{shape[1]:,} features is too large; use model='logistic', or fewer kinds="
            )
        steps.append(("dense", FunctionTransformer(_dense, accept_sparse=True)))
        settings: dict[str, Any] = {
            "max_iter": 100,
            "early_stopping": False,
            "random_state": random_state,
        }
        maker: Any = (
            HistGradientBoostingClassifier
            if task == "classification"
            else HistGradientBoostingRegressor
        )
    elif task == "classification":
        settings = {"C": 1.0, "max_iter": 5000}
        maker = LogisticRegression
    else:
        settings = {"alpha": 1.0}
        maker = Ridge
    try:
        estimator = maker(**{**settings, **options})
    except TypeError as err:
        raise ParameterError(f"{maker.__name__} refused its options {options}: {err}") from err
    steps.append(("model", estimator))
    return Pipeline(steps)


def _fit(pipeline: Any, x: Any, y: npt.NDArray[np.float64]) -> Any:
    from kgmed._sklearn import clone

    try:
        return clone(pipeline).fit(x, y)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"the model refused its input or options: {err}") from err


def _cross_validate(
    pipeline: Any,
    x: sparse.csr_matrix,
    y: npt.NDArray[np.float64],
    task: str,
    cv: int,
    random_state: int | None,
    show: bool = False,
) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    from kgmed._sklearn import (
        KFold,
        StratifiedKFold,
        mean_absolute_error,
        r2_score,
        roc_auc_score,
    )

    splitter = (
        StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
        if task == "classification"
        else KFold(n_splits=cv, shuffle=True, random_state=random_state)
    )
    predictions = np.zeros(len(y))
    rows = []
    splits = progress_bar(
        splitter.split(np.zeros(len(y)), y),
        show=show,
        desc="cross-validation",
        total=cv,
        unit="fold",
    )
    for fold, (train, test) in enumerate(splits, 1):
        fitted = _fit(pipeline, x[train], y[train])
        if task == "classification":
            predictions[test] = fitted.predict_proba(x[test])[:, 1]
            rows.append(
                {
                    "fold": fold,
                    "n_patients": len(test),
                    "roc_auc": float(roc_auc_score(y[test], predictions[test])),
                    "brier": float(np.mean((predictions[test] - y[test]) ** 2)),
                }
            )
        else:
            predictions[test] = fitted.predict(x[test])
            rows.append(
                {
                    "fold": fold,
                    "n_patients": len(test),
                    "r2": float(r2_score(y[test], predictions[test])),
                    "mae": float(mean_absolute_error(y[test], predictions[test])),
                }
            )
    return pd.DataFrame(rows), predictions


def _scores(
    task: str,
    y: npt.NDArray[np.float64],
    predictions: npt.NDArray[np.float64],
    folds: pd.DataFrame,
    floor: int,
) -> tuple[pd.Series, pd.DataFrame | None]:
    from kgmed._sklearn import (
        average_precision_score,
        mean_absolute_error,
        r2_score,
        roc_auc_score,
    )

    if task == "regression":
        return (
            pd.Series(
                {
                    "n_patients": float(len(y)),
                    "mean": float(y.mean()),
                    "r2": float(r2_score(y, predictions)),
                    "r2_sd": float(folds["r2"].std(ddof=0)),
                    "mae": float(mean_absolute_error(y, predictions)),
                    "rmse": float(np.sqrt(np.mean((y - predictions) ** 2))),
                }
            ),
            None,
        )
    slope, _ = _calibration_line(y, predictions)
    scores = pd.Series(
        {
            "n_patients": float(len(y)),
            "n_with_target": float(y.sum()),
            "prevalence": float(y.mean()),
            "roc_auc": float(roc_auc_score(y, predictions)),
            "roc_auc_sd": float(folds["roc_auc"].std(ddof=0)),
            "average_precision": float(average_precision_score(y, predictions)),
            "brier": float(np.mean((predictions - y) ** 2)),
            "calibration_slope": slope,
            "calibration_in_the_large": float(predictions.mean() - y.mean()),
        }
    )
    return scores, _calibration_table(y, predictions, floor)


def _calibration_line(
    y: npt.NDArray[np.float64], predictions: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """Slope and intercept of the logistic recalibration ``logit P(y) = a + b logit(p)``.

    Predictions are clipped to [1e-6, 1 - 1e-6] first, so that a model sure
    of itself (gradient boosting gives 1e-12) does not send the slope off.
    """
    from kgmed._sklearn import LogisticRegression

    p = np.clip(predictions, 1e-6, 1 - 1e-6)
    z = (np.log(p) - np.log1p(-p))[:, None]
    # A very large C: in effect no penalty, in every scikit-learn version.
    fitted = LogisticRegression(C=1e8, max_iter=10_000).fit(z, y)
    return float(fitted.coef_.ravel()[0]), float(fitted.intercept_[0])


def _calibration_table(
    y: npt.NDArray[np.float64], predictions: npt.NDArray[np.float64], floor: int
) -> pd.DataFrame:
    n_bins = max(1, min(10, len(y) // max(floor, 1)))
    edges = np.unique(np.quantile(predictions, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, predictions, side="right") - 1, 0, max(len(edges) - 2, 0))
    frame = pd.DataFrame({"bin": bins, "p": predictions, "y": y})
    table = frame.groupby("bin").agg(
        n_patients=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean")
    )
    small = table["n_patients"] < floor
    table["observed"] = table["observed"].mask(small)
    table["n_patients"] = table["n_patients"].astype("Int64").mask(small)
    return table.reset_index(drop=True)[["mean_predicted", "observed", "n_patients"]]


def _drivers(
    final: Any,
    task: str,
    model: str,
    x: sparse.csr_matrix,
    y: npt.NDArray[np.float64],
    columns: pd.Index,
    numeric: _features.NumericFeatures | None,
    concepts: pd.DataFrame,
    counts: npt.NDArray[np.float64],
    random_state: int | None,
) -> pd.DataFrame:
    names = [] if numeric is None else list(numeric.names)
    info = concepts.set_index("concept_id").reindex(columns)
    ids = [*names, *columns.astype(str)]
    labels = [*names, *info["label"].astype(str)]
    kinds = [*(["numeric"] * len(names)), *info["kind"].astype(str)]
    n_patients = [*([None] * len(names)), *(int(c) for c in counts)]
    estimator = final.steps[-1][1]
    if model in ("logistic", "linear"):
        weight = np.asarray(estimator.coef_, dtype=float).ravel()
        odds = np.exp(weight) if task == "classification" else np.full(len(weight), np.nan)
        direction = np.where(weight > 0, "raises", np.where(weight < 0, "lowers", "none"))
    else:
        weight = _importance(final, task, x, y, random_state)
        odds = np.full(len(weight), np.nan)
        direction = _crude_direction(x, y)
        direction = np.where(weight > 0, direction, "none")
    table = pd.DataFrame(
        {
            "id": ids,
            "label": labels,
            "kind": kinds,
            "weight": weight,
            "odds_ratio": odds,
            "direction": direction,
            "n_patients": pd.array(n_patients, dtype="Int64"),
        }
    )
    order = np.lexsort((table["id"].to_numpy(dtype=str), -np.abs(weight)))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    for column in ("id", "label", "kind", "direction"):
        table[column] = table[column].astype("string")
    return table[list(DRIVER_COLUMNS)]


def _importance(
    final: Any,
    task: str,
    x: sparse.csr_matrix,
    y: npt.NDArray[np.float64],
    random_state: int | None,
) -> npt.NDArray[np.float64]:
    """Permutation importance on a sample of patients (drop in ROC AUC or R²)."""
    from kgmed._sklearn import permutation_importance

    rng = np.random.default_rng(random_state)
    if task == "classification":
        # Up to _IMPORTANCE_SAMPLE / 2 patients of each class: ROC AUC does
        # not depend on the classes' shares, and a rare disease keeps its cases.
        take = np.concatenate(
            [
                rng.permutation(np.nonzero(y == value)[0])[: _IMPORTANCE_SAMPLE // 2]
                for value in (0.0, 1.0)
            ]
        )
    else:
        take = rng.permutation(len(y))[:_IMPORTANCE_SAMPLE]
    take = np.sort(take)
    sample, target = x[take].toarray(), y[take]
    scoring = "roc_auc" if task == "classification" else "r2"
    if task == "classification" and len(np.unique(target)) < 2:
        return np.zeros(x.shape[1])
    found = permutation_importance(
        final, sample, target, scoring=scoring, n_repeats=3, random_state=random_state
    )
    return np.asarray(found.importances_mean, dtype=float)


def _crude_direction(x: sparse.csr_matrix, y: npt.NDArray[np.float64]) -> npt.NDArray[np.str_]:
    """Whether each feature goes with a higher or lower target, by its correlation."""
    covariance = np.asarray(x.T @ (y - y.mean())).ravel() / len(y)
    return np.where(covariance > 0, "raises", np.where(covariance < 0, "lowers", "none"))


def _graph(records: Records, task: str, target_id: str, min_patients: int) -> Any:
    if task != "classification":
        return None
    from kgmed.build import build

    return build(records, min_patients=min_patients)


def _comparison(
    drivers: pd.DataFrame,
    kg: Any,
    target_id: str,
    top: int,
    kinds: tuple[str, ...],
    notes: list[str],
) -> pd.DataFrame:
    leading = drivers[(drivers["direction"] == "raises").to_numpy(dtype=bool)].head(top)
    graph = pd.DataFrame(columns=["id", "label", "kind", "relation", "p", "lift", "n", "q", "w"])
    compared = kg is not None and target_id in kg.graph
    if kg is None:
        notes.append(f"No graph to set the model beside: {target_id} is a value, not a concept.")
    elif not compared:
        notes.append(f"The graph has no concept {target_id}: no edge to compare.")
    else:
        edges = kg.neighbors(target_id)
        # Concepts of the kinds the model saw (no cohort or rule node),
        # positively associated.
        lift = edges["lift"].to_numpy(dtype=float, na_value=np.nan)
        positive = np.isnan(lift) | (lift > 1)
        edges = edges[edges["kind"].isin(list(kinds)).to_numpy(dtype=bool) & positive]
        edges = edges.sort_values("n_patients", ascending=False, kind="stable", na_position="last")
        edges = edges.drop_duplicates("id")
        graph = pd.DataFrame(
            {
                "id": edges["id"].astype(str),
                "label": edges["label"],
                "kind": edges["kind"],
                "relation": edges["relation"],
                "p": edges["p_neighbor_given_concept"],
                "lift": edges["lift"],
                "n": edges["n_patients"],
                "q": edges["q_value"],
                "w": edges["direct_weight"],
            }
        )
    ids = list(dict.fromkeys([*leading["id"].astype(str), *graph["id"].astype(str)]))
    by_id = drivers.set_index(drivers["id"].astype(str))
    edge = graph.set_index("id")
    rows = []
    for concept in ids:
        in_model = concept in set(leading["id"].astype(str))
        in_graph = concept in edge.index
        source: dict[str, Any] = by_id.loc[concept].to_dict() if concept in by_id.index else {}
        e: dict[str, Any] = edge.loc[concept].to_dict() if in_graph else {}
        rows.append(
            {
                "id": concept,
                "label": source.get("label", e.get("label")),
                "kind": source.get("kind", e.get("kind")),
                "model_rank": source.get("rank"),
                "model_weight": source.get("weight", math.nan),
                "odds_ratio": source.get("odds_ratio", math.nan),
                "direction": source.get("direction"),
                "graph_relation": e.get("relation"),
                "graph_p_feature_given_target": e.get("p", math.nan),
                "graph_lift": e.get("lift", math.nan),
                "graph_n_patients": e.get("n"),
                "graph_q_value": e.get("q", math.nan),
                "graph_direct_weight": e.get("w", math.nan),
                "agreement": None
                if not compared
                else (
                    "both"
                    if in_model and in_graph
                    else ("model only" if in_model else "graph only")
                ),
            }
        )
    table = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    table["model_rank"] = table["model_rank"].astype("Int64")
    table["graph_n_patients"] = table["graph_n_patients"].astype("Int64")
    for column in (
        "model_weight",
        "odds_ratio",
        "graph_p_feature_given_target",
        "graph_lift",
        "graph_q_value",
        "graph_direct_weight",
    ):
        table[column] = table[column].astype("float64")
    for column in ("id", "label", "kind", "direction", "graph_relation", "agreement"):
        table[column] = table[column].astype("string")
    return table
