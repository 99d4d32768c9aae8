"""Supabase migrations: files, the ledger table, the plan that compares them, and the run that applies.

`migrate` applies `<version>_<name>.sql` files through the Supabase Management API's query endpoint
and never connects to the database itself. This package is the pure part; the HTTP client is injected
into `run.run_migrations` as a `query` coroutine, so the same code runs against the real API, the local
stand-in in tests/fakes/supabase.py, or anything else that executes SQL. It imports only the standard
library.

    sql.py       the lexer: split a file into statements, normalise statements for comparison
    files.py     read `<version>_<name>.sql` files from a directory, ordered by version
    plan.py      local files against the ledger's rows: applied, pending, missing, changed, out-of-order
    ledger.py    the ledger's DDL and read (supabase_migrations.schema_migrations, the Supabase CLI's
                 migration history), and the one-transaction text that applies a migration
    run.py       apply in order through `query`, re-plan on a duplicate, stop on request; MigrateResult

Exceptions:

    MigrationError (ValueError)   sql.py; bad input: unreadable or misnamed files, duplicate versions,
                                  unterminated quotes/comments, an unexpected ledger answer
    QueryError (Exception)        run.py; raised by the caller's `query` for a non-2xx answer;
                                  `run_migrations` turns it into a duplicate, a failed unit, or (dry run)
                                  a missing table
    ApplyStopped (Exception)      run.py; anything else `query` raised while applying (auth lost, API
                                  gone): says which migrations this run had applied; the cause is chained
"""
