"""activities on leads and opportunities as well as customers, and their next steps as follow-ups
in the worklist (done_at); a lead remembers when an activity last touched it; the names of
customers merged away (customer_aliases)

Revision ID: 0012_activity_follow_ups
Revises: 0011_substitutes
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_activity_follow_ups"
down_revision = "0011_substitutes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.alter_column("customer_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("opportunity_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_activities_opportunity_id", "opportunities", ["opportunity_id"], ["id"], ondelete="SET NULL")
        batch.create_foreign_key("fk_activities_lead_id", "leads", ["lead_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_activities_opportunity_id", "activities", ["opportunity_id"])
    op.create_index("ix_activities_lead_id", "activities", ["lead_id"])
    open_steps = sa.text("done_at IS NULL AND next_at IS NOT NULL")
    op.create_index("ix_activities_follow_ups", "activities", ["assignee", "next_at"], postgresql_where=open_steps, sqlite_where=open_steps)
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("last_touched_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "customer_aliases",
        sa.Column("name_norm", sa.String(length=300), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_customer_aliases_customer_id", "customer_aliases", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_aliases_customer_id", table_name="customer_aliases")
    op.drop_table("customer_aliases")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("last_touched_at")
    op.drop_index("ix_activities_follow_ups", table_name="activities")
    op.drop_index("ix_activities_lead_id", table_name="activities")
    op.drop_index("ix_activities_opportunity_id", table_name="activities")
    op.execute("DELETE FROM activities WHERE customer_id IS NULL")
    with op.batch_alter_table("activities") as batch:
        batch.drop_constraint("fk_activities_lead_id", type_="foreignkey")
        batch.drop_constraint("fk_activities_opportunity_id", type_="foreignkey")
        batch.drop_column("done_at")
        batch.drop_column("lead_id")
        batch.drop_column("opportunity_id")
        batch.alter_column("customer_id", existing_type=sa.Integer(), nullable=False)
