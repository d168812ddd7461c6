"""metadata.training_statistics.calibration_of: the calibration beside a model's statistics."""

from __future__ import annotations

import json
from typing import Sequence

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from metadata import names
from metadata.training_statistics import calibration_of


class _Store:
    """An in-memory store with statistics and the executions that read them."""

    def __init__(self) -> None:
        config = pb.ConnectionConfig()
        config.fake_database.SetInParent()
        self.store = metadata_store.MetadataStore(config)
        self.stats_type = self.store.put_artifact_type(
            pb.ArtifactType(name=names.EXAMPLE_STATISTICS)
        )
        self.calibration_type = self.store.put_artifact_type(
            pb.ArtifactType(name=names.SKEW_CALIBRATION)
        )
        self.step_type = self.store.put_execution_type(pb.ExecutionType(name="Step"))

    def statistics(self) -> int:
        [stats_id] = self.store.put_artifacts(
            [pb.Artifact(type_id=self.stats_type, uri="/s", state=pb.Artifact.LIVE)]
        )
        return stats_id

    def calibrate(
        self,
        statistics_id: int,
        features: Sequence[str],
        reuse: int | None = None,
        state: int = pb.Artifact.LIVE,
    ) -> int:
        """One execution reading `statistics_id` and writing a calibration (or reusing one)."""
        if reuse is None:
            calibration = pb.Artifact(type_id=self.calibration_type, uri="/c", state=state)
            calibration.custom_properties["features"].string_value = json.dumps(list(features))
            [reuse] = self.store.put_artifacts([calibration])
        [execution_id] = self.store.put_executions([pb.Execution(type_id=self.step_type)])
        self.store.put_events(
            [
                pb.Event(artifact_id=statistics_id, execution_id=execution_id, type=pb.Event.INPUT),
                pb.Event(artifact_id=reuse, execution_id=execution_id, type=pb.Event.OUTPUT),
            ]
        )
        return reuse

    def scoring(self, statistics_id: int) -> None:
        """A scoring that reads the statistics and writes something else."""
        other = self.store.put_artifact_type(pb.ArtifactType(name="Predictions"))
        [output] = self.store.put_artifacts([pb.Artifact(type_id=other, uri="/p")])
        [execution_id] = self.store.put_executions([pb.Execution(type_id=self.step_type)])
        self.store.put_events(
            [
                pb.Event(artifact_id=statistics_id, execution_id=execution_id, type=pb.Event.INPUT),
                pb.Event(artifact_id=output, execution_id=execution_id, type=pb.Event.OUTPUT),
            ]
        )


def _id(artifact) -> int | None:
    return artifact.id if artifact is not None else None


def test_no_calibration_type_or_none_of_these_statistics_gives_none() -> None:
    config = pb.ConnectionConfig()
    config.fake_database.SetInParent()
    assert calibration_of(metadata_store.MetadataStore(config), 1, ["a"]) is None
    fake = _Store()
    first, second = fake.statistics(), fake.statistics()
    fake.calibrate(first, ["a"])
    fake.scoring(second)
    assert calibration_of(fake.store, second, ["a"]) is None


def test_the_calibration_the_newest_run_used_wins_even_if_an_older_artifact() -> None:
    fake = _Store()
    stats = fake.statistics()
    older = fake.calibrate(stats, ["a", "b"])
    newer = fake.calibrate(stats, ["a", "b"])
    fake.scoring(stats)
    assert calibration_of(fake.store, stats, ["a", "b"]).id == newer
    # A reverted change: the next run's cached execution outputs the older one.
    fake.calibrate(stats, ["a", "b"], reuse=older)
    assert calibration_of(fake.store, stats, ["a", "b"]).id == older


def test_only_a_live_calibration_made_for_every_model_feature_counts() -> None:
    fake = _Store()
    stats = fake.statistics()
    wide = fake.calibrate(stats, ["a", "b"])
    fake.calibrate(stats, ["a"])
    fake.calibrate(stats, ["a", "b", "c"], state=pb.Artifact.PENDING)
    assert _id(calibration_of(fake.store, stats, ["a", "b"])) == wide
    assert _id(calibration_of(fake.store, stats, ["a", "b", "c"])) is None
