"""Static checks of infra/: parsing, references, and agreement with the app and the AWS code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.infra.terraform import (
    INFRA,
    REPO,
    ROOTS,
    load_root,
    load_root_from,
    map_keys,
    parse_file,
    unquote,
    unresolved,
)

TF_FILES = sorted(p.relative_to(INFRA).as_posix() for root in ROOTS for p in (INFRA / root).glob("*.tf"))

# Settings in local.settings.example.json that must NOT be deployed, and why:
LOCAL_ONLY_SETTINGS = {
    "COSMOS_KEY",  # the emulator's key; in Azure its absence makes the app use DefaultAzureCredential
    "EVENTGRID_TOPIC_KEY",  # same for Event Grid: the app's identity has EventGrid Data Sender instead
    "COSMOS_VERIFY_TLS",  # only `false` for the local server's self-signed certificate
    "COSMOS_LOCAL_SERVER_COMPAT",  # works around the local Cosmos protocol server only
    "COSMOS_CREATE_IF_MISSING",  # Terraform creates database and containers; the data-plane role cannot
    "AzureWebJobsStorage",  # a connection string (Azurite); Azure uses AzureWebJobsStorage__accountName (identity)
    "FUNCTIONS_WORKER_RUNTIME",  # written by the provider from site_config.application_stack
}

# Settings Terraform deploys that the local example does not have (platform wiring, not app settings):
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__accountName",  # identity-based host storage
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",  # telemetry with Entra ID
    "APPLICATIONINSIGHTS_CONNECTION_STRING",  # written by the provider from site_config
    "WEBSITE_RUN_FROM_PACKAGE",  # the zip in blob storage
    "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID",  # ... fetched with the app's identity
}


def local_settings() -> dict[str, str]:
    return json.loads((REPO / "local.settings.example.json").read_text())["Values"]


# Settings deployed only with durable_backend = "durable_task_scheduler" (durable_task_scheduler.tf):
# local runs keep the Azure Storage backend (Azurite), so local.settings.example.json lacks them.
HOST_JSON_OVERRIDE = "AzureFunctionsJobHost__"  # the Functions host's prefix for host.json values
DTS_CONNECTION_SETTING = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
DTS_SETTINGS = {
    f"{HOST_JSON_OVERRIDE}extensions__durableTask__storageProvider__type",
    f"{HOST_JSON_OVERRIDE}extensions__durableTask__storageProvider__connectionStringName",
    DTS_CONNECTION_SETTING,
}
DTS_RESOURCES = {("azapi_resource", "durable_task_scheduler"), ("azapi_resource", "durable_task_hub"),
                 ("azurerm_role_assignment", "app_durable_task_hub")}
DTS_GUARD = "local.use_durable_task_scheduler ?"


def durable_backends() -> list[str]:
    condition = load_root("azure").variables["durable_backend"]["validation"][0]["condition"]
    return re.findall(r'"([a-z_]+)"', condition)


def uses_scheduler(backend: str) -> bool:
    """local.use_durable_task_scheduler for this value of var.durable_backend."""
    expression = load_root("azure").locals["use_durable_task_scheduler"]
    (compared,) = re.fullmatch(r'\$\{var\.durable_backend == "([a-z_]+)"\}', expression).groups()
    return backend == compared


def conditional_map_keys(value: str) -> set[str]:
    """Names in the non-empty branch of `cond ? {...} : {}` or `cond ? {} : {...}`."""
    return set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)", value.split("?", 1)[1]))


def conditional_map_values(value: str) -> dict[str, str]:
    return dict(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(\"[^\"]*\"|[\w.\[\]]+)", value.split("?", 1)[1]))


def azure_app_settings(backend: str = "azure_storage") -> dict[str, set[str]]:
    """Names Terraform puts in the Function App's app settings, by source, for one durable_backend."""
    azure = load_root("azure")
    app = azure.resources[("azurerm_linux_function_app", "main")]
    assert app["app_settings"] == "${local.app_settings}", "the Function App must take local.app_settings"
    merged = re.findall(r"local\.(\w+)", azure.locals["app_settings"])
    sources: dict[str, set[str]] = {}
    for name in merged:
        value = azure.locals[name]
        if name == "durable_backend_settings":  # `local.use_durable_task_scheduler ? {...} : {}`
            assert value.startswith("${" + DTS_GUARD) and value.endswith(": {}}"), value
            sources[name] = conditional_map_keys(value) if uses_scheduler(backend) else set()
        elif isinstance(value, str):  # the conditional package map: `cond ? {} : {...}`
            sources[name] = conditional_map_keys(value)
        else:
            sources[name] = map_keys(value)
    site_config = app["site_config"][0]
    if "application_insights_connection_string" in site_config:
        sources["provider"] = {"APPLICATIONINSIGHTS_CONNECTION_STRING"}
    return sources


