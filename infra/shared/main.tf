# Shared naming and the cross-cloud event contract, used by both roots
# (`module "shared" { source = "../shared" }`). The event names here must match
# ordersaga/events.py; tests/infra checks that they do.

terraform {
  required_version = ">= 1.7"
}

variable "project" {
  description = "Short project name, used in every resource name."
  type        = string
  default     = "ordersaga"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,11}$", var.project))
    error_message = "project must be 3-12 lowercase letters/digits, starting with a letter (it ends up in storage account names)."
  }
}

variable "environment" {
  description = "Stage name (dev, test, prod...)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.environment))
    error_message = "environment must be 2-8 lowercase letters/digits."
  }
}

variable "extra_tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

locals {
  name_prefix = "${var.project}-${var.environment}"
  tags = merge({
    project     = var.project
    environment = var.environment
    managed-by  = "terraform"
  }, var.extra_tags)
}

output "name_prefix" {
  description = "Prefix for resource names: <project>-<environment>."
  value       = local.name_prefix
}

output "compact_prefix" {
  description = "Prefix without separators, for names that allow only letters and digits."
  value       = "${var.project}${var.environment}"
}

output "tags" {
  description = "Tags for every resource."
  value       = local.tags
}

output "aws_event_source" {
  description = "CloudEvents source / EventBridge Source of events sent by AWS (ordersaga.events.AWS_SOURCE)."
  value       = "saga.payments"
}

output "azure_event_source" {
  description = "CloudEvents source of events sent by Azure (ordersaga.events.AZURE_SOURCE)."
  value       = "/azure/ordersaga"
}

output "events_to_aws" {
  description = "Event types Azure publishes for AWS (ordersaga.events.OUTBOUND_TO_AWS)."
  value       = ["PaymentCaptureRequested", "PaymentCompensationRequested", "PaymentReservationRequested"]
}

output "events_from_aws" {
  description = "Event types AWS sends to Azure (ordersaga.events.INBOUND_FROM_AWS)."
  value       = ["OrderCompensationRequested", "PaymentCaptured", "PaymentCompensated", "PaymentDeclined", "PaymentReserved"]
}

output "inbound_function_name" {
  description = "Name of the app's Event Grid trigger that receives AWS events (triggers/aws_events.py)."
  value       = "aws_events"
}
