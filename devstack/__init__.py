"""Local run of the whole service on 127.0.0.1, with no AWS account and no Docker (``python -m devstack``).

See docs/devstack.md. Public entry points: ``devstack.stack.Devstack`` (tests, benchmarks) and
``devstack.events`` (event/context builders for in-process handler tests).
"""
