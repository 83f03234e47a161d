"""Synthetic patient records drawn from a known disease–symptom–treatment model.

The generator draws each patient's diseases (with comorbidity: diabetes
raises the chance of hypertension, both raise that of heart failure), then
symptoms and treatments through noisy-OR links with a leak, plus background
drugs that many people take whatever they have. Every patient has an age
and a sex; a model may make diseases, symptoms and drugs depend on them
(:func:`default_model` with ``demographics=1``), and a draw may bend the
model's assumptions the way real records do (``severity``, ``undercoding``
and ``label_noise`` of :func:`synthetic`). Because the model is known, the
records come with their truth, which tests and benchmarks measure kgmed
against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from kgmed._validation import check_fraction, check_positive_int
from kgmed.errors import ParameterError
from kgmed.records import Records

__all__ = [
    "DEMOGRAPHY_COLUMNS",
    "SyntheticModel",
    "default_model",
    "random_model",
    "synthetic",
]

#: Optional columns of ``SyntheticModel.concepts`` that make a concept's
#: rate depend on the patient's age and sex, and their neutral values.
DEMOGRAPHY_COLUMNS: dict[str, float | None] = {
    "per_decade": 1.0,
    "female_ratio": 1.0,
    "min_age": 0.0,
    "max_age": float("inf"),
    "sex": None,
}
_AGE_CENTRE = 45.0  # the age at which ``per_decade`` leaves a rate as it is
_MAX_AGE = 90  # patients' ages are drawn uniformly from 0 to this


@dataclass(frozen=True)
class SyntheticModel:
    """A generative model of patient records, and so the truth behind them.

    Attributes
    ----------
    concepts : pandas.DataFrame
        One row per concept: ``label``, ``kind``, ``system``, ``code``
        (``<NA>`` when uncoded) and ``rate``: a disease's base prevalence, a
        symptom's or treatment's leak (its rate with none of the diseases
        that cause it). Optional columns make a rate depend on who the
        patient is (:data:`DEMOGRAPHY_COLUMNS`): ``per_decade``, the factor
        on the rate for each decade of age above 45 (below 45 it divides);
        ``female_ratio``, the rate in women over that in men (the two sexes
        share the rate's geometric mean); ``min_age`` and ``max_age``,
        outside which the rate is 0; and ``sex``, the only sex that has the
        concept (``<NA>``: both).
    links : pandas.DataFrame
        ``source``, ``target`` (labels), ``relation`` and ``weight``:
        ``has_symptom`` and ``treated_with`` weights are noisy-OR
        probabilities (the chance that the disease alone brings the symptom
        or treatment); ``raises_risk_of`` weights multiply the target
        disease's prevalence when the source disease is present.
    """

    concepts: pd.DataFrame
    links: pd.DataFrame

    def direct_edges(self, relation: str | None = None) -> pd.DataFrame:
        """The true disease→symptom and disease→treatment links.

        Examples
        --------
        >>> from kgmed.datasets import default_model
        >>> edges = default_model().direct_edges("has_symptom")
        >>> edges.loc[edges["source"] == "influenza", "target"].iloc[0]
        'fever'
        """
        links = self.links[self.links["relation"] != "raises_risk_of"]
        if relation is not None:
            links = links[links["relation"] == relation]
        return links.reset_index(drop=True)

    def disease_posterior(self, symptoms: pd.DataFrame, *, chunk: int = 256) -> pd.DataFrame:
        """Exact posterior probability of each disease given all of a patient's symptoms.

        The Bayes-optimal answer under this model, the ceiling any diagnosis
        ranking can reach: every combination of diseases is weighed by its
        prior (prevalences and comorbidity multipliers, as drawn) and by the
        noisy-OR likelihood of the symptoms present and absent.

        Parameters
        ----------
        symptoms : pandas.DataFrame
            One row per patient, one boolean column per symptom label
            (columns missing are taken as absent).
        chunk : int, default 256
            Patients computed at once (memory: 2**n_diseases x chunk floats).

        Returns
        -------
        pandas.DataFrame
            One row per patient (same index), one column per disease label.

        Examples
        --------
        >>> import pandas as pd
        >>> from kgmed.datasets import default_model
        >>> model = default_model()
        >>> post = model.disease_posterior(pd.DataFrame({"loss of smell": [True], "fever": [True]}))
        >>> post.idxmax(axis=1).tolist()
        ['covid-19']
        """
        concepts = self.concepts
        diseases = concepts.loc[concepts["kind"] == "disease", "label"].tolist()
        names = concepts.loc[concepts["kind"] == "symptom", "label"].tolist()
        rates = dict(zip(concepts["label"], concepts["rate"], strict=True))
        n = len(diseases)
        if n > 20:
            raise ParameterError(f"exact posterior over {n} diseases needs 2**{n} combinations")
        configs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
        log_prior = np.zeros(len(configs))
        index = {d: i for i, d in enumerate(diseases)}
        risks = self.links[self.links["relation"] == "raises_risk_of"]
        for i, disease in enumerate(diseases):
            p = np.full(len(configs), float(rates[disease]))
            for source, mult in risks.loc[
                risks["target"] == disease, ["source", "weight"]
            ].itertuples(index=False):
                p = np.where(configs[:, index[str(source)]], p * float(mult), p)
            p = np.minimum(p, 0.95)
            log_prior += np.where(configs[:, i], np.log(p), np.log1p(-p))
        direct = self.direct_edges("has_symptom")
        log_keep = np.zeros((n, len(names)))
        for source, target, weight in direct[["source", "target", "weight"]].itertuples(
            index=False
        ):
            log_keep[index[str(source)], names.index(str(target))] = np.log1p(-float(weight))
        leaks = np.array([float(rates[s]) for s in names])
        log_absent = np.log1p(-leaks) + configs.astype(float) @ log_keep  # configs x symptoms
        log_present = np.log(-np.expm1(log_absent))
        observed = symptoms.reindex(columns=names, fill_value=False).fillna(False)
        y = observed.to_numpy(dtype=float)
        out = np.zeros((len(y), n))
        for start in range(0, len(y), chunk):
            part = y[start : start + chunk]
            log_joint = log_prior[:, None] + log_present @ part.T + log_absent @ (1 - part).T
            log_joint -= log_joint.max(axis=0, keepdims=True)
            weights = np.exp(log_joint)
            weights /= weights.sum(axis=0, keepdims=True)
            out[start : start + chunk] = (configs.T.astype(float) @ weights).T
        return pd.DataFrame(out, index=symptoms.index, columns=diseases)


# label, ICD-10-CM code, base prevalence
_DISEASES: list[tuple[str, str, float]] = [
    ("type 2 diabetes mellitus", "E11.9", 0.09),
    ("hypertension", "I10", 0.20),
    ("heart failure", "I50.9", 0.015),
    ("chronic obstructive pulmonary disease", "J44.9", 0.04),
    ("pneumonia", "J18.9", 0.03),
    ("asthma", "J45.909", 0.08),
    ("influenza", "J11.1", 0.08),
    ("covid-19", "U07.1", 0.05),
    ("common cold", "J00", 0.12),
    ("urinary tract infection", "N39.0", 0.06),
    ("gastroesophageal reflux disease", "K21.9", 0.10),
    ("migraine", "G43.909", 0.07),
    ("major depressive disorder", "F32.9", 0.07),
    ("hypothyroidism", "E03.9", 0.05),
    ("iron deficiency anemia", "D50.9", 0.04),
]

# source disease, target disease, multiplier on the target's prevalence.
# Sources come before targets in _DISEASES, so one pass draws them in order.
_RISKS: list[tuple[str, str, float]] = [
    ("type 2 diabetes mellitus", "hypertension", 2.0),
    ("hypertension", "heart failure", 3.0),
    ("type 2 diabetes mellitus", "heart failure", 2.0),
    ("chronic obstructive pulmonary disease", "pneumonia", 3.0),
    ("migraine", "major depressive disorder", 1.8),
]

# label, HPO code (None: uncoded), leak
_SYMPTOMS: list[tuple[str, str | None, float]] = [
    ("fever", "HP:0001945", 0.02),
    ("cough", "HP:0012735", 0.04),
    ("shortness of breath", "HP:0002094", 0.02),
    ("headache", "HP:0002315", 0.08),
    ("fatigue", "HP:0012378", 0.06),
    ("muscle pain", "HP:0003326", 0.03),
    ("nausea", "HP:0002018", 0.03),
    ("vomiting", "HP:0002013", 0.01),
    ("chest pain", "HP:0100749", 0.01),
    ("edema", "HP:0000969", 0.01),
    ("polyuria", "HP:0000103", 0.01),
    ("polydipsia", "HP:0001959", 0.01),
    ("wheezing", "HP:0030828", 0.01),
    ("dysuria", "HP:0100518", 0.01),
    ("runny nose", "HP:0031417", 0.04),
    ("loss of smell", "HP:0000458", 0.005),
    ("photophobia", "HP:0000613", 0.01),
    ("insomnia", "HP:0100785", 0.04),
    ("pallor", "HP:0000980", 0.01),
    ("sore throat", None, 0.03),
    ("heartburn", None, 0.03),
    ("dizziness", None, 0.03),
    ("blurred vision", None, 0.01),
    ("weight gain", None, 0.02),
    ("cold intolerance", None, 0.01),
    ("low mood", None, 0.03),
]

# label, RxNorm ingredient code (None: uncoded), background rate
_TREATMENTS: list[tuple[str, str | None, float]] = [
    ("acetaminophen", "161", 0.15),
    ("ibuprofen", "5640", 0.10),
    ("oseltamivir", "260101", 0.002),
    ("amoxicillin", "723", 0.01),
    ("azithromycin", "18631", 0.005),
    ("albuterol", "435", 0.005),
    ("fluticasone", "41126", 0.01),
    ("tiotropium", "69120", 0.001),
    ("lisinopril", "29046", 0.005),
    ("amlodipine", "17767", 0.005),
    ("metoprolol", "6918", 0.005),
    ("furosemide", "4603", 0.002),
    ("metformin", "6809", 0.002),
    ("atorvastatin", "83367", 0.04),
    ("nitrofurantoin", "7454", 0.001),
    ("omeprazole", "7646", 0.02),
    ("sumatriptan", "37418", 0.001),
    ("sertraline", "36437", 0.01),
    ("levothyroxine", "10582", 0.003),
    ("ferrous sulfate", None, 0.01),
    ("vitamin d", None, 0.12),
]

# disease, target, noisy-OR weight; the target's kind tells the relation
_LINKS: list[tuple[str, str, float]] = [
    ("influenza", "fever", 0.85),
    ("influenza", "cough", 0.75),
    ("influenza", "muscle pain", 0.65),
    ("influenza", "fatigue", 0.60),
    ("influenza", "headache", 0.55),
    ("influenza", "sore throat", 0.40),
    ("influenza", "runny nose", 0.30),
    ("influenza", "oseltamivir", 0.55),
    ("influenza", "acetaminophen", 0.30),
    ("covid-19", "fever", 0.70),
    ("covid-19", "cough", 0.65),
    ("covid-19", "fatigue", 0.60),
    ("covid-19", "loss of smell", 0.45),
    ("covid-19", "muscle pain", 0.35),
    ("covid-19", "shortness of breath", 0.30),
    ("covid-19", "headache", 0.30),
    ("covid-19", "acetaminophen", 0.40),
    ("common cold", "runny nose", 0.80),
    ("common cold", "sore throat", 0.60),
    ("common cold", "cough", 0.50),
    ("common cold", "headache", 0.20),
    ("common cold", "fever", 0.15),
    ("common cold", "acetaminophen", 0.30),
    ("common cold", "ibuprofen", 0.20),
    ("pneumonia", "cough", 0.85),
    ("pneumonia", "fever", 0.75),
    ("pneumonia", "shortness of breath", 0.60),
    ("pneumonia", "fatigue", 0.50),
    ("pneumonia", "chest pain", 0.45),
    ("pneumonia", "amoxicillin", 0.70),
    ("pneumonia", "azithromycin", 0.30),
    ("asthma", "wheezing", 0.70),
    ("asthma", "shortness of breath", 0.65),
    ("asthma", "cough", 0.50),
    ("asthma", "chest pain", 0.20),
    ("asthma", "albuterol", 0.85),
    ("asthma", "fluticasone", 0.40),
    ("chronic obstructive pulmonary disease", "shortness of breath", 0.75),
    ("chronic obstructive pulmonary disease", "cough", 0.70),
    ("chronic obstructive pulmonary disease", "wheezing", 0.45),
    ("chronic obstructive pulmonary disease", "fatigue", 0.35),
    ("chronic obstructive pulmonary disease", "tiotropium", 0.60),
    ("chronic obstructive pulmonary disease", "albuterol", 0.60),
    ("hypertension", "headache", 0.15),
    ("hypertension", "dizziness", 0.12),
    ("hypertension", "lisinopril", 0.50),
    ("hypertension", "amlodipine", 0.35),
    ("type 2 diabetes mellitus", "polyuria", 0.45),
    ("type 2 diabetes mellitus", "polydipsia", 0.40),
    ("type 2 diabetes mellitus", "fatigue", 0.30),
    ("type 2 diabetes mellitus", "blurred vision", 0.20),
    ("type 2 diabetes mellitus", "metformin", 0.80),
    ("type 2 diabetes mellitus", "atorvastatin", 0.35),
    ("heart failure", "shortness of breath", 0.80),
    ("heart failure", "edema", 0.65),
    ("heart failure", "fatigue", 0.60),
    ("heart failure", "weight gain", 0.30),
    ("heart failure", "furosemide", 0.75),
    ("heart failure", "metoprolol", 0.50),
    ("heart failure", "lisinopril", 0.40),
    ("urinary tract infection", "dysuria", 0.80),
    ("urinary tract infection", "polyuria", 0.40),
    ("urinary tract infection", "fever", 0.20),
    ("urinary tract infection", "nitrofurantoin", 0.60),
    ("gastroesophageal reflux disease", "heartburn", 0.80),
    ("gastroesophageal reflux disease", "chest pain", 0.30),
    ("gastroesophageal reflux disease", "nausea", 0.20),
    ("gastroesophageal reflux disease", "omeprazole", 0.75),
    ("migraine", "headache", 0.95),
    ("migraine", "photophobia", 0.60),
    ("migraine", "nausea", 0.50),
    ("migraine", "vomiting", 0.25),
    ("migraine", "sumatriptan", 0.60),
    ("migraine", "ibuprofen", 0.40),
    ("major depressive disorder", "low mood", 0.85),
    ("major depressive disorder", "insomnia", 0.50),
    ("major depressive disorder", "fatigue", 0.50),
    ("major depressive disorder", "sertraline", 0.65),
    ("hypothyroidism", "fatigue", 0.60),
    ("hypothyroidism", "weight gain", 0.45),
    ("hypothyroidism", "cold intolerance", 0.40),
    ("hypothyroidism", "levothyroxine", 0.90),
    ("iron deficiency anemia", "fatigue", 0.70),
    ("iron deficiency anemia", "pallor", 0.50),
    ("iron deficiency anemia", "dizziness", 0.30),
    ("iron deficiency anemia", "shortness of breath", 0.20),
    ("iron deficiency anemia", "ferrous sulfate", 0.80),
]


# Who gets what, with ``demographics=1``: label, per_decade, female_ratio,
# min_age, max_age, sex. Chronic diseases and the drugs of old age rise with
# age; urinary infection, thyroid disease and migraine are commoner in women.
_DEMOGRAPHY: list[tuple[str, float, float, float, float, str | None]] = [
    ("type 2 diabetes mellitus", 1.35, 0.9, 0, np.inf, None),
    ("hypertension", 1.4, 1.0, 0, np.inf, None),
    ("heart failure", 1.6, 0.8, 0, np.inf, None),
    ("chronic obstructive pulmonary disease", 1.5, 0.8, 0, np.inf, None),
    ("pneumonia", 1.3, 1.0, 0, np.inf, None),
    ("asthma", 0.85, 1.2, 0, np.inf, None),
    ("common cold", 0.8, 1.0, 0, np.inf, None),
    ("urinary tract infection", 1.1, 4.0, 0, np.inf, None),
    ("migraine", 0.9, 3.0, 0, np.inf, None),
    ("major depressive disorder", 1.0, 1.7, 0, np.inf, None),
    ("hypothyroidism", 1.3, 4.0, 0, np.inf, None),
    ("atorvastatin", 1.6, 0.9, 0, np.inf, None),
    ("vitamin d", 1.3, 2.0, 0, np.inf, None),
    ("fatigue", 1.1, 1.3, 0, np.inf, None),
    ("insomnia", 1.2, 1.3, 0, np.inf, None),
]

# Concepts that no disease brings, whose rates follow age and sex alone, so
# that they go with the diseases of the same people: kind, label, code
# system, code, rate, per_decade, female_ratio, min_age, max_age, sex.
_BACKGROUND: list[
    tuple[str, str, str | None, str | None, float, float, float, float, float, str | None]
] = [
    ("symptom", "chronic low back pain", "HP", "0003419", 0.08, 1.5, 1.2, 0, np.inf, None),
    ("symptom", "joint pain", "HP", "0002829", 0.06, 1.5, 1.4, 0, np.inf, None),
    ("treatment", "oxycodone", "RXNORM", "7804", 0.02, 1.5, 1.0, 18, np.inf, None),
    ("treatment", "ethinyl estradiol", "RXNORM", "4124", 0.30, 1.0, 1.0, 15, 49, "female"),
    ("treatment", "alendronate", "RXNORM", "46041", 0.05, 2.2, 4.0, 40, np.inf, None),
]


def default_model(
    *,
    comorbidity: float = 1.0,
    leak: float = 1.0,
    background: float = 1.0,
    demographics: float = 0.0,
) -> SyntheticModel:
    """The model behind :func:`synthetic`: 15 diseases, 26 symptoms, 21 treatments.

    Diseases carry ICD-10-CM codes, most symptoms Human Phenotype Ontology
    codes and most treatments RxNorm ingredient codes; the rest are uncoded,
    as in real records. The numbers are illustrative, not epidemiology.

    Parameters
    ----------
    comorbidity : float, default 1.0
        Exponent on the comorbidity multipliers: 0 makes diseases
        independent, 2 squares each multiplier (diabetes then raises the
        chance of hypertension 4-fold instead of 2-fold).
    leak : float, default 1.0
        Factor on every symptom's leak, its rate with none of its diseases.
    background : float, default 1.0
        Factor on every treatment's background rate (drugs taken whatever
        the disease).
    demographics : float, default 0.0
        Exponent on the effects of age and sex: 0 gives everyone the same
        rates; 1 makes chronic diseases and the drugs of old age rise with
        age, urinary infection, thyroid disease and migraine commoner in
        women, and adds five concepts that no disease brings and that follow
        age and sex alone (chronic low back pain and joint pain with age,
        oxycodone and alendronate with age, ethinyl estradiol in women of 15
        to 49). Those go with the diseases of the same people, and a graph
        that does not adjust for age and sex mistakes them for relations.

    Returns
    -------
    SyntheticModel

    Examples
    --------
    >>> from kgmed.datasets import default_model
    >>> m = default_model()
    >>> m.concepts["kind"].value_counts().to_dict()
    {'symptom': 26, 'treatment': 21, 'disease': 15}
    >>> aged = default_model(demographics=1)
    >>> aged.concepts.set_index("label").loc["hypertension", "per_decade"]
    np.float64(1.4)
    """
    rows: list[tuple[str, str, str | None, str | None, float]] = [
        ("disease", label, "ICD10CM", code, rate) for label, code, rate in _DISEASES
    ]
    rows += [
        (
            "symptom",
            label,
            "HP" if code else None,
            code.split(":")[1] if code else None,
            leak,
        )
        for label, code, leak in _SYMPTOMS
    ]
    rows += [
        ("treatment", label, "RXNORM" if code else None, code, rate)
        for label, code, rate in _TREATMENTS
    ]
    for name, value in (
        ("comorbidity", comorbidity),
        ("leak", leak),
        ("background", background),
        ("demographics", demographics),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ParameterError(f"{name} must be a number >= 0, got {value!r}")
    if demographics > 0:
        rows += [(k, lbl, sy, co, rate) for k, lbl, sy, co, rate, *_ in _BACKGROUND]
    scale = {"disease": 1.0, "symptom": float(leak), "treatment": float(background)}
    rows = [(k, lbl, sy, co, min(rate * scale[k], 0.95)) for k, lbl, sy, co, rate in rows]
    concepts = pd.DataFrame(rows, columns=["kind", "label", "system", "code", "rate"])
    concepts = concepts[["label", "kind", "system", "code", "rate"]].astype(
        {"label": "string", "kind": "string", "system": "string", "code": "string"}
    )
    if demographics > 0:
        effects = [(lbl, *rest) for lbl, *rest in _DEMOGRAPHY]
        effects += [(lbl, *rest) for _, lbl, _, _, _, *rest in _BACKGROUND]
        table = pd.DataFrame(effects, columns=["label", *DEMOGRAPHY_COLUMNS]).set_index("label")
        table[["per_decade", "female_ratio"]] **= float(demographics)
        for column, neutral in DEMOGRAPHY_COLUMNS.items():
            values = table[column].reindex(concepts["label"]).to_numpy()
            if column == "sex":
                concepts[column] = pd.array(values, dtype="string")
            else:
                numbers = pd.to_numeric(pd.Series(values), errors="coerce")
                concepts[column] = numbers.fillna(neutral).to_numpy(dtype=float)
    kind = dict(zip(concepts["label"], concepts["kind"], strict=True))
    links = [
        (d, t, "has_symptom" if kind[t] == "symptom" else "treated_with", w) for d, t, w in _LINKS
    ]
    links += [(s, t, "raises_risk_of", m ** float(comorbidity)) for s, t, m in _RISKS]
    return SyntheticModel(
        concepts=concepts,
        links=pd.DataFrame(links, columns=["source", "target", "relation", "weight"]).astype(
            {"source": "string", "target": "string", "relation": "string"}
        ),
    )


def random_model(
    n_diseases: int = 200,
    n_symptoms: int = 1500,
    n_treatments: int = 500,
    *,
    random_state: int | np.random.Generator | None = None,
) -> SyntheticModel:
    """A large random model, for measuring kgmed at the scale of a real vocabulary.

    Each disease gets a log-uniform prevalence (0.1 % to 5 %), 3 to 12
    symptoms with noisy-OR weights drawn from U(0.2, 0.9), and 1 to 3
    treatments with weights from U(0.3, 0.9); symptoms leak at 0.05 % to 1 %,
    and a tenth of the treatments are also taken in the background. One
    disease in ten raises the chance of another 2- to 4-fold. Labels are
    ``disease 0001``, ``symptom 0001``, ``treatment 0001``.

    Parameters
    ----------
    n_diseases, n_symptoms, n_treatments : int
        Sizes of the vocabulary.
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    SyntheticModel

    Examples
    --------
    >>> from kgmed.datasets import random_model, synthetic
    >>> model = random_model(50, 300, 100, random_state=0)
    >>> model.concepts["kind"].value_counts().to_dict()
    {'symptom': 300, 'treatment': 100, 'disease': 50}
    >>> synthetic(1000, model=model, random_state=0).n_patients
    1000
    """
    n_diseases = check_positive_int("n_diseases", n_diseases)
    n_symptoms = check_positive_int("n_symptoms", n_symptoms)
    n_treatments = check_positive_int("n_treatments", n_treatments)
    rng = np.random.default_rng(random_state)
    width = len(str(max(n_diseases, n_symptoms, n_treatments)))
    diseases = [f"disease {i:0{width}d}" for i in range(1, n_diseases + 1)]
    symptoms = [f"symptom {i:0{width}d}" for i in range(1, n_symptoms + 1)]
    treatments = [f"treatment {i:0{width}d}" for i in range(1, n_treatments + 1)]
    prevalence = np.exp(rng.uniform(np.log(0.001), np.log(0.05), n_diseases))
    leaks = np.exp(rng.uniform(np.log(0.0005), np.log(0.01), n_symptoms))
    backgrounds = np.where(
        rng.random(n_treatments) < 0.1, rng.uniform(0.01, 0.1, n_treatments), 0.0005
    )
    concepts = pd.DataFrame(
        {
            "label": diseases + symptoms + treatments,
            "kind": ["disease"] * n_diseases
            + ["symptom"] * n_symptoms
            + ["treatment"] * n_treatments,
            "system": pd.NA,
            "code": pd.NA,
            "rate": np.concatenate([prevalence, leaks, backgrounds]),
        }
    ).astype({"label": "string", "kind": "string", "system": "string", "code": "string"})
    links: list[tuple[str, str, str, float]] = []
    for disease in diseases:
        for symptom in rng.choice(symptoms, size=rng.integers(3, 13), replace=False):
            links.append((disease, str(symptom), "has_symptom", float(rng.uniform(0.2, 0.9))))
        for drug in rng.choice(treatments, size=rng.integers(1, 4), replace=False):
            links.append((disease, str(drug), "treated_with", float(rng.uniform(0.3, 0.9))))
    # Comorbidity runs from an earlier disease to a later one, as drawn.
    for i in range(n_diseases - 1):
        if rng.random() < 0.1:
            later = int(rng.integers(i + 1, n_diseases))
            links.append((diseases[i], diseases[later], "raises_risk_of", float(rng.uniform(2, 4))))
    return SyntheticModel(
        concepts=concepts,
        links=pd.DataFrame(links, columns=["source", "target", "relation", "weight"]).astype(
            {"source": "string", "target": "string", "relation": "string"}
        ),
    )


@overload
def synthetic(
    n_patients: int = ...,
    *,
    random_state: int | np.random.Generator | None = ...,
    messy: bool = ...,
    label_noise: float = ...,
    severity: float = ...,
    undercoding: float = ...,
    as_frame: Literal[False] = ...,
    return_truth: Literal[False] = ...,
    model: SyntheticModel | None = ...,
) -> Records: ...
@overload
def synthetic(
    n_patients: int = ...,
    *,
    random_state: int | np.random.Generator | None = ...,
    messy: bool = ...,
    label_noise: float = ...,
    severity: float = ...,
    undercoding: float = ...,
    as_frame: Literal[True],
    return_truth: Literal[False] = ...,
    model: SyntheticModel | None = ...,
) -> pd.DataFrame: ...
@overload
def synthetic(
    n_patients: int = ...,
    *,
    random_state: int | np.random.Generator | None = ...,
    messy: bool = ...,
    label_noise: float = ...,
    severity: float = ...,
    undercoding: float = ...,
    as_frame: Literal[False] = ...,
    return_truth: Literal[True],
    model: SyntheticModel | None = ...,
) -> tuple[Records, SyntheticModel]: ...
@overload
def synthetic(
    n_patients: int = ...,
    *,
    random_state: int | np.random.Generator | None = ...,
    messy: bool = ...,
    label_noise: float = ...,
    severity: float = ...,
    undercoding: float = ...,
    as_frame: Literal[True],
    return_truth: Literal[True],
    model: SyntheticModel | None = ...,
) -> tuple[pd.DataFrame, SyntheticModel]: ...
def synthetic(
    n_patients: int = 2000,
    *,
    random_state: int | np.random.Generator | None = None,
    messy: bool = False,
    label_noise: float = 0.0,
    severity: float = 0.0,
    undercoding: float = 0.0,
    as_frame: bool = False,
    return_truth: bool = False,
    model: SyntheticModel | None = None,
) -> Records | pd.DataFrame | tuple[Records | pd.DataFrame, SyntheticModel]:
    """Draw synthetic patient records from a known model.

    Each patient gets an age (uniform from 0 to 90 years) and a sex (even
    odds). Their diseases are drawn in the model's order, each with its
    prevalence (times the model's factors for the patient's age and sex)
    times the multipliers of the diseases already drawn. Each symptom and
    treatment is then present with the noisy-OR probability
    ``1 - (1 - leak) * prod(1 - weight)`` over the patient's diseases that
    link to it. Patients with no record at all are drawn again, so every
    patient asked for appears.

    Parameters
    ----------
    n_patients : int, default 2000
        Patients to draw.
    random_state : int, numpy.random.Generator or None
        Seed or generator, for reproducible draws.
    messy : bool, default False
        Write labels as real exports do (random case, underscores, stray and
        non-breaking spaces) and repeat about 5 % of rows, so that a reader
        has something to normalize. The concepts and counts are unchanged.
    label_noise : float, default 0.0
        Share of recorded symptoms that are recorded as another symptom,
        drawn at random (miscoding). The truth does not change; the records
        do.
    severity : float, default 0.0
        Spread of each patient's severity: a factor drawn per patient from a
        gamma distribution of mean 1 and this variance, by which the
        patient's diseases bring their symptoms and treatments (the hazard
        ``-log(1 - weight)`` is multiplied by it). 0: every patient alike,
        as the noisy-OR model assumes.
    undercoding : float, default 0.0
        Share of diagnoses never recorded: each disease a patient has is
        left out of the records with this probability, while the symptoms
        and treatments it brought are recorded.
    as_frame : bool, default False
        Return the long table (``patient_id``, ``concept``, ``kind``,
        ``code``, ``system``, and the patient's ``age`` and ``sex``) instead
        of :class:`~kgmed.Records`, whose ``patients`` then hold the ages
        and sexes.
    return_truth : bool, default False
        Also return the model the records were drawn from.
    model : SyntheticModel, optional
        The model; :func:`default_model` by default.

    Returns
    -------
    Records or pandas.DataFrame
        The records.
    SyntheticModel
        The model, when ``return_truth`` is True.

    Examples
    --------
    >>> import kgmed
    >>> records = kgmed.datasets.synthetic(1000, random_state=0)
    >>> records.n_patients
    1000
    >>> frame, truth = kgmed.datasets.synthetic(100, random_state=0, as_frame=True,
    ...                                         return_truth=True)
    >>> frame.columns.tolist()
    ['patient_id', 'concept', 'kind', 'code', 'system', 'age', 'sex']
    >>> records.patients.head(2)
                 age     sex
    patient_id
    P0001       73.0    male
    P0002       85.0  female
    """
    n_patients = check_positive_int("n_patients", n_patients)
    if model is None:
        model = default_model()
    rng = np.random.default_rng(random_state)
    label_noise = check_fraction("label_noise", label_noise, low_inclusive=True)
    undercoding = check_fraction("undercoding", undercoding, low_inclusive=True)
    if isinstance(severity, bool) or not isinstance(severity, (int, float)) or not severity >= 0:
        raise ParameterError(f"severity must be a number >= 0, got {severity!r}")
    # Ages and sexes come from a stream of their own, so that the draws of a
    # model without effects of age and sex stay what they were.
    people = rng.spawn(1)[0]
    age = people.integers(0, _MAX_AGE + 1, size=n_patients).astype(float)
    female = people.random(n_patients) < 0.5
    presence = _draw(
        model,
        n_patients,
        rng,
        age=age,
        female=female,
        severity=float(severity),
        undercoding=undercoding,
    )
    if label_noise > 0:
        presence = _miscode(model, presence, label_noise, rng)
    frame = _long_table(model, presence, age=age, female=female)
    if messy:
        frame = _mess_up(frame, rng)
    result: Records | pd.DataFrame = frame
    if not as_frame:
        records = Records.from_dataframe(
            frame, code="code", system="system", source="synthetic records"
        )
        width = len(str(n_patients))
        patients = pd.DataFrame(
            {"age": age, "sex": np.where(female, "female", "male")},
            index=[f"P{i:0{width}d}" for i in range(1, n_patients + 1)],
        )
        result = Records(records.data, records.report, patients=patients)
    return (result, model) if return_truth else result


def _demography(
    concepts: pd.DataFrame, age: npt.NDArray[np.float64], female: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64] | None:
    """Patients × concepts factors on the rates for each patient's age and sex.

    None when the model has no effects of age and sex.
    """
    if not any(column in concepts.columns for column in DEMOGRAPHY_COLUMNS):
        return None
    value = {
        column: concepts[column].to_numpy(dtype=object)
        if column in concepts.columns
        else np.full(len(concepts), neutral, dtype=object)
        for column, neutral in DEMOGRAPHY_COLUMNS.items()
    }
    numbers = {
        column: np.array(
            [DEMOGRAPHY_COLUMNS[column] if pd.isna(v) else v for v in value[column]], dtype=float
        )
        for column in ("per_decade", "female_ratio", "min_age", "max_age")
    }
    decades = (age[:, None] - _AGE_CENTRE) / 10.0
    factor = numbers["per_decade"][None, :] ** decades
    half = np.sqrt(numbers["female_ratio"])[None, :]
    factor *= np.where(female[:, None], half, 1.0 / half)
    inside = (age[:, None] >= numbers["min_age"]) & (age[:, None] <= numbers["max_age"])
    only = np.array(["" if pd.isna(v) else str(v) for v in value["sex"]], dtype=object)
    sex_ok = (only == "")[None, :] | (np.where(female, "female", "male")[:, None] == only[None, :])
    return np.asarray(np.where(inside & sex_ok, factor, 0.0), dtype=float)


def _draw(
    model: SyntheticModel,
    n: int,
    rng: np.random.Generator,
    *,
    age: npt.NDArray[np.float64],
    female: npt.NDArray[np.bool_],
    severity: float = 0.0,
    undercoding: float = 0.0,
) -> npt.NDArray[np.bool_]:
    """Patients × concepts presence (as recorded), every patient with at least one concept."""
    concepts = model.concepts
    labels = concepts["label"].tolist()
    position = {label: i for i, label in enumerate(labels)}
    diseases = np.nonzero((concepts["kind"] == "disease").to_numpy())[0]
    others = np.nonzero((concepts["kind"] != "disease").to_numpy())[0]
    rates = concepts["rate"].to_numpy(dtype=float)
    links = model.links
    if not set(links["source"]).union(links["target"]).issubset(position):
        raise ParameterError("model links name concepts that model.concepts does not list")

    # log(1 - w) per (disease, other concept) for the noisy-OR product.
    log_keep = np.zeros((len(labels), len(labels)))
    direct = links[links["relation"] != "raises_risk_of"]
    for source, target, weight in direct[["source", "target", "weight"]].itertuples(index=False):
        log_keep[position[source], position[target]] = np.log1p(-min(float(weight), 1 - 1e-12))
    risks = links[links["relation"] == "raises_risk_of"]
    raised_by = {
        d: [
            (position[str(source)], float(mult))
            for source, mult in risks.loc[
                risks["target"] == labels[d], ["source", "weight"]
            ].itertuples(index=False)
        ]
        for d in diseases
    }

    factors = _demography(concepts, age, female)
    result = np.zeros((n, len(labels)), dtype=bool)
    todo = np.arange(n)
    while len(todo):
        m = len(todo)
        x = np.zeros((m, len(labels)), dtype=bool)
        for d in diseases:
            p = np.full(m, rates[d]) if factors is None else rates[d] * factors[todo, d]
            for source, mult in raised_by[d]:
                p = np.where(x[:, source], p * mult, p)
            x[:, d] = rng.random(m) < np.minimum(p, 0.95)
        log_absent = x[:, diseases].astype(float) @ log_keep[np.ix_(diseases, others)]
        if severity > 0:
            # Gamma of mean 1 and variance `severity` scales each patient's hazards.
            log_absent *= rng.gamma(1.0 / severity, severity, size=m)[:, None]
        leaks = (
            rates[others]
            if factors is None
            else np.minimum(rates[others] * factors[np.ix_(todo, others)], 0.95)
        )
        p_present = 1.0 - (1.0 - leaks) * np.exp(log_absent)
        x[:, others] = rng.random((m, len(others))) < p_present
        if undercoding > 0:
            x[:, diseases] &= rng.random((m, len(diseases))) >= undercoding
        done = x.any(axis=1)
        result[todo[done]] = x[done]
        todo = todo[~done]
    return result


def _miscode(
    model: SyntheticModel,
    presence: npt.NDArray[np.bool_],
    share: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """Record a share of the symptoms present as a random other symptom."""
    symptoms = np.nonzero((model.concepts["kind"] == "symptom").to_numpy())[0]
    rows, cols = np.nonzero(presence[:, symptoms])
    wrong = rng.random(len(rows)) < share
    shift = rng.integers(1, len(symptoms), size=int(wrong.sum()))
    moved = presence.copy()
    moved[rows[wrong], symptoms[cols[wrong]]] = False
    moved[rows[wrong], symptoms[(cols[wrong] + shift) % len(symptoms)]] = True
    return moved


def _long_table(
    model: SyntheticModel,
    presence: npt.NDArray[np.bool_],
    *,
    age: npt.NDArray[np.float64],
    female: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    width = len(str(presence.shape[0]))
    rows, cols = np.nonzero(presence)
    concepts = model.concepts.iloc[cols].reset_index(drop=True)
    ids = pd.Series(rows + 1).map(lambda i: f"P{i:0{width}d}")
    return pd.DataFrame(
        {
            "patient_id": ids.astype("string"),
            "concept": concepts["label"],
            "kind": concepts["kind"],
            "code": concepts["code"],
            "system": concepts["system"],
            "age": age[rows].astype("int64"),
            "sex": pd.array(np.where(female[rows], "female", "male"), dtype="string"),
        }
    )


def _mess_up(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    labels = frame["concept"].astype(str).to_numpy(dtype=object)
    style = rng.integers(0, 6, size=len(labels))
    variants: dict[int, Callable[[str], str]] = {
        1: lambda s: s.upper(),
        2: lambda s: s.title(),
        3: lambda s: s.replace(" ", "_"),
        4: lambda s: f"  {s} ",
        5: lambda s: s.replace(" ", "\u00a0"),
    }
    messy = [variants[k](s) if k in variants else s for s, k in zip(labels, style, strict=True)]
    frame = frame.assign(concept=pd.Series(messy, index=frame.index, dtype="string"))
    repeat = frame.iloc[np.nonzero(rng.random(len(frame)) < 0.05)[0]]
    return pd.concat([frame, repeat]).sort_index(kind="stable").reset_index(drop=True)
