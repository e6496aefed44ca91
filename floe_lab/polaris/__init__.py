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

It imitates Apache Polaris ``POLARIS_VERSION`` (1.7.0): the management API of that release's
``spec/polaris-management-service.yml`` (catalogs, principals with credential rotation and reset, principal and
catalog roles with their assignee lists, grants, ``currentEntityVersion`` updates), its answers to bad requests
(400 for wrongly typed bodies and invalid names, 404 JSON for unknown routes, 409 for a stale version or a non-empty
namespace), and prints the version in its startup line as Polaris does.

For the lab's tests it also serves ``GET /lab/v1/requests`` on the API port (no token): the count of mutating
requests (POST/PUT/PATCH/DELETE, the OAuth token endpoint excepted) it received, in total and per ``User-Agent``
— ``{"mutating": N, "by_user_agent": {...}, "by_product": {...}}`` — so a test can show that
``floe-agents heal --dry-run`` wrote nothing (see :mod:`floe_lab.polaris.lab_api`).

Use it as a process (``python -m floe_lab.polaris --help``) or in-process::

    async with run_polaris(PolarisConfig(db_url=..., services_file=..., bootstrap=...)) as polaris:
        polaris.catalog_uri  # http://127.0.0.1:PORT/api/catalog
"""

from floe_lab.polaris.config import POLARIS_VERSION, BootstrapCredentials, PolarisConfig, parse_bootstrap
from floe_lab.polaris.server import RunningPolaris, StartupError, run_polaris

__all__ = [
    "POLARIS_VERSION",
    "BootstrapCredentials",
    "PolarisConfig",
    "RunningPolaris",
    "StartupError",
    "parse_bootstrap",
    "run_polaris",
]
