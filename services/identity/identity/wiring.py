"""Identity's composition root: settings, the use cases' dependencies, the job steps and the container's own
dependency providers, beside the nameko service (identity.service) that calls them."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from identity.adapters import Deps
from identity.adapters.projections import Projector
from identity.commands import admin, audit_job, deadlines, reminders, roster_job, sanctions
from identity.settings import Settings
from pupns.eventstore import EventStore
from pupns.personal import FieldCodec, KeyStore
from pupns.service_calls import Calls

SETTINGS = Settings.from_env()


def deps_of(store: EventStore, codec: FieldCodec | None = None) -> Deps:
    """The use cases' dependencies over one event store (and the personal-data codec, where a call has one)."""
    return Deps.of(store, SETTINGS, codec)


def cause_meta(message: dict) -> dict:
    """The meta of what a consumed event causes here: its producer's actor, and the event as the cause."""
    meta = message.get("meta") or {}
    return {"actor": meta.get("actor"), "role": meta.get("role"), "cause": message["event_id"]}


def job_steps(codec: FieldCodec, calls: Calls | None = None) -> dict:
    """The pupns.jobs steps (run, deadline) of identity's jobs, over use cases that take the dependencies first
    (`calls`: other services' RPCs, which the audit job needs)."""
    def step(command):
        return lambda run, deadline: command(deps_of(run.store, codec), run, deadline)

    return {roster_job.KIND: step(roster_job.step), sanctions.CLOSE_KIND: step(sanctions.close_step),
            reminders.KIND: step(reminders.step),
            audit_job.KIND: lambda run, deadline: audit_job.step(deps_of(run.store, codec), calls, run, deadline)}


def setup_store(store: EventStore) -> None:
    """Identity's read-model indexes, and the spec's first administrator at first start."""
    Projector.ensure_indexes(store.db)
    password = SETTINGS.admin_password  # the spec's first admin, at first start (idempotent)
    if password:
        # Dependencies are set up in no set order: the first admin's hash is sealed with a key store of its own.
        keys = KeyStore.from_env()
        try:
            admin.bootstrap_admin(deps_of(store, FieldCodec(keys)), password)
        finally:
            keys.close()


class DeadlineClockProvider(DependencyProvider):
    """The container's DeadlineClock: its cache of the campaign, so deadline checks query only when due."""

    def setup(self) -> None:
        self.clock = deadlines.DeadlineClock([reminders.seconds(o) for o in reminders.offsets(SETTINGS.reminders)])

    def get_dependency(self, worker_ctx) -> deadlines.DeadlineClock:
        return self.clock
