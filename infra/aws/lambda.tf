# The payment participant's Lambdas, all from one package (docs/deploy.md "Package the Lambdas").

locals {
  lambda_environment = merge(local.table_names, {
    EVENT_BUS_NAME     = aws_cloudwatch_event_bus.payments.name
    INBOX_TTL_DAYS     = tostring(var.inbox_ttl_days)
    RELAY_MAX_ATTEMPTS = tostring(var.relay_max_attempts)
    # The webhook Lambda checks Event Grid's Entra token itself too (aws/entra_auth.py), with the
    # authorizer's issuer and audience, and also who the token was issued to.
    ENTRA_TENANT_ID            = var.azure_tenant_id
    WEBHOOK_AUDIENCE           = var.webhook_audience
    WEBHOOK_TOKEN_ISSUER       = local.webhook_issuer
    WEBHOOK_ALLOWED_CLIENT_IDS = join(",", var.webhook_allowed_client_ids)
    WEBHOOK_REQUIRED_ROLE      = var.webhook_required_role
  })

  lambdas = {
    webhook = { handler = var.lambda_handlers.webhook, timeout = 29, memory = 512, concurrency = var.webhook_concurrency }
    relay   = { handler = var.lambda_handlers.relay, timeout = 60, memory = 256, concurrency = 5 }
    sweeper = { handler = var.lambda_handlers.sweeper, timeout = 120, memory = 256, concurrency = 1 }
  }
}

resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_158:Log groups use CloudWatch's default encryption; a KMS key is a compliance choice.
  for_each = local.lambdas

  name              = "/aws/lambda/${local.prefix}-payments-${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "payments" {
  #checkov:skip=CKV_AWS_117:No VPC: the functions only call DynamoDB and EventBridge public endpoints with IAM; a VPC would add NAT/endpoints for nothing.
  #checkov:skip=CKV_AWS_173:The environment holds table and bus names and the webhook token check's public identifiers (tenant, audience, issuer, client ids), no secrets; the default Lambda encryption applies.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the release pipeline; the package's hash is pinned by source_code_hash.
  for_each = local.lambdas

  function_name                  = "${local.prefix}-payments-${each.key}"
  role                           = aws_iam_role.lambda[each.key].arn
  filename                       = var.lambda_package_path
  source_code_hash               = filebase64sha256(var.lambda_package_path)
  handler                        = each.value.handler
  runtime                        = var.lambda_runtime
  architectures                  = [var.lambda_architecture]
  timeout                        = each.value.timeout
  memory_size                    = each.value.memory
  reserved_concurrent_executions = each.value.concurrency

  environment {
    variables = local.lambda_environment
  }

  tracing_config {
    mode = "Active"
  }

  # Only asynchronous invocations (the scheduled sweeper) land here; the webhook answers
  # API Gateway synchronously and the stream mapping has its own on-failure destination.
  dead_letter_config {
    target_arn = aws_sqs_queue.dlq["lambda-async"].arn
  }

  depends_on = [aws_cloudwatch_log_group.lambda]
}

# SagaOutbox stream -> relay (INSERT records only; the relay's own MODIFYs are filtered out
# here as well as in aws.relay.handle_stream).
resource "aws_lambda_event_source_mapping" "outbox_stream" {
  event_source_arn                   = aws_dynamodb_table.outbox.stream_arn
  function_name                      = aws_lambda_function.payments["relay"].arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = 10
  maximum_batching_window_in_seconds = 1
  maximum_retry_attempts             = 10
  bisect_batch_on_function_error     = true
  function_response_types            = ["ReportBatchItemFailures"]

  filter_criteria {
    filter {
      pattern = jsonencode({ eventName = ["INSERT"] })
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dlq["relay-stream"].arn
    }
  }
}

# Scheduled sweeper (aws.lambda_entry.relay_sweeper) on the default bus.
resource "aws_cloudwatch_event_rule" "sweeper" {
  name                = "${local.prefix}-relay-sweeper"
  description         = "Relays SagaOutbox rows the stream path left UNSENT."
  schedule_expression = var.sweeper_schedule
}

resource "aws_cloudwatch_event_target" "sweeper" {
  rule = aws_cloudwatch_event_rule.sweeper.name
  arn  = aws_lambda_function.payments["sweeper"].arn
}

resource "aws_lambda_permission" "sweeper_schedule" {
  statement_id  = "AllowScheduledSweeper"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.payments["sweeper"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweeper.arn
}
