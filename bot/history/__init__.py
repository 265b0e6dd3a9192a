"""Everything kept in SQL: the log and its queue (backlog), masking, retention, audit, reports."""
