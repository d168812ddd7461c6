"""metadata.runs: which pipelines a store holds, and saying so when one is not there."""

from __future__ import annotations

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from core.errors import CascadeError
from metadata import names, runs, scoring_records


def _store(*pipelines: str) -> metadata_store.MetadataStore:
    config = pb.ConnectionConfig()
    config.fake_database.SetInParent()
    store = metadata_store.MetadataStore(config)
    pipeline_type = store.put_context_type(pb.ContextType(name=names.PIPELINE_CONTEXT))
    store.put_contexts([pb.Context(type_id=pipeline_type, name=p) for p in pipelines])
    return store


def test_the_hint_is_empty_for_a_pipeline_the_store_holds() -> None:
    assert runs.other_pipelines_hint(_store("cascade-demo"), "cascade-demo") == ""


def test_the_hint_names_the_pipelines_of_another_pipelines_store() -> None:
    hint = runs.other_pipelines_hint(_store("b-pipe", "a-pipe"), "mine")
    assert "holds no run of it, only of 'a-pipe', 'b-pipe'" in hint
    assert "--config, --output-root or --metadata" in hint


def test_predict_on_another_pipelines_store_says_whose_store_it_is() -> None:
    with pytest.raises(CascadeError) as e:
        scoring_records.latest_pushed_model(_store("cascade-demo"), "mine")
    assert str(e.value).startswith("no pushed model for pipeline 'mine'")
    assert "only of 'cascade-demo'" in str(e.value)


def test_lineage_on_another_pipelines_store_lists_what_it_holds() -> None:
    with pytest.raises(CascadeError, match=r"no pipeline 'mine' .*pipelines: cascade-demo"):
        runs.pipeline_name(_store("cascade-demo"), "mine")
