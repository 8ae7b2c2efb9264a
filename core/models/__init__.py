"""All Syncline tables, importable from one place so SQLModel.metadata knows every one."""

from core.models.alerts import AlertState
from core.models.attribution import (
    AttributionCredit,
    AttributionCursor,
    AttributionPerson,
    AttributionResult,
    CampaignInfluence,
)
from core.models.backfill import MappingField, ResyncRequest
from core.models.causes import ErrorCause
from core.models.history import FieldHistory
from core.models.hub import (
    Account,
    Campaign,
    CampaignMember,
    HubRecord,
    Opportunity,
    OpportunityContactRole,
    Person,
    Touch,
    new_id,
)
from core.models.inbound import InboundEvent, InboundTally
from core.models.lifecycle import LifecycleHistory
from core.models.sync import (
    Audit,
    ConnectionStatus,
    HubSequence,
    Link,
    MappingRevision,
    SyncError,
    SyncLease,
    SyncRun,
    SyncState,
)
from core.models.users import ROLES, DashboardSession, LoginCounter, User

#: Hub object name (as written in mapping files) → table model.
HUB_MODELS: dict[str, type[HubRecord]] = {
    "person": Person,
    "account": Account,
    "campaign": Campaign,
    "campaign_member": CampaignMember,
    "touch": Touch,
    "opportunity": Opportunity,
    "opportunity_contact_role": OpportunityContactRole,
    "campaign_influence": CampaignInfluence,
}

__all__ = [
    "HUB_MODELS",
    "Account",
    "InboundEvent",
    "InboundTally",
    "AlertState",
    "AttributionCredit",
    "AttributionCursor",
    "AttributionPerson",
    "AttributionResult",
    "Audit",
    "Campaign",
    "CampaignInfluence",
    "CampaignMember",
    "ErrorCause",
    "FieldHistory",
    "ConnectionStatus",
    "DashboardSession",
    "HubRecord",
    "HubSequence",
    "LifecycleHistory",
    "Link",
    "LoginCounter",
    "MappingField",
    "MappingRevision",
    "Opportunity",
    "OpportunityContactRole",
    "Person",
    "ResyncRequest",
    "ROLES",
    "SyncError",
    "SyncLease",
    "SyncRun",
    "SyncState",
    "Touch",
    "User",
    "new_id",
]
