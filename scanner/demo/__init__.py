"""The demo: sample passes, a private Mosquitto, and the real App on a synthetic camera."""
