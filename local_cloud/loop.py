"""The whole cross-cloud loop on one machine, minus the function app itself:

    app ──publish──▶ Event Grid topic "to-aws" ──webhook──▶ AWS adapter (API Gateway stand-in)
                                                              │ handlers: DynamoDB + outbox (moto)
    app ◀──webhook── Event Grid topic "to-azure" ◀──forwarder── SQS ◀── EventBridge rule ◀── relay

`CrossCloudLoop` starts moto, the AWS tables/bus/rule/queue, the AWS adapter with its outbox
relay, the local Event Grid service with both topics, and the forwarder; `app_settings()` are
the settings the function app needs to publish into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from dataclasses import dataclass
from typing import Any

import boto3
from aiohttp import web

from aws.entra_auth import EntraSettings, EntraTokenValidator
from aws.local_adapter import create_app
from aws.local_infra import create_local_infrastructure, route_bus_to_queue
from aws.settings import AwsSettings, Backend
from eventgrid_local.config import ServiceConfig
from eventgrid_local.server import EventGridService
from eventgrid_local.token_issuer import EVENT_GRID_ROLE, local_issuer, local_jwks_url
from local_cloud.forwarder import SqsToEventGridForwarder
from local_cloud.processes import MotoServer, free_port

FORWARD_QUEUE = "saga-to-azure"


@dataclass
class LoopOptions:
    app_webhook_url: str  # the app's Event Grid trigger, e.g. …/runtime/webhooks/eventgrid?functionName=aws_events
    to_aws_key: str = ""
    to_azure_key: str = ""
    eventgrid_port: int = 0
    adapter_port: int = 0
    moto_port: int = 0
    retry_schedule_seconds: tuple[float, ...] = (1, 2, 5, 10, 30, 60)
    dead_letter_connection: str | None = None
    table_prefix: str = ""
    relay_interval: float = 0.1
    # Deliveries to AWS carry an Entra-style bearer token from the local Event Grid's tenant,
    # which the AWS adapter checks as API Gateway's JWT authorizer does in AWS.
    entra_audience: str = "api://ordersaga-payments-webhook"


class CrossCloudLoop:
    def __init__(self, options: LoopOptions) -> None:
        self.options = options
        self.to_aws_key = options.to_aws_key or secrets.token_urlsafe(24)
        self.to_azure_key = options.to_azure_key or secrets.token_urlsafe(24)
        self.moto = MotoServer(options.moto_port or None)
        self.backend: Backend | None = None
        self.eventgrid: EventGridService | None = None
        self.forwarder: SqsToEventGridForwarder | None = None
        self._adapter: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self._forwarding: asyncio.Task[None] | None = None
        self.adapter_url = ""

    async def start(self) -> CrossCloudLoop:
        await asyncio.to_thread(self.moto.start)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        settings = AwsSettings(dynamodb_endpoint=self.moto.url, events_endpoint=self.moto.url,
                               table_prefix=self.options.table_prefix)
        self.backend = Backend.connect(settings)
        await asyncio.to_thread(create_local_infrastructure, self.backend)
        queue_url = await asyncio.to_thread(route_bus_to_queue, self.backend, FORWARD_QUEUE)

        eventgrid_port = self.options.eventgrid_port or free_port()
        eventgrid_url = f"http://127.0.0.1:{eventgrid_port}"
        auth = EntraTokenValidator(EntraSettings(
            issuers=(local_issuer(eventgrid_url),), audiences=(self.options.entra_audience,),
            jwks_url=local_jwks_url(eventgrid_url), required_role=EVENT_GRID_ROLE))
        self._adapter = web.AppRunner(create_app(self.backend, relay_interval=self.options.relay_interval, auth=auth),
                                      access_log=None)
        await self._adapter.setup()
        adapter_port = self.options.adapter_port or free_port()
        await web.TCPSite(self._adapter, "127.0.0.1", adapter_port).start()
        self.adapter_url = f"http://127.0.0.1:{adapter_port}/events"

        config: dict[str, Any] = {
            "retryScheduleSeconds": list(self.options.retry_schedule_seconds),
            "topics": {
                "to-aws": {"key": self.to_aws_key, "inputSchema": "CloudEventSchemaV1_0",
                           "subscriptions": [{"name": "aws-payments", "endpoint": self.adapter_url,
                                              "entra": {"audience": self.options.entra_audience}}]},
                # A subscription whose endpoint type is an Azure Function needs no handshake.
                "to-azure": {"key": self.to_azure_key, "inputSchema": "CloudEventSchemaV1_0",
                             "subscriptions": [{"name": "order-saga", "endpoint": self.options.app_webhook_url,
                                                "validation": "none"}]},
            },
        }
        if self.options.dead_letter_connection:
            config["deadLetter"] = {"connectionString": self.options.dead_letter_connection}
        self.eventgrid = EventGridService(ServiceConfig.from_dict(config))
        await self.eventgrid.start(port=eventgrid_port)

        sqs = boto3.client("sqs", region_name=settings.region, endpoint_url=self.moto.url)
        self.forwarder = SqsToEventGridForwarder(sqs, queue_url, self.eventgrid.topic_endpoint("to-azure"),
                                                 self.to_azure_key)
        self._forwarding = asyncio.create_task(self.forwarder.run(self._stop, poll_seconds=0.05))
        return self

    def hold_replies(self) -> None:
        """Keep AWS's replies queued (SQS) until `release_replies`: a delayed link."""
        assert self.forwarder is not None
        self.forwarder.held = True

    def release_replies(self) -> None:
        assert self.forwarder is not None
        self.forwarder.held = False

    def app_settings(self) -> dict[str, str]:
        assert self.eventgrid is not None
        return {"EVENTGRID_TOPIC_ENDPOINT": self.eventgrid.topic_endpoint("to-aws"),
                "EVENTGRID_TOPIC_KEY": self.to_aws_key}

    async def stop(self) -> None:
        self._stop.set()
        if self._forwarding is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._forwarding
        if self.eventgrid is not None:
            await self.eventgrid.stop()
        if self._adapter is not None:
            await self._adapter.cleanup()
        await asyncio.to_thread(self.moto.stop)

    async def __aenter__(self) -> CrossCloudLoop:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
