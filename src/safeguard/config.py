"""Settings in one place: a TOML file plus SAFEGUARD_* environment variables.

Nested groups map to TOML tables (``[thresholds]``, ``[policy]``...) and to
environment variables with a double underscore
(``SAFEGUARD_THRESHOLDS__HOLD=0.7``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Thresholds(BaseModel):
    """Conversation (grooming) risk cut-offs for a minor recipient, in [0, 1]."""

    warn: float = Field(0.35, ge=0, le=1, description="warn the minor recipient")
    hold: float = Field(0.6, ge=0, le=1, description="hold the message (adult -> minor)")
    escalate: float = Field(0.85, ge=0, le=1, description="escalate and open a case")
    account_hold: float = Field(
        0.6, ge=0, le=1, description="account risk at which contact with minors is held"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.warn <= self.hold <= self.escalate:
            raise ValueError("thresholds must satisfy warn <= hold <= escalate")
        return self


class PolicyRules(BaseModel):
    """Which child-safety rules apply (Ofcom ICU F1/F2 defaults are on)."""

    protected_bands: list[str] = Field(
        default_factory=lambda: ["child", "teen"],
        description="age bands treated as children (Ofcom: under 18)",
    )
    treat_unknown_as_minor: bool = Field(
        False, description="protect accounts of unknown age as if they were minors"
    )
    unconnected_contact: str = Field(
        "confirm",
        pattern="^(confirm|block|allow)$",
        description="first message from an unconnected account to a minor: confirm, block, allow",
    )
    risk_sender_bands: list[str] = Field(
        default_factory=lambda: ["adult", "unknown"],
        description="sender bands whose risky contact with minors is held or escalated",
    )
    warn_on_signals: list[str] = Field(
        default_factory=lambda: ["platform_move", "secrecy", "meeting", "image_request"],
        description="signal categories that warn a minor recipient on their own",
    )
    child_network_suggestions: bool = Field(
        False, description="show minors network-expansion (people you may know) suggestions"
    )
    suggest_adults_to_minors: bool = Field(
        False, description="when minors get suggestions, may adults be among them"
    )
    hide_minor_connections: bool = Field(
        True, description="minors' connection lists and location are never shown to others"
    )
    adult_to_minor_requests: str = Field(
        "confirm",
        pattern="^(confirm|block)$",
        description="connection requests from adults to unconnected minors: confirm or block",
    )
    nudity_threshold: float = Field(
        0.5,
        ge=0,
        le=1,
        description="nudity score (0-1) from which an image sent by or to a protected account is "
        "treated as nudity (blur_and_warn / warn_before_send); also sent to devices in client bundles",
    )


class AccountRiskLimits(BaseModel):
    """Account-level risk rules (capability 2)."""

    window_hours: float = Field(24, gt=0, description="look-back window for fan-out")
    max_unconnected_minors: int = Field(
        5, ge=1, description="distinct unconnected minors contacted in the window"
    )
    repeated_signal_categories: list[str] = Field(default_factory=lambda: ["platform_move", "secrecy"])
    repeated_signal_conversations: int = Field(
        2, ge=1, description="distinct conversations a category must fire in"
    )
    weight_fan_out: float = Field(0.7, ge=0, le=1)
    weight_repeated_signal: float = Field(0.5, ge=0, le=1)
    weight_age_mismatch: float = Field(0.6, ge=0, le=1)
    weight_shared_media: float = Field(0.9, ge=0, le=1)
    script_linking_enabled: bool = Field(True, description="fingerprint scripted sextortion messages")
    script_linking_children: int = Field(3, ge=1, description="children one script must reach")
    weight_script_linking: float = Field(0.8, ge=0, le=1)


class Retention(BaseModel):
    """How long stored records live (days)."""

    decisions_days: int = Field(90, ge=1)
    contact_events_days: int = Field(30, ge=1)
    conversation_state_days: int = Field(90, ge=1)
    escalations_days: int = Field(365, ge=1, description="REPORT Act: preserve for 1 year")
    purge_interval_seconds: float = Field(3600, gt=0, description="how often the service purges")


class WebhookTarget(BaseModel):
    """One HTTP endpoint that receives signed escalation events."""

    url: str
    secret: str = Field(min_length=8)
    events: list[str] = Field(default_factory=lambda: ["escalation"])


class Webhooks(BaseModel):
    """Escalation webhooks: signed with HMAC-SHA256, retried with back-off."""

    targets: list[WebhookTarget] = Field(default_factory=list)
    max_attempts: int = Field(8, ge=1)
    backoff_seconds: float = Field(2.0, gt=0, description="first retry delay; doubles each time")
    max_backoff_seconds: float = Field(600.0, gt=0)
    timeout_seconds: float = Field(5.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)


class MediaLimits(BaseModel):
    """Image limits, checked from the file's header before any pixel is decoded, and what
    happens to an image that cannot be screened for nudity when a child or teen takes part."""

    max_image_side: int = Field(
        10_000, ge=64, le=65_535, description="widest or tallest image accepted, in pixels"
    )
    max_image_pixels: int = Field(
        40_000_000, ge=4096, le=178_956_970, description="largest image accepted (width x height)"
    )
    max_screen_aspect: float = Field(
        20.0,
        ge=1,
        description="longest to shortest side beyond which the nudity model cannot screen an image "
        "(it would see a sliver): such an image counts as unscreened",
    )
    unscreened_images: str = Field(
        "protect",
        pattern="^(protect|refuse)$",
        description="an image that could not be screened while a child or teen takes part: protect "
        "(blur_and_warn a child recipient, warn_before_send a child sender) or refuse (422)",
    )


class ApiLimits(BaseModel):
    """Request-size and per-key rate limits."""

    max_body_bytes: int = Field(64 * 1024, ge=1024)
    max_media_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    rate_per_second: float = Field(
        2000.0, gt=0, description="sustained requests per API key (2 cores decide about 1,000 a second)"
    )
    burst: int = Field(4000, ge=1, description="requests per API key in a burst")
    sender_limits: str = Field(
        "10/second;120/minute;2000/hour",
        description="messages one sender account may submit (limits notation; empty for none): "
        "a person typing stays far below, a script spraying children does not",
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="where rate-limit counters live: memory:// (per process; serve --workers shares the "
        "limits out) or redis://host:port/db (shared by every worker and instance)",
    )
    max_recipients: int = Field(256, ge=1, le=256, description="recipients per message")
    max_candidates: int = Field(1000, ge=1, le=1000, description="candidates per filter call")


class HttpFront(BaseModel):
    """What the HTTP front accepts before any route runs: Host names and header size."""

    allowed_hosts: list[str] | None = Field(
        None,
        description="Host header values requests may name (e.g. console.example.org, *.example.org); "
        "None = the loopback names plus the interface given to `safeguard serve --host`",
    )
    max_header_bytes: int = Field(
        32 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="request line plus headers, in bytes; larger requests get 431",
    )


class StreamFront(BaseModel):
    """The Redis Streams deployment the service reports on (``/readyz``, ``/metrics``,
    ``safeguard status``); the workers take the same values as options."""

    url: str | None = Field(None, description="redis://host:port/db of the event streams; None = no stream")
    prefix: str = Field("safeguard", description="key prefix of the deployment's streams")
    partitions: int = Field(8, ge=1, le=1024, description="partition streams")
    group: str = Field("deciders", description="consumer group of the workers")


class Operations(BaseModel):
    """What operators see: backlog gauges on ``/metrics`` and ``safeguard status``."""

    backlog_cache_seconds: float = Field(
        15.0, ge=0, description="backlog gauges are computed at most this often (scrapes between reuse them)"
    )
    decisions_window_hours: float = Field(
        24.0, gt=0, description="decisions per reviewer are counted over this window"
    )


class SlaTargets(BaseModel):
    """How soon each kind of case should have a first decision, in minutes (``cases.sla``).

    Which kind a case is: ``safeguard.cases.sla.sla_class``.
    """

    child_in_danger: int = Field(
        15, ge=1, description="a child in danger now: escalation priority 0, coercion, meeting, sextortion"
    )
    child_contact: int = Field(60, ge=1, description="a child in contact with a flagged account")
    known_abuse_media: int = Field(240, ge=1, description="media matching a known-abuse hash bank")
    user_report: int = Field(1440, ge=1, description="a user's report without a child involved")
    standard: int = Field(1440, ge=1, description="any other automated case")
    appeal: int = Field(4320, ge=1, description="an appeal of an enforcement decision")
    due_soon_fraction: float = Field(
        0.75, gt=0, lt=1, description="a case is 'due soon' once this share of its target has passed"
    )


class CaseContext(BaseModel):
    """The context window kept as case evidence around each escalated message (``cases.context``)."""

    before: int = Field(3, ge=0, le=10, description="messages kept before an escalated message")
    after: int = Field(3, ge=0, le=10, description="messages appended to the case after it")
    keep_from_risk: float | None = Field(
        None,
        ge=0,
        le=1,
        description="conversation risk from which the last messages' text is kept for this; "
        "None = the warn threshold",
    )
    keep_hours: float = Field(
        72, gt=0, description="a kept message not attached to a case within this long is forgotten"
    )
    max_chars: int = Field(2000, ge=100, le=20000, description="characters kept of one message")


class CaseReview(BaseModel):
    """The review team's queue: SLA targets, the context window, take-next assignment."""

    sla: SlaTargets = Field(default_factory=SlaTargets)
    context: CaseContext = Field(default_factory=CaseContext)
    lease_minutes: float = Field(
        30, gt=0, description="a case taken with 'take next' returns to the queue after this long undecided"
    )


