"""The worker process: everything that happens because time passes."""
