"""What the commands do, below the flags: typed requests in, result objects out.

Each service runs one use case (a pipeline run, a scoring, a skew check, a
batch transform, a lineage question) on the library rooms (`pipeline`,
`metadata`, `serving`) and returns what happened; the `cli` room parses the
command line into a request and prints the result. Benchmarks and other
programs call the services directly.
"""
