"""Persistence: typed models, sessions and Alembic migrations. Knows nothing of Flask or Spiff."""
