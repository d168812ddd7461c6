"""Deterministic three-class data: penguin species from bill and body measurements.

Cascade's second example, for a label that is text with three classes
(`configs/penguins.yaml`): penguins measured on three islands, each island one
source, the species (Adelie, Chinstrap, Gentoo) the label. The measurements
are drawn around each species' typical values, so a small model separates
the species well but not perfectly.

The islands hold different species, as in the field: Biscoe has Adelie and
Gentoo, Dream has Adelie and Chinstrap, and Torgersen has Adelie and a single
Chinstrap, so the split meets a stratum of one row. About a third of the
`sex` cells are empty. `serving/new_penguins.csv` holds penguins to score,
with a `species` column that names, for two of them, a species the training
data never saw (Emperor).

All randomness comes from one `random.Random(SEED)`, so the files are
byte-identical on every run.

Usage::

    python data/penguins/generate.py [--out data/penguins]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
from typing import Optional, Sequence

SEED = 20261206
HEADER = ["penguin_id", "bill_length_mm", "bill_depth_mm", "body_mass_g", "sex", "species"]
# Typical bill length, bill depth (mm) and body mass (g) per species.
SPECIES = {
    "Adelie": (38.8, 18.3, 3700),
    "Chinstrap": (48.8, 18.4, 3730),
    "Gentoo": (47.5, 15.0, 5076),
}
# Per island: penguins drawn from a species mix, then penguins always added.
ISLANDS = {
    "biscoe": (400, {"Adelie": 0.4, "Gentoo": 0.6}, []),
    "dream": (300, {"Adelie": 0.45, "Chinstrap": 0.55}, []),
    "torgersen": (120, {"Adelie": 1.0}, ["Chinstrap"]),
}
SERVING_ROWS = 60
UNSEEN_SPECIES = "Emperor"


def _measured(rng: random.Random, prefix: str, i: int, species: str) -> list[object]:
    """One penguin's row: id, measurements around its species' means, sex, species."""
    bill_length, bill_depth, mass = SPECIES[species]
    return [
        f"{prefix}-{i:05d}",
        round(rng.gauss(bill_length, 2.5), 1),
        round(rng.gauss(bill_depth, 1.0), 1),
        int(rng.gauss(mass, 350)),
        rng.choice(["male", "female", ""]),
        species,
    ]


def _write(path: str, rows: Sequence[Sequence[object]]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def write_penguins(out: str) -> dict[str, list[str]]:
    """Writes every island's `<out>/<island>/penguins.csv` and the serving file.

    Args:
      out: The data folder.

    Returns:
      Island -> the species of each row written, in file order.
    """
    rng = random.Random(SEED)
    written = {}
    for island, (rows, mix, extra) in ISLANDS.items():
        species = rng.choices(list(mix), weights=list(mix.values()), k=rows) + extra
        _write(
            os.path.join(out, island, "penguins.csv"),
            [_measured(rng, island, i, name) for i, name in enumerate(species)],
        )
        written[island] = species
    serving = [_measured(rng, "new", i, rng.choice(list(SPECIES))) for i in range(SERVING_ROWS)]
    for row in serving[:2]:
        row[-1] = UNSEEN_SPECIES
    _write(os.path.join(out, "serving", "new_penguins.csv"), serving)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Writes the penguin data; prints rows per island and species."""
    parser = argparse.ArgumentParser(description="Generate the three-class penguin data.")
    parser.add_argument(
        "--out",
        default=os.path.dirname(os.path.abspath(__file__)),
        help="the data folder (default: this script's folder)",
    )
    args = parser.parse_args(argv)
    for island, species in write_penguins(args.out).items():
        counts = ", ".join(f"{name} {species.count(name)}" for name in sorted(set(species)))
        print(f"{island}: {len(species)} rows ({counts})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
