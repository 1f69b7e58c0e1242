"""HC1: the EU Digital COVID Certificate (hcert), verified offline against DSCs."""
