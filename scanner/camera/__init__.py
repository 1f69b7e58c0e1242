"""Frame sources (Pi camera, OpenCV, replay, synthetic) behind one interface, and the grabber."""
