"""Local stand-ins for what Terraform creates in production: the tables, the event bus, and
a rule that copies the bus to an SQS queue (moto delivers EventBridge → SQS but not to API
destinations, so a local forwarder reads that queue and plays the API destination)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from aws.settings import Backend
from aws.tables import create_tables
from ordersaga.events import AWS_SOURCE


def create_event_bus(events: Any, name: str) -> str:
    """Create the custom bus if missing; returns its ARN."""
    try:
        return str(events.describe_event_bus(Name=name)["Arn"])
    except events.exceptions.ResourceNotFoundException:
        return str(events.create_event_bus(Name=name)["EventBusArn"])


def route_bus_to_queue(backend: Backend, queue_name: str, *, rule_name: str | None = None) -> str:
    """A rule on the saga bus matching every `saga.payments` event, targeting an SQS queue
    (created if missing). Returns the queue URL."""
    settings = backend.settings
    sqs = boto3.client("sqs", region_name=settings.region,
                       endpoint_url=settings.events_endpoint or settings.dynamodb_endpoint)
    queue_url = str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = rule_name or f"{queue_name}-from-{settings.event_bus}"
    backend.events.put_rule(Name=rule, EventBusName=settings.event_bus, State="ENABLED",
                            EventPattern=json.dumps({"source": [AWS_SOURCE]}))
    backend.events.put_targets(Rule=rule, EventBusName=settings.event_bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def create_local_infrastructure(backend: Backend) -> list[str]:
    """Tables + bus. Returns the names of the tables that were created."""
    created = create_tables(backend.dynamodb, backend.settings)
    create_event_bus(backend.events, backend.settings.event_bus)
    return created
