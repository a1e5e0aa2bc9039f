"""Helpdesk Buttons for Autotask: the shared package (shipped as the `core` Lambda layer).

domain/    pure models and logic (no boto3, no HTTP)
autotask/  the Autotask REST client
rules/     the Dispatcher Rules sandbox
adapters/  AWS adapters behind the ports in domain/ports.py
cli/       the `helpdesk` console script (ops CLI and reference button agent)
"""
