"""The officer's lights: the Indicator protocol, its signals and states, and its gpiozero driver."""
