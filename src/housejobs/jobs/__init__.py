"""Jobs: each an async function of a Context returning a JobResult; it never prints and never reads
os.environ. `registry.REGISTRY` names every job the CLI can run (a test checks it against jobs/catalog.toml)."""
