"""Building and running Cascade's pipeline: config, factory, runner profiles,
preflight checks and code versions. Nothing here reads the metadata store."""
