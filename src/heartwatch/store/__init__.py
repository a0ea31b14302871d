"""Storage: SQLAlchemy 2.0 async models, the database handle, statements, migrations."""
