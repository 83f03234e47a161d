"""kgmed.cohorts: groups found against known truth, described by counts, put in the graph."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdflib import RDF
from scipy.stats import fisher_exact
from sklearn.metrics import adjusted_rand_score

import kgmed
from kgmed import cohorts as kc
from kgmed.datasets import SyntheticModel, default_model, synthetic
from kgmed.records import MEASUREMENT_COLUMNS

# Three groups of patients, each drawn from kgmed's generator with only its
# own diseases (their prevalence raised): the truth a clustering should find.
# Symptoms, leaks and background drugs are shared, as in real records.
GROUPS: dict[str, tuple[str, ...]] = {
    "respiratory": (
        "influenza",
        "covid-19",
        "common cold",
        "pneumonia",
        "asthma",
        "chronic obstructive pulmonary disease",
    ),
    "cardiometabolic": ("type 2 diabetes mellitus", "hypertension", "heart failure"),
    "other": (
        "gastroesophageal reflux disease",
        "migraine",
        "major depressive disorder",
        "urinary tract infection",
        "hypothyroidism",
        "iron deficiency anemia",
    ),
}


def _group_model(diseases: tuple[str, ...], boost: float) -> SyntheticModel:
    model = default_model()
    concepts = model.concepts.copy()
    disease = (concepts["kind"] == "disease").to_numpy()
    mine = concepts["label"].isin(diseases).to_numpy()
    rates = concepts["rate"].to_numpy(dtype=float).copy()
    rates[disease & ~mine] = 0.0
    rates[disease & mine] = np.minimum(rates[disease & mine] * boost, 0.95)
    return SyntheticModel(concepts=concepts.assign(rate=rates), links=model.links)


def grouped(n: int, seed: int = 0, boost: float = 5.0) -> tuple[kgmed.Records, pd.Series]:
    """Records of three groups (shares 0.5, 0.2, 0.3), and each patient's true group."""
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(n, [0.5, 0.2, 0.3])
    frames = []
    for g, (name, diseases) in enumerate(GROUPS.items()):
        frame = synthetic(
            int(sizes[g]),
            model=_group_model(diseases, boost),
            random_state=[seed, g],
            as_frame=True,
        )
        frames.append(frame.assign(patient_id=name + ":" + frame["patient_id"].astype(str)))
    frame = pd.concat(frames, ignore_index=True)
    # Shuffled ids: nothing in a patient's id tells its group.
    old = pd.Series(frame["patient_id"].unique())
    new = pd.Series([f"Q{i:06d}" for i in rng.permutation(len(old))], index=old.to_numpy())
    truth = pd.Series(old.str.split(":").str[0].to_numpy(), index=new.to_numpy(), name="group")
    frame = frame.assign(patient_id=frame["patient_id"].map(new))
    records = kgmed.Records.from_dataframe(frame, code="code", system="system")
    return records, truth


def ari(cohorts: kgmed.cohorts.Cohorts, truth: pd.Series) -> float:
    labels = cohorts.labels.fillna("noise")
    return float(adjusted_rand_score(truth.reindex(labels.index), labels))


@pytest.fixture(scope="module")
def three_groups() -> tuple[kgmed.Records, pd.Series]:
    return grouped(3000, seed=0)


@pytest.fixture(scope="module")
def found(three_groups) -> kgmed.cohorts.Cohorts:
    return kc.find(three_groups[0], n_cohorts=3)


def _secret_records() -> kgmed.Records:
    """Two large groups and one of 15 patients, with ids that must never leave."""
    rng = np.random.default_rng(7)
    rows = []
    for group, size, concepts in (
        ("alpha", 300, ["alpha fever", "alpha rash", "alpha drug"]),
        ("beta", 300, ["beta cough", "beta pain", "beta drug"]),
        ("gamma", 15, ["gamma itch", "gamma drug"]),
    ):
        for i in range(size):
            patient = f"secret-{group}-{i:04d}"
            rows.append((patient, f"{group} disease", "disease"))
            for concept in concepts:
                if rng.random() < 0.7:
                    kind = "treatment" if concept.endswith("drug") else "symptom"
                    rows.append((patient, concept, kind))
            if rng.random() < 0.3:
                rows.append((patient, "headache", "symptom"))
    frame = pd.DataFrame(rows, columns=["patient_id", "concept", "kind"])
    return kgmed.Records.from_dataframe(frame)


