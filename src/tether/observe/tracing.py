"""OpenTelemetry tracing: a run's spans, built from its steps when it ends, exported in batches.

The run's `trace_id` (minted by the runtime's IdSource) is the OpenTelemetry trace id, so a
trace in any backend and the run in tether's own record share one id. Export is configured
with the standard `OTEL_*` variables and runs on the batch processor's thread: an unreachable
collector costs a run nothing, and shutting down waits at most `shutdown_timeout_s`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from functools import partial

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode

from tether.core.types import Run, Step
from tether.observe.redact import Redactor, default_redactor
from tether.observe.spans import Kind, PlannedSpan, plan_run

log = logging.getLogger("tether.observe.tracing")

TRACER_NAME = "tether"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_TRUE = ("1", "true", "yes", "on")

# the trace id the next root span must carry (set only while that span is started)
_PENDING_TRACE_ID: ContextVar[int | None] = ContextVar("tether_pending_trace_id", default=None)


def otel_trace_id(trace_id: str) -> int:
    """The 128-bit trace id of a run: its own id when that is 32 hex digits (runs recorded
    before trace ids followed W3C get a stable id derived from theirs)."""
    if len(trace_id) == 32:
        try:
            value = int(trace_id, 16)
        except ValueError:
            value = 0
        if value:
            return value
    digest = hashlib.sha256(trace_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:16], "big") or 1


class RunTraceIds(IdGenerator):
    """Random span ids; the trace id of a run's root span is the run's own."""

    def generate_span_id(self) -> int:
        return random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        pending = _PENDING_TRACE_ID.get()
        return pending if pending is not None else (random.getrandbits(128) or 1)


def export_requested(environ: Mapping[str, str] | None = None) -> bool:
    """True when the standard OpenTelemetry variables ask for OTLP trace export."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return False
    exporters = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",")}
    if "none" in exporters:
        return False
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return "otlp" in exporters or bool(endpoint and endpoint.strip())


