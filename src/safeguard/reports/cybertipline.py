"""NCMEC CyberTipline report XML for a case.

The element names follow the CyberTipline reporting API's report document:
``incidentSummary``, ``internetDetails``, ``reporter``,
``personOrUserReported``, ``intendedRecipient``, ``victim``,
``additionalInfo``, and one ``fileDetails`` per matched file
(``fileViewedByEsp``, ``publiclyAvailable``, ``originalFileHash``,
``industryClassification``, ``ipCaptureEvent`` where known). Files are
described by their hashes only: Safeguard never keeps media.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from safeguard.reports.context import ReportContext
from safeguard.reports.reporter import Reporter

ENTICEMENT = "Online Enticement of Children for Sexual Acts"
CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
# Industry classification (A1/A2/B1/B2), as hash lists such as NCMEC's carry it.
INDUSTRY_CLASSES = ("A1", "A2", "B1", "B2")
REQUIRED_SECTIONS = ("incidentSummary", "internetDetails", "reporter", "personOrUserReported")
REQUIRED_FILE_FIELDS = ("fileViewedByEsp", "publiclyAvailable", "originalFileHash")


SEXTORTION = "sextortion"
PLACEHOLDER_WARNING = (
    "reporter details are the placeholder defaults; set SAFEGUARD_REPORTER_ORG, "
    "SAFEGUARD_REPORTER_EMAIL and the other SAFEGUARD_REPORTER_* variables before submitting"
)
_PAYMENT_PATTERNS = (
    (
        "amount",
        re.compile(
            r"[$£€]\s?\d[\d,]*(?:\.\d{1,2})?"
            r"|\b\d[\d,]*(?:\.\d{1,2})?\s?(?:dollars|usd|pounds|gbp|euros?|btc|eth|usdt)\b",
            re.I,
        ),
    ),
    ("cashapp", re.compile(r"(?<![\w$])\$[A-Za-z][A-Za-z0-9_]{1,20}\b")),
    ("paypal", re.compile(r"\bpaypal(?:\.me)?[/ :]+@?([A-Za-z0-9_.\-@]{2,64})", re.I)),
    (
        "gift_card",
        re.compile(
            r"\b(?:(?:steam|amazon|apple|itunes|google\s?play|xbox|psn|roblox)\s)?gift\s?cards?\b", re.I
        ),
    ),
    ("bitcoin", re.compile(r"\b(?:bc1[a-z0-9]{20,60}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})\b")),
    ("ethereum", re.compile(r"\b0x[a-fA-F0-9]{40}\b")),
)


def is_placeholder(reporter: Reporter) -> bool:
    """True while any contact detail is still the shipped example default."""
    defaults = Reporter.model_fields
    return any(
        getattr(reporter, name) == defaults[name].default for name in ("org", "email", "url", "service")
    )


def warnings(reporter: Reporter | None = None) -> list[str]:
    """Problems an operator must fix before the report is submitted."""
    return [PLACEHOLDER_WARNING] if is_placeholder(reporter or Reporter()) else []


def is_sextortion(context: ReportContext) -> bool:
    """True when the case's categories, stage or signals name sextortion."""
    case = context.case
    if SEXTORTION in (case.categories or []) or getattr(case, "stage", None) == SEXTORTION:
        return True
    return any(s.get("category") == SEXTORTION or s.get("stage") == SEXTORTION for s in context.signals)


def payment_identifiers(text: str) -> list[tuple[str, str]]:
    """(kind, value) pairs for amounts and payment handles in evidence text, de-duplicated."""
    found: list[tuple[str, str]] = []
    for kind, pattern in _PAYMENT_PATTERNS:
        for match in pattern.finditer(text):
            value = (match.group(1) if match.groups() else match.group(0)).strip()
            if kind == "cashapp" and re.fullmatch(r"\$\d.*", value):
                continue
            if (kind, value) not in found:
                found.append((kind, value))
    return found


def _evidence_text(context: ReportContext) -> str:
    parts = [str(s.get("excerpt") or "") for s in context.signals]
    for record in context.evidence:
        payload = record.get("payload") or {}
        for key in ("text", "excerpt"):
            if isinstance(payload.get(key), str):
                parts.append(payload[key])
        for message in payload.get("context", []) or []:
            if isinstance(message, dict) and isinstance(message.get("text"), str):
                parts.append(message["text"])
    return "\n".join(parts)


def sextortion_info(context: ReportContext) -> str:
    """The additionalInfo sentence on the financial demand and payment identifiers."""
    identifiers = payment_identifiers(_evidence_text(context))
    line = "Sextortion: threats to distribute images of the child"
    if not identifiers:
        return line + "; no payment identifiers found in the evidence."
    listed = ", ".join(f"{kind} {value}" for kind, value in identifiers)
    return line + f" with a financial demand. Payment identifiers: {listed}."