# -- against the truth ------------------------------------------------------------------


def test_kmeans_recovers_the_known_groups(three_groups, found) -> None:
    assert found.n_cohorts == 3
    assert ari(found, three_groups[1]) > 0.8


def test_auto_picks_the_number_of_groups(three_groups) -> None:
    cohorts = kc.find(three_groups[0])
    scores = cohorts.scores
    assert scores["n_cohorts"].tolist() == list(range(2, 9))
    assert cohorts.n_cohorts == 3
    chosen = scores.loc[scores["chosen"]].iloc[0]
    at_floor = scores[scores["all_at_floor"]]
    assert chosen["silhouette"] == at_floor["silhouette"].max()
    assert ari(cohorts, three_groups[1]) > 0.8


def test_tfidf_weighting_beats_plain_zeros_and_ones(three_groups, found) -> None:
    binary = kc.find(three_groups[0], n_cohorts=3, weighting="binary")
    assert ari(found, three_groups[1]) > ari(binary, three_groups[1]) + 0.1


@pytest.mark.parametrize("method", ["agglomerative", "dbscan", "hdbscan"])
def test_other_methods_find_the_groups_too(method: str) -> None:
    records, truth = grouped(1500, seed=3)
    cohorts = kc.find(records, method=method)
    assert cohorts.method == {"agglomerative": "AgglomerativeClustering"}.get(
        method, method.upper()
    )
    assert ari(cohorts, truth) > 0.3
    if method != "agglomerative":
        # Noise is no cohort, and says so.
        noise = int(cohorts.labels.isna().sum())
        assert noise == 0 or any("in no cohort" in note for note in cohorts.notes)


def test_numeric_features_are_used_and_scaled() -> None:
    """Groups that differ only by age: found with the age, not without."""
    records = synthetic(1200, random_state=4)
    patients = pd.Index(records.data["patient_id"].unique())
    rng = np.random.default_rng(4)
    old = rng.random(len(patients)) < 0.5
    age = pd.DataFrame({"age": np.where(old, 70.0, 30.0) + rng.normal(0, 4, len(patients))})
    age.index = patients
    with_age = kc.find(records, n_cohorts=2, features=age)
    without = kc.find(records, n_cohorts=2)
    truth = pd.Series(old, index=patients)
    assert adjusted_rand_score(truth, with_age.labels.reindex(patients)) > 0.9
    assert adjusted_rand_score(truth, without.labels.reindex(patients)) < 0.1
    profile = with_age.describe_features().set_index("cohort")
    assert set(profile["feature"]) == {"age"}
    assert (profile["difference_sd"].abs() > 1.5).all()
    assert "1 numeric features" in repr(with_age)


# -- same input, same answer ---------------------------------------------------------------


def test_same_records_same_cohorts_and_names(three_groups, found) -> None:
    again = kc.find(three_groups[0], n_cohorts=3)
    assert again.labels.equals(found.labels)
    assert again.names.equals(found.names)
    pd.testing.assert_frame_equal(again.summary(), found.summary())
    pd.testing.assert_frame_equal(again.describe(top=None), found.describe(top=None))


def test_cohorts_are_numbered_by_size(found) -> None:
    sizes = found.labels.value_counts()
    assert list(sizes.index) == ["C1", "C2", "C3"]
    assert sizes.is_monotonic_decreasing
    assert found.sizes.tolist() == sizes.tolist()


# -- descriptions, checked by hand ------------------------------------------------------------