class Tracing:
    """tether's own tracer provider (never the global one), the thread that builds spans off
    the runs' path, and how both stop."""

    MAX_PENDING_RUNS = 2048  # runs waiting for their spans to be built; more are dropped

    def __init__(
        self,
        processor: SpanProcessor,
        resource: Resource | None = None,
        shutdown_timeout_s: float = 2.0,
    ) -> None:
        self.provider = TracerProvider(
            resource=resource or Resource.create({"service.name": "tether"}),
            id_generator=RunTraceIds(),
            shutdown_on_exit=False,  # `shutdown` bounds the wait instead
        )
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer(TRACER_NAME)
        self._processor = processor
        self._shutdown_timeout_s = shutdown_timeout_s
        self._stopped = False
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(self.MAX_PENDING_RUNS)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self.dropped_runs = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Tracing | None:
        """OTLP/HTTP export in batches when `OTEL_*` asks for it (the exporter reads its own
        endpoint, headers, timeout and compression variables); otherwise None."""
        env = os.environ if environ is None else environ
        if not export_requested(env):
            return None
        # imported here: a process that exports nothing never loads the HTTP stack
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        if protocol.strip() not in ("", "http/protobuf"):
            log.warning("OTLP protocol %r is not available; exporting http/protobuf", protocol)
        resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or "tether"})
        return cls(BatchSpanProcessor(OTLPSpanExporter()), resource)

    @classmethod
    def with_exporter(cls, exporter: SpanExporter, batch: bool = False) -> Tracing:
        """Export to `exporter`: span by span (tests), or in batches like production."""
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        return cls(processor)

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` (build and emit one run's spans) on the tracing thread; never blocks."""
        if self._stopped:
            return
        if self._worker is None:
            with self._lock:
                if self._worker is None:
                    self._worker = threading.Thread(
                        target=self._work, name="tether-trace-builder", daemon=True
                    )
                    self._worker.start()
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            self.dropped_runs += 1  # a run is never held up for its trace

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                job()
            except Exception:  # one bad run must not stop tracing for the others
                log.exception("building spans failed")
            finally:
                self._jobs.task_done()

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        """Build the spans of runs already ended and export what is queued (blocking)."""
        deadline = time.monotonic() + timeout_s
        while self._jobs.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.002)
        built = not self._jobs.unfinished_tasks
        left_ms = max(1, int((deadline - time.monotonic()) * 1000))
        return self.provider.force_flush(left_ms) and built

    def shutdown(self) -> None:
        """Stop tracing; waits at most `shutdown_timeout_s` for pending spans to leave."""
        if self._stopped:
            return
        self._stopped = True
        deadline = time.monotonic() + self._shutdown_timeout_s
        if self._worker is not None:
            # when the queue is full the worker, a daemon thread, simply ends with the process
            with contextlib.suppress(queue.Full):
                self._jobs.put_nowait(None)
            self._worker.join(max(0.0, deadline - time.monotonic()))
        # the SDK's own shutdown may wait out a hung export; a daemon thread bounds the wait
        stopper = threading.Thread(target=self._processor.shutdown, daemon=True)
        stopper.start()
        stopper.join(max(0.0, deadline - time.monotonic()))
        exporter = getattr(self._processor, "span_exporter", None)
        if stopper.is_alive() and isinstance(exporter, SpanExporter):
            exporter.shutdown()  # an export still retrying gives up now instead of at its timeout

    def emit(self, plan: Sequence[PlannedSpan], trace_id: int) -> None:
        """Start and end the planned spans with their recorded times under `trace_id`."""
        if not plan:
            return
        spans: list[trace.Span] = []
        for planned in plan:
            if planned.parent is None:
                token = _PENDING_TRACE_ID.set(trace_id)
                try:
                    span = self._start(planned, Context())
                finally:
                    _PENDING_TRACE_ID.reset(token)
            else:
                span = self._start(planned, trace.set_span_in_context(spans[planned.parent]))
            spans.append(span)
        for span, planned in zip(reversed(spans), reversed(plan), strict=True):
            span.end(end_time=_ns(max(planned.end, planned.start)))

    def _start(self, planned: PlannedSpan, context: Context) -> trace.Span:
        kind = SpanKind.CLIENT if planned.kind is Kind.CLIENT else SpanKind.INTERNAL
        span = self.tracer.start_span(
            planned.name,
            context=context,
            kind=kind,
            attributes=planned.attributes,
            start_time=_ns(planned.start),
        )
        for name, at, attrs in planned.events:
            span.add_event(name, attrs, timestamp=_ns(at))
        if planned.error:
            span.set_status(Status(StatusCode.ERROR, planned.error))
        return span


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class TraceObserver:
    """A RunObserver that turns each ended run into spans.

    Per step it only notes where this process started recording a run (a resumed run's
    earlier steps were traced by the process that recorded them); when the run ends, its spans
    are built and emitted on the tracing thread, off the run's path.
    """

    MAX_OPEN_RUNS = 4096  # runs seen but not ended (e.g. suspended) are forgotten past this

    def __init__(
        self,
        tracing: Tracing,
        capture_content: bool | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.tracing = tracing
        if capture_content is None:
            capture_content = os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _TRUE
        self.capture_content = capture_content
        self._redactor = redactor or default_redactor()
        self._first_seq: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()  # runs end on many server threads at once

    def on_steps(self, run: Run, steps: Sequence[Step]) -> None:
        if steps and run.id not in self._first_seq:
            with self._lock:
                self._first_seq.setdefault(run.id, steps[0].seq)
                if len(self._first_seq) > self.MAX_OPEN_RUNS:
                    self._first_seq.popitem(last=False)

    def on_run_end(self, run: Run) -> None:
        with self._lock:
            first = self._first_seq.pop(run.id, 1)
        self.tracing.submit(partial(self._emit, run, first))

    def _emit(self, run: Run, first: int) -> None:
        steps = [s for s in run.steps if s.seq >= first]
        plan = plan_run(run, steps, self._redactor, self.capture_content, resumed=first > 1)
        self.tracing.emit(plan, otel_trace_id(run.trace_id))
