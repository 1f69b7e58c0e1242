"""Store-and-forward MQTT uplink: status, heartbeats, signed scan batches, alerts, downlink."""
