"""attachments.data may be NULL: the bytes are in the attachment directory (ATTACHMENT_DIR) under
the row's sha256 (engine.services.file_store)

Revision ID: 0024_attachment_files
Revises: 0023_field_process
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_attachment_files"
down_revision = "0023_field_process"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.alter_column("data", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    files = op.get_bind().scalar(sa.text("SELECT count(*) FROM attachments WHERE data IS NULL"))
    if files:
        raise RuntimeError(
            f"{files} attachments keep their bytes in the attachment directory: copy them into the database before downgrading"
        )
    with op.batch_alter_table("attachments") as batch:
        batch.alter_column("data", existing_type=sa.LargeBinary(), nullable=False)
