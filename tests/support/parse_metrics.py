"""Reads Prometheus text from stdin and prints its samples as JSON, parsed by the reference
parser (Debian python3-prometheus-client): a format error fails here, loudly.

Output: {"families": {name: type}, "samples": [{"name", "labels", "value"}]}.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    families = {}
    samples = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        families[family.name] = family.type
        for sample in family.samples:
            samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value})
    json.dump({"families": families, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