class Audit(BaseModel):
    """Tamper evidence for the audit chain: a signing key kept outside the database,
    signed checkpoints of the chain's head, and digests of the decision table."""

    key_path: Path | None = Field(
        None, description="Ed25519 signing key (PEM, mode 0600); default <data_dir>/audit-key.pem"
    )
    public_key_path: Path | None = Field(
        None, description="its public key, for verifiers; default <key_path>.pub"
    )
    checkpoint_path: Path | None = Field(
        None, description="signed checkpoints, one JSON line each; default <data_dir>/audit-checkpoints.jsonl"
    )
    checkpoints: bool = Field(True, description="the service signs checkpoints and digests decisions")
    checkpoint_interval_seconds: float = Field(
        300, gt=0, description="how often the service digests decisions and signs a checkpoint"
    )
    decision_grace_seconds: float = Field(
        60, ge=0, description="decisions younger than this are left for the next digest"
    )
    decision_window_seconds: float = Field(
        3600, gt=0, description="widest created_at range one decision digest covers"
    )
    max_digests_per_run: int = Field(200, ge=1, description="digest records appended per run at most")


class SupportRoute(BaseModel):
    """One place a child can get help: a name and its address."""

    name: str
    url: str


def _default_routes() -> dict[str, list[SupportRoute]]:
    take_it_down = SupportRoute(name="NCMEC Take It Down", url="https://takeitdown.ncmec.org")
    report_remove = SupportRoute(
        name="IWF and Childline Report Remove", url="https://www.childline.org.uk/report-remove"
    )
    return {"US": [take_it_down], "GB": [report_remove], "default": [take_it_down, report_remove]}


