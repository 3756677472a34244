"""Dead-lettered events go to a blob container, one JSON blob per event, as Event Grid
writes them: `<topic>/<subscription>/<yyyy>/<mm>/<dd>/<hh>/<uuid>.json`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob.aio import BlobServiceClient


class DeadLetterStore:
    def __init__(self, connection_string: str, container: str) -> None:
        self._service = BlobServiceClient.from_connection_string(connection_string)
        self._container = self._service.get_container_client(container)
        self._created = False

    async def write(self, topic: str, subscription: str, record: dict[str, Any]) -> str:
        if not self._created:
            try:
                await self._container.create_container()
            except ResourceExistsError:
                pass
            self._created = True
        now = datetime.now(UTC)
        name = f"{topic}/{subscription}/{now:%Y/%m/%d/%H}/{uuid.uuid4()}.json"
        await self._container.upload_blob(name, json.dumps([record]).encode(), overwrite=False)
        return name

    async def read_all(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        async for blob in self._container.list_blobs():
            data = await (await self._container.download_blob(blob.name)).readall()
            records.extend(json.loads(data))
        return records

    async def close(self) -> None:
        await self._service.close()
