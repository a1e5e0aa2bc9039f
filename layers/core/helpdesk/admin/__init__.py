"""Admin use cases: what an MSP admin can do to their own tenant (settings, rules, keys, Integration Test).

Everything here takes the tenant id from the authenticated admin token (never from the request body) and
depends only on ports: a TenantRepository, a SecretBox, an Autotask gateway factory and a rules runner.
"""
