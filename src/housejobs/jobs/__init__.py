"""Jobs: each an async function of a Context and its request, returning a JobResult; it never prints and
never reads os.environ. Each job's module declares its JobSpec (spec.py), and jobs/catalog.toml names the
module; `registry` finds a job's spec by name."""
