"""A lending-library desk: a small domain pack written only against tether's public API.

It declares no policy set, so the builder refuses its write tool unless an agent opts in with
`allow_writes_without_policy`. Its data is a plain dict; a test hands in its own (`data=`) and
asserts on it afterwards.
"""

from __future__ import annotations

import copy
from typing import Any

from tether import Agent, ErrorCode, Principal, RiskClass, TetherError, Tool, ToolError, make_tool
from tether.sdk import DeskContext, Domain, DomainParts

READ_SCOPE, WRITE_SCOPE = "library:read", "library:write"
VERSION = "0.1.0"

SEED: dict[str, Any] = {
    "members": {"ada": {"name": "Ada Lovelace"}, "ben": {"name": "Ben Okri"}},
    "books": {
        "dune": {"book_id": "dune", "title": "Dune", "author": "Frank Herbert"},
        "emma": {"book_id": "emma", "title": "Emma", "author": "Jane Austen"},
    },
    "loans": {},  # book id -> member id
}


def fresh_data() -> dict[str, Any]:
    """A private copy of the seed records."""
    return copy.deepcopy(SEED)


class Members:
    """The principal directory: only library members may be acted for."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._members = data["members"]

    def resolve(self, principal_id: str) -> Principal:
        if principal_id not in self._members:
            raise TetherError(ErrorCode.UNKNOWN_PRINCIPAL, f"no member with id {principal_id!r}")
        return Principal(id=principal_id, tenant="library", roles=("member",))


class MemberOwners:
    """A member record belongs to that member; nothing else is owned."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._members = data["members"]

    def owner_of(self, kind: str, resource_id: str) -> str | None:
        if kind == "member" and resource_id in self._members:
            return resource_id
        return None


def build_tools(data: dict[str, Any]) -> tuple[Tool, ...]:
    """The desk's tools over `data`."""

    def find_book(title: str) -> dict[str, Any]:
        """Find a book by its title, and whether it is on the shelf."""
        for book in data["books"].values():
            if book["title"].lower() == title.strip().lower():
                return {**book, "on_shelf": book["book_id"] not in data["loans"]}
        raise ToolError(ErrorCode.NOT_FOUND, f"no book titled {title!r}")

    def borrow_book(book_id: str, member_id: str) -> dict[str, Any]:
        """Lend a book to a member."""
        if book_id not in data["books"]:
            raise ToolError(ErrorCode.NOT_FOUND, f"no book with id {book_id!r}")
        if book_id in data["loans"]:
            raise ToolError(ErrorCode.PRECONDITION_FAILED, f"{book_id} is already on loan")
        data["loans"][book_id] = member_id
        return {"book_id": book_id, "borrower": member_id}

    return (
        make_tool(find_book, scopes=(READ_SCOPE,)),
        make_tool(
            borrow_book,
            risk=RiskClass.WRITE,
            scopes=(WRITE_SCOPE,),
            resources={"member_id": "member"},
        ),
    )


def setup(ctx: DeskContext) -> DomainParts:
    """The desk's parts over the caller's records, or a fresh copy of the seed."""
    data = ctx.data if ctx.data is not None else fresh_data()
    return DomainParts(
        tools=build_tools(data),
        principals=Members(data),
        rights={"member": (READ_SCOPE, WRITE_SCOPE)},
        owners=MemberOwners(data),
        data=data,
    )


LIBRARIAN = Agent(
    name="librarian",
    instructions="You help library members find and borrow books. Cite the records you use.",
    tools=("find_book", "borrow_book"),
    scopes=(READ_SCOPE, WRITE_SCOPE),
)

LIBRARY = Domain(
    name="library",
    version=VERSION,
    description="A lending library's front desk (a test pack).",
    agents=(LIBRARIAN,),
    setup=setup,
    principal_hint="ada",
)


def library_pack() -> Domain:
    """The pack through a factory, as `module:attr` also allows."""
    return LIBRARY
