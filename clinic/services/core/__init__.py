"""What every feature stands on: the transaction, refusals, who is acting and what they may do,
the clinic's settings and clock, the date bounds, and the audit trail."""
