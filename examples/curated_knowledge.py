"""Merge Hetionet and the Columbia knowledge base into a graph mined from records.

    python examples/curated_knowledge.py path/to/hetionet_v1.0_subset \
        path/to/disease_symptom_long.csv [--disease hypertension]

Mined edges that a curated source confirms get both provenances
("mined; curated:hetionet"); curated facts the records do not show join
without patient counts; a curated concept is aligned with a mined one when
its name is the mined concept's label.
"""

import argparse

import kgmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hetionet", help="folder with Hetionet's edge files")
    parser.add_argument("columbia", help="Columbia KB disease_symptom_long.csv")
    parser.add_argument("--disease", default="hypertension")
    parser.add_argument("--patients", type=int, default=5000, help="synthetic patients")
    args = parser.parse_args()

    kg = kgmed.build(kgmed.datasets.synthetic(args.patients, random_state=0))
    for name, table in (
        ("hetionet", kgmed.read_hetionet(args.hetionet)),
        ("columbia", kgmed.read_columbia_kb(args.columbia)),
    ):
        summary = kg.add_knowledge(table)
        print(f"{name}: {summary.to_dict()}")
    print(kg)

    concept = kg.resolve(args.disease, kind="disease")
    print(f"\n{args.disease} is {concept}, also known as {kg.graph.nodes[concept].get('xrefs')}")
    for title, table in (
        ("symptoms", kg.symptoms_of(concept)),
        ("treatments", kg.treatments_for(concept)),
    ):
        confirmed = table[
            table["source"].str.contains("mined") & table["source"].str.contains("curated")
        ]
        print(f"\n{title} seen in the records and confirmed by a curated source:")
        print(confirmed[["label", "n_patients", "q_value", "source"]].to_string(index=False))


if __name__ == "__main__":
    main()