def test_descriptions_are_hand_counts(three_groups, found) -> None:
    data = three_groups[0].data
    owned = data.drop_duplicates(["patient_id", "concept_id"])
    cohort_of = owned["patient_id"].map(found.labels)
    n = data["patient_id"].nunique()
    table = found.describe(top=None, max_q_value=1.0)
    assert len(table) > 20
    for row in table.sample(20, random_state=0).itertuples(index=False):
        has = owned["concept_id"] == row.id
        inside = int((has & (cohort_of == row.cohort)).sum())
        size = int((found.labels == row.cohort).sum())
        outside = int(has.sum()) - inside
        assert row.n_in_cohort == inside
        assert pd.isna(row.n_in_rest) or row.n_in_rest == outside
        assert row.p_in_cohort == pytest.approx(inside / size)
        assert row.p_in_rest == pytest.approx(outside / (n - size))
        assert row.lift == pytest.approx((inside / size) / (has.sum() / n))
        expected = fisher_exact(
            [[inside, size - inside], [outside, n - size - outside]], alternative="greater"
        ).pvalue
        assert row.p_value == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_descriptions_are_the_distinctive_concepts(found) -> None:
    table = found.describe(top=None)
    assert (table["q_value"] < 0.05).all()
    assert (table["ratio_to_rest"] > 1).all()
    for _, mine in table.groupby("cohort"):
        assert mine["difference"].is_monotonic_decreasing
    summary = found.summary()
    # Each true group is a cohort named after its own diseases.
    named = {
        group: summary["diseases"].map(lambda d, g=group: bool(set(d) & set(GROUPS[g]))).any()
        for group in GROUPS
    }
    assert all(named.values()), named


def test_names_come_from_the_most_distinctive_concepts(found) -> None:
    for cohort in found.summary()["cohort"]:
        table = found.describe(cohort, top=None)
        first = table.groupby("kind", sort=False)["label"].first()
        name = found.names[cohort]
        assert name.split(", ")[0] == first.get("disease", table["label"].iloc[0])


# -- privacy -----------------------------------------------------------------------------------


def test_small_cohorts_are_not_described_or_exported(tmp_path: Path) -> None:
    records = _secret_records()
    cohorts = kc.find(records, n_cohorts=3, min_patients=20)
    sizes = cohorts.labels.value_counts()
    assert sorted(sizes.tolist())[0] == 15  # the gamma group, under the floor
    small = sizes.index[sizes == 15][0]
    summary = cohorts.summary().set_index("cohort")
    assert pd.isna(summary.loc[small, "n_patients"])
    assert not summary.loc[small, "described"]
    assert summary.loc[small, "name"] == "fewer than 20 patients"
    assert small not in set(cohorts.describe(top=None)["cohort"])
    assert "1 cohort of fewer than 20 patients is not described" in " ".join(cohorts.notes)
    table = cohorts.describe(top=None, max_q_value=1.0)
    assert (table["n_in_cohort"] >= 20).all()
    rest = table["n_in_rest"].dropna()
    assert ((rest == 0) | (rest >= 20)).all()

    kg = kgmed.build(records, min_patients=20)
    added = kg.add_cohorts(cohorts)
    assert added.to_dict() == {
        "cohorts": 3,
        "added": 2,
        "under_floor": 1,
        "edges": added["edges"],
        "concepts_not_in_graph": added["concepts_not_in_graph"],
    }
    assert f"cohort:{small}" not in kg.graph
    assert (kg.nodes("cohort")["n_patients"] >= 20).all()
    # No patient id anywhere a cohort goes.
    texts = [
        json.dumps(cohorts.to_dict()),
        kg.save(tmp_path / "kg.json").read_text(encoding="utf-8"),
        kg.save(tmp_path / "kg.ttl").read_text(encoding="utf-8"),
        kg.to_html(tmp_path / "kg.html").read_text(encoding="utf-8"),
        *(p.read_text(encoding="utf-8") for p in kg.to_kgx(tmp_path / "kgx")),
    ]
    for text in texts:
        assert "secret-" not in text


def test_the_floor_in_the_graph_is_the_higher_of_the_two() -> None:
    records = _secret_records()
    cohorts = kc.find(records, n_cohorts=3, min_patients=5)
    assert cohorts.sizes.notna().all()  # described at their own floor of 5
    kg = kgmed.build(records, min_patients=20)
    added = kg.add_cohorts(cohorts)
    assert int(added["under_floor"]) == 1
    edges = kg.edges("characterized_by")
    assert (edges["n_patients"] >= 20).all()


