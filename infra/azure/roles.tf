# Azure RBAC for the identities. (The Cosmos DB data-plane role is in cosmos.tf.)

locals {
  app_principal_id = azurerm_linux_function_app.main.identity[0].principal_id

  # Identity-based AzureWebJobsStorage for Durable Functions' Azure Storage provider
  # (blobs: leases and large messages; queues: control/work-item; tables: history/instances).
  app_storage_roles = toset([
    "Storage Blob Data Owner",
    "Storage Queue Data Contributor",
    "Storage Table Data Contributor",
  ])
}

resource "azurerm_role_assignment" "app_storage" {
  for_each = local.app_storage_roles

  scope                = azurerm_storage_account.durable.id
  role_definition_name = each.value
  principal_id         = local.app_principal_id
  principal_type       = "ServicePrincipal"
}

# The app publishes to the AWS-bound topic with DefaultAzureCredential (no EVENTGRID_TOPIC_KEY).
resource "azurerm_role_assignment" "app_eventgrid_sender" {
  scope                = azurerm_eventgrid_topic.to_aws.id
  role_definition_name = "EventGrid Data Sender"
  principal_id         = local.app_principal_id
  principal_type       = "ServicePrincipal"
}

# Telemetry with Entra auth (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource "azurerm_role_assignment" "app_monitoring" {
  scope                = azurerm_application_insights.main.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = local.app_principal_id
  principal_type       = "ServicePrincipal"
}

# EventBridge's OAuth client (an Entra service principal) may publish to the inbound topic only.
resource "azurerm_role_assignment" "aws_publisher_sender" {
  count = var.aws_publisher_principal_id == "" ? 0 : 1

  scope                = azurerm_eventgrid_topic.from_aws.id
  role_definition_name = "EventGrid Data Sender"
  principal_id         = var.aws_publisher_principal_id
  principal_type       = "ServicePrincipal"
}

# Each topic's identity may write dead-lettered events into the dead-letter container only.
resource "azurerm_role_assignment" "to_aws_deadletter" {
  scope                = azurerm_storage_container.deadletter.resource_manager_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_eventgrid_topic.to_aws.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "from_aws_deadletter" {
  scope                = azurerm_storage_container.deadletter.resource_manager_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_eventgrid_topic.from_aws.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}
