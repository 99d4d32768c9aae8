-- Example migration: add a column (safe to rerun by hand thanks to `if not exists`).
alter table housejobs.heartbeat add column if not exists outcome text;

comment on column housejobs.heartbeat.outcome is 'applied | duplicate | skipped | failed; see the README outcome table';
