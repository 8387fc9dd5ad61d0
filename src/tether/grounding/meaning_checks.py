"""The meaning checks of one claim: each clause set against the evidence clause it restates.

For every clause of a claim:
- **polarity** — it restates an evidence clause (most of its words) with the opposite polarity;
- **swap** — it restates an evidence clause but names another member of a closed class (a
  state, before/after, more/less, a weekday, a pack's payment method) than the evidence does;
- **timing** — it says how long or when, and the evidence says something else of the same
  subject (or says that timing only of another subject);
- **fields** — what it says of a record's fields (status, count, flags, values), via
  `tether.grounding.fields`.

A finding names what decided it: the evidence id and, for a record, the field's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tether.grounding.claims import content_terms
from tether.grounding.evidence_set import EvidenceClause, EvidenceSet
from tether.grounding.facts import CONTRADICTED, SUPPORTED
from tether.grounding.fields import FieldFinding, check_clause
from tether.grounding.meaning import Vocabulary, clauses, negated, subject_terms, timings

RESTATES = 0.6  # share of a clause's words an evidence clause must hold to be restated by it
SUBJECT = 0.6  # share of a timing's subject words an evidence clause must hold


@dataclass(frozen=True)
class Finding:
    """One thing a meaning check found: contradicted, unsupported or supported, and where."""

    kind: str  # polarity | swap | timing | status | count | flag | value
    status: str  # supported | contradicted | unsupported
    reason: str
    where: str  # evidence id, or "evidence id:field path"


def check_meaning(text: str, evidence: EvidenceSet, vocabulary: Vocabulary) -> list[Finding]:
    """Every meaning finding of one claim."""
    out: list[Finding] = []
    for clause in clauses(text):
        body = clause.text
        for f in check_clause(body, evidence.views, vocabulary, whole=text):
            out.append(_from_field(f))
        terms = content_terms(body)
        best = _restated(terms, evidence.clauses)
        if best is not None:
            out.extend(_restatement(body, best, vocabulary))
        out.extend(_timing(body, evidence.clauses))
    return out


def _from_field(f: FieldFinding) -> Finding:
    reason = "; ".join(f.reasons) or f"{f.field} agrees"
    return Finding(f.kind, f.status, reason, f.field)


def _restated(terms: Sequence[str], pool: Sequence[EvidenceClause]) -> EvidenceClause | None:
    wanted = set(terms)
    if len(wanted) < 2:
        return None
    best: tuple[float, int, EvidenceClause] | None = None
    for c in pool:
        if c.sentence.rstrip().endswith("?"):
            continue
        shared = len(wanted & c.terms)
        if not shared:
            continue
        cover = shared / len(wanted)
        # prefer the tighter clause: fewer words of its own beyond the claim's
        extra = len(c.terms - wanted)
        if best is None or (cover, -extra) > (best[0], -best[1]):
            best = (cover, extra, c)
    if best is None or best[0] < RESTATES:
        return None
    chosen = best[2]
    shared = len(wanted & chosen.terms)
    # a restatement, not a sentence that merely holds the clause's words among many others
    if shared / max(len(chosen.terms), 1) < RESTATES / 1.5:
        return None
    if shared < 3 and (best[0] < 1.0 or shared / max(len(chosen.terms), 1) < RESTATES):
        return None
    return chosen


def _restatement(body: str, ev: EvidenceClause, vocabulary: Vocabulary) -> list[Finding]:
    out: list[Finding] = []
    if negated(body) != ev.negated and len(set(content_terms(body))) >= 2:
        out.append(
            Finding(
                "polarity",
                CONTRADICTED,
                f"the claim flips the polarity of {ev.text.strip()[:80]!r}",
                ev.source,
            )
        )
    said = {(c, m) for c, m, _, _ in vocabulary.members(body)}
    held = {(c, m) for c, m, _, _ in vocabulary.members(ev.text)}
    for cls, member in sorted(said - held):
        others = sorted(m for c, m in held if c == cls and (c, m) not in said)
        if others:
            out.append(
                Finding(
                    "swap",
                    CONTRADICTED,
                    f"the evidence says {others[0]!r} where the claim says {member!r}: "
                    f"{ev.text.strip()[:80]!r}",
                    ev.source,
                )
            )
    return out


def _timing(body: str, pool: Sequence[EvidenceClause]) -> list[Finding]:
    said = timings(body)
    if not said:
        return []
    subject = subject_terms(body)
    timed = [c for c in pool if c.timings]
    out: list[Finding] = []
    for t in said:
        agreeing = [c for c in timed if any(t.agrees(e) for e in c.timings)]
        differing = [c for c in timed if not any(t.agrees(e) for e in c.timings)]
        if any(_about(subject, c) for c in agreeing):
            c = next(c for c in agreeing if _about(subject, c))
            out.append(Finding("timing", SUPPORTED, f"{t.text!r} agrees", c.source))
            continue
        clash = [c for c in differing if _about(subject, c)]
        if clash:
            c = clash[0]
            stated = ", ".join(e.text for e in c.timings)
            out.append(
                Finding(
                    "timing",
                    CONTRADICTED,
                    f"the evidence says {stated!r}, not {t.text!r}: {c.sentence.strip()[:80]!r}",
                    c.source,
                )
            )
            continue
        if agreeing and not subject:
            continue
        out.append(
            Finding(
                "timing",
                "unsupported",
                f"the evidence states no timing {t.text!r} for this",
                agreeing[0].source if agreeing else "",
            )
        )
    return out


def _about(subject: set[str], c: EvidenceClause) -> bool:
    """True when an evidence clause speaks of the claim's subject: its label's words are all
    in the claim, or it holds most of the claim's subject words."""
    if c.label:
        return any(alternative <= subject for alternative in c.label)
    if not subject:
        return False
    return len(subject & c.subject) / len(subject) >= SUBJECT
