"""The cross-cloud loop on one machine: the pieces that play the managed glue between the
clouds (EventBridge API destination, Event Grid webhook delivery to API Gateway) and the
command that starts the whole loop."""
