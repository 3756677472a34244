"""The order saga: its step table, the compensation-stack primitive and the orchestrator."""
