"""Malformed input is acknowledged and recorded here, never retried: a retry cannot fix it,
and retrying poison between two clouds is how compensation loops start.

Rows are keyed by a hash of the raw body, so the same junk delivered a thousand times is one
row with `seen = 1000`, not a thousand rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from aws import dynamo
from aws.settings import Backend

log = logging.getLogger("aws.payments.poison")

MAX_STORED_BODY = 64 * 1024


def record_poison(backend: Backend, reason: str, raw: Any, *, where: str) -> str:
    body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (
        raw if isinstance(raw, str) else _dumps(raw))
    # Lone surrogates (valid in JSON text, not in UTF-8) would make DynamoDB refuse the row.
    body = body.encode("utf-8", "replace").decode("utf-8")
    reason = reason.encode("utf-8", "replace").decode("utf-8")
    poison_id = hashlib.sha256(f"{where}|{body}".encode()).hexdigest()[:32]
    now = backend.iso_now()
    backend.dynamodb.update_item(
        TableName=backend.settings.poison,
        Key=dynamo.to_item({"poisonId": poison_id}),
        # Placeholders for every name: several (reason, source…) are DynamoDB reserved words.
        UpdateExpression=("SET #reason = :reason, #body = :body, #where = :where, #last = :now, "
                          "#first = if_not_exists(#first, :now) ADD #seen :one"),
        ExpressionAttributeNames={"#reason": "reason", "#body": "body", "#where": "receivedBy",
                                  "#last": "lastSeen", "#first": "firstSeen", "#seen": "seen"},
        ExpressionAttributeValues=dynamo.to_item({":reason": reason[:2000], ":body": body[:MAX_STORED_BODY],
                                                  ":where": where, ":now": now, ":one": 1}),
    )
    log.warning("poison event %s acknowledged (%s): %s", poison_id, where, reason[:500])
    return poison_id


def _dumps(raw: Any) -> str:
    try:
        return json.dumps(raw, default=str, sort_keys=True)
    except (RecursionError, ValueError, TypeError):  # nested too deeply, or not serialisable
        return repr(raw)[:MAX_STORED_BODY]
