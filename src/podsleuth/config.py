"""Settings: one pydantic model per pipeline stage, loaded from the YAML ``--config`` file.

Every key is optional. Unknown keys and wrong types are errors that name the key and the line
of the file, because a silently ignored typo in an alert route is how alerts get lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from podsleuth.config_checks import check_duplicate_keys, check_settings
from podsleuth.durations import parse_duration
from podsleuth.errors import ConfigError


def _seconds(value: Any) -> float:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return parse_duration(value)
    raise ValueError(f"expected a duration like 90s or 5m, got {value!r}")


Seconds = Annotated[float, BeforeValidator(_seconds)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IgnoreRule(_Section):
    """Drop anomalies matching every given field (globs for namespace/pod/container)."""

    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    category: str | list[str] | None = None
    reason: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class Thresholds(_Section):
    stuck_creating: Seconds = 300.0
    """A pod waiting in ContainerCreating/PodInitializing longer than this is stuck."""
    pending: Seconds = 120.0
    """A pod unschedulable (PodScheduled=False) longer than this is an incident."""
    terminating_extra: Seconds = 300.0
    """A deleted pod still present this long past its grace period is stuck terminating."""
    volume_mount: Seconds = 60.0
    """FailedMount/FailedAttachVolume/FailedCreatePodSandBox count once the pod is still not
    running this long after the first such event (kubelet retries; the first seconds often fail)."""
    probe_failure: Seconds = 60.0
    """Unhealthy probe events while the pod is not ready for this long open an incident."""
    node_not_ready: Seconds = 60.0
    """A node Ready=False/Unknown for this long is an incident."""
    resolve_after: Seconds = 120.0
    """An incident whose pods look healthy for this long is resolved."""


class WatchSettings(_Section):
    namespaces: list[str] = Field(default_factory=list)
    exclude_namespaces: list[str] = Field(default_factory=list)
    label_selector: str = ""
    ignore: list[IgnoreRule] = Field(default_factory=list)
    default_ignore: bool = True
    """Also drop the usual noise: probe failures in kube-system (see docs/detection.md)."""
    thresholds: Thresholds = Field(default_factory=Thresholds)
    page_size: int = Field(default=500, ge=1, le=10000)
    """Objects per page of the initial paginated list."""
    read_timeout: Seconds = 330.0
    """A watch stream silent this long (no event, no bookmark) is considered dead."""
    watch_timeout: Seconds = 290.0
    """Server-side timeoutSeconds of each watch request."""
    backoff_max: Seconds = 30.0
    """Upper bound of the jittered exponential reconnect backoff."""
    collect_logs: bool = True
    """Fetch the last lines of the previous container's log for crash-loop/oom incidents."""
    log_lines: int = Field(default=20, ge=0, le=1000)


class RateLimitSettings(_Section):
    messages: int = Field(default=20, ge=0)
    """Notifications per period to one receiver; 0 = unlimited. Beyond it: a storm digest."""
    period: Seconds = 60.0


class WebhookReceiver(_Section):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    hmac_secret_file: str = ""
    timeout: Seconds = 10.0


class AlertmanagerReceiver(_Section):
    url: str
    timeout: Seconds = 10.0
    alertname: Literal["incident", "per-category"] = "incident"
    """One alertname for all incidents, or one per category."""


class Receiver(_Section):
    name: str
    webhook: WebhookReceiver | None = None
    alertmanager: AlertmanagerReceiver | None = None
    apprise: list[str] | None = None
    kubernetes_events: dict[str, Any] | None = None
    rate_limit: RateLimitSettings | None = None
    """Overrides alerts.rate_limit for this receiver."""


class RouteMatch(_Section):
    namespace: str | list[str] | None = None
    category: str | list[str] | None = None
    severity: str | list[str] | None = None
    node: str | list[str] | None = None
    signature: str | list[str] | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class Route(_Section):
    match: RouteMatch = Field(default_factory=RouteMatch)
    receivers: list[str]
    continue_: bool = Field(default=False, alias="continue")


class AlertSettings(_Section):
    group_wait: Seconds = 10.0
    repeat_interval: Seconds = 4 * 3600.0
    send_resolved: bool = True
    locale: Literal["en", "zh"] = "en"
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    """Default limit of chat/email (apprise) receivers; machine receivers are unlimited unless set."""
    max_detail: int = Field(default=5, ge=1, le=100)
    """Incidents shown in full in one chat/email message; the rest become digest lines."""
    victims_with_cause: bool = True
    """Send the victims of a root-cause incident (``caused_by``) in the cause's message."""
    max_attempts: int = Field(default=10, ge=1, le=100)
    """Delivery attempts before a notification is dead-lettered."""
    backoff_max: Seconds = 300.0
    template_dir: str | None = None
    """A directory of Jinja2 templates overriding the packaged ones (same file names)."""
    retention: Seconds = 14 * 86400.0
    """Sent deliveries, resolved incidents and their timelines older than this are deleted; 0 = keep."""
    receivers: list[Receiver] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)


def _yaml_off(value: object) -> object:
    """YAML 1.1 reads a bare ``off`` as false: ``discovery: off``, as documented, means "off"."""
    return "off" if value is False else value


class NodeAgentSettings(_Section):
    discovery: Annotated[
        Literal["daemonset", "static", "local", "off"], BeforeValidator(_yaml_off)
    ] = "daemonset"
    namespace: str = "podsleuth"
    label_selector: str = "app.kubernetes.io/component=node-agent"
    port: int = Field(default=9808, ge=1, le=65535)
    urls: dict[str, str] = Field(default_factory=dict)
    token_file: str = ""
    timeout: Seconds = 5.0


class ClusterSettings(_Section):
    name: str = Field(default="", max_length=63, pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """Stamped on every incident as ``cluster`` and part of its fingerprint, so watchers of
    several clusters can share one store. Default: the kubeconfig context, ``in-cluster`` in a pod."""


class UiSettings(_Section):
    external_url: str = Field(default="", pattern=r"^$|^https?://[^\s]+$")
    """Where users reach the console (e.g. ``https://podsleuth.example.com``): alerts link to
    ``<external_url>/incidents/<id>``."""


class Settings(_Section):
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    watch: WatchSettings = Field(default_factory=WatchSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    store: str | None = None
    node_agents: NodeAgentSettings = Field(default_factory=NodeAgentSettings)


def load_settings(path: str | Path | None) -> Settings:
    """Read and validate a YAML config file; ``None`` gives the defaults."""
    if path is None:
        return Settings()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} cannot be read: {e}") from None
    return parse_settings(text, source=str(path))


def parse_settings(text: str, *, source: str = "<config>") -> Settings:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    check_duplicate_keys(root, source)
    if data is None:
        return Settings()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, not {type(data).__name__}")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f"{source}:{line}" if line else source
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{where}: unknown key {key!r}") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{where}: {key}: {msg}") from None

    def line_ref(loc: tuple[Any, ...]) -> str:
        line = _line_of(root, loc)
        return f"{source}:{line}" if line else source

    check_settings(settings.model_dump(by_alias=True), line_ref)
    return settings


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a 1-based line."""
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            found = None
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    found = value_node
                    break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            # pydantic adds union-member names to locations; they have no YAML node.
            continue
    if node is not None:
        line = node.start_mark.line + 1
    return line
