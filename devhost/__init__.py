"""devhost: an in-process stand-in for the Azure Functions host + Durable extension.

See README.md. The programmatic entry point is :class:`DevHost`.
"""
from .host import DevHost

__all__ = ["DevHost"]
