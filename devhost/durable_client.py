"""The state checks of the extension's client operations, in front of the engine.

The extension's HTTP handlers (``HttpApiHandler``) first look the instance up (missing =>
404, finished => 410 for the operations that check it) and then call ``DurableClient``,
which re-reads the state and throws ``InvalidOperationException`` for a transition it
refuses (suspend of a Suspended instance, resume of one that is not Suspended, rewind of
one that is not Failed; a Failed one is rewound as the Azure Storage backend does, see
rewind.py) — the handler's catch-all answers those with 500. Starting with an
id whose instance is still running is refused by DTFx (``OrchestrationAlreadyExistsException``)
unless host.json sets ``overridableExistingInstanceStates`` to ``AnyState``. Every rule
here cites its source in devhost/README.md ("Management API semantics").

The outcome of an operation is a plain string (``accepted``, ``not_found``, ``gone``); a
refused transition raises :class:`ClientOperationRefused`, which carries the .NET
exception type and message the extension would report.
"""
from __future__ import annotations

from .engine import DurableEngine
from .rewind import rewind_instance

# Extension Options/DurableTaskOptions.cs: OverridableExistingInstanceStates defaults to
# NonRunningStates; OverridableStates.cs maps it to these dedupe statuses.
NON_RUNNING_DEDUPE = ("Running", "ContinuedAsNew", "Pending", "Suspended")
# HttpApiHandler.IsCompletedStatus
COMPLETED = ("Completed", "Terminated", "Canceled", "Failed")
# DurableClient.IsOrchestrationSuspendable
SUSPENDABLE = ("Running", "Pending", "ContinuedAsNew")

INVALID_OPERATION = "System.InvalidOperationException"
ALREADY_EXISTS = "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"


class ClientOperationRefused(Exception):
    """What DurableClient / DTFx throw for a transition they refuse (the webhook's 500)."""

    def __init__(self, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.exception_type = exception_type
        self.message = message


class RestartOfUnknownInstance(ValueError):
    """RestartAsync's ArgumentException (its text has the source's typo "orchestrastion")."""


class DurableClientOps:
    def __init__(self, engine: DurableEngine, overridable_states: str = "NonRunningStates"
                 ) -> None:
        self.engine = engine
        self.dedupe_statuses: tuple[str, ...] = (
            () if overridable_states.lower() == "anystate" else NON_RUNNING_DEDUPE)

    def _status(self, instance_id: str) -> str | None:
        status = self.engine.status(instance_id, show_input=False)
        return None if status is None else status["runtimeStatus"]

    def start_new(self, name: str, instance_id: str | None, input_text: str | None) -> str:
        """Raises ``engine.UnknownOrchestrator`` (400) or :class:`ClientOperationRefused` (500)."""
        if instance_id:
            self.engine.ensure_orchestrator(name)  # the name is checked first (400), as in StartNewAsync
            existing = self._status(instance_id)
            if existing in self.dedupe_statuses:
                raise ClientOperationRefused(
                    ALREADY_EXISTS,
                    f"An Orchestration instance with the status {existing} already exists.")
        return self.engine.start_new(name, instance_id, input_text)

    def terminate(self, instance_id: str, reason: str | None) -> str:
        # Suspended counts as running for TerminateAsync (IsOrchestrationRunning).
        return self.precheck(instance_id) or self.engine.terminate(
            instance_id, reason)

    def suspend(self, instance_id: str, reason: str | None) -> str:
        early = self.precheck(instance_id)
        if early:
            return early
        status = self._status(instance_id)
        if status not in SUSPENDABLE:
            raise ClientOperationRefused(
                INVALID_OPERATION, f"Cannot suspend the orchestration instance {instance_id} "
                f"because instance is in the {status} state.")
        return self.engine.suspend(instance_id, reason)

    def resume(self, instance_id: str, reason: str | None) -> str:
        early = self.precheck(instance_id)
        if early:
            return early
        status = self._status(instance_id)
        if status != "Suspended":
            raise ClientOperationRefused(
                INVALID_OPERATION, f"Cannot resume the orchestration instance {instance_id} "
                f"because instance is in the {status} state.")
        return self.engine.resume(instance_id, reason)

    def raise_event(self, instance_id: str, name: str, input_text: str | None) -> str:
        return self.precheck(instance_id) or self.engine.raise_event(
            instance_id, name, input_text)

    def rewind(self, instance_id: str, reason: str | None) -> str:
        """Rewind a Failed instance (rewind.py); the other states as the extension answers."""
        result = self.rewind_check(instance_id)
        if result == "accepted":
            rewind_instance(self.engine, instance_id, reason)
        return result

    def rewind_check(self, instance_id: str) -> str:
        """HandleRewindInstanceRequestAsync + DurableClient.RewindAsync, up to the rewind."""
        status = self._status(instance_id)
        if status is None:
            return "not_found"
        if status in ("Completed", "Terminated", "Canceled"):  # Failed is not in the list
            return "gone"
        if status != "Failed":
            raise ClientOperationRefused(
                INVALID_OPERATION,
                "The rewind operation is only supported on failed orchestration instances.")
        return "accepted"

    def purge_by(self, *, created_from: float, created_to: float | None,
                 statuses: list[str] | None) -> int:
        """AzureTableTrackingStore.PurgeInstanceHistoryAsync(filters): a status filter keeps
        only Completed/Terminated/Canceled/Failed, and a filter left empty by that is no
        filter at all (OrchestrationInstanceStatusQueryCondition); no filter purges every
        instance created in the range, running ones too."""
        if statuses is not None:
            statuses = [s for s in statuses if s in COMPLETED] or None
        return self.engine.purge_by(created_from=created_from, created_to=created_to,
                                    statuses=statuses)

    def restart(self, instance_id: str, new_instance_id: bool) -> str:
        """DurableClient.RestartAsync: start the instance's orchestrator again with its input,
        under a new id (the default) or the same one (then the start's state check applies)."""
        row = self.engine.store.get_instance(instance_id)
        if row is None:
            raise RestartOfUnknownInstance(
                f"An orchestrastion with the instanceId {instance_id} was not found.")
        return self.start_new(row.name, None if new_instance_id else instance_id, row.input)

    def purge(self, instance_id: str) -> int:
        """No state check anywhere on the single-instance purge (running ones are deleted too)."""
        return self.engine.purge(instance_id)

    def precheck(self, instance_id: str) -> str | None:
        status = self._status(instance_id)
        if status is None:
            return "not_found"
        if status in COMPLETED:
            return "gone"
        return None
