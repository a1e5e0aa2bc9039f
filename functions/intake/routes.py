"""Routes of the button agent API."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

from helpdesk import aws, env

ENV = env.load(env.IntakeEnv)
app = APIGatewayRestResolver(enable_validation=True)


class Health(BaseModel):
    status: str
    tenants_table: str


@app.get("/v1/health", summary="Liveness and a DynamoDB read", tags=["health"])
def health() -> Health:
    # A consistent single-item read proves the function reaches its table with its own role.
    aws.table(ENV.tenants_table).get_item(Key={"pk": "HEALTH", "sk": "HEALTH"}, ConsistentRead=True)
    return Health(status="ok", tenants_table="reachable")
