"""instance_fields.process_key: each business field row names its process, in its indexes

A search by fields of one process (category and severity of the complaints) was a semi-join per
field checked against `process_instances` row by row: at 1M instances 83k category rows read with
random heap reads for their process and start time, 300-400 ms a page. With the process in the
field rows, the index (name, text, process_key, instance_id) gives each field's matches of one
process in instance order, so the intersection of several fields is a merge of index-only scans
and `process_instances` is read only for the page (engine.services.instance_search).

Revision ID: 0023_field_process
Revises: 0022_budgets
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_field_process"
down_revision = "0022_budgets"
branch_labels = None
depends_on = None

BACKFILL = "UPDATE instance_fields SET process_key = (SELECT p.process_key FROM process_instances p WHERE p.id = instance_fields.instance_id)"
PG_BACKFILL = "UPDATE instance_fields f SET process_key = p.process_key FROM process_instances p WHERE p.id = f.instance_id"
INDEXES = {"ix_instance_fields_text": "text", "ix_instance_fields_number": "number"}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("instance_fields", sa.Column("process_key", sa.String(length=128), nullable=True))
    op.execute(PG_BACKFILL if postgres else BACKFILL)
    for index, column in INDEXES.items():
        op.drop_index(index, "instance_fields")
    with op.batch_alter_table("instance_fields") as batch:
        batch.alter_column("process_key", existing_type=sa.String(length=128), nullable=False)
    for index, column in INDEXES.items():
        op.create_index(index, "instance_fields", ["name", column, "process_key", "instance_id"])


def downgrade() -> None:
    for index in INDEXES:
        op.drop_index(index, "instance_fields")
    with op.batch_alter_table("instance_fields") as batch:
        batch.drop_column("process_key")
    for index, column in INDEXES.items():
        op.create_index(index, "instance_fields", ["name", column, "instance_id"])
