"""Who owns a retail resource, for the runtime's ownership check.

A run acting for customer U may touch only U's resources: U's own user record, U's orders and
U's payment methods. `owner_of` answers with the owning user id, or None when the resource does
not exist (or, for a payment method held by several users, cannot be attributed to one).
"""

from __future__ import annotations

import threading

from tether import recorded_read
from tether.domains.retail.db import RetailDB


class RetailOwnership:
    """Maps ("user" | "order" | "payment_method", id) to the id of the user who owns it."""

    KINDS: tuple[str, ...] = ("user", "order", "payment_method")

    def __init__(self, db: RetailDB) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._methods: dict[str, str] | None = None
        self._shared: dict[str, tuple[str, ...]] = {}

    def owner_of(self, kind: str, resource_id: str) -> str | None:
        """The owning user id, or None if the resource does not exist or has no single owner."""
        if kind == "user":
            return resource_id if self.db.user(resource_id) is not None else None
        if kind == "order":
            order = self.db.order(resource_id)
            return None if order is None else str(order["user_id"])
        if kind == "payment_method":
            return recorded_read(
                "retail.payment_method_owner",
                resource_id,
                lambda: self._method_index().get(resource_id),
            )
        return None

    @property
    def shared_payment_methods(self) -> dict[str, tuple[str, ...]]:
        """Payment method ids held by more than one user (they have no owner); empty if none."""
        self._method_index()
        return dict(self._shared)

    def _method_index(self) -> dict[str, str]:
        # tools never add or move payment methods, so the index is built once
        with self._lock:
            if self._methods is None:
                holders: dict[str, list[str]] = {}
                for user in self.db.users():
                    for method_id in user["payment_methods"]:
                        holders.setdefault(str(method_id), []).append(str(user["user_id"]))
                self._shared = {m: tuple(us) for m, us in holders.items() if len(us) > 1}
                self._methods = {m: us[0] for m, us in holders.items() if len(us) == 1}
            return self._methods
