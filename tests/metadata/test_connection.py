"""metadata.connection: opening a store, and waiting out a store being created."""

from __future__ import annotations

from ml_metadata import metadata_store

from metadata import connection


def test_opening_a_store_retries_while_another_process_creates_its_tables(monkeypatch):
    # What MLMD says when two processes create an empty MySQL store's tables at
    # once (seen with MariaDB; the e2e test of two runs at once meets it by chance).
    attempts = []
    real = metadata_store.MetadataStore

    def racing(config):
        attempts.append(config)
        if len(attempts) < 3:
            raise RuntimeError(
                "There are a subset of tables in MLMD instance. This may be due to concurrent "
                "connection to the empty database. Please retry the connection."
            )
        return real(config)

    monkeypatch.setattr(metadata_store, "MetadataStore", racing)
    monkeypatch.setattr(connection, "RETRY_SECONDS", 0.01)
    config = connection.metadata_store_pb2.ConnectionConfig()
    config.fake_database.SetInParent()
    assert connection.open_store(config, "the store") is not None
    assert len(attempts) == 3
