"""the customer file: customer fields, contacts, activities, opportunities' dates, and the customer an instance is about

Revision ID: 0010_customer_file
Revises: 0009_task_escalations
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_customer_file"
down_revision = "0009_task_escalations"
branch_labels = None
depends_on = None

CUSTOMER_COLUMNS = [
    ("short_name", sa.String(length=100)),
    ("address", sa.String(length=300)),
    ("phone", sa.String(length=64)),
    ("email", sa.String(length=254)),
    ("website", sa.String(length=200)),
    ("industry", sa.String(length=100)),
    ("nature", sa.String(length=100)),
    ("market", sa.String(length=100)),
    ("trade_terms", sa.Text()),
    ("size", sa.String(length=100)),
    ("credit", sa.String(length=100)),
    ("grade", sa.String(length=1)),
    ("notes", sa.Text()),
    ("created_by", sa.String(length=64)),
    ("updated_at", sa.DateTime(timezone=True)),
    ("last_touched_at", sa.DateTime(timezone=True)),
]


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (no batch copy on SQLite: it would drop 0006's triggers).
    for name, type_ in CUSTOMER_COLUMNS:
        op.add_column("customers", sa.Column(name, type_, nullable=True))
    op.create_index("ix_customers_industry", "customers", ["industry"])
    op.create_index("ix_customers_last_touched_at", "customers", ["last_touched_at"])
    op.create_index("ix_customers_owner_status", "customers", ["owner", "status"])
    op.create_index("ix_customers_touched", "customers", [sa.text("coalesce(last_touched_at, created_at)")])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # trusted since PostgreSQL 13: the database owner may
        op.create_index("ix_customers_name_trgm", "customers", ["name_norm"], postgresql_using="gin", postgresql_ops={"name_norm": "gin_trgm_ops"})
    else:
        op.create_index("ix_customers_name_trgm", "customers", ["name_norm"])
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("relationship", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_contacts_customer_id", "contacts", ["customer_id"])
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=False),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_activities_customer_at", "activities", ["customer_id", "at"])
    op.add_column("process_instances", sa.Column("customer_id", sa.Integer(), nullable=True))
    op.add_column("process_instances", sa.Column("customer_norm", sa.String(length=300), nullable=True))
    op.create_index("ix_process_instances_customer_norm", "process_instances", ["customer_norm"])
    op.create_index("ix_instances_customer_started", "process_instances", ["customer_id", "started_at"])
    op.add_column("notifications", sa.Column("customer_id", sa.Integer(), nullable=True))
    op.add_column("opportunities", sa.Column("expected_close", sa.Date(), nullable=True))
    op.add_column("opportunities", sa.Column("last_touched_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_opportunities_owner_stage", "opportunities", ["owner", "stage"])
    op.create_index("ix_opportunities_customer_id", "opportunities", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_opportunities_customer_id", table_name="opportunities")
    op.drop_index("ix_opportunities_owner_stage", table_name="opportunities")
    op.drop_column("opportunities", "last_touched_at")
    op.drop_column("opportunities", "expected_close")
    op.drop_column("notifications", "customer_id")
    op.drop_index("ix_instances_customer_started", table_name="process_instances")
    op.drop_index("ix_process_instances_customer_norm", table_name="process_instances")
    op.drop_column("process_instances", "customer_norm")
    op.drop_column("process_instances", "customer_id")
    op.drop_index("ix_activities_customer_at", table_name="activities")
    op.drop_table("activities")
    op.drop_index("ix_contacts_customer_id", table_name="contacts")
    op.drop_table("contacts")
    op.drop_index("ix_customers_name_trgm", table_name="customers")
    op.drop_index("ix_customers_touched", table_name="customers")
    op.drop_index("ix_customers_owner_status", table_name="customers")
    op.drop_index("ix_customers_last_touched_at", table_name="customers")
    op.drop_index("ix_customers_industry", table_name="customers")
    for name, _type in reversed(CUSTOMER_COLUMNS):
        op.drop_column("customers", name)
