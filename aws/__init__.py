"""The AWS payment participant of the order saga.

Lambda-style handlers over DynamoDB (accounts, one payment row per saga, a transactional
outbox and an inbox) and an outbox relay to EventBridge. See `aws/README.md`.
"""
