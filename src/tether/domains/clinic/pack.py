"""The clinic's appointment desk as a domain pack, declared through the public API only.

    from tether.domains.clinic.pack import CLINIC
    from tether.sdk import build_desk

    desk = build_desk(CLINIC, fresh=True)

`setup` builds the parts over a store: the book (a fresh one when the desk asks for it, else
the one this process keeps for the store), its tools, its patients, who owns what, the policy
binding, the knowledge base and the live graph.
"""

from __future__ import annotations

import threading
from importlib import metadata, resources
from pathlib import Path

from tether import Agent, ErrorCode, Limits, Principal, TetherError
from tether.domains.clinic.book import ClinicBook
from tether.domains.clinic.graph import CLINIC_IDS, ClinicGraph
from tether.domains.clinic.policy import CLINIC_POLICIES, clinic_binding
from tether.domains.clinic.tools import READ, TOOL_NAMES, WRITE, build_tools
from tether.grounding import DocumentsSource, load_package_documents
from tether.sdk import DeskContext, Domain, DomainParts

PACKAGE = "tether.domains.clinic"
KB_URI = "kb://clinic/"

INSTRUCTIONS = """\
You are the appointment desk of a small clinic. You act for one patient, who is already signed
in, and you may look up and change only their appointments. The tools that take a patient_id
need the patient's own id (it is on their appointment letters, e.g. ana-silva): ask for it if
you do not know it. To book, find a free slot with list_open_slots, then book it with a short
reason for the visit; to move or cancel, find the appointment with list_appointments.
The desk asks the patient to confirm every change before it is made. Answer questions about
the clinic only from the evidence you were given, and cite it. You give no medical advice:
for anything urgent, point the patient to the front desk or the emergency numbers."""

CLINIC_AGENT = Agent(
    name="clinic-desk",
    instructions=INSTRUCTIONS,
    tools=TOOL_NAMES,
    grounding_sources=(KB_URI.rstrip("/"), "file://"),  # and any folder its operator ingests
    retrieval_k=3,
    limits=Limits(max_steps=20, max_seconds=60.0),
    scopes=(READ, WRITE),
)

# What a patient may do at the desk; a run gets the agent's scopes ∩ these.
CLINIC_ROLES: dict[str, tuple[str, ...]] = {"patient": (READ, WRITE)}


class ClinicPatients:
    """The principal directory: a patient is whoever the book lists, and nobody else."""

    def __init__(self, book: ClinicBook) -> None:
        self.book = book

    def resolve(self, principal_id: str) -> Principal:
        if principal_id not in self.book.patients:
            raise TetherError(ErrorCode.UNKNOWN_PRINCIPAL, f"no patient with id {principal_id!r}")
        return Principal(principal_id, tenant="clinic", roles=("patient",))


_books: dict[str, ClinicBook] = {}
_books_lock = threading.Lock()


def _book(ctx: DeskContext) -> ClinicBook:
    """The book a desk works on: the caller's, a fresh one, or the one kept for this store."""
    if ctx.data is not None:
        if not isinstance(ctx.data, ClinicBook):
            raise TypeError(f"the clinic desk's data must be a ClinicBook, not {type(ctx.data)}")
        return ctx.data
    if ctx.fresh:
        return ClinicBook.open(ctx.clock.now)
    key = ctx.engine.url.render_as_string(hide_password=True)
    with _books_lock:
        if key not in _books:
            _books[key] = ClinicBook.open(ctx.clock.now)
        return _books[key]


def setup(ctx: DeskContext) -> DomainParts:
    """The desk's parts over one book."""
    book = _book(ctx)
    return DomainParts(
        tools=build_tools(book),
        principals=ClinicPatients(book),
        rights=CLINIC_ROLES,
        owners=book,  # `owner_of(kind, id)`: a patient owns themself and their appointments
        policy=clinic_binding(book),
        knowledge=(DocumentsSource(KB_URI, load_package_documents(PACKAGE, "kb", KB_URI)),),
        graph=ClinicGraph(book),
        data=book,
    )


def _version() -> str:
    try:
        return metadata.version("tether")
    except metadata.PackageNotFoundError:  # a source tree that is not installed
        return "0+unknown"


CLINIC = Domain(
    name="clinic",
    version=_version(),
    description="A clinic's appointment desk: book, move and cancel appointments; ask the rules.",
    agents=(CLINIC_AGENT,),
    setup=setup,
    policies=CLINIC_POLICIES,
    entity_ids=CLINIC_IDS,
    scenarios=Path(str(resources.files(PACKAGE) / "scenarios")),
    principal_hint="ana-silva",
)
