"""Log routing helpers: secrets never reach a log line."""

import logging

import pytest

from pipeline.environment import RedactSecrets


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
