"""Ask the knowledge graph about concepts: symptoms and treatments of a disease, diseases of a symptom.

Give one or more concepts, by label (any case or spacing), concept id or
code:

    python examples/query_graph.py influenza
    python examples/query_graph.py "loss of smell" oseltamivir "Heart Failure"
    python examples/query_graph.py HP:0001945 --max-q-value 0.001 --limit 3
    python examples/query_graph.py asthma --records visits.csv

It builds the graph from the bundled sample records (or --records, a CSV
file of your own) and answers each concept by its kind:

- a disease: its symptoms (``kg.symptoms_of``), the treatments recorded
  with it (``kg.treatments_for``) and the diseases most like it;
- a symptom: the diseases that present it (``kg.diseases_with``);
- a treatment, or anything else: the diseases it goes with (``kg.neighbors``).

Every row carries its evidence: the share of patients with one concept who
have the other, the lift, the number of patients behind it and the q-value
(the Benjamini-Hochberg false discovery rate); --max-q-value keeps the
significant ones only. A term that names no concept gets the closest labels,
and the script exits with status 1 after answering the others. Relations
held by fewer than --min-patients patients (11 by default) are not in the
graph; no patient identifier is printed.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

import kgmed

SAMPLE = Path(__file__).parent / "data" / "records.csv"


def show(title: str, table: pd.DataFrame, columns: list[str]) -> None:
    """Print a query's rows with their evidence, q-values in scientific notation."""
    print(f"\n{title}")
    if table.empty:
        print("  none")
        return
    shown = table[columns].round(3)
    if "q_value" in shown:
        shown["q_value"] = table["q_value"].map("{:.1e}".format)
    print(shown.to_string(index=False))


def answer(kg: kgmed.KnowledgeGraph, term: str, options: dict[str, float | int | None]) -> None:
    """Everything the graph says about one concept, by its kind."""
    concept = kg.resolve(term)
    node = kg.graph.nodes[concept]
    label, kind = node["label"], node["kind"]
    print(f"\n== {label} ({concept}): a {kind} of {node['n_patients']:,} patients ==")
    evidence = ["lift", "n_patients", "q_value"]
    if kind == "disease":
        show(
            f"Symptoms of {label}:",
            kg.symptoms_of(concept, **options),
            ["label", "p_symptom_given_disease", *evidence],
        )
        show(
            f"Treatments recorded with {label}:",
            kg.treatments_for(concept, **options),
            ["label", "p_treatment_given_disease", *evidence],
        )
        similar = kg.similar(concept, k=3)
        similar = similar.assign(shared=similar["shared"].map(", ".join))
        show(f"Diseases most like {label}:", similar, ["label", "similarity", "shared"])
    elif kind == "symptom":
        show(
            f"Diseases that present {label}:",
            kg.diseases_with(concept, **options),
            ["label", "p_disease_given_symptom", *evidence],
        )
    else:
        related = kg.neighbors(concept, max_q_value=options["max_q_value"])
        related = related[related["kind"] == "disease"].head(options["limit"])
        related = related.rename(columns={"p_concept_given_neighbor": f"p_{kind}_given_disease"})
        show(
            f"Diseases {label} goes with:",
            related,
            ["label", "relation", f"p_{kind}_given_disease", *evidence],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("concepts", nargs="+", help="labels, concept ids or codes")
    parser.add_argument("--records", default=SAMPLE, help="records CSV; the bundled sample")
    parser.add_argument("--max-q-value", type=float, help="keep relations with q at most this")
    parser.add_argument("--limit", type=int, help="rows per answer at most")
    parser.add_argument("--min-patients", type=int, default=11)
    args = parser.parse_args()

    try:
        records = kgmed.read_records(args.records, code="code", system="system")
        kg = kgmed.build(records, min_patients=args.min_patients)
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")
    print(kg)

    options: dict[str, float | int | None] = {
        "max_q_value": args.max_q_value,
        "limit": args.limit,
    }
    unknown = 0
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        for term in args.concepts:
            try:
                answer(kg, term, options)
            except kgmed.ConceptNotFound as err:
                print(f"\n== {term} ==\n{err}")
                unknown += 1
    if unknown:
        sys.exit(1)


if __name__ == "__main__":
    main()
