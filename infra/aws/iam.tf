# Least-privilege roles: one per Lambda, each allowed exactly the calls its code makes.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each = local.lambdas

  name               = "${local.prefix}-payments-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

# Shared by all three: own log group, X-Ray, the async dead-letter queue.
data "aws_iam_policy_document" "lambda_base" {
  for_each = local.lambdas

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda[each.key].arn}:*"]
  }

  statement {
    sid = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "AsyncDeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq["lambda-async"].arn]
  }
}

# Webhook: the three handlers (aws/handlers.py, aws/inbox.py, aws/outbox.py, aws/poison.py).
# Reads are consistent GetItems; writes happen inside one TransactWriteItems, which IAM
# authorises per item action (Put / Update / ConditionCheck).
data "aws_iam_policy_document" "webhook" {
  statement {
    sid     = "ReadState"
    actions = ["dynamodb:GetItem"]
    resources = [
      local.table_arns["accounts"], local.table_arns["payments"], local.table_arns["inbox"],
    ]
  }

  statement {
    sid       = "Credit"
    actions   = ["dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = [local.table_arns["accounts"]]
  }

  statement {
    sid       = "PaymentRow"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    resources = [local.table_arns["payments"]]
  }

  statement {
    sid       = "OutboxAndInbox"
    actions   = ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"]
    resources = [local.table_arns["outbox"], local.table_arns["inbox"]]
  }

  statement {
    sid       = "Poison"
    actions   = ["dynamodb:UpdateItem"]
    resources = [local.table_arns["poison"]]
  }
}

# Relay (stream) and sweeper (Unsent index): read outbox rows, mark them, put to the bus.
data "aws_iam_policy_document" "relay" {
  statement {
    sid       = "OutboxRows"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [local.table_arns["outbox"]]
  }

  statement {
    sid       = "UnsentIndex"
    actions   = ["dynamodb:Query"]
    resources = ["${local.table_arns["outbox"]}/index/Unsent"]
  }

  statement {
    sid       = "PutToBus"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.payments.arn]
  }
}

# Only the stream-triggered relay reads the stream and writes its on-failure destination.
data "aws_iam_policy_document" "relay_stream" {
  statement {
    sid       = "OutboxStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [aws_dynamodb_table.outbox.stream_arn]
  }

  statement {
    sid = "ListStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["*"]
  }

  statement {
    sid       = "StreamFailures"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq["relay-stream"].arn]
  }
}

locals {
  lambda_policies = {
    webhook = [data.aws_iam_policy_document.lambda_base["webhook"].json, data.aws_iam_policy_document.webhook.json]
    relay = [
      data.aws_iam_policy_document.lambda_base["relay"].json, data.aws_iam_policy_document.relay.json,
      data.aws_iam_policy_document.relay_stream.json,
    ]
    sweeper = [data.aws_iam_policy_document.lambda_base["sweeper"].json, data.aws_iam_policy_document.relay.json]
  }
}

data "aws_iam_policy_document" "lambda" {
  for_each = local.lambda_policies

  source_policy_documents = each.value
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambdas

  name   = "least-privilege"
  role   = aws_iam_role.lambda[each.key].id
  policy = data.aws_iam_policy_document.lambda[each.key].json
}

# EventBridge -> API destination (Azure inbound topic).
data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "eventbridge_to_azure" {
  name               = "${local.prefix}-eventbridge-to-azure"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
}

data "aws_iam_policy_document" "eventbridge_to_azure" {
  statement {
    actions   = ["events:InvokeApiDestination"]
    resources = ["${aws_cloudwatch_event_api_destination.azure.arn}/*", aws_cloudwatch_event_api_destination.azure.arn]
  }
}

resource "aws_iam_role_policy" "eventbridge_to_azure" {
  name   = "invoke-azure-api-destination"
  role   = aws_iam_role.eventbridge_to_azure.id
  policy = data.aws_iam_policy_document.eventbridge_to_azure.json
}
