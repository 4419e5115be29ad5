"""``$metadata``: one CSDL (OData v4) document per service, as Epicor serves [SNO, ALE].

A minimal document: the row types of the service's entity sets (key, properties, navigation
properties) in namespace ``Erp.Tablesets`` and an entity container with the sets. Epicor's own
document is larger (annotations, method actions); its exact content is unverified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.sax.saxutils import quoteattr

from mlc.sandbox.epicor.entities import BY_NAME, EntitySet
from mlc.sandbox.epicor.schema import Edm

_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
    "<edmx:DataServices>"
)
_TAIL = "</edmx:DataServices></edmx:Edmx>"
_EDM = 'xmlns="http://docs.oasis-open.org/odata/ns/edm"'


def _properties(fields: Mapping[str, Edm], keys: Iterable[str]) -> str:
    key_set = set(keys)
    parts = []
    for name, edm in fields.items():
        nullable = "true" if edm is Edm.DATETIME and name not in key_set else "false"
        extra = ' Precision="18" Scale="Variable"' if edm is Edm.DECIMAL else ""
        parts.append(f'<Property Name="{name}" Type="{edm}" Nullable="{nullable}"{extra}/>')
    return "".join(parts)


def _entity_type(entity: EntitySet) -> str:
    row = entity.row_type
    keys = "".join(f'<PropertyRef Name="{name}"/>' for name in entity.keys)
    navs = "".join(
        f'<NavigationProperty Name="{nav.name}" '
        f'Type="Collection({BY_NAME[nav.target].row_type.qualified})"/>'
        for nav in entity.navigations
    )
    return (
        f'<EntityType Name="{row.name}Row"><Key>{keys}</Key>'
        f"{_properties(row.fields, entity.keys)}{navs}</EntityType>"
    )


def service_metadata(service: str, entities: list[EntitySet]) -> str:
    types: dict[str, str] = {}
    for entity in entities:
        types.setdefault(entity.row, _entity_type(entity))
        for nav in entity.navigations:
            target = BY_NAME[nav.target]
            types.setdefault(target.row, _entity_type(target))
    sets = "".join(
        f'<EntitySet Name="{entity.name}" EntityType="{entity.row_type.qualified}">'
        + "".join(
            f'<NavigationPropertyBinding Path="{nav.name}" Target="{nav.target}"/>'
            for nav in entity.navigations
            if any(other.name == nav.target for other in entities)
        )
        + "</EntitySet>"
        for entity in entities
    )
    return (
        f'{_HEAD}<Schema Namespace="Erp.Tablesets" {_EDM}>{"".join(types.values())}</Schema>'
        f"<Schema Namespace={quoteattr(service)} {_EDM}>"
        f'<EntityContainer Name="Container">{sets}</EntityContainer></Schema>{_TAIL}'
    )


def baq_metadata(fields: Mapping[str, Edm], keys: Iterable[str]) -> str:
    key_list = list(keys)
    refs = "".join(f'<PropertyRef Name="{name}"/>' for name in key_list)
    return (
        f'{_HEAD}<Schema Namespace="Ice.BO.BaqSvc" {_EDM}>'
        f'<EntityType Name="QueryResult"><Key>{refs}</Key>'
        f"{_properties(fields, key_list)}</EntityType>"
        '<EntityContainer Name="Container">'
        '<EntitySet Name="Data" EntityType="Ice.BO.BaqSvc.QueryResult"/>'
        f"</EntityContainer></Schema>{_TAIL}"
    )
