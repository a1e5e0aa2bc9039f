"""Intake use cases (the button agent API): submit a help request, read its status, request an upload URL."""
