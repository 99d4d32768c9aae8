-- Example migration shipped with housejobs: a private schema and a small table that records job runs.
-- The schema keeps it out of the PostgREST-exposed `public` schema.
create schema if not exists housejobs;

create table if not exists housejobs.heartbeat (
  id bigint generated always as identity primary key,
  job text not null,
  ran_at timestamptz not null default now()
);
