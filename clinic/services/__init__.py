"""Use cases: they load what the engine needs, call it, and write in one transaction."""
