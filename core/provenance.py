"""The provenance feature's name, shared by every room that reads or writes it.

CleanExamples tags each row with the ExampleGen input split (the source) it
came from; the split stratifies by it, the Evaluator slices by it, preflight
accepts it as a tag, and the run summary counts training rows by it.
"""

from __future__ import annotations

SOURCE_FEATURE = "source"

# ExampleGen tags each row of a spanned source with the span it came from (an
# int64 feature); unspanned sources get no such feature.
SPAN_FEATURE = "span"