def test_assign_keeps_patient_ids_in_memory_only(found) -> None:
    text = json.dumps(found.to_dict())
    assert not re.search(r"Q\d{6}", text)
    assert set(found.to_dict()) == {
        "params",
        "scores",
        "cohorts",
        "descriptions",
        "features",
        "notes",
    }


# -- new patients --------------------------------------------------------------------------------


def test_assign_gives_the_patients_their_own_cohorts(three_groups, found) -> None:
    assert found.assign(three_groups[0]).equals(found.labels)


def test_assign_new_patients_to_the_right_group(found) -> None:
    new, truth = grouped(900, seed=11)
    labels = found.assign(new)
    assert len(labels) == 900
    assert adjusted_rand_score(truth.reindex(labels.index), labels) > 0.8


def test_assign_without_predict_uses_the_nearest_centre(three_groups) -> None:
    cohorts = kc.find(three_groups[0], method="agglomerative", n_cohorts=3)
    again = cohorts.assign(three_groups[0])
    assert (again == cohorts.labels).mean() > 0.9


def test_a_linked_patient_gets_its_cohort(three_groups, found) -> None:
    kg = kgmed.build(three_groups[0])
    link = kg.link(["wheezing", "shortness of breath", "albuterol"], cohorts=found)
    cohort = link.cohort
    assert cohort is not None
    assert cohort["cohort"] == found.assign(link)
    respiratory = found.summary().set_index("cohort")["diseases"]
    assert set(respiratory[cohort["cohort"]]) & set(GROUPS["respiratory"])
    assert f"Closest cohort: {cohort['cohort']}, {cohort['name']}" in link.explain()
    assert json.loads(json.dumps(link.to_dict()))["cohort"]["cohort"] == cohort["cohort"]
    with pytest.raises(kgmed.ParameterError, match="cohorts must be"):
        kg.link(["wheezing"], cohorts="C1")


def test_assign_needs_the_numeric_features_it_was_found_with() -> None:
    records = synthetic(300, random_state=2)
    patients = records.data["patient_id"].unique()
    age = pd.DataFrame({"age": np.linspace(20, 80, len(patients))}, index=patients)
    cohorts = kc.find(records, n_cohorts=2, features=age)
    with pytest.raises(kgmed.ParameterError, match="pass features= with the same columns"):
        cohorts.assign(records)
    with pytest.raises(kgmed.ParameterError, match=r"\['age'\] are needed"):
        cohorts.assign(records, features=age.rename(columns={"age": "years"}))
    assert cohorts.assign(records, features=age).equals(cohorts.labels)


# -- measurements as features ----------------------------------------------------------------------


