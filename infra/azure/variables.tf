variable "subscription_id" {
  description = "Azure subscription to deploy into."
  type        = string
}

variable "location" {
  description = "Azure region (one that offers Elastic Premium and Cosmos DB serverless)."
  type        = string
  default     = "westeurope"
}

variable "project" {
  description = "Short project name (see infra/shared)."
  type        = string
  default     = "ordersaga"
}

variable "environment" {
  description = "Stage name (see infra/shared)."
  type        = string
  default     = "dev"
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# --- Function App -----------------------------------------------------------------------

variable "function_plan_sku" {
  description = "Elastic Premium plan size (EP1, EP2, EP3)."
  type        = string
  default     = "EP1"

  validation {
    condition     = contains(["EP1", "EP2", "EP3"], var.function_plan_sku)
    error_message = "function_plan_sku must be EP1, EP2 or EP3."
  }
}

variable "function_max_instances" {
  description = "Maximum elastic workers of the plan."
  type        = number
  default     = 10
}

variable "function_package_blob" {
  description = <<-EOT
    Name of the zip in the `function-releases` container that the app runs from (WEBSITE_RUN_FROM_PACKAGE,
    read with the app's managed identity). Empty on the first apply, before any package was uploaded.
  EOT
  type        = string
  default     = ""
}

variable "durable_task_hub" {
  description = "Durable Functions task hub name (host.json reads %DURABLE_TASK_HUB%): letters and digits, 3-45 chars."
  type        = string
  default     = "OrderSaga"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9]{2,44}$", var.durable_task_hub))
    error_message = "durable_task_hub must start with a letter and contain 3-45 letters or digits."
  }
}

# --- Durable backend (docs/deploy.md, "Choosing the Durable backend") ----------------------

variable "durable_backend" {
  description = <<-EOT
    Where Durable Functions keeps the task hub: "azure_storage" (default: queues, tables and blobs in
    the storage account) or "durable_task_scheduler" (Microsoft's managed backend: creates the scheduler,
    the task hub and the app's role on it, and switches the provider through app settings). A task hub's
    data does not move between backends: switch on a new environment or a drained one.
  EOT
  type        = string
  default     = "azure_storage"

  validation {
    condition     = contains(["azure_storage", "durable_task_scheduler"], var.durable_backend)
    error_message = "durable_backend must be \"azure_storage\" or \"durable_task_scheduler\"."
  }
}

variable "durable_task_scheduler_sku" {
  description = <<-EOT
    Scheduler SKU when durable_backend = "durable_task_scheduler": "Dedicated" (capacity units, 2,000
    actions/s each, up to 90 days of data) or "Consumption" (pay per action, up to 500 actions/s, 30 days).
  EOT
  type        = string
  default     = "Dedicated"

  validation {
    condition     = contains(["Dedicated", "Consumption"], var.durable_task_scheduler_sku)
    error_message = "durable_task_scheduler_sku must be \"Dedicated\" or \"Consumption\"."
  }
}

variable "durable_task_scheduler_capacity" {
  description = "Capacity units of a Dedicated scheduler: 1 to 3 (3 for high availability). Ignored for Consumption."
  type        = number
  default     = 1

  validation {
    condition     = contains([1, 2, 3], var.durable_task_scheduler_capacity)
    error_message = "durable_task_scheduler_capacity must be 1, 2 or 3."
  }
}

variable "durable_task_scheduler_ip_allowlist" {
  description = <<-EOT
    Addresses (IPv4/IPv6/CIDR) allowed to reach the scheduler endpoint. Every call is authenticated with
    Entra ID (Durable Task Data Contributor); the default admits any address because an Elastic Premium app
    without VNet integration has no fixed outbound addresses. Narrow it to the app's outbound IPs where known.
  EOT
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.durable_task_scheduler_ip_allowlist) > 0
    error_message = "durable_task_scheduler_ip_allowlist needs at least one entry (the API requires the list)."
  }
}

variable "app_setting_overrides" {
  description = <<-EOT
    Tuning settings to change from the app's defaults (README "Settings"), e.g.
    { PAYMENT_REPLY_TIMEOUT_SECONDS = "300" }. Only names the app reads are accepted.
  EOT
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for name in keys(var.app_setting_overrides) : contains([
      "INBOX_TTL_SECONDS", "COSMOS_CONFLICT_MAX_ATTEMPTS", "COSMOS_CONFLICT_BASE_DELAY_MS",
      "COSMOS_UNAVAILABLE_MAX_ATTEMPTS", "INVENTORY_SETTLED_RETENTION_HOURS", "SAGA_STEP_RETRY_INTERVAL_MS",
      "SAGA_STEP_MAX_ATTEMPTS", "SAGA_STEP_TIMEOUT_SECONDS", "SAGA_UNDO_RETRY_INTERVAL_MS",
      "SAGA_UNDO_MAX_INTERVAL_MS", "SAGA_UNDO_DEADLINE_SECONDS", "SAGA_FORWARD_RETRY_INTERVAL_MS",
      "SAGA_FORWARD_MAX_INTERVAL_MS", "SAGA_FORWARD_DEADLINE_SECONDS", "PAYMENT_REPLY_TIMEOUT_SECONDS",
      "SAGA_DEADLINE_SECONDS", "SWEEPER_SCHEDULE",
    ], name)])
    error_message = "app_setting_overrides may only contain tuning settings the app reads (see README \"Settings\")."
  }
}

# --- Cosmos DB ---------------------------------------------------------------------------

variable "cosmos_database" {
  description = "Cosmos DB SQL database name (COSMOS_DATABASE)."
  type        = string
  default     = "ordersaga"
}

variable "cosmos_serverless" {
  description = "Serverless capacity mode (true) or provisioned autoscale throughput on the database (false)."
  type        = bool
  default     = true
}

variable "cosmos_autoscale_max_throughput" {
  description = "Database-level autoscale maximum RU/s when cosmos_serverless = false."
  type        = number
  default     = 1000
}

# --- Cross-cloud wiring (phase 3, from the AWS root's outputs) ----------------------------

variable "aws_webhook_url" {
  description = "AWS API Gateway endpoint that receives Azure's events (AWS output `webhook_url`). Empty until AWS is deployed."
  type        = string
  default     = ""

  validation {
    condition     = var.aws_webhook_url == "" || can(regex("^https://", var.aws_webhook_url))
    error_message = "aws_webhook_url must be an https URL."
  }
}

variable "aws_webhook_app_id_or_uri" {
  description = <<-EOT
    Application ID or URI of the Entra app registration that represents the AWS webhook. Event Grid
    obtains a token for it and API Gateway's JWT authorizer checks its audience.
  EOT
  type        = string
  default     = ""
}

variable "aws_publisher_principal_id" {
  description = <<-EOT
    Object ID of the service principal whose client credentials EventBridge uses to publish to the inbound
    topic (gets EventGrid Data Sender on that topic only). Empty: no assignment is made.
  EOT
  type        = string
  default     = ""
}

variable "enable_inbound_subscription" {
  description = <<-EOT
    Create the Event Grid subscription from the inbound topic to the `aws_events` function. Event Grid
    validates the endpoint when the subscription is created, so the function code must be published first.
  EOT
  type        = bool
  default     = false
}

variable "event_delivery_max_attempts" {
  description = "Event Grid delivery attempts before an event is dead-lettered."
  type        = number
  default     = 30
}

variable "event_time_to_live_minutes" {
  description = "Event Grid keeps retrying an event for this long before dead-lettering it."
  type        = number
  default     = 1440
}

variable "log_retention_days" {
  description = "Log Analytics retention."
  type        = number
  default     = 90
}
