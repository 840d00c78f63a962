"""Workforce training: courses run by a unit and each roster person's attendance (both locks), and the roster
and training indicators of the stored figures.

A course is owned by its organiser unit, an attendance row by the person's unit: the units above see them by the
subtree rule, a sibling sees nothing, a partner reporter nothing at all (no partner policy).

Revision ID: 0022_workforce_training
Revises: 0020_workforce_roster
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code
from tenant_app.training import enums as E

revision = "0022_workforce_training"
down_revision = "0020_workforce_roster"
branch_labels = None
depends_on = None

# The indicator columns this revision adds (sync.indicators.KEYS after the case ones, in this order).
INDICATORS = ("directors_in_post", "supervisors_in_post", "villages_vacant", "townships_vacant", "vacancy_days",
              "trained_this_year", "training_hours")


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
        "training_courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("topic", sa.String(length=24), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        *_stamps(),
        _in("training_courses", "level", E.LEVELS),
        _in("training_courses", "topic", E.TOPICS),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_training_courses_dates")),
        sa.CheckConstraint(f"hours > 0 AND hours <= {E.MAX_HOURS}", name=op.f("ck_training_courses_hours")),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"], name=op.f("fk_training_courses_region_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_courses")),
    )
    op.create_index("ix_training_courses_region_code_ends_on", "training_courses", ["region_code", "ends_on"])

    op.create_table(
        "training_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", code(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("course_ends_on", sa.Date(), nullable=False),
        sa.Column("course_title", sa.String(length=200), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("hours_credited", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("certificate_no", sa.String(length=64), nullable=False),
        *_stamps(),
        sa.CheckConstraint(f"hours_credited >= 0 AND hours_credited <= {E.MAX_HOURS}",
                           name=op.f("ck_training_attendance_hours")),
        sa.CheckConstraint("attended OR (hours_credited = 0 AND NOT passed)",
                           name=op.f("ck_training_attendance_absent")),
        sa.ForeignKeyConstraint(["region_code"], ["units.code"],
                                name=op.f("fk_training_attendance_region_code_units")),
        sa.ForeignKeyConstraint(["course_id"], ["training_courses.id"],
                                name=op.f("fk_training_attendance_course_id_training_courses")),
        sa.ForeignKeyConstraint(["person_id"], ["roster_people.id"],
                                name=op.f("fk_training_attendance_person_id_roster_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_attendance")),
        sa.UniqueConstraint("course_id", "person_id", name="uq_training_attendance_course_id_person_id"),
    )
    op.create_index("ix_training_attendance_person_id_course_ends_on", "training_attendance",
                    ["person_id", "course_ends_on"])
    op.create_index("ix_training_attendance_region_code", "training_attendance", ["region_code"])

    for table in ("unit_stats", "unit_stats_monthly"):
        with op.batch_alter_table(table) as batch:
            for name in INDICATORS:
                batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    for table in ("training_courses", "training_attendance"):
        for statement in rls.enable_tenant_rls(table, "region_code", role=role, privileges="SELECT, INSERT, UPDATE"):
            op.execute(statement)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    for table in ("unit_stats", "unit_stats_monthly"):
        with op.batch_alter_table(table) as batch:
            for name in INDICATORS:
                batch.drop_column(name)
    op.drop_table("training_attendance")
    op.drop_table("training_courses")
