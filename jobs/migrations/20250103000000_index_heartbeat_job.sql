-- Example migration: index the lookup "latest run of a job".
create index if not exists heartbeat_job_ran_at_idx on housejobs.heartbeat (job, ran_at desc);
