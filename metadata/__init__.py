"""Everything that reads or writes the ML Metadata store.

The connection, the names TFX and Cascade give contexts and types, lineage
queries, run summaries and results, scoring records, the inventory report and
the history. Nothing here parses flags or prints; the `cli` room does.
"""
