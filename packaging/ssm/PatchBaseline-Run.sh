#!/bin/sh
# patchbaseline: the Linux step of the PatchBaseline-Run SSM Command document.
# This file is the source of the document's runCommand lines: after editing it, run
# packaging/ssm/sync.sh (tests/it/ssm_document.rs fails when the document and this file differ).
#
# The SSM agent substitutes the parameter references below (double braces) into this text and
# runs it with sh.
# The values are read through a quoted here-document, so nothing in them is expanded; then each
# is checked against the same pattern as the document's allowedPattern before it is used.
# Agents 3.3.2746.0 and later also export them as SSM_<Name> (interpolationType ENV_VAR); those
# win when present.
#
# Environment this script passes through or reads:
#   AWS_SSM_INSTANCE_ID, AWS_SSM_REGION_NAME, SSM_COMMAND_ID   set by the agent
#   PATCHBASELINE_AWS_ENDPOINT_URL   endpoint for the aws CLI calls here (tests, private endpoints)
#   PATCHBASELINE_*                  read by patchbaseline itself (see patchbaseline --help)
set -u
LC_ALL=C
export LC_ALL

{
  IFS= read -r p_operation
  IFS= read -r p_reboot_option
  IFS= read -r p_baseline_override
  IFS= read -r p_install_override_list
  IFS= read -r p_snapshot_id
  IFS= read -r p_report_directory
  IFS= read -r p_upload_inventory
  IFS= read -r p_patch_group
  IFS= read -r p_fail_on
  IFS= read -r p_root
  IFS= read -r p_end
} <<'PATCHBASELINE_PARAMETERS'
{{ Operation }}
{{ RebootOption }}
{{ BaselineOverride }}
{{ InstallOverrideList }}
{{ SnapshotId }}
{{ ReportDirectory }}
{{ UploadInventory }}
{{ PatchGroup }}
{{ FailOn }}
{{ Root }}
end-of-parameters
PATCHBASELINE_PARAMETERS

OPERATION=${SSM_Operation-$p_operation}
REBOOT_OPTION=${SSM_RebootOption-$p_reboot_option}
BASELINE_OVERRIDE=${SSM_BaselineOverride-$p_baseline_override}
INSTALL_OVERRIDE_LIST=${SSM_InstallOverrideList-$p_install_override_list}
SNAPSHOT_ID=${SSM_SnapshotId-$p_snapshot_id}
REPORT_DIRECTORY=${SSM_ReportDirectory-$p_report_directory}
UPLOAD_INVENTORY=${SSM_UploadInventory-$p_upload_inventory}
PATCH_GROUP=${SSM_PatchGroup-$p_patch_group}
FAIL_ON=${SSM_FailOn-$p_fail_on}
ROOT=${SSM_Root-$p_root}

invalid() {
  echo "PatchBaseline-Run: invalid parameter $1: $2" >&2
  echo "Nothing was changed." >&2
  exit 2
}

# A value made of an empty string, a local absolute path, an s3:// or an https:// location, and
# only characters that are inert inside double quotes (no quotes, backticks, $, \, ; or spaces).
check_location() {
  case $2 in
    '') return 0 ;;
    *[!A-Za-z0-9._~:/?#@%+=\&,-]*) invalid "$1" "only letters, digits and ._~:/?#@%+=&,- are allowed" ;;
    s3://?*/?* | https://?* | /?*) return 0 ;;
    *) invalid "$1" "use s3://bucket/key, https://host/path or an absolute path on the instance" ;;
  esac
}

[ "$p_end" = end-of-parameters ] || invalid "values" "a parameter holds a line break"
case $OPERATION in Scan | Install) ;; *) invalid Operation "use Scan or Install" ;; esac
case $REBOOT_OPTION in RebootIfNeeded | NoReboot) ;; *) invalid RebootOption "use RebootIfNeeded or NoReboot" ;; esac
check_location BaselineOverride "$BASELINE_OVERRIDE"
check_location InstallOverrideList "$INSTALL_OVERRIDE_LIST"
case $SNAPSHOT_ID in
  '') ;;
  [0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]-[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]-[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]-[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]-[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]) ;;
  *) invalid SnapshotId "use empty or a UUID" ;;
esac
case $REPORT_DIRECTORY in
  *[!A-Za-z0-9._/-]* | '' | [!/]*) invalid ReportDirectory "use an absolute path of letters, digits and ._/-" ;;
esac
case $UPLOAD_INVENTORY in true | false) ;; *) invalid UploadInventory "use true or false" ;; esac
case $PATCH_GROUP in *[!A-Za-z0-9\ ._:/=+@-]*) invalid PatchGroup "use letters, digits, spaces and ._:/=+@-" ;; esac
case $FAIL_ON in *[!A-Za-z,-]*) invalid FailOn "use a comma-separated list of states, e.g. failed,missing" ;; esac
case $ROOT in
  *[!A-Za-z0-9._/-]* | '' | [!/]*) invalid Root "use / or the absolute path of a mounted image" ;;
