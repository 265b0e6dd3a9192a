"""Everything kept in SQL: the log, masking, backlog, retention, audit, reports, accounts."""
