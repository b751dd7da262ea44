import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from mailport import errors
from mailport.adapters.aws_errors import translate
from mailport.http import error_body, status_for
from mailport.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.ValidationFailed("x"), 400),
        (errors.Unauthenticated("x"), 401),
        (errors.PlanRequired("x"), 403),
        (errors.Forbidden("x"), 403),
        (errors.NotFound("x"), 404),
        (errors.LimitExceeded("x"), 409),
        (errors.Conflict("x"), 409),
        (errors.TransientError("x"), 503),
        (errors.StorageError("x"), 500),
    ],
)
def test_each_domain_error_has_one_status(error: errors.MailportError, status: int) -> None:
    assert status_for(error) == status


def test_error_body_shape() -> None:
    assert error_body("plan_required", "m") == {"error": {"code": "plan_required", "message": "m"}}
    assert errors.PlanRequired("m").code == "plan_required"


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "secret detail"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PutItem",
    )


def test_throttling_and_5xx_are_transient() -> None:
    assert isinstance(
        translate(_client_error("ProvisionedThroughputExceededException", 400), "w"),
        errors.TransientError,
    )
    assert isinstance(translate(_client_error("Whatever", 503), "w"), errors.TransientError)
    assert isinstance(
        translate(EndpointConnectionError(endpoint_url="http://x"), "w"), errors.TransientError
    )


def test_other_client_errors_are_storage_errors_without_aws_detail() -> None:
    err = translate(_client_error("ValidationException", 400), "saving the user")
    assert isinstance(err, errors.StorageError)
    assert "saving the user" in err.message
    assert "secret detail" not in err.message


ENV = {
    "TABLE_NAME": "t",
    "MAIL_BUCKET": "m",
    "UPLOAD_BUCKET": "u",
    "FETCH_QUEUE_URL": "q",
    "CREDENTIALS_KEY_ID": "k",
}


def test_settings_from_env() -> None:
    s = Settings.from_env({**ENV, "STAGE": "local"})
    assert s.table_name == "t" and s.is_local
    assert not Settings.from_env(ENV).is_local
    assert s.max_message_bytes == 50 * 1024 * 1024


def test_missing_setting_is_named() -> None:
    env = dict(ENV)
    del env["MAIL_BUCKET"]
    with pytest.raises(SettingsError, match="MAIL_BUCKET"):
        Settings.from_env(env)


def test_settings_are_frozen() -> None:
    s = Settings.from_env(ENV)
    with pytest.raises(AttributeError):
        s.table_name = "other"  # type: ignore[misc]


def test_pop_schedule_settings() -> None:
    s = Settings.from_env(ENV)
    assert (s.schedule_window_s, s.dispatch_parallelism, s.extra_ca_file) == (600, 10, None)
    tuned = Settings.from_env({**ENV, "SCHEDULE_WINDOW_SECONDS": "30", "DISPATCH_PARALLELISM": "1"})
    assert (tuned.schedule_window_s, tuned.dispatch_parallelism) == (30, 1)
    with pytest.raises(SettingsError, match="positive"):
        Settings.from_env({**ENV, "SCHEDULE_WINDOW_SECONDS": "0"})
    with pytest.raises(SettingsError, match="not a number"):
        Settings.from_env({**ENV, "DISPATCH_PARALLELISM": "many"})


def test_the_fetch_batch_size_is_read_and_needs_no_other_table() -> None:
    # ENV names no idempotency table: the settings need none (template.yaml has none).
    assert Settings.from_env(ENV).fetch_batch_size == 1  # not the fetch worker: one at a time
    assert Settings.from_env({**ENV, "FETCH_BATCH_SIZE": "10"}).fetch_batch_size == 10
    with pytest.raises(SettingsError, match="positive"):
        Settings.from_env({**ENV, "FETCH_BATCH_SIZE": "0"})
    assert not hasattr(Settings.from_env(ENV), "idempotency_table")


def test_an_extra_mail_ca_is_trusted_only_in_the_local_stage() -> None:
    ca = {**ENV, "MAIL_EXTRA_CA_FILE": "/tmp/ca.pem"}
    assert Settings.from_env({**ca, "STAGE": "local"}).extra_ca_file == "/tmp/ca.pem"
    assert Settings.from_env({**ca, "STAGE": "prod"}).extra_ca_file is None
    assert Settings.from_env(ca).extra_ca_file is None


def test_remote_errors_are_the_users_input_not_ours() -> None:
    from mailport.domain.remote import RemoteAuthFailed, RemoteTransient

    assert status_for(RemoteAuthFailed("no")) == 422
    assert status_for(RemoteTransient("reset")) == 503


def test_private_mail_hosts_only_in_the_local_stage() -> None:
    allow = {**ENV, "ALLOW_PRIVATE_MAIL_HOSTS": "1"}
    assert Settings.from_env({**allow, "STAGE": "local"}).allow_private_mail_hosts
    assert not Settings.from_env({**allow, "STAGE": "prod"}).allow_private_mail_hosts
    assert not Settings.from_env({**ENV, "STAGE": "local"}).allow_private_mail_hosts
