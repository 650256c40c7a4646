"""job runner: run_at, attempts, fired_at and the definition of timer-start jobs

Revision ID: 0003_job_runner
Revises: 0002_saved_filters
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_job_runner"
down_revision = "0002_saved_filters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("definition_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_jobs_definition", "process_definitions", ["definition_id"], ["id"])
        batch_op.drop_index("ix_jobs_due")
        batch_op.create_index("ix_jobs_claim", ["status", "run_at"], unique=False)
    op.execute("UPDATE jobs SET run_at = due_at")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column("run_at", nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_claim")
        batch_op.create_index("ix_jobs_due", ["status", "due_at"], unique=False)
        batch_op.drop_constraint("fk_jobs_definition", type_="foreignkey")
        batch_op.drop_column("definition_id")
        batch_op.drop_column("fired_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("run_at")
