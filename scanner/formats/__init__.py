"""Credential formats behind one interface: each recognises its prefix and returns a Verdict."""