def _sub(parent: ET.Element, tag: str, text: object | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def incident_type(context: ReportContext) -> str:
    """Child pornography for media matches, online enticement for grooming and sextortion."""
    if is_sextortion(context):
        return ENTICEMENT
    return CHILD_PORNOGRAPHY if context.is_media else ENTICEMENT


def _user(parent: ET.Element, tag: str, account_id: str, reporter: Reporter) -> ET.Element:
    element = _sub(parent, tag)
    _sub(element, "espIdentifier", account_id)
    _sub(element, "espService", reporter.service)
    _sub(element, "screenName", account_id)
    return element


def _ip_events(parent: ET.Element, events: list[dict]) -> None:
    for event in events:
        capture = _sub(parent, "ipCaptureEvent")
        _sub(capture, "ipAddress", event["ip_address"])
        if event.get("event_name"):
            _sub(capture, "eventName", event["event_name"])
        if event.get("date"):
            _sub(capture, "dateTime", event["date"])


def build(context: ReportContext, reporter: Reporter | None = None) -> ET.Element:
    """The report document for one case."""
    reporter = reporter or Reporter()
    case = context.case
    attrs = {"caseId": case.id, "generator": "safeguard"}
    if is_placeholder(reporter):
        attrs["reporterPlaceholder"] = "true"
    root = ET.Element("cyberTiplineReport", attrs)
    report = _sub(root, "report")

    summary = _sub(report, "incidentSummary")
    _sub(summary, "incidentType", incident_type(context))
    _sub(summary, "incidentDateTime", context.incident_at.isoformat() if context.incident_at else None)

    internet = _sub(report, "internetDetails")
    if case.surface == "public" and not case.conversation_id:
        page = _sub(internet, "webPageIncident")
        _sub(page, "url", reporter.url)
    else:
        chat = _sub(internet, "chatImIncident")
        _sub(chat, "chatClient", reporter.service)
        if case.conversation_id:
            _sub(chat, "chatRoomName", case.conversation_id)
        if context.signals:
            _sub(
                chat,
                "content",
                "; ".join(f"[{s.get('category')}] {s.get('excerpt')}" for s in context.signals),
            )

    person = _sub(report, "reporter")
    reporting = _sub(person, "reportingPerson")
    _sub(reporting, "firstName", reporter.first_name)
    _sub(reporting, "lastName", reporter.last_name)
    _sub(reporting, "email", reporter.email)
    if reporter.phone:
        _sub(reporting, "phone", reporter.phone)
    _sub(person, "companyName", reporter.org)
    if reporter.terms_of_service_url:
        _sub(person, "termsOfService", reporter.terms_of_service_url)

    reported = _user(report, "personOrUserReported", case.subject_account_id, reporter)
    decisions = {a.get("decision") for a in case.actions or []}
    if "suspend" in decisions or "restrict" in decisions:
        _sub(reported, "accountTemporarilyDisabled", "true")
    if "ban" in decisions:
        _sub(reported, "accountPermanentlyDisabled", "true")
    _ip_events(
        reported, [e for r in context.evidence for e in (r["payload"] or {}).get("ip_capture_events", [])]
    )

    for recipient in case.recipient_ids or []:
        _user(report, "intendedRecipient", recipient, reporter)
    for minor in context.minors:
        victim = _sub(report, "victim")
        _sub(victim, "espIdentifier", minor)
        _sub(victim, "espService", reporter.service)
        _sub(victim, "ageBand", context.parties[minor].age_band)

    lines = [f"Safeguard case {case.id} ({case.kind}, {case.source})."]
    if case.categories:
        lines.append("Signal categories: " + ", ".join(case.categories) + ".")
    lines.append(f"Risk score {case.risk:.2f}; surface {case.surface}.")
    if is_sextortion(context):
        lines.append(sextortion_info(context))
    if case.reason:
        lines.append(f"User report reason: {case.reason}.")
    if case.decision:
        lines.append(f"Moderator decision: {case.decision}.")
    _sub(report, "additionalInfo", " ".join(lines))

    for item in context.media:
        details = _sub(root, "fileDetails")
        _sub(details, "fileId", f"{case.id}-{item['index']}")
        _sub(details, "fileViewedByEsp", _bool(item["index"] in context.revealed_items))
        _sub(details, "publiclyAvailable", _bool(case.surface == "public"))
        for hash_type, value in sorted(item["hashes"].items()):
            if value:
                _sub(details, "originalFileHash", value, hashType=hash_type.upper())
        classes = sorted(
            {str(m.get("category")) for m in item["matches"] if str(m.get("category")) in INDUSTRY_CLASSES}
        )
        for value in classes:
            _sub(details, "industryClassification", value)
        _ip_events(details, item.get("ip_capture_events", []))
    return root


def to_xml(context: ReportContext, reporter: Reporter | None = None) -> str:
    """The report as an XML document (UTF-8 declaration, indented)."""
    root = build(context, reporter)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def validate(document: str) -> list[str]:
    """Structural problems of a report document (an empty list when it is valid)."""
    from defusedxml import ElementTree as SafeET

    try:
        root = SafeET.fromstring(document)
    except ET.ParseError as exc:
        return [f"not well-formed: {exc}"]
    problems = []
    report = root.find("report")
    if root.tag != "cyberTiplineReport" or report is None:
        return ["root must be cyberTiplineReport with a report element"]
    for section in REQUIRED_SECTIONS:
        if report.find(section) is None:
            problems.append(f"missing {section}")
    if report.findtext("incidentSummary/incidentType") not in (ENTICEMENT, CHILD_PORNOGRAPHY):
        problems.append("incidentSummary/incidentType is not a known incident type")
    if not report.findtext("incidentSummary/incidentDateTime"):
        problems.append("missing incidentSummary/incidentDateTime")
    if report.find("internetDetails/*") is None:
        problems.append("internetDetails has no incident element")
    if not report.findtext("personOrUserReported/espIdentifier"):
        problems.append("personOrUserReported has no espIdentifier")
    for index, details in enumerate(root.findall("fileDetails")):
        for name in REQUIRED_FILE_FIELDS:
            if details.find(name) is None:
                problems.append(f"fileDetails[{index}] missing {name}")
        for name in ("fileViewedByEsp", "publiclyAvailable"):
            if details.findtext(name) not in (None, "true", "false"):
                problems.append(f"fileDetails[{index}]/{name} must be true or false")
        for digest in details.findall("originalFileHash"):
            if not digest.get("hashType") or not digest.text:
                problems.append(f"fileDetails[{index}]/originalFileHash needs hashType and a value")
    return problems
