variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
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

# --- Lambda --------------------------------------------------------------------------------

variable "lambda_package_path" {
  description = "Zip with aws/, ordersaga/__init__.py, ordersaga/events.py and pydantic (docs/deploy.md)."
  type        = string
  default     = "build/payments-lambda.zip"
}

variable "lambda_handlers" {
  description = <<-EOT
    Handler strings of the payment participant (aws/README.md "Entry points"). Kept as a variable so a
    rename in aws/ is a tfvars change, not a code change.
  EOT
  type = object({
    webhook = string
    relay   = string
    sweeper = string
  })
  default = {
    webhook = "aws.lambda_entry.webhook_handler"
    relay   = "aws.relay.handle_stream"
    sweeper = "aws.lambda_entry.relay_sweeper"
  }
}

variable "lambda_runtime" {
  description = "Python runtime of the Lambdas (pydantic wheels in the package must match it)."
  type        = string
  default     = "python3.11"
}

variable "lambda_architecture" {
  description = "x86_64 or arm64 (pydantic-core wheels in the package must match it)."
  type        = string
  default     = "x86_64"
}

variable "webhook_concurrency" {
  description = "Reserved concurrency of the webhook Lambda (bounds DynamoDB contention)."
  type        = number
  default     = 20
}

variable "sweeper_schedule" {
  description = "How often the relay sweeper re-sends outbox rows the stream path left UNSENT."
  type        = string
  default     = "rate(5 minutes)"
}

variable "inbox_ttl_days" {
  description = "INBOX_TTL_DAYS: how long ProcessedEvents rows are kept."
  type        = number
  default     = 7
}

variable "relay_max_attempts" {
  description = "RELAY_MAX_ATTEMPTS: refused PutEvents per outbox row before it is parked."
  type        = number
  default     = 20
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
  default     = 365
}

# --- Azure side (outputs of infra/azure) ---------------------------------------------------

variable "azure_tenant_id" {
  description = "Entra tenant (Azure output `tenant_id`)."
  type        = string
}

variable "azure_inbound_topic_endpoint" {
  description = "Event Grid topic for AWS -> Azure events (Azure output `eventgrid_inbound_endpoint`)."
  type        = string

  validation {
    condition     = can(regex("^https://.+/api/events$", var.azure_inbound_topic_endpoint))
    error_message = "azure_inbound_topic_endpoint must be the topic's https://.../api/events endpoint."
  }
}

variable "azure_publisher_client_id" {
  description = "Client id of the Entra app EventBridge authenticates as (it has EventGrid Data Sender on the inbound topic)."
  type        = string
}

variable "azure_publisher_client_secret" {
  description = "Its client secret. Pass it as TF_VAR_azure_publisher_client_secret; never put it in a file."
  type        = string
  sensitive   = true
}

variable "webhook_audience" {
  description = "Audience Event Grid's token is issued for: the AWS webhook's app registration (same value as Azure's aws_webhook_app_id_or_uri)."
  type        = string
}

variable "webhook_token_issuer" {
  description = "JWT issuer accepted by the webhook. Empty: Entra v1 tokens, https://sts.windows.net/<tenant>/ (use https://login.microsoftonline.com/<tenant>/v2.0 if the app registration asks for v2 tokens)."
  type        = string
  default     = ""
}

variable "webhook_allowed_client_ids" {
  description = "Applications whose tokens the webhook Lambda accepts (appid/azp): Microsoft.EventGrid, 4962773b-9cdb-44cf-a8bf-237846a00ab7 in the Azure public cloud (54316b56-3481-47f9-8f30-0300f5542a7b in Azure Government). Other clients of the tenant that can get a token for the audience are refused."
  type        = list(string)
  default     = ["4962773b-9cdb-44cf-a8bf-237846a00ab7"]

  validation {
    condition     = length(var.webhook_allowed_client_ids) > 0
    error_message = "At least Event Grid's application id is needed."
  }
}

variable "webhook_required_role" {
  description = "App role of the webhook's app registration that tokens must carry (the one assigned to Event Grid's service principal, e.g. AzureEventGridSecureWebhookSubscriber). Empty: not checked."
  type        = string
  default     = ""
}

variable "api_destination_rate_limit" {
  description = "Invocations per second EventBridge sends to Event Grid."
  type        = number
  default     = 50
}
