"""From a camera frame to a verdict: decode QR codes, debounce, verify, act (the scan step)."""
