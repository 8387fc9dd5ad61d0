"""What a clause says has not happened to a record, against the events the record holds.

A record lists what was done to it as values ("transaction_type": "payment", "status":
"delivered"). A clause that denies the act ("it hasn't been paid for yet", "your payment was
declined", "the $46 never came back") while the record holds it says something else. Only a
denial of the past is read so: what cannot or will not happen ("it can't be cancelled") is a
rule, not an account of the record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tether.grounding.claims import norm
from tether.grounding.facts import CONTRADICTED
from tether.grounding.fields import STATUS_KEY, FieldFinding, RecordView
from tether.grounding.meaning import denied_terms

# a denial of what has (not) been done: "hasn't been paid", "was not refunded", "never shipped"
_PAST_DENIAL = re.compile(
    r"\b(?:has|have|had|was|were|did)(?:n[\u2019']t|\s+not)\b|\bnever\b|\bnot\s+yet\b|"
    r"\b(?:nothing|none\s+of\s+(?:which|it|that|them|the\s+\S+))\s+(?:has|have|had|was|were)\b",
    re.IGNORECASE,
)
# "nothing has been charged", "none of which has been refunded": the act is the verb after
# it, not a word after a "not"
_NOTHING_DONE = re.compile(
    r"\b(?:nothing|none\s+of\s+(?:which|it|that|them|the\s+\S+))\s+(?:has|have|had|was|were)"
    r"\s+(?:yet\s+)?(?:been\s+)?(\w+)",
    re.IGNORECASE,
)
# "the payment didn't go through", "a refund, which was never made", "your payment of $20
# hasn't gone through": the event is the noun
_EVENT_DENIED = re.compile(
    r"\b(?P<act>[a-z]+)(?:\s+(?:of|for|on)\s+\S+)?\s*,?\s+(?:which\s+|that\s+)?(?:(?:has|have|had|did|was|"
    r"were)(?:n[\u2019']t|\s+not|\s+never)|never)\s+(?:yet\s+)?(?:been\s+)?(?:go|gone|went|made|"
    r"completed?|succeeded|happened|taken\s+place)\b",
    re.IGNORECASE,
)
# "your payment of $20 was declined", "the refund, which bounced": the event said to have
# failed is one that did not go through
_EVENT_FAILED = re.compile(
    r"\b(?P<act>[a-z]+)(?:\s+(?:of|for|on)\s+\S+)?\s*,?\s+(?:which\s+|that\s+)?(?:(?:was|were|got|has|"
    r"have|had)\s+(?:been\s+)?)?(?:declined|rejected|refused|bounced|failed)\b",
    re.IGNORECASE,
)
# money said not to have come back is a refund denied ("the $46 never came back to it", "never
# made it back onto that gift card"), and
# money said not to have been taken a payment denied ("PayPal hasn't taken the $3,176.43 yet")
_DENIED_MONEY = (
    r"(?:(?:has|have|had|did|was|were)(?:n[\u2019']t|\s+not)|never)\s+(?:yet\s+)?(?:been\s+)?"
)
_NOT_BACK = re.compile(
    rf"{_DENIED_MONEY}(?:come|came|gone|went|go|sent|paid|put|made\s+it|make\s+it)\s+back\b",
    re.IGNORECASE,
)
_NOT_TAKEN = re.compile(rf"{_DENIED_MONEY}(?:taken|took|take|collected|billed)\b", re.IGNORECASE)
_EVENT_NOUN = re.compile(r"\b(payment|charge|refund|transfer)s?\b", re.IGNORECASE)
_MODAL = re.compile(r"\b(?:can|could|may|might|will|would|should|must|if|once|unless)\b", re.I)
# past forms whose stem is not the event's ("paid" → pay, as in "payment")
# past forms `norm` leaves as they are ("sold", "bought" it maps itself: `claims._IRREGULAR`)
_IRREGULAR = {"paid": "pay", "sent": "send", "made": "mak"}
# a charge is a payment by another word ("hasn't been charged" of a "payment")
_SAME_ACT = {"charg": "pay"}


# a payment (or a refund) denied, and the means or the place it names: "wasn't paid by credit
# card", "won't be refunded to your gift card", "didn't go on PayPal"
DENIED_MEANS = re.compile(
    r"(?:n[\u2019']t|\bnot|\bnever)\s+(?:been\s+|be\s+|get\s+|got\s+)?"
    r"(?P<act>paid|charged|billed|refunded|credited|returned|sent|put|placed|made|go|gone|going)"
    r"\s+(?:back\s+)?(?P<by>by|with|on|onto|to|into|through|via|using)\s+"
    r"(?:(?:the|your|a|an|my|any)\s+)?(?P<means>[\w-]+)",
    re.IGNORECASE,
)
# what a payment was made with, not where it went: "wasn't paid by credit card" denies the card
# and says it was paid ("hasn't been refunded to your card yet" still denies the refund)
_INSTRUMENT = frozenset(("by", "with", "through", "via", "using"))


def check_denied_acts(clause: str, targets: Sequence[RecordView]) -> list[FieldFinding]:
    """A denied act the record holds as a value of its own ("payment" for "hasn't been paid")."""
    failed = [] if _MODAL.search(clause) else list(_EVENT_FAILED.finditer(clause))
    if not _PAST_DENIAL.search(clause) and not failed:
        return []
    # the event itself said not to have happened, read in its own words ("the payment, which
    # didn't go through, will need to be retried": what will be is another clause's)
    denied = {norm(m.group("act")) for m in (*_EVENT_DENIED.finditer(clause), *failed)}
    if not _MODAL.search(clause) and _PAST_DENIAL.search(clause):
        denied |= denied_terms(clause) | {norm(m.group(1)) for m in _NOTHING_DONE.finditer(clause)}
        denied -= {
            norm(m["act"]) for m in DENIED_MEANS.finditer(clause) if m["by"].lower() in _INSTRUMENT
        }
    # "the $903.95 charge to your credit card failed to go through": the event named before
    # the failure, however far
    for m in failed:
        denied |= {norm(e) for e in _EVENT_NOUN.findall(clause, 0, m.end())}
    acts = {_SAME_ACT.get(t, _IRREGULAR.get(t, t)) for t in denied}
    if "$" in clause and not _MODAL.search(clause):
        acts |= {"refund"} if _NOT_BACK.search(clause) else set()
        acts |= {"pay"} if _NOT_TAKEN.search(clause) else set()
    if not acts:
        return []
    out: list[FieldFinding] = []
    for v in targets:
        # a status field is judged as a state (`record_checks`), not as an event
        status = {spec.path for spec in v.fields if spec.kind == "status"}
        for fact in v.facts:
            value = fact.value
            if not isinstance(value, str) or len(value) > 30 or " " in value.strip():
                continue
            if fact.key in status or STATUS_KEY.search(fact.path[-1] if fact.path else ""):
                continue
            if norm(value) in acts:
                out.append(
                    FieldFinding(
                        f"{v.evidence_id}:{fact.key}",
                        "count",
                        CONTRADICTED,
                        value,
                        value,
                        (f"{fact.key} is {value!r}",),
                    )
                )
                return out
    return out
