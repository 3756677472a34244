# Azure -> AWS: Event Grid's webhook subscription posts CloudEvents here; the JWT authorizer
# accepts only Entra tokens issued for the webhook's app registration.

locals {
  webhook_issuer = var.webhook_token_issuer != "" ? var.webhook_token_issuer : "https://sts.windows.net/${var.azure_tenant_id}/"
}

resource "aws_apigatewayv2_api" "webhook" {
  name          = "${local.prefix}-payments-webhook"
  protocol_type = "HTTP"
  description   = "Event Grid webhook for PaymentReservationRequested / PaymentCompensationRequested / PaymentCaptureRequested."
}

resource "aws_apigatewayv2_authorizer" "entra" {
  api_id           = aws_apigatewayv2_api.webhook.id
  name             = "entra-id"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = local.webhook_issuer
    audience = [var.webhook_audience]
  }
}

resource "aws_apigatewayv2_integration" "webhook" {
  api_id                 = aws_apigatewayv2_api.webhook.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.payments["webhook"].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "events_post" {
  api_id             = aws_apigatewayv2_api.webhook.id
  route_key          = "POST /events"
  target             = "integrations/${aws_apigatewayv2_integration.webhook.id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.entra.id
}

# CloudEvents abuse-protection handshake (aws.webhook.handle_options): no body, no effect.
resource "aws_apigatewayv2_route" "events_options" {
  #checkov:skip=CKV_AWS_309:The OPTIONS handshake only echoes WebHook-Allowed-Origin and touches no data; Event Grid's validation request is answered before any token is checked.
  api_id             = aws_apigatewayv2_api.webhook.id
  route_key          = "OPTIONS /events"
  target             = "integrations/${aws_apigatewayv2_integration.webhook.id}"
  authorization_type = "NONE"
}

resource "aws_cloudwatch_log_group" "webhook_access" {
  #checkov:skip=CKV_AWS_158:Log groups use CloudWatch's default encryption; a KMS key is a compliance choice.
  name              = "/aws/apigateway/${local.prefix}-payments-webhook"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.webhook.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = 200
    throttling_rate_limit  = 100
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.webhook_access.arn
    format = jsonencode({
      requestId = "$context.requestId", ip = "$context.identity.sourceIp", method = "$context.httpMethod",
      route = "$context.routeKey", status = "$context.status", latency = "$context.responseLatency",
      authError = "$context.authorizer.error", integrationError = "$context.integrationErrorMessage",
    })
  }
}

resource "aws_lambda_permission" "webhook_api" {
  statement_id  = "AllowApiGatewayWebhook"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.payments["webhook"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.webhook.execution_arn}/*/*/events"
}
