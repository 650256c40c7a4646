"""The Alembic migrations create exactly the schema the models describe, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from store.models import Base


def on_database(dialect: str) -> Callable[..., bool]:
    """Alembic compares every index of the models; one declared for one database only (`ddl_if`,
    the trigram index of PostgreSQL) exists only there."""

    def include(obj: Any, _name: Any, type_: str, _reflected: bool, _compare_to: Any) -> bool:
        condition = getattr(obj, "_ddl_if", None) if type_ == "index" else None
        return condition is None or condition.dialect in (None, dialect)

    return include


# SQLite cannot reflect expression indexes (the worklist's `(due_at IS NULL)` ones); PostgreSQL
# compares them, so the warnings on SQLite say nothing this test does not already check there.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": on_database(engine.dialect.name)})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
