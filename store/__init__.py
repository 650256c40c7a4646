"""Persistence: the typed models (`models.py`, the worklist's saved filters in `ui_models.py`, the
column types they share in `types.py`), sessions and connections (`db.py`), queued writes
(`writes.py`) and schema migrations (`schema.py` running Alembic's `migrations/`).

May import SQLAlchemy, Alembic and the database drivers; never `engine`, `processes`,
SpiffWorkflow or Flask (tests/test_layering.py checks it)."""
