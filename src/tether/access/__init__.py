"""Least privilege and the audit trail: capability tokens (agent grants ∩ principal rights),
the permission checks of the guard chain, operator keys, and the hash-chained audit log.

A domain uses `OwnershipCheck` / `ResourceOwners` to say who owns what its tools name, and
`RoleRights` to say which scopes each principal role confers.
"""

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
