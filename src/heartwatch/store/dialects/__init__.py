"""What differs between SQLite and PostgreSQL, one small file each."""