def _with_measurements(records: kgmed.Records, values: pd.DataFrame) -> kgmed.Records:
    frame = values.reindex(columns=list(MEASUREMENT_COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return kgmed.Records(records.data, records.report, measurements=frame)


def test_measurements_are_read_by_name_last_value_first() -> None:
    records = synthetic(40, random_state=0)
    patients = list(records.data["patient_id"].unique())
    rows = []
    for i, patient in enumerate(patients):
        rows.append((patient, "2020-01-01", "LOINC:39156-5", "Body Mass Index", 50.0))
        rows.append((patient, "2021-01-01", "LOINC:39156-5", "Body Mass Index", 20.0 + i % 2))
    values = pd.DataFrame(rows, columns=["patient_id", "time", "concept_id", "label", "value"])
    measured = _with_measurements(records, values)
    cohorts = kc.find(measured, n_cohorts=2, min_patients=5, features=["body mass index"])
    profile = cohorts.describe_features()
    assert set(profile["feature"]) == {"Body Mass Index"}
    means = sorted(profile["mean_in_cohort"].round(6))
    assert means == [20.0, 21.0]  # the last values, not the first (50)
    same = kc.find(measured, n_cohorts=2, min_patients=5, features=["39156-5"])
    assert same.labels.equals(cohorts.labels)


def test_measurements_in_other_units_are_compared_in_one() -> None:
    # Half the patients' glucose in mmol/L: the readers' canonical value (mg/dL) is the feature.
    records = synthetic(40, random_state=0)
    patients = list(records.data["patient_id"].unique())
    rows = []
    for i, patient in enumerate(patients):
        mg = 90.0 if i % 2 else 180.0
        if i % 4 < 2:
            rows.append((patient, "2021-01-01", "LOINC:2345-7", "Glucose", mg, "mg/dL", mg))
        else:
            rows.append(
                (patient, "2021-01-01", "LOINC:2345-7", "Glucose", mg / 18.016, "mmol/L", mg)
            )
    columns = ["patient_id", "time", "concept_id", "label", "value", "unit", "canonical_value"]
    measured = _with_measurements(records, pd.DataFrame(rows, columns=columns))
    cohorts = kc.find(measured, n_cohorts=2, min_patients=5, features=["glucose"])
    means = sorted(cohorts.describe_features()["mean_in_cohort"].round(6))
    assert means == [90.0, 180.0]


def test_missing_values_raise_or_take_the_median() -> None:
    records = synthetic(100, random_state=1)
    patients = records.data["patient_id"].unique()
    age = pd.DataFrame({"age": np.arange(len(patients), dtype=float)}, index=patients)
    age.iloc[3, 0] = np.nan
    with pytest.raises(kgmed.MissingValueError, match=r"'age' for 1 of 100 patients"):
        kc.find(records, n_cohorts=2, features=age)
    filled = kc.find(records, n_cohorts=2, features=age, missing="median")
    assert filled.params["missing"] == "median"


# -- the graph, RDF and HTML ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_cohorts(three_groups, found) -> kgmed.KnowledgeGraph:
    kg = kgmed.build(three_groups[0])
    kg.add_cohorts(found)
    return kg


def test_cohort_nodes_and_their_evidence(with_cohorts, found) -> None:
    nodes = with_cohorts.nodes("cohort").set_index("id")
    assert list(nodes.index) == ["cohort:C1", "cohort:C2", "cohort:C3"]
    assert nodes["n_patients"].tolist() == found.sizes.tolist()
    for cohort, label in nodes["label"].items():
        assert label == f"cohort {cohort.split(':')[1]}: {found.names[cohort.split(':')[1]]}"
    edges = with_cohorts.edges("characterized_by")
    assert set(edges["source"]) == set(nodes.index)
    table = found.describe(top=None).set_index(["cohort", "id"])
    for edge in edges.itertuples(index=False):
        row = table.loc[(edge.source.split(":")[1], edge.target)]
        assert edge.n_patients == row["n_in_cohort"]
        assert edge.p_target_given_source == pytest.approx(row["p_in_cohort"])
        assert edge.lift == pytest.approx(row["lift"])
        assert edge.q_value == pytest.approx(row["q_value"])
        assert edge.provenance == "cohorts:kmeans"
    assert (edges.groupby("source").size() <= 10).all()


def test_cohorts_show_in_queries(with_cohorts) -> None:
    around = with_cohorts.neighbors("asthma")
    assert "characterized_by" in set(around["relation"])
    assert set(around.loc[around["relation"] == "characterized_by", "kind"]) == {"cohort"}
    assert with_cohorts.resolve("cohort:C1") == "cohort:C1"


def test_cohorts_leave_the_other_questions_alone(three_groups, with_cohorts) -> None:
    plain = kgmed.build(three_groups[0])
    pd.testing.assert_frame_equal(plain.symptoms_of("asthma"), with_cohorts.symptoms_of("asthma"))
    terms = ["fever", "cough", "muscle pain"]
    pd.testing.assert_frame_equal(plain.link(terms).diagnoses, with_cohorts.link(terms).diagnoses)
    pd.testing.assert_frame_equal(
        plain.link_many(three_groups[0]), with_cohorts.link_many(three_groups[0])
    )
    pd.testing.assert_frame_equal(plain.similar("asthma"), with_cohorts.similar("asthma"))
    # Asked for, cohorts do count as shared neighbours.
    asked = with_cohorts.similar("asthma", relations=["has_symptom", "characterized_by"])
    assert any(label.startswith("cohort ") for shared in asked["shared"] for label in shared)


def test_a_second_set_needs_its_own_prefix(three_groups, found) -> None:
    kg = kgmed.build(three_groups[0])
    kg.add_cohorts(found)
    with pytest.raises(kgmed.GraphError, match="pass another prefix="):
        kg.add_cohorts(found)
    kg.add_cohorts(kc.find(three_groups[0], n_cohorts=2), prefix="two")
    assert sorted(kg.nodes("cohort")["id"]) == [
        "cohort:C1",
        "cohort:C2",
        "cohort:C3",
        "two:C1",
        "two:C2",
    ]
    for bad in ("", "a b", "x:y", "1abc"):
        with pytest.raises(kgmed.ParameterError, match="prefix must be a plain word"):
            kg.add_cohorts(found, prefix=bad)
    with pytest.raises(kgmed.ParameterError, match="add_cohorts takes"):
        kg.add_cohorts(found.labels)


def test_cohorts_in_rdf(with_cohorts, tmp_path: Path) -> None:
    graph = with_cohorts.to_rdf()
    assert kgmed.rdf.validate(graph).empty
    cohorts = set(graph.subjects(RDF.type, kgmed.rdf.KGMED.Cohort))
    assert len(cohorts) == 3
    assert not cohorts & set(graph.subjects(RDF.type, kgmed.rdf.KGMED.Concept))
    n_edges = len(with_cohorts.edges("characterized_by"))
    assert len(list(graph.triples((None, kgmed.rdf.KGMED.characterizedBy, None)))) == n_edges
    answer = with_cohorts.sparql(
        """SELECT ?name ?n WHERE { ?c a kgmed:Cohort ; skos:prefLabel ?name ;
                                       kgmed:nPatients ?n } ORDER BY DESC(?n)"""
    )
    assert answer["name"].tolist() == with_cohorts.nodes("cohort")["label"].tolist()
    back = kgmed.load(with_cohorts.save(tmp_path / "kg.ttl"))
    columns = ["source", "relation", "target"]
    pd.testing.assert_frame_equal(
        back.edges().sort_values(columns).reset_index(drop=True),
        with_cohorts.edges().sort_values(columns).reset_index(drop=True),
    )
    assert back.nodes("cohort").equals(with_cohorts.nodes("cohort"))


def test_a_cohort_with_a_patient_property_breaks_the_shapes(with_cohorts) -> None:
    from rdflib import Literal, URIRef

    graph = with_cohorts.to_rdf()
    cohort = next(iter(graph.subjects(RDF.type, kgmed.rdf.KGMED.Cohort)))
    graph.add((cohort, URIRef("https://example.org/patient"), Literal("secret-0001")))
    violations = kgmed.rdf.validate(graph)
    assert (violations["focus"] == str(cohort)).any()


def test_cohorts_in_html(with_cohorts, tmp_path: Path) -> None:
    page = with_cohorts.to_html(tmp_path / "c.html", focus="cohort:C1", depth=1)
    text = page.read_text(encoding="utf-8")
    legend = text[text.index('id="kgmed-legend"') : text.index("</section>")]
    assert "cohort (diamond" in legend
    assert "characterized by" in legend
    assert not re.search(r"Q\d{6}", text)


def test_kgx_leaves_cohorts_out(with_cohorts, tmp_path: Path) -> None:
    nodes, edges = with_cohorts.to_kgx(tmp_path)
    assert "cohort:" not in nodes.read_text(encoding="utf-8")
    assert "characterized_by" not in edges.read_text(encoding="utf-8")


def test_curated_knowledge_cannot_make_cohort_edges(with_cohorts) -> None:
    facts = pd.DataFrame(
        {"subject": ["asthma"], "relation": ["characterized_by"], "object": ["wheezing"]}
    )
    with pytest.raises(kgmed.ParameterError, match="links cohort nodes"):
        with_cohorts.add_knowledge(facts, source="textbook")


# -- scale ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many() -> kgmed.Records:
    return synthetic(kc.MINIBATCH_ABOVE + 1000, random_state=5)


@pytest.mark.slow
def test_large_inputs_run_minibatch_kmeans(many) -> None:
    cohorts = kc.find(many, n_cohorts=3)
    assert cohorts.method == "MiniBatchKMeans"
    assert cohorts.labels.notna().all()
    assert cohorts.assign(many).equals(cohorts.labels)


@pytest.mark.slow
def test_large_inputs_choose_the_number_on_a_sample(many) -> None:
    cohorts = kc.find(many, max_cohorts=4)
    assert (cohorts.scores["n_patients"] == kc.MINIBATCH_ABOVE).all()
    assert cohorts.n_cohorts == cohorts.scores.loc[cohorts.scores["chosen"], "n_cohorts"].iloc[0]
    assert len(cohorts.labels) == many.n_patients
    assert cohorts.labels.notna().all()
    small = kc.find(synthetic(2000, random_state=0), max_cohorts=3)
    assert (small.scores["n_patients"] == 2000).all()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["agglomerative", "dbscan", "hdbscan"])
def test_pairwise_methods_refuse_large_inputs(many, method: str) -> None:
    with pytest.raises(kgmed.ParameterError, match="compares every pair of patients"):
        kc.find(many, method=method, **({"n_cohorts": 3} if method == "agglomerative" else {}))


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"method": "spectral"}, kgmed.ParameterError, r"method must be one of \['kmeans'"),
        ({"n_cohorts": 1}, kgmed.ParameterError, "n_cohorts must be an integer >= 2"),
        (
            {"n_cohorts": "three"},
            kgmed.ParameterError,
            "n_cohorts must be an integer >= 2 or 'auto'",
        ),
        ({"n_cohorts": 5}, kgmed.ParameterError, "too few patients for n_cohorts=5: 40 patients"),
        ({"min_patients": 25}, kgmed.ParameterError, "too few patients: 40 cannot make two"),
        ({"method": "dbscan", "n_cohorts": 3}, kgmed.ParameterError, "finds the number of cohorts"),
        ({"weighting": "bm25"}, kgmed.ParameterError, "weighting must be one of"),
        ({"kinds": ["gene"]}, kgmed.ParameterError, r"\['gene'\] are not kinds"),
        ({"kinds": ["lab"]}, kgmed.ParameterError, "the records hold no such concept"),
        ({"min_patients": 0}, kgmed.ParameterError, "min_patients must be an integer >= 1"),
        ({"random_state": "x"}, kgmed.ParameterError, "random_state must be an integer"),
        ({"feature_weight": -1}, kgmed.ParameterError, "feature_weight must be a number >= 0"),
        ({"options": {"n_clusterz": 2}}, kgmed.ParameterError, "KMeans refused its options"),
        ({"features": ["BMI"]}, kgmed.ParameterError, "these records hold no measurements"),
        ({"features": "age"}, kgmed.ParameterError, "features must be a DataFrame"),
        ({"missing": "mean"}, kgmed.ParameterError, "missing must be one of"),
    ],
)
def test_bad_options_are_named(options: dict, error: type, message: str) -> None:
    records = synthetic(40, random_state=0)
    with pytest.raises(error, match=message):
        kc.find(records, **options)


