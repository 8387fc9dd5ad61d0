"""The run queue's tables and functions on PostgreSQL (procrastinate's schema); none on SQLite.

The schema is the one of the procrastinate version installed when the store is first migrated;
a later procrastinate release that changes its schema brings its migrations as a new revision.

Revision ID: 0015
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # the embedded default queues runs in process
    from procrastinate.schema import SchemaManager

    # a schema some other process prepared already (procrastinate's own CLI) is kept as it is
    present = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    if present is not None:
        return
    _run_script(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _run_script(
        """
        DO $$
        DECLARE item record;
        BEGIN
            FOR item IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                WHERE p.pronamespace = current_schema()::regnamespace
                AND p.proname LIKE 'procrastinate%'
            LOOP EXECUTE 'DROP FUNCTION IF EXISTS ' || item.sig || ' CASCADE'; END LOOP;
            FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
            LOOP EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(item.tablename) || ' CASCADE';
            END LOOP;
            FOR item IN SELECT t.typname FROM pg_type t
                WHERE t.typnamespace = current_schema()::regnamespace
                AND t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c')
            LOOP EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(item.typname) || ' CASCADE';
            END LOOP;
        END $$
        """
    )


def _run_script(sql: str) -> None:
    """Send a script as it is: the driver's cursor with no parameters, since the script holds
    many statements and `%` signs that a parameterised execute would read as placeholders."""
    with op.get_bind().connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(sql)
