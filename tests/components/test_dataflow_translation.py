"""CsvSourceExampleGen, CleanExamples and StratifiedSplit translate to Dataflow jobs, offline.

Each component's Beam graph is built on a DataflowRunner pipeline in dry-run
mode (a fake project, a `gs://` bucket for the outputs; nothing is submitted)
and must translate; the job must hold the steps that do the work.
"""

from __future__ import annotations

from tfx.types import artifact_utils, standard_artifacts

from components.clean_examples.executor import Executor as CleanExecutor
from components.common import counts, examples_io
from components.source_example_gen import executor as source_executor
from components.stratified_split.executor import Executor as SplitExecutor
from components.stratified_split.options import SplitOptions
from tests.components import test_clean_examples_executor as clean_fixtures
from tests.components import test_stratified_split_executor as split_fixtures
from tests.dataflow_dry_run import BUCKET, dataflow_pipeline, translate


def _gcs_examples(name: str, splits: list[str], like) -> standard_artifacts.Examples:
    output = standard_artifacts.Examples()
    output.uri = f"{BUCKET}/cascade/dry-run/{name}/1"
    examples_io.set_output_splits(output, splits, like)
    return output


def test_csv_source_example_gen_translates_to_a_dataflow_job(tmp_path):
    csv_file = tmp_path / "users.csv"
    csv_file.write_text("user_id,label\nu1,1\nu2,0\n")
    output = standard_artifacts.Examples()
    output.uri = f"{BUCKET}/cascade/dry-run/examples/1"
    output.split_names = artifact_utils.encode_split_names(["web"])
    pipeline = dataflow_pipeline()
    counted, _, _ = source_executor.ingest_source(
        pipeline, "web", [(None, str(csv_file))], ["user_id", "label"], output, "label"
    )
    counted | counts.WriteCounted(counts.counts_path(output.uri, "label_counts"))
    steps = translate(pipeline)
    expected = {
        "TypeRows[web]",
        "MergeTypes[web]",
        "EncodeRows[web]",
        "EncodeBatches[web]",
        "WriteWebDataTfrecord",
    }
    assert expected <= steps, sorted(expected - steps)


def test_clean_examples_translates_to_a_dataflow_job(tmp_path):
    raw = clean_fixtures.raw_examples(tmp_path)
    cleaned = _gcs_examples("cleaned", ["cleaned"], raw)
    rejected = _gcs_examples("rejected", ["rejected"], raw)
    pipeline = dataflow_pipeline()
    CleanExecutor._clean(
        pipeline,
        raw,
        clean_fixtures.spam_examples(tmp_path),
        clean_fixtures.options(),
        cleaned,
        rejected,
        counts.counts_path(cleaned.uri, "row_counts"),
        counts.counts_path(cleaned.uri, "extra_counts"),
        f"{BUCKET}/cascade/dry-run/tmp/clean",
        f"{BUCKET}/cascade/dry-run/tmp/clean/id_map.arrow",
    )
    steps = translate(pipeline)
    sources = examples_io.split_names(raw)
    expected = {
        "ParseSpamIds",
        "MarkSpam",
        "WriteRemovals",
        "GroupPeopleByShard",
        "DecidePerPerson",
        "ShareOutCopies",
        "ResolveTies",
        "WriteRowCounts",
        *(f"Facts{s.capitalize()}" for s in sources),
        *(f"Route{s.capitalize()}" for s in sources),
        *(f"WriteCleaned{s.capitalize()}Tfrecord" for s in sources),
        *(f"WriteRejected{s.capitalize()}Tfrecord" for s in sources),
    }
    assert expected <= steps, sorted(expected - steps)


def test_stratified_split_translates_to_a_dataflow_job(tmp_path):
    examples = split_fixtures.write_examples(
        tmp_path, {"train": [split_fixtures.labelled_records(40, 12)]}
    )
    options = SplitOptions.from_exec_properties(
        {
            "ratios": '[["train", 0.6], ["dev", 0.2], ["test", 0.2]]',
            "label": "label",
            "stratify_by": "[]",
            "group_by": None,
            "seed": 7,
        }
    )
    output = _gcs_examples("split", options.split_names, examples)
    pipeline = dataflow_pipeline()
    SplitExecutor._split(pipeline, examples, ["train"], options, output, _split_files(output))
    steps = translate(pipeline)
    expected = {
        "CountPerBucketInBatch",
        "PlaceBatches",
        "RankStraddlingBuckets",
        "WriteSplitCounts",
        "CountInput",
        "WriteTrainPlacedTfrecord",
        "WriteDevRankedTfrecord",
        "WriteTestPlacedTfrecord",
    }
    assert expected <= steps, sorted(expected - steps)


def _split_files(output) -> dict[str, str]:
    from components.stratified_split import executor

    return {
        name: counts.counts_path(output.uri, name)
        for name in (
            executor.SPLIT_COUNTS_FILE,
            executor.UNIT_COUNTS_FILE,
            executor.INPUT_COUNTS_FILE,
        )
    }
