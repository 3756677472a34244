"""Validate host.json and local.settings.example.json against the JSON schemas that editors
and the Functions tooling use (SchemaStore). Usage: check_config_schemas.py SCHEMA_DIR

The schemas are not part of this repository; CI passes the folder it has them in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsonschema import validators
from jsonschema.exceptions import best_match

ROOT = Path(__file__).resolve().parents[1]
CHECKS = {
    "host.json": "host.json.schema.json",
    "local.settings.example.json": "local.settings.schema.json",
}


def main(schema_dir: Path) -> int:
    failures = 0
    for config_name, schema_name in CHECKS.items():
        schema = json.loads((schema_dir / schema_name).read_text())
        validator_class = validators.validator_for(schema)
        validator_class.check_schema(schema)
        instance = json.loads((ROOT / config_name).read_text())
        errors = sorted(validator_class(schema).iter_errors(instance), key=lambda e: list(e.path))
        for error in errors:
            error = best_match([error, *error.context]) if error.context else error
            where = "/".join(str(p) for p in error.path) or "(root)"
            print(f"{config_name}: {where}: {error.message}")
        failures += len(errors)
        print(f"{config_name}: {'valid' if not errors else f'{len(errors)} error(s)'} against {schema_name}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
