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
            "scheduling*",
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
        # OpenLineage events for data catalogs (`cascade lineage export --openlineage`).
        "openlineage-python==1.54.0",
    ],
    extras_require={
        # Scheduled runs on Apache Airflow (`cascade schedule airflow`). TFX 1.16's
        # Airflow support needs Airflow < 3. The providers Airflow 2.10 installs by
        # default are pinned too: their newest releases require Airflow 3.
        "airflow": [
            "apache-airflow==2.10.5",
            "apache-airflow-providers-common-compat==1.3.0",
            "apache-airflow-providers-common-io==1.5.0",
            "apache-airflow-providers-common-sql==1.21.0",
            "apache-airflow-providers-fab==1.5.2",
            "apache-airflow-providers-ftp==3.12.0",
            "apache-airflow-providers-http==5.0.0",
            "apache-airflow-providers-imap==3.8.0",
            "apache-airflow-providers-smtp==1.9.0",
            "apache-airflow-providers-sqlite==4.0.0",
        ],
        # Vertex AI Pipelines / Kubeflow Pipelines v2 specs (`cascade schedule vertex`):
        # TFX's KubeflowV2DagRunner needs only the pipeline-spec protos, not kfp.
        "vertex": ["kfp-pipeline-spec==0.2.2"],
    },
    entry_points={"console_scripts": ["cascade=cli.main:main"]},
)
