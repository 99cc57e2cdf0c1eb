#!/bin/sh
# Rebuild the document's runCommand from PatchBaseline-Run.sh and write the YAML twin of the JSON.
#   packaging/ssm/sync.sh
# The JSON holds everything else (description, parameters); edit it by hand. Needs python3 with
# PyYAML (Debian: python3-yaml). tests/it/ssm_document.rs checks that the three files agree.
set -eu
cd "$(dirname "$0")"
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import yaml' 2>/dev/null; then PY=$py; break; fi
done
[ -n "${PY:-}" ] || { echo "sync.sh: needs python3 with PyYAML" >&2; exit 3; }
"$PY" - <<'PYTHON'
import json, yaml

with open("PatchBaseline-Run.json") as f:
    doc = json.load(f)
with open("PatchBaseline-Run.sh") as f:
    lines = f.read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
doc["mainSteps"][0]["inputs"]["runCommand"] = lines
with open("PatchBaseline-Run.json", "w") as f:
    json.dump(doc, f, indent=2, ensure_ascii=False)
    f.write("\n")
with open("PatchBaseline-Run.yaml", "w") as f:
    f.write("# Generated from PatchBaseline-Run.json by packaging/ssm/sync.sh: same content, YAML form.\n")
    yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)
PYTHON