esac

PB=$(command -v patchbaseline 2>/dev/null || true)
if [ -z "$PB" ]; then
  for candidate in /usr/bin/patchbaseline /usr/local/bin/patchbaseline /opt/patchbaseline/bin/patchbaseline; do
    if [ -x "$candidate" ]; then PB=$candidate; break; fi
  done
fi
if [ -z "$PB" ]; then
  echo "PatchBaseline-Run: patchbaseline is not installed on this instance." >&2
  echo "Install it first: AWS-ConfigureAWSPackage with Name=patchbaseline (docs/fleet.md)." >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/patchbaseline-ssm.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

# aws CLI with the endpoint override, if any.
aws_cli() {
  if [ -n "${PATCHBASELINE_AWS_ENDPOINT_URL:-}" ]; then
    aws --endpoint-url "$PATCHBASELINE_AWS_ENDPOINT_URL" "$@"
  else
    aws "$@"
  fi
}

# fetch NAME LOCATION: print the local path of the parameter's file (downloaded into $WORK).
fetch() {
  dest="$WORK/$1"
  case $2 in
    s3://*)
      if ! command -v aws >/dev/null 2>&1; then
        echo "PatchBaseline-Run: $1 is in S3 but the AWS CLI is not installed" >&2
        return 1
      fi
      aws_cli s3 cp --only-show-errors "$2" "$dest" >&2 || {
        echo "PatchBaseline-Run: cannot download $1 from $2" >&2
        return 1
      }
      ;;
    https://*)
      curl --fail --silent --show-error --location --proto '=https' --max-time 300 \
        --output "$dest" "$2" >&2 || {
        echo "PatchBaseline-Run: cannot download $1 from $2" >&2
        return 1
      }
      ;;
    *)
      [ -r "$2" ] || {
        echo "PatchBaseline-Run: $1: cannot read $2" >&2
        return 1
      }
      dest=$2
      ;;
  esac
  printf '%s\n' "$dest"
}

set -- run --operation "$OPERATION" --reboot-option "$REBOOT_OPTION" --console-limit 2000
if [ -n "$BASELINE_OVERRIDE" ]; then
  file=$(fetch BaselineOverride "$BASELINE_OVERRIDE") || exit 1
  set -- "$@" --baseline-override "$file"
fi
if [ -n "$INSTALL_OVERRIDE_LIST" ] && [ "$OPERATION" = Install ]; then
  file=$(fetch InstallOverrideList "$INSTALL_OVERRIDE_LIST") || exit 1
  set -- "$@" --install-override-list "$file"
fi
[ -n "$SNAPSHOT_ID" ] && set -- "$@" --snapshot-id "$SNAPSHOT_ID"
[ -n "$PATCH_GROUP" ] && set -- "$@" --patch-group "$PATCH_GROUP"
[ -n "$FAIL_ON" ] && set -- "$@" --fail-on "$FAIL_ON"
[ "$ROOT" != / ] && set -- "$@" --root "$ROOT"

mkdir -p "$REPORT_DIRECTORY" || exit 1
REPORT="$REPORT_DIRECTORY/report.json"
INVENTORY="$REPORT_DIRECTORY/aws-inventory.json"
rm -f "$INVENTORY"
set -- "$@" --report "$REPORT"
if [ -n "${AWS_SSM_INSTANCE_ID:-}" ]; then
  set -- "$@" --aws-inventory "$INVENTORY"
fi

"$PB" "$@"
rc=$?

# Upload the compliance data the way AWS-RunPatchBaseline does. An upload problem is reported
# but never changes the result of the patch operation.
upload() {
  if [ "$UPLOAD_INVENTORY" != true ]; then
    echo "Inventory upload: off (UploadInventory=false)"
    return 0
  fi
  if [ ! -s "$INVENTORY" ]; then
    echo "Inventory upload: skipped (no inventory was written)"
    return 0
  fi
  if ! command -v aws >/dev/null 2>&1; then
    echo "Inventory upload: skipped (the AWS CLI is not installed); the data is in $INVENTORY"
    return 0
  fi
  set -- ssm put-inventory --cli-input-json "file://$INVENTORY"
  [ -n "${AWS_SSM_REGION_NAME:-}" ] && set -- "$@" --region "$AWS_SSM_REGION_NAME"
  if aws_cli "$@" >"$WORK/upload.log" 2>&1; then
    echo "Inventory upload: done"
  else
    echo "Inventory upload failed (the patch result stands): $(tail -n 2 "$WORK/upload.log" | tr '\n' ' ')"
  fi
  return 0
}
upload

# 194 asks the SSM agent to reboot and run this document again.
exit "$rc"
