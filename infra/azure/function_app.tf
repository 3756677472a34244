# The Function App: Elastic Premium (Linux, Python 3.11), system-assigned identity, no keys.
#
# Why Elastic Premium and not Flex Consumption: azurerm_function_app_flex_consumption (4.x)
# still writes an `AzureWebJobsStorage` connection string with an empty key when identity-based
# storage is chosen (hashicorp/terraform-provider-azurerm#29693), which breaks the Durable task
# hub. azurerm_linux_function_app with storage_uses_managed_identity writes
# AzureWebJobsStorage__accountName only.
#
# No Azure Files content share: it would need an account key. The app runs from a zip in
# blob storage (WEBSITE_RUN_FROM_PACKAGE = blob URL), fetched with the app's identity.

locals {
  package_url = var.function_package_blob == "" ? "" : "${azurerm_storage_account.durable.primary_blob_endpoint}${azurerm_storage_container.releases.name}/${var.function_package_blob}"

  # app_settings = every setting the app reads (ordersaga/config.py, host.json), in three maps.
  # Local-only settings (COSMOS_KEY, EVENTGRID_TOPIC_KEY, COSMOS_VERIFY_TLS, ...) are
  # deliberately absent. tests/infra compares the names with local.settings.example.json.

  # Tuning: the app's own defaults (ordersaga/config.py), written out so deployed values are visible.
  tuning_defaults = {
    INBOX_TTL_SECONDS                 = "604800"
    COSMOS_CONFLICT_MAX_ATTEMPTS      = "25"
    COSMOS_CONFLICT_BASE_DELAY_MS     = "5"
    COSMOS_UNAVAILABLE_MAX_ATTEMPTS   = "5"
    INVENTORY_SETTLED_RETENTION_HOURS = "168"
    SAGA_STEP_RETRY_INTERVAL_MS       = "2000"
    SAGA_STEP_MAX_ATTEMPTS            = "4"
    SAGA_STEP_TIMEOUT_SECONDS         = "300"
    SAGA_UNDO_RETRY_INTERVAL_MS       = "1000"
    SAGA_UNDO_MAX_INTERVAL_MS         = "60000"
    SAGA_UNDO_DEADLINE_SECONDS        = "3600"
    SAGA_FORWARD_RETRY_INTERVAL_MS    = "2000"
    SAGA_FORWARD_MAX_INTERVAL_MS      = "300000"
    SAGA_FORWARD_DEADLINE_SECONDS     = "86400"
    PAYMENT_REPLY_TIMEOUT_SECONDS     = "120"
    SAGA_DEADLINE_SECONDS             = "3600"
    SWEEPER_SCHEDULE                  = "0 */5 * * * *"
  }

  # Where things are: storage, Cosmos DB, Event Grid. No COSMOS_KEY / EVENTGRID_TOPIC_KEY:
  # the app falls back to DefaultAzureCredential (its managed identity).
  wiring_settings = {
    AzureWebJobsStorage__accountName = azurerm_storage_account.durable.name
    DURABLE_TASK_HUB                 = var.durable_task_hub

    COSMOS_ENDPOINT            = azurerm_cosmosdb_account.main.endpoint
    COSMOS_DATABASE            = azurerm_cosmosdb_sql_database.main.name
    COSMOS_ORDERS_CONTAINER    = azurerm_cosmosdb_sql_container.containers["orders"].name
    COSMOS_INVENTORY_CONTAINER = azurerm_cosmosdb_sql_container.containers["inventory"].name
    COSMOS_INBOX_CONTAINER     = azurerm_cosmosdb_sql_container.containers["inbox"].name
    COSMOS_POISON_CONTAINER    = azurerm_cosmosdb_sql_container.containers["poison"].name

    EVENTGRID_TOPIC_ENDPOINT = azurerm_eventgrid_topic.to_aws.endpoint

    # Telemetry with the app's identity (Monitoring Metrics Publisher); the ingestion key is disabled.
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "Authorization=AAD"
  }

  # Run from the uploaded zip, fetched with the system-assigned identity (Storage Blob Data Owner).
  package_settings = local.package_url == "" ? {} : {
    WEBSITE_RUN_FROM_PACKAGE                     = local.package_url
    WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID = "SystemAssigned"
  }

  # The Durable Task Scheduler backend (durable_task_scheduler.tf). host.json is a file in the
  # package and `storageProvider.type` takes no %SETTING% reference, so the provider is switched
  # the way the Functions host documents for overriding host.json values: app settings named
  # AzureFunctionsJobHost__<path> replace or add the value at that path of host.json.
  durable_backend_settings = local.use_durable_task_scheduler ? {
    AzureFunctionsJobHost__extensions__durableTask__storageProvider__type                 = "azureManaged"
    AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
    DURABLE_TASK_SCHEDULER_CONNECTION_STRING                                               = local.durable_task_scheduler_connection
  } : {}

  app_settings = merge(local.tuning_defaults, var.app_setting_overrides, local.wiring_settings, local.package_settings,
  local.durable_backend_settings)
}

resource "azurerm_service_plan" "main" {
  #checkov:skip=CKV_AZURE_212:Zone redundancy needs at least 3 always-ready instances; left to the operator (function_max_instances) to keep the baseline affordable.
  #checkov:skip=CKV_AZURE_225:Same as CKV_AZURE_212: zone redundancy is an opt-in cost decision.
  name                         = "asp-${local.prefix}"
  resource_group_name          = azurerm_resource_group.main.name
  location                     = azurerm_resource_group.main.location
  os_type                      = "Linux"
  sku_name                     = var.function_plan_sku
  maximum_elastic_worker_count = var.function_max_instances
  tags                         = local.tags
}

resource "azurerm_linux_function_app" "main" {
  #checkov:skip=CKV_AZURE_221:The HTTP API (POST /api/orders ...) is public by design; it is protected by function/admin keys.
  name                          = local.function_app_name
  resource_group_name           = azurerm_resource_group.main.name
  location                      = azurerm_resource_group.main.location
  service_plan_id               = azurerm_service_plan.main.id
  storage_account_name          = azurerm_storage_account.durable.name
  storage_uses_managed_identity = true
  functions_extension_version   = "~4"
  https_only                    = true
  public_network_access_enabled = true
  builtin_logging_enabled       = false
  client_certificate_mode       = "Optional"
  # Publishing goes through blob storage + ARM, never SCM/FTP basic auth.
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  tags                                           = local.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    # Sets APPLICATIONINSIGHTS_CONNECTION_STRING (the provider owns that app setting).
    application_insights_connection_string = azurerm_application_insights.main.connection_string
    minimum_tls_version                    = "1.2"
    ftps_state                             = "Disabled"
    http2_enabled                          = true
    elastic_instance_minimum               = 1
    # Durable Functions' queue triggers must drive scaling (they are not HTTP).
    runtime_scale_monitoring_enabled = true

    application_stack {
      python_version = "3.11"
    }
  }

  app_settings = local.app_settings
}
