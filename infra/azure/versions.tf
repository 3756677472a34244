terraform {
  # 1.7+: import blocks with for_each and removed blocks are used by operators of this root.
  required_version = ">= 1.7"

  required_providers {
    azurerm = {
      # 4.x: the maintained major line (3.x receives no new features). Every argument used
      # here exists throughout 4.40 - 4.x; `local_authentication_disabled` is deprecated in
      # late 4.x in favour of `local_authentication_enabled` and must be renamed for 5.0.
      source  = "hashicorp/azurerm"
      version = "~> 4.40"
    }
    azapi = {
      # Only for the Durable Task Scheduler (durable_task_scheduler.tf): no released azurerm
      # (4.x, nor 5.0 - 5.2) has a resource for Microsoft.DurableTask; azurerm_durable_task_*
      # exist only in unmerged pull requests (hashicorp/terraform-provider-azurerm#31777, #32194).
      # 2.x embeds the Microsoft.DurableTask 2025-11-01 schema used there.
      source  = "Azure/azapi"
      version = "~> 2.12"
    }
  }
}

provider "azurerm" {
  subscription_id = var.subscription_id
  # Shared-key access is disabled on the storage account: the provider must use Entra ID
  # for blob containers too.
  storage_use_azuread = true

  features {}
}

# azapi reads the subscription and credentials from `az login` like azurerm.
provider "azapi" {
  subscription_id = var.subscription_id
}

data "azurerm_client_config" "current" {}

module "shared" {
  source      = "../shared"
  project     = var.project
  environment = var.environment
  extra_tags  = var.tags
}
