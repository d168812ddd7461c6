"""Cascade: the package users install, and the one Dataflow workers install (--setup_file).

`requirements.lock` pins the full resolved set for local installs. Dataflow
workers install this package with pip on top of Beam's image, so the direct
dependencies are pinned here too, to the versions the lock (and the test suite)
uses; tests/project/test_packaging.py keeps the two in step.
"""

import setuptools

setuptools.setup(
    name="cascade-tfx",
    version="0.1.0",
    description="A replicable TFX data pipeline: ingest, clean, split, transform, train, with lineage.",
    python_requires=">=3.9,<3.11",
    packages=setuptools.find_packages(
        include=[
            "core*",
            "pipeline*",
            "components*",
            "transforms*",
            "models*",
            "validation*",
            "metadata*",
            "serving*",
            "services*",
            "cli*",
        ]
    ),
    install_requires=[
        "tfx==1.16.0",
        "apache-beam[gcp]==2.74.0",
        "tensorflow==2.16.2",
        "tf-keras==2.16.0",
        "tensorflow-transform==1.16.0",
        "ml-metadata==1.16.0",
        "dill==0.4.1",
        "pyyaml==6.0.4",
        "matplotlib==3.10.9",
        "argcomplete==3.7.2",
    ],
    entry_points={"console_scripts": ["cascade=cli.main:main"]},
)
