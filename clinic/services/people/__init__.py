"""People: accounts, logins, tokens and passwords; a client's profile, screening and periods,
the client record as staff see it, and the client's own data (export, erasure)."""
