# The Durable Task Scheduler backend, created only when durable_backend = "durable_task_scheduler"
# (docs/deploy.md, "Choosing the Durable backend"). With the default "azure_storage" nothing here
# exists and the task hub stays in the storage account (main.tf).
#
# azapi, not azurerm: no released azurerm has Microsoft.DurableTask resources (see versions.tf).
# API version 2025-11-01 is the GA one Microsoft's own templates use.

locals {
  use_durable_task_scheduler = var.durable_backend == "durable_task_scheduler"
  durable_task_scheduler_api = "2025-11-01"
  # 3-64 letters, digits and hyphens (the API's name pattern).
  durable_task_scheduler_name = substr("dts-${local.prefix}-${local.suffix}", 0, 64)
  durable_task_scheduler_endpoint = (local.use_durable_task_scheduler
    ? azapi_resource.durable_task_scheduler[0].output.properties.endpoint : "")
  # System-assigned identity: no ClientID (Microsoft's connection string format for that case).
  durable_task_scheduler_connection = "Endpoint=${local.durable_task_scheduler_endpoint};Authentication=ManagedIdentity"
}

resource "azapi_resource" "durable_task_scheduler" {
  count = local.use_durable_task_scheduler ? 1 : 0

  type      = "Microsoft.DurableTask/schedulers@${local.durable_task_scheduler_api}"
  name      = local.durable_task_scheduler_name
  parent_id = azurerm_resource_group.main.id
  location  = azurerm_resource_group.main.location
  tags      = local.tags

  body = {
    properties = {
      ipAllowlist = var.durable_task_scheduler_ip_allowlist
      sku = {
        name = var.durable_task_scheduler_sku
        # Capacity units exist for Dedicated only; null is left out of the request.
        capacity = var.durable_task_scheduler_sku == "Dedicated" ? var.durable_task_scheduler_capacity : null
      }
    }
  }
  ignore_null_property   = true
  response_export_values = ["properties.endpoint"]
}

# The task hub is named like the Azure Storage one (host.json reads %DURABLE_TASK_HUB%).
resource "azapi_resource" "durable_task_hub" {
  count = local.use_durable_task_scheduler ? 1 : 0

  type                   = "Microsoft.DurableTask/schedulers/taskHubs@${local.durable_task_scheduler_api}"
  name                   = var.durable_task_hub
  parent_id              = azapi_resource.durable_task_scheduler[0].id
  body                   = {}
  response_export_values = ["properties.dashboardUrl"]
}

# "Durable Task Data Contributor" on the task hub only (Microsoft's least-privilege scope), for
# the app's system-assigned identity; the connection string names no ClientID for that reason.
resource "azurerm_role_assignment" "app_durable_task_hub" {
  count = local.use_durable_task_scheduler ? 1 : 0

  scope                = azapi_resource.durable_task_hub[0].id
  role_definition_name = "Durable Task Data Contributor"
  principal_id         = local.app_principal_id
  principal_type       = "ServicePrincipal"
}
