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

"""A lighter way from Glance's JSON pages to ``image list`` rows.

OSC's ``image list`` builds a full openstacksdk ``Image`` for every image
and lets Glance pick its default page of 25. This module asks for large
pages and wraps each raw image in an :class:`ImageRow`, which answers the
attributes the listing reads straight from the JSON and builds the real
``Image`` only when something else is asked of it. OSC's own code still
filters, sorts and formats the rows, so the output cannot drift.
"""

from collections.abc import Iterator
from typing import Any
from urllib import parse

from openstack import exceptions as sdk_exceptions
from openstack.image.v2 import image as sdk_image

# Image attributes the listing reads, with their JSON name, the type
# openstacksdk converts to and the value it gives when the key is absent.
# A unit test checks every one of them against the real Image resource.
_FAST_ATTRIBUTES: dict[str, tuple[str, type | None, Any]] = {
    'id': ('id', None, None),
    'name': ('name', None, None),
    'status': ('status', None, None),
    'disk_format': ('disk_format', None, None),
    'container_format': ('container_format', None, None),
    'size': ('size', int, None),
    'checksum': ('checksum', None, None),
    'visibility': ('visibility', None, None),
    'is_protected': ('protected', bool, None),
    'owner': ('owner', None, None),
    'owner_id': ('owner', None, None),
    'hash_algo': ('os_hash_algo', None, None),
    'hash_value': ('os_hash_value', None, None),
    'tags': ('tags', list, ()),
}

# openstacksdk query argument -> Glance query parameter, for the arguments
# OSC's image list passes.
_QUERY_PARAMETERS = {
    'visibility': 'visibility',
    'name': 'name',
    'status': 'status',
    'member_status': 'member_status',
    'owner': 'owner',
    'tag': 'tag',
    'is_hidden': 'os_hidden',
    'marker': 'marker',
    'limit': 'limit',
    'sort': 'sort',
}

# Keys Glance sorts on. OSC sorts the rows again client-side, comparing
# values as strings, so the rows Glance picks are the right ones and their
# order on screen stays OSC's (for size too: "10" before "9").
SERVER_SORT_KEYS = frozenset(
    (
        'id',
        'name',
        'status',
        'disk_format',
        'container_format',
        'size',
        'created_at',
        'updated_at',
    )
)


class ImageRow(dict):  # type: ignore[type-arg]
    """One image from a listing page, read lazily.

    It subclasses ``dict`` (staying empty) only so that osc-lib's helpers
    take the same item-access path they take for the SDK resource, which
    is itself a dict.
    """

    __slots__ = ('_raw', '_resource')

    def __init__(self, raw: dict[str, Any]) -> None:
        super().__init__()
        self._raw = raw
        self._resource: sdk_image.Image | None = None

    def __getattr__(self, name: str) -> Any:
        try:
            key, data_type, default = _FAST_ATTRIBUTES[name]
        except KeyError:
            return getattr(self.resource, name)
        value = self._raw.get(key, default)
        if value is None or data_type is None:
            return value
        return data_type(value)

    def __getitem__(self, name: str) -> Any:
        if name in _FAST_ATTRIBUTES:
            return self.__getattr__(name)
        return self.resource[name]

    def __contains__(self, name: object) -> bool:
        return name in self.resource

    # osc-lib's property filter removes rows with list.remove(), which
    # finds them by equality; as an empty dict every row would be equal.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, ImageRow):
            return self._raw == other._raw
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None

    @property
    def resource(self) -> sdk_image.Image:
        """The openstacksdk Image, built on first use"""
        if self._resource is None:
            raw = dict(self._raw)
            # The SDK drops the self link the same way when it lists.
            raw.pop('self', None)
            self._resource = sdk_image.Image.existing(**raw)
        return self._resource


