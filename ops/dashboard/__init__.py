"""The live fleet dashboard: a small stdlib HTTP server, server-sent events and its own script."""
