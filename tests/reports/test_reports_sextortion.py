"""CyberTipline export of sextortion cases and the placeholder-reporter warning."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from report_support import Scenario
from typer.testing import CliRunner

from safeguard.cli import app
from safeguard.policy.types import Party
from safeguard.reports import cybertipline
from safeguard.reports.context import ReportContext
from safeguard.reports.reporter import Reporter

THREAT = "I'll send it to all your followers unless you pay $200 in Steam gift cards to $quickcash99"


def _context(categories: list[str], excerpt: str, extra: str = "") -> ReportContext:
    case = SimpleNamespace(
        id="case-s1",
        kind="conversation",
        source="detector",
        surface="private",
        conversation_id="conv-9",
        subject_account_id="adult-9",
        recipient_ids=["child-9"],
        categories=categories,
        actions=[],
        risk=0.97,
        reason=None,
        decision=None,
    )
    evidence = [{"seq": 1, "action": "escalate", "at": None, "payload": {"text": extra}}] if extra else []
    return ReportContext(
        case=case,  # type: ignore[arg-type]
        evidence=evidence,
        signals=[{"category": categories[0], "excerpt": excerpt}],
        media=[],
        parties={"adult-9": Party("adult-9"), "child-9": Party("child-9", "13-15")},
        minors=["child-9"],
        incident_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


def test_payment_identifiers_found_in_text() -> None:
    found = cybertipline.payment_identifiers(
        THREAT + " or paypal.me/fastpay or 0.01 btc to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    )
    assert ("amount", "$200") in found
    assert ("amount", "0.01 btc") in found
    assert ("gift_card", "Steam gift cards") in found
    assert ("cashapp", "$quickcash99") in found
    assert ("paypal", "fastpay") in found
    assert ("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq") in found
    assert not any(kind == "cashapp" and value == "$200" for kind, value in found)


def test_payment_identifiers_empty_for_benign_text() -> None:
    assert cybertipline.payment_identifiers("see you at football practice tomorrow") == []


def test_sextortion_case_is_enticement_with_payment_details() -> None:
    context = _context(["sextortion"], THREAT, extra="you have 10 minutes, paypal: fastpay")
    document = cybertipline.to_xml(context)
    assert cybertipline.validate(document) == []
    report = ET.fromstring(document).find("report")
    assert report.findtext("incidentSummary/incidentType") == cybertipline.ENTICEMENT
    info = report.findtext("additionalInfo")
    assert "Sextortion" in info and "financial demand" in info
    assert "amount $200" in info and "cashapp $quickcash99" in info
    assert "gift_card Steam gift cards" in info and "paypal fastpay" in info


def test_sextortion_without_payment_says_so() -> None:
    info = ET.fromstring(cybertipline.to_xml(_context(["sextortion"], "I have your pics"))).findtext(
        "report/additionalInfo"
    )
    assert "no payment identifiers" in info


def test_grooming_case_has_no_sextortion_line() -> None:
    context = _context(["grooming"], "what school do you go to")
    assert not cybertipline.is_sextortion(context)
    assert "Sextortion" not in ET.fromstring(cybertipline.to_xml(context)).findtext("report/additionalInfo")


def test_placeholder_reporter_flagged_in_document(monkeypatch: pytest.MonkeyPatch) -> None:
    context = _context(["sextortion"], THREAT)
    assert cybertipline.warnings(Reporter()) == [cybertipline.PLACEHOLDER_WARNING]
    root = ET.fromstring(cybertipline.to_xml(context, Reporter()))
    assert root.get("reporterPlaceholder") == "true"
    real = Reporter(org="Real Co", service="Real chat", url="https://real.test", email="tips@real.test")
    assert cybertipline.warnings(real) == []
    assert ET.fromstring(cybertipline.to_xml(context, real)).get("reporterPlaceholder") is None


def test_cli_warns_on_stderr_with_placeholder_reporter(scenario: Scenario) -> None:
    result = CliRunner().invoke(app, ["report", "cybertipline", scenario.grooming])
    assert result.exit_code == 0, result.output
    assert "placeholder" in result.stderr
    assert "placeholder" not in result.stdout
    assert cybertipline.validate(result.stdout) == []


def test_cli_quiet_with_real_reporter(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ORG": "Real Co",
        "SERVICE": "Real chat",
        "URL": "https://real.test",
        "EMAIL": "tips@real.test",
    }.items():
        monkeypatch.setenv(f"SAFEGUARD_REPORTER_{name}", value)
    result = CliRunner().invoke(app, ["report", "cybertipline", scenario.grooming])
    assert result.exit_code == 0, result.output
    assert "placeholder" not in result.stderr
