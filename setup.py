"""Cascade: the package users install, and the one Dataflow workers install (--setup_file).

Dependencies are pinned by `requirements.lock` (the full resolved set); this file
names only the direct ones so the package stays installable beside other pins.
"""

import setuptools

setuptools.setup(
    name="cascade-tfx",
    version="0.1.0",
    description="A replicable TFX data pipeline: ingest, clean, split, transform, train, with lineage.",
    python_requires=">=3.9,<3.11",
    packages=setuptools.find_packages(
        include=["pipeline*", "components*", "transforms*", "models*"]
    ),
    install_requires=[
        "tfx==1.16.0",
        "apache-beam[gcp]",
        "tensorflow",
        "tensorflow-transform",
        "ml-metadata",
        "dill",
        "pyyaml",
    ],
    entry_points={"console_scripts": ["cascade-lineage=pipeline.lineage_cli:main"]},
)
