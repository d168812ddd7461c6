"""The skew check's per-feature table, worst feature first."""

from __future__ import annotations

from serving.skew import SkewReport


def skew_table(report: SkewReport, reference: str) -> str:
    """The report as text: a heading, then feature, measure, distance, threshold, verdict.

    Args:
      report: The comparison (`serving.skew.compare`).
      reference: What the serving data was compared with, for the heading.
    """
    skewed = report.skewed
    verdict = (
        f"{len(skewed)} of {len(report.features)} features over their threshold"
        if skewed
        else f"no skew: all {len(report.features)} features within their thresholds"
    )
    lines = [
        f"  skew check: {report.serving_rows:,} serving rows vs {report.training_rows:,} "
        f"training rows ({reference}): {verdict}",
        f"    {'feature':<22} {'measure':<15} {'distance':>9} {'threshold':>10}  verdict",
    ]
    for feature in report.features:
        note = f" ({feature.note})" if feature.note else ""
        lines.append(
            f"    {feature.feature:<22} {feature.measure:<15} {feature.distance:>9.4f} "
            f"{feature.threshold:>10.4f}  {feature.verdict}{note}"
        )
    return "\n".join(lines)
