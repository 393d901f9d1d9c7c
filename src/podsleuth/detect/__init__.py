"""detect stage of the podsleuth pipeline: pure rules, incident grouping, the Detector engine.

Import the public names from here: ``Detector``, ``Incident``, ``IncidentChange``.
Imports flow one way (diagnose -> detect -> watch); nothing here imports diagnose.
"""

from podsleuth.detect.anomaly import Anomaly, Catalog, Severity, Termination, load_catalog
from podsleuth.detect.engine import Detector
from podsleuth.detect.filters import DEFAULT_IGNORE
from podsleuth.detect.incidents import Incident, IncidentChange
from podsleuth.detect.owner import Owner
from podsleuth.detect.rules_event import EventRecord

__all__ = [
    "DEFAULT_IGNORE",
    "Anomaly",
    "Catalog",
    "Detector",
    "EventRecord",
    "Incident",
    "IncidentChange",
    "Owner",
    "Severity",
    "Termination",
    "load_catalog",
]