def deployed_setting_names(backend: str = "azure_storage") -> set[str]:
    return set().union(*azure_app_settings(backend).values())


# --- parsing and references ----------------------------------------------------------------


@pytest.mark.parametrize("path", TF_FILES)
def test_every_tf_file_parses(path: str) -> None:
    assert parse_file(INFRA / path), f"{path} is empty"


@pytest.mark.parametrize("root", ROOTS)
def test_every_reference_resolves(root: str) -> None:
    assert unresolved(load_root(root)) == []


def test_reference_check_catches_undeclared_names(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "known" {}\n'
        'locals { a = var.known }\n'
        'resource "aws_sqs_queue" "q" { name = "${var.missing}-${local.a}-${local.b}" }\n'
        'resource "aws_sqs_queue_policy" "p" {\n'
        '  queue_url = aws_sqs_queue.q.id\n'
        '  policy    = data.aws_iam_policy_document.nowhere.json\n'
        '  other     = aws_sqs_queue.gone.arn\n'
        '}\n'
        'module "m" { source = "./m" }\n'
        'output "o" { value = module.m.absent }\n'
    )
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.tf").write_text('output "present" { value = 1 }\n')
    assert unresolved(load_root_from(tmp_path)) == [
        "aws_sqs_queue.gone", "data.aws_iam_policy_document.nowhere", "local.b",
        "module.m.absent (no such output in ./m)", "var.missing",
    ]


def test_provider_and_terraform_versions() -> None:
    for root in ("azure", "aws"):
        settings = load_root(root).terraform[0]
        assert settings["required_version"] == ">= 1.7"
        providers = settings["required_providers"][0]
        if root == "azure":
            assert providers["azurerm"]["source"] == "hashicorp/azurerm"
            assert re.fullmatch(r"~> 4\.\d+", providers["azurerm"]["version"])
            # azapi for Microsoft.DurableTask only (no azurerm resource for it): pinned too.
            assert providers["azapi"]["source"] == "Azure/azapi"
            assert re.fullmatch(r"~> 2\.\d+", providers["azapi"]["version"])
        else:
            assert providers["aws"]["version"] == "~> 5.40"


@pytest.mark.parametrize("root", ("azure", "aws"))
def test_tfvars_example_sets_only_declared_non_secret_variables(root: str) -> None:
    declared = load_root(root).variables
    example = parse_file(INFRA / root / "terraform.tfvars.example")
    assert set(example) <= set(declared), f"undeclared: {set(example) - set(declared)}"
    secrets = {name for name, body in declared.items() if body.get("sensitive") is True}
    assert not secrets & set(example), "sensitive variables must come from TF_VAR_..., not the example"
    required = {name for name, body in declared.items() if "default" not in body}
    assert required - set(example) <= secrets, "every required input is documented in the example"


# --- the Function App's settings against the app -------------------------------------------


@pytest.mark.parametrize("backend", ("azure_storage", "durable_task_scheduler"))
def test_app_settings_cover_what_the_app_reads(backend: str) -> None:
    wanted = set(local_settings()) - LOCAL_ONLY_SETTINGS
    assert wanted - deployed_setting_names(backend) == set()


@pytest.mark.parametrize("backend", ("azure_storage", "durable_task_scheduler"))
def test_no_local_only_or_unknown_settings_are_deployed(backend: str) -> None:
    deployed = deployed_setting_names(backend)
    assert deployed & LOCAL_ONLY_SETTINGS == set(), "keys or emulator switches must not reach Azure"
    expected_extra = DTS_SETTINGS if backend == "durable_task_scheduler" else set()
    assert deployed - set(local_settings()) - PLATFORM_SETTINGS == expected_extra


def test_every_setting_the_code_reads_is_in_the_local_example() -> None:
    code = (REPO / "ordersaga" / "config.py").read_text()
    read = set(re.findall(r'(?:_raw|required|text|integer|flag)\("([A-Z][A-Z0-9_]+)"', code))
    assert read, "no settings found in ordersaga/config.py"
    assert read - set(local_settings()) == set(), "a setting the app reads is missing from local.settings.example.json"


