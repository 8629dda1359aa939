"""How long a command waits for the database: one home for the engines (provisioning.engines) and the
bare read-only connections (intake.readonly_db). Imports nothing, so the light read path stays light."""

from __future__ import annotations

__all__ = ["PG_CONNECT_TIMEOUT_S", "SQLITE_BUSY_TIMEOUT_MS"]

#: an SQLite connection waits this long (ms) for another process's write lock unless the URL says
#: otherwise (``sqlite:///f.db?timeout=5``, seconds): a command meeting the daily run's write waits for it
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: seconds a PostgreSQL connection attempt may take before the command says the database is unreachable
#: (libpq waits forever on a host that drops packets; a cron job must not hang on it)
PG_CONNECT_TIMEOUT_S = 10
