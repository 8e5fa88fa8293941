"""Go template checks: what Prometheus and Alertmanager would only discover when a notification fires."""

from __future__ import annotations

import copy

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate import templates
from leanvibe_stack.validate.bundle import Bundle


def test_valid_templates_have_no_problems() -> None:
    text = '{{ range .Alerts }}{{ or .Labels.service "unknown" }} {{ .StartsAt.Format "15:04" }}{{ end }}'
    assert templates.problems(text, templates.ALERTMANAGER_FUNCTIONS) == []
    assert templates.problems("{{ $value | humanizePercentage }}", templates.PROMETHEUS_FUNCTIONS) == []


def test_an_undefined_function_is_named() -> None:
    # The seed's Slack template: `default` is Helm's, Alertmanager has no such function.
    (problem,) = templates.problems('{{ .Labels.service | default "unknown" }}', templates.ALERTMANAGER_FUNCTIONS)
    assert problem.startswith("default: not a template function")


def test_functions_differ_between_prometheus_and_alertmanager() -> None:
    assert templates.problems("{{ $value | humanize }}", templates.PROMETHEUS_FUNCTIONS) == []
    assert templates.problems("{{ .Value | humanize }}", templates.ALERTMANAGER_FUNCTIONS) != []


def test_unbalanced_delimiters_and_blocks_are_reported() -> None:
    assert "unbalanced {{ and }}" in templates.problems("{{ .Labels.x }", set())
    assert any("do not balance" in p for p in templates.problems("{{ if .X }}a", set()))


def test_strings_inside_actions_are_not_read_as_functions() -> None:
    assert templates.problems('{{ printf "%s default" .X }}', set()) == []


def _with_config(production: list[Manifest], edit: str, new: str) -> Bundle:
    manifests = copy.deepcopy(production)
    for manifest in manifests:
        if manifest.kind == "ConfigMap" and manifest.name == "alertmanager-config":
            data = manifest.obj["data"]
            config = yamlio.load(data["alertmanager.yml"])
            config["receivers"][0]["slack_configs"][0][edit] = new
            data["alertmanager.yml"] = yamlio.dump(config)
    return Bundle(manifests)


def test_production_templates_are_clean(production: list[Manifest]) -> None:
    assert templates.check(Bundle(production)) == []


def test_a_receiver_naming_an_undefined_template_is_reported(production: list[Manifest]) -> None:
    bundle = _with_config(production, "text", '{{ template "slack.txt" . }}')
    (finding,) = templates.check(bundle)
    assert finding.check == "alertmanager.template"
    assert finding.path == "alertmanager.yml:receivers[0].slack_configs[0].text"
    assert 'template "slack.txt" is defined in no mounted template file' in finding.message


def test_a_receiver_using_a_defined_template_is_clean(production: list[Manifest]) -> None:
    assert templates.check(_with_config(production, "text", '{{ template "slack.text" . }}')) == []
