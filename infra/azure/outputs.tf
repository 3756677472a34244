output "resource_group_name" {
  value = azurerm_resource_group.main.name
}

output "function_app_name" {
  value = azurerm_linux_function_app.main.name
}

output "function_app_url" {
  description = "Base URL of the HTTP API (append /api/orders ...)."
  value       = "https://${azurerm_linux_function_app.main.default_hostname}"
}

output "function_app_principal_id" {
  value = azurerm_linux_function_app.main.identity[0].principal_id
}

output "storage_account_name" {
  value = azurerm_storage_account.durable.name
}

output "releases_container" {
  description = "Upload function packages here, then set function_package_blob."
  value       = azurerm_storage_container.releases.name
}

output "durable_backend" {
  description = "Where the Durable task hub lives: azure_storage or durable_task_scheduler."
  value       = var.durable_backend
}

output "durable_task_scheduler_endpoint" {
  description = "The scheduler's endpoint (empty with the Azure Storage backend)."
  value       = local.durable_task_scheduler_endpoint
}

output "durable_task_hub_dashboard_url" {
  description = "The task hub's dashboard (needs a Durable Task role for your own identity; empty with Azure Storage)."
  value       = local.use_durable_task_scheduler ? azapi_resource.durable_task_hub[0].output.properties.dashboardUrl : ""
}

output "cosmos_endpoint" {
  value = azurerm_cosmosdb_account.main.endpoint
}

output "eventgrid_to_aws_endpoint" {
  description = "Topic the app publishes to (EVENTGRID_TOPIC_ENDPOINT)."
  value       = azurerm_eventgrid_topic.to_aws.endpoint
}

# --- inputs of the AWS root -------------------------------------------------------------

output "eventgrid_inbound_endpoint" {
  description = "AWS root input `azure_inbound_topic_endpoint`: where EventBridge's API destination posts."
  value       = azurerm_eventgrid_topic.from_aws.endpoint
}

output "tenant_id" {
  description = "AWS root input `azure_tenant_id` (OAuth token endpoint and JWT issuer)."
  value       = data.azurerm_client_config.current.tenant_id
}
