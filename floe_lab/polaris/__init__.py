"""A faithful Apache Polaris stand-in for the lab: Iceberg REST + management API + Quarkus health, on loopback.

Why it exists: no Polaris server can be installed here, yet floe-agents must be tested against a catalog that
real clients (pyiceberg's ``RestCatalog``, httpx) use exactly as they use Polaris, and that fails exactly like
Polaris: ``Unable to find warehouse``, 404 ``NoSuchNamespaceException``, 401 ``unauthorized_client``, 403
``ForbiddenException`` for a location outside ``allowedLocations``, 422 ``Failed to get subscoped credentials``
when STS is broken, and 500 ``SdkClientException: Received an UnknownHostException`` when the catalog's own S3
endpoint does not resolve from the catalog pod. That last one is the seed report's blocker, so the stand-in
does its own S3/STS I/O and resolves hosts only through the lab's service table (its "cluster DNS").

Persistence is pyiceberg's ``SqlCatalog`` (table pointers, namespaces) plus two small tables for Polaris's own
entities, in one SQLAlchemy database: sqlite for tests, the lab's Postgres otherwise.

Use it as a process (``python -m floe_lab.polaris --help``) or in-process::

    async with run_polaris(PolarisConfig(db_url=..., services_file=..., bootstrap=...)) as polaris:
        polaris.catalog_uri  # http://127.0.0.1:PORT/api/catalog
"""

from floe_lab.polaris.config import BootstrapCredentials, PolarisConfig, parse_bootstrap
from floe_lab.polaris.server import RunningPolaris, StartupError, run_polaris

__all__ = ["BootstrapCredentials", "PolarisConfig", "RunningPolaris", "StartupError", "parse_bootstrap", "run_polaris"]
