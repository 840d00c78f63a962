"""Child records (一人一档): children, their history, transfers between villages, the read audit; RLS.

Revision ID: 0002_children
Revises: 0001_foundation
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from hierarchy import rls
from hierarchy.models import code_column_type as code

revision = "0002_children"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def ts():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('children',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region_code', code(), nullable=False),
        sa.Column('province_code', sa.String(length=2), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('sex', sa.String(length=8), nullable=False),
        sa.Column('ethnicity', sa.String(length=32), nullable=False),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=True),
        sa.Column('hukou_registered', sa.Boolean(), nullable=False),
        sa.Column('hukou_rural', sa.Boolean(), nullable=False),
        sa.Column('hukou_place', sa.String(length=200), nullable=False),
        sa.Column('current_address', sa.String(length=200), nullable=False),
        sa.Column('boards_at_school', sa.Boolean(), nullable=False),
        sa.Column('health_status', sa.String(length=16), nullable=False),
        sa.Column('disability_type', sa.String(length=32), nullable=True),
        sa.Column('disability_grade', sa.SmallInteger(), nullable=True),
        sa.Column('schooling', sa.String(length=16), nullable=True),
        sa.Column('school_name', sa.String(length=100), nullable=False),
        sa.Column('father_name', sa.String(length=64), nullable=False),
        sa.Column('father_birth_date', sa.Date(), nullable=True),
        sa.Column('father_id_number', sa.String(length=18), nullable=True),
        sa.Column('father_situation', sa.String(length=16), nullable=False),
        sa.Column('father_work_province', sa.String(length=32), nullable=False),
        sa.Column('father_work_city', sa.String(length=32), nullable=False),
        sa.Column('father_phone', sa.String(length=32), nullable=False),
        sa.Column('mother_name', sa.String(length=64), nullable=False),
        sa.Column('mother_birth_date', sa.Date(), nullable=True),
        sa.Column('mother_id_number', sa.String(length=18), nullable=True),
        sa.Column('mother_situation', sa.String(length=16), nullable=False),
        sa.Column('mother_work_province', sa.String(length=32), nullable=False),
        sa.Column('mother_work_city', sa.String(length=32), nullable=False),
        sa.Column('mother_phone', sa.String(length=32), nullable=False),
        sa.Column('guardian_name', sa.String(length=64), nullable=False),
        sa.Column('guardian_phone', sa.String(length=32), nullable=False),
        sa.Column('guardian_id_number', sa.String(length=18), nullable=True),
        sa.Column('guardian_relationship', sa.String(length=32), nullable=False),
        sa.Column('guardian_address', sa.String(length=200), nullable=False),
        sa.Column('guardianship_type', sa.String(length=24), nullable=True),
        sa.Column('guardianship_assessment', sa.String(length=8), nullable=True),
        sa.Column('income_sources', sa.JSON(), nullable=False),
        sa.Column('assistance', sa.JSON(), nullable=False),
        sa.Column('is_left_behind', sa.Boolean(), nullable=False),
        sa.Column('is_in_difficulty', sa.Boolean(), nullable=False),
        sa.Column('difficulty_subcategory', sa.String(length=24), nullable=True),
        sa.Column('is_de_facto_unsupported', sa.Boolean(), nullable=False),
        sa.Column('risk_level', sa.String(length=8), nullable=False),
        sa.Column('unattended', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('exit_reason', sa.String(length=24), nullable=True),
        sa.Column('exited_at', sa.Date(), nullable=True),
        sa.Column('reviewer', sa.String(length=64), nullable=False),
        sa.Column('form_filler', sa.String(length=64), nullable=False),
        sa.Column('report_date', sa.Date(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', ts(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', ts(), nullable=False),
        sa.CheckConstraint("difficulty_subcategory IS NULL OR difficulty_subcategory IN ('orphan', 'de_facto_unsupported', 'poor_family', 'illness_disability', 'other')", name=op.f('ck_children_difficulty_subcategory')),
        sa.CheckConstraint("exit_reason IS NULL OR exit_reason IN ('turned_16', 'parents_returned', 'moved_away', 'deceased', 'other')", name=op.f('ck_children_exit_reason')),
        sa.CheckConstraint("father_situation IN ('home', 'away', 'unable', 'deceased', 'missing')", name=op.f('ck_children_father_situation')),
        sa.CheckConstraint("guardianship_assessment IS NULL OR guardianship_assessment IN ('good', 'fair', 'poor')", name=op.f('ck_children_guardianship_assessment')),
        sa.CheckConstraint("guardianship_type IS NULL OR guardianship_type IN ('unattended', 'parent_incapable', 'guardian_incapable', 'fair', 'good')", name=op.f('ck_children_guardianship_type')),
        sa.CheckConstraint("health_status IN ('healthy', 'disabled', 'serious_illness', 'chronic_illness')", name=op.f('ck_children_health_status')),
        sa.CheckConstraint("mother_situation IN ('home', 'away', 'unable', 'deceased', 'missing')", name=op.f('ck_children_mother_situation')),
        sa.CheckConstraint("risk_level IN ('low', 'medium', 'high')", name=op.f('ck_children_risk_level')),
        sa.CheckConstraint("schooling IS NULL OR schooling IN ('kindergarten', 'no_kindergarten', 'primary', 'junior', 'senior', 'vocational', 'dropout', 'not_in_school')", name=op.f('ck_children_schooling')),
        sa.CheckConstraint("sex IN ('male', 'female')", name=op.f('ck_children_sex')),
        sa.CheckConstraint("status IN ('active', 'exited')", name=op.f('ck_children_status')),
        sa.CheckConstraint('disability_grade IS NULL OR disability_grade BETWEEN 1 AND 4', name=op.f('ck_children_disability_grade')),
        sa.ForeignKeyConstraint(['region_code'], ['units.code'], name=op.f('fk_children_region_code_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_children')),
        sa.UniqueConstraint('province_code', 'id_number', name='uq_children_province_code_id_number')
    )
    op.create_index('ix_children_region_code_name', 'children', ['region_code', 'name'])
    op.create_index('ix_children_region_code_risk_level', 'children', ['region_code', 'risk_level'])
    op.create_index('ix_children_region_code_status', 'children', ['region_code', 'status'])
    op.create_index('ix_children_region_code_unattended', 'children', ['region_code', 'unattended'])

    op.create_table('child_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('child_id', sa.Integer(), nullable=False),
        sa.Column('region_code', code(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.Column('changed_at', ts(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_child_changes_child_id_children'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_child_changes')),
        sa.UniqueConstraint('child_id', 'version', name='uq_child_changes_child_id_version')
    )
    op.create_index('ix_child_changes_region_code', 'child_changes', ['region_code'])

    op.create_table('child_transfers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('child_id', sa.Integer(), nullable=False),
        sa.Column('region_code', code(), nullable=False),
        sa.Column('to_village', code(), nullable=False),
        sa.Column('child_name', sa.String(length=64), nullable=False),
        sa.Column('id_number_masked', sa.String(length=18), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', ts(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', ts(), nullable=True),
        sa.CheckConstraint("status IN ('requested', 'accepted', 'rejected', 'cancelled')", name=op.f('ck_child_transfers_status')),
        sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_child_transfers_child_id_children'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['to_village'], ['units.code'], name=op.f('fk_child_transfers_to_village_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_child_transfers'))
    )
    op.create_index('ix_child_transfers_child_id', 'child_transfers', ['child_id'])
    op.create_index('ix_child_transfers_region_code_status', 'child_transfers', ['region_code', 'status'])
    op.create_index('ix_child_transfers_to_village_status', 'child_transfers', ['to_village', 'status'])

    op.create_table('audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region_code', code(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('user_region_code', code(), nullable=False),
        sa.Column('child_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=24), nullable=False),
        sa.Column('purpose', sa.String(length=200), nullable=False),
        sa.Column('at', ts(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_child_id', 'audit_events', ['child_id'])
    op.create_index('ix_audit_events_region_code_at', 'audit_events', ['region_code', 'at'])

    if op.get_bind().dialect.name != "postgresql":
        return
    role = rls.app_role()
    for statement in rls.enable_tenant_rls("children", "region_code", role=role,
                                           privileges="SELECT, INSERT, UPDATE"):
        op.execute(statement)
    # History moves with the child on a transfer (UPDATE of region_code); never deleted by the app.
    for statement in rls.enable_tenant_rls("child_changes", "region_code", role=role,
                                           privileges="SELECT, INSERT, UPDATE"):
        op.execute(statement)
    # A transfer is visible to the sending village (region_code) and to the receiving one (to_village).
    transfer_predicate = f"{rls.in_scope('region_code')} OR {rls.in_scope('to_village')}"
    for statement in rls.enable_rls("child_transfers", transfer_predicate, role=role,
                                    privileges="SELECT, INSERT, UPDATE"):
        op.execute(statement)
    # The audit is append-only for the application.
    for statement in rls.enable_tenant_rls("audit_events", "region_code", role=role,
                                           privileges="SELECT, INSERT"):
        op.execute(statement)
    for statement in rls.grant_sequences(role):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("child_transfers")
    op.drop_table("child_changes")
    op.drop_table("children")
