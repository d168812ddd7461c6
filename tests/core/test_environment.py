"""Log routing helpers: secrets never reach a log line."""

import logging

import pytest

from core.environment import RedactSecrets


def _filtered(message, args=None, secrets=()):
    record = logging.LogRecord("tfx", logging.INFO, __file__, 1, message, args, None)
    assert RedactSecrets(secrets).filter(record) is True
    return record.getMessage()


@pytest.mark.parametrize(
    "message, args, expected",
    [
        (
            'mysql { host: "db" password: "s3cr\\"et" }',
            None,
            'mysql { host: "db" password: "***" }',
        ),
        (
            "Using config:\n%s",
            ('password: "abc"\nuser: "u"',),
            'Using config:\npassword: "***"\nuser: "u"',
        ),
        ("connecting with hunter2 now", None, "connecting with *** now"),
        ("nothing to hide here", None, "nothing to hide here"),
    ],
)
def test_passwords_are_redacted(message, args, expected):
    assert _filtered(message, args, secrets=["hunter2"]) == expected


def test_a_logged_exception_is_redacted_in_the_log_file(tmp_path):
    from core.environment import send_logs_to_file

    log = tmp_path / "run.log"
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        send_logs_to_file(str(log), verbose=False, secrets=["hunter2"])
        try:
            raise RuntimeError('cannot connect: mysql { user: "u" password: "hunter2" }')
        except RuntimeError:
            logging.getLogger("tfx").exception("the component failed")
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    text = log.read_text()
    assert "the component failed" in text and "RuntimeError: cannot connect" in text
    assert "hunter2" not in text and 'password: "***"' in text


def test_the_failed_run_reason_is_redacted():
    from services.pipeline_run import failure_reason

    error = RuntimeError("access denied for user cascade with password s3cret-pw")
    reason = failure_reason(error, RedactSecrets(["s3cret-pw"]))
    assert "s3cret-pw" not in reason
    assert reason == "RuntimeError: access denied for user cascade with password ***"
    # A proto's password field is redacted even when the secret is not known.
    quoted = RuntimeError('config { mysql { password: "hunter2" } }')
    assert failure_reason(quoted, RedactSecrets()) == (
        'RuntimeError: config { mysql { password: "***" } }'
    )