def test_tuning_defaults_equal_the_local_example_values() -> None:
    defaults = load_root("azure").locals["tuning_defaults"]
    example = local_settings()
    assert {k: v for k, v in defaults.items() if example.get(k) != v} == {}


def test_override_validation_lists_exactly_the_tuning_settings() -> None:
    azure = load_root("azure")
    condition = azure.variables["app_setting_overrides"]["validation"][0]["condition"]
    assert set(re.findall(r'"([A-Z][A-Z0-9_]+)"', condition)) == set(azure.locals["tuning_defaults"])


def test_keys_never_configured() -> None:
    text = "\n".join(p.read_text() for p in (INFRA / "azure").glob("*.tf"))
    for forbidden in ("primary_key", "primary_access_key", "primary_master_key", "storage_account_access_key"):
        assert forbidden not in text, f"{forbidden}: identities, not keys"


# --- the Durable backend: Azure Storage (default) or the Durable Task Scheduler --------------


def test_durable_backend_is_one_variable_defaulting_to_azure_storage() -> None:
    variable = load_root("azure").variables["durable_backend"]
    assert variable["default"] == "azure_storage"
    assert durable_backends() == ["azure_storage", "durable_task_scheduler"]
    assert [uses_scheduler(b) for b in durable_backends()] == [False, True]


@pytest.mark.parametrize("backend", ("azure_storage", "durable_task_scheduler"))
def test_each_backend_creates_exactly_its_resources(backend: str) -> None:
    """Scheduler, task hub and the app's role exist with the scheduler backend and not otherwise,
    and nothing outside them indexes [0] of those resources without the same guard (a plan
    with the Azure Storage backend would fail on an empty list)."""
    azure = load_root("azure")
    counted = {key for key, body in azure.resources.items() if body.get("count") == "${" + DTS_GUARD + " 1 : 0}"}
    assert counted == DTS_RESOURCES
    created = {key for key in counted if uses_scheduler(backend)}
    assert created == (DTS_RESOURCES if backend == "durable_task_scheduler" else set())
    unguarded = [name for name, value in {**{f"local.{k}": v for k, v in azure.locals.items()},
                                          **{f"output.{k}": v.get("value") for k, v in azure.outputs.items()}}.items()
                 if re.search(r"azapi_resource\.durable_task_\w+\[0\]", str(value)) and DTS_GUARD not in str(value)]
    assert unguarded == []


def test_scheduler_settings_switch_the_host_json_provider() -> None:
    """host.json keeps Azure Storage (no storageProvider block, so no Azure-Storage-only key
    reaches the scheduler's configuration); the scheduler backend's app settings override
    extensions.durableTask.storageProvider with the documented AzureFunctionsJobHost__ form,
    and the connection they name is one Terraform sets."""
    azure = load_root("azure")
    host = json.loads((REPO / "host.json").read_text())
    durable = host["extensions"]["durableTask"]
    assert "storageProvider" not in durable, "the default provider is Azure Storage, configured by nothing"
    values = conditional_map_values(azure.locals["durable_backend_settings"])
    assert set(values) == DTS_SETTINGS
    overrides = {name.removeprefix(HOST_JSON_OVERRIDE): unquote(value) for name, value in values.items()
                 if name.startswith(HOST_JSON_OVERRIDE)}
    for path in overrides:
        *parents, _leaf = path.split("__")
        node = host
        for part in parents[:-1]:  # every level above storageProvider exists in host.json
            assert part in node, f"{path}: host.json has no {part}"
            node = node[part]
    assert overrides == {"extensions__durableTask__storageProvider__type": "azureManaged",
                         "extensions__durableTask__storageProvider__connectionStringName": DTS_CONNECTION_SETTING}
    assert values[DTS_CONNECTION_SETTING] == "local.durable_task_scheduler_connection"
    # The task hub is the one host.json names through DURABLE_TASK_HUB.
    assert durable["hubName"] == "%DURABLE_TASK_HUB%"
    assert azure.locals["wiring_settings"]["DURABLE_TASK_HUB"] == "${var.durable_task_hub}"
    assert azure.resources[("azapi_resource", "durable_task_hub")]["name"] == "${var.durable_task_hub}"
    # The bundle that carries the scheduler provider for non-.NET apps (Microsoft: 4.32.0 or later).
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.32.0, 5.0.0)"}


