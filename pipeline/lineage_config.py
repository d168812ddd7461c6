"""The config's `lineage` section: where OpenLineage events go when a run or scoring ends.

    lineage:
      openlineage:
        url: http://marquez.internal:5000   # the server; events are POSTed to <url>/api/v1/lineage
        endpoint: api/v1/lineage            # the path under url (DataHub: openapi/openlineage/api/v1/lineage)
        namespace: cascade                  # the OpenLineage job namespace (default: cascade)
        api_key_env: MARQUEZ_API_KEY        # the environment variable holding the API key, if any
        timeout_seconds: 5                  # per request; a slow server costs a run at most this much per event

Without the section, runs, scorings and batch transforms emit nothing (`cascade lineage export
--openlineage` still exports on demand). The key itself never appears in a
config: only the name of the variable that holds it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional
from urllib.parse import urlparse

from pipeline.inventory import FieldReader

DEFAULT_NAMESPACE = "cascade"
# Marquez's route; other servers (DataHub) name theirs under `endpoint`.
DEFAULT_ENDPOINT = "api/v1/lineage"
DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_TIMEOUT_SECONDS = 120.0
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class OpenLineageConfig:
    """Where and how OpenLineage events are delivered.

    Attributes:
      url: The server's base URL (http or https), or None: events are only
        exported on demand.
      endpoint: The path under `url` the events are POSTed to.
      namespace: The job namespace of every event.
      api_key_env: The environment variable holding the API key sent as a
        bearer token, or None (no key).
      timeout_seconds: How long one request may take.
    """

    url: Optional[str] = None
    endpoint: str = DEFAULT_ENDPOINT
    namespace: str = DEFAULT_NAMESPACE
    api_key_env: Optional[str] = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


def check_url(url: str) -> Optional[str]:
    """What is wrong with an endpoint URL, or None when it is usable.

    Args:
      url: The server's base URL as written.

    Returns:
      A phrase for an error message (`"... is not ..."`), or None.
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return f"{url!r} is not an http:// or https:// URL with a host"
    if parsed.username or parsed.password:
        return f"{url!r} holds credentials; name the key's environment variable instead"
    return None


def check_env_name(name: str) -> Optional[str]:
    """What is wrong with an environment variable name, or None when it is usable."""
    if not _ENV_NAME.match(name):
        return f"{name!r} is not an environment variable name (letters, digits and '_')"
    return None


def read_lineage(r: FieldReader, raw: Any) -> OpenLineageConfig:
    """Reads the `lineage` section (defaults when the config has none).

    Args:
      r: The config reader (names the file and field in errors).
      raw: The section as YAML typed it.

    Returns:
      The OpenLineage settings.

    Raises:
      ConfigError: An unknown key, a URL that is not http(s), a variable name
        that cannot be one, or a timeout out of range (naming the field).
    """
    if raw is None:
        return OpenLineageConfig()
    raw = r.mapping(raw, "lineage")
    r.only_keys(raw, "lineage", {"openlineage"})
    section = r.mapping(raw.get("openlineage", {}), "lineage.openlineage")
    field = "lineage.openlineage"
    r.only_keys(section, field, {f.name for f in dataclasses.fields(OpenLineageConfig)})
    url = None
    if "url" in section:
        url = r.string(section["url"], f"{field}.url")
        problem = check_url(url)
        if problem:
            raise r.error(f"{field}.url", problem)
    api_key_env = None
    if "api_key_env" in section:
        api_key_env = r.string(section["api_key_env"], f"{field}.api_key_env")
        problem = check_env_name(api_key_env)
        if problem:
            raise r.error(f"{field}.api_key_env", problem)
    return OpenLineageConfig(
        url=url,
        endpoint=r.string(section.get("endpoint", DEFAULT_ENDPOINT), f"{field}.endpoint").strip(
            "/"
        ),
        namespace=r.string(section.get("namespace", DEFAULT_NAMESPACE), f"{field}.namespace"),
        api_key_env=api_key_env,
        timeout_seconds=r.number(
            section.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
            f"{field}.timeout_seconds",
            0.1,
            MAX_TIMEOUT_SECONDS,
        ),
    )
