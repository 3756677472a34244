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
  }
}

provider "azurerm" {
  subscription_id = var.subscription_id
  # Shared-key access is disabled on the storage account: the provider must use Entra ID
  # for blob containers too.
  storage_use_azuread = true

  features {}
}

data "azurerm_client_config" "current" {}

module "shared" {
  source      = "../shared"
  project     = var.project
  environment = var.environment
  extra_tags  = var.tags
}
