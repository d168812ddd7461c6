"""`cascade inventory`: each source's declared inventory beside its measured facts.

    cascade inventory [--run RUN] [--pipeline NAME] [--format json]

The table puts what the config declares (owner, labelling method, cost)
beside what the run measured (rows ingested, kept, labelled, and the share of
positives for a 0/1 label, else the share of each class) and the cost per
labelled example; a spanned source's line names the spans read and their
rows, and any source's line the entries of its folders that were not read
(files that are not `.csv` or `.csv.gz`, subfolders). Read-only; no
TensorFlow import.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Optional

from cli.lineage import add_format_flag, open_store
from components.source_example_gen.properties import NOT_READ
from metadata.inventory_report import Inventory


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `inventory` to the `cascade` command tree."""
    parser = commands.add_parser(
        "inventory",
        parents=[shared],
        help="each source's declared inventory beside its measured facts",
        description="Each source's declared inventory (owner, labelling, cost) beside the rows "
        "a run measured.",
    )
    parser.add_argument("--pipeline", help="pipeline name (default: the store's only one)")
    parser.add_argument("--run", help="a run id (default: the latest run)")
    add_format_flag(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> str:
    """Reads the inventory of a run; returns the table or JSON.

    Raises:
      CascadeError: The store, pipeline or run cannot be found (naming it).
    """
    from metadata import inventory_report

    found = inventory_report.read_inventory(open_store(args), args.pipeline, args.run)
    if args.format == "json":
        return json.dumps(found.to_json(), indent=2)
    return format_inventory(found)


def _money(amount: Optional[float], currency: str, digits: int = 0) -> str:
    return "-" if amount is None else f"{amount:,.{digits}f} {currency}"


def _percent(rate: Optional[float]) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _class_shares(class_counts: dict[str, int]) -> str:
    """Each class's share of the labelled rows: "Adelie 44% · Chinstrap 20% · Gentoo 36%"."""
    labelled = sum(class_counts.values())
    if not labelled:
        return "-"
    return " · ".join(f"{c} {n / labelled:.0%}" for c, n in class_counts.items())


def _spans_text(spans_read: list[dict[str, Any]]) -> str:
    """A spanned source's spans and their rows: "spans 1-2 (span 1: 50 rows, span 2: 60 rows)"."""
    from core import spans

    rows = ", ".join(f"span {s['span']}: {s.get('rows', 0):,} rows" for s in spans_read)
    return f"{spans.describe([s['span'] for s in spans_read])} ({rows})"


def _not_read_text(folders: list[dict[str, Any]]) -> str:
    """What ingestion did not read of a source's folders: "; not read in data/web: notes.txt (...)"."""
    from core.source_folders import describe

    return "".join(
        f"; not read in {folder['folder']}: {describe(folder['names'])}" for folder in folders
    )


def format_inventory(inventory: Inventory) -> str:
    """The inventory as a table, then each source's description and files.

    The label's column is the positive share for a 0/1 label, else each
    class's share of the source's labelled rows.
    """
    zero_one = inventory.zero_one_label
    header = (
        "source",
        "owner",
        "labelling",
        "collected",
        "days",
        "cost",
        "rows",
        "labelled",
        "positive" if zero_one else "classes",
        "cost/label",
    )
    table = [header]
    for row in inventory.sources:
        d, m = row.declared or {}, row.measured
        currency = d.get("currency", "")
        table.append(
            (
                row.source,
                d.get("owner", "-"),
                d.get("labelling_method", "-"),
                d.get("collected_on", "-"),
                f"{d['collection_days']:g}" if d else "-",
                _money(d.get("collection_cost"), currency),
                f"{m['rows']:,}",
                f"{m['labelled']:,}",
                _percent(m.get("positive_rate")) if zero_one else _class_shares(row.class_counts),
                _money(row.cost_per_labelled_example, currency, 2),
            )
        )
    currencies = {r.declared["currency"] for r in inventory.sources if r.declared}
    declared_all = all(r.declared for r in inventory.sources)
    rows = sum(r.measured["rows"] for r in inventory.sources)
    labelled = sum(r.measured["labelled"] for r in inventory.sources)
    if declared_all and len(currencies) == 1 and inventory.sources:
        [currency] = currencies
        cost = sum(r.declared["collection_cost"] for r in inventory.sources)
        per_label = _money(cost / labelled, currency, 2) if labelled else "-"
        total_cost = _money(cost, currency)
    else:
        total_cost = per_label = "-"
    positives = sum(r.measured.get("label_counts", {}).get("1", 0) for r in inventory.sources)
    binary = all(r.measured.get("positive_rate") is not None for r in inventory.sources)
    if zero_one:
        label_total = _percent(positives / labelled) if binary and labelled else "-"
    else:
        label_total = _class_shares(inventory.class_counts)
    table.append(
        (
            "total",
            "",
            "",
            "",
            "",
            total_cost,
            f"{rows:,}",
            f"{labelled:,}",
            label_total,
            per_label,
        )
    )
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    left = {0, 1, 2, 3}
    lines = [
        f"Data inventory of {inventory.pipeline}, run {inventory.run}",
        f"(declared in the config, measured at ingestion: #{inventory.artifact_id} "
        f"{inventory.artifact_uri})",
        "",
    ]
    for line in table:
        cells = [
            str(v).ljust(widths[i]) if i in left else str(v).rjust(widths[i])
            for i, v in enumerate(line)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    lines.append("")
    for row in inventory.sources:
        m = row.measured
        files = f"{m['files']} file{'s' if m['files'] != 1 else ''}, {m['bytes']:,} bytes, sha256 {m['sha256'][:12]}"
        if m.get("spans"):
            files += "; " + _spans_text(m["spans"])
        files += _not_read_text(m.get(NOT_READ, []))
        if row.declared:
            d = row.declared
            lines.append(
                f"  {row.source}: {d['description']}; labellers: {d['labeller_qualification']}; {files}"
            )
        else:
            lines.append(f"  {row.source}: {files}")
    if not any(r.declared for r in inventory.sources):
        lines.append("")
        lines.append(
            "  no inventory declared: add an `inventory:` section to the config (README, 'Your own dataset')"
        )
    return "\n".join(lines)
