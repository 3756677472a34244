"""Benchmark app for ``python -m devhost.bench_peer``: one orchestrator that calls a no-op
activity six times in sequence (the same shape the durabletask peer driver runs)."""
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

STEPS = 6


@app.activity_trigger(input_name="step")
def noop(step: int) -> int:
    return step


@app.orchestration_trigger(context_name="context")
def noop_chain(context: df.DurableOrchestrationContext):
    for step in range(STEPS):
        yield context.call_activity("noop", step)
    return STEPS
