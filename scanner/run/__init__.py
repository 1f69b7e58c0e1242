"""The running daemon: the scan loop over the camera, health figures, and systemd's sd_notify."""
