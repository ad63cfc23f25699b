"""OpenTelemetry traces from the HTTP request through Temporal into the workflow and its activities.

Off unless ``CONNECTDESK_OTLP_ENDPOINT`` names an OTLP/HTTP collector (e.g.
``http://otel-collector:4318/v1/traces``). When on, the API's FastAPI instrumentation opens a span
per request, and Temporal's ``TracingInterceptor`` on the API's client and the worker's (a
client's interceptors apply to its workers) carries the context in Temporal's headers. A request's
trace runs ``POST /api/v1/requests`` → ``StartWorkflow:RequestWorkflow`` → ``RunWorkflow`` and
``StartActivity:…`` → ``RunActivity:…``. An action's trace runs ``POST …/acknowledge`` →
``StartWorkflowUpdate:acknowledge``; inside the workflow its ``HandleUpdate:acknowledge`` span (and
the activities it starts) belong to the request's own trace and carry a link to that update span,
so the request's whole life is one trace and each action is one click away.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor


def provider_for(endpoint: str, service: str) -> TracerProvider | None:
    """A provider exporting to the OTLP/HTTP ``endpoint`` in batches; None (tracing off) without one."""
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def interceptors(provider: TracerProvider | None) -> list[Any]:
    """The Temporal client interceptors that carry the trace (none when tracing is off)."""
    if provider is None:
        return []
    return [TracingInterceptor(tracer=provider.get_tracer("connectdesk.temporal"))]


def instrument(app: FastAPI, provider: TracerProvider | None) -> None:
    """A server span per HTTP request (named by route template); nothing when tracing is off."""
    if provider is not None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls="/metrics,/static/.*,/healthz"
        )
