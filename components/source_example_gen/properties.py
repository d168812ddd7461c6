"""Names of the custom properties CsvSourceExampleGen records (no heavy imports,
so the metadata commands can read them without loading TensorFlow)."""

# Per source: rows, labelled rows, label counts, positive rate, files, bytes, sha256.
SOURCE_FACTS_PROPERTY = "source_facts"
# The label value a source's label counts give rows with an empty label cell.
MISSING_LABEL = "<missing>"
# Per source: the config's inventory entry (owner, cost, labelling method, ...).
SOURCE_INVENTORY_PROPERTY = "source_inventory"
# A reference dataset's (spam list, id map): rows, files, bytes, sha256, and per
# id column {"distinct": n, "digest": hex} (see id_facts).
REFERENCE_FACTS_PROPERTY = "reference_facts"
# Within a source's facts (and a reference dataset's): each folder read that
# holds entries not read, as [{"folder": path, "names": ["notes.txt", "2025/"]}].
NOT_READ = "not_read"
