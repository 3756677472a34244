"""Domain core of the order saga: models, outcomes, state rules, Cosmos store, settings.

Nothing in this package knows about Azure Functions bindings; the function app's
activities and triggers call into it.
"""
