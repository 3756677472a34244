# The payment participant's tables (reference: aws/tables.py). On-demand, string hash keys.

locals {
  prefix = module.shared.name_prefix

  tables = {
    accounts = { name = "PaymentAccounts", key = "customerId", env = "PAYMENT_ACCOUNTS_TABLE" }
    payments = { name = "LocalPayments", key = "sagaId", env = "LOCAL_PAYMENTS_TABLE" }
    inbox    = { name = "ProcessedEvents", key = "eventId", env = "PROCESSED_EVENTS_TABLE" }
    poison   = { name = "PoisonEvents", key = "poisonId", env = "POISON_EVENTS_TABLE" }
  }
  table_arns = merge(
    { for id, table in aws_dynamodb_table.simple : id => table.arn },
    { outbox = aws_dynamodb_table.outbox.arn },
  )
  table_names = merge(
    { for id, table in aws_dynamodb_table.simple : local.tables[id].env => table.name },
    { SAGA_OUTBOX_TABLE = aws_dynamodb_table.outbox.name },
  )
}

resource "aws_dynamodb_table" "simple" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key; a customer managed key is a compliance choice that would also need key policies for every Lambda role.
  for_each = local.tables

  name                        = "${local.prefix}-${each.value.name}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.key
  deletion_protection_enabled = true

  attribute {
    name = each.value.key
    type = "S"
  }

  # Only the inbox expires (aws.tables.INBOX_TTL_ATTRIBUTE); elsewhere the attribute is absent.
  dynamic "ttl" {
    for_each = each.key == "inbox" ? ["expiresAt"] : []
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# SagaOutbox: stream (NEW_IMAGE) drives the relay; sparse GSI `Unsent` feeds the sweeper.
resource "aws_dynamodb_table" "outbox" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key (see the other tables).
  name                        = "${local.prefix}-SagaOutbox"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "eventId"
  stream_enabled              = true
  stream_view_type            = "NEW_IMAGE"
  deletion_protection_enabled = true

  attribute {
    name = "eventId"
    type = "S"
  }

  attribute {
    name = "relayState"
    type = "S"
  }

  attribute {
    name = "createdAt"
    type = "S"
  }

  global_secondary_index {
    name            = "Unsent"
    hash_key        = "relayState"
    range_key       = "createdAt"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}