def _default_crisis_lines() -> dict[str, list[SupportRoute]]:
    return {
        "US": [SupportRoute(name="988 Suicide & Crisis Lifeline (call or text 988)", url="https://988lifeline.org")],
        "GB": [SupportRoute(name="Childline (call 0800 1111)", url="https://www.childline.org.uk")],
        "default": [SupportRoute(name="Find a helpline", url="https://findahelpline.com")],
    }


class Support(BaseModel):
    """Help shown to a child who receives sextortion threats or self-harm coercion."""

    region: str = Field("default", description="region whose routes are shown (a key of routes)")
    routes: dict[str, list[SupportRoute]] = Field(
        default_factory=_default_routes, description="region -> image-removal and reporting routes"
    )
    crisis_lines: dict[str, list[SupportRoute]] = Field(
        default_factory=_default_crisis_lines, description="region -> crisis lines (self-harm coercion)"
    )
    action: str = Field(
        "escalate", pattern="^(escalate|hold)$", description="what sextortion threats to a child get"
    )


class Settings(BaseSettings):
    """Deployment settings. Environment variables override the TOML file
    (``SAFEGUARD_CONFIG``, default ``./safeguard.toml`` when it exists)."""

    model_config = SettingsConfigDict(env_prefix="SAFEGUARD_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    detector_model_path: Path | None = None
    detector_threshold: float | None = Field(None, ge=0, le=1)
    detector_embeddings: bool | None = Field(
        None,
        description="nearest-example (embedding) stage of the text detector: None = the "
        "detector's default (on for the built-in one), False = fast lexicon path only",
    )
    log_level: str = "info"

    thresholds: Thresholds = Field(default_factory=Thresholds)
    policy: PolicyRules = Field(default_factory=PolicyRules)
    account_risk: AccountRiskLimits = Field(default_factory=AccountRiskLimits)
    retention: Retention = Field(default_factory=Retention)
    webhooks: Webhooks = Field(default_factory=Webhooks)
    api: ApiLimits = Field(default_factory=ApiLimits)
    audit: Audit = Field(default_factory=Audit)
    http: HttpFront = Field(default_factory=HttpFront)
    media: MediaLimits = Field(default_factory=MediaLimits)
    stream: StreamFront = Field(default_factory=StreamFront)
    operations: Operations = Field(default_factory=Operations)
    cases: CaseReview = Field(default_factory=CaseReview)
    support: Support = Field(default_factory=Support)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Precedence: explicit arguments, then environment, then the TOML file."""
        toml_path = Path(os.environ.get("SAFEGUARD_CONFIG", "safeguard.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: SAFEGUARD_DATABASE_URL, else SQLite under data_dir."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'safeguard.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings()
