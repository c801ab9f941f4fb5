"""What each field and query parameter of the API means, said once for the whole document.

Most names mean one thing wherever they appear (`released_on`, `person_id`), so a field is
described by its name; the few that mean different things in different shapes (`status`, `type`,
`reason`) are described per schema. `teaching.teach` fills these into the OpenAPI document
wherever a model or route has not said more itself, and tests/api/test_openapi_teaches.py checks
that nothing is left undescribed.
"""

from __future__ import annotations

from typing import Final

NOMIS = "^[A-Z][0-9]{4}[A-Z]{2}$"
CRN = "^[A-Z][0-9]{6}$"
NHS = "^[0-9]{10}$"
# The long form `YYYY/NNNNNNNC` is what the contract shows; a PNC stored before that rule may
# still be in the short form, which this pattern admits too.
PNC = "^([0-9]{2}|[0-9]{4})/[0-9]+[A-Z]$"
ONS = "^[EWSN][0-9]{8}$"
_NORMALISED = "trimmed, upper-cased and with spaces removed, then"
IDENTIFIERS: Final = {
    "nomis": f"NOMIS prison number, {_NORMALISED} `{NOMIS}` (e.g. A1234BC)",
    "crn": f"Probation case reference number (CRN), {_NORMALISED} `{CRN}` (e.g. X123456)",
    "nhs": f"NHS number, {_NORMALISED} `{NHS}` with a valid modulus-11 check digit",
    "pnc": "Police National Computer number, `YY/N+C` or `YYYY/N+C` with a valid check letter; "
    "compared and shown in its long form `YYYY/NNNNNNNC` (e.g. 2012/0052834K)",
}
_DATE = "(YYYY-MM-DD)"
_COUNT = "Of the releases counted, "

