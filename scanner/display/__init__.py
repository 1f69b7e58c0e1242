"""The officer display: who a pass belongs to and why one was refused, next to the lights."""