def test_scheduler_is_reached_with_the_apps_identity() -> None:
    azure = load_root("azure")
    connection = azure.locals["durable_task_scheduler_connection"]
    assert connection == "Endpoint=${local.durable_task_scheduler_endpoint};Authentication=ManagedIdentity"
    # No ClientID: the app's identity is system-assigned (Microsoft's format for that case).
    assert azure.resources[("azurerm_linux_function_app", "main")]["identity"][0]["type"] == "SystemAssigned"
    role = azure.resources[("azurerm_role_assignment", "app_durable_task_hub")]
    assert role["role_definition_name"] == "Durable Task Data Contributor"
    assert role["scope"] == "${azapi_resource.durable_task_hub[0].id}", "least privilege: the task hub"
    assert role["principal_id"] == "${local.app_principal_id}"


def test_scheduler_resources_use_the_ga_api_and_valid_names() -> None:
    azure = load_root("azure")
    assert azure.locals["durable_task_scheduler_api"] == "2025-11-01"
    scheduler = azure.resources[("azapi_resource", "durable_task_scheduler")]
    hub = azure.resources[("azapi_resource", "durable_task_hub")]
    assert scheduler["type"] == "Microsoft.DurableTask/schedulers@${local.durable_task_scheduler_api}"
    assert hub["type"] == "Microsoft.DurableTask/schedulers/taskHubs@${local.durable_task_scheduler_api}"
    assert hub["parent_id"] == "${azapi_resource.durable_task_scheduler[0].id}"
    assert scheduler["body"]["properties"]["sku"]["name"] == "${var.durable_task_scheduler_sku}"
    # Every task hub name durable_task_hub accepts is one the API accepts (^[a-zA-Z0-9-]{3,64}$).
    ours = re.compile(azure.variables["durable_task_hub"]["validation"][0]["condition"].split('"')[1])
    api = re.compile(r"^[a-zA-Z0-9-]{3,64}$")
    samples = ["OrderSaga", "abc", "Z" * 45, "a1b2c3", "ab", "a" * 46, "1abc", "a-b", "a_b"]
    accepted = [sample for sample in samples if ours.match(sample)]
    assert accepted == ["OrderSaga", "abc", "Z" * 45, "a1b2c3"]
    assert all(api.match(sample) for sample in accepted)
    sku_values = re.findall(r'"(\w+)"', azure.variables["durable_task_scheduler_sku"]["validation"][0]["condition"])
    assert sku_values == ["Dedicated", "Consumption"]


# --- Azure resources the app depends on ----------------------------------------------------


def test_cosmos_containers_partition_key_and_ttl() -> None:
    azure = load_root("azure")
    containers = azure.locals["cosmos_containers"]
    assert set(containers) == {"orders", "inventory", "inbox", "poison"}
    assert {name: spec["default_ttl"] for name, spec in containers.items() if name in ("inbox", "poison")} == {
        "inbox": -1, "poison": -1}
    assert {containers[n]["default_ttl"] for n in ("orders", "inventory")} == {None}
    container = azure.resources[("azurerm_cosmosdb_sql_container", "containers")]
    assert container["partition_key_paths"] == ["/id"]
    assert container["default_ttl"] == "${each.value.default_ttl}"
    # each container's setting name is one the app reads
    assert {spec["setting"] for spec in containers.values()} <= set(local_settings())


def test_cosmos_access_is_role_based() -> None:
    azure = load_root("azure")
    account = azure.resources[("azurerm_cosmosdb_account", "main")]
    assert account["local_authentication_disabled"] is True
    assignment = azure.resources[("azurerm_cosmosdb_sql_role_assignment", "app_data_contributor")]
    assert "local.cosmos_data_contributor_id" in assignment["role_definition_id"]
    assert azure.locals["cosmos_data_contributor_id"] == "00000000-0000-0000-0000-000000000002"
    assert "azurerm_linux_function_app.main.identity[0].principal_id" in assignment["principal_id"]


def test_function_app_runtime_and_identity() -> None:
    azure = load_root("azure")
    app = azure.resources[("azurerm_linux_function_app", "main")]
    assert app["identity"][0]["type"] == "SystemAssigned"
    assert app["storage_uses_managed_identity"] is True
    assert app["site_config"][0]["application_stack"][0]["python_version"] == "3.11"
    plan = azure.resources[("azurerm_service_plan", "main")]
    assert plan["os_type"] == "Linux"
    assert azure.variables["function_plan_sku"]["default"] == "EP1"


