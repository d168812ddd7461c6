"""CleanExamples: spam removal, user-ID merge and quarantine, accounting for every row."""
