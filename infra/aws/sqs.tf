# Dead-letter queues: events EventBridge could not deliver to Azure, stream batches the
# relay kept failing, and failed asynchronous Lambda invocations (sweeper).

resource "aws_sqs_queue" "dlq" {
  for_each = toset(["to-azure", "relay-stream", "lambda-async"])

  name                      = "${local.prefix}-${each.key}-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time for an operator to look
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "dlq_eventbridge" {
  statement {
    sid       = "EventBridgeDeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq["to-azure"].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.to_azure.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq_eventbridge" {
  queue_url = aws_sqs_queue.dlq["to-azure"].id
  policy    = data.aws_iam_policy_document.dlq_eventbridge.json
}