def test_event_grid_topics_and_subscriptions() -> None:
    azure = load_root("azure")
    for name in ("to_aws", "from_aws"):
        topic = azure.resources[("azurerm_eventgrid_topic", name)]
        assert topic["input_schema"] == "CloudEventSchemaV1_0"
        assert topic["local_auth_enabled"] is False
    inbound = azure.resources[("azurerm_eventgrid_event_subscription", "from_aws_to_function")]
    function_id = inbound["azure_function_endpoint"][0]["function_id"]
    assert function_id.endswith("/functions/${module.shared.inbound_function_name}")
    webhook = azure.resources[("azurerm_eventgrid_event_subscription", "to_aws_webhook")]
    endpoint = webhook["webhook_endpoint"][0]
    assert endpoint["active_directory_tenant_id"] and endpoint["active_directory_app_id_or_uri"]
    for subscription in (inbound, webhook):
        assert subscription["event_delivery_schema"] == "CloudEventSchemaV1_0"
        assert subscription["retry_policy"] and subscription["storage_blob_dead_letter_destination"]
    senders = [r for (t, _), r in azure.resources.items()
               if t == "azurerm_role_assignment" and r.get("role_definition_name") == "EventGrid Data Sender"]
    assert any("azurerm_eventgrid_topic.to_aws.id" in r["scope"] for r in senders)


# --- the event contract and the AWS code ---------------------------------------------------


def test_shared_module_matches_the_event_contract() -> None:
    from ordersaga import events

    outputs = load_root("shared").outputs
    assert set(outputs["events_to_aws"]["value"]) == set(events.OUTBOUND_TO_AWS)
    assert set(outputs["events_from_aws"]["value"]) == set(events.INBOUND_FROM_AWS)
    assert outputs["aws_event_source"]["value"] == events.AWS_SOURCE
    assert outputs["azure_event_source"]["value"] == events.AZURE_SOURCE
    trigger = (REPO / "triggers" / "aws_events.py").read_text()
    assert f"def {outputs['inbound_function_name']['value']}(" in trigger


def test_lambda_handlers_exist_in_aws_code() -> None:
    handlers = load_root("aws").variables["lambda_handlers"]["default"]
    assert set(handlers) == {"webhook", "relay", "sweeper"}
    for handler in handlers.values():
        module, function = handler.rsplit(".", 1)
        source = REPO / (module.replace(".", "/") + ".py")
        assert source.exists(), f"{handler}: no {source.relative_to(REPO)}"
        assert re.search(rf"^def {function}\(", source.read_text(), re.M), f"{handler}: no function {function}"


def test_lambda_environment_names_are_read_by_aws_settings() -> None:
    aws = load_root("aws")
    settings_code = (REPO / "aws" / "settings.py").read_text()
    read = set(re.findall(r'env\.get\("([A-Z_]+)"', settings_code))
    env = aws.locals["lambda_environment"]
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", env)) | {spec["env"] for spec in aws.locals["tables"].values()}
    names |= {"SAGA_OUTBOX_TABLE"}
    assert names - read == set(), "the Lambdas would be given settings aws/settings.py never reads"
    table_settings = {n for n in read if n.endswith("_TABLE")}
    assert table_settings <= names, "every table name setting is wired"


def test_the_webhook_lambda_checks_tokens_like_the_authorizer() -> None:
    """The Lambda re-checks Event Grid's token (aws.entra_auth) with the authorizer's issuer and
    audience; its settings come from the same variables, so the two cannot disagree."""
    from aws.settings import EVENT_GRID_APP_ID

    aws = load_root("aws")
    env = aws.locals["lambda_environment"]
    wiring = dict(re.findall(r"\b(ENTRA_[A-Z_]+|WEBHOOK_[A-Z_]+)\s*=\s*([^,}]+)", env))
    assert wiring["ENTRA_TENANT_ID"].strip() == "var.azure_tenant_id"
    assert wiring["WEBHOOK_AUDIENCE"].strip() == "var.webhook_audience"
    assert wiring["WEBHOOK_TOKEN_ISSUER"].strip() == "local.webhook_issuer"
    assert 'WEBHOOK_ALLOWED_CLIENT_IDS = join(",", var.webhook_allowed_client_ids)' in env
    authorizer = aws.resources[("aws_apigatewayv2_authorizer", "entra")]["jwt_configuration"][0]
    assert "local.webhook_issuer" in authorizer["issuer"] and "var.webhook_audience" in str(authorizer["audience"])
    assert "WEBHOOK_AUTH" not in wiring, "the check cannot be switched off in AWS"
    assert aws.variables["webhook_allowed_client_ids"]["default"] == [EVENT_GRID_APP_ID]


