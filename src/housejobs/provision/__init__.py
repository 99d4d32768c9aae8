"""Provisioning: desired state (catalog + environment) → plan → apply.

    desired = build_desired(ctx, spec_of, only=None)         # desired.py, pure: no Google call
    plan = compute_plan(ctx, desired, prune=False)          # plan.py, reads: list/get jobs, triggers, job IAM
    report = apply_plan(ctx, plan)                          # apply.py, writes only what the plan says

One Cloud Run Job per catalog job (`housejobs-<job>-<env>`) and one Scheduler job per trigger, every
resource name carrying the env because test and stage share a project. Both sides are reduced to the
same normalised view (gcp/specs.py) before comparing, so a second run of an unchanged catalog plans
nothing and writes nothing. Apply order: jobs, the jobs' IAM grants, triggers, then prunes (triggers
before the jobs they would start). What --prune may delete is what ownership.py proves housejobs made.

What housejobs grants itself is what lives on resources it owns: the scheduler service account's
roles on each triggered Cloud Run Job. Bindings on resources others own (secrets, the BigQuery
dataset, the project) are printed in the plan for an administrator, never changed.

Google is reached only through gcp/: the clients (gcp/clients.Gcp), message conversions (gcp/protos.py)
and the error mapper (gcp/errors.py).
"""