FIELDS: Final = {
    **IDENTIFIERS,
    "event_id": "Your id for the event: 1-128 characters of `A-Z a-z 0-9 . _ : -`, unique "
    "within your organisation",
    "occurred_on": f"The day the thing happened, Europe/London {_DATE}; from 2000-01-01 to "
    "tomorrow",
    "person": "The person's identifiers: at least one of nomis, crn, nhs, pnc",
    "data": "The fields of the event's type (CONTRACT §3.2)",
    "corrects": "The event_id of an earlier event of your organisation, of the same type, that "
    "this event replaces; null for a new event",
    "person_id": "joinup's id of the person (a UUID)",
    "received_at": "When joinup stored the event (UTC)",
    "superseded_by": "The event_id of the correction that replaced this event, if any",
    "retracted": "Whether the event was retracted (it then counts nowhere)",
    "retracted_at": "When it was retracted, if it was",
    "retraction_reason": "The reason given when it was retracted",
    "org": "The organisation, from the key (never from a body)",
    "prison": "The prison's 3-letter code, upper-cased (e.g. MDI)",
    "prisons": "Prison codes (3 letters)",
    "release_type": "How the person left prison; conditional_release, hdc, post_recall_release, "
    "pss and ecsl are supervised (a licence is expected)",
    "local_authority": f"The local authority's ONS code, `{ONS}` (e.g. E08000010)",
    "local_authorities": f"ONS local authority codes, `{ONS}`",
    "probation_region": "One of the twelve probation regions, matched ignoring case and "
    "punctuation, shown as spelt in CONTRACT §3.1 (e.g. North West)",
    "probation_regions": "Probation regions (the twelve of CONTRACT §3.1)",
    "community_provider": "The community treatment provider the person is released to",
    "community_providers": "Community treatment providers",
    "provider": "The community treatment provider",
    "substance_group": "What the person is treated for, from the latest treatment start",
    "on_ost": "On opiate substitution therapy",
    "medication": "The OST medication prescribed",
    "first_dose_on": f"The day of the first community dose {_DATE}",
    "setting": "Where the naloxone was issued",
    "licence_id": "The licence's id in its source system (e.g. CVL)",
    "conditions": "The licence's conditions; a later activation of the same licence replaces them",
    "category": "The kind of condition; drug_testing, drug_appointment and drug_treatment "
    "resolve no_licence_condition",
    "drug_related": "Whether the death was drug-related; null when not known",
    "release_id": "joinup's id of the release; stable across corrections",
    "identifiers": "The person's identifiers, one per scheme (nomis, crn, nhs, pnc)",
    "released_on": f"The day of release {_DATE}",
    "in_treatment_at_release": "In the cohort: in prison treatment on the day of release",
    "stage": "Where the release stands as of `as_of` (CONTRACT §4 rule 6)",
    "excluded_reason": "Why a cohort release is not counted in the pickup rate, if it is not",
    "pickup_due_by": "The last day of the pickup window (release + 21 days)",
    "picked_up_on": "The first community treatment start in the window; null outside the counted "
    "cohort",
    "late_pickup_on": "A first start after the window; null outside the counted cohort",
    "retention_due_on": "The day retention is judged (pickup + 84 days); null outside the "
    "counted cohort",
    "retained_12w": "Still in treatment 12 weeks after pickup: true, false, or null while "
    "undecided and outside the counted cohort",
    "flags": "The gaps raised on or before `as_of`, open or resolved",
    "raised_on": f"The day the gap was raised {_DATE}",
    "resolved_on": f"The day the gap was resolved {_DATE}; null while it is open",
    "open": "Whether the gap is open as of `as_of`",
    "as_of": f"The date the answer is derived as of {_DATE}",
    "items": "The entries of this page",
    "next_cursor": "Send as `cursor` for the next page (it carries the filters); null on the last",
    "released_from": f"The first release date counted {_DATE}; null for no bound",
    "released_to": f"The last release date counted {_DATE}, inclusive; null for no bound",
    "group_by": "What the rows are grouped by, if anything",
    "rows": "One entry per group, in the order of the group",
    "total": "The counts over every release of the range",
    "group": "The group's value (a prison, region, ONS code or YYYY-MM month); null for "
    "releases without one",
    "released_in_treatment": "Cohort releases (in treatment at release)",
    "excluded": "Cohort releases that are excluded",
    "awaiting_pickup": "Releases whose pickup window is still open",
    "pickup_due": "released_in_treatment - excluded - awaiting_pickup",
    "picked_up": "Picked up by community treatment within the window",
    "pickup_rate": "picked_up / pickup_due; null when nothing is due",
    "retention_due": "Picked up, with pickup + 84 days on or before as_of",
    "retention_rate": "retained_12w / retention_due; null when nothing is due",
    "no_ost": f"{_COUNT}those on OST with no_ost raised",
    "opiate": f"{_COUNT}those with opiate treatment",
    "no_naloxone": f"{_COUNT}opiate ones with no_naloxone raised",
    "supervised": f"{_COUNT}those with a supervised release type",
    "no_licence_condition": f"{_COUNT}supervised ones with no_licence_condition raised",
    "no_referral": f"{_COUNT}those with no_referral raised",
    "accepted": "How many events were accepted (stored, or would be in a dry run)",
    "duplicates": "How many were the same event posted again (nothing changed)",
    "rejected": "How many were refused; each result says why",
    "results": "One result per event, in the order posted",
    "index": "The event's place in the batch, from 0",
    "problem": "Why the event was refused (a problem, as an error answer has)",
    "events": "The events, in order",
    "atomic": "true: store every event or none (422 when any is refused)",
    "key_id": "The key's id (not its secret)",
    "label": "A note on what the key is for",
    "roles": "What the key may do: submitter, probation, coordinator, admin",
    "created_at": "When it was made (UTC)",
    "scheme": "An identifier scheme: nomis, crn, nhs or pnc",
    "value": "The identifier, in its normalised form",
    "title": "A short summary of the problem type",
    "detail": "What went wrong this time, and how to put it right",
    "what": "The action recorded",
    "when": "When it happened (UTC)",
    "subjectType": "What the row is about: a person, an event, a key, a query...",
    "service": "Always joinup",
    "change_id": "The change's number: a later change has a larger one",
    "changed_at": "When the change was written (UTC)",
    "effective_on": f"The day the change took effect {_DATE}",
    "stages": "Stages (CONTRACT §4 rule 6)",
    "types": "Change types: record.created, record.stage_changed, record.flag_raised, "
    "record.flag_resolved",
    "filter": "Which changes the subscription receives; every dimension named must match",
    "url": "Where deliveries are POSTed (https on a public address)",
    "subscription_id": "The subscription's id",
    "last_delivery": "The outcome of the latest delivery attempt, if any",
    "at": "When it happened (UTC)",
    "attempt": "The attempt's number for this change, from 1",
    "status_code": "The HTTP status the receiver answered, if it answered",
    "error": "Why the attempt failed without an answer (timeout, refused...), if it did",
    "duration_ms": "How long the attempt took, in milliseconds",
    "delivered": "Whether the receiver acknowledged it (2xx within 10 s)",
    "dry_run": "Present and true when the request was only checked: nothing was stored",
}

