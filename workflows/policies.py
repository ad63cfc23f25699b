"""Named retry policies and timeouts for the request workflow's activities."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Business refusals raised by activities: retrying cannot change the answer.
NON_RETRYABLE = [
    "PlanNotFound",
    "PlanNotEligible",
    "MeterUnavailable",
    "ActivationRefused",
    "IntegrityViolation",
    "CreateAbandoned",
]

# Database writes: back off up to 30 s between tries and keep trying through an outage.
DB_WRITE = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=NON_RETRYABLE,
)

# Lookups an update waits on: quick tries, and through an outage too. An update failed by a
# database outage would be that update ID's outcome for good, so every retry of the caller's
# Idempotency-Key would get the outage back; waiting keeps the update in flight (the API answers
# 503, the retry attaches to it) until the database is back.
DB_LOOKUP = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    maximum_interval=timedelta(seconds=5),
    non_retryable_error_types=NON_RETRYABLE,
)

# E-mail: the SMTP relay may be down for a while; the message is not worth failing a request for.
EMAIL = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,
)

DB_TIMEOUT = timedelta(seconds=30)
# One try of a local activity: well under the 10 s workflow task timeout (the worker heartbeats
# the task while retries go on, backing off up to 30 s, below the 1 min local retry threshold).
LOCAL_DB_TIMEOUT = timedelta(seconds=5)
EMAIL_TIMEOUT = timedelta(seconds=30)

# SMS: the provider may be down a while too; a number it rejects (SmsRejected) is not tried again.
SMS = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,
    non_retryable_error_types=["SmsRejected"],
)
SMS_TIMEOUT = timedelta(seconds=30)
