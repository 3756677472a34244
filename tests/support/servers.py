"""Start and stop the local servers tests talk to, each on a free port (see
`local_cloud.processes`, which the demo and the local loop use too)."""

from __future__ import annotations

import os

from local_cloud.processes import REPO_ROOT, Azurite, CosmosServer, MotoServer, free_port, node_bin, wait_for_port

__all__ = ["REPO_ROOT", "Azurite", "CosmosServer", "MotoServer", "external_cosmos", "free_port", "node_bin",
           "wait_for_port"]


def external_cosmos() -> tuple[str, str] | None:
    """COSMOS_ENDPOINT/COSMOS_KEY point the tests at the official emulator or an account."""
    endpoint, key = os.environ.get("COSMOS_ENDPOINT"), os.environ.get("COSMOS_KEY")
    return (endpoint, key) if endpoint and key else None
