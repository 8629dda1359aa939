"""The service's own mail identity: the one address organisations write to and mail comes from.

Every default that names it (the From of outgoing mail, the contact line of the templates, the footer
of the printed forms, the configuration's default) reads it from here.
"""

from __future__ import annotations

__all__ = ["LOGIN_URL", "SERVICE_ADDRESS", "SERVICE_NAME"]

#: "stuur ons uw vragen via extranet2P@ethias.be": the Life Second Pillar service's extranet mailbox
SERVICE_ADDRESS = "extranet2P@ethias.be"
SERVICE_NAME = "Ethias Extranet"
#: where users sign in to the extranet (the credentials mail gives it; a deployment may set its own)
LOGIN_URL = "https://extranet2p.ethias.be/"
