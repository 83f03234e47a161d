"""Every script in examples/ runs as a user would run it, and says what it should.

Each test runs one script in a subprocess (``python examples/<name>.py ...``
from an empty folder) and checks what it prints and writes. Scripts that
read third-party data are marked ``shared_data``; the one that talks to a
triple store runs against a real Oxigraph server on 127.0.0.1.
"""

from __future__ import annotations

import ast
import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pytest
from rdflib import Graph

import kgmed

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SAMPLE = EXAMPLES / "data" / "records.csv"
# The patient ids of the bundled sample: P0001 to P3000.
SAMPLE_ID = re.compile(r"\bP\d{4}\b")
SAMPLE_GRAPH = (
    "<KnowledgeGraph: 62 concepts (15 disease, 26 symptom, 21 treatment), "
    "250 edges from 3,000 patients, min_patients=11>"
)

Test = TypeVar("Test", bound=Callable[..., None])

#: The tests of each script, filled in by @runs as this module is read.
TESTED: dict[str, list[str]] = {}


def runs(script: str) -> Callable[[Test], Test]:
    """Register the decorated test as one that runs ``examples/<script>``."""

    def register(test: Test) -> Test:
        TESTED.setdefault(script, []).append(test.__name__)
        return test

    return register


def _run(
    script: str, *args: str | Path, cwd: Path, status: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<script>`` with ``args`` from ``cwd``; check its exit status."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == status, result.stderr or result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _out(script: str, *args: str | Path, cwd: Path) -> str:
    return _run(script, *args, cwd=cwd).stdout


def _section(text: str, start: str, end: str = "\n\n") -> str:
    """The part of ``text`` from ``start`` to the next ``end``."""
    assert start in text, f"{start!r} not in the output"
    return text.split(start, 1)[1].split(end, 1)[0]


def _synthea_ids(folder: Path) -> list[str]:
    patients = pd.read_csv(folder / "patients.csv", usecols=["Id", "FIRST", "LAST"], dtype=str)
    return [*patients["Id"], *patients["FIRST"], *patients["LAST"]]


# -- every script has a test, a docstring that says how to run it, and arguments ----------


def _scripts() -> list[str]:
    return sorted(path.name for path in EXAMPLES.glob("*.py"))


def test_every_example_has_a_test() -> None:
    assert _scripts(), "no example found"
    untested = sorted(set(_scripts()) - set(TESTED))
    assert untested == [], f"examples without a test in tests/test_examples.py: {untested}"
    gone = sorted(set(TESTED) - set(_scripts()))
    assert gone == [], f"tests of examples that do not exist: {gone}"


def test_the_examples_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    listed = sorted(set(re.findall(r"`([a-z_]+\.py)`", readme)))
    assert listed == _scripts()


@pytest.mark.parametrize("script", _scripts())
def test_example_says_how_to_run_it(script: str) -> None:
    source = (EXAMPLES / script).read_text(encoding="utf-8")
    module = ast.parse(source)
    doc = ast.get_docstring(module)
    assert doc, f"{script} has no module docstring"
    assert f"python examples/{script}" in doc
    assert "argparse" in source
    assert "parse_args()" in source
    assert 'if __name__ == "__main__":' in source
    # A script speaks of kgmed and relative paths, never of one machine's folders.
    assert not re.search(r"(?<![\w.])/(work|tmp|home|Users)/", source)


# -- scripts on the bundled sample ----------------------------------------------------


@runs("quickstart.py")
def test_quickstart_builds_queries_and_saves(tmp_path: Path) -> None:
    out = _out("quickstart.py", "--out", tmp_path / "out", cwd=tmp_path)
    assert "Records from records.csv" in out
    assert "dropped: duplicate                 795" in out
    assert SAMPLE_GRAPH in out
    symptoms = _section(out, "Symptoms of influenza (q < 0.05):\n")
    assert symptoms.splitlines()[1].split()[:2] == ["fever", "0.880"]
    assert len(symptoms.splitlines()) == 8  # header and seven symptoms
    treatments = _section(out, "Treatments recorded with influenza (q < 0.05):\n")
    assert [line.split()[0] for line in treatments.splitlines()[1:]] == [
        "oseltamivir",
        "acetaminophen",
    ]
    diseases = _section(out, "Diseases that present loss of smell (q < 0.05):\n")
    assert [line.split()[0] for line in diseases.splitlines()[1:]] == ["covid-19"]
    assert "3.2e-80" in diseases
    saved = tmp_path / "out" / "graph.json"
    assert kgmed.load(saved).graph.number_of_edges() == 250
    assert not SAMPLE_ID.search(out)
    assert not SAMPLE_ID.search(saved.read_text(encoding="utf-8"))


@runs("quickstart.py")
def test_quickstart_asks_about_other_concepts_and_names_a_wrong_kind(tmp_path: Path) -> None:
    out = _out("quickstart.py", "--disease", "Heart Failure", "--symptom", "wheezing", cwd=tmp_path)
    treatments = _section(out, "Treatments recorded with heart failure (q < 0.05):\n")
    assert [line.split()[0] for line in treatments.splitlines()[1:]] == [
        "furosemide",
        "metoprolol",
        "lisinopril",
    ]
    assert "asthma" in _section(out, "Diseases that present wheezing")
    wrong = _run("quickstart.py", "--disease", "fever", cwd=tmp_path, status=1)
    assert wrong.stderr.strip() == (
        "ConceptKindError: 'fever' (HP:0001945) is a symptom, not a disease"
    )


@runs("make_sample_records.py")
def test_make_sample_records_writes_the_bundled_file_again(tmp_path: Path) -> None:
    target = tmp_path / "data" / "records.csv"
    out = _out("make_sample_records.py", "--out", target, cwd=tmp_path)
    assert out.startswith("wrote 17,682 rows for 3,000 patients to ")
    assert target.read_bytes() == SAMPLE.read_bytes()
    small = tmp_path / "small.csv"
    out = _out("make_sample_records.py", "--out", small, "--patients", "200", cwd=tmp_path)
    assert "for 200 patients" in out
    assert pd.read_csv(small)["patient_id"].nunique() == 200


@runs("link_patient.py")
def test_link_patient_explains_with_the_evidence(tmp_path: Path) -> None:
    out = _out("link_patient.py", "fever", "muscle pain", cwd=tmp_path)
    assert "Matched: fever, muscle pain." in out
    assert "  1. influenza (probability 0.76; 0.09 before the evidence)" in out
    assert "     for: muscle pain, fever" in out
    assert "Treatments recorded with influenza: oseltamivir (53%, 142 patients)" in out
    assert "Ask next: shortness of breath, loss of smell, runny nose." in out
    assert "not a diagnosis; a clinician decides." in out
    evidence = _section(out, "The evidence, from the records:\n")
    assert evidence.splitlines()[0] == "influenza (ICD10CM:J11.1, 266 patients):"
    assert (
        "  muscle pain: 69% of patients with influenza had muscle pain (184 of 266), "
        "5% of the others (147 of 2,734); likelihood ratio 12.85"
    ) in evidence
    questions = _section(out, "What to ask next")
    assert questions.splitlines()[2].split()[:3] == ["shortness", "of", "breath"]
    assert not SAMPLE_ID.search(out)


@runs("link_patient.py")
def test_link_patient_prints_json(tmp_path: Path) -> None:
    out = _out(
        "link_patient.py",
        "fever",
        "dry cogh",
        "--absent",
        "runny nose",
        "--taking",
        "acetaminophen",
        "--json",
        cwd=tmp_path,
    )
    link = json.loads(out)
    roles = {row["label"]: row["role"] for row in link["matched"]}
    assert roles == {"fever": "present", "runny nose": "absent", "acetaminophen": "treatment"}
    assert link["unmatched"] == [{"term": "dry cogh", "suggestions": ["cough"]}]
    top = link["diagnoses"][0]
    assert top["label"] == "influenza"
    assert top["supporting"][0][0] == "fever"
    assert top["against"][0][0] == "runny nose"
    # The drug the patient takes is not suggested.
    assert "acetaminophen" not in {row["label"] for row in link["treatments"]}
    assert link["next_questions"][0]["label"] == "shortness of breath"
    assert not SAMPLE_ID.search(out)


@runs("query_graph.py")
def test_query_graph_answers_each_concept_by_its_kind(tmp_path: Path) -> None:
    result = _run(
        "query_graph.py",
        "influenza",
        "HP:0000458",
        "oseltamivir",
        "influenzza",
        "--limit",
        "4",
        cwd=tmp_path,
        status=1,  # one term names no concept
    )
    out = result.stdout
    assert SAMPLE_GRAPH in out
    assert "== influenza (ICD10CM:J11.1): a disease of 266 patients ==" in out
    symptoms = _section(out, "Symptoms of influenza:\n")
    assert [line.split()[0] for line in symptoms.splitlines()[1:]] == [
        "fever",
        "cough",
        "muscle",
        "fatigue",
    ]
    assert "3.5e-154" in symptoms
    assert "oseltamivir" in _section(out, "Treatments recorded with influenza:\n")
    assert _section(out, "Diseases most like influenza:\n").splitlines()[1].split()[0] == (
        "covid-19"
    )
    assert "== loss of smell (HP:0000458): a symptom of 90 patients ==" in out
    smell = _section(out, "Diseases that present loss of smell:\n")
    assert [line.split()[0] for line in smell.splitlines()[1:]] == ["covid-19"]
    drug = _section(out, "Diseases oseltamivir goes with:\n")
    assert drug.splitlines()[1].split()[:2] == ["influenza", "treated_with"]
    assert "no concept 'influenzza' in the graph; closest labels: ['influenza']" in out
    assert not SAMPLE_ID.search(out)


@runs("explain_paths.py")
def test_explain_paths_prints_each_hop_with_its_counts(tmp_path: Path) -> None:
    out = _out("explain_paths.py", "shortness of breath", "lisinopril", "--k", "2", cwd=tmp_path)
    assert "The 2 best paths from shortness of breath to lisinopril (weight: conditional):" in out
    assert "\n1. shortness of breath → heart failure → lisinopril\n" in out
    assert (
        "1. of 503 patients with shortness of breath, 10% (52) had heart failure (has_symptom"
        in out
    )
    assert "2. of 73 patients with heart failure, 49% (36) had lisinopril (treated_with" in out
    assert "probability of the whole chain: 0.051" in out
    assert "\n2. shortness of breath → heart failure → hypertension → lisinopril\n" in out
    assert "\n3. " not in out
    one = _out("explain_paths.py", "fever", "oseltamivir", "--k", "2", cwd=tmp_path)
    assert "The best path from fever to oseltamivir (weight: conditional):" in one
    assert "2. of 266 patients with influenza, 53% (142) had oseltamivir (treated_with" in one
    via = _out(
        "explain_paths.py", "loss of smell", "acetaminophen", "--via", "disease", cwd=tmp_path
    )
    assert "\n1. loss of smell → covid-19 → acetaminophen\n" in via
    none = _out("explain_paths.py", "asthma", "heart failure", "--max-hops", "1", cwd=tmp_path)
    assert "No path from asthma to heart failure within 1 step." in none


@runs("html_pages.py")
def test_html_pages_writes_four_pages(tmp_path: Path) -> None:
    out = _out("html_pages.py", "--out", tmp_path / "pages", cwd=tmp_path)
    written = {path.name: path for path in (tmp_path / "pages").iterdir()}
    assert sorted(written) == ["graph.html", "influenza.html", "paths.html", "patient.html"]
    lines = {line.split()[0]: line for line in _section(out, "Pages written to").splitlines()[1:]}
    assert "62 of 62 concepts,  250 of 250 relations" in lines["graph.html"]
    assert "10 of 10 concepts,   43 of 43 relations" in lines["influenza.html"]
    pages = {name: path.read_text(encoding="utf-8") for name, path in written.items()}
    assert "<title>kgmed: influenza and its neighbours</title>" in pages["influenza.html"]
    assert "Leading diagnoses" in pages["patient.html"]
    assert "oseltamivir" in pages["paths.html"]
    assert "patient.html: fever, cough, muscle pain; leading diagnosis influenza." in out
    assert "the best of 1 path is fever → influenza → oseltamivir" in out
    for name, page in pages.items():
        assert "https://unpkg" not in page, name
        assert "cdn." not in page, name
        assert not SAMPLE_ID.search(page), name


@runs("html_pages.py")
def test_html_pages_other_focus_and_a_small_page(tmp_path: Path) -> None:
    out = _out(
        "html_pages.py",
        "--focus",
        "Heart Failure",
        "--max-nodes",
        "30",
        "--patient",
        "wheezing",
        "--path",
        "cough",
        "albuterol",
        "--out",
        "site",
        cwd=tmp_path,
    )
    assert (tmp_path / "site" / "heart-failure.html").is_file()
    assert "30 of 62 concepts" in out
    assert "Left out: 32 of 62 concepts" in out
    assert "leading diagnosis asthma." in out
    assert "cough → asthma → albuterol" in out


@runs("rdf_triple_store.py")
def test_rdf_triple_store_pushes_to_oxigraph_and_queries_it(
    tmp_path: Path, oxigraph_server: str
) -> None:
    graph = "https://example.org/kgmed-tests/examples"
    out = _out(
        "rdf_triple_store.py", oxigraph_server, "--graph", graph, "--out", "out", cwd=tmp_path
    )
    turtle = tmp_path / "out" / "graph.ttl"
    triples = len(Graph().parse(turtle, format="turtle"))
    assert f"RDF export: {triples:,} triples, 0 SHACL violations" in out
    assert (
        f"pushed {triples:,} triples to {oxigraph_server}/store, graph {graph}, "
        "in 1 request(s) by the graph-store protocol"
    ) in out
    assert f"Triples in the graph, counted by the store: {triples:,}" in out
    symptoms = _section(
        out, "Symptoms of influenza (http://purl.bioontology.org/ontology/ICD10CM/J11.1)"
    )
    assert symptoms.splitlines()[2].split() == ["fever", "234", "4.84", "3.5e-154"]
    assert "The same as kg.symptoms_of('influenza'): yes" in out
    # The triples are in the store, and no patient id went with them.
    stored = kgmed.rdf.query(
        oxigraph_server, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    )
    assert int(stored["n"].iloc[0]) == triples
    leaked = kgmed.rdf.query(
        oxigraph_server,
        f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o FILTER(REGEX(STR(?o), '\\\\bP[0-9]{{4}}\\\\b')) }} }}",
    )
    assert leaked["boolean"].tolist() == [False]
    assert not SAMPLE_ID.search(out)


