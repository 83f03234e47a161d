"""Clinical vocabulary rules the standard-format readers share.

Synthea, FHIR and OMOP exports name concepts the same way: SNOMED CT
conditions whose description ends in a semantic tag (``Viral sinusitis
(disorder)``), RxNorm drug products (``lisinopril 10 MG Oral Tablet``) and
LOINC observations with a value and a unit. This module holds, in one place,
how kgmed reads them:

- :func:`kind_of_snomed`: a node kind from the semantic tag, or, for a
  description without one, from the tag SNOMED CT gives its code
  (:data:`SNOMED_TAGS`) or that its words imply (:data:`UNTAGGED_PATTERNS`);
- :func:`is_social` and :data:`SOCIAL_CATEGORIES`: the social and
  administrative concepts, and the questionnaires about a patient's life,
  that are left out of the clinical graph by default (employment,
  education, housing, "Medication review due", "Which race(s) are you?"...);
- :func:`ingredients`: the active ingredients of a drug product;
- :func:`allergy_findings`: an allergy recorded by its substance as the
  finding "Allergy to <substance>";
- :data:`REFERENCE_RANGES` and :func:`flag_observations`: numeric
  observations made findings ("HbA1c high") through reference ranges keyed
  by LOINC code, a value in another unit converted into the range's first
  (:mod:`kgmed.records.units`), one whose unit does not convert counted
  (:data:`STATUSES`); :data:`CANONICAL_UNITS` for quantities without a
  range whose values are still compared (body weight in kg).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kgmed.errors import ParameterError
from kgmed.records._normalize import per_distinct
from kgmed.records.units import convert_column

__all__ = [
    "CANONICAL_UNITS",
    "REFERENCE_RANGES",
    "SNOMED_TAGS",
    "SOCIAL_CATEGORIES",
    "SOCIAL_PATTERNS",
    "STATUSES",
    "UNTAGGED_PATTERNS",
    "ReferenceRange",
    "allergy_findings",
    "flag_observations",
    "ingredients",
    "is_social",
    "kind_of_snomed",
    "kinds_of_snomed",
    "semantic_tag",
    "semantic_tags",
    "snomed_tag",
    "strip_semantic_tag",
]

# -- SNOMED CT semantic tags --------------------------------------------------------

#: SNOMED CT's semantic tags (the hierarchy a concept belongs to), as its
#: fully specified names end in them. Only these count as a tag: a
#: description ending in another parenthesis (``Severe anxiety (panic)``)
#: has none.
_SEMANTIC_TAGS: tuple[str, ...] = (
    "administration method",
    "assessment scale",
    "attribute",
    "basic dose form",
    "body structure",
    "cell",
    "cell structure",
    "clinical drug",
    "disorder",
    "disposition",
    "dose form",
    "environment",
    "environment / location",
    "ethnic group",
    "event",
    "finding",
    "geographic location",
    "life style",
    "medicinal product",
    "medicinal product form",
    "morphologic abnormality",
    "navigational concept",
    "number",
    "observable entity",
    "occupation",
    "organism",
    "person",
    "physical force",
    "physical object",
    "procedure",
    "product",
    "qualifier value",
    "racial group",
    "record artifact",
    "regime/therapy",
    "religion/philosophy",
    "role",
    "situation",
    "social concept",
    "special concept",
    "specimen",
    "staging scale",
    "state of matter",
    "substance",
    "transformation",
    "tumor staging",
    "unit of presentation",
)
_TAG_NAMES = "|".join(re.escape(t) for t in sorted(_SEMANTIC_TAGS, key=len, reverse=True))
# The closing parenthesis is optional: exports cut long descriptions short
# ("Severe anxiety (panic) (finding").
_TAG = re.compile(rf"\s*\(({_TAG_NAMES})\)?\s*$")

# The kind each semantic tag gives. A clinical finding is a symptom unless it
# is a measurement or a status (see _FINDING_NOT_SYMPTOM).
_KIND_OF_TAG: dict[str, str] = {
    "disorder": "disease",
    "finding": "symptom",
    "situation": "finding",
    "event": "finding",
    "person": "finding",
    "morphologic abnormality": "disease",
    "procedure": "procedure",
    "regime/therapy": "procedure",
    "observable entity": "lab",
}

_FINDING_NOT_SYMPTOM = re.compile(
    r"body mass index|abnormal findings|\bdied\b|allergy to|\bbmi\b|finding of|"
    r"history of|pregnan|normal pregnancy|prediabet|intolerance to",
    re.IGNORECASE,
)

#: The semantic tag SNOMED CT gives the concepts that exporters write
#: without one, keyed by SNOMED CT code: every untagged condition of
#: Synthea's CSV and FHIR exports before version 3 (``Hypertension``,
#: ``Suspected COVID-19``, ``Normal pregnancy``), each checked against
#: SNOMED CT's fully specified name, which newer Synthea versions write
#: (``Essential hypertension (disorder)``). The code is the key because it
#: is stable where descriptions are not: Synthea wrote 156073000 as ``Fetus
#: with unknown complication`` before it wrote ``Complete miscarriage
#: (disorder)``. Most are disorders; those that are not are the reason the
#: table exists: a suspicion (``Suspected COVID-19``, a situation, is not the
#: disease: every confirmed case was first a suspected one), a history
#: (``History of appendectomy``), the normal course of pregnancy (``Normal
#: pregnancy``, ``Non-low risk pregnancy``) and states measured rather than
#: felt (``Prediabetes``). A description's own tag comes first; this table is
#: read only for a SNOMED CT code written without one.
SNOMED_TAGS: dict[str, str] = {
    # Situations: context that explains nothing.
    "840544004": "situation",  # Suspected COVID-19
    "428251008": "situation",  # History of appendectomy
    # Findings that are no disease.
    "72892002": "finding",  # Normal pregnancy
    "47200007": "finding",  # Non-low risk pregnancy (High risk pregnancy)
    "15777000": "finding",  # Prediabetes
    "82423001": "finding",  # Chronic pain
    "236077008": "finding",  # Protracted diarrhea
    # Disorders.
    "840539006": "disorder",  # COVID-19
    "59621000": "disorder",  # Hypertension (Essential hypertension)
    "55822004": "disorder",  # Hyperlipidemia
    "44054006": "disorder",  # Diabetes (Diabetes mellitus type 2)
    "53741008": "disorder",  # Coronary Heart Disease (Coronary arteriosclerosis)
    "22298006": "disorder",  # Myocardial Infarction
    "410429000": "disorder",  # Cardiac Arrest
    "49436004": "disorder",  # Atrial Fibrillation
    "230690007": "disorder",  # Stroke (Cerebrovascular accident)
    "195967001": "disorder",  # Asthma
    "233678006": "disorder",  # Childhood asthma
    "233604007": "disorder",  # Pneumonia
    "65363002": "disorder",  # Otitis media
    "38822007": "disorder",  # Cystitis
    "301011002": "disorder",  # Escherichia coli urinary tract infection
    "197927001": "disorder",  # Recurrent urinary tract infection
    "74400008": "disorder",  # Appendicitis
    "47693006": "disorder",  # Rupture of appendix
    "65275009": "disorder",  # Acute Cholecystitis
    "235919008": "disorder",  # Cholelithiasis
    "6072007": "disorder",  # Bleeding from anus
    "68496003": "disorder",  # Polyp of colon
    "713197008": "disorder",  # Recurrent rectal polyp
    "363406005": "disorder",  # Malignant tumor of colon
    "109838007": "disorder",  # Overlapping malignant neoplasm of colon
    "83664006": "disorder",  # Idiopathic atrophic hypothyroidism
    "90560007": "disorder",  # Gout
    "69896004": "disorder",  # Rheumatoid arthritis
    "239872002": "disorder",  # Osteoarthritis of hip
    "239873007": "disorder",  # Osteoarthritis of knee
    "201834006": "disorder",  # Localized primary osteoarthritis of the hand
    "95417003": "disorder",  # Primary fibromyalgia syndrome
    "124171000119105": "disorder",  # Chronic intractable migraine without aura
    "128613002": "disorder",  # Seizure disorder
    "84757009": "disorder",  # Epilepsy
    "192127007": "disorder",  # Child attention deficit disorder
    "55680006": "disorder",  # Drug overdose
    "24079001": "disorder",  # Atopic dermatitis
    "40275004": "disorder",  # Contact dermatitis
    "241929008": "disorder",  # Acute allergic reaction
    "367498001": "disorder",  # Seasonal allergic rhinitis
    "446096008": "disorder",  # Perennial allergic rhinitis
    "232353008": "disorder",  # Perennial allergic rhinitis with seasonal variation
    "196416002": "disorder",  # Impacted molars
    "19169002": "disorder",  # Miscarriage in first trimester
    "156073000": "disorder",  # Fetus with unknown complication (Complete miscarriage)
    "35999006": "disorder",  # Blighted ovum
    "79586000": "disorder",  # Tubal pregnancy
    "398254007": "disorder",  # Preeclampsia
    "198992004": "disorder",  # Antepartum eclampsia (Eclampsia in pregnancy)
    "44465007": "disorder",  # Sprain of ankle
    "70704007": "disorder",  # Sprain of wrist
    "16114001": "disorder",  # Fracture of ankle
    "58150001": "disorder",  # Fracture of clavicle
    "65966004": "disorder",  # Fracture of forearm
    "33737001": "disorder",  # Fracture of rib
    "359817006": "disorder",  # Closed fracture of hip
    "263102004": "disorder",  # Fracture subluxation of wrist
    "15724005": "disorder",  # Fracture of vertebral column without spinal cord injury
    "39848009": "disorder",  # Whiplash injury to neck
    "62106007": "disorder",  # Concussion with no loss of consciousness
    "62564004": "disorder",  # Concussion with loss of consciousness
    "110030002": "disorder",  # Concussion injury of brain
    "275272006": "disorder",  # Brain damage - traumatic
    "307731004": "disorder",  # Injury of tendon of the rotator cuff of shoulder
    "444448004": "disorder",  # Injury of medial collateral ligament of knee
    "239720000": "disorder",  # Tear of meniscus of knee
    "30832001": "disorder",  # Rupture of patellar tendon
    "283385000": "disorder",  # Laceration of thigh
    "283371005": "disorder",  # Laceration of forearm
    "284549007": "disorder",  # Laceration of hand
    "284551006": "disorder",  # Laceration of foot
    "370247008": "disorder",  # Facial laceration
    "262574004": "disorder",  # Bullet wound
    "403190006": "disorder",  # First degree burn (Epidermal burn of skin)
    "403191005": "disorder",  # Second degree burn (Partial thickness burn)
    "403192003": "disorder",  # Third degree burn (Full thickness burn)
}

#: What the words of a description without a semantic tag, and whose code
#: :data:`SNOMED_TAGS` does not hold, say of its kind: pairs of a
#: case-insensitive regular expression and the tag SNOMED CT gives such
#: concepts, the first that matches deciding. A suspicion, a history and a
#: review due are situations, context that explains nothing (``Suspected
#: COVID-19`` is not COVID-19: patients suspected and then tested negative
#: never had it); an allergy and the normal course of pregnancy are
#: findings; screenings and encounters are procedures. Any other untagged
#: description gets the reader's default kind.
UNTAGGED_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(?:suspected|suspicion of)\b", "situation"),
    (r"^(?:(?:past |family )?history of|h/o)\b", "situation"),
    (r"\breview due$", "situation"),
    (r"^(?:allergy|intolerance) to\b", "finding"),
    (
        r"^(?:(?:normal|low risk|high risk|non-low risk|uncomplicated) )?pregnan(?:cy|t)$"
        r"|^(?:patient )?currently pregnant$",
        "finding",
    ),
    (r"\bscreening\b|^encounter for\b", "procedure"),
)
_UNTAGGED = tuple((re.compile(pattern, re.IGNORECASE), tag) for pattern, tag in UNTAGGED_PATTERNS)


def semantic_tag(description: str) -> str | None:
    """The SNOMED CT semantic tag at the end of a description, or None.

    Only SNOMED CT's own tags count (``disorder``, ``finding``,
    ``situation``, ``procedure``...); a tag whose closing parenthesis was
    cut off is still read.

    See Also
    --------
    snomed_tag : The tag of a concept whose description may have none.

    Examples
    --------
    >>> from kgmed.records.vocab import semantic_tag
    >>> semantic_tag("Viral sinusitis (disorder)")
    'disorder'
    >>> semantic_tag("Severe anxiety (panic) (finding)")
    'finding'
    >>> semantic_tag("Severe anxiety (panic) (finding")
    'finding'
    >>> semantic_tag("Severe anxiety (panic)") is None
    True
    >>> semantic_tag("Hypertension") is None
    True
    """
    match = _TAG.search(str(description))
    return match.group(1) if match else None


def snomed_tag(description: str, *, code: str | None = None) -> str | None:
    """The SNOMED CT semantic tag of a concept, even when its description has none.

    The one rule every reader follows to classify a SNOMED CT concept: the
    tag its description ends in (:func:`semantic_tag`); else, for a code
    written without one, the tag SNOMED CT gives that code
    (:data:`SNOMED_TAGS`); else the tag the description's words imply
    (:data:`UNTAGGED_PATTERNS`: ``Suspected ...`` and ``History of ...``
    are situations, ``Normal pregnancy`` a finding, a screening a
    procedure); else None.

    Parameters
    ----------
    description : str
        The concept's description (``"Suspected COVID-19"``).
    code : str, optional
        Its SNOMED CT code; pass None for a code of another system.

    Returns
    -------
    str or None

    Examples
    --------
    >>> from kgmed.records.vocab import snomed_tag
    >>> snomed_tag("Viral sinusitis (disorder)")
    'disorder'
    >>> snomed_tag("Suspected COVID-19", code="840544004"), snomed_tag("COVID-19", code="840539006")
    ('situation', 'disorder')
    >>> snomed_tag("Normal pregnancy", code="72892002")
    'finding'
    >>> snomed_tag("Suspected lung cancer"), snomed_tag("Hypertension") is None
    ('situation', True)
    """
    tag = semantic_tag(description)
    if tag is None and code is not None:
        tag = SNOMED_TAGS.get(str(code).strip())
    if tag is None:
        text = str(description).strip()
        tag = next((tag for pattern, tag in _UNTAGGED if pattern.search(text)), None)
    return tag


def strip_semantic_tag(descriptions: pd.Series) -> pd.Series:
    """Descriptions without their SNOMED CT semantic tag: the label a user reads.

    The tag says what kind of concept it is (:func:`kind_of_snomed`); the
    label is what a user types and sees (``Viral sinusitis``). Text in other
    parentheses stays.

    Parameters
    ----------
    descriptions : pandas.Series of str

    Returns
    -------
    pandas.Series of str
        Missing descriptions stay missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.vocab import strip_semantic_tag
    >>> strip_semantic_tag(pd.Series(["Viral sinusitis (disorder)", "Eggs (edible) (substance)",
    ...                               "Severe anxiety (panic) (finding", "Hypertension"])).tolist()
    ['Viral sinusitis', 'Eggs (edible)', 'Severe anxiety (panic)', 'Hypertension']
    """
    return per_distinct(
        descriptions, lambda distinct: distinct.astype("string").str.replace(_TAG, "", regex=True)
    )


def kind_of_snomed(description: str, *, code: str | None = None, default: str = "disease") -> str:
    """The node kind of a SNOMED CT concept, from its semantic tag.

    The tag is :func:`snomed_tag`'s: the description's own, else the one
    SNOMED CT gives ``code`` (:data:`SNOMED_TAGS`), else the one the words
    imply (:data:`UNTAGGED_PATTERNS`). ``disorder`` gives ``disease``;
    ``finding`` gives ``symptom``, except measurements and statuses
    (``Body mass index 30+ - obesity (finding)``, ``Normal pregnancy``,
    ``Prediabetes``), which give ``finding``; ``situation``, ``event``
    and ``person`` give ``finding``; ``procedure`` gives ``procedure``;
    other tags (``substance``, ``organism``...) give ``finding``. A
    concept with no tag gets ``default``.

    So a concept that is no disease is not made one for want of a tag:
    ``Suspected COVID-19`` is a finding (context: a suspicion, never the
    disease), ``Normal pregnancy`` a finding, ``History of appendectomy`` a
    finding. Disorders of pregnancy (``Preeclampsia``, ``Miscarriage in
    first trimester``) stay diseases.

    Parameters
    ----------
    description : str
        The concept's description (``"Fever (finding)"``).
    code : str, optional
        Its SNOMED CT code (None for another system's code).
    default : str, default "disease"
        The kind of a concept with no tag.

    Returns
    -------
    str
        One of :data:`kgmed.schema.KINDS`.

    Examples
    --------
    >>> from kgmed.records.vocab import kind_of_snomed
    >>> [kind_of_snomed(d) for d in ["Acute bronchitis (disorder)", "Cough (finding)",
    ...  "Body mass index 30+ - obesity (finding)", "Medication review due (situation)"]]
    ['disease', 'symptom', 'finding', 'finding']
    >>> [kind_of_snomed(d) for d in ["Hypertension", "History of appendectomy"]]
    ['disease', 'finding']
    >>> [kind_of_snomed(d, code=c) for d, c in [("Suspected COVID-19", "840544004"),
    ...  ("COVID-19", "840539006"), ("Normal pregnancy", "72892002"), ("Preeclampsia", "398254007")]]
    ['finding', 'disease', 'finding', 'disease']
    """
    return _kind(snomed_tag(description, code=code), str(description), default)


def _kind(tag: str | None, description: str, default: str) -> str:
    """The kind a tag gives a concept of this description."""
    if tag is None:
        return default
    kind = _KIND_OF_TAG.get(tag, "finding")
    if kind == "symptom" and _FINDING_NOT_SYMPTOM.search(description):
        return "finding"
    return kind


def semantic_tags(descriptions: pd.Series, *, codes: pd.Series | None = None) -> pd.Series:
    """The tag each description ends in, or, without one, the tag SNOMED CT gives its code.

    :func:`semantic_tag` of each description; where it has none and
    ``codes`` gives its SNOMED CT code, the code's tag in
    :data:`SNOMED_TAGS`. These are the tags a reader can trust, so a kind
    they give wins over one a default gave (words alone, as
    :data:`UNTAGGED_PATTERNS` reads them, are not counted here). Worked
    out once per distinct description.

    Parameters
    ----------
    descriptions : pandas.Series of str
    codes : pandas.Series of str, optional
        The SNOMED CT code of each, ``<NA>`` for none or for a code of
        another system; same index.

    Returns
    -------
    pandas.Series of str
        ``<NA>`` where neither says.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.vocab import semantic_tags
    >>> semantic_tags(pd.Series(["Cough (finding)", "Hypertension", None])).tolist()
    ['finding', <NA>, <NA>]
    >>> semantic_tags(pd.Series(["Normal pregnancy", "Hypertension"]),
    ...               codes=pd.Series(["72892002", None])).tolist()
    ['finding', <NA>]
    """
    tags = per_distinct(descriptions, lambda distinct: distinct.map(_tag_or_none))
    if codes is None:
        return tags
    by_code = codes.astype("string").str.strip().map(SNOMED_TAGS).astype("string")
    return tags.fillna(by_code)


def kinds_of_snomed(
    descriptions: pd.Series, *, codes: pd.Series | None = None, default: str = "disease"
) -> pd.Series:
    """:func:`kind_of_snomed` of each description (and code), worked out once per distinct pair.

    A missing description gets the kind its code's tag gives, else
    ``default``.

    Parameters
    ----------
    descriptions : pandas.Series of str
    codes : pandas.Series of str, optional
        The SNOMED CT code of each, ``<NA>`` for none or for a code of
        another system; same index.
    default : str, default "disease"

    Returns
    -------
    pandas.Series of str

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.vocab import kinds_of_snomed
    >>> kinds_of_snomed(pd.Series(["Cough (finding)", "Appendectomy (procedure)", None]),
    ...                 default="finding").tolist()
    ['symptom', 'procedure', 'finding']
    >>> kinds_of_snomed(pd.Series(["Suspected COVID-19", "COVID-19", "Suspected COVID-19"]),
    ...                 codes=pd.Series(["840544004", "840539006", "840544004"])).tolist()
    ['finding', 'disease', 'finding']
    """
    if codes is None:
        kinds = per_distinct(
            descriptions,
            lambda distinct: distinct.map(lambda d: kind_of_snomed(d, default=default)),
        )
        return kinds.fillna(default)
    text, code = descriptions.astype("string"), codes.astype("string")
    text_of, texts = pd.factorize(text, use_na_sentinel=True)
    code_of, code_values = pd.factorize(code, use_na_sentinel=True)
    # One key per distinct (description, code) pair; -1 (missing) becomes 0.
    pair_of, pairs = pd.factorize(
        (text_of + 1).astype(np.int64) * (len(code_values) + 1) + code_of + 1
    )
    n_codes = len(code_values) + 1
    answers = []
    for pair in pairs:
        t, c = int(pair // n_codes) - 1, int(pair % n_codes) - 1
        found = code_values[c] if c >= 0 else None
        if t < 0:
            tag = SNOMED_TAGS.get(str(found).strip()) if found is not None else None
            answers.append(_kind(tag, "", default))
        else:
            answers.append(kind_of_snomed(str(texts[t]), code=found, default=default))
    taken = pd.array(answers, dtype="string").take(pair_of)
    return pd.Series(taken, index=descriptions.index, dtype="string")


def _tag_or_none(description: object) -> str | None:
    return None if description is None or description is pd.NA else semantic_tag(str(description))


#: Patterns (case-insensitive regular expressions) of social and
#: administrative concepts, matched against descriptions and against the
#: questions of questionnaire answers. Readers leave these out of the
#: clinical graph unless asked to keep them (``social=True``). The second
#: half names the questions of social-needs questionnaires (PRAPARE, as
#: Synthea records them): race, ethnicity, language, address, income,
#: partner, jail, farm work...
SOCIAL_PATTERNS: tuple[str, ...] = (
    r"employment",
    r"\bemployed\b",
    r"unemploy",
    r"labor force",
    r"education",
    r"school",
    r"\bhousing\b",
    r"homeless",
    r"transport",
    r"social (?:isolation|contact)",
    r"limited social",
    r"criminal record",
    r"\bincarcerat",
    r"intimate partner",
    r"violence",
    r"refugee",
    r"armed forces",
    r"military service",
    r"risk activity",
    r"medication review due",
    r"\breview due\b",
    r"\bdied in\b",
    r"\binsurance\b",
    r"\bstress\b",
    r"misuses drugs",
    r"alcohol drinking behavior",
    # Questions of social-needs questionnaires.
    r"\brace\b",
    r"\bethnicity\b|hispanic|latino",
    r"\blanguage\b.*\bspeak",
    r"\baddress\b",
    r"\bincome\b",
    r"\bpartner\b",
    r"\bjail\b|\bprison\b|detention cent",
    r"farm work",
    r"work situation",
    r"safe where you",
    r"people that you care about",
    r"family members\b.*\blive with",
    r"marital status",
)

_SOCIAL = re.compile("|".join(SOCIAL_PATTERNS), re.IGNORECASE)

#: Semantic tags of concepts that are never social, whatever their words:
#: a disorder is a diagnosis (``Dependent drug abuse (disorder)``) and a
#: procedure is care given (``Health risks education (procedure)``), so
#: both stay in the graph.
_CLINICAL_TAGS = frozenset({"disorder", "morphologic abnormality", "procedure", "regime/therapy"})

#: Categories of observations (FHIR's ``Observation.category``, the
#: ``CATEGORY`` of Synthea's observations.csv, and, lower-cased, the
#: ``concept_class_id`` of an OMOP question) whose answers are about a
#: patient's life rather than clinical findings: smoking status, social-needs
#: questionnaires, and questionnaire scores (PHQ-9, GAD-7, AUDIT-C). Readers
#: count them as social unless asked to keep them.
SOCIAL_CATEGORIES: frozenset[str] = frozenset({"social-history", "survey"})


def is_social(descriptions: pd.Series) -> pd.Series:
    """Whether each description names a social or administrative concept.

    Social determinants matter for a patient's health, but as co-occurring
    "conditions" (half of a Synthea population has ``Full-time employment
    (finding)``) they would swamp the disease–symptom graph. A description
    is social when it matches :data:`SOCIAL_PATTERNS`, unless its semantic
    tag says it is a disorder or a procedure: ``Dependent drug abuse
    (disorder)`` is a diagnosis and ``Health risks education (procedure)``
    care given, whatever their words. Readers drop what is social and count
    it in their report, unless asked to keep it. Each distinct description
    is looked at once.

    Parameters
    ----------
    descriptions : pandas.Series of str

    Returns
    -------
    pandas.Series of bool
        False for a missing description.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.vocab import is_social
    >>> is_social(pd.Series(["Full-time employment (finding)", "Fever (finding)",
    ...                      "Medication review due (situation)", "Which race(s) are you?",
    ...                      "Dependent drug abuse (disorder)", "Health risks education (procedure)",
    ...                      None])).tolist()
    [True, False, True, True, False, False, False]
    """
    return per_distinct(descriptions, _social, dtype="boolean").fillna(False).astype(bool)


def _social(distinct: pd.Series) -> list[bool]:
    return [
        bool(_SOCIAL.search(str(text))) and semantic_tag(str(text)) not in _CLINICAL_TAGS
        for text in distinct
    ]


# -- drug products to ingredients ----------------------------------------------------

_BRAND = re.compile(r"\[[^\]]*\]")
_PACKAGE = re.compile(
    r"^(?:(?:NDA\d+|Abuse-Deterrent|\d+(?:\.\d+)?\s*(?:ML|HR|ACTUAT|DAY|MG))\s+)+",
    re.IGNORECASE,
)
# Words from the first strength or dose form on are not the ingredient.
_STRENGTH = re.compile(
    r"\s+(?:\d|per\b|oral\b|injectable\b|injection\b|infusion\b|topical\b|inhal|"
    r"sublingual\b|chewable\b|extended\b|delayed\b|prefilled\b|transdermal\b|"
    r"metered\b|dry\b|auto-inj|intrauterine\b|vaginal\b|mucosal\b|drug\b|pen\b|iv\b)",
    re.IGNORECASE,
)
# Salts and forms that RxNorm's precise ingredient adds to the ingredient.
_SALTS = frozenset(
    {
        "hydrochloride",
        "hydrocholoride",
        "hydrobromide",
        "hcl",
        "bitartrate",
        "phosphate",
        "propionate",
        "acetate",
        "succinate",
        "tartrate",
        "maleate",
        "monohydrate",
        "hyclate",
        "bromide",
        "besylate",
        "mesylate",
        "citrate",
        "potassium",
        "sodium",
        "sulfate",
        "macrocrystals",
        "(usp)",
        "porcine",
    }
)
# Names that would be left empty or wrong without their salt word.
_KEEP_WHOLE = frozenset({"ferrous sulfate", "sodium chloride", "potassium chloride"})


def ingredients(product: str) -> list[str]:
    """The active ingredients of a drug product, lower case.

    Package sizes (``24 HR``, ``1 ML``, ``NDA020503 200 ACTUAT``), brand
    names in brackets, strengths, dose forms and salts are removed;
    combination products (``Acetaminophen 325 MG / Oxycodone Hydrochloride
    5 MG Oral Tablet``) give each ingredient. A product with nothing to
    remove (a brand pack such as ``Camila 28 Day Pack``) gives its first
    words.

    Parameters
    ----------
    product : str
        The product's description (an RxNorm clinical or branded drug name).

    Returns
    -------
    list of str
        The ingredients, in the order written.

    Examples
    --------
    >>> from kgmed.records.vocab import ingredients
    >>> ingredients("lisinopril 10 MG Oral Tablet")
    ['lisinopril']
    >>> ingredients("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet")
    ['metformin']
    >>> ingredients("Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet")
    ['acetaminophen', 'oxycodone']
    >>> ingredients("NDA020503 200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler")
    ['albuterol']
    >>> ingredients("ferrous sulfate 325 MG Oral Tablet")
    ['ferrous sulfate']
    """
    text = _BRAND.sub(" ", str(product))
    text = re.sub(r"\bvitamin b (\d+)", r"vitamin B\1", " ".join(text.split()), flags=re.IGNORECASE)
    found: list[str] = []
    for part in text.split(" / "):
        part = _PACKAGE.sub("", part.strip())
        cut = _STRENGTH.search(part)
        name = (part[: cut.start()] if cut else part).strip().lower()
        name = " ".join(name.split())
        if name not in _KEEP_WHOLE:
            words = [w for w in name.split() if w not in _SALTS]
            name = " ".join(words) if words else name
        name = re.sub(r"\d+\s*mg$", "", name).strip()
        if "insulin" in name.split():
            # RxNorm's insulins (regular, isophane, human...) are one
            # ingredient for a graph of what treats what.
            name = "insulin"
        if name and name not in found:
            found.append(name)
    return found


# -- allergies ---------------------------------------------------------------------------

# An allergy coded as itself ("Allergy to peanuts (disorder)") rather than by
# its substance.
_ALLERGY_ITSELF = re.compile(r"^\s*(?:allergy|intolerance)\b", re.IGNORECASE)


def allergy_findings(
    descriptions: pd.Series,
    *,
    snomed: pd.Series | np.ndarray,
    intolerance: pd.Series | np.ndarray | None = None,
) -> tuple[pd.Series, np.ndarray]:
    """Allergies as findings: the label of each, and whether its code names it.

    Exporters code an allergy in two ways. Older ones (and some EHRs) code
    the allergy itself, a SNOMED CT finding or disorder (``Allergy to
    peanuts``); its code is the concept. Newer ones code the substance
    (``Peanut (substance)``, or an RxNorm ingredient such as ``Lisinopril``),
    which is no id for the allergy: the finding is then named for the
    substance, ``Allergy to peanut`` (or ``Intolerance to lisinopril``), an
    uncoded concept. A description that names the allergy already keeps its
    words; only a SNOMED CT code of it is its concept id.

    Parameters
    ----------
    descriptions : pandas.Series of str
        The coded concept's description (its display).
    snomed : array of bool
        Whether each code is a SNOMED CT code (only those can name the
        allergy itself).
    intolerance : array of bool, optional
        Whether each is an intolerance rather than an allergy.

    Returns
    -------
    labels : pandas.Series of str
        Each finding's label, without semantic tag.
    itself : numpy.ndarray of bool
        Whether the code names the allergy itself (and is its concept id).

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.vocab import allergy_findings
    >>> labels, itself = allergy_findings(
    ...     pd.Series(["Peanut (substance)", "Lisinopril", "Allergy to substance (finding)"]),
    ...     snomed=[True, False, True], intolerance=[False, True, False])
    >>> labels.tolist(), itself.tolist()
    (['Allergy to peanut', 'Intolerance to lisinopril', 'Allergy to substance'], [False, False, True])
    """
    text = descriptions.astype("string")
    names = strip_semantic_tag(text).str.strip()
    tags = semantic_tags(text)
    named = names.str.contains(_ALLERGY_ITSELF).fillna(False).to_numpy(dtype=bool)
    itself = (tags.isin(["finding", "disorder"]).to_numpy(dtype=bool) | named) & np.asarray(
        snomed, dtype=bool
    )
    word = pd.Series("Allergy to ", index=text.index, dtype="string")
    if intolerance is not None:
        word = word.mask(np.asarray(intolerance, dtype=bool), "Intolerance to ")
    # "Peanut" is "peanut" in "Allergy to peanut"; "HIV" stays.
    first, second = names.str[:1], names.str[1:2]
    lower = first.str.lower().where(second.str.islower().fillna(True), first)
    return names.where(itself | named, word + lower + names.str[1:]), itself


# -- numeric observations to findings ------------------------------------------------


@dataclass(frozen=True)
class ReferenceRange:
    """Where a numeric observation stops being normal.

    Attributes
    ----------
    label : str
        What is measured, as findings will name it (``"HbA1c"``).
    unit : str
        The UCUM unit the bounds are in (``"%"``, ``"mg/dL"``). A value in
        another unit is converted into it first (``[degF]`` to ``Cel``,
        ``g/L`` to ``g/dL``, :mod:`kgmed.records.units`); one whose unit does
        not convert is not judged, and is counted as ``unit mismatch``.
    low, high : float or None
        A value below ``low`` is "<label> low"; at or above ``high``,
        "<label> high". None: no bound on that side.
    aliases : tuple of str, default ()
        Other spellings of ``unit`` that exporters write for the same
        quantity on the same scale, accepted as they are, even where UCUM
        would read them otherwise (``mL/min`` for an eGFR in
        ``mL/min/{1.73_m2}``); an alias must never need a conversion (never
        ``mmol/mol`` for ``%``).
    molar_mass : float or None, default None
        Grams per mole of the substance measured, for a value written as an
        amount (``mmol/L``, ``umol/L``) when ``unit`` is a mass (``mg/dL``),
        or the other way round. None: such a value is a ``unit mismatch``.

    Examples
    --------
    >>> from kgmed.records.vocab import REFERENCE_RANGES
    >>> REFERENCE_RANGES["33914-3"].units
    ('mL/min/{1.73_m2}', 'mL/min')
    >>> REFERENCE_RANGES["2339-0"].molar_mass
    180.16
    """

    label: str
    unit: str
    low: float | None = None
    high: float | None = None
    aliases: tuple[str, ...] = ()
    molar_mass: float | None = None

    @property
    def units(self) -> tuple[str, ...]:
        """The unit and its aliases: every unit a value is judged in as it is."""
        return (self.unit, *self.aliases)


#: What :func:`flag_observations` says of a numeric observation, in the order
#: readers report them. Readers add one of their own, ``"under 18"`` (for
#: ``adult_age=18``), for a value of a patient too young for adult ranges.
STATUSES: tuple[str, ...] = ("flagged", "in range", "no range", "unit mismatch", "not a number")

# Molar masses (g/mol) of the analytes a laboratory may report as an amount
# (mmol/L, umol/L) rather than a mass (mg/dL), from the molecular formula as
# PubChem gives it; each agrees with the conventional clinical conversion
# factor quoted beside it.
#
# Glucose, C6H12O6, PubChem CID 5793: 1 mmol/L = 18.016 mg/dL.
_GLUCOSE = 180.16
# Cholesterol, C27H46O, PubChem CID 5997: 1 mmol/L = 38.665 mg/dL. Total,
# LDL and HDL cholesterol all measure the cholesterol a lipoprotein carries.
_CHOLESTEROL = 386.65
# Triglycerides are a mixture; laboratories convert them as triolein,
# C57H104O6 (PubChem CID 5497163), with the factor 1 mmol/L = 88.57 mg/dL
# (0.01129 mmol/L per mg/dL), that is 885.7 g/mol.
_TRIGLYCERIDES = 885.7
# Creatinine, C4H7N3O, PubChem CID 588: 1 mg/dL = 88.4 umol/L.
_CREATININE = 113.12

#: Adult reference ranges keyed by LOINC code. Bounds are common clinical
#: thresholds (diagnostic cut-offs where one exists: HbA1c 6.5 % for
#: diabetes, blood pressure 140/90 mm[Hg], BMI 30 kg/m2), not a laboratory's
#: own ranges; pass your own to the readers to change them. A range accepts
#: its unit and the aliases it lists (:attr:`ReferenceRange.units`) as they
#: are, and converts a value in any other unit of the same dimension (or,
#: with a ``molar_mass``, an amount to a mass) before judging it.
#:
#: Two are deliberately not converted. HbA1c in ``mmol/mol`` (IFCC) is not
#: a unit of the percentage (NGSP): the two are related by the IFCC-NGSP
#: master equation, a regression between reference methods (NGSP % =
#: 0.09148 x IFCC + 2.152; Hoelzel et al., Clin Chem 2004;50:166-74), so it
#: stays a ``unit mismatch`` rather than pass for a unit conversion.
#: Hemoglobin in ``mmol/L`` counts either the tetramer or (in the
#: Netherlands) the monomer, a factor of four apart, so it has no molar mass.
REFERENCE_RANGES: dict[str, ReferenceRange] = {
    "4548-4": ReferenceRange("HbA1c", "%", high=6.5),
    "2339-0": ReferenceRange("glucose", "mg/dL", low=70, high=126, molar_mass=_GLUCOSE),
    "2345-7": ReferenceRange("glucose", "mg/dL", low=70, high=126, molar_mass=_GLUCOSE),
    "18262-6": ReferenceRange("LDL cholesterol", "mg/dL", high=160, molar_mass=_CHOLESTEROL),
    "2093-3": ReferenceRange("total cholesterol", "mg/dL", high=240, molar_mass=_CHOLESTEROL),
    "2085-9": ReferenceRange("HDL cholesterol", "mg/dL", low=40, molar_mass=_CHOLESTEROL),
    "2571-8": ReferenceRange("triglycerides", "mg/dL", high=200, molar_mass=_TRIGLYCERIDES),
    "8480-6": ReferenceRange("systolic blood pressure", "mm[Hg]", low=90, high=140),
    "8462-4": ReferenceRange("diastolic blood pressure", "mm[Hg]", low=60, high=90),
    "39156-5": ReferenceRange("BMI", "kg/m2", low=18.5, high=30),
    "8867-4": ReferenceRange("heart rate", "/min", low=50, high=100),
    "9279-1": ReferenceRange("respiratory rate", "/min", low=12, high=20),
    "8310-5": ReferenceRange("body temperature", "Cel", low=35, high=38),
    "2708-6": ReferenceRange("oxygen saturation", "%", low=92),
    "59408-5": ReferenceRange("oxygen saturation", "%", low=92),
    "718-7": ReferenceRange("hemoglobin", "g/dL", low=12, high=17.5),
    "6690-2": ReferenceRange("leukocytes", "10*3/uL", low=4, high=11),
    "777-3": ReferenceRange("platelets", "10*3/uL", low=150, high=450),
    # Synthea wrote eGFR in mL/min before version 3, in mL/min/{1.73_m2} since:
    # the same estimate, normalised to body surface area either way.
    "33914-3": ReferenceRange("eGFR", "mL/min/{1.73_m2}", low=60, aliases=("mL/min",)),
    "38483-4": ReferenceRange("creatinine", "mg/dL", high=1.3, molar_mass=_CREATININE),
    "2160-0": ReferenceRange("creatinine", "mg/dL", high=1.3, molar_mass=_CREATININE),
    "2947-0": ReferenceRange("sodium", "mmol/L", low=135, high=146),
    "2951-2": ReferenceRange("sodium", "mmol/L", low=135, high=146),
    "6298-4": ReferenceRange("potassium", "mmol/L", low=3.5, high=5.1),
    "2823-3": ReferenceRange("potassium", "mmol/L", low=3.5, high=5.1),
    "1742-6": ReferenceRange("ALT", "U/L", high=56),
    "1920-8": ReferenceRange("AST", "U/L", high=40),
}

#: The unit of a quantity that has no reference range but whose values are
#: worth comparing, by LOINC code: ``Records.measurements`` gives each of its
#: values in this unit too (``canonical_value``), as it does for a value
#: with a range in the range's unit. Body weight has no clinical threshold
#: of its own (BMI has), but a weight in ``[lb_av]`` is then in ``kg``.
CANONICAL_UNITS: dict[str, str] = {
    "29463-7": "kg",  # body weight
    "3141-9": "kg",  # body weight, measured
    "8302-2": "cm",  # body height
    "9843-4": "cm",  # head occipital-frontal circumference
}


def flag_observations(
    observations: pd.DataFrame,
    *,
    ranges: Mapping[str, ReferenceRange] | None = None,
    canonical_units: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Numeric observations as findings outside their reference range.

    A value in its range's unit, or one of the range's aliases, is judged as
    it is. A value in another unit is converted into the range's unit first
    (:func:`kgmed.records.units.convert_column`, once per distinct code and
    unit), then judged like any other: ``[degF]`` or ``°F`` to ``Cel``,
    ``mmol/L`` to ``mg/dL`` with the range's ``molar_mass``, ``lbs`` to
    ``kg``. A unit that is missing, unknown, ambiguous (``F``) or of another
    dimension is a ``unit mismatch``.

    Parameters
    ----------
    observations : pandas.DataFrame
        Columns ``code`` (LOINC), ``value`` and ``unit``; other columns are
        carried along.
    ranges : mapping of str to ReferenceRange, optional
        Reference ranges by LOINC code; :data:`REFERENCE_RANGES` by default.
    canonical_units : mapping of str to str, optional
        For codes without a range, the unit to give their values in
        (``canonical_value``); :data:`CANONICAL_UNITS` by default.

    Returns
    -------
    pandas.DataFrame
        The input with five more columns: ``finding`` (``"HbA1c high"``, or
        ``<NA>`` when the value is in range, has no range, or cannot be
        judged), ``finding_code`` (``"4548-4-high"``), ``status`` (one of
        :data:`STATUSES`; readers count them in their report),
        ``canonical_value`` and ``canonical_unit``: the value in its range's
        unit (or its canonical unit), the one that was judged; NaN and
        ``<NA>`` where the value is not a number, its unit does not convert,
        or its code has neither a range nor a canonical unit.

    Raises
    ------
    ParameterError
        If ``observations`` lacks a column, or a range has neither bound or
        a molar mass that is not a positive number.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.records.vocab import flag_observations
    >>> obs = pd.DataFrame({"code": ["4548-4", "4548-4", "2339-0", "8310-5", "8310-5"],
    ...                     "value": ["7.1", "53", "7.4", "101.3", "101.3"],
    ...                     "unit": ["%", "mmol/mol", "mmol/L", "[degF]", "F"]})
    >>> flag_observations(obs)[["finding", "status", "canonical_value", "canonical_unit"]]
                     finding         status  canonical_value canonical_unit
    0             HbA1c high        flagged           7.1000              %
    1                   <NA>  unit mismatch              NaN           <NA>
    2           glucose high        flagged         133.3184          mg/dL
    3  body temperature high        flagged          38.5000            Cel
    4                   <NA>  unit mismatch              NaN           <NA>
    """
    table = dict(REFERENCE_RANGES if ranges is None else ranges)
    for code, rng in table.items():
        if rng.low is None and rng.high is None:
            raise ParameterError(f"reference range for LOINC {code} has neither low nor high")
        if rng.molar_mass is not None and not (np.isfinite(rng.molar_mass) and rng.molar_mass > 0):
            raise ParameterError(
                f"reference range for LOINC {code} has molar_mass {rng.molar_mass!r}; "
                f"give a positive number of g/mol, or None"
            )
    missing = [c for c in ("code", "value", "unit") if c not in observations.columns]
    if missing:
        raise ParameterError(f"observations need columns {missing}")
    canonical_units = dict(CANONICAL_UNITS if canonical_units is None else canonical_units)
    codes = observations["code"].astype("string").str.strip()
    values = pd.to_numeric(observations["value"], errors="coerce").to_numpy(dtype=float)
    units = observations["unit"].astype("string").str.strip()
    n = len(observations)
    finding = np.full(n, None, dtype=object)
    finding_code = np.full(n, None, dtype=object)
    status = np.full(n, "no range", dtype=object)
    canonical = np.full(n, np.nan)
    canonical_unit = np.full(n, None, dtype=object)
    number = ~np.isnan(values)
    # One pass over the rows: the positions of each code with a range or a unit.
    wanted = codes.isin([*table, *canonical_units]).fillna(False).to_numpy(dtype=bool)
    where = np.flatnonzero(wanted)
    groups = pd.Series(where).groupby(codes.to_numpy(dtype=object)[where]).indices
    for code, at in groups.items():
        rows = where[at]
        judge = table.get(str(code))
        unit = judge.unit if judge is not None else canonical_units[str(code)]
        judged, _ = convert_column(
            values[rows],
            units.iloc[rows],
            unit,
            molar_mass=judge.molar_mass if judge is not None else None,
            accept=judge.aliases if judge is not None else (),
        )
        ok = number[rows] & ~np.isnan(judged)
        canonical[rows[ok]] = judged[ok]
        canonical_unit[rows[ok]] = unit
        if judge is None:
            continue
        status[rows] = np.where(number[rows], "unit mismatch", "not a number")
        status[rows[ok]] = "in range"
        for side, bound, outside in (
            ("low", judge.low, judged < (judge.low if judge.low is not None else -np.inf)),
            ("high", judge.high, judged >= (judge.high if judge.high is not None else np.inf)),
        ):
            if bound is None:
                continue
            hit = rows[ok & outside]
            finding[hit] = f"{judge.label} {side}"
            finding_code[hit] = f"{code}-{side}"
            status[hit] = "flagged"
    return observations.assign(
        finding=pd.array(finding, dtype="string"),
        finding_code=pd.array(finding_code, dtype="string"),
        status=pd.array(status, dtype="string"),
        canonical_value=canonical,
        canonical_unit=pd.array(canonical_unit, dtype="string"),
    )
