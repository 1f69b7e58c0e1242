"""Credential formats (cp1/, hc1/) behind one interface, and the encodings they share."""
