"""PostgreSQL, the system of record: schema migrations, the archive of the ledger."""
