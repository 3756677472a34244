"""A small Durable app that knows nothing of the project devhost lives in (package tests)."""
import importlib.util
import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Top-level packages of the project that holds devhost's source; none may be importable here.
PROJECT_PACKAGES = ("ordersaga", "activities", "orchestrators", "triggers", "local_cloud", "aws",
                    "eventgrid_local", "function_app_of_the_project")


@app.route(route="greetings/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_greeting(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new("greet", None, req.route_params["name"])
    return client.create_check_status_response(req, instance_id)


@app.route(route="visible-project-packages", methods=["GET"])
def visible_project_packages(req: func.HttpRequest) -> func.HttpResponse:
    visible = [name for name in PROJECT_PACKAGES if importlib.util.find_spec(name) is not None]
    return func.HttpResponse(json.dumps(visible), mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def greet(context: df.DurableOrchestrationContext):
    name = context.get_input()
    first = yield context.call_activity("shout", name)
    return [first, (yield context.call_activity("shout", first))]


@app.activity_trigger(input_name="text")
def shout(text: str) -> str:
    return text.upper() + "!"
