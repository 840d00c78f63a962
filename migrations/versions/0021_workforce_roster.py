"""The workforce roster: children's directors and supervisors by real name, their appointments, covers of
vacant units, the audit of full reads and roster imports; RLS.

Every table is owned by a unit (`region_code`): a person by the unit of their latest appointment, an appointment
by the unit it fills, a cover by the vacant unit, a read by the person's unit, an import by the importer's unit.
The units above see the rows by the subtree rule, a sibling sees nothing, a partner reporter nothing at all (no
partner policy). Appointments and covers are never deleted (the history of a unit); the read audit is append-only.

Revision ID: 0021_workforce_roster
Revises: 0020_case_follow_up
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code
from tenant_app.workforce import enums as E

revision = "0021_workforce_roster"
down_revision = "0020_case_follow_up"
branch_labels = None
depends_on = None

TABLES = ("roster_imports", "roster_reads", "roster_covers", "roster_appointments", "roster_people")


def ts():
    return sa.DateTime(timezone=True)


def _in(table: str, column: str, values) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({E.sql_in(values)})", name=op.f(f"ck_{table}_{column}"))


def _stamps() -> list[sa.Column]:
    return [sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("created_by_id", sa.Integer(), nullable=True),
            sa.Column("created_at", ts(), nullable=False),
            sa.Column("updated_by_id", sa.Integer(), nullable=True),
            sa.Column("updated_at", ts(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "roster_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("province_code", code(2), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("qualifications", sa.String(length=500), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        *_stamps(),
        _in("roster_people", "sex", E.SEXES),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_roster_people_region_code_units")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_roster_people_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_people")),
        sa.UniqueConstraint("province_code", "id_number", name="uq_roster_people_province_code_id_number"),
        sa.UniqueConstraint("user_id", name=op.f("uq_roster_people_user_id")),
    )
    op.create_index("ix_roster_people_region_code_name", "roster_people", ["region_code", "name"])

    op.create_table(
        "roster_appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("post", sa.String(length=12), nullable=False),
        sa.Column("employment", sa.String(length=12), nullable=False),
        sa.Column("other_post", sa.String(length=64), nullable=False),
        sa.Column("appointed_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("leave_reason", sa.String(length=200), nullable=False),
        *_stamps(),
        _in("roster_appointments", "post", E.POSTS),
        _in("roster_appointments", "employment", E.EMPLOYMENTS),
        sa.CheckConstraint("left_on IS NULL OR left_on >= appointed_on", name=op.f("ck_roster_appointments_dates")),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"],
                                name=op.f("fk_roster_appointments_region_code_units")),
        sa.ForeignKeyConstraint(["person_id"], ["roster_people.id"],
                                name=op.f("fk_roster_appointments_person_id_roster_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_appointments")),
    )
    op.create_index("ix_roster_appointments_region_code_post_left_on", "roster_appointments",
                    ["region_code", "post", "left_on"])
    op.create_index("ix_roster_appointments_person_id", "roster_appointments", ["person_id"])
    op.create_index("uq_roster_appointments_open_unit", "roster_appointments", ["region_code", "post"], unique=True,
                    postgresql_where=sa.text("left_on IS NULL"), sqlite_where=sa.text("left_on IS NULL"))
    op.create_index("uq_roster_appointments_open_person", "roster_appointments", ["person_id"], unique=True,
                    postgresql_where=sa.text("left_on IS NULL"), sqlite_where=sa.text("left_on IS NULL"))

    op.create_table(
        "roster_covers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("post", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("coverer_unit_code", code(), nullable=False),
        sa.Column("coverer_name", sa.String(length=64), nullable=False),
        sa.Column("coverer_phone", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        *_stamps(),
        _in("roster_covers", "post", E.POSTS),
        _in("roster_covers", "kind", E.COVER_KINDS),
        sa.CheckConstraint("until IS NULL OR until >= since", name=op.f("ck_roster_covers_dates")),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_roster_covers_region_code_units")),
        sa.ForeignKeyConstraint(["person_id"], ["roster_people.id"],
                                name=op.f("fk_roster_covers_person_id_roster_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_covers")),
    )
    op.create_index("ix_roster_covers_region_code_until", "roster_covers", ["region_code", "until"])
    op.create_index("ix_roster_covers_person_id", "roster_covers", ["person_id"])

    op.create_table(
        "roster_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_region_code", code(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_reads")),
    )
    op.create_index("ix_roster_reads_region_code_at", "roster_reads", ["region_code", "at"])
    op.create_index("ix_roster_reads_person_id", "roster_reads", ["person_id"])

    op.create_table(
        "roster_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("valid_count", sa.Integer(), nullable=False),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        _in("roster_imports", "status", ("validated", "applied", "failed")),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_roster_imports_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_imports")),
    )
    op.create_index("ix_roster_imports_region_code_created_at", "roster_imports", ["region_code", "created_at"])

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    for table, privileges in (("roster_people", "SELECT, INSERT, UPDATE"),
                              ("roster_appointments", "SELECT, INSERT, UPDATE"),
                              ("roster_covers", "SELECT, INSERT, UPDATE"),
                              ("roster_reads", "SELECT, INSERT"),
                              ("roster_imports", "SELECT, INSERT, UPDATE")):
        for statement in rls.enable_tenant_rls(table, "region_code", role=role, privileges=privileges):
            op.execute(statement)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
