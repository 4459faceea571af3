#!/usr/bin/env bash
# exports.sh HEADER LIBRARY - libmcsafe.so exports exactly the functions mcsafe.h declares, each
# at the version node MCSAFE_0, and nothing else (no C++ runtime template, no asm routine); its
# SONAME is libmcsafe.so.<major>.
set -euo pipefail
header=${1:?mcsafe.h} lib=${2:?libmcsafe.so}
command -v nm >/dev/null || { echo "SKIP: nm not found"; exit 77; }
declared=$(grep -oE '[ *]mcsafe_[a-z0-9_]+\(' "$header" | tr -d ' *(' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort -u)
unversioned=$(grep -v '@@MCSAFE_0$' <<<"$exported" || true)
[[ -z $unversioned ]] || { echo "FAIL: exported without the MCSAFE_0 version: $unversioned"; exit 1; }
exported=$(sed 's/@@MCSAFE_0$//' <<<"$exported")
if [[ $declared != "$exported" ]]; then
  diff <(echo "$declared") <(echo "$exported") | sed 's/^</  declared, not exported:/; s/^>/  exported, not declared:/'
  echo "FAIL: the exports of $lib are not the functions of $header"
  exit 1
fi
soname=$(readelf -d "$lib" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
[[ $soname =~ ^libmcsafe\.so\.[0-9]+$ ]] || { echo "FAIL: SONAME '$soname'"; exit 1; }
echo "PASS: $(wc -l <<<"$exported") functions exported at MCSAFE_0, exactly those of mcsafe.h; SONAME $soname"
