"""Import every model module so the metadata is complete (Alembic, tests, create_all)."""

from hierarchy.models import Base, Unit  # noqa: F401
from sync.models import OutboxEvent  # noqa: F401
from tenant_app.assessment.models import AssessmentScheme  # noqa: F401
from tenant_app.auth.models import ApiToken, User  # noqa: F401
from tenant_app.campaigns.models import (  # noqa: F401
    Campaign,
    CampaignAttachment,
    CampaignReceipt,
    CensusCheck,
    Notification,
    Task,
    TaskEvent,
)
from tenant_app.cases.models import Case, CaseAction, CaseChild, CasePolicy, CaseRead, Report  # noqa: F401
from tenant_app.children.imports import ChildImport  # noqa: F401
from tenant_app.children.models import AuditEvent, Child, ChildChange, ChildTransfer, SecurityAlert  # noqa: F401
from tenant_app.links.models import ChildNameKey, MatchRun, RollMatch, RollRow, RollUpload  # noqa: F401
from tenant_app.stats.models import UnitCampaignStats, UnitStats, UnitStatsMonthly  # noqa: F401
from tenant_app.training.models import Attendance, Course  # noqa: F401
from tenant_app.visits.models import Visit, VisitPolicy  # noqa: F401
from tenant_app.workforce.models import Appointment, Cover, RosterImport, RosterPerson, RosterRead  # noqa: F401
