"""Canned Dataverse answers for ``responses``-based tests: a token endpoint and lead metadata."""

from __future__ import annotations

import json
from typing import Any

import responses

from connectors.dynamics import DynamicsConnector

ORG = "https://org.crm.dynamics.com"
API = f"{ORG}/api/data/v9.2/"
TOKEN_URL = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
SECRET = "s3cr3t~Client.Secret-42"


def settings(**extra: Any) -> dict[str, Any]:
    return {"type": "dynamics", "url": ORG, "token_url": TOKEN_URL, "client_id": "client-1",
            "client_secret": SECRET, **extra}


def connector(**extra: Any) -> DynamicsConnector:
    crm = DynamicsConnector("crm", settings(**extra))
    crm.retry = crm.retry.__class__(max_tries=3, sleep=lambda _s: None)
    return crm


def add_token(token: str = "tok-1", status: int = 200, body: Any = None) -> None:
    answer = body if body is not None else {"token_type": "Bearer", "expires_in": 3599,
                                             "access_token": token}
    responses.add(responses.POST, TOKEN_URL, json=answer, status=status)


def _label(text: str) -> dict[str, Any]:
    return {"UserLocalizedLabel": {"Label": text, "LanguageCode": 1033}}


def attribute(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"LogicalName": name, "AttributeType": kind, "IsValidForCreate": True,
            "IsValidForUpdate": True, "RequiredLevel": {"Value": "None"},
            "DisplayName": _label(name), **extra}


LEAD_SOURCES = [(1, "Advertisement"), (4, "Partner"), (7, "Trade Show"), (8, "Web"),
                (10, "Other")]

LEAD_DEFINITION: dict[str, Any] = {
    "LogicalName": "lead", "EntitySetName": "leads", "PrimaryIdAttribute": "leadid",
    "PrimaryNameAttribute": "fullname", "DisplayName": _label("Lead"),
    "Keys": [{"LogicalName": "syncline_hubid_key", "KeyAttributes": ["syncline_hubid"]}],
    "Attributes": [
        attribute("leadid", "Uniqueidentifier", IsValidForUpdate=False,
                  RequiredLevel={"Value": "SystemRequired"}),
        attribute("firstname", "String", MaxLength=50),
        attribute("lastname", "String", MaxLength=50,
                  RequiredLevel={"Value": "ApplicationRequired"}),
        attribute("emailaddress1", "String", MaxLength=100, Format="Email"),
        attribute("subject", "String", MaxLength=300),
        attribute("syncline_hubid", "String", MaxLength=32),
        attribute("description", "Memo", MaxLength=2000),
        attribute("numberofemployees", "Integer"),
        attribute("revenue", "Money"),
        attribute("donotemail", "Boolean"),
        attribute("modifiedon", "DateTime", IsValidForCreate=False, IsValidForUpdate=False),
        attribute("versionnumber", "BigInt", IsValidForCreate=False, IsValidForUpdate=False),
        attribute("leadsourcecode", "Picklist", OptionSet={"Options": [
            {"Value": v, "Label": _label(t)} for v, t in LEAD_SOURCES]}),
        attribute("statecode", "State", OptionSet={"Options": [
            {"Value": 0, "Label": _label("Open")}, {"Value": 1, "Label": _label("Qualified")},
            {"Value": 2, "Label": _label("Disqualified")}]}),
        attribute("parentcontactid", "Lookup", Targets=["contact"]),
        attribute("customerid", "Customer", Targets=["account", "contact"]),
        attribute("fullname", "String", MaxLength=160, AttributeOf=None,
                  IsValidForCreate=False, IsValidForUpdate=False),
        attribute("address1_composite", "Virtual"),
    ],
}

ACCOUNT_DEFINITION: dict[str, Any] = {
    "LogicalName": "account", "EntitySetName": "accounts", "PrimaryIdAttribute": "accountid",
    "PrimaryNameAttribute": "name", "Keys": [],
    "Attributes": [attribute("accountid", "Uniqueidentifier"), attribute("name", "String")],
}


def add_definition(definition: dict[str, Any] = LEAD_DEFINITION) -> None:
    name = definition["LogicalName"]
    responses.add(responses.GET, f"{API}EntityDefinitions(LogicalName='{name}')",
                  json=definition)


def add_json(method: str, path: str, body: Any, status: int = 200,
             headers: dict[str, str] | None = None) -> None:
    responses.add(method, API + path, body=json.dumps(body), status=status,
                  content_type="application/json", headers=headers)


def odata_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
