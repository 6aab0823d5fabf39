# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Name the service behind a URL, from the service catalog."""

from typing import Any
from urllib import parse


def _base(url: str) -> tuple[str, str, str]:
    split = parse.urlsplit(url)
    return (
        split.scheme.lower(),
        split.netloc.lower(),
        split.path.rstrip('/'),
    )


class ServiceResolver:
    """Maps request URLs to (service type, service name).

    Until a token response brings the catalog, only the identity endpoint
    the user authenticates against is known.
    """

    def __init__(self, auth_url: str | None = None) -> None:
        self._endpoints: list[tuple[tuple[str, str, str], str, str]] = []
        self._auth_base = _base(auth_url) if auth_url else None

    def learn_endpoint(
        self, url: str, service_type: str, service_name: str
    ) -> None:
        """An endpoint known other than from the catalog (an override)"""
        self._endpoints.append((_base(url), service_type, service_name))

    def learn_catalog(self, catalog: list[dict[str, Any]]) -> None:
        for service in catalog:
            service_type = service.get('type') or 'unknown'
            service_name = service.get('name') or service_type
            for endpoint in service.get('endpoints') or ():
                url = endpoint.get('url')
                if url:
                    self._endpoints.append(
                        (_base(url), service_type, service_name)
                    )

    def describe(self, url: str) -> tuple[str, str | None]:
        scheme, netloc, path = _base(url)
        best: tuple[int, str, str] | None = None
        for (e_scheme, e_netloc, e_path), s_type, s_name in self._endpoints:
            if (e_scheme, e_netloc) != (scheme, netloc):
                continue
            # A path under the endpoint is a better match than the bare
            # host, which is what version discovery requests hit.
            score = len(e_path) if path.startswith(e_path) else -1
            if best is None or score > best[0]:
                best = (score, s_type, s_name)
        if best is not None:
            return best[1], best[2]
        if self._auth_base and self._auth_base[:2] == (scheme, netloc):
            # Its name comes with the catalog, after this exchange.
            return 'identity', None
        return 'unknown', netloc
