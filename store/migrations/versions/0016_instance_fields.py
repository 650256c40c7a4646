"""instances' business fields for search (instance_fields), filled from the instances so far;
a trigram index for text containing on PostgreSQL

Revision ID: 0016_instance_fields
Revises: 0015_step_rollups
Create Date: 2026-12-07
"""

import json

import sqlalchemy as sa
from alembic import op

from engine.services import instance_fields

revision = "0016_instance_fields"
down_revision = "0015_step_rollups"
branch_labels = None
depends_on = None

BATCH = 2_000


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "instance_fields",
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
    )
    # The instance id last: the search's semi-joins read these indexes alone (index-only scans).
    op.create_index("ix_instance_fields_text", "instance_fields", ["name", "text", "instance_id"])
    op.create_index("ix_instance_fields_number", "instance_fields", ["name", "number", "instance_id"])
    if bind.dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_instance_fields_trgm", "instance_fields", ["text"], postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}
        )
    # The instances so far, in batches of ids (the same rule as the engine's, written once there).
    table = sa.table(
        "instance_fields", sa.column("instance_id"), sa.column("name"), sa.column("text"), sa.column("number", sa.Float)
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, data, business_key FROM process_instances WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        batch = []
        for instance_id, data, business_key in rows:
            values = json.loads(data) if isinstance(data, str) else (data or {})
            fields = (instance_fields.fields_of(values) if isinstance(values, dict) else {}) | instance_fields.key_row(business_key)
            batch += [{"instance_id": instance_id, "name": name, "text": text, "number": number} for name, (text, number) in fields.items()]
        if batch:
            op.bulk_insert(table, batch)


def downgrade() -> None:
    op.drop_table("instance_fields")