def test_all_noise_is_no_cohort() -> None:
    records = synthetic(200, random_state=0)
    with pytest.raises(
        kgmed.ParameterError, match="DBSCAN found no cohort: every patient is noise"
    ):
        kc.find(records, method="dbscan", options={"eps": 1e-9, "min_samples": 150})


def test_bad_feature_tables_are_named() -> None:
    records = synthetic(40, random_state=0)
    patients = records.data["patient_id"].unique()
    with pytest.raises(kgmed.ParameterError, match="column 'sex' holds"):
        kc.find(records, n_cohorts=2, features=pd.DataFrame({"sex": ["F"] * 40}, index=patients))
    with pytest.raises(kgmed.ParameterError, match="no row of the table is a patient"):
        kc.find(records, n_cohorts=2, features=pd.DataFrame({"age": range(40)}))
    doubled = pd.DataFrame({"age": [1.0, 2.0]}, index=[patients[0], patients[0]])
    with pytest.raises(kgmed.ParameterError, match="has more than one row"):
        kc.find(records, n_cohorts=2, features=doubled)
    infinite = pd.DataFrame({"age": [np.inf] * 40}, index=patients)
    with pytest.raises(kgmed.ParameterError, match="'age' holds an infinite value"):
        kc.find(records, n_cohorts=2, features=infinite)
    as_column = pd.DataFrame({"patient_id": patients, "age": np.arange(40.0)})
    assert kc.find(records, n_cohorts=2, features=as_column).params["features"] == ["age"]