@runs("rdf_triple_store.py")
def test_rdf_triple_store_without_a_store_queries_in_process(tmp_path: Path) -> None:
    out = _out("rdf_triple_store.py", "--disease", "heart failure", cwd=tmp_path)
    assert "No triple store given: the queries run in-process" in out
    assert "oxigraph serve --location kgmed-store --bind 127.0.0.1:7878" in out
    triples = len(Graph().parse(tmp_path / "out" / "graph.ttl", format="turtle"))
    assert f"Triples in the graph, counted by the store: {triples:,}" in out
    symptoms = _section(out, "Symptoms of heart failure")
    assert [line.split()[0] for line in symptoms.splitlines()[2:]] == [
        "fatigue",
        "shortness",
        "edema",
        "weight",
    ]
    assert "The same as kg.symptoms_of('heart failure'): yes" in out


@runs("rdf_triple_store.py")
def test_rdf_triple_store_says_when_the_store_is_not_there(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens there
    records = tmp_path / "records.csv"
    kgmed.datasets.synthetic(300, random_state=0, as_frame=True).to_csv(records, index=False)
    failed = _run("rdf_triple_store.py", url, "--records", records, cwd=tmp_path, status=1)
    assert "RDF export: " in failed.stdout
    assert failed.stderr.startswith(f"TripleStoreError: the triple store at {url}/store")
    assert "is not reachable" in failed.stderr


@runs("read_omop.py")
def test_read_omop_reads_a_folder_of_tables(tmp_path: Path) -> None:
    folder = tmp_path / "omop"
    people = _write_omop(folder)
    out = _out("read_omop.py", folder, cwd=tmp_path)
    assert "Records from omop" in out
    assert "dropped: social                     20" in out
    files = _section(out, "  per file:\n")
    assert files.splitlines()[1].split() == ["condition_occurrence.csv", "107", "87", "20"]
    assert files.splitlines()[2].split() == ["drug_exposure.csv", "59", "59", "0"]
    assert "<KnowledgeGraph: 7 concepts (3 disease, 1 symptom, 3 treatment)" in out
    treated = _section(out, "treated_with: 3 of 3 edges, most patients first\n")
    rows = [line.split() for line in treated.splitlines()[1:]]
    # The drug product is read as its ingredient.
    assert rows[0][:3] + rows[0][-2:-1] == ["Essential", "hypertension", "lisinopril", "24"]
    assert "Acute bronchitis        Cough" in _section(out, "has_symptom:")
    for person in people:
        assert str(person) not in out


def _write_omop(folder: Path) -> list[int]:
    """A small OMOP CDM extract: 60 people, three diseases, a symptom, three drugs."""
    folder.mkdir()
    concept = pd.DataFrame(
        [
            (320128, "Essential hypertension", "Condition", "SNOMED", "Disorder", "59621000"),
            (201826, "Type 2 diabetes mellitus", "Condition", "SNOMED", "Disorder", "44054006"),
            (260139, "Acute bronchitis", "Condition", "SNOMED", "Disorder", "10509002"),
            (254761, "Cough", "Condition", "SNOMED", "Clinical Finding", "49727002"),
            (4084697, "Full-time employment", "Observation", "SNOMED", "Clinical Finding", "160903007"),
            (19080128, "lisinopril 10 MG Oral Tablet", "Drug", "RxNorm", "Clinical Drug", "314076"),
            (1503297, "metformin", "Drug", "RxNorm", "Ingredient", "6809"),
            (1125315, "acetaminophen", "Drug", "RxNorm", "Ingredient", "161"),
        ],
        columns=["concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
                 "concept_code"],
    )  # fmt: skip
    people = [700_000 + i for i in range(1, 61)]

    def who(first: int, last: int, concept_id: int) -> list[tuple[int, int]]:
        return [(person, concept_id) for person in people[first - 1 : last]]

    conditions = pd.DataFrame(
        who(1, 30, 320128) + who(21, 45, 201826) + who(46, 60, 260139) + who(44, 60, 254761)
        + who(1, 20, 4084697),
        columns=["person_id", "condition_concept_id"],
    )  # fmt: skip
    conditions.insert(0, "condition_occurrence_id", range(1, len(conditions) + 1))
    conditions["condition_start_date"] = "2024-03-01"
    drugs = pd.DataFrame(
        who(1, 24, 19080128) + who(21, 42, 1503297) + who(46, 58, 1125315),
        columns=["person_id", "drug_concept_id"],
    )
    drugs.insert(0, "drug_exposure_id", range(1, len(drugs) + 1))
    drugs["drug_exposure_start_date"] = "2024-03-02"
    concept.to_csv(folder / "concept.csv", index=False)
    conditions.to_csv(folder / "condition_occurrence.csv", index=False)
    drugs.to_csv(folder / "drug_exposure.csv", index=False)
    return people


@runs("read_omop.py")
def test_read_omop_reports_a_missing_concept_table(tmp_path: Path) -> None:
    folder = tmp_path / "omop"
    _write_omop(folder)
    (folder / "concept.csv").unlink()
    failed = _run("read_omop.py", folder, cwd=tmp_path, status=1)
    assert failed.stderr.startswith("RecordsFileNotFound: ")
    assert "concept" in failed.stderr


# -- scripts on third-party data ------------------------------------------------------


@runs("read_synthea.py")
@pytest.mark.shared_data
def test_read_synthea_prints_the_report_and_treatments_per_disease(
    tmp_path: Path, shared_data: Path
) -> None:
    folder = shared_data / "synthea_csv_543_partial"
    out = _out("read_synthea.py", folder, "--diseases", "100", "--top", "3", cwd=tmp_path)
    assert "Records from synthea_csv_543_partial" in out
    section = _section(out, "Hypertension (SNOMEDCT:59621000")
    assert {"lisinopril", "hydrochlorothiazide", "amlodipine"} <= set(section.split())
    assert "patient_id" not in out
    for name in _synthea_ids(folder):
        assert name not in out


@runs("read_synthea.py")
def test_read_synthea_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    failed = _run("read_synthea.py", tmp_path, cwd=tmp_path, status=1)
    assert failed.stderr.strip().startswith("RecordsFileNotFound: ")
    assert "no conditions.csv" in failed.stderr


@runs("read_fhir.py")
@pytest.mark.shared_data
def test_read_fhir_reads_the_bundles_and_names_no_patient(
    tmp_path: Path, shared_data: Path
) -> None:
    folder = shared_data / "synthea_csv_59_ca"
    out = _out("read_fhir.py", folder / "fhir_r4", "--min-patients", "1", cwd=tmp_path)
    assert "Records from 6 file(s)" in out
    assert _section(out, "resources in all the files:\n").splitlines()[1].split() == [
        "Patient",
        "6",
    ]
    assert "acute bronchitis" in out.lower()
    assert "acetaminophen" in out
    # Synthea names each bundle after its patient: the file names are not printed.
    for path in (folder / "fhir_r4").glob("*.json"):
        assert path.stem.split("_")[0] not in out
    for name in _synthea_ids(folder / "csv"):
        assert name not in out


@runs("kaggle_disease_symptom.py")
@pytest.mark.shared_data
def test_kaggle_example_reads_the_real_table(tmp_path: Path, shared_data: Path) -> None:
    dataset = shared_data / "disease_symptom_prediction" / "kaggle_layout" / "dataset.csv"
    out = _out("kaggle_disease_symptom.py", dataset, cwd=tmp_path)
    assert "41 disease, 131 symptom" in out
    table = _section(out, "Symptoms that point to Diabetes (q < 0.05, by P(disease | symptom)):\n")
    assert [line.split()[0] for line in table.splitlines()[1:4]] == [
        "increased",
        "polyuria",
        "irregular",
    ]
    out = _out("kaggle_disease_symptom.py", dataset, "--disease", "malaria", cwd=tmp_path)
    assert "Symptoms that point to Malaria" in out


@runs("curated_knowledge.py")
@pytest.mark.shared_data
def test_curated_knowledge_example(tmp_path: Path, shared_data: Path) -> None:
    out = _out(
        "curated_knowledge.py",
        shared_data / "hetionet_v1.0_subset",
        shared_data / "columbia_disease_symptom_kb" / "disease_symptom_long.csv",
        cwd=tmp_path,
    )
    assert f"mined: {SAMPLE_GRAPH}" in out
    assert "hetionet: statements 4,502, merged 17" in out
    assert "hypertension is ICD10CM:I10, also known as DOID:10763" in out
    treatments = _section(
        out, "treatments seen in the records and confirmed by a curated source:\n"
    )
    assert [line.split()[0] for line in treatments.splitlines()[1:]] == ["lisinopril", "amlodipine"]
    assert "mined; curated:hetionet" in treatments
    assert not SAMPLE_ID.search(out)


@runs("cohorts_synthea.py")
@pytest.mark.shared_data
def test_cohorts_segment_the_543_patient_export(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "synthea_csv_543_partial"
    out = _out("cohorts_synthea.py", folder, "--out", tmp_path / "out", cwd=tmp_path)
    assert "<Cohorts: " in out
    assert "\nC1: " in out
    assert "on average: age " in out
    assert "Hypertension" in out
    assert "Risk of Diabetes (SNOMEDCT:44054006)" in out
    assert "Left out as recorded for Diabetes: insulin, metformin" in out
    written = [
        (tmp_path / "out" / "graph.ttl").read_text(encoding="utf-8"),
        (tmp_path / "out" / "graph.html").read_text(encoding="utf-8"),
    ]
    assert "kgmed:Cohort" in written[0]
    assert "cohort (diamond" in written[1]
    for name in _synthea_ids(folder):
        assert name not in out
        for text in written:
            assert name not in text


@runs("cohorts_synthea.py")
@pytest.mark.shared_data
def test_cohorts_use_body_mass_index_where_measured(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "synthea_csv_59_ca" / "csv"
    out = _out(
        "cohorts_synthea.py",
        folder,
        "--cohorts",
        "2",
        "--feature-weight",
        "1",
        "--target",
        "hypertension",
        "--out",
        tmp_path,
        cwd=tmp_path,
    )
    assert "2 cohorts of 59 patients" in out
    assert "and age, female, bmi (weight 1)" in out
    assert ", bmi " in out
    assert "Risk of Hypertension" in out
    for name in _synthea_ids(folder):
        assert name not in out


@runs("cohorts_synthea.py")
@pytest.mark.shared_data
def test_cohorts_bad_arguments_exit_with_the_error(tmp_path: Path, shared_data: Path) -> None:
    failed = _run(
        "cohorts_synthea.py",
        shared_data / "synthea_csv_59_ca",
        "--cohorts",
        "9",
        cwd=tmp_path,
        status=1,
    )
    assert "ParameterError: too few patients for n_cohorts=9" in failed.stderr