# Names that mean different things in different shapes.
PER_SCHEMA: Final = {
    ("EventAccepted", "status"): "accepted (stored now) or duplicate (the same event again)",
    ("EventAccepted", "person_id"): "The person the event is about; null in a dry run when "
    "the event would make a new person",
    ("BatchItem", "status"): "accepted, duplicate or rejected",
    ("BatchItem", "person_id"): "The person the event is about, when not rejected (null in a "
    "dry run for a new person)",
    ("DomainEventAnswer", "status"): "accepted, duplicate, ignored (not a type joinup uses) or "
    "pending (retried until an HMPPS service answers)",
    ("SubscriptionRead", "status"): "active, failing (retrying) or disabled (after 3 days of "
    "failures, or its key revoked: `disabled_reason` says which)",
    ("SubscriptionCreated", "status"): "active",
    ("Problem", "status"): "The HTTP status",
    ("Problem", "type"): "`/problems/<slug>`: a page saying what the problem means and how to "
    "put it right",
    ("EventRead", "type"): "The event type (CONTRACT §3.2)",
    ("StoredEvent", "type"): "The event type (CONTRACT §3.2)",
    ("TimelineEvent", "type"): "The event type (CONTRACT §3.2)",
    ("ChangeRead", "type"): "The change type",
    ("ChangedFlag", "code"): "The flag's code",
    ("FlagRead", "code"): "The gap: no_ost, no_naloxone, no_licence_condition, no_referral or "
    "not_picked_up",
    ("LicenceCondition", "code"): "The condition's code in CVL, if known",
    ("Retraction", "reason"): "Why the event is retracted (kept in the audit trail)",
    ("PrisonReceptionData", "reason"): "Why the person was received into custody",
    ("PrisonTreatmentEndedData", "reason"): "Why prison treatment ended",
    ("CommunityTreatmentExitedData", "reason"): "Why community treatment ended",
    ("DomainEventAnswer", "events"): "The joinup event ids it made (or will make)",
    ("Timeline", "events"): "Counting events, oldest first",
    ("BatchCreate", "events"): "The events, each as POST /v1/events takes it",
    ("Counts", "on_ost"): f"{_COUNT}those on OST",
    ("GroupCounts", "on_ost"): f"{_COUNT}those on OST",
    ("Counts", "retained_12w"): "Retained in treatment at 12 weeks",
    ("GroupCounts", "retained_12w"): "Retained in treatment at 12 weeks",
    ("Counts", "excluded"): "Cohort releases that are excluded",
    ("KeyCreated", "secret"): "Shown once, now; only its hash is stored",
}

PARAMETERS: Final = {
    "as_of": f"Derive the answer as of this day {_DATE}; default today (Europe/London)",
    "released_from": f"Only releases on or after this day {_DATE}",
    "released_to": f"Only releases on or before this day {_DATE}",
    "group_by": "Group the rows by prison, probation_region, local_authority or month",
    "stage": "Only releases at this stage as of `as_of`",
    "flag": "Only releases with this gap open as of `as_of`; repeat for several (all must be open)",
    "prison": "Only releases from this prison (3-letter code, any case)",
    "probation_region": "Only releases to this probation region",
    "local_authority": f"Only releases to this local authority (ONS code `{ONS}`)",
    "community_provider": "Only releases to this community treatment provider",
    "limit": "The most entries on a page",
    "cursor": "`next_cursor` of the page before: it carries the filters of the first page, so "
    "it may be sent alone; sent with other filters it is refused (422 `cursor-mismatch`)",
    "scheme": "The identifier scheme: nomis, crn, nhs or pnc",
    "value": "The identifier (normalised as in §3.1 before the lookup; a PNC keeps its slash): "
    + "; ".join(f"{scheme}: {IDENTIFIERS[scheme]}" for scheme in IDENTIFIERS),
    "event_id": "The event_id your organisation posted it with",
    "key_id": "The key's id",
    "subscription_id": "The subscription's id",
    "person_id": "Only rows about this person (joinup's person id)",
    "org": "Only rows of this organisation's keys",
    "what": "Only rows of this action",
    "from": f"Only rows on or after this day {_DATE}",
    "to": f"Only rows on or before this day {_DATE}",
    "after": "Only changes after this change_id (0, or empty, for the first)",
    "types": "Only changes of these types; repeat, or separate with commas, for several",
}
