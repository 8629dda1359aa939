"""The one reason catalogue: every code the product emits, in words for people (NL, FR, EN) and its audience.

Where it lives, and why: like ``errors``, this is a top-level module that imports nothing of the
project, so every layer may import it without bending the arrows of docs/architecture.md — ``parsers``
and ``mailer`` (which may not import ``provisioning`` or ``intake``) read the same words as the
command line, the review queue, the audit log and the exports. Codes stay the stable keys that
scripts, ``--json`` and the audit chain use; this module only adds the words.

Adding a code is a one-place edit: one ``_entry(...)`` in :data:`_ENTRIES` below (kept in
alphabetical order). ``tests/unit/test_reasons_catalogue.py`` collects every code the code base
can emit, from the code itself, and fails when one has no entry here.

Audience: ``organisation`` — written for the organisation (its Master User reads it in a mail);
``both`` — a decision about a form that the organisation is told and staff see in the queue;
``staff`` — internal (sources, mail delivery, audit, configuration): never put in an
organisation's mail, which says :data:`GENERIC_CODE`'s words instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CATALOGUE",
    "GENERIC_CODE",
    "Audience",
    "Reason",
    "Words",
    "codes_in",
    "describe",
    "for_organisation",
    "lookup",
    "organisation_codes",
    "reason_text",
    "reviewer_choices",
    "titles",
]


class Audience(StrEnum):
    ORGANISATION = "organisation"
    STAFF = "staff"
    BOTH = "both"


@dataclass(frozen=True)
class Words:
    """A reason in one language: a short title, one or two sentences, what the organisation should do."""

    title: str
    text: str
    todo: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "text": self.text, "todo": self.todo}


@dataclass(frozen=True)
class Reason:
    code: str
    audience: Audience
    en: Words
    nl: Words
    fr: Words

    @property
    def for_organisation(self) -> bool:
        return self.audience is not Audience.STAFF

    def words(self, lang: str) -> Words:
        """The words in ``lang`` (``nl``, ``fr``; anything else: English, the language of logs)."""
        return self.nl if lang == "nl" else self.fr if lang == "fr" else self.en

    def as_dict(self, lang: str = "en") -> dict[str, str]:
        return {"code": self.code, "audience": self.audience.value, **self.words(lang).as_dict()}


_O, _S, _B = Audience.ORGANISATION, Audience.STAFF, Audience.BOTH


def _entry(code: str, audience: Audience, *, en: tuple[str, ...], nl: tuple[str, ...], fr: tuple[str, ...]) -> Reason:
    return Reason(code, audience, Words(*en), Words(*nl), Words(*fr))


#: the code an organisation's mail shows for a staff-only code (it never sees internal words)
GENERIC_CODE = "form-not-processed"

_ENTRIES: tuple[Reason, ...] = (
    _entry(
        "access-end-date-missing",
        _B,
        en=("End date missing", "An external user needs an end date of access."),
        nl=(
            "Einddatum ontbreekt",
            "Voor een externe persoon moet de einddatum van de toegang ingevuld zijn.",
            "Vul bij ‘Einddatum toegang’ een datum na vandaag in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Date de fin manquante",
            "Pour une personne externe, la date de fin d'accès doit être complétée.",
            "Indiquez dans « Date de fin d'accès » une date postérieure à aujourd'hui et renvoyez la fiche.",
        ),
    ),
    _entry(
        "access-end-date-past",
        _B,
        en=("End date not in the future", "The end date of access is today or already past."),
        nl=(
            "Einddatum ligt niet in de toekomst",
            "De einddatum van de toegang is vandaag of al voorbij.",
            "Vul bij ‘Einddatum toegang’ een datum na vandaag in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Date de fin non future",
            "La date de fin d'accès est aujourd'hui ou déjà passée.",
            "Indiquez dans « Date de fin d'accès » une date postérieure à aujourd'hui et renvoyez la fiche.",
        ),
    ),
    _entry(
        "account-not-active",
        _B,
        en=("Access no longer active", "The access this fiche changes has already ended."),
        nl=(
            "Toegang niet meer actief",
            "De toegang die deze fiche wil wijzigen of intrekken, is al beëindigd.",
            "Wilt u deze persoon opnieuw toegang geven? Stuur dan een gebruikersfiche ‘Nieuwe toegang’.",
        ),
        fr=(
            "Accès plus actif",
            "L'accès que cette fiche veut modifier ou retirer a déjà pris fin.",
            "Pour rendre l'accès à cette personne, envoyez une fiche utilisateur « Nouvel accès ».",
        ),
    ),
    _entry(
        "account-not-suspended",
        _S,
        en=(
            "Account not suspended",
            "Only a suspended account can be reinstated; a revoked or expired one needs a new fiche.",
        ),
        nl=(
            "Account niet geschorst",
            "Alleen een geschorste account kan opnieuw geactiveerd worden; "
            "een ingetrokken of vervallen account vraagt een nieuwe fiche.",
        ),
        fr=(
            "Compte non suspendu",
            "Seul un compte suspendu peut être réactivé ; un compte retiré ou expiré demande une nouvelle fiche.",
        ),
    ),
    _entry(
        "reinstate-reason-missing",
        _S,
        en=("Reason missing", "Say why the account is reinstated: the reason is kept in the audit log."),
        nl=("Reden ontbreekt", "Zeg waarom de account opnieuw geactiveerd wordt: de reden komt in het auditlogboek."),
        fr=(
            "Motif manquant",
            "Indiquez pourquoi le compte est réactivé : le motif est conservé dans le journal d'audit.",
        ),
    ),
    _entry(
        "account-not-found",
        _S,
        en=("Account not found", "No account with this login exists."),
        nl=("Account niet gevonden", "Er bestaat geen account met deze login."),
        fr=("Compte introuvable", "Aucun compte n'existe avec ce login."),
    ),
    _entry(
        "action-missing",
        _B,
        en=("Type of request missing", "The fiche does not say whether it is a new access, a change or a withdrawal."),
        nl=(
            "Type aanvraag ontbreekt",
            "Op de fiche is niet aangeduid of het om een nieuwe toegang, een wijziging of een intrekking gaat.",
            "Kruis bij ‘Type aanvraag’ één vakje aan en stuur de fiche opnieuw.",
        ),
        fr=(
            "Type de demande manquant",
            "La fiche n'indique pas s'il s'agit d'un nouvel accès, d'une modification ou d'un retrait.",
            "Cochez une case dans « Type de demande » et renvoyez la fiche.",
        ),
    ),
    _entry(
        "audit-actor-missing",
        _S,
        en=("Actor missing", "An audit entry must name who acted."),
        nl=("Uitvoerder ontbreekt", "Een auditregel moet vermelden wie handelde."),
        fr=("Auteur manquant", "Une entrée d'audit doit indiquer qui a agi."),
    ),
    _entry(
        "audit-chain-broken",
        _S,
        en=("Audit chain broken", "An entry of the audit log does not match the chain: it was changed or removed."),
        nl=(
            "Auditketen verbroken",
            "Een regel van het auditlogboek past niet in de keten: ze werd gewijzigd of verwijderd.",
        ),
        fr=(
            "Chaîne d'audit rompue",
            "Une entrée du journal d'audit ne correspond pas à la chaîne : elle a été modifiée ou supprimée.",
        ),
    ),
    _entry(
        "audit-checkpoint-format",
        _S,
        en=("Checkpoint unreadable", "The checkpoint file is not in the expected format."),
        nl=("Controlepunt onleesbaar", "Het bestand met het controlepunt heeft niet het verwachte formaat."),
        fr=("Point de contrôle illisible", "Le fichier du point de contrôle n'a pas le format attendu."),
    ),
    _entry(
        "audit-checkpoint-missing",
        _S,
        en=("No checkpoint", "No signed checkpoint of the audit log was found."),
        nl=("Geen controlepunt", "Er werd geen ondertekend controlepunt van het auditlogboek gevonden."),
        fr=("Aucun point de contrôle", "Aucun point de contrôle signé du journal d'audit n'a été trouvé."),
    ),
    _entry(
        "audit-checkpoint-signature",
        _S,
        en=("Checkpoint signature invalid", "The checkpoint's signature does not verify with the public key."),
        nl=(
            "Handtekening controlepunt ongeldig",
            "De handtekening van het controlepunt klopt niet met de publieke sleutel.",
        ),
        fr=(
            "Signature du point de contrôle invalide",
            "La signature du point de contrôle ne correspond pas à la clé publique.",
        ),
    ),
    _entry(
        "audit-document-mismatch",
        _S,
        en=("Document does not match", "The stored document differs from the one the audit log names."),
        nl=("Document komt niet overeen", "Het bewaarde document verschilt van het document in het auditlogboek."),
        fr=("Document non conforme", "Le document conservé diffère de celui cité dans le journal d'audit."),
    ),
    _entry(
        "audit-entry-not-found",
        _S,
        en=("Audit entry not found", "No audit entry has this number."),
        nl=("Auditregel niet gevonden", "Er is geen auditregel met dit nummer."),
        fr=("Entrée d'audit introuvable", "Aucune entrée d'audit ne porte ce numéro."),
    ),
    _entry(
        "audit-export-failed",
        _S,
        en=("Export failed", "The audit export could not be written."),
        nl=("Export mislukt", "De export van het auditlogboek kon niet geschreven worden."),
        fr=("Export échoué", "L'export du journal d'audit n'a pas pu être écrit."),
    ),
    _entry(
        "audit-head-missing",
        _S,
        en=("Audit head missing", "The audit log has no head row: the database was not initialised."),
        nl=(
            "Begin van auditketen ontbreekt",
            "Het auditlogboek heeft geen beginregel: de databank werd niet geïnitialiseerd.",
        ),
        fr=(
            "Tête de chaîne manquante",
            "Le journal d'audit n'a pas de ligne de tête : la base n'a pas été initialisée.",
        ),
    ),
    _entry(
        "audit-key-exists",
        _S,
        en=("Key already exists", "A checkpoint key file already exists and is not overwritten."),
        nl=("Sleutel bestaat al", "Er bestaat al een sleutelbestand; het wordt niet overschreven."),
        fr=("Clé déjà présente", "Un fichier de clé existe déjà ; il n'est pas écrasé."),
    ),
    _entry(
        "audit-key-invalid",
        _S,
        en=("Key invalid", "The checkpoint key is not a valid Ed25519 key."),
        nl=("Sleutel ongeldig", "De sleutel voor controlepunten is geen geldige Ed25519-sleutel."),
        fr=("Clé invalide", "La clé des points de contrôle n'est pas une clé Ed25519 valide."),
    ),
    _entry(
        "audit-key-missing",
        _S,
        en=("Key missing", "No checkpoint key is configured."),
        nl=("Sleutel ontbreekt", "Er is geen sleutel voor controlepunten ingesteld."),
        fr=("Clé manquante", "Aucune clé de point de contrôle n'est configurée."),
    ),
    _entry(
        "audit-key-unreadable",
        _S,
        en=("Key unreadable", "The checkpoint key file cannot be read."),
        nl=("Sleutel onleesbaar", "Het sleutelbestand kan niet gelezen worden."),
        fr=("Clé illisible", "Le fichier de clé ne peut pas être lu."),
    ),
    _entry(
        "audit-log-empty",
        _S,
        en=("Audit log empty", "There is nothing to checkpoint yet."),
        nl=("Auditlogboek leeg", "Er is nog niets om een controlepunt van te maken."),
        fr=("Journal d'audit vide", "Il n'y a encore rien à certifier."),
    ),
    _entry(
        "audit-naive-time",
        _S,
        en=("Time without zone", "An audit time must carry its time zone."),
        nl=("Tijd zonder tijdzone", "Een tijdstip in het auditlogboek moet een tijdzone hebben."),
        fr=("Heure sans fuseau", "Une heure du journal d'audit doit porter son fuseau horaire."),
    ),
    _entry(
        "audit-no-document",
        _S,
        en=("No document", "This audit entry names no document."),
        nl=("Geen document", "Deze auditregel verwijst naar geen document."),
        fr=("Aucun document", "Cette entrée d'audit ne cite aucun document."),
    ),
    _entry(
        "audit-public-key-missing",
        _S,
        en=("Public key missing", "No public key is available to verify checkpoints."),
        nl=("Publieke sleutel ontbreekt", "Er is geen publieke sleutel om controlepunten na te gaan."),
        fr=("Clé publique manquante", "Aucune clé publique n'est disponible pour vérifier les points de contrôle."),
    ),
    _entry(
        "bad-sha256",
        _S,
        en=("Bad document reference", "A document reference is not a SHA-256 value."),
        nl=("Foute documentverwijzing", "Een documentverwijzing is geen SHA-256-waarde."),
        fr=("Référence de document erronée", "Une référence de document n'est pas une valeur SHA-256."),
    ),
    _entry(
        "choice-invalid",
        _B,
        en=("Box ticked wrongly", "A choice on the form is not ticked, or more than one box is ticked."),
        nl=(
            "Keuze niet duidelijk",
            "Bij een keuzevraag op het formulier is geen of meer dan één vakje aangekruist.",
            "Kruis bij elke keuzevraag precies één vakje aan en stuur het formulier opnieuw.",
        ),
        fr=(
            "Choix peu clair",
            "Pour une question à choix, aucune case ou plusieurs cases sont cochées.",
            "Cochez exactement une case par question à choix et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "config-bad-value",
        _S,
        en=("Setting invalid", "A setting of the configuration file has a value that is not allowed."),
        nl=("Instelling ongeldig", "Een instelling in het configuratiebestand heeft een ongeldige waarde."),
        fr=("Paramètre invalide", "Un paramètre du fichier de configuration a une valeur non permise."),
    ),
    _entry(
        "config-not-found",
        _S,
        en=("Configuration not found", "The configuration file does not exist."),
        nl=("Configuratie niet gevonden", "Het configuratiebestand bestaat niet."),
        fr=("Configuration introuvable", "Le fichier de configuration n'existe pas."),
    ),
    _entry(
        "config-syntax",
        _S,
        en=("Configuration unreadable", "The configuration file is not valid TOML."),
        nl=("Configuratie onleesbaar", "Het configuratiebestand is geen geldige TOML."),
        fr=("Configuration illisible", "Le fichier de configuration n'est pas du TOML valide."),
    ),
    _entry(
        "config-unknown-key",
        _S,
        en=("Unknown setting", "The configuration file names a setting that does not exist."),
        nl=("Onbekende instelling", "Het configuratiebestand bevat een instelling die niet bestaat."),
        fr=("Paramètre inconnu", "Le fichier de configuration contient un paramètre qui n'existe pas."),
    ),
    _entry(
        "contract-duplicate-row",
        _S,
        en=("Contract listed twice", "The contract register import lists a contract twice."),
        nl=("Contract dubbel vermeld", "Het geïmporteerde contractregister vermeldt een contract twee keer."),
        fr=("Contrat en double", "Le registre des contrats importé mentionne deux fois un contrat."),
    ),
    _entry(
        "contract-invalid",
        _B,
        en=("Contract number invalid", "A contract number on the fiche is not written as a contract number."),
        nl=(
            "Contractnummer ongeldig",
            "Een contractnummer op de fiche heeft niet de vorm van een contractnummer.",
            "Neem het contractnummer over zoals het op uw contract staat en stuur de fiche opnieuw.",
        ),
        fr=(
            "Numéro de contrat invalide",
            "Un numéro de contrat de la fiche n'a pas la forme d'un numéro de contrat.",
            "Recopiez le numéro tel qu'il figure sur votre contrat et renvoyez la fiche.",
        ),
    ),
    _entry(
        "contract-not-in-register",
        _B,
        en=("Contract not of this organisation", "A contract on the fiche is not a contract of the organisation."),
        nl=(
            "Contract niet van uw organisatie",
            "Een contract op de fiche hoort niet bij de contracten van uw organisatie.",
            "Vermeld alleen contracten van uw eigen organisatie en stuur de fiche opnieuw.",
        ),
        fr=(
            "Contrat d'une autre organisation",
            "Un contrat de la fiche ne fait pas partie des contrats de votre organisation.",
            "Ne mentionnez que les contrats de votre propre organisation et renvoyez la fiche.",
        ),
    ),
    _entry(
        "contract-number-invalid",
        _S,
        en=("Contract number invalid", "The contract register import holds an invalid contract number."),
        nl=("Contractnummer ongeldig", "Het geïmporteerde contractregister bevat een ongeldig contractnummer."),
        fr=("Numéro de contrat invalide", "Le registre des contrats importé contient un numéro invalide."),
    ),
    _entry(
        "contracts-ignored",
        _B,
        en=(
            "Contract numbers not needed",
            "Access to all contracts was asked: the contract numbers given were not used.",
        ),
        nl=(
            "Contractnummers niet nodig",
            "U vroeg toegang tot alle contracten; de vermelde contractnummers werden daarom niet gebruikt.",
            "Wilt u de toegang beperken tot enkele contracten? Kruis dan ‘Geselecteerde contracten’ aan.",
        ),
        fr=(
            "Numéros de contrat inutiles",
            "L'accès à tous les contrats a été demandé ; les numéros indiqués n'ont donc pas été utilisés.",
            "Pour limiter l'accès à certains contrats, cochez « Contrats sélectionnés ».",
        ),
    ),
    _entry(
        "contracts-missing",
        _B,
        en=("Contracts missing", "Access to selected contracts was asked, but no contract is named."),
        nl=(
            "Contracten ontbreken",
            "U vroeg toegang tot geselecteerde contracten, maar er staat geen contractnummer op de fiche.",
            "Vul de contractnummers in, of kruis ‘Alle contracten’ aan, en stuur de fiche opnieuw.",
        ),
        fr=(
            "Contrats manquants",
            "L'accès à des contrats sélectionnés a été demandé, mais aucun numéro de contrat ne figure sur la fiche.",
            "Indiquez les numéros de contrat ou cochez « Tous les contrats », puis renvoyez la fiche.",
        ),
    ),
    _entry(
        "contracts-required",
        _B,
        en=("Contracts missing", "Selected contracts were ticked but no contract number is given."),
        nl=(
            "Contracten ontbreken",
            "‘Geselecteerde contracten’ is aangekruist, maar er staat geen contractnummer op de fiche.",
            "Vul de contractnummers in, of kruis ‘Alle contracten’ aan, en stuur de fiche opnieuw.",
        ),
        fr=(
            "Contrats manquants",
            "« Contrats sélectionnés » est coché, mais aucun numéro de contrat n'est indiqué.",
            "Indiquez les numéros de contrat ou cochez « Tous les contrats », puis renvoyez la fiche.",
        ),
    ),
    _entry(
        "database-error",
        _S,
        en=("Database error", "The database refused or lost the work of this item; it is tried again."),
        nl=("Databankfout", "De databank weigerde of verloor het werk voor dit item; het wordt opnieuw geprobeerd."),
        fr=("Erreur de base de données", "La base de données a refusé ou perdu ce traitement ; il sera réessayé."),
    ),
    _entry(
        "database-migration-failed",
        _S,
        en=("Database upgrade failed", "The database schema could not be brought up to date."),
        nl=("Bijwerken databank mislukt", "Het schema van de databank kon niet bijgewerkt worden."),
        fr=("Mise à jour de la base échouée", "Le schéma de la base de données n'a pas pu être mis à jour."),
    ),
    _entry(
        "database-missing",
        _S,
        en=("No database", "The database does not exist yet: run init first."),
        nl=("Geen databank", "De databank bestaat nog niet: voer eerst init uit."),
        fr=("Pas de base de données", "La base de données n'existe pas encore : lancez d'abord init."),
    ),
    _entry(
        "date-in-future",
        _B,
        en=("Signing date in the future", "The date of signing lies in the future."),
        nl=(
            "Datum van ondertekening in de toekomst",
            "De datum van ondertekening ligt in de toekomst.",
            "Vul de datum in waarop het formulier ondertekend werd en stuur het opnieuw.",
        ),
        fr=(
            "Date de signature future",
            "La date de signature se situe dans le futur.",
            "Indiquez la date à laquelle le formulaire a été signé et renvoyez-le.",
        ),
    ),
    _entry(
        "date-invalid",
        _B,
        en=("Date unreadable", "A date on the form is not written as dd/mm/yyyy."),
        nl=(
            "Datum onleesbaar",
            "Een datum op het formulier is niet geschreven als dd/mm/jjjj.",
            "Schrijf de datum als dd/mm/jjjj (bijvoorbeeld 31/12/2027) en stuur het formulier opnieuw.",
        ),
        fr=(
            "Date illisible",
            "Une date du formulaire n'est pas écrite sous la forme jj/mm/aaaa.",
            "Écrivez la date sous la forme jj/mm/aaaa (par exemple 31/12/2027) et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "document-corrupt",
        _S,
        en=("Stored document damaged", "A stored original no longer matches its fingerprint."),
        nl=("Bewaard document beschadigd", "Een bewaard origineel komt niet meer overeen met zijn vingerafdruk."),
        fr=("Document conservé endommagé", "Un original conservé ne correspond plus à son empreinte."),
    ),
    _entry(
        "document-missing",
        _S,
        en=("Stored document missing", "The original of this document is not in the document store."),
        nl=("Bewaard document ontbreekt", "Het origineel van dit document zit niet in de documentopslag."),
        fr=("Document conservé manquant", "L'original de ce document n'est pas dans le stockage."),
    ),
    _entry(
        "document-rejected",
        _B,
        en=("Document refused", "The document could not be accepted as a form."),
        nl=(
            "Document geweigerd",
            "Het document kon niet aanvaard worden als formulier.",
            "Stuur het ingevulde en ondertekende formulier opnieuw, als PDF-bestand.",
        ),
        fr=(
            "Document refusé",
            "Le document n'a pas pu être accepté comme formulaire.",
            "Renvoyez le formulaire complété et signé, au format PDF.",
        ),
    ),
    _entry(
        "document-unreadable",
        _S,
        en=("Stored document unreadable", "The original of this document cannot be read from the store."),
        nl=("Bewaard document onleesbaar", "Het origineel van dit document kan niet gelezen worden."),
        fr=("Document conservé illisible", "L'original de ce document ne peut pas être lu."),
    ),
    _entry(
        "dossier-incomplete",
        _B,
        en=(
            "Waiting for the other forms",
            "Access opens once the agreement, the Master User fiche and a user fiche are all approved.",
        ),
        nl=(
            "Wacht op de andere formulieren",
            "De toegang gaat open zodra de overeenkomst, de Master User fiche en een gebruikersfiche goedgekeurd zijn.",
            "Hebt u nog niet alle formulieren gestuurd? Stuur dan de ontbrekende.",
        ),
        fr=(
            "En attente des autres formulaires",
            "L'accès s'ouvre dès que la convention, la fiche Master User et une fiche utilisateur sont approuvées.",
            "Si vous n'avez pas encore envoyé tous les formulaires, envoyez ceux qui manquent.",
        ),
    ),
    _entry(
        "drop-unreadable",
        _S,
        en=("Drop folder unreadable", "The drop folder cannot be listed."),
        nl=("Afgiftemap onleesbaar", "De inhoud van de afgiftemap kan niet gelezen worden."),
        fr=("Dossier de dépôt illisible", "Le contenu du dossier de dépôt ne peut pas être lu."),
    ),
    _entry(
        "duplicate-document",
        _B,
        en=("Already received", "This exact document was received and handled before."),
        nl=(
            "Al ontvangen",
            "Wij hebben precies dit document al eerder ontvangen en verwerkt.",
            "U hoeft niets te doen.",
        ),
        fr=("Déjà reçu", "Nous avons déjà reçu et traité ce même document.", "Vous ne devez rien faire."),
    ),
    _entry(
        "email-invalid",
        _B,
        en=("E-mail address invalid", "An e-mail address on the form is not a valid address."),
        nl=(
            "E-mailadres ongeldig",
            "Een e-mailadres op het formulier is geen geldig adres.",
            "Kijk het e-mailadres na (bijvoorbeeld naam@firma.be) en stuur het formulier opnieuw.",
        ),
        fr=(
            "Adresse e-mail invalide",
            "Une adresse e-mail du formulaire n'est pas valide.",
            "Vérifiez l'adresse (par exemple nom@societe.be) et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "end-date-past",
        _B,
        en=("End date not in the future", "The end date of access is today or already past."),
        nl=(
            "Einddatum ligt niet in de toekomst",
            "De einddatum van de toegang is vandaag of al voorbij.",
            "Vul bij ‘Einddatum toegang’ een datum na vandaag in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Date de fin non future",
            "La date de fin d'accès est aujourd'hui ou déjà passée.",
            "Indiquez dans « Date de fin d'accès » une date postérieure à aujourd'hui et renvoyez la fiche.",
        ),
    ),
    _entry(
        "enterprise-number-checksum",
        _B,
        en=("Enterprise number wrong", "The enterprise number does not exist (its check digits are wrong)."),
        nl=(
            "Ondernemingsnummer klopt niet",
            "Het ondernemingsnummer bestaat niet: de controlecijfers kloppen niet.",
            "Neem het ondernemingsnummer over uit de KBO (10 cijfers) en stuur het formulier opnieuw.",
        ),
        fr=(
            "Numéro d'entreprise erroné",
            "Le numéro d'entreprise n'existe pas : les chiffres de contrôle sont faux.",
            "Recopiez le numéro d'entreprise de la BCE (10 chiffres) et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "enterprise-number-format",
        _B,
        en=("Enterprise number unreadable", "The enterprise number is not ten digits."),
        nl=(
            "Ondernemingsnummer onleesbaar",
            "Het ondernemingsnummer bestaat niet uit tien cijfers.",
            "Vul het ondernemingsnummer in als 10 cijfers (bijvoorbeeld 0123.456.789) en stuur het formulier opnieuw.",
        ),
        fr=(
            "Numéro d'entreprise illisible",
            "Le numéro d'entreprise ne compte pas dix chiffres.",
            "Indiquez le numéro d'entreprise en 10 chiffres (par exemple 0123.456.789) et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "enterprise-number-invalid",
        _S,
        en=("Enterprise number invalid", "The reference import holds an invalid enterprise number."),
        nl=(
            "Ondernemingsnummer ongeldig",
            "De geïmporteerde referentiegegevens bevatten een ongeldig ondernemingsnummer.",
        ),
        fr=(
            "Numéro d'entreprise invalide",
            "Les données de référence importées contiennent un numéro d'entreprise invalide.",
        ),
    ),
    _entry(
        "enterprise-number-unreadable",
        _B,
        en=("Enterprise number unreadable", "The organisation's enterprise number could not be read."),
        nl=(
            "Ondernemingsnummer onleesbaar",
            "Wij konden het ondernemingsnummer van uw organisatie niet lezen.",
            "Vul het ondernemingsnummer duidelijk in (10 cijfers) en stuur het formulier opnieuw.",
        ),
        fr=(
            "Numéro d'entreprise illisible",
            "Nous n'avons pas pu lire le numéro d'entreprise de votre organisation.",
            "Indiquez lisiblement le numéro d'entreprise (10 chiffres) et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "explode-failed",
        _S,
        en=("Message not unpacked", "A received message could not be split into its parts."),
        nl=("Bericht niet uitgepakt", "Een ontvangen bericht kon niet in zijn delen gesplitst worden."),
        fr=("Message non décompressé", "Un message reçu n'a pas pu être séparé en ses parties."),
    ),
    _entry(
        "external-company-required",
        _B,
        en=("Firm missing", "An external user needs the name of the firm they work for."),
        nl=(
            "Firma ontbreekt",
            "Voor een externe persoon moet de naam van de firma ingevuld zijn.",
            "Vul bij ‘Firma’ de naam van de firma in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Société manquante",
            "Pour une personne externe, le nom de la société doit être complété.",
            "Indiquez le nom de la société dans « Société » et renvoyez la fiche.",
        ),
    ),
    _entry(
        "external-end-date-required",
        _B,
        en=("End date missing", "An external user needs an end date of access."),
        nl=(
            "Einddatum ontbreekt",
            "Voor een externe persoon moet de einddatum van de toegang ingevuld zijn.",
            "Vul bij ‘Einddatum toegang’ een datum na vandaag in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Date de fin manquante",
            "Pour une personne externe, la date de fin d'accès doit être complétée.",
            "Indiquez dans « Date de fin d'accès » une date postérieure à aujourd'hui et renvoyez la fiche.",
        ),
    ),
    _entry(
        "field-required",
        _B,
        en=("Field left empty", "A field that must be filled in is empty."),
        nl=(
            "Veld niet ingevuld",
            "Een verplicht veld op het formulier is leeg.",
            "Vul alle verplichte velden in en stuur het formulier opnieuw.",
        ),
        fr=(
            "Champ vide",
            "Un champ obligatoire du formulaire est vide.",
            "Complétez tous les champs obligatoires et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "field-too-long",
        _B,
        en=("Field too long", "A field holds more text than it may."),
        nl=(
            "Veld te lang",
            "Een veld op het formulier bevat meer tekst dan toegelaten.",
            "Kort de tekst in dat veld in en stuur het formulier opnieuw.",
        ),
        fr=(
            "Champ trop long",
            "Un champ du formulaire contient plus de texte que permis.",
            "Raccourcissez le texte de ce champ et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "file-empty",
        _B,
        en=("File empty", "The attached file is empty."),
        nl=("Bestand leeg", "Het bijgevoegde bestand is leeg.", "Stuur het ingevulde formulier opnieuw als bijlage."),
        fr=("Fichier vide", "Le fichier joint est vide.", "Renvoyez le formulaire complété en pièce jointe."),
    ),
    _entry(
        "file-not-regular",
        _S,
        en=("Not a regular file", "An entry of the drop folder is not a regular file."),
        nl=("Geen gewoon bestand", "Een item in de afgiftemap is geen gewoon bestand."),
        fr=("Pas un fichier ordinaire", "Un élément du dossier de dépôt n'est pas un fichier ordinaire."),
    ),
    _entry(
        "file-symlink",
        _S,
        en=("Link refused", "A symbolic link in the drop folder is not followed."),
        nl=("Koppeling geweigerd", "Een symbolische koppeling in de afgiftemap wordt niet gevolgd."),
        fr=("Lien refusé", "Un lien symbolique du dossier de dépôt n'est pas suivi."),
    ),
    _entry(
        "file-too-large",
        _B,
        en=("File too large", "The file is larger than the product accepts."),
        nl=(
            "Bestand te groot",
            "Het bestand is groter dan wij kunnen aanvaarden.",
            "Stuur het formulier als PDF-bestand van hoogstens enkele megabytes.",
        ),
        fr=(
            "Fichier trop volumineux",
            "Le fichier dépasse la taille que nous pouvons accepter.",
            "Envoyez le formulaire en PDF de quelques mégaoctets au plus.",
        ),
    ),
    _entry(
        "file-unreadable",
        _S,
        en=("File unreadable", "A file of a source could not be read; it is tried again."),
        nl=("Bestand onleesbaar", "Een bestand uit een bron kon niet gelezen worden; het wordt opnieuw geprobeerd."),
        fr=("Fichier illisible", "Un fichier d'une source n'a pas pu être lu ; il sera réessayé."),
    ),
    _entry(
        GENERIC_CODE,
        _O,
        en=("Form not processed", "The form could not be processed."),
        nl=(
            "Formulier niet verwerkt",
            "Wij konden het formulier niet verwerken.",
            "Neem contact met ons op als u niet weet wat u moet aanpassen.",
        ),
        fr=(
            "Formulaire non traité",
            "Nous n'avons pas pu traiter le formulaire.",
            "Contactez-nous si vous ne savez pas ce qu'il faut corriger.",
        ),
    ),
    _entry(
        "hostile-structure",
        _B,
        en=("File refused", "The file's structure is not one we open safely."),
        nl=(
            "Bestand geweigerd",
            "Om veiligheidsredenen openen wij dit bestand niet.",
            "Stuur het formulier opnieuw als gewoon PDF-bestand, ingevuld met een courant programma.",
        ),
        fr=(
            "Fichier refusé",
            "Pour des raisons de sécurité, nous n'ouvrons pas ce fichier.",
            "Renvoyez le formulaire en PDF ordinaire, complété avec un logiciel courant.",
        ),
    ),
    _entry(
        "human-approval-required",
        _S,
        en=(
            "Signature to check",
            "Agreements and Master User fiches are checked by a person (signature, authority to sign).",
        ),
        nl=(
            "Handtekening na te kijken",
            "Overeenkomsten en Master User fiches worden door een medewerker nagekeken (handtekening, bevoegdheid).",
        ),
        fr=(
            "Signature à vérifier",
            "Les conventions et fiches Master User sont vérifiées par un collaborateur (signature, pouvoir de signer).",
        ),
    ),
    _entry(
        "imap-command-refused",
        _S,
        en=("Mail server refused a command", "The IMAP server refused a command."),
        nl=("Mailserver weigerde een opdracht", "De IMAP-server weigerde een opdracht."),
        fr=("Commande refusée par le serveur", "Le serveur IMAP a refusé une commande."),
    ),
    _entry(
        "imap-connect-failed",
        _S,
        en=("Mail server unreachable", "No connection to the IMAP server could be made."),
        nl=("Mailserver onbereikbaar", "Er kon geen verbinding met de IMAP-server gemaakt worden."),
        fr=("Serveur de messagerie injoignable", "Aucune connexion au serveur IMAP n'a pu être établie."),
    ),
    _entry(
        "imap-connection-lost",
        _S,
        en=("Mail server connection lost", "The connection to the IMAP server broke off."),
        nl=("Verbinding met mailserver verbroken", "De verbinding met de IMAP-server werd verbroken."),
        fr=("Connexion au serveur perdue", "La connexion au serveur IMAP a été interrompue."),
    ),
    _entry(
        "imap-fetch-cut",
        _S,
        en=("Message cut off", "The IMAP server sent a message shorter than announced."),
        nl=("Bericht afgebroken", "De IMAP-server stuurde een bericht dat korter is dan aangekondigd."),
        fr=("Message tronqué", "Le serveur IMAP a envoyé un message plus court qu'annoncé."),
    ),
    _entry(
        "imap-fetch-refused",
        _S,
        en=("Message not fetched", "The IMAP server refused to hand over a message."),
        nl=("Bericht niet opgehaald", "De IMAP-server weigerde een bericht door te geven."),
        fr=("Message non récupéré", "Le serveur IMAP a refusé de transmettre un message."),
    ),
    _entry(
        "imap-login-failed",
        _S,
        en=("Mail server login failed", "The IMAP server refused the configured user name or password."),
        nl=("Aanmelden op mailserver mislukt", "De IMAP-server weigerde de ingestelde gebruiker of het wachtwoord."),
        fr=("Connexion au serveur refusée", "Le serveur IMAP a refusé l'utilisateur ou le mot de passe configuré."),
    ),
    _entry(
        "imap-move",
        _S,
        en=("Message not moved", "A message could not be moved to its folder on the IMAP server."),
        nl=("Bericht niet verplaatst", "Een bericht kon op de IMAP-server niet naar zijn map verplaatst worden."),
        fr=("Message non déplacé", "Un message n'a pas pu être déplacé dans son dossier sur le serveur IMAP."),
    ),
    _entry(
        "imap-plaintext-refused",
        _S,
        en=("Unencrypted connection refused", "The IMAP connection would send the password unencrypted."),
        nl=("Onversleutelde verbinding geweigerd", "De IMAP-verbinding zou het wachtwoord onversleuteld versturen."),
        fr=("Connexion non chiffrée refusée", "La connexion IMAP enverrait le mot de passe en clair."),
    ),
    _entry(
        "import-columns-missing",
        _S,
        en=("Columns missing", "The import file lacks required columns."),
        nl=("Kolommen ontbreken", "Het importbestand mist verplichte kolommen."),
        fr=("Colonnes manquantes", "Le fichier d'import n'a pas toutes les colonnes requises."),
    ),
    _entry(
        "import-empty",
        _S,
        en=("Import empty", "The import file holds no rows."),
        nl=("Import leeg", "Het importbestand bevat geen rijen."),
        fr=("Import vide", "Le fichier d'import ne contient aucune ligne."),
    ),
    _entry(
        "import-file-missing",
        _S,
        en=("Import file missing", "The import file does not exist."),
        nl=("Importbestand ontbreekt", "Het importbestand bestaat niet."),
        fr=("Fichier d'import manquant", "Le fichier d'import n'existe pas."),
    ),
    _entry(
        "import-too-many-rows",
        _S,
        en=("Import too large", "The import file holds more rows than allowed."),
        nl=("Import te groot", "Het importbestand bevat meer rijen dan toegelaten."),
        fr=("Import trop volumineux", "Le fichier d'import contient plus de lignes que permis."),
    ),
    _entry(
        "import-unreadable",
        _S,
        en=("Import unreadable", "The import file cannot be read as CSV."),
        nl=("Import onleesbaar", "Het importbestand kan niet als CSV gelezen worden."),
        fr=("Import illisible", "Le fichier d'import ne peut pas être lu en CSV."),
    ),
    _entry(
        "inline-image",
        _S,
        en=("Image in the mail body", "An image shown in the mail body was not read as a form."),
        nl=("Afbeelding in de tekst", "Een afbeelding in de tekst van de mail werd niet als formulier gelezen."),
        fr=("Image dans le texte", "Une image affichée dans le texte du mail n'a pas été lue comme formulaire."),
    ),
    _entry(
        "login-duplicate-row",
        _S,
        en=("Login listed twice", "The import lists a login twice."),
        nl=("Login dubbel vermeld", "De import vermeldt een login twee keer."),
        fr=("Login en double", "L'import mentionne deux fois un login."),
    ),
    _entry(
        "login-invalid",
        _S,
        en=("Login invalid", "The import holds a login that is not valid."),
        nl=("Login ongeldig", "De import bevat een ongeldige login."),
        fr=("Login invalide", "L'import contient un login invalide."),
    ),
    _entry(
        "login-space-exhausted",
        _S,
        en=("No login left", "No free login could be found for a new account."),
        nl=("Geen login meer vrij", "Er werd geen vrije login gevonden voor een nieuwe account."),
        fr=("Plus de login libre", "Aucun login libre n'a été trouvé pour un nouveau compte."),
    ),
    _entry(
        "login-taken",
        _S,
        en=("Login taken", "The import names a login already in use."),
        nl=("Login bezet", "De import vermeldt een login die al in gebruik is."),
        fr=("Login déjà pris", "L'import mentionne un login déjà utilisé."),
    ),
    _entry(
        "mail-address-invalid",
        _S,
        en=("Address not usable", "The recipient address is not one plain e-mail address."),
        nl=("Adres onbruikbaar", "Het adres van de bestemmeling is geen gewoon e-mailadres."),
        fr=("Adresse inutilisable", "L'adresse du destinataire n'est pas une simple adresse e-mail."),
    ),
    _entry(
        "mail-event-purpose",
        _S,
        en=("Mail kind mismatch", "This kind of mail does not belong to this recipient."),
        nl=("Soort mail past niet", "Deze soort mail hoort niet bij deze bestemmeling."),
        fr=("Type de mail incohérent", "Ce type de mail ne correspond pas à ce destinataire."),
    ),
    _entry(
        "mail-file-write",
        _S,
        en=("Mail file not written", "The mail could not be written to the outbox folder."),
        nl=("Mailbestand niet geschreven", "De mail kon niet in de uitgaande map geschreven worden."),
        fr=("Fichier mail non écrit", "Le mail n'a pas pu être écrit dans le dossier d'envoi."),
    ),
    _entry(
        "mail-header-injected",
        _S,
        en=("Mail headers refused", "The message carried headers it must not."),
        nl=("Mailkoppen geweigerd", "Het bericht bevatte koppen die niet toegelaten zijn."),
        fr=("En-têtes refusés", "Le message contenait des en-têtes non permis."),
    ),
    _entry(
        "mail-key-conflict",
        _S,
        en=("Mail key reused", "The mail's idempotency key was already used for another mail."),
        nl=("Mailsleutel hergebruikt", "De sleutel van deze mail werd al voor een andere mail gebruikt."),
        fr=("Clé de mail réutilisée", "La clé de ce mail a déjà servi pour un autre mail."),
    ),
    _entry(
        "mail-key-invalid",
        _S,
        en=("Mail key invalid", "A mail needs an idempotency key of 1 to 200 characters."),
        nl=("Mailsleutel ongeldig", "Een mail heeft een sleutel van 1 tot 200 tekens nodig."),
        fr=("Clé de mail invalide", "Un mail a besoin d'une clé de 1 à 200 caractères."),
    ),
    _entry(
        "mail-message-id",
        _S,
        en=("Message-ID invalid", "The message has no usable Message-ID."),
        nl=("Message-ID ongeldig", "Het bericht heeft geen bruikbare Message-ID."),
        fr=("Message-ID invalide", "Le message n'a pas de Message-ID utilisable."),
    ),
    _entry(
        "mail-no-recipient",
        _S,
        en=("No recipient", "There is no active account with a usable address for this mail."),
        nl=("Geen bestemmeling", "Er is geen actieve account met een bruikbaar adres voor deze mail."),
        fr=("Aucun destinataire", "Il n'y a pas de compte actif avec une adresse utilisable pour ce mail."),
    ),
    _entry(
        "mail-not-delivered",
        _S,
        en=("Mail not delivered", "A queued mail could not be delivered in this run."),
        nl=("Mail niet afgeleverd", "Een mail in de wachtrij kon tijdens deze run niet afgeleverd worden."),
        fr=("Mail non distribué", "Un mail en attente n'a pas pu être distribué lors de ce passage."),
    ),
    _entry(
        "mail-params-invalid",
        _S,
        en=("Mail data invalid", "The data for the mail do not match its template."),
        nl=("Maildata ongeldig", "De gegevens voor de mail passen niet bij het sjabloon."),
        fr=("Données du mail invalides", "Les données du mail ne correspondent pas à son modèle."),
    ),
    _entry(
        "mail-params-secret",
        _S,
        en=("Secret in mail data", "Mail data looked like a secret and were refused."),
        nl=("Geheim in maildata", "De maildata leken een geheim te bevatten en werden geweigerd."),
        fr=("Secret dans les données", "Les données du mail semblaient contenir un secret et ont été refusées."),
    ),
    _entry(
        "mail-recipient-mismatch",
        _S,
        en=("Recipient mismatch", "The message was not addressed to exactly its one allowed recipient."),
        nl=("Bestemmeling klopt niet", "Het bericht was niet gericht aan precies zijn ene toegelaten bestemmeling."),
        fr=("Destinataire incohérent", "Le message n'était pas adressé à son seul destinataire autorisé."),
    ),
    _entry(
        "mail-superseded",
        _S,
        en=(
            "Replaced by a newer mail",
            "A newer credentials mail for the same account was queued before this "
            "one went out; only the newer one is sent.",
        ),
        nl=(
            "Vervangen door een nieuwere mail",
            "Voor dezelfde account werd een nieuwere mail met "
            "toegangsgegevens klaargezet voor deze vertrok; alleen de nieuwste wordt verstuurd.",
        ),
        fr=(
            "Remplacé par un mail plus récent",
            "Un mail d'accès plus récent pour le même compte a été mis en "
            "attente avant l'envoi de celui-ci ; seul le plus récent est envoyé.",
        ),
    ),
    _entry(
        "mail-template-error",
        _S,
        en=("Mail not rendered", "The mail template could not be filled in."),
        nl=("Mail niet opgemaakt", "Het mailsjabloon kon niet ingevuld worden."),
        fr=("Mail non généré", "Le modèle de mail n'a pas pu être complété."),
    ),
    _entry(
        "mail-template-missing",
        _S,
        en=("Mail template missing", "There is no template for this mail in this language."),
        nl=("Mailsjabloon ontbreekt", "Er is geen sjabloon voor deze mail in deze taal."),
        fr=("Modèle de mail manquant", "Il n'y a pas de modèle pour ce mail dans cette langue."),
    ),
    _entry(
        "maildir-unreadable",
        _S,
        en=("Maildir unreadable", "The Maildir folder cannot be read."),
        nl=("Maildir onleesbaar", "De Maildir-map kan niet gelezen worden."),
        fr=("Maildir illisible", "Le dossier Maildir ne peut pas être lu."),
    ),
    _entry(
        "message-too-large",
        _B,
        en=("Mail too large", "The mail is larger than we accept; nothing in it was read."),
        nl=(
            "Mail te groot",
            "De mail is groter dan wij aanvaarden; er werd niets uit gelezen.",
            "Stuur de formulieren opnieuw in een kleinere mail, bijvoorbeeld één formulier per mail.",
        ),
        fr=(
            "Mail trop volumineux",
            "Le mail dépasse la taille acceptée ; rien n'y a été lu.",
            "Renvoyez les formulaires dans un mail plus léger, par exemple un formulaire par mail.",
        ),
    ),
    _entry(
        "message-unreadable",
        _S,
        en=("Mail unreadable", "A received mail could not be read."),
        nl=("Mail onleesbaar", "Een ontvangen mail kon niet gelezen worden."),
        fr=("Mail illisible", "Un mail reçu n'a pas pu être lu."),
    ),
    _entry(
        "nesting-too-deep",
        _S,
        en=("Mail nested too deep", "A part nested too deeply in the mail was not read."),
        nl=("Mail te diep genest", "Een te diep genest deel van de mail werd niet gelezen."),
        fr=("Mail trop imbriqué", "Une partie trop profondément imbriquée du mail n'a pas été lue."),
    ),
    _entry(
        "no-form-attachment",
        _B,
        en=("No form attached", "The mail carries no attachment that could be a form."),
        nl=(
            "Geen formulier bijgevoegd",
            "De mail bevatte geen bijlage die een formulier kan zijn.",
            "Voeg het ingevulde formulier als PDF-bijlage toe en stuur de mail opnieuw.",
        ),
        fr=(
            "Aucun formulaire joint",
            "Le mail ne contenait aucune pièce jointe pouvant être un formulaire.",
            "Joignez le formulaire complété en PDF et renvoyez le mail.",
        ),
    ),
    _entry(
        "not-a-form",
        _B,
        en=("Not one of our forms", "The document is not a form of the Extranet Aanvullend Pensioen."),
        nl=(
            "Geen formulier van het Extranet",
            "Het document is geen formulier van het Extranet Aanvullend Pensioen.",
            "Gebruik de formulieren die wij u bezorgden en stuur het ingevulde formulier opnieuw.",
        ),
        fr=(
            "Pas un formulaire de l'Extranet",
            "Le document n'est pas un formulaire de l'Extranet Pension complémentaire.",
            "Utilisez les formulaires que nous vous avons fournis et renvoyez le formulaire complété.",
        ),
    ),
    _entry(
        "not-a-form-type",
        _S,
        en=("Attachment not a form", "An attachment of a type that cannot be a form was skipped."),
        nl=("Bijlage is geen formulier", "Een bijlage van een soort die geen formulier kan zijn, werd overgeslagen."),
        fr=("Pièce jointe non formulaire", "Une pièce jointe d'un type qui ne peut être un formulaire a été ignorée."),
    ),
    _entry(
        "not-mailed-by-master-user",
        _B,
        en=(
            "Not sent by the Master User",
            "A user fiche takes effect by itself only when the Master User mails "
            "it; it waits for a person to check it.",
        ),
        nl=(
            "Niet verstuurd door de Master User",
            "Een gebruikersfiche wordt alleen vanzelf verwerkt als de "
            "Master User ze mailt; een medewerker kijkt ze eerst na.",
            "Laat gebruikersfiches voortaan door de Master User mailen, vanaf zijn of haar eigen adres.",
        ),
        fr=(
            "Pas envoyée par le Master User",
            "Une fiche utilisateur n'est traitée automatiquement que si le "
            "Master User l'envoie par mail ; un collaborateur la vérifie d'abord.",
            "Faites désormais envoyer les fiches utilisateur par le Master User, depuis sa propre adresse.",
        ),
    ),
    _entry(
        "notice-empty",
        _S,
        en=("Nothing to announce", "A notice needs a text saying what is new."),
        nl=("Niets aan te kondigen", "Een bericht heeft een tekst nodig die zegt wat er nieuw is."),
        fr=("Rien à annoncer", "Un avis a besoin d'un texte qui dit ce qui est nouveau."),
    ),
    _entry(
        "notice-language-missing",
        _S,
        en=(
            "Text in one language missing",
            "A text for organisations must be given in Dutch and in French "
            "(or at least in the language of the organisation it goes to).",
        ),
        nl=(
            "Tekst in een taal ontbreekt",
            "Een tekst voor organisaties moet in het Nederlands en in het "
            "Frans gegeven worden (of minstens in de taal van de organisatie).",
        ),
        fr=(
            "Texte manquant dans une langue",
            "Un texte destiné aux organisations doit être donné en "
            "néerlandais et en français (ou au moins dans la langue de l'organisation).",
        ),
    ),
    _entry(
        "ocr-failed",
        _S,
        en=("Scan not read", "Text recognition of a scanned page failed."),
        nl=("Scan niet gelezen", "De tekstherkenning van een gescande pagina mislukte."),
        fr=("Scan non lu", "La reconnaissance de texte d'une page scannée a échoué."),
    ),
    _entry(
        "ocr-low-confidence",
        _S,
        en=("Scan to check", "A value read from a scan is uncertain; a person confirms it."),
        nl=("Scan na te kijken", "Een waarde gelezen uit een scan is onzeker; een medewerker bevestigt ze."),
        fr=("Scan à vérifier", "Une valeur lue sur un scan est incertaine ; un collaborateur la confirme."),
    ),
    _entry(
        "ocr-page-timeout",
        _S,
        en=("Scan took too long", "Text recognition of a page took longer than allowed."),
        nl=("Scan duurde te lang", "De tekstherkenning van een pagina duurde langer dan toegelaten."),
        fr=("Scan trop long", "La reconnaissance de texte d'une page a pris trop de temps."),
    ),
    _entry(
        "ocr-unreadable-field",
        _S,
        en=("Box not readable", "The writing in a box of a scanned form could not be read."),
        nl=("Vak onleesbaar", "Het handschrift in een vak van een gescand formulier kon niet gelezen worden."),
        fr=("Case illisible", "L'écriture d'une case d'un formulaire scanné n'a pas pu être lue."),
    ),
    _entry(
        "org-not-found",
        _S,
        en=("Organisation not found", "There is no dossier for this enterprise number."),
        nl=("Organisatie niet gevonden", "Er is geen dossier voor dit ondernemingsnummer."),
        fr=("Organisation introuvable", "Il n'y a pas de dossier pour ce numéro d'entreprise."),
    ),
    _entry(
        "org-not-locked",
        _S,
        en=("Dossier not locked", "The dossier must be locked before a plan is applied."),
        nl=("Dossier niet vergrendeld", "Het dossier moet vergrendeld zijn voor een plan uitgevoerd wordt."),
        fr=("Dossier non verrouillé", "Le dossier doit être verrouillé avant d'appliquer un plan."),
    ),
    _entry(
        "org-not-open",
        _S,
        en=("Access not open", "This organisation has no open access yet."),
        nl=("Toegang niet open", "Deze organisatie heeft nog geen open toegang."),
        fr=("Accès non ouvert", "Cette organisation n'a pas encore d'accès ouvert."),
    ),
    _entry(
        "other-platform",
        _B,
        en=(
            "Form of another platform",
            "This form belongs to another Ethias platform, whose access is managed separately.",
        ),
        nl=(
            "Formulier van een ander platform",
            "Dit formulier hoort bij een ander platform van Ethias; die toegang wordt apart beheerd.",
            "Stuur dit formulier naar de dienst die dat platform beheert, zoals op het formulier vermeld.",
        ),
        fr=(
            "Formulaire d'une autre plateforme",
            "Ce formulaire relève d'une autre plateforme d'Ethias, dont l'accès est géré séparément.",
            "Envoyez ce formulaire au service qui gère cette plateforme, comme indiqué sur le formulaire.",
        ),
    ),
    _entry(
        "outbox-row-vanished",
        _S,
        en=("Mail vanished", "A mail disappeared from the outbox while it was being sent."),
        nl=("Mail verdwenen", "Een mail verdween uit de wachtrij terwijl ze verstuurd werd."),
        fr=("Mail disparu", "Un mail a disparu de la file d'envoi pendant son envoi."),
    ),
    _entry(
        "parse-memory",
        _B,
        en=("File too heavy to read", "Reading the file needed more memory than allowed."),
        nl=(
            "Bestand te zwaar",
            "Het bestand is te zwaar om te lezen.",
            "Stuur het formulier opnieuw als gewoon PDF-bestand, zonder extra bijlagen of afbeeldingen.",
        ),
        fr=(
            "Fichier trop lourd",
            "Le fichier est trop lourd pour être lu.",
            "Renvoyez le formulaire en PDF ordinaire, sans annexes ni images supplémentaires.",
        ),
    ),
    _entry(
        "parse-timeout",
        _B,
        en=("File took too long to read", "Reading the file took longer than allowed."),
        nl=(
            "Bestand te traag",
            "Het lezen van het bestand duurde te lang.",
            "Stuur het formulier opnieuw als gewoon PDF-bestand, zonder extra bijlagen of afbeeldingen.",
        ),
        fr=(
            "Fichier trop lent",
            "La lecture du fichier a pris trop de temps.",
            "Renvoyez le formulaire en PDF ordinaire, sans annexes ni images supplémentaires.",
        ),
    ),
    _entry(
        "part-too-large",
        _S,
        en=("Attachment too large", "An attachment larger than allowed was skipped."),
        nl=("Bijlage te groot", "Een bijlage die groter is dan toegelaten, werd overgeslagen."),
        fr=("Pièce jointe trop volumineuse", "Une pièce jointe trop volumineuse a été ignorée."),
    ),
    _entry(
        "pdf-corrupt",
        _B,
        en=("PDF damaged", "The PDF file is damaged and cannot be opened."),
        nl=(
            "PDF beschadigd",
            "Het PDF-bestand is beschadigd en kan niet geopend worden.",
            "Bewaar het formulier opnieuw als PDF en stuur het nog eens.",
        ),
        fr=(
            "PDF endommagé",
            "Le fichier PDF est endommagé et ne peut pas être ouvert.",
            "Enregistrez à nouveau le formulaire en PDF et renvoyez-le.",
        ),
    ),
    _entry(
        "pdf-embedded-files-ignored",
        _S,
        en=("Embedded files ignored", "The PDF carries embedded files; they were not opened."),
        nl=("Ingebedde bestanden genegeerd", "De PDF bevat ingebedde bestanden; die werden niet geopend."),
        fr=("Fichiers intégrés ignorés", "Le PDF contient des fichiers intégrés ; ils n'ont pas été ouverts."),
    ),
    _entry(
        "pdf-encrypted",
        _B,
        en=("PDF protected", "The PDF is protected with a password and cannot be read."),
        nl=(
            "PDF beveiligd",
            "Het PDF-bestand is met een wachtwoord beveiligd en kan niet gelezen worden.",
            "Stuur het formulier opnieuw zonder wachtwoordbeveiliging.",
        ),
        fr=(
            "PDF protégé",
            "Le fichier PDF est protégé par un mot de passe et ne peut pas être lu.",
            "Renvoyez le formulaire sans protection par mot de passe.",
        ),
    ),
    _entry(
        "pdf-javascript-ignored",
        _S,
        en=("Scripts ignored", "The PDF carries scripts or automatic actions; they were not run."),
        nl=("Scripts genegeerd", "De PDF bevat scripts of automatische acties; die werden niet uitgevoerd."),
        fr=("Scripts ignorés", "Le PDF contient des scripts ou actions automatiques ; ils n'ont pas été exécutés."),
    ),
    _entry(
        "phone-invalid",
        _B,
        en=("Phone number invalid", "A phone number on the form is not a valid number."),
        nl=(
            "Telefoonnummer ongeldig",
            "Een telefoonnummer op het formulier is geen geldig nummer.",
            "Vul een volledig telefoonnummer in (bijvoorbeeld 02 123 45 67) en stuur het formulier opnieuw.",
        ),
        fr=(
            "Numéro de téléphone invalide",
            "Un numéro de téléphone du formulaire n'est pas valide.",
            "Indiquez un numéro complet (par exemple 02 123 45 67) et renvoyez le formulaire.",
        ),
    ),
    _entry(
        "reissue-actor-missing",
        _S,
        en=("Requester missing", "Say who asks for the new password (--by NAME)."),
        nl=("Aanvrager ontbreekt", "Vermeld wie het nieuwe wachtwoord aanvraagt (--by NAAM)."),
        fr=("Demandeur manquant", "Indiquez qui demande le nouveau mot de passe (--by NOM)."),
    ),
    _entry(
        "reissue-not-queued",
        _S,
        en=("Re-issue not queued", "The new password mail could not be queued."),
        nl=("Nieuw wachtwoord niet klaargezet", "De mail met het nieuwe wachtwoord kon niet klaargezet worden."),
        fr=("Nouveau mot de passe non programmé", "Le mail du nouveau mot de passe n'a pas pu être mis en attente."),
    ),
    _entry(
        "rejected-by-reviewer",
        _O,
        en=("Refused after review", "A member of our team looked at the form and could not accept it."),
        nl=(
            "Geweigerd na nazicht",
            "Een medewerker van onze dienst heeft het formulier nagekeken en kon het niet aanvaarden.",
            "Neem contact met ons op voor meer uitleg.",
        ),
        fr=(
            "Refusé après vérification",
            "Un collaborateur de notre service a examiné le formulaire et n'a pas pu l'accepter.",
            "Contactez-nous pour plus d'explications.",
        ),
    ),
    _entry(
        "render-bad-data",
        _S,
        en=("Form data invalid", "The data given to fill in a form are not valid JSON of fields."),
        nl=("Formuliergegevens ongeldig", "De gegevens om een formulier in te vullen zijn geen geldige JSON."),
        fr=("Données de formulaire invalides", "Les données pour remplir un formulaire ne sont pas du JSON valide."),
    ),
    _entry(
        "render-unknown-field",
        _S,
        en=("Unknown field", "The data name a field the form does not have."),
        nl=("Onbekend veld", "De gegevens vermelden een veld dat het formulier niet heeft."),
        fr=("Champ inconnu", "Les données citent un champ que le formulaire n'a pas."),
    ),
    _entry(
        "review-already-decided",
        _S,
        en=("Already decided", "This review item was already approved or rejected."),
        nl=("Al beslist", "Over dit item werd al beslist."),
        fr=("Déjà décidé", "Cet élément a déjà été approuvé ou refusé."),
    ),
    _entry(
        "review-correction-invalid",
        _S,
        en=("Correction invalid", "A corrected value does not pass the form's checks."),
        nl=("Verbetering ongeldig", "Een verbeterde waarde doorstaat de controles van het formulier niet."),
        fr=("Correction invalide", "Une valeur corrigée ne passe pas les contrôles du formulaire."),
    ),
    _entry(
        "review-correction-syntax",
        _S,
        en=("Correction unreadable", "A correction must be written field=value."),
        nl=("Verbetering onleesbaar", "Een verbetering schrijft u als veld=waarde."),
        fr=("Correction illisible", "Une correction s'écrit champ=valeur."),
    ),
    _entry(
        "review-document-missing",
        _S,
        en=("Queued document missing", "The document of this review item is gone."),
        nl=("Document ontbreekt", "Het document van dit item is verdwenen."),
        fr=("Document manquant", "Le document de cet élément a disparu."),
    ),
    _entry(
        "review-not-found",
        _S,
        en=("Review item not found", "No review item has this number."),
        nl=("Item niet gevonden", "Er is geen item met dit nummer."),
        fr=("Élément introuvable", "Aucun élément ne porte ce numéro."),
    ),
    _entry(
        "review-note-language-missing",
        _S,
        en=(
            "Note not in the organisation's language",
            "A note to the organisation must be given in its language (--note-nl or --note-fr).",
        ),
        nl=(
            "Opmerking niet in de taal van de organisatie",
            "Een opmerking voor de organisatie moet in haar taal gegeven worden (--note-nl of --note-fr).",
        ),
        fr=(
            "Note pas dans la langue de l'organisation",
            "Une note pour l'organisation doit être donnée dans sa langue (--note-nl ou --note-fr).",
        ),
    ),
    _entry(
        "review-reason-missing",
        _S,
        en=("Reason missing", "A rejection needs a reason from the catalogue (--reason CODE)."),
        nl=("Reden ontbreekt", "Een weigering heeft een reden uit de catalogus nodig (--reason CODE)."),
        fr=("Motif manquant", "Un refus a besoin d'un motif du catalogue (--reason CODE)."),
    ),
    _entry(
        "review-reason-unknown",
        _S,
        en=("Reason not in the catalogue", "The reason is not a code the organisation may be shown."),
        nl=("Reden niet in de catalogus", "De reden is geen code die aan de organisatie getoond mag worden."),
        fr=("Motif hors catalogue", "Le motif n'est pas un code qui peut être montré à l'organisation."),
    ),
    _entry(
        "review-reviewer-missing",
        _S,
        en=("Reviewer missing", "Every decision names who took it (--by NAME)."),
        nl=("Beoordelaar ontbreekt", "Elke beslissing vermeldt wie ze nam (--by NAAM)."),
        fr=("Réviseur manquant", "Chaque décision indique qui l'a prise (--by NOM)."),
    ),
    _entry(
        "review-rules-refused",
        _S,
        en=("Rules refuse the form", "Even corrected, the dossier rules refuse this form; reject it instead."),
        nl=("Regels weigeren het formulier", "Ook verbeterd weigeren de dossierregels dit formulier; weiger het dan."),
        fr=(
            "Règles refusent le formulaire",
            "Même corrigé, les règles du dossier refusent ce formulaire ; refusez-le.",
        ),
    ),
    _entry(
        "review-unknown-field",
        _S,
        en=("Unknown field", "The correction names a field the form does not have."),
        nl=("Onbekend veld", "De verbetering vermeldt een veld dat het formulier niet heeft."),
        fr=("Champ inconnu", "La correction cite un champ que le formulaire n'a pas."),
    ),
    _entry(
        "run-locked",
        _S,
        en=("Run already busy", "Another run holds the lock; this one did not start."),
        nl=("Run al bezig", "Een andere run is bezig; deze werd niet gestart."),
        fr=("Passage déjà en cours", "Un autre passage est en cours ; celui-ci n'a pas démarré."),
    ),
    _entry(
        "secret-missing",
        _S,
        en=("Secret missing", "A password or key the configuration names is not set."),
        nl=("Geheim ontbreekt", "Een wachtwoord of sleutel uit de configuratie is niet ingesteld."),
        fr=("Secret manquant", "Un mot de passe ou une clé cité dans la configuration n'est pas défini."),
    ),
    _entry(
        "sender-not-authenticated",
        _B,
        en=(
            "Sender not confirmed",
            "The mail's sender could not be confirmed (no valid DMARC); a person checks the fiche first.",
        ),
        nl=(
            "Afzender niet bevestigd",
            "Wij konden niet bevestigen dat de mail echt van de afzender kwam; een medewerker kijkt de fiche eerst na.",
            "Stuur fiches vanaf het gewone mailadres van de Master User, niet via een doorstuurdienst.",
        ),
        fr=(
            "Expéditeur non confirmé",
            "Nous n'avons pas pu confirmer que le mail venait bien de "
            "l'expéditeur ; un collaborateur vérifie d'abord la fiche.",
            "Envoyez les fiches depuis l'adresse habituelle du Master User, sans service de transfert.",
        ),
    ),
    _entry(
        "sender-not-master-user",
        _B,
        en=(
            "Not sent by the Master User",
            "The fiche was mailed from another address than the Master User's; a person checks it first.",
        ),
        nl=(
            "Niet verstuurd door de Master User",
            "De fiche werd gemaild vanaf een ander adres dan dat van de Master User; een medewerker kijkt ze eerst na.",
            "Laat gebruikersfiches voortaan door de Master User mailen, vanaf zijn of haar eigen adres.",
        ),
        fr=(
            "Pas envoyée par le Master User",
            "La fiche a été envoyée depuis une autre adresse que celle du "
            "Master User ; un collaborateur la vérifie d'abord.",
            "Faites désormais envoyer les fiches utilisateur par le Master User, depuis sa propre adresse.",
        ),
    ),
    _entry(
        "signatory-not-authorised",
        _O,
        en=("Signatory not authorised", "The person who signed may not sign for the organisation."),
        nl=(
            "Ondertekenaar niet bevoegd",
            "De persoon die ondertekende, is niet bevoegd om de organisatie te vertegenwoordigen.",
            "Laat het formulier ondertekenen door een wettelijke vertegenwoordiger van de organisatie en "
            "stuur het opnieuw.",
        ),
        fr=(
            "Signataire non habilité",
            "La personne qui a signé n'est pas habilitée à représenter l'organisation.",
            "Faites signer le formulaire par un représentant légal de l'organisation et renvoyez-le.",
        ),
    ),
    _entry(
        "signature-missing",
        _O,
        en=("Signature missing", "The form is not signed."),
        nl=(
            "Handtekening ontbreekt",
            "Het formulier is niet ondertekend.",
            "Onderteken het formulier en stuur het opnieuw.",
        ),
        fr=("Signature manquante", "Le formulaire n'est pas signé.", "Signez le formulaire et renvoyez-le."),
    ),
    _entry(
        "signed-date-old",
        _B,
        en=("Signed long ago", "The form was signed more than six months ago."),
        nl=(
            "Lang geleden ondertekend",
            "Het formulier werd meer dan zes maanden geleden ondertekend.",
            "Kijk na of de gegevens nog kloppen; stuur zo nodig een nieuw ondertekend formulier.",
        ),
        fr=(
            "Signé il y a longtemps",
            "Le formulaire a été signé il y a plus de six mois.",
            "Vérifiez que les données sont toujours exactes ; au besoin, envoyez un nouveau formulaire signé.",
        ),
    ),
    _entry(
        "smtp-auth-failed",
        _S,
        en=("Mail server login failed", "The SMTP server refused the configured user name or password."),
        nl=("Aanmelden op verzendserver mislukt", "De SMTP-server weigerde de ingestelde gebruiker of het wachtwoord."),
        fr=("Connexion SMTP refusée", "Le serveur SMTP a refusé l'utilisateur ou le mot de passe configuré."),
    ),
    _entry(
        "smtp-concurrency",
        _S,
        en=("Too many connections", "The SMTP transport's connection limit is set wrongly."),
        nl=("Te veel verbindingen", "De limiet op SMTP-verbindingen is verkeerd ingesteld."),
        fr=("Trop de connexions", "La limite de connexions SMTP est mal configurée."),
    ),
    _entry(
        "smtp-unreachable",
        _S,
        en=("Mail server unreachable", "No connection to the SMTP server could be made."),
        nl=("Verzendserver onbereikbaar", "Er kon geen verbinding met de SMTP-server gemaakt worden."),
        fr=("Serveur SMTP injoignable", "Aucune connexion au serveur SMTP n'a pu être établie."),
    ),
    _entry(
        "smtp-deferred",
        _S,
        en=("Delivery deferred", "The SMTP server asked to try later."),
        nl=("Aflevering uitgesteld", "De SMTP-server vroeg om het later opnieuw te proberen."),
        fr=("Distribution différée", "Le serveur SMTP a demandé de réessayer plus tard."),
    ),
    _entry(
        "smtp-disconnected",
        _S,
        en=("Mail server hung up", "The SMTP server closed the connection."),
        nl=("Verzendserver verbrak verbinding", "De SMTP-server sloot de verbinding."),
        fr=("Serveur SMTP déconnecté", "Le serveur SMTP a fermé la connexion."),
    ),
    _entry(
        "smtp-error",
        _S,
        en=("Mail server error", "The SMTP exchange failed."),
        nl=("Fout van verzendserver", "De uitwisseling met de SMTP-server mislukte."),
        fr=("Erreur du serveur SMTP", "L'échange avec le serveur SMTP a échoué."),
    ),
    _entry(
        "smtp-host-missing",
        _S,
        en=("Mail server not set", "No SMTP host is configured."),
        nl=("Verzendserver niet ingesteld", "Er is geen SMTP-server ingesteld."),
        fr=("Serveur SMTP non configuré", "Aucun serveur SMTP n'est configuré."),
    ),
    _entry(
        "smtp-recipient-refused",
        _S,
        en=("Recipient refused", "The SMTP server refused the recipient address."),
        nl=("Bestemmeling geweigerd", "De SMTP-server weigerde het adres van de bestemmeling."),
        fr=("Destinataire refusé", "Le serveur SMTP a refusé l'adresse du destinataire."),
    ),
    _entry(
        "smtp-rejected",
        _S,
        en=("Mail refused", "The SMTP server refused the message."),
        nl=("Mail geweigerd", "De SMTP-server weigerde het bericht."),
        fr=("Mail refusé", "Le serveur SMTP a refusé le message."),
    ),
    _entry(
        "smtp-timeout",
        _S,
        en=("Mail server too slow", "The SMTP server did not answer in time."),
        nl=("Verzendserver te traag", "De SMTP-server antwoordde niet op tijd."),
        fr=("Serveur SMTP trop lent", "Le serveur SMTP n'a pas répondu à temps."),
    ),
    _entry(
        "store-write-failed",
        _S,
        en=("Document not stored", "The original could not be written to the document store."),
        nl=("Document niet bewaard", "Het origineel kon niet in de documentopslag geschreven worden."),
        fr=("Document non conservé", "L'original n'a pas pu être écrit dans le stockage."),
    ),
    _entry(
        "terms-not-accepted",
        _B,
        en=("Terms not accepted", "The box accepting the terms of the agreement is not ticked."),
        nl=(
            "Voorwaarden niet aanvaard",
            "Het vakje waarmee u de voorwaarden aanvaardt, is niet aangekruist.",
            "Kruis het vakje ‘Ik heb de voorwaarden gelezen en aanvaard’ aan en stuur de overeenkomst opnieuw.",
        ),
        fr=(
            "Conditions non acceptées",
            "La case d'acceptation des conditions n'est pas cochée.",
            "Cochez la case « J'ai lu et j'accepte les conditions » et renvoyez la convention.",
        ),
    ),
    _entry(
        "too-many-parts",
        _S,
        en=("Too many attachments", "The mail has more parts than are read; the rest was skipped."),
        nl=("Te veel bijlagen", "De mail heeft meer delen dan er gelezen worden; de rest werd overgeslagen."),
        fr=("Trop de pièces jointes", "Le mail a plus de parties que nous n'en lisons ; le reste a été ignoré."),
    ),
    _entry(
        "undecodable-part",
        _S,
        en=("Attachment unreadable", "An attachment could not be decoded."),
        nl=("Bijlage onleesbaar", "Een bijlage kon niet gedecodeerd worden."),
        fr=("Pièce jointe illisible", "Une pièce jointe n'a pas pu être décodée."),
    ),
    _entry(
        "unknown-form",
        _B,
        en=("Unknown form", "The form is not one we know."),
        nl=(
            "Onbekend formulier",
            "Dit formulier kennen wij niet.",
            "Gebruik de formulieren die wij u bezorgden en stuur het ingevulde formulier opnieuw.",
        ),
        fr=(
            "Formulaire inconnu",
            "Nous ne connaissons pas ce formulaire.",
            "Utilisez les formulaires que nous vous avons fournis et renvoyez le formulaire complété.",
        ),
    ),
    _entry(
        "unpack-failed",
        _S,
        en=("Mail not unpacked", "A received mail could not be unpacked."),
        nl=("Mail niet uitgepakt", "Een ontvangen mail kon niet uitgepakt worden."),
        fr=("Mail non décompressé", "Un mail reçu n'a pas pu être décompressé."),
    ),
    _entry(
        "unsupported-type",
        _B,
        en=("File type not accepted", "The file is not a PDF or Excel form."),
        nl=(
            "Bestandstype niet aanvaard",
            "Het bestand is geen PDF- of Excel-formulier.",
            "Stuur het formulier als PDF-bestand (of het Excel-formulier dat wij u bezorgden).",
        ),
        fr=(
            "Type de fichier non accepté",
            "Le fichier n'est pas un formulaire PDF ou Excel.",
            "Envoyez le formulaire en PDF (ou le formulaire Excel que nous vous avons fourni).",
        ),
    ),
    _entry(
        "unsupported-version",
        _B,
        en=("Old version of the form", "The form is an older version that is no longer accepted."),
        nl=(
            "Oude versie van het formulier",
            "Dit is een oudere versie van het formulier die niet meer aanvaard wordt.",
            "Vul de nieuwste versie van het formulier in en stuur die opnieuw.",
        ),
        fr=(
            "Ancienne version du formulaire",
            "Il s'agit d'une ancienne version du formulaire, qui n'est plus acceptée.",
            "Complétez la version la plus récente du formulaire et renvoyez-la.",
        ),
    ),
    _entry(
        "user-ambiguous",
        _B,
        en=("Person not identified", "Several accesses match this fiche; we cannot tell which one is meant."),
        nl=(
            "Persoon niet eenduidig",
            "Meerdere toegangen passen bij deze fiche; wij weten niet welke bedoeld is.",
            "Vul bij ‘Bestaande login’ de login van de persoon in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Personne non identifiée",
            "Plusieurs accès correspondent à cette fiche ; nous ne savons pas lequel est visé.",
            "Indiquez le login de la personne dans « Login existant » et renvoyez la fiche.",
        ),
    ),
    _entry(
        "user-email-in-use",
        _B,
        en=("E-mail address already used", "Another active access of the organisation uses this e-mail address."),
        nl=(
            "E-mailadres al in gebruik",
            "Een andere actieve toegang van uw organisatie gebruikt dit e-mailadres al. Eén persoon heeft één toegang.",
            "Vul het persoonlijke e-mailadres van de gebruiker in, of stuur een wijziging voor de bestaande toegang.",
        ),
        fr=(
            "Adresse e-mail déjà utilisée",
            "Un autre accès actif de votre organisation utilise déjà cette adresse. Une personne a un seul accès.",
            "Indiquez l'adresse personnelle de l'utilisateur, ou envoyez une modification de l'accès existant.",
        ),
    ),
    _entry(
        "user-email-is-notification-address",
        _B,
        en=(
            "Shared address used",
            "The user's e-mail is the organisation's notification address; login details are never sent there.",
        ),
        nl=(
            "Gedeeld adres gebruikt",
            "Het e-mailadres van de gebruiker is het adres voor kennisgevingen van "
            "uw organisatie. Daar sturen wij nooit toegangsgegevens naartoe.",
            "Vul bij ‘Persoonlijk e-mailadres’ het eigen adres van de gebruiker in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Adresse partagée utilisée",
            "L'adresse de l'utilisateur est l'adresse de notification de votre "
            "organisation. Nous n'y envoyons jamais de données d'accès.",
            "Indiquez l'adresse propre de l'utilisateur dans « Adresse e-mail personnelle » et renvoyez la fiche.",
        ),
    ),
    _entry(
        "user-email-missing",
        _B,
        en=("E-mail address missing", "The fiche gives no personal e-mail address for the user."),
        nl=(
            "E-mailadres ontbreekt",
            "De fiche vermeldt geen persoonlijk e-mailadres van de gebruiker.",
            "Vul bij ‘Persoonlijk e-mailadres’ het adres van de gebruiker in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Adresse e-mail manquante",
            "La fiche n'indique pas d'adresse e-mail personnelle de l'utilisateur.",
            "Indiquez l'adresse de l'utilisateur dans « Adresse e-mail personnelle » et renvoyez la fiche.",
        ),
    ),
    _entry(
        "user-email-required",
        _B,
        en=("E-mail address missing", "A new or changed access needs the user's personal e-mail address."),
        nl=(
            "E-mailadres ontbreekt",
            "Voor een nieuwe of gewijzigde toegang is het persoonlijke e-mailadres van de gebruiker nodig.",
            "Vul bij ‘Persoonlijk e-mailadres’ het adres van de gebruiker in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Adresse e-mail manquante",
            "Un accès nouveau ou modifié nécessite l'adresse e-mail personnelle de l'utilisateur.",
            "Indiquez l'adresse de l'utilisateur dans « Adresse e-mail personnelle » et renvoyez la fiche.",
        ),
    ),
    _entry(
        "user-not-found",
        _B,
        en=("Person not found", "No active access of the organisation matches the login or e-mail on the fiche."),
        nl=(
            "Persoon niet gevonden",
            "Geen enkele toegang van uw organisatie past bij de login of het e-mailadres op de fiche.",
            "Kijk de login (‘Bestaande login’) of het e-mailadres na en stuur de fiche opnieuw.",
        ),
        fr=(
            "Personne introuvable",
            "Aucun accès de votre organisation ne correspond au login ou à l'adresse de la fiche.",
            "Vérifiez le login (« Login existant ») ou l'adresse et renvoyez la fiche.",
        ),
    ),
    _entry(
        "xlsx-bomb",
        _B,
        en=("Excel file refused", "The Excel file unpacks to far more than a form; it was not opened."),
        nl=(
            "Excel-bestand geweigerd",
            "Het Excel-bestand is veel groter dan een formulier; het werd niet geopend.",
            "Gebruik het Excel-formulier dat wij u bezorgden, of stuur een PDF.",
        ),
        fr=(
            "Fichier Excel refusé",
            "Le fichier Excel est bien plus volumineux qu'un formulaire ; il n'a pas été ouvert.",
            "Utilisez le formulaire Excel que nous vous avons fourni, ou envoyez un PDF.",
        ),
    ),
    _entry(
        "xlsx-corrupt",
        _B,
        en=("Excel file damaged", "The Excel file is damaged and cannot be opened."),
        nl=(
            "Excel-bestand beschadigd",
            "Het Excel-bestand is beschadigd en kan niet geopend worden.",
            "Bewaar het formulier opnieuw en stuur het nog eens, of stuur een PDF.",
        ),
        fr=(
            "Fichier Excel endommagé",
            "Le fichier Excel est endommagé et ne peut pas être ouvert.",
            "Enregistrez à nouveau le formulaire et renvoyez-le, ou envoyez un PDF.",
        ),
    ),
    # --- intake, parsing, provisioning, operations and staff codes of the 2026-11-30 wave ----------------
    _entry(
        "email-not-ascii",
        _B,
        en=(
            "E-mail address with accents",
            "The address contains characters outside plain ASCII (é, ö, ñ …); access codes cannot be mailed to it.",
        ),
        nl=(
            "E-mailadres met accenten",
            "Het e-mailadres bevat tekens met accenten of andere bijzondere tekens "
            "(é, ö, ñ …). Naar zo'n adres kunnen wij de toegangscodes niet versturen.",
            "Vul een e-mailadres zonder accenten in en stuur de fiche opnieuw.",
        ),
        fr=(
            "Adresse e-mail avec accents",
            "L'adresse contient des caractères accentués ou spéciaux (é, ö, ñ …). "
            "Nous ne pouvons pas y envoyer les codes d'accès.",
            "Indiquez une adresse e-mail sans accents et renvoyez la fiche.",
        ),
    ),
    _entry(
        "field-control-character",
        _B,
        en=("Unreadable character in a field", "A field holds an invisible control character; the value was not kept."),
        nl=(
            "Onleesbaar teken in een veld",
            "Een veld bevat een onzichtbaar stuurteken; wij hebben de waarde niet overgenomen.",
            "Typ de waarde opnieuw in (niet kopiëren en plakken) en stuur de fiche opnieuw.",
        ),
        fr=(
            "Caractère illisible dans un champ",
            "Un champ contient un caractère de contrôle invisible ; la valeur n'a pas été reprise.",
            "Retapez la valeur (sans copier-coller) et renvoyez la fiche.",
        ),
    ),
    _entry(
        "phone-unknown-range",
        _B,
        en=("Telephone number not recognised", "The number is possible but not in a known range; it was kept."),
        nl=(
            "Telefoonnummer niet herkend",
            "Het nummer is mogelijk, maar valt niet in een gekende reeks. Wij hebben het overgenomen.",
            "Kijk het nummer na; is het juist, dan hoeft u niets te doen.",
        ),
        fr=(
            "Numéro de téléphone non reconnu",
            "Le numéro est possible mais n'appartient pas à une série connue. Nous l'avons repris.",
            "Vérifiez le numéro ; s'il est correct, vous ne devez rien faire.",
        ),
    ),
    _entry(
        "pdf-launch-action-ignored",
        _B,
        en=(
            "PDF starts a program",
            "The PDF asks the reader to start a program or open a file; this was not "
            "done and a person checks the form.",
        ),
        nl=(
            "PDF wil een programma starten",
            "Het PDF-bestand vraagt om een programma te starten of een bestand "
            "te openen. Dat hebben wij niet gedaan; een medewerker kijkt het formulier na.",
            "Stuur het formulier bij voorkeur opnieuw als gewone PDF, ingevuld met het formulier van Ethias.",
        ),
        fr=(
            "Le PDF lance un programme",
            "Le fichier PDF demande de lancer un programme ou d'ouvrir un fichier. "
            "Nous ne l'avons pas fait ; un collaborateur vérifie le formulaire.",
            "Renvoyez de préférence le formulaire en PDF simple, complété avec le formulaire d'Ethias.",
        ),
    ),
    _entry(
        "pdf-xfa-ignored",
        _B,
        en=(
            "PDF with an XFA form",
            "The PDF carries an XFA form; only its ordinary fields were read and a person checks them.",
        ),
        nl=(
            "PDF met XFA-formulier",
            "Het PDF-bestand bevat een XFA-formulier. Wij hebben alleen de gewone "
            "velden gelezen; een medewerker kijkt ze na.",
            "Vul bij voorkeur het formulier van Ethias in met een gewone PDF-lezer.",
        ),
        fr=(
            "PDF avec formulaire XFA",
            "Le fichier PDF contient un formulaire XFA. Seuls les champs ordinaires "
            "ont été lus ; un collaborateur les vérifie.",
            "Complétez de préférence le formulaire d'Ethias avec un lecteur PDF ordinaire.",
        ),
    ),
    _entry(
        "email-change-needs-review",
        _S,
        en=(
            "E-mail change checked by a person",
            "The fiche moves an existing access to another address; a "
            "person approves it before new codes go out and the old address is told.",
        ),
        nl=(
            "Wijziging van e-mailadres nagekeken",
            "De fiche verplaatst een bestaande toegang naar een ander "
            "adres; een medewerker keurt dat goed voor er nieuwe codes vertrekken.",
        ),
        fr=(
            "Changement d'adresse vérifié",
            "La fiche déplace un accès existant vers une autre adresse ; un "
            "collaborateur l'approuve avant l'envoi de nouveaux codes.",
        ),
    ),
    _entry(
        "stack-blank-page",
        _S,
        en=("Blank page in a scan", "A page of a scanned stack holds no ink; a person confirms it is empty."),
        nl=("Blanco pagina in een scan", "Een pagina van een gescande stapel is leeg; een medewerker bevestigt dat."),
        fr=("Page blanche dans un scan", "Une page d'une pile scannée est vide ; un collaborateur le confirme."),
    ),
    _entry(
        "stack-page-without-form",
        _B,
        en=("Page that is not a form", "A page of the scanned or combined file is not one of the Extranet forms."),
        nl=(
            "Pagina zonder formulier",
            "Een pagina van het gescande of samengevoegde bestand is geen formulier van het Extranet.",
            "Stuur alleen de formulieren van het Extranet Aanvullend Pensioen, elk volledig.",
        ),
        fr=(
            "Page sans formulaire",
            "Une page du fichier scanné ou combiné n'est pas un formulaire de l'Extranet.",
            "N'envoyez que les formulaires de l'Extranet Pension complémentaire, chacun complet.",
        ),
    ),
    _entry(
        "stack-too-many-pages",
        _B,
        en=("Too many pages in one file", "A file with more than 40 pages is not split into forms."),
        nl=(
            "Te veel pagina's in één bestand",
            "Een bestand van meer dan 40 pagina's wordt niet in formulieren opgesplitst.",
            "Stuur de formulieren in meerdere bestanden van hoogstens 40 pagina's.",
        ),
        fr=(
            "Trop de pages dans un fichier",
            "Un fichier de plus de 40 pages n'est pas découpé en formulaires.",
            "Envoyez les formulaires en plusieurs fichiers de 40 pages au plus.",
        ),
    ),
    _entry(
        "stack-split",
        _S,
        en=(
            "File split into forms",
            "A file holding several forms was split; each form is a document of its own pointing to its pages.",
        ),
        nl=(
            "Bestand opgesplitst",
            "Een bestand met meerdere formulieren werd opgesplitst; elk formulier is een "
            "eigen document met zijn pagina's.",
        ),
        fr=(
            "Fichier découpé",
            "Un fichier contenant plusieurs formulaires a été découpé ; chaque formulaire est "
            "un document distinct avec ses pages.",
        ),
    ),
    _entry(
        "forms-refused",
        _S,
        en=("Every form refused", "All forms of the mail were refused; the mail waits for a person."),
        nl=(
            "Alle formulieren geweigerd",
            "Alle formulieren van de mail werden geweigerd; de mail wacht op een medewerker.",
        ),
        fr=(
            "Tous les formulaires refusés",
            "Tous les formulaires du mail ont été refusés ; le mail attend un collaborateur.",
        ),
    ),
    _entry(
        "people-mail-not-found",
        _S,
        en=(
            "Mail for people already moved",
            "A mail for people was no longer in the processed folder; someone moved it first.",
        ),
        nl=(
            "Mail al verplaatst",
            "Een mail voor een medewerker stond niet meer in de map van verwerkte mails; iemand verplaatste ze al.",
        ),
        fr=(
            "Mail déjà déplacé",
            "Un mail destiné à un collaborateur n'était plus dans le dossier des mails "
            "traités ; quelqu'un l'a déjà déplacé.",
        ),
    ),
    _entry(
        "config-missing-value",
        _S,
        en=(
            "Setting missing",
            "A setting the configuration needs is empty (an SMTP transport without a host, IMAP without host or user).",
        ),
        nl=(
            "Instelling ontbreekt",
            "Een nodige instelling is leeg (SMTP zonder server, IMAP zonder server of gebruiker).",
        ),
        fr=(
            "Paramètre manquant",
            "Un paramètre nécessaire est vide (SMTP sans serveur, IMAP sans serveur ou utilisateur).",
        ),
    ),
    _entry(
        "database-schema-outdated",
        _S,
        en=("Database not migrated", "The database schema is older than this program; run `extranet-intake migrate`."),
        nl=(
            "Database niet bijgewerkt",
            "Het databaseschema is ouder dan dit programma; voer `extranet-intake migrate` uit.",
        ),
        fr=(
            "Base de données non migrée",
            "Le schéma de la base est plus ancien que ce programme ; lancez `extranet-intake migrate`.",
        ),
    ),
    _entry(
        "database-schema-newer",
        _S,
        en=(
            "Database newer than the program",
            "The database schema is at a revision this program does not know; run the newer program.",
        ),
        nl=(
            "Database nieuwer dan het programma",
            "Het databaseschema heeft een versie die dit programma niet kent; gebruik het nieuwere programma.",
        ),
        fr=(
            "Base plus récente que le programme",
            "Le schéma de la base est à une version que ce programme ne "
            "connaît pas ; utilisez le programme plus récent.",
        ),
    ),
    _entry(
        "database-migration-heads",
        _S,
        en=("Migration scripts disagree", "The migration scripts do not form one line of revisions."),
        nl=("Migratiescripts niet eenduidig", "De migratiescripts vormen geen enkele lijn van versies."),
        fr=("Scripts de migration incohérents", "Les scripts de migration ne forment pas une seule suite de versions."),
    ),
    _entry(
        "database-unreachable",
        _S,
        en=("Database unreachable", "The database could not be reached or opened."),
        nl=("Database onbereikbaar", "De database kon niet bereikt of geopend worden."),
        fr=("Base de données injoignable", "La base de données n'a pas pu être atteinte ou ouverte."),
    ),
    _entry(
        "database-locked",
        _S,
        en=("Database busy", "Another process kept the database locked longer than the waiting time."),
        nl=("Database bezet", "Een ander proces hield de database langer bezet dan de wachttijd."),
        fr=(
            "Base de données occupée",
            "Un autre processus a verrouillé la base plus longtemps que le délai d'attente.",
        ),
    ),
    _entry(
        "metrics-write-failed",
        _S,
        en=("Metrics file not written", "The monitoring metrics of the run could not be written."),
        nl=("Metriekbestand niet geschreven", "De meetwaarden van de run konden niet weggeschreven worden."),
        fr=("Fichier de métriques non écrit", "Les métriques de l'exécution n'ont pas pu être écrites."),
    ),
    _entry(
        "last-run-failed",
        _S,
        en=("Last run failed", "The last daily run finished with failures."),
        nl=("Laatste run mislukt", "De laatste dagelijkse run eindigde met fouten."),
        fr=("Dernière exécution en échec", "La dernière exécution quotidienne s'est terminée avec des erreurs."),
    ),
    _entry(
        "mail-waiting-too-long",
        _S,
        en=("Mail waiting too long", "A mail has waited in the outbox longer than the alert threshold."),
        nl=("Mail wacht te lang", "Een mail wacht langer in de uitgaande post dan de alarmdrempel."),
        fr=("Mail en attente trop longtemps", "Un mail attend dans la file d'envoi au-delà du seuil d'alerte."),
    ),
    _entry(
        "mail-refused",
        _S,
        en=("Mail withheld", "A due mail was withheld: its recipient is missing or changed."),
        nl=("Mail tegengehouden", "Een mail werd niet verstuurd: de ontvanger ontbreekt of is gewijzigd."),
        fr=("Mail retenu", "Un mail n'a pas été envoyé : le destinataire manque ou a changé."),
    ),
    _entry(
        "mail-internal-error",
        _S,
        en=("Mail not prepared", "Preparing a mail failed unexpectedly; it will be tried again."),
        nl=("Mail niet voorbereid", "Het opmaken van een mail mislukte onverwacht; ze wordt opnieuw geprobeerd."),
        fr=("Mail non préparé", "La préparation d'un mail a échoué ; il sera réessayé."),
    ),
    _entry(
        "mail-transport-error",
        _S,
        en=("Mail transport failed", "Handing a mail to the mail server failed unexpectedly."),
        nl=("Verzending mislukt", "Het afgeven van een mail aan de mailserver mislukte onverwacht."),
        fr=("Transmission échouée", "La remise d'un mail au serveur de messagerie a échoué."),
    ),
    _entry(
        "smtp-refused-session",
        _S,
        en=("Mail server refused the session", "The SMTP server answered the connection with an error."),
        nl=("Verzendserver weigert", "De SMTP-server antwoordde met een fout op de verbinding."),
        fr=("Serveur SMTP refuse", "Le serveur SMTP a répondu à la connexion par une erreur."),
    ),
    _entry(
        "smtp-tls-failed",
        _S,
        en=("Secure connection failed", "TLS or STARTTLS with the SMTP server failed (certificate?)."),
        nl=("Beveiligde verbinding mislukt", "TLS of STARTTLS met de SMTP-server mislukte (certificaat?)."),
        fr=("Connexion sécurisée échouée", "TLS ou STARTTLS avec le serveur SMTP a échoué (certificat ?)."),
    ),
    _entry(
        "audit-head-mismatch",
        _S,
        en=(
            "Audit head disagrees with the chain",
            "The stored head of the audit chain does not match its last "
            "entry; nothing is appended until this is resolved.",
        ),
        nl=(
            "Auditkop klopt niet",
            "De bewaarde kop van de auditketen komt niet overeen met de laatste regel; er "
            "wordt niets toegevoegd tot dit opgelost is.",
        ),
        fr=(
            "Tête d'audit incohérente",
            "La tête enregistrée de la chaîne d'audit ne correspond pas à sa "
            "dernière entrée ; rien n'est ajouté avant résolution.",
        ),
    ),
    _entry(
        "staff-name-invalid",
        _S,
        en=(
            "Invalid staff name",
            "A staff name is 2–64 lower-case letters, digits, '.', '_' or '-', starting with a letter.",
        ),
        nl=(
            "Ongeldige naam",
            "Een naam telt 2 tot 64 kleine letters, cijfers, '.', '_' of '-' en begint met een letter.",
        ),
        fr=("Nom invalide", "Un nom compte 2 à 64 minuscules, chiffres, '.', '_' ou '-' et commence par une lettre."),
    ),
    _entry(
        "staff-role-invalid",
        _S,
        en=("Invalid role", "The role is reviewer, auditor or admin."),
        nl=("Ongeldige rol", "De rol is reviewer, auditor of admin."),
        fr=("Rôle invalide", "Le rôle est reviewer, auditor ou admin."),
    ),
    _entry(
        "staff-language-invalid",
        _S,
        en=("Invalid language", "The language is nl or fr."),
        nl=("Ongeldige taal", "De taal is nl of fr."),
        fr=("Langue invalide", "La langue est nl ou fr."),
    ),
    _entry(
        "staff-name-taken",
        _S,
        en=("Name already used", "A staff account with this name or sign-in identity exists."),
        nl=("Naam al in gebruik", "Er bestaat al een account met deze naam of aanmeldidentiteit."),
        fr=("Nom déjà utilisé", "Un compte existe déjà avec ce nom ou cette identité de connexion."),
    ),
    _entry(
        "staff-unknown",
        _S,
        en=("Unknown staff member", "No staff account has this name."),
        nl=("Onbekende medewerker", "Er bestaat geen account met deze naam."),
        fr=("Collaborateur inconnu", "Aucun compte ne porte ce nom."),
    ),
    _entry(
        "staff-disabled",
        _S,
        en=("Account disabled", "This staff account is disabled."),
        nl=("Account uitgeschakeld", "Dit account is uitgeschakeld."),
        fr=("Compte désactivé", "Ce compte est désactivé."),
    ),
    _entry(
        "staff-bad-password",
        _S,
        en=("Wrong name or password", "The name or the password is not right."),
        nl=("Verkeerde naam of wachtwoord", "De naam of het wachtwoord is niet juist."),
        fr=("Nom ou mot de passe incorrect", "Le nom ou le mot de passe n'est pas correct."),
    ),
    _entry(
        "staff-totp-required",
        _S,
        en=("One-time code needed", "This account signs in with a one-time code as well."),
        nl=("Eenmalige code nodig", "Dit account meldt zich ook aan met een eenmalige code."),
        fr=("Code à usage unique requis", "Ce compte se connecte aussi avec un code à usage unique."),
    ),
    _entry(
        "staff-totp-invalid",
        _S,
        en=("Wrong one-time code", "The one-time code is not right or has expired."),
        nl=("Verkeerde eenmalige code", "De eenmalige code is niet juist of verlopen."),
        fr=("Code à usage unique incorrect", "Le code à usage unique est incorrect ou expiré."),
    ),
    _entry(
        "staff-throttled",
        _S,
        en=("Too many attempts", "Too many failed sign-ins for this name or address; try again later."),
        nl=("Te veel pogingen", "Te veel mislukte aanmeldingen voor deze naam of dit adres; probeer later opnieuw."),
        fr=("Trop de tentatives", "Trop de connexions échouées pour ce nom ou cette adresse ; réessayez plus tard."),
    ),
    _entry(
        "staff-oidc-unknown",
        _S,
        en=("Sign-in identity not known", "No staff account matches the identity provider's user."),
        nl=(
            "Aanmeldidentiteit onbekend",
            "Geen enkel account komt overeen met de gebruiker van de identiteitsprovider.",
        ),
        fr=("Identité de connexion inconnue", "Aucun compte ne correspond à l'utilisateur du fournisseur d'identité."),
    ),
    _entry(
        "staff-oidc-no-role",
        _S,
        en=("No role from the identity provider", "The identity provider gave no role this desk knows."),
        nl=("Geen rol van de identiteitsprovider", "De identiteitsprovider gaf geen rol die dit bureau kent."),
        fr=("Aucun rôle du fournisseur", "Le fournisseur d'identité n'a donné aucun rôle connu."),
    ),
    _entry(
        "staff-oidc-state",
        _S,
        en=("Sign-in expired", "The sign-in round trip was not started here or took too long; start again."),
        nl=("Aanmelding verlopen", "De aanmelding begon niet hier of duurde te lang; begin opnieuw."),
        fr=("Connexion expirée", "La connexion n'a pas commencé ici ou a pris trop de temps ; recommencez."),
    ),
    _entry(
        "staff-oidc-denied",
        _S,
        en=("Identity provider refused", "The identity provider returned an error instead of a sign-in."),
        nl=("Identiteitsprovider weigerde", "De identiteitsprovider gaf een fout in plaats van een aanmelding."),
        fr=("Fournisseur d'identité refuse", "Le fournisseur d'identité a renvoyé une erreur."),
    ),
    _entry(
        "staff-oidc-token",
        _S,
        en=("Sign-in token refused", "The identity provider's token could not be obtained or checked."),
        nl=("Aanmeldtoken geweigerd", "Het token van de identiteitsprovider kon niet opgehaald of nagekeken worden."),
        fr=("Jeton de connexion refusé", "Le jeton du fournisseur d'identité n'a pas pu être obtenu ou vérifié."),
    ),
    _entry(
        "staff-oidc-discovery",
        _S,
        en=("Identity provider misconfigured", "The provider's discovery document names another issuer."),
        nl=(
            "Identiteitsprovider verkeerd ingesteld",
            "Het discovery-document van de provider noemt een andere uitgever.",
        ),
        fr=("Fournisseur mal configuré", "Le document de découverte du fournisseur nomme un autre émetteur."),
    ),
    # --- the desk ------------------------------------------------------------------------------------------
    _entry(
        "review-same-approver",
        _S,
        en=("Already approved by you", "You already approved these values; another person must approve them."),
        nl=("Al door u goedgekeurd", "U keurde deze waarden al goed; een andere persoon moet ze goedkeuren."),
        fr=("Déjà approuvé par vous", "Vous avez déjà approuvé ces valeurs ; une autre personne doit les approuver."),
    ),
    _entry(
        "audit-export-delimiter",
        _S,
        en=("Unknown CSV separator", "The CSV separator is ',' or ';' (what Excel expects in Belgium)."),
        nl=("Onbekend scheidingsteken", "Het scheidingsteken van de CSV is ',' of ';' (wat Excel in België verwacht)."),
        fr=("Séparateur inconnu", "Le séparateur du CSV est ',' ou ';' (ce qu'Excel attend en Belgique)."),
    ),
    _entry(
        "render-page-missing",
        _S,
        en=("Page not found", "The original has no page with this number."),
        nl=("Pagina bestaat niet", "Het origineel heeft geen pagina met dit nummer."),
        fr=("Page inexistante", "L'original n'a pas de page portant ce numéro."),
    ),
    _entry(
        "render-failed",
        _S,
        en=("Original not shown", "The original could not be shown as images or as a table."),
        nl=("Origineel niet getoond", "Het origineel kon niet als afbeeldingen of als tabel getoond worden."),
        fr=("Original non affiché", "L'original n'a pas pu être affiché en images ou en tableau."),
    ),
    _entry(
        "render-not-paged",
        _S,
        en=("No pages to show", "This original has no pages to show as images (a spreadsheet or a mail)."),
        nl=(
            "Geen pagina's",
            "Dit origineel heeft geen pagina's om als afbeelding te tonen (een rekenblad of een mail).",
        ),
        fr=("Pas de pages", "Cet original n'a pas de pages à afficher en image (un tableur ou un mail)."),
    ),
    _entry(
        "report-unreadable",
        _S,
        en=("Run report unreadable", "A run report on disk could not be read."),
        nl=("Runrapport onleesbaar", "Een runrapport op schijf kon niet gelezen worden."),
        fr=("Rapport illisible", "Un rapport d'exécution sur disque n'a pas pu être lu."),
    ),
    # --- digital signatures (PAdES) ---------------------------------------------------------------------------
    _entry(
        "signature-invalid",
        _B,
        en=("Digital signature not valid", "The digital signature of the document does not verify."),
        nl=(
            "Digitale handtekening ongeldig",
            "De digitale handtekening van het document klopt niet.",
            "Onderteken het formulier opnieuw (bijvoorbeeld met uw eID) en stuur het opnieuw.",
        ),
        fr=(
            "Signature numérique non valable",
            "La signature numérique du document n'est pas valable.",
            "Signez à nouveau le formulaire (par exemple avec votre eID) et renvoyez-le.",
        ),
    ),
    _entry(
        "signature-modified-after-signing",
        _B,
        en=(
            "Changed after signing",
            "Field values were changed after the document was signed; the values read are not the values signed.",
        ),
        nl=(
            "Gewijzigd na ondertekening",
            "Na de ondertekening werden velden van het formulier gewijzigd; de "
            "gelezen waarden zijn niet de ondertekende.",
            "Vul het formulier volledig in en onderteken het pas daarna; stuur het opnieuw.",
        ),
        fr=(
            "Modifié après signature",
            "Des champs du formulaire ont été modifiés après la signature ; les "
            "valeurs lues ne sont pas celles qui ont été signées.",
            "Complétez entièrement le formulaire avant de le signer, puis renvoyez-le.",
        ),
    ),
    _entry(
        "signature-untrusted",
        _B,
        en=(
            "Signer's certificate not trusted",
            "The signer's certificate does not lead to a trusted root (e.g. the Belgian eID).",
        ),
        nl=(
            "Certificaat niet vertrouwd",
            "Het certificaat van de ondertekenaar hoort niet bij een erkende uitgever (zoals de Belgische eID).",
            "Onderteken met uw eID-kaart of een gekwalificeerd certificaat.",
        ),
        fr=(
            "Certificat non reconnu",
            "Le certificat du signataire n'émane pas d'une autorité reconnue (comme l'eID belge).",
            "Signez avec votre carte eID ou un certificat qualifié.",
        ),
    ),
    _entry(
        "signature-expired",
        _B,
        en=(
            "Certificate not valid when signing",
            "The signer's certificate was not valid at the time of signing (expired or not yet valid).",
        ),
        nl=(
            "Certificaat niet geldig bij ondertekening",
            "Het certificaat van de ondertekenaar was niet geldig op het moment van ondertekenen.",
            "Onderteken opnieuw met een geldig certificaat (bijvoorbeeld uw eID).",
        ),
        fr=(
            "Certificat non valable à la signature",
            "Le certificat du signataire n'était pas valable au moment de la signature.",
            "Signez à nouveau avec un certificat valable (par exemple votre eID).",
        ),
    ),
    _entry(
        "signature-name-mismatch",
        _B,
        en=(
            "Signer is not the representative",
            "The person who signed digitally is not the signatory or legal representative named on the form.",
        ),
        nl=(
            "Ondertekenaar is niet de vertegenwoordiger",
            "De persoon die digitaal ondertekende, is niet de "
            "ondertekenaar of wettelijke vertegenwoordiger die op het formulier staat.",
            "Laat het formulier ondertekenen door de persoon die erop vermeld staat.",
        ),
        fr=(
            "Le signataire n'est pas le représentant",
            "La personne qui a signé numériquement n'est pas le "
            "signataire ou représentant légal indiqué sur le formulaire.",
            "Faites signer le formulaire par la personne qui y est mentionnée.",
        ),
    ),
    _entry(
        "signatures-root-unreadable",
        _S,
        en=(
            "Trusted root not readable",
            "A certificate file named in [signatures] trusted_roots cannot be read as a certificate.",
        ),
        nl=(
            "Vertrouwd rootcertificaat onleesbaar",
            "Een certificaatbestand uit [signatures] trusted_roots kan niet als certificaat gelezen worden.",
        ),
        fr=(
            "Certificat racine illisible",
            "Un fichier de certificat de [signatures] trusted_roots ne peut pas être lu comme certificat.",
        ),
    ),
    # --- the yearly access review -------------------------------------------------------------------------
    _entry(
        "review-reply-incomplete",
        _B,
        en=("Reply not recognised", "The confirmation must answer our access-review mail and keep its review code."),
        nl=(
            "Antwoord niet herkend",
            "Een bevestiging moet antwoorden op onze mail over de jaarlijkse "
            "controle van de toegangen en de controlecode bevatten.",
            "Beantwoord onze mail met ‘Beantwoorden’ en laat de controlecode in het bericht staan.",
        ),
        fr=(
            "Réponse non reconnue",
            "Une confirmation doit répondre à notre mail de revue annuelle des accès et contenir le code de revue.",
            "Répondez à notre mail avec « Répondre » et laissez le code de revue dans le message.",
        ),
    ),
    _entry(
        "review-reply-code-mismatch",
        _B,
        en=(
            "Review code of another organisation",
            "The review code in the reply belongs to another organisation or an earlier review.",
        ),
        nl=(
            "Controlecode van een andere organisatie",
            "De controlecode in het antwoord hoort bij een andere organisatie of een vorige controle.",
            "Beantwoord de meest recente mail die uw organisatie kreeg, zonder de code te wijzigen.",
        ),
        fr=(
            "Code de revue d'une autre organisation",
            "Le code de revue de la réponse appartient à une autre organisation ou à une revue précédente.",
            "Répondez au mail le plus récent reçu par votre organisation, sans modifier le code.",
        ),
    ),
    _entry(
        "access-review-overdue",
        _S,
        en=(
            "Access review not answered",
            "The Master User did not confirm the organisation's accounts by the due date.",
        ),
        nl=(
            "Toegangscontrole niet beantwoord",
            "De Master User bevestigde de accounts van de organisatie niet voor de vervaldatum.",
        ),
        fr=(
            "Revue des accès sans réponse",
            "Le Master User n'a pas confirmé les comptes de l'organisation avant l'échéance.",
        ),
    ),
    _entry(
        "review-due-date-invalid",
        _S,
        en=("Due date not a date", "The due date is written YYYY-MM-DD."),
        nl=("Vervaldatum onleesbaar", "De vervaldatum wordt geschreven als JJJJ-MM-DD."),
        fr=("Échéance illisible", "L'échéance s'écrit AAAA-MM-JJ."),
    ),
    _entry(
        "review-due-date-past",
        _S,
        en=("Due date in the past", "An access review needs a due date after today."),
        nl=("Vervaldatum voorbij", "Een toegangscontrole heeft een vervaldatum na vandaag nodig."),
        fr=("Échéance passée", "Une revue des accès demande une échéance postérieure à aujourd'hui."),
    ),
    _entry(
        "review-org-not-open",
        _S,
        en=("Organisation not open", "Only an organisation whose access is open has accounts to review."),
        nl=("Organisatie niet geopend", "Alleen een organisatie met geopende toegang heeft accounts om na te kijken."),
        fr=("Organisation non ouverte", "Seule une organisation dont l'accès est ouvert a des comptes à revoir."),
    ),
    _entry(
        "no-master-user",
        _S,
        en=("No Master User", "The organisation has no approved Master User to ask."),
        nl=("Geen Master User", "De organisatie heeft geen goedgekeurde Master User om het te vragen."),
        fr=("Pas de Master User", "L'organisation n'a pas de Master User approuvé à qui le demander."),
    ),
    _entry(
        "review-already-waiting",
        _S,
        en=("Review already waiting", "This organisation already has an access review waiting for its answer."),
        nl=("Controle loopt al", "Deze organisatie heeft al een toegangscontrole die op antwoord wacht."),
        fr=("Revue déjà en cours", "Cette organisation a déjà une revue des accès en attente de réponse."),
    ),
)

CATALOGUE: Mapping[str, Reason] = MappingProxyType({r.code: r for r in _ENTRIES})

_SPLIT = re.compile(r"[,\s]+")
_CODE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")


def lookup(code: str) -> Reason | None:
    return CATALOGUE.get(code)


def describe(code: str, lang: str = "en") -> Words:
    """The words of ``code`` in ``lang``; an unknown code is shown as itself (never hidden)."""
    reason = CATALOGUE.get(code)
    return reason.words(lang) if reason is not None else Words(code, code)


def for_organisation(code: str) -> Reason:
    """The entry an organisation may read for ``code``: staff-only and unknown codes become the generic one."""
    reason = CATALOGUE.get(code)
    if reason is None or not reason.for_organisation:
        return CATALOGUE[GENERIC_CODE]
    return reason


def organisation_codes() -> list[str]:
    """The codes a reviewer may give an organisation as the reason of a rejection, sorted."""
    return sorted(code for code, r in CATALOGUE.items() if r.for_organisation)


def reviewer_choices(lang: str) -> list[str]:
    """:func:`organisation_codes` as a person picks them from a list in ``lang``: one code per title (some
    codes are the same reason seen by two rules, e.g. a missing end date), ordered by title."""
    chosen: dict[str, str] = {}
    for code in organisation_codes():
        chosen.setdefault(CATALOGUE[code].words(lang).title, code)
    return [chosen[title] for title in sorted(chosen, key=str.casefold)]


def codes_in(text: str | None) -> list[str]:
    """The catalogue codes a stored reason names (``"a,b"``, ``"a, b"``, ``"code: note"``), in order.

    Free text that names no known code gives ``[]``: callers then show the text as it is.
    """
    if not text:
        return []
    head = text.split(":", 1)[0]
    words = [w for w in _SPLIT.split(head.strip()) if w]
    if words and all(_CODE.fullmatch(w) and w in CATALOGUE for w in words):
        return words
    return []


def titles(codes: Iterable[str], lang: str = "en") -> str:
    """``codes`` as a comma-separated list of titles (for tables)."""
    return ", ".join(describe(c, lang).title for c in codes)


def reason_text(stored: str | None, lang: str = "en") -> str:
    """A stored reason (audit entry, dossier row, review item) in words: the titles of the codes it
    names, then any note after ``:``; free text that names no code is returned as it is."""
    codes = codes_in(stored)
    if not codes:
        return stored or ""
    note = (stored or "").split(":", 1)[1].strip() if ":" in (stored or "") else ""
    if codes_in(note):  # "rejected-by-reviewer: signature-missing"
        note = titles(codes_in(note), lang)
    return titles(codes, lang) + (f" — {note}" if note else "")