def server_sort(sort: str | None) -> str | None:
    """Glance's ``sort`` parameter for an OSC --sort value, if it has one

    Known shortcomings: a key Glance cannot sort on (a property, owner)
    leaves the partial listing to image list's client-side sort, wrong rows
    included; and Glance cannot page on from a marker whose sort key is
    empty (a queued image has no size), so such a page starts over.
    """
    if not sort:
        return None
    keys = []
    for item in sort.split(','):
        key, _, direction = item.strip().partition(':')
        if key not in SERVER_SORT_KEYS or direction not in ('', 'asc', 'desc'):
            return None
        keys.append('%s:%s' % (key, direction or 'asc'))
    # Glance breaks ties by created_at and id in the direction of the last
    # key; the full listing sorts Glance's default order (newest first) on
    # the client, so ties come newest first there. Say so explicitly, so
    # a partial listing orders ties as the full one does.
    given = {key.partition(':')[0] for key in keys}
    keys += [
        '%s:desc' % key for key in ('created_at', 'id') if key not in given
    ]
    return ','.join(keys)


class ImagePager:
    """Stands in for the image proxy where ``image list`` pages images.

    Everything but :meth:`images` is the real proxy's.

    :param proxy: the openstacksdk image proxy
    :param page_size: images per request when the caller sets no limit
    :param sort: Glance ``sort`` value to send, or None
    :param page_through_limit: treat ``limit`` as the page size and keep
        paging until ``max_items``, instead of stopping after one page
    """

    def __init__(
        self,
        proxy: Any,
        page_size: int = 1000,
        sort: str | None = None,
        page_through_limit: bool = False,
    ) -> None:
        self._proxy = proxy
        self.page_size = page_size
        self.sort = sort
        self.page_through_limit = page_through_limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proxy, name)

    def images(self, **query: Any) -> Iterator[ImageRow]:
        # Like openstacksdk, take --max-items 0 to mean no limit.
        max_items = query.pop('max_items', None) or None
        paginated = query.pop('paginated', True) or self.page_through_limit
        if self.sort:
            query['sort'] = self.sort
        params = self._params(query)
        if 'limit' not in params:
            params['limit'] = self.page_size
        if max_items is not None:
            params['limit'] = min(int(params['limit']), max_items)

        returned = 0
        while True:
            body = self._get_page(params)
            for raw in body.get('images') or ():
                if max_items is not None and returned >= max_items:
                    return
                returned += 1
                yield ImageRow(raw)
            next_link = body.get('next')
            if not paginated or not next_link:
                return
            if max_items is not None and returned >= max_items:
                return
            params = self._next_params(next_link, params)
            if max_items is not None:
                params['limit'] = min(
                    int(params.get('limit', self.page_size)),
                    max_items - returned,
                )

    def _params(self, query: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for argument, value in query.items():
            if value is None:
                continue
            try:
                parameter = _QUERY_PARAMETERS[argument]
            except KeyError:
                raise TypeError(
                    'unexpected image query argument %r' % argument
                ) from None
            if isinstance(value, bool):
                value = 'true' if value else 'false'
            params[parameter] = value
        return params

    def _next_params(
        self, next_link: str, previous: dict[str, Any]
    ) -> dict[str, Any]:
        # Glance's next link repeats every filter along with the new
        # marker; taking its parameters (rather than the link itself)
        # keeps the request relative to the versioned endpoint.
        params: dict[str, Any] = {}
        for name, value in parse.parse_qsl(
            parse.urlsplit(next_link).query, keep_blank_values=True
        ):
            if name in params:
                existing = params[name]
                if not isinstance(existing, list):
                    existing = [existing]
                params[name] = existing + [value]
            else:
                params[name] = value
        if params.get('marker') == previous.get('marker'):
            raise sdk_exceptions.SDKException(
                'Endless pagination loop detected, aborting'
            )
        return params

    def _get_page(self, params: dict[str, Any]) -> dict[str, Any]:
        response = self._proxy.get('/images', params=params)
        sdk_exceptions.raise_from_response(response)
        body: dict[str, Any] = response.json()
        return body
