"""The server's words: every catalogue entry in both languages, and every error the code
raises for a person said through the catalogue (``say``), never as an English sentence.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import mailport
from mailport import catalogue
from mailport.catalogue import Words, placeholders, say, words_of
from mailport.domain.identity import Feature, Plan
from mailport.errors import MailportError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "layers/core/mailport", *sorted((ROOT / "functions").glob("*/"))]
JAPANESE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")


def _python_files() -> Iterator[Path]:
    for base in SOURCES:
        for path in sorted(base.rglob("*.py")):
            if "catalogue" not in path.parts and ".chalice" not in path.parts:
                yield path


def _error_classes() -> set[str]:
    for info in pkgutil.walk_packages(mailport.__path__, "mailport."):
        importlib.import_module(info.name)
    names: set[str] = set()
    todo: list[type[MailportError]] = [MailportError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _is_text(node: ast.expr) -> bool:
    """A sentence written in place: a literal, an f-string, or strings joined."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    return False


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield node


@pytest.mark.parametrize("code", sorted(catalogue.entries()))
def test_every_entry_is_in_both_languages_with_the_same_parameters(code: str) -> None:
    en, ja = catalogue.entries()[code]
    assert en.strip() and ja.strip(), code
    assert JAPANESE.search(ja), f"{code}: the Japanese words are not Japanese: {ja!r}"
    assert placeholders(en) == placeholders(ja), code
    filled = say(code, **{name: f"<{name}>" for name in placeholders(en)})
    for language in catalogue.LANGUAGES:
        text = filled.render(language)
        assert "{" not in text.replace("{{", "").replace("}}", ""), (code, language, text)
        for name in placeholders(en):
            assert f"<{name}>" in text, (code, language, name)


def test_every_say_names_a_code_with_exactly_its_parameters() -> None:
    problems = []
    for path in _python_files():
        for call in _calls(path):
            if _callee(call) != "say" or not call.args:
                continue
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            key = call.args[0]
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                problems.append(f"{where}: say() with a computed code")
                continue
            entry = catalogue.entries().get(key.value)
            if entry is None:
                problems.append(f"{where}: no catalogue entry {key.value!r}")
                continue
            given = {k.arg for k in call.keywords}
            if None in given:  # say(code, **params): checked where the params are built
                continue
            if given != placeholders(entry[0]):
                problems.append(f"{where}: {key.value!r} takes {sorted(placeholders(entry[0]))}")
    assert not problems, "\n".join(problems)


def test_no_error_for_a_person_is_an_english_sentence_in_place() -> None:
    classes = _error_classes()
    found: dict[str, list[str]] = {}
    for path in _python_files():
        rel = str(path.relative_to(ROOT))
        for call in _calls(path):
            if _callee(call) in classes and call.args and _is_text(call.args[0]):
                found.setdefault(rel, []).append(f"{rel}:{call.lineno}")
    assert not found, "say the words through mailport.catalogue:\n" + "\n".join(
        line for lines in found.values() for line in lines
    )


# The adapters' calls whose first argument (``translate``: second) is what the service was
# doing, said inside a storage or busy error a person reads.
_DOING = {"_call", "_get", "_query", "_transact", "_batch_write", "_batch_get", "_read"}


def test_what_a_store_was_doing_is_said_through_the_catalogue() -> None:
    found = []
    for path in sorted((ROOT / "layers/core/mailport/adapters").rglob("*.py")):
        for call in _calls(path):
            name = _callee(call)
            doing = call.args[1:2] if name == "translate" else call.args[:1]
            if (name in _DOING or name == "translate") and doing and _is_text(doing[0]):
                found.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not found, "say what was being done through mailport.catalogue:\n" + "\n".join(found)


def test_every_plan_and_feature_has_its_words() -> None:
    for named in (*Plan, *Feature):
        assert named.words.key in catalogue.entries(), named


def test_words_are_stored_and_read_back_in_either_language() -> None:
    inner = say("site.body_not_json")
    words = Words("reason.too_large", (("limit", 50),))
    assert words_of(words.as_dict()) == words
    assert words_of({"key": "x", "params": {"p": inner.as_dict()}}) == say("x", p=inner)
    assert words_of("plain text") is None
    assert "50 MB" in words.render("ja") and "50 MB" in str(words)


def test_an_unknown_code_or_parameter_shows_rather_than_raises() -> None:
    assert say("no.such.code").render("ja") == "no.such.code"
    assert "{limit}" in Words("reason.too_large").render("en")


def test_an_error_says_its_words_in_the_readers_language() -> None:
    error = MailportError(say("site.body_not_json"))
    assert error.message == "the request body is not valid JSON"
    assert JAPANESE.search(error.text("ja"))
    assert MailportError("plain").text("ja") == "plain"
