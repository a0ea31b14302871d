"""HTTP transport: validates, authenticates, calls the application services. No rules
and no background work live here."""