def test_not_records_and_empty_records_are_refused() -> None:
    with pytest.raises(kgmed.ParameterError, match="find takes Records"):
        kc.find(pd.DataFrame({"patient_id": [1]}))
    empty = kgmed.Records(synthetic(10, random_state=0).data.iloc[:0])
    with pytest.raises(kgmed.EmptyRecordsError, match="no observation"):
        kc.find(empty)


def test_unknown_measurement_names_the_closest() -> None:
    records = synthetic(40, random_state=0)
    values = pd.DataFrame(
        {
            "patient_id": records.data["patient_id"].unique(),
            "time": "2020-01-01",
            "concept_id": "LOINC:39156-5",
            "label": "Body Mass Index",
            "value": 25.0,
        }
    )
    with pytest.raises(
        kgmed.ConceptNotFound, match=r"'Body Mas Index' names no measurement.*Body Mass Index"
    ):
        kc.find(_with_measurements(records, values), n_cohorts=2, features=["Body Mas Index"])


def test_describe_and_about_refuse_unknown_cohorts(found) -> None:
    with pytest.raises(kgmed.ParameterError, match=r"no cohort 'C9'; cohorts are \['C1'"):
        found.describe("C9")
    with pytest.raises(kgmed.ParameterError, match="no cohort 'C0'"):
        found.about("C0")
    with pytest.raises(kgmed.ParameterError, match="assign takes Records or a PatientLink"):
        found.assign(["fever"])


