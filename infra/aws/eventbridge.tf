# AWS -> Azure: the relay puts replies on this bus (Source "saga.payments"); a rule sends
# them to the Azure inbound Event Grid topic through an API destination that authenticates
# with Entra ID (OAuth client credentials), reshaped into a CloudEvent.

resource "aws_cloudwatch_event_bus" "payments" {
  name = "${local.prefix}-payments"
}

resource "aws_cloudwatch_event_rule" "to_azure" {
  name           = "${local.prefix}-payments-to-azure"
  description    = "Payment replies from the outbox relay, forwarded to Azure Event Grid."
  event_bus_name = aws_cloudwatch_event_bus.payments.name
  event_pattern = jsonencode({
    source = [module.shared.aws_event_source]
  })
}

resource "aws_cloudwatch_event_connection" "azure" {
  name               = "${local.prefix}-azure-eventgrid"
  description        = "Entra ID client credentials for the Azure inbound Event Grid topic."
  authorization_type = "OAUTH_CLIENT_CREDENTIALS"

  auth_parameters {
    oauth {
      authorization_endpoint = "https://login.microsoftonline.com/${var.azure_tenant_id}/oauth2/v2.0/token"
      http_method            = "POST"

      client_parameters {
        client_id     = var.azure_publisher_client_id
        client_secret = var.azure_publisher_client_secret
      }

      oauth_http_parameters {
        body {
          key             = "grant_type"
          value           = "client_credentials"
          is_value_secret = false
        }

        body {
          key             = "scope"
          value           = "https://eventgrid.azure.net/.default"
          is_value_secret = false
        }
      }
    }
  }
}

resource "aws_cloudwatch_event_api_destination" "azure" {
  name                             = "${local.prefix}-azure-eventgrid"
  description                      = "Azure Event Grid topic for AWS -> Azure saga events."
  invocation_endpoint              = var.azure_inbound_topic_endpoint
  http_method                      = "POST"
  invocation_rate_limit_per_second = var.api_destination_rate_limit
  connection_arn                   = aws_cloudwatch_event_connection.azure.arn
}

resource "aws_cloudwatch_event_target" "to_azure" {
  rule           = aws_cloudwatch_event_rule.to_azure.name
  event_bus_name = aws_cloudwatch_event_bus.payments.name
  target_id      = "azure-eventgrid"
  arn            = aws_cloudwatch_event_api_destination.azure.arn
  role_arn       = aws_iam_role.eventbridge_to_azure.arn

  # The relay's Detail keeps the CloudEvent (aws/relay.py); rebuild it so the topic's
  # CloudEvents schema accepts it with the original id, subject, data and traceparent.
  input_transformer {
    input_paths = {
      id          = "$.detail.eventId"
      type        = "$.detail-type"
      source      = "$.detail.source"
      subject     = "$.detail.subject"
      time        = "$.detail.time"
      data        = "$.detail.data"
      traceparent = "$.detail.traceparent"
    }
    input_template = <<-EOT
      {"specversion":"1.0","id":"<id>","type":"<type>","source":"<source>","subject":"<subject>","time":"<time>","datacontenttype":"application/json","data":<data>,"traceparent":"<traceparent>"}
    EOT
  }

  http_target {
    header_parameters = {
      "Content-Type" = "application/cloudevents+json; charset=utf-8"
    }
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq["to-azure"].arn
  }
}
