# Resource group, the Durable task hub's storage account, monitoring.

locals {
  prefix = module.shared.name_prefix
  tags   = module.shared.tags
  # Globally unique names get a short deterministic suffix (same inputs => same names).
  suffix = substr(sha1("${var.subscription_id}/${local.prefix}"), 0, 6)

  storage_account_name = substr("st${module.shared.compact_prefix}${local.suffix}", 0, 24)
  function_app_name    = "func-${local.prefix}-${local.suffix}"
  cosmos_account_name  = "cosmos-${local.prefix}-${local.suffix}"
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${local.prefix}"
  location = var.location
  tags     = local.tags
}

# Durable Functions (Azure Storage provider) keeps its task hub here: queues, tables, leases.
# The app reaches it with its managed identity (AzureWebJobsStorage__accountName); no key is
# used anywhere, so shared-key access is switched off.
resource "azurerm_storage_account" "durable" {
  #checkov:skip=CKV_AZURE_33:Queue service logging: diagnostics go to Log Analytics through azurerm_monitor_diagnostic_setting instead of classic storage analytics.
  #checkov:skip=CKV_AZURE_59:Public network access stays on because no VNet/private endpoints are deployed (see CKV2_AZURE_33); all access is Entra-authenticated because shared keys are disabled.
  #checkov:skip=CKV2_AZURE_33:Private endpoints need a VNet, which this baseline does not deploy.
  #checkov:skip=CKV2_AZURE_1:Customer-managed keys are a compliance choice; Microsoft-managed encryption at rest is used.
  #checkov:skip=CKV_AZURE_206:ZRS (zone-redundant) is used; geo-replication of a task hub is of no use without a second Function App in the paired region.
  name                            = local.storage_account_name
  resource_group_name             = azurerm_resource_group.main.name
  location                        = azurerm_resource_group.main.location
  account_tier                    = "Standard"
  account_replication_type        = "ZRS"
  account_kind                    = "StorageV2"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  allow_nested_items_to_be_public = false
  local_user_enabled              = false
  tags                            = local.tags

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }
}

# The zip packages the Function App runs from (WEBSITE_RUN_FROM_PACKAGE, read with its identity).
resource "azurerm_storage_container" "releases" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging is configured on the account's diagnostic setting.
  name                  = "function-releases"
  storage_account_id    = azurerm_storage_account.durable.id
  container_access_type = "private"
}

# Event Grid dead-letters undeliverable events (to AWS, and to the aws_events function) here.
resource "azurerm_storage_container" "deadletter" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging is configured on the account's diagnostic setting.
  name                  = "eventgrid-deadletter"
  storage_account_id    = azurerm_storage_account.durable.id
  container_access_type = "private"
}

resource "azurerm_log_analytics_workspace" "main" {
  name                = "log-${local.prefix}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

resource "azurerm_application_insights" "main" {
  name                = "appi-${local.prefix}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  workspace_id        = azurerm_log_analytics_workspace.main.id
  application_type    = "web"
  # Telemetry is sent with the app's identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), not the key.
  local_authentication_disabled = true
  tags                          = local.tags
}

resource "azurerm_monitor_diagnostic_setting" "storage_blob" {
  name                       = "to-log-analytics"
  target_resource_id         = "${azurerm_storage_account.durable.id}/blobServices/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id

  enabled_log {
    category_group = "allLogs"
  }
}

resource "azurerm_monitor_diagnostic_setting" "storage_queue" {
  name                       = "to-log-analytics"
  target_resource_id         = "${azurerm_storage_account.durable.id}/queueServices/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id

  enabled_log {
    category_group = "allLogs"
  }
}
