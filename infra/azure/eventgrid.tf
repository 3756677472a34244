# Event Grid, both directions. Both topics take CloudEvents 1.0 and accept only Entra ID
# tokens (local_auth_enabled = false): the app publishes with its identity (EventGrid Data
# Sender), AWS's EventBridge connection with OAuth client credentials.

locals {
  retry_attempts = var.event_delivery_max_attempts
  retry_ttl      = var.event_time_to_live_minutes
}

# Azure -> AWS. The app publishes PaymentReservationRequested / PaymentCompensationRequested /
# PaymentCaptureRequested here (EVENTGRID_TOPIC_ENDPOINT).
resource "azurerm_eventgrid_topic" "to_aws" {
  #checkov:skip=CKV_AZURE_193:Public network access is needed: AWS-bound deliveries and the app (no VNet in this baseline) reach the topic over the internet; key auth is off.
  name                          = "evgt-${local.prefix}-to-aws"
  resource_group_name           = azurerm_resource_group.main.name
  location                      = azurerm_resource_group.main.location
  input_schema                  = "CloudEventSchemaV1_0"
  local_auth_enabled            = false
  public_network_access_enabled = true
  tags                          = local.tags

  # Used to write dead-lettered events to blob storage without a key.
  identity {
    type = "SystemAssigned"
  }
}

# AWS -> Azure. EventBridge's API destination posts CloudEvents here.
resource "azurerm_eventgrid_topic" "from_aws" {
  #checkov:skip=CKV_AZURE_193:Public network access is required: EventBridge API destinations call from AWS over the internet; key auth is off, callers need an Entra token with EventGrid Data Sender.
  name                          = "evgt-${local.prefix}-from-aws"
  resource_group_name           = azurerm_resource_group.main.name
  location                      = azurerm_resource_group.main.location
  input_schema                  = "CloudEventSchemaV1_0"
  local_auth_enabled            = false
  public_network_access_enabled = true
  tags                          = local.tags

  identity {
    type = "SystemAssigned"
  }
}

# Inbound topic -> the app's Event Grid trigger `aws_events`. Created in phase 3 (after the
# code is published), because Event Grid checks that the function exists.
resource "azurerm_eventgrid_event_subscription" "from_aws_to_function" {
  count = var.enable_inbound_subscription ? 1 : 0

  name                  = "aws-events-to-function"
  scope                 = azurerm_eventgrid_topic.from_aws.id
  event_delivery_schema = "CloudEventSchemaV1_0"
  # Everything is delivered, unknown types included: the app records them as poison
  # (acknowledged) instead of letting them vanish in a filter.

  azure_function_endpoint {
    function_id          = "${azurerm_linux_function_app.main.id}/functions/${module.shared.inbound_function_name}"
    max_events_per_batch = 1
  }

  retry_policy {
    max_delivery_attempts = local.retry_attempts
    event_time_to_live    = local.retry_ttl
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = azurerm_storage_account.durable.id
    storage_blob_container_name = azurerm_storage_container.deadletter.name
  }

  depends_on = [azurerm_role_assignment.from_aws_deadletter]
}

# Outbound topic -> the AWS webhook (API Gateway -> aws.lambda_entry.webhook_handler).
# Event Grid presents an Entra token for the AWS app registration; API Gateway's JWT
# authorizer validates it. Created in phase 3, once the AWS endpoint exists.
resource "azurerm_eventgrid_event_subscription" "to_aws_webhook" {
  count = var.aws_webhook_url == "" ? 0 : 1

  name                  = "payments-to-aws"
  scope                 = azurerm_eventgrid_topic.to_aws.id
  event_delivery_schema = "CloudEventSchemaV1_0"
  included_event_types  = module.shared.events_to_aws

  webhook_endpoint {
    url                               = var.aws_webhook_url
    active_directory_tenant_id        = data.azurerm_client_config.current.tenant_id
    active_directory_app_id_or_uri    = var.aws_webhook_app_id_or_uri
    max_events_per_batch              = 10
    preferred_batch_size_in_kilobytes = 64
  }

  retry_policy {
    max_delivery_attempts = local.retry_attempts
    event_time_to_live    = local.retry_ttl
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = azurerm_storage_account.durable.id
    storage_blob_container_name = azurerm_storage_container.deadletter.name
  }

  depends_on = [azurerm_role_assignment.to_aws_deadletter]

  lifecycle {
    precondition {
      condition     = var.aws_webhook_app_id_or_uri != ""
      error_message = "aws_webhook_app_id_or_uri is required with aws_webhook_url: deliveries to AWS are Entra-authenticated."
    }
  }
}
