"""The `inventory` command's table: declared fields beside measured rows, cost per label."""

from __future__ import annotations

from typing import Optional

from metadata.inventory_report import Inventory


def _money(amount: Optional[float], currency: str, digits: int = 0) -> str:
    return "-" if amount is None else f"{amount:,.{digits}f} {currency}"


def _percent(rate: Optional[float]) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def format_inventory(inventory: Inventory) -> str:
    """The inventory as a table, then each source's description and files."""
    header = (
        "source",
        "owner",
        "labelling",
        "collected",
        "days",
        "cost",
        "rows",
        "labelled",
        "positive",
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
                _percent(m.get("positive_rate")),
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
            _percent(positives / labelled) if binary and labelled else "-",
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
