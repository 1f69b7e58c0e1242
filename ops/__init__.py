"""The central side: collector, fleet dashboard, tracing queries and the fleet simulator."""
