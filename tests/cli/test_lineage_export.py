"""`cascade lineage export`: each wrong combination of flags is one error line, exit 2,
before any event is built (the events themselves: tests/e2e/test_openlineage_e2e.py)."""

from __future__ import annotations

import pytest

from cli.main import main

KEY_ENV = "CASCADE_TEST_UNSET_KEY"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--output", "{tmp}/e.jsonl"], "error: export: give --openlineage (the format; the only one)"),
        (["--openlineage"], "error: export: give --output FILE or --url URL (or name "
                            "lineage.openlineage.url in the config)"),
        (["--openlineage", "--url", "marquez:5000"],
         "error: --url: 'marquez:5000' is not an http:// or https:// URL with a host"),
        (["--openlineage", "--url", "http://me:pw@marquez:5000"],
         "error: --url: 'http://me:pw@marquez:5000' holds credentials; name the key's "
         "environment variable instead"),
        (["--openlineage", "--url", "http://127.0.0.1:9", "--api-key-env", "MY KEY"],
         "error: --api-key-env: 'MY KEY' is not an environment variable name (letters, digits and '_')"),
        (["--openlineage", "--output", "{tmp}/e.jsonl", "--resend"],
         "error: --output writes every selected event to the file; --endpoint, --api-key-env "
         "and --resend apply to --url"),
        (["--openlineage", "--output", "{tmp}/no/such/folder/e.jsonl"],
         "error: --output {tmp}/no/such/folder/e.jsonl: folder {tmp}/no/such/folder does not "
         "exist; create it first"),
        (["--openlineage", "--url", "http://127.0.0.1:9", "--api-key-env", KEY_ENV],
         f"error: the API key variable {KEY_ENV} is not set (export it, or leave out "
         "--api-key-env / lineage.openlineage.api_key_env)"),
    ],
    ids=["no-format", "no-destination", "no-scheme", "credentials", "env-name", "resend-to-file",
         "no-folder", "unset-key"],
)  # fmt: skip
def test_wrong_flags_are_one_error_line(tmp_path, capsys, monkeypatch, flags, message):
    monkeypatch.delenv(KEY_ENV, raising=False)
    argv = ["lineage", "export", *[f.format(tmp=tmp_path) for f in flags],
            "--metadata", str(tmp_path / "absent.sqlite")]  # fmt: skip
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == message.format(tmp=tmp_path) + "\n"
