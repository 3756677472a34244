"""A small local stand-in for the Event Grid data plane (custom topics + webhook delivery).

No maintained Event Grid emulator exists for Python or Node, so this one does just what the
saga's local loop needs, with the real service's rules where code can observe them: topic
keys (`aeg-sas-key`), CloudEvents and Event Grid schemas, the 1 MB limits, the validation
handshake, retries on a schedule, and dead-lettering to blob storage (Azurite) after the
attempt limit or time-to-live.
"""
