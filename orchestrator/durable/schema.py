"""The durable store's tables (seed 003's Documents, Tasks and Progress) as SQLAlchemy Core metadata."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# JSON values that are absent are SQL NULL, not the JSON literal null.
_json = sa.JSON(none_as_null=True)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("document_id", sa.String(32), primary_key=True),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("task_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("request", _json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", _json),
    sa.Column("error", sa.Text),
    sa.Column("owner", sa.Text),
    sa.Column("global_epoch", sa.Integer, nullable=False),
    sa.Column("regional_epoch", sa.Integer, nullable=False),
    sa.Column("lease_expires_at", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("tasks_by_status", "status", "created_at"),
)

progress = sa.Table(
    "progress",
    metadata,
    sa.Column("task_id", sa.String(32), sa.ForeignKey("tasks.task_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("node", sa.Text, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("global_epoch", sa.Integer, nullable=False),
    sa.Column("regional_epoch", sa.Integer, nullable=False),
    sa.Column("output", _json),
    sa.Column("error", sa.Text),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
)
