"""The ops dashboard and API: FastAPI on uvicorn, server-sent events, its own script, no CDN."""
