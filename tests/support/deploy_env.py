"""The Google side of a deployment, faked: Cloud Run v2, Cloud Scheduler v1 and Secret Manager v1 fakes
on local ports, and the settings that point housejobs' real clients at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime

from tests.fakes._http import ticking_clock
from tests.fakes.cloudlogging import CloudLoggingFake
from tests.fakes.cloudrun import CloudRunFake
from tests.fakes.scheduler import SchedulerFake
from tests.fakes.secretmanager import SecretManagerFake
from tests.support.sentinels import SENTINELS

PROJECT = "cloudact-testing-1"
REGION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
SCHEDULER_SA = "housejobs-scheduler@cloudact-testing-1.iam.gserviceaccount.com"
RUNTIME_SA = "housejobs-runtime@cloudact-testing-1.iam.gserviceaccount.com"
SECRETS = {"ca-root-api-key": "CA_ROOT_API_KEY", "scheduler-shared-secret": "SCHEDULER_SHARED_SECRET",
           "supabase-access-token": "SUPABASE_ACCESS_TOKEN"}




@dataclass
class GcpEnv:
    run: CloudRunFake
    sched: SchedulerFake
    sm: SecretManagerFake
    logs: CloudLoggingFake

    @property
    def env(self) -> dict[str, str]:
        return {"HOUSEJOBS_RUN_API_ENDPOINT": self.run.endpoint,
                "HOUSEJOBS_SCHEDULER_API_ENDPOINT": self.sched.endpoint,
                "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": self.sm.endpoint,
                "HOUSEJOBS_LOGGING_API_ENDPOINT": self.logs.endpoint}

    def add_secrets(self, suffix: str = "-test", project: str = PROJECT) -> None:
        # The sentinel values, so the suite's leak check covers anything read from Secret Manager.
        for name, var in SECRETS.items():
            self.sm.add_secret(project, name + suffix, SENTINELS[var].encode())

    def clear(self) -> None:
        self.run.clear_requests()
        self.sched.clear_requests()
        self.sm.clear_requests()
        self.logs.clear_requests()

    @property
    def write_calls(self) -> int:
        return self.run.write_calls + self.sched.write_calls + self.sm.write_calls

    def violations(self) -> list[str]:
        return [*self.run.schema_violations, *self.sched.schema_violations, *self.sm.schema_violations,
                *self.logs.schema_violations,
                *self.run.output_only_sent, *self.sched.output_only_sent]


@contextmanager
def gcp_env(logs_clock: Callable[[], datetime] | None = None) -> Iterator[GcpEnv]:
    """The fakes; Cloud Logging's on `logs_clock` (the CLI's, so an entry shows `delay_s` after it was written
    as the run's clock counts), else on a ticking clock of its own with no delay."""
    with ExitStack() as stack:
        run = stack.enter_context(CloudRunFake(clock=ticking_clock()))
        sched = stack.enter_context(SchedulerFake(clock=ticking_clock()))
        sm = stack.enter_context(SecretManagerFake(clock=ticking_clock()))
        logs = stack.enter_context(CloudLoggingFake(clock=logs_clock or ticking_clock(),
                                                    delay_s=2.0 if logs_clock else 0.0))
        run.logging = logs
        yield GcpEnv(run, sched, sm, logs)