# -- real data ------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_cohorts_of_a_real_synthea_export(shared_data: Path, tmp_path: Path) -> None:
    records = kgmed.read_synthea(shared_data / "synthea_csv_543_partial")
    kinds = ["disease", "symptom", "treatment"]
    cohorts = kc.find(records, kinds=kinds)
    again = kc.find(records, kinds=kinds)
    assert again.labels.equals(cohorts.labels)
    assert again.names.equals(cohorts.names)
    assert 2 <= cohorts.n_cohorts <= 8
    assert cohorts.assign(records).equals(cohorts.labels)
    summary = cohorts.summary()
    assert summary["n_patients"].dropna().ge(11).all()
    # Pregnancy, hypertension and metabolic disease are among Synthea's modules:
    # some cohort is named after each of the hypertension treatments or diseases.
    assert summary["name"].str.contains("Hypertension|lisinopril|hydrochlorothiazide").any()
    kg = kgmed.build(records)
    added = kg.add_cohorts(cohorts)
    assert int(added["added"]) + int(added["under_floor"]) == cohorts.n_cohorts
    assert kgmed.rdf.validate(kg.to_rdf()).empty
    text = kg.save(tmp_path / "kg.ttl").read_text(encoding="utf-8")
    page = kg.to_html(tmp_path / "kg.html").read_text(encoding="utf-8")
    ids = set(records.data["patient_id"])
    for patient in list(ids)[:50]:
        assert patient not in text
        assert patient not in page
    assert "kgmed:Cohort" in text


@pytest.mark.shared_data
def test_cohorts_with_measurements_of_a_real_export(shared_data: Path) -> None:
    records = kgmed.read_synthea(shared_data / "synthea_csv_59_ca")
    with pytest.raises(kgmed.MissingValueError, match="'Body Mass Index' for 1 of 59"):
        kc.find(records, features=["Body Mass Index"])
    cohorts = kc.find(
        records,
        features=["LOINC:39156-5", "Systolic Blood Pressure"],
        missing="median",
        kinds=["disease", "symptom", "treatment"],
    )
    assert cohorts.n_cohorts >= 2
    profile = cohorts.describe_features()
    assert set(profile["feature"]) == {"Body Mass Index", "Systolic Blood Pressure"}
    assert profile["mean_in_cohort"].between(10, 250).all()
