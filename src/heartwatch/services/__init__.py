"""Application use cases: each takes a session (one unit of work) and the moment `now`."""
