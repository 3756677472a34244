# Cosmos DB for NoSQL: the database and the four containers the app reads (ordersaga/config.py).
# Partition key `/id` everywhere; inbox and poison have TTL switched on without a default
# (default_ttl = -1) because each item carries its own `ttl` (ordersaga/inbox.py).

locals {
  cosmos_containers = {
    orders    = { setting = "COSMOS_ORDERS_CONTAINER", default_ttl = null }
    inventory = { setting = "COSMOS_INVENTORY_CONTAINER", default_ttl = null }
    inbox     = { setting = "COSMOS_INBOX_CONTAINER", default_ttl = -1 }
    poison    = { setting = "COSMOS_POISON_CONTAINER", default_ttl = -1 }
  }
  # Built-in "Cosmos DB Built-in Data Contributor" (data plane role, not an Azure RBAC role).
  cosmos_data_contributor_id = "00000000-0000-0000-0000-000000000002"
}

resource "azurerm_cosmosdb_account" "main" {
  #checkov:skip=CKV_AZURE_99:IP/VNet filtering needs a VNet-integrated Function App (not deployed by this baseline); local (key) auth is disabled so every request needs an Entra token with a data-plane role.
  #checkov:skip=CKV_AZURE_101:Public network access stays on for the same reason as CKV_AZURE_99.
  #checkov:skip=CKV_AZURE_100:Customer-managed keys are a compliance choice; service-managed encryption at rest is used.
  name                               = local.cosmos_account_name
  resource_group_name                = azurerm_resource_group.main.name
  location                           = azurerm_resource_group.main.location
  offer_type                         = "Standard"
  kind                               = "GlobalDocumentDB"
  minimal_tls_version                = "Tls12"
  local_authentication_disabled      = true
  access_key_metadata_writes_enabled = false
  automatic_failover_enabled         = false
  tags                               = local.tags

  consistency_policy {
    consistency_level = "Session"
  }

  geo_location {
    location          = azurerm_resource_group.main.location
    failover_priority = 0
  }

  dynamic "capabilities" {
    for_each = var.cosmos_serverless ? ["EnableServerless"] : []
    content {
      name = capabilities.value
    }
  }

  backup {
    type = "Continuous"
    tier = "Continuous7Days"
  }
}

resource "azurerm_cosmosdb_sql_database" "main" {
  name                = var.cosmos_database
  resource_group_name = azurerm_cosmosdb_account.main.resource_group_name
  account_name        = azurerm_cosmosdb_account.main.name

  dynamic "autoscale_settings" {
    for_each = var.cosmos_serverless ? [] : [var.cosmos_autoscale_max_throughput]
    content {
      max_throughput = autoscale_settings.value
    }
  }
}

resource "azurerm_cosmosdb_sql_container" "containers" {
  for_each = local.cosmos_containers

  name                = each.key
  resource_group_name = azurerm_cosmosdb_account.main.resource_group_name
  account_name        = azurerm_cosmosdb_account.main.name
  database_name       = azurerm_cosmosdb_sql_database.main.name
  partition_key_paths = ["/id"]
  default_ttl         = each.value.default_ttl
}

# The app authenticates with DefaultAzureCredential (no COSMOS_KEY): its identity gets the
# built-in data contributor role on this account.
resource "azurerm_cosmosdb_sql_role_assignment" "app_data_contributor" {
  resource_group_name = azurerm_cosmosdb_account.main.resource_group_name
  account_name        = azurerm_cosmosdb_account.main.name
  role_definition_id  = "${azurerm_cosmosdb_account.main.id}/sqlRoleDefinitions/${local.cosmos_data_contributor_id}"
  principal_id        = azurerm_linux_function_app.main.identity[0].principal_id
  scope               = azurerm_cosmosdb_account.main.id
}
