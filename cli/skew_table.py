"""The skew check's report: its per-feature table, worst feature first, and `--fail-on-skew`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from core.errors import CheckFailedError

if TYPE_CHECKING:  # the types only: importing them would import Beam (`cascade --help` stays fast)
    from services.skew_check import SkewOutcome
    from validation.skew import SkewReport


def skew_table(report: SkewReport, reference: str) -> str:
    """The report as text: a heading, then one line per feature.

    Each line gives the feature, its measure, its values in the serving data
    (the sample size its threshold is for), the distance, the threshold and
    the verdict.

    Args:
      report: The comparison (`validation.skew.compare`).
      reference: What the serving data was compared with, for the heading.
    """
    skewed = report.skewed
    judged = [f for f in report.features if not f.low_power or f.skewed]
    if skewed:
        verdict = f"{len(skewed)} of {len(report.features)} features over their threshold"
    elif judged:
        verdict = (
            f"no skew: {len(judged)} of {len(report.features)} features within their thresholds"
        )
    else:
        verdict = "no verdict: too few rows for the check to tell"
    lines = [
        f"  skew check: {report.serving_rows:,} serving rows vs {report.training_rows:,} "
        f"training rows ({reference}): {verdict}",
        f"  {report.thresholds}",
        f"    {'feature':<22} {'measure':<15} {'values':>8} {'distance':>9} {'threshold':>10}  "
        "verdict",
    ]
    for feature in report.features:
        note = f" ({feature.note})" if feature.note else ""
        lines.append(
            f"    {feature.feature:<22} {feature.measure:<15} {feature.values:>8,} "
            f"{feature.distance:>9.4f} {feature.threshold:>10.4f}  {feature.verdict}{note}"
        )
    low = [f.feature for f in report.features if f.low_power and not f.skewed]
    if low:
        lines.append(
            f"  {len(low)} feature(s) have too few serving values for a verdict: "
            "the distance between samples this small and the training data varies too "
            "much to tell skew from chance"
        )
    return "\n".join(lines)


def fail_if_skewed(outcome: Optional[SkewOutcome], report_text: str, what_was_kept: str) -> None:
    """`--fail-on-skew`: raises CheckFailedError when a feature is over its threshold.

    Args:
      outcome: The check (None: no check was made).
      report_text: The command's whole report, printed before the error.
      what_was_kept: What the command still wrote, for the error line.

    Raises:
      CheckFailedError: Naming the skewed features (exit code 1).
    """
    if outcome is None or not outcome.report.skewed:
        return
    names = ", ".join(f.feature for f in outcome.report.skewed)
    raise CheckFailedError(
        f"training/serving skew over the threshold in {names} (--fail-on-skew); {what_was_kept}",
        report_text,
    )
