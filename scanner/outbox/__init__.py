"""The durable log of decisions, alerts and telemetry, kept until central has it."""
