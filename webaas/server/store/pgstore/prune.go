package pgstore

// Pruning the change log and expired transactions.

// pruneBatch bounds one prune statement.
const pruneBatch = 10000

// pruneSQL deletes a prefix of the log, in sequence order, of entries
// older than $1 microseconds, walking the primary key from its start (no
// index on the time is needed), and records how far it got.
const pruneSQL = `
WITH first AS (SELECT seq, at FROM webaas_changes ORDER BY seq, part LIMIT $2),
old AS (SELECT max(seq) AS hi FROM first WHERE at < now() - $1 * interval '1 microsecond'),
gone AS (DELETE FROM webaas_changes WHERE seq <= (SELECT hi FROM old) RETURNING seq)
UPDATE webaas_log_state SET pruned_through = greatest(pruned_through, (SELECT max(seq) FROM gone))
WHERE EXISTS (SELECT FROM gone)
RETURNING (SELECT count(*) FROM gone)`
