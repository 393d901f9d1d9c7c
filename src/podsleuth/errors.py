"""The one error tree of podsleuth.

::

    PodsleuthError                 anything podsleuth reports as a one-line message (exit 1
                                   unless the class sets ``exit_code``)
    ├── UsageError                 bad input from the user: exit code 2
    │   ├── ConfigError            a config file that is missing, unparsable or invalid
    │   ├── KubeconfigError        no usable kubeconfig / in-cluster config
    │   ├── InputError             a bad input file or argument (diagnose, node check)
    │   └── ResourceError          an unusable resource of the environment: store, port, /proc,
    │                              token file (a directory, read-only, not a database, in use)
    │   └── LabPrerequisiteError   (lab) the machine lacks what the lab needs: not root, no FUSE
    ├── KnowledgeBaseError         a shipped data file (signatures, rules) that does not validate
    │   └── CatalogError           (detect) the detection catalog (categories.yaml)
    ├── DeliveryError              a receiver did not take a notification (alert.sinks.SinkError)
    │   └── SinkRejected           ... and never will (4xx): dead-lettered, not retried
    ├── NodeAgentError             the node agent could not be asked (diagnose: AgentUnavailable)
    ├── ReviewUnavailable          (node agent) the API server's TokenReview could not be asked
    ├── LabError                   (lab) a step of the seeded incident failed
    └── ApiError                   the Kubernetes API answered with an error, or not at all (exit 2)
        ├── ApiUnreachable         connection refused, DNS, TLS, timeout
        ├── ApiForbidden           403: names the verb and resource that RBAC lacks
        ├── ApiUnauthorized        401: bad or expired credentials
        ├── ApiNotFound            404: resource kind or object missing
        ├── ApiConflict            409: a stale resourceVersion on update, or the object exists
        ├── ApiGone                410: resourceVersion too old, re-list
        ├── ApiThrottled           429: too many requests; ``retry_after`` seconds when the server said
        └── ApiServerError         any other HTTP status

Errors of the libraries below (aiohttp, the ssl module) are mapped onto this tree at the
boundary (``podsleuth.kube``) with ``raise ... from``; nothing above that layer sees them. One
function maps a status to its class (``podsleuth.kube.errors.error_for``), for HTTP responses and
for ERROR events inside a watch stream alike.
"""

from __future__ import annotations


class PodsleuthError(Exception):
    """Base of every error podsleuth raises on purpose; its ``str`` is one line for the user."""


class UsageError(PodsleuthError):
    """Bad input from the user; the CLI exits with code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file that is missing, unparsable or does not validate."""


class KubeconfigError(UsageError):
    """No usable kubeconfig or in-cluster configuration."""


class InputError(UsageError):
    """A bad input file or argument."""


class ResourceError(UsageError):
    """A resource the command was pointed at cannot be used: a ``--store`` that is a directory,
    read-only, not a database or of a newer schema; a ``--listen`` port in use; a ``--proc``
    that does not exist; an empty token file. Exit code 2, like bad input: it is fixed by
    changing the command line or the environment, not the code."""


class KnowledgeBaseError(PodsleuthError):
    """A shipped data file (signatures, rules) that does not validate: a bug in the package."""


class DeliveryError(PodsleuthError):
    """A receiver did not take a notification; the outbox retries it (see ``SinkRejected``)."""


class NodeAgentError(PodsleuthError):
    """The node agent could not be asked (down, refused the token, answered garbage); the
    diagnosis says so and loses confidence instead of failing."""


class ReviewUnavailable(PodsleuthError):
    """The node agent could not ask the API server's TokenReview (unreachable, timeout, error
    answer): it answers 503, not 401. ``str`` is safe to log and show: never a token."""


class ApiError(PodsleuthError):
    """The Kubernetes API answered with an error status, or could not be reached.

    Exit code 2, like an unusable resource: the cluster the kubeconfig names cannot be used by
    this command (down, wrong address, credentials, RBAC); exit 1 stays "findings" (--fail-on).
    """

    exit_code = 2

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class ApiUnreachable(ApiError):
    """Connection refused, name resolution, TLS or timeout: the server did not answer."""


class ApiForbidden(ApiError):
    """HTTP 403: the service account lacks a permission; the message names it."""


class ApiUnauthorized(ApiError):
    """HTTP 401: credentials missing, wrong or expired."""


class ApiNotFound(ApiError):
    """HTTP 404: the resource kind (API group not served) or the object does not exist."""


class ApiConflict(ApiError):
    """HTTP 409: an update carried a stale resourceVersion (reason Conflict), or a create named
    an object that already exists (reason AlreadyExists); re-read and decide again."""


class ApiGone(ApiError):
    """HTTP 410 or an ERROR Status with code 410: the resourceVersion is too old; re-list."""


class ApiThrottled(ApiError):
    """HTTP 429 (or an ERROR Status with code 429): the API server's priority and fairness
    refused the request for now; wait ``retry_after`` seconds (its Retry-After) when it said."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, reason=reason)
        self.retry_after = retry_after


class ApiServerError(ApiError):
    """Any other HTTP error status."""
