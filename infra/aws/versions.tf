terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.40"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = module.shared.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

module "shared" {
  source      = "../shared"
  project     = var.project
  environment = var.environment
  extra_tags  = var.tags
}
