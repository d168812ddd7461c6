"""False alarms and detections of the skew check, fixed vs calibrated thresholds.

A generated dataset stands in for real serving traffic: heavy-tailed numbers
(log-normal and Pareto), narrow latitude/longitude-like coordinates, a small
count (few distinct values), a category of 250 values with a Zipf-like share,
and two small categories; a few percent of cells are missing. The training
split is one draw of it; serving samples are fresh draws of the same
distribution (every flag is a false alarm) or of a shifted one:

  category +10 pts   each category's second most common value gains 10
                     points of share, taken evenly from the others
  numeric +0.25 sd   each numeric feature's values (but the count's) move up
                     by 0.25 of its sd

The calibration is the pipeline's own: SkewCalibration's executor on the
training split and its statistics. Every sample goes through the check's own
code (TFDV statistics, `validation.skew.compare`) once with the fixed default
threshold (0.1) and once calibrated (the config's defaults). The table gives,
per sample size and mode, the worst feature's false-alarm rate (and the mean
over features), and the detection rate of each shift, the shifted features
pooled per group (categories; heavy tails: trip distance and fare; narrow:
the coordinates). Target: <= 1% false alarms for every feature at every size.

    .venv/bin/python -m benchmarks.skew_benchmark
    .venv/bin/python -m benchmarks.skew_benchmark --samples 200 --sizes 200 500 2000 10000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Optional, Sequence

import numpy as np

SEED = 20261206
ZONES = 250
PAYMENTS = ("card", "cash", "app", "voucher", "dispute")
PAYMENT_SHARES = (0.55, 0.30, 0.10, 0.04, 0.01)
VENDORS = ("a", "b")
MISSING_RATE = 0.03
NUMERIC = ("trip_distance", "fare", "pickup_latitude", "pickup_longitude", "passengers")
CATEGORICAL = ("zone", "payment", "vendor")
FEATURES = NUMERIC + CATEGORICAL
# The count keeps its values: a fraction of a passenger is no shift of it.
HEAVY_TAILED = ("trip_distance", "fare")
NARROW = ("pickup_latitude", "pickup_longitude")
SHIFTED_NUMERIC = HEAVY_TAILED + NARROW
# Detection is reported per group of shifted features.
DETECTED = {"category": CATEGORICAL, "heavy tails": HEAVY_TAILED, "narrow": NARROW}
CATEGORY_SHIFT = 0.10
NUMERIC_SHIFT_SD = 0.25
POOL_ROWS = 400_000


def _zone_shares() -> np.ndarray:
    weights = 1.0 / np.arange(1, ZONES + 1) ** 0.9
    return weights / weights.sum()


def _shifted(shares: np.ndarray) -> np.ndarray:
    """The second most common value gains CATEGORY_SHIFT, taken evenly from the rest."""
    order = np.argsort(-shares, kind="stable")
    target = order[1]
    out = shares.copy()
    others = np.arange(len(shares)) != target
    out[others] -= CATEGORY_SHIFT * shares[others] / shares[others].sum()
    out[target] += CATEGORY_SHIFT
    return out


def generate(rows: int, rng: np.random.Generator, shift: str = "") -> dict[str, list]:
    """Columns of `rows` rows (None where missing), optionally shifted."""
    zone_p, pay_p, vendor_p = _zone_shares(), np.array(PAYMENT_SHARES), np.array([0.62, 0.38])
    if shift == "category":
        zone_p, pay_p, vendor_p = _shifted(zone_p), _shifted(pay_p), _shifted(vendor_p)
    columns = {
        "trip_distance": np.round(rng.lognormal(0.8, 0.9, rows), 2),
        "fare": np.round(2.5 + 6.0 * (rng.pareto(2.5, rows)), 2),
        "pickup_latitude": np.round(rng.normal(40.75, 0.025, rows), 6),
        "pickup_longitude": np.round(rng.normal(-73.97, 0.02, rows), 6),
        "passengers": rng.choice([1, 2, 3, 4, 5, 6], rows, p=[0.7, 0.14, 0.05, 0.03, 0.05, 0.03]),
        "zone": np.array([f"z{i:03d}" for i in range(ZONES)])[rng.choice(ZONES, rows, p=zone_p)],
        "payment": np.array(PAYMENTS)[rng.choice(len(PAYMENTS), rows, p=pay_p)],
        "vendor": np.array(VENDORS)[rng.choice(len(VENDORS), rows, p=vendor_p)],
    }
    if shift == "numeric":
        for name in SHIFTED_NUMERIC:
            values = columns[name]
            columns[name] = values + NUMERIC_SHIFT_SD * float(np.std(values))
    out = {}
    for name, values in columns.items():
        missing = rng.random(rows) < MISSING_RATE
        out[name] = [None if m else v.item() for v, m in zip(values, missing)]
    return out


def serialize(columns: dict[str, list]) -> list[bytes]:
    """Columns -> serialized tf.Examples (tfx_bsl's C++ encoder)."""
    import pyarrow as pa
    from tfx_bsl.coders import example_coder

    arrays, names = [], []
    for name, values in columns.items():
        kind = pa.float32() if name in NUMERIC and name != "passengers" else None
        if name == "passengers":
            kind = pa.int64()
        if kind is None:
            arrays.append(
                pa.array(
                    [None if v is None else [v.encode()] for v in values], pa.list_(pa.binary())
                )
            )
        else:
            arrays.append(pa.array([None if v is None else [v] for v in values], pa.list_(kind)))
        names.append(name)
    batch = pa.RecordBatch.from_arrays(arrays, names)
    return example_coder.RecordBatchToExamplesEncoder().encode(batch)


def _columns():
    from models.raw_features import FLOAT, INT64, STRING, RawColumn

    types = {name: FLOAT for name in NUMERIC} | {"passengers": INT64}
    return [RawColumn(n, types.get(n, STRING), required=False) for n in FEATURES]


def _statistics(records: Sequence[bytes]):
    from validation.statistics import StatisticsAccumulator

    accumulator = StatisticsAccumulator(_columns())
    accumulator.add(list(records))
    return accumulator.result()


def calibrate(train: list[bytes], stats, folder: str, resamples: int, seed: int):
    """SkewCalibration's executor on the training split; returns the calibration."""
    import tensorflow as tf
    from tfx.types import artifact_utils, standard_artifacts

    from components.skew_calibration import executor, spec
    from validation import calibration, statistics

    examples = standard_artifacts.Examples()
    examples.uri = os.path.join(folder, "examples")
    examples.split_names = artifact_utils.encode_split_names(["train"])
    os.makedirs(os.path.join(examples.uri, "Split-train"))
    path = os.path.join(examples.uri, "Split-train", "data_tfrecord-00000-of-00001.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for record in train:
            writer.write(record)
    stats_artifact = standard_artifacts.ExampleStatistics()
    stats_artifact.uri = os.path.join(folder, "statistics")
    stats_artifact.split_names = artifact_utils.encode_split_names(["train"])
    stats_path = statistics.split_stats_path(stats_artifact.uri, "train")
    os.makedirs(os.path.dirname(stats_path))
    with open(stats_path, "wb") as f:
        f.write(stats.SerializeToString())
    output = spec.SkewCalibrationArtifact()
    output.uri = os.path.join(folder, "calibration")
    executor.Executor().Do(
        {spec.STATISTICS_KEY: [stats_artifact], spec.EXAMPLES_KEY: [examples]},
        {spec.CALIBRATION_KEY: [output]},
        {
            spec.FEATURES_KEY: json.dumps(list(FEATURES)),
            spec.SPLIT_KEY: "train",
            spec.SEED_KEY: seed,
            spec.RESAMPLES_KEY: resamples,
        },
    )
    return calibration.read_calibration(output.uri)


def _flags(training, records: Sequence[bytes], thresholds) -> dict[str, bool]:
    from validation import skew

    report = skew.compare(training, _statistics(records), _columns(), thresholds)
    return {f.feature: f.skewed for f in report.features}


def run(
    train_rows: int, sizes: Sequence[int], samples: int, shifted_samples: int, resamples: int
) -> list[dict]:
    """Measures every size; returns one row per (size, mode)."""
    from pipeline.config import ServingConfig
    from validation import skew

    rng = np.random.default_rng(SEED)
    train = serialize(generate(train_rows, rng))
    training = _statistics(train)
    pools = {
        "same": serialize(generate(POOL_ROWS, rng)),
        "category": serialize(generate(POOL_ROWS // 2, rng, "category")),
        "numeric": serialize(generate(POOL_ROWS // 2, rng, "numeric")),
    }
    defaults = ServingConfig()
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        calibration = calibrate(train, training, folder, resamples, SEED)
        calibrate_seconds = time.monotonic() - started
    modes = {
        "fixed 0.1": skew.SkewThresholds(default=defaults.skew_default),
        "calibrated": skew.CalibratedThresholds(
            calibration, defaults.skew_false_alarm_rate, defaults.skew_min_rows
        ),
    }
    rows = []
    for size in sizes:
        alarms = {mode: {f: 0 for f in FEATURES} for mode in modes}
        detected = {mode: {group: 0 for group in DETECTED} for mode in modes}
        for _ in range(samples):
            pick = rng.choice(len(pools["same"]), size, replace=False)
            sample = [pools["same"][i] for i in pick]
            for mode, thresholds in modes.items():
                for feature, flagged in _flags(training, sample, thresholds).items():
                    alarms[mode][feature] += flagged
        for shift, groups in (("category", ["category"]), ("numeric", ["heavy tails", "narrow"])):
            for _ in range(shifted_samples):
                pick = rng.choice(len(pools[shift]), size, replace=False)
                sample = [pools[shift][i] for i in pick]
                for mode, thresholds in modes.items():
                    flags = _flags(training, sample, thresholds)
                    for group in groups:
                        detected[mode][group] += sum(flags[f] for f in DETECTED[group])
        for mode in modes:
            worst = max(FEATURES, key=lambda f: alarms[mode][f])
            rows.append(
                {
                    "size": size,
                    "mode": mode,
                    "worst_false_alarms": alarms[mode][worst] / samples,
                    "worst_feature": worst,
                    "mean_false_alarms": sum(alarms[mode].values()) / samples / len(FEATURES),
                    "detected": {
                        group: detected[mode][group] / shifted_samples / len(features)
                        for group, features in DETECTED.items()
                    },
                    "calibrate_seconds": calibrate_seconds,
                }
            )
    return rows


def table(rows: Sequence[dict], train_rows: int, samples: int, shifted: int) -> str:
    """The results as text."""
    lines = [
        f"skew check on {train_rows:,} training rows: {samples} same-distribution samples "
        f"and {shifted} shifted samples per size",
        f"calibration (SkewCalibration, {rows[0]['calibrate_seconds']:.1f}s)",
        "",
        f"{'':>7}  {'':<11} {'false alarms':>30} {'':>7}  {'detected':>10} "
        f"{'+0.25 sd':>12} {'+0.25 sd':>9}",
        f"{'size':>7}  {'mode':<11} {'worst feature':>30} {'mean':>7}  {'cat +10pt':>10} "
        f"{'heavy tails':>12} {'narrow':>9}",
    ]
    for row in rows:
        worst = f"{row['worst_false_alarms']:.1%} ({row['worst_feature']})"
        found = row["detected"]
        lines.append(
            f"{row['size']:>7,}  {row['mode']:<11} {worst:>30} {row['mean_false_alarms']:>7.1%}  "
            f"{found['category']:>10.0%} {found['heavy tails']:>12.0%} {found['narrow']:>9.0%}"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 500, 2_000, 10_000])
    parser.add_argument("--samples", type=int, default=200, help="same-distribution, per size")
    parser.add_argument("--shifted-samples", type=int, default=50, help="per shift and size")
    parser.add_argument("--resamples", type=int, default=100, help="calibration, per size")
    args = parser.parse_args(argv)
    if min(args.train_rows, args.samples, args.shifted_samples, args.resamples, *args.sizes) <= 0:
        parser.error(
            "--train-rows, --sizes, --samples, --shifted-samples and --resamples must be positive"
        )
    if max(args.sizes) > POOL_ROWS // 2:
        parser.error(f"--sizes: at most {POOL_ROWS // 2:,} (the shifted pools' rows)")
    rows = run(args.train_rows, args.sizes, args.samples, args.shifted_samples, args.resamples)
    print(table(rows, args.train_rows, args.samples, args.shifted_samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
