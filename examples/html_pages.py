"""Write interactive HTML pages of the knowledge graph: whole, around a concept, a patient, paths.

    python examples/html_pages.py
    python examples/html_pages.py --focus asthma --patient wheezing cough --path cough albuterol
    python examples/html_pages.py --records visits.csv --out pages

It builds the graph from the bundled sample records (or --records, a CSV
file of your own) and writes four pages to --out (``pages`` by default):

- graph.html, the whole graph (at most --max-nodes concepts);
- <focus>.html, the concepts within --depth relations of --focus;
- patient.html, one patient's findings (--patient) linked to the
  knowledge: the leading diagnoses, their treatments, what to ask next;
- paths.html, the --k best paths between the two concepts of --path.

It prints each file with what it draws. Open the pages in any browser:
they hold everything they need and load nothing from the network. Hover a
concept or a relation for the evidence behind it. Relations held by fewer
than --min-patients patients (11 by default) are not in the graph; no
patient identifier is written.
"""

import argparse
import re
import sys
from pathlib import Path

import kgmed

SAMPLE = Path(__file__).parent / "data" / "records.csv"


def file_name(label: str) -> str:
    """A file name for a concept's page: ``heart failure`` -> ``heart-failure.html``."""
    return (re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "focus") + ".html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default=SAMPLE, help="records CSV; the bundled sample")
    parser.add_argument("--out", default="pages", help="folder the pages are written to")
    parser.add_argument("--focus", default="influenza", help="concept of the neighbourhood page")
    parser.add_argument("--depth", type=int, default=1, help="relations away from --focus")
    parser.add_argument(
        "--patient",
        nargs="+",
        default=["fever", "cough", "muscle pain"],
        help="the patient's findings",
    )
    parser.add_argument(
        "--path",
        nargs=2,
        default=["fever", "oseltamivir"],
        metavar=("SOURCE", "TARGET"),
        help="the two ends of the paths page",
    )
    parser.add_argument("--k", type=int, default=3, help="paths drawn")
    parser.add_argument("--max-nodes", type=int, default=500, help="concepts per page at most")
    parser.add_argument("--min-patients", type=int, default=11)
    args = parser.parse_args()

    out = Path(args.out)
    try:
        records = kgmed.read_records(args.records, code="code", system="system")
        kg = kgmed.build(records, min_patients=args.min_patients)
        focus = kg.graph.nodes[kg.resolve(args.focus)]["label"]
        link = kg.link(args.patient)
        paths = kg.paths(*args.path, k=args.k)
        pages = {
            "graph.html": kg.show(max_nodes=args.max_nodes, title="kgmed: the whole graph"),
            file_name(focus): kg.show(
                focus=focus,
                depth=args.depth,
                max_nodes=args.max_nodes,
                title=f"kgmed: {focus} and its neighbours",
            ),
            "patient.html": link.show(title="kgmed: one patient linked to the knowledge"),
            "paths.html": kgmed.viz.paths_page(
                paths, title=f"kgmed: paths from {args.path[0]} to {args.path[1]}"
            ),
        }
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")

    print(kg, end="\n\n")
    out.mkdir(parents=True, exist_ok=True)
    print(f"Pages written to {out}:")
    width = max(map(len, pages))
    for name, page in pages.items():
        path = page.save(out / name)
        print(
            f"  {name:<{width}}  {page.n_nodes:>3,} of {page.n_nodes_total:,} concepts, "
            f"{page.n_edges:>4,} of {page.n_edges_total:,} relations "
            f"({path.stat().st_size / 1024:,.0f} KiB)"
        )
        if (page.n_nodes, page.n_edges) != (page.n_nodes_total, page.n_edges_total):
            for note in page.notes:
                print(f"  {'':<{width}}  {note}")

    leading = link.diagnoses.iloc[0]["label"] if len(link.diagnoses) else "none"
    print(f"\npatient.html: {', '.join(args.patient)}; leading diagnosis {leading}.")
    if paths:
        found = f"{len(paths)} paths" if len(paths) > 1 else "1 path"
        print(f"paths.html: the best of {found} is {paths[0].explain()}")
    else:
        print(f"paths.html: no path from {args.path[0]} to {args.path[1]} within 3 relations.")
    print("\nOpen them in any browser; they work offline. Hover for the evidence.")


if __name__ == "__main__":
    main()
