"""Merge curated knowledge (Hetionet, the Columbia knowledge base) into a graph mined from records.

Give the folder of Hetionet's edge files and the Columbia Disease-Symptom
Knowledge Database's long table (neither is shipped with kgmed):

    python examples/curated_knowledge.py path/to/hetionet path/to/disease_symptom_long.csv
    python examples/curated_knowledge.py hetionet/ columbia.csv --disease asthma
    python examples/curated_knowledge.py hetionet/ columbia.csv --records visits.csv

It builds a graph from the bundled sample records (or --records, a CSV file
of your own), adds each curated source and prints what it added (statements
read, edges confirmed, new edges and concepts), then, for --disease, the
symptoms and treatments the records show and a curated source confirms.
Mined edges that a curated source confirms get both provenances
("mined; curated:hetionet"); curated facts the records do not show join
without patient counts; a curated concept is aligned with a mined one when
its id or code is the mined concept's, or its name is the mined concept's
label (its id is then kept among the concept's other ids). Relations held by fewer than --min-patients patients (11 by default)
are left out of what is mined; no patient identifier is printed.
"""

import argparse
import sys
from pathlib import Path

import kgmed

SAMPLE = Path(__file__).parent / "data" / "records.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hetionet", help="folder with Hetionet's edge files")
    parser.add_argument("columbia", help="Columbia KB disease_symptom_long.csv")
    parser.add_argument("--disease", default="hypertension", help="the disease to look at")
    parser.add_argument("--records", default=SAMPLE, help="records CSV; the bundled sample")
    parser.add_argument("--min-patients", type=int, default=11)
    args = parser.parse_args()

    try:
        records = kgmed.read_records(args.records, code="code", system="system")
        kg = kgmed.build(records, min_patients=args.min_patients)
        print(f"mined: {kg}")
        for name, table in (
            ("hetionet", kgmed.read_hetionet(args.hetionet)),
            ("columbia", kgmed.read_columbia_kb(args.columbia)),
        ):
            summary = kg.add_knowledge(table)
            added = ", ".join(f"{key} {value:,}" for key, value in summary.items())
            print(f"{name}: {added}")
        concept = kg.resolve(args.disease, kind="disease")
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")
    print(f"merged: {kg}")

    node = kg.graph.nodes[concept]
    also = ", ".join(node.get("xrefs") or []) or "no other id"
    print(f"\n{node['label']} is {concept}, also known as {also}")
    for title, table in (
        ("symptoms", kg.symptoms_of(concept)),
        ("treatments", kg.treatments_for(concept)),
    ):
        confirmed = table[
            table["source"].str.contains("mined") & table["source"].str.contains("curated")
        ]
        print(f"\n{title} seen in the records and confirmed by a curated source:")
        if confirmed.empty:
            print("  none")
            continue
        shown = confirmed[["label", "n_patients", "q_value", "source"]].assign(
            q_value=confirmed["q_value"].map("{:.1e}".format)
        )
        print(shown.to_string(index=False))


if __name__ == "__main__":
    main()
