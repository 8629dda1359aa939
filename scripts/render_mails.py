"""Render every mail template in Dutch and French with realistic sample data, as HTML, text and a PNG.

The PNG is the HTML part as a mail reader would show it, taken by Debian's headless Chromium: look
at them before changing a template (issue 16.7). Usage: ``scripts/render-mails [OUT_DIR]``
(default ``var/mail-previews``). Sample data only: no database, no secret of any deployment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extranet_intake.mailer.purposes import EVENTS, Event, Language
from extranet_intake.mailer.render import render

CHROMIUM = "/usr/bin/chromium"
NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
ORG = {"org_name": "Brouwerij De Kroon NV", "enterprise_number": "0644695949"}
USR = {"form": "EAP-USR", "email": "Jan.Janssens@dekroon.be", "received": "2026-11-27"}

SAMPLES: dict[Event, dict[str, Any]] = {
    Event.ACCOUNT_OPENED: {"login": "EAP7K2Q9MX", **ORG, "master_user": "Marie Peeters"},
    Event.CREDENTIALS_REISSUED: {"login": "EAP7K2Q9MX", **ORG, "master_user": "Marie Peeters"},
    Event.ACCESS_OPENED: {**ORG, "accounts": 3},
    Event.EMAIL_CHANGED: {"login": "EAP7K2Q9MX", **ORG},
    Event.NEW_DOCUMENTS: {
        **ORG,
        "documents": ["pension_fiches", {"nl": "het jaaroverzicht 2026", "fr": "l'aperçu annuel 2026"}],
    },
    Event.NEW_FEATURES: {
        **ORG,
        "features": [
            {
                "nl": "U kunt nu de pensioenfiches van al uw werknemers in één keer downloaden.",
                "fr": "Vous pouvez désormais télécharger en une fois les fiches de pension de tous vos travailleurs.",
            }
        ],
    },
    Event.CHANGES_APPLIED: {
        **ORG,
        "changes": [
            {
                "change": "account_created",
                "login": "EAP7K2Q9MX",
                "name": "Jan Janssens",
                "profile": "consult",
                "scope": "all",
                "contracts": [],
                "access_end_date": None,
                "action": "new",
                "filename": "Gebruikersfiche Jan Janssens.pdf",
                **USR,
            },
            {
                "change": "account_modified",
                "login": "EAP3HT8WQA",
                "name": "Els Vermeulen",
                "profile": "consult_input",
                "scope": "selected",
                "contracts": ["GV-100"],
                "access_end_date": "2027-06-30",
                "form": "EAP-USR",
                "action": "modify",
                "email": "els.vermeulen@consult.be",
                "filename": "wijziging Els.pdf",
                "received": "2026-11-28",
            },
            {"change": "legacy_revoked", "login": "dekroon01", "name": ""},
        ],
    },
    Event.FORM_REJECTED: {
        **ORG,
        "document": "EAP-USR",
        "reasons": ["access-end-date-missing"],
        "received": "2026-11-27",
        "fiches": [
            {
                **USR,
                "action": "new",
                "person": "Jan Janssens",
                "filename": "Gebruikersfiche Jan Janssens.pdf",
                "reasons": ["user-email-is-notification-address"],
            },
            {
                "form": "EAP-USR",
                "action": "new",
                "person": "Els Vermeulen",
                "email": "els.vermeulen@consult.be",
                "filename": "fiche Els.pdf",
                "received": "2026-11-28",
                "reasons": ["access-end-date-missing", "contract-not-in-register"],
                "note": {
                    "nl": "Het contract GV-900 hoort bij een andere werkgever.",
                    "fr": "Le contrat GV-900 appartient à un autre employeur.",
                },
            },
        ],
    },
    Event.EXPIRY_COMING: {
        **ORG,
        "accounts": [{"login": "EAP3HT8WQA", "name": "Els Vermeulen", "access_end_date": "2026-12-10"}],
    },
}
SECRET = {"password": "Zr4-voorbeeld-9QpT", "valid_hours": 72, "valid_until": datetime(2026, 12, 3, 9, 30, tzinfo=UTC)}
NAMES = {
    "credentials": "Jan Janssens",
    "master_user_notice": "Marie Peeters",
    "org_notice": "",
    "old_address_notice": "Jan Janssens",
}


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "var/mail-previews")
    out.mkdir(parents=True, exist_ok=True)
    browser = shutil.which(CHROMIUM)
    for event, spec in EVENTS.items():
        for lang in Language:
            done = render(
                spec.purpose,
                event,
                lang,
                recipient_name=NAMES[spec.purpose.value],
                params=SAMPLES[event],
                secret=SECRET if spec.purpose.value == "credentials" else None,
                now=NOW,
                login_url="https://extranet2p.ethias.be/",
            )
            stem = f"{spec.purpose.value}.{event.value}.{lang.value}"
            html, png = out / f"{stem}.html", out / f"{stem}.png"
            html.write_text(done.html, encoding="utf-8")
            (out / f"{stem}.txt").write_text(f"Subject: {done.subject}\n\n{done.text}", encoding="utf-8")
            if browser:
                with tempfile.TemporaryDirectory() as profile:
                    subprocess.run(
                        [
                            browser,
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--no-first-run",
                            f"--user-data-dir={profile}",
                            f"--screenshot={png.resolve()}",
                            "--window-size=800,1200",
                            html.resolve().as_uri(),
                        ],
                        check=True,
                        capture_output=True,
                        timeout=120,
                    )
            print(png if browser else html)
    if not browser:
        print(f"{CHROMIUM} not found: HTML and text written, no PNG", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
