"""The meaning checks of one claim: each clause set against the evidence clause it restates.

For every clause of a claim:
- **polarity** — it restates an evidence clause (most of its words) with the opposite polarity,
  or says a rule's consequence the other way in the rule's case, via
  `tether.grounding.conditionals`;
- **swap** — it restates an evidence clause but names another member of a closed class (a
  state, before/after, more/less, a weekday, a pack's payment method) than the evidence does;
- **timing** — it says how long or when, and the evidence says something else of the same
  subject (or says that timing only of another subject), via `tether.grounding.timings`;
- **scope** — it allows any member of what the evidence limits, or lifts its limit, via
  `tether.grounding.universals`, moves a rule to another state, or says an act is still
  possible in the case a rule ends it (`tether.grounding.persistence`);
- **fields** — what it says of a record's fields (status, count, flags, values), via
  `tether.grounding.fields`, and a value said as its "-less" opposite ("wireless" for "wired"),
  via `tether.grounding.antonyms`.

A finding names what decided it: the evidence id and, for a record, the field's path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tether.grounding.abilities import denied_abilities
from tether.grounding.additions import (
    ADVERBS,
    check_additions,
    dismissed_reports,
    joined_by_and,
    plain_terms,
    said_back,
    state_words,
)
from tether.grounding.antonyms import check_antonyms
from tether.grounding.arithmetic import fraction_off, ratio_off, total_bound
from tether.grounding.attached import check_attached
from tether.grounding.bindings import check_bindings
from tether.grounding.calendar_points import check_calendar_points
from tether.grounding.claims import content_terms, norm
from tether.grounding.code_bindings import check_code_bindings
from tether.grounding.comparisons import check_comparisons
from tether.grounding.conditionals import check_consequence
from tether.grounding.denied_values import check_denied_values
from tether.grounding.designations import check_designations
from tether.grounding.evidence_clauses import EvidenceClause
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.exchange_sides import check_exchange_sides
from tether.grounding.exclusions import check_exclusions, check_narrowed, check_requalified
from tether.grounding.facts import CONTRADICTED, SUPPORTED, UNSUPPORTED, Finding
from tether.grounding.fields import FieldFinding, referred
from tether.grounding.held_amounts import check_compared_amounts, check_covered, check_held_amounts
from tether.grounding.indirect import plainly
from tether.grounding.listed_counts import check_listed_counts
from tether.grounding.listed_needs import check_added_needs, check_listed_needs
from tether.grounding.meaning import (
    Vocabulary,
    clauses,
    declined_label,
    declines_reporter,
    declining_heading,
    denied_acts,
    denied_terms,
    denied_with_next,
    denies,
    main_part,
    negated,
    none_in_rules,
    sets_outside,
    states,
)
from tether.grounding.option_flags import check_option_flags
from tether.grounding.paid_with import check_paid_with
from tether.grounding.persistence import check_lasting, check_proviso
from tether.grounding.question_states import check_question_states
from tether.grounding.record_checks import check_clause, check_flags
from tether.grounding.sources import own_words
from tether.grounding.split_lists import check_split_lists
from tether.grounding.state_rules import (
    check_definition,
    check_left_states,
    check_state_rules,
    check_transitions,
    defines,
    state_rules,
)
from tether.grounding.step_order import agrees, check_step_order
from tether.grounding.sufficiency import check_floors
from tether.grounding.timing_comparisons import (
    check_first,
    check_none_at_once,
    check_timing_comparisons,
)
from tether.grounding.timings import check_timing, recorded_timings, timings
from tether.grounding.universals import check_lifted, check_limits
from tether.grounding.value_counts import (
    check_label_counts,
    check_value_counts,
    check_whole_list_in_stock,
    line_label,
)
from tether.grounding.variants import check_descriptions, check_variants

RESTATES = 0.6  # share of a clause's words an evidence clause must hold to be restated by it
# a clause whose subject is "which" or "that", said of what the clause before names
_RELATIVE_SUBJECT = re.compile(r"^\W*(?:which|that)\s+(?:is|are|was|were|can)\b", re.IGNORECASE)
_POSSIBLE = re.compile(r"\b(?:can|could|may|possible|allowed|permitted)\b", re.IGNORECASE)


def check_meaning(
    text: str,
    evidence: EvidenceSet,
    vocabulary: Vocabulary,
    before: Sequence[float] = (),
    previous: str = "",
) -> list[Finding]:
    """Every meaning finding of one claim; `before` holds the grounded amounts of the claim
    before it, `previous` its text (what a pronoun opening this one may stand for)."""
    text = plainly(text)

    def named(part: str) -> list[str]:  # the class members a text names
        return [member for _, member, _, _ in vocabulary.members(part)]

    def classes_named(part: str) -> list[str]:  # the classes of the members a text names
        return [cls for cls, _, _, _ in vocabulary.members(part) if cls not in vocabulary.states]

    def kinds_named(part: str) -> list[str]:  # the members a text names that are no state
        # ("refunded to your gift card" names a gift card; "refunded" is what happens to it)
        return [m for cls, m, _, _ in vocabulary.members(part) if cls not in vocabulary.states]

    compared = check_comparisons(text, evidence.views, vocabulary.names)
    out: list[Finding] = [_gap(f) if f.kind == "gap" else _from_field(f) for f in compared]
    if evidence.records:
        off = ratio_off(text, evidence.index.records)
        if off is not None:
            why = f"no two amounts it names are {off:g} times apart, as it says"
            out.append(Finding("amount", CONTRADICTED, why, ""))
        bound = total_bound(text, evidence.index.records)
        if bound is not None and not bound[2]:
            why = f"what it names costs more, or less, together than it says: {bound[0]!r}"
            out.append(Finding("amount", CONTRADICTED, why, ""))
        share = fraction_off(text, evidence.index.records)
        if share is not None:
            why = f"nothing it names is {share:.2g} of the amount it says it is a share of"
            out.append(Finding("amount", CONTRADICTED, why, ""))
    out.extend(_from_field(f) for f in check_flags(text, evidence.views))
    # values bound to list items: the whole sentence, cut between the items it names
    targets = referred(text, evidence.views, text)
    out.extend(_from_field(f) for f in check_bindings(text, targets, vocabulary))
    out.extend(_from_field(f) for f in check_code_bindings(text, targets))
    out.extend(_transitions(text, evidence, vocabulary))
    if evidence.texts and not text.rstrip().endswith("?"):
        passages = evidence.texts
        found = [
            *check_requalified(text, evidence.sentences),
            *check_narrowed(text, passages, evidence.sentences),
            *check_lasting(text, evidence.question, evidence.sentences),
            *check_proviso(text, evidence.sentences),
            *check_split_lists(text, evidence.sentences),
        ]
        for why, c in found:
            out.append(Finding("scope", CONTRADICTED, why, c.source, c.sentence, c.span))
        for why, c in check_step_order(text, evidence.sentences):
            out.append(Finding("rule", CONTRADICTED, why, c.source, c.sentence, c.span))
        for why, c in check_consequence(text, evidence.sentences):
            out.append(Finding("polarity", CONTRADICTED, why, c.source, c.sentence, c.span))
        out.extend(check_listed_counts(text, passages, evidence.sentences))
        for why, source in check_added_needs(text, passages):
            out.append(Finding("rule", UNSUPPORTED, why, source))
    out.extend(_scopes(text, evidence, vocabulary))
    out.extend(check_designations(text, evidence.index.terms))
    if evidence.records:
        out.extend(_group_count(f) for f in check_label_counts(text, evidence.views))
        out.extend(_group_count(f) for f in check_whole_list_in_stock(text, evidence.views))
    out.extend(check_timing_comparisons(text, evidence.clauses))
    if evidence.texts:
        out.extend(check_none_at_once(text, evidence.clauses, evidence.texts))
    out.extend(_repeated_report(text, evidence))
    question = evidence.question
    out.extend(check_first(text, evidence.clauses, question, kinds=named))
    if evidence.texts:
        out.extend(check_floors(text, evidence.sentences))
        out.extend(check_held_amounts(text, evidence.sentences))
        out.extend(check_covered(text, before))
        out.extend(check_compared_amounts(text))
    # the customer's account of their own situation, where no record gives one, contradicts an
    # answer that says otherwise ("I don't have a gift card yet"); it never supports one
    account = evidence.account
    if account is not None:
        out.extend(check_held_amounts(text, account.sentences))
    context = set(content_terms(text))

    if evidence.records:
        options = check_option_flags(text, evidence.option_flags)
        out.extend(_from_field(f) for f in options)
        out.extend(_from_field(f) for f in check_denied_values(text, evidence.views))
    reporters = evidence.index.referents.reporters
    label_declined = declined_label(text)
    heading, heading_end = line_label(text)  # "Women:" narrows what the line's clauses count
    parts = clauses(text)
    for n, clause in enumerate(parts):
        body = clause.text
        # a clause denying what it names as someone's report ("your coworker's ten days don't
        # apply") says nothing of the evidence's rules or timings
        about_report = (
            declines_reporter(body, reporters)
            or none_in_rules(body)
            # the label of "A quicker Visa refund in 2 to 3 days: not in our timings"
            or (label_declined and clause.end <= text.find(":") and none_in_rules(text))
        )
        for f in check_clause(body, evidence.views, vocabulary, whole=text):
            out.append(_from_field(f))
        # "It is also available": the one thing the claim before described, when it opens;
        # "…, and a leather one at $466.44, which is also available": the clause before
        referent = previous if clause.start == 0 else ""
        if n and _RELATIVE_SUBJECT.match(body):
            referent = parts[n - 1].text
        out.extend(_from_field(f) for f in check_variants(body, evidence.views, referent))
        label = heading if clause.start >= heading_end else ""
        out.extend(_group_count(f) for f in check_value_counts(body, evidence.views, label))
        out.extend(_from_field(f) for f in check_antonyms(body, evidence.views))
        described = check_descriptions(body, evidence.views, evidence.index.terms, vocabulary.genre)
        out.extend(_from_field(f) for f in described)
        terms = content_terms(body)
        # what the customer says of their own situation, said back with its polarity ("no
        # gift card on your account" after "I don't have any gift card on my account"), flips
        # no rule that names the case ("a gift card that already exists on your account")
        if not about_report and not _said_back(body, terms, account, context, vocabulary):
            # "straight away, not in 5 to 7 business days": a timing set aside is the timing
            # checks' to judge; "by name and zip, not by e-mail" still denies a way to verify
            main = main_part(body)
            if main != body and not timings(body[len(main) :]):
                main = body
            # "it isn't among the desk's services, which are looking up profiles, …": the
            # relative clause restates the evidence; the denial is the main clause's
            aside = _WHICH_ARE.search(main)
            if aside is not None and negated(main[: aside.start()]) and not negated(aside.group(0)):
                main = main[: aside.start()]
            kept = terms if main == body else content_terms(main)
            out.extend(_flipped(main, kept, evidence, context, vocabulary))
        # the customer's account is their words: a clause denies it only in those words ("you
        # won't need to explain the espresso machine" denies nothing of "needs the espresso
        # machine changed")
        if (
            account is not None
            and _ABOUT_YOU.match(body)
            and set(terms) <= account.index.terms
            and not _NEED_OF_ONE.search(body)
        ):
            out.extend(_flipped(body, terms, account, context, vocabulary))
        out.extend(_replaced(body, evidence, vocabulary))
        # "A new gift card: no", "Not possible: a new gift card", "- a new gift card ❌"
        refused = label_declined or declining_heading(text) or _CROSSED.search(text) is not None
        out.extend(_swaps(body, evidence, vocabulary, refused))
        if not evidence.records:
            # what the customer says of their own order stands only where no record does: a
            # record, not the customer, says what they paid with and what state it is in, and
            # an answer may correct the customer by it
            out.extend(check_paid_with(body, evidence.question, vocabulary))
            out.extend(check_exchange_sides(body, evidence.question))
            out.extend(check_question_states(body, evidence.question, vocabulary))
        if not about_report:
            out.extend(
                check_timing(
                    main_part(body),  # the timing set aside by ", not …" is not the one said
                    evidence.clauses,
                    text,
                    lambda: recorded_timings(evidence),
                    kinds=kinds_named,
                    classes=classes_named,
                )
            )
        out.extend(
            check_additions(
                body, evidence, vocabulary, joined=joined_by_and(text, clause.start), whole=text
            )
        )
        out.extend(check_attached(body, evidence, vocabulary))
        # "Backpack now, bottle next week: no, …" declines the point in time its label names
        in_declined = label_declined and clause.end <= text.find(":")
        if not in_declined:
            out.extend(check_calendar_points(body, evidence.dated, own_words(evidence.question)))
        if evidence.texts and not text.rstrip().endswith("?"):
            lifted = check_lifted(body, evidence.sentences)
            for why, c in [*check_limits(body, evidence.sentences), *lifted]:
                out.append(Finding("scope", CONTRADICTED, why, c.source, c.sentence, c.span))
            passages = evidence.texts
            for why, c in denied_abilities(body, evidence.sentences):
                out.append(Finding("polarity", CONTRADICTED, why, c.source, c.sentence, c.span))
            for why, c in check_exclusions(body, text, evidence.sentences, passages):
                out.append(Finding("scope", CONTRADICTED, why, c.source, c.sentence, c.span))
            for why, source, line in check_listed_needs(body, passages):
                out.append(Finding("rule", CONTRADICTED, why, source, line))
    return out


# an answer saying the customer's report holds: "as the agent said", "as you were told",
# "you're right that", "that's right"
_ENDORSED = re.compile(
    r"\bas\s+(?:the|our|your|my)\s+(?:\w+\s+)?(?:said|told\s+you|promised|mentioned)\b|"
    r"\bas\s+(?:you\s+were|you[\u2019']ve\s+been)\s+(?:told|promised)\b|\bas\s+promised\b|"
    r"\byou[\u2019']re\s+right\b|\byou\s+are\s+right\b|\bthat[\u2019']s\s+(?:right|correct)\b",
    re.IGNORECASE,
)


# a thing said to be (or not to be) of a kind the evidence names: "is a different kind of
# product", "counts as another variant", "isn't the same product"
_RULE_APPLIED = re.compile(
    r"\b(?:is|are|isn[\u2019']t|aren[\u2019']t|counts?\s+as|would\s+be)\s+(?:not\s+)?"
    r"(?:a|an|the)\s+(?:different|other|another|same)\b",
    re.IGNORECASE,
)
_RETURN = norm("return")
_COMING_BACK = frozenset(content_terms("come comes coming came back go goes get gets got"))
# words that only point at another case ("another payment method instead"): no report's content
_LIGHT = frozenset({"another", "instead", "other", "rather", "also", "else", "either"})


def _repeated_report(text: str, evidence: EvidenceSet) -> list[Finding]:
    """A clause that says again what the customer reports someone told them, in words only
    that report uses ("…, once the $10 label fee is taken off" after "the agent said a $10 fee
    for the return label would be taken off"): the report is no evidence. A clause denying or
    declining it ("I can't confirm any label fee"), setting it aside ("whatever the agent said
    about the fee"), or saying back what the customer asks, says nothing of the kind."""
    asked = evidence.index.referents
    if not asked.heard:
        return []
    known = evidence.index.terms | asked.words
    if _RETURN in known:
        known = known | _COMING_BACK  # "comes back", "gets it back" say "is returned"
    parts = said_back(text)
    found = [clause for clause, _ in parts]
    for n, (clause, back) in enumerate(parts):
        # a label is read with what it labels ("Your husband's PayPal: not possible."), and a
        # list with the heading declining it ("Not needed: the address you post from")
        # ("Colleague (last four card digits): no, …": a bracket may close before the colon)
        labelled = (text[clause.end :].lstrip(" )]").startswith(":") and negated(text)) or (
            clause.start >= text.find(":") >= 0 and declining_heading(text)
        )
        if labelled or negated(clause.text) or sets_outside(clause.text) or back:
            continue
        if denied_with_next(text, found, n):  # "X and Y aren't on that list"
            continue
        # setting the report aside names it ("whatever the agent told you about …")
        said = set(content_terms(dismissed_reports(clause.text)))
        repeated = said & asked.heard - known
        repeated -= _LIGHT
        # "a portable speaker is a different kind of product": the evidence's own words said of
        # the thing reported, a rule applied to it, not the report said again
        applied = _RULE_APPLIED.search(clause.text) and len(said & evidence.index.terms) >= 3
        # one word in common ("works") is no report said again, unless the answer says it is
        if not applied and (len(repeated) >= 2 or (repeated and _ENDORSED.search(text))):
            why = f"only what the customer was told says {', '.join(sorted(repeated)[:4])}"
            return [Finding("novel", UNSUPPORTED, why, "question")]
    return []


# a clause saying what holds for the customer ("you have a gift card", "so your order …"):
# what the customer's own account can contradict
_ABOUT_YOU = re.compile(
    r"^\W*(?:(?:so|and|but|since|as|because|then)\s+)?(?:you|your)\b", re.IGNORECASE
)


_YOURS = re.compile(r"\b(?:you|your)\b", re.IGNORECASE)
# what someone has: "there's no gift card on your account", "you don't have a Visa"
_HOLDING = re.compile(
    r"\b(?:have|has|had|hold|holds|own|owns|there[\u2019']?s|there\s+(?:is|are)|"
    r"on\s+(?:your|the)\s+(?:account|profile))\b",
    re.IGNORECASE,
)
# what someone may or must do: "need to", "have to", "can", "must", "allowed"
_ACT = re.compile(
    r"\b(?:need|needs|needed|have\s+to|has\s+to|can|cannot|can[\u2019']t|must|may|allowed|"
    r"able|required)\b",
    re.IGNORECASE,
)


def _said_back(
    body: str,
    terms: list[str],
    account: EvidenceSet | None,
    context: set[str],
    vocabulary: Vocabulary,
) -> bool:
    """Whether the customer's own account restates the clause with the same polarity: what
    the customer has ("no gift card on your account"), never what a rule lets them do ("you
    don't need to verify your identity", said back from "I don't need to …", is still a
    flipped rule)."""
    if account is None or not _YOURS.search(body) or not _HOLDING.search(body):
        return False
    if _ACT.search(body):
        return False
    restated = _restated(terms, account.sharing(terms), context)
    return bool(restated) and not any(_restatement(body, c, vocabulary) for c in restated)


def _flipped(
    body: str, terms: list[str], evidence: EvidenceSet, context: set[str], vocabulary: Vocabulary
) -> list[Finding]:
    """A clause restating evidence with the other polarity: a flip counts only when every
    equally close restatement has the other polarity."""
    restated = _restated(terms, evidence.sharing(terms), context) or _restated(
        terms, evidence.sharing(terms, whole=True), context
    )
    if not restated and _NEED_TO.search(body) and denies(body):
        # "you don't need to verify your identity" restates "we verify your identity": the need
        # is how the act is denied, not a word the evidence must hold
        acts = [t for t in terms if t not in _NEED_WORD]
        restated = _restated(acts, evidence.sharing(acts), context)
    flips = [_restatement(body, c, vocabulary) for c in restated]
    return list(flips[0]) if restated and all(flips) else []


def _replaced(body: str, evidence: EvidenceSet, vocabulary: Vocabulary) -> list[Finding]:
    """A list the evidence gives, restated with one member replaced by words the evidence
    never uses ("first name, last name and phone number" for "… and zip code")."""
    # a name the customer gave, said to them ("…, Sophia, once you're verified"), is no member
    named = evidence.index.referents.names
    mine = [
        m
        for part in _MEMBER.split(body)
        if (m := set(_checkable(part, vocabulary))) and not (len(m) == 1 and m <= named)
    ]
    # a list of short things (what follows its first member is a word or two each)
    if len(mine) < 3 or any(len(m) > 2 for m in mine[1:]):
        return []
    # the member with a word the evidence never uses ("debit cards", "phone number"); the
    # first one carries the clause's lead-in ("otherwise your first name")
    added = [m for m in mine[1:] if m - evidence.index.terms]
    if len(added) != 1:
        return []
    said = set().union(*mine)
    for restated in evidence.sharing(said, whole=True):
        theirs = [t for part in _MEMBER.split(restated.text) if (t := set(content_terms(part)))]
        kept = [m for m in mine if m is not added[0] and any(m & t for t in theirs)]
        dropped = [t for t in theirs if not any(t <= m for m in mine) and t - said]
        if len(theirs) >= 3 and len(kept) >= 2 and len(kept) == len(mine) - 1 and dropped:
            return _list_swap(added[0], dropped[-1], restated)
    return []


def _list_swap(added: set[str], dropped: set[str], restated: EvidenceClause) -> list[Finding]:
    return [
        Finding(
            "novel",
            "unsupported",
            f"the evidence lists {' '.join(sorted(dropped))} where the claim says "
            f"{' '.join(sorted(added))}: {restated.text.strip()[:80]!r}",
            restated.source,
            restated.sentence,
            restated.span,
        )
    ]


# the members of a list: "first name, last name and zip code"
_MEMBER = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or|plus)\s+", re.IGNORECASE)


def _checkable(body: str, vocabulary: Vocabulary) -> list[str]:
    """A clause's content words that can be missing from the evidence."""
    judged = state_words(body, vocabulary)
    return [t for t in plain_terms(body, vocabulary) if t not in judged]


def _group_count(f: FieldFinding) -> Finding:
    """A count of the variants holding a value: one that holds vouches for its own number (the
    phrase it is said in), never for the claim's other counts, as a count of a whole list does."""
    if f.status != SUPPORTED:
        return _from_field(f)
    return Finding("group", SUPPORTED, f"{f.field} agrees", f.field, f.phrase)


def _gap(f: FieldFinding) -> Finding:
    """A gap between two objects' prices: one that holds vouches for its amount (the phrase it
    is said in); a wrong one contradicts the claim as a binding would."""
    if f.status != SUPPORTED:
        return Finding("binding", f.status, "; ".join(f.reasons), f.field)
    return Finding("gap", SUPPORTED, f"{f.field} agrees", f.field, f.phrase)


def _from_field(f: FieldFinding) -> Finding:
    reason = "; ".join(f.reasons) or f"{f.field} agrees"
    return Finding(f.kind, f.status, reason, f.field)


def _restated(
    terms: Sequence[str],
    pool: Sequence[EvidenceClause],
    context: set[str] | None = None,
) -> list[EvidenceClause]:
    """The evidence clauses a claim clause restates, equally well, if any. A list item's label
    counts as part of its clauses when the claim names it ("processed: it can no longer be
    changed" is restated by "a processed order can be changed")."""
    wanted = set(terms) - ADVERBS
    if len(wanted) < 2:
        return []
    scored: list[tuple[tuple[float, float, int], EvidenceClause]] = []
    for c in pool:
        if c.sentence.rstrip().endswith("?"):
            continue
        labels = [alt for alt in c.label if alt and alt <= (context or wanted)]
        held = (c.terms - ADVERBS).union(*labels)
        shared = len(wanted & held)
        if not shared:
            continue
        named = float(bool(labels))
        scored.append(((shared / len(wanted), named, -len(held - wanted)), c))
    if not scored:
        return []
    top = max(key for key, _ in scored)
    if top[0] < RESTATES:
        return []
    out = []
    for key, c in scored:
        if key != top:
            continue
        labels = [alt for alt in c.label if alt and alt <= (context or wanted)]
        held = (c.terms - ADVERBS).union(*labels)
        shared = len(wanted & held)
        # a restatement, not a sentence that merely holds the clause's words among others
        if shared / max(len(held), 1) < RESTATES / 1.5:
            continue
        # two shared words restate only a clause they fill, in a sentence holding the rest
        # of the claim ("you need not repeat it" … "a summary of your request")
        if (
            shared < 3
            and not labels
            and (top[0] < 1.0 or shared / max(len(held), 1) < RESTATES)
            and not (held <= wanted and wanted <= set(content_terms(c.sentence)))
        ):
            continue
        out.append(c)
    return out


_NEED_WORD = frozenset(content_terms("need"))
_NEED_TO = re.compile(r"\bneed(?:s|ed)?\s+to\s+\w", re.IGNORECASE)
_BECAUSE = re.compile(r"\W*(?:because|since|as)\b", re.IGNORECASE)


def _reason_given(c: EvidenceClause) -> str:
    """The reason the clause's sentence gives right after it ("…, because the original payment
    is returned in both cases"), or ""."""
    at = c.sentence.find(c.text)
    tail = c.sentence[at + len(c.text) :] if at >= 0 else ""
    return tail if _BECAUSE.match(tail) else ""


# a refund or a return said with where it goes: "refunded to the card", "returned onto it"
_SENT_TO = re.compile(r"(?<=refunded|returned)\s+(?:back\s+)?(?:to|onto|into)\b", re.I)


# "you don't need one for the address change": the need is of a thing the clause leaves unnamed
_NEED_OF_ONE = re.compile(
    r"\b(?:don[\u2019']t|do\s+not|won[\u2019']t|will\s+not)\s+need\s+(?:one|it|them|that|this)\b",
    re.IGNORECASE,
)
_WHICH_ARE = re.compile(r",\s*which\s+(?:is|are|include|includes|covers?|means?)\b.*$", re.I)
_CROSSED = re.compile("[\u274c\u2717\u2718\u2716]")


def _swaps(
    body: str, evidence: EvidenceSet, vocabulary: Vocabulary, denied: bool = False
) -> list[Finding]:
    """A closed-class word the evidence never uses with what the clause says of it: the
    clauses that say the rest of it ("orders can be returned") name another member ("only
    delivered orders") and none names the claim's ("only pending orders")."""
    # a state the clause only says can happen ("can be returned") is what it says of the
    # subject, not the word to compare
    acts = {(m.start, m.end) for m in states(body, vocabulary) if m.modal}
    # "exchanges are for delivered orders, not pending ones": the member set aside is no swap
    aside = len(main_part(body))
    # "is refunded to its original payment method": where money goes, not a state
    said = [
        x
        for x in vocabulary.members(body)
        if (x[2], x[3]) not in acts and not _SENT_TO.match(body, x[3]) and x[2] < aside
    ]
    if not said:
        return []
    mine = {m for _, m, _, _ in vocabulary.members(body)}
    out: list[Finding] = []
    # each class is compared on the rest of the clause: its own members blanked, another
    # class's kept ("pending again, plus an e-mail" is compared with its e-mail); a denial
    # ("neither is a new gift card") is compared on what no member names
    alone = denied or negated(body)
    for cls in dict.fromkeys(k for k, _, _, _ in said):
        blanked = list(body)
        for k, _, a, b in said:
            if k == cls or alone:
                blanked[a:b] = " " * (b - a)
        rest = set(content_terms("".join(blanked))) - ADVERBS
        if len(rest) < 2:
            continue
        need = len(rest) if len(rest) <= 3 else max(3, round(0.75 * len(rest)))
        candidates = [
            c
            for c in evidence.sharing(rest)
            if not c.sentence.rstrip().endswith("?") and len(rest & c.terms) >= need
        ]
        for k, member, _, _ in said:
            if k != cls or not candidates:
                continue
            # the member said in the reason the clause's sentence gives for it is no swap ("…
            # when the payment method is changed, because the original payment is returned")
            named = [
                c
                for c in candidates
                if (cls, member)
                in {(x, m) for x, m, _, _ in vocabulary.members(f"{c.text} {_reason_given(c)}")}
            ]
            if named:
                continue
            others = [
                (c, m)
                for c in candidates
                for x, m, _, _ in vocabulary.members(c.text)
                if x == cls
                and m not in mine
                # "you confirm before the status becomes …" for "after you confirm, the status
                # becomes …": the acts said the other way round, in the same order
                and not (cls == "order" and agrees(body, c.text))
            ]
            if others:
                c, m = others[0]
                out.append(
                    Finding(
                        "swap",
                        CONTRADICTED,
                        f"the evidence says {m!r} where the claim says {member!r}: "
                        f"{c.text.strip()[:80]!r}",
                        c.source,
                        c.sentence,
                        c.span,
                    )
                )
    return out


# "Wi-Fi + Cellular, not Wi-Fi only", "not just the kettle": a denial that the thing is all
# there is, which a record holding more bears out
_NOT_ONLY = re.compile(
    r"\bnot\s+(?:(?:just|only|merely|solely)\b|[\w+ -]{1,30}?\s+(?:only|alone)\b)", re.IGNORECASE
)


def _restatement(body: str, ev: EvidenceClause, vocabulary: Vocabulary) -> list[Finding]:
    out: list[Finding] = []
    if (
        not _DENIED_CHOICE.match(body)
        and not _NOT_ONLY.search(body)
        and denies(body) != ((ev.negated and denies(ev.text)) or _aside_denies(ev))
        and len(set(content_terms(body))) >= 2
        and _same_predicate(body, ev)
    ):
        out.append(
            Finding(
                "polarity",
                CONTRADICTED,
                f"the claim flips the polarity of {ev.text.strip()[:80]!r}",
                ev.source,
                ev.sentence,
                ev.span,
            )
        )
    return out


def _aside_denies(ev: EvidenceClause) -> bool:
    """An aside in brackets right after the clause, a sentence of its own, denies it: "or else
    on a gift card (I don't have one yet)" says there is no gift card; a gloss without a
    subject ("pending (not yet shipped)") explains the clause, it does not deny it."""
    text = ev.text.strip()
    at = ev.sentence.find(text)
    aside = _ASIDE.match(ev.sentence, at + len(text)) if at >= 0 and text else None
    return aside is not None and denies(aside.group(1))


# "Not the gift card, I'm afraid: …": an answer turning down one of the options asked about
# denies no predicate the evidence states of it
_DENIED_CHOICE = re.compile(
    r"^\W*(?:no\W+)?not\s+(?:the|your|my|a|an|this|that|with|on|to|by)\s+[\w'-]+"
    r"(?:\s+[\w'-]+){0,2}\W*$",
    re.IGNORECASE,
)
_OBLIGED = re.compile(r"\b(?:ha(?:ve|s|d)\s+to|must|required\s+to)\b", re.IGNORECASE)
_DENIED_OBLIGATION = re.compile(
    r"(?:n[\u2019']t|\bnot|\bnever)\s+(?:\w+\s+)?(?:ha(?:ve|s)\s+to|(?:be\s+)?required\s+to)\b",
    re.IGNORECASE,
)
# what names one case rather than the kind: an amount, or whose or which one it is
_ONE_CASE = re.compile(r"[$\u20ac\u00a3]\s?\d|\b(?:your|my|this|that|his|her)\b", re.IGNORECASE)
_MUST = re.compile(r"\b(?:must|ha(?:ve|s)\s+to|(?:is|are)\s+required\s+to|needs?\s+to)\b", re.I)
_NEED = norm("need")
_OR = re.compile(r"\bor\b", re.IGNORECASE)
_ASIDE = re.compile(r"\s*\(((?:i|we|you|it|they|he|she)\b[^()]{1,60})\)", re.IGNORECASE)


def _same_predicate(body: str, ev: EvidenceClause) -> bool:
    """The negation bears on words both clauses share ("cannot be returned" against "can be
    returned"), not on a part only one of them has."""
    if denies(body):
        denied = denied_terms(body)
        # "a gift card doesn't have to cover the whole order" against "a gift card must have
        # enough balance to pay the whole order total": the obligation is what is denied
        if _DENIED_OBLIGATION.search(body) and _MUST.search(ev.text) and not ev.negated:
            return True
        # "the $10 gift card can't cover the $18.40" against "a gift card … must hold enough
        # balance to cover it": a case the requirement is not met in, no requirement denied
        if _MUST.search(ev.text) and not ev.negated and _ONE_CASE.search(body):
            return False
        return bool(denied & ev.terms) and not _other_way(body, denied, ev.text)
    said = set(content_terms(body))
    if _OBLIGED.search(body):
        said.add(_NEED)  # "you'll have to place a new order" against "you do not need to …"
    # "you can exchange it for …" against "exchanging for … is not possible"
    possible = _POSSIBLE.search(body) is not None
    return bool(
        denied_terms(ev.text) & said
        or (possible and denied_acts(ev.text) & said)
        or (_aside_denies(ev) and set(content_terms(ev.text)) & said)
    )


def _other_way(body: str, denied: set[str], text: str) -> bool:
    """The evidence gives alternatives ("by e-mail or by name and zip") and the claim denies
    one while naming another it does not deny ("name + zip is enough, no e-mail needed"): a
    choice between them, not the clause denied."""
    if " or " not in text:
        return False
    ways = [set(content_terms(part)) for part in _OR.split(text)]
    named = set(content_terms(body)) - denied
    for i, way in enumerate(ways):
        others = [w for j, w in enumerate(ways) if j != i]
        own = way - set().union(*others)
        # the denial falls on this way's own words, and the claim names another's, not this
        if own & denied and not own & named and any((other - way) & named for other in others):
            return True
    return False


def _transitions(body: str, evidence: EvidenceSet, vocabulary: Vocabulary) -> list[Finding]:
    """A state the claim says a record becomes that none the evidence gives."""
    passages = evidence.texts
    return [
        Finding("swap", CONTRADICTED, reason, source)
        for reason, source in [
            *check_transitions(body, passages, vocabulary),
            *check_left_states(body, passages, vocabulary),
        ]
    ]


def _scopes(text: str, evidence: EvidenceSet, vocabulary: Vocabulary) -> list[Finding]:
    """What the claim says can be done in a state, against the evidence's rules for it."""
    if not evidence.texts:
        return []
    out: list[Finding] = []
    # the evidence's clauses are read only for a claim that defines a state or states a rule
    defined = check_definition(text, evidence.clauses, vocabulary) if defines(text) else None
    if defined is not None:
        why, by = defined
        out.append(Finding("scope", CONTRADICTED, why, by.source, by.sentence, by.span))
    if not state_rules(text, vocabulary):
        return out
    for status, reason, c in check_state_rules(text, evidence.sentences, vocabulary):
        if c is None:
            out.append(Finding("scope", status, reason, ""))
        else:
            out.append(Finding("scope", status, reason, c.source, c.sentence, c.span))
    return out
