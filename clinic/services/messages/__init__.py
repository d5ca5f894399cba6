"""What the clinic tells a client: the outbox of emails and the calendar files."""
