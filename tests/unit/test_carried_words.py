"""A worker's error keeps its words across Step Functions (the Lambda's ``errorMessage`` is
the only string that crosses), so a failed job is shown in the user's language."""

from __future__ import annotations

import json

from mailport.catalogue import say, shown, stored, words_of
from mailport.domain.remote import RemoteAuthFailed
from mailport.errors import carried, uncarried
from mailport.usecases.migration_context import error_of


def test_an_error_with_words_crosses_as_its_english_and_its_words() -> None:
    words = say("remote.pop3_refused", command="PASS", said="[AUTH] no")
    error = RemoteAuthFailed(words)
    text = carried(error)
    assert uncarried(text) == (error.message, words)
    assert json.loads(text)["message"] == error.message  # an admin reading the history


def test_plain_text_is_read_back_as_it_is() -> None:
    for text in ("Task timed out after 600.00 seconds", "[1, 2]", '{"x": 1}', ""):
        assert uncarried(text) == (text, None)
    assert carried(RemoteAuthFailed("plain English")) == "plain English"


def test_a_jobs_error_from_the_cause_keeps_the_words() -> None:
    words = say("remote.pop3_refused", command="PASS", said="denied")
    lambda_error = {"errorMessage": carried(RemoteAuthFailed(words)), "errorType": "x"}
    error = error_of({"Error": "RemoteAuthFailed", "Cause": json.dumps(lambda_error)})
    assert (error.code, error.message, error.words) == ("remote_auth_failed", str(words), words)
    assert shown(error.words, error.message, "ja") == words.render("ja") != error.message
    # A cause without words (Lambda's own, an older worker's): the English, as before.
    old = error_of({"Error": "States.Timeout", "Cause": "took too long"})
    assert (old.message, old.words) == ("took too long", None)


def test_stored_words_are_read_back_and_none_stays_none() -> None:
    words = say("account.disabled_after_failures", failures=10, error=say("migration.failed"))
    assert words_of(stored(words)) == words
    assert words_of(stored(None)) is None
    assert shown(None, "the English", "ja") == "the English"
