"""Notifiers: how heartwatch delivers one message to one channel. One module per type,
discovered through `registry` (built-ins plus the `heartwatch.notifiers` entry point
group); `base` holds the interface the dispatcher is written against."""
