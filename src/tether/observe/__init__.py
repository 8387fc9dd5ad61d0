"""Observability: traces, metrics, KPI rollups, drift monitors, feedback and structured logs
of runs.

Names are loaded on first use, so importing one module of the package (e.g. the redactor)
does not pull in the OpenTelemetry SDK, prometheus_client and the KPI store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.core.exports import lazy_exports

if TYPE_CHECKING:
    from tether.observe.drift import DriftReport, DriftSettings, MonitorResult
    from tether.observe.drift_source import detect_drift
    from tether.observe.feedback import Feedback, FeedbackStore
    from tether.observe.hub import Observability, default_observability
    from tether.observe.kpi import KpiPoint
    from tether.observe.kpi_store import CountRow, KpiStore
    from tether.observe.logs import configure_logging
    from tether.observe.metrics import TetherMetrics
    from tether.observe.tracing import TraceObserver, Tracing

_EXPORTS = {
    "CountRow": "tether.observe.kpi_store",
    "DriftReport": "tether.observe.drift",
    "DriftSettings": "tether.observe.drift",
    "Feedback": "tether.observe.feedback",
    "FeedbackStore": "tether.observe.feedback",
    "KpiPoint": "tether.observe.kpi",
    "KpiStore": "tether.observe.kpi_store",
    "MonitorResult": "tether.observe.drift",
    "Observability": "tether.observe.hub",
    "TetherMetrics": "tether.observe.metrics",
    "TraceObserver": "tether.observe.tracing",
    "Tracing": "tether.observe.tracing",
    "configure_logging": "tether.observe.logs",
    "default_observability": "tether.observe.hub",
    "detect_drift": "tether.observe.drift_source",
}

__all__ = [
    "CountRow",
    "DriftReport",
    "DriftSettings",
    "Feedback",
    "FeedbackStore",
    "KpiPoint",
    "KpiStore",
    "MonitorResult",
    "Observability",
    "TetherMetrics",
    "TraceObserver",
    "Tracing",
    "configure_logging",
    "default_observability",
    "detect_drift",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)
