"""Checkers: how heartwatch probes a service (pull). One module per type, discovered
through `registry` (built-ins plus the `heartwatch.checkers` entry point group)."""
