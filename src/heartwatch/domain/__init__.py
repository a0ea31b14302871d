"""Pure rules: statuses, thresholds, the heartbeat lifecycle. No I/O and no clock reads:
every function that depends on time takes `now` (or the moment of an event)."""
