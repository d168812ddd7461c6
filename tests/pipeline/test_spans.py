"""Spanned sources: the config's spelling, the ExampleGen input they become, and
the bad-input messages preflight gives before TFX starts (exit 2, one line).

Configs and span folders are written to pytest's `tmp_path`; no pipeline runs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cli.main import main
from core.errors import ConfigError, InputDataError
from pipeline import preflight
from pipeline.config import SpansConfig, load_config

HEADER = ["user_id", "age", "label"]
CONFIG = """
name: daily
sources:
  - name: web
    path: data/web/span-{SPAN}
  - name: mobile
    path: data/mobile/span-{SPAN}
id_key: user_id
label: label
features:
  - {name: age, kind: numeric}
"""


def _span(root: Path, source: str, span: int, rows: int = 3) -> None:
    folder = root / "data" / source / f"span-{span}"
    folder.mkdir(parents=True)
    with open(folder / "rows.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow([f"{source}-{span}-{i}", 20 + i, i % 2])


def _config(root: Path, text: str = CONFIG) -> Path:
    path = root / "daily.yaml"
    path.write_text(text)
    return path


def _config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(str(path))
    return str(raised.value)


def test_spanned_paths_and_window_load(tmp_path):
    config = load_config(str(_config(tmp_path, CONFIG + "spans:\n  window: 2\n")))

    assert config.sources[0].path == f"{tmp_path}/data/web/span-{{SPAN}}"
    assert config.spanned
    assert config.spans == SpansConfig(window=2)


def test_unspanned_configs_keep_the_default_window(tmp_path):
    text = CONFIG.replace("/span-{SPAN}", "")

    config = load_config(str(_config(tmp_path, text)))

    assert not config.spanned
    assert config.spans == SpansConfig(window=1)


def test_a_window_without_spanned_sources_is_refused(tmp_path):
    path = _config(tmp_path, CONFIG.replace("/span-{SPAN}", "") + "spans:\n  window: 2\n")

    assert _config_error(path) == (
        f"{path}: spans: no source path names span folders (e.g. path: data/web/span-{{SPAN}}); "
        "remove `spans` or add {SPAN} to the source paths"
    )


def test_spanned_and_unspanned_sources_do_not_mix(tmp_path):
    path = _config(tmp_path, CONFIG.replace("data/mobile/span-{SPAN}", "data/mobile"))

    assert _config_error(path) == (
        f"{path}: sources[1].path: sources[0].path names span folders but sources[1].path "
        "does not; the sources of one pipeline arrive as spans all, or none"
    )


def test_an_unknown_placeholder_names_the_field(tmp_path):
    path = _config(tmp_path, CONFIG.replace("span-{SPAN}", "day-{DAY}"))

    assert _config_error(path) == (
        f"{path}: sources[0].path: data/web/day-{{DAY}}: unknown placeholder {{DAY}} "
        "(expected {SPAN}, {VERSION} or {YYYY}, {MM}, {DD})"
    )


def test_spanned_sources_become_span_patterns_under_one_input_base(tmp_path):
    from pipeline.pipeline import example_gen_input_config

    config = load_config(str(_config(tmp_path)))

    base, input_config = example_gen_input_config(config.sources)

    assert base == f"{tmp_path}/data"
    assert [(s.name, s.pattern) for s in input_config.splits] == [
        ("web", "web/span-{SPAN}/*.[cC][sS][vV]*"),
        ("mobile", "mobile/span-{SPAN}/*.[cC][sS][vV]*"),
    ]


def test_preflight_reads_the_newest_spans_of_the_window(tmp_path):
    for span in (1, 2, 3):
        _span(tmp_path, "web", span, rows=span)
        _span(tmp_path, "mobile", span, rows=10 * span)
    config = load_config(str(_config(tmp_path, CONFIG + "spans:\n  window: 2\n")))

    summaries = preflight.check_sources(config)

    assert [(s.name, s.spans, s.rows) for s in summaries] == [
        ("web", [2, 3], 5),
        ("mobile", [2, 3], 50),
    ]


def test_preflight_names_a_span_folder_missing_one_source(tmp_path):
    _span(tmp_path, "web", 1)
    _span(tmp_path, "mobile", 1)
    _span(tmp_path, "web", 2)
    config = load_config(str(_config(tmp_path)))

    with pytest.raises(InputDataError) as raised:
        preflight.check_sources(config)

    assert str(raised.value) == (
        f"{config.config_path}: sources[1] (mobile): no folder for span 2 "
        f"({tmp_path}/data/mobile/span-2 has no .csv or .csv.gz files), but {config.config_path}: "
        "sources[0] (web) has one; every source needs each span it reads"
    )


def test_preflight_refuses_a_column_named_like_the_span_tag(tmp_path):
    _span(tmp_path, "web", 1)
    _span(tmp_path, "mobile", 1)
    path = tmp_path / "data" / "web" / "span-1" / "rows.csv"
    path.write_text("user_id,age,label,span\nu1,20,0,7\n")
    config = load_config(str(_config(tmp_path)))

    with pytest.raises(InputDataError, match=r"column 'span' has the name of a feature"):
        preflight.check_sources(config)


def test_a_spanned_spam_list_is_read_from_its_newest_span(tmp_path):
    for span, ids in ((1, ["a"]), (2, ["b", "c"])):
        folder = tmp_path / "data" / "spam" / f"span-{span}"
        folder.mkdir(parents=True)
        (folder / "spam.csv").write_text("user_id\n" + "".join(f"{i}\n" for i in ids))
    text = (
        CONFIG
        + "cleaning:\n  spam_list:\n    path: data/spam/span-{SPAN}\n    id_column: user_id\n"
    )
    config = load_config(str(_config(tmp_path, text)))

    assert preflight.check_reference_data(config) == {"spam_list": 2}


def test_cascade_run_names_a_span_pattern_that_matches_nothing_before_tfx(tmp_path, capsys):
    (tmp_path / "data" / "web" / "day-1").mkdir(parents=True)
    _span(tmp_path, "mobile", 1)
    path = _config(tmp_path)

    code = main(["run", "--config", str(path), "--output-root", str(tmp_path / "out")])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == (
        f"error: {path}: sources[0] (web): span pattern span-{{SPAN}} matches no folder of "
        f".csv or .csv.gz files in {tmp_path}/data/web\n"
    )
    assert not (tmp_path / "out").exists()


def test_the_daily_demo_config_reads_the_newest_two_spans():
    root = Path(__file__).resolve().parents[2]

    config = load_config(str(root / "configs" / "demo_daily.yaml"))
    summaries = preflight.check_sources(config)

    assert config.spans == SpansConfig(window=2)
    assert [(s.name, s.spans, s.rows) for s in summaries] == [
        ("web", [2, 3], 1667),
        ("mobile", [2, 3], 1000),
        ("partner", [2, 3], 667),
    ]
    assert preflight.check_reference_data(config) == {"spam_list": 156, "id_map": 238}


def test_a_span_path_in_a_flow_mapping_gets_a_hint_to_quote_it(tmp_path):
    text = CONFIG.replace(
        "  - name: web\n    path: data/web/span-{SPAN}\n",
        "  - {name: web, path: data/web/span-{SPAN}}\n",
    )
    path = _config(tmp_path, text)

    assert _config_error(path) == (
        f"{path}: line 4, column 37: malformed YAML: expected ',' or '}}', but got '{{' "
        "(a path with {SPAN} inside a {...} mapping needs quotes, e.g. path: "
        "'data/web/span-{SPAN}', or one key per line)"
    )


def test_a_quoted_span_path_in_a_flow_mapping_loads(tmp_path):
    text = CONFIG.replace(
        "  - name: web\n    path: data/web/span-{SPAN}\n",
        "  - {name: web, path: 'data/web/span-{SPAN}'}\n",
    )

    config = load_config(str(_config(tmp_path, text)))

    assert config.sources[0].path == f"{tmp_path}/data/web/span-{{SPAN}}"