def test_dynamodb_tables_match_aws_tables_definitions() -> None:
    from aws.settings import AwsSettings
    from aws.tables import INBOX_TTL_ATTRIBUTE, UNSENT_INDEX, table_definitions

    reference = {d["TableName"]: d for d in table_definitions(AwsSettings())}
    aws = load_root("aws")
    simple = aws.locals["tables"]
    for spec in simple.values():
        definition = reference[spec["name"]]
        assert definition["KeySchema"] == [{"AttributeName": spec["key"], "KeyType": "HASH"}]
    outbox = aws.resources[("aws_dynamodb_table", "outbox")]
    definition = reference["SagaOutbox"]
    assert set(reference) == {spec["name"] for spec in simple.values()} | {"SagaOutbox"}
    assert outbox["hash_key"] == definition["KeySchema"][0]["AttributeName"]
    assert outbox["stream_enabled"] is True
    assert outbox["stream_view_type"] == definition["StreamSpecification"]["StreamViewType"]
    index = outbox["global_secondary_index"][0]
    (gsi,) = definition["GlobalSecondaryIndexes"]
    assert (index["name"], index["hash_key"], index["range_key"]) == (
        UNSENT_INDEX, gsi["KeySchema"][0]["AttributeName"], gsi["KeySchema"][1]["AttributeName"])
    ttl = aws.resources[("aws_dynamodb_table", "simple")]["dynamic"][0]["ttl"]
    assert INBOX_TTL_ATTRIBUTE in json.dumps(ttl)


def test_eventbridge_rule_connection_and_destination() -> None:
    aws = load_root("aws")
    rule = aws.resources[("aws_cloudwatch_event_rule", "to_azure")]
    assert "module.shared.aws_event_source" in rule["event_pattern"]
    connection = aws.resources[("aws_cloudwatch_event_connection", "azure")]
    assert connection["authorization_type"] == "OAUTH_CLIENT_CREDENTIALS"
    oauth = connection["auth_parameters"][0]["oauth"][0]
    assert "login.microsoftonline.com" in oauth["authorization_endpoint"]
    target = aws.resources[("aws_cloudwatch_event_target", "to_azure")]
    assert target["arn"] == "${aws_cloudwatch_event_api_destination.azure.arn}"
    assert target["dead_letter_config"] and target["retry_policy"]
    template = unquote(target["input_transformer"][0]["input_template"]).strip()
    assert '"specversion":"1.0"' in template and '"data":<data>' in template
    assert aws.resources[("aws_apigatewayv2_route", "events_post")]["authorization_type"] == "JWT"


def test_api_destination_template_is_json_after_substitution() -> None:
    target = load_root("aws").resources[("aws_cloudwatch_event_target", "to_azure")]
    transformer = target["input_transformer"][0]
    template = transformer["input_template"]
    # python-hcl2 returns the heredoc with its markers; take the JSON line.
    body = next(line.strip() for line in template.splitlines() if line.strip().startswith("{"))
    sample = {"id": "e1", "type": "PaymentReserved", "source": "saga.payments", "subject": "orders/o1",
              "time": "2026-01-01T00:00:00Z", "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    for name in transformer["input_paths"]:
        body = body.replace(f"<{name}>", '{"orderId":"o1","sagaId":"s1"}' if name == "data" else sample[name])
    event = json.loads(body)
    from ordersaga.events import INBOUND_FROM_AWS, normalise

    assert normalise(event, INBOUND_FROM_AWS).id == "e1"


# --- checkov (optional here: it needs its own venv, see infra/check.sh) ------------------


def test_checkov_passes() -> None:
    import os
    import subprocess

    checkov = INFRA / ".checkov-venv" / "bin" / "checkov"
    if not checkov.exists():
        pytest.skip("checkov not installed; infra/check.sh installs it into infra/.checkov-venv")
    result = subprocess.run(
        [str(checkov), "-d", str(INFRA), "--framework", "terraform", "--quiet", "--compact", "--skip-download",
         "-o", "json"],
        capture_output=True, text=True, timeout=120, env=os.environ | {"BC_SKIP_MAPPING": "TRUE"}, check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})"
              for r in reports for c in r["results"]["failed_checks"]]
    assert failed == []
    skips = re.findall(r"#checkov:skip=([A-Z0-9_]+)(:?)(.*)", "\n".join((INFRA / p).read_text() for p in TF_FILES))
    assert skips, "expected justified skips"
    assert [check for check, colon, reason in skips if not (colon and reason.strip())] == [], "a skip without reason"
