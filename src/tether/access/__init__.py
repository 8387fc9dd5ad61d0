"""Least privilege and the audit trail: capability tokens (agent grants ∩ principal rights),
the permission checks of the guard chain, operator keys, and the hash-chained audit log.

A domain uses `OwnershipCheck` / `ResourceOwners` to say who owns what its tools name, and
`RoleRights` to say which scopes each principal role confers.
"""

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
    from tether.access.checks import CapabilityCheck, GrantCheck, OwnershipCheck, ResourceOwners
    from tether.access.rights import RoleRights, agent_grants, effective_rights

__all__ = [
    "CapabilityCheck",
    "GrantCheck",
    "OwnershipCheck",
    "ResourceOwners",
    "RoleRights",
    "agent_grants",
    "effective_rights",
]

# each name is imported from its module when first used (see `tether.core.exports`)
__getattr__ = lazy_exports(
    __name__,
    {
        "CapabilityCheck": "tether.access.checks",
        "GrantCheck": "tether.access.checks",
        "OwnershipCheck": "tether.access.checks",
        "ResourceOwners": "tether.access.checks",
        "RoleRights": "tether.access.rights",
        "agent_grants": "tether.access.rights",
        "effective_rights": "tether.access.rights",
    },
)
