"""Column types declared once (SQLAlchemy 2.0: whole column declarations mapped to Python types).

A model says `created_at: Mapped[utc_datetime]` or `assignee: Mapped[username | None]` instead of
repeating the SQL type each time, so every timestamp is time-zone aware, every user reference is
as long as a user name may be, and every amount has the same precision.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.orm import mapped_column

USERNAME_LENGTH = 64

utc_datetime = Annotated[datetime, mapped_column(DateTime(timezone=True))]  # stored and read as UTC (engine.clock)
username = Annotated[str, mapped_column(String(USERNAME_LENGTH))]  # a users.username, kept as text in history
money = Annotated[Decimal, mapped_column(Numeric(18, 2))]  # an amount in its currency, two decimals
