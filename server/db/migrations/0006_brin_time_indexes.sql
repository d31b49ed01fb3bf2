-- 0006: the time indexes of the ledger and the bets become BRIN indexes. Rows
-- arrive in about the order of their times (the archiver copies the journal in
-- order), so a block range index answers "since t" (the reports) while costing
-- almost nothing per row written, where a B-tree took an insert per row.
DROP INDEX ledger_entries_time;
CREATE INDEX ledger_entries_time ON ledger_entries USING brin (created_at);
DROP INDEX bets_time;
CREATE INDEX bets_time ON bets USING brin (settled_at);
