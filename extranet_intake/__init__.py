"""extranet-intake: access-request forms for Ethias' Extranet Aanvullend Pensioen turned into
scoped logins, with a hash-chained audit log. docs/architecture.md draws the packages below and
the one direction of their imports."""
