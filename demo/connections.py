"""Where the demo keeps its files, and the connections file it writes on first start.

The sandboxes keep their data in ``instance/demo/`` so their ids outlive a restart.
"""

from __future__ import annotations

from pathlib import Path

#: Everything the demo keeps between runs (its sandboxes' data).
DEMO_DIR = Path("instance/demo")
CONNECTIONS_FILE = Path("instance/connections.yaml")
SALESFORCE_STATE = DEMO_DIR / "salesforce.json"
DYNAMICS_STATE = DEMO_DIR / "dynamics.json"
ZOOM_STATE = DEMO_DIR / "zoom.json"
#: The demo forms' signing secret (Standard Webhooks: whsec_ + base64 of the key).
FORMS_SECRET = "whsec_c3luY2xpbmUtZGVtby1mb3Jtcy1zaWduaW5nLWtleQ=="
CONNECTIONS_YAML = """\
# Written by `syncline demo`: the Salesforce, Dataverse and Zoom sandboxes (the demo starts them
# on ports 8701, 8702 and 8703 and keeps their data in instance/demo/) and the website's forms,
# which post signed submissions to POST /hooks/website-forms on the dashboard.
# Point real systems here later (see connections.example.yaml); keep secrets in ${ENV_VARS}.
salesforce:
  type: salesforce
  login_url: ${DEMO_SALESFORCE_URL:-http://127.0.0.1:8701}
  auth: password
  client_id: 3MVG9sandbox.syncline.demo.client.id
  client_secret: ${DEMO_SALESFORCE_CLIENT_SECRET:-sandbox-demo-client-secret}
  username: integration@syncline-sandbox.example
  password: ${DEMO_SALESFORCE_PASSWORD:-sandbox-demo-password}
  security_token: ${DEMO_SALESFORCE_TOKEN:-SandboxDemoToken}
dynamics:
  type: dynamics
  url: ${DEMO_DYNAMICS_URL:-http://127.0.0.1:8702}
  token_url: ${DEMO_DYNAMICS_URL:-http://127.0.0.1:8702}/7f3c2b1a-0d4e-4c5b-9a8f-5e6d7c8b9a01/oauth2/v2.0/token
  client_id: 51f81489-12ee-4a9e-aaae-a2591f45987d
  client_secret: ${DEMO_DYNAMICS_CLIENT_SECRET:-sandbox~secret.Dataverse-2027}
zoom:
  type: zoom
  account_id: sbxAcct_Q3xk9ZpLr2Vw
  client_id: sbxClient7fK2mQ9x
  client_secret: ${DEMO_ZOOM_CLIENT_SECRET:-sandbox-zoom-secret-4Hq8Tz}
  api_url: ${DEMO_ZOOM_URL:-http://127.0.0.1:8703}/v2
  token_url: ${DEMO_ZOOM_URL:-http://127.0.0.1:8703}/oauth/token
website-forms:
  type: webhook
  scheme: standard
  secret: ${FORMS_WEBHOOK_SECRET:-whsec_c3luY2xpbmUtZGVtby1mb3Jtcy1zaWduaW5nLWtleQ==}
"""


def write_connections(path: Path = CONNECTIONS_FILE) -> bool:
    """Write the demo connections file unless one exists; True when written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONNECTIONS_YAML, encoding="utf-8")
    return True
