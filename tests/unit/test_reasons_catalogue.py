"""Every code the code base can emit has words in the reason catalogue — collected from the code, not listed by hand."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from extranet_intake.reasons import (
    CATALOGUE,
    GENERIC_CODE,
    Audience,
    codes_in,
    describe,
    for_organisation,
    organisation_codes,
    reason_text,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
#: the product's code (sample and bench tooling is not the product)
PRODUCT = ["extranet_intake"]
KEBAB = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")
#: kebab-case literals of the product that are not reasons: encodings, mail header names, the
#: program's name, the notice kinds of `notify`. The structural scan below may never find one of them.
NOT_REASONS = frozenset(
    {
        "utf-8",
        "utf-8-sig",
        "latin-1",
        "auto-generated",
        "auto-submitted",
        "content-language",
        "content-transfer-encoding",
        "content-type",
        "message-id",
        "mime-version",
        "extranet-intake",
        "new-documents",
        "new-feature",
        # configuration keys, ledger states and sample names, not reasons
        "drop-archive",
        "for-people",
        "x-csrf-token",
        "csrf-anon",
        "csrf-session",
        "cache-control",
        "content-disposition",
        "x-entry-count",
        "soft-fail",
        "review-access",
        "access-review",
        "stack-01-scan-agr-mu-usr",
        "stack-02-scan-blank-upside-down",
        "stack-03-flat-mixed",
        "stack-04-fillable",
    }
)
#: keyword arguments and names whose string values are reasons
REASON_KEYWORDS = frozenset({"code", "reason", "reasons", "rejection", "too_large"})


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for entry in PRODUCT:
        path = ROOT / entry
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for f in files:
            if "migrations" not in f.parts:
                yield f, ast.parse(f.read_text(encoding="utf-8"), filename=str(f))


def _kebab(node: ast.AST | None) -> set[str]:
    """Kebab-case string literals anywhere inside ``node`` (a tuple of reasons, a conditional …)."""
    if node is None:
        return set()
    return {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and KEBAB.fullmatch(n.value)
    }


def _callee(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _code_positions(trees: list[ast.Module]) -> dict[str, int]:
    """Callables that take a ``code``: the IntakeError family (from extranet_intake/errors.py and any subclass), every
    function or method with a ``code`` parameter, every dataclass with a ``code`` field — name → index."""
    positions: dict[str, int] = {}
    family = {"IntakeError"}
    for _ in range(4):  # subclasses of subclasses, across modules
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                    (b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")) in family for b in node.bases
                ):
                    family.add(node.name)
    positions.update({name: 0 for name in family})
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in node.args.args if a.arg not in ("self", "cls")]
                if "code" in names and node.name != "__init__":
                    positions.setdefault(node.name, names.index("code"))
            elif isinstance(node, ast.ClassDef):
                fields = [
                    s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
                if "code" in fields:
                    positions.setdefault(node.name, fields.index("code"))
    return positions


def emitted_codes() -> dict[str, set[str]]:
    """code → files that emit it, found where the code base puts codes:

    the first argument of an ``IntakeError``-family constructor, the ``code`` argument of any
    function or dataclass (``Issue``, a validator's ``error``/``warn``, ``ParsedForm.rejected`` …),
    ``reason``/``reasons``/``code`` keywords (plans, audit intents), the reason of an
    ``AuditIntent``, ``{"code": …}`` entries of run reports, ``getattr(exc, "code", default)``,
    the members of enums of skip reasons, module constants used as codes, and every literal of
    the dossier rules (``extranet_intake/provisioning/rules.py``: its strings are its reasons).
    """
    mods = list(_modules())
    positions = _code_positions([t for _, t in mods])
    found: dict[str, set[str]] = {}

    def add(values: set[str], path: Path) -> None:
        for v in values:
            found.setdefault(v, set()).add(str(path.relative_to(ROOT)))

    for path, tree in mods:
        if path.name == "rules.py" and path.parent.name == "provisioning":
            add(_kebab(tree), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _callee(node)
                if name in positions and len(node.args) > positions[name]:
                    add(_kebab(node.args[positions[name]]), path)
                if name == "AuditIntent" and len(node.args) > 1:
                    add(_kebab(node.args[1]), path)
                if (
                    name == "getattr"
                    and len(node.args) == 3
                    and isinstance(node.args[1], ast.Constant)
                    and node.args[1].value == "code"
                ):
                    add(_kebab(node.args[2]), path)
                for kw in node.keywords:
                    if kw.arg in REASON_KEYWORDS:
                        add(_kebab(kw.value), path)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value in REASON_KEYWORDS:
                        add(_kebab(value), path)
            elif (
                isinstance(node, ast.ClassDef)
                and any(getattr(b, "id", "") == "StrEnum" for b in node.bases)
                and "Reason" in node.name
            ):
                add(_kebab(node), path)
            elif (
                isinstance(node, ast.Assign)
                and node in tree.body
                and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)
            ):
                add(_kebab(node.value) - NOT_REASONS, path)
    return found


def _all_literals() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path, tree in _modules():
        for value in _kebab(tree):
            out.setdefault(value, set()).add(str(path.relative_to(ROOT)))
    return out


def test_every_emitted_code_has_an_entry() -> None:
    found = emitted_codes()
    # the scan itself must see the codes we know of in every layer, or it proves nothing
    assert {
        "review-not-found",
        "user-email-is-notification-address",
        "enterprise-number-checksum",
        "ocr-low-confidence",
        "mail-params-secret",
        "too-many-parts",
        "imap-login-failed",
        "dossier-incomplete",
        "mail-not-delivered",
    } <= set(found)
    missing = {code: sorted(files) for code, files in found.items() if code not in CATALOGUE}
    assert not missing, f"codes without an entry in extranet_intake/reasons.py: {missing}"


def test_no_literal_code_escapes_the_scan() -> None:
    """Any other kebab-case literal is either catalogued or declared a non-reason above — and a
    literal the structural scan finds in a reason position may never be declared a non-reason."""
    stray = {v: sorted(f) for v, f in _all_literals().items() if v not in CATALOGUE and v not in NOT_REASONS}
    assert not stray, (
        f"kebab-case literals that are neither reasons in extranet_intake/reasons.py nor NOT_REASONS: {stray}"
    )
    assert not NOT_REASONS & set(emitted_codes())


def test_every_entry_is_complete_in_three_languages() -> None:
    for code, reason in CATALOGUE.items():
        assert KEBAB.fullmatch(code), code
        for lang in ("en", "nl", "fr"):
            words = reason.words(lang)
            assert words.title.strip(), (code, lang)
            assert words.text.strip(), (code, lang)
            assert code not in words.title + words.text + words.todo, (code, lang)  # words, not codes
        if reason.audience is not Audience.STAFF:
            # what the organisation should do, in its language
            assert reason.nl.todo, code
            assert reason.fr.todo, code
        assert reason.nl.text != reason.fr.text, code


def test_lookups() -> None:
    assert describe("contracts-missing", "fr").title == "Contrats manquants"
    assert describe("no-such-code", "nl").title == "no-such-code"
    assert for_organisation("imap-login-failed").code == GENERIC_CODE
    assert for_organisation("user-email-in-use").code == "user-email-in-use"
    assert "imap-login-failed" not in organisation_codes()
    assert "signature-missing" in organisation_codes()
    assert codes_in("access-end-date-missing,user-email-in-use") == ["access-end-date-missing", "user-email-in-use"]
    assert codes_in("signature-missing: see note") == ["signature-missing"]
    assert codes_in("account created from user fiche") == []
    assert reason_text("rejected-by-reviewer: signature-missing") == "Refused after review — Signature missing"
    assert reason_text("user-email-in-use,contracts-missing", "nl") == "E-mailadres al in gebruik, Contracten ontbreken"
    assert reason_text("fiche replaces profile") == "fiche replaces profile"
