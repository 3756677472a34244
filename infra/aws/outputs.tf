output "webhook_url" {
  description = "Azure root input `aws_webhook_url`: Event Grid's webhook subscription target."
  value       = "${aws_apigatewayv2_stage.default.invoke_url}events"
}

output "event_bus_name" {
  value = aws_cloudwatch_event_bus.payments.name
}

output "table_names" {
  description = "Environment variable => DynamoDB table, as the Lambdas see them."
  value       = local.table_names
}

output "lambda_function_names" {
  value = { for id, fn in aws_lambda_function.payments : id => fn.function_name }
}

output "dead_letter_queues" {
  value = { for id, queue in aws_sqs_queue.dlq : id => queue.url }
}
