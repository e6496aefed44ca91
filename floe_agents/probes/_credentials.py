"""The credentials Floe's probes log in with, declared once for the probes that share them.

Several probes log in to the same server (the catalog's OAuth client is used by polaris, iceberg, catalog_sts,
endpoints and cube): each lists the same declarations here in its ``@probe(credentials=...)``, so the targets
file key, the environment variable Floe's own pods use and the default are written once. ``secret=False`` marks
what is an identifier or a setting, never redacted from a report (a client id, a region).
"""

from __future__ import annotations

from floe_agents.registry import Credential

__all__ = ["CATALOG_LOGIN", "CUBE_SECRET", "POSTGRES_LOGIN", "S3_KEYS"]

CATALOG_LOGIN = (
    Credential("polaris_client_id", env="POLARIS_CLIENT_ID", secret=False, description="the catalog's OAuth client"),
    Credential("polaris_client_secret", env="POLARIS_CLIENT_SECRET", description="its secret"),
    Credential("polaris_scope", default="PRINCIPAL_ROLE:ALL", secret=False, description="the scope asked for"),
)
S3_KEYS = (
    Credential("s3_access_key_id", env="AWS_ACCESS_KEY_ID", secret=False, description="the S3/STS access key"),
    Credential("s3_secret_access_key", env="AWS_SECRET_ACCESS_KEY", description="its secret key"),
    Credential("s3_region", default="us-east-1", secret=False, description="the region requests are signed for"),
)
POSTGRES_LOGIN = (
    Credential("postgres_user", default="postgres", secret=False, description="the role to log in as"),
    Credential("postgres_password", env="DAGSTER_PG_PASSWORD", description="its password"),
)
CUBE_SECRET = (Credential("cube_api_secret", env="CUBEJS_API_SECRET", description="signs the Cube API's JWTs"),)
