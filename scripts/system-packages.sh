#!/usr/bin/env bash
# Debian packages the tests need, installed only when missing:
#   poppler-utils: pdftoppm and pdftotext, which render and read the PDF reports in tests;
#   chromium: the headless browser the web map is tested in (driven by Playwright);
#   libsqlite3-mod-spatialite: SpatiaLite, which pygeoapi's GeoPackage provider loads
#   (the load benchmark's baseline, checked against our server in the tests);
#   gdal-bin: Debian 12's GDAL 3.6 (ogrinfo), the GDAL that QGIS 3.22 users have: the ledger
#   must open in it without a warning, and its edits must be audited;
#   sqlite3: the plain SQLite shell, another program that edits a GeoPackage directly;
#   default-jre-headless: Java, which ODK Validate (shipped in pyxform) runs on to check the
#   field forms.
#   With the argument "bench", also wrk: the load benchmark's readers.
set -euo pipefail
declare -A needs=([pdftoppm]=poppler-utils [pdftotext]=poppler-utils [chromium]=chromium
                  [ogrinfo]=gdal-bin [sqlite3]=sqlite3 [java]=default-jre-headless)
[ "${1:-}" = "bench" ] && needs[wrk]=wrk
missing=()
for command in "${!needs[@]}"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("${needs[$command]}")
done
compgen -G "/usr/lib/*/mod_spatialite.so" >/dev/null || missing+=(libsqlite3-mod-spatialite)
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian packages: ${packages[*]}"
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}" \
    || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${packages[@]}"; }
