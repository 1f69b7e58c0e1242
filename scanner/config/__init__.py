"""The device configuration: scanner.toml read into frozen dataclasses, errors naming the key."""
