"""CyberTipline XML and the NCA payload: structure, content, CLI and API."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from report_support import Scenario
from typer.testing import CliRunner

from safeguard.cli import app
from safeguard.reports import cybertipline


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_grooming_report_structure(scenario: Scenario) -> None:
    scenario.harness.client.post(
        f"/v1/cases/{scenario.grooming}/decisions",
        json={"decision": "ban"},
        headers=scenario.harness.auth("review"),
    )
    document = _cli("report", "cybertipline", scenario.grooming)
    assert cybertipline.validate(document) == []
    root = ET.fromstring(document)
    report = root.find("report")
    assert report.findtext("incidentSummary/incidentType") == cybertipline.ENTICEMENT
    assert report.findtext("incidentSummary/incidentDateTime")
    chat = report.find("internetDetails/chatImIncident")
    assert chat is not None and chat.findtext("chatRoomName") == "conv-1"
    assert "meet up after school" in chat.findtext("content")
    assert report.findtext("reporter/reportingPerson/email")
    assert report.findtext("personOrUserReported/espIdentifier") == "adult-1"
    assert report.findtext("personOrUserReported/accountPermanentlyDisabled") == "true"
    assert report.findtext("intendedRecipient/espIdentifier") == "child-1"
    assert report.findtext("victim/espIdentifier") == "child-1"
    assert "ban" in report.findtext("additionalInfo")
    assert root.findall("fileDetails") == []


def test_media_report_describes_files_by_hash(scenario: Scenario) -> None:
    h = scenario.harness
    api = h.client.get(f"/v1/cases/{scenario.media}/reports/cybertipline", headers=h.auth("review"))
    assert api.status_code == 200
    assert api.headers["content-type"].startswith("application/xml")
    assert cybertipline.validate(api.text) == []
    root = ET.fromstring(api.text)
    assert root.findtext("report/incidentSummary/incidentType") == cybertipline.CHILD_PORNOGRAPHY
    files = root.findall("fileDetails")
    assert len(files) == 1
    details = files[0]
    assert details.findtext("fileViewedByEsp") == "false"
    assert details.findtext("publiclyAvailable") == "false"
    digest = details.find("originalFileHash")
    assert (digest.get("hashType"), digest.text) == ("SHA256", scenario.sha256)
    assert details.findtext("industryClassification") == "A1"


def test_file_viewed_after_a_reviewer_reveals_it(scenario: Scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from safeguard.cases.service import record_reveal
    from safeguard.store.db import session_scope

    with session_scope(scenario.harness.url) as session:
        record_reveal(session, scenario.harness.settings, scenario.media, item=0, actor="console:rev")
    out = tmp_path / "tip.xml"
    CliRunner().invoke(app, ["report", "cybertipline", scenario.media, "--out", str(out)])
    root = ET.parse(out).getroot()
    assert root.findtext("fileDetails/fileViewedByEsp") == "true"


def test_validate_finds_structural_problems() -> None:
    assert cybertipline.validate("<cyberTiplineReport><report>")[0].startswith("not well-formed")
    problems = cybertipline.validate(
        "<cyberTiplineReport><report><incidentSummary><incidentType>x</incidentType></incidentSummary>"
        "</report><fileDetails><fileViewedByEsp>maybe</fileViewedByEsp></fileDetails></cyberTiplineReport>"
    )
    assert "missing internetDetails" in problems
    assert "missing reporter" in problems
    assert "fileDetails[0] missing originalFileHash" in problems
    assert "fileDetails[0]/fileViewedByEsp must be true or false" in problems


def test_reporter_details_come_from_the_environment(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_REPORTER_ORG", "Kids Games Ltd")
    monkeypatch.setenv("SAFEGUARD_REPORTER_EMAIL", "tips@kidsgames.example")
    root = ET.fromstring(_cli("report", "cybertipline", scenario.grooming))
    assert root.findtext("report/reporter/companyName") == "Kids Games Ltd"
    assert root.findtext("report/reporter/reportingPerson/email") == "tips@kidsgames.example"


def test_unknown_case_is_a_clear_error(scenario: Scenario) -> None:
    from safeguard.cli import main

    result = CliRunner().invoke(app, ["report", "cybertipline", "nope"], standalone_mode=False)
    assert result.exception is not None and "no case with id 'nope'" in str(result.exception)
    assert main is not None


def test_nca_payload(scenario: Scenario) -> None:
    payload = json.loads(_cli("report", "nca", scenario.grooming))
    assert payload["schema"] == "safeguard.nca-report/1"
    assert payload["report"]["csea_type"] == "grooming"
    assert payload["report"]["urgent"] is True
    assert payload["suspect"]["account_id"] == "adult-1"
    assert payload["victims"] == [{"account_id": "child-1", "age_band": "child"}]
    assert any(e["excerpt"] == "meet up after school" for e in payload["content"]["excerpts"])
    media = scenario.harness.client.get(
        f"/v1/cases/{scenario.media}/reports/nca", headers=scenario.harness.auth("review")
    ).json()
    assert media["report"]["csea_type"] == "indecent_imagery"
    assert media["content"]["media"][0]["hashes"]["sha256"] == scenario.sha256
    assert media["content"]["media"][0]["matched_banks"] == ["test-bank"]
