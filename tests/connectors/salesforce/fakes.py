"""Shared pieces for the Salesforce connector's unit tests: settings and canned responses."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import responses

from connectors.salesforce import SalesforceConnector

LOGIN = "https://login.example.com"
INSTANCE = "https://na1.example.com"
API = f"{INSTANCE}/services/data/v59.0/"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
SECRET = "s3cr3t-client-value"
PASSWORD = "hunter2-password"
SECURITY_TOKEN = "sec-token-XYZ"


def settings(**extra: Any) -> dict[str, Any]:
    return {"type": "salesforce", "login_url": LOGIN, "client_id": "client-1",
            "client_secret": SECRET, "username": "sync@example.com", "password": PASSWORD,
            "security_token": SECURITY_TOKEN, **extra}


def connector(**extra: Any) -> SalesforceConnector:
    crm = SalesforceConnector("crm", settings(**extra))
    crm.retry = replace(crm.retry, max_tries=3, sleep=lambda _s: None)
    return crm


def add_token(access_token: str = "tok-1", status: int = 200, body: Any = None) -> None:
    payload = body if body is not None else {
        "access_token": access_token, "instance_url": INSTANCE, "token_type": "Bearer",
        "id": f"{LOGIN}/id/00Dxx0000000001AAA/005xx0000000001AAA"}
    responses.add(responses.POST, TOKEN_URL, json=payload, status=status)


def add_json(method: str, path: str, body: Any, status: int = 200,
             headers: dict[str, str] | None = None) -> None:
    responses.add(method, API + path, body=json.dumps(body), status=status,
                  content_type="application/json", headers=headers or {})


def lead_describe() -> dict[str, Any]:
    def field(name: str, type_: str = "string", **kw: Any) -> dict[str, Any]:
        return {"name": name, "label": name, "type": type_, "length": kw.pop("length", 0),
                "nillable": kw.pop("nillable", True), "createable": kw.pop("createable", True),
                "updateable": kw.pop("updateable", True),
                "defaultedOnCreate": kw.pop("defaultedOnCreate", False),
                "externalId": kw.pop("externalId", False), "unique": False,
                "restrictedPicklist": kw.pop("restrictedPicklist", False),
                "referenceTo": kw.pop("referenceTo", []),
                "picklistValues": [{"value": v, "label": v, "active": True}
                                   for v in kw.pop("values", [])]}

    countries = ["Canada", "France", "Germany", "Italy", "Japan", "Mexico", "Norway", "Peru",
                 "Spain", "Sweden", "United Kingdom", "United States", "Uruguay", "Zambia"]
    return {"name": "Lead", "label": "Lead", "fields": [
        field("Id", "id", length=18, nillable=False, createable=False, updateable=False,
              defaultedOnCreate=True),
        field("LastName", length=80, nillable=False),
        field("Company", length=255, nillable=False),
        field("Email", "email", length=80),
        field("Country__c", "picklist", length=255, restrictedPicklist=True, values=countries),
        field("NumberOfEmployees", "int"),
        field("AnnualRevenue", "currency"),
        field("Description", "textarea", length=32000),
        field("OwnerId", "reference", nillable=False, defaultedOnCreate=True,
              referenceTo=["User", "Group"]),
        field("IsConverted", "boolean", nillable=False, createable=False, updateable=False,
              defaultedOnCreate=True),
        field("ConvertedContactId", "reference", createable=False, updateable=False,
              referenceTo=["Contact"]),
        field("MasterRecordId", "reference", createable=False, updateable=False,
              referenceTo=["Lead"]),
        field("IsDeleted", "boolean", nillable=False, createable=False, updateable=False,
              defaultedOnCreate=True),
        field("SystemModstamp", "datetime", nillable=False, createable=False, updateable=False,
              defaultedOnCreate=True),
        field("Syncline_Id__c", length=64, externalId=True),
    ]}
