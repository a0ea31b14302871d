"""heartwatch: a self-hosted service registry and uptime monitor."""

__version__ = "0.1.0"
