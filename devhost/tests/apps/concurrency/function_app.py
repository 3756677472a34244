"""Fans out six activities that each hold for a moment and report how many ran at once."""
import asyncio

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
running = {"now": 0, "peak": 0}


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("hold", n) for n in range(6)])
    return max(results)


@app.activity_trigger(input_name="n")
async def hold(n: int) -> int:
    running["now"] += 1
    running["peak"] = max(running["peak"], running["now"])
    await asyncio.sleep(0.2)
    running["now"] -= 1
    return running["peak"]
