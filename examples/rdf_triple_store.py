"""Write the knowledge graph as RDF, push it to a SPARQL triple store and query it there.

Start a triple store first, for instance Oxigraph (``pip install oxigraph``
gives the ``oxigraph`` command), on your own machine only:

    oxigraph serve --location kgmed-store --bind 127.0.0.1:7878

then give its URL:

    python examples/rdf_triple_store.py http://127.0.0.1:7878
    python examples/rdf_triple_store.py http://127.0.0.1:7878 --disease asthma --out out
    python examples/rdf_triple_store.py http://127.0.0.1:7878 --graph https://example.org/graphs/flu
    python examples/rdf_triple_store.py

It builds the graph from the bundled sample records (or --records, a CSV
file of your own), checks the RDF export against kgmed's SHACL shapes,
writes it as Turtle (graph.ttl in --out), pushes it into the named graph
--graph of the store (replacing what that graph held) and runs two SPARQL
queries there: how many triples the graph holds, and the symptoms of
--disease with the patients and lift of each. Without a URL the same
queries run in-process, on pyoxigraph's in-memory store, and the script
says how to start a server. A URL with no path is taken as an Oxigraph
server; for Fuseki and GraphDB give the Graph Store endpoint and
--update-endpoint / --query-endpoint (see docs/triple-stores.md).

The store receives what the Turtle file holds: concepts, relations and
their evidence, no patient identifier, and no relation held by fewer than
--min-patients patients (11 by default).
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

import kgmed

SAMPLE = Path(__file__).parent / "data" / "records.csv"

TRIPLES = "SELECT (COUNT(*) AS ?triples) WHERE {{ {scope} {{ ?s ?p ?o }} }}"

SYMPTOMS = """
PREFIX kgmed: <https://w3id.org/kgmed/vocab#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?symptom ?patients ?lift ?q_value WHERE {{
  {scope} {{
    ?association a kgmed:Association ;
        kgmed:subject <{disease}> ;
        kgmed:predicate kgmed:hasSymptom ;
        kgmed:object ?concept ;
        kgmed:nPatients ?patients ;
        kgmed:lift ?lift ;
        kgmed:qValue ?q_value .
    ?concept skos:prefLabel ?symptom .
  }}
}}
ORDER BY DESC(?patients) ?symptom
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "endpoint",
        nargs="?",
        help="the store's Graph Store URL (an Oxigraph server: http://127.0.0.1:7878)",
    )
    parser.add_argument(
        "--graph",
        default="https://example.org/graphs/kgmed-sample",
        help="the named graph to write and query (an absolute IRI)",
    )
    parser.add_argument("--update-endpoint", help="the store's SPARQL Update URL, if needed")
    parser.add_argument("--query-endpoint", help="the store's SPARQL query URL, if not endpoint")
    parser.add_argument("--disease", default="influenza", help="the disease to ask about")
    parser.add_argument("--records", default=SAMPLE, help="records CSV; the bundled sample")
    parser.add_argument("--min-patients", type=int, default=11)
    parser.add_argument("--out", default="out", help="where graph.ttl is written")
    args = parser.parse_args()

    try:
        records = kgmed.read_records(args.records, code="code", system="system")
        kg = kgmed.build(records, min_patients=args.min_patients)
        disease = kg.resolve(args.disease, kind="disease")
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")
    label = kg.graph.nodes[disease]["label"]
    print(kg)

    rdf = kg.to_rdf()
    violations = kgmed.rdf.validate(rdf)
    print(f"RDF export: {len(rdf):,} triples, {len(violations)} SHACL violations")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = kg.save(out / "graph.ttl")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")

    iri = kgmed.rdf.concept_iri(disease)
    if args.endpoint is None:
        print(
            "\nNo triple store given: the queries run in-process, on pyoxigraph's in-memory "
            "store.\nTo use a server, start one (oxigraph serve --location kgmed-store --bind "
            "127.0.0.1:7878)\nand run: python examples/rdf_triple_store.py http://127.0.0.1:7878"
        )
        count = kg.sparql(TRIPLES.format(scope=""))
        symptoms = kg.sparql(SYMPTOMS.format(scope="", disease=iri))
    else:
        where = args.query_endpoint or args.endpoint
        scope = f"GRAPH <{args.graph}>"
        try:
            result = kgmed.rdf.push(
                kg, args.endpoint, graph=args.graph, update_endpoint=args.update_endpoint
            )
            print(
                f"\npushed {result.triples:,} triples to {result.endpoint}, graph {result.graph}, "
                f"in {result.chunks} request(s) by the {result.method} protocol"
            )
            count = kgmed.rdf.query(where, TRIPLES.format(scope=scope))
            symptoms = kgmed.rdf.query(where, SYMPTOMS.format(scope=scope, disease=iri))
        except (kgmed.TripleStoreError, kgmed.ParameterError) as err:
            sys.exit(f"{type(err).__name__}: {err}")
        print(f"queries go to {where}")

    print(f"\nTriples in the graph, counted by the store: {int(count['triples'].iloc[0]):,}")
    print(f"\nSymptoms of {label} ({iri}), as the store answers:")
    with pd.option_context("display.width", 120):
        table = symptoms.assign(
            lift=symptoms["lift"].round(2), q_value=symptoms["q_value"].map("{:.1e}".format)
        )
        print(table.to_string(index=False))

    local = kg.symptoms_of(disease).sort_values(["n_patients", "label"], ascending=[False, True])
    agree = local[["label", "n_patients"]].to_numpy().tolist() == (
        symptoms[["symptom", "patients"]].to_numpy().tolist()
    )
    print(f"\nThe same as kg.symptoms_of({label!r}): {'yes' if agree else 'no'}")


if __name__ == "__main__":
    main()
